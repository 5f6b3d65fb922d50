//! `assess`: what a PostgreSQL database holds and what its migration will take.

use std::collections::HashMap;

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::cli::SourceReader;
use lightning_core::report::{AssessmentReport, TableAssessment};
use postgres::Client;

use crate::connect::{ConnectInfo, PgResult};
use crate::input::{Loaded, Reader};
use crate::model::QualifiedName;

/// Relations up to this size whose rows the catalog does not know are counted;
/// larger ones are estimated from their size.
const COUNT_LIMIT_BYTES: i64 = 1 << 30;

/// How the rows of a table the catalog has no estimate for were found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    Counted(u64),
    /// From the relation's size and the width of a sample of its rows.
    Estimated(u64),
}

impl Found {
    fn rows(self) -> u64 {
        match self {
            Found::Counted(n) | Found::Estimated(n) => n,
        }
    }
}

/// Build the assessment: the server's checks, and a timed sample copy taken as
/// `sample` says.
pub fn assess(loaded: Loaded, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
    let tool = crate::TOOL;
    let source = loaded.converted.description.clone();
    let conversion = loaded.converted.conversion.clone();
    let partitioned = loaded.tables.iter().filter(|t| t.sources.len() > 1).count();
    // Leaves the catalog has no row estimate for: never analysed nor vacuumed
    // (`reltuples` = -1), or filled since (no pages recorded, yet data on disk).
    let mut unknown: HashMap<String, Vec<QualifiedName>> = HashMap::new();
    if loaded.server().is_some() {
        for t in &loaded.tables {
            let leaves: Vec<QualifiedName> = t
                .sources
                .iter()
                .filter(|s| {
                    loaded
                        .database()
                        .table(s)
                        .is_some_and(|l| l.estimated_rows.is_none())
                })
                .cloned()
                .collect();
            if !leaves.is_empty() {
                unknown.insert(t.schema.name.clone(), leaves);
            }
        }
    }
    let found = match loaded.server() {
        Some(info) if !unknown.is_empty() => find_rows(info, unknown.values().flatten())?,
        _ => HashMap::new(),
    };
    let estimates: Vec<(String, u64, u64, usize, usize, usize)> = loaded
        .tables
        .iter()
        .map(|t| {
            let extra: u64 = unknown
                .get(&t.schema.name)
                .into_iter()
                .flatten()
                .filter_map(|l| found.get(&l.sql()))
                .map(|f| f.rows())
                .sum();
            (
                t.schema.name.clone(),
                t.estimated_rows + extra,
                t.bytes,
                t.schema.columns.len(),
                t.schema.indexes.len() + t.schema.uniques.len(),
                t.schema.foreign_keys.len(),
            )
        })
        .collect();
    let checks = match loaded.server() {
        Some(info) => {
            let leaves: Vec<QualifiedName> = loaded
                .tables
                .iter()
                .flat_map(|t| t.sources.iter().cloned())
                .collect();
            crate::checks::source_checks(info, &leaves)?
        }
        None => Vec::new(),
    };
    let reader = loaded.into_reader(&Default::default(), false)?;
    // A dump's rows were counted by its scan, and its tables' sizes are the bytes of
    // their data there; a server's are the catalog's.
    let from_dump = match &reader {
        Reader::Dump { source, .. } => Some((source.row_counts(), source.data_bytes())),
        Reader::Server { .. } => None,
    };
    let tables: Vec<TableAssessment> = estimates
        .into_iter()
        .map(
            |(table, est, bytes, columns, indexes, foreign_keys)| TableAssessment {
                rows: from_dump
                    .as_ref()
                    .map_or(est, |(c, _)| c.get(&table).copied().unwrap_or(0)),
                size_bytes: from_dump
                    .as_ref()
                    .map_or(bytes, |(_, b)| b.get(&table).copied().unwrap_or(0)),
                table,
                columns,
                indexes,
                foreign_keys,
            },
        )
        .collect();
    let size: u64 = match &reader {
        Reader::Dump { source, .. } => source.size_bytes(),
        Reader::Server { .. } => tables.iter().map(|t| t.size_bytes).sum(),
    };
    let schemas = reader.schemas();
    let measured = timed_sample(reader.source(), &schemas, &rows_by_table(&tables), sample)?;
    let mut recs = Vec::new();
    if partitioned > 0 {
        recs.push(format!(
            "{partitioned} partitioned tables are merged into one table each; use --keep-partitions to keep the partitions apart."
        ));
    }
    if from_dump.is_none() {
        recs.push(
            "The copy reads one consistent snapshot, so writers can keep working during it.".into(),
        );
        if unknown.len() < tables.len() {
            recs.push(format!(
                "Row counts are the catalog's estimates{} (run ANALYZE for better ones).",
                if unknown.is_empty() {
                    ""
                } else {
                    " where it has them"
                }
            ));
        }
    }
    let mut counted: Vec<&str> = Vec::new();
    let mut estimated: Vec<&str> = Vec::new();
    let mut names: Vec<&String> = unknown.keys().collect();
    names.sort();
    for name in names {
        let leaves = &unknown[name];
        if leaves
            .iter()
            .any(|l| matches!(found.get(&l.sql()), Some(Found::Estimated(_))))
        {
            estimated.push(name);
        } else {
            counted.push(name);
        }
    }
    if !counted.is_empty() {
        recs.push(format!(
            "The catalog has no row estimate for {} (never analysed): their rows were counted. Run ANALYZE on them so the catalog knows their size.",
            counted.join(", ")
        ));
    }
    if !estimated.is_empty() {
        recs.push(format!(
            "The catalog has no row estimate for {} (never analysed), too large to count: their rows are estimated from their size and the width of a sample of rows. Run ANALYZE on them for a better estimate.",
            estimated.join(", ")
        ));
    }
    Ok(Assessment {
        tool,
        source: &source,
        database_size_bytes: size,
        tables,
        schemas: &schemas,
        conversion,
        sample: measured,
        recommendations: recs,
        checks,
        target: sample.target.as_deref(),
    }
    .report())
}

