//! Keeping a migrated store up with its source (`sync`): the transactions a
//! source's change log hands over (PostgreSQL logical decoding, a MySQL binlog),
//! folded to each key's final state and applied a batch of source transactions
//! at a time, with the feed's position in the same atomic commit. A crash between
//! the commit and the source's acknowledgement replays transactions the store
//! already holds: the feed skips them by position.

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Args;
use serde::Serialize;

use crate::pipeline::SourceError;
use crate::progress::{Progress, Status, SyncStats};
use crate::store::{RepairCounts, Store, StoreError, SyncState, TableChange};
use crate::value::{Row, Value};

/// One row change of a source transaction, in the store's table and column order.
#[derive(Debug, Clone, PartialEq)]
pub enum Change {
    /// An insert or update: the row's values, `None` where the source did not send
    /// one because it did not change (kept from the row as it stands). `old_key`
    /// is the key before an update that changed it.
    Put {
        table: Arc<str>,
        old_key: Option<Vec<Value>>,
        row: Vec<Option<Value>>,
    },
    Delete {
        table: Arc<str>,
        key: Vec<Value>,
    },
    Truncate {
        table: Arc<str>,
    },
}

/// A transaction the source committed.
#[derive(Debug, Clone, PartialEq)]
pub struct SourceTransaction {
    /// The feed's position after it.
    pub position: String,
    /// When the source committed it (Unix µs).
    pub committed_at_micros: Option<i64>,
    pub changes: Vec<Change>,
}

/// What a feed has now.
pub enum Poll {
    /// Transactions committed after the last ones handed over, in commit order; the
    /// position is where the feed stands after them (past transactions it skipped).
    Transactions(Vec<SourceTransaction>, String),
    /// Nothing new yet.
    Idle,
    /// Everything committed before the sync started has been handed over
    /// (`--until-caught-up`).
    CaughtUp,
}

/// A source's change log, read from where the store's sync state says.
pub trait ChangeFeed {
    /// The next committed transactions, about `max_changes` row changes at most
    /// (a transaction is never cut).
    fn poll(&mut self, max_changes: usize) -> Result<Poll, SourceError>;
    /// Everything up to `position` is durable in the store: the source may let it go.
    fn confirm(&mut self, position: &str) -> Result<(), SourceError>;
    /// How far the store is behind the source, in bytes of the source's log.
    fn bytes_behind(&mut self) -> Result<Option<u64>, SourceError>;
    /// What the feed keeps in the sync state besides the position.
    fn feed_state(&self) -> serde_json::Value;
    /// Warnings for every report (a replication slot holding the source's log).
    fn warnings(&self) -> Vec<String> {
        Vec::new()
    }
}

/// The options every tool's `sync` takes.
#[derive(Debug, Clone, Args)]
pub struct SyncArgs {
    /// The store a migration made ready for sync (`migrate --for-sync`).
    #[arg(long, value_name = "PATH")]
    pub target: PathBuf,
    /// Apply what the source committed before sync started, then exit 0 (for a
    /// cutover script). Without it, sync follows the source until interrupted.
    #[arg(long)]
    pub until_caught_up: bool,
    /// Start from this position of the source's log instead of where the store
    /// stands (a PostgreSQL LSN such as 0/15FE3A8; a binlog file:position, or the
    /// GTID of the last transaction not to apply). Transactions committed before it
    /// are not applied.
    #[arg(long, value_name = "POSITION")]
    pub start_position: Option<String>,
    /// Row changes per store commit, about (a source transaction is never split).
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub batch_changes: usize,
    /// How long to wait before asking again when the source has nothing new.
    #[arg(long, value_name = "MS", default_value_t = 500)]
    pub poll_interval_ms: u64,
    #[command(flatten)]
    pub watch: crate::watch::WatchArgs,
    #[command(flatten)]
    pub report: crate::cli::ReportArgs,
}

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{0}")]
    Source(SourceError),
    #[error("the source changed table `{0}`, which the store does not have")]
    UnknownTable(String),
    #[error(
        "table `{table}`: the source updated the row with key {key} leaving some values \
         unchanged, but the store has no such row, so those values are unknown. The store \
         is not in step with the source: run `verify --repair` against the source, then \
         sync again"
    )]
    MissingRow { table: String, key: String },
    #[error("table `{table}`: a change with {got} values where the table has {want} columns")]
    Width {
        table: String,
        got: usize,
        want: usize,
    },
}

/// How often the source is asked how far behind the store is.
const LAG_EVERY: Duration = Duration::from_secs(2);

/// What a sync did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct SyncReport {
    pub tool: String,
    pub target: String,
    /// When the report was made (RFC 3339, UTC).
    pub generated_at: String,
    #[serde(flatten)]
    pub invocation: crate::report::Invocation,
    pub status: String,
    pub start_position: String,
    pub position: String,
    pub transactions: u64,
    pub changes: u64,
    pub tables: BTreeMap<String, RepairCounts>,
    /// Bytes of the source's log not yet applied, when it was last asked.
    pub bytes_behind: Option<u64>,
    /// Seconds between the last applied transaction's commit on the source and its
    /// apply here.
    pub seconds_behind: Option<f64>,
    pub elapsed_seconds: f64,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Apply the feed's transactions to the store until caught up or interrupted.
