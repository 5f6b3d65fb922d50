//! Commands that read a store: tables, describe, count, get, scan, checksum, stats, runs.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{anyhow, bail};
use clap::{Args, ValueEnum};
use lightning_core::checksum::TableChecksum;
use lightning_core::progress::{read_live_state, Stats};
use lightning_core::store::StoreError;
use lightning_core::store::FORMAT_VERSION;
use lightning_core::{ddl, report, Store, TableSchema, Value};
use serde::Serialize;

use crate::out::{self, write_aligned};

/// Open an existing store to read it (never creates one; a store that cannot be
/// written is read through a private copy).
pub fn open(db: &Path) -> anyhow::Result<Store> {
    Ok(Store::open_to_read(db)?)
}

/// A store, or — while a run writes it, which keeps others from opening it — the
/// state that run writes beside it.
enum Opened {
    Store(Store),
    InUse(Stats),
}

fn open_or_in_use(db: &Path) -> anyhow::Result<Opened> {
    match Store::open_to_read(db) {
        Ok(s) => Ok(Opened::Store(s)),
        Err(e @ StoreError::Locked { .. }) => match read_live_state(db) {
            Some(live) => {
                eprintln!(
                    "note: {} is in use by {} {} (run {}, process {}, {}): figures as of {} from the run's state, for the tables it copies",
                    db.display(),
                    live.tool,
                    live.command,
                    live.run_id.map_or("-".into(), |r| r.to_string()),
                    live.pid,
                    phase_text(&live),
                    live.updated_at
                );
                Ok(Opened::InUse(live))
            }
            None => Err(e.into()),
        },
        Err(e) => Err(e.into()),
    }
}

fn phase_text(s: &Stats) -> String {
    serde_json::to_value(s.phase)
        .ok()
        .and_then(|v| v.as_str().map(String::from))
        .unwrap_or_default()
}

/// Each table of a running copy with the rows the store holds now.
fn live_counts(s: &Stats) -> Vec<(String, u64)> {
    s.tables
        .iter()
        .map(|t| {
            (
                t.name.clone(),
                t.rows_stored.unwrap_or(t.rows_migrated - t.rows_rejected),
            )
        })
        .collect()
}

/// The named table, or every table of the store.
fn selected_tables(store: &Store, table: Option<&str>) -> anyhow::Result<Vec<TableSchema>> {
    Ok(match table {
        Some(t) => vec![store.table(t)?],
        None => store.tables(),
    })
}

fn write_json(out: &mut impl Write, v: &impl Serialize) -> anyhow::Result<()> {
    serde_json::to_writer_pretty(&mut *out, v)?;
    out.write_all(b"\n")?;
    Ok(())
}

/// A table and its row count, for JSON output.
#[derive(Serialize)]
struct TableRows {
    table: String,
    rows: u64,
}

