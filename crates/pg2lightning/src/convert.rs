//! A PostgreSQL database → Lightning tables, with a report of every decision.
//! Serves the live catalog and pg_dump scripts alike (see `model`).

use std::collections::BTreeMap;

use lightning_core::cast::{CastRules, Transform};
use lightning_core::report::{
    ColumnDecision, ConversionReport, Finding, Severity, TableConversion,
};
use lightning_core::schema::{
    CheckConstraint, ColumnSchema, ForeignKey, IndexKind, IndexSchema, UniqueConstraint,
};
use lightning_core::{LightningType, TableSchema};

use crate::decode::PgKind;
use crate::mapping::{resolve, type_info};
use crate::model::{Database, ManualKind, QualifiedName, Table, TableKind};
use crate::sqltext::{
    paren_group, split_qualified, split_top_level, strip_outer_parens, unquote_ident,
};

/// How one Lightning column is read from PostgreSQL.
#[derive(Debug, Clone)]
pub struct ColumnPlan {
    /// The PostgreSQL column (the same name in every partition).
    pub name: String,
    pub kind: PgKind,
    pub target: LightningType,
    pub transform: Option<Transform>,
    /// Read as `col::numeric` from the server (`money`, whose text depends on the locale).
    pub cast_numeric: bool,
}

/// A Lightning table and the PostgreSQL tables its rows come from.
#[derive(Debug, Clone)]
pub struct ConvertedTable {
    pub schema: TableSchema,
    /// The table as PostgreSQL names it (the parent of merged partitions).
    pub name: QualifiedName,
    /// The table itself, or the leaf partitions of a partitioned table (in order:
    /// a keyless table numbers its rows partition by partition).
    pub sources: Vec<QualifiedName>,
    pub columns: Vec<ColumnPlan>,
    pub estimated_rows: u64,
    pub bytes: u64,
}

#[derive(Debug, Clone, Copy, Default)]
pub struct ConvertOptions {
    /// Keep each partition as its own table instead of merging them into the parent.
    pub keep_partitions: bool,
}

/// Convert the tables `select` accepts (by Lightning name).
pub fn convert(
    db: &Database,
    rules: &CastRules,
    opts: ConvertOptions,
    select: &dyn Fn(&str) -> bool,
    report: &mut ConversionReport,
) -> Vec<ConvertedTable> {
    let mut out = Vec::new();
    for t in &db.tables {
        let merged_into_parent = t.parent.is_some() && !opts.keep_partitions;
        let is_parent = matches!(t.kind, TableKind::Partitioned { .. });
        if merged_into_parent || (is_parent && opts.keep_partitions) {
            continue;
        }
        let name = t.name.lightning_name();
        if !select(&name) {
            continue;
        }
        let sources = if is_parent {
            leaves(db, &t.name)
        } else {
            vec![t.name.clone()]
        };
        let (schema, plans, decisions) = convert_table(db, t, rules, report);
        if is_parent {
            report.findings.push(Finding::new(
                Severity::Info,
                &name,
                format!(
                    "partitioned table ({}): its {} partitions are merged into one Lightning table (use --keep-partitions to keep them apart)",
                    match &t.kind {
                        TableKind::Partitioned { key } => key.as_str(),
                        TableKind::Ordinary => "",
                    },
                    sources.len()
                ),
            ));
        }
        if let Some((parent, bound)) = &t.parent {
            report.findings.push(Finding::new(
                Severity::Info,
                &name,
                format!(
                    "partition of {} ({bound}) kept as its own table; the bound is not enforced",
                    parent.lightning_name()
                ),
            ));
        }
        let leaf_tables: Vec<&Table> = sources.iter().filter_map(|s| db.table(s)).collect();
        out.push(ConvertedTable {
            name: t.name.clone(),
            estimated_rows: leaf_tables.iter().filter_map(|l| l.estimated_rows).sum(),
            bytes: leaf_tables.iter().filter_map(|l| l.bytes).sum(),
            schema,
            sources,
            columns: plans,
        });
        report.tables.push(TableConversion {
            table: name,
            columns: decisions,
        });
    }
    manual_objects(db, report);
    out
}

