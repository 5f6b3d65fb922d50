//! Shared machinery of the Lightning migration tools: the type system, the store,
//! sinks, checksums, the copy pipeline, reports and the CLI pieces every tool uses.
//! Nothing here knows any particular source database.

pub mod assess;
pub mod cast;
pub mod checksum;
pub mod cli;
pub mod ddl;
pub mod fault;
pub mod fingerprint;
pub mod interrupt;
pub mod job;
pub mod keycode;
pub mod monitor;
pub mod naming;
pub mod pipeline;
pub mod plan;
pub mod progress;
pub mod query_check;
pub mod reject;
pub mod report;
pub mod rowcodec;
pub mod schema;
pub mod secret;
pub mod shell;
pub mod sink;
pub mod space;
pub mod spool;
pub mod sql_script;
pub mod store;
pub mod stream;
pub mod sync;
pub mod tap;
pub mod text;
pub mod tool;
pub mod types;
pub mod value;
pub mod verify;
pub mod watch;

pub use schema::{ColumnSchema, TableSchema};
pub use store::Store;
pub use types::LightningType;
pub use value::{Row, Value};
