//! The model → Lightning table schemas, with a conversion report of every decision.
//! Both readers (server catalog, dump DDL) end here, through `finish_table` first.

use lightning_core::cast::CastRules;
use lightning_core::ddl::quote_ident;
use lightning_core::report::{
    ColumnDecision, ConversionReport, Finding, Severity, TableConversion, WHOLE_DATABASE,
};
use lightning_core::schema::{
    CheckConstraint, ColumnSchema, ForeignKey, IndexKind, IndexSchema, TableSchema,
};
use lightning_core::LightningType as T;

use crate::connect::quote;
use crate::mapping::{resolve, ColMap, Kind, ZeroDates};
use crate::model::{normalise_default, MyCatalog, MyIndex, MyIndexKind, MyTable};

/// One source table with what the conversion decided.
#[derive(Debug, Clone)]
pub struct SourceTable {
    pub schema: TableSchema,
    /// The table's name in MySQL (`schema.name` is its name in the target).
    pub source_name: String,
    pub columns: Vec<ColMap>,
    /// Column names as MySQL spells them (for queries), in order.
    pub source_columns: Vec<String>,
    /// A single integer primary-key column: the table can be split into key ranges.
    pub int_key: bool,
    pub rows_estimate: u64,
    pub size_bytes: u64,
}

impl SourceTable {
    /// No primary key: rows are keyed by their position in the scan.
    pub fn keyed_by_position(&self) -> bool {
        self.schema.primary_key.is_empty()
    }
}

/// The default as the model keeps it (see `MyColumn::default`), for any reader.
pub fn finish_default(kind: &Kind, raw: &str) -> Option<String> {
    let t = raw.trim();
    if t.eq_ignore_ascii_case("NULL") {
        return None;
    }
    // b'0101' / 0x0F bit literals become the number they stand for.
    let lower = t.to_ascii_lowercase();
    if let Some(bits) = lower.strip_prefix("b'").and_then(|r| r.strip_suffix('\'')) {
        if let Ok(v) = u64::from_str_radix(if bits.is_empty() { "0" } else { bits }, 2) {
            return Some(v.to_string());
        }
    }
    if let Some(hex) = lower.strip_prefix("0x") {
        if let Ok(v) = u64::from_str_radix(hex, 16) {
            if matches!(kind, Kind::Bit | Kind::Int) {
                return Some(v.to_string());
            }
        }
    }
    let numeric = matches!(
        kind,
        Kind::Int | Kind::Decimal | Kind::Float | Kind::Double | Kind::Year | Kind::Bit
    );
    if numeric && (t.eq_ignore_ascii_case("TRUE") || t.eq_ignore_ascii_case("FALSE")) {
        return Some(
            if t.eq_ignore_ascii_case("TRUE") {
                "1"
            } else {
                "0"
            }
            .to_string(),
        );
    }
    if numeric {
        if let Some(inner) = t.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
            if inner.parse::<f64>().is_ok() {
                return Some(inner.to_string());
            }
        }
    }
    Some(normalise_default(t))
}

/// Normalise a table read by either reader: MariaDB's JSON (a LONGTEXT checked with
/// `json_valid`), defaults, the indexes InnoDB creates for foreign keys, and the
/// order of indexes, keys and checks.
pub fn finish_table(t: &mut MyTable) {
    for c in &mut t.columns {
        let check = format!("json_valid({})", quote(&c.name));
        if c.column_type == "longtext" {
            if let Some(pos) = t
                .checks
                .iter()
                .position(|k| k.expression.replace(' ', "") == check)
            {
                t.checks.remove(pos);
                c.column_type = "json".into();
                c.charset = None;
                c.collation = None;
            }
        }
        let kind = Kind::of(&c.column_type);
        c.default = c.default.as_deref().and_then(|d| finish_default(&kind, d));
    }
    // InnoDB indexes a foreign key's columns when no index starts with them.
    let mut extra = Vec::new();
    for fk in &t.foreign_keys {
        let covered = t.primary_key.starts_with(&fk.columns)
            || t.indexes.iter().chain(extra.iter()).any(|ix: &MyIndex| {
                ix.columns.len() >= fk.columns.len()
                    && ix
                        .columns
                        .iter()
                        .zip(&fk.columns)
                        .all(|((c, _), f)| c.as_deref() == Some(f.as_str()))
            });
        if !covered {
            extra.push(MyIndex {
                name: fk.name.clone(),
                kind: MyIndexKind::BTree,
                unique: false,
                columns: fk.columns.iter().map(|c| (Some(c.clone()), None)).collect(),
            });
        }
    }
    t.indexes.extend(extra);
    t.normalise();
}

