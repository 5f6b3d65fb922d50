//! The Lightning store: one folder on disk, opened with no server. Rows are kept in
//! an embedded LSM key-value engine (fjall) behind this module's interface; the
//! layout is documented in docs/format.md.
//!
//! Each table has keyspaces of its own (`r<id>` for rows, `i<id>` for index
//! entries), so that dropping a table drops its files whole, and a table whose
//! files are gone is noticed when the store opens. The `meta` keyspace holds the
//! catalog, row counts, checkpoints, run records and repair marks; `log` the keys
//! SQL writes changed.

mod bulk;
mod check;
mod columns;
mod keys;
mod log;
mod read;
mod write;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock, RwLock};

use fjall::{Database, Keyspace, KeyspaceCreateOptions, PersistMode};
use serde::{Deserialize, Serialize};

use crate::checksum::TableChecksum;
use crate::keycode::{encode_key, encode_rowid};
use crate::schema::TableSchema;
use crate::value::{Row, Value};

pub use check::{CheckReport, TableCheck};
pub use columns::{ColumnBuild, ColumnChunk, ColumnLayout, TableSnapshot};
pub use keys::LONG_KEY;
pub use log::LoggedChange;
pub use read::{EncodedRows, RowIter, StoredBytes};
pub use write::{RepairCounts, SyncState, TableChange, WriteMode};

/// The engine's write buffer: the journal holds up to this much beside the table
/// files until it is flushed.
pub const WRITE_BUFFER_BYTES: u64 = 64 * 1024 * 1024;

/// Version of the on-disk layout described in docs/format.md.
pub const FORMAT_VERSION: u32 = 5;
/// Earlier layouts a writable open upgrades in place: format 3 added the change
/// log, format 4 column segments (both start empty), format 5 the record of a bulk
/// load under way (none).
const UPGRADES_FROM: [u32; 3] = [2, 3, 4];
const MARKER_FILE: &str = "LIGHTNING";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("no Lightning database at {0} (create one with a migration or `lightning execute`)")]
    Missing(PathBuf),
    #[error("{0} is not a Lightning database (it has no {MARKER_FILE} marker file)")]
    NotAStore(PathBuf),
    #[error(
        "{path} uses store format {found}, but this tool reads format {FORMAT_VERSION}; {hint}"
    )]
    Version {
        path: PathBuf,
        found: String,
        hint: &'static str,
    },
    #[error("{path} is damaged and cannot be read: {detail}. `lightning check {path}` lists what is wrong; migrate again into a new target to rebuild it")]
    Corrupt { path: PathBuf, detail: String },
    #[error("{path} is in use by another process (a migration or a `lightning` command); wait for it to end")]
    Locked { path: PathBuf },
    #[error("{path} cannot be written ({detail}); read-only commands (count, scan, export, check) still work on it")]
    ReadOnly { path: PathBuf, detail: String },
    #[error("no space left on device while writing {path}; free some space, then run the same command again (what was committed is kept)")]
    NoSpace { path: PathBuf },
    #[error("writing {path} failed ({detail}); is the disk full or failing? The store keeps what was committed before: run the same command again once the cause is fixed")]
    WriteFailed { path: PathBuf, detail: String },
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
        StoreError::Engine(describe_engine_error(&e))
    }
}

