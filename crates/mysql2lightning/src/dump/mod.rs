//! Reading mysqldump output (`--from-dump FILE|-`).
//!
//! A dump **file** is first scanned once (statements split, `CREATE TABLE`s parsed,
//! INSERTs only located): that gives the schema, and for each table the byte ranges
//! of its INSERT statements. Each table is then one partition, read by seeking to
//! its ranges, so tables are copied in parallel and a resumed table starts at the
//! statement and row where its last commit ended (`OFFSET:LINE:ROW`).
//!
//! **Standard input** is saved to a spool file beside the target while it is
//! scanned (`scan` reads through a tee), and is then read as a file.

pub mod ddl;
pub mod lex;
pub mod split;

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Read, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use lightning_core::fingerprint::HashingReader;
use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema, Value};
use mysql::Value as MyValue;

use crate::convert::SourceTable;
use crate::mapping::{
    convert as convert_value, parse_datetime, parse_time, raw_value, Counters, Ctx, Kind, ZeroDates,
};
use crate::model::{MyCatalog, MyObject, MyTable};
use lex::{plain_sql, Lexer, Tok};
use split::{SplitState, Splitter, Statement};

#[derive(Debug, thiserror::Error)]
pub enum DumpError {
    #[error("reading the dump: {0}")]
    Io(std::io::Error),
    #[error("the dump ends inside the statement that starts at line {line}: it is truncated. Make the dump again (and let it finish)")]
    Truncated { line: u64 },
    #[error("the dump has a mysqldump header but no `-- Dump completed` line at its end: it is truncated. Make the dump again (and let it finish)")]
    NotCompleted,
    #[error(
        "line {line}: a statement larger than 1 GiB; split it (mysqldump --net-buffer-length)"
    )]
    TooLong { line: u64 },
    #[error("line {line}: {message}")]
    Syntax { line: u64, message: String },
    #[error("the dump is empty: did the dump command fail? (look at its error output)")]
    Empty,
}

/// Parser state at a point of the dump that changes how values read.
#[derive(Debug, Clone, PartialEq)]
pub struct State {
    pub split: SplitState,
    /// The connection character set (`SET NAMES`).
    pub charset: String,
    /// TIMESTAMP values' offset from UTC, in seconds; `Err(name)` for a named zone.
    pub tz: Result<i64, String>,
}

impl State {
    fn initial(tz: i64) -> State {
        State {
            split: SplitState::default(),
            charset: "utf8mb4".into(),
            tz: Ok(tz),
        }
    }
}

/// A run of INSERT statements into one table.
#[derive(Debug, Clone)]
pub struct Range {
    pub offset: u64,
    pub line: u64,
    pub end: u64,
    pub state: State,
    pub rows_hint: u64,
}

/// What a first pass over a dump file found.
#[derive(Debug, Default)]
pub struct DumpIndex {
    pub catalog: MyCatalog,
    pub ranges: HashMap<String, Vec<Range>>,
    pub bytes: u64,
    /// The hash of the dump's bytes.
    pub content_id: String,
}

/// Parse a time-zone offset `+HH:MM` into seconds.
pub fn parse_offset(s: &str) -> Option<i64> {
    let s = s.trim();
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':')?;
    let (h, m): (i64, i64) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 14 && m < 60).then_some(sign * (h * 3600 + m * 60))
}

