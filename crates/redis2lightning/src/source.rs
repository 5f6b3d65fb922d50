//! Keys read into rows for the copy and the verification, from a live server (by
//! table and hash bucket of the walked keys) or from an RDB file (in file order).

use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use lightning_core::checksum::TableChecksum;
use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::report::TableVerification;
use lightning_core::store::{Checkpoint, Store};
use lightning_core::value::{Row, Value};
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::TableSchema;

use crate::keys::KeyFiles;
use crate::live::{is_connection, Found, Live};
use crate::mapping::{shorten, unix_ms, Notes, Plan, EXPIRES_AT};
use crate::pattern::{escape, Matcher, Pattern};
use crate::profile::RedisType;
use crate::rdb::{self, RdbReader};
use xxhash_rust::xxh3::xxh3_128;

/// Keys per partition of a live table.
const KEYS_PER_PARTITION: u64 = 100_000;
/// Keys read in one pipelined transaction.
const BATCH_KEYS: usize = 500;
/// Target rows whose keys expire within this long of a verification's start are
/// noted, so a key expiring while it runs is not a difference either.
const LAPSE_HORIZON_MS: i64 = 3_600_000;
/// Times a batch is tried again on a new connection after the old one failed.
const RETRIES: u32 = 3;

pub enum Origin {
    Live {
        live: Box<Live>,
        keys: KeyFiles,
        /// Keys per table, as the walk found them.
        counts: Vec<u64>,
    },
    Rdb(RdbFile),
}

pub struct RdbFile {
    pub path: PathBuf,
    pub content_id: String,
    /// The logical database copied.
    pub db: u64,
}

impl RdbFile {
    pub fn open(&self) -> Result<RdbReader<std::io::BufReader<std::fs::File>>, SourceError> {
        let f = std::fs::File::open(&self.path)?;
        Ok(RdbReader::new(std::io::BufReader::with_capacity(
            1 << 20,
            f,
        ))?)
    }
}

/// Routes keys to the plan of their pattern and type.
pub struct Router {
    matcher: Matcher,
    /// Per pattern of `matcher`, the plans by type.
    plans: Vec<Vec<(RedisType, usize)>>,
}

impl Router {
    /// `pairs[i]` is routed to as `i`.
    pub fn new<'a>(pairs: impl IntoIterator<Item = (&'a Pattern, RedisType)>) -> Router {
        let mut patterns: Vec<Pattern> = Vec::new();
        let mut by: Vec<Vec<(RedisType, usize)>> = Vec::new();
        for (i, (p, kind)) in pairs.into_iter().enumerate() {
            match patterns.iter().position(|q| q == p) {
                Some(j) => by[j].push((kind, i)),
                None => {
                    patterns.push(p.clone());
                    by.push(vec![(kind, i)]);
                }
            }
        }
        Router {
            matcher: Matcher::new(&patterns),
            plans: by,
        }
    }

    pub fn route(&self, key: &[u8], kind: RedisType) -> Option<usize> {
        let j = self.matcher.find(key)?;
        self.plans[j]
            .iter()
            .find(|(t, _)| *t == kind)
            .map(|(_, i)| *i)
    }
}

/// Target rows by their Redis key.
type RowsByKey = BTreeMap<Vec<u8>, Vec<Row>>;
/// What a batch read gives for each key.
type FoundVisit<'a> = dyn FnMut(&[u8], Found) -> Result<(), SourceError> + 'a;

pub struct RedisSource {
    origin: Origin,
    pub plans: Vec<Plan>,
    router: Router,
    notes: Notes,
    /// Keys deleted or expired between the walk and their reading.
    gone: AtomicU64,
    /// Keys without elements (empty streams): no rows hold them.
    empty: AtomicU64,
    /// Keys of another type when read than when walked.
    changed: AtomicU64,
    /// Keys of a file already expired when the run started (Redis would not load them).
    expired: AtomicU64,
    /// The instant keys of a file are judged expired at.
    now_ms: i64,
    skipped: SkippedRows,
    /// Verification: target rows of keys whose expiry has passed, by table and key.
    lapsed: Mutex<HashMap<String, RowsByKey>>,
    lapsed_kept: SkippedRows,
    /// Per table, the keys and their element counts the last full reading found.
    key_counts: Mutex<HashMap<String, TableChecksum>>,
}

impl RedisSource {
    pub fn new(origin: Origin, plans: Vec<Plan>) -> RedisSource {
        RedisSource {
            router: Router::new(plans.iter().map(|p| (&p.pattern, p.map.kind))),
            origin,
            plans,
            notes: Notes::default(),
            gone: AtomicU64::new(0),
            changed: AtomicU64::new(0),
            empty: AtomicU64::new(0),
            expired: AtomicU64::new(0),
            now_ms: crate::live::now_ms(),
            skipped: SkippedRows::default(),
            lapsed: Mutex::new(HashMap::new()),
            lapsed_kept: SkippedRows::default(),
            key_counts: Mutex::new(HashMap::new()),
        }
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.plans.iter().map(|p| p.schema.clone()).collect()
    }

