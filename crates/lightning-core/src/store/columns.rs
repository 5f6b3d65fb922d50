//! Column segments: a table's columns kept a second time, one column at a time in
//! chunks of rows in key order, for queries that read whole tables. The store
//! keeps a chunk as bytes it does not interpret (the SQL layer writes Arrow). Any
//! commit that writes the table drops its layout in the same batch, so segments
//! are never older than the rows; a build publishes its layout only if no commit
//! touched the table since the snapshot it read.

use std::collections::{HashMap, HashSet};
use std::ops::Bound;
use std::time::{Duration, Instant};

use fjall::{KeyspaceCreateOptions, KvSeparationOptions, Readable};
use serde::{Deserialize, Serialize};

use super::keys;
use super::read::{EncodedRows, StoredBytes};
use super::{meta_key, Result, Store, StoreError, TableEntry};

/// Where a table's column chunks are: the rows each chunk holds, in key order.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnLayout {
    /// The build that wrote the chunks (their keys start with it).
    pub build: u64,
    pub chunks: Vec<ColumnChunk>,
    /// Positions of the columns whose chunks are all written.
    pub columns: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnChunk {
    pub id: u32,
    /// Whole key of the chunk's first row; the chunk ends where the next begins.
    pub start: Vec<u8>,
    pub rows: u64,
}

impl ColumnLayout {
    /// The key range of chunk `i` of `chunks` (which are in key order).
    pub fn bounds(&self, i: usize) -> (Bound<Vec<u8>>, Bound<Vec<u8>>) {
        let lo = Bound::Included(self.chunks[i].start.clone());
        let hi = match self.chunks.get(i + 1) {
            Some(next) => Bound::Excluded(next.start.clone()),
            None => Bound::Unbounded,
        };
        (lo, hi)
    }

    pub fn rows(&self) -> u64 {
        self.chunks.iter().map(|c| c.rows).sum()
    }
}

/// What the store remembers about column segments while it is open.
#[derive(Default)]
pub(super) struct ColumnState {
    /// Tables whose layout is in `meta` (so a commit writing them drops it).
    pub(super) current: HashSet<u32>,
    /// Commits that wrote each table since the store opened.
    pub(super) generation: HashMap<u32, u64>,
    /// When each table was last written (since the store opened).
    pub(super) written_at: HashMap<u32, Instant>,
    /// Tables a build is running for (one at a time per table).
    building: HashSet<u32>,
}

pub(super) fn columns_keyspace(id: u32) -> String {
    format!("c{id}")
}

pub(super) fn layout_key(id: u32) -> Vec<u8> {
    meta_key("cols", &id.to_be_bytes())
}

fn chunk_key(build: u64, column: usize, chunk: u32) -> Vec<u8> {
    let mut k = Vec::with_capacity(14);
    k.extend_from_slice(&build.to_be_bytes());
    k.extend_from_slice(&(column as u16).to_be_bytes());
    k.extend_from_slice(&chunk.to_be_bytes());
    k
}

/// One table as it stood at one moment: its rows and its column segments, read
/// from the same snapshot so they agree.
#[derive(Clone)]
pub struct TableSnapshot {
    entry: TableEntry,
    snapshot: fjall::Snapshot,
    generation: u64,
    layout: Option<ColumnLayout>,
}

impl TableSnapshot {
    /// The table's current column layout, if it has one.
    pub fn layout(&self) -> Option<&ColumnLayout> {
        self.layout.as_ref()
    }

    pub fn table(&self) -> &str {
        &self.entry.schema.name
    }
}

/// A build of column segments in progress; at most one per table.
pub struct ColumnBuild<'s> {
    store: &'s Store,
    snapshot: TableSnapshot,
    build: u64,
    keyspace: fjall::Keyspace,
}

impl ColumnBuild<'_> {
    /// The table as the build reads it.
    pub fn snapshot(&self) -> &TableSnapshot {
        &self.snapshot
    }

    /// The build id the chunks go under (the layout's, when columns are added to it).
    pub fn id(&self) -> u64 {
        self.build
    }

    /// Write one chunk of one column; unseen until `publish`.
    pub fn put_chunk(&self, column: usize, chunk: u32, bytes: &[u8]) -> Result<()> {
        self.keyspace
            .insert(chunk_key(self.build, column, chunk), bytes)
            .map_err(|e| self.store.write_error(e))
    }

    /// Make `layout` the table's, if no commit wrote the table since the build's
    /// snapshot; false (and nothing published) otherwise.
    pub fn publish(self, layout: &ColumnLayout) -> Result<bool> {
        let id = self.snapshot.entry.id;
        {
            let _counts = self.store.counts.lock().expect("counts lock");
            let mut state = self.store.columns.lock().expect("columns lock");
            if state.generation.get(&id).copied().unwrap_or(0) != self.snapshot.generation {
                return Ok(false);
            }
            self.store
                .meta
                .insert(
                    layout_key(id),
                    serde_json::to_vec(layout).expect("layout serializes"),
                )
                .map_err(|e| self.store.write_error(e))?;
            state.current.insert(id);
        }
        // Out of the journal and into the engine's files, so that the next open
        // does not read every chunk again.
        self.store.flush()?;
        Ok(true)
    }
}

