//! `assess`: what a MySQL database (or dump) holds and what its migration will take.

use lightning_core::assess::{timed_sample, Assessment};
use lightning_core::pipeline::Source;
use lightning_core::report::{AssessmentReport, ConversionReport, TableAssessment};
use lightning_core::TableSchema;

use crate::convert::SourceTable;

/// Build the assessment from the converted tables and a timed sample copy made
/// through `source` (already limited to a few rows per table).
pub fn assess(
    source_desc: &str,
    tables: &[SourceTable],
    rows: &[u64],
    conversion: ConversionReport,
    source: &dyn Source,
    schemas: &[TableSchema],
) -> anyhow::Result<AssessmentReport> {
    let rows_total: u64 = rows.iter().sum();
    let out_tables: Vec<TableAssessment> = tables
        .iter()
        .zip(rows)
        .map(|(t, &rows)| TableAssessment {
            table: t.schema.name.clone(),
            rows,
            size_bytes: t.size_bytes,
            columns: t.schema.columns.len(),
            indexes: t.schema.indexes.len() + t.schema.uniques.len(),
            foreign_keys: t.schema.foreign_keys.len(),
        })
        .collect();
    let sample = timed_sample(source, schemas, rows_total)?;
    let mut recs = Vec::new();
    if tables
        .iter()
        .any(|t| t.rows_estimate > crate::source::SPLIT_ROWS && t.int_key)
    {
        recs.push("Large tables with an integer primary key are split into key ranges copied in parallel; raise --parallel on machines with more cores.".into());
    }
    if tables.iter().any(SourceTable::keyed_by_position) {
        recs.push("Tables without a primary key are keyed by row position: add a primary key in MySQL first if the application needs to find their rows.".into());
    }
    recs.push("Decide what zero dates become before migrating: --zero-dates null, sentinel or error (the default).".into());
    Ok(Assessment {
        tool: crate::TOOL,
        source: source_desc,
        database_size_bytes: tables.iter().map(|t| t.size_bytes).sum(),
        tables: out_tables,
        schemas,
        conversion,
        sample,
        recommendations: recs,
    }
    .report())
}
