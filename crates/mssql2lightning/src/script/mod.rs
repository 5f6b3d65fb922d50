//! Reading a script as SQL Server Management Studio's "Generate Scripts" writes it
//! (schema, data, or both; UTF-16 with a BOM or UTF-8).
//!
//! The script is decoded to UTF-8 in memory and scanned once: `CREATE TABLE`s,
//! `ALTER TABLE ... ADD`s and `CREATE INDEX`es give the schema; `INSERT`s are only
//! located, as runs of statements per table. Each table is then one partition,
//! read from its runs, so tables are copied in parallel and a resumed table starts
//! at the statement and row where its last commit ended (`OFFSET:LINE:ROW`).

pub mod ddl;
pub mod lex;

use std::collections::HashMap;

use lex::{LexError, Lexer, Tok, Tsql};
use lightning_core::pipeline::SourceError;
use lightning_core::sql_script::{insert_head, scan_insert, InsertRun, InsertSyntax};

use crate::model::{MsObject, MsTable, QualifiedName};

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("reading the script: {0}")]
    Io(#[from] std::io::Error),
    #[error("line {line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("{0}")]
    Encoding(String),
    #[error("the script is empty: did scripting fail? (script the database again)")]
    Empty,
    /// What stopped a reader's visitor, carried out through the parser.
    #[error("{0}")]
    Stopped(lightning_core::pipeline::SourceError),
}

impl From<LexError> for ScriptError {
    fn from(e: LexError) -> Self {
        ScriptError::Syntax {
            line: e.line,
            message: e.message,
        }
    }
}

/// The script's text as UTF-8: UTF-16 (either order) with its BOM, or UTF-8 with
/// or without one.
pub fn decode(bytes: Vec<u8>) -> Result<String, ScriptError> {
    let utf16 = |le: bool, body: &[u8]| -> Result<String, ScriptError> {
        if body.len() % 2 == 1 {
            return Err(ScriptError::Encoding(
                "the script starts with a UTF-16 byte-order mark but has an odd number of bytes: it is cut short".into(),
            ));
        }
        let units = body.chunks_exact(2).map(|p| {
            if le {
                u16::from_le_bytes([p[0], p[1]])
            } else {
                u16::from_be_bytes([p[0], p[1]])
            }
        });
        let mut out = String::with_capacity(body.len() / 2);
        let mut line = 1u64;
        for c in char::decode_utf16(units) {
            match c {
                Ok(c) => {
                    if c == '\n' {
                        line += 1;
                    }
                    out.push(c);
                }
                Err(e) => {
                    return Err(ScriptError::Encoding(format!(
                        "line {line}: the UTF-16 script holds a lone surrogate (0x{:04X}): it is damaged; script it again",
                        e.unpaired_surrogate()
                    )))
                }
            }
        }
        Ok(out)
    };
    match bytes.as_slice() {
        [0xFF, 0xFE, body @ ..] => utf16(true, body),
        [0xFE, 0xFF, body @ ..] => utf16(false, body),
        _ => {
            let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&bytes);
            if body.len() >= 4 && (body[1] == 0 && body[3] == 0 || body[0] == 0 && body[2] == 0) {
                return Err(ScriptError::Encoding(
                    "the script looks like UTF-16 without a byte-order mark: save it as \"Unicode\" (with a BOM) or as UTF-8".into(),
                ));
            }
            match std::str::from_utf8(body) {
                Ok(s) => Ok(s.to_string()),
                Err(e) => {
                    let at = e.valid_up_to();
                    let line = body[..at].iter().filter(|&&b| b == b'\n').count() + 1;
                    Err(ScriptError::Encoding(format!(
                        "line {line}: the script is neither UTF-8 nor UTF-16 with a byte-order mark (byte {at}): save it as \"Unicode\" or UTF-8 and run again"
                    )))
                }
            }
        }
    }
}

