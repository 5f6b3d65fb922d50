//! Where copied rows go: the store, or the stream on stdout.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::io::Write;
use std::sync::Arc;

use crate::pipeline::Partition;
use crate::schema::TableSchema;
use crate::store::{
    BadRows, BatchRow, Checkpoint, PlannedPartition, RejectedRow, Store, StoreError, WriteMode,
};
use crate::stream::{record_message, schema_message, state_message, StreamWriter};

/// Rows read from one partition, with the checkpoint that covers them.
#[derive(Debug)]
pub struct Batch {
    pub partition: String,
    pub table: Arc<str>,
    pub rows: Vec<BatchRow>,
    /// Rows the source could not convert.
    pub rejected: Vec<RejectedRow>,
    /// Source records read in this partition so far, this batch included.
    pub records: u64,
    pub position: Option<String>,
    pub done: bool,
    /// The rows may repeat rows written before or miss ones that moved (they were
    /// read in another state of the source): replace, and mark for a repair.
    pub upsert: bool,
}

impl Batch {
    pub fn checkpoint(&self) -> Checkpoint {
        Checkpoint {
            partition: self.partition.clone(),
            table: self.table.to_string(),
            position: self.position.clone(),
            rows: self.records,
            done: self.done,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("writing the stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("table `{0}` already exists in the target with a different schema; use --fresh to replace it or choose another target")]
    SchemaConflict(String),
}

/// Receives schemas, batches of rows and checkpoints.
pub trait Sink {
    /// Create (or check) the tables before any row arrives.
    fn prepare(&mut self, tables: &[TableSchema]) -> Result<(), SinkError>;
    /// A table discovered while reading (sources that sample before they know a schema).
    fn add_table(&mut self, table: &TableSchema) -> Result<(), SinkError>;
    /// Where a partition stopped in an earlier run.
    fn resume_point(&self, partition: &str) -> Result<Option<Checkpoint>, SinkError>;
    /// Write a batch. Bad rows are set aside (handed over before the batch is
    /// committed, then returned) or fail the batch, as `bad_rows` says.
    fn write(&mut self, batch: Batch, bad_rows: BadRows<'_>)
        -> Result<Vec<RejectedRow>, SinkError>;
    fn finish(&mut self) -> Result<(), SinkError>;
    /// Mark tables whose rows must be brought level with the source after the copy.
    fn mark_for_repair(&mut self, _tables: &[String]) -> Result<(), SinkError> {
        Ok(())
    }
    /// Tables marked for a repair by earlier runs.
    fn marked_for_repair(&self) -> Result<Vec<String>, SinkError> {
        Ok(Vec::new())
    }
    /// The partitions to copy: a table whose copy was started keeps the plan it
    /// was started with (a source that changed since would plan other ones).
    fn settle_plan(&mut self, partitions: Vec<Partition>) -> Result<Vec<Partition>, SinkError> {
        Ok(partitions)
    }
    /// Tables that earlier runs wrote into (they hold checkpoints).
    fn started_tables(&self) -> Result<BTreeSet<String>, SinkError> {
        Ok(BTreeSet::new())
    }
    /// Forget the plans of these tables (their source's content changed).
    fn forget_plans(&mut self, _tables: &[TableSchema]) -> Result<(), SinkError> {
        Ok(())
    }
    /// Whether a finished partition of a keyed table keeps the position after its
    /// last record in its checkpoint, for a later run to read only what came since.
    fn keeps_last_position(&self) -> bool {
        false
    }
}

pub struct StoreSink {
    store: Arc<Store>,
}

impl StoreSink {
    pub fn new(store: Arc<Store>) -> Self {
        StoreSink { store }
    }
}

impl Sink for StoreSink {
    fn prepare(&mut self, tables: &[TableSchema]) -> Result<(), SinkError> {
        for t in tables {
            self.add_table(t)?;
        }
        self.store.sync()?;
        Ok(())
    }

    fn add_table(&mut self, table: &TableSchema) -> Result<(), SinkError> {
        match self.store.create_table(table) {
            Err(StoreError::TableExists(n)) => Err(SinkError::SchemaConflict(n)),
            other => Ok(other?),
        }
    }

    fn resume_point(&self, partition: &str) -> Result<Option<Checkpoint>, SinkError> {
        Ok(self.store.checkpoint(partition)?)
    }

    fn write(
        &mut self,
        batch: Batch,
        bad_rows: BadRows<'_>,
    ) -> Result<Vec<RejectedRow>, SinkError> {
        let ck = batch.checkpoint();
        let done = batch.done;
        let mode = if batch.upsert {
            WriteMode::Upsert
        } else {
            WriteMode::Insert
        };
        let rejected = self.store.write_batch(batch.rows, &[ck], bad_rows, mode)?;
        if done {
            // A finished partition is made durable; batches in between need not be
            // (a lost batch loses its checkpoint with it and is copied again).
            self.store.sync()?;
        }
        Ok(rejected)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(self.store.flush()?)
    }

    fn mark_for_repair(&mut self, tables: &[String]) -> Result<(), SinkError> {
        Ok(self.store.mark_for_repair(tables)?)
    }

    fn marked_for_repair(&self) -> Result<Vec<String>, SinkError> {
        Ok(self.store.marked_for_repair()?)
    }

    fn settle_plan(&mut self, partitions: Vec<Partition>) -> Result<Vec<Partition>, SinkError> {
        let mut by_table: BTreeMap<Arc<str>, Vec<Partition>> = BTreeMap::new();
        for p in partitions {
            by_table.entry(p.table.clone()).or_default().push(p);
        }
        let mut out = Vec::new();
        for (table, planned) in by_table {
            match self.store.plan(&table)? {
                Some(kept) => out.extend(kept.into_iter().map(|k| Partition {
                    id: k.id,
                    table: table.clone(),
                    estimated_rows: k.estimated_rows,
                    spec: k.spec,
                })),
                None => {
                    let plan: Vec<PlannedPartition> = planned
                        .iter()
                        .map(|p| PlannedPartition {
                            id: p.id.clone(),
                            spec: p.spec.clone(),
                            estimated_rows: p.estimated_rows,
                        })
                        .collect();
                    self.store.set_plan(&table, &plan)?;
                    out.extend(planned);
                }
            }
        }
        Ok(out)
    }

    fn forget_plans(&mut self, tables: &[TableSchema]) -> Result<(), SinkError> {
        for t in tables {
            self.store.forget_plan(&t.name)?;
        }
        Ok(())
    }

    fn started_tables(&self) -> Result<BTreeSet<String>, SinkError> {
        Ok(self
            .store
            .checkpoints()?
            .into_iter()
            .map(|c| c.table)
            .collect())
    }
}

/// Writes the Singer-style stream.
pub struct StreamSink<W: Write> {
    out: StreamWriter<W>,
    schemas: HashMap<String, TableSchema>,
    bookmarks: BTreeMap<String, Checkpoint>,
    /// Where an earlier export stopped (`--state`), by partition.
    resume: BTreeMap<String, Checkpoint>,
    /// The only tables written (`--catalog`); others found while reading are dropped.
    only: Option<BTreeSet<String>>,
}

impl<W: Write> StreamSink<W> {
    pub fn new(out: W) -> Self {
        StreamSink {
            out: StreamWriter::new(out),
            schemas: HashMap::new(),
            bookmarks: BTreeMap::new(),
            resume: BTreeMap::new(),
            only: None,
        }
    }

    /// Go on from an earlier export's bookmarks. They are all carried into the
    /// STATE messages (a partition not read keeps its bookmark), and used to
    /// resume when `resume` (the source reads the same positions again).
    pub fn with_state(mut self, bookmarks: BTreeMap<String, Checkpoint>, resume: bool) -> Self {
        if resume {
            self.resume = bookmarks.clone();
        }
        self.bookmarks = bookmarks;
        self
    }

    /// Write only these tables.
    pub fn only(mut self, tables: BTreeSet<String>) -> Self {
        self.only = Some(tables);
        self
    }

    fn wanted(&self, table: &str) -> bool {
        self.only.as_ref().is_none_or(|o| o.contains(table))
    }
}

impl<W: Write> Sink for StreamSink<W> {
    fn prepare(&mut self, tables: &[TableSchema]) -> Result<(), SinkError> {
        for t in tables {
            self.add_table(t)?;
        }
        Ok(())
    }

    fn add_table(&mut self, table: &TableSchema) -> Result<(), SinkError> {
        if !self.wanted(&table.name) {
            return Ok(());
        }
        self.out.write(&schema_message(table))?;
        self.schemas.insert(table.name.clone(), table.clone());
        Ok(())
    }

    /// A keyed table goes on after the last position read, finished or not: rows
    /// added since come out, and nothing before it again. A keyless table, or a
    /// bookmark without a position, has no such point: it is read whole.
    fn resume_point(&self, partition: &str) -> Result<Option<Checkpoint>, SinkError> {
        let Some(ck) = self.resume.get(partition) else {
            return Ok(None);
        };
        let keyed = self
            .schemas
            .get(&ck.table)
            .is_some_and(|t| !t.primary_key.is_empty());
        if !keyed || ck.position.is_none() {
            return Ok(None);
        }
        Ok(Some(Checkpoint {
            done: false,
            ..ck.clone()
        }))
    }

    fn keeps_last_position(&self) -> bool {
        true
    }

    fn write(
        &mut self,
        batch: Batch,
        bad_rows: BadRows<'_>,
    ) -> Result<Vec<RejectedRow>, SinkError> {
        let mut rejected = Vec::new();
        let ck = batch.checkpoint();
        for BatchRow { table, row, rowid } in batch.rows {
            if !self.wanted(&table) {
                continue;
            }
            let schema = self
                .schemas
                .get(&*table)
                .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?;
            if let Err(reason) = schema.check_row(&row) {
                let key = schema.describe_key(rowid, &row);
                if matches!(bad_rows, BadRows::Abort) {
                    return Err(StoreError::BadRow {
                        table: table.to_string(),
                        key,
                        reason,
                    }
                    .into());
                }
                rejected.push(RejectedRow {
                    table: table.to_string(),
                    key,
                    reason,
                    row,
                });
                continue;
            }
            self.out.write(&record_message(schema, &row, rowid))?;
        }
        if let (BadRows::SetAside(keep), false) = (bad_rows, rejected.is_empty()) {
            keep(&rejected).map_err(StoreError::RejectLog)?;
        }
        self.bookmarks.insert(ck.partition.clone(), ck);
        self.out.write(&state_message(&self.bookmarks))?;
        Ok(rejected)
    }

    fn finish(&mut self) -> Result<(), SinkError> {
        Ok(self.out.flush()?)
    }
}
