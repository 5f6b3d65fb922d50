//! `assess`: what a PostgreSQL database holds and what its migration will take.

use lightning_core::assess::{timed_sample, Assessment};
use lightning_core::report::{AssessmentReport, TableAssessment};

use lightning_core::cli::SourceReader;

use crate::input::{Loaded, Reader};

/// Build the assessment; `sample_rows` rows per table are copied into a scratch
/// store and timed to estimate the whole migration.
pub fn assess(loaded: Loaded, sample_rows: u64) -> anyhow::Result<AssessmentReport> {
    let tool = crate::TOOL;
    let source = loaded.description.clone();
    let conversion = loaded.conversion.clone();
    let partitioned = loaded.tables.iter().filter(|t| t.sources.len() > 1).count();
    let estimates: Vec<(String, u64, u64, usize, usize, usize)> = loaded
        .tables
        .iter()
        .map(|t| {
            (
                t.schema.name.clone(),
                t.estimated_rows,
                t.bytes,
                t.schema.columns.len(),
                t.schema.indexes.len() + t.schema.uniques.len(),
                t.schema.foreign_keys.len(),
            )
        })
        .collect();
    let mut reader = loaded.into_reader(&Default::default(), false)?;
    // A dump's rows were counted by its scan; a server's are the catalog's estimates.
    let counts = match &reader {
        Reader::Dump { source, .. } => Some(source.row_counts()),
        Reader::Server { .. } => None,
    };
    let tables: Vec<TableAssessment> = estimates
        .into_iter()
        .map(
            |(table, est, bytes, columns, indexes, foreign_keys)| TableAssessment {
                rows: counts
                    .as_ref()
                    .map_or(est, |c| c.get(&table).copied().unwrap_or(0)),
                table,
                size_bytes: bytes,
                columns,
                indexes,
                foreign_keys,
            },
        )
        .collect();
    let rows_total: u64 = tables.iter().map(|t| t.rows).sum();
    let size: u64 = match &reader {
        Reader::Dump { source, .. } => source.size_bytes(),
        Reader::Server { .. } => tables.iter().map(|t| t.size_bytes).sum(),
    };
    reader.set_limit(sample_rows.max(1));
    let schemas = reader.schemas();
    let sample = timed_sample(reader.source(), &schemas, rows_total)?;
    let mut recs = Vec::new();
    if partitioned > 0 {
        recs.push(format!(
            "{partitioned} partitioned tables are merged into one table each; use --keep-partitions to keep the partitions apart."
        ));
    }
    if counts.is_none() {
        recs.push(
            "Row counts are the catalog's estimates (run ANALYZE for better ones); the copy reads one consistent snapshot, so writers can keep working during it."
                .into(),
        );
    }
    Ok(Assessment {
        tool,
        source: &source,
        database_size_bytes: size,
        tables,
        schemas: &schemas,
        conversion,
        sample,
        recommendations: recs,
    }
    .report())
}
