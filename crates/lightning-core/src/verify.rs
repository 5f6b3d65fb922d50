//! Verification: compare what a source holds with what the store holds, table by
//! table — counts, schema, a sample of rows value by value, and checksums over key
//! ranges that are narrowed down until the differing rows can be named. Only the
//! rows of differing ranges are ever held in memory.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Bound;

use crate::checksum::{RangeChecksums, RowHasher, TableChecksum};
use crate::keycode::{decode_rowid, encode_key, encode_rowid};
use crate::pipeline::SourceError;
use crate::progress::Progress;
use crate::report::{KeyDifference, TableVerification};
use crate::schema::TableSchema;
use crate::store::{RepairCounts, Store, StoreError};
use crate::value::{Row, Value};

/// A source that can be read again table by table, through the same type mapping
/// the migration used.
pub trait VerifySource: Sync {
    /// Visit every row of `table`, with its row id when the table has no primary key.
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError>;

    /// Source rows of `table` skipped by the last `scan` because they cannot be
    /// converted (a migration with `--on-error skip` set them aside).
    fn unconvertible(&self, _table: &str) -> u64 {
        0
    }
}

/// Rows of each table that a source's last scan skipped as unconvertible: what a
/// `VerifySource` keeps for `unconvertible`.
#[derive(Debug, Default)]
pub struct SkippedRows(std::sync::Mutex<std::collections::HashMap<String, u64>>);

impl SkippedRows {
    pub fn record(&self, table: &str, rows: u64) {
        self.0.lock().expect("lock").insert(table.to_string(), rows);
    }

    pub fn get(&self, table: &str) -> u64 {
        self.0
            .lock()
            .expect("lock")
            .get(table)
            .copied()
            .unwrap_or(0)
    }

    /// A scan for `VerifySource::scan`: `read` gives each row with its row id,
    /// converted or not; converted rows go on to `visit`, the others are counted
    /// as `table`'s once the read is done.
    pub fn scan<Bad>(
        &self,
        table: &str,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
        read: impl FnOnce(
            &mut dyn FnMut(Option<i64>, Result<Row, Bad>) -> Result<(), SourceError>,
        ) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let mut bad = 0u64;
        read(&mut |rowid, item| match item {
            Ok(row) => visit(rowid, row),
            Err(_) => {
                bad += 1;
                Ok(())
            }
        })?;
        self.record(table, bad);
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    #[error("reading the source table `{table}`: {error}")]
    Source { table: String, error: SourceError },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("table `{table}` cannot be repaired row by row ({reason}): copy it again with `migrate --fresh --tables {table}`")]
    Unrepairable { table: String, reason: String },
}

const RANGES: usize = 64;

/// Rows of the source read between two reports of a verification's progress.
const PROGRESS_EVERY: u64 = 10_000;
/// Differing ranges are split again while they hold more rows than this.
const FINE_ENOUGH: u64 = 2_000;
const MAX_LISTED: usize = 100;
const MAX_COLLECTED: usize = 200_000;
/// Source rows kept whole while naming keys, to say which columns differ.
const MAX_DETAILED: usize = 1_000;

type Range = (Bound<Vec<u8>>, Bound<Vec<u8>>);
/// The store key of a source row.
type KeyOf<'a> = dyn Fn(Option<i64>, &Row) -> Option<Vec<u8>> + 'a;

fn in_range(key: &[u8], r: &Range) -> bool {
    let lo_ok = match &r.0 {
        Bound::Included(lo) => key >= lo.as_slice(),
        Bound::Excluded(lo) => key > lo.as_slice(),
        Bound::Unbounded => true,
    };
    let hi_ok = match &r.1 {
        Bound::Excluded(hi) => key < hi.as_slice(),
        Bound::Included(hi) => key <= hi.as_slice(),
        Bound::Unbounded => true,
    };
    lo_ok && hi_ok
}

fn sub_ranges(r: &Range, bounds: &[Vec<u8>]) -> Vec<Range> {
    let mut out = Vec::with_capacity(bounds.len() + 1);
    let mut lo = r.0.clone();
    for b in bounds {
        out.push((lo, Bound::Excluded(b.clone())));
        lo = Bound::Included(b.clone());
    }
    out.push((lo, r.1.clone()));
    out
}

/// Rows laid out as one table's columns, taken into another's column order by
/// name: the target may keep the same columns in another order. Left as they are
/// when the orders are the same or the names differ (a schema difference).
struct Layout(Option<Vec<usize>>);

