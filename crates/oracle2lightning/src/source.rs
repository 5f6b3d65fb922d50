//! Reading a script's rows for the copy pipeline and for verification.

use std::collections::HashMap;
use std::sync::Arc;

use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema, Value};

use crate::convert::SourceTable;
use crate::mapping;
use crate::model::QualifiedName;
use crate::script::lex::{Lexer, Tok};
use crate::script::{insert_head, insert_rows, pass_over, Literal, Range, ScriptError};

/// A row that cannot be carried: its key (with its line), why, and its values as far as read.
type Bad = (String, String, Row);

pub struct ScriptSource {
    text: Arc<str>,
    content_id: String,
    /// Selected tables, by target name.
    tables: Vec<(Arc<str>, SourceTable)>,
    ranges: HashMap<QualifiedName, Vec<Range>>,
    unconvertible: SkippedRows,
}

impl ScriptSource {
    pub fn new(
        text: Arc<str>,
        content_id: String,
        tables: Vec<SourceTable>,
        ranges: HashMap<QualifiedName, Vec<Range>>,
    ) -> Self {
        ScriptSource {
            text,
            content_id,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.schema.name.as_str()), t))
                .collect(),
            ranges,
            unconvertible: SkippedRows::default(),
        }
    }

    pub fn tables(&self) -> impl Iterator<Item = &SourceTable> {
        self.tables.iter().map(|(_, t)| t)
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(_, t)| t.schema.clone()).collect()
    }

    fn table(&self, name: &str) -> Result<&(Arc<str>, SourceTable), SourceError> {
        self.tables
            .iter()
            .find(|(n, _)| &**n == name)
            .ok_or_else(|| format!("no table `{name}` in the script").into())
    }

    fn runs(&self, t: &SourceTable) -> &[Range] {
        self.ranges
            .iter()
            .find(|(n, _)| n.same(&t.name))
            .map_or(&[], |(_, r)| r.as_slice())
    }

    /// Rows the script holds for a table.
    pub fn rows(&self, t: &SourceTable) -> u64 {
        self.runs(t).iter().map(|r| r.rows).sum()
    }

    /// Bytes of a table's INSERT statements.
    pub fn bytes(&self, t: &SourceTable) -> u64 {
        self.runs(t).iter().map(|r| (r.end - r.offset) as u64).sum()
    }

    /// Convert one row of literals in the INSERT's column order.
    fn convert_row(
        t: &SourceTable,
        slots: &[usize],
        values: Vec<Literal>,
        key: &dyn Fn(&Row) -> String,
    ) -> Result<Row, Bad> {
        let mut row = vec![Value::Null; t.schema.columns.len()];
        let mut failed = None;
        for (&slot, lit) in slots.iter().zip(values) {
            match mapping::convert(&lit, &t.types[slot], &t.resolved[slot]) {
                Ok(v) => row[slot] = v,
                Err(e) => {
                    row[slot] = literal_text(&lit);
                    failed.get_or_insert(format!("column `{}`: {e}", t.schema.columns[slot].name));
                }
            }
        }
        match failed {
            None => Ok(row),
            Some(why) => Err((key(&row), why, row)),
        }
    }

    /// Read a table's INSERTs from `resume` (`offset:line:rows`), calling `visit`
    /// with each row (or why it cannot be carried) and its resume position.
    fn read_rows(
        &self,
        t: &SourceTable,
        resume: Option<(usize, u64, u64)>,
        visit: &mut dyn FnMut(Result<Row, Bad>, String) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        for r in self.runs(t) {
            let (start, line, mut skip) = match resume {
                Some((off, _, _)) if off >= r.end => continue,
                Some((off, line, rows)) if off >= r.offset => (off, line, rows),
                _ => (r.offset, r.line, 0),
            };
            let text = &self.text[..r.end];
            let mut lx = Lexer::new(text, start, line);
            loop {
                let tok = lx.next().map_err(ScriptError::from)?;
                let at = lx.start;
                match tok {
                    Tok::Eof => break,
                    Tok::Slash | Tok::Punct(';') => continue,
                    Tok::Word(w) if w.eq_ignore_ascii_case("INSERT") => {}
                    other => {
                        pass_over(&mut lx, &other)?;
                        continue;
                    }
                }
                let stmt_line = lx.line();
                let head = insert_head(&mut lx)?;
                let mine = head.table.same(&t.name);
                let slots = if mine {
                    slots(t, head.columns.as_deref(), &mut lx)?
                } else {
                    Vec::new()
                };
                insert_rows(&mut lx, &mut |i, row_line, values| {
                    if !mine || i < skip {
                        return Ok(true);
                    }
                    if values.len() != slots.len() {
                        return Err(ScriptError::Syntax {
                            line: row_line,
                            message: format!(
                                "INSERT INTO {}: row {} has {} values for {} columns",
                                t.name.sql(),
                                i + 1,
                                values.len(),
                                slots.len()
                            ),
                        });
                    }
                    let key = |row: &Row| -> String {
                        if t.keyed_by_position() {
                            format!("line {row_line}")
                        } else {
                            format!("{}, line {row_line}", t.schema.describe_key(None, row))
                        }
                    };
                    let item = Self::convert_row(t, &slots, values, &key);
                    let pos = format!("{at}:{stmt_line}:{}", i + 1);
                    visit(item, pos).map_err(Stop)?;
                    Ok(true)
                })
                .map_err(|e| -> SourceError { unwrap_stop(e) })?;
                skip = 0;
            }
        }
        Ok(())
    }
}

