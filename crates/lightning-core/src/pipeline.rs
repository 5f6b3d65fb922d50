//! The copy pipeline: partitions → several readers → a bounded queue → one writer
//! that commits each batch together with its checkpoint.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{sync_channel, SyncSender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::progress::Progress;
use crate::reject::RejectLog;
use crate::schema::TableSchema;
use crate::sink::{Batch, Sink, SinkError};
use crate::store::{BadRows, BatchRow, Checkpoint, RejectedRow, StoreError};
use crate::value::Row;

/// An error from a source, whatever the database.
pub type SourceError = Box<dyn std::error::Error + Send + Sync>;

/// Ends a source's reading early on purpose (an assessment's sample has all the rows
/// it wants): a row visitor returns it, and the reader that started the visit takes
/// it as a normal end.
#[derive(Debug)]
pub struct Enough;

impl std::fmt::Display for Enough {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("enough rows read")
    }
}

impl std::error::Error for Enough {}

/// A unit of work one reader copies on its own: a whole table or a key range of one.
#[derive(Debug, Clone)]
pub struct Partition {
    /// Stable across runs: the checkpoint is stored under it.
    pub id: String,
    /// The table progress is reported for (a source record may feed several tables).
    pub table: Arc<str>,
    pub estimated_rows: u64,
    /// Source-specific description (a key range, a query).
    pub spec: String,
}

/// A database the pipeline can copy from.
pub trait Source: Sync {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError>;

    /// Read one partition, starting after `resume` when given. A source that cannot
    /// seek to `resume.position` calls `out.skip_records(resume.rows)` instead.
    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError>;

    /// An identity of the content this source reads (a dump's hash): runs with the
    /// same one read the same rows. `None` when the source can change between
    /// runs (a live database): a resumed copy is then repaired after it.
    fn content_id(&self) -> Option<String> {
        None
    }

    /// What a user can do about a row that cannot be carried, besides setting it
    /// aside: said when such a row stops a run.
    fn bad_row_fix(&self) -> &'static str {
        "Fix the source row, add a --cast rule"
    }

    /// Whether each of a table's partitions holds keys from across the table's
    /// whole key range (hash buckets, not key ranges): a copy's partitions of one
    /// table then write among each other's keys, which an estimate must know.
    fn partitions_interleave(&self) -> bool {
        false
    }
}

/// What to do with a row that cannot be carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum OnError {
    /// Stop the run at the first bad row (the target stays resumable).
    #[default]
    Abort,
    /// Write the row to the reject file, count it, and go on.
    Skip,
}

#[derive(Debug, Clone)]
pub struct CopyOptions {
    pub parallel: usize,
    pub batch_size: usize,
    pub on_error: OnError,
    /// What rows committed by earlier runs are worth when this run resumes them.
    pub resume: Resume,
    /// A timed sample (an assessment's) instead of the whole copy.
    pub sample: Option<SampleLimits>,
}

/// How long a timed sample reads. Its partitions are taken a table at a time in
/// turn (each table's first, then each table's second, ...), so that every table
/// is read early; a partition is ended as if done when its time is up, and none is
/// started after the sample's.
#[derive(Debug, Clone, Copy)]
pub struct SampleLimits {
    pub total: Duration,
    pub per_partition: Duration,
}

/// Whether a resumed copy reads the same content as the runs before it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Resume {
    /// The same content (a dump file with the same hash): go on where they stopped.
    #[default]
    SameContent,
    /// The source may have changed since (a live database): the tables earlier runs
    /// wrote are written by upsert and marked for a repair.
    MayDiffer,
}