impl Layout {
    fn new(from: &TableSchema, to: &TableSchema) -> Self {
        let same = from
            .columns
            .iter()
            .map(|c| &c.name)
            .eq(to.columns.iter().map(|c| &c.name));
        if same || from.columns.len() != to.columns.len() {
            return Layout(None);
        }
        Layout(
            to.columns
                .iter()
                .map(|c| from.column_index(&c.name))
                .collect::<Option<Vec<_>>>(),
        )
    }

    fn apply(&self, mut row: Row) -> Row {
        match &self.0 {
            Some(from) if from.len() == row.len() => from
                .iter()
                .map(|&i| std::mem::replace(&mut row[i], Value::Null))
                .collect(),
            _ => row,
        }
    }
}

/// Compare the schema the source converts to with the one stored.
pub fn schema_differences(source: &TableSchema, target: &TableSchema) -> Vec<String> {
    let mut d = Vec::new();
    for c in &source.columns {
        match target.column(&c.name) {
            None => d.push(format!("column `{}` is missing in the target", c.name)),
            Some(t) => {
                if t.ty != c.ty {
                    d.push(format!(
                        "column `{}`: source maps to {}, target has {}",
                        c.name, c.ty, t.ty
                    ));
                }
                if t.nullable != c.nullable {
                    d.push(format!("column `{}`: nullability differs", c.name));
                }
            }
        }
    }
    for c in &target.columns {
        if source.column(&c.name).is_none() {
            d.push(format!("column `{}` exists only in the target", c.name));
        }
    }
    if source.primary_key != target.primary_key {
        d.push(format!(
            "primary key differs: source ({}) target ({})",
            source.primary_key.join(", "),
            target.primary_key.join(", ")
        ));
    }
    let names = |t: &TableSchema| {
        t.indexes
            .iter()
            .map(|i| (i.name.clone(), i.columns.clone(), i.unique))
            .collect::<Vec<_>>()
    };
    if names(source) != names(target) {
        d.push("indexes differ".into());
    }
    for c in &source.columns {
        if let Some(t) = target.column(&c.name) {
            if t.default != c.default {
                d.push(format!("column `{}`: default differs", c.name));
            }
        }
    }
    if source.uniques != target.uniques {
        d.push("unique constraints differ".into());
    }
    if source.checks != target.checks {
        d.push("check constraints differ".into());
    }
    if source.foreign_keys != target.foreign_keys {
        d.push("foreign keys differ".into());
    }
    d
}

/// The columns whose values differ between two rows, and the differences with
/// both values quoted.
fn describe_values(schema: &TableSchema, a: &Row, b: &Row) -> (String, Vec<String>) {
    let differing: Vec<_> = schema
        .columns
        .iter()
        .zip(a.iter().zip(b))
        .filter(|(_, (x, y))| format!("{x:?}") != format!("{y:?}"))
        .collect();
    let names = differing.iter().map(|(c, _)| c.name.clone()).collect();
    let diffs: Vec<String> = differing
        .into_iter()
        .map(|(c, (x, y))| {
            // Quoted, so that a difference in spaces or invisible characters shows.
            let t = |v: &Value| match v.to_text() {
                None => "NULL".to_string(),
                Some(s) if s.chars().count() > 40 => {
                    format!("{:?}…", s.chars().take(40).collect::<String>())
                }
                Some(s) => format!("{s:?}"),
            };
            format!("{}: source {} / target {}", c.name, t(x), t(y))
        })
        .collect();
    (diffs.join("; "), names)
}

/// The names of `columns` in the order of the table's columns.
fn in_table_order(schema: &TableSchema, columns: &BTreeSet<String>) -> Vec<String> {
    schema
        .columns
        .iter()
        .filter(|c| columns.contains(&c.name))
        .map(|c| c.name.clone())
        .collect()
}

/// Verify several tables, `parallel` at a time; results in the order given.
pub fn verify_tables(
    src: &dyn VerifySource,
    tables: &[TableSchema],
    store: &Store,
    sample: usize,
    parallel: usize,
    progress: &Progress,
) -> Result<Vec<TableVerification>, VerifyError> {
    let next = std::sync::atomic::AtomicUsize::new(0);
    let results: Vec<std::sync::Mutex<Option<Result<TableVerification, VerifyError>>>> =
        tables.iter().map(|_| std::sync::Mutex::new(None)).collect();
    std::thread::scope(|scope| {
        for _ in 0..parallel.clamp(1, tables.len().max(1)) {
            scope.spawn(|| loop {
                let i = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let Some(t) = tables.get(i) else { break };
                tracing::info!(table = %t.name, "verifying");
                progress.verifying(&t.name);
                let r = verify_table(src, t, store, sample, progress);
                if let Ok(v) = &r {
                    progress.verified(&t.name, v.equal);
                }
                let failed = r.is_err();
                *results[i].lock().expect("result slot") = Some(r);
                if failed {
                    next.store(tables.len(), std::sync::atomic::Ordering::Relaxed);
                }
            });
        }
    });
    let mut out = Vec::with_capacity(tables.len());
    for slot in results {
        if let Some(r) = slot.into_inner().expect("result slot") {
            out.push(r?);
        }
    }
    Ok(out)
}

