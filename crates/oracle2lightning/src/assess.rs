//! `assess`: what a script or its data files hold and what their migration will take.

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::report::{AssessmentReport, ConversionReport, TableAssessment};

use lightning_core::pipeline::Source;
use lightning_core::TableSchema;

use crate::convert::SourceTable;

/// Build the assessment, with a timed sample copy taken as `sample` says; each
/// table comes with its rows and the bytes that hold them.
pub fn assess(
    description: &str,
    source_bytes: u64,
    source: &dyn Source,
    tables: Vec<(&SourceTable, u64, u64)>,
    schemas: Vec<TableSchema>,
    conversion: ConversionReport,
    sample: &SampleSettings,
) -> anyhow::Result<AssessmentReport> {
    let tables: Vec<TableAssessment> = tables
        .into_iter()
        .map(|(t, rows, size_bytes)| t.assessment(rows, size_bytes))
        .collect();
    let measured = timed_sample(source, &schemas, &rows_by_table(&tables), sample)?;
    Ok(Assessment {
        tool: "oracle2lightning",
        source: description,
        database_size_bytes: source_bytes,
        tables,
        schemas: &schemas,
        conversion,
        sample: measured,
        recommendations: Vec::new(),
        checks: Vec::new(),
        target: sample.target.as_deref(),
    }
    .report())
}
