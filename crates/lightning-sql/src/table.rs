//! A Lightning table as a DataFusion table: scans that read only the columns and
//! key ranges a query needs, and INSERT, UPDATE, DELETE and TRUNCATE that go to
//! the store as one atomic change per statement.

use std::collections::HashMap;
use std::fmt;
use std::ops::Bound;
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use datafusion::arrow::array::{Array, AsArray, RecordBatch};
use datafusion::arrow::compute::cast;
use datafusion::arrow::datatypes::SchemaRef;
use datafusion::arrow::error::ArrowError;
use datafusion::catalog::{Session, TableProvider};
use datafusion::common::{DFSchema, DataFusionError, Result};
use datafusion::datasource::sink::{DataSink, DataSinkExec};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::logical_expr::dml::InsertOp;
use datafusion::logical_expr::{Expr, TableProviderFilterPushDown, TableType};
use datafusion::physical_expr::PhysicalExpr;
use datafusion::physical_plan::empty::EmptyExec;
use datafusion::physical_plan::stream::RecordBatchStreamAdapter;
use datafusion::physical_plan::streaming::{PartitionStream, StreamingTableExec};
use datafusion::physical_plan::{DisplayAs, DisplayFormatType, ExecutionPlan};
use futures::StreamExt;
use lightning_core::keycode::decode_rowid;
use lightning_core::{Row, Store, TableSchema, Value};

use crate::access::{self, Access};
use crate::arrow_types::{arrow_schema, batch_to_rows, rows_to_batch, value_at, BatchBuilder};
use crate::columns;
use crate::transaction::{self, Changes};

/// Rows per record batch a scan produces.
const BATCH_ROWS: usize = 8192;

fn external(e: impl std::error::Error + Send + Sync + 'static) -> DataFusionError {
    DataFusionError::External(Box::new(e))
}

/// What every table of one store shares.
pub struct Shared {
    pub store: Arc<Store>,
    /// One statement writes at a time, from its read to its commit, so an UPDATE
    /// never works from rows another statement is changing.
    pub writes: Mutex<()>,
    /// Next values of auto-increment columns, by table and column.
    next_auto: Mutex<HashMap<(String, usize), i64>>,
}

impl fmt::Debug for Shared {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Shared({})", self.store.path().display())
    }
}

impl Shared {
    pub fn new(store: Arc<Store>) -> Arc<Shared> {
        Arc::new(Shared {
            store,
            writes: Mutex::new(()),
            next_auto: Mutex::new(HashMap::new()),
        })
    }
}

/// One table of the store, as the engine sees it.
#[derive(Debug, Clone)]
pub struct LightningTable {
    shared: Arc<Shared>,
    table: Arc<TableSchema>,
    schema: SchemaRef,
}

impl LightningTable {
    pub fn new(shared: Arc<Shared>, table: TableSchema) -> Self {
        // Every column is nullable to the engine: the store checks NOT NULL and
        // names the column, and an auto-increment column takes NULL for its next value.
        let schema = arrow_schema(&table);
        let fields: Vec<_> = schema
            .fields()
            .iter()
            .map(|f| Arc::new(f.as_ref().clone().with_nullable(true)))
            .collect();
        let schema = Arc::new(datafusion::arrow::datatypes::Schema::new(fields));
        LightningTable {
            shared,
            table: Arc::new(table),
            schema,
        }
    }
}

#[async_trait]
impl TableProvider for LightningTable {
    fn schema(&self) -> SchemaRef {
        self.schema.clone()
    }

    fn table_type(&self) -> TableType {
        TableType::Base
    }

    fn supports_filters_pushdown(
        &self,
        filters: &[&Expr],
    ) -> Result<Vec<TableProviderFilterPushDown>> {
        // Filters narrow what is read; the engine still applies each one.
        Ok(vec![TableProviderFilterPushDown::Inexact; filters.len()])
    }

