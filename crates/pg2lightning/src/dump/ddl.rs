//! Schema statements into the model. Definitions are kept as the dump writes them
//! (which is how PostgreSQL prints them); only names are unquoted.

use std::collections::{HashMap, HashSet};

use super::lexer::{ident_value, string_value, tokenize, Kind, Token};
use super::DumpError;
use crate::model::{
    quote_ident, Column, Constraint, Database, Identity, Index, ManualKind, ManualObject,
    QualifiedName, Sequence, Table, TableKind, UserType,
};

/// A cursor over the tokens of one statement (or a part of it: `i..end`).
#[derive(Clone, Copy)]
pub(crate) struct P<'a> {
    s: &'a str,
    t: &'a [Token],
    pub(crate) i: usize,
    end: usize,
}

impl<'a> P<'a> {
    pub(crate) fn new(s: &'a str, t: &'a [Token]) -> Self {
        P {
            s,
            t,
            i: 0,
            end: t.len(),
        }
    }

    fn sub(&self, a: usize, b: usize) -> P<'a> {
        P {
            i: a,
            end: b,
            ..*self
        }
    }

    fn tok(&self, k: usize) -> Option<Token> {
        (k < self.end).then(|| self.t[k])
    }

    fn text_at(&self, k: usize) -> &'a str {
        self.tok(k).map_or("", |t| t.text(self.s))
    }

    fn word_at(&self, k: usize, w: &str) -> bool {
        self.tok(k)
            .is_some_and(|t| t.kind == Kind::Word && t.text(self.s).eq_ignore_ascii_case(w))
    }

    pub(crate) fn punct_at(&self, k: usize, c: char) -> bool {
        self.tok(k).is_some_and(|t| {
            t.kind == Kind::Punct && t.text(self.s).len() == 1 && t.text(self.s).starts_with(c)
        })
    }

    fn op_at(&self, k: usize, op: &str) -> bool {
        self.tok(k)
            .is_some_and(|t| t.kind == Kind::Op && t.text(self.s) == op)
    }

    fn peek(&self, w: &str) -> bool {
        self.word_at(self.i, w)
    }

    pub(crate) fn eat(&mut self, w: &str) -> bool {
        let yes = self.peek(w);
        if yes {
            self.i += 1;
        }
        yes
    }

    /// Eat all of `words` in a row, or none.
    fn eat_all(&mut self, words: &[&str]) -> bool {
        let yes = words
            .iter()
            .enumerate()
            .all(|(k, w)| self.word_at(self.i + k, w));
        if yes {
            self.i += words.len();
        }
        yes
    }

    pub(crate) fn expect(&mut self, w: &str) -> Result<(), String> {
        if self.eat(w) {
            Ok(())
        } else {
            Err(format!(
                "expected {}, found {}",
                w.to_uppercase(),
                self.found()
            ))
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.punct_at(self.i, c);
        if yes {
            self.i += 1;
        }
        yes
    }

    fn expect_punct(&mut self, c: char) -> Result<(), String> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            Err(format!("expected `{c}`, found {}", self.found()))
        }
    }

    pub(crate) fn at_end(&self) -> bool {
        self.i >= self.end
    }

    /// The current token, for messages.
    pub(crate) fn found(&self) -> String {
        match self.tok(self.i) {
            None => "the end of the statement".into(),
            Some(t) => {
                let text: String = t.text(self.s).chars().take(40).collect();
                format!("`{text}`")
            }
        }
    }

    fn ident(&mut self) -> Result<String, String> {
        match self.tok(self.i).and_then(|t| ident_value(self.s, t)) {
            Some(v) => {
                self.i += 1;
                Ok(v)
            }
            None => Err(format!("expected a name, found {}", self.found())),
        }
    }

    /// `name` or `schema.name`; a bare name is in `schema`.
    pub(crate) fn qualified(&mut self, schema: &str) -> Result<QualifiedName, String> {
        let first = self.ident()?;
        if self.punct_at(self.i, '.') {
            self.i += 1;
            let second = self.ident()?;
            Ok(QualifiedName::new(first, second))
        } else {
            Ok(QualifiedName::new(schema, first))
        }
    }

    /// `(a, "B", c)`: the names.
    pub(crate) fn ident_list(&mut self) -> Result<Vec<String>, String> {
        self.expect_punct('(')?;
        let mut names = Vec::new();
        if self.eat_punct(')') {
            return Ok(names);
        }
        loop {
            names.push(self.ident()?);
            if self.eat_punct(')') {
                return Ok(names);
            }
            self.expect_punct(',')?;
        }
    }

    /// `k` is at `(` or `[`: the index just after the matching close.
    fn close(&self, k: usize) -> Result<usize, String> {
        let mut depth = 0usize;
        for j in k..self.end {
            if self.punct_at(j, '(') || self.punct_at(j, '[') {
                depth += 1;
            } else if self.punct_at(j, ')') || self.punct_at(j, ']') {
                depth -= 1;
                if depth == 0 {
                    return Ok(j + 1);
                }
            }
        }
        Err("unbalanced parentheses".into())
    }

    /// The first `k >= from` at parenthesis depth 0 where `stop` holds, or `end`.
    fn scan_to(&self, from: usize, stop: impl Fn(&Self, usize) -> bool) -> Result<usize, String> {
        let mut k = from;
        while k < self.end {
            if stop(self, k) {
                return Ok(k);
            }
            if self.punct_at(k, '(') || self.punct_at(k, '[') {
                k = self.close(k)?;
            } else {
                k += 1;
            }
        }
        Ok(self.end)
    }

    /// The source text of tokens `a..b`, verbatim.
    fn span(&self, a: usize, b: usize) -> &'a str {
        if a >= b {
            return "";
        }
        &self.s[self.t[a].start..self.t[b - 1].end]
    }

    /// The source text of the remaining tokens.
    pub(crate) fn rest(&self) -> &'a str {
        self.span(self.i, self.end)
    }

    /// The comma-separated parts of `a..b`, at depth 0.
    fn split_commas(&self, a: usize, b: usize) -> Result<Vec<(usize, usize)>, String> {
        let q = self.sub(a, b);
        let mut parts = Vec::new();
        let mut start = a;
        loop {
            let k = q.scan_to(start, |q, k| q.punct_at(k, ','))?;
            parts.push((start, k));
            if k >= b {
                return Ok(parts);
            }
            start = k + 1;
        }
    }

    /// An optionally signed integer.
    fn integer(&mut self) -> Result<i64, String> {
        let negative = self.op_at(self.i, "-");
        if negative {
            self.i += 1;
        }
        let text = self.text_at(self.i);
        let v: i64 = text
            .parse()
            .map_err(|_| format!("expected an integer, found {}", self.found()))?;
        self.i += 1;
        Ok(if negative { -v } else { v })
    }
}

/// Words that end a column's type (and start its constraints).
fn column_keyword(p: &P, k: usize) -> bool {
    const WORDS: &[&str] = &[
        "collate",
        "constraint",
        "not",
        "null",
        "default",
        "check",
        "primary",
        "unique",
        "references",
        "generated",
    ];
    WORDS.iter().any(|w| p.word_at(k, w))
        || (p.word_at(k, "with") && p.word_at(k + 1, "options"))
        || ((p.word_at(k, "compression") || p.word_at(k, "storage"))
            && !p.punct_at(k.wrapping_sub(1), '.'))
}