/// What kind of statement this is, by its first words.
enum Kind2 {
    CreateTable,
    Insert(String),
    Drop(Vec<String>),
    SetNames(String),
    SetTz(String),
    SetSqlMode(String),
    Object(&'static str, String),
    Other,
}

fn classify(stmt: &[u8]) -> Kind2 {
    // Only the head is needed; INSERTs can be large.
    let head = &stmt[..stmt.len().min(4096)];
    let mut lx = Lexer::new(head, false, 1);
    let first = match lx.next() {
        Tok::Word(w) => w.to_ascii_uppercase(),
        _ => return Kind2::Other,
    };
    match first.as_str() {
        "INSERT" | "REPLACE" => {
            while let Tok::Word(w) = lx.peek() {
                let u = w.to_ascii_uppercase();
                if matches!(
                    u.as_str(),
                    "LOW_PRIORITY" | "DELAYED" | "HIGH_PRIORITY" | "IGNORE" | "INTO"
                ) {
                    lx.next();
                } else {
                    break;
                }
            }
            lx.name().map_or(Kind2::Other, Kind2::Insert)
        }
        "CREATE" => {
            let plain = plain_sql(stmt);
            let mut lx = Lexer::new(plain.as_bytes(), false, 1);
            lx.next();
            let mut temporary = false;
            loop {
                let w = match lx.next() {
                    Tok::Word(w) => w.to_ascii_uppercase(),
                    _ => return Kind2::Other,
                };
                match w.as_str() {
                    "TEMPORARY" => temporary = true,
                    "TABLE" if !temporary => return Kind2::CreateTable,
                    "VIEW" | "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT" | "SEQUENCE" => {
                        let kind = match w.as_str() {
                            "VIEW" => "view",
                            "TRIGGER" => "trigger",
                            "PROCEDURE" => "procedure",
                            "FUNCTION" => "function",
                            "EVENT" => "event",
                            _ => "sequence",
                        };
                        return Kind2::Object(kind, plain);
                    }
                    "DATABASE" | "SCHEMA" | "INDEX" | "USER" | "ROLE" | "SERVER" | "TABLESPACE" => {
                        return Kind2::Other
                    }
                    _ => {}
                }
            }
        }
        "DROP" => {
            if !lx.eat_word("TABLE") {
                return Kind2::Other;
            }
            if lx.eat_word("IF") {
                lx.eat_word("EXISTS");
            }
            let mut names = Vec::new();
            while let Some(n) = lx.name() {
                names.push(n);
                if !lx.eat_punct(b',') {
                    break;
                }
            }
            Kind2::Drop(names)
        }
        "SET" => {
            let plain = plain_sql(stmt);
            let mut lx = Lexer::new(plain.as_bytes(), false, 1);
            lx.next();
            loop {
                let w = match lx.next() {
                    Tok::Word(w) => w.to_ascii_uppercase(),
                    Tok::Eof => return Kind2::Other,
                    _ => continue,
                };
                let w = w
                    .trim_start_matches("@@")
                    .trim_start_matches("SESSION.")
                    .to_string();
                match w.as_str() {
                    "NAMES" => {
                        lx.eat_punct(b'=');
                        return match lx.next() {
                            Tok::Word(cs) => Kind2::SetNames(cs.to_ascii_lowercase()),
                            Tok::Str(cs) => {
                                Kind2::SetNames(String::from_utf8_lossy(&cs).to_ascii_lowercase())
                            }
                            _ => Kind2::Other,
                        };
                    }
                    "TIME_ZONE" => {
                        lx.eat_punct(b'=');
                        return match lx.next() {
                            Tok::Str(s) => Kind2::SetTz(String::from_utf8_lossy(&s).into_owned()),
                            _ => Kind2::Other,
                        };
                    }
                    "SQL_MODE" => {
                        lx.eat_punct(b'=');
                        return match lx.next() {
                            Tok::Str(s) => {
                                Kind2::SetSqlMode(String::from_utf8_lossy(&s).to_ascii_uppercase())
                            }
                            _ => Kind2::Other,
                        };
                    }
                    _ => {}
                }
            }
        }
        _ => Kind2::Other,
    }
}

/// Apply a state-changing statement; `true` when it was one.
fn apply_state(kind: &Kind2, state: &mut State) -> bool {
    match kind {
        Kind2::SetNames(cs) => {
            state.charset = cs.clone();
            true
        }
        Kind2::SetTz(tz) => {
            state.tz = parse_offset(tz).ok_or_else(|| tz.clone());
            if tz.eq_ignore_ascii_case("UTC") {
                state.tz = Ok(0);
            }
            true
        }
        Kind2::SetSqlMode(m) => {
            state.split.no_backslash_escapes = m.contains("NO_BACKSLASH_ESCAPES");
            true
        }
        _ => false,
    }
}

/// MySQL's `latin1` is Windows-1252, except that the five bytes cp1252 leaves
/// undefined map to the C1 controls of the same number.
fn cp1252(b: u8) -> char {
    const HIGH: [u16; 32] = [
        0x20AC, 0x0081, 0x201A, 0x0192, 0x201E, 0x2026, 0x2020, 0x2021, 0x02C6, 0x2030, 0x0160,
        0x2039, 0x0152, 0x008D, 0x017D, 0x008F, 0x0090, 0x2018, 0x2019, 0x201C, 0x201D, 0x2022,
        0x2013, 0x2014, 0x02DC, 0x2122, 0x0161, 0x203A, 0x0153, 0x009D, 0x017E, 0x0178,
    ];
    if (0x80..0xA0).contains(&b) {
        char::from_u32(u32::from(HIGH[(b - 0x80) as usize])).unwrap_or('\u{FFFD}')
    } else {
        char::from(b)
    }
}

/// Decode character data in `charset` to UTF-8.
pub fn decode_text(bytes: Vec<u8>, charset: &str) -> Result<Vec<u8>, String> {
    match charset {
        "utf8" | "utf8mb3" | "utf8mb4" | "ascii" | "binary" => match String::from_utf8(bytes) {
            Ok(s) => Ok(s.into_bytes()),
            Err(e) => Err(format!(
                "text is not valid {charset} (byte {}); cast the column to BLOB to carry its bytes",
                e.utf8_error().valid_up_to()
            )),
        },
        "latin1" | "cp1252" => {
            if bytes.is_ascii() {
                return Ok(bytes);
            }
            Ok(bytes.iter().map(|&b| cp1252(b)).collect::<String>().into_bytes())
        }
        other => Err(format!(
            "the dump's character set `{other}` is not supported; make the dump with --default-character-set=utf8mb4"
        )),
    }
}

/// A value literal of an INSERT, as the server would send it for a column of `kind`.
fn literal(
    lx: &mut Lexer<'_>,
    kind: &Kind,
    charset: &str,
    column_charset: Option<&str>,
) -> Result<MyValue, String> {
    let mut tok = lx.next();
    let mut neg = false;
    if tok == Tok::Punct(b'-') || tok == Tok::Punct(b'+') {
        neg = tok == Tok::Punct(b'-');
        tok = lx.next();
    }
    let mut binary_introducer = false;
    if let Tok::Word(w) = tok {
        if w.starts_with('_') && matches!(lx.peek(), Tok::Str(_) | Tok::Hex(_)) {
            binary_introducer = w.eq_ignore_ascii_case("_binary");
            tok = lx.next();
        }
    }
    let text_cs = if charset == "binary" {
        column_charset.unwrap_or("utf8mb4")
    } else {
        charset
    };
    let number = |t: &str| -> Result<MyValue, String> {
        let t = if neg { format!("-{t}") } else { t.to_string() };
        Ok(match kind {
            Kind::Float => MyValue::Float(t.parse().map_err(|_| format!("`{t}` is not a FLOAT"))?),
            Kind::Double => {
                MyValue::Double(t.parse().map_err(|_| format!("`{t}` is not a DOUBLE"))?)
            }
            Kind::Int | Kind::Year | Kind::Bit => match t.parse::<i64>() {
                Ok(i) => MyValue::Int(i),
                Err(_) => MyValue::UInt(t.parse().map_err(|_| format!("`{t}` is not an integer"))?),
            },
            _ => MyValue::Bytes(t.into_bytes()),
        })
    };
    Ok(match tok {
        Tok::Word(w) if w.eq_ignore_ascii_case("NULL") => MyValue::NULL,
        Tok::Word(w) if w.eq_ignore_ascii_case("TRUE") => number("1")?,
        Tok::Word(w) if w.eq_ignore_ascii_case("FALSE") => number("0")?,
        Tok::Num(n) => number(n)?,
        Tok::Bits(b) => match kind {
            Kind::Int | Kind::Bit | Kind::Year => MyValue::UInt(b),
            _ => MyValue::Bytes(
                b.to_be_bytes()
                    .iter()
                    .copied()
                    .skip_while(|x| *x == 0)
                    .collect(),
            ),
        },
        Tok::Hex(h) | Tok::Str(std::borrow::Cow::Owned(h))
            if matches!(kind, Kind::Binary | Kind::Spatial | Kind::Bit) =>
        {
            MyValue::Bytes(h)
        }
        Tok::Str(s) => {
            let bytes = s.into_owned();
            match kind {
                Kind::Binary | Kind::Spatial | Kind::Bit => MyValue::Bytes(bytes),
                Kind::Int | Kind::Year | Kind::Float | Kind::Double => {
                    number(String::from_utf8_lossy(&bytes).trim())?
                }
                Kind::Date | Kind::DateTime | Kind::Timestamp | Kind::Time => {
                    let s = String::from_utf8_lossy(&bytes).into_owned();
                    let v = if *kind == Kind::Time {
                        parse_time(&s)
                    } else {
                        parse_datetime(&s)
                    };
                    v.ok_or_else(|| {
                        format!(
                            "`{s}` is not a valid MySQL {}",
                            match kind {
                                Kind::Date => "DATE",
                                Kind::Time => "TIME",
                                Kind::Timestamp => "TIMESTAMP",
                                _ => "DATETIME",
                            }
                        )
                    })?
                }
                _ if binary_introducer && charset == "binary" => {
                    MyValue::Bytes(decode_text(bytes, text_cs)?)
                }
                _ => MyValue::Bytes(decode_text(bytes, text_cs)?),
            }
        }
        Tok::Hex(h) => match kind {
            Kind::Int | Kind::Year => {
                MyValue::UInt(h.iter().fold(0u64, |a, x| (a << 8) | u64::from(*x)))
            }
            _ => MyValue::Bytes(decode_text(h, column_charset.unwrap_or(text_cs))?),
        },
        Tok::Eof => return Err("the INSERT ends in the middle of a row".into()),
        other => {
            return Err(format!(
                "unexpected {} where a value was expected (only literal values are read)",
                describe_tok(&other)
            ))
        }
    })
}

fn describe_tok(t: &Tok<'_>) -> String {
    match t {
        Tok::Word(w) => format!("`{w}`"),
        Tok::Name(n) => format!("`{n}`"),
        Tok::Punct(p) => format!("`{}`", *p as char),
        Tok::Eof => "the end of the statement".into(),
        Tok::Str(_) => "a string".into(),
        Tok::Num(n) => format!("the number {n}"),
        Tok::Hex(_) | Tok::Bits(_) => "a hex or bit literal".into(),
    }
}

/// What `read_ranges` hands on for each row: the row (or, when it cannot be
/// converted, its key, reason and raw values) and its resume position.
type RowVisit<'v> = dyn FnMut(Row, Option<(String, String, Row)>, &dyn Fn() -> String) -> Result<(), SourceError>
    + 'v;

/// A table as the dump reader uses it.
#[derive(Debug, Clone)]
pub struct DumpTable {
    pub source: SourceTable,
    pub charsets: Vec<Option<String>>,
}

/// Read the rows of one INSERT statement. `visit(row_index, line, values)` gets
/// each row in column order; `skip` rows are parsed and dropped.
fn read_insert(
    stmt: &Statement,
    state: &State,
    t: &DumpTable,
    skip: u64,
    visit: &mut dyn FnMut(u64, u64, Result<Vec<MyValue>, String>) -> Result<bool, SourceError>,
) -> Result<(), SourceError> {
    let syntax = |lx: &Lexer<'_>, m: String| -> SourceError {
        Box::new(DumpError::Syntax {
            line: lx.line(),
            message: format!("INSERT INTO `{}`: {m}", t.source.schema.name),
        })
    };
    let mut lx = Lexer::new(&stmt.text, state.split.no_backslash_escapes, stmt.line);
    lx.next(); // INSERT / REPLACE
    while let Tok::Word(w) = lx.peek() {
        let u = w.to_ascii_uppercase();
        if matches!(
            u.as_str(),
            "LOW_PRIORITY" | "DELAYED" | "HIGH_PRIORITY" | "IGNORE" | "INTO"
        ) {
            lx.next();
        } else {
            break;
        }
    }
    lx.name();
    let ncols = t.source.columns.len();
    // Column list (--complete-insert): where each listed column goes.
    let mut slots: Vec<usize> = (0..ncols).collect();
    if lx.eat_punct(b'(') {
        slots.clear();
        loop {
            let n = lx
                .name()
                .ok_or_else(|| syntax(&lx, "expected a column name".into()))?;
            let pos = t
                .source
                .source_columns
                .iter()
                .position(|c| c.eq_ignore_ascii_case(&n))
                .ok_or_else(|| syntax(&lx, format!("no column `{n}` in the table")))?;
            slots.push(pos);
            match lx.next() {
                Tok::Punct(b',') => {}
                Tok::Punct(b')') => break,
                other => {
                    return Err(syntax(
                        &lx,
                        format!("unexpected {} in the column list", describe_tok(&other)),
                    ))
                }
            }
        }
    }
    if !(lx.eat_word("VALUES") || lx.eat_word("VALUE")) {
        return Err(syntax(
            &lx,
            "expected VALUES (INSERT ... SELECT and INSERT ... SET are not read)".into(),
        ));
    }
    let mut index = 0u64;
    loop {
        if !lx.eat_punct(b'(') {
            let found = lx.next();
            return Err(syntax(
                &lx,
                format!(
                    "expected `(` to start a row, found {}",
                    describe_tok(&found)
                ),
            ));
        }
        let row_line_at = lx.i;
        let mut values: Vec<MyValue> = vec![MyValue::NULL; ncols];
        let mut n = 0usize;
        let mut bad: Option<String> = None;
        loop {
            if n >= slots.len() {
                return Err(syntax(
                    &lx,
                    format!(
                        "row {} has more values than the {} columns",
                        index + 1,
                        slots.len()
                    ),
                ));
            }
            let col = slots[n];
            if index < skip {
                // Parse only.
                let _ = literal(&mut lx, &t.source.columns[col].kind, "binary", None);
            } else {
                match literal(
                    &mut lx,
                    &t.source.columns[col].kind,
                    &state.charset,
                    t.charsets[col].as_deref(),
                ) {
                    Ok(v) => values[col] = v,
                    Err(e) if e.starts_with("unexpected") || e.starts_with("the INSERT ends") => {
                        return Err(syntax(&lx, format!("row {}: {e}", index + 1)))
                    }
                    Err(e) => {
                        bad.get_or_insert(format!(
                            "column `{}`: {e}",
                            t.source.schema.columns[col].name
                        ));
                    }
                }
            }
            n += 1;
            match lx.next() {
                Tok::Punct(b',') => {}
                Tok::Punct(b')') => break,
                other => {
                    return Err(syntax(
                        &lx,
                        format!(
                            "row {}: expected `,` or `)` after a value, found {}",
                            index + 1,
                            describe_tok(&other)
                        ),
                    ))
                }
            }
        }
        if n != slots.len() {
            return Err(syntax(
                &lx,
                format!(
                    "row {} has {n} values but the table has {} columns",
                    index + 1,
                    slots.len()
                ),
            ));
        }
        if index >= skip {
            let line = {
                let save = lx.i;
                lx.i = row_line_at;
                let l = lx.line();
                lx.i = save;
                l
            };
            let item = match bad {
                Some(e) => Err(e),
                None => Ok(values),
            };
            if !visit(index, line, item)? {
                return Ok(());
            }
        }
        index += 1;
        match lx.next() {
            Tok::Punct(b',') => {}
            Tok::Eof => return Ok(()),
            Tok::Word(w) if w.eq_ignore_ascii_case("ON") => return Ok(()),
            other => {
                return Err(syntax(
                    &lx,
                    format!(
                        "expected `,` between rows or the end of the statement, found {}",
                        describe_tok(&other)
                    ),
                ))
            }
        }
    }
}