pub fn run(
    store: &Store,
    state: SyncState,
    feed: &mut dyn ChangeFeed,
    args: &SyncArgs,
    progress: &Progress,
) -> Result<SyncReport, SyncError> {
    let started = Instant::now();
    let mut state = state;
    let mut report = SyncReport {
        tool: state.tool.clone(),
        target: args.target.display().to_string(),
        status: "running".into(),
        start_position: args
            .start_position
            .clone()
            .unwrap_or_else(|| state.position.clone()),
        position: state.position.clone(),
        ..SyncReport::default()
    };
    report.warnings.extend(feed.warnings());
    let _polling = crate::interrupt::Polling::start();
    // How far behind the source is asked of the server now and then, not at every poll.
    let mut lag_asked: Option<Instant> = None;
    loop {
        if crate::interrupt::requested().is_some() {
            report.status = "interrupted".into();
            break;
        }
        match feed
            .poll(args.batch_changes.max(1))
            .map_err(SyncError::Source)?
        {
            Poll::Transactions(txns, position) => {
                let n_txns = txns.len() as u64;
                let last_commit = txns.iter().rev().find_map(|t| t.committed_at_micros);
                let n_changes: u64 = txns.iter().map(|t| t.changes.len() as u64).sum();
                let changes = fold(store, txns)?;
                let names: Vec<String> = changes.iter().map(|c| c.table.clone()).collect();
                state.position = position.clone();
                state.transactions += n_txns;
                state.changes += n_changes;
                if last_commit.is_some() {
                    state.source_commit_micros = last_commit;
                }
                state.feed = feed.feed_state();
                state.updated_at = crate::store::now_rfc3339();
                let counts = store.apply_source_changes(changes, &state)?;
                // The source forgets what it is told is applied: on disk first.
                store.sync()?;
                crate::fault::point("sync-applied");
                feed.confirm(&position).map_err(SyncError::Source)?;
                for (name, c) in names.into_iter().zip(counts) {
                    report.tables.entry(name).or_default().add(&c);
                }
                report.transactions += n_txns;
                report.changes += n_changes;
                report.position = position;
                if let Some(at) = last_commit {
                    report.seconds_behind = Some(seconds_since(at));
                }
            }
            Poll::Idle => {
                report.seconds_behind = Some(0.0);
                std::thread::sleep(Duration::from_millis(args.poll_interval_ms));
            }
            Poll::CaughtUp => {
                report.status = "caught up".into();
                break;
            }
        }
        if lag_asked.is_none_or(|t| t.elapsed() >= LAG_EVERY) {
            // Only the watchers want it meanwhile: a failure to ask does not stop the sync.
            match feed.bytes_behind() {
                Ok(b) => report.bytes_behind = b,
                Err(e) => tracing::debug!("cannot ask how far behind the source sync is: {e}"),
            }
            lag_asked = Some(Instant::now());
        }
        progress.sync(SyncStats {
            transactions: report.transactions,
            changes: report.changes,
            position: report.position.clone(),
            bytes_behind: report.bytes_behind,
            seconds_behind: report.seconds_behind,
        });
    }
    report.bytes_behind = feed.bytes_behind().map_err(SyncError::Source)?;
    report.elapsed_seconds = started.elapsed().as_secs_f64();
    // Written out, not only synced: the next open (sync again, verify, serve) then
    // does not replay the journal of everything applied.
    store.flush()?;
    Ok(report)
}

fn seconds_since(micros: i64) -> f64 {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64);
    ((now - micros).max(0)) as f64 / 1e6
}

/// What one table's changes come to: each key's final state (`None`: deleted),
/// and whether the table was emptied first.
#[derive(Default)]
struct TableFold {
    truncated: bool,
    keys: BTreeMap<Vec<u8>, Option<Row>>,
}

