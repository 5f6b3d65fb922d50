//! Writing a store: batches of rows committed atomically with the checkpoints that
//! cover them, and the changes a repair makes.
//!
//! Two ways to write. `Insert` (a copy from one consistent state of the source)
//! refuses a key the table already holds, so a mismatch between checkpoint and
//! rows shows as an error, never as a silent duplicate. `Upsert` (a copy that
//! continues in another state of the source) replaces what a key holds, drops a
//! stale row that holds a unique value the new row needs, and marks the tables
//! it writes for a repair in the same commit.

use std::collections::{BTreeMap, HashMap, HashSet};

use serde::{Deserialize, Serialize};

use super::{bulk, keys};
use super::{
    meta_key, BadRows, BatchRow, Checkpoint, RejectedRow, Result, Store, StoreError, TableEntry,
};
use crate::keycode::decode_rowid;
use crate::rowcodec::{decode_row, encode_row};
use crate::value::Row;

/// How `Store::write_batch` treats a key the table already holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WriteMode {
    /// Refuse it (the row is bad).
    Insert,
    /// Replace the row, and mark the table for a repair.
    Upsert,
    /// Replace the row: the stream's newer version of it (a Singer upsert). A
    /// row of another key holding a unique value it needs refuses it.
    Replace,
}

/// Rows a repair changed in one table.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RepairCounts {
    pub inserted: u64,
    pub updated: u64,
    pub deleted: u64,
}

impl RepairCounts {
    pub fn total(&self) -> u64 {
        self.inserted + self.updated + self.deleted
    }

    pub fn add(&mut self, o: &RepairCounts) {
        self.inserted += o.inserted;
        self.updated += o.updated;
        self.deleted += o.deleted;
    }
}

/// Keys written by the batch being staged (xxh3: SipHash costs too much here).
type KeySet = HashSet<Vec<u8>, xxhash_rust::xxh3::Xxh3Builder>;

/// A key of the pending map: table id, rows (false) or index (true), stored key.
type Pending = HashMap<(u32, bool, Vec<u8>), Option<Vec<u8>>, xxhash_rust::xxh3::Xxh3Builder>;