/// The statement sink of a full pass: CREATE TABLEs, objects, state, INSERT ranges.
struct Scan {
    catalog: MyCatalog,
    ranges: HashMap<String, Vec<Range>>,
    state: State,
}

impl Scan {
    fn statement(&mut self, stmt: &Statement, end: u64) -> Result<(), DumpError> {
        let kind = classify(&stmt.text);
        if apply_state(&kind, &mut self.state) {
            return Ok(());
        }
        match kind {
            Kind2::CreateTable => {
                let t = ddl::parse_create_table(plain_sql(&stmt.text).as_bytes()).map_err(|m| {
                    DumpError::Syntax {
                        line: stmt.first_line,
                        message: m,
                    }
                })?;
                self.catalog.tables.retain(|x| x.name != t.name);
                self.catalog.tables.push(t);
            }
            Kind2::Drop(names) => {
                for n in names {
                    self.catalog.tables.retain(|x| x.name != n);
                    self.ranges.remove(&n);
                }
            }
            Kind2::Insert(table) => {
                if !self.catalog.tables.iter().any(|t| t.name == table) {
                    return Err(DumpError::Syntax {
                        line: stmt.first_line,
                        message: format!("INSERT INTO `{table}`, but no CREATE TABLE before it defines that table"),
                    });
                }
                let list = self.ranges.entry(table).or_default();
                match list.last_mut() {
                    Some(r) if r.end == stmt.offset && r.state == self.state => {
                        r.end = end;
                        r.rows_hint += stmt.groups;
                    }
                    _ => list.push(Range {
                        offset: stmt.offset,
                        line: stmt.line,
                        end,
                        state: self.state.clone(),
                        rows_hint: stmt.groups,
                    }),
                }
            }
            Kind2::Object(kind, text) => {
                let mut lx = Lexer::new(text.as_bytes(), false, 1);
                let mut name = String::new();
                let mut table = None;
                while let Tok::Word(_) | Tok::Name(_) | Tok::Punct(_) = lx.peek() {
                    if let Tok::Word(w) = lx.next() {
                        if w.eq_ignore_ascii_case(kind) {
                            if lx.eat_word("IF") {
                                lx.eat_word("NOT");
                                lx.eat_word("EXISTS");
                            }
                            name = lx.name().unwrap_or_default();
                            break;
                        }
                    }
                }
                if kind == "trigger" {
                    while !matches!(lx.peek(), Tok::Eof) {
                        if lx.eat_word("ON") {
                            table = lx.name();
                            break;
                        }
                        lx.next();
                    }
                }
                self.catalog
                    .objects
                    .retain(|o| !(o.kind == kind && o.name == name));
                self.catalog.objects.push(MyObject {
                    kind: kind.into(),
                    name,
                    table,
                    definition: text,
                });
            }
            _ => {}
        }
        Ok(())
    }
}

