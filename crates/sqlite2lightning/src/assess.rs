//! `assess`: what a SQLite database holds and what its migration will take.

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use lightning_core::pipeline::{copy, CopyOptions, OnError};
use lightning_core::progress::Progress;
use lightning_core::report::{
    AssessmentReport, ConversionReport, Estimate, Severity, TableAssessment, REPORT_VERSION,
};
use lightning_core::sink::StoreSink;
use lightning_core::Store;
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

/// Build the assessment. `sample_rows` rows per table are copied into a scratch
/// store and timed to estimate the whole migration.
pub fn assess(
    path: &Path,
    conn: &Connection,
    tables: Vec<SourceTable>,
    conversion: ConversionReport,
    sample_rows: u64,
) -> anyhow::Result<AssessmentReport> {
    let page_size: i64 = conn.query_row("PRAGMA page_size", [], |r| r.get(0))?;
    let page_count: i64 = conn.query_row("PRAGMA page_count", [], |r| r.get(0))?;
    let db_size = (page_size * page_count) as u64;
    let mut rows_total = 0u64;
    let mut out_tables = Vec::new();
    for t in &tables {
        let rows: u64 = conn.query_row(
            &format!("SELECT count(*) FROM {}", quote(&t.schema.name)),
            [],
            |r| r.get::<_, i64>(0),
        )? as u64;
        rows_total += rows;
        out_tables.push(TableAssessment {
            table: t.schema.name.clone(),
            rows,
            size_bytes: table_size(conn, &t.schema.name).unwrap_or(0),
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

    // Timed sample: the real pipeline into a scratch store.
    let scratch = tempfile::tempdir()?;
    let store = Arc::new(Store::create_or_open(scratch.path().join("sample.ldb"))?);
    let mut source = SqliteSource::new(path.to_path_buf(), tables.clone(), Default::default());
    source.limit = Some(sample_rows.max(1));
    let schemas = source.schemas();
    let started = Instant::now();
    let summary = copy(
        &source,
        &schemas,
        &mut StoreSink::new(store),
        &CopyOptions {
            parallel: 2,
            batch_size: 10_000,
            on_error: OnError::Skip,
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
    let estimated = if rate > 0.0 {
        rows_total as f64 / rate
    } else {
        0.0
    };

    let manual = conversion.count(Severity::Manual);
    let loss = conversion.count(Severity::Loss);
    let warnings = conversion.count(Severity::Warning);
    let objects = tables
        .iter()
        .map(|t| 1 + t.schema.columns.len() + t.schema.indexes.len())
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
    } else if manual > 0 || loss > 0 || warnings > 0 || tables.len() > 50 {
        "medium"
    } else {
        "low"
    };
    let mut risks = Vec::new();
    let mut recs = Vec::new();
    for f in conversion
        .findings
        .iter()
        .filter(|f| matches!(f.severity, Severity::Loss | Severity::Warning))
    {
        risks.push(format!("{}: {}", f.object, f.message));
    }
    if summary.rows_rejected > 0 {
        risks.push(format!(
            "{} of {} sampled rows cannot be converted as mapped",
            summary.rows_rejected, sampled
        ));
        recs.push("Add --cast rules for the columns named in the findings, or migrate with --on-error skip and review the reject file.".into());
    }
    if manual > 0 {
        recs.push(format!("Recreate the {manual} objects marked as manual work (views, triggers, expression or partial indexes) after the migration."));
    }
    recs.push("Review the schema with `sqlite2lightning convert-schema` before migrating.".into());
    recs.push("Run `migrate --verify` so the run ends with a checksum comparison.".into());
    if rows_total > 1_000_000 {
        recs.push("Large tables are split into rowid ranges; raise --parallel on machines with more cores.".into());
    }
    Ok(AssessmentReport {
        kind: "assessment",
        version: REPORT_VERSION,
        tool: "sqlite2lightning".into(),
        source: path.display().to_string(),
        generated_at: lightning_core::store::now_rfc3339(),
        database_size_bytes: db_size,
        tables: out_tables,
        findings: conversion.findings,
        compatibility_score: score.round() as u32,
        complexity: complexity.into(),
        risks,
        recommendations: recs,
        estimate: Estimate {
            sampled_rows: sampled,
            sampled_secs: secs,
            rows_per_sec: rate,
            estimated_secs: estimated,
        },
    })
}
