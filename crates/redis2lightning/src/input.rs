//! The Redis source opened for a command: a live server or an RDB file, its keys
//! grouped into patterns, each pattern's mapping (from a file, from the target's
//! earlier run, or decided from the data), and the rows read through `RedisSource`.

use lightning_core::assess::SampleSettings;
use std::collections::{BTreeMap, HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use lightning_core::cli::SourceReader;
use lightning_core::pipeline::Source;
use lightning_core::report::{
    AssessmentReport, ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
    TableVerification,
};
use lightning_core::spool::Spool;
use lightning_core::store::Store;
use lightning_core::tool::{
    CatalogTable, Converted, OpenRequest, OpenedSource, Purpose, ReadRequest, SourceTool,
};
use lightning_core::verify::VerifySource;
use lightning_core::TableSchema;
use xxhash_rust::xxh3::Xxh3;

use crate::keys::KeyFiles;
use crate::live::Live;
use crate::mapping::{decide, Mapping, Plan, TableMap, FORMAT};
use crate::pattern::{escape, unescape, Matcher, Pattern, PatternFinder};
use crate::profile::{Profile, RedisType};
use crate::rdb;
use crate::source::{Origin, RdbFile, RedisSource};
use crate::{Options, Redis};

/// A table of the source, as opened.
pub struct Table {
    pub map: TableMap,
    pub profile: Profile,
    pub schema: TableSchema,
}

pub struct Opened {
    origin: Origin,
    /// The selected tables.
    pub tables: Vec<Table>,
    converted: Converted,
    mapping: Mapping,
    /// Keys per logical database, as the server or file holds them.
    pub databases: BTreeMap<u64, u64>,
    /// What opening spent asking the server's keys their TTLs (an assessment's).
    asking_ttls: std::time::Duration,
    _spool: Option<Spool>,
}

/// Where a key goes while the keyspace is grouped.
struct Grouping {
    /// Patterns given (a mapping, `--pattern`), tried first.
    known: Vec<Pattern>,
    known_matcher: Matcher,
    /// Keys of the known patterns by type.
    known_types: Vec<BTreeMap<RedisType, u64>>,
    finder: PatternFinder,
}

impl Grouping {
    fn new(known: Vec<Pattern>) -> Grouping {
        Grouping {
            known_matcher: Matcher::new(&known),
            known_types: vec![BTreeMap::new(); known.len()],
            known,
            finder: PatternFinder::default(),
        }
    }

    fn add(&mut self, key: &[u8], kind: RedisType) {
        match self.known_matcher.find(key) {
            Some(i) => *self.known_types[i].entry(kind).or_insert(0) += 1,
            None => self.finder.add(key, kind.code() as usize),
        }
    }

    /// Every (pattern, type) with its key count, known patterns first.
    fn finish(self) -> Vec<(Pattern, RedisType, u64)> {
        let mut out = Vec::new();
        for (p, types) in self.known.into_iter().zip(self.known_types) {
            out.extend(types.into_iter().map(|(t, n)| (p.clone(), t, n)));
        }
        for (p, tally) in self.finder.finish() {
            for (t, n) in RedisType::ALL.into_iter().zip(tally) {
                if n > 0 {
                    out.push((p.clone(), t, n));
                }
            }
        }
        out
    }
}

pub fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    if !request.rules.user.is_empty() {
        bail!("--cast does not apply to Redis keys: write the mapping with `convert-schema --write-mapping FILE`, change a column's \"type\" there, and give it back with --mapping FILE");
    }
    let given = match options.mapping.given(Redis::NAME, request)? {
        Some(g) => Some(Mapping::parse(&g.text).map_err(|e| anyhow::anyhow!("{}: {e}", g.from))?),
        None => None,
    };
    let mut known: Vec<Pattern> = Vec::new();
    for t in given.iter().flat_map(|m| &m.tables) {
        let p = Pattern::parse(&unescape(&t.pattern).map_err(anyhow::Error::msg)?);
        if !known.contains(&p) {
            known.push(p);
        }
    }
    for text in &options.pattern {
        let p = Pattern::parse(text.as_bytes());
        if !known.contains(&p) {
            known.push(p);
        }
    }
    let mut grouping = Grouping::new(known);
    let mut notes = Vec::new();
    let mut modules: BTreeMap<String, u64> = BTreeMap::new();
    let mut databases = BTreeMap::new();
    let mut spool = None;
    let mut asking_ttls = std::time::Duration::ZERO;
    let (source, description) = match (&options.source, &options.from_dump) {
        (Some(url), _) => {
            if options.db.is_some() {
                bail!("--db picks the database of an RDB file; a server's database is the URL's path (redis://host:6379/2)");
            }
            let password = crate::live::password(
                crate::live::url_has_password(url),
                &options.password,
                std::env::var(crate::live::PASSWORD_ENV).ok(),
            )?;
            let connect = crate::live::Connect {
                password,
                tls_ca: options.tls_ca.clone(),
            };
            let live = Live::connect(url, &connect)?;
            let description = live.description.clone();
            databases = live_databases(&live);
            let (raw, mut w) = KeyFiles::create(RedisType::ALL.len() * 2, request.target)?;
            let with_ttl = matches!(request.purpose, Purpose::Assess | Purpose::ConvertSchema);
            asking_ttls = live.walk(with_ttl, &mut |key, kind, name, ttl| {
                match kind {
                    Some(t) => {
                        grouping.add(key, t);
                        w.push(t.code() as usize * 2 + ttl as usize, key)?;
                    }
                    None => *modules.entry(name.to_string()).or_insert(0) += 1,
                }
                Ok(())
            })?;
            w.finish()?;
            (
                Walked::Live {
                    live: Box::new(live),
                    raw,
                },
                description,
            )
        }
        (None, Some(file)) => {
            let (path, shown) = if file == "-" {
                let s = Spool::create(request.target)?;
                let mut f = s.file()?;
                std::io::copy(&mut std::io::stdin().lock(), &mut f)
                    .context("reading standard input")?;
                let p = s.path().to_path_buf();
                spool = Some(s);
                (p, "standard input".to_string())
            } else {
                let p = PathBuf::from(file);
                std::fs::metadata(&p)
                    .with_context(|| format!("--from-dump {file}: no such file"))?;
                let shown = std::fs::canonicalize(&p)
                    .unwrap_or(p.clone())
                    .display()
                    .to_string();
                (p, shown)
            };
            let db = options.db.unwrap_or(0);
            let content_id = hash_file(&path)?;
            let file = RdbFile {
                path,
                content_id,
                db,
            };
            let mut r = file.open().map_err(|e| anyhow::anyhow!("{shown}: {e}"))?;
            let now = crate::live::now_ms();
            while let Some(e) = r
                .next_entry()
                .map_err(|e| anyhow::anyhow!("{shown}: {e}"))?
            {
                *databases.entry(e.db).or_insert(0) += 1;
                if e.db != db || e.expires_at_ms.is_some_and(|ms| ms <= now) {
                    continue;
                }
                match RedisType::of(&e.value) {
                    Some(t) => grouping.add(&e.key, t),
                    None => {
                        if let rdb::Value::Module { name } = &e.value {
                            *modules.entry(name.clone()).or_insert(0) += 1;
                        }
                    }
                }
            }
            if !r.functions().is_empty() {
                notes.push(Finding::new(
                    Severity::Manual,
                    "functions",
                    format!("{} function libraries (FUNCTION LOAD): not copied; load them again where they are needed", r.functions().len()),
                ));
            }
            (
                Walked::Rdb(file),
                format!("{shown} (RDB version {}, database {db})", r.version()),
            )
        }
        (None, None) => bail!("name the source: --source redis://host:6379/0 or --from-dump FILE"),
    };

    // Tables: the given mapping's names, else the pattern's (with the type when a
    // pattern holds several).
    let mut groups = grouping.finish();
    // A table of the mapping whose keys are all gone is still a table: empty now
    // (a verification finds its rows are no longer in Redis).
    for t in given.iter().flat_map(|m| &m.tables) {
        let p = Pattern::parse(&unescape(&t.pattern).map_err(anyhow::Error::msg)?);
        if !groups.iter().any(|(q, k, _)| *q == p && *k == t.kind) {
            groups.push((p, t.kind, 0));
        }
    }
    let mut per_pattern: HashMap<&Pattern, usize> = HashMap::new();
    for (p, _, _) in &groups {
        *per_pattern.entry(p).or_insert(0) += 1;
    }
    let mut taken: HashSet<String> = given
        .iter()
        .flat_map(|m| m.tables.iter().map(|t| t.table.clone()))
        .collect();
    let mut entries = Vec::new();
    for (p, kind, keys) in &groups {
        let shown = p.to_string();
        let mapped = given
            .as_ref()
            .and_then(|m| {
                m.tables
                    .iter()
                    .find(|t| t.pattern == shown && t.kind == *kind)
            })
            .cloned();
        let name = match &mapped {
            Some(m) => m.table.clone(),
            None => {
                let base = if per_pattern[p] > 1 {
                    format!("{}_{}", p.table_name(), kind.name())
                } else {
                    p.table_name()
                };
                let n = crate::pattern::unique_name(&base, |n| taken.contains(n));
                taken.insert(n.clone());
                n
            }
        };
        entries.push((p.clone(), *kind, *keys, name, mapped));
    }
    let filter = request.filter;
    let catalog: Vec<CatalogTable> = entries
        .iter()
        .map(|(p, kind, _, name, _)| CatalogTable {
            name: name.clone(),
            source_name: format!("{p} ({})", kind.name()),
            target: filter.target_name(name, name),
            columns: Vec::new(),
        })
        .collect();
    let selected: Vec<usize> = (0..entries.len())
        .filter(|&i| filter.selects(&catalog[i].name))
        .collect();
    let ttl_counted = match &source {
        Walked::Live { .. } => matches!(request.purpose, Purpose::Assess | Purpose::ConvertSchema),
        Walked::Rdb(_) => true,
    };
    let mut profiles: Vec<Profile> = selected
        .iter()
        .map(|&i| {
            let mut p = Profile::new(entries[i].0.variable_columns().len());
            p.ttl_counted = ttl_counted;
            p
        })
        .collect();
    let pre_plans: Vec<(Pattern, RedisType)> = selected
        .iter()
        .map(|&i| (entries[i].0.clone(), entries[i].1))
        .collect();
    let router = crate::source::Router::new(pre_plans.iter().map(|(p, t)| (p, *t)));
    let origin = match source {
        Walked::Live { live, raw } => {
            let (keys, mut w) = KeyFiles::create(selected.len(), request.target)?;
            for t in RedisType::ALL {
                for ttl in [false, true] {
                    raw.each(t.code() as usize * 2 + ttl as usize, |key| {
                        if let Some(j) = router.route(key, t) {
                            let p = &mut profiles[j];
                            p.add_key(key, &pre_plans[j].0.variables(key));
                            if ttl {
                                p.with_ttl += 1;
                            }
                            w.push(j, key)?;
                        }
                        Ok(())
                    })?;
                }
            }
            w.finish()?;
            drop(raw);
            let counts: Vec<u64> = profiles.iter().map(|p| p.keys).collect();
            // Values of a sample of each table's keys decide its types.
            let mut con = live.connection()?;
            for (j, &i) in selected.iter().enumerate() {
                if entries[i].4.is_some() || options.sample_size == 0 {
                    continue;
                }
                let mut sample = Vec::new();
                keys.each(j, |k| {
                    if (sample.len() as u64) < options.sample_size {
                        sample.push(k.to_vec());
                    }
                    Ok(())
                })?;
                sample.sort();
                sample.dedup();
                for batch in sample.chunks(500) {
                    let found = live
                        .read(&mut con, entries[i].1, batch)
                        .map_err(|e| anyhow::anyhow!("sampling `{}`: {e}", entries[i].3))?;
                    for f in found {
                        if let crate::live::Found::Value { value, .. } = f {
                            // The walk counted the TTLs of every key.
                            profiles[j].add_value(&value, false);
                        }
                    }
                }
            }
            Origin::Live { live, keys, counts }
        }
        Walked::Rdb(file) => {
            let mut r = file
                .open()
                .map_err(|e| anyhow::anyhow!("{description}: {e}"))?;
            let now = crate::live::now_ms();
            while let Some(e) = r
                .next_entry()
                .map_err(|e| anyhow::anyhow!("{description}: {e}"))?
            {
                if e.db != file.db || e.expires_at_ms.is_some_and(|ms| ms <= now) {
                    continue;
                }
                let Some(t) = RedisType::of(&e.value) else {
                    continue;
                };
                if let Some(j) = router.route(&e.key, t) {
                    let p = &mut profiles[j];
                    p.add_key(&e.key, &pre_plans[j].0.variables(&e.key));
                    p.add_value(&e.value, e.expires_at_ms.is_some());
                    if e.field_ttls_dropped > 0 {
                        notes.push(Finding::new(
                            Severity::Warning,
                            entries[selected[j]].3.clone(),
                            format!("key `{}`: {} hash fields have a TTL of their own (HEXPIRE): the fields are copied, their TTLs are not", escape(&e.key), e.field_ttls_dropped),
                        ));
                    }
                }
            }
            Origin::Rdb(file)
        }
    };

    let mut conversion = ConversionReport::new(Redis::NAME, &description);
    conversion.findings.extend(notes);
    for (name, n) in &modules {
        conversion.findings.push(Finding::new(
            Severity::Manual,
            name.clone(),
            format!("{n} keys hold a module's type (`{name}`): not copied; export them with the module's own commands"),
        ));
    }
    let mut tables = Vec::new();
    for (j, &i) in selected.iter().enumerate() {
        let (p, kind, _, _, mapped) = &entries[i];
        let profile = std::mem::take(&mut profiles[j]);
        let target = catalog[i].target.clone();
        let (mut map, decided) = match mapped {
            Some(m) => (m.clone(), false),
            None => (decide(p, *kind, target.clone(), &profile), true),
        };
        map.table = target;
        let plan = Plan::new(&map).map_err(|e| anyhow::anyhow!("table `{}`: {e}", map.table))?;
        crate::findings::table(&map, &profile, decided, per_pattern[p] > 1, &mut conversion);
        conversion.tables.push(TableConversion {
            table: plan.schema.name.clone(),
            columns: plan
                .schema
                .columns
                .iter()
                .map(|c| ColumnDecision {
                    column: c.name.clone(),
                    source_type: c.source_type.clone().unwrap_or_default(),
                    lightning_type: c.ty.to_string(),
                    rule: "mapping".into(),
                    reason: None,
                    transform: None,
                })
                .collect(),
        });
        tables.push(Table {
            schema: plan.schema,
            map,
            profile,
        });
    }
    for (db, keys) in &databases {
        let chosen = match &origin {
            Origin::Live { live, .. } => *db as i64 == live.db,
            Origin::Rdb(f) => *db == f.db,
        };
        if !chosen && *keys > 0 {
            let how = match &origin {
                Origin::Live { .. } => format!("name it in the URL (redis://host:port/{db})"),
                Origin::Rdb(_) => format!("--db {db}"),
            };
            conversion.findings.push(Finding::new(
                Severity::Info,
                format!("database {db}"),
                format!("{keys} keys in logical database {db}: not copied by this run; copy them into another target with {how}"),
            ));
        }
    }
    let mapping = Mapping {
        format: FORMAT,
        tables: tables.iter().map(|t| t.map.clone()).collect(),
    };
    options.mapping.write(&mapping.to_text())?;
    Ok(Box::new(Opened {
        origin,
        tables,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
        mapping,
        databases,
        asking_ttls,
        _spool: spool,
    }))
}