/// A visitor's error carried through the script reader's own error type.
struct Stop(SourceError);

impl From<Stop> for ScriptError {
    fn from(s: Stop) -> Self {
        ScriptError::Stopped(s.0)
    }
}

fn unwrap_stop(e: ScriptError) -> SourceError {
    match e {
        ScriptError::Stopped(inner) => inner,
        other => Box::new(other),
    }
}

/// The place of each INSERT value among the table's stored columns.
fn slots(
    t: &SourceTable,
    listed: Option<&[String]>,
    lx: &mut Lexer<'_>,
) -> Result<Vec<usize>, ScriptError> {
    let Some(listed) = listed else {
        return Ok((0..t.source_columns.len()).collect());
    };
    listed
        .iter()
        .map(|n| {
            t.source_columns
                .iter()
                .position(|c| c == n)
                .ok_or_else(|| ScriptError::Syntax {
                    line: lx.line(),
                    message: format!(
                        "INSERT INTO {}: the table has no column \"{n}\"",
                        t.name.sql()
                    ),
                })
        })
        .collect()
}

/// A literal as text, to show in a reject file beside the reason.
fn literal_text(l: &Literal) -> Value {
    match l {
        Literal::Null => Value::Null,
        Literal::Num(n) => Value::Text(n.clone()),
        Literal::Str(s) => Value::Text(s.clone()),
        Literal::Bin(b) => Value::Blob(b.clone()),
        Literal::Stamp(_, text) | Literal::Invalid { text, .. } => Value::Text(text.clone()),
    }
}

impl Source for ScriptSource {
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
                estimated_rows: self.rows(t),
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
        let (name, t) = self.table(&partition.table)?;
        let at = resume
            .and_then(|c| c.position_numbers())
            .map(|[a, b, c]| (a as usize, b, c));
        self.read_rows(t, at, &mut |item, pos| {
            let rowid = t.keyed_by_position().then(|| out.records() as i64 + 1);
            match item {
                Ok(row) => out.row(name, rowid, row),
                Err((key, why, raw)) => out.reject(name, key, why, raw),
            }
            out.end_record(|| Some(pos.clone()))
        })
    }

    fn bad_row_fix(&self) -> &'static str {
        "Fix the row in the script, add a --cast rule"
    }
}

impl VerifySource for ScriptSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let (_, t) = self.table(&table.name)?;
        let mut ordinal = 0i64;
        self.unconvertible.scan(&table.name, visit, |each| {
            self.read_rows(t, None, &mut |item, _| {
                ordinal += 1;
                each(t.keyed_by_position().then_some(ordinal), item)
            })
        })
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