impl Drop for ColumnBuild<'_> {
    fn drop(&mut self) {
        if let Ok(mut state) = self.store.columns.lock() {
            state.building.remove(&self.snapshot.entry.id);
        }
    }
}

impl Store {
    /// The table as it stands now, for reads that must agree with each other.
    pub fn snapshot(&self, table: &str) -> Result<TableSnapshot> {
        let entry = self.entry(table)?;
        // Under the counts lock no commit is half done: the generation and the
        // engine's snapshot describe the same state.
        let (snapshot, generation) = {
            let _counts = self.counts.lock().expect("counts lock");
            let state = self.columns.lock().expect("columns lock");
            (
                self.db.snapshot(),
                state.generation.get(&entry.id).copied().unwrap_or(0),
            )
        };
        let layout = match snapshot.get(&self.meta, layout_key(entry.id))? {
            Some(v) => Some(
                serde_json::from_slice(&v)
                    .map_err(|e| self.corrupt(format!("column layout of `{table}`: {e}")))?,
            ),
            None => None,
        };
        Ok(TableSnapshot {
            entry,
            snapshot,
            generation,
            layout,
        })
    }

    /// Stored rows of the snapshot within the bounds, undecoded, in key order.
    pub fn scan_snapshot(
        &self,
        snap: &TableSnapshot,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
    ) -> EncodedRows<'_> {
        EncodedRows::within(self, snap.entry.clone(), Some(&snap.snapshot), from, to)
    }

    /// Keys that cut the snapshot's table into up to `n` ranges (see `key_splits`).
    pub fn snapshot_splits(&self, snap: &TableSnapshot, n: usize) -> Result<Vec<Vec<u8>>> {
        let mut it = snap.snapshot.iter(&snap.entry.rows);
        let (Some(first), Some(last)) = (it.next(), it.next_back()) else {
            return Ok(Vec::new());
        };
        Ok(keys::cut(&first.key()?, &last.key()?, n))
    }

    /// One chunk of one column of the snapshot's layout.
    pub fn column_chunk(
        &self,
        snap: &TableSnapshot,
        column: usize,
        chunk: u32,
    ) -> Result<StoredBytes> {
        let table = snap.table();
        let Some(layout) = &snap.layout else {
            return Err(StoreError::Engine(format!(
                "table `{table}` has no column segments"
            )));
        };
        let name = columns_keyspace(snap.entry.id);
        let missing = || {
            self.corrupt(format!(
                "chunk {chunk} of column {column} of table `{table}` is missing"
            ))
        };
        if !self.db.keyspace_exists(&name) {
            return Err(missing());
        }
        let ks = self.db.keyspace(&name, KeyspaceCreateOptions::default)?;
        match snap
            .snapshot
            .get(&ks, chunk_key(layout.build, column, chunk))?
        {
            Some(v) => Ok(StoredBytes::from(v)),
            None => Err(missing()),
        }
    }

    /// Start building column segments for a table; `None` while another build of
    /// it runs, or when the table was written less than `quiet` ago (a table under
    /// steady writes would lose its segments at once). Chunks of earlier builds
    /// that no layout uses are removed first.
    pub fn begin_columns(&self, table: &str, quiet: Duration) -> Result<Option<ColumnBuild<'_>>> {
        let id = self.entry(table)?.id;
        {
            let mut state = self.columns.lock().expect("columns lock");
            let recent = state
                .written_at
                .get(&id)
                .is_some_and(|t| t.elapsed() < quiet);
            if recent || !state.building.insert(id) {
                return Ok(None);
            }
        }
        let made = self
            .db
            .keyspace(&columns_keyspace(id), || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(16 * 1024 * 1024)
                    .with_kv_separation(Some(KvSeparationOptions::default()))
            })
            .map_err(|e| self.write_error(e))
            .and_then(|ks| Ok((ks, self.snapshot(table)?)));
        let (keyspace, snapshot) = match made {
            Ok(x) => x,
            Err(e) => {
                self.columns
                    .lock()
                    .expect("columns lock")
                    .building
                    .remove(&id);
                return Err(e);
            }
        };
        // From here on, dropping the build ends it.
        let mut build = ColumnBuild {
            store: self,
            snapshot,
            build: 1,
            keyspace,
        };
        let keep = build.snapshot.layout.as_ref().map(|l| l.build);
        let mut batch = self.db.batch();
        let mut highest = 0;
        for kv in build.snapshot.snapshot.iter(&build.keyspace) {
            let k = kv.key()?;
            let b = u64::from_be_bytes(k[..8].try_into().map_err(|_| {
                self.corrupt(format!("a column chunk of `{table}` has a short key"))
            })?);
            highest = highest.max(b);
            if Some(b) != keep {
                batch.remove(&build.keyspace, k);
            }
        }
        batch.commit().map_err(|e| self.write_error(e))?;
        build.build = keep.unwrap_or(highest + 1);
        Ok(Some(build))
    }
}
