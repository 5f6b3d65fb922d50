//! `export --format sql --schema`: the tables' CREATE statements in the script's
//! dialect, so that the script recreates them in an empty database.
//!
//! When the store came from a database of the same kind, a column keeps the type
//! its source declared, and checks and defaults are written as the source wrote
//! them: reading the new database back then gives the store's schema again (what
//! `verify` compares). Otherwise a column gets the dialect's type for its
//! Lightning type, and a check or default written in another database's SQL is
//! left out and reported, never guessed at.

use std::collections::BTreeSet;
use std::fmt::Write as _;

use lightning_core::schema::{CheckConstraint, ColumnSchema, IndexKind, TableSchema};
use lightning_core::types::LightningType as T;
use lightning_core::Store;

use super::{ident, mysql, quote_ident, table_in, Dialect};

/// A script's schema part.
#[derive(Default)]
pub struct SchemaScript {
    /// Schemas, types and tables: before the rows.
    pub create: String,
    /// PostgreSQL's indexes and foreign keys: after the rows, as pg_dump does.
    pub after: String,
    /// What is not written as the store has it, one line each.
    pub notes: Vec<String>,
}

/// The kind of database the store's tables came from, when every source run was
/// of one kind.
pub fn origin(store: &Store) -> anyhow::Result<Option<Dialect>> {
    let mut found = Vec::new();
    for run in store.runs()? {
        let d = match run.tool.as_str() {
            "pg2lightning" => Dialect::Postgres,
            "mysql2lightning" => Dialect::Mysql,
            "sqlite2lightning" => Dialect::Sqlite,
            _ => continue,
        };
        if !found.contains(&d) {
            found.push(d);
        }
    }
    Ok(if found.len() == 1 { found.pop() } else { None })
}

pub fn schema_script(
    tables: &[TableSchema],
    dialect: Dialect,
    origin: Option<Dialect>,
) -> anyhow::Result<SchemaScript> {
    let mut s = Writer {
        dialect,
        same: origin == Some(dialect),
        exported: tables.iter().map(|t| t.name.clone()).collect(),
        index_names: BTreeSet::new(),
        script: SchemaScript::default(),
    };
    if dialect == Dialect::Postgres {
        s.pg_prelude(tables);
    }
    for t in tables {
        s.table(t)?;
    }
    Ok(s.script)
}

struct Writer {
    dialect: Dialect,
    /// The store came from this kind of database: source types, checks and
    /// defaults are written as they are.
    same: bool,
    exported: BTreeSet<String>,
    /// PostgreSQL and SQLite name indexes per database, not per table.
    index_names: BTreeSet<String>,
    script: SchemaScript,
}

/// What a PostgreSQL column's non-built-in type was: an enum (its labels) or a
/// domain (its checks, written over VALUE).
enum UserType {
    Enum(String),
    Domain(Vec<String>),
}

impl Writer {
    fn note(&mut self, table: &str, column: Option<&str>, what: String) {
        let at = match column {
            Some(c) => format!("{table}.{c}"),
            None => table.to_string(),
        };
        self.script.notes.push(format!("{at}: {what}"));
    }

    fn q(&self, name: &str) -> String {
        ident(name, self.dialect)
    }

