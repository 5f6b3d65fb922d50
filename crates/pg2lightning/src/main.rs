//! pg2lightning: migrate a PostgreSQL database — from a live server or from
//! pg_dump output — into Lightning DB.

mod assess;
mod catalog;
mod checks;
mod connect;
mod convert;
mod copytext;
mod decode;
mod dump;
mod dumpsource;
mod input;
mod libpq;
mod mapping;
mod model;
mod pgoutput;
mod rows;
mod server;
mod sqltext;
mod sync;
mod tls;

use std::process::ExitCode;

use lightning_core::cast::CastRules;
use lightning_core::tool::{OpenRequest, OpenedSource, SourceTool};

use crate::input::SourceArgs;

const TOOL: &str = "pg2lightning";

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

struct Postgres;

impl SourceTool for Postgres {
    const NAME: &'static str = TOOL;
    const ABOUT: &'static str =
        "Migrate a PostgreSQL database into Lightning DB, from a live server or from pg_dump output";
    const LONG_ABOUT: &'static str = "\
Migrate a PostgreSQL database into Lightning DB, from a live server or from
pg_dump output.

Assess the database, convert its schema to Lightning DDL with a report of every
decision, copy the rows (in parallel, from one consistent snapshot, resumable
after any crash), and verify with checksums that nothing was lost.

The server is named as psql and pg_dump name it: a URL or `key=value` string
(or service=NAME), with what it leaves out taken from PGHOST, PGPORT, PGUSER,
PGDATABASE and the other PG* variables. TLS follows sslmode (disable, allow,
prefer, require, verify-ca, verify-full; sslrootcert, sslcert, sslkey). The
password comes from the string, --password-file, PGPASSWORD or ~/.pgpass, in that
order; prefer the file or ~/.pgpass, since a password in the URL shows in `ps`.
A dump is a plain-format pg_dump script; turn a custom-format or
directory-format dump into one with `pg_restore -f - app.dump`.

Example:
  pg2lightning assess --source postgresql://app@db.example/app
  pg2lightning assess --source 'postgresql://app@db.example/app?sslmode=verify-full&sslrootcert=ca.pem' --password-file app.pw
  pg2lightning convert-schema --source postgresql://app@db.example/app > schema.sql
  pg2lightning migrate --source postgresql://app@db.example/app --target app.ldb --verify
  pg_dump app | pg2lightning migrate --from-dump - --target app.ldb
  pg_restore -f - app.dump | pg2lightning migrate --from-dump - --target app.ldb
  pg2lightning migrate --source postgresql://app@db.example/app --target app.ldb --for-sync
  pg2lightning sync --source postgresql://app@db.example/app --target app.ldb --until-caught-up

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const CASTS_NOTE: &'static str = "\
# arrays => JSON arrays; composite types => JSON objects; enums => TEXT with a CHECK of their labels;
# domains => their base type with their checks; any other type => TEXT (PostgreSQL's text form)\n";
    type Options = SourceArgs;

    fn default_casts() -> CastRules {
        mapping::default_rules()
    }

    fn open(
        options: &SourceArgs,
        request: &OpenRequest<'_>,
    ) -> anyhow::Result<Box<dyn OpenedSource>> {
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
    lightning_core::tool::main::<Postgres>()
}
