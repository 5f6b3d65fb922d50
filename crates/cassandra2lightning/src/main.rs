//! cassandra2lightning: migrate a Cassandra keyspace, as `cqlsh` exports it, into
//! Lightning DB.

mod assess;
mod convert;
mod cql;
mod csvfile;
mod input;
mod mapping;
mod source;
mod value;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use lightning_core::cast::CastRules;
use lightning_core::tool::{OpenRequest, OpenedSource, SourceTool};

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) struct Cassandra;

/// Where the keyspace is.
#[derive(Args, Clone)]
pub(crate) struct Options {
    /// The schema as `cqlsh -e "DESCRIBE KEYSPACE ks"` prints it (or `DESCRIBE
    /// SCHEMA` for several keyspaces)
    #[arg(long, value_name = "FILE")]
    schema: PathBuf,
    /// The folder of data files, one per table, as `COPY ks.t TO 'DIR/t.csv' WITH
    /// HEADER = true` writes them: named `TABLE.csv` or `KEYSPACE.TABLE.csv`
    /// (not needed by assess and convert-schema)
    #[arg(long, value_name = "DIR")]
    data: Option<PathBuf>,
    /// The text COPY TO wrote for a null (its NULL option); by default an empty
    /// field, which is also how it writes an empty string
    #[arg(long, value_name = "TEXT", default_value = "")]
    null: String,
    /// The field separator COPY TO used (its DELIMITER option)
    #[arg(long, value_name = "CHAR", default_value = ",")]
    delimiter: char,
}

impl SourceTool for Cassandra {
    const NAME: &'static str = "cassandra2lightning";
    const ABOUT: &'static str =
        "Migrate a Cassandra keyspace (DESCRIBE output and COPY TO files) into Lightning DB";
    const LONG_ABOUT: &'static str = "\
Migrate a Cassandra (or ScyllaDB) keyspace into Lightning DB, from what cqlsh
exports: the schema as DESCRIBE prints it, and each table's rows as COPY TO
writes them with a header line:

  cqlsh -e \"DESCRIBE KEYSPACE shop\" > shop.cql
  cqlsh -e \"COPY shop.orders TO 'data/orders.csv' WITH HEADER = true
            AND NULL = '<null>' AND FLOATPRECISION = 20 AND DOUBLEPRECISION = 20\"

NULL tells an empty string from a null (give the same text with --null);
FLOATPRECISION and DOUBLEPRECISION keep every float and double exact (cqlsh
rounds them to as few as 2 and 9 digits otherwise).

Assess the export, convert its schema to Lightning DDL with a report of every
decision (the partition key and clustering columns become the primary key;
collections, tuples and user-defined types become JSON), copy the rows (tables
in parallel, resumable after any crash), and verify with checksums that nothing
was lost.

Example:
  cassandra2lightning assess --schema shop.cql --data data
  cassandra2lightning convert-schema --schema shop.cql --data data > schema.sql
  cassandra2lightning migrate --schema shop.cql --data data --target shop.ldb --verify

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const CASTS_NOTE: &'static str =
        "# a type no rule names is refused: add a rule for it with --cast\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        mapping::default_rules()
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        input::open(options, request)
    }
}

fn main() -> ExitCode {
    lightning_core::tool::main::<Cassandra>()
}
