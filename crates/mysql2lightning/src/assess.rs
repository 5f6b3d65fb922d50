//! `assess`: what a MySQL database (or dump) holds and what its migration will take.

use std::collections::BTreeMap;

use lightning_core::assess::{rows_by_table, timed_sample, Assessment, SampleSettings};
use lightning_core::pipeline::Source;
use lightning_core::report::{AssessmentReport, Check, ConversionReport, TableAssessment};
use lightning_core::TableSchema;

use crate::connect::{quote, ConnSpec, ConnectError};
use crate::convert::SourceTable;

/// What the timed sample copies and how, and the server's checks.
pub struct Sampling<'a> {
    pub source: &'a dyn Source,
    pub schemas: &'a [TableSchema],
    pub settings: &'a SampleSettings,
    pub checks: Vec<Check>,
}

/// Build the assessment from the converted tables and a timed sample copy.
/// `zero_dates`: the zero dates of each column (`table.column`) that has some.
pub fn assess(
    source_desc: &str,
    tables: &[SourceTable],
    rows: &[u64],
    zero_dates: &BTreeMap<String, u64>,
    conversion: ConversionReport,
    sampling: Sampling<'_>,
) -> anyhow::Result<AssessmentReport> {
    let Sampling {
        source,
        schemas,
        settings: sample,
        checks,
    } = sampling;
    let out_tables: Vec<TableAssessment> = tables
        .iter()
        .zip(rows)
        .map(|(t, &rows)| TableAssessment {
            table: t.schema.name.clone(),
            rows,
            size_bytes: t.size_bytes,
            columns: t.schema.columns.len(),
            indexes: t.schema.indexes.len() + t.schema.uniques.len(),
            foreign_keys: t.schema.foreign_keys.len(),
        })
        .collect();
    let measured = timed_sample(source, schemas, &rows_by_table(&out_tables), sample)?;
    let mut recs = Vec::new();
    if tables
        .iter()
        .any(|t| t.rows_estimate > crate::source::SPLIT_ROWS && t.int_key)
    {
        recs.push("Large tables with an integer primary key are split into key ranges copied in parallel; raise --parallel on machines with more cores.".into());
    }
    if tables.iter().any(SourceTable::keyed_by_position) {
        recs.push("Tables without a primary key are keyed by row position: add a primary key in MySQL first if the application needs to find their rows.".into());
    }
    if !zero_dates.is_empty() {
        let list: Vec<String> = zero_dates
            .iter()
            .map(|(column, n)| format!("{column} has {n}"))
            .collect();
        recs.push(format!(
            "Decide what zero dates (a month or day of 0) become before migrating: {}. Use --zero-dates null or sentinel (-infinity); the default, error, refuses their rows.",
            list.join(", ")
        ));
    }
    Ok(Assessment {
        tool: crate::TOOL,
        source: source_desc,
        database_size_bytes: tables.iter().map(|t| t.size_bytes).sum(),
        tables: out_tables,
        schemas,
        conversion,
        sample: measured,
        recommendations: recs,
        checks,
        target: sample.target.as_deref(),
    }
    .report())
}

/// The zero dates of each DATE, DATETIME and TIMESTAMP column, counted by the
/// server (the session's empty sql_mode lets it read them); only columns that have
/// some are listed.
pub fn server_zero_dates(
    spec: &ConnSpec,
    tables: &[SourceTable],
) -> Result<BTreeMap<String, u64>, ConnectError> {
    use mysql::prelude::Queryable;
    let mut out = BTreeMap::new();
    let mut conn = None;
    for t in tables {
        let cols: Vec<(usize, &str)> = t
            .columns
            .iter()
            .enumerate()
            .filter(|(_, c)| c.takes_zero_dates())
            .map(|(i, _)| (i, t.source_columns[i].as_str()))
            .collect();
        if cols.is_empty() {
            continue;
        }
        let conn = match &mut conn {
            Some(c) => c,
            None => conn.insert(spec.connect()?),
        };
        let counts: Vec<String> = cols
            .iter()
            .map(|(_, c)| {
                let c = quote(c);
                format!("COUNT(CASE WHEN MONTH({c}) = 0 OR DAYOFMONTH({c}) = 0 THEN 1 END)")
            })
            .collect();
        let sql = format!(
            "SELECT {} FROM {}",
            counts.join(", "),
            quote(&t.source_name)
        );
        let row: Option<mysql::Row> = conn.query_first(sql).map_err(|e| spec.query_error(e))?;
        let values = row.map(mysql::Row::unwrap).unwrap_or_default();
        for ((i, _), v) in cols.iter().zip(values) {
            let n: u64 = mysql::from_value_opt(v).unwrap_or(0);
            if n > 0 {
                out.insert(t.columns[*i].object.clone(), n);
            }
        }
    }
    Ok(out)
}
