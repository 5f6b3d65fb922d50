//! What tables and columns are called in the target: `--rename`, `--rename-column`
//! and the `--names` rule. Tables are renamed by each tool as it converts (it knows
//! the source's quoting); columns are renamed here, on the schemas a source hands
//! on, so that a tool's readers keep querying the source by its own names. Rows are
//! positional, so nothing else changes.

use std::collections::HashMap;

use anyhow::bail;

use crate::assess::SampleSettings;
use crate::cli::{SourceReader, TableFilter};
use crate::pipeline::Source;
use crate::report::{AssessmentReport, Finding, Severity, TableVerification};
use crate::schema::TableSchema;
use crate::store::{Store, SyncState};
use crate::text::for_terminal;
use crate::tool::{Converted, OpenedSource, ReadRequest};
use crate::verify::VerifySource;

/// How names that no rename gives are written in the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum NameRule {
    /// As the source writes them.
    #[default]
    Keep,
    /// In lower case.
    Lower,
    /// In snake_case: `OrderItems`, `orderID`, `Order Items` => `order_items`, `order_id`.
    Snake,
}

impl NameRule {
    /// A column name (or any single name) under the rule.
    pub fn name(self, name: &str) -> String {
        match self {
            NameRule::Keep => name.to_string(),
            NameRule::Lower => name.to_lowercase(),
            NameRule::Snake => snake_case(name),
        }
    }

    /// A table name under the rule: each part of `schema.table` on its own.
    pub fn table(self, name: &str) -> String {
        match self {
            NameRule::Keep => name.to_string(),
            _ => name
                .split('.')
                .map(|p| self.name(p))
                .collect::<Vec<_>>()
                .join("."),
        }
    }
}

/// `OrderItems` => `order_items`, `HTTPServer` => `http_server`, `orderID` =>
/// `order_id`, `Order Items` => `order_items`, `total2` => `total2`.
pub fn snake_case(name: &str) -> String {
    let chars: Vec<char> = name.chars().collect();
    let mut out = String::with_capacity(name.len() + 4);
    for (i, &c) in chars.iter().enumerate() {
        if !c.is_alphanumeric() {
            if !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
            continue;
        }
        if c.is_uppercase() && i > 0 {
            let prev = chars[i - 1];
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            let boundary =
                prev.is_lowercase() || prev.is_numeric() || (prev.is_uppercase() && next_lower);
            if boundary && !out.is_empty() && !out.ends_with('_') {
                out.push('_');
            }
        }
        out.extend(c.to_lowercase());
    }
    let trimmed = out.trim_end_matches('_');
    if trimmed.is_empty() {
        name.to_string()
    } else {
        trimmed.to_string()
    }
}

/// `FROM => TO` (or `FROM=TO`), both sides trimmed and not empty.
pub fn split_rename(text: &str) -> Option<(String, String)> {
    let (from, to) = text.split_once("=>").or_else(|| text.split_once('='))?;
    let (from, to) = (from.trim(), to.trim());
    (!from.is_empty() && !to.is_empty()).then(|| (from.to_string(), to.to_string()))
}

/// What each column is called in the target: its `--rename-column`, else its source
/// name under the `--names` rule.
#[derive(Debug, Clone, Default)]
pub struct ColumnNames {
    /// (target table, source column) => target column.
    explicit: HashMap<(String, String), String>,
    rule: NameRule,
}

impl ColumnNames {
    /// The column names the options ask for, checked against the source's tables:
    /// every `--rename-column` must name a column that exists.
    pub fn new(filter: &TableFilter, converted: &Converted) -> anyhow::Result<ColumnNames> {
        let mut explicit = HashMap::new();
        for text in &filter.rename_column {
            let Some((from, to)) = split_rename(text) else {
                bail!("--rename-column `{text}`: expected 'TABLE.COLUMN => NEW'");
            };
            let Some((table, column)) = from.rsplit_once('.') else {
                bail!("--rename-column `{text}`: name the column as TABLE.COLUMN");
            };
            let Some(t) = converted
                .catalog
                .iter()
                .find(|t| t.name == table || t.source_name == table || t.target == table)
            else {
                let known: Vec<&str> = converted.catalog.iter().map(|t| t.name.as_str()).collect();
                bail!(
                    "--rename-column `{}`: no table `{}` in the source (it has: {})",
                    for_terminal(text),
                    for_terminal(table),
                    for_terminal(&known.join(", "))
                );
            };
            if !t.columns.iter().any(|c| c == column) {
                bail!(
                    "--rename-column `{}`: the table `{}` has no column `{}` (it has: {})",
                    for_terminal(text),
                    for_terminal(&t.name),
                    for_terminal(column),
                    for_terminal(&t.columns.join(", "))
                );
            }
            explicit.insert((t.target.clone(), column.to_string()), to);
        }
        Ok(ColumnNames {
            explicit,
            rule: filter.names,
        })
    }

    /// Whether every column keeps its source name.
    pub fn is_identity(&self) -> bool {
        self.explicit.is_empty() && self.rule == NameRule::Keep
    }