    /// Back to zero: what the notes count, of the reads so far.
    pub fn forget_counts(&self) {
        for n in [
            &self.gone,
            &self.changed,
            &self.empty,
            &self.expired,
            &self.notes.segment_nulls,
        ] {
            n.store(0, Ordering::Relaxed);
        }
    }

    pub fn notes(&self) -> Vec<String> {
        let mut out = Vec::new();
        let n = self.gone.load(Ordering::Relaxed);
        if n > 0 {
            out.push(format!("{n} keys expired or were deleted between the walk of the keyspace and their reading: not copied"));
        }
        let n = self.changed.load(Ordering::Relaxed);
        if n > 0 {
            out.push(format!("{n} keys changed type between the walk of the keyspace and their reading: not copied (run migrate again to pick them up in their new table)"));
        }
        let n = self.empty.load(Ordering::Relaxed);
        if n > 0 {
            out.push(format!("{n} keys have no elements (streams whose entries were all deleted): a table holds elements, so these keys have no rows"));
        }
        let n = self.expired.load(Ordering::Relaxed);
        if n > 0 {
            out.push(format!("{n} keys of the file had expired before the run started: not copied (Redis would not load them either)"));
        }
        let n = self.notes.segment_nulls.load(Ordering::Relaxed);
        if n > 0 {
            out.push(format!("{n} key segments do not fit their column's type: those columns are NULL (the `key` column holds the whole key)"));
        }
        out
    }

    pub fn verify_notes(&self) -> Vec<String> {
        let n: u64 = self
            .plans
            .iter()
            .map(|p| self.lapsed_kept.get(&p.name))
            .sum();
        if n == 0 {
            return Vec::new();
        }
        vec![format!("{n} keys in the target have expired in Redis since the copy, as their `expires_at` said: not counted as differences (Lightning keeps them; delete rows whose expires_at has passed when you no longer want them)")]
    }

    fn plan_index(&self, table: &str) -> Option<usize> {
        self.plans.iter().position(|p| &*p.name == table)
    }

    /// Before a verification: the target's keys whose `expires_at` has passed, so
    /// a key gone from Redis for that reason is not a difference.
    pub fn note_lapsed(&self, store: &Store) -> anyhow::Result<()> {
        // Keys expiring while the verification runs count as well: each is judged
        // when its table's reading ends.
        let now = crate::live::now_ms() + LAPSE_HORIZON_MS;
        let mut lapsed = self.lapsed.lock().expect("lock");
        for p in &self.plans {
            let Ok(schema) = store.table(&p.map.table) else {
                continue;
            };
            let Some(at) = schema.columns.iter().position(|c| c.name == EXPIRES_AT) else {
                continue;
            };
            let mut by_key = RowsByKey::new();
            for item in store.scan(&p.map.table)? {
                let (_, row) = item?;
                if unix_ms(&row[at]).is_some_and(|ms| ms <= now) {
                    let key = match &row[0] {
                        Value::Text(t) => t.as_bytes().to_vec(),
                        Value::Blob(b) => b.clone(),
                        _ => continue,
                    };
                    by_key.entry(key).or_default().push(row);
                }
            }
            if !by_key.is_empty() {
                lapsed.insert(p.map.table.clone(), by_key);
            }
        }
        Ok(())
    }

    /// Read keys of a live table in batches; `visit` gets each key's result.
    fn read_live(
        &self,
        live: &Live,
        plan: &Plan,
        keys: &[Vec<u8>],
        visit: &mut FoundVisit<'_>,
    ) -> Result<(), SourceError> {
        let mut con = live.connection()?;
        for batch in keys.chunks(BATCH_KEYS) {
            let mut tries = 0;
            let found = loop {
                match live.read(&mut con, plan.map.kind, batch) {
                    Ok(f) => break f,
                    Err(e) if is_connection(&e) && tries < RETRIES => {
                        tries += 1;
                        tracing::warn!(table = %plan.name, error = %e, "connection lost; reading the batch again on a new one");
                        std::thread::sleep(std::time::Duration::from_millis(200 << tries));
                        con = match live.connection() {
                            Ok(c) => c,
                            Err(e) if tries < RETRIES => {
                                tracing::warn!(error = %e, "reconnecting failed");
                                continue;
                            }
                            Err(e) => return Err(Box::new(e)),
                        };
                    }
                    Err(e) => {
                        return Err(format!(
                            "reading keys of `{}` from {}: {e}",
                            plan.name, live.description
                        )
                        .into())
                    }
                }
            };
            for (k, f) in batch.iter().zip(found) {
                visit(k, f)?;
            }
        }
        Ok(())
    }

