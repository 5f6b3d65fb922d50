//! Reading pg_dump's plain-format output (also what `pg_restore -f -` prints).
//!
//! Two streaming passes. [`scan`] parses the schema statements into a [`Database`]
//! and notes where each table's data is, validating and counting the rows without
//! keeping them. [`BlockReader`] then reads the rows of one block from its byte
//! offset. Memory is bounded by one statement or one data line, whatever the dump's
//! size.

mod data;
mod ddl;
mod lexer;

use std::io::{BufRead, Write};

use crate::model::{Database, QualifiedName};
use data::{LineError, RowCursor};
use lexer::{Lexer, LineReader};

#[derive(Debug, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct DumpError {
    pub line: u64,
    pub message: String,
}

impl DumpError {
    pub(crate) fn new(line: u64, message: impl Into<String>) -> Self {
        DumpError {
            line,
            message: message.into(),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DataForm {
    /// `COPY ... FROM stdin;` and its text-format lines.
    Copy,
    /// `INSERT INTO ... VALUES ...` statements (pg_dump --inserts / --column-inserts).
    Insert,
}

/// Where the rows of one table are in the dump.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataBlock {
    pub table: QualifiedName,
    /// Column list of the COPY / INSERT (None for `INSERT INTO t VALUES` without a
    /// list: all columns in table order). Where the table has generated columns,
    /// which the data never holds, the list is given even if the dump has none.
    pub columns: Option<Vec<String>>,
    pub form: DataForm,
    /// Byte offset and 1-based line number of the first data line (COPY) or of the
    /// first INSERT statement of the block.
    pub offset: u64,
    pub line: u64,
    /// Rows counted by the scan.
    pub rows: u64,
    /// Fields in each row that [`BlockReader`] returns.
    pub fields: usize,
    /// `standard_conforming_strings` for the block's INSERT statements.
    pub standard_strings: bool,
    /// Positions in INSERT value lists that hold `DEFAULT` for a generated column;
    /// the reader drops them.
    pub skip: Vec<usize>,
}

#[derive(Debug)]
pub struct DumpIndex {
    pub db: Database,
    pub blocks: Vec<DataBlock>,
}

/// Pass 1: parse the whole dump (schema statements fully, data only validated and
/// counted, never kept), optionally copying every byte read to `copy_to` (used to
/// spool stdin to a temp file for pass 2). Bounded memory whatever the dump size.
pub fn scan<R: BufRead>(
    input: R,
    copy_to: Option<&mut dyn Write>,
) -> Result<DumpIndex, DumpError> {
    let mut lexer = Lexer::new(LineReader::new(input, copy_to, 0, 1), true);
    let mut scanner = Scanner {
        ddl: ddl::Builder::new(),
        blocks: Vec::new(),
        open_insert: false,
        fields: Vec::new(),
        defaults: Vec::new(),
        scratch: Vec::new(),
    };
    while lexer.next_statement()? {
        let kind = first_word(lexer.text());
        if kind != "insert" {
            scanner.open_insert = false;
        }
        match kind.as_str() {
            "insert" => scanner.insert(&lexer)?,
            "copy" => scanner.copy(&mut lexer)?,
            "set" => scanner.set(&mut lexer)?,
            _ => scanner.ddl.statement(lexer.text(), lexer.line())?,
        }
    }
    let last = lexer.lines.number();
    if lexer.saw_header && !lexer.complete {
        return Err(DumpError::new(
            last,
            format!(
                "the dump ends at line {last} without pg_dump's closing line \
                 (`-- PostgreSQL database dump complete`): it is truncated; dump the database again"
            ),
        ));
    }
    if !scanner.ddl.has_tables() {
        let message = if last == 0 {
            "the input is empty: expected a pg_dump plain-format (SQL) dump".to_string()
        } else {
            "no tables found in the dump (no CREATE TABLE): give a pg_dump plain-format dump \
             that includes the schema (not `--data-only`)"
                .to_string()
        };
        return Err(DumpError::new(last, message));
    }
    let mut db = scanner.ddl.finish();
    db.normalize();
    Ok(DumpIndex {
        db,
        blocks: scanner.blocks,
    })
}

/// The statement's first word, lower case.
fn first_word(text: &str) -> String {
    text.split(|c: char| !c.is_ascii_alphabetic())
        .next()
        .unwrap_or("")
        .to_ascii_lowercase()
}

struct Scanner {
    ddl: ddl::Builder,
    blocks: Vec<DataBlock>,
    /// The last block is INSERTs that the next statement may continue.
    open_insert: bool,
    fields: Vec<Option<String>>,
    defaults: Vec<usize>,
    scratch: Vec<u8>,
}

/// The columns the data of `table` holds: `listed` or, with no list, all but the
/// generated ones (`skip`: their positions in a full value list).
struct Layout {
    columns: Option<Vec<String>>,
    values: usize,
    skip: Vec<usize>,
}

impl Scanner {
    fn layout(
        &self,
        table: &QualifiedName,
        listed: Option<Vec<String>>,
        line: u64,
        what: &str,
    ) -> Result<Layout, DumpError> {
        let Some(t) = self.ddl.table(table) else {
            return Err(DumpError::new(
                line,
                format!(
                    "{what} into {table}, which the dump never creates (no CREATE TABLE before it): \
                     give a dump that includes the schema (not `--data-only`)"
                ),
            ));
        };
        if let Some(cols) = listed {
            if let Some(missing) = cols.iter().find(|c| !t.columns.iter().any(|tc| &tc.name == *c)) {
                return Err(DumpError::new(
                    line,
                    format!(
                        "{what} into {table} names column {}, which its CREATE TABLE does not have",
                        crate::model::quote_ident(missing)
                    ),
                ));
            }
            return Ok(Layout {
                values: cols.len(),
                columns: Some(cols),
                skip: Vec::new(),
            });
        }
        let skip: Vec<usize> = (0..t.columns.len())
            .filter(|&i| t.columns[i].generated.is_some())
            .collect();
        let columns = (!skip.is_empty()).then(|| {
            t.columns
                .iter()
                .filter(|c| c.generated.is_none())
                .map(|c| c.name.clone())
                .collect()
        });
        Ok(Layout {
            columns,
            values: t.columns.len(),
            skip,
        })
    }

    fn copy<R: BufRead>(&mut self, lexer: &mut Lexer<R>) -> Result<(), DumpError> {
        let header_line = lexer.line();
        let (table, listed) =
            data::copy_header(lexer.text(), lexer.standard_strings, &self.ddl.schema)
                .map_err(|m| DumpError::new(header_line, format!("cannot parse COPY: {m}")))?;
        // A foreign table's data (--include-foreign-data) is read past, not migrated.
        let foreign = self.ddl.is_manual_relation(&table) && self.ddl.table(&table).is_none();
        let layout = if foreign {
            Layout {
                columns: listed,
                values: 0,
                skip: Vec::new(),
            }
        } else {
            self.layout(&table, listed, header_line, "COPY")?
        };
        // The data starts on the line after the header; the values COPY holds are
        // those of non-generated columns.
        let expected = if foreign {
            None
        } else {
            Some(layout.values - layout.skip.len())
        };
        lexer.skip_line();
        let offset = lexer.lines.next_offset();
        let line = lexer.lines.number() + 1;
        let mut rows = 0u64;
        loop {
            if !lexer.lines.advance()? {
                return Err(DumpError::new(
                    lexer.lines.number(),
                    format!(
                        "the dump ends inside the data of {table} at line {}: it is truncated \
                         (no `\\.` after the rows of the COPY at line {header_line}); dump the database again",
                        lexer.lines.number()
                    ),
                ));
            }
            let content = data::strip_eol(lexer.lines.line());
            if content == "\\." {
                break;
            }
            let number = lexer.lines.number();
            let count = data::check_copy_line(content.as_bytes(), &mut self.scratch)
                .map_err(|e| DumpError::new(number, e.describe(&table)))?;
            let count = if content.is_empty() && expected == Some(0) { 0 } else { count };
            if let Some(expected) = expected.filter(|&e| e != count) {
                return Err(field_count(number, &table, count, expected));
            }
            rows += 1;
        }
        lexer.skip_line();
        if !foreign {
            self.blocks.push(DataBlock {
                table,
                fields: layout.values - layout.skip.len(),
                columns: layout.columns,
                form: DataForm::Copy,
                offset,
                line,
                rows,
                standard_strings: lexer.standard_strings,
                skip: Vec::new(),
            });
        }
        Ok(())
    }

    fn insert<R: BufRead>(&mut self, lexer: &Lexer<R>) -> Result<(), DumpError> {
        let text = lexer.text();
        let line = lexer.line();
        let std = lexer.standard_strings;
        let header = data::insert_header(text, std, &self.ddl.schema)
            .map_err(|m| DumpError::new(line, format!("cannot parse INSERT: {m}")))?;
        let layout = self.layout(&header.table, header.columns.clone(), line, "INSERT")?;
        if header.default_values && layout.values != 0 {
            return Err(DumpError::new(
                line,
                format!(
                    "INSERT INTO {} DEFAULT VALUES: the values are the column defaults, which \
                     are not read; dump the data with COPY (pg_dump without --inserts)",
                    header.table
                ),
            ));
        }
        let mut cursor = RowCursor::new(&header, line);
        let mut rows = 0u64;
        while let Some(row_line) = cursor.next_row(text, std, &mut self.fields, &mut self.defaults)? {
            if self.fields.len() != layout.values {
                return Err(field_count(row_line, &header.table, self.fields.len(), layout.values));
            }
            if self.defaults != layout.skip {
                return Err(DumpError::new(
                    row_line,
                    format!(
                        "DEFAULT in the values of an INSERT into {} is only supported for \
                         generated columns: dump the data with COPY (pg_dump without --inserts)",
                        header.table
                    ),
                ));
            }
            rows += 1;
        }
        let fields = layout.values - layout.skip.len();
        if self.open_insert {
            if let Some(last) = self.blocks.last_mut() {
                if last.table == header.table && last.columns == layout.columns && last.skip == layout.skip {
                    last.rows += rows;
                    return Ok(());
                }
            }
        }
        self.blocks.push(DataBlock {
            table: header.table,
            columns: layout.columns,
            form: DataForm::Insert,
            offset: lexer.offset(),
            line,
            rows,
            fields,
            standard_strings: std,
            skip: layout.skip,
        });
        self.open_insert = true;
        Ok(())
    }

    /// `SET name = value`: the settings that change how the dump reads.
    fn set<R: BufRead>(&mut self, lexer: &mut Lexer<R>) -> Result<(), DumpError> {
        let line = lexer.line();
        let text = lexer.text();
        let toks = lexer::tokenize(text, lexer.standard_strings)
            .map_err(|m| DumpError::new(line, format!("cannot read the statement: {m}")))?;
        let value = |k: usize| -> Option<String> {
            let t = toks.get(k)?;
            match t.kind {
                lexer::Kind::Str => lexer::string_value(t.text(text), true).ok(),
                _ => lexer::ident_value(text, *t).or_else(|| Some(t.text(text).to_string())),
            }
        };
        let mut k = 1;
        if matches!(value(k).as_deref(), Some("session" | "local")) {
            k += 1;
        }
        let Some(name) = value(k) else { return Ok(()) };
        // `=` or TO.
        let v = value(k + 2);
        match name.as_str() {
            "client_encoding" => {
                let enc = v.unwrap_or_default();
                let norm = enc.to_ascii_lowercase().replace(['-', '_'], "");
                if norm != "utf8" && norm != "unicode" {
                    return Err(DumpError::new(
                        line,
                        format!(
                            "the dump is in encoding {enc}, not UTF-8: dump the database again \
                             with `pg_dump -E UTF8`"
                        ),
                    ));
                }
            }
            "standard_conforming_strings" => {
                let on = !matches!(
                    v.unwrap_or_default().to_ascii_lowercase().as_str(),
                    "off" | "false" | "no" | "0"
                );
                lexer.standard_strings = on;
                self.ddl.standard_strings = on;
            }
            "search_path" => {
                // Old pg_dump: `SET search_path = public, pg_catalog;` before unqualified names.
                if let Some(schema) = v.filter(|s| !s.is_empty() && s != "pg_catalog") {
                    self.ddl.schema = schema;
                }
            }
            _ => {}
        }
        Ok(())
    }
}

fn field_count(line: u64, table: &QualifiedName, got: usize, expected: usize) -> DumpError {
    DumpError::new(
        line,
        format!(
            "a row of {table} has {got} fields, expected {expected}: the dump is damaged \
             or was edited (a value with an unescaped tab or newline?)"
        ),
    )
}

/// Pass 2: the rows of one block. `input` is positioned by the caller at
/// `block.offset`.
pub struct BlockReader<R> {
    table: QualifiedName,
    fields: usize,
    inner: Inner<R>,
}

enum Inner<R> {
    Copy {
        lines: LineReader<'static, R>,
        done: bool,
    },
    Insert {
        lexer: Lexer<'static, R>,
        cursor: Option<RowCursor>,
        remaining: u64,
        skip: Vec<usize>,
        defaults: Vec<usize>,
    },
}

impl<R: BufRead> BlockReader<R> {
    pub fn new(input: R, block: &DataBlock) -> Self {
        let lines = LineReader::new(input, None, block.offset, block.line);
        let inner = match block.form {
            DataForm::Copy => Inner::Copy { lines, done: false },
            DataForm::Insert => Inner::Insert {
                lexer: Lexer::new(lines, block.standard_strings),
                cursor: None,
                remaining: block.rows,
                skip: block.skip.clone(),
                defaults: Vec::new(),
            },
        };
        BlockReader {
            table: block.table.clone(),
            fields: block.fields,
            inner,
        }
    }

    /// Fill `fields` (cleared first) with the next row's fields in PostgreSQL's text
    /// form (None = NULL) and return the row's line number, or Ok(None) at the end
    /// of the block.
    pub fn next_row(&mut self, fields: &mut Vec<Option<String>>) -> Result<Option<u64>, DumpError> {
        fields.clear();
        let table = &self.table;
        match &mut self.inner {
            Inner::Copy { lines, done } => {
                if *done {
                    return Ok(None);
                }
                if !lines.advance()? {
                    return Err(DumpError::new(
                        lines.number(),
                        format!(
                            "the dump ends inside the data of {table} at line {}: it is truncated",
                            lines.number()
                        ),
                    ));
                }
                let number = lines.number();
                let content = data::strip_eol(lines.line());
                if content == "\\." {
                    *done = true;
                    return Ok(None);
                }
                data::parse_copy_line(content, fields)
                    .map_err(|e: LineError| DumpError::new(number, e.describe(table)))?;
                if self.fields == 0 && content.is_empty() {
                    fields.clear();
                }
                if fields.len() != self.fields {
                    return Err(field_count(number, table, fields.len(), self.fields));
                }
                Ok(Some(number))
            }
            Inner::Insert {
                lexer,
                cursor,
                remaining,
                skip,
                defaults,
            } => loop {
                if *remaining == 0 {
                    return Ok(None);
                }
                let Some(c) = cursor.as_mut() else {
                    if !lexer.next_statement()? {
                        return Err(DumpError::new(
                            lexer.lines.number(),
                            format!(
                                "the dump ends before the last INSERT into {table} that the scan \
                                 counted: it changed since, or the reader was not placed at the block"
                            ),
                        ));
                    }
                    let line = lexer.line();
                    let header = data::insert_header(lexer.text(), lexer.standard_strings, &table.schema)
                        .ok()
                        .filter(|h| h.table == *table)
                        .ok_or_else(|| {
                            DumpError::new(
                                line,
                                format!(
                                    "expected an INSERT into {table} here: the dump changed since \
                                     the scan, or the reader was not placed at the block"
                                ),
                            )
                        })?;
                    *cursor = Some(RowCursor::new(&header, line));
                    continue;
                };
                let std = lexer.standard_strings;
                match c.next_row(lexer.text(), std, fields, defaults)? {
                    None => *cursor = None,
                    Some(line) => {
                        if defaults != skip {
                            return Err(DumpError::new(
                                line,
                                format!("DEFAULT in the values of an INSERT into {table} is only supported for generated columns"),
                            ));
                        }
                        for &k in skip.iter().rev() {
                            fields.remove(k);
                        }
                        if fields.len() != self.fields {
                            return Err(field_count(line, table, fields.len(), self.fields));
                        }
                        *remaining -= 1;
                        return Ok(Some(line));
                    }
                }
            },
        }
    }
}
