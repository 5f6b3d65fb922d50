//! The MongoDB source opened for a command: a live database or files, each
//! collection's mapping (from a file, from the target's earlier run, or decided
//! from a sample), and the rows read through `MongoSource`.

use lightning_core::assess::SampleSettings;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use bson::{Bson, Document};
use lightning_core::cli::SourceReader;
use lightning_core::pipeline::Source;
use lightning_core::report::{
    AssessmentReport, ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
    TableVerification,
};
use lightning_core::schema::{IndexKind, IndexSchema};
use lightning_core::spool::Spool;
use lightning_core::store::Store;
use lightning_core::tool::{
    CatalogTable, Converted, OpenRequest, OpenedSource, Purpose, ReadRequest, SourceTool,
};
use lightning_core::verify::VerifySource;
use lightning_core::TableSchema;

use crate::files::{DocumentFile, Format};
use crate::infer::CollectionStats;
use crate::kind::parse_json_text;
use crate::live::{Live, NotCopied};
use crate::mapping::{
    decide, findings, rows_per_document, CollectionMap, FieldMap, Mapping, Target, FORMAT,
};
use crate::rows::Plan;
use crate::source::{first_pass, MongoSource, Origin};
use crate::{Mongo, Options};

/// A collection of the source, as opened.
pub struct Collection {
    pub name: String,
    pub map: CollectionMap,
    /// A file's documents, counted by its first pass (a server counts its own).
    pub documents: Option<u64>,
    pub stats: Option<CollectionStats>,
    pub schemas: Vec<TableSchema>,
}

pub struct Opened {
    origin: Origin,
    /// The selected collections.
    collections: Vec<Collection>,
    converted: Converted,
    /// The mapping of every selected collection, as a mapping file holds it.
    mapping: Mapping,
    _spool: Option<Spool>,
}