impl Default for CopyOptions {
    fn default() -> Self {
        CopyOptions {
            parallel: 2,
            batch_size: 10_000,
            on_error: OnError::Abort,
            resume: Resume::SameContent,
            sample: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum CopyError {
    #[error("reading partition `{partition}`: {error}")]
    Source {
        partition: String,
        error: SourceError,
    },
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("bad row in table `{table}` ({key}): {reason}. {fix}, or re-run with --on-error skip to set it aside")]
    BadRow {
        table: String,
        key: String,
        reason: String,
        /// What the user can change (`Source::bad_row_fix`).
        fix: &'static str,
    },
    #[error("writing the reject file: {0}")]
    RejectLog(std::io::Error),
    #[error("interrupted by signal {0}")]
    Interrupted(i32),
}

/// How the reading of one partition went: what a timed sample extrapolates from.
#[derive(Debug, Clone)]
pub struct PartitionTiming {
    pub table: Arc<str>,
    pub estimated_rows: u64,
    /// Its place in the source's plan: the order a whole copy reads in.
    pub index: usize,
    /// Read at all (a sample may end before it starts some).
    pub read: bool,
    /// When reading it started, from the copy's start.
    pub start_secs: f64,
    /// Records read.
    pub records: u64,
    /// Rows of the partition's own table among them (a record of a document or a
    /// key may also make rows of other tables, or several rows of its own).
    pub rows: u64,
    /// Bytes of the rows read, as held in memory (`Value::size_hint`).
    pub bytes: u64,
    /// From the partition's start to its first record.
    pub first_record_secs: f64,
    /// From the partition's start to its end.
    pub secs: f64,
    /// Read to its end (not cut short by a sample).
    pub finished: bool,
}

/// Counts of one table after a copy.
#[derive(Debug, Clone, Default, Serialize)]
pub struct TableCopy {
    pub rows_written: u64,
    pub rows_rejected: u64,
    /// From the table's first committed batch in this run to its last.
    pub seconds: f64,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct CopySummary {
    pub tables: BTreeMap<String, TableCopy>,
    pub rows_written: u64,
    pub rows_rejected: u64,
    /// Partitions finished by an earlier run and not read again.
    pub partitions_already_done: usize,
    pub partitions_copied: usize,
    pub elapsed_secs: f64,
    /// Tables whose rows must be brought level with the source: resumed in another
    /// state of it, or read in several snapshots.
    #[serde(skip_serializing_if = "BTreeSet::is_empty")]
    pub to_repair: BTreeSet<String>,
    /// From the copy's start until the partitions were planned and readers began.
    #[serde(skip)]
    pub planning_secs: f64,
    /// Each partition read, in the order reading started.
    #[serde(skip)]
    pub partitions: Vec<PartitionTiming>,
}

enum Msg {
    Table(TableSchema),
    Batch(Batch),
    Failed {
        partition: String,
        error: SourceError,
    },
}

struct Cancelled;

impl std::fmt::Debug for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("copy cancelled")
    }
}
impl std::fmt::Display for Cancelled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("copy cancelled")
    }
}
impl std::error::Error for Cancelled {}

/// Handed to a source's `read`: collects rows into batches and sends them on.
pub struct RowEmitter<'a> {
    tx: &'a SyncSender<Msg>,
    cancel: &'a AtomicBool,
    partition: &'a Partition,
    batch_size: usize,
    rows: Vec<BatchRow>,
    rejected: Vec<RejectedRow>,
    records: u64,
    skip: u64,
    bytes: usize,
    upsert: bool,
    /// Whether the partition's last checkpoint keeps the position after its last
    /// record (`Sink::keeps_last_position`).
    track: bool,
    /// The position after the last record, when tracked.
    last: Option<String>,
    /// A sample's end for this partition: the first batch sent after it ends it.
    stop_at: Option<Instant>,
    /// A sample's least reading after the first record, however late that came
    /// (a server that sorts a whole collection first): a rate, not a start-up,
    /// is what the sample is for.
    read_at_least: Option<Duration>,
    index: usize,
    /// Ended by `stop_at`.
    cut: bool,
    started: Instant,
    first_record: Option<Instant>,
    total_bytes: u64,
    own_rows: u64,
}

/// A batch is sent once it holds about this many bytes, whatever its row count.
pub const MAX_BATCH_BYTES: usize = 4 * 1024 * 1024;

impl<'a> RowEmitter<'a> {
    /// Add a row of the current source record.
    pub fn row(&mut self, table: &Arc<str>, rowid: Option<i64>, row: Row) {
        if self.skip > 0 {
            return;
        }
        let bytes = row.iter().map(|v| v.size_hint()).sum::<usize>();
        self.bytes += bytes;
        self.total_bytes += bytes as u64;
        if *table == self.partition.table {
            self.own_rows += 1;
        }
        self.rows.push(BatchRow {
            table: table.clone(),
            rowid,
            row,
        });
    }

