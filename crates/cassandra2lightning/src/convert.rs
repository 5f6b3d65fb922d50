//! A keyspace's tables as Lightning schemas, with a report of every decision.

use lightning_core::cast::{CastRules, Resolved};
use lightning_core::report::{
    ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
};
use lightning_core::schema::{ColumnSchema, IndexKind, IndexSchema};
use lightning_core::TableSchema;

use crate::cql::schema::{CqlTable, Schema};
use crate::cql::types::CqlType;
use crate::mapping;

/// A table to copy: its Lightning schema and how each column is read.
#[derive(Debug, Clone)]
pub struct SourceTable {
    pub schema: TableSchema,
    pub keyspace: String,
    /// `keyspace.table`, as CQL names it.
    pub qualified: String,
    /// The CQL column names, in the order of `schema.columns`.
    pub source_columns: Vec<String>,
    pub types: Vec<CqlType>,
    pub resolved: Vec<Resolved>,
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {table}.{column}: no rule maps CQL type `{ty}`: add one, as --cast 'type:{rule} => TEXT' (or another type)")]
pub struct UnknownType {
    line: u64,
    table: String,
    column: String,
    ty: String,
    rule: String,
}

/// The Lightning name of a table: bare when the schema holds one keyspace.
pub fn lightning_name(schema: &Schema, t: &CqlTable) -> String {
    let keyspaces: std::collections::BTreeSet<&str> =
        schema.tables.iter().map(|t| t.keyspace.as_str()).collect();
    if keyspaces.len() <= 1 {
        t.name.clone()
    } else {
        t.qualified()
    }
}

/// Convert the selected tables; the rest of the schema becomes findings.
pub fn convert(
    schema: &Schema,
    rules: &CastRules,
    select: &dyn Fn(&str) -> bool,
    report: &mut ConversionReport,
) -> Result<Vec<SourceTable>, UnknownType> {
    let mut out = Vec::new();
    for t in &schema.tables {
        let name = lightning_name(schema, t);
        if select(&name) {
            out.push(table(schema, t, name, rules, report)?);
        }
    }
    for o in &schema.objects {
        report.findings.push(
            Finding::new(
                Severity::Manual,
                format!("{} {}", o.kind, o.name),
                match o.kind {
                    "materialized view" => "a materialized view: not carried; in Lightning, query its table (or make a view) with the key it orders by".to_string(),
                    kind => format!("a user-defined {kind}: not carried; rewrite it in SQL or in the application (its definition is below)"),
                },
            )
            .with_definition(o.definition.clone()),
        );
    }
    for (object, what) in &schema.notes {
        report
            .findings
            .push(Finding::new(Severity::Warning, object, what));
    }
    Ok(out)
}

fn table(
    schema: &Schema,
    t: &CqlTable,
    name: String,
    rules: &CastRules,
    report: &mut ConversionReport,
) -> Result<SourceTable, UnknownType> {
    let mut ts = TableSchema::new(&name);
    let mut decisions = Vec::new();
    let (mut types, mut resolved, mut source_columns) = (Vec::new(), Vec::new(), Vec::new());
    // Key columns first, in key order; then the others as declared.
    let key: Vec<&str> = t
        .partition_key
        .iter()
        .chain(t.clustering.iter().map(|(c, _)| c))
        .map(String::as_str)
        .collect();
    let mut columns: Vec<_> = key.iter().filter_map(|k| t.column(k)).collect();
    columns.extend(t.columns.iter().filter(|c| !key.contains(&c.name.as_str())));
    for c in columns {
        let obj = format!("{name}.{}", c.name);
        let st = mapping::source_type(&c.ty);
        let r = rules
            .resolve(&name, &c.name, &st)
            .ok_or_else(|| UnknownType {
                line: t.line,
                table: name.clone(),
                column: c.name.clone(),
                ty: c.ty.to_string(),
                rule: st.name.clone(),
            })?;
        if let CqlType::Udt(u) = c.ty.thawed() {
            if schema.udt(&t.keyspace, u).is_none()
                && r.target == lightning_core::LightningType::Json
            {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    &obj,
                    format!("the type `{u}` is not in the schema file: its values cannot be read until it is (DESCRIBE the whole keyspace)"),
                ));
            }
        }
        if let Some((severity, message)) = mapping::note(&c.ty, r.target) {
            report.findings.push(Finding::new(severity, &obj, message));
        }
        if c.masked {
            report.findings.push(Finding::new(
                Severity::Warning,
                &obj,
                "MASKED WITH: Cassandra shows the column masked to users without UNMASK; Lightning has no masking, so the values COPY TO wrote (masked ones, if the exporting user could not unmask) are copied as they are: limit who reads the column",
            ));
        }
        if c.is_static {
            report.findings.push(Finding::new(
                Severity::Info,
                &obj,
                "a static column: one value per partition in Cassandra, repeated on each of the partition's rows in Lightning",
            ));
        }
        let mut col = ColumnSchema::new(&c.name, r.target);
        col.nullable = !key.contains(&c.name.as_str());
        col.source_type = Some(c.ty.to_string());
        decisions.push(ColumnDecision {
            column: c.name.clone(),
            source_type: c.ty.to_string(),
            lightning_type: r.target.to_string(),
            rule: r.rule.clone(),
            reason: r.reason.clone(),
            transform: r.transform.map(|x| x.name().to_string()),
        });
        ts.columns.push(col);
        types.push(c.ty.clone());
        resolved.push(r);
        source_columns.push(c.name.clone());
    }
    ts.primary_key = key.iter().map(|k| k.to_string()).collect();
    let desc: Vec<&str> = t
        .clustering
        .iter()
        .filter(|(_, d)| *d)
        .map(|(c, _)| c.as_str())
        .collect();
    report.findings.push(Finding::new(
        Severity::Info,
        &name,
        format!(
            "primary key ({}): the partition key ({}){}; Lightning orders rows by the whole key{}",
            key.join(", "),
            t.partition_key.join(", "),
            if t.clustering.is_empty() {
                String::new()
            } else {
                format!(
                    " then the clustering columns ({})",
                    t.clustering
                        .iter()
                        .map(|(c, _)| c.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )
            },
            if desc.is_empty() {
                String::new()
            } else {
                format!(
                    ", ascending: CLUSTERING ORDER BY ({} DESC) becomes ORDER BY in queries",
                    desc.join(" DESC, ")
                )
            }
        ),
    ));
    if t.compact_storage {
        report.findings.push(Finding::new(
            Severity::Info,
            &name,
            "COMPACT STORAGE: a storage layout only; the rows are copied as the file holds them",
        ));
    }
    for ix in schema
        .indexes
        .iter()
        .filter(|i| i.keyspace == t.keyspace && i.table == t.name)
    {
        let plain =
            ix.custom.is_none() && t.column(&ix.target).is_some_and(|c| !c.ty.is_composite());
        if plain {
            ts.indexes.push(IndexSchema {
                name: ix
                    .name
                    .clone()
                    .unwrap_or_else(|| format!("{}_{}_idx", t.name, ix.target)),
                columns: vec![ix.target.clone()],
                unique: false,
                kind: IndexKind::BTree,
            });
            report.findings.push(Finding::new(
                Severity::Info,
                format!("{name} index {}", ix.name.as_deref().unwrap_or(&ix.target)),
                "a secondary index: carried as a Lightning index on the same column",
            ));
        } else {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    format!("{name} index {}", ix.name.as_deref().unwrap_or(&ix.target)),
                    if ix.custom.is_some() {
                        "a custom index (SASI or storage-attached): not carried; make a Lightning index, or a JSON query, for what it served"
                    } else {
                        "an index on a collection's keys, values or entries: not carried; the collection is a JSON column, queried with JSON functions"
                    },
                )
                .with_definition(ix.definition.clone()),
            );
        }
    }
    report.tables.push(TableConversion {
        table: name,
        columns: decisions,
    });
    Ok(SourceTable {
        schema: ts,
        keyspace: t.keyspace.clone(),
        qualified: t.qualified(),
        source_columns,
        types,
        resolved,
    })
}
