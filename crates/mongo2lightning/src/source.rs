//! Documents read into rows for the copy and the verification, from a live
//! database or from files; and whole documents compared with those rebuilt from
//! the store.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use bson::{doc, Bson, Document, Timestamp};
use lightning_core::checksum::TableChecksum;
use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::report::{KeyDifference, TableVerification};
use lightning_core::store::{Checkpoint, Store};
use lightning_core::value::{Row, Value};
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::TableSchema;
use xxhash_rust::xxh3::xxh3_128;

use crate::files::{self, DocumentFile, FileError};
use crate::kind::{canonical_text, json_text, parse_json_text};
use crate::live::{DriverError, Live};
use crate::rows::Plan;

/// Where the documents come from.
pub enum Origin {
    Live(Live),
    /// One file per collection, and the identity of their content.
    Files {
        files: Vec<DocumentFile>,
        content_id: String,
    },
}

pub struct MongoSource {
    origin: Origin,
    plans: Vec<Plan>,
    /// `--where` filters by collection (live only).
    filters: HashMap<String, Document>,
    parallel: usize,
    skipped: SkippedRows,
    /// Values kept in `_extra` because no column held them, by table.
    extras: Vec<AtomicU64>,
    /// The point in time each collection is read at (live), once its first reader
    /// has asked; `None` where the server gives no snapshot reads.
    snapshots: Mutex<HashMap<String, Option<Timestamp>>>,
}

/// Collections with more documents than this are read in `_id` ranges.
const SPLIT_ABOVE: u64 = 100_000;
/// Documents per range when a collection is split.
const RANGE_DOCS: u64 = 250_000;
/// Times a partition's reading is tried again after its connection failed.
const RETRIES: u32 = 3;
/// Differing documents named in a verification.
const MAX_LISTED: usize = 100;

/// `SPLIT_ABOVE`, which debug builds take from `MONGO2LIGHTNING_SPLIT_ABOVE` when
/// it is set (the tests split small collections).
fn split_above() -> u64 {
    #[cfg(debug_assertions)]
    if let Some(n) = std::env::var("MONGO2LIGHTNING_SPLIT_ABOVE")
        .ok()
        .and_then(|v| v.parse().ok())
    {
        return n;
    }
    SPLIT_ABOVE
}

impl MongoSource {
    pub fn new(
        origin: Origin,
        plans: Vec<Plan>,
        filters: HashMap<String, Document>,
        parallel: usize,
    ) -> Self {
        let tables: usize = plans.iter().map(|p| p.tables.len()).sum();
        MongoSource {
            origin,
            plans,
            filters,
            parallel,
            skipped: SkippedRows::default(),
            extras: (0..tables).map(|_| AtomicU64::new(0)).collect(),
            snapshots: Mutex::new(HashMap::new()),
        }
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.plans.iter().flat_map(|p| p.schemas()).collect()
    }

    fn plan_of_table(&self, table: &str) -> Option<(usize, usize)> {
        self.plans.iter().enumerate().find_map(|(i, p)| {
            p.tables
                .iter()
                .position(|t| &*t.name == table)
                .map(|t| (i, t))
        })
    }

    /// Index of a plan's first table among all tables (for `extras`).
    fn table_base(&self, plan: usize) -> usize {
        self.plans[..plan].iter().map(|p| p.tables.len()).sum()
    }

    /// Visit the documents of a collection in source order (`_id` order live).
    fn each_document(
        &self,
        plan: &Plan,
        extra_filter: Option<Document>,
        at: Option<Timestamp>,
        visit: &mut dyn FnMut(Document) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        match &self.origin {
            Origin::Live(live) => {
                let mut filter = self
                    .filters
                    .get(&plan.collection)
                    .cloned()
                    .unwrap_or_default();
                if let Some(f) = extra_filter {
                    filter = if filter.is_empty() {
                        f
                    } else {
                        doc! {"$and": [filter, f]}
                    };
                }
                live.find(&plan.collection, filter, at, visit)
            }
            Origin::Files { files, .. } => {
                let file = files
                    .iter()
                    .find(|f| f.collection == plan.collection)
                    .ok_or("no file for the collection")?;
                files::read(file, files::open(file)?, visit)
            }
        }
    }