/// What the scan of a script found.
#[derive(Debug, Default)]
pub struct ScriptIndex {
    pub tables: Vec<MsTable>,
    pub objects: Vec<MsObject>,
    pub ranges: HashMap<QualifiedName, Vec<InsertRun>>,
    /// What was read but is not carried: filtered or special indexes, and the like.
    pub notes: Vec<(String, String)>,
}

impl ScriptIndex {
    pub fn table_mut(&mut self, name: &QualifiedName) -> Option<&mut MsTable> {
        self.tables
            .iter_mut()
            .find(|t| t.name.as_ref().is_some_and(|n| same(n, name)))
    }
}

/// Names compare as SQL Server's default collation does: without case.
pub fn same(a: &QualifiedName, b: &QualifiedName) -> bool {
    a.schema.eq_ignore_ascii_case(&b.schema) && a.name.eq_ignore_ascii_case(&b.name)
}

/// Words that start a statement: where a statement the scan does not read ends.
fn starts_statement(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "CREATE",
        "ALTER",
        "INSERT",
        "SET",
        "USE",
        "DROP",
        "IF",
        "PRINT",
        "DECLARE",
        "EXEC",
        "EXECUTE",
        "BEGIN",
        "END",
        "COMMIT",
        "ROLLBACK",
        "GRANT",
        "DENY",
        "REVOKE",
        "UPDATE",
        "DELETE",
        "TRUNCATE",
        "RAISERROR",
        "WHILE",
        "RETURN",
        "MERGE",
        "ELSE",
    ];
    WORDS.iter().any(|k| w.eq_ignore_ascii_case(k))
}

/// Skip to the end of a statement that is not read: a statement word outside
/// parentheses, `;`, `GO` or the end.
pub fn skip_statement(lx: &mut Lexer<'_>) -> Result<(), ScriptError> {
    let mut depth = 0i64;
    loop {
        match lx.peek()? {
            Tok::Eof | Tok::BatchEnd => return Ok(()),
            Tok::Punct(';') if depth <= 0 => return Ok(()),
            Tok::Word(w) if depth <= 0 && starts_statement(w) => return Ok(()),
            Tok::Punct('(') => depth += 1,
            Tok::Punct(')') => depth -= 1,
            _ => {}
        }
        lx.next()?;
    }
}

/// A value of an INSERT as the script writes it, before its column's type reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    /// A number with its sign: `-1.5E+10`.
    Num(String),
    Str(String),
    Bin(Vec<u8>),
}

impl InsertSyntax for Tsql {
    type Name = QualifiedName;
    type Value = Literal;
    type Error = ScriptError;
    const VALUES_ONLY: &'static str = "(not INSERT ... SELECT or EXEC): script the data again with \"Types of data to script\" set to include data";

    fn into_keyword(lx: &mut Lexer<'_>) -> Result<(), ScriptError> {
        lx.eat_word("INTO")?;
        Ok(())
    }

    fn pass_over(lx: &mut Lexer<'_>, _: &Tok<'_>) -> Result<(), ScriptError> {
        skip_statement(lx)
    }

    fn table(lx: &mut Lexer<'_>) -> Result<QualifiedName, ScriptError> {
        ddl::qualified(lx)
    }

    fn column(lx: &mut Lexer<'_>) -> Result<String, ScriptError> {
        ddl::ident(lx)
    }

    fn value(lx: &mut Lexer<'_>) -> Result<Literal, ScriptError> {
        literal(lx)
    }

    fn sql(name: &QualifiedName) -> String {
        name.sql()
    }

    fn same_table(a: &QualifiedName, b: &QualifiedName) -> bool {
        same(a, b)
    }

    fn same_column(stored: &str, listed: &str) -> bool {
        stored.eq_ignore_ascii_case(listed)
    }

    fn column_sql(name: &str) -> String {
        format!("[{name}]")
    }

    fn stop(e: SourceError) -> ScriptError {
        ScriptError::Stopped(e)
    }

    fn unstop(e: ScriptError) -> SourceError {
        match e {
            ScriptError::Stopped(inner) => inner,
            other => Box::new(other),
        }
    }
}

