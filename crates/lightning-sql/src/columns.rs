//! Column segments for whole-table scans. The first scan of a large table that
//! reads it whole writes the columns it needs, a chunk of rows at a time, as Arrow
//! IPC beside the rows (`Store::begin_columns`); later scans read those arrays
//! instead of decoding every row, until a write to the table drops them.

use std::io::Cursor;
use std::sync::Arc;

use datafusion::arrow::array::{ArrayRef, RecordBatch, RecordBatchOptions};
use datafusion::arrow::datatypes::{DataType, Field, Schema, SchemaRef};
use datafusion::arrow::error::ArrowError;
use datafusion::arrow::ipc::reader::StreamReader;
use datafusion::arrow::ipc::writer::StreamWriter;
use datafusion::common::{DataFusionError, Result};
use datafusion::execution::{SendableRecordBatchStream, TaskContext};
use datafusion::physical_plan::streaming::PartitionStream;
use lightning_core::store::{ColumnChunk, ColumnLayout, StoredBytes, TableSnapshot};
use lightning_core::{LightningType, Store, TableSchema};

use crate::arrow_types::{arrow_schema, arrow_type, BatchBuilder};
use crate::table::{key_ranges, on_thread};

/// Tables with fewer rows are read row by row: decoding them is already quick.
pub const MIN_ROWS: u64 = 100_000;
/// Whether segments keep a column of this type: values of bounded width only, so
/// segments cost at most a few bytes a value; text, JSON, BLOB and unbounded
/// DECIMAL columns are read from the rows.
pub fn kept(ty: LightningType) -> bool {
    ty == LightningType::Uuid || !matches!(arrow_type(ty), DataType::Utf8 | DataType::Binary)
}

/// A table written more recently than this is read row by row, not built: under
/// steady writes (`sync`, a busy application) each build would be dropped at once.
pub const QUIET: std::time::Duration = std::time::Duration::from_secs(2);

/// Rows per chunk a build writes.
const CHUNK_ROWS: usize = 65_536;
/// Rows per batch handed to the engine.
const BATCH_ROWS: usize = 8192;

