//! Lightning DDL: render a schema as `CREATE TABLE` / `CREATE INDEX` statements and
//! parse them back. Rendering then parsing gives the same schema.

use std::fmt::Write;

use crate::schema::{
    CheckConstraint, ColumnSchema, ForeignKey, IndexKind, IndexSchema, TableSchema,
    UniqueConstraint,
};
use crate::types::LightningType;

const KEYWORDS: &[&str] = &[
    "ACTION",
    "AUTOINCREMENT",
    "BY",
    "CASCADE",
    "CHECK",
    "CONSTRAINT",
    "CREATE",
    "DEFAULT",
    "DELETE",
    "FOREIGN",
    "INDEX",
    "KEY",
    "NO",
    "NOT",
    "NULL",
    "ON",
    "PRIMARY",
    "REFERENCES",
    "RESTRICT",
    "SET",
    "SOURCE",
    "START",
    "TABLE",
    "UNIQUE",
    "UPDATE",
    "USING",
];

/// Quote an identifier when it is not a plain lower-case name.
pub fn quote_ident(name: &str) -> String {
    let plain = !name.is_empty()
        && name
            .bytes()
            .next()
            .is_some_and(|b| b.is_ascii_lowercase() || b == b'_')
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
        && !KEYWORDS.iter().any(|k| k.eq_ignore_ascii_case(name));
    if plain {
        name.to_string()
    } else {
        format!("\"{}\"", name.replace('"', "\"\""))
    }
}

fn quote_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

fn ident_list(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn is_simple_expr(text: &str) -> bool {
    match tokenize(text) {
        Ok(toks) => match toks.as_slice() {
            [t] => !matches!(t.kind, Tok::Punct(_)),
            [a, b] => {
                matches!(a.kind, Tok::Punct('-'))
                    && matches!(b.kind, Tok::Number)
                    && a.end == b.start
            }
            _ => false,
        },
        Err(_) => false,
    }
}

/// Render one table (and its indexes) as Lightning DDL.
pub fn render_table(t: &TableSchema) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "CREATE TABLE {} (", quote_ident(&t.name));
    let mut lines: Vec<String> = Vec::new();
    let inline_pk = t.primary_key.len() == 1;
    for c in &t.columns {
        let mut line = format!("    {} {}", quote_ident(&c.name), c.ty);
        if !c.nullable {
            line.push_str(" NOT NULL");
        }
        if inline_pk && t.primary_key[0] == c.name {
            line.push_str(" PRIMARY KEY");
        }
        if c.autoincrement {
            line.push_str(" AUTOINCREMENT");
            if let Some(n) = c.autoincrement_next {
                let _ = write!(line, " START {n}");
            }
        }
        if let Some(d) = &c.default {
            if is_simple_expr(d) {
                let _ = write!(line, " DEFAULT {d}");
            } else {
                let _ = write!(line, " DEFAULT ({d})");
            }
        }
        if let Some(s) = &c.source_type {
            let _ = write!(line, " SOURCE {}", quote_str(s));
        }
        lines.push(line);
    }
    if t.primary_key.len() > 1 {
        lines.push(format!("    PRIMARY KEY ({})", ident_list(&t.primary_key)));
    }
    let constraint = |name: &Option<String>| match name {
        Some(n) => format!("CONSTRAINT {} ", quote_ident(n)),
        None => String::new(),
    };
    for u in &t.uniques {
        lines.push(format!(
            "    {}UNIQUE ({})",
            constraint(&u.name),
            ident_list(&u.columns)
        ));
    }
    for c in &t.checks {
        lines.push(format!(
            "    {}CHECK ({})",
            constraint(&c.name),
            c.expression
        ));
    }
    for fk in &t.foreign_keys {
        let mut line = format!(
            "    {}FOREIGN KEY ({}) REFERENCES {} ({})",
            constraint(&fk.name),
            ident_list(&fk.columns),
            quote_ident(&fk.ref_table),
            ident_list(&fk.ref_columns)
        );
        if let Some(a) = &fk.on_delete {
            let _ = write!(line, " ON DELETE {a}");
        }
        if let Some(a) = &fk.on_update {
            let _ = write!(line, " ON UPDATE {a}");
        }
        lines.push(line);
    }
    out.push_str(&lines.join(",\n"));
    out.push_str("\n);\n");
    for ix in &t.indexes {
        let _ = writeln!(
            out,
            "CREATE {}INDEX {} ON {} USING {} ({});",
            if ix.unique { "UNIQUE " } else { "" },
            quote_ident(&ix.name),
            quote_ident(&t.name),
            ix.kind.as_str(),
            ident_list(&ix.columns)
        );
    }
    out
}