/// Where a DEFAULT expression ends: at the next column constraint.
fn default_end(p: &P, k: usize) -> bool {
    if p.word_at(k, "not") {
        return p.word_at(k + 1, "null") && !p.word_at(k.wrapping_sub(1), "is");
    }
    [
        "constraint",
        "check",
        "primary",
        "unique",
        "references",
        "generated",
        "collate",
        "default",
    ]
    .iter()
    .any(|w| p.word_at(k, w))
}

/// Where a domain's base type or DEFAULT ends.
fn domain_keyword(p: &P, k: usize) -> bool {
    if p.word_at(k, "not") {
        return p.word_at(k + 1, "null") && !p.word_at(k.wrapping_sub(1), "is");
    }
    ["collate", "default", "constraint", "check"]
        .iter()
        .any(|w| p.word_at(k, w))
        || (p.word_at(k, "null") && !p.word_at(k.wrapping_sub(1), "is"))
}

/// Clauses after a table's column list.
fn table_clause(p: &P, k: usize) -> bool {
    (p.word_at(k, "partition") && p.word_at(k + 1, "by"))
        || p.word_at(k, "inherits")
        || p.word_at(k, "using")
        || p.word_at(k, "tablespace")
        || p.word_at(k, "without")
        || (p.word_at(k, "on") && p.word_at(k + 1, "commit"))
        // `WITH (MODULUS 4, REMAINDER 0)` is a hash partition bound, not storage options.
        || (p.word_at(k, "with") && !p.word_at(k + 2, "modulus"))
}

/// The options of CREATE SEQUENCE or of an identity column.
#[derive(Default)]
struct SequenceOptions {
    name: Option<QualifiedName>,
    increment: Option<i64>,
    start: Option<i64>,
    min: Option<i64>,
    max: Option<i64>,
}

impl SequenceOptions {
    fn parse(mut p: P, schema: &str) -> Result<Self, String> {
        let mut o = SequenceOptions::default();
        while !p.at_end() {
            if p.eat("no") {
                // NO MINVALUE, NO MAXVALUE, NO CYCLE
                p.i += 1;
            } else if p.eat_all(&["sequence", "name"]) {
                o.name = Some(p.qualified(schema)?);
            } else if p.eat("increment") {
                p.eat("by");
                o.increment = Some(p.integer()?);
            } else if p.eat("start") {
                p.eat("with");
                o.start = Some(p.integer()?);
            } else if p.eat("minvalue") {
                o.min = Some(p.integer()?);
            } else if p.eat("maxvalue") {
                o.max = Some(p.integer()?);
            } else {
                p.i += 1;
            }
        }
        Ok(o)
    }

    /// A sequence not yet used: `nextval` gives its start.
    fn sequence(&self) -> Sequence {
        let increment = self.increment.unwrap_or(1);
        let start = self.start.unwrap_or(if increment > 0 {
            self.min.unwrap_or(1)
        } else {
            self.max.unwrap_or(-1)
        });
        Sequence {
            last_value: start,
            is_called: false,
            increment,
        }
    }
}

/// Builds the [`Database`] from schema statements in dump order.
pub(crate) struct Builder {
    db: Database,
    /// Table name -> (index in `db.tables`, line of its CREATE TABLE).
    tables: HashMap<QualifiedName, (usize, u64)>,
    /// Views, materialized views and foreign tables: relations Lightning gets no table for.
    relations: HashSet<QualifiedName>,
    /// Where unqualified names live (old dumps `SET search_path`).
    pub(crate) schema: String,
    pub(crate) standard_strings: bool,
}

impl Builder {
    pub(crate) fn new() -> Self {
        Builder {
            db: Database::default(),
            tables: HashMap::new(),
            relations: HashSet::new(),
            schema: "public".into(),
            standard_strings: true,
        }
    }

    pub(crate) fn table(&self, name: &QualifiedName) -> Option<&Table> {
        self.tables.get(name).map(|&(i, _)| &self.db.tables[i])
    }

    fn table_mut(&mut self, name: &QualifiedName) -> Option<&mut Table> {
        self.tables.get(name).map(|&(i, _)| &mut self.db.tables[i])
    }

    /// A relation with no Lightning table (a foreign table's data is not migrated).
    pub(crate) fn is_manual_relation(&self, name: &QualifiedName) -> bool {
        self.relations.contains(name)
    }

    pub(crate) fn finish(self) -> Database {
        self.db
    }

    pub(crate) fn has_tables(&self) -> bool {
        !self.db.tables.is_empty()
    }

    /// One statement other than COPY, INSERT and SET.
    pub(crate) fn statement(&mut self, text: &str, line: u64) -> Result<(), DumpError> {
        let toks = tokenize(text, self.standard_strings)
            .map_err(|m| DumpError::new(line, format!("cannot read the statement: {m}")))?;
        let mut p = P::new(text, &toks);
        let result = if p.eat("create") {
            self.create(&mut p, text, line)
        } else if p.eat("alter") {
            self.alter(&mut p, text)
        } else if p.eat("select") {
            self.select(&mut p, text)
        } else if [
            "comment", "grant", "revoke", "security", "drop", "begin", "commit", "end", "start",
            "reset", "refresh", "set",
        ]
        .iter()
        .any(|w| p.peek(w))
        {
            Ok(())
        } else {
            self.other(text);
            Ok(())
        };
        result.map_err(|m| DumpError::new(line, m))
    }

    fn manual(&mut self, kind: ManualKind, name: String, text: &str, replace: bool) {
        if replace {
            if let Some(m) = self
                .db
                .manual
                .iter_mut()
                .find(|m| m.kind == kind && m.name == name)
            {
                m.definition = text.to_string();
                return;
            }
        }
        self.db.manual.push(ManualObject {
            kind,
            name,
            definition: text.to_string(),
        });
    }

    /// A statement the model has no place for: listed, never dropped.
    fn other(&mut self, text: &str) {
        let first = text.lines().next().unwrap_or("").trim();
        let mut name: String = first.chars().take(80).collect();
        if name.len() < first.len() || text.contains('\n') {
            name.push_str(" ...");
        }
        // A run of ALTERs of one object (ALTER TEXT SEARCH CONFIGURATION ... ADD MAPPING
        // ...) is one entry.
        if let Some(last) = self.db.manual.last_mut() {
            if last.kind == ManualKind::Other && last.name == name && first_word_is(text, "alter") {
                last.definition.push_str(";\n");
                last.definition.push_str(text);
                return;
            }
        }
        self.manual(ManualKind::Other, name, text, false);
    }

    fn create(&mut self, p: &mut P, text: &str, line: u64) -> Result<(), String> {
        self.create_inner(p, text, line).map_err(|m| {
            if m.starts_with("cannot parse") || m.contains("never creates") {
                m
            } else {
                let head: String = text.lines().next().unwrap_or("").chars().take(60).collect();
                format!("cannot parse `{head}`: {m}")
            }
        })
    }

