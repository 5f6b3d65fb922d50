//! A column whose declared type no cast rule maps.

#[derive(Debug, thiserror::Error)]
#[error("{table}.{column}: no rule maps {database} type `{ty}`: add one, as --cast 'type:{ty} => TEXT' (or another type)")]
pub struct UnknownType {
    /// The database as messages name it (`SQL Server`, `Oracle`).
    pub database: &'static str,
    pub table: String,
    pub column: String,
    pub ty: String,
}
