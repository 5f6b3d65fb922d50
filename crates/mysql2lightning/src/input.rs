//! The two inputs — a live server or mysqldump output (a file, or standard input
//! spooled to a file) — up to converted tables and a row source.

use lightning_core::assess::SampleSettings;
use lightning_core::plan::{PlanHints, WayBack};
use std::path::PathBuf;

use anyhow::{bail, Context};
use lightning_core::cli::SourceReader;
use lightning_core::pipeline::Source;
use lightning_core::report::{AssessmentReport, ConversionReport};
use lightning_core::spool::{Spool, Tee};
use lightning_core::tool::{
    CatalogTable, Converted, OpenRequest, OpenedSource, Purpose, ReadRequest,
};
use lightning_core::verify::VerifySource;
use lightning_core::TableSchema;

use crate::connect::{quote, ConnSpec};
use crate::convert::{Options as ConvertOptions, SourceTable};
use crate::dump::{DumpIndex, DumpSource};
use crate::mapping::ZeroDates;
use crate::model::MyCatalog;
use crate::source::ServerSource;
use crate::Options;

enum Input {
    Server(ConnSpec),
    Dump {
        path: PathBuf,
        index: DumpIndex,
        /// Keeps a spooled stdin while the source lives.
        spool: Option<Spool>,
    },
}

struct Opened {
    input: Input,
    tables: Vec<SourceTable>,
    converted: Converted,
    zero_dates: ZeroDates,
    /// `migrate --for-sync`: the catalog, for the checks sync needs.
    for_sync: Option<MyCatalog>,
}

pub fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    if options.for_sync && request.purpose != Purpose::Migrate {
        bail!("--for-sync is an option of migrate (it makes the copy's starting point for sync)");
    }
    let tz = crate::dump::parse_offset(&options.dump_time_zone).with_context(|| {
        format!(
            "--dump-time-zone `{}` is not an offset such as +00:00 or -05:00",
            options.dump_time_zone
        )
    })?;
    if let Some(v) = &options.dump_server_version {
        let (n, m) = crate::dump::lex::parse_server_version(v).with_context(|| {
            format!("--dump-server-version `{v}` is not a version such as 8.0.36 or 10.11-MariaDB")
        })?;
        crate::dump::lex::set_dialect(n, m);
    }
    let (input, cat, description) = match (&options.source.source, &options.source.from_dump) {
        (Some(url), _) => {
            let spec = ConnSpec::resolve(url, &options.client)?;
            let mut conn = spec.connect()?;
            let cat = crate::catalog::read(&mut conn, &spec)?;
            let desc = spec.describe();
            (Input::Server(spec), cat, desc)
        }
        (None, Some(f)) if f == "-" => {
            let spool = Spool::create(request.target)?;
            let mut tee = Tee::new(
                std::io::stdin().lock(),
                std::io::BufWriter::with_capacity(1 << 20, spool.file()?),
            );
            let index = crate::dump::scan(&mut tee, tz).context("standard input")?;
            std::io::Write::flush(&mut tee.into_copy())?;
            let cat = index.catalog.clone();
            let input = Input::Dump {
                path: spool.path().to_path_buf(),
                index,
                spool: Some(spool),
            };
            (input, cat, "mysqldump output on standard input".to_string())
        }
        (None, Some(f)) => {
            let path = PathBuf::from(f);
            if !path.is_file() {
                bail!("{f}: no such file");
            }
            let index =
                crate::dump::scan_file(&path, tz).with_context(|| format!("reading {f}"))?;
            let cat = index.catalog.clone();
            let desc = std::fs::canonicalize(&path)
                .unwrap_or_else(|_| path.clone())
                .display()
                .to_string();
            (
                Input::Dump {
                    path,
                    index,
                    spool: None,
                },
                cat,
                desc,
            )
        }
        (None, None) => bail!("give --source URL or --from-dump FILE"),
    };
    let filter = request.filter;
    let catalog = catalog_of(&cat, filter);
    let mut conversion = ConversionReport::new(crate::TOOL, &description);
    let mut tables = crate::convert::convert(
        &cat,
        &ConvertOptions {
            rules: request.rules,
            zero_dates: options.zero_dates,
            from_dump: matches!(input, Input::Dump { .. }),
        },
        &|t| filter.selects(t),
        &mut conversion,
    );
    for t in &mut tables {
        t.schema.name = filter.target_name(&t.source_name, &quote(&t.source_name));
        for fk in &mut t.schema.foreign_keys {
            fk.ref_table = filter.target_name(&fk.ref_table, &quote(&fk.ref_table));
        }
    }
    Ok(Box::new(Opened {
        input,
        tables,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
        zero_dates: options.zero_dates,
        for_sync: options.for_sync.then_some(cat),
    }))
}