impl Store {
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
        mode: WriteMode,
    ) -> Result<Vec<RejectedRow>> {
        let cat = self.catalog.read().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        let mut stage = Staging::new(self, mode);
        let mut rejected = Vec::new();
        let mut entries = Vec::with_capacity(rows.len());
        for r in &rows {
            match cat.get(&*r.table) {
                Some(e) => entries.push(e),
                None => return Err(StoreError::UnknownTable(r.table.to_string())),
            }
        }
        // Inserts are checked and keyed first: a table whose keys in this batch
        // fall where it holds none is loaded in bulk (see `bulk`).
        let mut keyed = Vec::new();
        let mut in_bulk = HashSet::new();
        if mode == WriteMode::Insert {
            keyed.reserve(rows.len());
            for (r, e) in rows.iter().zip(&entries) {
                keyed.push(match e.schema.check_row(&r.row) {
                    Ok(()) => Ok(stage.key_for(e, r.rowid, &r.row)?),
                    Err(reason) => Err(reason),
                });
            }
            in_bulk = bulk::eligible(entries.iter().copied().zip(&keyed))?;
        }
        let mut keyed = keyed.into_iter();
        for (order, (BatchRow { table, rowid, row }, e)) in
            rows.into_iter().zip(entries).enumerate()
        {
            let verdict = match mode {
                WriteMode::Insert => match keyed.next().expect("keyed row") {
                    Err(reason) => Err(Refused::Row(reason)),
                    Ok(full) if in_bulk.contains(&e.id) => {
                        stage.put_bulk(e, full, &row, order as u32);
                        Ok(())
                    }
                    Ok(full) => stage.insert(e, full, &row),
                },
                WriteMode::Upsert => stage.upsert(e, rowid, &row, &counts).map(|_| ()),
                WriteMode::Replace => stage.replace_row(e, rowid, &row, &counts),
            };
            match verdict {
                Ok(()) => {}
                Err(Refused::Row(reason)) => {
                    let key = e.schema.describe_key(rowid, &row);
                    refuse(&bad_rows, &mut rejected, &table, key, reason, row)?;
                }
                Err(Refused::Store(e)) => return Err(e),
            }
            if mode == WriteMode::Upsert && !stage.touched.contains(&e.schema.name) {
                stage.touched.insert(e.schema.name.clone());
            }
        }
        for bulk::Duplicate {
            entry: e,
            key: full,
            row,
            ..
        } in stage.settle_bulk(&cat)?
        {
            let key = e.schema.describe_key(decode_rowid(&full), &row);
            let reason = duplicate_reason(e, &full, &row);
            refuse(&bad_rows, &mut rejected, &e.schema.name, key, reason, row)?;
        }
        if let (BadRows::SetAside(keep), false) = (bad_rows, rejected.is_empty()) {
            keep(&rejected).map_err(StoreError::RejectLog)?;
        }
        stage.commit(&cat, &mut counts, checkpoints)?;
        Ok(rejected)
    }

    /// Make a table hold `puts` and lose the rows of `deletes` (whole keys), in one
    /// atomic commit: what a repair does to a range of keys. A stale row holding a
    /// unique value a put needs is evicted.
    pub fn apply(
        &self,
        table: &str,
        puts: Vec<(Option<i64>, Row)>,
        deletes: &[Vec<u8>],
    ) -> Result<RepairCounts> {
        let cat = self.catalog.read().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        let mut stage = Staging::new(self, WriteMode::Upsert);
        let done = stage.replace(&cat, &counts, table, deletes, puts, true)?;
        stage.commit(&cat, &mut counts, &[])?;
        Ok(done)
    }

    /// One SQL statement's change to a table, in one atomic commit: the rows of
    /// `deletes` (whole keys) go, then `puts` are inserted. Unlike a repair, a key
    /// or unique value another row still holds refuses the whole change, so an
    /// UPDATE is its old keys in `deletes` and its new rows in `puts`.
    pub fn change(
        &self,
        table: &str,
        deletes: &[Vec<u8>],
        puts: Vec<(Option<i64>, Row)>,
    ) -> Result<RepairCounts> {
        let mut done = self.logged_change(|stage, cat, counts| {
            Ok(vec![
                stage.replace(cat, counts, table, deletes, puts, false)?
            ])
        })?;
        Ok(done.pop().unwrap_or_default())
    }

    /// Several tables' changes in one atomic commit, as [`Store::change`] makes
    /// each: what a SQL transaction commits. Counts are by table, in order.
    pub fn change_tables(&self, changes: Vec<TableChange>) -> Result<Vec<RepairCounts>> {
        self.logged_change(|stage, cat, counts| {
            changes
                .into_iter()
                .map(|c| stage.replace(cat, counts, &c.table, &c.deletes, c.puts, false))
                .collect()
        })
    }

    /// Changes the source committed, with where its change feed stands after them,
    /// in one atomic commit: what `sync` applies. Like a repair, the source is
    /// right: a put replaces what its key holds and evicts a stale row holding a
    /// unique value it needs. Not in the change log (the source has these rows).
    pub fn apply_source_changes(
        &self,
        changes: Vec<TableChange>,
        state: &SyncState,
    ) -> Result<Vec<RepairCounts>> {
        let cat = self.catalog.read().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        let mut stage = Staging::new(self, WriteMode::Upsert);
        let done = changes
            .into_iter()
            .map(|c| stage.replace(&cat, &counts, &c.table, &c.deletes, c.puts, true))
            .collect::<Result<Vec<_>>>()?;
        stage.sync_state = Some(serde_json::to_vec(state).expect("sync state serializes"));
        stage.commit(&cat, &mut counts, &[])?;
        Ok(done)
    }

    /// Where `sync` stands: none before a migration made ready for it.
    pub fn sync_state(&self) -> Result<Option<SyncState>> {
        match self.meta.get(meta_key("sync", b"state"))? {
            Some(v) => serde_json::from_slice(&v)
                .map(Some)
                .map_err(|e| self.corrupt(format!("the sync state: {e}"))),
            None => Ok(None),
        }
    }

    /// Record where `sync` is to start (a migration made ready for it), or forget
    /// it (`None`: the feed was removed from the source).
    pub fn set_sync_state(&self, state: Option<&SyncState>) -> Result<()> {
        let key = meta_key("sync", b"state");
        match state {
            Some(s) => self
                .meta
                .insert(key, serde_json::to_vec(s).expect("sync state serializes")),
            None => self.meta.remove(key),
        }
        .map_err(|e| self.write_error(e))?;
        self.sync()
    }

    /// One commit of SQL writes, with its keys in the change log.
    fn logged_change(
        &self,
        stage_all: impl FnOnce(
            &mut Staging<'_>,
            &BTreeMap<String, TableEntry>,
            &HashMap<u32, u64>,
        ) -> Result<Vec<RepairCounts>>,
    ) -> Result<Vec<RepairCounts>> {
        let cat = self.catalog.read().expect("catalog lock");
        let mut counts = self.counts.lock().expect("counts lock");
        let mut stage = Staging::new(self, WriteMode::Upsert);
        stage.changed = Some(BTreeMap::new());
        let done = stage_all(&mut stage, &cat, &counts)?;
        stage.commit(&cat, &mut counts, &[])?;
        Ok(done)
    }
}