/// Verify one table. `schema` is the source table as the tool converts it.
pub fn verify_table(
    src: &dyn VerifySource,
    schema: &TableSchema,
    store: &Store,
    sample: usize,
    progress: &Progress,
) -> Result<TableVerification, VerifyError> {
    let name = schema.name.clone();
    let source_err = |error| VerifyError::Source {
        table: name.clone(),
        error,
    };
    let target = match store.table(&schema.name) {
        Ok(t) => Some(t),
        Err(StoreError::UnknownTable(_)) => None,
        Err(e) => return Err(e.into()),
    };
    let key_positions = schema.key_positions();
    let keyed = !key_positions.is_empty();
    let key_of = |rowid: Option<i64>, row: &Row| -> Option<Vec<u8>> {
        if keyed {
            Some(encode_key(key_positions.iter().map(|&p| &row[p])))
        } else {
            rowid.map(encode_rowid)
        }
    };

    // Each side's rows are hashed as laid out by its own schema: by column name,
    // so the same columns in another order give the same checksums.
    let source_hasher = RowHasher::new(schema);
    let Some(target) = target else {
        let mut sum = TableChecksum::default();
        let mut buf = Vec::new();
        src.scan(schema, &mut |_, row| {
            sum.add(source_hasher.hash(&row, &mut buf));
            Ok(())
        })
        .map_err(source_err)?;
        return Ok(TableVerification {
            table: name.clone(),
            source_rows: sum.rows,
            target_rows: 0,
            schema_differences: vec!["table is missing in the target".into()],
            sampled_rows: 0,
            sample_mismatches: vec![],
            differing_columns: vec![],
            source_checksum: sum,
            target_checksum: TableChecksum::default(),
            differing_keys: vec![],
            differing_keys_truncated: false,
            equal: false,
        });
    };
    let schema_diffs = schema_differences(schema, &target);
    let target_rows = store.count(&name)?;
    let target_hasher = RowHasher::new(&target);
    let in_source_order = Layout::new(&target, schema);

    // Pass 1: the target and the source, read at the same time, into the same
    // ranges (cut evenly between the target's first and last key), sampling rows.
    let bounds = store.key_splits(&name, &Bound::Unbounded, &Bound::Unbounded, RANGES)?;
    let mut source_rc = RangeChecksums::with_bounds(bounds.clone());
    let mut source_sum = TableChecksum::default();
    let stride = (target_rows / sample.max(1) as u64).max(1);
    let mut sampled = 0u64;
    let mut mismatches = Vec::new();
    let mut columns = BTreeSet::new();
    let mut unkeyed = false;
    let mut buf = Vec::new();
    let mut target_buf = Vec::new();
    let mut seen = 0u64;
    let (target_rc, scanned) = std::thread::scope(|scope| {
        let target = scope.spawn(|| {
            store.checksums_for_bounds(&name, bounds, Bound::Unbounded, Bound::Unbounded)
        });
        let scanned = src.scan(schema, &mut |rowid, row| {
            let h = source_hasher.hash(&row, &mut buf);
            source_sum.add(h);
            match key_of(rowid, &row) {
                Some(k) => {
                    source_rc.add(&k, h);
                    if sample > 0 && seen.is_multiple_of(stride) && (sampled as usize) < sample {
                        sampled += 1;
                        let key_vals: Vec<Value> = if keyed {
                            key_positions.iter().map(|&p| row[p].clone()).collect()
                        } else {
                            vec![Value::Int(rowid.unwrap_or(0))]
                        };
                        match store
                            .get(&name, &key_vals)
                            .map_err(|e| Box::new(e) as SourceError)?
                        {
                            None => mismatches.push(format!(
                                "{}: missing in target",
                                describe(schema, rowid, &row)
                            )),
                            Some(t)
                                if format!("{t:?}") != format!("{row:?}")
                                    && target_hasher.hash(&t, &mut target_buf) != h =>
                            {
                                let t = in_source_order.apply(t);
                                let (diffs, names) = describe_values(schema, &row, &t);
                                columns.extend(names);
                                mismatches
                                    .push(format!("{}: {diffs}", describe(schema, rowid, &row)))
                            }
                            Some(_) => {}
                        }
                    }
                }
                None => unkeyed = true,
            }
            seen += 1;
            if seen.is_multiple_of(PROGRESS_EVERY) {
                progress.verified_rows(&name, seen);
            }
            Ok(())
        });
        (target.join().expect("the target's pass ends"), scanned)
    });
    scanned.map_err(source_err)?;
    let target_rc = target_rc?;
    let skipped = src.unconvertible(&name);
    if skipped > 0 {
        mismatches.push(format!("{skipped} source rows cannot be converted and are not in the target (see the reject file)"));
    }
    let mut target_sum = TableChecksum::default();
    for r in &target_rc.ranges {
        target_sum.merge(r);
    }

    let mut differing = Vec::new();
    let mut truncated = false;
    if source_sum != target_sum && !unkeyed {
        let (keys, more) = locate(
            src,
            schema,
            &target,
            store,
            &key_of,
            target_rc,
            source_rc,
            &mut columns,
        )
        .map_err(|e| match e {
            LocateError::Source(error) => VerifyError::Source {
                table: name.clone(),
                error,
            },
            LocateError::Store(e) => VerifyError::Store(e),
        })?;
        differing = keys;
        truncated = more;
    }
    let equal = schema_diffs.is_empty()
        && mismatches.is_empty()
        && source_sum == target_sum
        && source_sum.rows == target_rows;
    Ok(TableVerification {
        table: name,
        source_rows: source_sum.rows,
        target_rows,
        schema_differences: schema_diffs,
        sampled_rows: sampled,
        sample_mismatches: mismatches,
        differing_columns: in_table_order(schema, &columns),
        source_checksum: source_sum,
        target_checksum: target_sum,
        differing_keys: differing,
        differing_keys_truncated: truncated,
        equal,
    })
}