fn catalog_of(cat: &MyCatalog, filter: &lightning_core::cli::TableFilter) -> Vec<CatalogTable> {
    cat.tables
        .iter()
        .map(|t| CatalogTable {
            name: t.name.clone(),
            source_name: quote(&t.name),
            target: filter.target_name(&t.name, &quote(&t.name)),
            columns: t.columns.iter().map(|c| c.name.clone()).collect(),
        })
        .collect()
}

impl OpenedSource for Opened {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn follows_changes(&self) -> bool {
        self.for_sync.is_some()
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|t| t.schema.clone()).collect()
    }

    fn plan_hints(&self) -> PlanHints {
        let Input::Server(spec) = &self.input else {
            return PlanHints::default();
        };
        let word = lightning_core::job::shell_word;
        PlanHints {
            sync: true,
            way_back: Some(WayBack {
                dialect: "mysql",
                load: format!(
                    "mariadb --protocol=tcp -h {} -P {} -u {} {} < back.sql",
                    word(&spec.host),
                    spec.port,
                    word(&spec.user),
                    word(&spec.database)
                ),
            }),
            after_switch: None,
        }
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        let me = *self;
        match me.input {
            Input::Server(spec) => {
                let rows: Vec<u64> = me.tables.iter().map(|t| t.rows_estimate).collect();
                let src = ServerSource::new(
                    spec.clone(),
                    me.tables.clone(),
                    Default::default(),
                    sample.parallel,
                    ZeroDates::Null,
                    false,
                );
                let zero_dates = crate::assess::server_zero_dates(&spec, &me.tables)
                    .context("counting the zero dates")?;
                let names: Vec<String> = me.tables.iter().map(|t| t.source_name.clone()).collect();
                let checks = crate::checks::source_checks(&spec, &names)?;
                let schemas = src.schemas();
                crate::assess::assess(
                    &me.converted.description,
                    &me.tables,
                    &rows,
                    &zero_dates,
                    me.converted.conversion,
                    crate::assess::Sampling {
                        source: &src,
                        schemas: &schemas,
                        settings: sample,
                        checks,
                    },
                )
            }
            Input::Dump {
                path,
                index,
                spool: _spool,
            } => {
                let dump_bytes = index.bytes;
                let mut tables = me.tables;
                let src = DumpSource::from_file(path, index, tables.clone(), ZeroDates::Null);
                let rows: Vec<u64> = tables.iter().map(|t| src.rows_hint(t)).collect();
                for t in &mut tables {
                    t.size_bytes = src.bytes_of(t);
                }
                let zero_dates = src
                    .zero_dates()
                    .map_err(|e| anyhow::anyhow!("counting the zero dates: {e}"))?;
                let schemas = src.schemas();
                let mut a = crate::assess::assess(
                    &me.converted.description,
                    &tables,
                    &rows,
                    &zero_dates,
                    me.converted.conversion,
                    crate::assess::Sampling {
                        source: &src,
                        schemas: &schemas,
                        settings: sample,
                        checks: Vec::new(),
                    },
                )?;
                a.database_size_bytes = dump_bytes;
                Ok(a)
            }
        }
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        let me = *self;
        match me.input {
            Input::Server(spec) => {
                let parallel = if request.purpose == Purpose::Migrate {
                    request.parallel
                } else {
                    1
                };
                let for_sync = match me.for_sync {
                    Some(cat) => Some(prepare_sync(&spec, cat, &me.tables, request)?),
                    None => None,
                };
                // The store's size is sampled outside the snapshot: its
                // connections are the copy's, and a read cut short loses one.
                let sampled = ServerSource::new(
                    spec.clone(),
                    me.tables.clone(),
                    request.where_.clone(),
                    parallel,
                    me.zero_dates,
                    false,
                );
                let mut source = ServerSource::new(
                    spec,
                    me.tables,
                    request.where_.clone(),
                    parallel,
                    me.zero_dates,
                    // Migrate and export read one snapshot, verification included.
                    request.purpose != Purpose::Verify,
                );
                if for_sync.is_some() {
                    source = source.for_sync();
                }
                Ok(Box::new(Reader::Server(
                    source,
                    for_sync,
                    Box::new(sampled),
                )))
            }
            Input::Dump { path, index, spool } => {
                if !request.where_.is_empty() {
                    bail!("--where needs a server (a dump cannot be filtered with SQL)");
                }
                Ok(Box::new(Reader::Dump(
                    DumpSource::from_file(path, index, me.tables, me.zero_dates),
                    spool,
                    me.zero_dates,
                )))
            }
        }
    }
}