    /// The target name of `column` of the target table `table`.
    pub fn column(&self, table: &str, column: &str) -> String {
        self.explicit
            .get(&(table.to_string(), column.to_string()))
            .cloned()
            .unwrap_or_else(|| self.rule.name(column))
    }

    /// No two columns of a table may end up with one name.
    pub fn check(&self, tables: &[TableSchema]) -> anyhow::Result<()> {
        for t in tables {
            let mut taken: HashMap<String, &str> = HashMap::new();
            for c in &t.columns {
                let new = self.column(&t.name, &c.name);
                if let Some(first) = taken.insert(new.clone(), &c.name) {
                    bail!(
                        "the columns `{}` and `{}` of `{}` would both be called `{}` in the \
                         target: give one another name with --rename-column",
                        for_terminal(first),
                        for_terminal(&c.name),
                        for_terminal(&t.name),
                        for_terminal(&new)
                    );
                }
            }
        }
        Ok(())
    }

    /// `schema` with its columns renamed everywhere they are named: keys, indexes,
    /// constraints, and foreign keys (theirs and the referenced table's).
    pub fn apply(&self, schema: &TableSchema) -> TableSchema {
        let mut s = schema.clone();
        let table = schema.name.as_str();
        let own = |c: &mut String| *c = self.column(table, c);
        s.columns
            .iter_mut()
            .for_each(|c| c.name = self.column(table, &c.name));
        s.primary_key.iter_mut().for_each(own);
        s.uniques
            .iter_mut()
            .for_each(|u| u.columns.iter_mut().for_each(own));
        s.indexes
            .iter_mut()
            .for_each(|i| i.columns.iter_mut().for_each(own));
        for fk in &mut s.foreign_keys {
            fk.columns.iter_mut().for_each(own);
            let referenced = fk.ref_table.clone();
            fk.ref_columns
                .iter_mut()
                .for_each(|c| *c = self.column(&referenced, c));
        }
        let map: HashMap<String, String> = schema
            .columns
            .iter()
            .map(|c| (c.name.clone(), self.column(table, &c.name)))
            .filter(|(a, b)| a != b)
            .collect();
        if !map.is_empty() {
            for check in &mut s.checks {
                check.expression = rename_identifiers(&check.expression, &map);
            }
        }
        s
    }
}

