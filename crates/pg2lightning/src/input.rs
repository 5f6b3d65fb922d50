//! The two inputs — a live server or a pg_dump script — up to the point where both
//! are a converted schema and a row source.

use lightning_core::assess::SampleSettings;
use lightning_core::plan::{PlanHints, WayBack};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

use anyhow::{bail, Context};
use clap::Args;
use lightning_core::cli::SourceReader;
use lightning_core::fingerprint::HashingReader;
use lightning_core::pipeline::Source;
use lightning_core::report::{AssessmentReport, ConversionReport, Finding, Severity};
use lightning_core::secret::PasswordFileArg;
use lightning_core::spool::Spool;
use lightning_core::tool::{
    CatalogTable, Converted, OpenRequest, OpenedSource, Purpose, ReadRequest,
};
use lightning_core::verify::VerifySource;
use lightning_core::TableSchema;

use crate::connect::ConnectInfo;
use crate::convert::{convert, ConvertOptions, ConvertedTable};
use crate::dumpsource::DumpSource;
use crate::model::{Database, TableKind};
use crate::server::{ServerSource, Snapshot};

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The server: a URL (postgresql://user@host:5432/db?sslmode=verify-full) or a
    /// `host=... dbname=...` string, as for psql. What it leaves out comes from a
    /// service (service=NAME or PGSERVICE) and PGHOST, PGPORT, PGUSER, PGDATABASE,
    /// PGSSLMODE, PGSSLROOTCERT... TLS: sslmode (default prefer), sslrootcert,
    /// sslcert, sslkey. The password: from the string, else --password-file, else
    /// PGPASSWORD, else ~/.pgpass (or PGPASSFILE).
    #[arg(long, value_name = "URL", conflicts_with = "from_dump")]
    pub source: Option<String>,
    #[command(flatten)]
    pub password: PasswordFileArg,
    /// Read a plain-format pg_dump script instead of a server (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub from_dump: Option<PathBuf>,
    /// Keep each partition of a partitioned table as its own table (by default
    /// they are merged into one table named after the parent).
    #[arg(long)]
    pub keep_partitions: bool,
    /// migrate: make a replication slot before the snapshot is taken, so that
    /// `sync` continues exactly from where the copy stands (a live server with
    /// wal_level = logical; the user needs REPLICATION and to own the tables).
    #[arg(long, conflicts_with = "from_dump")]
    pub for_sync: bool,
    /// Only the tables of this schema (repeatable, or comma-separated) [default:
    /// every schema]. Tables keep their names: `sales.orders` stays `sales.orders`
    /// unless --rename says otherwise.
    #[arg(long = "schema", value_name = "NAME", value_delimiter = ',')]
    pub schemas: Vec<String>,
    /// The replication slot (and publication) --for-sync makes or keeps.
    #[arg(long, value_name = "NAME", default_value = crate::sync::DEFAULT_SLOT)]
    pub slot: String,
}

enum Input {
    Server(Box<ConnectInfo>),
    Dump {
        path: PathBuf,
        blocks: Vec<crate::dump::DataBlock>,
        /// Keeps a spooled stdin while the source lives.
        spool: Option<Spool>,
        /// The hash of the dump's bytes.
        content_id: String,
    },
}

/// A source read and converted.
pub struct Loaded {
    input: Input,
    /// `--for-sync`: the slot to make before the snapshot.
    for_sync: Option<String>,
    keep_partitions: bool,
    db: Database,
    pub tables: Vec<ConvertedTable>,
    pub converted: Converted,
}

pub fn open(args: &SourceArgs, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    Ok(Box::new(load(args, request)?))
}