/// Render several tables, separated by blank lines.
pub fn render_schema(tables: &[TableSchema]) -> String {
    tables
        .iter()
        .map(render_table)
        .collect::<Vec<_>>()
        .join("\n")
}

/// A DDL text that does not parse; `line` is 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DdlError {
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Quoted(String),
    Str(String),
    Number,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    start: usize,
    end: usize,
}

fn tokenize(src: &str) -> Result<Vec<Token>, DdlError> {
    let bytes = src.as_bytes();
    let mut toks = Vec::new();
    let mut i = 0;
    let err = |pos: usize, m: &str| DdlError {
        line: src[..pos].matches('\n').count() + 1,
        message: m.to_string(),
    };
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii_whitespace() {
            i += 1;
        } else if b == b'-' && bytes.get(i + 1) == Some(&b'-') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'*') {
            let end = src[i + 2..]
                .find("*/")
                .ok_or_else(|| err(i, "unterminated comment"))?;
            i = i + 2 + end + 2;
        } else if b == b'"' || b == b'\'' {
            let start = i;
            let mut s = String::new();
            i += 1;
            loop {
                let Some(rel) = src[i..].find(b as char) else {
                    return Err(err(start, "unterminated quoted text"));
                };
                s.push_str(&src[i..i + rel]);
                i += rel + 1;
                if bytes.get(i) == Some(&b) {
                    s.push(b as char);
                    i += 1;
                } else {
                    break;
                }
            }
            let kind = if b == b'"' {
                Tok::Quoted(s)
            } else {
                Tok::Str(s)
            };
            toks.push(Token {
                kind,
                start,
                end: i,
            });
        } else if b.is_ascii_digit()
            || (b == b'.' && bytes.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'.'
                    || ((bytes[i] == b'+' || bytes[i] == b'-')
                        && matches!(bytes[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            toks.push(Token {
                kind: Tok::Number,
                start,
                end: i,
            });
        } else if b.is_ascii_alphabetic() || b == b'_' || b >= 0x80 {
            let start = i;
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b'$'
                    || bytes[i] >= 0x80)
            {
                i += 1;
            }
            toks.push(Token {
                kind: Tok::Ident(src[start..i].to_string()),
                start,
                end: i,
            });
        } else {
            let c = src[i..].chars().next().unwrap_or('?');
            toks.push(Token {
                kind: Tok::Punct(c),
                start: i,
                end: i + c.len_utf8(),
            });
            i += c.len_utf8();
        }
    }
    Ok(toks)
}

struct Parser<'a> {
    src: &'a str,
    toks: Vec<Token>,
    pos: usize,
}

impl<'a> Parser<'a> {
    fn line_at(&self, pos: usize) -> usize {
        let off = self
            .toks
            .get(pos)
            .map(|t| t.start)
            .unwrap_or(self.src.len());
        self.src[..off].matches('\n').count() + 1
    }