    /// The point in time every reader of a collection reads it at.
    fn snapshot_of(&self, collection: &str) -> Option<Timestamp> {
        let Origin::Live(live) = &self.origin else {
            return None;
        };
        let mut known = self.snapshots.lock().expect("snapshots");
        *known.entry(collection.to_string()).or_insert_with(|| {
            let at = live.snapshot_point(collection);
            if at.is_none() {
                tracing::warn!(
                    "the server gives no snapshot reads (a standalone server?): each document of `{collection}` is read as it is when read"
                );
            }
            at
        })
    }

    /// Back to zero: what the notes count, of the reads so far.
    pub fn forget_counts(&self) {
        for n in &self.extras {
            n.store(0, Ordering::Relaxed);
        }
    }

    /// Notes for the migration report: values kept in `_extra`.
    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let mut i = 0;
        for p in &self.plans {
            for t in &p.tables {
                let n = self.extras[i].load(Ordering::Relaxed);
                if n > 0 {
                    out.push(format!(
                        "{}: {n} rows keep values in `_extra` (fields the mapping does not name, values of another type than their column, explicit nulls)",
                        t.name
                    ));
                }
                i += 1;
            }
        }
        out
    }
}

fn is_refused(e: &SourceError) -> bool {
    e.downcast_ref::<DriverError>()
        .is_some_and(DriverError::is_refused)
}

/// Whether an error is the connection's (worth trying again), not the data's.
fn is_connection_error(e: &SourceError) -> bool {
    e.downcast_ref::<DriverError>()
        .is_some_and(DriverError::is_connection)
}

/// A partition's `_id` range, as its spec holds it (canonical Extended JSON).
#[derive(serde::Serialize, serde::Deserialize, Default)]
struct Range {
    #[serde(skip_serializing_if = "Option::is_none")]
    from: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    to: Option<String>,
}