fn describe_engine_error(e: &fjall::Error) -> String {
    match e {
        fjall::Error::Io(io) => io.to_string(),
        fjall::Error::Storage(s) => format!("{s:?}"),
        other => format!("{other:?}"),
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

impl Checkpoint {
    /// The position as `N` numbers joined by `:` (`OFFSET:LINE:ROW`), as the
    /// file sources write it; `None` for no position or another shape.
    pub fn position_numbers<const N: usize>(&self) -> Option<[u64; N]> {
        let mut out = [0; N];
        let mut parts = self.position.as_deref()?.split(':');
        for slot in &mut out {
            *slot = parts.next()?.parse().ok()?;
        }
        parts.next().is_none().then_some(out)
    }
}

/// One partition of a table's planned copy (see `Store::plan`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlannedPartition {
    pub id: String,
    pub spec: String,
    pub estimated_rows: u64,
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
    /// `running`, `completed`, `failed`, `interrupted`.
    pub status: String,
    #[serde(default)]
    pub rows_written: u64,
    #[serde(default)]
    pub rows_rejected: u64,
    #[serde(default)]
    pub tables: BTreeMap<String, TableChecksum>,
    #[serde(default)]
    pub error: Option<String>,
    /// What the source's content was (a dump's hash); none for a live database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content_id: Option<String>,
    /// Rows changed by the repair of tables resumed in a later state of the source.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub repaired: BTreeMap<String, RepairCounts>,
}

/// A row to write: the table, and the row id for tables without a primary key
/// (a deterministic id from the source keeps re-copied rows idempotent).
#[derive(Debug, Clone)]
pub struct BatchRow {
    pub table: std::sync::Arc<str>,
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

#[derive(Clone)]
struct TableEntry {
    id: u32,
    schema: TableSchema,
    key_positions: Vec<usize>,
    unique_sets: Vec<(String, Vec<usize>)>,
    rows: Keyspace,
    /// Unique and secondary index entries; none for a table without indexes.
    index: Option<Keyspace>,
}

pub struct Store {
    path: PathBuf,
    db: Database,
    meta: Keyspace,
    catalog: RwLock<BTreeMap<String, TableEntry>>,
    counts: Mutex<HashMap<u32, u64>>,
    /// Locked after `counts` when both are.
    columns: Mutex<columns::ColumnState>,
    /// A private copy read instead of a store that cannot be written.
    _scratch: Option<tempfile::TempDir>,
    /// What a lenient open (for `check`) found wrong with the catalog.
    damage: Vec<String>,
    /// The change log's keyspace, once it exists.
    log: OnceLock<Keyspace>,
    clock: Mutex<log::Clock>,
    /// Tables a bulk batch of which came far out of key order (by id): a copy's
    /// later batches will fall among their keys and go through the journal.
    scattered: Mutex<HashSet<u32>>,
}

fn meta_key(kind: &str, name: &[u8]) -> Vec<u8> {
    let mut k = kind.as_bytes().to_vec();
    k.push(b'/');
    k.extend_from_slice(name);
    k
}

fn rows_keyspace(id: u32) -> String {
    format!("r{id}")
}

fn index_keyspace(id: u32) -> String {
    format!("i{id}")
}

fn needs_index(schema: &TableSchema) -> bool {
    !schema.indexes.is_empty() || !schema.uniques.is_empty()
}

fn keyspace_options(mb: u64) -> impl FnOnce() -> KeyspaceCreateOptions {
    // Every write looks its key up first (duplicate keys are refused): the filters
    // of every level stay in memory, or each lookup would load a table's whole
    // filter block from disk once the cache is full.
    move || {
        KeyspaceCreateOptions::default()
            .max_memtable_size(mb * 1024 * 1024)
            .filter_block_pinning_policy(fjall::config::PinningPolicy::all(true))
    }
}

/// Whether an I/O error means the files cannot be written (not that they are bad).
fn is_read_only(e: &std::io::Error) -> bool {
    matches!(
        e.kind(),
        std::io::ErrorKind::PermissionDenied | std::io::ErrorKind::ReadOnlyFilesystem
    )
}

fn is_no_space(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::StorageFull || e.raw_os_error() == Some(28)
}

/// The I/O error under a fjall error, if there is one.
fn io_cause(e: &fjall::Error) -> Option<&std::io::Error> {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
    while let Some(err) = cur {
        if let Some(io) = err.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cur = err.source();
    }
    None
}

impl Store {
    /// Open an existing store, or create an empty one (also in an empty folder).
    pub fn create_or_open(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        if !path.exists() || is_empty_dir(path) {
            Self::create(path)?;
        }
        Self::open(path)
    }

    /// Build a new store beside its final place and move it there once its format
    /// record is on disk: a crash while creating leaves either no store or a
    /// complete empty one. Creators in one folder take turns (a lock on the
    /// folder), so two runs started at once make one store, never a broken one.
    fn create(path: &Path) -> Result<()> {
        let io = |what: &str, e: std::io::Error| {
            if is_no_space(&e) {
                StoreError::NoSpace {
                    path: path.to_path_buf(),
                }
            } else {
                StoreError::Engine(format!("cannot {what} {}: {e}", path.display()))
            }
        };
        let parent = match path.parent() {
            Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
            _ => PathBuf::from("."),
        };
        std::fs::create_dir_all(&parent).map_err(|e| io("create the folder of", e))?;
        let folder = std::fs::File::open(&parent).map_err(|e| io("open the folder of", e))?;
        folder.lock().map_err(|e| io("lock the folder of", e))?;
        if path.exists() && !is_empty_dir(path) {
            return Ok(()); // another run made it while this one waited
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "store".into());
        // Leftovers of creations that were killed (no creator runs but us).
        let prefix = format!(".{name}.creating-");
        if let Ok(entries) = std::fs::read_dir(&parent) {
            for e in entries.flatten() {
                if e.file_name().to_string_lossy().starts_with(&prefix) {
                    let _ = std::fs::remove_dir_all(e.path());
                }
            }
        }
        let staging = parent.join(format!("{prefix}{}", std::process::id()));
        let mut builder = std::fs::DirBuilder::new();
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder.create(&staging).map_err(|e| io("create", e))?;
        let made = (|| {
            std::fs::write(
                staging.join(MARKER_FILE),
                format!("Lightning store\nformat {FORMAT_VERSION}\n"),
            )
            .map_err(|e| io("write to", e))?;
            Self::open_with(&staging, true)?.sync()?;
            if path.exists() {
                std::fs::remove_dir(path).map_err(|e| io("replace the empty folder", e))?;
            }
            std::fs::rename(&staging, path).map_err(|e| io("create", e))
        })();
        if made.is_err() {
            let _ = std::fs::remove_dir_all(&staging);
        }
        made
    }

    /// Open an existing store.
    pub fn open(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_with(path.as_ref(), false)
    }

    /// Open a store to check it: tables whose files are missing are left out of
    /// the catalog and reported by `check` instead of refusing the store.
    pub fn open_to_check(path: impl AsRef<Path>) -> Result<Store> {
        Self::open_inner(path.as_ref(), false, true)
    }

    /// Open a store to read it: a store that cannot be written (a read-only
    /// folder or file system) is read through a private copy.
    pub fn open_to_read(path: impl AsRef<Path>) -> Result<Store> {
        let path = path.as_ref();
        match Self::open(path) {
            Err(StoreError::ReadOnly { .. }) => {
                let scratch = tempfile::tempdir()
                    .map_err(|e| StoreError::Engine(format!("cannot make a copy to read: {e}")))?;
                let copy = scratch.path().join("store");
                copy_dir(path, &copy).map_err(|e| {
                    StoreError::Engine(format!(
                        "{} cannot be written, and copying it to read it failed: {e}",
                        path.display()
                    ))
                })?;
                tracing::info!(
                    "{} cannot be written: reading a private copy of it",
                    path.display()
                );
                let mut store = Self::open_with(&copy, false)?;
                store.path = path.to_path_buf();
                store._scratch = Some(scratch);
                Ok(store)
            }
            other => other,
        }
    }

    fn open_with(path: &Path, create: bool) -> Result<Store> {
        Self::open_inner(path, create, false)
    }

    fn open_inner(path: &Path, create: bool, lenient: bool) -> Result<Store> {
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
        let readable = |v: &str| {
            v == FORMAT_VERSION.to_string() || UPGRADES_FROM.iter().any(|u| v == u.to_string())
        };
        if !readable(&version) {
            return Err(version_error(path, version));
        }
        if !create && !path.join("data").is_dir() {
            return Err(StoreError::Corrupt {
                path,
                detail: "its data folder is missing".into(),
            });
        }
        let fail = |e: fjall::Error| match (&e, io_cause(&e)) {
            (fjall::Error::Locked, _) => StoreError::Locked { path: path.clone() },
            (_, Some(io)) if is_read_only(io) => StoreError::ReadOnly {
                path: path.clone(),
                detail: io.to_string(),
            },
            (_, Some(io)) if is_no_space(io) => StoreError::NoSpace { path: path.clone() },
            _ => StoreError::Corrupt {
                path: path.clone(),
                detail: describe_engine_error(&e),
            },
        };
        #[allow(deprecated)]
        let db = Database::builder(path.join("data"))
            .cache_size(8 * 1024 * 1024)
            .max_write_buffer_size(Some(WRITE_BUFFER_BYTES))
            .open()
            .map_err(fail)?;
        if !create && !db.keyspace_exists("meta") {
            return Err(StoreError::Corrupt {
                path,
                detail: "its catalog is missing".into(),
            });
        }
        let meta = db.keyspace("meta", keyspace_options(8)).map_err(fail)?;
        let store = Store {
            path: path.clone(),
            db,
            meta,
            catalog: RwLock::new(BTreeMap::new()),
            counts: Mutex::new(HashMap::new()),
            columns: Mutex::new(columns::ColumnState::default()),
            _scratch: None,
            damage: Vec::new(),
            log: OnceLock::new(),
            clock: log::clock(),
            scattered: Mutex::new(HashSet::new()),
        };
        let corrupt = |detail: String| StoreError::Corrupt {
            path: path.clone(),
            detail,
        };
        match store.meta.get(b"format").map_err(fail)? {
            Some(v) if !readable(&String::from_utf8_lossy(&v)) => {
                return Err(version_error(
                    path,
                    String::from_utf8_lossy(&v).into_owned(),
                ))
            }
            Some(v) if v.as_ref() != FORMAT_VERSION.to_string().as_bytes() && !lenient => {
                store.upgrade().map_err(fail)?;
            }
            Some(_) if version != FORMAT_VERSION.to_string() && !lenient => {
                store.upgrade().map_err(fail)?;
            }
            Some(_) => {}
            None if create => store
                .meta
                .insert(b"format", FORMAT_VERSION.to_string())
                .map_err(fail)?,
            None => return Err(corrupt("its catalog has no format record".into())),
        }
        let mut store = store;
        store.load_catalog(lenient).map_err(|e| match e {
            StoreError::Engine(d) => corrupt(d),
            other => other,
        })?;
        if !create && !lenient {
            match store.drop_orphans().and_then(|()| store.undo_ingestion()) {
                Err(StoreError::ReadOnly { .. }) => {}
                other => other?,
            }
            // The engine's lock is ours: a run still marked as running died.
            store.settle_runs()?;
        }
        Ok(store)
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// An error of the engine while writing, said as what it means for the user.
    fn write_error(&self, e: fjall::Error) -> StoreError {
        match (&e, io_cause(&e)) {
            (_, Some(io)) if is_no_space(io) => StoreError::NoSpace {
                path: self.path.clone(),
            },
            (_, Some(io)) if is_read_only(io) => StoreError::ReadOnly {
                path: self.path.clone(),
                detail: io.to_string(),
            },
            // The engine's own error may come from a background thread, and the
            // foreground only learns that an earlier write failed: a full disk
            // is the usual cause, so look for it.
            _ if self.out_of_space() => StoreError::NoSpace {
                path: self.path.clone(),
            },
            (fjall::Error::Poisoned, _) => StoreError::WriteFailed {
                path: self.path.clone(),
                detail: "an earlier write of the storage engine failed".into(),
            },
            _ => StoreError::WriteFailed {
                path: self.path.clone(),
                detail: describe_engine_error(&e),
            },
        }
    }

    /// Whether the store's file system has no room for a megabyte.
    fn out_of_space(&self) -> bool {
        use std::io::Write;
        let probe = self.path.join(".space-probe");
        let outcome = std::fs::File::create(&probe)
            .and_then(|mut f| f.write_all(&[0u8; 1 << 20]).and_then(|()| f.sync_all()));
        let _ = std::fs::remove_file(&probe);
        matches!(outcome, Err(e) if is_no_space(&e))
    }

    fn corrupt(&self, e: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt {
            path: self.path.clone(),
            detail: e.to_string(),
        }
    }

    fn load_catalog(&mut self, lenient: bool) -> Result<()> {
        let mut damage = Vec::new();
        let mut cat = self.catalog.write().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        for kv in self.meta.prefix(b"table/") {
            let (_, v) = kv.into_inner()?;
            let stored: StoredTable = serde_json::from_slice(&v)
                .map_err(|e| StoreError::Engine(format!("catalog entry: {e}")))?;
            let name = stored.schema.name.clone();
            let count = self.read_u64(&meta_key("count", &stored.id.to_be_bytes()))?;
            let missing = |what: &str| {
                self.corrupt(format!(
                    "the {what} of table `{}` are missing from its data folder",
                    crate::text::for_terminal(&name)
                ))
            };
            let mut problem = None;
            if !self.db.keyspace_exists(&rows_keyspace(stored.id)) {
                problem = Some(missing("rows"));
            } else if needs_index(&stored.schema)
                && count > 0
                && !self.db.keyspace_exists(&index_keyspace(stored.id))
            {
                problem = Some(missing("index entries"));
            }
            let rows = match problem {
                None => {
                    let rows = self
                        .db
                        .keyspace(&rows_keyspace(stored.id), keyspace_options(16))?;
                    if count > 0 && rows.first_key_value().is_none() {
                        problem = Some(self.corrupt(format!(
                            "table `{}` should hold {count} rows but its rows are gone",
                            crate::text::for_terminal(&name)
                        )));
                    }
                    Some(rows)
                }
                Some(_) => None,
            };
            if let Some(p) = problem {
                if !lenient {
                    return Err(p);
                }
                damage.push(match p {
                    StoreError::Corrupt { detail, .. } => detail,
                    other => other.to_string(),
                });
                continue;
            }
            let rows = rows.expect("rows keyspace");
            let index = if needs_index(&stored.schema) {
                Some(
                    self.db
                        .keyspace(&index_keyspace(stored.id), keyspace_options(16))?,
                )
            } else {
                None
            };
            counts.insert(stored.id, count);
            if self.meta.contains_key(columns::layout_key(stored.id))? {
                self.columns
                    .lock()
                    .expect("columns lock")
                    .current
                    .insert(stored.id);
            }
            cat.insert(name, TableEntry::new(stored.id, stored.schema, rows, index));
        }
        drop((cat, counts));
        self.damage = damage;
        Ok(())
    }

    /// Remove the files of tables dropped by a process that died before it
    /// removed them (the drop recorded their ids with the catalog change).
    fn drop_orphans(&self) -> Result<()> {
        let mut ids = Vec::new();
        for kv in self.meta.prefix(b"dropped/") {
            let k = kv.key()?;
            if let Ok(id) = <[u8; 4]>::try_from(&k[b"dropped/".len()..]) {
                ids.push(u32::from_be_bytes(id));
            }
        }
        for id in ids {
            for name in [
                rows_keyspace(id),
                index_keyspace(id),
                columns::columns_keyspace(id),
            ] {
                if self.db.keyspace_exists(&name) {
                    let ks = self.db.keyspace(&name, KeyspaceCreateOptions::default)?;
                    self.db
                        .delete_keyspace(ks)
                        .map_err(|e| self.write_error(e))?;
                }
            }
            self.meta
                .remove(meta_key("dropped", &id.to_be_bytes()))
                .map_err(|e| self.write_error(e))?;
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

    /// Every table's entry, as the catalog holds them now.
    fn entries(&self) -> Vec<TableEntry> {
        self.catalog
            .read()
            .expect("catalog lock")
            .values()
            .cloned()
            .collect()
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
        let rows = self
            .db
            .keyspace(&rows_keyspace(id), keyspace_options(16))
            .map_err(|e| self.write_error(e))?;
        let index = if needs_index(schema) {
            Some(
                self.db
                    .keyspace(&index_keyspace(id), keyspace_options(16))
                    .map_err(|e| self.write_error(e))?,
            )
        } else {
            None
        };
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
        batch.commit().map_err(|e| self.write_error(e))?;
        cat.insert(
            schema.name.clone(),
            TableEntry::new(id, schema.clone(), rows, index),
        );
        self.counts.lock().expect("counts lock").insert(id, 0);
        Ok(())
    }

    /// Drop a table with its rows, indexes, checkpoints and repair mark. Its
    /// files go whole: the time does not grow with the table.
    pub fn drop_table(&self, name: &str) -> Result<()> {
        let entry = self.entry(name)?;
        // A build of the table running now must not publish (the commit below
        // removes any layout published before this).
        *self
            .columns
            .lock()
            .expect("columns lock")
            .generation
            .entry(entry.id)
            .or_default() += 1;
        // The table leaves the catalog first, with its checkpoints, in one commit:
        // if the process dies before its files are gone, they are unreachable and
        // the next open removes them (table ids are never reused).
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
        batch.remove(&self.meta, columns::layout_key(entry.id));
        batch.remove(&self.meta, meta_key("repair", name.as_bytes()));
        // A table made again under this name plans its copy anew.
        batch.remove(&self.meta, meta_key("plan", name.as_bytes()));
        let dropped = meta_key("dropped", &entry.id.to_be_bytes());
        batch.insert(&self.meta, dropped.clone(), Vec::new());
        batch.commit().map_err(|e| self.write_error(e))?;
        self.sync()?;
        crate::fault::point("dropped");
        self.catalog.write().expect("catalog lock").remove(name);
        self.counts.lock().expect("counts lock").remove(&entry.id);
        self.columns
            .lock()
            .expect("columns lock")
            .current
            .remove(&entry.id);
        self.db
            .delete_keyspace(entry.rows)
            .map_err(|e| self.write_error(e))?;
        if let Some(ix) = entry.index {
            self.db
                .delete_keyspace(ix)
                .map_err(|e| self.write_error(e))?;
        }
        let cols = columns::columns_keyspace(entry.id);
        if self.db.keyspace_exists(&cols) {
            let ks = self.db.keyspace(&cols, KeyspaceCreateOptions::default)?;
            self.db
                .delete_keyspace(ks)
                .map_err(|e| self.write_error(e))?;
        }
        self.meta.remove(dropped).map_err(|e| self.write_error(e))?;
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

    /// The partitions a table's copy was planned in, if one was started.
    pub fn plan(&self, table: &str) -> Result<Option<Vec<PlannedPartition>>> {
        Ok(match self.meta.get(meta_key("plan", table.as_bytes()))? {
            Some(v) => Some(serde_json::from_slice(&v).map_err(|e| self.corrupt(e))?),
            None => None,
        })
    }

    /// Keep the partitions a table's copy is planned in, so a resumed copy uses
    /// the same ones whatever the source looks like by then.
    pub fn set_plan(&self, table: &str, plan: &[PlannedPartition]) -> Result<()> {
        self.meta
            .insert(
                meta_key("plan", table.as_bytes()),
                serde_json::to_vec(plan).expect("plan serializes"),
            )
            .map_err(|e| self.write_error(e))
    }

    /// Forget a table's plan (its source's content changed: plan it anew).
    pub fn forget_plan(&self, table: &str) -> Result<()> {
        self.meta
            .remove(meta_key("plan", table.as_bytes()))
            .map_err(|e| self.write_error(e))
    }

    /// How a source tool read its source into tables (a document source's mapping),
    /// kept so that later runs, verifications and readers read it the same way.
    pub fn source_mapping(&self, tool: &str) -> Result<Option<String>> {
        Ok(self
            .meta
            .get(meta_key("mapping", tool.as_bytes()))?
            .map(|v| String::from_utf8_lossy(&v).into_owned()))
    }

    pub fn set_source_mapping(&self, tool: &str, text: &str) -> Result<()> {
        self.meta
            .insert(
                meta_key("mapping", tool.as_bytes()),
                text.as_bytes().to_vec(),
            )
            .map_err(|e| self.write_error(e))
    }

    /// Mark tables as needing a repair: their rows may not all come from the
    /// source as it is now (a resumed copy, or one read in several snapshots).
    pub fn mark_for_repair(&self, tables: &[String]) -> Result<()> {
        let mut batch = self.db.batch();
        for t in tables {
            batch.insert(&self.meta, meta_key("repair", t.as_bytes()), b"1".to_vec());
        }
        batch.commit().map_err(|e| self.write_error(e))?;
        self.sync()
    }

    /// Tables marked for a repair.
    pub fn marked_for_repair(&self) -> Result<Vec<String>> {
        let mut out = Vec::new();
        for kv in self.meta.prefix(b"repair/") {
            let k = kv.key()?;
            out.push(String::from_utf8_lossy(&k[b"repair/".len()..]).into_owned());
        }
        Ok(out)
    }

    /// A table's repair is done.
    pub fn repaired(&self, table: &str) -> Result<()> {
        self.meta
            .remove(meta_key("repair", table.as_bytes()))
            .map_err(|e| self.write_error(e))?;
        self.sync()
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
            content_id: None,
            repaired: BTreeMap::new(),
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
        batch.commit().map_err(|e| self.write_error(e))?;
        self.sync()?;
        Ok(id)
    }

    pub fn update_run(&self, rec: &RunRecord) -> Result<()> {
        self.meta
            .insert(
                meta_key("run", &rec.id.to_be_bytes()),
                serde_json::to_vec(rec).expect("run serializes"),
            )
            .map_err(|e| self.write_error(e))?;
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

    /// Runs still marked as running belong to processes that died (whoever opens
    /// the store holds its lock): they are marked interrupted.
    fn settle_runs(&self) -> Result<()> {
        for mut run in self.runs()? {
            if run.status == "running" {
                run.status = "interrupted".into();
                run.error = Some(
                    "the process ended before the run did (killed, or the machine stopped)".into(),
                );
                match self.update_run(&run) {
                    // A store read through a copy, or a full disk: say it, change nothing.
                    Err(StoreError::ReadOnly { .. } | StoreError::NoSpace { .. }) => {}
                    other => other?,
                }
            }
        }
        Ok(())
    }

    /// Write the in-memory tables out and sync, so that the next open does not
    /// have to replay the journal (seconds for a large load). Called at the end of
    /// a migration or an import.
    pub fn flush(&self) -> Result<()> {
        let entries = self.entries();
        for e in &entries {
            e.rows
                .rotate_memtable_and_wait()
                .map_err(|x| self.write_error(x))?;
            if let Some(ix) = &e.index {
                ix.rotate_memtable_and_wait()
                    .map_err(|x| self.write_error(x))?;
            }
            let cols = columns::columns_keyspace(e.id);
            if self.db.keyspace_exists(&cols) {
                self.db
                    .keyspace(&cols, KeyspaceCreateOptions::default)?
                    .rotate_memtable_and_wait()
                    .map_err(|x| self.write_error(x))?;
            }
        }
        // Every keyspace with entries in the journal, or the journal stays.
        if self.log.get().is_some() || self.db.keyspace_exists(log::KEYSPACE) {
            self.log_keyspace()?
                .rotate_memtable_and_wait()
                .map_err(|x| self.write_error(x))?;
        }
        self.meta
            .rotate_memtable_and_wait()
            .map_err(|x| self.write_error(x))?;
        self.sync()
    }

    /// Make everything committed so far durable.
    pub fn sync(&self) -> Result<()> {
        self.db
            .persist(PersistMode::SyncAll)
            .map_err(|e| self.write_error(e))
    }

    /// Bytes of the engine's table files (the journal left out: after `flush`
    /// its last file stays, up to the write buffer, holding what is also in them).
    pub fn table_file_bytes(&self) -> u64 {
        crate::report::dir_size(&self.path.join("data").join("keyspaces")).unwrap_or(0)
    }

    /// Tables whose rows came far out of key order in a batch loaded in bulk: the
    /// batches a longer copy writes after it will fall among its keys, go through
    /// the journal, and leave its last file full (what a short sample sizes).
    pub fn scattered_tables(&self) -> HashSet<String> {
        let ids = self.scattered.lock().expect("scattered tables").clone();
        self.entries()
            .into_iter()
            .filter(|e| ids.contains(&e.id))
            .map(|e| e.schema.name)
            .collect()
    }

    /// Bytes of each table's files (rows, indexes, column data), by table.
    pub fn table_disk_bytes(&self) -> HashMap<String, u64> {
        self.entries()
            .into_iter()
            .map(|e| {
                let mut n = e.rows.disk_space() + e.index.as_ref().map_or(0, |ix| ix.disk_space());
                let cols = columns::columns_keyspace(e.id);
                if self.db.keyspace_exists(&cols) {
                    if let Ok(ks) = self.db.keyspace(&cols, KeyspaceCreateOptions::default) {
                        n += ks.disk_space();
                    }
                }
                (e.schema.name, n)
            })
            .collect()
    }

    /// Bytes on disk.
    pub fn disk_space(&self) -> u64 {
        self.db.disk_space().unwrap_or(0)
    }
}

fn version_error(path: PathBuf, found: String) -> StoreError {
    let hint = if found.parse::<u32>().is_ok_and(|v| v < FORMAT_VERSION) {
        "it was made by an earlier version of the tools: migrate again into a new target"
    } else {
        "upgrade the tool"
    };
    StoreError::Version { path, found, hint }
}

fn is_empty_dir(path: &Path) -> bool {
    path.is_dir() && std::fs::read_dir(path).is_ok_and(|mut entries| entries.next().is_none())
}

/// Copy a store folder.
fn copy_dir(from: &Path, to: &Path) -> std::io::Result<()> {
    std::fs::create_dir_all(to)?;
    for e in std::fs::read_dir(from)? {
        let e = e?;
        let target = to.join(e.file_name());
        if e.file_type()?.is_dir() {
            copy_dir(&e.path(), &target)?;
        } else {
            std::fs::copy(e.path(), &target)?;
        }
    }
    Ok(())
}

#[derive(Serialize, Deserialize)]
struct StoredTable {
    id: u32,
    schema: TableSchema,
}

impl TableEntry {
    fn new(id: u32, schema: TableSchema, rows: Keyspace, index: Option<Keyspace>) -> Self {
        TableEntry {
            id,
            key_positions: schema.key_positions(),
            unique_sets: schema.unique_sets(),
            schema,
            rows,
            index,
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

    /// The whole key of a row (its row id for a table without a primary key).
    fn key_of_row(&self, rowid: Option<i64>, row: &Row) -> Option<Vec<u8>> {
        if self.key_positions.is_empty() {
            rowid.map(encode_rowid)
        } else {
            Some(encode_key(self.key_positions.iter().map(|&p| &row[p])))
        }
    }

    /// Every index entry of a row: (whole key, value). A unique entry's value is
    /// the row's key; a secondary entry carries the row's key at the end of its own,
    /// and its value is its whole key when it is stored shortened.
    fn index_entries(&self, pk: &[u8], row: &Row) -> Vec<(Vec<u8>, Vec<u8>)> {
        let mut out = Vec::new();
        for (ix_no, (_, cols)) in self.unique_sets.iter().enumerate() {
            if cols.iter().any(|&c| row[c].is_null()) {
                continue; // NULLs never collide
            }
            let mut k = (ix_no as u16).to_be_bytes().to_vec();
            k.extend(encode_key(cols.iter().map(|&c| &row[c])));
            out.push((k, pk.to_vec()));
        }
        let base = self.unique_sets.len();
        for (n, ix) in self
            .schema
            .indexes
            .iter()
            .filter(|ix| !ix.unique)
            .enumerate()
        {
            let mut k = ((base + n) as u16).to_be_bytes().to_vec();
            k.extend(encode_key(
                ix.columns
                    .iter()
                    .filter_map(|c| self.schema.column_index(c))
                    .map(|p| &row[p]),
            ));
            k.extend_from_slice(pk);
            let v = if keys::is_long(&k) {
                k.clone()
            } else {
                Vec::new()
            };
            out.push((k, v));
        }
        out
    }
}

impl Store {
    /// Mark an earlier-format store as this format: in `meta` first, then in the
    /// marker file (an open between the two finishes the job).
    fn upgrade(&self) -> std::result::Result<(), fjall::Error> {
        self.meta.insert(b"format", FORMAT_VERSION.to_string())?;
        self.db.persist(PersistMode::SyncAll)?;
        let marker = self.path.join(MARKER_FILE);
        let staged = self.path.join(format!("{MARKER_FILE}.new"));
        std::fs::write(
            &staged,
            format!("Lightning store\nformat {FORMAT_VERSION}\n"),
        )?;
        std::fs::rename(&staged, &marker)?;
        Ok(())
    }
}

pub fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

#[cfg(test)]
mod tests;
