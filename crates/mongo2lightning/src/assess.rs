//! `assess`: what a MongoDB database (or a set of files) holds and what its
//! migration will take.

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::report::{AssessmentReport, TableAssessment};
use lightning_core::tool::Converted;

use crate::input::Collection;
use crate::rows::Plan;
use crate::source::{MongoSource, Origin};

pub fn assess(
    origin: Origin,
    collections: Vec<Collection>,
    converted: Converted,
    sample: &SampleSettings,
) -> anyhow::Result<AssessmentReport> {
    let mut tables = Vec::new();
    let mut total_bytes = 0;
    let mut recs = Vec::new();
    for c in &collections {
        let (docs, size) = match &origin {
            Origin::Live(live) => {
                let (count, size, storage, index) = live.sizes(&c.name)?;
                total_bytes += storage + index;
                (count, size)
            }
            Origin::Files { files, .. } => {
                let f = files.iter().find(|f| f.collection == c.name);
                let size = f
                    .and_then(|f| std::fs::metadata(&f.path).ok())
                    .map_or(0, |m| m.len());
                total_bytes += size;
                (c.documents.unwrap_or(0), size)
            }
        };
        let sampled = c.stats.as_ref().map_or(0, |s| s.documents).max(1);
        for (i, t) in c.schemas.iter().enumerate() {
            // A child table's rows: the sample's elements per document, scaled.
            let rows = if i == 0 {
                docs
            } else {
                let per_doc = c.stats.as_ref().map_or(0.0, |s| {
                    elements_of(s, t, &c.map.table) as f64 / sampled as f64
                });
                (per_doc * docs as f64).round() as u64
            };
            tables.push(TableAssessment {
                table: t.name.clone(),
                rows,
                size_bytes: if i == 0 { size } else { 0 },
                columns: t.columns.len(),
                indexes: t.indexes.len(),
                foreign_keys: 0,
            });
        }
        if docs > 1_000_000 {
            recs.push(format!(
                "`{}` is read in `_id` ranges in parallel: raise --parallel on machines with more cores.",
                c.name
            ));
        }
    }
    recs.push("Write the mapping with `convert-schema --write-mapping FILE`, review it, and migrate with --mapping FILE so every run reads documents the same way.".into());
    let plans = collections
        .iter()
        .map(|c| {
            let mut p = Plan::new(&c.map).map_err(anyhow::Error::msg)?;
            p.tables[0].schema = c.schemas[0].clone();
            Ok(p)
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    let description = converted.description.clone();
    let source = MongoSource::new(origin, plans, Default::default(), sample.parallel);
    let schemas = source.schemas();
    let measured = timed_sample(&source, &schemas, &rows_by_table(&tables), sample)?;
    Ok(Assessment {
        tool: "mongo2lightning",
        source: &description,
        database_size_bytes: total_bytes,
        tables,
        schemas: &schemas,
        conversion: converted.conversion,
        sample: measured,
        recommendations: recs,
        checks: Vec::new(),
        target: sample.target.as_deref(),
    }
    .report())
}

/// Elements the sample's arrays held for the child table `t`.
fn elements_of(
    s: &crate::infer::CollectionStats,
    t: &lightning_core::TableSchema,
    root: &str,
) -> u64 {
    // The child table's name is the root's followed by the array's path.
    let path = t
        .name
        .strip_prefix(root)
        .unwrap_or(&t.name)
        .trim_start_matches('_');
    fn walk(f: &crate::infer::FieldStats, prefix: &str, want: &str) -> Option<u64> {
        for (name, sub) in &f.fields {
            let here = if prefix.is_empty() {
                name.clone()
            } else {
                format!("{prefix}_{name}")
            };
            if here == want {
                return Some(sub.total_len);
            }
            if let Some(n) = walk(sub, &here, want) {
                return Some(n);
            }
            if let Some(el) = &sub.elements {
                if let Some(n) = walk(el, &here, want) {
                    return Some(n);
                }
            }
        }
        None
    }
    walk(&s.root, "", path).unwrap_or(0)
}
