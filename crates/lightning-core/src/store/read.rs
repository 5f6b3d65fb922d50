//! Reading a store: rows by key, scans in key order, checksums of tables and key
//! ranges, index lookups.

use std::ops::Bound;

use super::keys::{self, Ordered};
use super::{Result, Store, StoreError, TableEntry};
use crate::checksum::{RangeChecksums, RowHasher, TableChecksum};
use crate::keycode::encode_key;
use crate::rowcodec::{decode_row, decode_row_columns};
use crate::value::{Row, Value};

/// Bytes held by the storage engine (shared, not copied): a key or an encoded
/// row.
#[derive(Debug, Clone)]
pub struct StoredBytes(fjall::Slice);

impl std::ops::Deref for StoredBytes {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.0
    }
}

impl From<fjall::Slice> for StoredBytes {
    fn from(s: fjall::Slice) -> Self {
        StoredBytes(s)
    }
}

impl AsRef<[u8]> for StoredBytes {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// The stored (encoded) rows of a table in key order, each with its whole key,
/// shared with the engine: what a reader that converts rows itself needs.
pub struct EncodedRows<'a> {
    inner: fjall::Iter,
    entry: TableEntry,
    order: Ordered<StoredBytes, StoredBytes>,
    done: bool,
    store: &'a Store,
}

impl<'a> EncodedRows<'a> {
    /// The rows of `entry` within whole-key bounds, as they stand now or in
    /// `snapshot`.
    pub(super) fn within(
        store: &'a Store,
        entry: TableEntry,
        snapshot: Option<&fjall::Snapshot>,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
    ) -> Self {
        use fjall::Readable;
        let (lo, hi, exact) = keys::stored_bounds(&from, &to);
        let inner = match snapshot {
            Some(snap) => snap.range::<Vec<u8>, _>(&entry.rows, (lo, hi)),
            None => entry.rows.range::<Vec<u8>, _>((lo, hi)),
        };
        EncodedRows {
            inner,
            entry,
            order: Ordered::new(from, to, exact),
            done: false,
            store,
        }
    }
}

impl Iterator for EncodedRows<'_> {
    type Item = Result<(StoredBytes, StoredBytes)>;

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            if let Some(item) = self.order.pop() {
                return Some(Ok(item));
            }
            if self.done {
                return None;
            }
            let Some(kv) = self.inner.next() else {
                self.done = true;
                self.order.finish();
                continue;
            };
            let step = (|| -> Result<()> {
                let (k, v) = kv.into_inner().map_err(|e| self.store.corrupt(e))?;
                let full = if keys::is_long(&k) {
                    let row = decode_row(&v).map_err(|e| self.store.corrupt(e))?;
                    let full = self.entry.key_of_row(None, &row).ok_or_else(|| {
                        self.store.corrupt("a long key in a table keyed by row id")
                    })?;
                    StoredBytes(fjall::Slice::from(full))
                } else {
                    StoredBytes(k.clone())
                };
                self.order.push(&k, full, StoredBytes(v));
                Ok(())
            })();
            if let Err(e) = step {
                self.done = true;
                return Some(Err(e));
            }
        }
    }
}

/// Rows of a table in key order, each with its whole encoded key.
pub struct RowIter<'a> {
    rows: EncodedRows<'a>,
    /// Columns to decode (the others read as NULL); all when `None`.
    wanted: Option<Vec<bool>>,
}

impl Iterator for RowIter<'_> {
    type Item = Result<(Vec<u8>, Row)>;

    fn next(&mut self) -> Option<Self::Item> {
        let (key, value) = match self.rows.next()? {
            Ok(kv) => kv,
            Err(e) => return Some(Err(e)),
        };
        Some(
            decode_row_columns(&value, self.wanted.as_deref())
                .map(|row| (key.to_vec(), row))
                .map_err(|e| self.rows.store.corrupt(e)),
        )
    }
}

impl Store {
    pub fn get(&self, table: &str, key: &[Value]) -> Result<Option<Row>> {
        let e = self.entry(table)?;
        let full = e.key_of_values(key)?;
        self.get_by_key(&e, &full)
    }

    /// The row under a whole encoded key (as `scan` and the change log give them).
    pub fn get_encoded(&self, table: &str, key: &[u8]) -> Result<Option<Row>> {
        let e = self.entry(table)?;
        self.get_by_key(&e, key)
    }

    pub(super) fn get_by_key(&self, e: &TableEntry, full: &[u8]) -> Result<Option<Row>> {
        let stored = keys::stored(full);
        match e.rows.get(stored.as_ref())? {
            Some(v) => {
                let row = decode_row(&v).map_err(|err| self.corrupt(err))?;
                if keys::is_long(&stored) && e.key_of_row(None, &row).as_deref() != Some(full) {
                    return Ok(None); // another key with the same stored form
                }
                Ok(Some(row))
            }
            None => Ok(None),
        }
    }