    fn list(&self, cols: &[String]) -> String {
        cols.iter()
            .map(|c| self.q(c))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// PostgreSQL: the schemas of tables outside `public`, and the enums and
    /// domains the store's columns came from (each once).
    fn pg_prelude(&mut self, tables: &[TableSchema]) {
        let mut schemas = BTreeSet::new();
        for t in tables {
            if let Some((schema, _)) = t.name.split_once('.') {
                schemas.insert(schema.to_string());
            }
        }
        let mut type_schemas = BTreeSet::new();
        if self.same {
            // An enum or domain named `schema.type` (format_type's text, quoted
            // as PostgreSQL quotes it) outside `public`.
            for c in tables.iter().flat_map(|t| &t.columns) {
                let Some(src) = c.source_type.as_deref().filter(|s| !pg_builtin(s)) else {
                    continue;
                };
                if let Some((schema, _)) = src.split_once('.').filter(|(s, _)| *s != "public") {
                    type_schemas.insert(schema.to_string());
                }
            }
        }
        for schema in &schemas {
            let _ = writeln!(
                self.script.create,
                "CREATE SCHEMA IF NOT EXISTS {};",
                quote_ident(schema)
            );
        }
        for schema in type_schemas
            .iter()
            .filter(|s| !schemas.contains(&unquote(s)))
        {
            let _ = writeln!(self.script.create, "CREATE SCHEMA IF NOT EXISTS {schema};");
        }
        if !self.same {
            return;
        }
        let mut made = BTreeSet::new();
        for t in tables {
            for c in &t.columns {
                let Some(src) = c.source_type.as_deref() else {
                    continue;
                };
                if pg_builtin(src) || !made.insert(src.to_string()) {
                    continue;
                }
                let base = generic_type(c, Dialect::Postgres, false).0;
                match user_type(t, c) {
                    Some(UserType::Enum(labels)) => {
                        let _ =
                            writeln!(self.script.create, "CREATE TYPE {src} AS ENUM ({labels});");
                    }
                    Some(UserType::Domain(checks)) => {
                        let mut line = format!("CREATE DOMAIN {src} AS {base}");
                        for chk in checks {
                            let _ = write!(line, " CHECK ({chk})");
                        }
                        let _ = writeln!(self.script.create, "{line};");
                    }
                    None => {}
                }
            }
        }
    }

    fn table(&mut self, t: &TableSchema) -> anyhow::Result<()> {
        let d = self.dialect;
        let keyed: BTreeSet<&str> = t
            .primary_key
            .iter()
            .chain(t.indexes.iter().flat_map(|i| &i.columns))
            .chain(t.uniques.iter().flat_map(|u| &u.columns))
            .chain(t.foreign_keys.iter().flat_map(|f| &f.columns))
            .map(String::as_str)
            .collect();
        // Checks a column's own type carries (an enum's labels, a domain's checks)
        // go with the type, not the table.
        let mut by_type = BTreeSet::new();
        let mut lines = Vec::new();
        let mut inline_pk = false;
        let sqlite_rowid_key = d == Dialect::Sqlite
            && t.primary_key.len() == 1
            && t.column(&t.primary_key[0]).is_some_and(|c| {
                c.ty.is_integer()
                    && self
                        .declared(t, c, &keyed)
                        .0
                        .eq_ignore_ascii_case("INTEGER")
            });
        for c in &t.columns {
            let mut line = format!("  {}", self.q(&c.name));
            let (ty, why) = self.declared(t, c, &keyed);
            if let Some(why) = why {
                self.note(&t.name, Some(&c.name), why);
            }
            if !ty.is_empty() {
                let _ = write!(line, " {ty}");
            }
            if self.same {
                let src = c.source_type.as_deref().unwrap_or("");
                let own = match d {
                    Dialect::Postgres if !pg_builtin(src) && !src.is_empty() => t
                        .checks
                        .iter()
                        .filter(|k| k.name.is_none() && mentions(&k.expression, &c.name))
                        .collect(),
                    Dialect::Mysql if src.starts_with("enum(") => t
                        .checks
                        .iter()
                        .filter(|k| k.name.is_none() && in_list(&k.expression, &c.name).is_some())
                        .collect(),
                    _ => Vec::new(),
                };
                for k in own {
                    by_type.insert(k.expression.clone());
                }
            }
            if !c.nullable {
                line.push_str(" NOT NULL");
            } else if d == Dialect::Mysql {
                // Else a TIMESTAMP column may be made NOT NULL with a default.
                line.push_str(" NULL");
            }
            if let Some(def) = &c.default {
                match self.default_sql(def) {
                    Some(sql) => {
                        let _ = write!(line, " DEFAULT {sql}");
                    }
                    None => self.note(
                        &t.name,
                        Some(&c.name),
                        format!("the default `{def}` is in another database's SQL: not written"),
                    ),
                }
            }
            if c.autoincrement {
                match d {
                    Dialect::Postgres if c.ty.is_integer() => {
                        line.push_str(" GENERATED BY DEFAULT AS IDENTITY");
                        let next = c.autoincrement_next.unwrap_or(1);
                        if next != 1 {
                            let _ = write!(line, " (START WITH {next})");
                        }
                        // After the rows, the identity goes on after the largest.
                        let col = quote_ident(&c.name);
                        let _ = writeln!(
                            self.script.after,
                            "SELECT setval(pg_get_serial_sequence({}, {}), max({col})) FROM {} HAVING max({col}) >= {next};",
                            super::literal(Some(table_in(&t.name, d))),
                            super::literal(Some(c.name.clone())),
                            table_in(&t.name, d),
                        );
                    }
                    Dialect::Mysql if c.ty.is_integer() => line.push_str(" AUTO_INCREMENT"),
                    Dialect::Sqlite if sqlite_rowid_key => {
                        line.push_str(" PRIMARY KEY AUTOINCREMENT");
                        inline_pk = true;
                    }
                    _ => self.note(
                        &t.name,
                        Some(&c.name),
                        "AUTOINCREMENT has no equal for this column here: not written".into(),
                    ),
                }
            }
            lines.push(line);
        }
        if !t.primary_key.is_empty() && !inline_pk {
            lines.push(format!("  PRIMARY KEY ({})", self.list(&t.primary_key)));
        }
        for u in &t.uniques {
            let name = match (&u.name, d) {
                (Some(n), Dialect::Postgres | Dialect::Mysql) => {
                    format!("CONSTRAINT {} ", self.q(n))
                }
                _ => String::new(),
            };
            lines.push(format!("  {name}UNIQUE ({})", self.list(&u.columns)));
        }
        if d == Dialect::Mysql {
            for ix in &t.indexes {
                lines.push(format!(
                    "  {}",
                    self.mysql_index(t, ix.unique, ix.kind, &ix.name, &ix.columns)
                ));
            }
        }
        let checks: Vec<&CheckConstraint> = t
            .checks
            .iter()
            .filter(|k| !by_type.contains(&k.expression))
            .collect();
        if !self.same && !checks.is_empty() {
            for k in &checks {
                self.note(
                    &t.name,
                    None,
                    format!(
                        "CHECK ({}) is in another database's SQL: not written",
                        k.expression
                    ),
                );
            }
        } else {
            for k in checks {
                match (&k.name, d) {
                    (Some(n), _) => lines.push(format!(
                        "  CONSTRAINT {} CHECK ({})",
                        self.q(n),
                        k.expression
                    )),
                    // MariaDB names an unnamed check after its column: put it there.
                    (None, Dialect::Mysql) => match t
                        .columns
                        .iter()
                        .position(|c| k.expression.contains(&mysql::quote_ident(&c.name)))
                    {
                        Some(i) => {
                            let _ = write!(lines[i], " CHECK ({})", k.expression);
                        }
                        None => lines.push(format!("  CHECK ({})", k.expression)),
                    },
                    (None, _) => lines.push(format!("  CHECK ({})", k.expression)),
                }
            }
        }
        let mut fks = Vec::new();
        for fk in &t.foreign_keys {
            if !self.exported.contains(&fk.ref_table) {
                self.note(
                    &t.name,
                    None,
                    format!(
                        "the foreign key to `{}` is not written: that table is not in the export",
                        fk.ref_table
                    ),
                );
                continue;
            }
            let mut s = String::new();
            if let Some(n) = &fk.name {
                let _ = write!(s, "CONSTRAINT {} ", self.q(n));
            }
            let _ = write!(
                s,
                "FOREIGN KEY ({}) REFERENCES {} ({})",
                self.list(&fk.columns),
                table_in(&fk.ref_table, d),
                self.list(&fk.ref_columns)
            );
            if let Some(a) = &fk.on_delete {
                let _ = write!(s, " ON DELETE {a}");
            }
            if let Some(a) = &fk.on_update {
                let _ = write!(s, " ON UPDATE {a}");
            }
            fks.push(s);
        }
        let name = table_in(&t.name, d);
        if d == Dialect::Postgres {
            for fk in fks {
                let _ = writeln!(self.script.after, "ALTER TABLE {name} ADD {fk};");
            }
        } else {
            lines.extend(fks.into_iter().map(|f| format!("  {f}")));
        }
        let options = match d {
            Dialect::Mysql => {
                let next = t
                    .columns
                    .iter()
                    .find(|c| c.autoincrement)
                    .and_then(|c| c.autoincrement_next);
                let auto = next.map_or(String::new(), |n| format!(" AUTO_INCREMENT={n}"));
                format!(" DEFAULT CHARSET=utf8mb4{auto}")
            }
            _ => String::new(),
        };
        let _ = writeln!(
            self.script.create,
            "CREATE TABLE {name} (\n{}\n){options};",
            lines.join(",\n")
        );
        if d != Dialect::Mysql {
            for ix in &t.indexes {
                let ix_name = self.index_name(&t.name, &ix.name);
                let (using, target) = match (d, ix.kind) {
                    (Dialect::Postgres, IndexKind::Hash) => (" USING hash", &mut self.script.after),
                    (Dialect::Postgres, IndexKind::FullText) => {
                        let tsvector = ix.columns.iter().all(|c| {
                            t.column(c).and_then(|c| c.source_type.as_deref()) == Some("tsvector")
                        });
                        if !tsvector {
                            self.note(&t.name, None, format!("full-text index `{}`: PostgreSQL indexes a tsvector; not written", ix.name));
                            continue;
                        }
                        (" USING gin", &mut self.script.after)
                    }
                    (Dialect::Postgres, IndexKind::BTree) => {
                        (" USING btree", &mut self.script.after)
                    }
                    _ => ("", &mut self.script.create),
                };
                let _ = writeln!(
                    target,
                    "CREATE {}INDEX {} ON {name}{using} ({});",
                    if ix.unique { "UNIQUE " } else { "" },
                    quote_ident(&ix_name),
                    ix.columns
                        .iter()
                        .map(|c| ident(c, d))
                        .collect::<Vec<_>>()
                        .join(", ")
                );
                if d == Dialect::Sqlite && ix.kind != IndexKind::BTree {
                    self.note(
                        &t.name,
                        None,
                        format!("index `{}` is a plain index in SQLite", ix.name),
                    );
                }
            }
        }
        Ok(())
    }

    /// The column's declared type in the dialect, and why it is not the source's.
    fn declared(
        &self,
        t: &TableSchema,
        c: &ColumnSchema,
        keyed: &BTreeSet<&str>,
    ) -> (String, Option<String>) {
        let src = c.source_type.as_deref().unwrap_or("");
        if self.same && c.source_type.is_some() {
            match self.dialect {
                Dialect::Sqlite if src == "(none)" => return (String::new(), None),
                Dialect::Sqlite | Dialect::Mysql => return (src.to_string(), None),
                Dialect::Postgres if pg_builtin(src) || user_type(t, c).is_some() => {
                    return (src.to_string(), None)
                }
                Dialect::Postgres => {}
            }
        }
        let (ty, note) = generic_type(c, self.dialect, keyed.contains(c.name.as_str()));
        let note = note.or_else(|| {
            (self.same && !src.is_empty())
                .then(|| format!("type `{src}` is not built in: written as {ty}"))
        });
        (ty, note)
    }

    /// A default as the dialect writes one; `None` when it is another
    /// database's SQL.
    fn default_sql(&self, def: &str) -> Option<String> {
        let d = def.trim();
        if let (Dialect::Mysql, Some(text)) = (self.dialect, string_literal(d)) {
            // MySQL reads a backslash in a string as an escape.
            return Some(mysql::string(&text));
        }
        let plain = is_literal(d);
        if self.same {
            return Some(match self.dialect {
                Dialect::Postgres => d.to_string(),
                _ if plain || is_current(d).is_some() => d.to_string(),
                _ => format!("({d})"),
            });
        }
        if let Some(now) = is_current(d) {
            return Some(now.to_string());
        }
        plain.then(|| d.to_string())
    }

    fn index_name(&mut self, table: &str, name: &str) -> String {
        let mut n = name.to_string();
        if !self.index_names.insert(n.clone()) {
            n = format!("{}_{name}", table.replace('.', "_"));
            self.note(
                table,
                None,
                format!(
                    "index `{name}` is named `{n}`: the name is taken by another table's index"
                ),
            );
            self.index_names.insert(n.clone());
        }
        n
    }

    fn mysql_index(
        &mut self,
        t: &TableSchema,
        unique: bool,
        kind: IndexKind,
        name: &str,
        cols: &[String],
    ) -> String {
        let head = match (unique, kind) {
            (_, IndexKind::FullText) => "FULLTEXT KEY",
            (true, _) => "UNIQUE KEY",
            (false, _) => "KEY",
        };
        // MySQL indexes a TEXT or BLOB column by a prefix.
        let parts: Vec<String> = cols
            .iter()
            .map(|c| {
                let long = kind != IndexKind::FullText
                    && t.column(c).is_some_and(|col| {
                        let ty = if self.same {
                            col.source_type.clone().unwrap_or_default()
                        } else {
                            String::new()
                        };
                        ty.ends_with("text") || ty.ends_with("blob") || ty == "json"
                    });
                if long {
                    format!("{}(255)", self.q(c))
                } else {
                    self.q(c)
                }
            })
            .collect();
        let using = if kind == IndexKind::Hash {
            " USING HASH"
        } else {
            ""
        };
        format!("{head} {} ({}){using}", self.q(name), parts.join(", "))
    }
}

/// The dialect's type for a Lightning type, and a note when it is not the same.
/// `keyed`: the column is in a key or an index (MySQL cannot index LONGTEXT).
fn generic_type(c: &ColumnSchema, d: Dialect, keyed: bool) -> (String, Option<String>) {
    let plain = |s: &str| (s.to_string(), None);
    match d {
        Dialect::Postgres => match c.ty {
            T::Boolean => plain("boolean"),
            T::SmallInt => plain("smallint"),
            T::Integer => plain("integer"),
            T::BigInt => plain("bigint"),
            T::Float => plain("real"),
            T::Double => plain("double precision"),
            T::Decimal(Some((p, s))) => plain(&format!("numeric({p},{s})")),
            T::Decimal(None) => plain("numeric"),
            T::Text => plain("text"),
            T::Blob => plain("bytea"),
            T::Date => plain("date"),
            T::Time => plain("time"),
            T::Timestamp => plain("timestamp"),
            T::TimestampTz => plain("timestamptz"),
            // json keeps the text as it is; jsonb would reorder it.
            T::Json => plain("json"),
            T::Uuid => plain("uuid"),
        },
        Dialect::Mysql => match c.ty {
            T::Boolean => plain("tinyint(1)"),
            T::SmallInt => plain("smallint"),
            T::Integer => plain("int"),
            T::BigInt => plain("bigint"),
            T::Float => plain("float"),
            T::Double => plain("double"),
            T::Decimal(Some((p, s))) if p <= 65 && s <= 30 => plain(&format!("decimal({p},{s})")),
            T::Decimal(_) => (
                "decimal(65,30)".into(),
                Some(format!("{} is wider than MySQL's DECIMAL: written as decimal(65,30), which refuses a value with more digits", c.ty)),
            ),
            T::Text if keyed => (
                "varchar(255)".into(),
                Some("a keyed TEXT column: written as varchar(255), which refuses a longer value".into()),
            ),
            T::Text => plain("longtext"),
            T::Blob if keyed => (
                "varbinary(255)".into(),
                Some("a keyed BLOB column: written as varbinary(255), which refuses a longer value".into()),
            ),
            T::Blob => plain("longblob"),
            T::Date => plain("date"),
            T::Time => plain("time(6)"),
            T::Timestamp => plain("datetime(6)"),
            T::TimestampTz => (
                "datetime(6)".into(),
                Some("TIMESTAMPTZ written as datetime(6) holding UTC (MySQL's TIMESTAMP ends in 2038)".into()),
            ),
            T::Json => plain("json"),
            T::Uuid => ("char(36)".into(), Some("UUID written as char(36)".into())),
        },
        Dialect::Sqlite => match c.ty {
            T::Boolean => plain("BOOLEAN"),
            T::SmallInt => plain("SMALLINT"),
            T::Integer | T::BigInt => plain("INTEGER"),
            T::Float => plain("REAL"),
            T::Double => plain("DOUBLE"),
            T::Decimal(Some((p, s))) => plain(&format!("DECIMAL({p},{s})")),
            T::Decimal(None) => plain("DECIMAL"),
            T::Text => plain("TEXT"),
            T::Blob => plain("BLOB"),
            T::Date => plain("DATE"),
            T::Time => plain("TIME"),
            T::Timestamp => plain("DATETIME"),
            T::TimestampTz => plain("TIMESTAMPTZ"),
            T::Json => plain("JSON"),
            T::Uuid => plain("UUID"),
        },
    }
}

/// PostgreSQL's built-in types, by the names `format_type` gives them.
const PG_TYPES: &[&str] = &[
    "bigint",
    "bit",
    "bit varying",
    "boolean",
    "box",
    "bytea",
    "character",
    "character varying",
    "cidr",
    "circle",
    "date",
    "daterange",
    "double precision",
    "inet",
    "int4range",
    "int8range",
    "integer",
    "interval",
    "json",
    "jsonb",
    "line",
    "lseg",
    "macaddr",
    "macaddr8",
    "money",
    "numeric",
    "numrange",
    "oid",
    "path",
    "point",
    "polygon",
    "real",
    "smallint",
    "text",
    "time with time zone",
    "time without time zone",
    "timestamp with time zone",
    "timestamp without time zone",
    "tsquery",
    "tsrange",
    "tstzrange",
    "tsvector",
    "uuid",
    "xml",
];

/// Whether a PostgreSQL source type is built in (`numeric(5,2)` and
/// `timestamp(3) with time zone` by their names without modifiers).
fn pg_builtin(src: &str) -> bool {
    let mut base = String::new();
    let mut depth = 0;
    for ch in src.chars() {
        match ch {
            '(' => depth += 1,
            ')' => depth -= 1,
            _ if depth == 0 => base.push(ch),
            _ => {}
        }
    }
    let base = base.split_whitespace().collect::<Vec<_>>().join(" ");
    PG_TYPES.contains(&base.as_str())
}

/// A PostgreSQL identifier as written (`"Sales ü"`, `app`) as its name.
fn unquote(s: &str) -> String {
    match s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        Some(inner) => inner.replace("\"\"", "\""),
        None => s.to_string(),
    }
}