/// A refused row: fails the batch, or joins the rows set aside.
fn refuse(
    bad_rows: &BadRows<'_>,
    rejected: &mut Vec<RejectedRow>,
    table: &str,
    key: String,
    reason: String,
    row: Row,
) -> Result<()> {
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
    Ok(())
}

/// Why a row whose key the table already holds is refused.
fn duplicate_reason(e: &TableEntry, full: &[u8], row: &Row) -> String {
    if e.key_positions.is_empty() {
        format!(
            "row id {} is already in the table",
            decode_rowid(full).unwrap_or_default()
        )
    } else {
        format!(
            "duplicate primary key ({})",
            e.schema.describe_key(None, row)
        )
    }
}

/// Where a source's change feed stands: what `sync` continues from, kept with the
/// rows it covers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SyncState {
    /// The tool whose feed this is (`pg2lightning`).
    pub tool: String,
    /// The source's position after the last change applied (a PostgreSQL LSN, a
    /// binlog file:position), in the source's own notation.
    pub position: String,
    /// What else the tool needs to go on (a slot's name, the snapshot the copy
    /// read): opaque to the store.
    #[serde(default)]
    pub feed: serde_json::Value,
    /// Source transactions and row changes applied so far.
    #[serde(default)]
    pub transactions: u64,
    #[serde(default)]
    pub changes: u64,
    /// When the last applied transaction committed on the source (Unix µs).
    #[serde(default)]
    pub source_commit_micros: Option<i64>,
    pub updated_at: String,
}

/// One table's part of [`Store::change_tables`]: whole keys to delete, then rows to
/// insert.
#[derive(Debug, Clone)]
pub struct TableChange {
    pub table: String,
    pub deletes: Vec<Vec<u8>>,
    pub puts: Vec<(Option<i64>, Row)>,
}

enum Refused {
    /// The row breaks a rule of its table.
    Row(String),
    Store(StoreError),
}

impl From<StoreError> for Refused {
    fn from(e: StoreError) -> Self {
        Refused::Store(e)
    }
}

impl From<fjall::Error> for Refused {
    fn from(e: fjall::Error) -> Self {
        Refused::Store(e.into())
    }
}

/// One batch being put together before its commit.
struct Staging<'s> {
    store: &'s Store,
    mode: WriteMode,
    /// Insert: the engine batch is filled as rows come.
    batch: fjall::OwnedWriteBatch,
    seen: KeySet,
    /// Upsert: the final state of each key the batch changes.
    pending: Pending,
    added: HashMap<u32, i64>,
    next_rowids: HashMap<u32, i64>,
    touched: HashSet<String>,
    /// Stale rows dropped for a unique value another row needs.
    evicted: u64,
    buf: Vec<u8>,
    /// For the change log: each (table id, whole key) put (true) or deleted.
    changed: Option<BTreeMap<(u32, Vec<u8>), bool>>,
    /// Where the source's change feed stands after this commit (`sync`).
    sync_state: Option<Vec<u8>>,
    /// Rows loaded in bulk, by table id.
    bulk: HashMap<u32, Vec<bulk::BulkRow>>,
}