    fn create_inner(&mut self, p: &mut P, text: &str, line: u64) -> Result<(), String> {
        let replace = p.eat_all(&["or", "replace"]);
        if p.eat("unlogged") && p.eat("sequence") {
            return self.create_sequence(p);
        }
        p.eat("global");
        p.eat("local");
        let _ = p.eat("temporary") || p.eat("temp");
        let schema = self.schema.clone();
        if p.eat("table") {
            let at = p.i;
            return self.create_table(p, line).map_err(|m| {
                let name = p
                    .sub(at, p.end)
                    .qualified(&schema)
                    .map_or(String::new(), |n| format!(" {n}"));
                format!("cannot parse CREATE TABLE{name}: {m}; is this unmodified pg_dump output?")
            });
        }
        if p.peek("unique") || p.peek("index") {
            return self.create_index(p, text);
        }
        if p.eat("sequence") {
            return self.create_sequence(p);
        }
        if p.eat("type") {
            return self.create_type(p);
        }
        if p.eat("domain") {
            return self.create_domain(p);
        }
        if p.eat("view") || p.eat_all(&["recursive", "view"]) {
            let name = p.qualified(&schema)?;
            self.relations.insert(name.clone());
            self.manual(ManualKind::View, name.sql(), text, replace);
            return Ok(());
        }
        if p.eat_all(&["materialized", "view"]) {
            p.eat_all(&["if", "not", "exists"]);
            let name = p.qualified(&schema)?;
            self.relations.insert(name.clone());
            self.manual(ManualKind::MaterializedView, name.sql(), text, replace);
            return Ok(());
        }
        for (word, kind) in [
            ("function", ManualKind::Function),
            ("procedure", ManualKind::Procedure),
            ("aggregate", ManualKind::Aggregate),
        ] {
            if p.eat(word) {
                let name = p.qualified(&schema)?;
                self.manual(kind, name.sql(), text, false);
                return Ok(());
            }
        }
        if p.eat("trigger") || p.eat_all(&["constraint", "trigger"]) {
            let name = p.ident()?;
            let on = p.scan_to(p.i, |q, k| q.word_at(k, "on"))?;
            p.i = on + 1;
            let table = p.qualified(&schema)?;
            let name = format!("{} ON {}", quote_ident(&name), table.sql());
            self.manual(ManualKind::Trigger, name, text, replace);
            return Ok(());
        }
        if p.eat_all(&["event", "trigger"]) {
            let name = quote_ident(&p.ident()?);
            self.manual(ManualKind::EventTrigger, name, text, false);
            return Ok(());
        }
        if p.eat("rule") {
            let name = p.ident()?;
            let to = p.scan_to(p.i, |q, k| q.word_at(k, "to"))?;
            p.i = to + 1;
            let table = p.qualified(&schema)?;
            let name = format!("{} ON {}", quote_ident(&name), table.sql());
            self.manual(ManualKind::Rule, name, text, replace);
            return Ok(());
        }
        if p.eat("policy") {
            let name = p.ident()?;
            p.expect("on")?;
            let table = p.qualified(&schema)?;
            let name = format!("{} ON {}", quote_ident(&name), table.sql());
            self.manual(ManualKind::Policy, name, text, false);
            return Ok(());
        }
        if p.eat("extension") {
            p.eat_all(&["if", "not", "exists"]);
            let name = quote_ident(&p.ident()?);
            self.manual(ManualKind::Extension, name, text, false);
            return Ok(());
        }
        if p.eat_all(&["foreign", "table"]) {
            p.eat_all(&["if", "not", "exists"]);
            let name = p.qualified(&schema)?;
            self.relations.insert(name.clone());
            self.manual(ManualKind::ForeignTable, name.sql(), text, false);
            return Ok(());
        }
        if ["schema", "database", "publication", "subscription"]
            .iter()
            .any(|w| p.peek(w))
        {
            return Ok(());
        }
        self.other(text);
        Ok(())
    }

    fn create_table(&mut self, p: &mut P, line: u64) -> Result<(), String> {
        p.eat_all(&["if", "not", "exists"]);
        let name = p.qualified(&self.schema)?;
        if let Some(&(_, first)) = self.tables.get(&name) {
            return Err(format!(
                "table {name} is created twice (first at line {first}): the input holds more \
                 than one database (pg_dumpall?) or was concatenated; dump one database \
                 with pg_dump"
            ));
        }
        let mut table = Table::new(name.clone());
        if p.eat_all(&["partition", "of"]) {
            let parent = p.qualified(&self.schema)?;
            let parent_table = self
                .table(&parent)
                .ok_or_else(|| format!("its parent {parent} is not created before it"))?;
            table.columns = parent_table.columns.clone();
            if p.punct_at(p.i, '(') {
                let close = p.close(p.i)?;
                self.elements(&mut table, p.sub(p.i + 1, close - 1))?;
                p.i = close;
            }
            let stop = p.scan_to(p.i, table_clause)?;
            if stop == p.i {
                return Err("PARTITION OF without FOR VALUES or DEFAULT".into());
            }
            table.parent = Some((parent, p.span(p.i, stop).to_string()));
            p.i = stop;
        } else if p.eat("of") {
            let type_name = p.qualified(&self.schema)?.sql();
            match self.db.types.get(&type_name) {
                Some(UserType::Composite(fields)) => {
                    table.columns = fields
                        .iter()
                        .map(|(n, t)| plain_column(n.clone(), t.clone()))
                        .collect();
                }
                _ => return Err(format!("OF {type_name}: no such composite type before it")),
            }
            if p.punct_at(p.i, '(') {
                let close = p.close(p.i)?;
                self.elements(&mut table, p.sub(p.i + 1, close - 1))?;
                p.i = close;
            }
        } else {
            if !p.punct_at(p.i, '(') {
                return Err(format!(
                    "expected `(` after the table name, found {}",
                    p.found()
                ));
            }
            let close = p.close(p.i)?;
            self.elements(&mut table, p.sub(p.i + 1, close - 1))?;
            p.i = close;
        }
        while !p.at_end() {
            if p.eat("inherits") {
                let close = p.close(p.i)?;
                let mut q = p.sub(p.i + 1, close - 1);
                let mut parents = Vec::new();
                while !q.at_end() {
                    parents.push(q.qualified(&self.schema)?);
                    q.eat_punct(',');
                }
                p.i = close;
                self.inherit(&mut table, &parents)?;
            } else if p.eat_all(&["partition", "by"]) {
                let stop = p.scan_to(p.i, table_clause)?;
                let key = p.span(p.i, stop).to_string();
                if key.is_empty() {
                    return Err("PARTITION BY without a key".into());
                }
                table.kind = TableKind::Partitioned { key };
                p.i = stop;
            } else if p.eat("using") || p.eat("tablespace") {
                p.ident()?;
            } else if p.eat("with") {
                if p.punct_at(p.i, '(') {
                    p.i = p.close(p.i)?;
                } else {
                    p.ident()?;
                }
            } else if p.eat_all(&["without", "oids"]) {
            } else if p.eat_all(&["on", "commit"]) {
                let _ = p.eat_all(&["preserve", "rows"])
                    || p.eat_all(&["delete", "rows"])
                    || p.eat("drop");
            } else {
                return Err(format!("unexpected {} after the column list", p.found()));
            }
        }
        self.tables.insert(name, (self.db.tables.len(), line));
        self.db.tables.push(table);
        Ok(())
    }

    /// Columns (and their inherited ones) in PostgreSQL's order: parents' first.
    fn inherit(&self, table: &mut Table, parents: &[QualifiedName]) -> Result<(), String> {
        let mut merged: Vec<Column> = Vec::new();
        for parent in parents {
            let pt = self
                .table(parent)
                .ok_or_else(|| format!("its parent {parent} is not created before it"))?;
            for c in &pt.columns {
                if !merged.iter().any(|m| m.name == c.name) {
                    merged.push(c.clone());
                }
            }
        }
        for c in table.columns.drain(..) {
            match merged.iter_mut().find(|m| m.name == c.name) {
                Some(m) => *m = c,
                None => merged.push(c),
            }
        }
        table.columns = merged;
        Ok(())
    }

