//! `export`: a table, or the whole database, as the stream or as CSV.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, CommandFactory};
use lightning_core::stream::{record_message, schema_message, StreamWriter};

use crate::inspect::{open, write_rows, RowFormat};
use crate::out;

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    /// The stream: for each table a SCHEMA message, then its RECORD messages.
    Ndjson,
    /// One table: a header line, then one line per row in canonical text forms.
    Csv,
    /// A script for the database --dialect names (psql loads a PostgreSQL one).
    Sql,
}

/// Write a table, or every table, to stdout
///
/// The default format is the line-delimited JSON stream the source tools
/// export (a Singer SCHEMA message carrying the exact Lightning schema, then one
/// RECORD message per row in key order, for each table), so that
///
///     lightning export a.ldb --all | lightning import b.ldb
///
/// copies a database exactly. --format csv writes one table as
/// `lightning scan --format csv` does.
///
/// --format sql writes a script for PostgreSQL (psql), MySQL or MariaDB
/// (--dialect mysql) or SQLite (--dialect sqlite): every row (COPY, or multi-row
/// INSERT), or with --since only the rows SQL inserted, updated or deleted on the
/// store after a run or a time, as upserts and DELETE statements — the way back
/// after a cutover. Without --schema it loads into tables that exist (the
/// source's); with --schema it creates them first (types, keys, constraints,
/// indexes), so it loads into an empty database. What cannot be written as the
/// store has it is listed on stderr. For PostgreSQL, tables outside `public` are
/// named `schema.table`.
///
/// Examples:
///
///     $ lightning export app.ldb users > users.ndjson
///     $ lightning export app.ldb --all | gzip > app.ndjson.gz
///     $ lightning export app.ldb users --format csv > users.csv
///     $ lightning export app.ldb --all --format sql --since 3 > new_data.sql
///     $ psql -v ON_ERROR_STOP=1 -d app -f new_data.sql
///     $ lightning export app.ldb --all --format sql --dialect mysql --schema > app.sql
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ExportArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The table to export.
    #[arg(
        value_name = "TABLE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub table: Option<String>,
    /// Export every table (stream format only).
    #[arg(long)]
    pub all: bool,
    /// Output format.
    #[arg(long, value_enum, default_value_t = ExportFormat::Ndjson, value_name = "FORMAT")]
    pub format: ExportFormat,
    /// The database a --format sql script is for.
    #[arg(long, value_enum, default_value_t = crate::sqlscript::Dialect::Postgres)]
    pub dialect: crate::sqlscript::Dialect,
    /// --format sql: only the rows SQL changed on the store after this run (its
    /// id, from `lightning runs`) or this time (2026-11-26T10:00:00Z).
    #[arg(long, value_name = "RUN|TIMESTAMP", conflicts_with = "schema")]
    pub since: Option<String>,
    /// --format sql: create the tables first (CREATE TABLE, indexes, constraints),
    /// so the script loads into an empty database.
    #[arg(long)]
    pub schema: bool,
}

pub fn export(a: &ExportArgs) -> anyhow::Result<ExitCode> {
    if a.all && a.format == ExportFormat::Csv {
        usage_error("--format csv writes one table: give a TABLE instead of --all");
    }
    if a.since.is_some() && a.format != ExportFormat::Sql {
        usage_error("--since writes the changes as SQL: add --format sql");
    }
    if a.schema && a.format != ExportFormat::Sql {
        usage_error("--schema writes CREATE TABLE statements: add --format sql");
    }
    let store = open(&a.db)?;
    let tables = match &a.table {
        Some(t) => vec![store.table(t)?],
        None => store.tables(),
    };
    let mut out = out::stdout();
    match a.format {
        ExportFormat::Sql => match &a.since {
            Some(s) => {
                let since = crate::sqlscript::parse_since(&store, s)?;
                let (up, del) =
                    crate::sqlscript::write_since(&store, &tables, &since, a.dialect, &mut out)?;
                eprintln!(
                    "{up} rows to insert or update and {del} to delete, changed since {}",
                    since.described
                );
            }
            None => {
                let schema = match a.schema {
                    true => Some(crate::sqlscript::origin(&store)?),
                    false => None,
                };
                let notes =
                    crate::sqlscript::write_all(&store, &tables, a.dialect, schema, &mut out)?;
                for n in &notes {
                    eprintln!("note: {n}");
                }
            }
        },
        ExportFormat::Csv => write_rows(&store, &tables[0], RowFormat::Csv, None, &mut out)?,
        ExportFormat::Ndjson => {
            let mut w = StreamWriter::new(&mut out);
            for t in &tables {
                w.write(&schema_message(t))?;
                for item in store.scan(&t.name)? {
                    let (key, row) = item?;
                    let rowid = lightning_core::keycode::decode_rowid(&key);
                    w.write(&record_message(t, &row, rowid))?;
                }
            }
            w.flush()?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Two options that do not go together: clap's usage error (exit 2).
fn usage_error(message: &str) -> ! {
    let mut cli = crate::Cli::command();
    cli.build();
    let cmd = cli
        .find_subcommand_mut("export")
        .expect("the export command exists");
    cmd.error(clap::error::ErrorKind::ArgumentConflict, message)
        .exit()
}
