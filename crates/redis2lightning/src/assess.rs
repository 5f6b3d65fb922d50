//! `assess`: what a Redis keyspace (live or in an RDB file) holds and what its
//! migration will take.

use std::collections::BTreeMap;

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::report::{AssessmentReport, Finding, Severity, TableAssessment};
use lightning_core::tool::Converted;

use crate::input::{estimated_rows, plans_of, Table};
use crate::source::{Origin, RedisSource};

/// Keys per table whose `MEMORY USAGE` is asked.
const MEMORY_SAMPLE: usize = 100;

pub fn assess(
    origin: Origin,
    tables: Vec<Table>,
    mut converted: Converted,
    databases: BTreeMap<u64, u64>,
    sample: &SampleSettings,
) -> anyhow::Result<AssessmentReport> {
    let mut total_bytes = 0u64;
    let mut assessed = Vec::new();
    for (i, t) in tables.iter().enumerate() {
        let rows = estimated_rows(t);
        let size = match &origin {
            Origin::Live { live, keys, .. } => {
                let mut sample = Vec::new();
                keys.each(i, |k| {
                    if sample.len() < MEMORY_SAMPLE {
                        sample.push(k.to_vec());
                    }
                    Ok(())
                })?;
                let used = live.memory(&sample).unwrap_or_default();
                let sum: u64 = used.iter().sum();
                if used.is_empty() {
                    0
                } else {
                    (sum as f64 / used.len() as f64 * t.profile.keys as f64) as u64
                }
            }
            Origin::Rdb(_) => 0,
        };
        total_bytes += size;
        assessed.push(TableAssessment {
            table: t.schema.name.clone(),
            rows,
            size_bytes: size,
            columns: t.schema.columns.len(),
            indexes: t.schema.indexes.len(),
            foreign_keys: 0,
        });
    }
    if let Origin::Rdb(f) = &origin {
        total_bytes = std::fs::metadata(&f.path).map_or(0, |m| m.len());
    }
    let total_keys: u64 = databases.values().sum();
    converted.conversion.findings.push(Finding::new(
        Severity::Info,
        "keyspace",
        format!(
            "{total_keys} keys in {} logical databases ({}); memory of the copied database estimated from MEMORY USAGE of up to {MEMORY_SAMPLE} keys per table",
            databases.len(),
            databases
                .iter()
                .map(|(db, n)| format!("db{db}: {n}"))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));
    let mut recs = vec![
        "Write the mapping with `convert-schema --write-mapping FILE`, review it (types, hash columns, table names), and migrate with --mapping FILE so every run reads keys the same way.".to_string(),
    ];
    if tables.iter().any(|t| t.profile.with_ttl > 0) {
        recs.push("Keys with a TTL keep their expiry in `expires_at`: Lightning does not expire rows, so filter on `expires_at > now()` or delete expired rows after the cutover.".into());
    }
    let plans = plans_of(&tables)?;
    let description = converted.description.clone();
    let source = RedisSource::new(origin, plans);
    let schemas = source.schemas();
    let measured = timed_sample(&source, &schemas, &rows_by_table(&assessed), sample)?;
    Ok(Assessment {
        tool: "redis2lightning",
        source: &description,
        database_size_bytes: total_bytes,
        tables: assessed,
        schemas: &schemas,
        conversion: converted.conversion,
        sample: measured,
        recommendations: recs,
        checks: Vec::new(),
        target: sample.target.as_deref(),
    }
    .report())
}
