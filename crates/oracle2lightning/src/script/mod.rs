//! Reading a SQL*Plus script as SQL Developer's "Database Export" and
//! `DBMS_METADATA.GET_DDL` write it: DDL, then data as `INSERT` statements.
//!
//! The script is read into memory and scanned once: `CREATE TABLE`s, `ALTER TABLE`s
//! and `CREATE INDEX`es give the schema; views, sequences, synonyms and PL/SQL
//! units become manual work; `INSERT`s are only located, as runs of statements per
//! table. Each table is then one partition, read from its runs, so tables are
//! copied in parallel and a resumed table starts at the statement and row where
//! its last commit ended (`OFFSET:LINE:ROW`).

pub mod ddl;
pub mod lex;
pub mod mask;

use std::collections::HashMap;

use lex::{LexError, Lexer, OracleSql, Tok};
use lightning_core::pipeline::SourceError;
use lightning_core::sql_script::{insert_head, scan_insert, InsertRun, InsertSyntax};
use mask::{Mask, Stamp};

use crate::model::{lightning_ident, OraObject, OraTable, QualifiedName};

#[derive(Debug, thiserror::Error)]
pub enum ScriptError {
    #[error("line {line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("{0}")]
    Encoding(String),
    #[error("the script is empty: did the export fail? (export the schema again)")]
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

/// The script's text: UTF-8 with or without a byte-order mark, as SQL Developer
/// and SQL*Plus with an AL32UTF8 client write it.
pub fn decode(bytes: Vec<u8>) -> Result<String, ScriptError> {
    let body = bytes.strip_prefix(&[0xEF, 0xBB, 0xBF]).unwrap_or(&bytes);
    match std::str::from_utf8(body) {
        Ok(s) => Ok(s.to_string()),
        Err(e) => {
            let at = e.valid_up_to();
            let line = body[..at].iter().filter(|&&b| b == b'\n').count() + 1;
            Err(ScriptError::Encoding(format!(
                "line {line}: the script is not UTF-8 (byte {at}): export it with the encoding UTF-8 (SQL Developer: Export Wizard > Encoding; SQL*Plus: NLS_LANG=.AL32UTF8)"
            )))
        }
    }
}

/// What the scan of a script found.
#[derive(Debug, Default)]
pub struct ScriptIndex {
    pub tables: Vec<OraTable>,
    pub objects: Vec<OraObject>,
    pub ranges: HashMap<QualifiedName, Vec<InsertRun>>,
    /// What was read but is not carried: function-based indexes and the like.
    pub notes: Vec<(String, String)>,
    /// Tables of more than one owner: Lightning names keep the owner.
    pub owners: bool,
}

impl ScriptIndex {
    pub fn table_mut(&mut self, name: &QualifiedName) -> Option<&mut OraTable> {
        self.tables
            .iter_mut()
            .find(|t| t.name.as_ref().is_some_and(|n| n.same(name)))
    }

    /// The Lightning name of a table: `name`, or `owner.name` when the script
    /// holds tables of several owners.
    pub fn name_of(&self, q: &QualifiedName) -> String {
        match (&q.owner, self.owners) {
            (Some(o), true) => format!("{}.{}", lightning_ident(o), lightning_ident(&q.name)),
            _ => lightning_ident(&q.name),
        }
    }
}

/// SQL*Plus commands: each takes the rest of its line, and needs no `;`.
pub fn is_line_command(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "SET", "REM", "REMARK", "PROMPT", "PRO", "SPOOL", "WHENEVER", "EXIT", "QUIT", "CONNECT",
        "CONN", "DEFINE", "UNDEFINE", "COLUMN", "COL", "TTITLE", "BTITLE", "SHOW", "PAUSE",
        "ACCEPT", "VARIABLE", "VAR", "EXECUTE", "EXEC", "HOST", "CLEAR", "BREAK", "COMPUTE",
        "STORE", "TIMING", "DESCRIBE", "DESC", "PRINT",
    ];
    WORDS.iter().any(|k| w.eq_ignore_ascii_case(k))
}

