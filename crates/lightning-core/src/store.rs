//! The Lightning store: one folder on disk, opened with no server. Rows are kept in
//! an embedded LSM key-value engine (fjall) behind this module's interface; the
//! layout is documented in docs/format.md.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::ops::Bound;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};

use crate::checksum::{row_hash, RangeChecksums, TableChecksum};
use crate::keycode::{decode_rowid, encode_key, encode_rowid};
use crate::rowcodec::{decode_row, encode_row};
use crate::schema::TableSchema;
use crate::value::{Row, Value};

/// Version of the on-disk layout described in docs/format.md. Format 2 counts
/// TIMESTAMP and TIMESTAMPTZ microseconds from 2000-01-01 (format 1: from 1970).
pub const FORMAT_VERSION: u32 = 2;
const MARKER_FILE: &str = "LIGHTNING";

fn version_advice(found: &str) -> &'static str {
    match found.parse::<u32>() {
        Ok(v) if v < FORMAT_VERSION => {
            "it was written by an older version: migrate its source again into a new store"
        }
        _ => "upgrade the tool",
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no Lightning database at {0} (create one with a migration or `lightning execute`)")]
    Missing(PathBuf),
    #[error("{0} is not a Lightning database (it has no {MARKER_FILE} marker file)")]
    NotAStore(PathBuf),
    #[error("{path} uses store format {found}, but this tool reads format {FORMAT_VERSION}; {}", version_advice(.found))]
    Version { path: PathBuf, found: String },
    #[error("{path} is damaged and cannot be read: {detail}")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} is in use by another process")]
    Locked { path: PathBuf },
    #[error("no table `{0}` in this database (`lightning tables` lists them)")]
    UnknownTable(String),
    #[error("table `{0}` already exists with a different schema")]
    TableExists(String),
    #[error("table `{0}` has no primary key: its rows are looked up by one row id, an integer")]
    RowIdExpected(String),
    #[error("table `{table}` has {expected} key columns but {given} key values were given")]
    KeyArity {
        table: String,
        expected: usize,
        given: usize,
    },
    #[error("bad row in table `{table}` ({key}): {reason}")]
    BadRow {
        table: String,
        key: String,
        reason: String,
    },
    #[error("storage error: {0}")]
    Engine(String),
    #[error("invalid schema: {0}")]
    InvalidSchema(String),
    #[error("writing the reject file: {0}")]
    RejectLog(std::io::Error),
}

impl From<fjall::Error> for StoreError {
    fn from(e: fjall::Error) -> Self {
        StoreError::Engine(e.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// Progress of one partition of a migration, committed together with its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub partition: String,
    pub table: String,
    /// Where the reader resumes: opaque to the store, meaningful to the source.
    pub position: Option<String>,
    /// Rows read from the source for this partition so far (rejected ones included).
    pub rows: u64,
    pub done: bool,
}

/// One migration run, kept in the store's history.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RunRecord {
    pub id: u64,
    pub tool: String,
    /// The source, with any credentials removed.
    pub source: String,
    pub started_at: String,
    #[serde(default)]
    pub finished_at: Option<String>,
    /// `running`, `completed`, `failed`.
    pub status: String,
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub rows_rejected: u64,
    #[serde(default)]
    pub tables: BTreeMap<String, TableChecksum>,
    #[serde(default)]
    pub error: Option<String>,
}

/// A row to write: the table, and the row id for tables without a primary key
/// (a deterministic id from the source keeps re-copied rows idempotent).
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub table: Arc<str>,
    pub rowid: Option<i64>,
    pub row: Row,
}

/// What `Store::write_batch` does with a row it refuses.
pub enum BadRows<'a> {
    /// Fail the batch; nothing of it is written.
    Abort,
    /// Hand the refused rows to this function before the batch commits, and go on.
    SetAside(&'a mut dyn FnMut(&[RejectedRow]) -> std::io::Result<()>),
}

/// A row the store refused, with the reason.
#[derive(Debug, Clone)]
pub struct RejectedRow {
    pub table: String,
    pub key: String,
    pub reason: String,
    pub row: Row,
}

#[derive(Debug, Clone)]
struct TableEntry {
    id: u32,
    schema: TableSchema,
    key_positions: Vec<usize>,
    unique_sets: Vec<(String, Vec<usize>)>,
}