/// The rows of relations the catalog does not know, by their quoted name.
fn find_rows<'a>(
    info: &ConnectInfo,
    leaves: impl Iterator<Item = &'a QualifiedName>,
) -> anyhow::Result<HashMap<String, Found>> {
    let mut client = info.connect()?;
    let mut out = HashMap::new();
    for leaf in leaves {
        let name = leaf.sql();
        let found = rows_of(&mut client, &name).map_err(|e| {
            anyhow::anyhow!("counting the rows of {name} (the catalog has no estimate): {e}")
        })?;
        out.insert(name, found);
    }
    Ok(out)
}

fn rows_of(client: &mut Client, name: &str) -> Result<Found, crate::connect::PgError> {
    let size: i64 = client
        .query_one(
            "SELECT pg_catalog.pg_relation_size($1::text::pg_catalog.regclass)",
            &[&name],
        )
        .pg()?
        .get(0);
    if size <= COUNT_LIMIT_BYTES {
        let n: i64 = client
            .query_one(format!("SELECT count(*) FROM ONLY {name}").as_str(), &[])
            .pg()?
            .get(0);
        return Ok(Found::Counted(n.max(0) as u64));
    }
    // A heap row takes its tuple (header included, which the row's own size holds)
    // and a 4-byte line pointer.
    let width: Option<f64> = client
        .query_one(
            format!(
                "SELECT avg(pg_catalog.pg_column_size(s.*))::float8 \
                 FROM (SELECT * FROM ONLY {name} LIMIT 10000) s"
            )
            .as_str(),
            &[],
        )
        .pg()?
        .get(0);
    Ok(Found::Estimated(estimate_rows(size, width)))
}

/// Rows in `size` bytes of heap at `width` bytes a row (and a line pointer each).
fn estimate_rows(size: i64, width: Option<f64>) -> u64 {
    match width {
        Some(w) if w > 0.0 => (size as f64 / (w + 4.0)).round() as u64,
        _ => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_size_and_a_row_width_give_a_row_estimate() {
        assert_eq!(estimate_rows(1 << 30, Some(60.0)), 16_777_216);
        assert_eq!(estimate_rows(1 << 30, None), 0);
    }
}