    /// The parts of a CREATE TABLE's parenthesised list.
    fn elements(&mut self, table: &mut Table, p: P) -> Result<(), String> {
        if p.at_end() {
            return Ok(());
        }
        for (a, b) in p.split_commas(p.i, p.end)? {
            let q = p.sub(a, b);
            if q.at_end() {
                return Err("an empty element in the column list".into());
            }
            let constraint = ["constraint", "primary", "unique", "check", "foreign"]
                .iter()
                .any(|w| q.peek(w))
                || (q.peek("exclude") && (q.word_at(a + 1, "using") || q.punct_at(a + 1, '(')));
            if q.peek("like") {
                return Err("LIKE in CREATE TABLE is not supported".into());
            }
            if constraint {
                self.table_constraint(table, q)?;
            } else {
                self.column(table, q)?;
            }
        }
        Ok(())
    }

    fn table_constraint(&mut self, table: &mut Table, mut q: P) -> Result<(), String> {
        if q.eat("constraint") {
            let name = q.ident()?;
            return add_constraint(table, name, q);
        }
        let t = &table.name.name;
        let name = if q.peek("primary") {
            format!("{t}_pkey")
        } else {
            let cols = q.scan_to(q.i, |q, k| q.punct_at(k, '('))?;
            let cols = q
                .sub(cols, q.end)
                .ident_list()
                .unwrap_or_default()
                .join("_");
            let sep = if cols.is_empty() { "" } else { "_" };
            if q.peek("unique") {
                format!("{t}{sep}{cols}_key")
            } else if q.peek("foreign") {
                format!("{t}{sep}{cols}_fkey")
            } else if q.peek("exclude") {
                format!("{t}_excl")
            } else {
                format!("{t}_check")
            }
        };
        table.constraints.push(Constraint {
            name,
            definition: q.rest().to_string(),
        });
        Ok(())
    }

    /// A column definition, or `name WITH OPTIONS ...` for an inherited one.
    fn column(&mut self, table: &mut Table, mut q: P) -> Result<(), String> {
        let name = q.ident()?;
        let type_start = q.i;
        let type_end = q.scan_to(q.i, |q, k| k > type_start && column_keyword(q, k))?;
        let with_options = q.word_at(type_start, "with") && q.word_at(type_start + 1, "options");
        let type_end = if with_options { type_start } else { type_end };
        let mut col = plain_column(name.clone(), q.span(type_start, type_end).to_string());
        if col.type_name.is_empty() && !with_options {
            return Err(format!("column {} has no type", quote_ident(&name)));
        }
        q.i = type_end;
        let mut pending: Option<String> = None;
        let mut constraints = Vec::new();
        let col_sql = quote_ident(&name);
        let t = table.name.name.clone();
        while !q.at_end() {
            let at = q.i;
            if q.eat_all(&["with", "options"]) || q.eat("null") {
            } else if q.eat("collate") {
                q.qualified(&self.schema)?;
            } else if q.eat("constraint") {
                pending = Some(q.ident()?);
            } else if q.eat_all(&["not", "null"]) {
                col.not_null = true;
                q.eat_all(&["no", "inherit"]);
                pending = None;
            } else if q.eat("default") {
                let first = q.i;
                let stop = q.scan_to(first, |q, k| k > first && default_end(q, k))?;
                col.default = Some(q.span(q.i, stop).to_string());
                q.i = stop;
            } else if q.peek("check") {
                let close = q.close(q.i + 1)?;
                q.i = close;
                q.eat_all(&["no", "inherit"]);
                let name = pending
                    .take()
                    .unwrap_or_else(|| format!("{t}_{name}_check"));
                constraints.push(Constraint {
                    name,
                    definition: q.span(at, q.i).to_string(),
                });
            } else if q.eat_all(&["primary", "key"]) {
                let name = pending.take().unwrap_or_else(|| format!("{t}_pkey"));
                constraints.push(Constraint {
                    name,
                    definition: format!("PRIMARY KEY ({col_sql})"),
                });
            } else if q.eat("unique") {
                let nulls = if q.eat_all(&["nulls", "not", "distinct"]) {
                    "NULLS NOT DISTINCT "
                } else {
                    q.eat_all(&["nulls", "distinct"]);
                    ""
                };
                let name = pending.take().unwrap_or_else(|| format!("{t}_{name}_key"));
                constraints.push(Constraint {
                    name,
                    definition: format!("UNIQUE {nulls}({col_sql})"),
                });
            } else if q.eat("references") {
                // Up to the next constraint; ON DELETE SET NULL / SET DEFAULT belong to it.
                let stop = q.scan_to(q.i, |q, k| {
                    !q.word_at(k.wrapping_sub(1), "set")
                        && (default_end(q, k) || q.word_at(k, "null"))
                })?;
                let name = pending.take().unwrap_or_else(|| format!("{t}_{name}_fkey"));
                constraints.push(Constraint {
                    name,
                    definition: format!("FOREIGN KEY ({col_sql}) REFERENCES {}", q.span(q.i, stop)),
                });
                q.i = stop;
            } else if q.eat("generated") {
                let kind = if q.eat("always") {
                    "ALWAYS"
                } else if q.eat_all(&["by", "default"]) {
                    "BY DEFAULT"
                } else {
                    return Err(format!("unexpected {} after GENERATED", q.found()));
                };
                q.expect("as")?;
                if q.eat("identity") {
                    let options = if q.punct_at(q.i, '(') {
                        let close = q.close(q.i)?;
                        let o = SequenceOptions::parse(q.sub(q.i + 1, close - 1), &self.schema)?;
                        q.i = close;
                        o
                    } else {
                        SequenceOptions::default()
                    };
                    col.identity = Some(self.identity(&table.name, &name, kind, options));
                } else if q.punct_at(q.i, '(') {
                    let close = q.close(q.i)?;
                    col.generated = Some(q.span(q.i + 1, close - 1).to_string());
                    q.i = close;
                    let _ = q.eat("stored") || q.eat("virtual");
                } else {
                    return Err(format!("unexpected {} after GENERATED ... AS", q.found()));
                }
            } else if q.eat("deferrable")
                || q.eat_all(&["not", "deferrable"])
                || q.eat_all(&["initially", "deferred"])
                || q.eat_all(&["initially", "immediate"])
            {
            } else if q.eat("compression") || q.eat("storage") {
                q.ident()?;
            } else {
                return Err(format!(
                    "unexpected {} in the definition of column {col_sql}",
                    q.found()
                ));
            }
        }
        table.constraints.extend(constraints);
        match table.columns.iter_mut().find(|c| c.name == name) {
            Some(existing) if with_options => {
                existing.not_null |= col.not_null;
                if col.default.is_some() {
                    existing.default = col.default;
                }
                if col.identity.is_some() {
                    existing.identity = col.identity;
                }
                Ok(())
            }
            Some(_) => Err(format!("column {col_sql} is defined twice")),
            None if with_options => Err(format!("column {col_sql} WITH OPTIONS is not inherited")),
            None => {
                table.columns.push(col);
                Ok(())
            }
        }
    }

