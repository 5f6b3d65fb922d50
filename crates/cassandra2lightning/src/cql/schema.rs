//! A keyspace as `DESCRIBE KEYSPACE` (or `DESCRIBE SCHEMA`) prints it: tables with
//! their keys, user-defined types and indexes; views, functions and aggregates
//! kept with their definitions to report.

use super::lex::{tokens, LexError, Tok};
use super::types::{parse_type, CqlType};

#[derive(Debug, Clone)]
pub struct Column {
    pub name: String,
    pub ty: CqlType,
    pub is_static: bool,
    /// `MASKED WITH ...`: reads show it masked to users without UNMASK.
    pub masked: bool,
}

#[derive(Debug, Clone)]
pub struct CqlTable {
    pub keyspace: String,
    pub name: String,
    pub columns: Vec<Column>,
    pub partition_key: Vec<String>,
    /// Clustering columns in order, with whether each sorts descending.
    pub clustering: Vec<(String, bool)>,
    pub compact_storage: bool,
    pub line: u64,
}

impl CqlTable {
    pub fn qualified(&self) -> String {
        format!("{}.{}", self.keyspace, self.name)
    }

    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name == name)
    }
}

#[derive(Debug, Clone)]
pub struct Udt {
    pub keyspace: String,
    pub name: String,
    pub fields: Vec<(String, CqlType)>,
}

#[derive(Debug, Clone)]
pub struct CqlIndex {
    pub keyspace: String,
    pub table: String,
    pub name: Option<String>,
    /// What it indexes as written: `region`, `keys(items)`, `full(tags)`.
    pub target: String,
    /// The class of a `CREATE CUSTOM INDEX` (SASI, storage-attached).
    pub custom: Option<String>,
    pub definition: String,
}

/// A view, function or aggregate: manual work.
#[derive(Debug, Clone)]
pub struct CqlObject {
    pub kind: &'static str,
    pub name: String,
    pub definition: String,
}

#[derive(Debug, Default)]
pub struct Schema {
    pub keyspaces: Vec<String>,
    pub udts: Vec<Udt>,
    pub tables: Vec<CqlTable>,
    pub indexes: Vec<CqlIndex>,
    pub objects: Vec<CqlObject>,
    /// Statements read but not carried, with why.
    pub notes: Vec<(String, String)>,
}

impl Schema {
    pub fn udt(&self, keyspace: &str, name: &str) -> Option<&Udt> {
        self.udts
            .iter()
            .find(|u| u.name == name && u.keyspace == keyspace)
    }
}

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct SchemaError {
    pub line: u64,
    pub message: String,
}

impl From<LexError> for SchemaError {
    fn from(e: LexError) -> Self {
        SchemaError {
            line: e.line,
            message: e.message,
        }
    }
}

type Toks = [(Tok, u64, usize)];

/// Reads every statement of a `DESCRIBE` output.
pub fn parse(text: &str) -> Result<Schema, SchemaError> {
    let toks = tokens(text)?;
    let mut schema = Schema::default();
    let mut current_keyspace: Option<String> = None;
    let mut start = 0;
    while start < toks.len() {
        let end = toks[start..]
            .iter()
            .position(|t| t.0 == Tok::Punct(';'))
            .map_or(toks.len(), |p| start + p);
        let stmt = &toks[start..end];
        let Some(first) = stmt.first() else {
            start = end + 1;
            continue;
        };
        let from = first.2;
        let to = toks.get(end).map_or(text.len(), |t| t.2 + 1);
        let definition = text[from..to].trim().to_string();
        statement(stmt, definition, &mut schema, &mut current_keyspace)?;
        start = end + 1;
    }
    Ok(schema)
}

struct Cursor<'a> {
    toks: &'a Toks,
    i: usize,
}