/// Scan a dump file once: its catalog and the ranges of each table's INSERTs.
pub fn scan_file(path: &std::path::Path, tz: i64) -> Result<DumpIndex, DumpError> {
    let f = File::open(path).map_err(DumpError::Io)?;
    scan(f, tz)
}

/// Scan a dump as it is read (standard input being spooled to a file, or a file).
pub fn scan(input: impl Read, tz: i64) -> Result<DumpIndex, DumpError> {
    let mut hashed = HashingReader::new(input);
    let mut index = scan_hashed(&mut hashed, tz)?;
    index.content_id = hashed.content_id();
    Ok(index)
}

fn scan_hashed(input: impl Read, tz: i64) -> Result<DumpIndex, DumpError> {
    let mut sp = Splitter::new(
        BufReader::with_capacity(1 << 16, input),
        0,
        1,
        SplitState::default(),
        None,
    );
    let mut scan = Scan {
        catalog: MyCatalog::default(),
        ranges: HashMap::new(),
        state: State::initial(tz),
    };
    while let Some(stmt) = sp.next_statement()? {
        if let Some(v) = sp.server_version.take() {
            lex::dialect_from_header(&v);
            // The note a server gives of itself, so that both inputs report alike.
            scan.catalog.notes.push(format!("server {v}"));
        }
        scan.state.split = sp.state.clone();
        let end = sp.offset();
        scan.statement(&stmt, end)?;
        sp.state.no_backslash_escapes = scan.state.split.no_backslash_escapes;
    }
    if sp.saw_header && !sp.saw_completed {
        return Err(DumpError::NotCompleted);
    }
    let bytes = sp.offset();
    if scan.catalog.tables.is_empty() && bytes == 0 {
        return Err(DumpError::Empty);
    }
    Ok(DumpIndex {
        catalog: scan.catalog,
        ranges: scan.ranges,
        bytes,
        content_id: String::new(),
    })
}