enum Walked {
    Live { live: Box<Live>, raw: KeyFiles },
    Rdb(RdbFile),
}

/// Keys per logical database (`INFO keyspace`).
fn live_databases(live: &Live) -> BTreeMap<u64, u64> {
    let mut out = BTreeMap::new();
    let Ok(mut con) = live.connection() else {
        return out;
    };
    let info: String = redis::cmd("INFO")
        .arg("keyspace")
        .query(&mut con)
        .unwrap_or_default();
    for line in info.lines() {
        // db0:keys=3,expires=0,avg_ttl=0
        if let Some((db, rest)) = line.strip_prefix("db").and_then(|l| l.split_once(':')) {
            let keys = rest
                .split(',')
                .find_map(|kv| kv.strip_prefix("keys="))
                .and_then(|n| n.parse().ok());
            if let (Ok(db), Some(keys)) = (db.parse(), keys) {
                out.insert(db, keys);
            }
        }
    }
    out
}

fn hash_file(path: &Path) -> anyhow::Result<String> {
    let mut f =
        std::fs::File::open(path).with_context(|| format!("cannot open {}", path.display()))?;
    let mut h = Xxh3::new();
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(format!("xxh3:{:032x}", h.digest128()))
}

impl OpenedSource for Opened {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|t| t.schema.clone()).collect()
    }

    fn assess_only_secs(&self) -> f64 {
        self.asking_ttls.as_secs_f64()
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        let me = *self;
        crate::assess::assess(me.origin, me.tables, me.converted, me.databases, sample)
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        let me = *self;
        if let Some(t) = request.where_.keys().next() {
            bail!("--where {t}:...: Redis keys cannot be filtered by their values; choose tables with --tables, or keys with --pattern and a mapping");
        }
        let _ = request.purpose == Purpose::Export;
        let plans = plans_of(&me.tables)?;
        Ok(Box::new(Reader {
            source: RedisSource::new(me.origin, plans),
            mapping: me.mapping.to_text(),
            _spool: me._spool,
        }))
    }
}