impl<'a> Cursor<'a> {
    fn peek(&self) -> Option<&'a Tok> {
        self.toks.get(self.i).map(|t| &t.0)
    }

    fn line(&self) -> u64 {
        self.toks
            .get(self.i)
            .or(self.toks.last())
            .map_or(0, |t| t.1)
    }

    fn err(&self, message: impl Into<String>) -> SchemaError {
        SchemaError {
            line: self.line(),
            message: message.into(),
        }
    }

    fn next(&mut self) -> Result<&'a Tok, SchemaError> {
        let t = self
            .toks
            .get(self.i)
            .map(|t| &t.0)
            .ok_or_else(|| self.err("the statement is cut short"))?;
        self.i += 1;
        Ok(t)
    }

    fn eat(&mut self, word: &str) -> bool {
        let yes = self.peek().is_some_and(|t| t.is(word));
        if yes {
            self.i += 1;
        }
        yes
    }

    fn eat_punct(&mut self, c: char) -> bool {
        let yes = self.peek() == Some(&Tok::Punct(c));
        if yes {
            self.i += 1;
        }
        yes
    }

    fn expect_punct(&mut self, c: char) -> Result<(), SchemaError> {
        if self.eat_punct(c) {
            Ok(())
        } else {
            let found = self
                .peek()
                .map_or("the end".into(), |t| format!("`{}`", t.cql()));
            Err(self.err(format!("expected `{c}`, found {found}")))
        }
    }

    fn ident(&mut self) -> Result<String, SchemaError> {
        let t = self.next()?;
        t.ident()
            .map(str::to_string)
            .ok_or_else(|| self.err(format!("expected a name, found `{}`", t.cql())))
    }

    /// `ks.name` or `name` (in the current keyspace).
    fn qualified(&mut self, current: &Option<String>) -> Result<(String, String), SchemaError> {
        let first = self.ident()?;
        if self.eat_punct('.') {
            Ok((first, self.ident()?))
        } else {
            let ks = current.clone().ok_or_else(|| {
                self.err(format!(
                    "`{first}` names no keyspace, and no `USE` or `CREATE KEYSPACE` came before it"
                ))
            })?;
            Ok((ks, first))
        }
    }

    fn if_not_exists(&mut self) {
        if self.peek().is_some_and(|t| t.is("if")) {
            self.i += 3;
        }
    }

    fn ty(&mut self) -> Result<CqlType, SchemaError> {
        let line = self.line();
        parse_type(self.toks, &mut self.i).map_err(|message| SchemaError { line, message })
    }

    /// Names in parentheses: `(a, b)`.
    fn name_list(&mut self) -> Result<Vec<String>, SchemaError> {
        self.expect_punct('(')?;
        let mut out = Vec::new();
        loop {
            out.push(self.ident()?);
            if self.eat_punct(')') {
                return Ok(out);
            }
            self.expect_punct(',')?;
        }
    }
}

fn statement(
    stmt: &Toks,
    definition: String,
    schema: &mut Schema,
    current: &mut Option<String>,
) -> Result<(), SchemaError> {
    let mut c = Cursor { toks: stmt, i: 0 };
    let words: Vec<&str> = stmt.iter().take(4).filter_map(|t| t.0.word()).collect();
    match words.as_slice() {
        ["use", ..] => {
            c.i = 1;
            *current = Some(c.ident()?);
        }
        ["create", "keyspace", ..] => {
            c.i = 2;
            c.if_not_exists();
            let ks = c.ident()?;
            schema.keyspaces.push(ks.clone());
            *current = Some(ks);
        }
        ["create", "type", ..] => {
            c.i = 2;
            c.if_not_exists();
            let (keyspace, name) = c.qualified(current)?;
            c.expect_punct('(')?;
            let mut fields = Vec::new();
            loop {
                let f = c.ident()?;
                fields.push((f, c.ty()?));
                if c.eat_punct(')') {
                    break;
                }
                c.expect_punct(',')?;
            }
            schema.udts.push(Udt {
                keyspace,
                name,
                fields,
            });
        }
        ["create", "table" | "columnfamily", ..] => {
            c.i = 2;
            c.if_not_exists();
            schema.tables.push(table(&mut c, current)?);
        }
        ["create", "index", ..] | ["create", "custom", "index", ..] => {
            let custom = c.toks[1].0.is("custom");
            c.i = if custom { 3 } else { 2 };
            c.if_not_exists();
            let name = if c.peek().is_some_and(|t| t.is("on")) {
                None
            } else {
                Some(c.ident()?)
            };
            if !c.eat("on") {
                return Err(c.err("expected ON in CREATE INDEX"));
            }
            let (keyspace, table) = c.qualified(current)?;
            c.expect_punct('(')?;
            let open = c.i;
            let mut depth = 1;
            while depth > 0 {
                match c.next()? {
                    Tok::Punct('(') => depth += 1,
                    Tok::Punct(')') => depth -= 1,
                    _ => {}
                }
            }
            let target = c.toks[open..c.i - 1]
                .iter()
                .map(|t| t.0.cql())
                .collect::<String>();
            let class = if c.eat("using") {
                match c.next()? {
                    Tok::Str(s) => Some(s.clone()),
                    _ => None,
                }
            } else {
                None
            };
            schema.indexes.push(CqlIndex {
                keyspace,
                table,
                name,
                target,
                custom: class.or(custom.then(String::new)),
                definition,
            });
        }
        ["create", "materialized", "view", ..] => {
            c.i = 3;
            c.if_not_exists();
            let (ks, name) = c.qualified(current)?;
            schema.objects.push(CqlObject {
                kind: "materialized view",
                name: format!("{ks}.{name}"),
                definition,
            });
        }
        ["create", "function" | "aggregate", ..] | ["create", "or", "replace", _] => {
            let kind = if words.contains(&"aggregate") {
                "aggregate"
            } else {
                "function"
            };
            c.i = words.len().min(if words[1] == "or" { 4 } else { 2 });
            c.if_not_exists();
            let (ks, name) = c.qualified(current)?;
            schema.objects.push(CqlObject {
                kind,
                name: format!("{ks}.{name}"),
                definition,
            });
        }
        _ => {
            let head = words.join(" ");
            schema.notes.push((
                format!("line {}", stmt[0].1),
                format!("a `{head}` statement is not part of a table's schema: not read"),
            ));
        }
    }
    Ok(())
}