    /// The rows of one key for `out`, or its rejection.
    fn emit(
        &self,
        plan: &Plan,
        key: &[u8],
        value: &rdb::Value,
        expires: Option<i64>,
        out: &mut RowEmitter<'_>,
    ) {
        match plan.rows(key, value, expires, &self.notes) {
            Ok(rows) if rows.is_empty() => {
                self.empty.fetch_add(1, Ordering::Relaxed);
            }
            Ok(rows) => {
                for r in rows {
                    out.row(&plan.name, None, r);
                }
            }
            Err(why) => out.reject(
                &plan.name,
                format!("key={}", shorten(key)),
                format!("key `{}`: {why}", shorten(key)),
                vec![Value::Text(escape(key))],
            ),
        }
    }

    /// Visit the entries of the file's database in file order.
    fn each_entry(
        &self,
        file: &RdbFile,
        visit: &mut dyn FnMut(Option<(usize, rdb::Entry)>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let mut r = file.open()?;
        while let Some(e) = r.next_entry()? {
            if e.db != file.db {
                visit(None)?;
                continue;
            }
            if e.expires_at_ms.is_some_and(|ms| ms <= self.now_ms) {
                self.expired.fetch_add(1, Ordering::Relaxed);
                visit(None)?;
                continue;
            }
            let routed = RedisType::of(&e.value).and_then(|t| self.router.route(&e.key, t));
            match routed {
                Some(i) => visit(Some((i, e)))?,
                None => visit(None)?,
            }
        }
        Ok(())
    }
}

impl Source for RedisSource {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        Ok(match &self.origin {
            Origin::Live { counts, .. } => self
                .plans
                .iter()
                .zip(counts)
                .flat_map(|(p, &n)| {
                    let buckets = n.div_ceil(KEYS_PER_PARTITION).max(1);
                    (0..buckets).map(move |b| Partition {
                        id: format!("{}#{b}/{buckets}", p.name),
                        table: p.name.clone(),
                        estimated_rows: p.estimated_rows / buckets,
                        spec: format!("{b}/{buckets}"),
                    })
                })
                .collect(),
            Origin::Rdb(_) => {
                // One reading of the file feeds every table.
                let first = self
                    .plans
                    .first()
                    .map(|p| p.name.clone())
                    .unwrap_or_else(|| "keys".into());
                vec![Partition {
                    id: "rdb".into(),
                    table: first,
                    estimated_rows: self.plans.iter().map(|p| p.estimated_rows).sum(),
                    spec: String::new(),
                }]
            }
        })
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        match &self.origin {
            Origin::Live { live, keys, .. } => {
                let i = self
                    .plan_index(&partition.table)
                    .ok_or_else(|| format!("no table `{}` in the mapping", partition.table))?;
                let plan = &self.plans[i];
                let (b, n) = partition
                    .spec
                    .split_once('/')
                    .and_then(|(b, n)| Some((b.parse().ok()?, n.parse().ok()?)))
                    .ok_or_else(|| {
                        format!(
                            "partition `{}`: bad spec `{}`",
                            partition.id, partition.spec
                        )
                    })?;
                let mut list = keys.bucket(i, b, n)?;
                if let Some(after) = resume.and_then(|c| c.position.as_deref()) {
                    let after = decode_hex(after).ok_or("a checkpoint's key is not hexadecimal")?;
                    list.retain(|k| *k > after);
                }
                self.read_live(live, plan, &list, &mut |key, found| {
                    match found {
                        Found::Value {
                            value,
                            expires_at_ms,
                        } => self.emit(plan, key, &value, expires_at_ms, out),
                        Found::Gone => {
                            self.gone.fetch_add(1, Ordering::Relaxed);
                        }
                        Found::Changed => {
                            self.changed.fetch_add(1, Ordering::Relaxed);
                        }
                    }
                    out.end_record(|| Some(hex(key)))
                })
            }
            Origin::Rdb(file) => {
                if let Some(ck) = resume {
                    out.skip_records(ck.rows);
                }
                self.each_entry(file, &mut |item| {
                    if let Some((i, e)) = item {
                        self.emit(&self.plans[i], &e.key, &e.value, e.expires_at_ms, out);
                    }
                    out.end_record(|| None)
                })
            }
        }
    }

    fn bad_row_fix(&self) -> &'static str {
        "Give the column another type in a mapping file (convert-schema --write-mapping FILE, edit it, then migrate --mapping FILE)"
    }

    fn content_id(&self) -> Option<String> {
        match &self.origin {
            Origin::Rdb(f) => Some(f.content_id.clone()),
            Origin::Live { .. } => None,
        }
    }

    fn partitions_interleave(&self) -> bool {
        // A live table's partitions are buckets of its keys' hashes.
        matches!(self.origin, Origin::Live { .. })
    }
}

