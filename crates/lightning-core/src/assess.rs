//! The parts of an assessment every source shares: a timed sample copy through the
//! real pipeline, and the score, complexity, risks and recommendations derived from
//! the conversion report.

use std::sync::Arc;
use std::time::Instant;

use crate::pipeline::{copy, CopyError, CopyOptions, OnError, Resume, Source};
use crate::progress::Progress;
use crate::report::{
    AssessmentReport, ConversionReport, Estimate, Invocation, ScoreBasis, Severity,
    TableAssessment, REPORT_VERSION, WHOLE_DATABASE,
};
use crate::schema::TableSchema;
use crate::sink::StoreSink;
use crate::store::{Store, StoreError};

// The variants carry their cause in their text, not as a `source`: a report of the
// error chain would otherwise say the cause twice.
#[derive(Debug, thiserror::Error)]
pub enum AssessError {
    #[error("cannot create a scratch store for the timed sample: {0}")]
    Scratch(std::io::Error),
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("timed sample: {0}")]
    Copy(CopyError),
}

impl From<std::io::Error> for AssessError {
    fn from(e: std::io::Error) -> Self {
        AssessError::Scratch(e)
    }
}

impl From<CopyError> for AssessError {
    fn from(e: CopyError) -> Self {
        AssessError::Copy(e)
    }
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
        let rows_total: u64 = self.tables.iter().map(|t| t.rows).sum();
        let (score, complexity) = score_and_complexity(c, self.schemas, rows_total);
        let score_basis = score_basis(c, self.schemas);
        let manual = c.count(Severity::Manual);
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
            invocation: Invocation::current(),
            database_size_bytes: self.database_size_bytes,
            tables: self.tables,
            findings: self.conversion.findings,
            compatibility_score: score,
            score_basis,
            complexity: complexity.into(),
            risks,
            recommendations: recs,
            estimate: self.sample.estimate,
        }
    }
}

/// Findings of one severity, split into those about objects of the schema and those
/// about the database as a whole (object [`WHOLE_DATABASE`]).
fn counts(c: &ConversionReport, s: Severity) -> (usize, usize) {
    let of = |whole: bool| {
        c.findings
            .iter()
            .filter(|f| f.severity == s && (f.object == WHOLE_DATABASE) == whole)
            .count()
    };
    (of(false), of(true))
}

/// What the compatibility score is computed from, and the computation written out.
pub fn score_basis(c: &ConversionReport, schemas: &[TableSchema]) -> ScoreBasis {
    let (manual, database_manual) = counts(c, Severity::Manual);
    let (loss, database_loss) = counts(c, Severity::Loss);
    let (warnings, database_warnings) = counts(c, Severity::Warning);
    let columns = schemas.iter().map(|t| t.columns.len()).sum();
    let indexes = schemas.iter().map(|t| t.indexes.len()).sum();
    let objects = schemas.len() + columns + indexes + manual;
    let issues = (manual + database_manual + loss + database_loss) as f64
        + (warnings + database_warnings) as f64 * 0.5;
    let mut b = ScoreBasis {
        tables: schemas.len(),
        columns,
        indexes,
        manual,
        loss,
        warnings,
        database_manual,
        database_loss,
        database_warnings,
        objects,
        issues,
        formula: String::new(),
    };
    b.formula = if objects == 0 {
        "100 (nothing to convert)".into()
    } else {
        format!(
            "round(100 × (1 − {issues} / {objects})) = {}",
            score_of(&b).round()
        )
    };
    b
}

fn score_of(b: &ScoreBasis) -> f64 {
    if b.objects == 0 {
        100.0
    } else {
        (100.0 * (1.0 - b.issues / b.objects as f64)).clamp(0.0, 100.0)
    }
}

/// The compatibility score (0-100) and the complexity (`low`, `medium`, `high`),
/// computed the same way for every source (docs/reports.md says how).
///
/// A finding about the database as a whole (a default collation, say) is one
/// decision for the whole migration: it lowers the score once, and leaves the
/// complexity alone, which measures how much of the schema needs work. So the same
/// schema gets the same complexity whichever database it comes from.
pub fn score_and_complexity(
    c: &ConversionReport,
    schemas: &[TableSchema],
    rows_total: u64,
) -> (u32, &'static str) {
    let b = score_basis(c, schemas);
    let (manual, loss, warnings) = (b.manual, b.loss, b.warnings);
    let score = score_of(&b);
    let complexity = if manual > 5 || loss > 5 || rows_total > 100_000_000 {
        "high"
    } else if manual > 0 || loss > 0 || warnings > 0 || schemas.len() > 50 {
        "medium"
    } else {
        "low"
    };
    (score.round() as u32, complexity)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::Finding;
    use crate::schema::ColumnSchema;
    use crate::LightningType;

    fn schemas(n: usize) -> Vec<TableSchema> {
        (0..n)
            .map(|i| {
                let mut t = TableSchema::new(format!("t{i}"));
                t.columns
                    .push(ColumnSchema::new("id", LightningType::Integer));
                t.columns
                    .push(ColumnSchema::new("name", LightningType::Text));
                t
            })
            .collect()
    }

    #[test]
    fn a_finding_about_the_whole_database_lowers_the_score_but_not_the_complexity() {
        let tables = schemas(8);
        let mut c = ConversionReport::new("tool", "src");
        assert_eq!(score_and_complexity(&c, &tables, 10), (100, "low"));
        c.findings.push(Finding::new(
            Severity::Loss,
            WHOLE_DATABASE,
            "case-insensitive default collation",
        ));
        // 8 tables × 3 objects = 24; one issue.
        assert_eq!(score_and_complexity(&c, &tables, 10), (96, "low"));
        let b = score_basis(&c, &tables);
        assert_eq!((b.objects, b.issues, b.database_loss), (24, 1.0, 1));
        assert_eq!(b.formula, "round(100 × (1 − 1 / 24)) = 96");
        // The same loss on each table: medium at once, high past five.
        let mut per_table = ConversionReport::new("tool", "src");
        for t in &tables {
            per_table
                .findings
                .push(Finding::new(Severity::Loss, &t.name, "collation"));
        }
        assert_eq!(score_and_complexity(&per_table, &tables, 10).1, "high");
        per_table.findings.truncate(1);
        assert_eq!(score_and_complexity(&per_table, &tables, 10).1, "medium");
    }
}