/// Keys written by the batch being staged (xxh3: SipHash costs too much here).
type KeySet = HashSet<Vec<u8>, xxhash_rust::xxh3::Xxh3Builder>;

pub struct Store {
    path: PathBuf,
    db: Database,
    meta: Keyspace,
    rows: Keyspace,
    index: Keyspace,
    catalog: RwLock<BTreeMap<String, TableEntry>>,
    counts: Mutex<HashMap<u32, u64>>,
}

fn meta_key(kind: &str, name: &[u8]) -> Vec<u8> {
    let mut k = kind.as_bytes().to_vec();
    k.push(b'/');
    k.extend_from_slice(name);
    k
}

fn table_prefix(id: u32) -> [u8; 4] {
    id.to_be_bytes()
}

fn index_prefix(table: u32, ix: u16) -> Vec<u8> {
    let mut k = table.to_be_bytes().to_vec();
    k.extend_from_slice(&ix.to_be_bytes());
    k
}

fn prefix_end(prefix: &[u8]) -> Vec<u8> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < 0xFF {
            end.push(last + 1);
            return end;
        }
    }
    vec![0xFF; prefix.len() + 1]
}

impl Store {
    /// Open an existing store, or create an empty one (also in an empty folder).
    pub fn create_or_open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        let empty_dir = path.is_dir()
            && std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none());
        if !path.exists() || empty_dir {
            Self::create(path, empty_dir)?;
        }
        Self::open(path)
    }

    /// Build a new store beside its final place and move it there once its format
    /// record is on disk: a crash while creating leaves either no store or a
    /// complete empty one, never a half-made folder that later runs refuse.
    fn create(path: &Path, replace_empty_dir: bool) -> Result<()> {
        let engine = |what: &str, e: std::io::Error| {
            StoreError::Engine(format!("cannot {what} {}: {e}", path.display()))
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| engine("create the folder of", e))?;
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "store".into());
        // Leftovers of creations that were killed.
        let prefix = format!(".{name}.creating-");
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let staging = parent.join(format!("{prefix}{}", std::process::id()));
        std::fs::create_dir_all(&staging).map_err(|e| engine("create", e))?;
        std::fs::write(
            staging.join(MARKER_FILE),
            format!("Lightning store\nformat {FORMAT_VERSION}\n"),
        )
        .map_err(|e| engine("write to", e))?;
        Self::open_with(&staging, true)?.sync()?;
        if replace_empty_dir {
            std::fs::remove_dir(path).map_err(|e| engine("replace the empty folder", e))?;
        }
        std::fs::rename(&staging, path).map_err(|e| engine("create", e))
    }

    /// Open an existing store.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with(path.as_ref(), false)
    }

    fn open_with(path: &Path, create: bool) -> Result<Store> {
        let path = path.to_path_buf();
        if !path.exists() {
            return Err(StoreError::Missing(path));
        }
        let marker = std::fs::read_to_string(path.join(MARKER_FILE))
            .map_err(|_| StoreError::NotAStore(path.clone()))?;
        let version = marker
            .lines()
            .find_map(|l| l.strip_prefix("format "))
            .map(str::trim)
            .unwrap_or("?")
            .to_string();
        if !marker.starts_with("Lightning store") {
            return Err(StoreError::NotAStore(path));
        }
        if version != FORMAT_VERSION.to_string() {
            return Err(StoreError::Version {
                path,
                found: version,
            });
        }
        if !create && !path.join("data").is_dir() {
            return Err(StoreError::Corrupt {
                path,
                detail: "its data folder is missing".into(),
            });
        }
        let corrupt = |e: &dyn std::fmt::Display| StoreError::Corrupt {
            path: path.clone(),
            detail: e.to_string(),
        };
        #[allow(deprecated)]
        let db = Database::builder(path.join("data"))
            .cache_size(8 * 1024 * 1024)
            .max_write_buffer_size(Some(64 * 1024 * 1024))
            .open()
            .map_err(|e| match e {
                fjall::Error::Locked => StoreError::Locked { path: path.clone() },
                other => corrupt(&other),
            })?;
        // Every write looks its key up first (duplicate keys are refused): the
        // filters of every level stay in memory, or each lookup would load a
        // table's whole filter block from disk once the cache is full.
        let memtable = |mb: u64| {
            move || {
                KeyspaceCreateOptions::default()
                    .max_memtable_size(mb * 1024 * 1024)
                    .filter_block_pinning_policy(fjall::config::PinningPolicy::all(true))
            }
        };
        let meta = db.keyspace("meta", memtable(8)).map_err(|e| corrupt(&e))?;
        let rows = db.keyspace("rows", memtable(16)).map_err(|e| corrupt(&e))?;
        let index = db
            .keyspace("index", memtable(16))
            .map_err(|e| corrupt(&e))?;
        let store = Store {
            path: path.clone(),
            db,
            meta,
            rows,
            index,
            catalog: RwLock::new(BTreeMap::new()),
            counts: Mutex::new(HashMap::new()),
        };
        match store.meta.get(b"format").map_err(|e| corrupt(&e))? {
            Some(v) if v.as_ref() != FORMAT_VERSION.to_string().as_bytes() => {
                return Err(StoreError::Version {
                    path,
                    found: String::from_utf8_lossy(&v).into_owned(),
                })
            }
            Some(_) => {}
            None if create => store
                .meta
                .insert(b"format", FORMAT_VERSION.to_string())
                .map_err(|e| corrupt(&e))?,
            None => return Err(corrupt(&"its catalog has no format record")),
        }
        store.load_catalog().map_err(|e| match e {
            StoreError::Engine(d) => StoreError::Corrupt {
                path: path.clone(),
                detail: d,
            },
            other => other,
        })?;
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn load_catalog(&self) -> Result<()> {
        let mut cat = self.catalog.write().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        for kv in self.meta.prefix(b"table/") {
            let (_, v) = kv.into_inner()?;
            let stored: StoredTable = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Engine(format!("catalog entry: {e}")))?;
            let count = self.read_u64(&meta_key("count", &stored.id.to_be_bytes()))?;
            counts.insert(stored.id, count);
            cat.insert(
                stored.schema.name.clone(),
                TableEntry::new(stored.id, stored.schema),
            );
        }
        Ok(())
    }

    fn read_u64(&self, key: &[u8]) -> Result<u64> {
        Ok(match self.meta.get(key)? {
            Some(v) => u64::from_le_bytes(
                v.as_ref()
                    .try_into()
                    .map_err(|_| StoreError::Engine("bad counter".into()))?,
            ),
            None => 0,
        })
    }

    pub fn tables(&self) -> Vec<TableSchema> {
        self.catalog
            .read()
            .expect("catalog lock")
            .values()
            .map(|e| e.schema.clone())
            .collect()
    }

    pub fn table(&self, name: &str) -> Result<TableSchema> {
        self.entry(name).map(|e| e.schema)
    }

    fn entry(&self, name: &str) -> Result<TableEntry> {
        self.catalog
            .read()
            .expect("catalog lock")
            .get(name)
            .cloned()
            .ok_or_else(|| StoreError::UnknownTable(name.to_string()))
    }

    /// Create a table; creating one that exists with the same schema does nothing.
    pub fn create_table(&self, schema: &TableSchema) -> Result<()> {
        schema.validate().map_err(StoreError::InvalidSchema)?;
        let mut cat = self.catalog.write().expect("catalog lock");
        if let Some(existing) = cat.get(&schema.name) {
            if existing.schema == *schema {
                return Ok(());
            }
            return Err(StoreError::TableExists(schema.name.clone()));
        }
        let id = self.read_u64(b"next_table_id")? as u32 + 1;
        let stored = StoredTable {
            id,
            schema: schema.clone(),
        };
        let mut batch = self.db.batch();
        batch.insert(
            &self.meta,
            meta_key("table", schema.name.as_bytes()),
            serde_json::to_vec(&stored).expect("schema serializes"),
        );
        batch.insert(
            &self.meta,
            b"next_table_id".to_vec(),
            (id as u64).to_le_bytes().to_vec(),
        );
        batch.commit()?;
        cat.insert(schema.name.clone(), TableEntry::new(id, schema.clone()));
        self.counts.lock().expect("counts lock").insert(id, 0);
        Ok(())
    }

    /// Drop a table with its rows, indexes and checkpoints.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        let entry = self.entry(name)?;
        // The table leaves the catalog first, with its checkpoints, in one commit:
        // if the deletion of its rows is interrupted, what is left is unreachable
        // (table ids are never reused), never rows under a "done" checkpoint.
        let mut batch = self.db.batch();
        for kv in self.meta.prefix(b"ckpt/") {
            let (k, v) = kv.into_inner()?;
            if let Ok(c) = serde_json::from_slice::<Checkpoint>(&v) {
                if c.table == name {
                    batch.remove(&self.meta, k);
                }
            }
        }
        batch.remove(&self.meta, meta_key("table", name.as_bytes()));
        batch.remove(&self.meta, meta_key("count", &entry.id.to_be_bytes()));
        batch.remove(&self.meta, meta_key("rowid", &entry.id.to_be_bytes()));
        batch.commit()?;
        self.sync()?;
        self.catalog.write().expect("catalog lock").remove(name);
        self.counts.lock().expect("counts lock").remove(&entry.id);
        let prefix = table_prefix(entry.id);
        for ks in [&self.rows, &self.index] {
            let mut batch = self.db.batch();
            for kv in ks.prefix(prefix) {
                batch.remove(ks, kv.key()?);
                if batch.len() >= 10_000 {
                    std::mem::replace(&mut batch, self.db.batch()).commit()?;
                }
            }
            batch.commit()?;
        }
        Ok(())
    }

    pub fn count(&self, table: &str) -> Result<u64> {
        let e = self.entry(table)?;
        Ok(*self
            .counts
            .lock()
            .expect("counts lock")
            .get(&e.id)
            .unwrap_or(&0))
    }

    /// Encode a key for `table` from its primary-key values (a row id for tables
    /// without one).
    pub fn encode_table_key(&self, table: &str, key: &[Value]) -> Result<Vec<u8>> {
        let e = self.entry(table)?;
        e.key_of_values(key)
    }

    pub fn get(&self, table: &str, key: &[Value]) -> Result<Option<Row>> {
        let e = self.entry(table)?;
        let mut k = table_prefix(e.id).to_vec();
        k.extend(e.key_of_values(key)?);
        match self.rows.get(k)? {
            Some(v) => Ok(Some(decode_row(&v).map_err(|err| self.corrupt(err))?)),
            None => Ok(None),
        }
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    /// Rows of a table in key order, each with its encoded key (without the table prefix).
    pub fn scan(&self, table: &str) -> Result<RowIter<'_>> {
        self.scan_range(table, Bound::Unbounded, Bound::Unbounded)
    }

    /// Rows whose encoded key lies within the bounds.
    pub fn scan_range(
        &self,
        table: &str,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
    ) -> Result<RowIter<'_>> {
        let e = self.entry(table)?;
        let prefix = table_prefix(e.id);
        let with_prefix = |k: Vec<u8>| {
            let mut p = prefix.to_vec();
            p.extend(k);
            p
        };
        let lo = match from {
            Bound::Included(k) => Bound::Included(with_prefix(k)),
            Bound::Excluded(k) => Bound::Excluded(with_prefix(k)),
            Bound::Unbounded => Bound::Included(prefix.to_vec()),
        };
        let hi = match to {
            Bound::Included(k) => Bound::Included(with_prefix(k)),
            Bound::Excluded(k) => Bound::Excluded(with_prefix(k)),
            Bound::Unbounded => Bound::Excluded(prefix_end(&prefix)),
        };
        Ok(RowIter {
            inner: self.rows.range::<Vec<u8>, _>((lo, hi)),
            store: self,
        })
    }

    /// Whole-table checksum, computed from the stored rows.
    pub fn checksum(&self, table: &str) -> Result<TableChecksum> {
        let mut sum = TableChecksum::default();
        let mut buf = Vec::new();
        for item in self.scan(table)? {
            let (_, row) = item?;
            sum.add(row_hash(&row, &mut buf));
        }
        Ok(sum)
    }

    /// Split a table into `n` key ranges of about equal row counts and checksum each.
    /// One pass: a range ends every `count / n` rows.
    pub fn range_checksums(&self, table: &str, n: usize) -> Result<RangeChecksums> {
        let per = (self.count(table)? / n.max(1) as u64).max(1);
        let mut rc = RangeChecksums::with_bounds(Vec::new());
        let mut buf = Vec::new();
        for (i, item) in self.scan(table)?.enumerate() {
            let (key, row) = item?;
            if i > 0 && (i as u64).is_multiple_of(per) && rc.bounds.len() + 1 < n {
                rc.bounds.push(key);
                rc.ranges.push(TableChecksum::default());
            }
            let last = rc.ranges.len() - 1;
            rc.ranges[last].add(row_hash(&row, &mut buf));
        }
        Ok(rc)
    }

    /// Keys that cut the rows within the bounds (about `rows` of them) into `n`
    /// ranges of about equal size.
    pub fn split_points(
        &self,
        table: &str,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        rows: u64,
        n: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let per = (rows / n.max(1) as u64).max(1);
        let mut bounds = Vec::new();
        for (i, item) in self.scan_range(table, from, to)?.enumerate() {
            if bounds.len() + 1 >= n {
                break;
            }
            let (key, _) = item?;
            if i > 0 && (i as u64).is_multiple_of(per) {
                bounds.push(key);
            }
        }
        Ok(bounds)
    }

    /// Checksum the rows within [from, to) into ranges split at `bounds`.
    pub fn checksums_for_bounds(
        &self,
        table: &str,
        bounds: Vec<Vec<u8>>,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
    ) -> Result<RangeChecksums> {
        let mut rc = RangeChecksums::with_bounds(bounds);
        let mut buf = Vec::new();
        for item in self.scan_range(table, from, to)? {
            let (key, row) = item?;
            rc.add(&key, row_hash(&row, &mut buf));
        }
        Ok(rc)
    }

    /// Write a batch of rows and the checkpoint that covers them in one atomic commit.
    ///
    /// Each row is checked against its table's schema, primary key and unique
    /// indexes. With `BadRows::SetAside` the bad rows are handed over before the
    /// commit (so a crash cannot lose them while their checkpoint survives), the
    /// rest is committed, and they are returned; with `BadRows::Abort` the first
    /// bad row fails the whole batch and nothing of it is written.
    pub fn write_batch(
        &self,
        rows: Vec<BatchRow>,
        checkpoints: &[Checkpoint],
        bad_rows: BadRows<'_>,
    ) -> Result<Vec<RejectedRow>> {
        let cat = self.catalog.read().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        let mut batch = self.db.batch();
        let mut rejected = Vec::new();
        let mut added: HashMap<u32, u64> = HashMap::new();
        let mut next_rowids: HashMap<u32, i64> = HashMap::new();
        let mut seen_keys = KeySet::with_capacity_and_hasher(rows.len() * 2, Default::default());
        let mut buf = Vec::with_capacity(512);
        for BatchRow { table, rowid, row } in rows {
            let Some(e) = cat.get(&*table) else {
                return Err(StoreError::UnknownTable(table.to_string()));
            };
            let verdict = self.stage_row(
                e,
                rowid,
                &row,
                &mut batch,
                &mut seen_keys,
                &mut next_rowids,
                &mut buf,
            );
            match verdict {
                Ok(()) => *added.entry(e.id).or_default() += 1,
                Err(reason) => {
                    let key = e.schema.describe_key(rowid, &row);
                    if matches!(bad_rows, BadRows::Abort) {
                        return Err(StoreError::BadRow {
                            table: table.to_string(),
                            key,
                            reason,
                        });
                    }
                    rejected.push(RejectedRow {
                        table: table.to_string(),
                        key,
                        reason,
                        row,
                    });
                }
            }
        }
        for (id, n) in &added {
            let total = counts.get(id).copied().unwrap_or(0) + n;
            batch.insert(
                &self.meta,
                meta_key("count", &id.to_be_bytes()),
                total.to_le_bytes().to_vec(),
            );
        }
        for (id, next) in &next_rowids {
            batch.insert(
                &self.meta,
                meta_key("rowid", &id.to_be_bytes()),
                next.to_le_bytes().to_vec(),
            );
        }
        for c in checkpoints {
            batch.insert(
                &self.meta,
                meta_key("ckpt", c.partition.as_bytes()),
                serde_json::to_vec(c).expect("checkpoint serializes"),
            );
        }
        if let (BadRows::SetAside(keep), false) = (bad_rows, rejected.is_empty()) {
            keep(&rejected).map_err(StoreError::RejectLog)?;
        }
        batch.commit()?;
        for (id, n) in added {
            *counts.entry(id).or_default() += n;
        }
        Ok(rejected)
    }

    #[allow(clippy::too_many_arguments)]
    fn stage_row(
        &self,
        e: &TableEntry,
        rowid: Option<i64>,
        row: &Row,
        batch: &mut fjall::OwnedWriteBatch,
        seen_keys: &mut KeySet,
        next_rowids: &mut HashMap<u32, i64>,
        buf: &mut Vec<u8>,
    ) -> Result<(), String> {
        e.schema.check_row(row)?;
        let mut key = table_prefix(e.id).to_vec();
        if e.key_positions.is_empty() {
            let next = match next_rowids.get(&e.id) {
                Some(n) => *n,
                None => self
                    .read_u64(&meta_key("rowid", &e.id.to_be_bytes()))
                    .map_err(|x| x.to_string())? as i64,
            };
            // Ids the source gives are kept; the counter stays above all of them.
            let id = rowid.unwrap_or(next);
            next_rowids.insert(e.id, next.max(id.saturating_add(1)));
            key.extend(encode_rowid(id));
        } else {
            key.extend(encode_key(e.key_positions.iter().map(|&p| &row[p])));
        }
        let exists =
            seen_keys.contains(&key) || self.rows.contains_key(&key).map_err(|x| x.to_string())?;
        if exists {
            return Err(if e.key_positions.is_empty() {
                format!(
                    "row id {} is already in the table",
                    decode_rowid(&key[4..]).unwrap_or_default()
                )
            } else {
                format!(
                    "duplicate primary key ({})",
                    e.schema.describe_key(None, row)
                )
            });
        }
        let mut index_entries = Vec::new();
        for (ix_no, (name, cols)) in e.unique_sets.iter().enumerate() {
            if cols.iter().any(|&c| row[c].is_null()) {
                continue; // NULLs never collide
            }
            let mut ik = index_prefix(e.id, ix_no as u16);
            ik.extend(encode_key(cols.iter().map(|&c| &row[c])));
            if seen_keys.contains(&ik) || self.index.contains_key(&ik).map_err(|x| x.to_string())? {
                return Err(format!("duplicate value for unique index `{name}`"));
            }
            index_entries.push(ik);
        }
        let pk = key[4..].to_vec();
        let base = e.unique_sets.len();
        for (n, ix) in e.schema.indexes.iter().filter(|ix| !ix.unique).enumerate() {
            let mut ik = index_prefix(e.id, (base + n) as u16);
            ik.extend(encode_key(
                ix.columns
                    .iter()
                    .filter_map(|c| e.schema.column_index(c))
                    .map(|p| &row[p]),
            ));
            ik.extend_from_slice(&pk);
            batch.insert(&self.index, ik, Vec::new());
        }
        for ik in index_entries {
            batch.insert(&self.index, ik.as_slice(), pk.as_slice());
            seen_keys.insert(ik);
        }
        buf.clear();
        encode_row(row, buf);
        batch.insert(&self.rows, key.as_slice(), buf.as_slice());
        seen_keys.insert(key);
        Ok(())
    }

    /// Rows whose unique index holds `values`, or whose secondary index matches.
    pub fn index_lookup(&self, table: &str, index: &str, values: &[Value]) -> Result<Vec<Row>> {
        let e = self.entry(table)?;
        let uniques = e.unique_sets.iter().position(|(n, _)| n == index);
        let (ix_no, unique) = match uniques {
            Some(i) => (i, true),
            None => {
                let pos = e
                    .schema
                    .indexes
                    .iter()
                    .filter(|ix| !ix.unique)
                    .position(|ix| ix.name == index)
                    .ok_or_else(|| StoreError::UnknownTable(format!("{table}.{index}")))?;
                (e.unique_sets.len() + pos, false)
            }
        };
        let mut prefix = index_prefix(e.id, ix_no as u16);
        prefix.extend(encode_key(values));
        let mut out = Vec::new();
        let pks: Vec<Vec<u8>> = if unique {
            self.index
                .get(&prefix)?
                .map(|v| vec![v.to_vec()])
                .unwrap_or_default()
        } else {
            let mut v = Vec::new();
            for kv in self.index.prefix(&prefix) {
                let k = kv.key()?;
                v.push(k[prefix.len()..].to_vec());
            }
            v
        };
        for pk in pks {
            let mut k = table_prefix(e.id).to_vec();
            k.extend(pk);
            if let Some(v) = self.rows.get(k)? {
                out.push(decode_row(&v).map_err(|err| self.corrupt(err))?);
            }
        }
        Ok(out)
    }

    pub fn checkpoint(&self, partition: &str) -> Result<Option<Checkpoint>> {
        Ok(
            match self.meta.get(meta_key("ckpt", partition.as_bytes()))? {
                Some(v) => Some(serde_json::from_slice(&v).map_err(|e| self.corrupt(e))?),
                None => None,
            },
        )
    }

    pub fn checkpoints(&self) -> Result<Vec<Checkpoint>> {
        let mut out = Vec::new();
        for kv in self.meta.prefix(b"ckpt/") {
            let (_, v) = kv.into_inner()?;
            out.push(serde_json::from_slice(&v).map_err(|e| self.corrupt(e))?);
        }
        Ok(out)
    }

    /// Start a run record and return its id.
    pub fn start_run(&self, tool: &str, source: &str) -> Result<u64> {
        let id = self.read_u64(b"next_run_id")? + 1;
        let rec = RunRecord {
            id,
            tool: tool.into(),
            source: source.into(),
            started_at: now_rfc3339(),
            finished_at: None,
            status: "running".into(),
            rows_written: 0,
            rows_rejected: 0,
            tables: BTreeMap::new(),
            error: None,
        };
        let mut batch = self.db.batch();
        batch.insert(
            &self.meta,
            b"next_run_id".to_vec(),
            id.to_le_bytes().to_vec(),
        );
        batch.insert(
            &self.meta,
            meta_key("run", &id.to_be_bytes()),
            serde_json::to_vec(&rec).expect("run serializes"),
        );
        batch.commit()?;
        self.sync()?;
        Ok(id)
    }

    pub fn update_run(&self, rec: &RunRecord) -> Result<()> {
        self.meta.insert(
            meta_key("run", &rec.id.to_be_bytes()),
            serde_json::to_vec(rec).expect("run serializes"),
        )?;
        self.sync()
    }

    /// One run record by id.
    pub fn run(&self, id: u64) -> Result<RunRecord> {
        match self.meta.get(meta_key("run", &id.to_be_bytes()))? {
            Some(v) => serde_json::from_slice(&v).map_err(|e| self.corrupt(e)),
            None => Err(self.corrupt(format!("run {id} has no record"))),
        }
    }

    pub fn runs(&self) -> Result<Vec<RunRecord>> {
        let mut out = Vec::new();
        for kv in self.meta.prefix(b"run/") {
            let (_, v) = kv.into_inner()?;
            out.push(serde_json::from_slice(&v).map_err(|e| self.corrupt(e))?);
        }
        Ok(out)
    }

    /// Write the in-memory tables out and sync, so that the next open does not
    /// have to replay the journal (seconds for a large load). Called at the end of
    /// a migration or an import.
    pub fn flush(&self) -> Result<()> {
        for ks in [&self.rows, &self.index, &self.meta] {
            ks.rotate_memtable_and_wait()?;
        }
        self.sync()
    }

    /// Make everything committed so far durable.
    pub fn sync(&self) -> Result<()> {
        self.db.persist(PersistMode::SyncAll)?;
        Ok(())
    }

    /// Bytes on disk.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}