impl TableRows {
    fn list(rows: &[(String, u64)]) -> Vec<TableRows> {
        rows.iter()
            .map(|(t, n)| TableRows {
                table: t.clone(),
                rows: *n,
            })
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// List the tables with their row counts
///
/// One table a line, with its row count, in name order.
///
/// Example:
///
///     $ lightning tables app.ldb
///     orders  1250
///     users     42
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct TablesArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Print a JSON array of {"table", "rows"} objects instead.
    #[arg(long)]
    pub json: bool,
}

pub fn tables(a: &TablesArgs) -> anyhow::Result<ExitCode> {
    let mut out = out::stdout();
    let mut rows = Vec::new();
    match open_or_in_use(&a.db)? {
        Opened::InUse(live) => rows = live_counts(&live),
        Opened::Store(store) => {
            for t in store.tables() {
                rows.push((t.name.clone(), store.count(&t.name)?));
            }
        }
    }
    if a.json {
        write_json(&mut out, &TableRows::list(&rows))?;
    } else {
        let cells: Vec<Vec<String>> = rows
            .into_iter()
            .map(|(t, n)| vec![t, n.to_string()])
            .collect();
        write_aligned(&mut out, &cells, &[false, true])?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Show a table's schema as Lightning DDL
///
/// Prints the CREATE TABLE statement (and CREATE INDEX statements) that
/// `lightning execute` accepts, so a table's schema can be copied to another
/// database. With --json, prints the schema as the store keeps it.
///
/// Example:
///
///     $ lightning describe app.ldb users
///     CREATE TABLE users (
///         id BIGINT NOT NULL PRIMARY KEY,
///         email TEXT NOT NULL
///     );
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DescribeArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The table to describe.
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// Print the schema as JSON instead.
    #[arg(long)]
    pub json: bool,
}

pub fn describe(a: &DescribeArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.db)?;
    let t = store.table(&a.table)?;
    let mut out = out::stdout();
    if a.json {
        write_json(&mut out, &t)?;
    } else {
        out.write_all(ddl::render_table(&t).as_bytes())?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Count the rows of one table, or of every table
///
/// With a TABLE, prints its row count alone. Without, prints each table with its
/// count and a total line. Counts are kept by the store: this does not scan.
///
/// Examples:
///
///     $ lightning count app.ldb users
///     42
///     $ lightning count app.ldb
///     orders   1250
///     users      42
///     (total)  1292
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CountArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Count only this table.
    #[arg(value_name = "TABLE")]
    pub table: Option<String>,
    /// Print JSON instead.
    #[arg(long)]
    pub json: bool,
}

pub fn count(a: &CountArgs) -> anyhow::Result<ExitCode> {
    let opened = open_or_in_use(&a.db)?;
    let counted = |t: &str| -> anyhow::Result<u64> {
        match &opened {
            Opened::Store(store) => Ok(store.count(t)?),
            Opened::InUse(live) => live_counts(live)
                .into_iter()
                .find(|(n, _)| n == t)
                .map(|(_, n)| n)
                .ok_or_else(|| {
                    anyhow!(
                        "the run writing {} does not copy a table `{t}`; try again once it ends",
                        a.db.display()
                    )
                }),
        }
    };
    let names: Vec<String> = match &opened {
        Opened::Store(store) => store.tables().into_iter().map(|t| t.name).collect(),
        Opened::InUse(live) => live.tables.iter().map(|t| t.name.clone()).collect(),
    };
    let mut out = out::stdout();
    if let Some(t) = &a.table {
        let n = counted(t)?;
        if a.json {
            write_json(
                &mut out,
                &TableRows {
                    table: t.clone(),
                    rows: n,
                },
            )?;
        } else {
            writeln!(out, "{n}")?;
        }
    } else {
        let mut rows = Vec::new();
        let mut total = 0u64;
        for t in names {
            let n = counted(&t)?;
            total += n;
            rows.push((t, n));
        }
        if a.json {
            #[derive(Serialize)]
            struct Counts {
                tables: Vec<TableRows>,
                total: u64,
            }
            write_json(
                &mut out,
                &Counts {
                    tables: TableRows::list(&rows),
                    total,
                },
            )?;
        } else {
            let mut cells: Vec<Vec<String>> = rows
                .into_iter()
                .map(|(t, n)| vec![t, n.to_string()])
                .collect();
            cells.push(vec!["(total)".into(), total.to_string()]);
            write_aligned(&mut out, &cells, &[false, true])?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Look a row up by its primary key and print it as a JSON object
///
/// Give one KEY per primary-key column, in the key's order, each in the
/// column's text form (as `lightning scan --format csv` prints it). A table
/// without a primary key keys its rows by a row id: give that number. Exits with
/// 1 when there is no such row.
///
/// Examples:
///
///     $ lightning get app.ldb users 42
///     {"id":42,"email":"ada@example.com","born":"1815-12-10"}
///     $ lightning get app.ldb order_items 1250 3
///     $ lightning get app.ldb events 0
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct GetArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The table to look in.
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// The primary-key values, one per key column (or one row id).
    #[arg(value_name = "KEY", required = true, num_args = 1.., allow_hyphen_values = true)]
    pub key: Vec<String>,
}

/// Parse the key values given on the command line for `t`.
fn parse_key(t: &TableSchema, texts: &[String]) -> anyhow::Result<(Vec<Value>, String)> {
    let positions = t.key_positions();
    if positions.is_empty() {
        let [text] = texts else {
            bail!(
                "table `{}` has no primary key, so its rows are looked up by one row id, but {} values were given",
                t.name,
                texts.len()
            );
        };
        let id: i64 = text
            .trim()
            .parse()
            .ok()
            .ok_or_else(|| anyhow!("bad row id `{text}` for table `{}`: expected a whole number (the table has no primary key)", t.name))?;
        return Ok((vec![Value::Int(id)], format!("row id {id}")));
    }
    if texts.len() != positions.len() {
        let names: Vec<&str> = positions
            .iter()
            .map(|&p| t.columns[p].name.as_str())
            .collect();
        bail!(
            "table `{}` has a primary key of {} column{} ({}), but {} key value{} given",
            t.name,
            positions.len(),
            if positions.len() == 1 { "" } else { "s" },
            names.join(", "),
            texts.len(),
            if texts.len() == 1 { " was" } else { "s were" }
        );
    }
    let mut values = Vec::with_capacity(texts.len());
    let mut shown = Vec::with_capacity(texts.len());
    for (&p, text) in positions.iter().zip(texts) {
        let c = &t.columns[p];
        let v = Value::from_text(c.ty, text).map_err(|e| {
            anyhow!(
                "bad key value for column `{}` (expected {}): {e}",
                c.name,
                c.ty
            )
        })?;
        shown.push(format!(
            "{}={}",
            c.name,
            v.to_text().unwrap_or_else(|| "NULL".into())
        ));
        values.push(v);
    }
    Ok((values, shown.join(", ")))
}

pub fn get(a: &GetArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.db)?;
    let t = store.table(&a.table)?;
    let (key, shown) = parse_key(&t, &a.key)?;
    let Some(row) = store.get(&t.name, &key)? else {
        bail!("no row with {shown} in {}", t.name);
    };
    let mut out = out::stdout();
    out::write_json_row(&mut out, &t, &row)?;
    out.write_all(b"\n")?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum RowFormat {
    /// One JSON object a line, keys in column order.
    Ndjson,
    /// A header line, then one line per row in canonical text forms.
    Csv,
}

/// Print a table's rows in primary-key order
///
/// NDJSON (the default) prints one JSON object a line: numbers and booleans as
/// JSON, DECIMAL and special floats (NaN, Infinity) as strings, BLOB as base64,
/// dates and times as text, a JSON column as the JSON it holds (every digit of
/// its numbers kept, so `jq` reads it as a document), NULL as null.
///
/// CSV prints a header line, then each value in its canonical text form (BLOB as
/// \x followed by hex), quoted as RFC 4180 asks; NULL is an empty field and an
/// empty string is "".
///
/// Examples:
///
///     $ lightning scan app.ldb users --limit 2
///     {"id":1,"email":"ada@example.com","born":"1815-12-10"}
///     {"id":2,"email":"","born":null}
///     $ lightning scan app.ldb users --format csv > users.csv
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ScanArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The table to scan.
    #[arg(value_name = "TABLE")]
    pub table: String,
    /// Stop after N rows.
    #[arg(long, value_name = "N")]
    pub limit: Option<u64>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = RowFormat::Ndjson, value_name = "FORMAT")]
    pub format: RowFormat,
}

/// Write a table's rows (at most `limit`) to `out` in `format`.
pub fn write_rows(
    store: &Store,
    t: &TableSchema,
    format: RowFormat,
    limit: Option<u64>,
    out: &mut impl Write,
) -> anyhow::Result<()> {
    let limit = limit.unwrap_or(u64::MAX);
    let mut line = String::new();
    if format == RowFormat::Csv {
        out.write_all(out::csv_header(t).as_bytes())?;
    }
    for (n, item) in store.scan(&t.name)?.enumerate() {
        if n as u64 >= limit {
            break;
        }
        let (_, row) = item?;
        match format {
            RowFormat::Ndjson => {
                out::write_json_row(out, t, &row)?;
                out.write_all(b"\n")?;
            }
            RowFormat::Csv => {
                out::csv_row(&mut line, &row);
                out.write_all(line.as_bytes())?;
            }
        }
    }
    Ok(())
}

pub fn scan(a: &ScanArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.db)?;
    let t = store.table(&a.table)?;
    let mut out = out::stdout();
    write_rows(&store, &t, a.format, a.limit, &mut out)?;
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Checksum tables, to compare them with a source or another database
///
/// A table's checksum is a 128-bit sum of its row hashes (printed in hex) with
/// its row count; it depends on neither row order nor column order (values are
/// hashed with their column names), so two databases holding the same rows print
/// the same lines. With --ranges N, each table is also split into N key ranges
/// of about equal size, each printed with its first key (hex of the encoded key)
/// and checksum, to narrow a difference down.
///
/// Examples:
///
///     $ lightning checksum app.ldb
///     orders  3f1c9a0e5b7d2c4a8e6f1b3d5a7c9e0f  1250
///     users   a0b1c2d3e4f5061728394a5b6c7d8e9f    42
///     $ lightning checksum app.ldb orders --ranges 4
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ChecksumArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Checksum only this table.
    #[arg(value_name = "TABLE")]
    pub table: Option<String>,
    /// Also checksum N key ranges of each table.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=1_000_000))]
    pub ranges: Option<u32>,
    /// Print JSON instead.
    #[arg(long)]
    pub json: bool,
}

