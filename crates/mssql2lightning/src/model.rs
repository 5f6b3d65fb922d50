//! A SQL Server database as a script describes it: tables with their columns as
//! declared, constraints and indexes, and the objects that are not tables.

use lightning_core::schema::{ForeignKey, IndexSchema};

/// A schema-qualified name: `[dbo].[Orders]`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QualifiedName {
    pub schema: String,
    pub name: String,
}

impl QualifiedName {
    /// The Lightning table name: bare in `dbo`, `schema.name` elsewhere.
    pub fn lightning_name(&self) -> String {
        if self.schema.eq_ignore_ascii_case("dbo") {
            self.name.clone()
        } else {
            format!("{}.{}", self.schema, self.name)
        }
    }

    /// As T-SQL writes it.
    pub fn sql(&self) -> String {
        format!(
            "[{}].[{}]",
            self.schema.replace(']', "]]"),
            self.name.replace(']', "]]")
        )
    }
}

#[derive(Debug, Clone, Default)]
pub struct MsColumn {
    pub name: String,
    /// The type as declared, lower-case: `nvarchar(100)`, `decimal(18, 2)`, `time(7)`.
    pub ty: String,
    pub nullable: bool,
    /// `IDENTITY(seed, increment)`.
    pub identity: Option<(String, String)>,
    /// The default expression as T-SQL.
    pub default: Option<String>,
    /// `AS (expression)`: a computed column, not stored in the script's data.
    pub computed: Option<String>,
}

#[derive(Debug, Clone, Default)]
pub struct MsTable {
    pub name: Option<QualifiedName>,
    pub columns: Vec<MsColumn>,
    pub primary_key: Vec<String>,
    pub uniques: Vec<(Option<String>, Vec<String>)>,
    pub checks: Vec<(Option<String>, String)>,
    /// Foreign keys with the referenced table's qualified name in `ref_table` as SQL.
    pub foreign_keys: Vec<(ForeignKey, QualifiedName)>,
    pub indexes: Vec<IndexSchema>,
}

impl MsTable {
    pub fn qualified(&self) -> QualifiedName {
        self.name.clone().unwrap_or(QualifiedName {
            schema: "dbo".into(),
            name: String::new(),
        })
    }

    pub fn column_mut(&mut self, name: &str) -> Option<&mut MsColumn> {
        self.columns
            .iter_mut()
            .find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// A view, procedure, function, trigger, sequence or type: manual work.
#[derive(Debug, Clone)]
pub struct MsObject {
    pub kind: &'static str,
    pub name: String,
    pub definition: String,
}