/// One value: a literal, `CAST(literal AS type)` or `CONVERT(type, literal[, style])`.
fn literal(lx: &mut Lexer<'_>) -> Result<Literal, ScriptError> {
    let t = lx.next()?;
    Ok(match t {
        Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => Literal::Null,
        Tok::Str(s) => Literal::Str(s),
        Tok::Hex(h) => Literal::Bin(h),
        Tok::Num(n) => Literal::Num(n.to_string()),
        Tok::Punct(c @ ('-' | '+')) => match lx.next()? {
            Tok::Num(n) if c == '-' => Literal::Num(format!("-{n}")),
            Tok::Num(n) => Literal::Num(n.to_string()),
            other => {
                return Err(ddl::syntax(
                    lx,
                    format!(
                        "expected a number after `{c}`, found {}",
                        ddl::describe(&other)
                    ),
                ))
            }
        },
        Tok::Word(w) if w.eq_ignore_ascii_case("CAST") => {
            lx.expect('(')?;
            let v = literal(lx)?;
            if !lx.eat_word("AS")? {
                return Err(ddl::syntax(lx, "expected AS in CAST(...)"));
            }
            ddl::qualified(lx)?;
            if *lx.peek()? == Tok::Punct('(') {
                ddl::balanced(lx)?;
            }
            lx.expect(')')?;
            v
        }
        Tok::Word(w) if w.eq_ignore_ascii_case("CONVERT") => {
            lx.expect('(')?;
            ddl::qualified(lx)?;
            if *lx.peek()? == Tok::Punct('(') {
                ddl::balanced(lx)?;
            }
            lx.expect(',')?;
            let v = literal(lx)?;
            if lx.eat_punct(',')? {
                lx.next()?;
            }
            lx.expect(')')?;
            v
        }
        other => {
            return Err(ddl::syntax(
                lx,
                format!(
                    "unexpected {} where a value was expected (only literal values are read)",
                    ddl::describe(&other)
                ),
            ))
        }
    })
}