    fn err<T>(&self, m: impl Into<String>) -> Result<T, DdlError> {
        Err(DdlError {
            line: self.line_at(self.pos),
            message: m.into(),
        })
    }

    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos).map(|t| &t.kind)
    }

    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }

    fn eat_kw(&mut self, kw: &str) -> bool {
        if self.peek_kw(kw) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_kw(&mut self, kw: &str) -> Result<(), DdlError> {
        if self.eat_kw(kw) {
            Ok(())
        } else {
            self.err(format!("expected {kw}, found {}", self.describe()))
        }
    }

    fn eat_punct(&mut self, c: char) -> bool {
        if self.peek() == Some(&Tok::Punct(c)) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn expect_punct(&mut self, c: char) -> Result<(), DdlError> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            self.err(format!("expected `{c}`, found {}", self.describe()))
        }
    }

    fn describe(&self) -> String {
        match self.toks.get(self.pos) {
            Some(t) => format!("`{}`", &self.src[t.start..t.end]),
            None => "end of input".into(),
        }
    }

    fn ident(&mut self) -> Result<String, DdlError> {
        match self.peek().cloned() {
            Some(Tok::Ident(s)) | Some(Tok::Quoted(s)) => {
                self.pos += 1;
                Ok(s)
            }
            _ => self.err(format!("expected a name, found {}", self.describe())),
        }
    }

    fn ident_list(&mut self) -> Result<Vec<String>, DdlError> {
        self.expect_punct('(')?;
        let mut out = vec![self.ident()?];
        while self.eat_punct(',') {
            out.push(self.ident()?);
        }
        self.expect_punct(')')?;
        Ok(out)
    }

    /// The raw text inside a balanced pair of parentheses (the `(` is next).
    fn paren_text(&mut self) -> Result<String, DdlError> {
        self.expect_punct('(')?;
        let start_tok = self.pos;
        let mut depth = 1;
        while let Some(t) = self.peek() {
            match t {
                Tok::Punct('(') => depth += 1,
                Tok::Punct(')') => {
                    depth -= 1;
                    if depth == 0 {
                        break;
                    }
                }
                _ => {}
            }
            self.pos += 1;
        }
        if depth != 0 {
            return self.err("unbalanced parentheses");
        }
        let text = if self.pos == start_tok {
            String::new()
        } else {
            self.src[self.toks[start_tok].start..self.toks[self.pos - 1].end].to_string()
        };
        self.pos += 1;
        Ok(text)
    }

    fn lightning_type(&mut self) -> Result<LightningType, DdlError> {
        let name = self.ident()?;
        let mut text = name.clone();
        if self.peek() == Some(&Tok::Punct('(')) {
            text.push('(');
            text.push_str(&self.paren_text()?);
            text.push(')');
        }
        match text.parse() {
            Ok(t) => Ok(t),
            Err(e) => {
                self.pos -= 1;
                self.err(e.to_string())
            }
        }
    }

    /// An optionally negative integer literal.
    fn integer(&mut self) -> Result<i64, DdlError> {
        let neg = self.eat_punct('-');
        let Some(t) = self.toks.get(self.pos).cloned() else {
            return self.err("expected an integer");
        };
        let text = &self.src[t.start..t.end];
        let parsed = if neg {
            format!("-{text}").parse()
        } else {
            text.parse()
        };
        match (t.kind, parsed) {
            (Tok::Number, Ok(n)) => {
                self.pos += 1;
                Ok(n)
            }
            _ => self.err("expected an integer"),
        }
    }

    fn default_expr(&mut self) -> Result<String, DdlError> {
        if self.peek() == Some(&Tok::Punct('(')) {
            return self.paren_text();
        }
        let Some(t) = self.toks.get(self.pos).cloned() else {
            return self.err("expected a default value");
        };
        if t.kind == Tok::Punct('-') {
            if let Some(n) = self.toks.get(self.pos + 1).cloned() {
                if n.kind == Tok::Number {
                    self.pos += 2;
                    return Ok(self.src[t.start..n.end].to_string());
                }
            }
        }
        if matches!(t.kind, Tok::Punct(_)) {
            return self.err(format!(
                "expected a default value, found {}",
                self.describe()
            ));
        }
        self.pos += 1;
        Ok(self.src[t.start..t.end].to_string())
    }

    fn fk_actions(&mut self, fk: &mut ForeignKey) -> Result<(), DdlError> {
        while self.eat_kw("ON") {
            let is_delete = if self.eat_kw("DELETE") {
                true
            } else if self.eat_kw("UPDATE") {
                false
            } else {
                return self.err("expected DELETE or UPDATE after ON");
            };
            let action = if self.eat_kw("CASCADE") {
                "CASCADE".to_string()
            } else if self.eat_kw("RESTRICT") {
                "RESTRICT".to_string()
            } else if self.eat_kw("SET") {
                if self.eat_kw("NULL") {
                    "SET NULL".into()
                } else {
                    self.expect_kw("DEFAULT")?;
                    "SET DEFAULT".into()
                }
            } else if self.eat_kw("NO") {
                self.expect_kw("ACTION")?;
                "NO ACTION".into()
            } else {
                return self.err("expected a referential action");
            };
            if is_delete {
                fk.on_delete = Some(action);
            } else {
                fk.on_update = Some(action);
            }
        }
        Ok(())
    }

    fn create_table(&mut self) -> Result<TableSchema, DdlError> {
        let mut t = TableSchema::new(self.ident()?);
        self.expect_punct('(')?;
        loop {
            let name = if self.eat_kw("CONSTRAINT") {
                Some(self.ident()?)
            } else {
                None
            };
            if self.eat_kw("PRIMARY") {
                self.expect_kw("KEY")?;
                t.primary_key = self.ident_list()?;
            } else if self.eat_kw("UNIQUE") {
                t.uniques.push(UniqueConstraint {
                    name,
                    columns: self.ident_list()?,
                });
            } else if self.eat_kw("CHECK") {
                t.checks.push(CheckConstraint {
                    name,
                    expression: self.paren_text()?,
                });
            } else if self.eat_kw("FOREIGN") {
                self.expect_kw("KEY")?;
                let columns = self.ident_list()?;
                self.expect_kw("REFERENCES")?;
                let ref_table = self.ident()?;
                let ref_columns = self.ident_list()?;
                let mut fk = ForeignKey {
                    name,
                    columns,
                    ref_table,
                    ref_columns,
                    on_delete: None,
                    on_update: None,
                };
                self.fk_actions(&mut fk)?;
                t.foreign_keys.push(fk);
            } else if name.is_some() {
                return self.err(
                    "expected PRIMARY KEY, UNIQUE, CHECK or FOREIGN KEY after CONSTRAINT name",
                );
            } else {
                self.column(&mut t)?;
            }
            if self.eat_punct(')') {
                break;
            }
            self.expect_punct(',')?;
        }
        self.expect_punct(';')?;
        if let Err(e) = t.validate() {
            return self.err(e);
        }
        Ok(t)
    }

    fn column(&mut self, t: &mut TableSchema) -> Result<(), DdlError> {
        let name = self.ident()?;
        let ty = self.lightning_type()?;
        let mut c = ColumnSchema::new(name, ty);
        loop {
            if self.eat_kw("NOT") {
                self.expect_kw("NULL")?;
                c.nullable = false;
            } else if self.eat_kw("NULL") {
                c.nullable = true;
            } else if self.eat_kw("PRIMARY") {
                self.expect_kw("KEY")?;
                t.primary_key = vec![c.name.clone()];
            } else if self.eat_kw("AUTOINCREMENT") {
                c.autoincrement = true;
                if self.eat_kw("START") {
                    c.autoincrement_next = Some(self.integer()?);
                }
            } else if self.eat_kw("UNIQUE") {
                t.uniques.push(UniqueConstraint {
                    name: None,
                    columns: vec![c.name.clone()],
                });
            } else if self.eat_kw("DEFAULT") {
                c.default = Some(self.default_expr()?);
            } else if self.eat_kw("CHECK") {
                t.checks.push(CheckConstraint {
                    name: None,
                    expression: self.paren_text()?,
                });
            } else if self.eat_kw("REFERENCES") {
                let ref_table = self.ident()?;
                let ref_columns = self.ident_list()?;
                let mut fk = ForeignKey {
                    name: None,
                    columns: vec![c.name.clone()],
                    ref_table,
                    ref_columns,
                    on_delete: None,
                    on_update: None,
                };
                self.fk_actions(&mut fk)?;
                t.foreign_keys.push(fk);
            } else if self.eat_kw("SOURCE") {
                match self.peek().cloned() {
                    Some(Tok::Str(s)) => {
                        self.pos += 1;
                        c.source_type = Some(s);
                    }
                    _ => return self.err("expected a quoted source type after SOURCE"),
                }
            } else {
                break;
            }
        }
        if t.column(&c.name).is_some() {
            return self.err(format!("column `{}` is defined twice", c.name));
        }
        t.columns.push(c);
        Ok(())
    }

    fn create_index(&mut self, unique: bool, tables: &mut [TableSchema]) -> Result<(), DdlError> {
        let name = self.ident()?;
        self.expect_kw("ON")?;
        let table = self.ident()?;
        let mut kind = IndexKind::BTree;
        if self.eat_kw("USING") {
            kind = if self.eat_kw("BTREE") {
                IndexKind::BTree
            } else if self.eat_kw("HASH") {
                IndexKind::Hash
            } else if self.eat_kw("FULLTEXT") {
                IndexKind::FullText
            } else {
                return self.err("expected BTREE, HASH or FULLTEXT after USING");
            };
        }
        let columns = self.ident_list()?;
        self.expect_punct(';')?;
        let Some(t) = tables.iter_mut().find(|t| t.name == table) else {
            return self.err(format!("CREATE INDEX on unknown table `{table}`"));
        };
        for c in &columns {
            if t.column(c).is_none() {
                return self.err(format!(
                    "index `{name}`: `{c}` is not a column of `{table}`"
                ));
            }
        }
        t.indexes.push(IndexSchema {
            name,
            columns,
            unique,
            kind,
        });
        Ok(())
    }
}

