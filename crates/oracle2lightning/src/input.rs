//! The script opened for a command: decoded, scanned, its selected tables
//! converted, and its rows read through `ScriptSource`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{bail, Context};
use lightning_core::assess::SampleSettings;
use lightning_core::cli::{PlainReader, SourceReader};
use lightning_core::report::{AssessmentReport, ConversionReport};
use lightning_core::sql_script::{read_script, script_description, script_shown};
use lightning_core::tool::{CatalogTable, Converted, OpenRequest, OpenedSource, ReadRequest};
use lightning_core::TableSchema;

use crate::convert::{self, SourceTable};
use crate::loader::control::{self, Control};
use crate::loader::{LoadTable, LoaderSource};
use crate::script::{self, ScriptIndex};
use crate::source::ScriptSource;

/// Where the rows are: the script's INSERTs, or SQL*Loader data files.
enum Data {
    Script {
        text: Arc<str>,
        content_id: String,
        index: ScriptIndex,
    },
    Loader {
        content_id: String,
        controls: Vec<(Control, Vec<Option<usize>>, u64, u64)>,
    },
}

struct Opened {
    data: Data,
    bytes: u64,
    tables: Vec<SourceTable>,
    converted: Converted,
}

pub fn open(source: &Path, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    let (bytes, content_id) = read_script(source)?;
    let size = bytes.len() as u64;
    let shown = script_shown(source);
    let text = script::decode(bytes).with_context(|| format!("reading {shown}"))?;
    let index = script::scan(&text).with_context(|| format!("reading {shown}"))?;
    if index.tables.is_empty() {
        bail!("{shown} creates no table: export the DDL too (SQL Developer: Database Export with \"Export DDL\" and \"Export Data\" ticked)");
    }
    let filter = request.filter;
    let catalog = index
        .tables
        .iter()
        .map(|t| {
            let name = index.name_of(&t.qualified());
            CatalogTable {
                target: filter.target_name(&name, &t.qualified().sql()),
                source_name: t.qualified().sql(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| crate::model::lightning_ident(&c.name))
                    .collect(),
                name,
            }
        })
        .collect();
    let mut conversion = ConversionReport::new(
        <crate::Oracle as lightning_core::tool::SourceTool>::NAME,
        &shown,
    );
    let mut tables = convert::convert(
        &index,
        request.rules,
        &|t| filter.selects(t),
        &mut conversion,
    )?;
    for t in &mut tables {
        let target = filter.target_name(&index.name_of(&t.name), &t.name.sql());
        let referenced = index
            .tables
            .iter()
            .find(|x| x.name.as_ref().is_some_and(|n| n.same(&t.name)))
            .into_iter()
            .flat_map(|x| x.foreign_keys.iter())
            .map(|(_, q)| filter.target_name(&index.name_of(q), &q.sql()))
            .collect();
        t.set_targets(target, referenced);
    }
    let description = script_description(source, &content_id);
    Ok(Box::new(Opened {
        data: Data::Script {
            text: Arc::from(text),
            content_id,
            index,
        },
        bytes: size,
        tables,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
    }))
}

