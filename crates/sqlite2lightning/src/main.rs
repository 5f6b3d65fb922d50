//! sqlite2lightning: migrate a SQLite database into Lightning DB.

mod assess;
mod catalog;
mod mapping;
mod source;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::bail;
use clap::{Args, Parser, Subcommand};
use lightning_core::cast::Pattern;
use lightning_core::cli::{
    check_strict, print_stdout, run_export, run_main, run_migrate, run_verify, CastArgs,
    ExportArgs, MigrateArgs, ReportArgs, TableFilter, VerifyArgs,
};
use lightning_core::report::{ConversionReport, Severity};

use crate::catalog::SourceTable;
use crate::source::SqliteSource;

const TOOL: &str = "sqlite2lightning";

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Migrate a SQLite database into Lightning DB.
///
/// Assess the database, convert its schema to Lightning DDL with a report of every
/// decision, copy the rows (in parallel, resumable after any crash), and verify
/// with checksums that nothing was lost.
///
/// Example:
///   sqlite2lightning assess --source app.sqlite
///   sqlite2lightning convert-schema --source app.sqlite > schema.sql
///   sqlite2lightning migrate --source app.sqlite --target app.ldb --verify
///   sqlite2lightning export --source app.sqlite | lightning import app.ldb
///
/// Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences.
#[derive(Parser)]
#[command(name = TOOL, version, verbatim_doc_comment, arg_required_else_help = true)]
struct Cli {
    /// Print the default cast rules (source type => Lightning type) and exit.
    #[arg(long)]
    print_casts: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args)]
struct SourceArg {
    /// The SQLite database file.
    #[arg(long, value_name = "FILE")]
    source: PathBuf,
}

#[derive(Subcommand)]
enum Command {
    /// Size, tables, features needing manual work, a score, risks and a measured time estimate.
    Assess {
        #[command(flatten)]
        source: SourceArg,
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
        source: SourceArg,
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
        source: SourceArg,
        /// Fail before copying when anything would be carried with a loss.
        #[arg(long)]
        strict: bool,
        #[command(flatten)]
        args: MigrateArgs,
    },
    /// Compare the source with a Lightning store: counts, schema, sampled rows, checksums.
    Verify {
        #[command(flatten)]
        source: SourceArg,
        #[command(flatten)]
        args: VerifyArgs,
    },
    /// Write the rows as a JSON-lines stream (SCHEMA/RECORD/STATE) to stdout.
    Export {
        #[command(flatten)]
        source: SourceArg,
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
                "# otherwise SQLite's affinity decides: INTEGER => BIGINT, TEXT => TEXT, REAL => DOUBLE, \
                 NUMERIC => DECIMAL, BLOB => BLOB; a column with no declared type is decided by its values\n",
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

/// Open the source and convert the selected tables.
fn load(
    path: &Path,
    filter: &TableFilter,
    cast: &CastArgs,
    profile: bool,
) -> anyhow::Result<(rusqlite::Connection, Vec<SourceTable>, ConversionReport)> {
    let rules = cast.rules(mapping::default_rules())?;
    let conn = catalog::open(path)?;
    let names = catalog::table_names(&conn)?;
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    if let Some(t) = filter.unknown(&known).first() {
        bail!(catalog::CatalogError::UnknownTable(
            t.to_string(),
            names.join(", ")
        ));
    }
    for rule in &rules.user {
        if let Pattern::Column { table, column } = &rule.pattern {
            if !catalog::has_column(&conn, table, column)? {
                bail!("cast rule `{rule}` names no column of the source (`{table}` has no column `{column}`)");
            }
        }
    }
    let mut report = ConversionReport::new(TOOL, &path.display().to_string());
    let tables = catalog::convert(&conn, &rules, &|t| filter.selects(t), profile, &mut report)?;
    Ok((conn, tables, report))
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
            let (conn, tables, conversion) = load(&source.source, &filter, &cast, true)?;
            let a = assess::assess(&source.source, &conn, tables, conversion, sample_rows)?;
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
            let (_, tables, conversion) = load(&source.source, &filter, &cast, true)?;
            if !report.json {
                let schemas: Vec<_> = tables.iter().map(|t| t.schema.clone()).collect();
                print_stdout(&lightning_core::ddl::render_schema(&schemas))?;
            }
            report.emit(&conversion)?;
            check_strict(strict, &conversion)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::Migrate {
            source,
            strict,
            args,
        } => {
            let (conn, tables, conversion) = load(&source.source, &args.filter, &args.cast, false)?;
            check_strict(strict, &conversion)?;
            for f in conversion
                .findings
                .iter()
                .filter(|f| f.severity == Severity::Manual)
            {
                tracing::warn!("{}: {} (needs manual work)", f.object, f.message);
            }
            drop(conn);
            let names: Vec<String> = tables.iter().map(|t| t.schema.name.clone()).collect();
            let known: Vec<&str> = names.iter().map(String::as_str).collect();
            let src =
                SqliteSource::new(source.source.clone(), tables, args.where_.by_table(&known));
            let schemas = src.schemas();
            // The run record names the file by its full path, so that a resumed run
            // is recognised as the same source whatever directory it starts from.
            let source_desc =
                std::fs::canonicalize(&source.source).unwrap_or_else(|_| source.source.clone());
            run_migrate(
                TOOL,
                &source_desc.display().to_string(),
                &src,
                schemas,
                &args,
                Some(&src),
            )
        }
        Command::Verify { source, args } => {
            let (_, tables, _) = load(&source.source, &args.filter, &args.cast, false)?;
            let names: Vec<String> = tables.iter().map(|t| t.schema.name.clone()).collect();
            let known: Vec<&str> = names.iter().map(String::as_str).collect();
            let src =
                SqliteSource::new(source.source.clone(), tables, args.where_.by_table(&known));
            run_verify(
                TOOL,
                &source.source.display().to_string(),
                &src,
                &src.schemas(),
                &args,
            )
        }
        Command::Export { source, args } => {
            let (_, tables, _) = load(&source.source, &args.filter, &args.cast, false)?;
            let src = SqliteSource::new(source.source.clone(), tables, HashMap::new());
            run_export(&src, &src.schemas(), &args)
        }
    }
}