/// The leaf partitions under a partitioned table, depth first, by name.
fn leaves(db: &Database, parent: &QualifiedName) -> Vec<QualifiedName> {
    let mut out = Vec::new();
    for t in db
        .tables
        .iter()
        .filter(|t| t.parent.as_ref().is_some_and(|(p, _)| p == parent))
    {
        match t.kind {
            TableKind::Partitioned { .. } => out.extend(leaves(db, &t.name)),
            TableKind::Ordinary => out.push(t.name.clone()),
        }
    }
    out
}

fn convert_table(
    db: &Database,
    t: &Table,
    rules: &CastRules,
    report: &mut ConversionReport,
) -> (TableSchema, Vec<ColumnPlan>, Vec<ColumnDecision>) {
    let name = t.name.lightning_name();
    let mut schema = TableSchema::new(&name);
    let mut plans = Vec::new();
    let mut decisions = Vec::new();
    for c in &t.columns {
        let object = format!("{name}.{}", c.name);
        let info = type_info(db, &c.type_name);
        let (resolved, known) = resolve(rules, &name, &c.name, &info);
        if !known {
            report.findings.push(Finding::new(
                Severity::Warning,
                &object,
                format!(
                    "type `{}` is not known to pg2lightning: carried as its text form (add a --cast rule to choose another type)",
                    c.type_name
                ),
            ));
        }
        let mut col = ColumnSchema::new(&c.name, resolved.target);
        col.nullable = !c.not_null;
        col.source_type = Some(c.type_name.clone());
        if let Some(labels) = &info.enum_labels {
            let list: Vec<String> = labels.iter().map(|l| sql_string(l)).collect();
            schema.checks.push(CheckConstraint {
                name: None,
                expression: format!(
                    "{} IN ({})",
                    crate::model::quote_ident(&c.name),
                    list.join(", ")
                ),
            });
        }
        if let Some((domain, checks, not_null)) = &info.domain {
            if *not_null {
                col.nullable = false;
            }
            for chk in checks {
                let body = chk.trim().strip_prefix("CHECK").unwrap_or(chk);
                // `CHECK ((VALUE > 0))`: the expression inside both parentheses.
                let expr = crate::sqltext::replace_word(
                    strip_outer_parens(strip_outer_parens(body)),
                    "VALUE",
                    &crate::model::quote_ident(&c.name),
                );
                schema.checks.push(CheckConstraint {
                    name: None,
                    expression: expr,
                });
            }
            report.findings.push(Finding::new(
                Severity::Info,
                &object,
                format!(
                    "domain {domain}: carried as its base type{}",
                    if checks.is_empty() {
                        ""
                    } else {
                        " with its checks on the column"
                    }
                ),
            ));
        }
        let sequence = c
            .identity
            .as_ref()
            .and_then(|i| i.sequence.clone())
            .or_else(|| c.default.as_deref().and_then(nextval_sequence));
        let auto = c.identity.is_some() || sequence.is_some();
        if auto && resolved.target.is_integer() {
            col.autoincrement = true;
            col.autoincrement_next = sequence
                .as_deref()
                .and_then(|s| db.sequences.get(s))
                .map(|s| s.next_value());
        } else if let Some(d) = &c.default {
            match lightning_default(d) {
                Some(v) => col.default = Some(v),
                None => report.findings.push(
                    Finding::new(
                        Severity::Manual,
                        &object,
                        "default expression has no Lightning equivalent: not carried",
                    )
                    .with_definition(format!("DEFAULT {d}")),
                ),
            }
        }
        decisions.push(ColumnDecision {
            column: c.name.clone(),
            source_type: c.type_name.clone(),
            lightning_type: resolved.target.to_string(),
            rule: resolved.rule.clone(),
            reason: resolved.reason.clone(),
            transform: resolved.transform.map(|t| t.name().to_string()),
        });
        plans.push(ColumnPlan {
            name: c.name.clone(),
            cast_numeric: info.rule_type.name == "money",
            kind: info.kind,
            target: resolved.target,
            transform: resolved.transform,
        });
        schema.columns.push(col);
    }
    for con in &t.constraints {
        constraint(&name, &con.name, &con.definition, &mut schema, report);
    }
    for idx in &t.indexes {
        index(&name, &idx.name, &idx.definition, &mut schema, report);
    }
    if schema.primary_key.is_empty() {
        report.findings.push(Finding::new(
            Severity::Info,
            &name,
            "no primary key: rows are keyed by a row id in the order PostgreSQL stores them",
        ));
    }
    (schema, plans, decisions)
}

