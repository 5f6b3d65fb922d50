//! The live state of a run (migrate, verify, sync): what the copy, the
//! verification and the sync loop report as they go, and what every way of
//! watching them reads — the terminal bars, the progress lines of a log, the
//! monitoring endpoint and the state file a second terminal reads.

mod display;
mod live;

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde::{Deserialize, Serialize};

pub use display::Display;
pub use live::{read_live_state, LiveFile, LIVE_FILE};

/// What a run is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Starting,
    Copying,
    /// Bringing tables copied in several states of the source level with it.
    Repairing,
    Verifying,
    Syncing,
    Done,
}

/// How a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Running,
    Completed,
    /// Verified, and the target differs from the source.
    Different,
    Failed,
    Interrupted,
}

/// Where one table stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TableStatus {
    Pending,
    Copying,
    Copied,
    Verifying,
    Equal,
    Different,
}

#[derive(Debug, Clone)]
struct Table {
    status: TableStatus,
    /// The source's estimate (a catalog's count, a dump's size).
    rows_total: u64,
    /// Committed, by this run and the runs it resumes.
    rows_migrated: u64,
    rows_rejected: u64,
    /// Rows the store held before this run (what a second terminal's `count` adds to).
    rows_stored_before: Option<u64>,
    rows_written: u64,
    partitions: usize,
    partitions_done: usize,
    rows_verified: u64,
    started: Option<Instant>,
    finished: Option<Instant>,
    /// Recent (seconds since the run started, rows migrated) samples, for its rate.
    recent: VecDeque<(f64, u64)>,
}

impl Table {
    fn new(rows_total: u64) -> Self {
        Table {
            status: TableStatus::Pending,
            rows_total,
            rows_migrated: 0,
            rows_rejected: 0,
            rows_stored_before: None,
            rows_written: 0,
            partitions: 0,
            partitions_done: 0,
            rows_verified: 0,
            started: None,
            finished: None,
            recent: VecDeque::new(),
        }
    }
}

/// The sync loop's position and lag.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SyncStats {
    pub transactions: u64,
    pub changes: u64,
    pub position: String,
    /// Bytes of the source's log not yet applied.
    pub bytes_behind: Option<u64>,
    /// Seconds between the last applied transaction's commit on the source and now.
    pub seconds_behind: Option<f64>,
}

#[derive(Debug)]
struct State {
    tool: String,
    command: String,
    source: String,
    target: String,
    run_id: Option<u64>,
    started_at: String,
    started: Instant,
    finished: Option<Instant>,
    phase: Phase,
    status: Status,
    tables: BTreeMap<String, Table>,
    current_table: Option<String>,
    errors: Vec<String>,
    verdict: Option<bool>,
    sync: Option<SyncStats>,
    /// (seconds since start, rows migrated, rows verified), about one a second.
    history: VecDeque<(f64, u64, u64)>,
}

/// How many samples of the history are kept (a point a second: ten minutes), and
/// how many the rates are taken over.
const HISTORY: usize = 600;
const RATE_WINDOW: usize = 10;

/// A handle on a run's live state; clones share it.
#[derive(Debug, Clone)]
pub struct Progress {
    state: Arc<Mutex<State>>,
}

impl Progress {
    /// A run of `command` (migrate, verify, sync) by `tool`. `source` must already
    /// be free of credentials.
    pub fn new(tool: &str, command: &str, source: &str, target: &str) -> Self {
        Progress {
            state: Arc::new(Mutex::new(State {
                tool: tool.into(),
                command: command.into(),
                source: source.into(),
                target: target.into(),
                run_id: None,
                started_at: crate::store::now_rfc3339(),
                started: Instant::now(),
                finished: None,
                phase: Phase::Starting,
                status: Status::Running,
                tables: BTreeMap::new(),
                current_table: None,
                errors: Vec::new(),
                verdict: None,
                sync: None,
                history: VecDeque::new(),
            })),
        }
    }