enum LocateError {
    Source(SourceError),
    Store(StoreError),
}

impl From<StoreError> for LocateError {
    fn from(e: StoreError) -> Self {
        LocateError::Store(e)
    }
}

/// A key range whose checksums differ, with the rows each side holds in it.
struct Suspect {
    range: Range,
    target_rows: u64,
    source_rows: u64,
}

/// Split differing ranges at the target's keys and checksum both sides again,
/// until each holds few rows (or four rounds have passed).
fn narrow(
    src: &dyn VerifySource,
    schema: &TableSchema,
    store: &Store,
    key_of: &KeyOf<'_>,
    target_rc: RangeChecksums,
    source_rc: RangeChecksums,
) -> Result<Vec<Suspect>, LocateError> {
    let name = &schema.name;
    let top: Range = (Bound::Unbounded, Bound::Unbounded);
    let mut suspects: Vec<Suspect> = sub_ranges(&top, &target_rc.bounds)
        .into_iter()
        .enumerate()
        .filter(|(i, _)| target_rc.ranges[*i] != source_rc.ranges[*i])
        .map(|(i, range)| Suspect {
            range,
            target_rows: target_rc.ranges[i].rows,
            source_rows: source_rc.ranges[i].rows,
        })
        .collect();
    for _round in 0..4 {
        if suspects.iter().all(|s| s.target_rows <= FINE_ENOUGH) {
            break;
        }
        // Split the big suspects by the target's keys; checksum both sides per piece.
        let mut kept = Vec::new();
        let mut pieces: Vec<(Range, TableChecksum, TableChecksum)> = Vec::new();
        for s in suspects.drain(..) {
            if s.target_rows <= FINE_ENOUGH {
                kept.push(s);
                continue;
            }
            let (lo, hi) = s.range.clone();
            let bounds = store.split_points(name, lo.clone(), hi.clone(), s.target_rows, RANGES)?;
            let rc = store.checksums_for_bounds(name, bounds.clone(), lo, hi)?;
            for (sub, t) in sub_ranges(&s.range, &bounds).into_iter().zip(rc.ranges) {
                pieces.push((sub, t, TableChecksum::default()));
            }
        }
        if pieces.is_empty() {
            suspects = kept;
            break;
        }
        let mut buf = Vec::new();
        let hasher = RowHasher::new(schema);
        src.scan(schema, &mut |rowid, row| {
            if let Some(k) = key_of(rowid, &row) {
                let i = pieces.partition_point(|(r, _, _)| match &r.1 {
                    Bound::Excluded(hi) => hi.as_slice() <= k.as_slice(),
                    _ => false,
                });
                if let Some(p) = pieces.get_mut(i) {
                    if in_range(&k, &p.0) {
                        p.2.add(hasher.hash(&row, &mut buf));
                    }
                }
            }
            Ok(())
        })
        .map_err(LocateError::Source)?;
        kept.extend(
            pieces
                .into_iter()
                .filter(|(_, t, s)| t != s)
                .map(|(range, t, s)| Suspect {
                    range,
                    target_rows: t.rows,
                    source_rows: s.rows,
                }),
        );
        suspects = kept;
    }
    Ok(suspects)
}