#[derive(Serialize, Deserialize)]
struct StoredTable {
    id: u32,
    schema: TableSchema,
}

impl TableEntry {
    fn new(id: u32, schema: TableSchema) -> Self {
        TableEntry {
            id,
            key_positions: schema.key_positions(),
            unique_sets: schema.unique_sets(),
            schema,
        }
    }

    fn key_of_values(&self, key: &[Value]) -> Result<Vec<u8>> {
        if self.key_positions.is_empty() {
            return match key {
                [Value::Int(id)] => Ok(encode_rowid(*id)),
                _ => Err(StoreError::RowIdExpected(self.schema.name.clone())),
            };
        }
        if key.len() != self.key_positions.len() {
            return Err(StoreError::KeyArity {
                table: self.schema.name.clone(),
                expected: self.key_positions.len(),
                given: key.len(),
            });
        }
        Ok(encode_key(key))
    }
}

pub struct RowIter<'a> {
    inner: fjall::Iter,
    store: &'a Store,
}

impl Iterator for RowIter<'_> {
    type Item = Result<(Vec<u8>, Row)>;

    fn next(&mut self) -> Option<Self::Item> {
        let kv = self.inner.next()?;
        Some((|| {
            let (k, v) = kv.into_inner().map_err(|e| self.store.corrupt(e))?;
            let row = decode_row(&v).map_err(|e| self.store.corrupt(e))?;
            Ok((k[4..].to_vec(), row))
        })())
    }
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::{ColumnSchema, IndexKind, IndexSchema};
    use crate::types::LightningType;

    fn users() -> TableSchema {
        let mut t = TableSchema::new("users");
        let mut id = ColumnSchema::new("id", LightningType::BigInt);
        id.nullable = false;
        t.columns = vec![id, ColumnSchema::new("email", LightningType::Text)];
        t.primary_key = vec!["id".into()];
        t.indexes.push(IndexSchema {
            name: "users_email".into(),
            columns: vec!["email".into()],
            unique: true,
            kind: IndexKind::BTree,
        });
        t
    }

    fn row(id: i64, email: &str) -> BatchRow {
        BatchRow {
            table: Arc::from("users"),
            rowid: None,
            row: vec![Value::Int(id), Value::Text(email.into())],
        }
    }

    #[test]
    fn stores_of_other_formats_are_refused_with_advice() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.ldb");
        drop(Store::create_or_open(&path).unwrap());
        let marker = path.join(MARKER_FILE);
        for (found, advice) in [("1", "older version"), ("99", "upgrade the tool")] {
            std::fs::write(&marker, format!("Lightning store\nformat {found}\n")).unwrap();
            let err = Store::open(&path).err().expect("refused").to_string();
            assert!(
                err.contains(&format!(
                    "uses store format {found}, but this tool reads format 2"
                )) && err.contains(advice),
                "{err}"
            );
        }
    }

    #[test]
    fn writes_scans_and_enforces_keys() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.ldb");
        {
            let s = Store::create_or_open(&path).unwrap();
            s.create_table(&users()).unwrap();
            let ck = Checkpoint {
                partition: "users".into(),
                table: "users".into(),
                position: Some("2".into()),
                rows: 2,
                done: false,
            };
            s.write_batch(
                vec![row(2, "b"), row(-1, "a")],
                std::slice::from_ref(&ck),
                BadRows::Abort,
            )
            .unwrap();
            assert_eq!(s.count("users").unwrap(), 2);
            let keys: Vec<i64> = s
                .scan("users")
                .unwrap()
                .map(|r| match r.unwrap().1[0] {
                    Value::Int(i) => i,
                    _ => 0,
                })
                .collect();
            assert_eq!(keys, vec![-1, 2]);
            let err = s
                .write_batch(vec![row(3, "c"), row(2, "x")], &[], BadRows::Abort)
                .unwrap_err();
            assert!(
                err.to_string().contains("duplicate primary key (id=2)"),
                "{err}"
            );
            assert_eq!(
                s.count("users").unwrap(),
                2,
                "a failed batch writes nothing"
            );
            let rej = s
                .write_batch(
                    vec![row(3, "c"), row(4, "a")],
                    &[],
                    BadRows::SetAside(&mut |_| Ok(())),
                )
                .unwrap();
            assert_eq!(rej.len(), 1);
            assert!(rej[0].reason.contains("unique index `users_email`"));
            assert_eq!(s.count("users").unwrap(), 3);
            assert_eq!(s.checkpoint("users").unwrap(), Some(ck));
            assert_eq!(
                s.index_lookup("users", "users_email", &[Value::Text("c".into())])
                    .unwrap()
                    .len(),
                1
            );
            s.sync().unwrap();
        }
        let s = Store::open(&path).unwrap();
        assert_eq!(s.count("users").unwrap(), 3);
        assert_eq!(
            s.get("users", &[Value::Int(3)]).unwrap().unwrap()[1],
            Value::Text("c".into())
        );
        assert!(matches!(s.count("nope"), Err(StoreError::UnknownTable(_))));
        s.drop_table("users").unwrap();
        assert!(s.tables().is_empty());
    }

    #[test]
    fn refuses_what_is_not_a_store() {
        let dir = tempfile::tempdir().unwrap();
        assert!(matches!(
            Store::open(dir.path().join("none")),
            Err(StoreError::Missing(_))
        ));
        assert!(matches!(
            Store::open(dir.path()),
            Err(StoreError::NotAStore(_))
        ));
    }
}