impl<'s> Staging<'s> {
    /// Stage one table's deletes, then its puts (see [`Store::change`]).
    fn replace(
        &mut self,
        cat: &std::collections::BTreeMap<String, TableEntry>,
        counts: &HashMap<u32, u64>,
        table: &str,
        deletes: &[Vec<u8>],
        puts: Vec<(Option<i64>, Row)>,
        evict: bool,
    ) -> Result<RepairCounts> {
        let e = cat
            .get(table)
            .ok_or_else(|| StoreError::UnknownTable(table.to_string()))?;
        let evicted_before = self.evicted;
        let mut done = RepairCounts::default();
        for key in deletes {
            if self.remove(e, key, counts)? {
                done.deleted += 1;
            }
        }
        for (rowid, row) in puts {
            let put = if evict {
                self.upsert(e, rowid, &row, counts)
            } else {
                self.put_new(e, rowid, &row).map(|()| false)
            };
            match put {
                Ok(true) => done.updated += 1,
                Ok(false) => done.inserted += 1,
                Err(Refused::Row(reason)) => {
                    return Err(StoreError::BadRow {
                        table: table.to_string(),
                        key: e.schema.describe_key(rowid, &row),
                        reason,
                    })
                }
                Err(Refused::Store(e)) => return Err(e),
            }
        }
        done.deleted += self.evicted - evicted_before;
        Ok(done)
    }

    fn new(store: &'s Store, mode: WriteMode) -> Self {
        Staging {
            store,
            mode,
            batch: store.db.batch(),
            seen: KeySet::default(),
            pending: Pending::default(),
            added: HashMap::new(),
            next_rowids: HashMap::new(),
            touched: HashSet::new(),
            evicted: 0,
            buf: Vec::with_capacity(512),
            changed: None,
            sync_state: None,
            bulk: HashMap::new(),
        }
    }

    /// The key of a row; a keyless table's row without an id gets the next one.
    fn key_for(&mut self, e: &TableEntry, rowid: Option<i64>, row: &Row) -> Result<Vec<u8>> {
        if !e.key_positions.is_empty() {
            return Ok(e.key_of_row(None, row).expect("keyed"));
        }
        let next = match self.next_rowids.get(&e.id) {
            Some(n) => *n,
            None => self
                .store
                .read_u64(&meta_key("rowid", &e.id.to_be_bytes()))? as i64,
        };
        // Ids the source gives are kept; the counter stays above all of them.
        let id = rowid.unwrap_or(next);
        self.next_rowids
            .insert(e.id, next.max(id.saturating_add(1)));
        Ok(e.key_of_row(Some(id), row).expect("row id"))
    }

    fn seen_key(e: &TableEntry, index: bool, stored: &[u8]) -> Vec<u8> {
        let mut k = e.id.to_be_bytes().to_vec();
        k.push(u8::from(index));
        k.extend_from_slice(stored);
        k
    }

    /// Insert: refuse a key or a unique value the table (or this batch) holds.
    fn insert(
        &mut self,
        e: &TableEntry,
        full: Vec<u8>,
        row: &Row,
    ) -> std::result::Result<(), Refused> {
        let stored = keys::stored(&full);
        let seen = Self::seen_key(e, false, &stored);
        let exists = self.seen.contains(&seen)
            || match e.rows.get(stored.as_ref())? {
                None => false,
                Some(_) if !keys::is_long(&stored) => true,
                Some(v) => {
                    let old = decode_row(&v).map_err(|x| self.store.corrupt(x))?;
                    e.key_of_row(None, &old).as_deref() == Some(full.as_slice())
                }
            };
        if exists {
            return Err(Refused::Row(duplicate_reason(e, &full, row)));
        }
        let entries = e.index_entries(&full, row);
        let Some(ix) = &e.index else {
            return self.put_row_entries(e, &full, row, seen, entries);
        };
        for (k, _) in entries.iter().take(e.unique_count(row)) {
            let sk = keys::stored(k);
            let taken = self.seen.contains(&Self::seen_key(e, true, &sk))
                || match ix.get(sk.as_ref())? {
                    None => false,
                    Some(_) if !keys::is_long(&sk) => true,
                    Some(pk) => self.store.get_by_key(e, &pk)?.is_some_and(|other| {
                        e.index_entries(&pk, &other).iter().any(|(ok, _)| ok == k)
                    }),
                };
            if taken {
                let name = e.unique_name_of(k);
                return Err(Refused::Row(format!(
                    "duplicate value for unique index `{name}`"
                )));
            }
        }
        self.put_row_entries(e, &full, row, seen, entries)
    }