/// An SQL expression with the identifiers in `map` renamed, bare or double-quoted;
/// string literals are left alone.
fn rename_identifiers(expr: &str, map: &HashMap<String, String>) -> String {
    let quote = |n: &str| {
        let plain = n
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
            && n.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if plain {
            n.to_string()
        } else {
            format!("\"{}\"", n.replace('"', "\"\""))
        }
    };
    let chars: Vec<char> = expr.chars().collect();
    let mut out = String::with_capacity(expr.len());
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c == '\'' {
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '\'' {
                    if chars.get(i + 1) == Some(&'\'') {
                        i += 2;
                        continue;
                    }
                    break;
                }
                i += 1;
            }
            i = (i + 1).min(chars.len());
            out.extend(&chars[start..i]);
        } else if c == '"' {
            let mut name = String::new();
            let start = i;
            i += 1;
            while i < chars.len() {
                if chars[i] == '"' {
                    if chars.get(i + 1) == Some(&'"') {
                        name.push('"');
                        i += 2;
                        continue;
                    }
                    break;
                }
                name.push(chars[i]);
                i += 1;
            }
            i = (i + 1).min(chars.len());
            match map.get(&name) {
                Some(new) => out.push_str(&quote(new)),
                None => out.extend(&chars[start..i]),
            }
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            match map.get(&word) {
                Some(new) => out.push_str(&quote(new)),
                None => out.push_str(&word),
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    out
}

/// An opened source whose tables are handed on with their columns renamed, and
/// whose conversion report lists every name the target does not share with the
/// source.
pub struct Renamed {
    inner: Box<dyn OpenedSource>,
    columns: ColumnNames,
    converted: Converted,
}

impl Renamed {
    /// `inner` as the options name its tables and columns; `inner` itself when
    /// every name stays.
    pub fn wrap(
        inner: Box<dyn OpenedSource>,
        filter: &TableFilter,
    ) -> anyhow::Result<Box<dyn OpenedSource>> {
        let columns = ColumnNames::new(filter, inner.converted())?;
        let tables = inner.tables();
        columns.check(&tables)?;
        let c = inner.converted();
        let mut conversion = c.conversion.clone();
        for t in c.catalog.iter().filter(|t| filter.selects(&t.name)) {
            if t.target != t.name {
                conversion.findings.push(Finding::new(
                    Severity::Info,
                    format!("table {}", t.name),
                    format!("renamed `{}` in the target", t.target),
                ));
            }
        }
        for t in &tables {
            for col in &t.columns {
                let new = columns.column(&t.name, &col.name);
                if new != col.name {
                    conversion.findings.push(Finding::new(
                        Severity::Info,
                        format!("{}.{}", t.name, col.name),
                        format!("column renamed `{new}` in the target"),
                    ));
                }
            }
        }
        let renames_columns = tables.iter().any(|t| {
            t.columns
                .iter()
                .any(|col| columns.column(&t.name, &col.name) != col.name)
        });
        // Sync follows changes by the source's column names: say so before copying.
        if renames_columns && inner.follows_changes() {
            bail!(
                "--for-sync cannot be used with renamed columns (--rename-column, or --names \
                 changing a column's name): sync matches the source's changes to columns by \
                 their source names. Copy without renaming columns to sync, or rename them \
                 after the cutover"
            );
        }
        if conversion.findings.len() == c.conversion.findings.len() {
            return Ok(inner);
        }
        let converted = Converted {
            description: c.description.clone(),
            catalog: c.catalog.clone(),
            conversion,
        };
        Ok(Box::new(Renamed {
            inner,
            columns,
            converted,
        }))
    }
}

impl OpenedSource for Renamed {
    fn converted(&self) -> &Converted {
        &self.converted
    }

    fn tables(&self) -> Vec<TableSchema> {
        self.inner
            .tables()
            .iter()
            .map(|t| self.columns.apply(t))
            .collect()
    }

    fn plan_hints(&self) -> crate::plan::PlanHints {
        self.inner.plan_hints()
    }

    fn assess_only_secs(&self) -> f64 {
        self.inner.assess_only_secs()
    }

    fn assess(self: Box<Self>, sample: &SampleSettings) -> anyhow::Result<AssessmentReport> {
        self.inner.assess(sample)
    }

    fn reader(self: Box<Self>, request: &ReadRequest) -> anyhow::Result<Box<dyn SourceReader>> {
        let inner = self.inner.reader(request)?;
        Ok(Box::new(RenamedReader {
            inner,
            columns: self.columns,
        }))
    }
}

struct RenamedReader {
    inner: Box<dyn SourceReader>,
    columns: ColumnNames,
}

impl SourceReader for RenamedReader {
    fn source(&self) -> &dyn Source {
        self.inner.source()
    }
    fn size_sample(&self) -> &dyn Source {
        self.inner.size_sample()
    }
    fn verifier(&self) -> &dyn VerifySource {
        self.inner.verifier()
    }
    fn schemas(&self) -> Vec<TableSchema> {
        self.inner
            .schemas()
            .iter()
            .map(|t| self.columns.apply(t))
            .collect()
    }
    fn notes(&self) -> Vec<String> {
        self.inner.notes()
    }
    fn forget_counts(&self) {
        self.inner.forget_counts()
    }
    fn mapping(&self) -> Option<String> {
        self.inner.mapping()
    }
    fn verify_notes(&self) -> Vec<String> {
        self.inner.verify_notes()
    }
    fn before_verify(&self, store: &Store) -> anyhow::Result<()> {
        self.inner.before_verify(store)
    }
    fn verify_records(&self, store: &Store) -> anyhow::Result<Vec<TableVerification>> {
        self.inner.verify_records(store)
    }
    fn query_rows(&self, sql: &str) -> anyhow::Result<crate::query_check::TextRows> {
        self.inner.query_rows(sql)
    }
    fn sync_start(&self) -> anyhow::Result<Option<SyncState>> {
        self.inner.sync_start()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snake_case_splits_words() {
        for (from, to) in [
            ("OrderItems", "order_items"),
            ("orderID", "order_id"),
            ("HTTPServer", "http_server"),
            ("Order Items", "order_items"),
            ("already_snake", "already_snake"),
            ("total2", "total2"),
            ("Total2Amount", "total2_amount"),
            ("ÜberName", "über_name"),
            ("__", "__"),
        ] {
            assert_eq!(snake_case(from), to, "{from}");
        }
        assert_eq!(
            NameRule::Snake.table("Sales.OrderItems"),
            "sales.order_items"
        );
        assert_eq!(
            NameRule::Lower.table("Sales.OrderItems"),
            "sales.orderitems"
        );
        assert_eq!(NameRule::Keep.table("Sales.OrderItems"), "Sales.OrderItems");
    }

    #[test]
    fn renames_split_on_either_arrow() {
        assert_eq!(
            split_rename("public.orders => orders"),
            Some(("public.orders".into(), "orders".into()))
        );
        assert_eq!(split_rename("a=b"), Some(("a".into(), "b".into())));
        assert_eq!(split_rename("a => "), None);
    }

    #[test]
    fn checks_follow_renamed_columns_but_not_literals() {
        let map: HashMap<String, String> = [
            ("cust".to_string(), "customer_id".to_string()),
            ("Qty".to_string(), "quantity".to_string()),
        ]
        .into();
        assert_eq!(
            rename_identifiers(r#"cust > 0 AND "Qty" < 10 AND note <> 'cust'"#, &map),
            "customer_id > 0 AND quantity < 10 AND note <> 'cust'"
        );
    }
}