fn load(args: &SourceArgs, request: &OpenRequest<'_>) -> anyhow::Result<Loaded> {
    if args.for_sync && request.purpose != Purpose::Migrate {
        bail!("--for-sync is an option of migrate (it makes the copy's starting point for sync)");
    }
    let rules = request.rules;
    let filter = request.filter;
    let (input, mut db, description) = match &args.from_dump {
        Some(path) if path.as_os_str() == "-" => {
            let spool = Spool::create(request.target)?;
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, spool.file()?);
            let stdin = std::io::stdin();
            let mut input = BufReader::with_capacity(1 << 20, HashingReader::new(stdin.lock()));
            let index = crate::dump::scan(&mut input, Some(&mut writer)).context("stdin")?;
            std::io::Write::flush(&mut writer)?;
            let input = Input::Dump {
                path: spool.path().to_path_buf(),
                blocks: index.blocks,
                spool: Some(spool),
                content_id: input.get_ref().content_id(),
            };
            (input, index.db, "pg_dump script on stdin".to_string())
        }
        Some(path) => {
            if path.is_dir() {
                bail!(
                    "{} is a directory-format pg_dump archive: turn it into a script with `pg_restore -f - {}` and pipe that in with --from-dump -",
                    path.display(),
                    path.display()
                );
            }
            let file = File::open(path)
                .with_context(|| format!("cannot open the dump {}", path.display()))?;
            let mut head = [0u8; 5];
            let n = File::open(path)?.read(&mut head)?;
            if head[..n].starts_with(b"PGDMP") {
                bail!(
                    "{} is a custom-format pg_dump archive: turn it into a script with `pg_restore -f - {}` and pipe that in with --from-dump -",
                    path.display(),
                    path.display()
                );
            }
            let mut input = BufReader::with_capacity(1 << 20, HashingReader::new(file));
            let index =
                crate::dump::scan(&mut input, None).with_context(|| path.display().to_string())?;
            let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let input = Input::Dump {
                path: path.clone(),
                blocks: index.blocks,
                spool: None,
                content_id: input.get_ref().content_id(),
            };
            (input, index.db, canonical.display().to_string())
        }
        None => {
            let info = ConnectInfo::from_source(args.source.as_deref(), &args.password)?;
            let mut client = info.connect()?;
            let db = crate::catalog::read(&mut client)
                .map_err(crate::connect::PgError::new)
                .with_context(|| format!("reading the catalog of {}", info.display))?;
            let desc = info.display.clone();
            (Input::Server(Box::new(info)), db, desc)
        }
    };
    select_schemas(&mut db, &args.schemas)?;
    let mut report = ConversionReport::new(crate::TOOL, &description);
    drop_generated_columns(&mut db, &mut report);
    let opts = ConvertOptions {
        keep_partitions: args.keep_partitions,
    };
    let catalog: Vec<CatalogTable> = db
        .tables
        .iter()
        .filter(|t| {
            let merged = t.parent.is_some() && !opts.keep_partitions;
            let parent = matches!(t.kind, TableKind::Partitioned { .. });
            !(merged || (parent && opts.keep_partitions))
        })
        .map(|t| {
            let name = t.name.lightning_name();
            let source_name = t.name.sql();
            CatalogTable {
                target: filter.target_name(&name, &source_name),
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                name,
                source_name,
            }
        })
        .collect();
    let mut tables = convert(&db, rules, opts, &|t| filter.selects(t), &mut report);
    for t in &mut tables {
        t.schema.name = filter.target_name(&t.schema.name, &t.name.sql());
        for fk in &mut t.schema.foreign_keys {
            // By the referenced table's entry: a rename may name it `schema.table`.
            fk.ref_table = match catalog.iter().find(|c| c.name == fk.ref_table) {
                Some(c) => c.target.clone(),
                None => filter.target_name(&fk.ref_table, &fk.ref_table),
            };
        }
    }
    Ok(Loaded {
        input,
        for_sync: args.for_sync.then(|| args.slot.clone()),
        keep_partitions: args.keep_partitions,
        db,
        tables,
        converted: Converted {
            description,
            catalog,
            conversion: report,
        },
    })
}

/// `--schema`: keep the tables (and the objects needing manual work) of the
/// schemas named; each must exist.
fn select_schemas(db: &mut Database, schemas: &[String]) -> anyhow::Result<()> {
    if schemas.is_empty() {
        return Ok(());
    }
    let present: std::collections::BTreeSet<&str> =
        db.tables.iter().map(|t| t.name.schema.as_str()).collect();
    if let Some(missing) = schemas.iter().find(|s| !present.contains(s.as_str())) {
        bail!(
            "--schema {missing}: no table of the source is in a schema of that name (the \
             schemas with tables are: {})",
            present.into_iter().collect::<Vec<_>>().join(", ")
        );
    }
    db.tables.retain(|t| schemas.contains(&t.name.schema));
    db.manual.retain(|m| {
        let qualified = m.name.rsplit(" ON ").next().unwrap_or(&m.name);
        match qualified.split_once('.') {
            Some((schema, _)) => schemas.iter().any(|s| s == schema.trim_matches('"')),
            None => true,
        }
    });
    Ok(())
}

/// Generated columns hold derived values that pg_dump leaves out of its data (and
/// virtual ones are not stored at all): they are left out from either input, so
/// that a server and a dump of it give the same tables, and listed as manual work.
fn drop_generated_columns(db: &mut Database, report: &mut ConversionReport) {
    for t in &mut db.tables {
        // A partition repeats its parent's columns: report them once.
        let merged = t.parent.is_some();
        for c in t
            .columns
            .iter()
            .filter(|c| c.generated.is_some() && !merged)
        {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    format!("{}.{}", t.name.lightning_name(), c.name),
                    "generated column: its values are derived and not copied; compute them in the application or add the column back",
                )
                .with_definition(format!(
                    "{} {} GENERATED ALWAYS AS ({})",
                    c.name,
                    c.type_name,
                    c.generated.as_deref().unwrap_or("")
                )),
            );
        }
        t.columns.retain(|c| c.generated.is_none());
    }
}

