//! mysql2lightning: migrate a MySQL or MariaDB database — from a live server or from
//! mysqldump output — into Lightning DB.

mod assess;
mod catalog;
mod connect;
mod convert;
mod dump;
mod mapping;
mod model;
mod source;

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::{Args, Parser, Subcommand};
use lightning_core::cast::{CastRules, Pattern};
use lightning_core::cli::{
    check_strict, print_stdout, run_export, run_main, run_migrate, run_verify, CastArgs,
    ExportArgs, MigrateArgs, ReportArgs, TableFilter, VerifyArgs,
};
use lightning_core::report::{ConversionReport, Severity};

use crate::connect::ConnSpec;
use crate::convert::{Options, SourceTable};
use crate::dump::{DumpIndex, DumpSource};
use crate::mapping::ZeroDates;
use crate::model::MyCatalog;
use crate::source::ServerSource;

pub(crate) const TOOL: &str = "mysql2lightning";

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Migrate a MySQL or MariaDB database into Lightning DB, from a live server or
/// from mysqldump output.
///
/// Assess the database, convert its schema to Lightning DDL with a report of every
/// decision, copy the rows (in parallel, in one consistent snapshot, resumable
/// after any crash), and verify with checksums that nothing was lost.
///
/// Example:
///   mysql2lightning assess --source mysql://app@db:3306/shop
///   mysql2lightning convert-schema --from-dump shop.sql > schema.sql
///   mysql2lightning migrate --source mysql://app@db/shop --target shop.ldb --verify
///   mysqldump shop | mysql2lightning migrate --from-dump - --target shop.ldb
///
/// The password comes from the URL or from MYSQL_PWD; it is never shown.
/// Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences.
#[derive(Parser)]
#[command(name = TOOL, version, verbatim_doc_comment, arg_required_else_help = true)]
struct Cli {
    /// Print the default cast rules (MySQL type => Lightning type) and exit.
    #[arg(long)]
    print_casts: bool,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Args, Clone)]
#[group(required = true, multiple = false)]
struct SourceArg {
    /// The server: mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or a database name
    /// (then MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and USER are used).
    #[arg(long, value_name = "URL|DATABASE")]
    source: Option<String>,
    /// A mysqldump file, or `-` for standard input.
    #[arg(long, value_name = "FILE|-")]
    from_dump: Option<String>,
}

#[derive(Args, Clone)]
struct ValueArgs {
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
}

#[derive(Subcommand)]
enum Command {
    /// Size, tables, features needing manual work, a score, risks and a measured time estimate.
    Assess {
        #[command(flatten)]
        source: SourceArg,
        #[command(flatten)]
        values: ValueArgs,
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
        values: ValueArgs,
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
        #[command(flatten)]
        values: ValueArgs,
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
        values: ValueArgs,
        #[command(flatten)]
        args: VerifyArgs,
    },
    /// Write the rows as a JSON-lines stream (SCHEMA/RECORD/STATE) to stdout.
    Export {
        #[command(flatten)]
        source: SourceArg,
        #[command(flatten)]
        values: ValueArgs,
        #[command(flatten)]
        args: ExportArgs,
    },
}

fn main() -> ExitCode {
    run_main(|| {
        let cli = Cli::parse();
        if cli.print_casts {
            let mut text = mapping::default_rules().describe_defaults();
            text.push_str("# any other type => TEXT, as the server prints its values (reported as a warning)\n");
            print_stdout(&text)?;
            return Ok(ExitCode::SUCCESS);
        }
        let Some(command) = cli.command else {
            bail!("a command is needed; see `{TOOL} --help`");
        };
        run(command)
    })
}

/// A loaded source: its converted tables and the conversion report.
enum Loaded {
    Server {
        spec: ConnSpec,
        tables: Vec<SourceTable>,
    },
    DumpFile {
        path: PathBuf,
        index: DumpIndex,
        tables: Vec<SourceTable>,
    },
    Stdin {
        rules: CastRules,
    },
}

fn check_rules(rules: &CastRules, cat: &MyCatalog) -> anyhow::Result<()> {
    for rule in &rules.user {
        if let Pattern::Column { table, column } = &rule.pattern {
            let known = cat
                .tables
                .iter()
                .any(|t| &t.name == table && t.columns.iter().any(|c| &c.name == column));
            if !known {
                bail!("cast rule `{rule}` names no column of the source (`{table}` has no column `{column}`)");
            }
        }
    }
    Ok(())
}

fn check_filter(filter: &TableFilter, cat: &MyCatalog) -> anyhow::Result<()> {
    let names: Vec<&str> = cat.tables.iter().map(|t| t.name.as_str()).collect();
    if let Some(t) = filter.unknown(&names).first() {
        bail!(
            "no table `{t}` in the source (the source has: {})",
            names.join(", ")
        );
    }
    Ok(())
}