struct RangeLine {
    first_key: Option<Vec<u8>>,
    sum: TableChecksum,
}

pub fn checksum(a: &ChecksumArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.db)?;
    let tables = selected_tables(&store, a.table.as_deref())?;
    let mut results: Vec<(String, TableChecksum, Option<Vec<RangeLine>>)> = Vec::new();
    for t in &tables {
        match a.ranges {
            None => results.push((t.name.clone(), store.checksum(&t.name)?, None)),
            Some(n) => {
                let rc = store.range_checksums(&t.name, n as usize)?;
                let first = match store.scan(&t.name)?.next() {
                    Some(item) => Some(item?.0),
                    None => None,
                };
                let mut whole = TableChecksum::default();
                let mut lines = Vec::new();
                for (i, sum) in rc.ranges.iter().enumerate() {
                    whole.merge(sum);
                    let first_key = if i == 0 {
                        first.clone()
                    } else {
                        rc.bounds.get(i - 1).cloned()
                    };
                    lines.push(RangeLine {
                        first_key,
                        sum: *sum,
                    });
                }
                results.push((t.name.clone(), whole, Some(lines)));
            }
        }
    }
    let mut out = out::stdout();
    if a.json {
        #[derive(Serialize)]
        struct Range {
            first_key: Option<String>,
            rows: u64,
            checksum: String,
        }
        #[derive(Serialize)]
        struct Table {
            table: String,
            rows: u64,
            checksum: String,
            #[serde(skip_serializing_if = "Option::is_none")]
            ranges: Option<Vec<Range>>,
        }
        let list: Vec<Table> = results
            .iter()
            .map(|(name, sum, ranges)| Table {
                table: name.clone(),
                rows: sum.rows,
                checksum: format!("{:032x}", sum.sum),
                ranges: ranges.as_ref().map(|lines| {
                    lines
                        .iter()
                        .map(|l| Range {
                            first_key: l.first_key.as_deref().map(hex),
                            rows: l.sum.rows,
                            checksum: format!("{:032x}", l.sum.sum),
                        })
                        .collect()
                }),
            })
            .collect();
        write_json(&mut out, &list)?;
    } else if a.ranges.is_none() {
        let cells: Vec<Vec<String>> = results
            .iter()
            .map(|(name, sum, _)| {
                vec![
                    name.clone(),
                    format!("{:032x}", sum.sum),
                    sum.rows.to_string(),
                ]
            })
            .collect();
        write_aligned(&mut out, &cells, &[false, false, true])?;
    } else {
        for (name, sum, ranges) in &results {
            writeln!(out, "{name}  {:032x}  {}", sum.sum, sum.rows)?;
            let mut cells = vec![vec![
                "  range".to_string(),
                "first key".into(),
                "checksum".into(),
                "rows".into(),
            ]];
            for (i, l) in ranges.iter().flatten().enumerate() {
                cells.push(vec![
                    format!("  {}", i + 1),
                    l.first_key
                        .as_deref()
                        .map(hex)
                        .unwrap_or_else(|| "-".into()),
                    format!("{:032x}", l.sum.sum),
                    l.sum.rows.to_string(),
                ]);
            }
            write_aligned(&mut out, &cells, &[false, false, false, true])?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Show what a database holds: format, size on disk, tables, runs
///
/// Example:
///
///     $ lightning stats app.ldb
///     path        app.ldb
///     format      2
///     disk space  4.2 MiB
///     tables      2
///     rows        1292
///     runs        1
///
///     orders  1250
///     users     42
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct StatsArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Print JSON instead.
    #[arg(long)]
    pub json: bool,
}

pub fn stats(a: &StatsArgs) -> anyhow::Result<ExitCode> {
    let store = open(&a.db)?;
    let mut tables = Vec::new();
    let mut total = 0u64;
    for t in store.tables() {
        let n = store.count(&t.name)?;
        total += n;
        tables.push((t.name, n));
    }
    let runs = store.runs()?.len();
    let disk = store.disk_space();
    let path = a.db.display().to_string();
    let mut out = out::stdout();
    if a.json {
        #[derive(Serialize)]
        struct Stats {
            path: String,
            format_version: u32,
            disk_space_bytes: u64,
            rows: u64,
            runs: usize,
            tables: Vec<TableRows>,
        }
        let stats = Stats {
            path,
            format_version: FORMAT_VERSION,
            disk_space_bytes: disk,
            rows: total,
            runs,
            tables: TableRows::list(&tables),
        };
        write_json(&mut out, &stats)?;
    } else {
        let summary = vec![
            vec!["path".to_string(), path],
            vec!["format".into(), FORMAT_VERSION.to_string()],
            vec!["disk space".into(), report::human_bytes(disk)],
            vec!["tables".into(), tables.len().to_string()],
            vec!["rows".into(), total.to_string()],
            vec!["runs".into(), runs.to_string()],
        ];
        write_aligned(&mut out, &summary, &[false, false])?;
        if !tables.is_empty() {
            writeln!(out)?;
            let cells: Vec<Vec<String>> = tables
                .into_iter()
                .map(|(t, n)| vec![t, n.to_string()])
                .collect();
            write_aligned(&mut out, &cells, &[false, true])?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Show the migration history: every run that wrote into the database
///
/// Each run of a source tool's `migrate` (and of `lightning import`) is recorded
/// with its tool, source (credentials removed), start and end times, status
/// (running, completed, failed, interrupted — a run whose process was killed shows
/// as interrupted), rows written and rejected, and the error that stopped it.
///
/// Example:
///
///     $ lightning runs app.ldb
///     id  tool              source       started               finished              status     rows  rejected  error
///     1   sqlite2lightning  shop.sqlite  2024-05-01T10:00:00Z  2024-05-01T10:00:09Z  completed  1292         0
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct RunsArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Print JSON instead.
    #[arg(long)]
    pub json: bool,
}

pub fn runs(a: &RunsArgs) -> anyhow::Result<ExitCode> {
    let runs = match open_or_in_use(&a.db)? {
        Opened::Store(store) => store.runs()?,
        Opened::InUse(live) => {
            // Earlier runs are in the store, which the running one holds.
            let mut out = out::stdout();
            if a.json {
                write_json(&mut out, &live)?;
            } else {
                let done = if live.rows_total > 0 {
                    format!(
                        " {:.0} %",
                        live.rows_migrated as f64 * 100.0 / live.rows_total as f64
                    )
                } else {
                    String::new()
                };
                let cells = vec![
                    [
                        "id", "tool", "source", "started", "status", "rows", "rejected", "rows/s",
                    ]
                    .map(String::from)
                    .to_vec(),
                    vec![
                        live.run_id.map_or("-".into(), |r| r.to_string()),
                        live.tool.clone(),
                        live.source.clone(),
                        live.start_time.clone(),
                        format!("running ({}{done})", phase_text(&live)),
                        live.rows_migrated.to_string(),
                        live.rows_rejected.to_string(),
                        format!("{:.0}", live.rows_per_second),
                    ],
                ];
                write_aligned(
                    &mut out,
                    &cells,
                    &[false, false, false, false, false, true, true, true],
                )?;
            }
            out.flush()?;
            return Ok(ExitCode::SUCCESS);
        }
    };
    let mut out = out::stdout();
    if a.json {
        write_json(&mut out, &runs)?;
    } else if runs.is_empty() {
        eprintln!("no runs recorded in {}", a.db.display());
    } else {
        let mut cells = vec![[
            "id", "tool", "source", "started", "finished", "status", "rows", "rejected", "error",
        ]
        .map(String::from)
        .to_vec()];
        for r in &runs {
            cells.push(vec![
                r.id.to_string(),
                r.tool.clone(),
                r.source.clone(),
                r.started_at.clone(),
                r.finished_at.clone().unwrap_or_else(|| "-".into()),
                r.status.clone(),
                r.rows_written.to_string(),
                r.rows_rejected.to_string(),
                r.error
                    .as_deref()
                    .map(|e| e.replace(['\n', '\r'], " "))
                    .unwrap_or_default(),
            ]);
        }
        write_aligned(
            &mut out,
            &cells,
            &[false, false, false, false, false, false, true, true, false],
        )?;
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// Check that the database is whole: read everything back
///
/// Reads every row and index entry (the storage engine checks the checksums of
/// every block it reads), and checks that each row decodes and fits its table,
/// sits under its own key, has exactly its index entries, and that the row
/// counts the store keeps are right. A table whose files are missing is
/// reported too.
///
/// Exit codes: 0 the store is whole, 3 problems were found (listed), 1 the check
/// could not run.
///
/// Example:
///
///     $ lightning check app.ldb
///     ok       orders  1250 rows  1250 index entries
///     ok       users     42 rows    84 index entries
///     app.ldb is whole
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CheckArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Print the report as JSON instead.
    #[arg(long)]
    pub json: bool,
}

pub fn check(a: &CheckArgs) -> anyhow::Result<ExitCode> {
    let store = match Store::open_to_check(&a.db) {
        Err(lightning_core::store::StoreError::ReadOnly { .. }) => Store::open_to_read(&a.db)?,
        other => other?,
    };
    let report = store.check();
    let mut out = out::stdout();
    if a.json {
        write_json(&mut out, &report)?;
    } else {
        let mut cells = Vec::new();
        for t in &report.tables {
            cells.push(vec![
                if t.problem_count == 0 {
                    "ok"
                } else {
                    "DAMAGED"
                }
                .to_string(),
                t.table.clone(),
                format!("{} rows", t.rows_found),
                format!("{} index entries", t.index_entries),
            ]);
        }
        write_aligned(&mut out, &cells, &[false, false, true, true])?;
        for t in report.tables.iter().filter(|t| t.problem_count > 0) {
            writeln!(out, "\n{}:", lightning_core::text::for_terminal(&t.table))?;
            for p in &t.problems {
                writeln!(out, "  {}", lightning_core::text::for_terminal(p))?;
            }
            if t.problem_count > t.problems.len() as u64 {
                writeln!(out, "  ... {} problems in all", t.problem_count)?;
            }
        }
        for p in &report.problems {
            writeln!(out, "{}", lightning_core::text::for_terminal(p))?;
        }
    }
    out.flush()?;
    if report.healthy {
        if !a.json {
            eprintln!("{} is whole", a.db.display());
        }
        Ok(ExitCode::SUCCESS)
    } else {
        let n: u64 = report.tables.iter().map(|t| t.problem_count).sum::<u64>()
            + report.problems.len() as u64;
        // Damage outside the tables (missing files) keeps the store from opening
        // for a migration: only a new target rebuilds it.
        let rebuild = if report.problems.is_empty() {
            "migrate again into a new target (or with --fresh) to rebuild it"
        } else {
            "migrate again into a new target to rebuild it"
        };
        eprintln!("{} is damaged: {n} problems; {rebuild}", a.db.display());
        Ok(ExitCode::from(3))
    }
}
