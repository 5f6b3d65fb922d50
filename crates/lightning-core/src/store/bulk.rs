//! Bulk loading: rows written straight into the engine's table files.
//!
//! When a batch's keys for a table fall in a span where the table holds no key (a
//! table that starts empty, or a source read in key order), its rows need no
//! duplicate lookup against the table and no trip through the journal and the
//! in-memory tables: they are sorted, checked against each other, and handed to
//! the engine as a new table file (an ingestion), visible all at once.
//!
//! An ingestion is not part of the commit that holds its checkpoint, so it is
//! announced first: an intent in `meta` names each table's span. If the process
//! dies before the commit removes the intent, the next open deletes whatever the
//! spans hold (only this batch's rows can be there), and the copy resumes from the
//! checkpoint before it, exactly once.

use std::collections::{HashMap, HashSet};

use fjall::PersistMode;
use serde::{Deserialize, Serialize};

use super::{keys, meta_key, Result, Store, TableEntry};
use crate::rowcodec::decode_row;
use crate::value::Row;

/// A table's rows in a batch go in bulk when there are at least this many: an
/// ingestion makes a table file and syncs the engine's version, which costs more
/// than a few inserts.
pub(super) const MIN_ROWS: usize = 256;

/// One row bound for an ingestion: stored key, encoded row, place in the batch,
/// and its secondary index entries (stored key, value), which go with the commit.
pub(super) struct BulkRow {
    pub key: Vec<u8>,
    pub value: Vec<u8>,
    pub order: u32,
    pub index: Vec<(Vec<u8>, Vec<u8>)>,
}

/// The spans an ingestion is about to fill, by table id.
#[derive(Serialize, Deserialize)]
struct Intent {
    tables: Vec<(u32, Vec<u8>, Vec<u8>)>,
}

/// The keys a batch holds for one table.
struct Span<'a> {
    entry: &'a TableEntry,
    rows: usize,
    lo: &'a [u8],
    hi: &'a [u8],
    short: bool,
}

/// Which tables of a batch go in bulk: keyed rows (`Ok`) whose stored keys are all
/// short and whose span holds no key in the table, with enough of them.
pub(super) fn eligible<'e>(
    rows: impl Iterator<Item = (&'e TableEntry, &'e std::result::Result<Vec<u8>, String>)>,
) -> Result<HashSet<u32>> {
    let mut spans: HashMap<u32, Span<'e>> = HashMap::new();
    for (entry, key) in rows {
        let Ok(key) = key else { continue };
        let span = spans.entry(entry.id).or_insert(Span {
            entry,
            rows: 0,
            lo: key,
            hi: key,
            short: true,
        });
        span.rows += 1;
        span.lo = span.lo.min(key.as_slice());
        span.hi = span.hi.max(key.as_slice());
        span.short &= !keys::is_long(key);
    }
    let mut out = HashSet::new();
    for (id, span) in spans {
        // A unique value needs its lookups anyway.
        if span.rows < MIN_ROWS || !span.short || !span.entry.unique_sets.is_empty() {
            continue;
        }
        if span.entry.rows.range(span.lo..=span.hi).next().is_none() {
            out.insert(id);
        }
    }
    Ok(out)
}

/// A row of a batch refused because an earlier row of it has its key.
pub(super) struct Duplicate<'c> {
    pub entry: &'c TableEntry,
    pub order: u32,
    pub key: Vec<u8>,
    pub row: Row,
}

