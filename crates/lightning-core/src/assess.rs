//! The parts of an assessment every source shares: a timed sample copy through the
//! real pipeline, and the score, complexity, risks and recommendations derived from
//! the conversion report.

use std::sync::Arc;
use std::time::Instant;

use crate::pipeline::{copy, CopyError, CopyOptions, OnError, Resume, Source};
use crate::progress::Progress;
use crate::report::{
    AssessmentReport, ConversionReport, Estimate, Severity, TableAssessment, REPORT_VERSION,
};
use crate::schema::TableSchema;
use crate::sink::StoreSink;
use crate::store::{Store, StoreError};

#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("cannot create a scratch store for the timed sample: {0}")]
    Scratch(#[from] std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("timed sample: {0}")]
    Copy(#[from] CopyError),
}

/// What the sample copy measured.
pub struct Sample {
    pub estimate: Estimate,
    pub rejected: u64,
}

/// Copy what `source` yields (a source limited to a few rows per table) into a
/// scratch store, and extrapolate its speed to `rows_total`.
pub fn timed_sample(
    source: &dyn Source,
    schemas: &[TableSchema],
    rows_total: u64,
) -> Result<Sample, AssessError> {
    let scratch = tempfile::tempdir()?;
    let store = Arc::new(Store::create_or_open(scratch.path().join("sample.ldb"))?);
    let started = Instant::now();
    let summary = copy(
        source,
        schemas,
        &mut StoreSink::new(store),
        &CopyOptions {
            parallel: 2,
            batch_size: 10_000,
            on_error: OnError::Skip,
            resume: Resume::SameContent,
        },
        None,
        &Progress::hidden(),
    )?;
    let secs = started.elapsed().as_secs_f64().max(1e-6);
    let sampled = summary.rows_written + summary.rows_rejected;
    let rate = if sampled > 0 {
        sampled as f64 / secs
    } else {
        0.0
    };
    Ok(Sample {
        estimate: Estimate {
            sampled_rows: sampled,
            sampled_secs: secs,
            rows_per_sec: rate,
            estimated_secs: if rate > 0.0 {
                rows_total as f64 / rate
            } else {
                0.0
            },
        },
        rejected: summary.rows_rejected,
    })
}

/// Everything a tool knows when it builds its assessment.
pub struct Assessment<'a> {
    pub tool: &'a str,
    pub source: &'a str,
    pub database_size_bytes: u64,
    pub tables: Vec<TableAssessment>,
    pub schemas: &'a [TableSchema],
    pub conversion: ConversionReport,
    pub sample: Sample,
    /// Source-specific advice, after the shared recommendations.
    pub recommendations: Vec<String>,
}

impl Assessment<'_> {
    pub fn report(self) -> AssessmentReport {
        let c = &self.conversion;
        let manual = c.count(Severity::Manual);
        let loss = c.count(Severity::Loss);
        let warnings = c.count(Severity::Warning);
        let rows_total: u64 = self.tables.iter().map(|t| t.rows).sum();
        let objects = self
            .schemas
            .iter()
            .map(|t| 1 + t.columns.len() + t.indexes.len())
            .sum::<usize>()
            + manual;
        let issues = manual as f64 + loss as f64 + warnings as f64 * 0.5;
        let score = if objects == 0 {
            100.0
        } else {
            (100.0 * (1.0 - issues / objects as f64)).clamp(0.0, 100.0)
        };
        let complexity = if manual > 5 || loss > 5 || rows_total > 100_000_000 {
            "high"
        } else if manual > 0 || loss > 0 || warnings > 0 || self.schemas.len() > 50 {
            "medium"
        } else {
            "low"
        };
        let mut risks: Vec<String> = c
            .findings
            .iter()
            .filter(|f| matches!(f.severity, Severity::Loss | Severity::Warning))
            .map(|f| format!("{}: {}", f.object, f.message))
            .collect();
        let mut recs = Vec::new();
        let sampled = self.sample.estimate.sampled_rows;
        if self.sample.rejected > 0 {
            risks.push(format!(
                "{} of {sampled} sampled rows cannot be converted as mapped",
                self.sample.rejected
            ));
            recs.push("Add --cast rules for the columns named in the findings, or migrate with --on-error skip and review the reject file.".into());
        }
        if manual > 0 {
            recs.push(format!(
                "Recreate the {manual} objects marked as manual work after the migration (their definitions are in this report)."
            ));
        }
        recs.push(format!(
            "Review the schema with `{} convert-schema` before migrating.",
            self.tool
        ));
        recs.push("Run `migrate --verify` so the run ends with a checksum comparison.".into());
        recs.extend(self.recommendations);
        AssessmentReport {
            kind: "assessment",
            version: REPORT_VERSION,
            tool: self.tool.into(),
            source: self.source.into(),
            generated_at: crate::store::now_rfc3339(),
            database_size_bytes: self.database_size_bytes,
            tables: self.tables,
            findings: self.conversion.findings,
            compatibility_score: score.round() as u32,
            complexity: complexity.into(),
            risks,
            recommendations: recs,
            estimate: self.sample.estimate,
        }
    }
}