fn sql_string(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `nextval('public.actor_actor_id_seq'::regclass)` → `public.actor_actor_id_seq`.
fn nextval_sequence(default: &str) -> Option<String> {
    let rest = default.trim().strip_prefix("nextval('")?;
    let end = rest.find('\'')?;
    Some(rest[..end].replace("''", "'"))
}

/// A default Lightning can hold: a literal or the current time.
fn lightning_default(d: &str) -> Option<String> {
    let d = d.trim();
    match d {
        "now()" | "CURRENT_TIMESTAMP" | "LOCALTIMESTAMP" | "transaction_timestamp()" => {
            return Some("CURRENT_TIMESTAMP".into())
        }
        "CURRENT_DATE" => return Some("CURRENT_DATE".into()),
        "true" | "false" | "NULL" => return Some(d.to_uppercase()),
        _ => {}
    }
    // `'G'::public.mpaa_rating`, `'{}'::text[]`, `0`, `(-1)`, `'2020-01-01'::date`
    let lit = match d.find("::") {
        Some(i) if d.starts_with('\'') => &d[..i],
        _ => d,
    };
    let lit = strip_outer_parens(lit);
    if lit.starts_with('\'') && lit.ends_with('\'') && lit.len() >= 2 {
        return Some(lit.to_string());
    }
    let numeric = lit.strip_prefix('-').unwrap_or(lit);
    (!numeric.is_empty() && numeric.bytes().all(|b| b.is_ascii_digit() || b == b'.'))
        .then(|| lit.to_string())
}

/// Column names in `(a, "B")`; `None` when an item is an expression.
fn column_list(s: &str) -> Option<Vec<String>> {
    split_top_level(s, ',')
        .into_iter()
        .map(unquote_ident)
        .collect()
}

fn constraint(
    table: &str,
    name: &str,
    def: &str,
    schema: &mut TableSchema,
    report: &mut ConversionReport,
) {
    let object = format!("{table}.{name}");
    let d = def.trim();
    let cols_after = |kw: &str| -> Option<(Vec<String>, usize)> {
        let at = d.find(kw)? + kw.len();
        let open = at + d[at..].find('(')?;
        let (inner, end) = paren_group(d, open)?;
        Some((column_list(inner)?, end))
    };
    if d.starts_with("PRIMARY KEY") {
        if let Some((cols, _)) = cols_after("PRIMARY KEY") {
            schema.primary_key = cols;
            return;
        }
    } else if d.starts_with("UNIQUE") {
        if let Some((cols, _)) = cols_after("UNIQUE") {
            if d.contains("NULLS NOT DISTINCT") {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    &object,
                    "UNIQUE NULLS NOT DISTINCT: carried as a plain unique constraint",
                ));
            }
            schema.uniques.push(UniqueConstraint {
                name: Some(name.to_string()),
                columns: cols,
            });
            return;
        }
    } else if let Some(rest) = d.strip_prefix("CHECK") {
        let rest = rest.trim();
        if let Some((inner, end)) = paren_group(rest, 0) {
            if rest[end..].contains("NOT VALID") {
                report.findings.push(Finding::new(
                    Severity::Warning,
                    &object,
                    "CHECK ... NOT VALID: existing rows were never checked by PostgreSQL",
                ));
            }
            schema.checks.push(CheckConstraint {
                name: Some(name.to_string()),
                expression: strip_outer_parens(inner).to_string(),
            });
            return;
        }
    } else if d.starts_with("FOREIGN KEY") {
        if let Some(fk) = foreign_key(name, d) {
            schema.foreign_keys.push(fk);
            return;
        }
    }
    report.findings.push(
        Finding::new(
            Severity::Manual,
            &object,
            "constraint with no Lightning equivalent (exclusion, or a form not understood): not carried",
        )
        .with_definition(d.to_string()),
    );
}