/// A PostgreSQL enum or domain the column's type was, from the unnamed checks
/// pg2lightning made of it.
fn user_type(t: &TableSchema, c: &ColumnSchema) -> Option<UserType> {
    let own: Vec<&CheckConstraint> = t
        .checks
        .iter()
        .filter(|k| k.name.is_none() && mentions(&k.expression, &c.name))
        .collect();
    if let [k] = own.as_slice() {
        if let Some(labels) = in_list(&k.expression, &c.name) {
            return Some(UserType::Enum(labels.to_string()));
        }
    }
    if own.is_empty() {
        return None;
    }
    let forms = [super::quote_ident(&c.name), c.name.clone()];
    Some(UserType::Domain(
        own.iter()
            .map(|k| {
                forms
                    .iter()
                    .find(|f| mentions_word(&k.expression, f))
                    .map_or(k.expression.clone(), |f| {
                        replace_word(&k.expression, f, "VALUE")
                    })
            })
            .collect(),
    ))
}

/// `col IN (...)` (the check an enum becomes): the list inside.
fn in_list<'a>(expr: &'a str, col: &str) -> Option<&'a str> {
    let quoted = super::quote_ident(col);
    [quoted.as_str(), col].iter().find_map(|form| {
        expr.strip_prefix(form)?
            .strip_prefix(" IN (")?
            .strip_suffix(')')
    })
}

