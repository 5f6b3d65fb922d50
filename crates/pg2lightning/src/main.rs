//! pg2lightning: migrate a PostgreSQL database — from a live server or from
//! pg_dump output — into Lightning DB.

mod assess;
mod catalog;
mod connect;
mod convert;
mod copytext;
mod decode;
mod dump;
mod dumpsource;
mod input;
mod mapping;
mod model;
mod rows;
mod server;
mod sqltext;

use std::process::ExitCode;

use anyhow::bail;
use clap::{Parser, Subcommand};
use lightning_core::cli::{
    check_strict, print_stdout, run_export, run_main, run_migrate, run_verify, CastArgs,
    ExportArgs, MigrateArgs, ReportArgs, TableFilter, VerifyArgs,
};
use lightning_core::report::Severity;

use crate::input::SourceArgs;

const TOOL: &str = "pg2lightning";

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Migrate a PostgreSQL database into Lightning DB, from a live server or from
/// pg_dump output.
///
/// Assess the database, convert its schema to Lightning DDL with a report of every
/// decision, copy the rows (in parallel, from one consistent snapshot, resumable
/// after any crash), and verify with checksums that nothing was lost.
///
/// The server is named as psql and pg_dump name it: a URL or `key=value` string,
/// with what it leaves out taken from PGHOST, PGPORT, PGUSER, PGPASSWORD and
/// PGDATABASE. A dump is a plain-format pg_dump script; turn a custom-format dump
/// into one with `pg_restore -f - app.dump`.
///
/// Example:
///   pg2lightning assess --source postgresql://app@db.example/app
///   pg2lightning convert-schema --source postgresql://app@db.example/app > schema.sql
///   pg2lightning migrate --source postgresql://app@db.example/app --target app.ldb --verify
///   pg_dump app | pg2lightning migrate --from-dump - --target app.ldb
///   pg_restore -f - app.dump | pg2lightning migrate --from-dump - --target app.ldb
///
/// Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences.
#[derive(Parser)]
#[command(name = TOOL, version, verbatim_doc_comment, arg_required_else_help = true)]
struct Cli {
    /// Print the default cast rules (PostgreSQL type => Lightning type) and exit.
    #[arg(long)]
    print_casts: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Size, tables, features needing manual work, a score, risks and a measured time estimate.
    Assess {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        filter: TableFilter,
        #[command(flatten)]
        cast: CastArgs,
        /// Rows per table copied into a scratch store to time the migration.
        #[arg(long, default_value_t = 20_000, value_name = "N")]
        sample_rows: u64,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Print the Lightning DDL of the database (stdout) and a conversion report.
    ConvertSchema {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        filter: TableFilter,
        #[command(flatten)]
        cast: CastArgs,
        /// Fail when anything would be carried with a loss.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        report: ReportArgs,
    },
    /// Copy the database into a Lightning store (resumable: run it again after a crash).
    Migrate {
        #[command(flatten)]
        source: SourceArgs,
        /// Fail before copying when anything would be carried with a loss.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        args: MigrateArgs,
    },
    /// Compare the source with a Lightning store: counts, schema, sampled rows, checksums.
    Verify {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        args: VerifyArgs,
    },
    /// Write the rows as a JSON-lines stream (SCHEMA/RECORD/STATE) to stdout.
    Export {
        #[command(flatten)]
        source: SourceArgs,
        #[command(flatten)]
        args: ExportArgs,
    },
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        if cli.print_casts {
            let mut text = mapping::default_rules().describe_defaults();
            text.push_str(
                "# arrays => JSON arrays; composite types => JSON objects; enums => TEXT with a CHECK of their labels;\n\
                 # domains => their base type with their checks; any other type => TEXT (PostgreSQL's text form)\n",
            );
            print_stdout(&text)?;
            return Ok(ExitCode::SUCCESS);
        }
        let Some(command) = cli.command else {
            bail!("a command is needed; see `{TOOL} --help`");
        };
        run(command)
    })
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Assess {
            source,
            filter,
            cast,
            sample_rows,
            report,
        } => {
            let loaded = input::load(&source, &filter, &cast, None)?;
            let a = assess::assess(loaded, sample_rows)?;
            report.emit(&a)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ConvertSchema {
            source,
            filter,
            cast,
            strict,
            report,
        } => {
            let loaded = input::load(&source, &filter, &cast, None)?;
            if !report.json {
                let schemas: Vec<_> = loaded.tables.iter().map(|t| t.schema.clone()).collect();
                print_stdout(&lightning_core::ddl::render_schema(&schemas))?;
            }
            report.emit(&loaded.conversion)?;
            check_strict(strict, &loaded.conversion)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate {
            source,
            strict,
            args,
        } => {
            let loaded = input::load(&source, &args.filter, &args.cast, Some(&args.target))?;
            check_strict(strict, &loaded.conversion)?;
            for f in loaded
                .conversion
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Manual)
            {
                tracing::info!("{}: {} (needs manual work)", f.object, f.message);
            }
            let desc = loaded.description.clone();
            let reader = loaded.reader(&args.where_, true)?;
            let schemas = reader.schemas();
            run_migrate(
                TOOL,
                &desc,
                reader.source(),
                schemas,
                &args,
                Some(reader.verifier()),
            )
        }
        Command::Verify { source, args } => {
            let loaded = input::load(&source, &args.filter, &args.cast, None)?;
            let desc = loaded.description.clone();
            let reader = loaded.reader(&args.where_, false)?;
            run_verify(TOOL, &desc, reader.verifier(), &reader.schemas(), &args)
        }
        Command::Export { source, args } => {
            let loaded = input::load(&source, &args.filter, &args.cast, None)?;
            let reader = loaded.reader(&Default::default(), true)?;
            run_export(reader.source(), &reader.schemas(), &args)
        }
    }
}
