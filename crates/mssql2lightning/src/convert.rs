//! A script's tables as Lightning schemas, with a report of every decision.

use lightning_core::cast::{CastRules, SourceType};
use lightning_core::report::{
    ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
};
use lightning_core::schema::{CheckConstraint, ColumnSchema, UniqueConstraint};
use lightning_core::sql_script::UnknownType;
use lightning_core::TableSchema;

use crate::mapping;
use crate::model::{MsTable, QualifiedName};
use crate::script::ScriptIndex;

/// A table to copy: its Lightning schema and how each stored column is read.
pub type SourceTable = lightning_core::sql_script::SourceTable<QualifiedName>;

/// A default as Lightning DDL, when it is a constant; `None` otherwise.
fn default_value(expr: &str) -> Option<String> {
    let mut e = expr.trim();
    while e.starts_with('(') && e.ends_with(')') {
        e = e[1..e.len() - 1].trim();
    }
    let num = e.trim_start_matches('-');
    if !num.is_empty() && num.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return Some(e.to_string());
    }
    let quoted = e.strip_prefix('N').unwrap_or(e);
    if quoted.len() >= 2 && quoted.starts_with('\'') && quoted.ends_with('\'') {
        return Some(quoted.to_string());
    }
    match e.to_ascii_lowercase().as_str() {
        "getdate()" | "sysdatetime()" | "current_timestamp" | "getutcdate()"
        | "sysutcdatetime()" => Some("CURRENT_TIMESTAMP".into()),
        _ => None,
    }
}

/// Convert the selected tables; objects and notes become findings.
pub fn convert(
    index: &ScriptIndex,
    rules: &CastRules,
    select: &dyn Fn(&str) -> bool,
    report: &mut ConversionReport,
) -> Result<Vec<SourceTable>, UnknownType> {
    let mut out = Vec::new();
    for t in &index.tables {
        let name = t.qualified();
        if select(&name.lightning_name()) {
            out.push(table(t, rules, report)?);
        }
    }
    for o in &index.objects {
        report.findings.push(
            Finding::new(
                Severity::Manual,
                format!("{} {}", o.kind, o.name),
                format!(
                    "a {}: not carried; rewrite it for Lightning by hand (its definition is below)",
                    o.kind
                ),
            )
            .with_definition(o.definition.clone()),
        );
    }
    for (object, what) in &index.notes {
        report
            .findings
            .push(Finding::new(Severity::Warning, object, what));
    }
    Ok(out)
}

fn table(
    t: &MsTable,
    rules: &CastRules,
    report: &mut ConversionReport,
) -> Result<SourceTable, UnknownType> {
    let name = t.qualified();
    let tname = name.lightning_name();
    let mut schema = TableSchema::new(&tname);
    let mut decisions = Vec::new();
    let (mut types, mut resolved, mut source_columns) = (Vec::new(), Vec::new(), Vec::new());
    for c in &t.columns {
        let obj = format!("{tname}.{}", c.name);
        if let Some(expr) = &c.computed {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    &obj,
                    "a computed column: the script holds no values for it, so it is not copied; compute it in queries or the application",
                )
                .with_definition(format!("[{}] AS {expr}", c.name)),
            );
            continue;
        }
        let st = SourceType::parse(&c.ty);
        let mut r = rules
            .resolve(&tname, &c.name, &st)
            .ok_or_else(|| UnknownType {
                database: "SQL Server",
                table: tname.clone(),
                column: c.name.clone(),
                ty: c.ty.clone(),
            })?;
        mapping::refine(&st, &mut r);
        if let Some((severity, message)) = mapping::note(&st, r.target) {
            report.findings.push(Finding::new(severity, &obj, message));
        }
        let mut col = ColumnSchema::new(&c.name, r.target);
        // SQL Server makes row versions itself: a script's INSERTs carry none.
        col.nullable = c.nullable || matches!(st.name.as_str(), "rowversion" | "timestamp");
        col.source_type = Some(c.ty.clone());
        if let Some((seed, inc)) = &c.identity {
            col.autoincrement = true;
            report.findings.push(Finding::new(
                Severity::Info,
                &obj,
                format!("IDENTITY({seed},{inc}): the values are copied as they are; new rows take the next number in Lightning"),
            ));
        }
        if let Some(d) = &c.default {
            col.default = default_value(d).map(|v| match (r.target, v.as_str()) {
                (lightning_core::LightningType::Boolean, "0") => "FALSE".into(),
                (lightning_core::LightningType::Boolean, "1") => "TRUE".into(),
                _ => v,
            });
            if col.default.is_none() {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    &obj,
                    format!("DEFAULT {d}: not a constant Lightning knows; the default is left out"),
                ));
            }
        }
        decisions.push(ColumnDecision {
            column: c.name.clone(),
            source_type: c.ty.clone(),
            lightning_type: r.target.to_string(),
            rule: r.rule.clone(),
            reason: r.reason.clone(),
            transform: r.transform.map(|x| x.name().to_string()),
        });
        schema.columns.push(col);
        types.push(st);
        resolved.push(r);
        source_columns.push(c.name.clone());
    }
    // Constraints name columns as the script spells them; the schema as the table does.
    let spell = |n: &String| -> String {
        t.columns
            .iter()
            .find(|c| c.name.eq_ignore_ascii_case(n))
            .map_or_else(|| n.clone(), |c| c.name.clone())
    };
    schema.primary_key = t.primary_key.iter().map(spell).collect();
    schema.uniques = t
        .uniques
        .iter()
        .map(|(n, cols)| UniqueConstraint {
            name: n.clone(),
            columns: cols.iter().map(spell).collect(),
        })
        .collect();
    for (n, expr) in &t.checks {
        report.findings.push(
            Finding::new(
                Severity::Manual,
                format!("{tname} check {}", n.as_deref().unwrap_or("")),
                "a CHECK constraint in T-SQL: not carried; write it again in Lightning's SQL",
            )
            .with_definition(format!("CHECK {expr}")),
        );
    }
    schema.checks = Vec::<CheckConstraint>::new();
    schema.foreign_keys = t.foreign_keys.iter().map(|(fk, _)| fk.clone()).collect();
    schema.indexes = t.indexes.clone();
    report.tables.push(TableConversion {
        table: tname,
        columns: decisions,
    });
    Ok(SourceTable {
        schema,
        name,
        source_columns,
        types,
        resolved,
    })
}