    async fn scan(
        &self,
        state: &dyn Session,
        projection: Option<&Vec<usize>>,
        filters: &[Expr],
        limit: Option<usize>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let projection: Vec<usize> = match projection {
            Some(p) => p.clone(),
            None => (0..self.table.columns.len()).collect(),
        };
        let schema = Arc::new(self.schema.project(&projection)?);
        let changes = transaction::Session::current().and_then(|s| s.changes(&self.table.name));
        let access = access::choose(&self.table, filters);
        let threads = state.config().target_partitions();
        if matches!(access, Access::All) && limit.is_none() && changes.is_none() {
            if let Some(plan) = self
                .column_scan(&projection, schema.clone(), threads)
                .await?
            {
                return Ok(plan);
            }
        }
        // A whole table or key range is read in key ranges side by side, one per
        // partition the engine runs (unless a LIMIT or a block's changes want one
        // reader in key order).
        let accesses = match &access {
            Access::All | Access::Range(..) if limit.is_none() && changes.is_none() => {
                self.split(&access, threads)?
            }
            _ => vec![access],
        };
        let parts: Vec<Arc<dyn PartitionStream>> = accesses
            .into_iter()
            .map(|access| {
                Arc::new(ScanPartition {
                    shared: self.shared.clone(),
                    table: self.table.clone(),
                    schema: schema.clone(),
                    projection: projection.clone(),
                    access,
                    limit,
                    changes: changes.clone(),
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        Ok(Arc::new(StreamingTableExec::try_new(
            schema,
            parts,
            None,
            [],
            false,
            limit,
        )?))
    }

    async fn insert_into(
        &self,
        _state: &dyn Session,
        input: Arc<dyn ExecutionPlan>,
        op: InsertOp,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        if op != InsertOp::Append {
            return Err(DataFusionError::Plan(format!(
                "INSERT {op} is not supported: use DELETE, then INSERT"
            )));
        }
        Ok(self.sink(input, Change::Insert))
    }

    async fn delete_from(
        &self,
        state: &dyn Session,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let change = Change::Delete(self.compile(state, &filters, Vec::new())?);
        Ok(self.sink(self.empty(), change))
    }

    async fn update(
        &self,
        state: &dyn Session,
        assignments: Vec<(String, Expr)>,
        filters: Vec<Expr>,
    ) -> Result<Arc<dyn ExecutionPlan>> {
        let change = Change::Update(self.compile(state, &filters, assignments)?);
        Ok(self.sink(self.empty(), change))
    }

    async fn truncate(&self, _state: &dyn Session) -> Result<Arc<dyn ExecutionPlan>> {
        let change = Change::Delete(Matching {
            filters: Vec::new(),
            physical: Vec::new(),
            assignments: Vec::new(),
        });
        Ok(self.sink(self.empty(), change))
    }
}

impl LightningTable {
    /// A whole-table or key-range access cut into up to `n` adjoining key ranges.
    fn split(&self, access: &Access, n: usize) -> Result<Vec<Access>> {
        use std::ops::Bound::Unbounded;
        let (lo, hi) = match access {
            Access::Range(lo, hi) => (lo.clone(), hi.clone()),
            _ => (Unbounded, Unbounded),
        };
        let cuts = self
            .shared
            .store
            .key_splits(&self.table.name, &lo, &hi, n)
            .map_err(external)?;
        if cuts.is_empty() {
            return Ok(vec![access.clone()]);
        }
        Ok(key_ranges(lo, hi, cuts)
            .into_iter()
            .map(|(lo, hi)| Access::Range(lo, hi))
            .collect())
    }

    /// A whole-table scan from column segments (see `columns`), building them
    /// first when they lack a column; `None` when the rows are to be read.
    async fn column_scan(
        &self,
        projection: &[usize],
        schema: SchemaRef,
        threads: usize,
    ) -> Result<Option<Arc<dyn ExecutionPlan>>> {
        let store = self.shared.store.clone();
        if store.count(&self.table.name).map_err(external)? < columns::MIN_ROWS
            || !projection
                .iter()
                .all(|&c| columns::kept(self.table.columns[c].ty))
        {
            return Ok(None);
        }
        let table = self.table.clone();
        let wanted = projection.to_vec();
        let prepared =
            tokio::task::spawn_blocking(move || columns::prepare(&store, &table, &wanted, threads))
                .await
                .map_err(external)?;
        let snap = match prepared {
            Ok(Some(snap)) => snap,
            Ok(None) => return Ok(None),
            // Segments only speed reads up: without them the rows are read.
            Err(e) => {
                tracing::warn!(table = %self.table.name, "column segments not built: {e}");
                return Ok(None);
            }
        };
        let layout = snap.layout().expect("prepared segments have a layout");
        let ranges = columns::split(layout, threads);
        let segments = Arc::new(columns::Segments {
            store: self.shared.store.clone(),
            snapshot: snap.clone(),
        });
        let parts: Vec<Arc<dyn PartitionStream>> = ranges
            .into_iter()
            .map(|chunks| {
                Arc::new(columns::ChunkScan {
                    segments: segments.clone(),
                    chunks,
                    projection: projection.to_vec(),
                    schema: schema.clone(),
                }) as Arc<dyn PartitionStream>
            })
            .collect();
        if parts.is_empty() {
            return Ok(Some(Arc::new(EmptyExec::new(schema))));
        }
        Ok(Some(Arc::new(StreamingTableExec::try_new(
            schema,
            parts,
            None,
            [],
            false,
            None,
        )?)))
    }

    fn empty(&self) -> Arc<dyn ExecutionPlan> {
        Arc::new(EmptyExec::new(self.schema.clone()))
    }

    fn sink(&self, input: Arc<dyn ExecutionPlan>, change: Change) -> Arc<dyn ExecutionPlan> {
        let sink = StoreSink {
            table: self.clone(),
            change,
            session: transaction::Session::current(),
        };
        Arc::new(DataSinkExec::new(input, Arc::new(sink), None))
    }

    /// Filters and assignments as expressions evaluated on whole rows.
    fn compile(
        &self,
        state: &dyn Session,
        filters: &[Expr],
        assignments: Vec<(String, Expr)>,
    ) -> Result<Matching> {
        let df_schema = DFSchema::try_from(self.schema.as_ref().clone())?;
        let physical = filters
            .iter()
            .map(|f| state.create_physical_expr(f.clone(), &df_schema))
            .collect::<Result<Vec<_>>>()?;
        let assignments = assignments
            .into_iter()
            .map(|(col, e)| {
                let c = self.table.column_index(&col).ok_or_else(|| {
                    DataFusionError::Plan(format!(
                        "table `{}` has no column `{col}`",
                        self.table.name
                    ))
                })?;
                Ok((c, state.create_physical_expr(e, &df_schema)?))
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Matching {
            filters: filters.to_vec(),
            physical,
            assignments,
        })
    }
}

/// Reads one table for a scan, on its own thread, and hands over record batches.
#[derive(Debug)]
struct ScanPartition {
    shared: Arc<Shared>,
    table: Arc<TableSchema>,
    schema: SchemaRef,
    projection: Vec<usize>,
    access: Access,
    limit: Option<usize>,
    /// The open transaction block's changes to the table, which the scan shows.
    changes: Option<Arc<Changes>>,
}

impl PartitionStream for ScanPartition {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let shared = self.shared.clone();
        let table = self.table.clone();
        let schema = self.schema.clone();
        let projection = self.projection.clone();
        let access = self.access.clone();
        let limit = self.limit.unwrap_or(usize::MAX);
        let changes = self.changes.clone();
        on_thread(self.schema.clone(), move |tx| {
            let mut out = Batches {
                batch: BatchBuilder::new(&table, schema, &projection, BATCH_ROWS.min(limit)),
                tx,
                sent: 0,
                limit,
                error: None,
            };
            let store = &shared.store;
            let result = match (&access, changes.as_deref().filter(|c| !c.is_empty())) {
                // Whole table or a key range: stored rows go straight into the batch.
                (Access::All | Access::Range(..), None) => (|| {
                    let (lo, hi) = match &access {
                        Access::Range(lo, hi) => (lo.clone(), hi.clone()),
                        _ => (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
                    };
                    for item in store.scan_encoded(&table.name, lo, hi)? {
                        let (_, encoded) = item?;
                        let added = out.batch.append_encoded(&encoded);
                        if !out.added(added) {
                            break;
                        }
                    }
                    Ok(())
                })(),
                (_, changes) => {
                    let mut wanted = vec![false; table.columns.len()];
                    for &c in &projection {
                        wanted[c] = true;
                    }
                    read_rows(
                        store,
                        &table,
                        &access,
                        Some(wanted),
                        changes,
                        &mut |_, row| {
                            let added = out.batch.append_values(&row);
                            out.added(added)
                        },
                    )
                }
            };
            match (result, out.error.take()) {
                (Err(e), _) => {
                    let _ = out.tx.blocking_send(Err(external(e)));
                }
                (Ok(()), Some(e)) => {
                    let _ = out.tx.blocking_send(Err(e.into()));
                }
                (Ok(()), None) if out.batch.rows() > 0 => {
                    out.flush();
                }
                (Ok(()), None) => {}
            }
        })
    }
}

type KeyRange = (Bound<Vec<u8>>, Bound<Vec<u8>>);

/// The adjoining key ranges that `cuts` (rising, within the bounds) make of
/// `lo..hi`.
pub(crate) fn key_ranges(
    lo: Bound<Vec<u8>>,
    hi: Bound<Vec<u8>>,
    cuts: Vec<Vec<u8>>,
) -> Vec<KeyRange> {
    let mut out = Vec::with_capacity(cuts.len() + 1);
    let mut from = lo;
    for c in cuts {
        out.push((from, Bound::Excluded(c.clone())));
        from = Bound::Included(c);
    }
    out.push((from, hi));
    out
}

/// Run `read` on a thread of its own (reading the store blocks), handing the
/// batches it sends to the engine as a stream.
pub(crate) fn on_thread(
    schema: SchemaRef,
    read: impl FnOnce(tokio::sync::mpsc::Sender<Result<RecordBatch>>) + Send + 'static,
) -> SendableRecordBatchStream {
    let (tx, rx) = tokio::sync::mpsc::channel(2);
    std::thread::spawn(move || read(tx));
    let stream = futures::stream::unfold(rx, |mut rx| async move {
        rx.recv().await.map(|item| (item, rx))
    });
    Box::pin(RecordBatchStreamAdapter::new(schema, stream))
}

/// A scan's rows on their way to the engine, a batch at a time.
struct Batches {
    batch: BatchBuilder,
    tx: tokio::sync::mpsc::Sender<Result<RecordBatch>>,
    sent: usize,
    limit: usize,
    error: Option<ArrowError>,
}

impl Batches {
    /// After a row went into the batch: send a full batch; whether to go on.
    fn added(&mut self, added: std::result::Result<(), ArrowError>) -> bool {
        if let Err(e) = added {
            self.error = Some(e);
            return false;
        }
        if self.batch.rows() >= BATCH_ROWS || self.sent + self.batch.rows() >= self.limit {
            return self.flush() && self.sent < self.limit;
        }
        true
    }

    fn flush(&mut self) -> bool {
        self.sent += self.batch.rows();
        let batch = self.batch.finish().map_err(DataFusionError::from);
        self.tx.blocking_send(batch).is_ok()
    }
}

/// Hand each row `access` reaches, with its whole key, to `each` until it says stop;
/// with `changes`, as an open transaction block sees the table.
fn read_rows(
    store: &Store,
    t: &TableSchema,
    access: &Access,
    wanted: Option<Vec<bool>>,
    changes: Option<&Changes>,
    each: &mut dyn FnMut(Vec<u8>, Row) -> bool,
) -> lightning_core::store::Result<()> {
    if let Some(changes) = changes.filter(|c| !c.is_empty()) {
        return read_merged(store, t, access, wanted, changes, each);
    }
    let keyed = !t.key_positions().is_empty();
    match access {
        Access::All | Access::Range(..) => {
            let (lo, hi) = match access {
                Access::Range(lo, hi) => (lo.clone(), hi.clone()),
                _ => (std::ops::Bound::Unbounded, std::ops::Bound::Unbounded),
            };
            for item in store.scan_columns(&t.name, lo, hi, wanted)? {
                let (key, row) = item?;
                if !each(key, row) {
                    break;
                }
            }
        }
        Access::Keys(keys) => {
            for k in keys {
                if let Some(row) = store.get(&t.name, k)? {
                    if !each(store.encode_table_key(&t.name, k)?, row) {
                        break;
                    }
                }
            }
        }
        Access::Index(_, _) if !keyed => {
            return read_rows(store, t, &Access::All, wanted, None, each)
        }
        Access::Index(name, values) => {
            let positions = t.key_positions();
            for row in store.index_lookup(&t.name, name, values)? {
                let pk: Vec<Value> = positions.iter().map(|&p| row[p].clone()).collect();
                if !each(store.encode_table_key(&t.name, &pk)?, row) {
                    break;
                }
            }
        }
    }
    Ok(())
}

/// `read_rows` through a block's changes: its rows replace the store's, in key order.
fn read_merged(
    store: &Store,
    t: &TableSchema,
    access: &Access,
    wanted: Option<Vec<bool>>,
    changes: &Changes,
    each: &mut dyn FnMut(Vec<u8>, Row) -> bool,
) -> lightning_core::store::Result<()> {
    use std::ops::Bound::{self, Excluded, Included, Unbounded};
    if let Access::Keys(keys) = access {
        for k in keys {
            let full = store.encode_table_key(&t.name, k)?;
            let row = match changes.get(&full) {
                Some(c) => c.now.clone(),
                None => store.get(&t.name, k)?,
            };
            if let Some(row) = row {
                if !each(full, row) {
                    break;
                }
            }
        }
        return Ok(());
    }
    // An index lookup reads the whole table here: the engine applies its filter.
    let (lo, hi): (Bound<Vec<u8>>, Bound<Vec<u8>>) = match access {
        Access::Range(lo, hi) => (lo.clone(), hi.clone()),
        _ => (Unbounded, Unbounded),
    };
    let empty = match (&lo, &hi) {
        (Included(a) | Excluded(a), Included(b) | Excluded(b)) => {
            a > b || (a == b && !matches!((&lo, &hi), (Included(_), Included(_))))
        }
        _ => false,
    };
    if empty {
        return Ok(());
    }
    let mut mine = changes
        .range::<Vec<u8>, _>((lo.clone(), hi.clone()))
        .peekable();
    for item in store.scan_columns(&t.name, lo, hi, wanted)? {
        let (key, row) = item?;
        while let Some((k, c)) = mine.next_if(|(k, _)| **k < key) {
            if let Some(r) = &c.now {
                if !each(k.clone(), r.clone()) {
                    return Ok(());
                }
            }
        }
        let row = match mine.next_if(|(k, _)| **k == key) {
            Some((_, c)) => match &c.now {
                Some(r) => r.clone(),
                None => continue,
            },
            None => row,
        };
        if !each(key, row) {
            return Ok(());
        }
    }
    for (k, c) in mine {
        if let Some(r) = &c.now {
            if !each(k.clone(), r.clone()) {
                break;
            }
        }
    }
    Ok(())
}

/// Which rows a DELETE or UPDATE changes, and how.
#[derive(Debug)]
struct Matching {
    filters: Vec<Expr>,
    physical: Vec<Arc<dyn PhysicalExpr>>,
    /// Column position and its new value.
    assignments: Vec<(usize, Arc<dyn PhysicalExpr>)>,
}

#[derive(Debug)]
enum Change {
    Insert,
    Delete(Matching),
    Update(Matching),
}

/// Writes what a statement changes to the store, in one commit.
#[derive(Debug)]
struct StoreSink {
    table: LightningTable,
    change: Change,
    /// The session of the statement: its open block, if any, takes the change.
    session: Option<Arc<transaction::Session>>,
}

impl DisplayAs for StoreSink {
    fn fmt_as(&self, _t: DisplayFormatType, f: &mut fmt::Formatter) -> fmt::Result {
        let what = match self.change {
            Change::Insert => "insert into",
            Change::Delete(_) => "delete from",
            Change::Update(_) => "update",
        };
        write!(f, "LightningStore: {what} {}", self.table.table.name)
    }
}

#[async_trait]
impl DataSink for StoreSink {
    fn schema(&self) -> &SchemaRef {
        &self.table.schema
    }

    async fn write_all(
        &self,
        mut data: SendableRecordBatchStream,
        _context: &Arc<TaskContext>,
    ) -> Result<u64> {
        let mut batches = Vec::new();
        while let Some(b) = data.next().await {
            batches.push(b?);
        }
        // The store's work blocks: tell the runtime, so other tasks move on.
        let this = StoreSinkWork {
            table: self.table.clone(),
            batches,
            change: &self.change,
            block: self.session.clone().filter(|s| s.in_block()),
        };
        tokio::task::block_in_place(|| this.run())
    }
}

struct StoreSinkWork<'a> {
    table: LightningTable,
    batches: Vec<RecordBatch>,
    change: &'a Change,
    /// The session whose open transaction block takes the change.
    block: Option<Arc<transaction::Session>>,
}

fn refused(e: lightning_core::store::StoreError) -> DataFusionError {
    DataFusionError::Execution(e.to_string())
}

impl StoreSinkWork<'_> {
    fn run(self) -> Result<u64> {
        let t = &self.table;
        let shared = &t.shared;
        if self.block.is_some() && t.table.key_positions().is_empty() {
            return Err(DataFusionError::NotImplemented(format!(
                "table `{}` has no primary key, so it cannot be written inside a transaction block: write it outside BEGIN ... COMMIT, where each statement commits on its own",
                t.table.name
            )));
        }
        let _one_writer = shared.writes.lock().expect("write lock");
        let (deletes, puts) = match self.change {
            Change::Insert => {
                let mut puts = Vec::new();
                for b in &self.batches {
                    let rows = batch_to_rows(&t.table, b).map_err(|why| {
                        DataFusionError::Execution(format!("table `{}`: {why}", t.table.name))
                    })?;
                    puts.extend(rows.into_iter().map(|r| (None, r)));
                }
                self.fill_auto(&mut puts)?;
                (Vec::new(), puts)
            }
            Change::Delete(m) => (self.matching(m, false)?.0, Vec::new()),
            Change::Update(m) => {
                let (keys, mut puts) = self.matching(m, true)?;
                self.fill_auto(&mut puts)?;
                (keys, puts)
            }
        };
        if let Some(session) = &self.block {
            let (n_deleted, n_put) = (deletes.len() as u64, puts.len() as u64);
            let puts = puts.into_iter().map(|(_, r)| r).collect();
            session
                .stage(&shared.store, &t.table, deletes, puts)
                .map_err(|e| DataFusionError::Execution(e.to_string()))?;
            return Ok(match self.change {
                Change::Delete(_) => n_deleted,
                _ => n_put,
            });
        }
        let deletes: Vec<Vec<u8>> = deletes.into_iter().map(|(k, _)| k).collect();
        let done = shared
            .store
            .change(&t.table.name, &deletes, puts)
            .map_err(refused)?;
        Ok(match self.change {
            Change::Insert | Change::Update(_) => done.inserted,
            Change::Delete(_) => done.deleted,
        })
    }

    /// The keys of the rows the filters keep and, for an UPDATE, their new rows.
    #[allow(clippy::type_complexity)]
    fn matching(
        &self,
        m: &Matching,
        update: bool,
    ) -> Result<(Vec<(Vec<u8>, Row)>, Vec<(Option<i64>, Row)>)> {
        let t = &self.table;
        let keyed = !t.table.key_positions().is_empty();
        let all: Vec<usize> = (0..t.table.columns.len()).collect();
        let access = access::choose(&t.table, &m.filters);
        let mut keys = Vec::new();
        let mut puts = Vec::new();
        let mut chunk: Vec<(Vec<u8>, Row)> = Vec::new();
        let mut fail: Option<DataFusionError> = None;
        let mut take = |chunk: &mut Vec<(Vec<u8>, Row)>| -> Result<()> {
            let rows: Vec<Row> = chunk.iter().map(|(_, r)| r.clone()).collect();
            let batch = rows_to_batch(&t.table, &t.schema, &all, &rows)?;
            let keep = keep_mask(&m.physical, &batch)?;
            let new_values = m
                .assignments
                .iter()
                .map(|(c, e)| {
                    let a = e.evaluate(&batch)?.into_array(batch.num_rows())?;
                    let want = t.schema.field(*c).data_type();
                    let a = if a.data_type() == want {
                        a
                    } else {
                        cast(&a, want)?
                    };
                    Ok((*c, a))
                })
                .collect::<Result<Vec<_>>>()?;
            for (i, (key, row)) in chunk.drain(..).enumerate() {
                if !keep[i] {
                    continue;
                }
                if update {
                    let mut row = row.clone();
                    for (c, a) in &new_values {
                        row[*c] = value_at(t.table.columns[*c].ty, a, i).map_err(|why| {
                            DataFusionError::Execution(format!(
                                "table `{}` column `{}`: {why}",
                                t.table.name, t.table.columns[*c].name
                            ))
                        })?;
                    }
                    let rowid = if keyed { None } else { decode_rowid(&key) };
                    puts.push((rowid, row));
                }
                keys.push((key, row));
            }
            Ok(())
        };
        let changes = self.block.as_ref().and_then(|s| s.changes(&t.table.name));
        read_rows(
            &t.shared.store,
            &t.table,
            &access,
            None,
            changes.as_deref(),
            &mut |key, row| {
                chunk.push((key, row));
                if chunk.len() >= BATCH_ROWS {
                    if let Err(e) = take(&mut chunk) {
                        fail = Some(e);
                        return false;
                    }
                }
                true
            },
        )
        .map_err(refused)?;
        if let Some(e) = fail {
            return Err(e);
        }
        take(&mut chunk)?;
        Ok((keys, puts))
    }

    /// Give NULL auto-increment values the column's next value.
    fn fill_auto(&self, puts: &mut [(Option<i64>, Row)]) -> Result<()> {
        let t = &self.table;
        let autos: Vec<usize> = (0..t.table.columns.len())
            .filter(|&c| t.table.columns[c].autoincrement && t.table.columns[c].ty.is_integer())
            .collect();
        if autos.is_empty() {
            return Ok(());
        }
        let mut next = t.shared.next_auto.lock().expect("auto lock");
        for &c in &autos {
            let slot = (t.table.name.clone(), c);
            if !next.contains_key(&slot) {
                let mut max = t.table.columns[c].autoincrement_next.unwrap_or(1) - 1;
                let mut only = vec![false; t.table.columns.len()];
                only[c] = true;
                read_rows(
                    &t.shared.store,
                    &t.table,
                    &Access::All,
                    Some(only),
                    None,
                    &mut |_, row| {
                        if let Value::Int(v) = row[c] {
                            max = max.max(v);
                        }
                        true
                    },
                )
                .map_err(refused)?;
                next.insert(slot.clone(), max.saturating_add(1));
            }
            let n = next.get_mut(&slot).expect("inserted");
            for (_, row) in puts.iter_mut() {
                match row[c] {
                    Value::Null => {
                        row[c] = Value::Int(*n);
                        *n += 1;
                    }
                    Value::Int(v) if v >= *n => *n = v.saturating_add(1),
                    _ => {}
                }
            }
        }
        Ok(())
    }
}

/// Which rows of a batch every filter keeps (NULL keeps nothing).
fn keep_mask(filters: &[Arc<dyn PhysicalExpr>], batch: &RecordBatch) -> Result<Vec<bool>> {
    let mut keep = vec![true; batch.num_rows()];
    for f in filters {
        let a = f.evaluate(batch)?.into_array(batch.num_rows())?;
        let b = a.as_boolean_opt().ok_or_else(|| {
            DataFusionError::Plan(format!(
                "a WHERE condition gives {}, not a boolean",
                a.data_type()
            ))
        })?;
        for (i, k) in keep.iter_mut().enumerate() {
            *k = *k && b.is_valid(i) && b.value(i);
        }
    }
    Ok(keep)
}
