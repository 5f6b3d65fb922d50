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

use crate::copytext::{self, LineError};
use crate::model::{Database, QualifiedName};
use data::RowCursor;
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
    /// Bytes of the block's data: its COPY lines, or its INSERT statements.
    pub bytes: u64,
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
pub fn scan<R: BufRead>(input: R, copy_to: Option<&mut dyn Write>) -> Result<DumpIndex, DumpError> {
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
            if let Some(missing) = cols
                .iter()
                .find(|c| !t.columns.iter().any(|tc| &tc.name == *c))
            {
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
        let mut bytes = 0u64;
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
            let content = copytext::strip_eol(lexer.lines.line());
            if content == "\\." {
                break;
            }
            bytes += lexer.lines.line().len() as u64;
            let number = lexer.lines.number();
            let count = copytext::check_copy_line(content.as_bytes(), &mut self.scratch)
                .map_err(|e| DumpError::new(number, e.describe(&table)))?;
            let count = if content.is_empty() && expected == Some(0) {
                0
            } else {
                count
            };
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
                bytes,
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
        if self.ddl.is_manual_relation(&header.table) && self.ddl.table(&header.table).is_none() {
            // A foreign table's data (--include-foreign-data): not migrated.
            self.open_insert = false;
            return Ok(());
        }
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
        while let Some(row_line) =
            cursor.next_row(text, std, &mut self.fields, &mut self.defaults)?
        {
            if self.fields.len() != layout.values {
                return Err(field_count(
                    row_line,
                    &header.table,
                    self.fields.len(),
                    layout.values,
                ));
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
        // The statement and its `;`.
        let bytes = text.len() as u64 + 1;
        if self.open_insert {
            if let Some(last) = self.blocks.last_mut() {
                if last.table == header.table
                    && last.columns == layout.columns
                    && last.skip == layout.skip
                {
                    last.rows += rows;
                    last.bytes += bytes;
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
            bytes,
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
        let table = &self.table;
        match &mut self.inner {
            Inner::Copy { lines, done } => {
                // `fields` is not cleared up front: its Strings are reused for this row.
                if *done {
                    fields.clear();
                    return Ok(None);
                }
                if !lines.advance()? {
                    fields.clear();
                    return Err(DumpError::new(
                        lines.number(),
                        format!(
                            "the dump ends inside the data of {table} at line {}: it is truncated",
                            lines.number()
                        ),
                    ));
                }
                let number = lines.number();
                let content = copytext::strip_eol(lines.line());
                if content == "\\." {
                    *done = true;
                    fields.clear();
                    return Ok(None);
                }
                copytext::parse_copy_line(content, fields)
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
                fields.clear();
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
                    let header =
                        data::insert_header(lexer.text(), lexer.standard_strings, &table.schema)
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

#[cfg(test)]
mod tests {
    use std::io::{BufReader, Cursor};

    use super::*;
    use crate::model::{Constraint, ManualKind, Sequence, TableKind, UserType};

    const PAGILA: &str = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pagila-schema.sql"
    );

    /// `pg_dump --no-owner` (15.20) of a small database, verbatim.
    const SMALL: &str = r##"--
-- PostgreSQL database dump
--

\restrict M0e4ZhjPh1NFG3RV0MU9YNndSZwYSJGUohhb5rD9BszsmX2fBgy0hVheu63JwnW

-- Dumped from database version 15.20 (Debian 15.20-0+deb12u1)
-- Dumped by pg_dump version 15.20 (Debian 15.20-0+deb12u1)

SET statement_timeout = 0;
SET lock_timeout = 0;
SET idle_in_transaction_session_timeout = 0;
SET client_encoding = 'UTF8';
SET standard_conforming_strings = on;
SELECT pg_catalog.set_config('search_path', '', false);
SET check_function_bodies = false;
SET xmloption = content;
SET client_min_messages = warning;
SET row_security = off;

SET default_tablespace = '';

SET default_table_access_method = heap;

--
-- Name: Tāble ü; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public."Tāble ü" (
    id integer NOT NULL,
    "Näme" text,
    n numeric,
    ok boolean,
    twice integer GENERATED ALWAYS AS ((id * 2)) STORED
);


--
-- Name: Tāble ü_id_seq; Type: SEQUENCE; Schema: public; Owner: -
--

ALTER TABLE public."Tāble ü" ALTER COLUMN id ADD GENERATED ALWAYS AS IDENTITY (
    SEQUENCE NAME public."Tāble ü_id_seq"
    START WITH 1
    INCREMENT BY 1
    NO MINVALUE
    NO MAXVALUE
    CACHE 1
);


--
-- Name: nocols; Type: TABLE; Schema: public; Owner: -
--

CREATE TABLE public.nocols (
);


--
-- Data for Name: Tāble ü; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public."Tāble ü" (id, "Näme", n, ok) FROM stdin;
1	it's a\ttab\\ and\nnewline	-1.5	t
2	\N	NaN	f
3		\N	\N
4	üñí 😀	100000000000000000000	t
\.


--
-- Data for Name: nocols; Type: TABLE DATA; Schema: public; Owner: -
--

COPY public.nocols  FROM stdin;

\.


--
-- Name: Tāble ü_id_seq; Type: SEQUENCE SET; Schema: public; Owner: -
--

SELECT pg_catalog.setval('public."Tāble ü_id_seq"', 4, true);


--
-- Name: Tāble ü Tāble ü_pkey; Type: CONSTRAINT; Schema: public; Owner: -
--

ALTER TABLE ONLY public."Tāble ü"
    ADD CONSTRAINT "Tāble ü_pkey" PRIMARY KEY (id);


--
-- PostgreSQL database dump complete
--

\unrestrict M0e4ZhjPh1NFG3RV0MU9YNndSZwYSJGUohhb5rD9BszsmX2fBgy0hVheu63JwnW

"##;

    /// The same data as `pg_dump --rows-per-insert=3` writes it.
    const SMALL_INSERTS: [(&str, &str); 2] = [
        (
            r##"COPY public."Tāble ü" (id, "Näme", n, ok) FROM stdin;
1	it's a\ttab\\ and\nnewline	-1.5	t
2	\N	NaN	f
3		\N	\N
4	üñí 😀	100000000000000000000	t
\.
"##,
            r##"INSERT INTO public."Tāble ü" OVERRIDING SYSTEM VALUE VALUES
	(1, 'it''s a	tab\ and
newline', -1.5, true, DEFAULT),
	(2, NULL, 'NaN', false, DEFAULT),
	(3, '', NULL, NULL, DEFAULT);
INSERT INTO public."Tāble ü" OVERRIDING SYSTEM VALUE VALUES
	(4, 'üñí 😀', 100000000000000000000, true, DEFAULT);
"##,
        ),
        (
            r##"COPY public.nocols  FROM stdin;

\.
"##,
            r##"INSERT INTO public.nocols DEFAULT VALUES;
"##,
        ),
    ];

    fn q(schema: &str, name: &str) -> QualifiedName {
        QualifiedName::new(schema, name)
    }

    fn s(v: &str) -> Option<String> {
        Some(v.to_string())
    }

    /// A dump as pg_dump frames it.
    fn wrap(body: &str) -> String {
        format!(
            "--\n-- PostgreSQL database dump\n--\n\nSET client_encoding = 'UTF8';\n\
             SET standard_conforming_strings = on;\n\n{body}\n--\n-- PostgreSQL database dump complete\n--\n\n"
        )
    }

    fn scan_str(dump: &str) -> Result<DumpIndex, DumpError> {
        scan(dump.as_bytes(), None)
    }

    type Rows = Vec<(u64, Vec<Option<String>>)>;

    /// The rows of `block`, read the way the migration does: from its offset.
    fn read_block(dump: &[u8], block: &DataBlock) -> Result<Rows, DumpError> {
        let mut input = Cursor::new(dump);
        input.set_position(block.offset);
        let mut reader = BlockReader::new(input, block);
        let mut out = Vec::new();
        let mut fields = vec![s("stale")];
        while let Some(line) = reader.next_row(&mut fields)? {
            out.push((line, fields.clone()));
        }
        assert!(fields.is_empty());
        assert_eq!(reader.next_row(&mut fields)?, None);
        Ok(out)
    }

    fn read_all(dump: &str) -> Result<Vec<(DataBlock, Rows)>, DumpError> {
        let index = scan_str(dump)?;
        index
            .blocks
            .into_iter()
            .map(|b| {
                let rows = read_block(dump.as_bytes(), &b)?;
                assert_eq!(rows.len() as u64, b.rows);
                Ok((b, rows))
            })
            .collect()
    }

    #[test]
    fn pagila_schema() {
        let file = std::fs::File::open(PAGILA).expect("the pagila fixture");
        let index = scan(BufReader::new(file), None).unwrap();
        let db = &index.db;
        assert!(index.blocks.is_empty());
        assert_eq!(db.tables.len(), 71);

        let film = db.table(&q("public", "film")).unwrap();
        let col = |n: &str| film.columns.iter().find(|c| c.name == n).unwrap();
        assert_eq!(col("special_features").type_name, "text[]");
        assert!(!col("special_features").not_null);
        assert_eq!(col("fulltext").type_name, "tsvector");
        assert!(col("fulltext").not_null);
        assert_eq!(col("rating").type_name, "public.mpaa_rating");
        assert_eq!(
            col("rating").default.as_deref(),
            Some("'G'::public.mpaa_rating")
        );
        assert_eq!(col("release_year").type_name, "public.year");
        assert_eq!(col("rental_rate").type_name, "numeric(4,2)");
        assert_eq!(col("rental_rate").default.as_deref(), Some("4.99"));
        assert_eq!(col("last_update").type_name, "timestamp with time zone");
        assert_eq!(
            col("film_id").default.as_deref(),
            Some("nextval('public.film_film_id_seq'::regclass)")
        );
        assert_eq!(
            col("length_hours").generated.as_deref(),
            Some("round(length / 60.0, 2)")
        );
        assert_eq!(film.columns.len(), 15);
        assert_eq!(film.indexes.len(), 4);

        let actor = db.table(&q("public", "actor")).unwrap();
        assert!(actor.constraints.contains(&Constraint {
            name: "actor_pkey".into(),
            definition: "PRIMARY KEY (actor_id)".into()
        }));
        let store = db.table(&q("public", "store")).unwrap();
        assert!(store.constraints.iter().any(|c| c.name == "store_address_id_fkey"
            && c.definition
                == "FOREIGN KEY (address_id) REFERENCES public.address(address_id) ON UPDATE CASCADE ON DELETE RESTRICT"));

        let payment = db.table(&q("public", "payment")).unwrap();
        assert_eq!(
            payment.kind,
            TableKind::Partitioned {
                key: "RANGE (payment_date)".into()
            }
        );
        // Its primary key is written inside CREATE TABLE, without a name.
        assert_eq!(payment.constraints[0].name, "payment_pkey");
        assert_eq!(
            payment.constraints[0].definition,
            "PRIMARY KEY (payment_date, payment_id)"
        );
        let partitions: Vec<_> = db
            .tables
            .iter()
            .filter(|t| t.parent.as_ref().is_some_and(|(p, _)| p.name == "payment"))
            .collect();
        assert_eq!(partitions.len(), 55);
        let jan = db.table(&q("public", "payment_p2022_01")).unwrap();
        assert_eq!(
            jan.parent.as_ref().unwrap().1,
            "FOR VALUES FROM ('2022-01-01 00:00:00+00') TO ('2022-02-01 00:00:00+00')"
        );
        assert_eq!(jan.columns.len(), 7);

        assert!(matches!(&db.types["public.\"bıgınt\""],
            UserType::Domain { base, .. } if base == "bigint"));
        assert_eq!(
            db.types["public.year"],
            UserType::Domain {
                base: "integer".into(),
                not_null: false,
                default: None,
                checks: vec!["CHECK (((VALUE >= 1901) AND (VALUE <= 2155)))".into()]
            }
        );
        assert_eq!(
            db.types["public.mpaa_rating"],
            UserType::Enum(
                ["G", "PG", "PG-13", "R", "NC-17"]
                    .map(String::from)
                    .to_vec()
            )
        );
        // A schema-only dump has no setval: the sequences are as created.
        assert_eq!(db.sequences.len(), 13);
        assert_eq!(
            db.sequences["public.actor_actor_id_seq"],
            Sequence {
                last_value: 1,
                is_called: false,
                increment: 1
            }
        );

        let count = |k: ManualKind| db.manual.iter().filter(|m| m.kind == k).count();
        assert_eq!(count(ManualKind::Trigger), 16);
        assert_eq!(count(ManualKind::View), 7);
        assert_eq!(count(ManualKind::MaterializedView), 1);
        assert_eq!(count(ManualKind::Function), 9);
        assert_eq!(count(ManualKind::Aggregate), 1);
        assert_eq!(count(ManualKind::Extension), 1);
        assert!(db
            .manual
            .iter()
            .any(|m| m.kind == ManualKind::Function && m.name == "public.film_in_stock"));
        assert!(db
            .manual
            .iter()
            .any(|m| m.kind == ManualKind::Trigger
                && m.name == "film_fulltext_trigger ON public.film"));
        let rewards = db
            .manual
            .iter()
            .find(|m| m.name == "public.rewards_report")
            .unwrap();
        assert!(rewards.definition.ends_with("END\n$_$"));
        // The index on the materialized view goes with it.
        assert!(db.manual.iter().any(|m| m.kind == ManualKind::Other
            && m.name == "rental_category ON public.rental_by_category"));
    }

    fn small_expected() -> Vec<Vec<Option<String>>> {
        vec![
            vec![s("1"), s("it's a\ttab\\ and\nnewline"), s("-1.5"), s("t")],
            vec![s("2"), None, s("NaN"), s("f")],
            vec![s("3"), s(""), None, None],
            vec![s("4"), s("üñí 😀"), s("100000000000000000000"), s("t")],
        ]
    }

    #[test]
    fn small_dump_with_copy() {
        let blocks = read_all(SMALL).unwrap();
        let index = scan_str(SMALL).unwrap();
        let t = index.db.table(&q("public", "Tāble ü")).unwrap();
        assert_eq!(t.columns.len(), 5);
        assert_eq!(
            t.columns[0].identity.as_ref().unwrap().sequence.as_deref(),
            Some("public.\"Tāble ü_id_seq\"")
        );
        assert_eq!(
            index.db.sequences["public.\"Tāble ü_id_seq\""].next_value(),
            5
        );
        assert_eq!(t.constraints[0].name, "Tāble ü_pkey");

        assert_eq!(blocks.len(), 2);
        let (b, rows) = &blocks[0];
        assert_eq!(b.table, q("public", "Tāble ü"));
        assert_eq!(b.form, DataForm::Copy);
        assert_eq!(b.columns.as_deref().unwrap(), ["id", "Näme", "n", "ok"]);
        assert_eq!((b.rows, b.fields, b.line), (4, 4, 65));
        assert_eq!(&SMALL[b.offset as usize..][..2], "1\t");
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [65, 66, 67, 68]);
        let values: Vec<_> = rows.iter().map(|r| r.1.clone()).collect();
        assert_eq!(values, small_expected());
        // A table without columns has rows without fields.
        let (b, rows) = &blocks[1];
        assert_eq!((b.rows, b.fields), (1, 0));
        assert_eq!(rows, &[(77, vec![])]);
    }

    #[test]
    fn small_dump_with_multi_row_inserts() {
        let mut dump = SMALL.to_string();
        for (copy, insert) in SMALL_INSERTS {
            dump = dump.replace(copy, insert);
        }
        let blocks = read_all(&dump).unwrap();
        assert_eq!(blocks.len(), 2);
        let (b, rows) = &blocks[0];
        assert_eq!(b.form, DataForm::Insert);
        // No column list in the dump, but the generated column is not in the data.
        assert_eq!(b.columns.as_deref().unwrap(), ["id", "Näme", "n", "ok"]);
        assert_eq!(b.skip, [4]);
        assert_eq!((b.rows, b.fields, b.line), (4, 4, 64));
        assert!(dump[b.offset as usize..].starts_with("INSERT INTO public.\"Tāble ü\""));
        let lines: Vec<u64> = rows.iter().map(|r| r.0).collect();
        assert_eq!(lines, [65, 67, 68, 70]);
        let values: Vec<_> = rows.iter().map(|r| r.1.clone()).collect();
        assert_eq!(values, small_expected());
        assert_eq!(blocks[1].1, [(77, vec![])]);
    }

    #[test]
    fn stdin_spooling_copies_every_byte() {
        let mut spool = Vec::new();
        // A tiny buffer makes lines span many reads.
        let input = BufReader::with_capacity(7, SMALL.as_bytes());
        let index = scan(input, Some(&mut spool)).unwrap();
        assert_eq!(spool, SMALL.as_bytes());
        let rows = read_block(&spool, &index.blocks[0]).unwrap();
        assert_eq!(rows.len(), 4);
    }

    const T3: &str = "CREATE TABLE public.t (\n    a integer,\n    b text,\n    c text\n);\n\n";

    #[test]
    fn copy_escapes_through_the_reader() {
        let dump = wrap(&format!(
            "{T3}COPY public.t (a, b, c) FROM stdin;\n\
             1\t\\b\\f\\n\\r\\t\\v\\\\\t\\N\n\
             -2\t\t\\101\\x42\\303\\251\\q\n\
             3\tüñí 😀\t\\N\n\\.\n\n"
        ));
        let blocks = read_all(&dump).unwrap();
        assert_eq!(
            blocks[0].1,
            [
                (15, vec![s("1"), s("\u{8}\u{c}\n\r\t\u{b}\\"), None]),
                (16, vec![s("-2"), s(""), s("ABéq")]),
                (17, vec![s("3"), s("üñí 😀"), None]),
            ]
        );
    }

    #[test]
    fn wrong_field_count_names_the_line() {
        let dump = wrap(&format!(
            "{T3}COPY public.t (a, b, c) FROM stdin;\n1\tx\tz\n2\ty\n\\.\n"
        ));
        let err = scan_str(&dump).unwrap_err();
        assert_eq!(err.line, 16);
        assert!(
            err.message.contains("public.t has 2 fields, expected 3"),
            "{err}"
        );
        let dump = wrap(&format!("{T3}INSERT INTO public.t VALUES (1, 'x');\n"));
        let err = scan_str(&dump).unwrap_err();
        assert_eq!(err.line, 14);
        assert!(err.message.contains("has 2 fields, expected 3"), "{err}");
    }

    #[test]
    fn truncated_dumps_are_refused() {
        // Inside COPY data.
        let dump = format!("{T3}COPY public.t (a, b, c) FROM stdin;\n1\tx\tz\n2\ty\t");
        let err = scan_str(&dump).unwrap_err();
        assert_eq!(err.line, 9);
        assert!(
            err.message
                .contains("ends inside the data of public.t at line 9"),
            "{err}"
        );
        assert!(err.message.contains("truncated"), "{err}");
        // At a statement boundary: pg_dump's last line is missing.
        let cut = &SMALL[..SMALL
            .find("--\n-- PostgreSQL database dump complete")
            .unwrap()];
        let err = scan_str(cut).unwrap_err();
        assert!(
            err.message.contains("without pg_dump's closing line"),
            "{err}"
        );
        assert!(err.message.contains("truncated"), "{err}");
        // Inside a statement.
        let cut = &SMALL[..SMALL.find("PRIMARY KEY (id)").unwrap()];
        let err = scan_str(cut).unwrap_err();
        assert_eq!(err.line, 93);
        assert!(
            err.message
                .contains("inside the statement that starts at line 92"),
            "{err}"
        );
        // The reader sees a truncated block too.
        let index = scan_str(SMALL).unwrap();
        let cut = &SMALL.as_bytes()[..SMALL.find("3\t\t").unwrap()];
        let err = read_block(cut, &index.blocks[0]).unwrap_err();
        assert!(err.message.contains("truncated"), "{err}");
    }

    #[test]
    fn invalid_utf8_names_the_line() {
        let text = wrap(&format!(
            "{T3}COPY public.t (a, b, c) FROM stdin;\n1\tok\tz\n2\tCAFE\tz\n\\.\n"
        ));
        let mut dump = text.into_bytes();
        let at = dump.windows(4).position(|w| w == b"CAFE").unwrap();
        dump[at + 3] = 0xe9;
        let err = scan(&dump[..], None).unwrap_err();
        assert_eq!(err.line, 16);
        assert!(err.message.contains("invalid UTF-8"), "{err}");
        assert!(err.message.contains("pg_dump -E UTF8"), "{err}");
        // An escape that decodes to bytes that are not UTF-8.
        let dump = wrap(&format!(
            "{T3}COPY public.t (a, b, c) FROM stdin;\n1\tok\t\\xe9\n\\.\n"
        ));
        let err = scan_str(&dump).unwrap_err();
        assert_eq!(err.line, 15);
        assert!(
            err.message.contains("field 3 of a row of public.t"),
            "{err}"
        );
    }

    #[test]
    fn dollar_quoted_bodies_hold_semicolons() {
        let dump = wrap(
            "CREATE FUNCTION public.f() RETURNS trigger\n    LANGUAGE plpgsql\n    AS $_$\nBEGIN\n  \
             EXECUTE 'x; y';\n  PERFORM $q$ ; $$ ; $q$;\n  RETURN NEW;\nEND\n$_$;\n\n\
             CREATE FUNCTION public.g(a integer) RETURNS integer\n    LANGUAGE sql\n    BEGIN ATOMIC\n \
             SELECT (a + 1);\nEND;\n\nCREATE TABLE public.t (\n    a integer\n);\n",
        );
        let index = scan_str(&dump).unwrap();
        assert_eq!(index.db.tables.len(), 1);
        let f = &index.db.manual[0];
        assert_eq!(f.name, "public.f");
        assert!(f.definition.contains("PERFORM $q$ ; $$ ; $q$;"));
        assert!(f.definition.ends_with("END\n$_$"));
        assert!(index.db.manual[1]
            .definition
            .ends_with("SELECT (a + 1);\nEND"));
    }

    #[test]
    fn insert_forms() {
        let dump = wrap(&format!(
            "{T3}INSERT INTO public.t VALUES (1, 'it''s', NULL);\n\
             INSERT INTO public.t VALUES (-2, '', 'a\\b');\n\
             SET x = 1;\n\
             INSERT INTO public.t (c, a) VALUES ('first', -3.5e2);\n\
             INSERT INTO public.t (c, a) VALUES ('second', 4);\n\
             INSERT INTO public.t (a) VALUES (5);\n\
             INSERT INTO public.t VALUES\n\t(6, 'x', 'y'),\n\t(7, NULL, 'tab\there');\n"
        ));
        let blocks = read_all(&dump).unwrap();
        let summary: Vec<_> = blocks
            .iter()
            .map(|(b, _)| (b.columns.clone().map(|c| c.join(",")), b.rows, b.line))
            .collect();
        assert_eq!(
            summary,
            [
                (None, 2, 14),
                (Some("c,a".to_string()), 2, 17),
                (Some("a".to_string()), 1, 19),
                (None, 2, 20)
            ]
        );
        assert_eq!(
            blocks[0].1,
            [
                (14, vec![s("1"), s("it's"), None]),
                (15, vec![s("-2"), s(""), s("a\\b")])
            ]
        );
        assert_eq!(
            blocks[1].1,
            [
                (17, vec![s("first"), s("-3.5e2")]),
                (18, vec![s("second"), s("4")])
            ]
        );
        assert_eq!(
            blocks[3].1,
            [
                (21, vec![s("6"), s("x"), s("y")]),
                (22, vec![s("7"), None, s("tab\there")])
            ]
        );
    }

    #[test]
    fn standard_conforming_strings_off() {
        let dump = wrap(&format!(
            "SET standard_conforming_strings = off;\n{T3}INSERT INTO public.t VALUES (1, 'it\\'s; ok', E'a\\\\b');\n"
        ));
        let blocks = read_all(&dump).unwrap();
        assert!(!blocks[0].0.standard_strings);
        assert_eq!(blocks[0].1[0].1, [s("1"), s("it's; ok"), s("a\\b")]);
    }

    #[test]
    fn quoted_non_ascii_names() {
        let dump = wrap(
            "CREATE TABLE \"Schéma\".\"Tāble \"\"ü\"\"\" (\n    \"Cöl\" integer,\n    \"select\" text\n);\n\n\
             COPY \"Schéma\".\"Tāble \"\"ü\"\"\" (\"Cöl\", \"select\") FROM stdin;\n1\tx\n\\.\n",
        );
        let blocks = read_all(&dump).unwrap();
        assert_eq!(blocks[0].0.table, q("Schéma", "Tāble \"ü\""));
        assert_eq!(blocks[0].0.columns.as_deref().unwrap(), ["Cöl", "select"]);
        assert_eq!(blocks[0].1[0].1, [s("1"), s("x")]);
    }

    #[test]
    fn refusals() {
        let err = scan_str("").unwrap_err();
        assert!(err.message.contains("empty"), "{err}");
        let err = scan_str(&wrap("CREATE VIEW public.v AS SELECT 1;\n")).unwrap_err();
        assert!(err.message.contains("no tables found in the dump"), "{err}");
        let err = scan_str(&wrap("COPY public.t (a) FROM stdin;\n1\n\\.\n")).unwrap_err();
        assert_eq!(err.line, 8);
        assert!(err.message.contains("never creates"), "{err}");
        let err = scan_str(&wrap(&format!(
            "{T3}INSERT INTO public.t (a, z) VALUES (1, 2);\n"
        )))
        .unwrap_err();
        assert!(err.message.contains("column z"), "{err}");
        let err = scan_str("SET client_encoding = 'LATIN1';\n").unwrap_err();
        assert_eq!(err.line, 1);
        assert!(
            err.message.contains("LATIN1") && err.message.contains("pg_dump -E UTF8"),
            "{err}"
        );
        let err = scan(&b"PGDMP\x01\x0f\x00\x04\x08\x01"[..], None).unwrap_err();
        assert!(err.message.contains("pg_restore"), "{err}");
    }

    #[test]
    fn reader_checks_its_position() {
        let index = scan_str(SMALL).unwrap();
        let mut block = index.blocks[0].clone();
        block.offset += 2; // inside the first line: fields are missing
        let err = read_block(SMALL.as_bytes(), &block).unwrap_err();
        assert_eq!(err.line, 65);
        assert!(err.message.contains("fields, expected 4"), "{err}");
    }

    #[test]
    fn foreign_table_data_is_read_past() {
        let dump = wrap(&format!(
            "{T3}CREATE FOREIGN TABLE public.ft (\n    a integer\n)\nSERVER s;\n\n\
             COPY public.ft (a) FROM stdin;\n1\n\\.\n\nINSERT INTO public.ft VALUES (now());\n\n\
             COPY public.t (a, b, c) FROM stdin;\n1\t2\t3\n\\.\n"
        ));
        let blocks = read_all(&dump).unwrap();
        assert_eq!(blocks.len(), 1);
        assert_eq!(blocks[0].0.table, q("public", "t"));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

        // Fuzzing by property: a damaged dump is an error with a line, never a panic
        // and never a silent success with rows lost.
        #[test]
        fn damaged_dumps_never_panic(
            cut in 0usize..4000,
            flips in proptest::collection::vec((0usize..4000, proptest::prelude::any::<u8>()), 0..4),
        ) {
            let mut bytes = SMALL.as_bytes().to_vec();
            for (at, b) in flips {
                let at = at % bytes.len();
                bytes[at] = b;
            }
            bytes.truncate(cut.min(bytes.len()));
            if let Ok(index) = scan(&bytes[..], None) {
                for block in &index.blocks {
                    let mut rows = 0;
                    let mut r = BlockReader::new(&bytes[block.offset as usize..], block);
                    let mut fields = Vec::new();
                    while let Ok(Some(_)) = r.next_row(&mut fields) {
                        rows += 1;
                    }
                    proptest::prop_assert!(rows <= block.rows);
                }
            }
        }

        #[test]
        fn arbitrary_text_never_panics(text in "\\PC{0,300}") {
            let _ = scan(text.as_bytes(), None);
        }
    }
}