    /// An identity column's sequence: named by its options or as PostgreSQL names it.
    fn identity(
        &mut self,
        table: &QualifiedName,
        column: &str,
        kind: &str,
        options: SequenceOptions,
    ) -> Identity {
        let name = options.name.clone().unwrap_or_else(|| {
            QualifiedName::new(table.schema.clone(), format!("{}_{column}_seq", table.name))
        });
        let key = name.sql();
        self.db
            .sequences
            .entry(key.clone())
            .or_insert_with(|| options.sequence());
        Identity {
            kind: kind.to_string(),
            sequence: Some(key),
        }
    }

    fn create_index(&mut self, p: &mut P, text: &str) -> Result<(), String> {
        p.eat("unique");
        p.expect("index")?;
        p.eat("concurrently");
        p.eat_all(&["if", "not", "exists"]);
        let name = if p.peek("on") { None } else { Some(p.ident()?) };
        p.expect("on")?;
        p.eat("only");
        let on = p.qualified(&self.schema)?;
        let name = name.ok_or("an index without a name")?;
        if let Some(table) = self.table_mut(&on) {
            table.indexes.push(Index {
                name,
                definition: text.to_string(),
            });
        } else if self.relations.contains(&on) {
            let name = format!("{} ON {}", quote_ident(&name), on.sql());
            self.manual(ManualKind::Other, name, text, false);
        } else {
            return Err(format!(
                "CREATE INDEX on {on}, which the dump never creates: the dump is incomplete"
            ));
        }
        Ok(())
    }

    fn create_sequence(&mut self, p: &mut P) -> Result<(), String> {
        p.eat_all(&["if", "not", "exists"]);
        let name = p.qualified(&self.schema)?;
        let options = SequenceOptions::parse(p.sub(p.i, p.end), &self.schema)?;
        self.db.sequences.insert(name.sql(), options.sequence());
        Ok(())
    }

    fn create_type(&mut self, p: &mut P) -> Result<(), String> {
        let name = p.qualified(&self.schema)?.sql();
        let ty = if p.eat_all(&["as", "enum"]) {
            let close = p.close(p.i)?;
            let mut labels = Vec::new();
            for k in p.i + 1..close - 1 {
                let t = p.t[k];
                if t.kind == Kind::Str {
                    labels.push(string_value(t.text(p.s), self.standard_strings)?);
                }
            }
            UserType::Enum(labels)
        } else if p.eat_all(&["as", "range"]) {
            let close = p.close(p.i)?;
            let mut subtype = None;
            for (a, b) in p.split_commas(p.i + 1, close - 1)? {
                let q = p.sub(a, b);
                if q.peek("subtype") && q.op_at(a + 1, "=") {
                    subtype = Some(q.span(a + 2, b).to_string());
                }
            }
            UserType::Range {
                subtype: subtype.ok_or("a range type without SUBTYPE")?,
            }
        } else if p.eat("as") {
            let close = p.close(p.i)?;
            let mut fields = Vec::new();
            if close - 1 > p.i + 1 {
                for (a, b) in p.split_commas(p.i + 1, close - 1)? {
                    let mut q = p.sub(a, b);
                    let field = q.ident()?;
                    let stop = q.scan_to(q.i, |q, k| q.word_at(k, "collate"))?;
                    fields.push((field, q.span(q.i, stop).to_string()));
                }
            }
            UserType::Composite(fields)
        } else {
            UserType::Other
        };
        self.db.types.insert(name, ty);
        Ok(())
    }

    fn create_domain(&mut self, p: &mut P) -> Result<(), String> {
        let name = p.qualified(&self.schema)?.sql();
        p.eat("as");
        let first = p.i;
        let stop = p.scan_to(first, |q, k| k > first && domain_keyword(q, k))?;
        let base = p.span(p.i, stop).to_string();
        p.i = stop;
        let mut not_null = false;
        let mut default = None;
        let mut checks = Vec::new();
        while !p.at_end() {
            if p.eat("collate") {
                p.qualified(&self.schema)?;
            } else if p.eat("default") {
                let first = p.i;
                let stop = p.scan_to(first, |q, k| k > first && domain_keyword(q, k))?;
                default = Some(p.span(p.i, stop).to_string());
                p.i = stop;
            } else if p.eat("constraint") {
                p.ident()?;
            } else if p.eat_all(&["not", "null"]) {
                not_null = true;
            } else if p.eat("null") {
            } else if p.peek("check") {
                let at = p.i;
                p.i = p.close(p.i + 1)?;
                p.eat_all(&["not", "valid"]);
                checks.push(p.span(at, p.i).to_string());
            } else {
                return Err(format!(
                    "cannot parse CREATE DOMAIN {name}: unexpected {}",
                    p.found()
                ));
            }
        }
        self.db.types.insert(
            name,
            UserType::Domain {
                base,
                not_null,
                default,
                checks,
            },
        );
        Ok(())
    }

    fn alter(&mut self, p: &mut P, text: &str) -> Result<(), String> {
        // `ALTER <anything> ... OWNER TO role`: ownership means nothing to Lightning.
        if p.end >= 3 && p.word_at(p.end - 3, "owner") && p.word_at(p.end - 2, "to") {
            return Ok(());
        }
        if p.eat("table") {
            return self.alter_table(p, text);
        }
        if p.eat("domain") {
            let name = p.qualified(&self.schema)?.sql();
            if p.eat_all(&["add", "constraint"]) {
                p.ident()?;
                let not_null = p.peek("not");
                let rest = p.rest().to_string();
                if let Some(UserType::Domain {
                    checks,
                    not_null: nn,
                    ..
                }) = self.db.types.get_mut(&name)
                {
                    if not_null {
                        *nn = true;
                    } else {
                        checks.push(rest);
                    }
                    return Ok(());
                }
            }
            self.other(text);
            return Ok(());
        }
        if p.eat("type") {
            let name = p.qualified(&self.schema)?.sql();
            if p.eat_all(&["add", "value"]) {
                p.eat_all(&["if", "not", "exists"]);
                let label = string_value(p.text_at(p.i), self.standard_strings)?;
                p.i += 1;
                if let Some(UserType::Enum(labels)) = self.db.types.get_mut(&name) {
                    let at = if p.eat("before") || p.eat("after") {
                        let after = p.word_at(p.i - 1, "after");
                        let other = string_value(p.text_at(p.i), self.standard_strings)?;
                        labels
                            .iter()
                            .position(|l| *l == other)
                            .map(|k| if after { k + 1 } else { k })
                    } else {
                        None
                    };
                    labels.insert(at.unwrap_or(labels.len()), label);
                    return Ok(());
                }
            }
            self.other(text);
            return Ok(());
        }
        let ignored = (p.peek("sequence") && p.scan_to(p.i, |q, k| q.word_at(k, "owned"))? < p.end)
            || (p.peek("index") && p.scan_to(p.i, |q, k| q.word_at(k, "attach"))? < p.end)
            || [
                "schema",
                "default",
                "publication",
                "subscription",
                "database",
            ]
            .iter()
            .any(|w| p.peek(w));
        if !ignored {
            self.other(text);
        }
        Ok(())
    }