fn dump_tz(values: &ValueArgs) -> anyhow::Result<i64> {
    dump::parse_offset(&values.dump_time_zone).with_context(|| {
        format!(
            "--dump-time-zone `{}` is not an offset such as +00:00 or -05:00",
            values.dump_time_zone
        )
    })
}

/// Read the source's catalog and convert the selected tables.
fn load(
    source: &SourceArg,
    values: &ValueArgs,
    filter: &TableFilter,
    cast: &CastArgs,
) -> anyhow::Result<(Loaded, ConversionReport)> {
    let rules = cast.rules(mapping::default_rules())?;
    let tz = dump_tz(values)?;
    if let Some(v) = &values.dump_server_version {
        let (n, m) = dump::lex::parse_server_version(v).with_context(|| {
            format!("--dump-server-version `{v}` is not a version such as 8.0.36 or 10.11-MariaDB")
        })?;
        dump::lex::set_dialect(n, m);
    }
    let (loaded, cat, desc) = match (&source.source, &source.from_dump) {
        (Some(url), _) => {
            let spec = ConnSpec::parse(url)?;
            let mut conn = spec.connect()?;
            let cat = catalog::read(&mut conn, &spec)?;
            let desc = spec.describe();
            (
                Loaded::Server {
                    spec,
                    tables: Vec::new(),
                },
                cat,
                desc,
            )
        }
        (None, Some(f)) if f == "-" => {
            return Ok((
                Loaded::Stdin { rules },
                ConversionReport::new(TOOL, "(standard input)"),
            ))
        }
        (None, Some(f)) => {
            let path = PathBuf::from(f);
            if !path.is_file() {
                bail!("{f}: no such file");
            }
            let index = dump::scan_file(&path, tz).with_context(|| format!("reading {f}"))?;
            let cat = index.catalog.clone();
            let desc = std::fs::canonicalize(&path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string();
            (
                Loaded::DumpFile {
                    path,
                    index,
                    tables: Vec::new(),
                },
                cat,
                desc,
            )
        }
        (None, None) => bail!("give --source URL or --from-dump FILE"),
    };
    check_filter(filter, &cat)?;
    check_rules(&rules, &cat)?;
    let mut report = ConversionReport::new(TOOL, &desc);
    let from_dump = matches!(loaded, Loaded::DumpFile { .. });
    let converted = convert::convert(
        &cat,
        &Options {
            rules: &rules,
            zero_dates: values.zero_dates,
            from_dump,
        },
        &|t| filter.selects(t),
        &mut report,
    );
    let loaded = match loaded {
        Loaded::Server { spec, .. } => Loaded::Server {
            spec,
            tables: converted,
        },
        Loaded::DumpFile { path, index, .. } => Loaded::DumpFile {
            path,
            index,
            tables: converted,
        },
        other => other,
    };
    Ok((loaded, report))
}

fn warn_manual(conversion: &ConversionReport) {
    for f in conversion
        .findings
        .iter()
        .filter(|f| f.severity == Severity::Manual)
    {
        tracing::warn!("{}: {} (needs manual work)", f.object, f.message);
    }
}

fn report_counts(lines: Vec<String>) {
    for l in lines {
        eprintln!("note: {l}");
    }
}

fn run(command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Assess {
            source,
            values,
            filter,
            cast,
            sample_rows,
            report,
        } => {
            let (loaded, conversion) = load(&source, &values, &filter, &cast)?;
            let a = match loaded {
                Loaded::Server { spec, tables } => {
                    let rows: Vec<u64> = tables.iter().map(|t| t.rows_estimate).collect();
                    let mut src = ServerSource::new(
                        spec.clone(),
                        tables.clone(),
                        HashMap::new(),
                        1,
                        ZeroDates::Null,
                    );
                    src.limit = Some(sample_rows.max(1));
                    let schemas = src.schemas();
                    assess::assess(&spec.describe(), &tables, &rows, conversion, &src, &schemas)?
                }
                Loaded::DumpFile {
                    path,
                    index,
                    mut tables,
                } => {
                    let rows: Vec<u64> = tables
                        .iter()
                        .map(|t| {
                            index
                                .ranges
                                .get(&t.schema.name)
                                .map_or(0, |r| r.iter().map(|x| x.rows_hint).sum())
                        })
                        .collect();
                    for t in &mut tables {
                        t.size_bytes = index
                            .ranges
                            .get(&t.schema.name)
                            .map_or(0, |r| r.iter().map(|x| x.end - x.offset).sum());
                    }
                    let desc = path.display().to_string();
                    let dump_bytes = index.bytes;
                    let mut src =
                        DumpSource::from_file(path, index, tables.clone(), ZeroDates::Null);
                    src.limit = Some(sample_rows.max(1));
                    let schemas = src.schemas();
                    let mut a = assess::assess(&desc, &tables, &rows, conversion, &src, &schemas)?;
                    a.database_size_bytes = dump_bytes;
                    a
                }
                Loaded::Stdin { .. } => {
                    bail!("assess needs a server or a dump file, not standard input")
                }
            };
            report.emit(&a)?;
            Ok(ExitCode::SUCCESS)
        }
        Command::ConvertSchema {
            source,
            values,
            filter,
            cast,
            strict,
            report,
        } => {
            if source.from_dump.as_deref() == Some("-") {
                bail!(
                    "convert-schema reads a dump file twice at most; save the dump to a file first"
                );
            }
            let (loaded, conversion) = load(&source, &values, &filter, &cast)?;
            let tables = match loaded {
                Loaded::Server { tables, .. } | Loaded::DumpFile { tables, .. } => tables,
                Loaded::Stdin { .. } => Vec::new(),
            };
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
            values,
            strict,
            args,
        } => {
            let (loaded, conversion) = load(&source, &values, &args.filter, &args.cast)?;
            check_strict(strict, &conversion)?;
            warn_manual(&conversion);
            match loaded {
                Loaded::Server { spec, tables } => {
                    let names: Vec<String> = tables.iter().map(|t| t.schema.name.clone()).collect();
                    let known: Vec<&str> = names.iter().map(String::as_str).collect();
                    let src = ServerSource::new(
                        spec.clone(),
                        tables,
                        args.where_.by_table(&known),
                        args.parallel,
                        values.zero_dates,
                    );
                    let schemas = src.schemas();
                    let code =
                        run_migrate(TOOL, &spec.describe(), &src, schemas, &args, Some(&src))?;
                    report_counts(src.counters.summary(values.zero_dates));
                    Ok(code)
                }
                Loaded::DumpFile {
                    path,
                    index,
                    tables,
                } => {
                    if !args.where_.conditions.is_empty() {
                        bail!("--where needs a server (a dump cannot be filtered with SQL)");
                    }
                    let desc = std::fs::canonicalize(&path)
                        .unwrap_or_else(|_| path.clone())
                        .display()
                        .to_string();
                    let src = DumpSource::from_file(path, index, tables, values.zero_dates);
                    let schemas = src.schemas();
                    let code = run_migrate(TOOL, &desc, &src, schemas, &args, Some(&src))?;
                    report_counts(src.counters.summary(values.zero_dates));
                    Ok(code)
                }
                Loaded::Stdin { rules } => {
                    if args.fresh || args.verify || !args.where_.conditions.is_empty() {
                        bail!("--fresh, --verify and --where need a dump file or a server: standard input can be read only once");
                    }
                    let filter = args.filter.clone();
                    let src = DumpSource::from_stdin(
                        rules,
                        Box::new(move |t| filter.selects(t)),
                        values.zero_dates,
                        dump_tz(&values)?,
                    );
                    let code = run_migrate(
                        TOOL,
                        "mysqldump on standard input",
                        &src,
                        Vec::new(),
                        &args,
                        None,
                    )?;
                    report_counts(src.counters.summary(values.zero_dates));
                    Ok(code)
                }
            }
        }
        Command::Verify {
            source,
            values,
            args,
        } => {
            let (loaded, _) = load(&source, &values, &args.filter, &args.cast)?;
            match loaded {
                Loaded::Server { spec, tables } => {
                    let names: Vec<String> = tables.iter().map(|t| t.schema.name.clone()).collect();
                    let known: Vec<&str> = names.iter().map(String::as_str).collect();
                    let src = ServerSource::new(
                        spec.clone(),
                        tables,
                        args.where_.by_table(&known),
                        1,
                        values.zero_dates,
                    );
                    run_verify(TOOL, &spec.describe(), &src, &src.schemas(), &args)
                }
                Loaded::DumpFile {
                    path,
                    index,
                    tables,
                } => {
                    if !args.where_.conditions.is_empty() {
                        bail!("--where needs a server (a dump cannot be filtered with SQL)");
                    }
                    let desc = path.display().to_string();
                    let src = DumpSource::from_file(path, index, tables, values.zero_dates);
                    run_verify(TOOL, &desc, &src, &src.schemas(), &args)
                }
                Loaded::Stdin { .. } => {
                    bail!("verify reads the source again: give a server or a dump file, not standard input")
                }
            }
        }
        Command::Export {
            source,
            values,
            args,
        } => {
            let (loaded, _) = load(&source, &values, &args.filter, &args.cast)?;
            match loaded {
                Loaded::Server { spec, tables } => {
                    let src = ServerSource::new(spec, tables, HashMap::new(), 1, values.zero_dates);
                    run_export(&src, &src.schemas(), &args)
                }
                Loaded::DumpFile {
                    path,
                    index,
                    tables,
                } => {
                    let src = DumpSource::from_file(path, index, tables, values.zero_dates);
                    run_export(&src, &src.schemas(), &args)
                }
                Loaded::Stdin { rules } => {
                    let filter = args.filter.clone();
                    let src = DumpSource::from_stdin(
                        rules,
                        Box::new(move |t| filter.selects(t)),
                        values.zero_dates,
                        dump_tz(&values)?,
                    );
                    run_export(&src, &[], &args)
                }
            }
        }
    }
}