/// What `migrate --for-sync` keeps for the sync state it records.
struct ForSync {
    /// The catalog at the copy: the tables' shapes, and every table the database
    /// has (tables made later are named by sync).
    catalog: MyCatalog,
}

/// Check what sync will need before copying anything.
fn prepare_sync(
    spec: &crate::connect::ConnSpec,
    cat: MyCatalog,
    tables: &[SourceTable],
    request: &ReadRequest,
) -> anyhow::Result<ForSync> {
    if !request.where_.is_empty() {
        bail!("--for-sync copies whole tables: --where would leave rows that later changes expect");
    }
    let mut conn = spec.connect()?;
    crate::sync::check_server(&mut conn, spec)?;
    for t in tables {
        let my = cat
            .tables
            .iter()
            .find(|m| m.name == t.source_name)
            .expect("converted from the catalog");
        if let Some(why) = crate::sync::key_problem(t, my) {
            bail!(why);
        }
    }
    Ok(ForSync { catalog: cat })
}

enum Reader {
    /// The copy's source, what sync needs, and a source outside the copy's
    /// snapshot for the store's size sample.
    Server(ServerSource, Option<ForSync>, Box<ServerSource>),
    /// The spool (standard input) lives as long as the source reading it.
    Dump(DumpSource, #[allow(dead_code)] Option<Spool>, ZeroDates),
}

impl SourceReader for Reader {
    fn source(&self) -> &dyn Source {
        match self {
            Reader::Server(s, ..) => s,
            Reader::Dump(s, ..) => s,
        }
    }

    fn size_sample(&self) -> &dyn Source {
        match self {
            Reader::Server(_, _, sampled) => sampled.as_ref(),
            Reader::Dump(s, ..) => s,
        }
    }

    fn verifier(&self) -> &dyn VerifySource {
        match self {
            Reader::Server(s, ..) => s,
            Reader::Dump(s, ..) => s,
        }
    }

    fn schemas(&self) -> Vec<TableSchema> {
        match self {
            Reader::Server(s, ..) => s.schemas(),
            Reader::Dump(s, ..) => s.schemas(),
        }
    }

    fn notes(&self) -> Vec<String> {
        match self {
            Reader::Server(s, ..) => s.counters.summary(s.zero_dates()),
            Reader::Dump(s, _, z) => s.counters.summary(*z),
        }
    }

    fn forget_counts(&self) {
        match self {
            Reader::Server(s, ..) => s.counters.forget(),
            Reader::Dump(s, ..) => s.counters.forget(),
        }
    }

    fn sync_start(&self) -> anyhow::Result<Option<lightning_core::store::SyncState>> {
        let Reader::Server(source, Some(sync), _) = self else {
            return Ok(None);
        };
        let start = source
            .binlog_start()
            .context("the binlog position of the copy's snapshot is unknown")?;
        let tables: Vec<SourceTable> = source.tables().cloned().collect();
        Ok(Some(crate::sync::initial_state(
            &start,
            &tables,
            &sync.catalog,
            source.zero_dates(),
        )))
    }
}
