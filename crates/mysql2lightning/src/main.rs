//! mysql2lightning: migrate a MySQL or MariaDB database — from a live server or from
//! mysqldump output — into Lightning DB.

mod assess;
mod catalog;
mod checks;
mod connect;
mod convert;
mod dump;
mod input;
mod mapping;
mod model;
mod source;
mod sync;

use std::process::ExitCode;

use clap::Args;
use lightning_core::cast::CastRules;
use lightning_core::tool::{OpenRequest, OpenedSource, SourceTool};

use crate::mapping::ZeroDates;

pub(crate) const TOOL: &str = "mysql2lightning";

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct MySql;

/// Where the database is and how its values read.
#[derive(Args, Clone)]
pub(crate) struct Options {
    #[command(flatten)]
    source: SourceArg,
    #[command(flatten)]
    client: connect::ClientArgs,
    /// What a zero date (`0000-00-00`, `2020-00-15`) becomes: refused with an error,
    /// NULL, or the sentinel -infinity.
    #[arg(long, value_enum, default_value_t = ZeroDates::Error)]
    zero_dates: ZeroDates,
    /// The time zone of a dump's TIMESTAMP values when the dump does not set one
    /// (mysqldump sets `+00:00` unless --skip-tz-utc): an offset such as +02:00.
    #[arg(long, default_value = "+00:00", value_name = "OFFSET")]
    dump_time_zone: String,
    /// Read a dump's versioned comments (`/*!50705 ... */`) as this server would:
    /// `8.0.36`, `10.11-MariaDB` [default: the dump's `-- Server version` line, else 8.0.36].
    #[arg(long, value_name = "VERSION")]
    dump_server_version: Option<String>,
    /// migrate: take the snapshot with the binlog position it stands at, so that
    /// `sync` continues exactly from where the copy stands (a live server with the
    /// binary log in ROW format; the user needs RELOAD and REPLICATION CLIENT).
    #[arg(long, conflicts_with = "from_dump")]
    for_sync: bool,
}

#[derive(Args, Clone)]
#[group(required = true, multiple = false)]
struct SourceArg {
    /// The server: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?ssl-mode=MODE&ssl-ca=FILE],
    /// or a database name (the rest from option files, or MYSQL_HOST, MYSQL_TCP_PORT,
    /// MYSQL_PWD and USER).
    #[arg(long, value_name = "URL|DATABASE")]
    source: Option<String>,
    /// A mysqldump file, or `-` for standard input (saved beside the target while
    /// the run lasts, so it can be read again).
    #[arg(long, value_name = "FILE|-")]
    from_dump: Option<String>,
}

impl SourceTool for MySql {
    const NAME: &'static str = TOOL;
    const ABOUT: &'static str =
        "Migrate a MySQL or MariaDB database into Lightning DB, from a live server or from mysqldump output";
    const LONG_ABOUT: &'static str = "\
Migrate a MySQL or MariaDB database into Lightning DB, from a live server or
from mysqldump output.

Assess the database, convert its schema to Lightning DDL with a report of every
decision, copy the rows (in parallel, in one consistent snapshot, resumable
after any crash), and verify with checksums that nothing was lost.

Example:
  mysql2lightning assess --source mysql://app@db:3306/shop
  mysql2lightning convert-schema --from-dump shop.sql > schema.sql
  mysql2lightning migrate --source mysql://app@db/shop --target shop.ldb --verify
  mysqldump shop | mysql2lightning migrate --from-dump - --target shop.ldb
  mysql2lightning migrate --source mysql://app@db/shop --target shop.ldb --for-sync
  mysql2lightning sync --source mysql://app@db/shop --target shop.ldb --until-caught-up

Connecting works as with the mysql client: the URL and flags first, then the
[client] and [mysql2lightning] groups of the option files (~/.my.cnf, or
--defaults-file), then MYSQL_HOST, MYSQL_TCP_PORT and MYSQL_PWD. Give the password
in an option file or with --password-file rather than in the URL, which others
see in `ps`; it is never shown. TLS is used when the server offers it
(--ssl-mode PREFERRED); --ssl-mode VERIFY_IDENTITY --ssl-ca FILE checks the
server's certificate and name.
Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const CASTS_NOTE: &'static str =
        "# any other type => TEXT, as the server prints its values (reported as a warning)\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        mapping::default_rules()
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        input::open(options, request)
    }

    fn extra_commands() -> Vec<clap::Command> {
        vec![sync::command()]
    }

    fn run_extra(_name: &str, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
        sync::run(matches)
    }
}

fn main() -> ExitCode {
    lightning_core::tool::main::<MySql>()
}