/// Sort a table's bulk rows by key; rows whose key an earlier row of the batch
/// has are taken out and returned (with their place in the batch), decoded.
pub(super) fn settle<'c>(
    store: &Store,
    entry: &'c TableEntry,
    rows: &mut Vec<BulkRow>,
) -> Result<Vec<Duplicate<'c>>> {
    if rows.windows(2).all(|w| w[0].key < w[1].key) {
        return Ok(Vec::new());
    }
    if scattered(rows) {
        store
            .scattered
            .lock()
            .expect("scattered tables")
            .insert(entry.id);
    }
    rows.sort_by(|a, b| a.key.cmp(&b.key).then(a.order.cmp(&b.order)));
    let mut dups = Vec::new();
    let mut kept: Vec<BulkRow> = Vec::with_capacity(rows.len());
    for r in rows.drain(..) {
        if kept.last().is_some_and(|k| k.key == r.key) {
            let row = decode_row(&r.value).map_err(|x| store.corrupt(x))?;
            dups.push(Duplicate {
                entry,
                order: r.order,
                key: r.key,
                row,
            });
        } else {
            kept.push(r);
        }
    }
    *rows = kept;
    Ok(dups)
}

/// Whether most keys of the batch's second half (in the order they came) fall
/// within the first half's span: keys in hash order, whose next batches will fall
/// among these, not an ordered source's few late rows.
fn scattered(rows: &[BulkRow]) -> bool {
    let (first, second) = rows.split_at(rows.len() / 2);
    let (Some(lo), Some(hi)) = (
        first.iter().map(|r| &r.key).min(),
        first.iter().map(|r| &r.key).max(),
    ) else {
        return false;
    };
    let within = second
        .iter()
        .filter(|r| (lo..=hi).contains(&&r.key))
        .count();
    within * 2 > second.len()
}

impl Store {
    /// Write each table's sorted rows as new table files, after recording the
    /// intent (made durable first). The caller's commit must remove the intent.
    pub(super) fn ingest(
        &self,
        by_id: &HashMap<u32, &TableEntry>,
        bulk: HashMap<u32, Vec<BulkRow>>,
    ) -> Result<Option<Vec<u8>>> {
        let bulk: Vec<(u32, Vec<BulkRow>)> =
            bulk.into_iter().filter(|(_, r)| !r.is_empty()).collect();
        if bulk.is_empty() {
            return Ok(None);
        }
        let intent = Intent {
            tables: bulk
                .iter()
                .map(|(id, rows)| {
                    let first = rows.first().expect("rows").key.clone();
                    let last = rows.last().expect("rows").key.clone();
                    (*id, first, last)
                })
                .collect(),
        };
        let key = meta_key("ingest", b"");
        self.meta
            .insert(
                &key,
                serde_json::to_vec(&intent).expect("intent serializes"),
            )
            .map_err(|e| self.write_error(e))?;
        self.db
            .persist(PersistMode::Buffer)
            .map_err(|e| self.write_error(e))?;
        for (id, rows) in bulk {
            let e = by_id[&id];
            let mut ingestion = e.rows.start_ingestion().map_err(|x| self.write_error(x))?;
            for r in rows {
                ingestion
                    .write(r.key, r.value)
                    .map_err(|x| self.write_error(x))?;
            }
            ingestion.finish().map_err(|x| self.write_error(x))?;
        }
        crate::fault::point("ingested");
        Ok(Some(key))
    }

    /// Undo an ingestion whose commit did not happen: its spans held no key
    /// before it, so whatever they hold now is its rows.
    pub(super) fn undo_ingestion(&self) -> Result<()> {
        let key = meta_key("ingest", b"");
        let Some(v) = self.meta.get(&key)? else {
            return Ok(());
        };
        let intent: Intent = serde_json::from_slice(&v)
            .map_err(|e| self.corrupt(format!("an unfinished bulk load's record: {e}")))?;
        let entries = self.entries();
        let mut batch = self.db.batch();
        let mut undone = 0u64;
        for (id, first, last) in &intent.tables {
            let Some(e) = entries.iter().find(|e| e.id == *id) else {
                continue;
            };
            for kv in e.rows.range(first.as_slice()..=last.as_slice()) {
                batch.remove(&e.rows, kv.key()?);
                undone += 1;
            }
        }
        batch.remove(&self.meta, key);
        batch.commit().map_err(|e| self.write_error(e))?;
        tracing::info!(
            rows = undone,
            "rows of a bulk load cut short were removed; the copy resumes before them"
        );
        Ok(())
    }
}