    /// For copies nobody watches (an assessment's sample, tests).
    pub fn hidden() -> Self {
        Progress::new("", "", "", "")
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic elsewhere must not take the watchers down with it.
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn set_run_id(&self, id: u64) {
        self.lock().run_id = Some(id);
    }

    pub fn set_phase(&self, phase: Phase) {
        self.lock().phase = phase;
    }

    /// How many rows each table held before this run (what a second terminal's
    /// `count` adds the rows written since to).
    pub fn stored_before(&self, counts: impl IntoIterator<Item = (String, u64)>) {
        let mut s = self.lock();
        for (t, n) in counts {
            s.tables
                .entry(t)
                .or_insert_with(|| Table::new(0))
                .rows_stored_before = Some(n);
        }
    }

    /// A partition of `table` the copy will read (`done`: an earlier run finished
    /// it), about `estimated` rows of which `before` were committed by earlier runs.
    pub fn plan_partition(&self, table: &str, estimated: u64, before: u64, done: bool) {
        let mut s = self.lock();
        s.phase = Phase::Copying;
        let t = s
            .tables
            .entry(table.to_string())
            .or_insert_with(|| Table::new(0));
        t.rows_total += estimated;
        t.rows_migrated += before;
        t.partitions += 1;
        if done {
            t.partitions_done += 1;
            t.rows_migrated += estimated.saturating_sub(before);
        }
        if t.partitions_done == t.partitions {
            t.status = TableStatus::Copied;
        }
    }

    /// A table found while copying (a document source's child table).
    pub fn add_table(&self, table: &str) {
        self.lock()
            .tables
            .entry(table.to_string())
            .or_insert_with(|| Table::new(0));
    }

    /// A batch of `table` committed: `written` rows stored, `rejected` set aside.
    pub fn committed(&self, table: &str, written: u64, rejected: u64) {
        let mut s = self.lock();
        let now = Instant::now();
        let t = s
            .tables
            .entry(table.to_string())
            .or_insert_with(|| Table::new(0));
        if t.status == TableStatus::Pending {
            t.status = TableStatus::Copying;
        }
        t.started.get_or_insert(now);
        t.rows_written += written;
        t.rows_migrated += written + rejected;
        t.rows_rejected += rejected;
        if t.rows_migrated > t.rows_total {
            t.rows_total = t.rows_migrated;
        }
        if s.current_table.as_deref() != Some(table) {
            s.current_table = Some(table.to_string());
        }
    }

    /// A partition of `table` was read to its end.
    pub fn partition_done(&self, table: &str) {
        let mut s = self.lock();
        let now = Instant::now();
        if let Some(t) = s.tables.get_mut(table) {
            t.partitions_done += 1;
            if t.partitions_done >= t.partitions {
                t.status = TableStatus::Copied;
                t.finished = Some(now);
                // Estimates are estimates: a finished table has all its rows.
                t.rows_total = t.rows_migrated;
            }
        }
    }

    /// The copy has ended: every table is copied (tables fed by another table's
    /// partitions, as a document's child tables are, have none of their own).
    pub fn copy_done(&self) {
        let mut s = self.lock();
        let now = Instant::now();
        for t in s.tables.values_mut() {
            if matches!(t.status, TableStatus::Pending | TableStatus::Copying) {
                t.status = TableStatus::Copied;
                t.finished.get_or_insert(now);
                t.rows_total = t.rows_migrated;
            }
        }
    }

    /// Verification of `table` began.
    pub fn verifying(&self, table: &str) {
        let mut s = self.lock();
        s.phase = Phase::Verifying;
        let t = s
            .tables
            .entry(table.to_string())
            .or_insert_with(|| Table::new(0));
        t.status = TableStatus::Verifying;
        t.rows_verified = 0;
        s.current_table = Some(table.to_string());
    }

    /// Rows of `table` the verification has read from the source so far.
    pub fn verified_rows(&self, table: &str, rows: u64) {
        if let Some(t) = self.lock().tables.get_mut(table) {
            t.rows_verified = rows;
        }
    }

    /// `table` was verified: equal to the source or not.
    pub fn verified(&self, table: &str, equal: bool) {
        if let Some(t) = self.lock().tables.get_mut(table) {
            t.status = if equal {
                TableStatus::Equal
            } else {
                TableStatus::Different
            };
            t.rows_verified = t.rows_verified.max(t.rows_migrated);
        }
    }

    /// The verification's verdict over every table.
    pub fn verdict(&self, equal: bool) {
        self.lock().verdict = Some(equal);
    }

    pub fn error(&self, message: &str) {
        self.lock().errors.push(message.to_string());
    }

    pub fn sync(&self, stats: SyncStats) {
        let mut s = self.lock();
        s.phase = Phase::Syncing;
        s.sync = Some(stats);
    }

    /// The run ended.
    pub fn finish(&self, status: Status) {
        let mut s = self.lock();
        s.status = status;
        s.phase = Phase::Done;
        s.finished = Some(Instant::now());
        s.current_table = None;
    }

    /// Take a sample for the rates and the chart (the watchers call it about once
    /// a second).
    pub fn sample(&self) {
        let mut s = self.lock();
        let at = s.elapsed();
        let migrated = s.tables.values().map(|t| t.rows_migrated).sum();
        let verified = s.tables.values().map(|t| t.rows_verified).sum();
        s.history.push_back((at, migrated, verified));
        if s.history.len() > HISTORY {
            s.history.pop_front();
        }
        for t in s.tables.values_mut() {
            t.recent.push_back((at, t.rows_migrated));
            if t.recent.len() > RATE_WINDOW {
                t.recent.pop_front();
            }
        }
    }

    /// Everything a watcher shows, as of now.
    pub fn stats(&self) -> Stats {
        self.lock().stats()
    }
}

impl State {
    fn elapsed(&self) -> f64 {
        self.finished
            .unwrap_or_else(Instant::now)
            .duration_since(self.started)
            .as_secs_f64()
    }