fn foreign_key(name: &str, d: &str) -> Option<ForeignKey> {
    let open = d.find('(')?;
    let (inner, end) = paren_group(d, open)?;
    let columns = column_list(inner)?;
    let rest = d[end..].trim().strip_prefix("REFERENCES")?.trim();
    let ref_open = rest.find('(')?;
    let (schema, table) = split_qualified(&rest[..ref_open])?;
    let (ref_inner, ref_end) = paren_group(rest, ref_open)?;
    let ref_columns = column_list(ref_inner)?;
    let tail = &rest[ref_end..];
    let action = |kw: &str| -> Option<String> {
        let at = tail.find(kw)? + kw.len();
        let words: Vec<&str> = tail[at..].split_whitespace().collect();
        match words.as_slice() {
            ["SET", "NULL", ..] => Some("SET NULL".into()),
            ["SET", "DEFAULT", ..] => Some("SET DEFAULT".into()),
            ["NO", "ACTION", ..] => None,
            [w, ..] => Some(w.to_string()),
            [] => None,
        }
    };
    Some(ForeignKey {
        name: Some(name.to_string()),
        columns,
        ref_table: QualifiedName::new(schema, table).lightning_name(),
        ref_columns,
        on_delete: action("ON DELETE"),
        on_update: action("ON UPDATE"),
    })
}

fn index(
    table: &str,
    name: &str,
    def: &str,
    schema: &mut TableSchema,
    report: &mut ConversionReport,
) {
    let object = format!("{table}.{name}");
    let manual = |report: &mut ConversionReport, why: &str| {
        report.findings.push(
            Finding::new(
                Severity::Manual,
                &object,
                format!("index not carried: {why}"),
            )
            .with_definition(def.to_string()),
        );
    };
    let unique = def.starts_with("CREATE UNIQUE INDEX");
    let Some(using) = def.find(" USING ") else {
        return manual(report, "definition not understood");
    };
    let rest = &def[using + 7..];
    let method: String = rest.chars().take_while(|c| c.is_alphanumeric()).collect();
    let Some(open) = rest.find('(') else {
        return manual(report, "definition not understood");
    };
    let Some((inner, end)) = paren_group(rest, open) else {
        return manual(report, "definition not understood");
    };
    let tail = &rest[end..];
    if tail.contains(" WHERE ") {
        return manual(report, "partial index (WHERE ...)");
    }
    let items = split_top_level(inner, ',');
    let is_text_search = items.iter().any(|i| i.contains("to_tsvector"))
        || items.iter().any(|i| {
            unquote_ident(i.split_whitespace().next().unwrap_or("")).is_some_and(|c| {
                schema
                    .column(&c)
                    .and_then(|col| col.source_type.as_deref())
                    .is_some_and(|t| t == "tsvector")
            })
        });
    let kind = match method.as_str() {
        "btree" => IndexKind::BTree,
        "hash" => IndexKind::Hash,
        "gin" | "gist" if is_text_search => IndexKind::FullText,
        other => {
            return manual(
                report,
                &format!("access method `{other}` has no Lightning equivalent"),
            )
        }
    };
    // `last_name DESC`, `title text_pattern_ops`: the first word names the column.
    let mut columns = Vec::new();
    for item in &items {
        let first = item.split_whitespace().next().unwrap_or("");
        match unquote_ident(first) {
            Some(c) if schema.column(&c).is_some() => columns.push(c),
            _ if kind == IndexKind::FullText => {
                return manual(
                    report,
                    "full-text index over an expression: recreate it on a column",
                )
            }
            _ => return manual(report, "expression index"),
        }
    }
    if items.iter().any(|i| i.split_whitespace().count() > 1) {
        report.findings.push(Finding::new(
            Severity::Info,
            &object,
            "index options (order, operator class, collation) are not carried",
        ));
    }
    schema.indexes.push(IndexSchema {
        name: name.to_string(),
        columns,
        unique,
        kind,
    });
}

