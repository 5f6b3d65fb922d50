//! CQL as `DESCRIBE` prints it: tokens, types and the schema statements.

pub mod lex;
pub mod schema;
pub mod types;