fn mentions(expr: &str, col: &str) -> bool {
    mentions_word(expr, &super::quote_ident(col)) || mentions_word(expr, col)
}

fn is_word_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_' || b >= 0x80
}

/// Where `word` stands alone in `expr` (not inside a longer name).
fn word_at(expr: &str, word: &str) -> Vec<usize> {
    let b = expr.as_bytes();
    expr.match_indices(word)
        .map(|(i, _)| i)
        .filter(|&i| {
            let end = i + word.len();
            let quoted = word.starts_with('"');
            quoted
                || ((i == 0 || !is_word_byte(b[i - 1]))
                    && (end == b.len() || !is_word_byte(b[end])))
        })
        .collect()
}

fn mentions_word(expr: &str, word: &str) -> bool {
    !word_at(expr, word).is_empty()
}

fn replace_word(expr: &str, word: &str, with: &str) -> String {
    let mut out = String::new();
    let mut last = 0;
    for i in word_at(expr, word) {
        out.push_str(&expr[last..i]);
        out.push_str(with);
        last = i + word.len();
    }
    out.push_str(&expr[last..]);
    out
}

/// The text of a standard SQL string literal (`'it''s'`).
fn string_literal(d: &str) -> Option<String> {
    let inner = d.strip_prefix('\'')?.strip_suffix('\'')?;
    (!inner.replace("''", "").contains('\'')).then(|| inner.replace("''", "'"))
}