impl Source for MongoSource {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        let mut out = Vec::new();
        for p in &self.plans {
            let table = p.tables[0].name.clone();
            let whole = |estimated_rows| Partition {
                id: table.to_string(),
                table: table.clone(),
                estimated_rows,
                spec: serde_json::to_string(&Range::default()).expect("range"),
            };
            match &self.origin {
                Origin::Live(live) => {
                    let count = live.count(&p.collection)?;
                    let points = if count > split_above()
                        && self.parallel > 1
                        && !self.filters.contains_key(&p.collection)
                    {
                        live.split_points(
                            &p.collection,
                            count,
                            // Ranges enough for every reader to have work to the end.
                            count.div_ceil(RANGE_DOCS).max(2 * self.parallel as u64),
                        )?
                    } else {
                        Vec::new()
                    };
                    let rows = (count as f64 * p.rows_per_document) as u64;
                    if points.is_empty() {
                        out.push(whole(rows));
                        continue;
                    }
                    let parts = points.len() as u64 + 1;
                    let mut from: Option<String> = None;
                    for (i, point) in points.iter().map(Some).chain([None]).enumerate() {
                        let to = point.map(canonical_text);
                        out.push(Partition {
                            id: format!("{table}#{i}"),
                            table: table.clone(),
                            estimated_rows: rows / parts,
                            spec: serde_json::to_string(&Range {
                                from: from.clone(),
                                to: to.clone(),
                            })
                            .expect("range"),
                        });
                        from = to;
                    }
                }
                Origin::Files { .. } => out.push(whole(
                    (p.documents.unwrap_or(0) as f64 * p.rows_per_document) as u64,
                )),
            }
        }
        Ok(out)
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        let (pi, _) = self
            .plan_of_table(&partition.table)
            .ok_or("partition of an unknown table")?;
        let plan = &self.plans[pi];
        let base = self.table_base(pi);
        let range: Range = serde_json::from_str(&partition.spec)?;
        let mut bounds = Document::new();
        if let Some(from) = &range.from {
            bounds.insert("$gte", parse_json_text(from)?);
        }
        if let Some(to) = &range.to {
            bounds.insert("$lt", parse_json_text(to)?);
        }
        let position = resume.and_then(|c| c.position.as_deref());
        // One point in time for every reader of the collection, where the server
        // keeps one.
        let mut at = self.snapshot_of(&plan.collection);
        // The last `_id` read: reading goes on after it (a checkpoint's, then the
        // last one read before a dropped connection).
        let mut last: Option<Bson> = None;
        match (&self.origin, position) {
            (Origin::Live(_), Some(after)) => last = Some(parse_json_text(after)?),
            (Origin::Files { .. }, _) => out.skip_records(resume.map_or(0, |c| c.rows)),
            _ => {}
        }
        let live = matches!(self.origin, Origin::Live(_));
        let mut attempt = 0;
        loop {
            let mut filters = Vec::new();
            if !bounds.is_empty() {
                filters.push(doc! {"_id": bounds.clone()});
            }
            if let Some(id) = &last {
                filters.push(ids_after(id.clone()));
            }
            let filter = match filters.len() {
                0 => None,
                1 => filters.pop(),
                _ => Some(doc! {"$and": filters}),
            };
            let result = self.each_document(plan, filter, at, &mut |d| {
                let mut extra = vec![false; plan.tables.len()];
                let result = plan.rows(&d, &mut |t, row: Row| {
                    if !row.last().is_none_or(Value::is_null) {
                        extra[t] = true;
                    }
                    out.row(&plan.tables[t].name, None, row)
                });
                match result {
                    Ok(()) => {
                        for (t, had) in extra.iter().enumerate() {
                            if *had {
                                self.extras[base + t].fetch_add(1, Ordering::Relaxed);
                            }
                        }
                    }
                    Err(bad) => out.reject(
                        &plan.tables[0].name,
                        bad.key,
                        bad.reason,
                        vec![Value::Json(json_text(&Bson::Document(d.clone())))],
                    ),
                }
                let id = d.get("_id").cloned();
                last.clone_from(&id);
                out.end_record(|| {
                    if live {
                        id.as_ref().map(canonical_text)
                    } else {
                        None
                    }
                })
            });
            match result {
                Err(e) if at.is_some() && is_refused(&e) => {
                    // Go on reading the documents as they are now; the table is
                    // brought level with the source after the copy.
                    tracing::warn!(table = %partition.table, "{e}: reading on without the snapshot");
                    out.snapshot_changed();
                    at = None;
                }
                Err(e) if live && attempt < RETRIES && is_connection_error(&e) => {
                    attempt += 1;
                    tracing::warn!(
                        table = %partition.table,
                        "{e}: reading again after the last document read (attempt {attempt} of {RETRIES})"
                    );
                    std::thread::sleep(std::time::Duration::from_secs(attempt as u64));
                }
                other => return other,
            }
        }
    }

    fn content_id(&self) -> Option<String> {
        match &self.origin {
            Origin::Live(_) => None,
            Origin::Files { content_id, .. } => Some(content_id.clone()),
        }
    }
}

/// The documents whose `_id` sorts after `after` in a collection read in `_id`
/// order. A comparison in a query matches only values of its own type (`{"$gt": 5}`
/// matches no string), but the order goes through the types one after another
/// (numbers, strings, documents, binaries, ObjectIds, ...): the `_id`s of the types
/// sorting later than `after`'s are all after it.
fn ids_after(after: Bson) -> Document {
    let rank = sort_rank(&after);
    let later: Vec<&str> = SORT_ORDER
        .iter()
        .filter(|(r, _)| *r > rank)
        .map(|(_, name)| *name)
        .collect();
    if later.is_empty() {
        doc! {"_id": {"$gt": after}}
    } else {
        doc! {"$or": [{"_id": {"$gt": after}}, {"_id": {"$type": later}}]}
    }
}

