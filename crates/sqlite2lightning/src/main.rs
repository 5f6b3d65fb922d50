//! sqlite2lightning: migrate a SQLite database into Lightning DB.

mod assess;
mod catalog;
mod input;
mod mapping;
mod source;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use lightning_core::cast::CastRules;
use lightning_core::tool::{OpenRequest, OpenedSource, SourceTool};

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) struct Sqlite;

/// Where the database is.
#[derive(Args, Clone)]
pub(crate) struct Options {
    /// The SQLite database file.
    #[arg(long, value_name = "FILE")]
    source: PathBuf,
}

impl SourceTool for Sqlite {
    const NAME: &'static str = "sqlite2lightning";
    const ABOUT: &'static str = "Migrate a SQLite database into Lightning DB";
    const LONG_ABOUT: &'static str = "\
Migrate a SQLite database into Lightning DB.

Assess the database, convert its schema to Lightning DDL with a report of every
decision, copy the rows (in parallel, resumable after any crash), and verify
with checksums that nothing was lost.

Example:
  sqlite2lightning assess --source app.sqlite
  sqlite2lightning convert-schema --source app.sqlite > schema.sql
  sqlite2lightning migrate --source app.sqlite --target app.ldb --verify
  sqlite2lightning export --source app.sqlite | lightning import app.ldb

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const CASTS_NOTE: &'static str =
        "# otherwise SQLite's affinity decides: INTEGER => BIGINT, TEXT => TEXT, REAL => DOUBLE, \
NUMERIC => DECIMAL, BLOB => BLOB; a column with no declared type is decided by its values\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        mapping::default_rules()
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        input::open(&options.source, request)
    }
}

fn main() -> ExitCode {
    lightning_core::tool::main::<Sqlite>()
}