pub fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    if !request.rules.user.is_empty() {
        bail!("--cast does not apply to documents: write the mapping with `convert-schema --write-mapping FILE`, change a field's \"type\" there, and give it back with --mapping FILE");
    }
    let filter = request.filter;
    let given = match options.mapping.given(Mongo::NAME, request)? {
        Some(g) => Some(Mapping::parse(&g.text).map_err(|e| anyhow::anyhow!("{}: {e}", g.from))?),
        None => None,
    };
    let mut spool = None;
    let mut not_copied = Vec::new();
    // What a file's first pass found of its documents, by collection.
    let mut profiles: HashMap<String, CollectionStats> = HashMap::new();
    // And how many documents it holds, profiled or not.
    let mut counts: HashMap<String, u64> = HashMap::new();
    let (origin, names, description) = if is_url(&options.source) {
        let password = options.password.read()?;
        let live = Live::connect(&options.source, password.as_deref())?;
        let (names, others) = live.collections()?;
        not_copied = others;
        let description = live.description.clone();
        (Origin::Live(live), names, description)
    } else {
        let files = document_files(options, request, &mut spool)?;
        let mut parts = Vec::new();
        for f in &files {
            let decided = given
                .as_ref()
                .is_some_and(|m| m.collection(&f.collection).is_some());
            let pass = first_pass(f, filter.selects(&f.collection) && !decided)?;
            parts.push(pass.id);
            counts.insert(f.collection.clone(), pass.documents);
            if let Some(s) = pass.stats {
                profiles.insert(f.collection.clone(), s);
            }
        }
        let content_id = parts.join(";");
        let names = files.iter().map(|f| f.collection.clone()).collect();
        let description = describe_files(&options.source);
        (Origin::Files { files, content_id }, names, description)
    };
    // A collection's table: as `--rename` says, else as the mapping says.
    let catalog: Vec<CatalogTable> = names
        .iter()
        .map(|n| {
            let mapped = given.as_ref().and_then(|m| m.collection(n));
            let target = match filter.target_name(n, n) {
                renamed if renamed != *n => renamed,
                _ => mapped.map_or_else(|| n.clone(), |c| c.table.clone()),
            };
            CatalogTable {
                name: n.clone(),
                source_name: n.clone(),
                target,
                columns: Vec::new(),
            }
        })
        .collect();
    let mut conversion = ConversionReport::new(Mongo::NAME, &description);
    let mut taken: HashSet<String> = catalog
        .iter()
        .filter(|t| !filter.selects(&t.name))
        .map(|t| t.target.clone())
        .collect();
    if let Some(m) = &given {
        for c in &m.collections {
            for t in c.tables().map_err(anyhow::Error::msg)? {
                taken.insert(t.schema.name);
            }
        }
    }
    for NotCopied {
        name,
        kind,
        definition,
    } in not_copied
    {
        let what = match kind.as_str() {
            "view" => "a view (a stored aggregation): not copied; its documents come from the collections it reads",
            "timeseries" => "a time-series collection: not copied; export it with mongoexport and migrate the file",
            _ => "not a plain collection: not copied",
        };
        conversion
            .findings
            .push(Finding::new(Severity::Manual, name, what).with_definition(definition));
    }
    let mut collections = Vec::new();
    for t in catalog.iter().filter(|t| filter.selects(&t.name)) {
        let known = given.as_ref().and_then(|m| m.collection(&t.name)).cloned();
        let (map, stats) = match known {
            Some(mut map) => {
                map.table = t.target.clone();
                (map, None)
            }
            None => {
                let stats = match profiles.remove(&t.name) {
                    Some(s) => s,
                    None => sample(&origin, &t.name, options.sample_size)?,
                };
                let map = decide(&t.name, &t.target, &stats, &mut taken);
                (map, Some(stats))
            }
        };
        let mut schemas: Vec<TableSchema> = map
            .tables()
            .map_err(|e| anyhow::anyhow!("collection `{}`: {e}", t.name))?
            .into_iter()
            .map(|m| m.schema)
            .collect();
        let indexes = source_indexes(&origin, &t.name)?;
        map_indexes(&map, &indexes, &mut schemas[0], &mut conversion);
        findings(&map, stats.as_ref(), &mut conversion);
        for s in &schemas {
            conversion.tables.push(TableConversion {
                table: s.name.clone(),
                columns: s
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
        }
        if let Some(s) = &stats {
            describe_sample(&map, s, &mut conversion);
        }
        collections.push(Collection {
            name: t.name.clone(),
            map,
            documents: counts.get(&t.name).copied(),
            stats,
            schemas,
        });
    }
    let mapping = Mapping {
        format: FORMAT,
        collections: collections.iter().map(|c| c.map.clone()).collect(),
    };
    options.mapping.write(&mapping.to_text())?;
    Ok(Box::new(Opened {
        origin,
        collections,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
        mapping,
        _spool: spool,
    }))
}

fn is_url(source: &str) -> bool {
    source.starts_with("mongodb://") || source.starts_with("mongodb+srv://")
}

/// How reports name files: the full path, the same whatever folder a run starts in.
fn describe_files(source: &str) -> String {
    if source == "-" {
        return "standard input".into();
    }
    std::fs::canonicalize(source)
        .unwrap_or_else(|_| PathBuf::from(source))
        .display()
        .to_string()
}

/// The files `--source` names: one file, a folder of them, or standard input.
fn document_files(
    options: &Options,
    request: &OpenRequest<'_>,
    spool: &mut Option<Spool>,
) -> anyhow::Result<Vec<DocumentFile>> {
    let source = &options.source;
    if source == "-" {
        let Some(collection) = options.collection.clone() else {
            bail!("standard input holds one collection: name it with --collection NAME");
        };
        let s = Spool::create(request.target)?;
        let mut file = s.file()?;
        std::io::copy(&mut std::io::stdin().lock(), &mut file).context("reading standard input")?;
        let path = s.path().to_path_buf();
        let format = match options.format {
            Some(f) => f.into(),
            None => {
                let mut head = Vec::new();
                let file = std::fs::File::open(&path)?;
                std::io::Read::read_to_end(&mut std::io::Read::take(file, 64), &mut head)?;
                if head.starts_with(&[0x1f, 0x8b]) {
                    // Compressed: what it holds starts after the decompression.
                    let file = std::fs::File::open(&path)?;
                    let unpacked = flate2::read::MultiGzDecoder::new(file);
                    head.clear();
                    std::io::Read::read_to_end(&mut std::io::Read::take(unpacked, 64), &mut head)?;
                }
                Format::sniff(&head)
            }
        };
        *spool = Some(s);
        return Ok(vec![DocumentFile {
            collection,
            path,
            shown: "standard input".into(),
            format,
        }]);
    }
    let path = Path::new(source);
    let meta = std::fs::metadata(path).with_context(|| {
        // A URL mistyped (`mongdb://user:password@...`) may hold a password.
        let shown = lightning_core::text::redact_password(source, source);
        format!("--source {shown}: no such file or folder (a URL starts with mongodb://)")
    })?;
    if meta.is_dir() {
        if options.collection.is_some() {
            bail!("--collection names the collection of one file; a folder's files are named after their collections");
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(path)? {
            let p = entry?.path();
            if let Some(format) = Format::of_path(&p) {
                files.push(DocumentFile {
                    collection: stem(&p),
                    shown: p.display().to_string(),
                    path: p,
                    format,
                });
            }
        }
        files.sort_by(|a, b| a.collection.cmp(&b.collection));
        if let Some(w) = files
            .windows(2)
            .find(|w| w[0].collection == w[1].collection)
        {
            bail!(
                "{} and {} hold the same collection `{}`: keep one of them in the folder",
                w[0].shown,
                w[1].shown,
                w[0].collection
            );
        }
        return Ok(files);
    }
    let format = match (options.format, Format::of_path(path)) {
        (Some(f), _) => f.into(),
        (None, Some(f)) => f,
        (None, None) => bail!(
            "{source}: say whether it is JSON lines or BSON with --format (its name ends in neither .json nor .bson)"
        ),
    };
    Ok(vec![DocumentFile {
        collection: options.collection.clone().unwrap_or_else(|| stem(path)),
        path: path.to_path_buf(),
        shown: source.clone(),
        format,
    }])
}

/// `orders.json`, `orders.bson` and `orders.bson.gz` hold `orders`.
fn stem(p: &Path) -> String {
    let name = p
        .file_name()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = name.strip_suffix(".gz").unwrap_or(&name);
    name.rsplit_once('.')
        .map_or(name, |(stem, _)| stem)
        .to_string()
}

fn sample(origin: &Origin, collection: &str, size: u64) -> anyhow::Result<CollectionStats> {
    match origin {
        Origin::Live(live) => live.sample(collection, size),
        Origin::Files { files, .. } => {
            // A file is read whole: its first pass sees every document.
            let file = files
                .iter()
                .find(|f| f.collection == collection)
                .expect("a file per collection");
            let mut stats = CollectionStats::default();
            crate::files::read(file, crate::files::open(file)?, &mut |d| {
                stats.add(&d);
                Ok::<(), crate::files::FileError>(())
            })?;
            Ok(stats)
        }
    }
}

/// Index definitions: `listIndexes` live; a dump's `NAME.metadata.json` beside its file.
fn source_indexes(origin: &Origin, collection: &str) -> anyhow::Result<Vec<Document>> {
    match origin {
        Origin::Live(live) => live.indexes(collection),
        Origin::Files { files, .. } => {
            let Some(f) = files.iter().find(|f| f.collection == collection) else {
                return Ok(Vec::new());
            };
            let plain = f.path.with_file_name(format!("{collection}.metadata.json"));
            let packed = f
                .path
                .with_file_name(format!("{collection}.metadata.json.gz"));
            let meta = if plain.exists() { plain } else { packed };
            let Ok(text) = crate::files::read_text(&meta) else {
                return Ok(Vec::new());
            };
            let doc = match parse_json_text(&text) {
                Ok(Bson::Document(d)) => d,
                _ => bail!("{}: not a mongodump metadata file", meta.display()),
            };
            Ok(doc
                .get_array("indexes")
                .map(|a| a.iter().filter_map(|i| i.as_document().cloned()).collect())
                .unwrap_or_default())
        }
    }
}

/// The column a top-level or flattened field path is mapped to.
fn column_of(fields: &[FieldMap], path: &str) -> Option<String> {
    let (head, rest) = match path.split_once('.') {
        Some((h, r)) => (h, Some(r)),
        None => (path, None),
    };
    let f = fields.iter().find(|f| f.field == head)?;
    match (&f.to, rest) {
        (Target::Column { column, .. }, None) => Some(column.clone()),
        (Target::Flatten { flatten }, Some(rest)) => column_of(flatten, rest),
        _ => None,
    }
}

/// Single-field and compound indexes on mapped columns become Lightning indexes;
/// the others are reported as manual work with their definitions.
fn map_indexes(
    map: &CollectionMap,
    indexes: &[Document],
    root: &mut TableSchema,
    report: &mut ConversionReport,
) {
    for ix in indexes {
        let name = ix.get_str("name").unwrap_or("?").to_string();
        if name == "_id_" {
            continue;
        }
        let definition = crate::kind::json_text(&Bson::Document(ix.clone()));
        let object = format!("{}.{name}", root.name);
        let manual = |why: String| {
            Finding::new(Severity::Manual, object.clone(), why).with_definition(definition.clone())
        };
        let keys = ix.get_document("key").cloned().unwrap_or_default();
        let special = [
            "partialFilterExpression",
            "expireAfterSeconds",
            "collation",
            "weights",
        ]
        .into_iter()
        .find(|k| ix.contains_key(*k));
        if let Some(k) = special {
            let what = match k {
                "partialFilterExpression" => "a partial index",
                "expireAfterSeconds" => "a TTL index (documents expire)",
                "collation" => "an index with a collation",
                _ => "a text index",
            };
            report
                .findings
                .push(manual(format!("{what}: recreate it by hand")));
            continue;
        }
        let mut columns = Vec::new();
        let mut why = None;
        for (path, dir) in &keys {
            let plain = matches!(dir, Bson::Int32(1 | -1) | Bson::Int64(1 | -1))
                || matches!(dir, Bson::Double(d) if *d == 1.0 || *d == -1.0);
            if path.contains("$**") {
                why = Some("a wildcard index: recreate it by hand".to_string());
                break;
            }
            if !plain {
                why = Some(format!(
                    "a {} index on `{path}`: recreate it by hand",
                    crate::kind::json_text(dir)
                ));
                break;
            }
            match column_of(&map.fields, path) {
                Some(c) if path != "_id" => columns.push(c),
                _ if path == "_id" => columns.push("_id".into()),
                _ => {
                    why = Some(format!("`{path}` is not a column of `{}` (an array's field, or kept as JSON): index it by hand", root.name));
                    break;
                }
            }
        }
        match why {
            Some(w) => report.findings.push(manual(w)),
            None if !columns.is_empty() => {
                let unique = matches!(ix.get("unique"), Some(Bson::Boolean(true)));
                if unique && matches!(ix.get("sparse"), Some(Bson::Boolean(true))) {
                    report.findings.push(Finding::new(
                        Severity::Warning,
                        object.clone(),
                        "a sparse unique index: documents without the field are not indexed in MongoDB; in Lightning NULLs never collide, so it holds the same",
                    ));
                }
                root.indexes.push(IndexSchema {
                    name: name.clone(),
                    columns,
                    unique,
                    kind: IndexKind::BTree,
                });
            }
            None => {}
        }
    }
}

fn describe_sample(map: &CollectionMap, s: &CollectionStats, report: &mut ConversionReport) {
    report.findings.push(Finding::new(
        Severity::Info,
        map.table.clone(),
        format!(
            "mapped from {} sampled documents: {} shapes, nesting depth {}, arrays of up to {} elements",
            s.documents,
            s.shapes(),
            s.depth(),
            s.max_array()
        ),
    ));
}

impl OpenedSource for Opened {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.collections
            .iter()
            .flat_map(|c| c.schemas.clone())
            .collect()
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        let me = *self;
        crate::assess::assess(me.origin, me.collections, me.converted, sample)
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        let me = *self;
        let mut filters = HashMap::new();
        for c in &me.collections {
            let table = &c.map.table;
            if let Some(text) = request.where_.get(table) {
                if request.purpose == Purpose::Export {
                    bail!("export reads every document: --where is for migrate and verify");
                }
                if !matches!(me.origin, Origin::Live(_)) {
                    bail!("--where filters a live database's collections; a file is read whole");
                }
                filters.insert(c.name.clone(), query_filter(&c.name, text)?);
            }
        }
        let plans = me
            .collections
            .iter()
            .map(|c| Plan::new(&c.map).map_err(anyhow::Error::msg))
            .collect::<anyhow::Result<Vec<_>>>()?;
        let plans = plans
            .into_iter()
            .zip(&me.collections)
            .map(|(mut p, c)| {
                // The indexes found in the source go with the table.
                p.tables[0].schema = c.schemas[0].clone();
                if let Some(stats) = &c.stats {
                    p.rows_per_document = rows_per_document(&c.map, stats);
                    if matches!(me.origin, Origin::Files { .. }) {
                        p.documents = Some(stats.documents);
                    }
                }
                p
            })
            .collect();
        Ok(Box::new(Reader {
            source: MongoSource::new(me.origin, plans, filters, request.parallel),
            mapping: me.mapping.to_text(),
            _spool: me._spool,
        }))
    }
}

/// `--where` conditions as the core joins them (`(A) AND (B)`), each a MongoDB
/// query filter in Extended JSON, into one filter.
fn query_filter(collection: &str, text: &str) -> anyhow::Result<Document> {
    let inner = text
        .strip_prefix('(')
        .and_then(|t| t.strip_suffix(')'))
        .unwrap_or(text);
    let mut filters = Vec::new();
    for part in inner.split(") AND (") {
        match parse_json_text(part) {
            Ok(Bson::Document(d)) => filters.push(Bson::Document(d)),
            _ => bail!(
                "--where {collection}:{part}: a MongoDB query filter in JSON is expected, for example --where '{collection}:{{\"status\": \"A\"}}'"
            ),
        }
    }
    Ok(match filters.len() {
        1 => match filters.pop() {
            Some(Bson::Document(d)) => d,
            _ => unreachable!("one filter"),
        },
        _ => bson::doc! {"$and": filters},
    })
}

struct Reader {
    source: MongoSource,
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
        self.source.verify_documents(store)
    }
}