/// MongoDB's order of the BSON types when it compares values of different types:
/// the rank of each `$type` name.
const SORT_ORDER: [(u8, &str); 21] = [
    (0, "minKey"),
    (1, "undefined"),
    (2, "null"),
    (3, "double"),
    (3, "int"),
    (3, "long"),
    (3, "decimal"),
    (4, "string"),
    (4, "symbol"),
    (5, "object"),
    (6, "array"),
    (7, "binData"),
    (8, "objectId"),
    (9, "bool"),
    (10, "date"),
    (11, "timestamp"),
    (12, "regex"),
    (13, "dbPointer"),
    (14, "javascript"),
    (15, "javascriptWithScope"),
    (16, "maxKey"),
];

fn sort_rank(b: &Bson) -> u8 {
    match b {
        Bson::MinKey => 0,
        Bson::Undefined => 1,
        Bson::Null => 2,
        Bson::Double(_) | Bson::Int32(_) | Bson::Int64(_) | Bson::Decimal128(_) => 3,
        Bson::String(_) | Bson::Symbol(_) => 4,
        Bson::Document(_) => 5,
        Bson::Array(_) => 6,
        Bson::Binary(_) => 7,
        Bson::ObjectId(_) => 8,
        Bson::Boolean(_) => 9,
        Bson::DateTime(_) => 10,
        Bson::Timestamp(_) => 11,
        Bson::RegularExpression(_) => 12,
        Bson::DbPointer(_) => 13,
        Bson::JavaScriptCode(_) => 14,
        Bson::JavaScriptCodeWithScope(_) => 15,
        Bson::MaxKey => 16,
    }
}

impl VerifySource for MongoSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let (pi, ti) = self
            .plan_of_table(&table.name)
            .ok_or_else(|| format!("no collection fills the table `{}`", table.name))?;
        let plan = &self.plans[pi];
        let mut bad = 0;
        self.each_document(plan, None, None, &mut |d| {
            let mut err = None;
            let result = plan.rows(&d, &mut |t, row| {
                if t == ti && err.is_none() {
                    if let Err(e) = visit(None, row) {
                        err = Some(e);
                    }
                }
            });
            if let Some(e) = err {
                return Err(e);
            }
            if result.is_err() && ti == 0 {
                bad += 1;
            }
            Ok(())
        })?;
        self.skipped.record(&table.name, bad);
        Ok(())
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.skipped.get(table)
    }
}

impl MongoSource {
    /// Each collection's documents compared with those rebuilt from the store.
    pub fn verify_documents(&self, store: &Store) -> anyhow::Result<Vec<TableVerification>> {
        let mut out = Vec::new();
        for plan in &self.plans {
            if self.filters.contains_key(&plan.collection) {
                continue; // a filtered source cannot be compared with whole tables
            }
            out.push(self.verify_collection(plan, store)?);
        }
        Ok(out)
    }