    /// Rows of a table in key order, each with its encoded key.
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
        self.scan_columns(table, from, to, None)
    }

    /// Rows within the bounds with only the `wanted` columns decoded (the others
    /// read as NULL; key columns are always decoded).
    pub fn scan_columns(
        &self,
        table: &str,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
        wanted: Option<Vec<bool>>,
    ) -> Result<RowIter<'_>> {
        let e = self.entry(table)?;
        let wanted = wanted.map(|mut w| {
            for &k in &e.key_positions {
                if let Some(slot) = w.get_mut(k) {
                    *slot = true;
                }
            }
            w
        });
        Ok(RowIter {
            rows: self.scan_encoded(table, from, to)?,
            wanted,
        })
    }

    /// Stored rows within the bounds, undecoded.
    pub fn scan_encoded(
        &self,
        table: &str,
        from: Bound<Vec<u8>>,
        to: Bound<Vec<u8>>,
    ) -> Result<EncodedRows<'_>> {
        let e = self.entry(table)?;
        Ok(EncodedRows::within(self, e, None, from, to))
    }

    /// Up to `n - 1` keys that cut the table's keys within the bounds into `n`
    /// ranges of equal width between the first and the last key (equal in rows
    /// when keys are spread evenly, as counters and random ids are); none when
    /// the range holds too few keys to cut. For scans in parallel.
    pub fn key_splits(
        &self,
        table: &str,
        from: &Bound<Vec<u8>>,
        to: &Bound<Vec<u8>>,
        n: usize,
    ) -> Result<Vec<Vec<u8>>> {
        let e = self.entry(table)?;
        let (lo, hi, _) = keys::stored_bounds(from, to);
        let mut it = e.rows.range::<Vec<u8>, _>((lo, hi));
        let (Some(first), Some(last)) = (it.next(), it.next_back()) else {
            return Ok(Vec::new());
        };
        let first = first.into_inner()?.0;
        let last = last.into_inner()?.0;
        Ok(keys::cut(&first, &last, n))
    }

    /// Whole-table checksum, computed from the stored rows (hashed by column
    /// name: the order of the table's columns does not matter).
    pub fn checksum(&self, table: &str) -> Result<TableChecksum> {
        let hasher = RowHasher::new(&self.table(table)?);
        let mut sum = TableChecksum::default();
        let mut buf = Vec::new();
        for item in self.scan(table)? {
            let (_, row) = item?;
            sum.add(hasher.hash(&row, &mut buf));
        }
        Ok(sum)
    }

    /// Split a table into `n` key ranges of about equal row counts and checksum each.
    /// One pass: a range ends every `count / n` rows.
    pub fn range_checksums(&self, table: &str, n: usize) -> Result<RangeChecksums> {
        let hasher = RowHasher::new(&self.table(table)?);
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
            rc.ranges[last].add(hasher.hash(&row, &mut buf));
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
        let hasher = RowHasher::new(&self.table(table)?);
        let mut rc = RangeChecksums::with_bounds(bounds);
        let mut buf = Vec::new();
        for item in self.scan_range(table, from, to)? {
            let (key, row) = item?;
            rc.add(&key, hasher.hash(&row, &mut buf));
        }
        Ok(rc)
    }

    /// Rows whose unique index holds `values`, or whose secondary index matches.
    pub fn index_lookup(&self, table: &str, index: &str, values: &[Value]) -> Result<Vec<Row>> {
        let e = self.entry(table)?;
        let unknown = || StoreError::UnknownTable(format!("{table}.{index}"));
        let (ix_no, cols, unique) = match e.unique_sets.iter().position(|(n, _)| n == index) {
            Some(i) => (i, e.unique_sets[i].1.clone(), true),
            None => {
                let (pos, ix) = e
                    .schema
                    .indexes
                    .iter()
                    .filter(|ix| !ix.unique)
                    .enumerate()
                    .find(|(_, ix)| ix.name == index)
                    .ok_or_else(unknown)?;
                let cols = ix
                    .columns
                    .iter()
                    .filter_map(|c| e.schema.column_index(c))
                    .collect();
                (e.unique_sets.len() + pos, cols, false)
            }
        };
        let Some(ix) = &e.index else {
            return Err(unknown());
        };
        let mut prefix = (ix_no as u16).to_be_bytes().to_vec();
        prefix.extend(encode_key(values));
        let matches = |row: &Row| {
            cols.len() == values.len()
                && cols
                    .iter()
                    .zip(values)
                    .all(|(&c, v)| encode_key([&row[c]]) == encode_key([v]))
        };
        let mut pks: Vec<Vec<u8>> = Vec::new();
        if unique {
            if let Some(v) = ix.get(keys::stored(&prefix).as_ref())? {
                pks.push(v.to_vec());
            }
        } else {
            let scan_prefix = &prefix[..prefix.len().min(keys::LONG_KEY)];
            for kv in ix.prefix(scan_prefix) {
                let (k, v) = kv.into_inner()?;
                let full: &[u8] = if keys::is_long(&k) { &v } else { &k };
                if let Some(pk) = full.strip_prefix(prefix.as_slice()) {
                    pks.push(pk.to_vec());
                }
            }
        }
        let mut out = Vec::new();
        for pk in pks {
            if let Some(row) = self.get_by_key(&e, &pk)? {
                if matches(&row) {
                    out.push(row);
                }
            }
        }
        Ok(out)
    }
}
