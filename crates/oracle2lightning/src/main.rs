//! oracle2lightning: migrate an Oracle database, as its export scripts carry it,
//! into Lightning DB.

mod assess;
mod convert;
mod input;
mod loader;
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

pub(crate) struct Oracle;

/// Where the database is.
#[derive(Args, Clone)]
pub(crate) struct Options {
    /// The SQL*Plus script (DDL and INSERT data) as SQL Developer's Database
    /// Export or DBMS_METADATA.GET_DDL writes it, in UTF-8; `-` reads it from
    /// standard input
    #[arg(long, value_name = "FILE", required_unless_present = "control")]
    from_script: Option<PathBuf>,
    /// A SQL*Loader control file (.ctl): its INFILEs, named relative to it, hold
    /// the table's rows; repeat for each table. The table's DDL comes from
    /// --from-script when given (its INSERTs are then not read), else from the
    /// control file's field types
    #[arg(long, value_name = "FILE")]
    control: Vec<PathBuf>,
}

impl SourceTool for Oracle {
    const NAME: &'static str = "oracle2lightning";
    const ABOUT: &'static str =
        "Migrate an Oracle database (a SQL Developer or DBMS_METADATA script) into Lightning DB";
    const LONG_ABOUT: &'static str = "\
Migrate an Oracle database into Lightning DB, from the SQL*Plus script SQL
Developer writes with Tools > Database Export (format \"insert\", DDL and data
in one file, encoding UTF-8), or from DBMS_METADATA.GET_DDL's DDL followed by
INSERT statements.

Assess the script, convert its schema to Lightning DDL with a report of every
decision, copy the rows (tables in parallel, resumable after any crash), and
verify with checksums that nothing was lost.

Names: an unquoted name is folded to upper case as Oracle does; a name Oracle
keeps in upper case becomes lower case in Lightning (EMPLOYEES -> employees), a
quoted mixed-case name keeps its spelling. Oracle stores the empty string as
NULL: so it is in Lightning.

Example:
  oracle2lightning assess --from-script hr.sql
  oracle2lightning convert-schema --from-script hr.sql > schema.sql
  oracle2lightning migrate --from-script hr.sql --target hr.ldb --verify
  oracle2lightning export --from-script hr.sql | lightning import hr.ldb
  oracle2lightning migrate --from-script ddl.sql --control emp.ctl --target hr.ldb

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const CASTS_NOTE: &'static str =
        "# a type no rule names is refused: add a rule for it with --cast\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        mapping::default_rules()
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        match (&options.from_script, options.control.is_empty()) {
            (Some(script), true) => input::open(script, request),
            (script, _) => input::open_loader(script.as_deref(), &options.control, request),
        }
    }
}

fn main() -> ExitCode {
    lightning_core::tool::main::<Oracle>()
}