    fn verify_collection(&self, plan: &Plan, store: &Store) -> anyhow::Result<TableVerification> {
        let hash = |d: &Document| xxh3_128(canonical_text(&Bson::Document(d.clone())).as_bytes());
        let id_of = |d: &Document| d.get("_id").map(canonical_text).unwrap_or_default();
        let mut source = TableChecksum::default();
        let mut unconvertible = 0u64;
        self.each_document(plan, None, None, &mut |d| {
            // Documents a migration could not carry (`--on-error skip`) are counted apart.
            if plan.rows(&d, &mut |_, _| {}).is_err() {
                unconvertible += 1;
            } else {
                source.add(hash(&d));
            }
            Ok(())
        })
        .map_err(|e| anyhow::anyhow!("reading `{}`: {e}", plan.collection))?;
        let mut target = TableChecksum::default();
        let mut broken: Vec<KeyDifference> = Vec::new();
        crate::rebuild::documents(store, plan, &mut |r| {
            match r {
                Ok(d) => target.add(hash(&d)),
                Err((key, why)) => {
                    target.rows += 1;
                    broken.push(KeyDifference {
                        key,
                        kind: "values_differ",
                        columns: Some(why),
                    })
                }
            }
            Ok(())
        })?;
        // Documents set aside are not in the store: as for the tables, a difference.
        let equal = broken.is_empty() && source == target && unconvertible == 0;
        let mut differing = broken;
        if !equal && differing.len() < MAX_LISTED {
            // Name the documents: each side's hash by `_id`.
            let mut by_id: HashMap<String, u128> = HashMap::new();
            self.each_document(plan, None, None, &mut |d| {
                if plan.rows(&d, &mut |_, _| {}).is_ok() {
                    by_id.insert(id_of(&d), hash(&d));
                }
                Ok(())
            })
            .map_err(|e| anyhow::anyhow!("reading `{}`: {e}", plan.collection))?;
            crate::rebuild::documents(store, plan, &mut |r| {
                if let Ok(d) = r {
                    match by_id.remove(&id_of(&d)) {
                        None => differing.push(KeyDifference {
                            key: format!("_id={}", json_text(d.get("_id").unwrap_or(&Bson::Null))),
                            kind: "extra_in_target",
                            columns: None,
                        }),
                        Some(h) if h != hash(&d) => differing.push(KeyDifference {
                            key: format!("_id={}", json_text(d.get("_id").unwrap_or(&Bson::Null))),
                            kind: "values_differ",
                            columns: Some(
                                "the document rebuilt from the tables differs from the source's"
                                    .into(),
                            ),
                        }),
                        Some(_) => {}
                    }
                }
                Ok(())
            })?;
            let mut missing: Vec<String> = by_id.into_keys().collect();
            missing.sort();
            for id in missing {
                let shown = parse_json_text(&id).map(|b| json_text(&b)).unwrap_or(id);
                differing.push(KeyDifference {
                    key: format!("_id={shown}"),
                    kind: "missing_in_target",
                    columns: None,
                });
            }
        }
        let truncated = differing.len() > MAX_LISTED;
        differing.truncate(MAX_LISTED);
        let mut notes = Vec::new();
        if unconvertible > 0 {
            notes.push(format!(
                "{unconvertible} source documents cannot be carried (their `_id` does not fit the key) and are not compared"
            ));
        }
        Ok(TableVerification {
            table: format!("{} (documents)", plan.tables[0].name),
            source_rows: source.rows,
            target_rows: target.rows,
            schema_differences: Vec::new(),
            sampled_rows: 0,
            sample_mismatches: notes,
            differing_columns: Vec::new(),
            source_checksum: source,
            target_checksum: target,
            differing_keys: differing,
            differing_keys_truncated: truncated,
            equal,
        })
    }
}

/// A file's first pass: the identity of its bytes, how many documents it holds,
/// and, when `profile`, what they hold (every document: a file is read whole).
pub struct FirstPass {
    pub id: String,
    pub documents: u64,
    pub stats: Option<crate::infer::CollectionStats>,
}

pub fn first_pass(f: &DocumentFile, profile: bool) -> Result<FirstPass, FileError> {
    let mut r = lightning_core::fingerprint::HashingReader::new(files::open(f)?);
    let (documents, stats) = if profile {
        let mut stats = crate::infer::CollectionStats::default();
        files::read(f, &mut r, &mut |d| {
            stats.add(&d);
            Ok::<(), FileError>(())
        })?;
        (stats.documents, Some(stats))
    } else {
        let n = files::count(f, &mut r).map_err(|source| FileError::Io {
            file: f.shown.clone(),
            source,
        })?;
        (n, None)
    };
    Ok(FirstPass {
        id: format!("{}={}", f.collection, r.content_id()),
        documents,
        stats,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_after_one_include_the_types_sorting_later() {
        let f = ids_after(Bson::Int32(5));
        let or = f.get_array("$or").unwrap();
        assert_eq!(or[0], Bson::Document(doc! {"_id": {"$gt": 5}}));
        let later = or[1].as_document().unwrap().get_document("_id").unwrap();
        let later: Vec<&str> = later
            .get_array("$type")
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        assert!(later.contains(&"string") && later.contains(&"objectId"));
        assert!(!later.contains(&"int") && !later.contains(&"double"));
        assert!(!later.contains(&"null") && !later.contains(&"minKey"));
        assert_eq!(ids_after(Bson::MaxKey), doc! {"_id": {"$gt": Bson::MaxKey}});
    }
}
