//! `assess`: what a script holds and what its migration will take.

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::report::{AssessmentReport, ConversionReport, TableAssessment};

use crate::source::ScriptSource;

/// Build the assessment, with a timed sample copy taken as `sample` says.
pub fn assess(
    description: &str,
    script_bytes: u64,
    source: ScriptSource,
    conversion: ConversionReport,
    sample: &SampleSettings,
) -> anyhow::Result<AssessmentReport> {
    let tables: Vec<TableAssessment> = source
        .tables()
        .map(|t| t.assessment(source.rows(t), source.bytes(t)))
        .collect();
    let schemas = source.schemas();
    let measured = timed_sample(&source, &schemas, &rows_by_table(&tables), sample)?;
    Ok(Assessment {
        tool: "mssql2lightning",
        source: description,
        database_size_bytes: script_bytes,
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