pub struct DumpSource {
    path: PathBuf,
    content_id: String,
    /// Selected tables, by target name.
    tables: Vec<(Arc<str>, DumpTable)>,
    /// INSERT ranges by source table name.
    ranges: HashMap<String, Vec<Range>>,
    zero_dates: ZeroDates,
    pub counters: Counters,
    unconvertible: SkippedRows,
    /// Read at most this many rows per table (the assessment's timed sample).
    pub limit: Option<u64>,
}

fn dump_table(source: SourceTable, t: &MyTable) -> DumpTable {
    DumpTable {
        charsets: t.columns.iter().map(|c| c.charset.clone()).collect(),
        source,
    }
}

impl DumpSource {
    /// A dump file, already scanned.
    pub fn from_file(
        path: PathBuf,
        index: DumpIndex,
        tables: Vec<SourceTable>,
        zero_dates: ZeroDates,
    ) -> Self {
        let by_name: Vec<(Arc<str>, DumpTable)> = tables
            .into_iter()
            .map(|s| {
                let t = index
                    .catalog
                    .tables
                    .iter()
                    .find(|t| t.name == s.source_name)
                    .cloned()
                    .unwrap_or_default();
                (Arc::from(s.schema.name.as_str()), dump_table(s, &t))
            })
            .collect();
        DumpSource {
            path,
            content_id: index.content_id,
            tables: by_name,
            ranges: index.ranges,
            zero_dates,
            counters: Counters::default(),
            unconvertible: SkippedRows::default(),
            limit: None,
        }
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables
            .iter()
            .map(|(_, t)| t.source.schema.clone())
            .collect()
    }