/// Views, functions, triggers, ... : listed with their definitions.
fn manual_objects(db: &Database, report: &mut ConversionReport) {
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for o in &db.manual {
        if o.kind == ManualKind::Extension && o.name == "plpgsql" {
            continue;
        }
        *counts.entry(o.kind.label()).or_default() += 1;
        report.findings.push(
            Finding::new(
                Severity::Manual,
                &o.name,
                format!(
                    "{}: Lightning has no equivalent; recreate it by hand if needed",
                    o.kind.label()
                ),
            )
            .with_definition(o.definition.clone()),
        );
    }
    for (kind, n) in counts {
        tracing::debug!(kind, n, "objects needing manual work");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_constraints_and_indexes_are_read_from_definitions() {
        assert_eq!(
            nextval_sequence("nextval('public.actor_actor_id_seq'::regclass)").as_deref(),
            Some("public.actor_actor_id_seq")
        );
        assert_eq!(
            lightning_default("'G'::public.mpaa_rating").as_deref(),
            Some("'G'")
        );
        assert_eq!(lightning_default("(-1)").as_deref(), Some("-1"));
        assert_eq!(
            lightning_default("now()").as_deref(),
            Some("CURRENT_TIMESTAMP")
        );
        assert_eq!(lightning_default("gen_random_uuid()"), None);
        let fk = foreign_key(
            "f",
            "FOREIGN KEY (address_id) REFERENCES public.address(address_id) ON UPDATE CASCADE ON DELETE SET NULL",
        )
        .unwrap();
        assert_eq!(fk.ref_table, "address");
        assert_eq!(fk.on_update.as_deref(), Some("CASCADE"));
        assert_eq!(fk.on_delete.as_deref(), Some("SET NULL"));
        let mut t = TableSchema::new("film");
        t.columns
            .push(ColumnSchema::new("title", LightningType::Text));
        let mut fulltext = ColumnSchema::new("fulltext", LightningType::Text);
        fulltext.source_type = Some("tsvector".into());
        t.columns.push(fulltext);
        let mut r = ConversionReport::new("t", "s");
        index(
            "film",
            "a",
            "CREATE INDEX a ON public.film USING btree (title)",
            &mut t,
            &mut r,
        );
        index(
            "film",
            "b",
            "CREATE INDEX b ON public.film USING gist (fulltext)",
            &mut t,
            &mut r,
        );
        index(
            "film",
            "c",
            "CREATE INDEX c ON public.film USING btree (lower(title))",
            &mut t,
            &mut r,
        );
        index(
            "film",
            "d",
            "CREATE INDEX d ON public.film USING btree (title) WHERE (title <> ''::text)",
            &mut t,
            &mut r,
        );
        assert_eq!(t.indexes.len(), 2);
        assert_eq!(t.indexes[1].kind, IndexKind::FullText);
        assert_eq!(r.count(Severity::Manual), 2);
        constraint("film", "pk", "PRIMARY KEY (title)", &mut t, &mut r);
        constraint("film", "ck", "CHECK ((length(title) > 0))", &mut t, &mut r);
        assert_eq!(t.primary_key, vec!["title"]);
        assert_eq!(t.checks[0].expression, "length(title) > 0");
    }
}
