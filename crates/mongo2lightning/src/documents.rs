//! `documents`: the documents a store holds, rebuilt from its tables with the
//! mapping the migration kept, written as Extended JSON lines (mongoimport reads
//! them back).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{bail, Context};
use bson::Bson;
use clap::{Args, FromArgMatches};
use lightning_core::store::Store;
use lightning_core::tool::SourceTool;

use crate::kind::{canonical_text, json_text};
use crate::mapping::Mapping;
use crate::rows::Plan;
use crate::Mongo;

/// The output was closed by its reader.
#[derive(Debug, thiserror::Error)]
#[error("standard output closed")]
struct Closed;

#[derive(Args)]
struct DocumentsArgs {
    /// The Lightning store a migration wrote.
    #[arg(long, value_name = "DIR")]
    target: PathBuf,
    /// Only these collections (comma-separated; default: all the store holds).
    #[arg(long, value_delimiter = ',', value_name = "NAME,...")]
    collection: Vec<String>,
    /// Write each collection to DIR/NAME.json instead of standard output.
    #[arg(long, value_name = "DIR")]
    out: Option<PathBuf>,
    /// Canonical Extended JSON throughout (by default a value is relaxed where
    /// that reads back as the same value: `1` for an int, `{"$numberLong": "1"}`
    /// for a long).
    #[arg(long)]
    canonical: bool,
}

pub fn command() -> clap::Command {
    DocumentsArgs::augment_args(clap::Command::new("documents").about(
        "Write the documents a store holds, rebuilt from its tables, as Extended JSON lines",
    ))
}

pub fn run(matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    let args = DocumentsArgs::from_arg_matches(matches)?;
    let store = Store::open_to_read(&args.target)?;
    let Some(text) = store.source_mapping(Mongo::NAME)? else {
        bail!(
            "{} holds no documents from {}: it was not written by `{} migrate`",
            args.target.display(),
            Mongo::NAME,
            Mongo::NAME
        );
    };
    let mapping = Mapping::parse(&text)
        .map_err(|e| anyhow::anyhow!("the mapping kept in {}: {e}", args.target.display()))?;
    for name in &args.collection {
        if mapping.collection(name).is_none() {
            let known: Vec<&str> = mapping
                .collections
                .iter()
                .map(|c| c.collection.as_str())
                .collect();
            bail!(
                "--collection: the store holds no collection `{name}` (it has: {})",
                known.join(", ")
            );
        }
    }
    let chosen: Vec<_> = mapping
        .collections
        .iter()
        .filter(|c| args.collection.is_empty() || args.collection.contains(&c.collection))
        .collect();
    if chosen.len() > 1 && args.out.is_none() {
        bail!("the store holds {} collections: choose one with --collection, or write each to a file with --out DIR", chosen.len());
    }
    let mut broken = 0u64;
    for c in chosen {
        let plan = Plan::new(c).map_err(anyhow::Error::msg)?;
        let mut out: Box<dyn Write> = match &args.out {
            Some(dir) => {
                std::fs::create_dir_all(dir)?;
                let path = dir.join(format!("{}.json", c.collection));
                Box::new(std::io::BufWriter::new(
                    std::fs::File::create(&path)
                        .with_context(|| format!("cannot create {}", path.display()))?,
                ))
            }
            None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
        };
        let written = crate::rebuild::documents(&store, &plan, &mut |r| {
            match r {
                Ok(d) => {
                    let d = Bson::Document(d);
                    let line = if args.canonical {
                        canonical_text(&d)
                    } else {
                        json_text(&d)
                    };
                    if let Err(e) = writeln!(out, "{line}") {
                        // A reader that stopped (`| head`) ends the command, not an error.
                        if e.kind() == std::io::ErrorKind::BrokenPipe {
                            return Err(Closed.into());
                        }
                        return Err(e.into());
                    }
                }
                Err((key, why)) => {
                    broken += 1;
                    eprintln!("{}: {key}: {why}", c.collection);
                }
            }
            Ok(())
        });
        match written {
            Err(e) if e.is::<Closed>() => return Ok(ExitCode::SUCCESS),
            other => other?,
        }
        match out.flush() {
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => return Ok(ExitCode::SUCCESS),
            other => other?,
        }
    }
    if broken > 0 {
        bail!("{broken} documents could not be rebuilt (named above): verify the store against its source");
    }
    Ok(ExitCode::SUCCESS)
}