/// Narrow differing ranges down, then name the keys that differ (and add the
/// columns that differ to `columns`).
#[allow(clippy::too_many_arguments)]
fn locate(
    src: &dyn VerifySource,
    schema: &TableSchema,
    target: &TableSchema,
    store: &Store,
    key_of: &KeyOf<'_>,
    target_rc: RangeChecksums,
    source_rc: RangeChecksums,
    columns: &mut BTreeSet<String>,
) -> Result<(Vec<KeyDifference>, bool), LocateError> {
    let name = &schema.name;
    let suspects = narrow(src, schema, store, key_of, target_rc, source_rc)?;
    // Collect the source rows of the suspect ranges (the first ones whole, to say
    // which columns differ), then walk the target's.
    let mut source_rows: BTreeMap<Vec<u8>, (u128, String, Option<Row>)> = BTreeMap::new();
    let mut buf = Vec::new();
    let source_hasher = RowHasher::new(schema);
    let target_hasher = RowHasher::new(target);
    let in_source_order = Layout::new(target, schema);
    let mut overflow = false;
    src.scan(schema, &mut |rowid, row| {
        if let Some(k) = key_of(rowid, &row) {
            if suspects.iter().any(|s| in_range(&k, &s.range)) {
                if source_rows.len() >= MAX_COLLECTED {
                    overflow = true;
                } else {
                    let desc = describe(schema, rowid, &row);
                    let h = source_hasher.hash(&row, &mut buf);
                    let whole = (source_rows.len() < MAX_DETAILED).then_some(row);
                    source_rows.insert(k, (h, desc, whole));
                }
            }
        }
        Ok(())
    })
    .map_err(LocateError::Source)?;
    let mut out = Vec::new();
    let mut more = overflow;
    for s in &suspects {
        for item in store.scan_range(name, s.range.0.clone(), s.range.1.clone())? {
            let (k, row) = item?;
            let h = target_hasher.hash(&row, &mut buf);
            let row = in_source_order.apply(row);
            let rowid = if keyed(schema) {
                None
            } else {
                decode_rowid(&k)
            };
            let diff = match source_rows.remove(&k) {
                None => Some(KeyDifference {
                    key: describe(schema, rowid, &row),
                    kind: "extra_in_target",
                    columns: None,
                }),
                Some((sh, desc, whole)) if sh != h => Some(KeyDifference {
                    key: desc,
                    kind: "values_differ",
                    columns: whole.map(|s| {
                        let (diffs, names) = describe_values(schema, &s, &row);
                        columns.extend(names);
                        diffs
                    }),
                }),
                Some(_) => None,
            };
            if let Some(d) = diff {
                if out.len() < MAX_LISTED {
                    out.push(d);
                } else {
                    more = true;
                }
            }
        }
    }
    for (_, (_, desc, _)) in source_rows {
        if out.len() < MAX_LISTED {
            out.push(KeyDifference {
                key: desc,
                kind: "missing_in_target",
                columns: None,
            });
        } else {
            more = true;
        }
    }
    Ok((out, more))
}

/// Rows a repair holds in memory at most: beyond, the differing ranges are
/// replaced whole (their target rows deleted, the source's written again).
const REPAIR_IN_MEMORY: u64 = 200_000;
/// Rows per atomic commit of a repair.
const REPAIR_COMMIT: usize = 10_000;

