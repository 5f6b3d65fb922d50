//! `assess`: what a SQLite database holds and what its migration will take.

use std::path::Path;

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::report::{AssessmentReport, ConversionReport, TableAssessment};
use rusqlite::Connection;

use crate::catalog::{quote, SourceTable};
use crate::source::SqliteSource;

fn table_size(conn: &Connection, table: &str) -> Option<u64> {
    conn.query_row(
        "SELECT sum(pgsize) FROM dbstat WHERE name = ?1",
        [table],
        |r| r.get::<_, Option<i64>>(0),
    )
    .ok()
    .flatten()
    .map(|v| v as u64)
}

/// Build the assessment, with a timed sample copy taken as `sample` says.
pub fn assess(
    path: &Path,
    conn: &Connection,
    tables: Vec<SourceTable>,
    conversion: ConversionReport,
    sample: &SampleSettings,
) -> anyhow::Result<AssessmentReport> {
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let page_count: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let db_size = (page_size * page_count) as u64;
    let mut rows_total = 0u64;
    let mut out_tables = Vec::new();
    for t in &tables {
        let rows: u64 = conn.query_row(
            &format!("SELECT count(*) FROM {}", quote(&t.source_name)),
            [],
            |r| r.get::<_, i64>(0),
        )? as u64;
        rows_total += rows;
        out_tables.push(TableAssessment {
            table: t.schema.name.clone(),
            rows,
            size_bytes: table_size(conn, &t.source_name).unwrap_or(0),
            columns: t.schema.columns.len(),
            indexes: t.schema.indexes.len() + t.schema.uniques.len(),
            foreign_keys: t.schema.foreign_keys.len(),
        });
    }
    if out_tables.iter().all(|t| t.size_bytes == 0) && rows_total > 0 {
        // No dbstat: share the file size by row counts.
        for t in &mut out_tables {
            t.size_bytes = db_size * t.rows / rows_total;
        }
    }

    let source = SqliteSource::new(path.to_path_buf(), tables.clone(), Default::default());
    let schemas = source.schemas();
    let measured = timed_sample(&source, &schemas, &rows_by_table(&out_tables), sample)?;
    let mut recs = Vec::new();
    if rows_total > 1_000_000 {
        recs.push("Large tables are split into rowid ranges; raise --parallel on machines with more cores.".into());
    }
    Ok(Assessment {
        tool: "sqlite2lightning",
        source: &path.display().to_string(),
        database_size_bytes: db_size,
        tables: out_tables,
        schemas: &schemas,
        conversion,
        sample: measured,
        recommendations: recs,
        checks: Vec::new(),
        target: sample.target.as_deref(),
    }
    .report())
}