/// Scan a whole script: its schema and where each table's INSERTs are.
pub fn scan(text: &str) -> Result<ScriptIndex, ScriptError> {
    if text.trim().is_empty() {
        return Err(ScriptError::Empty);
    }
    let mut lx = Lexer::new(text, 0, 1);
    let mut index = ScriptIndex::default();
    let mut aliases: HashMap<String, String> = HashMap::new();
    // The table the last INSERT went to, while nothing else that matters came after it.
    let mut last: Option<QualifiedName> = None;
    loop {
        let t = lx.next()?;
        let start = lx.start;
        match t {
            Tok::Eof => break,
            Tok::BatchEnd | Tok::Punct(';') => {}
            Tok::Word(w) if w.eq_ignore_ascii_case("CREATE") => {
                last = None;
                create(&mut lx, start, &mut index, &mut aliases)?;
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("ALTER") => {
                last = None;
                if lx.eat_word("TABLE")? {
                    alter(&mut lx, &mut index, &aliases)?;
                }
                skip_statement(&mut lx)?;
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("INSERT") => {
                let line = lx.line();
                let head = insert_head(&mut lx)?;
                let Some(table) = index.table_mut(&head.table) else {
                    return Err(ScriptError::Syntax {
                        line,
                        message: format!(
                            "INSERT INTO {}, but no CREATE TABLE before it defines that table: script the schema with the data (\"Schema and data\"), or put the schema script first",
                            head.table.sql()
                        ),
                    });
                };
                let name = table.qualified();
                // Computed columns take no values; the others all do when no list is given.
                let want = head.columns.as_ref().map_or_else(
                    || {
                        table
                            .columns
                            .iter()
                            .filter(|c| c.computed.is_none())
                            .count()
                    },
                    Vec::len,
                );
                let runs = index.ranges.entry(name.clone()).or_default();
                let follows = last.as_ref().is_some_and(|l| same(l, &name));
                scan_insert(&mut lx, &name, want, (start, line), runs, follows)?;
                last = Some(name);
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("DROP") => {
                if lx.eat_word("TABLE")? {
                    if lx.eat_word("IF")? {
                        lx.eat_word("EXISTS")?;
                    }
                    let name = ddl::qualified(&mut lx)?;
                    if index.table_mut(&name).is_some() {
                        last = None;
                        index
                            .tables
                            .retain(|t| !t.name.as_ref().is_some_and(|n| same(n, &name)));
                        index.ranges.retain(|n, _| !same(n, &name));
                    }
                }
                skip_statement(&mut lx)?;
            }
            _ => skip_statement(&mut lx)?,
        }
    }
    Ok(index)
}

/// A statement's first line, to name it in a report.
fn head(definition: &str) -> String {
    let line = definition.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The text from `start` to the end of the batch (a `GO` or the end).
fn to_batch_end(lx: &mut Lexer<'_>, start: usize) -> Result<String, ScriptError> {
    loop {
        match lx.peek()? {
            Tok::BatchEnd | Tok::Eof => break,
            _ => {
                lx.next()?;
            }
        }
    }
    Ok(lx.text()[start..lx.i].trim().to_string())
}

fn create(
    lx: &mut Lexer<'_>,
    start: usize,
    index: &mut ScriptIndex,
    aliases: &mut HashMap<String, String>,
) -> Result<(), ScriptError> {
    if lx.eat_word("OR")? {
        lx.eat_word("ALTER")?;
    }
    let Tok::Word(w) = lx.peek()?.clone() else {
        return skip_statement(lx);
    };
    let w = w.to_ascii_uppercase();
    match w.as_str() {
        "TABLE" => {
            lx.next()?;
            let t = ddl::create_table(lx, aliases)?;
            let name = t.qualified();
            index
                .tables
                .retain(|x| !x.name.as_ref().is_some_and(|n| same(n, &name)));
            index.ranges.retain(|n, _| !same(n, &name));
            index.tables.push(t);
        }
        "VIEW" | "PROCEDURE" | "PROC" | "FUNCTION" | "TRIGGER" => {
            lx.next()?;
            let name = ddl::qualified(lx)?;
            let kind = match w.as_str() {
                "VIEW" => "view",
                "FUNCTION" => "function",
                "TRIGGER" => "trigger",
                _ => "procedure",
            };
            let definition = to_batch_end(lx, start)?;
            index.objects.push(crate::model::MsObject {
                kind,
                name: name.lightning_name(),
                definition,
            });
        }
        "SEQUENCE" => {
            lx.next()?;
            let name = ddl::qualified(lx)?;
            skip_statement(lx)?;
            index.objects.push(MsObject {
                kind: "sequence",
                name: name.lightning_name(),
                definition: lx.text()[start..lx.i].trim().to_string(),
            });
        }
        "TYPE" => {
            lx.next()?;
            let name = ddl::qualified(lx)?;
            if lx.eat_word("FROM")? {
                let base = ddl::qualified(lx)?;
                let mut ty = base.name.to_ascii_lowercase();
                if *lx.peek()? == Tok::Punct('(') {
                    let p = ddl::balanced(lx)?;
                    ty.push_str(&p.chars().filter(|c| !c.is_whitespace()).collect::<String>());
                }
                aliases.insert(name.name.to_ascii_lowercase(), ty);
                skip_statement(lx)?;
            } else {
                let definition = to_batch_end(lx, start)?;
                index.objects.push(MsObject {
                    kind: "type",
                    name: name.lightning_name(),
                    definition,
                });
            }
        }
        "UNIQUE" | "CLUSTERED" | "NONCLUSTERED" | "INDEX" => {
            let unique = lx.eat_word("UNIQUE")?;
            let _ = lx.eat_word("CLUSTERED")? || lx.eat_word("NONCLUSTERED")?;
            if !lx.eat_word("INDEX")? {
                // A columnstore index: nothing Lightning can carry.
                let definition = {
                    skip_statement(lx)?;
                    lx.text()[start..lx.i].trim().to_string()
                };
                index
                    .notes
                    .push((head(&definition), "a columnstore index: not carried".into()));
                return Ok(());
            }
            let (table, idx, filter) = ddl::create_index(lx, unique)?;
            let definition = lx.text()[start..lx.i].trim().to_string();
            if index.table_mut(&table).is_none() {
                index.notes.push((
                    head(&definition),
                    "an index on a table the script does not create: not carried".into(),
                ));
            } else {
                if let Some(f) = filter {
                    index.notes.push((
                        format!("{}.{}", table.lightning_name(), idx.name),
                        format!("a filtered index (WHERE {f}): made over every row"),
                    ));
                }
                if let Some(t) = index.table_mut(&table) {
                    t.indexes.push(idx);
                }
            }
            skip_statement(lx)?;
        }
        "XML" | "SPATIAL" | "PRIMARY" | "FULLTEXT" | "SELECTIVE" => {
            skip_statement(lx)?;
            let definition = lx.text()[start..lx.i].trim().to_string();
            index.notes.push((
                head(&definition),
                "an XML, spatial or full-text index: Lightning has no such index, not carried"
                    .into(),
            ));
        }
        _ => skip_statement(lx)?,
    }
    Ok(())
}

fn alter(
    lx: &mut Lexer<'_>,
    index: &mut ScriptIndex,
    aliases: &HashMap<String, String>,
) -> Result<(), ScriptError> {
    let line = lx.line();
    let (name, alterations) = ddl::alter_table(lx, aliases)?;
    let Some(t) = index.table_mut(&name) else {
        return Err(ScriptError::Syntax {
            line,
            message: format!(
                "ALTER TABLE {}, but no CREATE TABLE before it defines that table",
                name.sql()
            ),
        });
    };
    for a in alterations {
        match a {
            ddl::Alteration::Added(x) => {
                if !x.primary_key.is_empty() {
                    t.primary_key = x.primary_key;
                }
                t.uniques.extend(x.uniques);
                t.checks.extend(x.checks);
                t.foreign_keys.extend(x.foreign_keys);
                t.columns.extend(x.columns);
            }
            ddl::Alteration::Default { column, expr } => {
                if let Some(c) = t.column_mut(&column) {
                    c.default = Some(expr);
                }
            }
            ddl::Alteration::Other => {}
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SSMS: &str = "USE [shop]\r\nGO\r\n/****** Object:  Table [dbo].[Orders] ******/\r\nSET ANSI_NULLS ON\r\nGO\r\nCREATE TABLE [dbo].[Orders](\r\n\t[OrderID] [int] IDENTITY(1,1) NOT NULL,\r\n\t[Note] [nvarchar](max) NULL,\r\n\t[Total] [decimal](18, 2) NOT NULL,\r\n CONSTRAINT [PK_Orders] PRIMARY KEY CLUSTERED \r\n(\r\n\t[OrderID] ASC\r\n)WITH (PAD_INDEX = OFF) ON [PRIMARY]\r\n) ON [PRIMARY] TEXTIMAGE_ON [PRIMARY]\r\nGO\r\nSET IDENTITY_INSERT [dbo].[Orders] ON \r\nGO\r\nINSERT [dbo].[Orders] ([OrderID], [Note], [Total]) VALUES (1, N'a', CAST(1.50 AS Decimal(18, 2)))\r\nINSERT [dbo].[Orders] ([OrderID], [Note], [Total]) VALUES (2, NULL, CAST(-2.00 AS Decimal(18, 2)))\r\nGO\r\nSET IDENTITY_INSERT [dbo].[Orders] OFF\r\nGO\r\nALTER TABLE [dbo].[Orders] ADD  DEFAULT ((0)) FOR [Total]\r\nGO\r\nCREATE VIEW [dbo].[Big] AS SELECT * FROM [dbo].[Orders] WHERE [Total] > 100\r\nGO\r\n";

    #[test]
    fn an_ssms_script_gives_its_table_rows_and_objects() {
        let ix = scan(SSMS).unwrap();
        assert_eq!(ix.tables.len(), 1);
        let t = &ix.tables[0];
        assert_eq!(t.primary_key, vec!["OrderID"]);
        assert_eq!(t.columns[1].ty, "nvarchar(max)");
        assert_eq!(t.columns[2].ty, "decimal(18,2)");
        assert_eq!(t.columns[2].default.as_deref(), Some("((0))"));
        assert_eq!(t.columns[0].identity, Some(("1".into(), "1".into())));
        let runs = &ix.ranges[&t.qualified()];
        assert_eq!(runs.len(), 1);
        assert_eq!((runs[0].rows, runs[0].line), (2, 18));
        assert_eq!(ix.objects[0].kind, "view");
        assert!(ix.objects[0].definition.ends_with("> 100"));
    }

    #[test]
    fn utf16_with_a_bom_reads_as_utf8_does() {
        let mut le = vec![0xFF, 0xFE];
        le.extend(SSMS.encode_utf16().flat_map(|u| u.to_le_bytes()));
        assert_eq!(decode(le).unwrap(), SSMS);
        let mut be = vec![0xFE, 0xFF];
        be.extend("é😀".encode_utf16().flat_map(|u| u.to_be_bytes()));
        assert_eq!(decode(be).unwrap(), "é😀");
        let bare: Vec<u8> = "CREATE"
            .encode_utf16()
            .flat_map(|u| u.to_le_bytes())
            .collect();
        assert!(decode(bare)
            .unwrap_err()
            .to_string()
            .contains("without a byte-order mark"));
        assert!(decode(b"a\n\xff".to_vec())
            .unwrap_err()
            .to_string()
            .starts_with("line 2:"));
    }

    /// Scan a script, then read every INSERT of every run, as a copy would.
    fn read_all(text: &str) {
        let Ok(ix) = scan(text) else { return };
        for r in ix.ranges.values().flatten() {
            let _ = lightning_core::sql_script::read_inserts::<Tsql>(text, r);
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        #[test]
        fn damaged_scripts_never_panic(cut in 0usize..2000, at in 0usize..2000, with in proptest::prelude::any::<char>()) {
            let mut text: String = SSMS.chars().take(cut.max(1)).collect();
            if let Some((i, _)) = text.char_indices().nth(at % text.chars().count().max(1)) {
                text.insert(i, with);
            }
            read_all(&text);
        }

        #[test]
        fn any_text_never_panics(text in "[\\[\\]'\"()N0x,.;GO \n\t\r/*-a-zA-Z0-9]{0,200}") {
            read_all(&text);
            let _ = decode(text.into_bytes());
        }

        #[test]
        fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
            if let Ok(text) = decode(bytes) {
                read_all(&text);
            }
        }
    }

    #[test]
    fn indexes_lightning_cannot_make_are_noted() {
        let ix = scan(
            "CREATE TABLE [T]([a] [int] NULL, [x] [xml] NULL)\nGO\n\
             CREATE NONCLUSTERED INDEX [f] ON [T] ([a]) WHERE ([a]>(0)) WITH (ONLINE = OFF)\nGO\n\
             CREATE CLUSTERED COLUMNSTORE INDEX [cs] ON [T]\nGO\n\
             CREATE PRIMARY XML INDEX [px] ON [T] ([x])\nGO\n",
        )
        .unwrap();
        assert_eq!(ix.tables[0].indexes.len(), 1);
        let notes: Vec<&str> = ix.notes.iter().map(|(_, m)| m.as_str()).collect();
        assert_eq!(notes.len(), 3, "{notes:?}");
        assert!(notes[0].contains("WHERE ([a]>(0))"), "{notes:?}");
        assert!(notes[1].starts_with("a columnstore index"), "{notes:?}");
        assert!(notes[2].starts_with("an XML, spatial"), "{notes:?}");
    }

    #[test]
    fn an_insert_into_an_unknown_table_names_its_line() {
        let e = scan("GO\nINSERT [dbo].[X] VALUES (1)").unwrap_err();
        assert!(
            e.to_string().starts_with("line 2: INSERT INTO [dbo].[X]"),
            "{e}"
        );
    }
}