#[derive(Debug, thiserror::Error)]
pub enum ColumnError {
    #[error(transparent)]
    Store(#[from] lightning_core::store::StoreError),
    #[error(transparent)]
    Arrow(#[from] ArrowError),
    #[error("chunk {chunk} of table `{table}` should hold {expected} rows but {found} were read")]
    Moved {
        table: String,
        chunk: u32,
        expected: u64,
        found: u64,
    },
}

type StoredRow = lightning_core::store::Result<(StoredBytes, StoredBytes)>;

/// One column's array as the bytes of an Arrow IPC stream.
fn encode(name: &str, array: &ArrayRef) -> Result<Vec<u8>, ArrowError> {
    let schema = Arc::new(Schema::new(vec![Field::new(
        name,
        array.data_type().clone(),
        true,
    )]));
    let batch = RecordBatch::try_new(schema.clone(), vec![array.clone()])?;
    let mut w = StreamWriter::try_new(Vec::new(), &schema)?;
    w.write(&batch)?;
    w.into_inner()
}

fn decode(bytes: &[u8]) -> Result<ArrayRef, ArrowError> {
    let mut r = StreamReader::try_new(Cursor::new(bytes), None)?;
    match r.next() {
        Some(batch) => Ok(batch?.column(0).clone()),
        None => Err(ArrowError::IpcError("an empty column chunk".into())),
    }
}

/// A snapshot of the table whose column segments hold every column of
/// `projection`, building what is missing; `None` when the rows must be read
/// (another build of the table is running, the table was written less than
/// `QUIET` ago, or it changed meanwhile).
pub fn prepare(
    store: &Store,
    table: &TableSchema,
    projection: &[usize],
    threads: usize,
) -> Result<Option<TableSnapshot>, ColumnError> {
    let covers = |s: &TableSnapshot| {
        s.layout()
            .is_some_and(|l| projection.iter().all(|c| l.columns.contains(c)))
    };
    let snap = store.snapshot(&table.name)?;
    if covers(&snap) {
        return Ok(Some(snap));
    }
    if !build(store, table, projection, threads)? {
        return Ok(None);
    }
    let snap = store.snapshot(&table.name)?;
    Ok(covers(&snap).then_some(snap))
}

/// Write the chunks of the projected columns the table's layout lacks (and the
/// layout itself when it has none); whether the result was published.
fn build(
    store: &Store,
    table: &TableSchema,
    projection: &[usize],
    threads: usize,
) -> Result<bool, ColumnError> {
    let Some(build) = store.begin_columns(&table.name, QUIET)? else {
        return Ok(false);
    };
    let snap = build.snapshot();
    let mut columns = snap.layout().map(|l| l.columns.clone()).unwrap_or_default();
    let mut missing: Vec<usize> = projection
        .iter()
        .copied()
        .filter(|c| !columns.contains(c))
        .collect();
    missing.sort_unstable();
    missing.dedup();
    if snap.layout().is_some() && missing.is_empty() {
        return Ok(true);
    }
    let schema = arrow_schema(table);
    let fields = Arc::new(schema.project(&missing)?);
    let threads = threads.max(1);
    // Each chunk's rows go through the same decoder a row scan uses, so both
    // give the same arrays.
    let write_chunk = |id: u32, rows: &mut dyn Iterator<Item = StoredRow>| {
        let mut b = BatchBuilder::new(table, fields.clone(), &missing, CHUNK_ROWS);
        for item in rows {
            let (_, encoded) = item?;
            b.append_encoded(&encoded)?;
        }
        let n = b.rows() as u64;
        let batch = b.finish()?;
        for (i, &c) in missing.iter().enumerate() {
            build.put_chunk(c, id, &encode(&table.columns[c].name, batch.column(i))?)?;
        }
        Ok::<u64, ColumnError>(n)
    };
    let chunks = match snap.layout() {
        // Columns added to a layout: the same chunks, read again from the snapshot.
        Some(layout) => {
            std::thread::scope(|s| {
                let handles: Vec<_> = split(layout, threads)
                    .into_iter()
                    .map(|group| {
                        let write_chunk = &write_chunk;
                        s.spawn(move || -> Result<(), ColumnError> {
                            for i in group {
                                let c = &layout.chunks[i];
                                let (lo, hi) = layout.bounds(i);
                                let mut rows = store.scan_snapshot(snap, lo, hi);
                                let found = write_chunk(c.id, &mut rows)?;
                                if found != c.rows {
                                    return Err(ColumnError::Moved {
                                        table: table.name.clone(),
                                        chunk: c.id,
                                        expected: c.rows,
                                        found,
                                    });
                                }
                            }
                            Ok(())
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .try_for_each(|h| h.join().expect("column build thread"))
            })?;
            layout.chunks.clone()
        }
        // A new layout: key ranges side by side, each cut into chunks as read.
        None => {
            use std::ops::Bound::Unbounded;
            let ranges = key_ranges(Unbounded, Unbounded, store.snapshot_splits(snap, threads)?);
            let per_range: Vec<Vec<ColumnChunk>> = std::thread::scope(|s| {
                let handles: Vec<_> = ranges
                    .into_iter()
                    .enumerate()
                    .map(|(r, (lo, hi))| {
                        let write_chunk = &write_chunk;
                        s.spawn(move || -> Result<Vec<ColumnChunk>, ColumnError> {
                            let mut rows = store.scan_snapshot(snap, lo, hi);
                            let mut out = Vec::new();
                            while let Some(first) = rows.next() {
                                let first = first?;
                                let start = first.0.to_vec();
                                let id = ((r as u32) << 20) | out.len() as u32;
                                let mut chunk = std::iter::once(Ok(first))
                                    .chain(rows.by_ref().take(CHUNK_ROWS - 1));
                                let n = write_chunk(id, &mut chunk)?;
                                out.push(ColumnChunk { id, start, rows: n });
                            }
                            Ok(out)
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().expect("column build thread"))
                    .collect::<Result<Vec<_>, _>>()
            })?;
            per_range.into_iter().flatten().collect()
        }
    };
    columns.extend(missing);
    columns.sort_unstable();
    let layout = ColumnLayout {
        build: build.id(),
        chunks,
        columns,
    };
    Ok(build.publish(&layout)?)
}

/// Reads some of a snapshot's chunks, in key order, on its own thread.
#[derive(Debug)]
pub struct ChunkScan {
    pub segments: Arc<Segments>,
    /// Positions in the layout's chunk list.
    pub chunks: std::ops::Range<usize>,
    pub projection: Vec<usize>,
    pub schema: SchemaRef,
}

/// The column segments of one snapshot, as a plan holds them.
pub struct Segments {
    pub store: Arc<Store>,
    pub snapshot: TableSnapshot,
}

impl std::fmt::Debug for Segments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "column segments of `{}`", self.snapshot.table())
    }
}

/// The chunk ranges that split a layout's chunks over `n` readers.
pub fn split(layout: &ColumnLayout, n: usize) -> Vec<std::ops::Range<usize>> {
    let len = layout.chunks.len();
    let per = len.div_ceil(n.max(1)).max(1);
    (0..len)
        .step_by(per)
        .map(|i| i..(i + per).min(len))
        .collect()
}

impl PartitionStream for ChunkScan {
    fn schema(&self) -> &SchemaRef {
        &self.schema
    }

    fn execute(&self, _ctx: Arc<TaskContext>) -> SendableRecordBatchStream {
        let segments = self.segments.clone();
        let chunks = self.chunks.clone();
        let projection = self.projection.clone();
        let schema = self.schema.clone();
        on_thread(self.schema.clone(), move |tx| {
            let (store, snap) = (&segments.store, &segments.snapshot);
            let layout = snap
                .layout()
                .expect("a scan of column segments has a layout");
            for c in &layout.chunks[chunks] {
                let arrays = projection
                    .iter()
                    .map(|&col| {
                        let bytes = store
                            .column_chunk(snap, col, c.id)
                            .map_err(|e| DataFusionError::External(Box::new(e)))?;
                        Ok(decode(&bytes)?)
                    })
                    .collect::<Result<Vec<_>>>();
                let batch = arrays.and_then(|arrays| {
                    Ok(RecordBatch::try_new_with_options(
                        schema.clone(),
                        arrays,
                        &RecordBatchOptions::new().with_row_count(Some(c.rows as usize)),
                    )?)
                });
                let batch = match batch {
                    Ok(b) => b,
                    Err(e) => {
                        let _ = tx.blocking_send(Err(e));
                        return;
                    }
                };
                let mut at = 0;
                while at < batch.num_rows() {
                    let len = BATCH_ROWS.min(batch.num_rows() - at);
                    if tx.blocking_send(Ok(batch.slice(at, len))).is_err() {
                        return;
                    }
                    at += len;
                }
            }
        })
    }
}
