//! The script opened for a command: decoded, scanned, its selected tables
//! converted, and its rows read through `ScriptSource`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{bail, Context};
use lightning_core::assess::SampleSettings;
use lightning_core::cli::{PlainReader, SourceReader};
use lightning_core::report::{AssessmentReport, ConversionReport};
use lightning_core::sql_script::{read_script, script_description, script_shown};
use lightning_core::tool::{CatalogTable, Converted, OpenRequest, OpenedSource, ReadRequest};
use lightning_core::TableSchema;

use crate::convert::{self, SourceTable};
use crate::script::{self, ScriptIndex};
use crate::source::ScriptSource;

struct Opened {
    text: Arc<str>,
    content_id: String,
    bytes: u64,
    index: ScriptIndex,
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
        bail!("{shown} creates no table: script the schema too (\"Types of data to script\": \"Schema and data\")");
    }
    let filter = request.filter;
    let catalog = index
        .tables
        .iter()
        .map(|t| {
            let name = t.qualified().lightning_name();
            CatalogTable {
                target: filter.target_name(&name, &t.qualified().sql()),
                source_name: t.qualified().sql(),
                columns: t.columns.iter().map(|c| c.name.clone()).collect(),
                name,
            }
        })
        .collect();
    let mut conversion = ConversionReport::new(
        <crate::Mssql as lightning_core::tool::SourceTool>::NAME,
        &shown,
    );
    let mut tables = convert::convert(
        &index,
        request.rules,
        &|t| filter.selects(t),
        &mut conversion,
    )?;
    for t in &mut tables {
        let target = filter.target_name(&t.name.lightning_name(), &t.name.sql());
        let referenced = index
            .tables
            .iter()
            .find(|x| x.name.as_ref().is_some_and(|n| script::same(n, &t.name)))
            .into_iter()
            .flat_map(|x| x.foreign_keys.iter())
            .map(|(_, q)| filter.target_name(&q.lightning_name(), &q.sql()))
            .collect();
        t.set_targets(target, referenced);
    }
    let description = script_description(source, &content_id);
    Ok(Box::new(Opened {
        text: Arc::from(text),
        content_id,
        bytes: size,
        index,
        tables,
        converted: Converted {
            description,
            catalog,
            conversion,
        },
    }))
}

impl Opened {
    fn source(self) -> ScriptSource {
        ScriptSource::new(self.text, self.content_id, self.tables, self.index.ranges)
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
        crate::assess::assess(&description, bytes, me.source(), conversion, sample)
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        if !request.where_.is_empty() {
            bail!("a script is read whole: --where is for sources that can filter rows");
        }
        let source = self.source();
        let schemas = source.schemas();
        Ok(Box::new(PlainReader::new(source, schemas)))
    }
}