    /// A row of the current record that could not be converted.
    pub fn reject(&mut self, table: &str, key: String, reason: String, row: Row) {
        if self.skip > 0 {
            return;
        }
        self.rejected.push(RejectedRow {
            table: table.to_string(),
            key,
            reason,
            row,
        });
    }

    /// End the current source record. `position` says where to resume after it; it
    /// is only called when a batch is sent.
    pub fn end_record(
        &mut self,
        position: impl FnOnce() -> Option<String>,
    ) -> Result<(), SourceError> {
        self.records += 1;
        if self.first_record.is_none() {
            let now = Instant::now();
            self.first_record = Some(now);
            if let (Some(stop), Some(least)) = (self.stop_at, self.read_at_least) {
                self.stop_at = Some(stop.max(now + least));
            }
        }
        if self.track {
            self.last = position();
            return self.after_record(|s| s.last.clone());
        }
        self.after_record(|_| position())
    }

    fn after_record(
        &mut self,
        position: impl FnOnce(&Self) -> Option<String>,
    ) -> Result<(), SourceError> {
        if self.skip > 0 {
            self.skip -= 1;
            return Ok(());
        }
        if self.rows.len() + self.rejected.len() >= self.batch_size || self.bytes >= MAX_BATCH_BYTES
        {
            let at = position(self);
            self.send(at, false)?;
        }
        Ok(())
    }

    /// Resume by re-reading and dropping the first `n` records (for sources that
    /// cannot seek).
    pub fn skip_records(&mut self, n: u64) {
        self.skip = n;
        self.records = 0;
    }

    /// Records counted so far (after a resume, including those of earlier runs).
    pub fn records(&self) -> u64 {
        self.records
    }

    /// The source goes on reading in another state of the database than the rows
    /// sent so far (the shared snapshot is lost, a reader has a snapshot of its
    /// own): rows may come twice or not at all. From here the partition's rows
    /// replace what their keys hold, and its table is repaired after the copy.
    pub fn snapshot_changed(&mut self) {
        if !self.upsert {
            tracing::warn!(
                table = %self.partition.table,
                "reading goes on in another snapshot of the source: the table is brought level with the source after the copy"
            );
        }
        self.upsert = true;
    }

    /// Declare a table found while reading.
    pub fn add_table(&mut self, schema: TableSchema) -> Result<(), SourceError> {
        self.tx
            .send(Msg::Table(schema))
            .map_err(|_| Box::new(Cancelled) as SourceError)
    }

    fn send(&mut self, position: Option<String>, done: bool) -> Result<(), SourceError> {
        if self.cancel.load(Ordering::Relaxed) {
            return Err(Box::new(Cancelled));
        }
        let batch = Batch {
            partition: self.partition.id.clone(),
            table: self.partition.table.clone(),
            rows: std::mem::replace(&mut self.rows, Vec::with_capacity(self.batch_size)),
            rejected: std::mem::take(&mut self.rejected),
            records: self.records,
            position,
            done,
            upsert: self.upsert,
        };
        self.bytes = 0;
        self.tx
            .send(Msg::Batch(batch))
            .map_err(|_| Box::new(Cancelled) as SourceError)?;
        if !done && self.stop_at.is_some_and(|t| Instant::now() >= t) {
            self.cut = true;
            return Err(Box::new(Enough));
        }
        Ok(())
    }

    fn timing(&self, copy_started: Instant, finished: bool) -> PartitionTiming {
        let since = |t: Option<Instant>| t.map_or(0.0, |t| (t - self.started).as_secs_f64());
        PartitionTiming {
            table: self.partition.table.clone(),
            estimated_rows: self.partition.estimated_rows,
            index: self.index,
            read: true,
            start_secs: (self.started - copy_started).as_secs_f64(),
            records: self.records,
            rows: self.own_rows,
            bytes: self.total_bytes,
            first_record_secs: since(self.first_record),
            secs: self.started.elapsed().as_secs_f64(),
            finished,
        }
    }
}

