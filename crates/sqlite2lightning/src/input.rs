//! The SQLite file opened for a command: its catalog, the selected tables converted,
//! and the rows read through `SqliteSource`.

use lightning_core::assess::SampleSettings;
use lightning_core::plan::{PlanHints, WayBack};
use std::path::{Path, PathBuf};

use anyhow::bail;
use lightning_core::cli::{PlainReader, SourceReader};
use lightning_core::report::{AssessmentReport, ConversionReport};
use lightning_core::tool::{
    CatalogTable, Converted, OpenRequest, OpenedSource, Purpose, ReadRequest,
};
use lightning_core::TableSchema;
use rusqlite::Connection;

use crate::catalog::{self, SourceTable};
use crate::source::SqliteSource;

struct Opened {
    path: PathBuf,
    conn: Connection,
    tables: Vec<SourceTable>,
    /// Opening's time spent profiling every value (assess and convert-schema).
    profiled_secs: f64,
    converted: Converted,
}

pub fn open(path: &Path, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
    let conn = catalog::open(path)?;
    let filter = request.filter;
    let mut listed = Vec::new();
    for name in catalog::table_names(&conn)? {
        listed.push(CatalogTable {
            target: filter.target_name(&name, &catalog::quote(&name)),
            source_name: catalog::quote(&name),
            columns: catalog::column_names(&conn, &name)?,
            name,
        });
    }
    let mut conversion = ConversionReport::new(
        <crate::Sqlite as lightning_core::tool::SourceTool>::NAME,
        &path.display().to_string(),
    );
    // Profiling reads every value: only assess and convert-schema want it.
    let profile = matches!(request.purpose, Purpose::Assess | Purpose::ConvertSchema);
    let converting = std::time::Instant::now();
    let mut tables = catalog::convert(
        &conn,
        request.rules,
        &|t| filter.selects(t),
        profile,
        &mut conversion,
    )?;
    let profiled_secs = if profile {
        converting.elapsed().as_secs_f64()
    } else {
        0.0
    };
    for t in &mut tables {
        t.schema.name = filter.target_name(&t.source_name, &catalog::quote(&t.source_name));
        for fk in &mut t.schema.foreign_keys {
            fk.ref_table = filter.target_name(&fk.ref_table, &catalog::quote(&fk.ref_table));
        }
    }
    Ok(Box::new(Opened {
        path: path.to_path_buf(),
        conn,
        tables,
        profiled_secs,
        converted: Converted {
            // The full path: a resumed run is recognised as the same source
            // whatever directory it starts from.
            description: std::fs::canonicalize(path)
                .unwrap_or_else(|_| path.to_path_buf())
                .display()
                .to_string(),
            catalog: listed,
            conversion,
        },
    }))
}

impl OpenedSource for Opened {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn assess_only_secs(&self) -> f64 {
        self.profiled_secs
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|t| t.schema.clone()).collect()
    }

    fn plan_hints(&self) -> PlanHints {
        PlanHints {
            sync: false,
            way_back: Some(WayBack {
                dialect: "sqlite",
                load: format!(
                    "sqlite3 -bail {} < back.sql",
                    lightning_core::job::shell_word(&self.path.display().to_string())
                ),
            }),
            after_switch: None,
        }
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        let me = *self;
        crate::assess::assess(
            &me.path,
            &me.conn,
            me.tables,
            me.converted.conversion,
            sample,
        )
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        if request.purpose == Purpose::Export && !request.where_.is_empty() {
            bail!("export reads every row: --where is for migrate and verify");
        }
        let me = *self;
        drop(me.conn);
        let source = SqliteSource::new(me.path, me.tables, request.where_.clone());
        let schemas = source.schemas();
        Ok(Box::new(PlainReader::new(source, schemas)))
    }
}