    fn put_row_entries(
        &mut self,
        e: &TableEntry,
        full: &[u8],
        row: &Row,
        seen: Vec<u8>,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
    ) -> std::result::Result<(), Refused> {
        if let Some(ix) = &e.index {
            for (k, v) in entries {
                let sk = keys::stored(&k).into_owned();
                self.seen.insert(Self::seen_key(e, true, &sk));
                self.batch.insert(ix, sk, v);
            }
        }
        self.buf.clear();
        encode_row(row, &mut self.buf);
        self.batch
            .insert(&e.rows, keys::stored(full).as_ref(), self.buf.as_slice());
        self.seen.insert(seen);
        *self.added.entry(e.id).or_default() += 1;
        Ok(())
    }

    /// A row of a table loaded in bulk: checked against the others at the end.
    fn put_bulk(&mut self, e: &TableEntry, full: Vec<u8>, row: &Row, order: u32) {
        let mut value = Vec::with_capacity(self.buf.capacity());
        encode_row(row, &mut value);
        let index = match &e.index {
            Some(_) => e
                .index_entries(&full, row)
                .into_iter()
                .map(|(k, v)| (keys::stored(&k).into_owned(), v))
                .collect(),
            None => Vec::new(),
        };
        self.bulk.entry(e.id).or_default().push(bulk::BulkRow {
            key: full,
            value,
            order,
            index,
        });
        *self.added.entry(e.id).or_default() += 1;
    }

