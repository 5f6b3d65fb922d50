//! `assess`: what an export holds and what its migration will take.

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::report::{AssessmentReport, ConversionReport, TableAssessment};

use crate::source::CsvSource;

/// Build the assessment, with a timed sample copy taken as `sample` says.
pub fn assess(
    description: &str,
    source: CsvSource,
    conversion: ConversionReport,
    sample: &SampleSettings,
) -> anyhow::Result<AssessmentReport> {
    let tables: Vec<TableAssessment> = source
        .tables()
        .map(|t| TableAssessment {
            table: t.table.schema.name.clone(),
            rows: t.files.iter().map(|f| f.rows).sum(),
            size_bytes: t.files.iter().map(|f| f.bytes).sum(),
            columns: t.table.schema.columns.len(),
            indexes: t.table.schema.indexes.len(),
            foreign_keys: 0,
        })
        .collect();
    let bytes = tables.iter().map(|t| t.size_bytes).sum();
    let mut recommendations = Vec::new();
    if source.tables().all(|t| t.files.is_empty()) {
        recommendations.push(
            "Give the COPY TO files with --data DIR: without them the rows, sizes and time estimate are unknown (shown as 0)".to_string(),
        );
    }
    let schemas = source.schemas();
    let measured = timed_sample(&source, &schemas, &rows_by_table(&tables), sample)?;
    Ok(Assessment {
        tool: "cassandra2lightning",
        source: description,
        database_size_bytes: bytes,
        tables,
        schemas: &schemas,
        conversion,
        sample: measured,
        recommendations,
        checks: Vec::new(),
        target: sample.target.as_deref(),
    }
    .report())
}