/// Make the target's `schema.name` equal to what `src` holds, changing only the
/// rows of the key ranges whose checksums differ. Each commit is atomic; the
/// caller keeps the table marked for a repair until this returns, so an
/// interrupted repair is done again.
pub fn repair_table(
    src: &dyn VerifySource,
    schema: &TableSchema,
    store: &Store,
) -> Result<RepairCounts, VerifyError> {
    let name = schema.name.clone();
    let source_err = |error| VerifyError::Source {
        table: name.clone(),
        error,
    };
    let target = store.table(&name)?;
    let diffs = schema_differences(schema, &target);
    if !diffs.is_empty() {
        return Err(VerifyError::Unrepairable {
            table: name.clone(),
            reason: diffs.join("; "),
        });
    }
    let key_positions = schema.key_positions();
    let keyed = !key_positions.is_empty();
    let key_of = |rowid: Option<i64>, row: &Row| -> Option<Vec<u8>> {
        if keyed {
            Some(encode_key(key_positions.iter().map(|&p| &row[p])))
        } else {
            rowid.map(encode_rowid)
        }
    };
    // Hashed by column name on both sides; source rows are written in the
    // target's column order.
    let source_hasher = RowHasher::new(schema);
    let target_hasher = RowHasher::new(&target);
    let in_target_order = Layout::new(schema, &target);
    let target_rc = store.range_checksums(&name, RANGES)?;
    let mut source_rc = RangeChecksums::with_bounds(target_rc.bounds.clone());
    let mut buf = Vec::new();
    let mut unkeyed = false;
    src.scan(schema, &mut |rowid, row| {
        match key_of(rowid, &row) {
            Some(k) => source_rc.add(&k, source_hasher.hash(&row, &mut buf)),
            None => unkeyed = true,
        }
        Ok(())
    })
    .map_err(source_err)?;
    if unkeyed {
        return Err(VerifyError::Unrepairable {
            table: name.clone(),
            reason: "the source gives its rows no key".into(),
        });
    }
    if target_rc.ranges == source_rc.ranges {
        return Ok(RepairCounts::default());
    }
    let suspects =
        narrow(src, schema, store, &key_of, target_rc, source_rc).map_err(|e| match e {
            LocateError::Source(error) => VerifyError::Source {
                table: name.clone(),
                error,
            },
            LocateError::Store(e) => VerifyError::Store(e),
        })?;
    let held: u64 = suspects.iter().map(|s| s.source_rows + s.target_rows).sum();
    let mut done = RepairCounts::default();
    if held <= REPAIR_IN_MEMORY {
        // Both sides of the suspect ranges in memory: change only what differs.
        let mut wanted: BTreeMap<Vec<u8>, (Option<i64>, Row, u128)> = BTreeMap::new();
        src.scan(schema, &mut |rowid, row| {
            if let Some(k) = key_of(rowid, &row) {
                if suspects.iter().any(|s| in_range(&k, &s.range)) {
                    let h = source_hasher.hash(&row, &mut buf);
                    wanted.insert(k, (rowid, in_target_order.apply(row), h));
                }
            }
            Ok(())
        })
        .map_err(source_err)?;
        let mut deletes = Vec::new();
        let mut puts = Vec::new();
        for s in &suspects {
            for item in store.scan_range(&name, s.range.0.clone(), s.range.1.clone())? {
                let (k, row) = item?;
                match wanted.remove(&k) {
                    None => deletes.push(k),
                    Some((rowid, r, h)) if h != target_hasher.hash(&row, &mut buf) => {
                        puts.push((rowid, r))
                    }
                    Some(_) => {}
                }
            }
        }
        puts.extend(wanted.into_values().map(|(rowid, r, _)| (rowid, r)));
        for chunk in deletes.chunks(REPAIR_COMMIT) {
            done.add(&store.apply(&name, Vec::new(), chunk)?);
        }
        while !puts.is_empty() {
            let rest = puts.split_off(puts.len().min(REPAIR_COMMIT));
            done.add(&store.apply(&name, std::mem::replace(&mut puts, rest), &[])?);
        }
    } else {
        // Too much to hold: replace the suspect ranges whole, in bounded commits.
        let mut deletes = Vec::new();
        for s in &suspects {
            for item in store.scan_range(&name, s.range.0.clone(), s.range.1.clone())? {
                deletes.push(item?.0);
                if deletes.len() >= REPAIR_COMMIT {
                    done.add(&store.apply(&name, Vec::new(), &deletes)?);
                    deletes.clear();
                }
            }
        }
        done.add(&store.apply(&name, Vec::new(), &deletes)?);
        let mut puts = Vec::new();
        let mut failed: Option<StoreError> = None;
        src.scan(schema, &mut |rowid, row| {
            if let Some(k) = key_of(rowid, &row) {
                if suspects.iter().any(|s| in_range(&k, &s.range)) {
                    puts.push((rowid, in_target_order.apply(row)));
                    if puts.len() >= REPAIR_COMMIT {
                        match store.apply(&name, std::mem::take(&mut puts), &[]) {
                            Ok(c) => done.add(&c),
                            Err(e) => {
                                failed = Some(e);
                                return Err("repair stopped".into());
                            }
                        }
                    }
                }
            }
            Ok(())
        })
        .or_else(|e| if failed.is_some() { Ok(()) } else { Err(e) })
        .map_err(source_err)?;
        if let Some(e) = failed {
            return Err(e.into());
        }
        done.add(&store.apply(&name, puts, &[])?);
    }
    Ok(done)
}

fn keyed(schema: &TableSchema) -> bool {
    !schema.primary_key.is_empty()
}

