//! A script's tables as Lightning schemas, with a report of every decision.

use lightning_core::cast::{CastRules, SourceType};
use lightning_core::report::{
    ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
};
use lightning_core::schema::{ColumnSchema, UniqueConstraint};
use lightning_core::sql_script::UnknownType;
use lightning_core::{LightningType, TableSchema};

use crate::mapping;
use crate::model::{lightning_ident, OraTable, QualifiedName};
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
    let quoted = e.strip_prefix(['N', 'n']).unwrap_or(e);
    if quoted.len() >= 2 && quoted.starts_with('\'') && quoted.ends_with('\'') {
        // '' is NULL in Oracle: no default.
        return (quoted != "''").then(|| quoted.to_string());
    }
    match e.to_ascii_uppercase().as_str() {
        "SYSDATE" | "SYSTIMESTAMP" | "CURRENT_TIMESTAMP" | "CURRENT_DATE" | "LOCALTIMESTAMP" => {
            Some("CURRENT_TIMESTAMP".into())
        }
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
        if select(&index.name_of(&t.qualified())) {
            out.push(table(index, t, rules, report)?);
        }
    }
    if out
        .iter()
        .any(|t| t.schema.columns.iter().any(|c| c.ty == LightningType::Text))
    {
        report.findings.push(Finding::new(
            Severity::Warning,
            "empty strings",
            "Oracle stores an empty string as NULL: the script's '' values are NULL, and so they are in Lightning, which tells the two apart; queries and applications that test for NULL or '' may need a look",
        ));
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
    index: &ScriptIndex,
    t: &OraTable,
    rules: &CastRules,
    report: &mut ConversionReport,
) -> Result<SourceTable, UnknownType> {
    let name = t.qualified();
    let tname = index.name_of(&name);
    let mut schema = TableSchema::new(&tname);
    let mut decisions = Vec::new();
    let (mut types, mut resolved, mut source_columns) = (Vec::new(), Vec::new(), Vec::new());
    for c in &t.columns {
        let cname = lightning_ident(&c.name);
        let obj = format!("{tname}.{cname}");
        if let Some(expr) = &c.computed {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    &obj,
                    "a virtual column: the script holds no values for it, so it is not copied; compute it in queries or the application",
                )
                .with_definition(format!("\"{}\" AS {expr}", c.name)),
            );
            continue;
        }
        let st = SourceType::parse(&c.ty);
        let mut r = rules
            .resolve(&tname, &cname, &st)
            .ok_or_else(|| UnknownType {
                database: "Oracle",
                table: tname.clone(),
                column: cname.clone(),
                ty: c.ty.clone(),
            })?;
        mapping::refine(&st, &mut r);
        if let Some((severity, message)) = mapping::note(&st, r.target) {
            report.findings.push(Finding::new(severity, &obj, message));
        }
        let mut col = ColumnSchema::new(&cname, r.target);
        col.nullable = c.nullable;
        col.source_type = Some(c.ty.clone());
        if c.identity {
            col.autoincrement = true;
            report.findings.push(Finding::new(
                Severity::Info,
                &obj,
                "an identity column: the values are copied as they are; new rows take the next number in Lightning",
            ));
        }
        if let Some(d) = &c.default {
            col.default = default_value(d);
            if col.default.is_none() && !d.eq_ignore_ascii_case("NULL") {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    &obj,
                    format!("DEFAULT {d}: not a constant Lightning knows; the default is left out"),
                ));
            }
        }
        decisions.push(ColumnDecision {
            column: cname.clone(),
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
    let spell =
        |cols: &[String]| -> Vec<String> { cols.iter().map(|c| lightning_ident(c)).collect() };
    schema.primary_key = spell(&t.primary_key);
    schema.uniques = t
        .uniques
        .iter()
        .map(|(n, cols)| UniqueConstraint {
            name: n.as_deref().map(lightning_ident),
            columns: spell(cols),
        })
        .collect();
    for (n, expr) in &t.checks {
        // NOT NULL written as a CHECK is carried by the column already.
        if expr.to_ascii_uppercase().ends_with("IS NOT NULL)") && !expr.contains(['<', '>', '=']) {
            continue;
        }
        report.findings.push(
            Finding::new(
                Severity::Manual,
                format!(
                    "{tname} check {}",
                    n.as_deref().map(lightning_ident).unwrap_or_default()
                ),
                "a CHECK constraint in Oracle SQL: not carried; write it again in Lightning's SQL",
            )
            .with_definition(format!("CHECK {expr}")),
        );
    }
    schema.foreign_keys = t
        .foreign_keys
        .iter()
        .map(|(fk, _)| {
            let mut fk = fk.clone();
            fk.name = fk.name.as_deref().map(lightning_ident);
            fk.columns = spell(&fk.columns);
            fk.ref_columns = spell(&fk.ref_columns);
            fk
        })
        .collect();
    // The index Oracle makes for a key is made by the key in Lightning.
    let mut keyed: Vec<Vec<String>> = vec![schema.primary_key.clone()];
    keyed.extend(schema.uniques.iter().map(|u| u.columns.clone()));
    schema.indexes = t
        .indexes
        .iter()
        .map(|i| {
            let mut i = i.clone();
            i.columns = spell(&i.columns);
            i
        })
        .filter(|i| !(i.unique && keyed.contains(&i.columns)))
        .collect();
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