pub fn plans_of(tables: &[Table]) -> anyhow::Result<Vec<Plan>> {
    tables
        .iter()
        .map(|t| {
            let mut p = Plan::new(&t.map).map_err(anyhow::Error::msg)?;
            p.estimated_rows = estimated_rows(t);
            Ok(p)
        })
        .collect()
}

/// Rows a table will get: keys times the sampled elements per key.
pub fn estimated_rows(t: &Table) -> u64 {
    let p = &t.profile;
    match t.map.kind {
        RedisType::String | RedisType::Hash => p.keys,
        _ if p.sampled > 0 => (p.elements as f64 / p.sampled as f64 * p.keys as f64).round() as u64,
        _ => p.keys,
    }
}

struct Reader {
    source: RedisSource,
    mapping: String,
    _spool: Option<Spool>,
}

impl SourceReader for Reader {
    fn source(&self) -> &dyn Source {
        &self.source
    }

    fn verifier(&self) -> &dyn VerifySource {
        &self.source
    }

    fn schemas(&self) -> Vec<TableSchema> {
        self.source.schemas()
    }

    fn notes(&self) -> Vec<String> {
        self.source.notes()
    }

    fn forget_counts(&self) {
        self.source.forget_counts()
    }

    fn mapping(&self) -> Option<String> {
        Some(self.mapping.clone())
    }

    fn verify_records(&self, store: &Store) -> anyhow::Result<Vec<TableVerification>> {
        self.source.verify_keys(store)
    }

    fn verify_notes(&self) -> Vec<String> {
        self.source.verify_notes()
    }

    fn before_verify(&self, store: &Store) -> anyhow::Result<()> {
        self.source.note_lapsed(store)
    }
}