    fn stats(&self) -> Stats {
        let elapsed = self.elapsed();
        let running = self.status == Status::Running;
        let verifying = self.phase == Phase::Verifying;
        let rows_total: u64 = self.tables.values().map(|t| t.rows_total).sum();
        let rows_migrated: u64 = self.tables.values().map(|t| t.rows_migrated).sum();
        let rows_verified: u64 = self.tables.values().map(|t| t.rows_verified).sum();
        let rows_written: u64 = self.tables.values().map(|t| t.rows_written).sum();
        // The rate of what is being done now: rows copied, or rows verified.
        let pick = |h: &(f64, u64, u64)| if verifying { h.2 } else { h.1 };
        let recent = rate(
            self.history
                .iter()
                .rev()
                .take(RATE_WINDOW)
                .rev()
                .map(|h| (h.0, pick(h))),
        );
        let rows_per_second = if running {
            recent
        } else if elapsed > 0.0 {
            rows_written as f64 / elapsed
        } else {
            0.0
        };
        let (done, total) = if verifying {
            (rows_verified, rows_migrated)
        } else {
            (rows_migrated, rows_total)
        };
        let eta_all = eta(running, done, total, recent);
        let tables: Vec<TableStats> = self
            .tables
            .iter()
            .map(|(name, t)| {
                // A table that began less than two samples ago: its rate so far.
                let r = match (t.recent.len(), t.started) {
                    (0 | 1, Some(at)) => {
                        t.rows_written as f64 / at.elapsed().as_secs_f64().max(1e-3)
                    }
                    _ => rate(t.recent.iter().copied()),
                };
                let active = t.status == TableStatus::Copying;
                let seconds = match (t.started, t.finished) {
                    (Some(a), Some(b)) => b.duration_since(a).as_secs_f64(),
                    (Some(a), None) => a.elapsed().as_secs_f64(),
                    _ => 0.0,
                };
                TableStats {
                    name: name.clone(),
                    status: t.status,
                    rows_total: t.rows_total,
                    rows_migrated: t.rows_migrated,
                    rows_rejected: t.rows_rejected,
                    rows_stored: t.rows_stored_before.map(|b| b + t.rows_written),
                    rows_verified: t.rows_verified,
                    rows_per_second: if active { r } else { 0.0 },
                    eta_seconds: if active {
                        eta(true, t.rows_migrated, t.rows_total, r)
                    } else {
                        None
                    },
                    seconds,
                }
            })
            .collect();
        let completed = |s: TableStatus| {
            matches!(
                s,
                TableStatus::Copied | TableStatus::Equal | TableStatus::Different
            )
        };
        Stats {
            tool: self.tool.clone(),
            command: self.command.clone(),
            source: self.source.clone(),
            target: self.target.clone(),
            run_id: self.run_id,
            pid: std::process::id(),
            status: self.status,
            phase: self.phase,
            start_time: self.started_at.clone(),
            updated_at: crate::store::now_rfc3339(),
            elapsed_seconds: elapsed,
            tables_total: self.tables.len(),
            tables_completed: tables.iter().filter(|t| completed(t.status)).count(),
            tables_verified: tables
                .iter()
                .filter(|t| matches!(t.status, TableStatus::Equal | TableStatus::Different))
                .count(),
            current_table: self.current_table.clone(),
            rows_total,
            rows_migrated,
            rows_rejected: self.tables.values().map(|t| t.rows_rejected).sum(),
            rows_verified,
            errors: self.errors.len(),
            error_messages: self.errors.clone(),
            rows_per_second,
            eta_seconds: eta_all,
            estimated_completion: eta_all.map(|s| {
                (chrono::Utc::now() + chrono::Duration::milliseconds((s * 1000.0) as i64))
                    .to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            }),
            verdict: self
                .verdict
                .map(|e| if e { "EQUAL" } else { "DIFFERENT" }.into()),
            sync: self.sync.clone(),
            tables,
            history: self
                .history
                .iter()
                .map(|&(t, m, v)| HistoryPoint {
                    seconds: (t * 10.0).round() / 10.0,
                    rows_migrated: m,
                    rows_verified: v,
                })
                .collect(),
        }
    }
}

/// Rows a second over the samples given (oldest first).
fn rate(samples: impl Iterator<Item = (f64, u64)>) -> f64 {
    let samples: Vec<(f64, u64)> = samples.collect();
    match (samples.first(), samples.last()) {
        (Some(a), Some(b)) if b.0 > a.0 => b.1.saturating_sub(a.1) as f64 / (b.0 - a.0),
        _ => 0.0,
    }
}

fn eta(running: bool, done: u64, total: u64, rate: f64) -> Option<f64> {
    (running && rate > 0.0 && total >= done).then(|| (total - done) as f64 / rate)
}

/// A run's state as the monitoring endpoint serves it (`GET /api/stats`) and the
/// state file holds it; fields documented in docs/monitoring.md.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Stats {
    pub tool: String,
    pub command: String,
    pub source: String,
    pub target: String,
    pub run_id: Option<u64>,
    pub pid: u32,
    pub status: Status,
    pub phase: Phase,
    pub start_time: String,
    pub updated_at: String,
    pub elapsed_seconds: f64,
    pub tables_total: usize,
    pub tables_completed: usize,
    pub tables_verified: usize,
    pub current_table: Option<String>,
    pub rows_total: u64,
    pub rows_migrated: u64,
    pub rows_rejected: u64,
    pub rows_verified: u64,
    pub errors: usize,
    pub error_messages: Vec<String>,
    pub rows_per_second: f64,
    pub eta_seconds: Option<f64>,
    pub estimated_completion: Option<String>,
    pub verdict: Option<String>,
    pub sync: Option<SyncStats>,
    pub tables: Vec<TableStats>,
    pub history: Vec<HistoryPoint>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct TableStats {
    pub name: String,
    pub status: TableStatus,
    pub rows_total: u64,
    pub rows_migrated: u64,
    pub rows_rejected: u64,
    /// Rows the store holds now (known while a migration writes it).
    pub rows_stored: Option<u64>,
    pub rows_verified: u64,
    pub rows_per_second: f64,
    pub eta_seconds: Option<f64>,
    pub seconds: f64,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct HistoryPoint {
    pub seconds: f64,
    pub rows_migrated: u64,
    pub rows_verified: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_copy_is_counted_per_table_and_overall() {
        let p = Progress::new("t", "migrate", "src", "dst");
        p.plan_partition("a", 100, 0, false);
        p.plan_partition("b", 50, 50, true);
        p.committed("a", 30, 2);
        let s = p.stats();
        assert_eq!(
            (s.rows_total, s.rows_migrated, s.rows_rejected),
            (150, 82, 2)
        );
        assert_eq!((s.tables_total, s.tables_completed), (2, 1));
        assert_eq!(s.current_table.as_deref(), Some("a"));
        p.committed("a", 68, 0);
        p.partition_done("a");
        p.finish(Status::Completed);
        let s = p.stats();
        assert_eq!((s.tables_completed, s.rows_migrated), (2, 150));
        assert_eq!(s.phase, Phase::Done);
        assert!(s.eta_seconds.is_none());
    }

    #[test]
    fn rates_and_eta_come_from_recent_samples() {
        assert_eq!(rate([(1.0, 100), (3.0, 500)].into_iter()), 200.0);
        assert_eq!(rate([(1.0, 100)].into_iter()), 0.0);
        assert_eq!(eta(true, 500, 1500, 200.0), Some(5.0));
        assert_eq!(eta(false, 500, 1500, 200.0), None);
        assert_eq!(eta(true, 500, 1500, 0.0), None);
    }
}