/// The transactions' changes as each table's deletes and puts, in the order they
/// happened: the last change of a key wins.
pub fn fold(store: &Store, txns: Vec<SourceTransaction>) -> Result<Vec<TableChange>, SyncError> {
    let mut tables: BTreeMap<Arc<str>, TableFold> = BTreeMap::new();
    let mut widths: HashMap<Arc<str>, (usize, Vec<usize>)> = HashMap::new();
    for change in txns.into_iter().flat_map(|t| t.changes) {
        let table = match &change {
            Change::Put { table, .. }
            | Change::Delete { table, .. }
            | Change::Truncate { table } => table.clone(),
        };
        if !widths.contains_key(&table) {
            let schema = store
                .table(&table)
                .map_err(|_| SyncError::UnknownTable(table.to_string()))?;
            let keys = schema
                .primary_key
                .iter()
                .filter_map(|k| schema.column_index(k))
                .collect();
            widths.insert(table.clone(), (schema.columns.len(), keys));
        }
        let (width, key_positions) = &widths[&table];
        let fold = tables.entry(table.clone()).or_default();
        match change {
            Change::Truncate { .. } => {
                fold.truncated = true;
                fold.keys.clear();
            }
            Change::Delete { key, .. } => {
                let k = store.encode_table_key(&table, &key)?;
                fold.keys.insert(k, None);
            }
            Change::Put { old_key, row, .. } => {
                if row.len() != *width {
                    return Err(SyncError::Width {
                        table: table.to_string(),
                        got: row.len(),
                        want: *width,
                    });
                }
                let key: Vec<Value> = key_positions
                    .iter()
                    .map(|&i| row[i].clone().unwrap_or(Value::Null))
                    .collect();
                let k = store.encode_table_key(&table, &key)?;
                let full = if row.iter().any(Option::is_none) {
                    let base = match fold.keys.get(&k) {
                        Some(known) => known.clone(),
                        None if fold.truncated => None,
                        None => store.get(&table, &key)?,
                    };
                    let Some(base) = base else {
                        return Err(SyncError::MissingRow {
                            table: table.to_string(),
                            key: describe(&key),
                        });
                    };
                    row.into_iter()
                        .zip(base)
                        .map(|(new, old)| new.unwrap_or(old))
                        .collect()
                } else {
                    row.into_iter().map(|v| v.expect("checked")).collect()
                };
                if let Some(old) = old_key {
                    let ok = store.encode_table_key(&table, &old)?;
                    if ok != k {
                        fold.keys.insert(ok, None);
                    }
                }
                fold.keys.insert(k, Some(full));
            }
        }
    }
    let mut out = Vec::new();
    for (table, fold) in tables {
        let mut deletes = Vec::new();
        if fold.truncated {
            for entry in store.scan(&table)? {
                let (key, _) = entry?;
                if !fold.keys.contains_key(&key) {
                    deletes.push(key);
                }
            }
        }
        let mut puts = Vec::new();
        for (k, v) in fold.keys {
            match v {
                Some(row) => puts.push((None, row)),
                None => deletes.push(k),
            }
        }
        out.push(TableChange {
            table: table.to_string(),
            deletes,
            puts,
        });
    }
    Ok(out)
}

fn describe(key: &[Value]) -> String {
    let parts: Vec<String> = key
        .iter()
        .map(|v| v.to_text().unwrap_or_else(|| "NULL".into()))
        .collect();
    format!("({})", parts.join(", "))
}

/// `TOOL sync`: open the store, make the tool's feed from its sync state, apply
/// until caught up or interrupted, report. Exit 0 when caught up (or stopped by the
/// user while following), 130/143 when interrupted before catching up.
pub fn run_command(
    tool: &str,
    args: &SyncArgs,
    make_feed: impl FnOnce(&Store, &SyncState) -> anyhow::Result<Box<dyn ChangeFeed>>,
) -> anyhow::Result<std::process::ExitCode> {
    use anyhow::{bail, Context};
    if !args.target.exists() {
        bail!(
            "{} does not exist: sync continues a migration; run `{tool} migrate --for-sync --target {}` first",
            args.target.display(),
            args.target.display()
        );
    }
    let store =
        Store::open(&args.target).with_context(|| format!("opening {}", args.target.display()))?;
    let Some(state) = store.sync_state()? else {
        bail!(
            "{} was not migrated for sync: its copy has no starting point in the source's log. \
             Run `{tool} migrate --for-sync --fresh --target {}` (a new copy that records one), \
             then sync",
            args.target.display(),
            args.target.display()
        );
    };
    if state.tool != tool {
        bail!(
            "{} was made ready for sync by {}, not {tool}: run `{} sync`",
            args.target.display(),
            state.tool,
            state.tool
        );
    }
    let progress = Progress::new(tool, "sync", "", &args.target.display().to_string());
    let watch = crate::watch::Watch::start(&args.watch, progress, Some(&args.target))?;
    let applied = make_feed(&store, &state)
        .and_then(|mut feed| Ok(run(&store, state, feed.as_mut(), args, watch.progress())?));
    let mut report = match applied {
        Ok(r) => r,
        Err(e) => {
            watch.finish(Status::Failed, Some(&format!("{e:#}")));
            return Err(e);
        }
    };
    report.generated_at = crate::store::now_rfc3339();
    report.invocation = crate::report::Invocation::current();
    watch.stop_display();
    args.report.emit(&report)?;
    let status = if report.status == "interrupted" {
        Status::Interrupted
    } else {
        Status::Completed
    };
    watch.finish(status, None);
    match crate::interrupt::requested() {
        Some(sig) if args.until_caught_up => Ok(std::process::ExitCode::from(
            crate::interrupt::exit_code(sig),
        )),
        _ => Ok(std::process::ExitCode::SUCCESS),
    }
}
