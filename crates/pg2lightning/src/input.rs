//! The two inputs — a live server or a pg_dump script — up to the point where both
//! are a converted schema and a row source.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use clap::Args;
use lightning_core::cast::Pattern;
use lightning_core::cli::{CastArgs, TableFilter, WhereArgs};
use lightning_core::pipeline::Source;
use lightning_core::report::{ConversionReport, Finding, Severity};
use lightning_core::verify::VerifySource;
use lightning_core::TableSchema;

use crate::connect::ConnectInfo;
use crate::convert::{convert, ConvertOptions, ConvertedTable};
use crate::dumpsource::DumpSource;
use crate::model::Database;
use crate::server::{ServerSource, Snapshot};

#[derive(Debug, Clone, Args)]
pub struct SourceArgs {
    /// The server: a URL (postgresql://user@host:5432/db) or a `host=... dbname=...`
    /// string. What it leaves out comes from PGHOST, PGPORT, PGUSER, PGPASSWORD and
    /// PGDATABASE, as for psql.
    #[arg(long, value_name = "URL", conflicts_with = "from_dump")]
    pub source: Option<String>,
    /// Read a plain-format pg_dump script instead of a server (`-` for stdin).
    #[arg(long, value_name = "FILE|-")]
    pub from_dump: Option<PathBuf>,
    /// Keep each partition of a partitioned table as its own table (by default
    /// they are merged into one table named after the parent).
    #[arg(long)]
    pub keep_partitions: bool,
}

enum Input {
    Server(Box<ConnectInfo>),
    Dump {
        path: PathBuf,
        blocks: Vec<crate::dump::DataBlock>,
        /// Keeps a spooled stdin alive.
        _spool: Option<tempfile::TempPath>,
    },
}

/// A source read and converted.
pub struct Loaded {
    input: Input,
    db: Database,
    pub tables: Vec<ConvertedTable>,
    pub conversion: ConversionReport,
    /// How runs and reports name the source (never with a password).
    pub description: String,
}

/// Where a dump from stdin is spooled: beside the target when there is one (it is
/// as big as the dump), else in the temporary directory.
fn spool_file(near: Option<&Path>) -> anyhow::Result<tempfile::NamedTempFile> {
    let dir = near
        .and_then(|t| t.parent())
        .filter(|p| !p.as_os_str().is_empty())
        .map(Path::to_path_buf)
        .unwrap_or_else(std::env::temp_dir);
    tempfile::Builder::new()
        .prefix(".pg2lightning-stdin-")
        .suffix(".sql")
        .tempfile_in(&dir)
        .with_context(|| {
            format!(
                "cannot create a file in {} to hold the dump read from stdin",
                dir.display()
            )
        })
}

