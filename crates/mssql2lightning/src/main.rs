//! mssql2lightning: migrate a SQL Server database, as its scripts carry it, into
//! Lightning DB.

mod assess;
mod convert;
mod input;
mod mapping;
mod model;
mod script;
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

pub(crate) struct Mssql;

/// Where the database is.
#[derive(Args, Clone)]
pub(crate) struct Options {
    /// The script (schema and data) as SQL Server Management Studio's "Generate
    /// Scripts" writes it, UTF-16 with a byte-order mark or UTF-8; `-` reads it from
    /// standard input
    #[arg(long, value_name = "FILE")]
    from_script: PathBuf,
}

impl SourceTool for Mssql {
    const NAME: &'static str = "mssql2lightning";
    const ABOUT: &'static str =
        "Migrate a SQL Server database (a Generate Scripts script) into Lightning DB";
    const LONG_ABOUT: &'static str = "\
Migrate a SQL Server database into Lightning DB, from the script SQL Server
Management Studio writes with Tasks > Generate Scripts (Advanced: \"Types of data
to script\" = \"Schema and data\"), saved as Unicode or UTF-8.

Assess the script, convert its schema to Lightning DDL with a report of every
decision, copy the rows (tables in parallel, resumable after any crash), and
verify with checksums that nothing was lost.

Example:
  mssql2lightning assess --from-script shop.sql
  mssql2lightning convert-schema --from-script shop.sql > schema.sql
  mssql2lightning migrate --from-script shop.sql --target shop.ldb --verify
  mssql2lightning export --from-script shop.sql | lightning import shop.ldb

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const CASTS_NOTE: &'static str =
        "# a type no rule names is refused: add a rule for it with --cast\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        mapping::default_rules()
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        input::open(&options.from_script, request)
    }
}

fn main() -> ExitCode {
    lightning_core::tool::main::<Mssql>()
}