    fn alter_table(&mut self, p: &mut P, text: &str) -> Result<(), String> {
        p.eat_all(&["if", "exists"]);
        p.eat("only");
        let name = p.qualified(&self.schema)?;
        if p.op_at(p.i, "*") {
            p.i += 1;
        }
        let needed = p.peek("add")
            || p.peek("attach")
            || (p.peek("alter")
                && (p.scan_to(p.i, |q, k| {
                    (q.word_at(k, "set") && q.word_at(k + 1, "default"))
                        || (q.word_at(k, "add") && q.word_at(k + 1, "generated"))
                        || (q.word_at(k, "set") && q.word_at(k + 1, "not"))
                })? < p.end));
        if !needed {
            // RLS, REPLICA IDENTITY, CLUSTER ON, storage options, triggers on/off,
            // --clean's DROP CONSTRAINT, statistics targets, ...
            let ignored = [
                "enable", "disable", "force", "no", "replica", "cluster", "set", "reset",
                "inherit", "drop", "validate", "of", "alter", "owner",
            ];
            if !ignored.iter().any(|w| p.peek(w)) {
                self.other(text);
            }
            return Ok(());
        }
        if self.table(&name).is_none() {
            if self.relations.contains(&name) {
                self.other(text);
                return Ok(());
            }
            return Err(format!(
                "ALTER TABLE changes {name}, which the dump never creates: the dump is incomplete \
                 (made with -t, or edited?)"
            ));
        }
        let schema = self.schema.clone();
        if p.eat_all(&["attach", "partition"]) {
            let child = p.qualified(&schema)?;
            let bound = p.rest().to_string();
            let foreign = self.relations.contains(&child);
            match self.table_mut(&child) {
                Some(t) => t.parent = Some((name, bound)),
                None if foreign => self.other(text),
                None => {
                    return Err(format!(
                        "ATTACH PARTITION {child}, which the dump never creates: \
                         the dump is incomplete"
                    ))
                }
            }
            return Ok(());
        }
        if p.eat("add") {
            let at = p.i;
            if [
                "constraint",
                "primary",
                "unique",
                "check",
                "foreign",
                "exclude",
            ]
            .iter()
            .any(|w| p.peek(w))
            {
                let mut table = self.take_table(&name);
                let r = self.table_constraint(&mut table, p.sub(at, p.end));
                self.put_table(table);
                return r.map_err(|m| format!("cannot parse ALTER TABLE {name} ADD: {m}"));
            }
            self.other(text);
            return Ok(());
        }
        // ALTER [COLUMN] c ...
        p.expect("alter")?;
        p.eat("column");
        let column = p.ident()?;
        let mut identity = None;
        if p.eat_all(&["add", "generated"]) {
            let kind = if p.eat("always") {
                "ALWAYS"
            } else if p.eat_all(&["by", "default"]) {
                "BY DEFAULT"
            } else {
                return Err(format!("unexpected {} after ADD GENERATED", p.found()));
            };
            p.expect("as")?;
            p.expect("identity")?;
            let options = if p.punct_at(p.i, '(') {
                let close = p.close(p.i)?;
                SequenceOptions::parse(p.sub(p.i + 1, close - 1), &schema)?
            } else {
                SequenceOptions::default()
            };
            identity = Some(self.identity(&name, &column, kind, options));
        }
        let table = self.table_mut(&name).ok_or("no table")?;
        let col = table
            .columns
            .iter_mut()
            .find(|c| c.name == column)
            .ok_or_else(|| {
                format!(
                    "ALTER TABLE {name} names column {}, which the table does not have",
                    quote_ident(&column)
                )
            })?;
        if identity.is_some() {
            col.identity = identity;
        } else if p.eat_all(&["set", "default"]) {
            col.default = Some(p.rest().to_string());
        } else if p.eat_all(&["set", "not", "null"]) {
            col.not_null = true;
        }
        Ok(())
    }

    /// Moves a table out of the list while it is edited with `&mut self` methods.
    fn take_table(&mut self, name: &QualifiedName) -> Table {
        let i = self.tables[name].0;
        std::mem::replace(&mut self.db.tables[i], Table::new(name.clone()))
    }

    fn put_table(&mut self, table: Table) {
        let i = self.tables[&table.name].0;
        self.db.tables[i] = table;
    }

    fn select(&mut self, p: &mut P, text: &str) -> Result<(), String> {
        if p.eat("pg_catalog") {
            p.expect_punct('.')?;
        }
        let function = p.text_at(p.i).to_ascii_lowercase();
        match function.as_str() {
            "setval" => {
                p.i += 1;
                self.setval(p)
                    .map_err(|m| format!("cannot parse setval: {m}"))
            }
            "set_config" | "lo_open" | "lowrite" | "lo_close" | "lo_truncate" => Ok(()),
            "lo_create" => {
                let oid = p.text_at(p.i + 2).trim_matches('\'');
                let name = format!("large object {oid}");
                self.manual(ManualKind::Other, name, text, false);
                Ok(())
            }
            _ => {
                self.other(text);
                Ok(())
            }
        }
    }

    /// `setval('public.s', 200, true)`.
    fn setval(&mut self, p: &mut P) -> Result<(), String> {
        p.expect_punct('(')?;
        let t = p
            .tok(p.i)
            .filter(|t| t.kind == Kind::Str)
            .ok_or("expected the sequence name")?;
        let regclass = string_value(t.text(p.s), self.standard_strings)?;
        p.i += 1;
        let toks = tokenize(&regclass, true)?;
        let name = P::new(&regclass, &toks).qualified(&self.schema)?.sql();
        p.expect_punct(',')?;
        let value = p.integer()?;
        let is_called = if p.eat_punct(',') {
            if p.eat("true") {
                true
            } else if p.eat("false") {
                false
            } else {
                return Err(format!("expected true or false, found {}", p.found()));
            }
        } else {
            true
        };
        p.expect_punct(')')?;
        let seq = self.db.sequences.entry(name).or_insert(Sequence {
            last_value: value,
            is_called,
            increment: 1,
        });
        seq.last_value = value;
        seq.is_called = is_called;
        Ok(())
    }
}

fn first_word_is(text: &str, word: &str) -> bool {
    text.get(..word.len())
        .is_some_and(|w| w.eq_ignore_ascii_case(word))
}

fn plain_column(name: String, type_name: String) -> Column {
    Column {
        name,
        type_name,
        not_null: false,
        default: None,
        identity: None,
        generated: None,
    }
}