pub fn load(
    args: &SourceArgs,
    filter: &TableFilter,
    cast: &CastArgs,
    target: Option<&Path>,
) -> anyhow::Result<Loaded> {
    let rules = cast.rules(crate::mapping::default_rules())?;
    let (input, mut db, description) = match &args.from_dump {
        Some(path) if path.as_os_str() == "-" => {
            let spool = spool_file(target)?;
            let (file, tmp) = spool.into_parts();
            let mut writer = std::io::BufWriter::with_capacity(1 << 20, file);
            let stdin = std::io::stdin();
            let index = crate::dump::scan(
                BufReader::with_capacity(1 << 20, stdin.lock()),
                Some(&mut writer),
            )
            .context("stdin")?;
            std::io::Write::flush(&mut writer)?;
            let input = Input::Dump {
                path: tmp.to_path_buf(),
                blocks: index.blocks,
                _spool: Some(tmp),
            };
            (input, index.db, "pg_dump script on stdin".to_string())
        }
        Some(path) => {
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
            let index = crate::dump::scan(BufReader::with_capacity(1 << 20, file), None)
                .with_context(|| path.display().to_string())?;
            let canonical = std::fs::canonicalize(path).unwrap_or_else(|_| path.clone());
            let input = Input::Dump {
                path: path.clone(),
                blocks: index.blocks,
                _spool: None,
            };
            (input, index.db, canonical.display().to_string())
        }
        None => {
            let info = ConnectInfo::from_source(args.source.as_deref())?;
            let mut client = info.connect()?;
            let db = crate::catalog::read(&mut client)
                .with_context(|| format!("reading the catalog of {}", info.display))?;
            let desc = info.display.clone();
            (Input::Server(Box::new(info)), db, desc)
        }
    };
    let mut report = ConversionReport::new(crate::TOOL, &description);
    drop_generated_columns(&mut db, &mut report);
    let opts = ConvertOptions {
        keep_partitions: args.keep_partitions,
    };
    let known: Vec<String> = crate::convert::convert(
        &db,
        &rules,
        opts,
        &|_| true,
        &mut ConversionReport::new("", ""),
    )
    .iter()
    .map(|t| t.schema.name.clone())
    .collect();
    let known_ref: Vec<&str> = known.iter().map(String::as_str).collect();
    if let Some(t) = filter.unknown(&known_ref).first() {
        bail!(
            "no table `{t}` in the source (tables: {})",
            known.join(", ")
        );
    }
    let tables = convert(&db, &rules, opts, &|t| filter.selects(t), &mut report);
    for rule in &rules.user {
        if let Pattern::Column { table, column } = &rule.pattern {
            let found = tables
                .iter()
                .any(|t| &t.schema.name == table && t.schema.column(column).is_some());
            if !found {
                bail!("cast rule `{rule}` names no column of the source (`{table}` has no column `{column}`)");
            }
        }
    }
    Ok(Loaded {
        input,
        db,
        tables,
        conversion: report,
        description,
    })
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

/// The row source of a loaded input.
pub enum Reader {
    Server {
        source: Box<ServerSource>,
        /// Keeps the shared snapshot open while the reader lives.
        _snapshot: Option<Snapshot>,
    },
    Dump {
        source: DumpSource,
        /// Keeps a spooled stdin alive while the reader lives.
        _spool: Option<tempfile::TempPath>,
    },
}

impl Loaded {
    /// `snapshot`: share one exported snapshot across all readers (migrate, export).
    pub fn reader(self, where_: &WhereArgs, snapshot: bool) -> anyhow::Result<Reader> {
        let names: Vec<String> = self.tables.iter().map(|t| t.schema.name.clone()).collect();
        let known: Vec<&str> = names.iter().map(String::as_str).collect();
        match self.input {
            Input::Server(info) => {
                let snap = if snapshot {
                    Some(Snapshot::export(&info).map_err(|e| anyhow::anyhow!(e))?)
                } else {
                    None
                };
                let src = ServerSource::new(
                    *info,
                    self.tables,
                    where_.by_table(&known),
                    snap.as_ref().map(|s| s.id.clone()),
                );
                Ok(Reader::Server {
                    source: Box::new(src),
                    _snapshot: snap,
                })
            }
            Input::Dump {
                path,
                blocks,
                _spool,
            } => {
                if !where_.conditions.is_empty() {
                    bail!("--where needs a live server (--source); a dump is read as it is");
                }
                let db = self.db;
                let src = DumpSource::new(path, self.tables, blocks, &|name| {
                    db.table(name)
                        .map(|t| t.columns.iter().map(|c| c.name.clone()).collect())
                        .unwrap_or_default()
                })
                .map_err(|e| anyhow::anyhow!(e))?;
                Ok(Reader::Dump {
                    source: src,
                    _spool,
                })
            }
        }
    }
}

impl Reader {
    pub fn source(&self) -> &dyn Source {
        match self {
            Reader::Server { source: s, .. } => s.as_ref(),
            Reader::Dump { source: s, .. } => s,
        }
    }

    pub fn verifier(&self) -> &dyn VerifySource {
        match self {
            Reader::Server { source: s, .. } => s.as_ref(),
            Reader::Dump { source: s, .. } => s,
        }
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        match self {
            Reader::Server { source: s, .. } => s.schemas(),
            Reader::Dump { source: s, .. } => s.schemas(),
        }
    }

    pub fn set_limit(&mut self, limit: u64) {
        match self {
            Reader::Server { source: s, .. } => s.limit = Some(limit),
            Reader::Dump { source: s, .. } => s.limit = Some(limit),
        }
    }
}