fn is_ci(collation: &str) -> bool {
    let c = collation.to_ascii_lowercase();
    c.ends_with("_ci") || c.contains("_ai_") || c.ends_with("_ai")
}

/// Everything the conversion needs to know besides the catalog.
pub struct Options<'a> {
    pub rules: &'a CastRules,
    pub zero_dates: ZeroDates,
    /// The values come from a dump (FLOAT values there have 6 significant digits).
    pub from_dump: bool,
}

/// Convert the selected tables of a catalog, and report everything.
pub fn convert(
    cat: &MyCatalog,
    opts: &Options<'_>,
    select: &dyn Fn(&str) -> bool,
    report: &mut ConversionReport,
) -> Vec<SourceTable> {
    let mut out = Vec::new();
    for n in &cat.notes {
        report
            .findings
            .push(Finding::new(Severity::Info, "source", n.clone()));
    }
    let selected: Vec<&MyTable> = cat.tables.iter().filter(|t| select(&t.name)).collect();
    let n_selected = selected.len();
    let default = default_collation(&selected);
    let default_tables = selected
        .iter()
        .filter(|t| t.collation.is_some() && t.collation == default)
        .count();
    let mut by_default = CollationUse::default();
    for t in selected {
        out.push(convert_table(
            t,
            opts,
            default.as_deref(),
            &mut by_default,
            report,
        ));
    }
    if let Some(d) = default.as_deref().filter(|d| is_ci(d)) {
        if by_default.columns > 0 {
            report.findings.push(Finding::new(
                Severity::Loss,
                WHOLE_DATABASE,
                format!(
                    "{d}, the default collation of {default_tables} of {n_selected} tables, is case- or accent-insensitive ({} in {} use it): {COMPARED}",
                    count(by_default.columns, "text column"),
                    count(by_default.tables, "table"),
                ),
            ));
        }
    }
    for o in &cat.objects {
        if o.kind == "trigger" && !o.table.as_deref().is_some_and(select) {
            continue;
        }
        let msg = match o.kind.as_str() {
            "view" => {
                "views are not carried: recreate it as a query in the application".to_string()
            }
            "trigger" => format!(
                "triggers are not carried (on table {}): move its logic to the application",
                o.table.as_deref().unwrap_or("?")
            ),
            "procedure" | "function" => format!(
                "stored {}s are not carried: move the logic to the application",
                o.kind
            ),
            "event" => {
                "scheduled events are not carried: schedule the job outside the database".into()
            }
            _ => format!(
                "{}s are not carried: generate the values in the application",
                o.kind
            ),
        };
        report.findings.push(
            Finding::new(Severity::Manual, format!("{} {}", o.kind, o.name), msg)
                .with_definition(o.definition.clone()),
        );
    }
    out
}

/// What case- and accent-insensitive comparison means for the copy.
const COMPARED: &str = "Lightning compares text byte by byte, so ordering, equality and unique keys of text may differ ('a' and 'A' are different values)";

/// The database's default collation, as both inputs show it: the default of most
/// tables (a dump names no database default; ties go to the first by name).
fn default_collation(tables: &[&MyTable]) -> Option<String> {
    let mut counts: std::collections::BTreeMap<&str, usize> = std::collections::BTreeMap::new();
    for t in tables {
        if let Some(c) = &t.collation {
            *counts.entry(c.as_str()).or_default() += 1;
        }
    }
    let most = counts.values().copied().max()?;
    counts
        .into_iter()
        .find(|(_, n)| *n == most)
        .map(|(c, _)| c.to_string())
}

/// `3 tables`, `1 table`.
fn count(n: usize, what: &str) -> String {
    format!("{n} {what}{}", if n == 1 { "" } else { "s" })
}

/// Text columns that compare by the database's default collation, and the tables
/// they are in.
#[derive(Default)]
struct CollationUse {
    columns: usize,
    tables: usize,
}