    fn table(&self, name: &str) -> Option<&(Arc<str>, DumpTable)> {
        self.tables.iter().find(|(n, _)| &**n == name)
    }

    /// Bytes of a selected table's INSERT statements.
    pub fn bytes_of(&self, t: &SourceTable) -> u64 {
        self.ranges
            .get(&t.source_name)
            .map_or(0, |r| r.iter().map(|x| x.end - x.offset).sum())
    }

    /// The zero dates of each DATE, DATETIME and TIMESTAMP column, read from every
    /// row of the tables that have such columns; only columns with some are listed.
    pub fn zero_dates(&self) -> Result<std::collections::BTreeMap<String, u64>, SourceError> {
        let counters = Counters::default();
        let nothing =
            &mut |_: Row, _: Option<(String, String, Row)>, _: &dyn Fn() -> String| Ok(());
        for (_, t) in &self.tables {
            if t.source.columns.iter().any(|c| c.takes_zero_dates()) {
                self.read_ranges(&self.path, t, None, &counters, nothing)?;
            }
        }
        let counts = counters.zero_dates.lock().expect("counters").clone();
        Ok(counts)
    }

    /// Rows per selected table, as the scan counted INSERT groups.
    pub fn rows_hint(&self, t: &SourceTable) -> u64 {
        self.ranges
            .get(&t.source_name)
            .map_or(0, |r| r.iter().map(|x| x.rows_hint).sum())
    }