/// A number, a quoted string, or NULL / TRUE / FALSE.
fn is_literal(d: &str) -> bool {
    if string_literal(d).is_some() {
        return true;
    }
    if ["NULL", "TRUE", "FALSE"]
        .iter()
        .any(|k| d.eq_ignore_ascii_case(k))
    {
        return true;
    }
    let n = d.strip_prefix('-').unwrap_or(d);
    !n.is_empty()
        && n.parse::<f64>().is_ok()
        && n.bytes()
            .all(|b| b.is_ascii_digit() || b"._eE+-".contains(&b))
}

/// `CURRENT_TIMESTAMP`, `current_timestamp()`, `now()`... as the standard
/// keyword.
fn is_current(d: &str) -> Option<&'static str> {
    let l = d.to_ascii_lowercase();
    let base = l.strip_suffix("()").unwrap_or(&l);
    match base {
        "current_timestamp" | "now" | "localtimestamp" => Some("CURRENT_TIMESTAMP"),
        "current_date" | "curdate" => Some("CURRENT_DATE"),
        "current_time" | "curtime" => Some("CURRENT_TIME"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn postgres_type_names_are_told_from_user_types() {
        assert!(pg_builtin("numeric(5,2)"));
        assert!(pg_builtin("timestamp(3) with time zone"));
        assert!(pg_builtin("character varying(10)"));
        assert!(!pg_builtin("mood"));
        assert!(!pg_builtin("public.mpaa_rating"));
    }

    #[test]
    fn domain_checks_are_written_over_value() {
        let mut t = TableSchema::new("t");
        let mut c = ColumnSchema::new("dom", T::Integer);
        c.source_type = Some("posint".into());
        t.columns.push(c.clone());
        t.checks.push(CheckConstraint {
            name: None,
            expression: "dom > 0 AND dom2 < 3".into(),
        });
        match user_type(&t, &c) {
            Some(UserType::Domain(k)) => assert_eq!(k, ["VALUE > 0 AND dom2 < 3"]),
            _ => panic!("a domain"),
        }
        t.checks[0].expression = "dom IN ('a', 'b)')".into();
        match user_type(&t, &c) {
            Some(UserType::Enum(l)) => assert_eq!(l, "'a', 'b)'"),
            _ => panic!("an enum"),
        }
    }

    #[test]
    fn only_literals_and_the_clock_cross_between_databases() {
        assert!(is_literal("'it''s'"));
        assert!(is_literal("-1.5e3"));
        assert!(is_literal("TRUE"));
        assert!(!is_literal("'a' || 'b'"));
        assert!(!is_literal("gen_random_uuid()"));
        assert_eq!(is_current("current_timestamp()"), Some("CURRENT_TIMESTAMP"));
        assert_eq!(is_current("uuid()"), None);
    }
}