/// `CONSTRAINT name <definition>` inside CREATE TABLE or in ALTER TABLE ADD.
/// A `NOT NULL col` constraint (PostgreSQL 18) marks the column instead.
fn add_constraint(table: &mut Table, name: String, mut q: P) -> Result<(), String> {
    let definition = q.rest().to_string();
    if definition.is_empty() {
        return Err(format!(
            "constraint {} has no definition",
            quote_ident(&name)
        ));
    }
    if q.eat_all(&["not", "null"]) {
        let column = q.ident()?;
        let not_valid = (q.i..q.end).any(|k| q.word_at(k, "not") && q.word_at(k + 1, "valid"));
        if !not_valid {
            if let Some(c) = table.columns.iter_mut().find(|c| c.name == column) {
                c.not_null = true;
                return Ok(());
            }
        }
    }
    table.constraints.push(Constraint { name, definition });
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(statements: &[&str]) -> Result<Database, DumpError> {
        let mut b = Builder::new();
        for (i, s) in statements.iter().enumerate() {
            b.statement(s, i as u64 + 1)?;
        }
        Ok(b.finish())
    }

    fn q(name: &str) -> QualifiedName {
        QualifiedName::new("public", name)
    }

    #[test]
    fn column_and_table_constraints() {
        let db = build(&[
            "CREATE TABLE public.t (\n    id integer PRIMARY KEY,\n    u text COLLATE pg_catalog.\"C\" UNIQUE NOT NULL,\n    \
             r integer REFERENCES public.p(id) ON DELETE SET NULL ON UPDATE SET DEFAULT NOT NULL,\n    \
             c integer CONSTRAINT c_pos CHECK ((c > 0)) DEFAULT (1 + 2),\n    \
             d timestamp(3) with time zone DEFAULT CURRENT_TIMESTAMP NOT NULL,\n    \
             n boolean DEFAULT NULL::boolean,\n    \
             g bigint GENERATED BY DEFAULT AS IDENTITY (START WITH 5 INCREMENT BY 2),\n    \
             x numeric GENERATED ALWAYS AS ((c * 2)) STORED,\n    \
             CONSTRAINT t_x CHECK ((x IS NOT NULL)) NO INHERIT,\n    UNIQUE (c, d)\n)",
        ])
        .unwrap();
        let t = db.table(&q("t")).unwrap();
        let col = |n: &str| t.columns.iter().find(|c| c.name == n).unwrap();
        assert_eq!(col("u").type_name, "text");
        assert!(col("u").not_null);
        assert!(col("r").not_null);
        assert_eq!(col("c").default.as_deref(), Some("(1 + 2)"));
        assert_eq!(col("d").type_name, "timestamp(3) with time zone");
        assert_eq!(col("d").default.as_deref(), Some("CURRENT_TIMESTAMP"));
        assert_eq!(col("n").default.as_deref(), Some("NULL::boolean"));
        assert_eq!(
            col("g").identity,
            Some(Identity {
                kind: "BY DEFAULT".into(),
                sequence: Some("public.t_g_seq".into())
            })
        );
        assert_eq!(
            db.sequences["public.t_g_seq"],
            Sequence {
                last_value: 5,
                is_called: false,
                increment: 2
            }
        );
        assert_eq!(col("x").generated.as_deref(), Some("(c * 2)"));
        let cons: Vec<(&str, &str)> = t
            .constraints
            .iter()
            .map(|c| (c.name.as_str(), c.definition.as_str()))
            .collect();
        assert_eq!(
            cons,
            [
                ("t_pkey", "PRIMARY KEY (id)"),
                ("t_u_key", "UNIQUE (u)"),
                (
                    "t_r_fkey",
                    "FOREIGN KEY (r) REFERENCES public.p(id) ON DELETE SET NULL ON UPDATE SET DEFAULT"
                ),
                ("c_pos", "CHECK ((c > 0))"),
                ("t_x", "CHECK ((x IS NOT NULL)) NO INHERIT"),
                ("t_c_d_key", "UNIQUE (c, d)"),
            ]
        );
    }

    #[test]
    fn alter_table_forms() {
        let db = build(&[
            "CREATE TABLE public.p (id integer NOT NULL, at date NOT NULL) PARTITION BY RANGE (at)",
            "CREATE TABLE public.c1 (id integer NOT NULL, at date NOT NULL)",
            "CREATE TABLE public.c2 PARTITION OF public.p FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')",
            "CREATE UNLOGGED TABLE public.u (id integer)",
            "ALTER TABLE public.p OWNER TO postgres",
            "ALTER TABLE public.u ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (\n    SEQUENCE NAME public.u_seq\n    \
             START WITH 1\n    INCREMENT BY 1\n    NO MINVALUE\n    NO MAXVALUE\n    CACHE 1\n)",
            "ALTER TABLE ONLY public.c1 ALTER COLUMN id SET DEFAULT nextval('public.s'::regclass)",
            "ALTER TABLE ONLY public.p ATTACH PARTITION public.c1 FOR VALUES FROM ('2019-01-01') TO ('2020-01-01')",
            "ALTER TABLE ONLY public.p ADD CONSTRAINT p_pkey PRIMARY KEY (id, at)",
            "ALTER TABLE public.u ENABLE ROW LEVEL SECURITY",
            "ALTER TABLE ONLY public.u ALTER COLUMN id SET STATISTICS 100",
            "ALTER INDEX public.p_pkey ATTACH PARTITION public.c1_pkey",
            "SELECT pg_catalog.setval('public.u_seq', 42, true)",
            "SELECT pg_catalog.setval('public.other', 7, false)",
        ])
        .unwrap();
        let p = db.table(&q("p")).unwrap();
        assert_eq!(
            p.kind,
            TableKind::Partitioned {
                key: "RANGE (at)".into()
            }
        );
        assert_eq!(p.constraints[0].definition, "PRIMARY KEY (id, at)");
        let c1 = db.table(&q("c1")).unwrap();
        assert_eq!(
            c1.parent,
            Some((
                q("p"),
                "FOR VALUES FROM ('2019-01-01') TO ('2020-01-01')".into()
            ))
        );
        assert_eq!(
            c1.columns[0].default.as_deref(),
            Some("nextval('public.s'::regclass)")
        );
        let c2 = db.table(&q("c2")).unwrap();
        assert_eq!(c2.columns.len(), 2);
        assert_eq!(
            c2.parent.as_ref().unwrap().1,
            "FOR VALUES FROM ('2020-01-01') TO ('2021-01-01')"
        );
        let u = db.table(&q("u")).unwrap();
        assert_eq!(u.columns[0].identity.as_ref().unwrap().kind, "ALWAYS");
        assert_eq!(
            u.columns[0].identity.as_ref().unwrap().sequence.as_deref(),
            Some("public.u_seq")
        );
        assert_eq!(db.sequences["public.u_seq"].next_value(), 43);
        assert_eq!(db.sequences["public.other"].next_value(), 7);
        assert!(db.manual.is_empty(), "{:?}", db.manual);
    }

    #[test]
    fn types_domains_and_sequences() {
        let db = build(&[
            "CREATE TYPE public.mood AS ENUM (\n    'sad',\n    'it''s ok'\n)",
            "ALTER TYPE public.mood ADD VALUE 'happy' BEFORE 'it''s ok'",
            "CREATE TYPE public.pair AS (\n\ta integer,\n\t\"B\" text COLLATE pg_catalog.\"C\"\n)",
            "CREATE TYPE public.fr AS RANGE (\n    subtype = double precision,\n    subtype_diff = float8mi\n)",
            "CREATE TYPE public.base",
            "CREATE DOMAIN public.\"bıgınt\" AS bigint",
            "CREATE DOMAIN public.pos AS numeric(5,2) DEFAULT 1.0 NOT NULL\n\tCONSTRAINT pos_check CHECK ((VALUE > (0)::numeric))",
            "ALTER DOMAIN public.pos ADD CONSTRAINT pos_max CHECK ((VALUE < (100)::numeric)) NOT VALID",
            "CREATE SEQUENCE public.down\n    START WITH -1\n    INCREMENT BY -2\n    MINVALUE -100\n    MAXVALUE -1\n    CACHE 1",
            "CREATE SEQUENCE public.plain",
        ])
        .unwrap();
        assert_eq!(
            db.types["public.mood"],
            UserType::Enum(vec!["sad".into(), "happy".into(), "it's ok".into()])
        );
        assert_eq!(
            db.types["public.pair"],
            UserType::Composite(vec![
                ("a".into(), "integer".into()),
                ("B".into(), "text".into())
            ])
        );
        assert_eq!(
            db.types["public.fr"],
            UserType::Range {
                subtype: "double precision".into()
            }
        );
        assert_eq!(db.types["public.base"], UserType::Other);
        assert!(
            matches!(&db.types["public.\"bıgınt\""], UserType::Domain { base, .. } if base == "bigint")
        );
        assert_eq!(
            db.types["public.pos"],
            UserType::Domain {
                base: "numeric(5,2)".into(),
                not_null: true,
                default: Some("1.0".into()),
                checks: vec![
                    "CHECK ((VALUE > (0)::numeric))".into(),
                    "CHECK ((VALUE < (100)::numeric)) NOT VALID".into()
                ],
            }
        );
        assert_eq!(db.sequences["public.down"].next_value(), -1);
        assert_eq!(db.sequences["public.down"].increment, -2);
        assert_eq!(db.sequences["public.plain"].next_value(), 1);
    }

    #[test]
    fn manual_objects() {
        let db = build(&[
            "CREATE TABLE public.t (a integer)",
            "CREATE VIEW public.v AS\n SELECT NULL::integer AS a",
            "CREATE OR REPLACE VIEW public.v AS\n SELECT t.a FROM public.t",
            "CREATE MATERIALIZED VIEW public.mv AS\n SELECT 1 AS x\n  WITH NO DATA",
            "CREATE UNIQUE INDEX mv_x ON public.mv USING btree (x)",
            "CREATE INDEX t_a ON ONLY public.t USING btree (a)",
            "CREATE FUNCTION public.f(a integer, b text) RETURNS integer\n    LANGUAGE sql\n    AS $$select 1$$",
            "CREATE PROCEDURE public.\"Proc\"() LANGUAGE sql AS $$ $$",
            "CREATE AGGREGATE public.agg(text) (\n    SFUNC = public.f,\n    STYPE = text\n)",
            "CREATE TRIGGER trg AFTER UPDATE OF a ON public.t FOR EACH ROW EXECUTE FUNCTION public.f()",
            "CREATE CONSTRAINT TRIGGER ct AFTER INSERT ON public.t NOT DEFERRABLE INITIALLY IMMEDIATE FOR EACH ROW EXECUTE FUNCTION public.f()",
            "CREATE RULE r AS\n    ON UPDATE TO public.t DO INSTEAD NOTHING",
            "CREATE POLICY p ON public.t USING (true)",
            "CREATE EXTENSION IF NOT EXISTS pg_trgm WITH SCHEMA public",
            "CREATE EVENT TRIGGER et ON ddl_command_start\n   EXECUTE FUNCTION public.f()",
            "CREATE FOREIGN TABLE public.ft (\n    a integer\n)\nSERVER s",
            "ALTER FOREIGN TABLE public.ft OWNER TO postgres",
            "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw",
            "COMMENT ON TABLE public.t IS 'x'",
            "GRANT ALL ON TABLE public.t TO PUBLIC",
            "CREATE SCHEMA app",
            "ALTER SCHEMA app OWNER TO x",
            "ALTER FUNCTION public.f(a integer, b text) OWNER TO postgres",
            "ALTER SEQUENCE public.s OWNED BY public.t.a",
            "SELECT pg_catalog.set_config('search_path', '', false)",
            "REFRESH MATERIALIZED VIEW public.mv",
            "CREATE PUBLICATION pub FOR ALL TABLES",
            "SECURITY LABEL FOR x ON TABLE public.t IS 'y'",
            "ALTER DEFAULT PRIVILEGES FOR ROLE x GRANT ALL ON TABLES TO y",
            "ALTER TEXT SEARCH CONFIGURATION public.c\n    ADD MAPPING FOR word WITH simple",
            "ALTER TEXT SEARCH CONFIGURATION public.c\n    ADD MAPPING FOR int WITH simple",
        ])
        .unwrap();
        let names: Vec<(ManualKind, &str)> = db
            .manual
            .iter()
            .map(|m| (m.kind, m.name.as_str()))
            .collect();
        assert_eq!(
            names,
            [
                (ManualKind::View, "public.v"),
                (ManualKind::MaterializedView, "public.mv"),
                (ManualKind::Other, "mv_x ON public.mv"),
                (ManualKind::Function, "public.f"),
                (ManualKind::Procedure, "public.\"Proc\""),
                (ManualKind::Aggregate, "public.agg"),
                (ManualKind::Trigger, "trg ON public.t"),
                (ManualKind::Trigger, "ct ON public.t"),
                (ManualKind::Rule, "r ON public.t"),
                (ManualKind::Policy, "p ON public.t"),
                (ManualKind::Extension, "pg_trgm"),
                (ManualKind::EventTrigger, "et"),
                (ManualKind::ForeignTable, "public.ft"),
                (
                    ManualKind::Other,
                    "CREATE SERVER s FOREIGN DATA WRAPPER postgres_fdw"
                ),
                (
                    ManualKind::Other,
                    "ALTER TEXT SEARCH CONFIGURATION public.c ..."
                ),
            ]
        );
        assert!(db.manual[14].definition.ends_with(
            "WITH simple;\nALTER TEXT SEARCH CONFIGURATION public.c\n    ADD MAPPING FOR int WITH simple"
        ));
        assert!(db.manual[0].definition.contains("FROM public.t"));
        assert_eq!(
            db.table(&q("t")).unwrap().indexes[0].definition,
            "CREATE INDEX t_a ON ONLY public.t USING btree (a)"
        );
    }

    #[test]
    fn errors_name_the_line() {
        let err = build(&[
            "CREATE TABLE public.t (a integer)",
            "CREATE TABLE public.bad (a integer NOT BOGUS)",
        ])
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("CREATE TABLE public.bad"), "{err}");
        assert!(err.message.contains("unexpected `NOT`"), "{err}");
        let err = build(&[
            "CREATE TABLE public.t (a integer)",
            "ALTER TABLE ONLY public.x ADD CONSTRAINT k PRIMARY KEY (a)",
        ])
        .unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("public.x"), "{err}");
        let err = build(&["CREATE TYPE public.e AS ENUM ('a'"]).unwrap_err();
        assert!(
            err.message
                .starts_with("cannot parse `CREATE TYPE public.e"),
            "{err}"
        );
        let err = build(&[
            "CREATE TABLE public.t (a integer)",
            "CREATE TABLE public.t (a integer)",
        ])
        .unwrap_err();
        assert!(
            err.message.contains("created twice (first at line 1)"),
            "{err}"
        );
        let err = build(&[
            "CREATE TABLE public.t (a integer)",
            "ALTER TABLE ONLY public.t ALTER COLUMN z SET DEFAULT 1",
        ])
        .unwrap_err();
        assert!(err.message.contains("column z"), "{err}");
    }

    #[test]
    fn old_dumps_with_search_path() {
        let mut b = Builder::new();
        b.schema = "app".into();
        b.statement("CREATE TABLE t (a integer)", 1).unwrap();
        b.statement(
            "ALTER TABLE ONLY t ADD CONSTRAINT t_pkey PRIMARY KEY (a)",
            2,
        )
        .unwrap();
        let db = b.finish();
        let t = db.table(&QualifiedName::new("app", "t")).unwrap();
        assert_eq!(t.constraints.len(), 1);
    }

    #[test]
    fn not_null_constraints() {
        let db = build(&[
            "CREATE TABLE public.t (a integer CONSTRAINT a_nn NOT NULL, b integer, c integer, CONSTRAINT b_nn NOT NULL b)",
            "ALTER TABLE public.t ADD CONSTRAINT c_nn NOT NULL c NOT VALID",
        ])
        .unwrap();
        let t = db.table(&q("t")).unwrap();
        assert!(t.columns[0].not_null && t.columns[1].not_null && !t.columns[2].not_null);
        assert_eq!(t.constraints.len(), 1);
        assert_eq!(t.constraints[0].definition, "NOT NULL c NOT VALID");
    }
}