impl OpenedSource for Loaded {
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
        let Some(info) = self.server() else {
            return PlanHints::default();
        };
        PlanHints {
            sync: true,
            way_back: Some(WayBack {
                dialect: "postgres",
                load: format!(
                    "psql -v ON_ERROR_STOP=1 -d {} -f back.sql",
                    lightning_core::job::shell_word(&info.display)
                ),
            }),
            after_switch: Some("--drop-slot".into()),
        }
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        crate::assess::assess(*self, sample)
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        // Migrate and export read every table in one snapshot; verify reads now.
        let snapshot = matches!(request.purpose, Purpose::Migrate | Purpose::Export);
        Ok(Box::new(self.into_reader(&request.where_, snapshot)?))
    }
}

/// What `migrate --for-sync` keeps for the sync state it records.
pub struct ForSync {
    /// The slot made before the snapshot.
    slot: crate::sync::SlotStart,
    keep_partitions: bool,
    /// Every table the source has (tables made later are named by sync).
    known: Vec<(String, String)>,
}

/// The row source of a loaded input.
pub enum Reader {
    Server {
        source: Box<ServerSource>,
        /// Keeps the shared snapshot open while the reader lives.
        _snapshot: Option<Snapshot>,
        /// `--for-sync`: what sync will start from.
        sync: Option<Box<ForSync>>,
    },
    Dump {
        source: DumpSource,
        /// Keeps a spooled stdin while the reader lives.
        _spool: Option<Spool>,
    },
}

impl Loaded {
    /// The server read, when the input is one.
    pub fn server(&self) -> Option<&ConnectInfo> {
        match &self.input {
            Input::Server(info) => Some(info),
            Input::Dump { .. } => None,
        }
    }

    /// The definitions read.
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// `snapshot`: share one exported snapshot across all readers (migrate, export).
    pub fn into_reader(
        self,
        where_: &std::collections::HashMap<String, String>,
        snapshot: bool,
    ) -> anyhow::Result<Reader> {
        match self.input {
            Input::Server(info) => {
                // The slot first: the snapshot then sees every transaction before
                // the slot's start, and sync skips the ones between the two.
                let slot = match &self.for_sync {
                    Some(name) => {
                        if !where_.is_empty() {
                            bail!("--for-sync copies whole tables: --where would leave rows that later changes expect");
                        }
                        let mut client = info.connect()?;
                        let start = crate::sync::prepare_slot(&mut client, name, &self.tables)?;
                        lightning_core::fault::point("slot-made");
                        Some(start)
                    }
                    None => None,
                };
                let snap = if snapshot {
                    Some(Snapshot::export(&info).map_err(|e| anyhow::anyhow!(e))?)
                } else {
                    None
                };
                let sync = slot.map(|slot| {
                    Box::new(ForSync {
                        slot,
                        keep_partitions: self.keep_partitions,
                        known: self
                            .db
                            .tables
                            .iter()
                            .filter(|t| t.parent.is_none())
                            .map(|t| (t.name.schema.clone(), t.name.name.clone()))
                            .collect(),
                    })
                });
                let src = ServerSource::new(*info, self.tables, where_.clone(), snap.as_ref());
                Ok(Reader::Server {
                    source: Box::new(src),
                    _snapshot: snap,
                    sync,
                })
            }
            Input::Dump {
                path,
                blocks,
                spool,
                content_id,
            } => {
                if !where_.is_empty() {
                    bail!("--where needs a live server (--source); a dump is read as it is");
                }
                let db = self.db;
                let mut src = DumpSource::new(path, self.tables, blocks, &|name| {
                    db.table(name)
                        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
                        .unwrap_or_default()
                })
                .map_err(|e| anyhow::anyhow!(e))?;
                src.content_id = Some(content_id);
                Ok(Reader::Dump {
                    source: src,
                    _spool: spool,
                })
            }
        }
    }
}

impl SourceReader for Reader {
    fn source(&self) -> &dyn Source {
        match self {
            Reader::Server { source: s, .. } => s.as_ref(),
            Reader::Dump { source: s, .. } => s,
        }
    }

    fn verifier(&self) -> &dyn VerifySource {
        match self {
            Reader::Server { source: s, .. } => s.as_ref(),
            Reader::Dump { source: s, .. } => s,
        }
    }

    fn schemas(&self) -> Vec<TableSchema> {
        match self {
            Reader::Server { source: s, .. } => s.schemas(),
            Reader::Dump { source: s, .. } => s.schemas(),
        }
    }

    fn query_rows(&self, sql: &str) -> anyhow::Result<lightning_core::query_check::TextRows> {
        match self {
            Reader::Server { source: s, .. } => s.query_rows(sql),
            Reader::Dump { .. } => bail!("`verify --query` needs a live server (--source)"),
        }
    }

    fn sync_start(&self) -> anyhow::Result<Option<lightning_core::store::SyncState>> {
        let Reader::Server {
            source,
            sync: Some(sync),
            ..
        } = self
        else {
            return Ok(None);
        };
        let xids = source
            .snapshot_xids()
            .context("the copy's snapshot is unknown")?;
        Ok(Some(crate::sync::initial_state(
            &sync.slot,
            &xids,
            sync.keep_partitions,
            &source.converted(),
            sync.known.clone(),
        )))
    }
}