fn convert_table(
    t: &MyTable,
    opts: &Options<'_>,
    db_default: Option<&str>,
    by_default: &mut CollationUse,
    report: &mut ConversionReport,
) -> SourceTable {
    let name = &t.name;
    let mut schema = TableSchema::new(name);
    let mut decisions = Vec::new();
    let mut columns = Vec::new();
    // Case-insensitive text columns: by the table's own default collation (when it
    // is not the database's), and by a collation of their own.
    let mut ci_columns = Vec::new();
    let mut ci_by_default = 0;
    let finding = |report: &mut ConversionReport, sev, obj: String, msg: String| {
        report.findings.push(Finding::new(sev, obj, msg));
    };
    for c in &t.columns {
        let obj = format!("{name}.{}", c.name);
        let kind = Kind::of(&c.column_type);
        let resolved = resolve(opts.rules, name, &c.name, &c.column_type);
        let target = resolved.target;
        let mut col = ColumnSchema::new(&c.name, target);
        col.nullable = c.nullable && !t.primary_key.contains(&c.name);
        let date_like = matches!(kind, Kind::Date | Kind::DateTime | Kind::Timestamp);
        if date_like && !col.nullable && opts.zero_dates == ZeroDates::Null && target != T::Text {
            col.nullable = true;
            finding(report, Severity::Info, obj.clone(), "NOT NULL in MySQL, nullable in Lightning: --zero-dates null carries zero dates as NULL".into());
        }
        col.default = c.default.clone();
        col.autoincrement = c.auto_increment;
        col.source_type = Some(c.column_type.clone());
        if resolved.rule == "unknown type" {
            finding(
                report,
                Severity::Warning,
                obj.clone(),
                format!(
                    "unknown type `{}`: carried as TEXT as the server prints it",
                    c.column_type
                ),
            );
        }
        match &kind {
            Kind::Enum(values) if target == T::Text => {
                let list: Vec<String> = values.iter().map(|v| format!("'{}'", v.replace('\'', "''"))).collect();
                schema.checks.push(CheckConstraint {
                    name: None,
                    expression: format!("{} IN ({})", quote_ident(&c.name), list.join(", ")),
                });
            }
            Kind::Set(_) if target == T::Text => finding(report, Severity::Loss, obj.clone(), "SET carried as its comma-separated text; membership is not checked by Lightning (cast to JSON for an array)".into()),
            Kind::Spatial if target == T::Blob => finding(report, Severity::Loss, obj.clone(), format!("{} carried as WKB; the SRID MySQL stores with each value is dropped", c.column_type)),
            Kind::Float if opts.from_dump && target == T::Float => finding(report, Severity::Loss, obj.clone(), "mysqldump prints FLOAT values with 6 significant digits; the dump's values are carried as written (migrate from the server to carry the exact floats)".into()),
            Kind::Timestamp if target == T::TimestampTz => finding(report, Severity::Info, obj.clone(), "TIMESTAMP read in UTC: carried as TIMESTAMPTZ".into()),
            Kind::Int if c.column_type.starts_with("bigint") && c.column_type.contains("unsigned") && target != T::BigInt => finding(report, Severity::Info, obj.clone(), format!("BIGINT UNSIGNED carried exactly as {target}")),
            _ => {}
        }
        if let Some(cs) = &c.charset {
            let cs_l = cs.to_ascii_lowercase();
            if !cs_l.starts_with("utf8") && cs_l != "binary" && cs_l != "ascii" {
                let how = if cs_l == "latin1" {
                    "latin1 (Windows-1252)"
                } else {
                    cs
                };
                finding(
                    report,
                    Severity::Info,
                    obj.clone(),
                    format!("character set {how}: converted to UTF-8"),
                );
            }
        }
        if let Some(coll) = c.collation.as_deref().filter(|c| is_ci(c)) {
            if target == T::Text {
                if Some(coll) == db_default {
                    ci_by_default += 1;
                } else if Some(coll) == t.collation.as_deref() {
                    ci_columns.push(c.name.clone());
                } else {
                    finding(
                        report,
                        Severity::Loss,
                        obj.clone(),
                        format!("collation {coll} is case- or accent-insensitive: {COMPARED}"),
                    );
                }
            }
        }
        if let Some(u) = &c.on_update {
            finding(report, Severity::Warning, obj.clone(), format!("ON UPDATE {u} is not carried: set the column in the application when a row changes"));
        }
        if let Some((expr, stored)) = &c.generated {
            report.findings.push(
                Finding::new(
                    Severity::Manual,
                    obj.clone(),
                    format!(
                        "{} generated column: its values are copied, its expression is not carried",
                        if *stored { "stored" } else { "virtual" }
                    ),
                )
                .with_definition(format!("{} AS ({expr})", quote(&c.name))),
            );
        }
        if c.auto_increment {
            let next = t
                .auto_increment
                .map_or(String::new(), |n| format!("; the next value is {n}"));
            finding(report, Severity::Info, obj.clone(), format!("AUTO_INCREMENT: the column is marked AUTOINCREMENT; the store does not generate keys{next}"));
        }
        decisions.push(ColumnDecision {
            column: c.name.clone(),
            source_type: c.column_type.clone(),
            lightning_type: target.to_string(),
            rule: resolved.rule.clone(),
            reason: resolved.reason.clone(),
            transform: resolved.transform.map(|x| x.name().to_string()),
        });
        columns.push(ColMap {
            limit: crate::mapping::Limit::of(&c.column_type),
            kind,
            resolved,
            object: obj,
            column_type: c.column_type.clone(),
        });
        schema.columns.push(col);
    }
    if ci_by_default > 0 {
        by_default.columns += ci_by_default;
        by_default.tables += 1;
    }
    if !ci_columns.is_empty() {
        finding(
            report,
            Severity::Loss,
            name.clone(),
            format!(
                "the table's default collation {} is case- or accent-insensitive ({}): {COMPARED}",
                t.collation.as_deref().unwrap_or("?"),
                ci_columns.join(", ")
            ),
        );
    }
    schema.primary_key = t.primary_key.clone();
    if schema.primary_key.is_empty() {
        finding(report, Severity::Info, name.clone(), "no primary key: rows are keyed by their position in the table's scan (InnoDB's clustered order, which is also mysqldump's)".into());
    }
    for ix in &t.indexes {
        let obj = format!("index {name}.{}", ix.name);
        if ix.columns.iter().any(|(c, _)| c.is_none()) {
            report.findings.push(Finding::new(
                Severity::Manual,
                obj,
                "functional index: Lightning indexes columns only; recreate it by hand",
            ));
            continue;
        }
        let cols: Vec<String> = ix.columns.iter().filter_map(|(c, _)| c.clone()).collect();
        let kind = match ix.kind {
            MyIndexKind::BTree => IndexKind::BTree,
            MyIndexKind::Hash => IndexKind::Hash,
            MyIndexKind::FullText => IndexKind::FullText,
            MyIndexKind::Spatial => {
                report.findings.push(Finding::new(Severity::Manual, obj, format!("SPATIAL index on ({}): Lightning has no spatial indexes; the WKB values are copied", cols.join(", "))));
                continue;
            }
        };
        let prefixes: Vec<String> = ix
            .columns
            .iter()
            .filter_map(|(c, p)| p.map(|n| format!("{}({n})", c.as_deref().unwrap_or("?"))))
            .collect();
        if !prefixes.is_empty() {
            let (sev, msg) = if ix.unique {
                (Severity::Loss, format!("unique prefix index on {}: Lightning indexes whole values, so uniqueness of the prefixes is no longer enforced", prefixes.join(", ")))
            } else {
                (
                    Severity::Info,
                    format!(
                        "prefix index on {}: Lightning indexes whole values",
                        prefixes.join(", ")
                    ),
                )
            };
            report.findings.push(Finding::new(sev, obj.clone(), msg));
        }
        if ix.name == "PRIMARY" {
            continue;
        }
        schema.indexes.push(IndexSchema {
            name: ix.name.clone(),
            columns: cols,
            unique: ix.unique,
            kind,
        });
    }
    for fk in &t.foreign_keys {
        schema.foreign_keys.push(ForeignKey {
            name: Some(fk.name.clone()),
            columns: fk.columns.clone(),
            ref_table: fk.ref_table.clone(),
            ref_columns: fk.ref_columns.clone(),
            on_delete: fk.on_delete.clone(),
            on_update: fk.on_update.clone(),
        });
    }
    for ck in &t.checks {
        schema.checks.push(CheckConstraint {
            name: ck.name.clone(),
            expression: ck.expression.clone(),
        });
    }
    if let Some(engine) = &t.engine {
        if !engine.eq_ignore_ascii_case("InnoDB") {
            finding(report, Severity::Warning, name.clone(), format!("{engine} table: not transactional, so the read snapshot does not cover it; stop writes to it while migrating"));
        }
    }
    if t.partitioned {
        finding(
            report,
            Severity::Info,
            name.clone(),
            "partitioned table: its partitions are copied as one table".into(),
        );
    }
    report.tables.push(TableConversion {
        table: name.clone(),
        columns: decisions,
    });
    let int_key = t.primary_key.len() == 1
        && columns
            .iter()
            .zip(&t.columns)
            .any(|(m, c)| c.name == t.primary_key[0] && m.kind == Kind::Int);
    SourceTable {
        source_name: t.name.clone(),
        schema,
        columns,
        source_columns: t.columns.iter().map(|c| c.name.clone()).collect(),
        int_key,
        rows_estimate: t.rows_estimate,
        size_bytes: t.size_bytes,
    }
}