/// Words that start a statement: where storage options end at the latest.
pub fn starts_statement(w: &str) -> bool {
    const WORDS: &[&str] = &[
        "CREATE", "ALTER", "INSERT", "GRANT", "COMMENT", "DROP", "BEGIN", "DECLARE", "COMMIT",
    ];
    WORDS.iter().any(|k| w.eq_ignore_ascii_case(k))
}

/// Skip to the end of a statement that is not read: its `;`, a `/` line or the end.
pub fn skip_statement(lx: &mut Lexer<'_>) -> Result<(), ScriptError> {
    loop {
        match lx.peek()? {
            Tok::Eof | Tok::BatchEnd | Tok::Punct(';') => return Ok(()),
            _ => {
                lx.next()?;
            }
        }
    }
}

/// Pass over what a statement that is not an INSERT starts with `first`: a
/// SQL*Plus line, a PL/SQL block to its `/`, or a statement to its `;`.
pub fn pass_over(lx: &mut Lexer<'_>, first: &Tok<'_>) -> Result<(), ScriptError> {
    match first {
        Tok::Word(w) if is_line_command(w) => {
            lx.skip_line();
            Ok(())
        }
        Tok::Punct('@') => {
            lx.skip_line();
            Ok(())
        }
        Tok::Word(w) if w.eq_ignore_ascii_case("BEGIN") || w.eq_ignore_ascii_case("DECLARE") => {
            to_unit_end(lx, lx.start).map(|_| ())
        }
        _ => skip_statement(lx),
    }
}

/// A value of an INSERT as the script writes it, before its column's type reads it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    Null,
    /// A number with its sign: `-1.5E+10`, or `NaN`, `Infinity`, `-Infinity`.
    Num(String),
    Str(String),
    Bin(Vec<u8>),
    /// A date or timestamp read with its mask, and its text as written.
    Stamp(Stamp, String),
    /// A value a function cannot read (a date that does not match its mask):
    /// refused for its row.
    Invalid {
        text: String,
        why: String,
    },
}

impl InsertSyntax for OracleSql {
    type Name = QualifiedName;
    type Value = Literal;
    type Error = ScriptError;
    const VALUES_ONLY: &'static str =
        "(not INSERT ... SELECT): export the data in the \"insert\" format";

    fn into_keyword(lx: &mut Lexer<'_>) -> Result<(), ScriptError> {
        if !lx.eat_word("INTO")? {
            return Err(ddl::syntax(
                lx,
                "only INSERT INTO ... VALUES is read (not INSERT ALL or INSERT FIRST)",
            ));
        }
        Ok(())
    }

    fn pass_over(lx: &mut Lexer<'_>, first: &Tok<'_>) -> Result<(), ScriptError> {
        pass_over(lx, first)
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
        a.same(b)
    }

    fn same_column(stored: &str, listed: &str) -> bool {
        stored == listed
    }