impl VerifySource for RedisSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let i = self
            .plan_index(&table.name)
            .ok_or_else(|| format!("no table `{}` in the mapping", table.name))?;
        let plan = &self.plans[i];
        let mut lapsed = self
            .lapsed
            .lock()
            .expect("lock")
            .get(&plan.map.table)
            .cloned()
            .unwrap_or_default();
        let mut rejected = 0u64;
        let mut keys = TableChecksum::default();
        let mut rows_of =
            |key: &[u8], value: &rdb::Value, expires: Option<i64>| -> Result<(), SourceError> {
                lapsed.remove(key);
                match plan.rows(key, value, expires, &Notes::default()) {
                    // A key without elements (an empty stream) has no rows.
                    Ok(rows) if rows.is_empty() => {}
                    Ok(rows) => {
                        keys.add(key_hash(key, rows.len() as u64));
                        for r in rows {
                            visit(None, r)?;
                        }
                    }
                    Err(_) => rejected += 1,
                }
                Ok(())
            };
        match &self.origin {
            Origin::Live { live, keys, .. } => {
                let list = keys.bucket(i, 0, 1)?;
                self.read_live(live, plan, &list, &mut |key, found| match found {
                    Found::Value {
                        value,
                        expires_at_ms,
                    } => rows_of(key, &value, expires_at_ms),
                    _ => Ok(()),
                })?;
            }
            Origin::Rdb(file) => {
                self.each_entry(file, &mut |item| match item {
                    Some((j, e)) if j == i => rows_of(&e.key, &e.value, e.expires_at_ms),
                    _ => Ok(()),
                })?;
            }
        }
        self.skipped.record(&table.name, rejected);
        // A key gone from Redis whose expiry has passed by now: as the target said
        // it would, so the target's rows stand.
        let now = crate::live::now_ms();
        let at = table.columns.iter().position(|c| c.name == EXPIRES_AT);
        lapsed.retain(|_, rows| {
            rows.iter()
                .all(|r| at.and_then(|a| unix_ms(&r[a])).is_some_and(|ms| ms <= now))
        });
        self.lapsed_kept.record(&table.name, lapsed.len() as u64);
        for (key, rows) in lapsed {
            keys.add(key_hash(&key, rows.len() as u64));
            for r in rows {
                visit(None, r)?;
            }
        }
        self.key_counts
            .lock()
            .expect("lock")
            .insert(table.name.clone(), keys);
        Ok(())
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.skipped.get(table)
    }
}

/// A key and its element count, as the per-table key check sums them.
fn key_hash(key: &[u8], elements: u64) -> u128 {
    let mut buf = Vec::with_capacity(key.len() + 8);
    buf.extend_from_slice(&elements.to_le_bytes());
    buf.extend_from_slice(key);
    xxh3_128(&buf)
}

impl RedisSource {
    /// Per table: the keys and each key's element count of the last reading of
    /// the source, against the target's (the table's own entry names the keys
    /// whose rows differ).
    pub fn verify_keys(&self, store: &Store) -> anyhow::Result<Vec<TableVerification>> {
        let counts = self.key_counts.lock().expect("lock").clone();
        let mut out = Vec::new();
        for p in &self.plans {
            let Some(source) = counts.get(&*p.name).copied() else {
                continue;
            };
            let mut target = TableChecksum::default();
            if store.table(&p.map.table).is_ok() {
                let mut current: Option<(Vec<u8>, u64)> = None;
                for item in store.scan(&p.map.table)? {
                    let (_, row) = item?;
                    let key = match &row[0] {
                        Value::Text(t) => t.as_bytes().to_vec(),
                        Value::Blob(b) => b.clone(),
                        _ => continue,
                    };
                    match &mut current {
                        Some((k, n)) if *k == key => *n += 1,
                        _ => {
                            if let Some((k, n)) = current.take() {
                                target.add(key_hash(&k, n));
                            }
                            current = Some((key, 1));
                        }
                    }
                }
                if let Some((k, n)) = current {
                    target.add(key_hash(&k, n));
                }
            }
            out.push(TableVerification {
                table: format!("{} (keys)", p.name),
                source_rows: source.rows,
                target_rows: target.rows,
                schema_differences: Vec::new(),
                sampled_rows: 0,
                sample_mismatches: Vec::new(),
                differing_columns: Vec::new(),
                source_checksum: source,
                target_checksum: target,
                differing_keys: Vec::new(),
                differing_keys_truncated: false,
                equal: source == target,
            });
        }
        Ok(out)
    }
}

fn hex(key: &[u8]) -> String {
    key.iter().map(|b| format!("{b:02x}")).collect()
}

fn decode_hex(s: &str) -> Option<Vec<u8>> {
    lightning_core::value::decode_hex(s)
}