/// Copy every partition of `source` into `sink`. Partitions a previous run finished
/// are skipped; unfinished ones resume from their checkpoint.
pub fn copy(
    source: &dyn Source,
    tables: &[TableSchema],
    sink: &mut dyn Sink,
    opts: &CopyOptions,
    mut rejects: Option<&mut RejectLog>,
    progress: &Progress,
) -> Result<CopySummary, CopyError> {
    let started = Instant::now();
    sink.prepare(tables)?;
    let mut schemas: BTreeMap<String, TableSchema> =
        tables.iter().map(|t| (t.name.clone(), t.clone())).collect();
    let mut summary = CopySummary::default();
    for t in tables {
        summary.tables.entry(t.name.clone()).or_default();
    }
    let partitions = source.partitions().map_err(|error| CopyError::Source {
        partition: "(planning)".into(),
        error,
    })?;
    // A source that names its content (a dump) and now holds another one: its old
    // plan and a checkpoint's position (an offset into the old file) mean nothing
    // in it, so it is planned anew and unfinished partitions are read again from
    // their start (written by upsert).
    let restart = opts.resume == Resume::MayDiffer && source.content_id().is_some();
    if restart {
        sink.forget_plans(tables)?;
    }
    let partitions = sink.settle_plan(partitions)?;
    let written_before = sink.started_tables()?;
    // A position is worth keeping past the end only where a later run reads the
    // same positions again: a keyed table of a live source.
    let keep_last = sink.keeps_last_position() && source.content_id().is_none();
    let mut work = VecDeque::new();
    for (index, p) in partitions.into_iter().enumerate() {
        let resume = sink.resume_point(&p.id)?.filter(|ck| ck.done || !restart);
        match resume {
            Some(ck) if ck.done => {
                summary.partitions_already_done += 1;
                progress.plan_partition(&p.table, p.estimated_rows, ck.rows, true);
            }
            other => {
                let before = other.as_ref().map_or(0, |ck| ck.rows);
                progress.plan_partition(&p.table, p.estimated_rows, before, false);
                let track = keep_last
                    && schemas
                        .get(&*p.table)
                        .is_some_and(|t| !t.primary_key.is_empty());
                work.push_back((p, other, track, index));
            }
        }
    }
    // Tables an earlier run wrote from what may be another state of the source:
    // resumed, they are written by upsert and repaired after the copy.
    let mut upsert: BTreeSet<String> = sink.marked_for_repair()?.into_iter().collect();
    if opts.resume == Resume::MayDiffer && !work.is_empty() && !written_before.is_empty() {
        let stale: Vec<String> = written_before
            .into_iter()
            .filter(|t| !upsert.contains(t) && schemas.contains_key(t))
            .collect();
        sink.mark_for_repair(&stale)?;
        upsert.extend(stale);
    }
    summary.to_repair = upsert.clone();
    let sample_end = opts.sample.map(|s| started + s.total);
    // Fewer partitions than the limits were shared among (one reading of a file
    // feeding every table): each takes its readers' whole share of the time.
    let per_partition = opts.sample.map(|s| {
        let share = s.total.as_secs_f64() * opts.parallel.max(1) as f64 / work.len().max(1) as f64;
        s.per_partition
            .max(Duration::from_secs_f64(share.min(s.total.as_secs_f64())))
    });
    if opts.sample.is_some() {
        work = by_turns(work, |w| w.0.table.clone());
    }
    let timings: Mutex<Vec<PartitionTiming>> = Mutex::new(Vec::new());
    summary.planning_secs = started.elapsed().as_secs_f64();
    let work = Mutex::new(work);
    let cancel = AtomicBool::new(false);
    let parallel = opts.parallel.max(1);
    let skip = opts.on_error == OnError::Skip;
    let _polling = crate::interrupt::Polling::start();

    let result = std::thread::scope(|scope| {
        // The channel lives in the scope: if the writer unwinds, the readers'
        // sends fail and they end, instead of waiting for it forever.
        let (tx, rx) = sync_channel::<Msg>(parallel);
        for _ in 0..parallel {
            let tx = tx.clone();
            let (work, cancel, timings) = (&work, &cancel, &timings);
            scope.spawn(move || loop {
                let now = Instant::now();
                if sample_end.is_some_and(|end| now >= end) {
                    break;
                }
                let Some((partition, resume, track, index)) =
                    work.lock().expect("work queue").pop_front()
                else {
                    break;
                };
                crate::fault::point("reader");
                let mut out = RowEmitter {
                    tx: &tx,
                    cancel,
                    partition: &partition,
                    batch_size: opts.batch_size.max(1),
                    rows: Vec::with_capacity(opts.batch_size.clamp(1, 100_000)),
                    rejected: Vec::new(),
                    records: resume.as_ref().map_or(0, |c| c.rows),
                    skip: 0,
                    bytes: 0,
                    upsert: false,
                    track,
                    last: resume
                        .as_ref()
                        .and_then(|c| c.position.clone())
                        .filter(|_| track),
                    stop_at: per_partition
                        .zip(sample_end)
                        .map(|(per, end)| (now + per).min(end)),
                    read_at_least: per_partition.map(|per| per.min(Duration::from_secs(1))),
                    index,
                    cut: false,
                    started: now,
                    first_record: None,
                    total_bytes: 0,
                    own_rows: 0,
                };
                let read = source.read(&partition, resume.as_ref(), &mut out);
                // A sample's cut ends the partition as its end would.
                let read = if out.cut { Ok(()) } else { read };
                let outcome = read.and_then(|()| {
                    let last = out.last.take();
                    out.send(last, true)
                });
                if outcome.is_ok() {
                    let t = out.timing(started, !out.cut);
                    timings.lock().expect("timings").push(t);
                }
                if let Err(error) = outcome {
                    if !cancel.load(Ordering::Relaxed) {
                        let _ = tx.send(Msg::Failed {
                            partition: partition.id.clone(),
                            error,
                        });
                    }
                    break;
                }
            });
        }
        drop(tx);
        let mut failure: Option<CopyError> = None;
        // A table's time runs from the writer's previous commit before its first
        // batch (its rows were being read meanwhile) to its last commit.
        let mut first_batch: BTreeMap<String, Instant> = BTreeMap::new();
        let mut last_commit = started;
        loop {
            let msg = match rx.recv_timeout(Duration::from_millis(200)) {
                Ok(m) => m,
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
                    if let (None, Some(sig)) = (&failure, crate::interrupt::requested()) {
                        cancel.store(true, Ordering::Relaxed);
                        failure = Some(CopyError::Interrupted(sig));
                    }
                    continue;
                }
                Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => break,
            };
            if failure.is_some() {
                continue; // drain so readers can finish
            }
            let step = (|| -> Result<(), CopyError> {
                match msg {
                    Msg::Table(t) => {
                        if !schemas.contains_key(&t.name) {
                            sink.add_table(&t)?;
                            progress.add_table(&t.name);
                            summary.tables.entry(t.name.clone()).or_default();
                            schemas.insert(t.name.clone(), t);
                        }
                    }
                    Msg::Failed { partition, error } => {
                        return Err(CopyError::Source { partition, error })
                    }
                    Msg::Batch(mut batch) => {
                        crate::fault::point("writer");
                        let source_rejects = std::mem::take(&mut batch.rejected);
                        if let (false, Some(r)) = (skip, source_rejects.first()) {
                            return Err(CopyError::BadRow {
                                table: r.table.clone(),
                                key: r.key.clone(),
                                reason: r.reason.clone(),
                                fix: source.bad_row_fix(),
                            });
                        }
                        if upsert.contains(&*batch.table) {
                            batch.upsert = true;
                        }
                        if batch.upsert {
                            for r in &batch.rows {
                                if !summary.to_repair.contains(&*r.table) {
                                    summary.to_repair.insert(r.table.to_string());
                                }
                            }
                            summary.to_repair.insert(batch.table.to_string());
                        }
                        let mut written: BTreeMap<Arc<str>, u64> = BTreeMap::new();
                        for r in &batch.rows {
                            *written.entry(r.table.clone()).or_default() += 1;
                        }
                        let done = batch.done;
                        let batch_table = batch.table.clone();
                        // Rejected rows reach the reject file before their batch
                        // commits, so a crash cannot lose them past a checkpoint.
                        let mut keep = |rows: &[RejectedRow]| -> std::io::Result<()> {
                            if let Some(log) = rejects.as_deref_mut() {
                                for r in rows {
                                    log.write(r, schemas.get(&r.table))?;
                                }
                                log.flush()?;
                            }
                            Ok(())
                        };
                        if skip && !source_rejects.is_empty() {
                            keep(&source_rejects).map_err(CopyError::RejectLog)?;
                        }
                        let bad_rows = if skip {
                            BadRows::SetAside(&mut keep)
                        } else {
                            BadRows::Abort
                        };
                        let sink_rejects = sink.write(batch, bad_rows).map_err(|e| match e {
                            SinkError::Store(StoreError::BadRow { table, key, reason }) => {
                                CopyError::BadRow {
                                    table,
                                    key,
                                    reason,
                                    fix: source.bad_row_fix(),
                                }
                            }
                            SinkError::Store(StoreError::RejectLog(e)) => CopyError::RejectLog(e),
                            other => CopyError::Sink(other),
                        })?;
                        for r in &sink_rejects {
                            if let Some(count) = written.get_mut(r.table.as_str()) {
                                *count = count.saturating_sub(1);
                            }
                        }
                        let mut rejected: BTreeMap<&str, u64> = BTreeMap::new();
                        for r in source_rejects.iter().chain(&sink_rejects) {
                            *rejected.entry(r.table.as_str()).or_default() += 1;
                        }
                        let now = Instant::now();
                        let tables: BTreeSet<&str> = written
                            .keys()
                            .map(|t| &**t)
                            .chain(rejected.keys().copied())
                            .collect();
                        for t in tables {
                            let (w, r) = (
                                written.get(t).copied().unwrap_or(0),
                                rejected.get(t).copied().unwrap_or(0),
                            );
                            let first = *first_batch.entry(t.to_string()).or_insert(last_commit);
                            let counts = summary.tables.entry(t.to_string()).or_default();
                            counts.rows_written += w;
                            counts.rows_rejected += r;
                            counts.seconds = now.duration_since(first).as_secs_f64();
                            summary.rows_written += w;
                            summary.rows_rejected += r;
                            progress.committed(t, w, r);
                        }
                        last_commit = now;
                        crate::fault::point("committed");
                        if done {
                            summary.partitions_copied += 1;
                            progress.partition_done(&batch_table);
                        }
                        // A signal stops the copy here, between two commits.
                        if let Some(sig) = crate::interrupt::requested() {
                            return Err(CopyError::Interrupted(sig));
                        }
                    }
                }
                Ok(())
            })();
            if let Err(e) = step {
                cancel.store(true, Ordering::Relaxed);
                failure = Some(e);
            }
        }
        match failure {
            Some(e) => Err(e),
            None => Ok(()),
        }
    });
    if let Err(CopyError::Interrupted(_)) = &result {
        // What was committed stays; make it durable before the process ends.
        sink.finish()?;
    }
    result?;
    sink.finish()?;
    progress.copy_done();
    if let Some(log) = rejects {
        log.flush().map_err(CopyError::RejectLog)?;
    }
    summary.elapsed_secs = started.elapsed().as_secs_f64();
    summary.partitions = timings.into_inner().expect("timings");
    for (p, _, _, index) in work.into_inner().expect("work queue") {
        summary.partitions.push(PartitionTiming {
            table: p.table.clone(),
            estimated_rows: p.estimated_rows,
            index,
            read: false,
            start_secs: 0.0,
            records: 0,
            rows: 0,
            bytes: 0,
            first_record_secs: 0.0,
            secs: 0.0,
            finished: false,
        });
    }
    Ok(summary)
}