    fn column_sql(name: &str) -> String {
        format!("\"{name}\"")
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

/// One value: a literal or a function of literals, with `||` concatenations.
pub fn literal(lx: &mut Lexer<'_>) -> Result<Literal, ScriptError> {
    let first = primary(lx)?;
    if *lx.peek()? != Tok::Concat {
        return Ok(first);
    }
    let mut out = String::new();
    let mut part = first;
    loop {
        match part {
            Literal::Null => {}
            Literal::Str(s) | Literal::Num(s) => out.push_str(&s),
            invalid @ Literal::Invalid { .. } => return Ok(invalid),
            Literal::Bin(_) | Literal::Stamp(..) => {
                return Err(ddl::syntax(
                    lx,
                    "a concatenation with `||` of a binary or date value is not read",
                ))
            }
        }
        if !matches!(lx.peek()?, Tok::Concat) {
            break;
        }
        lx.next()?;
        part = primary(lx)?;
    }
    // Oracle's empty string is NULL, whole or concatenated.
    Ok(if out.is_empty() {
        Literal::Null
    } else {
        Literal::Str(out)
    })
}

/// A value's function arguments, after its `(`, to its `)`.
fn arguments(lx: &mut Lexer<'_>) -> Result<Vec<Literal>, ScriptError> {
    let mut args = Vec::new();
    if lx.eat_punct(')')? {
        return Ok(args);
    }
    loop {
        args.push(literal(lx)?);
        match lx.next()? {
            Tok::Punct(',') => {}
            Tok::Punct(')') => return Ok(args),
            other => {
                return Err(ddl::syntax(
                    lx,
                    format!(
                        "expected `,` or `)` after an argument, found {}",
                        ddl::describe(&other)
                    ),
                ))
            }
        }
    }
}

/// `TO_DATE`, `TO_TIMESTAMP`, `TO_TIMESTAMP_TZ`: the value read with its mask.
fn stamp(lx: &mut Lexer<'_>, f: &str, args: Vec<Literal>) -> Result<Literal, ScriptError> {
    let mut it = args.into_iter();
    let value = match it.next() {
        Some(Literal::Str(s)) => s,
        Some(Literal::Null) => return Ok(Literal::Null),
        _ => return Err(ddl::syntax(lx, format!("{f}: expected a string to read"))),
    };
    let mask = match it.next() {
        None => mask::iso(),
        Some(Literal::Str(m)) => {
            Mask::parse(&m).map_err(|e| ddl::syntax(lx, format!("{f}: {e}")))?
        }
        Some(_) => {
            return Err(ddl::syntax(
                lx,
                format!("{f}: expected a format mask string"),
            ))
        }
    };
    Ok(match mask.read(&value) {
        Ok(s) => Literal::Stamp(s, value),
        Err(why) => Literal::Invalid { text: value, why },
    })
}

/// `UNISTR('\00e9')`: the text its `\XXXX` escapes (UTF-16 units) spell.
fn unistr(s: &str) -> Option<String> {
    let mut units = Vec::new();
    let mut rest = s;
    while let Some(c) = rest.chars().next() {
        if c == '\\' {
            if let Some(r) = rest.strip_prefix("\\\\") {
                units.push(u16::from(b'\\'));
                rest = r;
                continue;
            }
            let hex = rest.get(1..5)?;
            units.push(u16::from_str_radix(hex, 16).ok()?);
            rest = &rest[5..];
        } else {
            let mut buf = [0u16; 2];
            units.extend_from_slice(c.encode_utf16(&mut buf));
            rest = &rest[c.len_utf8()..];
        }
    }
    String::from_utf16(&units).ok()
}

fn primary(lx: &mut Lexer<'_>) -> Result<Literal, ScriptError> {
    let t = lx.next()?;
    Ok(match t {
        Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => Literal::Null,
        // Oracle stores the empty string as NULL.
        Tok::Str(s) if s.is_empty() => Literal::Null,
        Tok::Str(s) => Literal::Str(s),
        Tok::Num(n) => Literal::Num(n.to_string()),
        Tok::Punct(c @ ('-' | '+')) => match primary(lx)? {
            Literal::Num(n) if c == '-' => match n.strip_prefix('-') {
                Some(pos) => Literal::Num(pos.to_string()),
                None => Literal::Num(format!("-{n}")),
            },
            Literal::Num(n) => Literal::Num(n),
            _ => return Err(ddl::syntax(lx, format!("expected a number after `{c}`"))),
        },
        Tok::Word(w) => {
            let upper = w.to_ascii_uppercase();
            match upper.as_str() {
                "BINARY_DOUBLE_NAN" | "BINARY_FLOAT_NAN" => return Ok(Literal::Num("NaN".into())),
                "BINARY_DOUBLE_INFINITY" | "BINARY_FLOAT_INFINITY" => {
                    return Ok(Literal::Num("Infinity".into()))
                }
                "DATE" | "TIMESTAMP" if matches!(lx.peek()?, Tok::Str(_)) => {
                    let Tok::Str(s) = lx.next()? else {
                        unreachable!("peeked a string")
                    };
                    return Ok(match mask::iso().read(&s) {
                        Ok(st) => Literal::Stamp(st, s),
                        Err(why) => Literal::Invalid { text: s, why },
                    });
                }
                "INTERVAL" if matches!(lx.peek()?, Tok::Str(_)) => {
                    let Tok::Str(s) = lx.next()? else {
                        unreachable!("peeked a string")
                    };
                    // The qualifier: DAY(2) TO SECOND(6), YEAR TO MONTH, ...
                    loop {
                        if *lx.peek()? == Tok::Punct('(') {
                            ddl::balanced(lx)?;
                        } else if matches!(lx.peek()?, Tok::Word(q) if ["YEAR", "MONTH", "DAY", "HOUR", "MINUTE", "SECOND", "TO"].iter().any(|k| q.eq_ignore_ascii_case(k)))
                        {
                            lx.next()?;
                        } else {
                            break;
                        }
                    }
                    return Ok(Literal::Str(s));
                }
                _ => {}
            }
            let mut name = upper;
            while lx.eat_punct('.')? {
                name.push('.');
                name.push_str(&ddl::ident(lx)?);
            }
            if *lx.peek()? != Tok::Punct('(') {
                return Err(ddl::syntax(
                    lx,
                    format!("unexpected `{w}` where a value was expected (only literal values are read)"),
                ));
            }
            lx.next()?;
            let args = arguments(lx)?;
            function(lx, &name, args)?
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

/// A function of literals as exports write them.
fn function(lx: &mut Lexer<'_>, name: &str, args: Vec<Literal>) -> Result<Literal, ScriptError> {
    let name = name.strip_prefix("SYS.").unwrap_or(name);
    let one = |lx: &mut Lexer<'_>, args: Vec<Literal>| -> Result<Literal, ScriptError> {
        let n = args.len();
        let mut it = args.into_iter();
        match (it.next(), n) {
            (Some(a), 1) => Ok(a),
            _ => Err(ddl::syntax(lx, format!("{name}: expected one argument"))),
        }
    };
    Ok(match name {
        "EMPTY_CLOB" | "EMPTY_NCLOB" => Literal::Str(String::new()),
        "EMPTY_BLOB" => Literal::Bin(Vec::new()),
        "TO_DATE" | "TO_TIMESTAMP" | "TO_TIMESTAMP_TZ" => {
            let args = if args.len() == 3 {
                // The third argument sets NLS parameters; English names are read.
                args.into_iter().take(2).collect()
            } else {
                args
            };
            stamp(lx, name, args)?
        }
        "HEXTORAW" => match one(lx, args)? {
            Literal::Str(s) => {
                let padded = if s.len() % 2 == 1 { format!("0{s}") } else { s.clone() };
                match lightning_core::value::decode_hex(&padded) {
                    Some(b) => Literal::Bin(b),
                    None => Literal::Invalid {
                        text: s,
                        why: "HEXTORAW of text that is not hexadecimal".into(),
                    },
                }
            }
            other => other,
        },
        "UTL_RAW.CAST_TO_RAW" => match one(lx, args)? {
            Literal::Str(s) => Literal::Bin(s.into_bytes()),
            other => other,
        },
        "TO_NUMBER" | "TO_BINARY_DOUBLE" | "TO_BINARY_FLOAT" => match one(lx, args)? {
            Literal::Str(s) => Literal::Num(s.trim().to_string()),
            other => other,
        },
        "CHR" | "NCHR" => match one(lx, args)? {
            Literal::Num(n) => match n.parse::<u32>().ok().and_then(char::from_u32) {
                // CHR of more than 127 is a byte of the database character set.
                Some(c) if name == "NCHR" || c.is_ascii() => Literal::Str(c.to_string()),
                _ => Literal::Invalid {
                    text: format!("{name}({n})"),
                    why: "only CHR of 0 to 127 and NCHR are read".into(),
                },
            },
            other => other,
        },
        "UNISTR" => match one(lx, args)? {
            Literal::Str(s) => match unistr(&s) {
                Some(t) => Literal::Str(t),
                None => Literal::Invalid {
                    text: s,
                    why: "UNISTR with a bad \\XXXX escape".into(),
                },
            },
            other => other,
        },
        "TO_CLOB" | "TO_NCLOB" | "TO_CHAR" | "TO_NCHAR" | "TO_BLOB" | "XMLTYPE"
        | "XMLTYPE.CREATEXML" | "TO_DSINTERVAL" | "TO_YMINTERVAL" | "JSON" | "ROWIDTOCHAR"
        | "CHARTOROWID" => one(lx, args)?,
        _ => {
            return Err(ddl::syntax(
                lx,
                format!("unexpected function `{name}(` where a value was expected (only literal values are read)"),
            ))
        }
    })
}

/// A statement's first line, to name it in a report.
fn head(definition: &str) -> String {
    let line = definition.lines().next().unwrap_or_default().trim();
    match line.char_indices().nth(80) {
        Some((i, _)) => format!("{}…", &line[..i]),
        None => line.to_string(),
    }
}

/// The text from `start` to the `/` line that ends a PL/SQL unit.
fn to_unit_end(lx: &mut Lexer<'_>, start: usize) -> Result<String, ScriptError> {
    let line = lx.line_at(start);
    loop {
        match lx.peek()? {
            Tok::BatchEnd => break,
            Tok::Eof => {
                return Err(ScriptError::Syntax {
                    line,
                    message: "a PL/SQL unit starts here and no `/` line ends it: SQL*Plus needs one after each trigger, procedure, package and anonymous block".into(),
                })
            }
            _ => {
                lx.next()?;
            }
        }
    }
    Ok(lx.text()[start..lx.i].trim().to_string())
}

/// Scan a whole script: its schema and where each table's INSERTs are.
pub fn scan(text: &str) -> Result<ScriptIndex, ScriptError> {
    if text.trim().is_empty() {
        return Err(ScriptError::Empty);
    }
    let mut lx = Lexer::new(text, 0, 1);
    let mut index = ScriptIndex::default();
    // The table the last INSERT went to, while nothing else that matters came after it.
    let mut last: Option<QualifiedName> = None;
    loop {
        let t = lx.next()?;
        let start = lx.start;
        match &t {
            Tok::Eof => break,
            Tok::BatchEnd | Tok::Punct(';') => {}
            Tok::Word(w) if w.eq_ignore_ascii_case("CREATE") => {
                last = None;
                create(&mut lx, start, &mut index)?;
            }
            Tok::Word(w) if w.eq_ignore_ascii_case("ALTER") => {
                last = None;
                if lx.eat_word("TABLE")? {
                    alter(&mut lx, &mut index)?;
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
                            "INSERT INTO {}, but no CREATE TABLE before it defines that table: export the DDL with the data, or put the DDL script first",
                            head.table.sql()
                        ),
                    });
                };
                let name = table.qualified();
                // Virtual columns take no values; the others all do when no list is given.
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
                let follows = last.as_ref().is_some_and(|l| l.same(&name));
                scan_insert(&mut lx, &name, want, (start, line), runs, follows)?;
                last = Some(name);
            }
            // COMMIT and SQL*Plus settings between INSERTs keep their run going.
            Tok::Word(w) if w.eq_ignore_ascii_case("COMMIT") || is_line_command(w) => {
                pass_over(&mut lx, &t)?;
            }
            Tok::Word(w)
                if w.eq_ignore_ascii_case("BEGIN") || w.eq_ignore_ascii_case("DECLARE") =>
            {
                last = None;
                let definition = to_unit_end(&mut lx, start)?;
                index.notes.push((
                    head(&definition),
                    "an anonymous PL/SQL block: not run; do by hand what it did".into(),
                ));
            }
            _ => {
                last = None;
                pass_over(&mut lx, &t)?;
            }
        }
    }
    let mut owners: Vec<&String> = index
        .tables
        .iter()
        .filter_map(|t| t.name.as_ref()?.owner.as_ref())
        .collect();
    owners.sort();
    owners.dedup();
    index.owners = owners.len() > 1;
    Ok(index)
}

fn create(lx: &mut Lexer<'_>, start: usize, index: &mut ScriptIndex) -> Result<(), ScriptError> {
    const MODIFIERS: &[&str] = &[
        "OR",
        "REPLACE",
        "EDITIONABLE",
        "NONEDITIONABLE",
        "EDITIONING",
        "FORCE",
        "NOFORCE",
        "NO",
        "PUBLIC",
        "GLOBAL",
        "PRIVATE",
        "TEMPORARY",
        "SHARDED",
        "DUPLICATED",
        "BLOCKCHAIN",
        "IMMUTABLE",
        "MULTIVALUE",
        "AND",
        "RESOLVE",
        "COMPILE",
        "NOCOMPILE",
    ];
    let (mut unique, mut bitmap) = (false, false);
    let kind = loop {
        let Tok::Word(w) = lx.peek()?.clone() else {
            return skip_statement(lx);
        };
        let w = w.to_ascii_uppercase();
        lx.next()?;
        match w.as_str() {
            "UNIQUE" => unique = true,
            "BITMAP" => bitmap = true,
            m if MODIFIERS.contains(&m) => {}
            _ => break w,
        }
    };
    let mut kind = kind.as_str();
    if kind == "MATERIALIZED" && lx.eat_word("VIEW")? {
        kind = "MATERIALIZED VIEW";
    }
    if matches!(kind, "PACKAGE" | "TYPE") && lx.eat_word("BODY")? {
        kind = if kind == "PACKAGE" {
            "PACKAGE BODY"
        } else {
            "TYPE BODY"
        };
    }
    match kind {
        "TABLE" => {
            let t = ddl::create_table(lx)?;
            let name = t.qualified();
            index
                .tables
                .retain(|x| !x.name.as_ref().is_some_and(|n| n.same(&name)));
            index.ranges.retain(|n, _| !n.same(&name));
            index.tables.push(t);
        }
        "INDEX" => {
            let (table, name, idx) = ddl::create_index(lx, unique)?;
            let definition = lx.text()[start..lx.i].trim().to_string();
            match (index.table_mut(&table), idx) {
                (None, _) => index.notes.push((
                    head(&definition),
                    "an index on a table the script does not create: not carried".into(),
                )),
                (Some(_), None) => index.notes.push((
                    format!("{}.{}", index.name_of(&table), lightning_ident(&name)),
                    format!(
                        "a function-based index: Lightning indexes columns, not carried ({})",
                        head(&definition)
                    ),
                )),
                (Some(t), Some(idx)) => {
                    t.indexes.push(idx);
                    if bitmap {
                        index.notes.push((
                            format!("{}.{}", index.name_of(&table), lightning_ident(&name)),
                            "a bitmap index: made as an ordinary index".into(),
                        ));
                    }
                }
            }
            skip_statement(lx)?;
        }
        "VIEW" | "MATERIALIZED VIEW" | "SEQUENCE" | "SYNONYM" => {
            let name = ddl::qualified(lx)?;
            skip_statement(lx)?;
            index.objects.push(OraObject {
                kind: match kind {
                    "VIEW" => "view",
                    "MATERIALIZED VIEW" => "materialized view",
                    "SEQUENCE" => "sequence",
                    _ => "synonym",
                },
                name: lightning_ident(&name.name),
                definition: lx.text()[start..lx.i].trim().to_string(),
            });
        }
        "TRIGGER" | "PROCEDURE" | "FUNCTION" | "PACKAGE" | "PACKAGE BODY" | "TYPE"
        | "TYPE BODY" => {
            let name = ddl::qualified(lx)?;
            let definition = to_unit_end(lx, start)?;
            index.objects.push(OraObject {
                kind: match kind {
                    "TRIGGER" => "trigger",
                    "PROCEDURE" => "procedure",
                    "FUNCTION" => "function",
                    "PACKAGE" => "package",
                    "PACKAGE BODY" => "package body",
                    "TYPE" => "type",
                    _ => "type body",
                },
                name: lightning_ident(&name.name),
                definition,
            });
        }
        _ => skip_statement(lx)?,
    }
    Ok(())
}

fn alter(lx: &mut Lexer<'_>, index: &mut ScriptIndex) -> Result<(), ScriptError> {
    let line = lx.line();
    let (name, alteration) = ddl::alter_table(lx)?;
    let Some(t) = index.table_mut(&name) else {
        return Err(ScriptError::Syntax {
            line,
            message: format!(
                "ALTER TABLE {}, but no CREATE TABLE before it defines that table",
                name.sql()
            ),
        });
    };
    match alteration {
        ddl::Alteration::Added(x) => {
            if !x.primary_key.is_empty() {
                t.primary_key = x.primary_key;
            }
            t.uniques.extend(x.uniques);
            t.checks.extend(x.checks);
            t.foreign_keys.extend(x.foreign_keys);
            t.columns.extend(x.columns);
        }
        ddl::Alteration::Modified(cols) => {
            for m in cols {
                if let Some(c) = t.column_mut(&m.name) {
                    c.nullable &= m.nullable;
                    if m.default.is_some() {
                        c.default = m.default;
                    }
                }
            }
        }
        ddl::Alteration::Other => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests;