/// Parse Lightning DDL into table schemas, in the order they are created.
pub fn parse_schema(src: &str) -> Result<Vec<TableSchema>, DdlError> {
    let toks = tokenize(src)?;
    let mut p = Parser { src, toks, pos: 0 };
    let mut tables: Vec<TableSchema> = Vec::new();
    while p.peek().is_some() {
        if p.eat_punct(';') {
            continue;
        }
        p.expect_kw("CREATE")?;
        if p.eat_kw("TABLE") {
            let line = p.line_at(p.pos);
            let t = p.create_table()?;
            if tables.iter().any(|x| x.name == t.name) {
                return Err(DdlError {
                    line,
                    message: format!("table `{}` is created twice", t.name),
                });
            }
            tables.push(t);
        } else {
            let unique = p.eat_kw("UNIQUE");
            p.expect_kw("INDEX")?;
            p.create_index(unique, &mut tables)?;
        }
    }
    Ok(tables)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn arb_ident() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_][a-z0-9_]{0,8}",
            "[A-Za-z][A-Za-z0-9 \"'é]{0,8}",
            Just("select".to_string()),
            Just("naïve café".to_string()),
        ]
    }

    fn arb_type() -> impl Strategy<Value = LightningType> {
        prop_oneof![
            proptest::sample::select(LightningType::ALL.to_vec()),
            (1u32..40)
                .prop_flat_map(|p| (Just(p), 0..=p))
                .prop_map(|(p, s)| LightningType::Decimal(Some((p, s)))),
        ]
    }

    fn arb_expr() -> impl Strategy<Value = String> {
        proptest::sample::select(vec![
            "0".to_string(),
            "-1.5".into(),
            "'it''s'".into(),
            "CURRENT_TIMESTAMP".into(),
            "NULL".into(),
            "lower('X')".into(),
            "(1 + 2)".into(),
            "price > 0 AND price < 100".into(),
            "\"odd name\" IN ('a', 'b)')".into(),
        ])
    }

    fn arb_table() -> impl Strategy<Value = TableSchema> {
        (
            arb_ident(),
            proptest::collection::vec(
                (
                    arb_type(),
                    any::<bool>(),
                    proptest::option::of(arb_expr()),
                    any::<bool>(),
                    proptest::option::of("[a-z]{1,6}(\\(1[0-9]\\))?"),
                ),
                1..6,
            ),
            0usize..3,
            proptest::collection::vec(arb_expr(), 0..2),
            any::<bool>(),
            any::<bool>(),
        )
            .prop_map(|(name, cols, pk_len, checks, with_unique, with_index)| {
                let mut t = TableSchema::new(name);
                for (i, (ty, nullable, default, autoinc, source)) in cols.into_iter().enumerate() {
                    t.columns.push(ColumnSchema {
                        name: format!("c{i}"),
                        ty,
                        nullable,
                        default,
                        autoincrement: autoinc && ty.is_integer(),
                        autoincrement_next: (autoinc && ty.is_integer() && i % 2 == 0)
                            .then_some(i as i64 * 1000 - 1),
                        source_type: source,
                    });
                }
                let n = t.columns.len();
                t.primary_key = t
                    .columns
                    .iter()
                    .take(pk_len.min(n))
                    .map(|c| c.name.clone())
                    .collect();
                t.checks = checks
                    .into_iter()
                    .enumerate()
                    .map(|(i, e)| CheckConstraint {
                        name: (i == 0).then(|| "Chk One".to_string()),
                        expression: e,
                    })
                    .collect();
                if with_unique {
                    t.uniques.push(UniqueConstraint {
                        name: None,
                        columns: vec![t.columns[n - 1].name.clone()],
                    });
                }
                if with_index {
                    t.indexes.push(IndexSchema {
                        name: "ix \"q\"".into(),
                        columns: vec![t.columns[0].name.clone()],
                        unique: n > 1,
                        kind: IndexKind::Hash,
                    });
                    t.foreign_keys.push(ForeignKey {
                        name: None,
                        columns: vec![t.columns[0].name.clone()],
                        ref_table: "Parent".into(),
                        ref_columns: vec!["id".into()],
                        on_delete: Some("SET NULL".into()),
                        on_update: None,
                    });
                }
                t
            })
    }

    proptest! {
        #[test]
        fn render_then_parse_is_identity(t in arb_table()) {
            let ddl = render_table(&t);
            let parsed = parse_schema(&ddl).map_err(|e| TestCaseError::fail(format!("{e}\n{ddl}")))?;
            prop_assert_eq!(parsed, vec![t]);
        }
    }

    #[test]
    fn parses_hand_written_ddl() {
        let src = "-- users\nCREATE TABLE users (\n  id BIGINT NOT NULL PRIMARY KEY AUTOINCREMENT,\n  email TEXT NOT NULL UNIQUE,\n  balance DECIMAL(12, 2) DEFAULT 0,\n  org_id INTEGER REFERENCES orgs (id) ON DELETE CASCADE\n);\nCREATE INDEX users_email ON users (email);\n";
        let t = &parse_schema(src).unwrap()[0];
        assert_eq!(t.primary_key, vec!["id"]);
        assert!(t.columns[0].autoincrement);
        assert_eq!(t.uniques[0].columns, vec!["email"]);
        assert_eq!(t.foreign_keys[0].on_delete.as_deref(), Some("CASCADE"));
        assert_eq!(t.indexes[0].kind, IndexKind::BTree);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_schema("CREATE TABLE t (\n  a INTEGER,\n  b VARCHAR(3)\n);").unwrap_err();
        assert_eq!(e.line, 3);
        assert!(e.message.contains("unknown Lightning type"), "{e}");
        let e = parse_schema("CREATE TABLE t (a INTEGER").unwrap_err();
        assert!(e.message.contains("end of input"), "{e}");
    }
}