/// The items in turns by `key`: each key's first in the order keys first appear,
/// then each key's second, and so on.
fn by_turns<T, K: Eq + std::hash::Hash + Clone>(
    items: VecDeque<T>,
    key: impl Fn(&T) -> K,
) -> VecDeque<T> {
    let mut keys: Vec<K> = Vec::new();
    let mut groups: std::collections::HashMap<K, VecDeque<T>> = Default::default();
    for item in items {
        let k = key(&item);
        if !groups.contains_key(&k) {
            keys.push(k.clone());
        }
        groups.entry(k).or_default().push_back(item);
    }
    let mut out = VecDeque::new();
    loop {
        let mut any = false;
        for k in &keys {
            if let Some(g) = groups.get_mut(k) {
                if let Some(item) = g.pop_front() {
                    out.push_back(item);
                    any = true;
                }
            }
        }
        if !any {
            break;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;
    use crate::schema::ColumnSchema;
    use crate::sink::StoreSink;
    use crate::store::Store;
    use crate::types::LightningType;
    use crate::value::Value;

    fn table(name: &str, cols: &[(&str, LightningType)], key: &[&str]) -> TableSchema {
        let mut t = TableSchema::new(name);
        for (c, ty) in cols {
            let mut col = ColumnSchema::new(*c, *ty);
            col.nullable = !key.contains(c);
            t.columns.push(col);
        }
        t.primary_key = key.iter().map(|k| k.to_string()).collect();
        t
    }

    /// A document-like source: each record becomes a parent row and two child
    /// rows; the child table is only declared once reading has begun.
    struct Documents {
        records: i64,
        /// Fail once after this many records (a dropped connection).
        fail_after: AtomicU64,
        /// The record whose parent row has a value of the wrong type.
        bad: Option<i64>,
    }

    impl Source for Documents {
        fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
            Ok(vec![Partition {
                id: "docs".into(),
                table: Arc::from("docs"),
                estimated_rows: self.records as u64,
                spec: String::new(),
            }])
        }

        fn read(
            &self,
            _p: &Partition,
            resume: Option<&Checkpoint>,
            out: &mut RowEmitter<'_>,
        ) -> Result<(), SourceError> {
            out.add_table(table(
                "docs_tags",
                &[
                    ("doc_id", LightningType::BigInt),
                    ("n", LightningType::Integer),
                    ("tag", LightningType::Text),
                ],
                &["doc_id", "n"],
            ))?;
            let (parent, child): (Arc<str>, Arc<str>) = (Arc::from("docs"), Arc::from("docs_tags"));
            let start = resume
                .and_then(|c| c.position.as_deref())
                .map_or(0, |p| p.parse::<i64>().unwrap() + 1);
            for i in start..self.records {
                if self.fail_after.load(Ordering::Relaxed) == i as u64 {
                    self.fail_after.store(u64::MAX, Ordering::Relaxed);
                    return Err("connection dropped".into());
                }
                let title = if self.bad == Some(i) {
                    Value::Int(7)
                } else {
                    Value::Text(format!("doc {i}"))
                };
                out.row(&parent, None, vec![Value::Int(i), title]);
                for n in 0..2 {
                    out.row(
                        &child,
                        None,
                        vec![Value::Int(i), Value::Int(n), Value::Text(format!("t{n}"))],
                    );
                }
                out.end_record(|| Some(i.to_string()))?;
            }
            Ok(())
        }
    }

    fn docs() -> TableSchema {
        table(
            "docs",
            &[
                ("id", LightningType::BigInt),
                ("title", LightningType::Text),
            ],
            &["id"],
        )
    }

    #[test]
    fn one_record_feeds_several_tables_and_a_failed_run_resumes_exactly_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::create_or_open(dir.path().join("d.ldb")).unwrap());
        let src = Documents {
            records: 1000,
            fail_after: AtomicU64::new(437),
            bad: None,
        };
        let opts = CopyOptions {
            parallel: 2,
            batch_size: 50,
            on_error: OnError::Abort,
            resume: Resume::SameContent,
            sample: None,
        };
        let first = copy(
            &src,
            &[docs()],
            &mut StoreSink::new(store.clone()),
            &opts,
            None,
            &Progress::hidden(),
        );
        assert!(matches!(first, Err(CopyError::Source { .. })), "{first:?}");
        let partial = store.count("docs").unwrap();
        assert!(partial > 0 && partial < 1000, "{partial}");
        assert_eq!(
            store.count("docs_tags").unwrap(),
            2 * partial,
            "rows and children commit together"
        );

        let summary = copy(
            &src,
            &[docs()],
            &mut StoreSink::new(store.clone()),
            &opts,
            None,
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(summary.rows_written, 3 * (1000 - partial));
        assert_eq!(store.count("docs").unwrap(), 1000);
        assert_eq!(store.count("docs_tags").unwrap(), 2000);
        assert!(store.checkpoint("docs").unwrap().unwrap().done);

        let again = copy(
            &src,
            &[docs()],
            &mut StoreSink::new(store.clone()),
            &opts,
            None,
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!((again.rows_written, again.partitions_already_done), (0, 1));
    }

    /// Export `src` as a stream, going on from `state` when given: the ids of
    /// the `docs` records written, and the last STATE's bookmarks.
    fn export(
        src: &Documents,
        t: TableSchema,
        state: Option<BTreeMap<String, Checkpoint>>,
    ) -> (Vec<i64>, BTreeMap<String, Checkpoint>) {
        let mut buf = Vec::new();
        let mut sink = crate::sink::StreamSink::new(&mut buf);
        if let Some(state) = state {
            sink = sink.with_state(state, true);
        }
        let opts = CopyOptions {
            parallel: 1,
            batch_size: 4,
            ..CopyOptions::default()
        };
        copy(src, &[t], &mut sink, &opts, None, &Progress::hidden()).unwrap();
        drop(sink);
        let msgs: Vec<serde_json::Value> = String::from_utf8(buf)
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
        let ids = msgs
            .iter()
            .filter(|m| m["type"] == "RECORD" && m["stream"] == "docs")
            .map(|m| m["record"]["id"].as_i64().unwrap())
            .collect();
        let last = msgs.iter().rev().find(|m| m["type"] == "STATE").unwrap();
        let marks = serde_json::from_value(last["value"]["bookmarks"].clone()).unwrap();
        (ids, marks)
    }

    #[test]
    fn a_stream_goes_on_after_the_last_key_of_a_finished_partition() {
        let mut src = Documents {
            records: 10,
            fail_after: AtomicU64::new(u64::MAX),
            bad: None,
        };
        let (ids, state) = export(&src, docs(), None);
        assert_eq!(ids, (0..10).collect::<Vec<_>>());
        let ck = &state["docs"];
        assert!(ck.done);
        assert_eq!((ck.position.as_deref(), ck.rows), (Some("9"), 10));

        // Rows added since, and only they, come out; with none, the point stays.
        src.records = 13;
        let (ids, state) = export(&src, docs(), Some(state));
        assert_eq!(ids, [10, 11, 12]);
        assert_eq!(state["docs"].position.as_deref(), Some("12"));
        let (ids, again) = export(&src, docs(), Some(state.clone()));
        assert!(ids.is_empty());
        assert_eq!(again, state);

        // A keyless table has no such point: read whole, and no position kept.
        let mut keyless = docs();
        keyless.primary_key.clear();
        let (ids, state) = export(&src, keyless.clone(), Some(state));
        assert_eq!(ids.len(), 13);
        assert_eq!(state["docs"].position, None);
    }

    #[test]
    fn a_bad_row_stops_the_run_or_is_set_aside_alone() {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(Store::create_or_open(dir.path().join("d.ldb")).unwrap());
        let src = Documents {
            records: 100,
            fail_after: AtomicU64::new(u64::MAX),
            bad: Some(42),
        };
        let mut opts = CopyOptions {
            parallel: 1,
            batch_size: 30,
            on_error: OnError::Abort,
            resume: Resume::SameContent,
            sample: None,
        };
        let err = copy(
            &src,
            &[docs()],
            &mut StoreSink::new(store.clone()),
            &opts,
            None,
            &Progress::hidden(),
        )
        .unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("table `docs` (id=42)") && msg.contains("column `title`"),
            "{msg}"
        );
        assert!(
            store.count("docs").unwrap() < 42,
            "the bad batch is not written"
        );

        opts.on_error = OnError::Skip;
        let log_path = dir.path().join("rejects.jsonl");
        let mut log = RejectLog::new(&log_path);
        let summary = copy(
            &src,
            &[docs()],
            &mut StoreSink::new(store.clone()),
            &opts,
            Some(&mut log),
            &Progress::hidden(),
        )
        .unwrap();
        assert_eq!(summary.rows_rejected, 1);
        assert_eq!(
            store.count("docs").unwrap(),
            99,
            "only the bad row is lost from its batch"
        );
        assert_eq!(store.count("docs_tags").unwrap(), 200);
        let lines = std::fs::read_to_string(&log_path).unwrap();
        let line: serde_json::Value = serde_json::from_str(lines.lines().next().unwrap()).unwrap();
        assert_eq!(
            (
                line["table"].as_str(),
                line["key"].as_str(),
                line["row"]["title"].as_i64()
            ),
            (Some("docs"), Some("id=42"), Some(7))
        );
    }
}