    /// Sort the rows loaded in bulk; those whose key an earlier row of the batch
    /// holds are taken out and returned, in batch order.
    fn settle_bulk<'c>(
        &mut self,
        cat: &'c BTreeMap<String, TableEntry>,
    ) -> Result<Vec<bulk::Duplicate<'c>>> {
        let mut dups = Vec::new();
        for (id, rows) in &mut self.bulk {
            let e = cat
                .values()
                .find(|e| e.id == *id)
                .expect("table of a bulk row");
            let found = bulk::settle(self.store, e, rows)?;
            *self.added.entry(*id).or_default() -= found.len() as i64;
            dups.extend(found);
        }
        dups.sort_by_key(|d| d.order);
        Ok(dups)
    }

    /// Upsert and put_new: the row and its index entries become this batch's
    /// state of their keys.
    fn pend_row(
        &mut self,
        e: &TableEntry,
        full: &[u8],
        row: &Row,
        entries: Vec<(Vec<u8>, Vec<u8>)>,
    ) {
        for (k, v) in entries {
            self.pending
                .insert((e.id, true, keys::stored(&k).into_owned()), Some(v));
        }
        self.buf.clear();
        encode_row(row, &mut self.buf);
        self.pending.insert(
            (e.id, false, keys::stored(full).into_owned()),
            Some(self.buf.clone()),
        );
        if let Some(changed) = &mut self.changed {
            changed.insert((e.id, full.to_vec()), true);
        }
        *self.added.entry(e.id).or_default() += 1;
    }

    /// What a key holds, with this batch's changes.
    fn lookup(&self, e: &TableEntry, index: bool, stored: &[u8]) -> Result<Option<Vec<u8>>> {
        if let Some(p) = self.pending.get(&(e.id, index, stored.to_vec())) {
            return Ok(p.clone());
        }
        let ks = if index {
            match &e.index {
                Some(ix) => ix,
                None => return Ok(None),
            }
        } else {
            &e.rows
        };
        Ok(ks.get(stored)?.map(|v| v.to_vec()))
    }

    /// The row a whole key holds, with this batch's changes.
    fn row_at(&self, e: &TableEntry, full: &[u8]) -> Result<Option<Row>> {
        let stored = keys::stored(full);
        let Some(v) = self.lookup(e, false, &stored)? else {
            return Ok(None);
        };
        let row = decode_row(&v).map_err(|x| self.store.corrupt(x))?;
        if keys::is_long(&stored) && e.key_of_row(None, &row).as_deref() != Some(full) {
            return Ok(None);
        }
        Ok(Some(row))
    }

    /// Remove the row a whole key holds, with its index entries.
    fn remove(&mut self, e: &TableEntry, full: &[u8], _counts: &HashMap<u32, u64>) -> Result<bool> {
        let Some(old) = self.row_at(e, full)? else {
            return Ok(false);
        };
        for (k, _) in e.index_entries(full, &old) {
            self.pending
                .insert((e.id, true, keys::stored(&k).into_owned()), None);
        }
        self.pending
            .insert((e.id, false, keys::stored(full).into_owned()), None);
        *self.added.entry(e.id).or_default() -= 1;
        if let Some(changed) = &mut self.changed {
            changed.insert((e.id, full.to_vec()), false);
        }
        Ok(true)
    }

    /// Upsert: put the row, replacing what its key held; a stale row holding one
    /// of its unique values is dropped. True when the key held a row before.
    fn upsert(
        &mut self,
        e: &TableEntry,
        rowid: Option<i64>,
        row: &Row,
        counts: &HashMap<u32, u64>,
    ) -> std::result::Result<bool, Refused> {
        e.schema.check_row(row).map_err(Refused::Row)?;
        let full = self.key_for(e, rowid, row)?;
        let replaced = self.remove(e, &full, counts)?;
        let entries = e.index_entries(&full, row);
        for (k, pk) in entries.iter().take(e.unique_count(row)) {
            let sk = keys::stored(k);
            if let Some(holder) = self.lookup(e, true, &sk)? {
                if holder != *pk {
                    let stale = self.row_at(e, &holder)?;
                    let same_value = stale
                        .as_ref()
                        .is_some_and(|s| e.index_entries(&holder, s).iter().any(|(ok, _)| ok == k));
                    if same_value && self.remove(e, &holder, counts)? {
                        self.evicted += 1;
                    }
                }
            }
        }
        self.pend_row(e, &full, row, entries);
        Ok(replaced)
    }

    /// Replace: put the row, replacing what its key held. Unique values are
    /// checked first, so a refused row leaves the old one in place.
    fn replace_row(
        &mut self,
        e: &TableEntry,
        rowid: Option<i64>,
        row: &Row,
        counts: &HashMap<u32, u64>,
    ) -> std::result::Result<(), Refused> {
        e.schema.check_row(row).map_err(Refused::Row)?;
        let full = self.key_for(e, rowid, row)?;
        let entries = e.index_entries(&full, row);
        self.check_uniques(e, row, &entries)?;
        self.remove(e, &full, counts)?;
        self.pend_row(e, &full, row, entries);
        Ok(())
    }

    /// Refuse a row when a row of another key holds one of its unique values
    /// (`entries` are the row's index entries, its unique ones first).
    fn check_uniques(
        &mut self,
        e: &TableEntry,
        row: &Row,
        entries: &[(Vec<u8>, Vec<u8>)],
    ) -> std::result::Result<(), Refused> {
        for (k, pk) in entries.iter().take(e.unique_count(row)) {
            let Some(holder) = self.lookup(e, true, &keys::stored(k))? else {
                continue;
            };
            if holder == *pk {
                continue;
            }
            let taken = self.row_at(e, &holder)?.is_some_and(|other| {
                e.index_entries(&holder, &other)
                    .iter()
                    .any(|(ok, _)| ok == k)
            });
            if taken {
                let name = e.unique_name_of(k);
                return Err(Refused::Row(format!(
                    "duplicate value for unique index `{name}`"
                )));
            }
        }
        Ok(())
    }

    /// Put a row whose key and unique values no row holds once this batch's
    /// changes are made.
    fn put_new(
        &mut self,
        e: &TableEntry,
        rowid: Option<i64>,
        row: &Row,
    ) -> std::result::Result<(), Refused> {
        e.schema.check_row(row).map_err(Refused::Row)?;
        let full = self.key_for(e, rowid, row)?;
        if self.row_at(e, &full)?.is_some() {
            return Err(Refused::Row(format!(
                "duplicate primary key ({})",
                e.schema.describe_key(rowid, row)
            )));
        }
        let entries = e.index_entries(&full, row);
        self.check_uniques(e, row, &entries)?;
        self.pend_row(e, &full, row, entries);
        Ok(())
    }

    fn commit(
        mut self,
        cat: &std::collections::BTreeMap<String, TableEntry>,
        counts: &mut HashMap<u32, u64>,
        checkpoints: &[Checkpoint],
    ) -> Result<()> {
        let store = self.store;
        let by_id: HashMap<u32, &TableEntry> = cat.values().map(|e| (e.id, e)).collect();
        // The index entries of the rows loaded in bulk (none unique) commit with
        // their counts and checkpoints.
        for (id, rows) in &mut self.bulk {
            if let Some(ix) = &by_id[id].index {
                for r in rows.iter_mut() {
                    for (k, v) in std::mem::take(&mut r.index) {
                        self.batch.insert(ix, k, v);
                    }
                }
            }
        }
        if let Some(intent) = store.ingest(&by_id, std::mem::take(&mut self.bulk))? {
            self.batch.remove(&store.meta, intent);
        }
        for ((id, index, key), value) in self.pending.drain() {
            let e = by_id[&id];
            let ks = if index {
                e.index.as_ref().expect("index keyspace")
            } else {
                &e.rows
            };
            match value {
                Some(v) => self.batch.insert(ks, key, v),
                None => self.batch.remove(ks, key),
            }
        }
        let mut new_counts = Vec::new();
        for (id, n) in &self.added {
            let total = (counts.get(id).copied().unwrap_or(0) as i64 + n).max(0) as u64;
            self.batch.insert(
                &store.meta,
                meta_key("count", &id.to_be_bytes()),
                total.to_le_bytes().to_vec(),
            );
            new_counts.push((*id, total));
        }
        for (id, next) in &self.next_rowids {
            self.batch.insert(
                &store.meta,
                meta_key("rowid", &id.to_be_bytes()),
                next.to_le_bytes().to_vec(),
            );
        }
        for c in checkpoints {
            self.batch.insert(
                &store.meta,
                meta_key("ckpt", c.partition.as_bytes()),
                serde_json::to_vec(c).expect("checkpoint serializes"),
            );
        }
        if self.mode == WriteMode::Upsert {
            for t in &self.touched {
                self.batch
                    .insert(&store.meta, meta_key("repair", t.as_bytes()), b"1".to_vec());
            }
        }
        if let Some(changed) = self.changed.take() {
            store.log_changes(&mut self.batch, changed)?;
        }
        if let Some(state) = self.sync_state.take() {
            self.batch
                .insert(&store.meta, meta_key("sync", b"state"), state);
        }
        // A table written loses its column segments in this same commit.
        let mut columns = store.columns.lock().expect("columns lock");
        let now = std::time::Instant::now();
        for id in self.added.keys() {
            *columns.generation.entry(*id).or_default() += 1;
            columns.written_at.insert(*id, now);
            if columns.current.contains(id) {
                self.batch
                    .remove(&store.meta, super::columns::layout_key(*id));
            }
        }
        self.batch.commit().map_err(|e| store.write_error(e))?;
        for id in self.added.keys() {
            columns.current.remove(id);
        }
        drop(columns);
        for (id, total) in new_counts {
            counts.insert(id, total);
        }
        Ok(())
    }
}

impl TableEntry {
    /// How many of `index_entries(row)` come first as unique entries.
    fn unique_count(&self, row: &Row) -> usize {
        self.unique_sets
            .iter()
            .filter(|(_, cols)| !cols.iter().any(|&c| row[c].is_null()))
            .count()
    }

    /// The name of the unique index an entry key belongs to.
    fn unique_name_of(&self, key: &[u8]) -> String {
        let no = u16::from_be_bytes([key[0], key[1]]) as usize;
        self.unique_sets
            .get(no)
            .map_or_else(|| "?".into(), |(n, _)| n.clone())
    }
}