    /// Convert one row of values; on failure the key, the reason and the raw row.
    fn convert_row(
        &self,
        t: &DumpTable,
        vals: Vec<MyValue>,
        state: &State,
        line: u64,
        rowid: Option<i64>,
        counters: &Counters,
    ) -> Result<Row, (String, String, Row)> {
        let ctx = Ctx {
            zero_dates: self.zero_dates,
            counters,
        };
        let s = &t.source;
        let mut row = Vec::with_capacity(vals.len());
        let mut it = vals.into_iter();
        for (i, v) in it.by_ref().enumerate() {
            let result = convert_value(&s.columns[i], v, &ctx).and_then(|x| match x {
                Value::TimestampTz(m) if m != i64::MIN && m != i64::MAX => match &state.tz {
                    Ok(off) => Ok(Value::TimestampTz(m - off * 1_000_000)),
                    Err(name) => Err(format!(
                        "the dump's TIMESTAMP values are in time zone `{name}`, which is not an offset; make the dump with --tz-utc (mysqldump's default)"
                    )),
                },
                other => Ok(other),
            });
            match result {
                Ok(x) => row.push(x),
                Err(reason) => {
                    let mut raw = row;
                    raw.push(Value::Null);
                    raw.extend(it.map(|v| raw_value(&v)));
                    let key = match rowid {
                        Some(id) => format!("row {id} of the table"),
                        None => s.schema.describe_key(None, &raw),
                    };
                    return Err((
                        format!("{key}, line {line}"),
                        format!("column `{}`: {reason}", s.schema.columns[i].name),
                        raw,
                    ));
                }
            }
        }
        Ok(row)
    }