fn table(c: &mut Cursor<'_>, current: &Option<String>) -> Result<CqlTable, SchemaError> {
    let line = c.line();
    let (keyspace, name) = c.qualified(current)?;
    c.expect_punct('(')?;
    let mut t = CqlTable {
        keyspace,
        name,
        columns: Vec::new(),
        partition_key: Vec::new(),
        clustering: Vec::new(),
        compact_storage: false,
        line,
    };
    loop {
        if c.peek().is_some_and(|t| t.is("primary")) {
            c.i += 1;
            if !c.eat("key") {
                return Err(c.err("expected KEY after PRIMARY"));
            }
            c.expect_punct('(')?;
            if c.peek() == Some(&Tok::Punct('(')) {
                t.partition_key = c.name_list()?;
            } else {
                t.partition_key = vec![c.ident()?];
            }
            while c.eat_punct(',') {
                t.clustering.push((c.ident()?, false));
            }
            c.expect_punct(')')?;
        } else {
            let name = c.ident()?;
            let ty = c.ty()?;
            let mut col = Column {
                name: name.clone(),
                ty,
                is_static: false,
                masked: false,
            };
            loop {
                if c.eat("static") {
                    col.is_static = true;
                } else if c.peek().is_some_and(|t| t.is("primary")) {
                    c.i += 1;
                    if !c.eat("key") {
                        return Err(c.err("expected KEY after PRIMARY"));
                    }
                    t.partition_key = vec![name.clone()];
                } else if c.eat("masked") {
                    // `MASKED WITH system.mask_default()` (Cassandra 5): how reads
                    // show the column, not what it holds.
                    let mut depth = 0;
                    while let Some(tok) = c.peek() {
                        match tok {
                            Tok::Punct(',' | ')') if depth == 0 => break,
                            Tok::Punct('(') => depth += 1,
                            Tok::Punct(')') => depth -= 1,
                            _ => {}
                        }
                        c.i += 1;
                    }
                    col.masked = true;
                } else {
                    break;
                }
            }
            t.columns.push(col);
        }
        if c.eat_punct(')') {
            break;
        }
        c.expect_punct(',')?;
    }
    // WITH CLUSTERING ORDER BY (c DESC, ...) AND COMPACT STORAGE AND options...
    while c.i < c.toks.len() {
        if c.eat("clustering") {
            c.eat("order");
            c.eat("by");
            c.expect_punct('(')?;
            loop {
                let col = c.ident()?;
                let desc = c.eat("desc");
                c.eat("asc");
                if let Some(k) = t.clustering.iter_mut().find(|k| k.0 == col) {
                    k.1 = desc;
                }
                if c.eat_punct(')') {
                    break;
                }
                c.expect_punct(',')?;
            }
        } else if c.eat("compact") {
            t.compact_storage = true;
        } else {
            c.i += 1;
        }
    }
    if t.partition_key.is_empty() {
        return Err(SchemaError {
            line,
            message: format!("table {}.{} has no PRIMARY KEY", t.keyspace, t.name),
        });
    }
    for k in t
        .partition_key
        .iter()
        .chain(t.clustering.iter().map(|(k, _)| k))
    {
        if t.column(k).is_none() {
            return Err(SchemaError {
                line,
                message: format!(
                    "table {}.{}: the key names `{k}`, which is not one of its columns",
                    t.keyspace, t.name
                ),
            });
        }
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(super) const DESCRIBE: &str = r#"
CREATE KEYSPACE shop WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}  AND durable_writes = true;

CREATE TYPE shop.address (
    street text,
    "Zip" int
);

CREATE TABLE shop.orders (
    customer_id uuid,
    region text,
    placed timestamp,
    id timeuuid,
    items map<text, int>,
    ship_to frozen<address>,
    note text static,
    PRIMARY KEY ((customer_id, region), placed, id)
) WITH CLUSTERING ORDER BY (placed DESC, id ASC)
    AND caching = {'keys': 'ALL', 'rows_per_partition': 'NONE'}
    AND comment = 'it''s; here';

CREATE INDEX orders_note ON shop.orders (values(items));
CREATE CUSTOM INDEX ON shop.orders (region) USING 'org.apache.cassandra.index.sai.StorageAttachedIndex';

CREATE TABLE shop.kv (k text PRIMARY KEY, v blob MASKED WITH system.mask_replace(0x00));

CREATE FUNCTION shop.twice(a int) CALLED ON NULL INPUT RETURNS int LANGUAGE java AS $$ return a * 2; $$;
CREATE MATERIALIZED VIEW shop.by_region AS SELECT * FROM shop.orders WHERE region IS NOT NULL PRIMARY KEY (region, customer_id, placed, id);
"#;

    #[test]
    fn a_describe_output_is_read_whole() {
        let s = parse(DESCRIBE).unwrap();
        assert_eq!(s.keyspaces, ["shop"]);
        assert_eq!(s.udts[0].fields[1].0, "Zip");
        let o = &s.tables[0];
        assert_eq!(o.partition_key, ["customer_id", "region"]);
        assert_eq!(
            o.clustering,
            [("placed".to_string(), true), ("id".to_string(), false)]
        );
        assert!(o.column("note").unwrap().is_static);
        assert_eq!(o.line, 9);
        assert_eq!(s.tables[1].partition_key, ["k"]);
        assert!(s.tables[1].column("v").unwrap().masked);
        assert_eq!(s.indexes[0].target, "values(items)");
        assert!(s.indexes[1]
            .custom
            .as_deref()
            .unwrap()
            .ends_with("StorageAttachedIndex"));
        assert_eq!(s.objects.len(), 2);
        assert!(s.objects[0].definition.ends_with("$$;"));
    }

    #[test]
    fn a_bad_statement_names_its_line() {
        let e = parse("CREATE TABLE ks.t (\n a int,\n b frozen<list<int>,\n PRIMARY KEY (a));")
            .unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        let e = parse("CREATE TABLE t (a int PRIMARY KEY);").unwrap_err();
        assert!(e.message.contains("names no keyspace"), "{e}");
    }
}

#[cfg(test)]
mod fuzz {
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(400))]

        /// A damaged DESCRIBE output (cut, a character put in) is read or refused,
        /// never a panic.
        #[test]
        fn damaged_schemas_never_panic(cut in 0usize..2000, at in 0usize..2000, c in any::<char>()) {
            let mut text: String = super::tests::DESCRIBE.chars().take(cut).collect();
            let at = text.char_indices().nth(at).map_or(text.len(), |(i, _)| i);
            text.insert(at, c);
            let _ = super::parse(&text);
        }

        #[test]
        fn token_soup_never_panics(words in proptest::collection::vec(
            prop::sample::select(vec!["CREATE", "TABLE", "TYPE", "INDEX", "ks", ".", "t", "(", ")", ",", ";",
                "PRIMARY", "KEY", "frozen", "<", ">", "map", "list", "int", "static", "WITH", "CLUSTERING",
                "ORDER", "BY", "DESC", "'s'", "$$", "\"Q\"", "ON", "CUSTOM", "USING", "IF", "NOT", "EXISTS"]),
            0..60)) {
            let _ = super::parse(&words.join(" "));
        }
    }
}