fn describe(schema: &TableSchema, rowid: Option<i64>, row: &Row) -> String {
    schema.describe_key(rowid, row)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::schema::ColumnSchema;
    use crate::store::{BadRows, BatchRow, WriteMode};
    use crate::types::LightningType;

    /// The source side as plain rows: the algorithm under test is the generic one.
    struct Rows(Vec<Row>);

    /// Store `rows` in `table`, in one batch.
    fn insert(store: &Store, table: &str, rows: &[Row]) {
        let table: Arc<str> = Arc::from(table);
        let batch = rows
            .iter()
            .map(|r| BatchRow {
                table: table.clone(),
                rowid: None,
                row: r.clone(),
            })
            .collect();
        store
            .write_batch(batch, &[], BadRows::Abort, WriteMode::Insert)
            .unwrap();
    }

    impl VerifySource for Rows {
        fn scan(
            &self,
            _t: &TableSchema,
            visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
        ) -> Result<(), SourceError> {
            // Any order: the checksums must not care.
            for r in self.0.iter().rev() {
                visit(None, r.clone())?;
            }
            Ok(())
        }
    }

    #[test]
    fn differences_in_a_large_table_are_narrowed_down_to_their_keys() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_or_open(dir.path().join("v.ldb")).unwrap();
        let mut t = TableSchema::new("t");
        let mut id = ColumnSchema::new("id", LightningType::BigInt);
        id.nullable = false;
        t.columns = vec![id, ColumnSchema::new("v", LightningType::Text)];
        t.primary_key = vec!["id".into()];
        store.create_table(&t).unwrap();
        let n = 200_000i64; // enough for the ranges to be split again
        let rows: Vec<Row> = (0..n)
            .map(|i| vec![Value::Int(i * 3), Value::Text(format!("v{i}"))])
            .collect();
        for chunk in rows.chunks(20_000) {
            insert(&store, "t", chunk);
        }
        let mut source = rows.clone();
        source[123_456][1] = Value::Text("changed".into());
        source.remove(77_777);
        source.push(vec![Value::Int(1), Value::Text("new".into())]);

        let same = verify_table(&Rows(rows), &t, &store, 100, &Progress::hidden()).unwrap();
        assert!(same.equal && same.differing_keys.is_empty(), "{same:?}");
        let r = verify_table(&Rows(source), &t, &store, 0, &Progress::hidden()).unwrap();
        assert!(!r.equal);
        assert!(same.differing_columns.is_empty());
        assert_eq!(
            r.differing_columns,
            ["v"],
            "named where the keys are located"
        );
        let mut found: Vec<(&str, String)> = r
            .differing_keys
            .iter()
            .map(|d| (d.kind, d.key.clone()))
            .collect();
        found.sort();
        assert_eq!(
            found,
            vec![
                ("extra_in_target", "id=233331".to_string()),
                ("missing_in_target", "id=1".to_string()),
                ("values_differ", "id=370368".to_string()),
            ]
        );
    }

    #[test]
    fn differing_values_are_quoted_and_named_by_column() {
        let mut t = TableSchema::new("people");
        t.columns = vec![
            ColumnSchema::new("id", LightningType::BigInt),
            ColumnSchema::new("city", LightningType::Text),
            ColumnSchema::new("note", LightningType::Text),
            ColumnSchema::new("bio", LightningType::Text),
        ];
        let long = "x".repeat(100);
        let source = vec![
            Value::Int(1),
            Value::Text("Edinburgh ".into()),
            Value::Null,
            Value::Text(format!("{long}a")),
        ];
        let target = vec![
            Value::Int(1),
            Value::Text("Edinburgh".into()),
            Value::Text(String::new()),
            Value::Text(format!("{long}b")),
        ];
        let x40 = "x".repeat(40);
        let (text, names) = describe_values(&t, &source, &target);
        assert_eq!(
            text,
            format!(
                "city: source \"Edinburgh \" / target \"Edinburgh\"; note: source NULL / target \"\"; bio: source \"{x40}\"… / target \"{x40}\"…"
            )
        );
        assert_eq!(names, ["city", "note", "bio"]);
        assert_eq!(
            describe_values(&t, &source, &source),
            (String::new(), vec![])
        );
    }

    #[test]
    fn the_same_columns_in_another_order_verify_equal_and_repair_in_place() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_or_open(dir.path().join("order.ldb")).unwrap();
        let mut id = ColumnSchema::new("id", LightningType::BigInt);
        id.nullable = false;
        let v = ColumnSchema::new("v", LightningType::Text);
        let w = ColumnSchema::new("w", LightningType::Double);
        let mut target = TableSchema::new("t");
        target.columns = vec![id.clone(), v.clone(), w.clone()];
        target.primary_key = vec!["id".into()];
        store.create_table(&target).unwrap();
        let stored: Vec<Row> = (0..5_000i64)
            .map(|i| {
                vec![
                    Value::Int(i),
                    Value::Text(format!("v{i}")),
                    Value::Double(i as f64 / 4.0),
                ]
            })
            .collect();
        insert(&store, "t", &stored);
        // The source converts to the same columns in another order: (w, id, v).
        let mut source_schema = target.clone();
        source_schema.columns = vec![w, id, v];
        let in_source_order = |r: &Row| vec![r[2].clone(), r[0].clone(), r[1].clone()];
        let mut source: Vec<Row> = stored.iter().map(in_source_order).collect();

        let same = verify_table(
            &Rows(source.clone()),
            &source_schema,
            &store,
            100,
            &Progress::hidden(),
        )
        .unwrap();
        assert!(same.equal, "{same:?}");
        assert!(same.sample_mismatches.is_empty() && same.sampled_rows > 0);
        assert_eq!(same.source_checksum, store.checksum("t").unwrap());

        source[4_321][2] = Value::Text("changed".into());
        let r = verify_table(
            &Rows(source.clone()),
            &source_schema,
            &store,
            0,
            &Progress::hidden(),
        )
        .unwrap();
        assert!(!r.equal);
        assert_eq!(r.differing_columns, ["v"]);
        assert_eq!(r.differing_keys.len(), 1, "{r:?}");
        assert_eq!(r.differing_keys[0].key, "id=4321");
        assert_eq!(
            r.differing_keys[0].columns.as_deref(),
            Some("v: source \"changed\" / target \"v4321\"")
        );
        let counts = repair_table(&Rows(source.clone()), &source_schema, &store).unwrap();
        assert_eq!(counts.updated, 1, "{counts:?}");
        // Written in the target's own column order.
        assert_eq!(
            store.get("t", &[Value::Int(4_321)]).unwrap().unwrap(),
            vec![
                Value::Int(4_321),
                Value::Text("changed".into()),
                Value::Double(4_321.0 / 4.0)
            ]
        );
        let again = verify_table(
            &Rows(source),
            &source_schema,
            &store,
            100,
            &Progress::hidden(),
        )
        .unwrap();
        assert!(again.equal, "{again:?}");
    }

    #[test]
    fn long_keys_are_verified_and_repaired_by_key_range() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::create_or_open(dir.path().join("long.ldb")).unwrap();
        let mut t = TableSchema::new("docs");
        let mut k = ColumnSchema::new("k", LightningType::Text);
        k.nullable = false;
        t.columns = vec![k, ColumnSchema::new("v", LightningType::Text)];
        t.primary_key = vec!["k".into()];
        store.create_table(&t).unwrap();
        // Every key shares its first 2,000 bytes: all are stored as the same
        // prefix and a hash, and the ranges are cut at long keys.
        let head = "k".repeat(2_000);
        let key = |i: usize| format!("{head}{i:05}");
        let rows: Vec<Row> = (0..3_000)
            .map(|i| vec![Value::Text(key(i)), Value::Text(format!("v{i}"))])
            .collect();
        insert(&store, "docs", &rows);
        let mut source = rows.clone();
        source[2_500][1] = Value::Text("changed".into());
        source.remove(1_234);
        source.remove(17);
        source.push(vec![Value::Text(head.clone()), Value::Text("new".into())]);
        source.push(vec![Value::Text(key(99_999)), Value::Text("new".into())]);

        let r = verify_table(&Rows(source.clone()), &t, &store, 0, &Progress::hidden()).unwrap();
        assert!(!r.equal);
        let mut kinds: Vec<(&str, usize)> = r
            .differing_keys
            .iter()
            .map(|d| (d.kind, d.key.len()))
            .collect();
        kinds.sort();
        assert_eq!(
            kinds,
            vec![
                ("extra_in_target", 2_007),
                ("extra_in_target", 2_007),
                ("missing_in_target", 2_002),
                ("missing_in_target", 2_007),
                ("values_differ", 2_007),
            ]
        );
        let counts = repair_table(&Rows(source.clone()), &t, &store).unwrap();
        assert_eq!(
            counts,
            RepairCounts {
                inserted: 2,
                updated: 1,
                deleted: 2
            }
        );
        let again = verify_table(&Rows(source), &t, &store, 100, &Progress::hidden()).unwrap();
        assert!(again.equal, "{again:?}");
        assert_eq!(store.count("docs").unwrap(), 3_000);
        assert!(store.check().healthy);
    }
}