    /// Read the INSERTs of `table` in `ranges`, from `(offset, line, rows done)`.
    fn read_ranges(
        &self,
        path: &std::path::Path,
        t: &DumpTable,
        resume: Option<(u64, u64, u64)>,
        counters: &Counters,
        visit: &mut RowVisit<'_>,
    ) -> Result<(), SourceError> {
        let Some(ranges) = self.ranges.get(&t.source.source_name) else {
            return Ok(());
        };
        let mut file = File::open(path)?;
        let mut ordinal = 0i64;
        for r in ranges {
            let (start, line, mut skip) = match resume {
                Some((off, _, _)) if off >= r.end => continue,
                Some((off, line, rows)) if off >= r.offset => (off, line, rows),
                _ => (r.offset, r.line, 0),
            };
            file.seek(SeekFrom::Start(start))?;
            let reader = BufReader::with_capacity(1 << 16, (&mut file).take(r.end - start));
            let mut sp = Splitter::new(reader, start, line, r.state.split.clone(), Some(r.end));
            while let Some(stmt) = sp.next_statement()? {
                if !matches!(classify(&stmt.text), Kind2::Insert(ref n) if n == &t.source.source_name)
                {
                    continue;
                }
                let offset = stmt.offset;
                let stmt_line = stmt.line;
                read_insert(&stmt, &r.state, t, skip, &mut |idx, line, item| {
                    ordinal += 1;
                    let rowid = t.source.keyed_by_position().then_some(ordinal);
                    let pos = || format!("{offset}:{stmt_line}:{}", idx + 1);
                    match item {
                        Ok(vals) => {
                            match self.convert_row(t, vals, &r.state, line, rowid, counters) {
                                Ok(row) => visit(row, None, &pos)?,
                                Err(e) => visit(Vec::new(), Some(e), &pos)?,
                            }
                        }
                        Err(reason) => {
                            let key = match rowid {
                                Some(id) => format!("row {id} of the table, line {line}"),
                                None => format!("row {} of the INSERT, line {line}", idx + 1),
                            };
                            visit(Vec::new(), Some((key, reason, Vec::new())), &pos)?
                        }
                    }
                    Ok(true)
                })?;
                skip = 0;
            }
        }
        Ok(())
    }
}

impl Source for DumpSource {
    fn content_id(&self) -> Option<String> {
        Some(self.content_id.clone())
    }

    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        Ok(self
            .tables
            .iter()
            .map(|(name, t)| Partition {
                id: name.to_string(),
                table: name.clone(),
                estimated_rows: self.rows_hint(&t.source),
                spec: String::new(),
            })
            .collect())
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        let path = &self.path;
        let (name, t) = self
            .table(&partition.table)
            .ok_or_else(|| format!("no table `{}` in the dump", partition.table))?;
        let resume_at = resume
            .and_then(|c| c.position_numbers())
            .map(|[a, b, c]| (a, b, c));
        let limit = self.limit;
        let outcome = self.read_ranges(path, t, resume_at, &self.counters, &mut |row, bad, pos| {
            if limit.is_some_and(|l| out.records() >= l) {
                return Err(Box::new(lightning_core::pipeline::Enough));
            }
            let rowid = if t.source.keyed_by_position() {
                Some(out.records() as i64 + 1)
            } else {
                None
            };
            match bad {
                None => out.row(name, rowid, row),
                Some((k, reason, raw)) => out.reject(name, k, reason, raw),
            }
            out.end_record(|| Some(pos()))
        });
        match outcome {
            Err(e) if e.is::<lightning_core::pipeline::Enough>() => Ok(()),
            other => other,
        }
    }
}

impl VerifySource for DumpSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let path = &self.path;
        let (_, t) = self
            .table(&table.name)
            .ok_or_else(|| format!("no table `{}` in the dump", table.name))?;
        let mut bad = 0u64;
        let mut ordinal = 0i64;
        let scratch = Counters::default();
        self.read_ranges(path, t, None, &scratch, &mut |row, err, _| {
            ordinal += 1;
            if err.is_some() {
                bad += 1;
                return Ok(());
            }
            visit(t.source.keyed_by_position().then_some(ordinal), row)
        })?;
        self.unconvertible.record(&table.name, bad);
        Ok(())
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latin1_is_windows_1252() {
        assert_eq!(
            decode_text(vec![0x80, 0xe9, 0x81, 0x9f], "latin1").unwrap(),
            "€é\u{81}Ÿ".as_bytes()
        );
        assert!(decode_text(vec![0xff], "utf8mb4").is_err());
        assert_eq!(parse_offset("+05:30"), Some(19800));
        assert_eq!(parse_offset("-00:00"), Some(0));
    }
}