/// SQL*Loader control files, with the tables' DDL from a script or from the
/// control files' field types.
pub fn open_loader(
    script: Option<&Path>,
    controls: &[PathBuf],
    request: &OpenRequest<'_>,
) -> anyhow::Result<Box<dyn OpenedSource>> {
    let mut parsed = Vec::new();
    for path in controls {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read the control file {}", path.display()))?;
        let c =
            control::parse(path, &text).with_context(|| format!("reading {}", path.display()))?;
        parsed.push(c);
    }
    let (mut index, mut ids) = match script {
        Some(s) => {
            let (bytes, id) = read_script(s)?;
            let text = script::decode(bytes).with_context(|| format!("reading {}", s.display()))?;
            let index = script::scan(&text).with_context(|| format!("reading {}", s.display()))?;
            (index, vec![id])
        }
        None => (ScriptIndex::default(), Vec::new()),
    };
    let from_ddl = script.is_some();
    for c in &parsed {
        if !from_ddl {
            if index.table_mut(&c.table).is_some() {
                bail!(
                    "{}: table {} is loaded by two control files",
                    c.path.display(),
                    c.table.sql()
                );
            }
            index.tables.push(c.table());
        }
        let Some(t) = index.table_mut(&c.table) else {
            bail!(
                "{}: INTO TABLE {}, but the script creates no such table",
                c.path.display(),
                c.table.sql()
            );
        };
        for f in &c.fields {
            if !matches!(f.kind, control::FieldKind::Filler) && t.column_mut(&f.name).is_none() {
                bail!(
                    "{}: the field {} is not a column of {}",
                    c.path.display(),
                    f.name,
                    c.table.sql()
                );
            }
        }
    }
    // Owners as the whole script has them; control files add their tables.
    let mut owners: Vec<&String> = index
        .tables
        .iter()
        .filter_map(|t| t.name.as_ref()?.owner.as_ref())
        .collect();
    owners.sort();
    owners.dedup();
    index.owners = owners.len() > 1;
    let loaded = |name: &str| parsed.iter().any(|c| index.name_of(&c.table) == name);
    let filter = request.filter;
    let catalog = index
        .tables
        .iter()
        .filter(|t| loaded(&index.name_of(&t.qualified())))
        .map(|t| {
            let name = index.name_of(&t.qualified());
            CatalogTable {
                target: filter.target_name(&name, &t.qualified().sql()),
                source_name: t.qualified().sql(),
                columns: t
                    .columns
                    .iter()
                    .map(|c| crate::model::lightning_ident(&c.name))
                    .collect(),
                name,
            }
        })
        .collect();
    let shown = controls
        .iter()
        .map(|p| p.display().to_string())
        .collect::<Vec<_>>()
        .join(", ");
    let mut conversion = ConversionReport::new(
        <crate::Oracle as lightning_core::tool::SourceTool>::NAME,
        &shown,
    );
    let mut tables = convert::convert(
        &index,
        request.rules,
        &|t| filter.selects(t) && loaded(t),
        &mut conversion,
    )?;
    if !from_ddl {
        conversion.findings.push(lightning_core::report::Finding::new(
            lightning_core::report::Severity::Info,
            "control files",
            "no DDL given: each table's columns take their types from the control file's fields (CHAR: TEXT, INTEGER EXTERNAL: DECIMAL(38,0), DECIMAL and FLOAT EXTERNAL: DECIMAL, DATE: TIMESTAMP, TIMESTAMP: TIMESTAMP); the tables have no key. Give the DDL with --from-script to carry types, keys and indexes",
        ));
    }
    let mut out = Vec::new();
    let mut bytes = 0;
    for t in &mut tables {
        let target = filter.target_name(&index.name_of(&t.name), &t.name.sql());
        let referenced = index
            .tables
            .iter()
            .find(|x| x.name.as_ref().is_some_and(|n| n.same(&t.name)))
            .into_iter()
            .flat_map(|x| x.foreign_keys.iter())
            .map(|(_, q)| filter.target_name(&index.name_of(q), &q.sql()))
            .collect();
        t.set_targets(target, referenced);
        let Some(c) = parsed.iter().find(|c| c.table.same(&t.name)) else {
            continue;
        };
        let slots = c
            .fields
            .iter()
            .map(|f| t.source_columns.iter().position(|n| *n == f.name))
            .collect();
        let (rows, size, id) = crate::loader::survey(c)?;
        bytes += size;
        ids.push(id);
        out.push((c.clone(), slots, rows, size));
    }
    let content_id = ids.join("+");
    let description = controls
        .iter()
        .map(|p| {
            std::fs::canonicalize(p)
                .unwrap_or_else(|_| p.clone())
                .display()
                .to_string()
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(Box::new(Opened {
        data: Data::Loader {
            content_id,
            controls: out,
        },
        bytes,
        tables,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
    }))
}

/// The opened data as a source for the copy, verification and assessment.
enum Either {
    Script(ScriptSource),
    Loader(LoaderSource),
}

impl Opened {
    fn source(self) -> Either {
        match self.data {
            Data::Script {
                text,
                content_id,
                index,
            } => Either::Script(ScriptSource::new(
                text,
                content_id,
                self.tables,
                index.ranges,
            )),
            Data::Loader {
                content_id,
                controls,
            } => {
                let mut tables = self.tables;
                let loads = controls
                    .into_iter()
                    .filter_map(|(control, slots, rows, bytes)| {
                        let i = tables.iter().position(|t| control.table.same(&t.name))?;
                        Some(LoadTable {
                            table: tables.swap_remove(i),
                            control,
                            slots,
                            rows,
                            bytes,
                        })
                    })
                    .collect();
                Either::Loader(LoaderSource::new(content_id, loads))
            }
        }
    }
}

impl OpenedSource for Opened {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|t| t.schema.clone()).collect()
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        let me = *self;
        let description = me.converted.description.clone();
        let conversion = me.converted.conversion.clone();
        let bytes = me.bytes;
        match me.source() {
            Either::Script(s) => {
                let tables = s.tables().map(|t| (t, s.rows(t), s.bytes(t))).collect();
                crate::assess::assess(
                    &description,
                    bytes,
                    &s,
                    tables,
                    s.schemas(),
                    conversion,
                    sample,
                )
            }
            Either::Loader(s) => {
                let tables = s.tables().map(|t| (&t.table, t.rows, t.bytes)).collect();
                crate::assess::assess(
                    &description,
                    bytes,
                    &s,
                    tables,
                    s.schemas(),
                    conversion,
                    sample,
                )
            }
        }
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        if !request.where_.is_empty() {
            bail!(
                "a script or data file is read whole: --where is for sources that can filter rows"
            );
        }
        Ok(match self.source() {
            Either::Script(s) => {
                let schemas = s.schemas();
                Box::new(PlainReader::new(s, schemas))
            }
            Either::Loader(s) => {
                let schemas = s.schemas();
                Box::new(PlainReader::new(s, schemas))
            }
        })
    }
}
