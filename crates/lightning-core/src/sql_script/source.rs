//! A script's tables as a copy source: each table one partition, read from its
//! runs of INSERTs, resumed at the statement and row where its last commit ended
//! (`OFFSET:LINE:ROW`).

use std::collections::HashMap;
use std::marker::PhantomData;
use std::sync::Arc;

use super::{each_insert, insert_head, insert_rows, InsertSyntax, LexError, Lexer};
use crate::cast::{Resolved, SourceType};
use crate::pipeline::{Partition, RowEmitter, Source, SourceError};
use crate::report::TableAssessment;
use crate::store::Checkpoint;
use crate::verify::{SkippedRows, VerifySource};
use crate::{Row, TableSchema, Value};

/// A run of INSERT statements into one table.
#[derive(Debug, Clone)]
pub struct InsertRun {
    pub offset: usize,
    pub line: u64,
    pub end: usize,
    pub rows: u64,
}

/// A table to copy: its Lightning schema and how each stored column is read.
#[derive(Debug, Clone)]
pub struct SourceTable<N> {
    pub schema: TableSchema,
    pub name: N,
    /// The script's column names as the database stores them, in the order of
    /// `schema.columns`.
    pub source_columns: Vec<String>,
    pub types: Vec<SourceType>,
    pub resolved: Vec<Resolved>,
}

impl<N> SourceTable<N> {
    /// No primary key: rows are keyed by their position in the script.
    pub fn keyed_by_position(&self) -> bool {
        self.schema.primary_key.is_empty()
    }

    /// The table as an assessment lists it, with its rows and the bytes that hold them.
    pub fn assessment(&self, rows: u64, size_bytes: u64) -> TableAssessment {
        TableAssessment {
            table: self.schema.name.clone(),
            rows,
            size_bytes,
            columns: self.schema.columns.len(),
            indexes: self.schema.indexes.len() + self.schema.uniques.len(),
            foreign_keys: self.schema.foreign_keys.len(),
        }
    }

    /// Name the table `target` in the store, and the tables its foreign keys
    /// reference `referenced` (in the order of its keys), as the run renames them.
    pub fn set_targets(&mut self, target: String, referenced: Vec<String>) {
        self.schema.name = target;
        for (fk, r) in self.schema.foreign_keys.iter_mut().zip(referenced) {
            fk.ref_table = r;
        }
    }
}

/// How a dialect's INSERT values become Lightning values.
pub trait ScriptValues: InsertSyntax {
    /// A value read for a column of type `ty`, or why it cannot be.
    fn convert(value: &Self::Value, ty: &SourceType, r: &Resolved) -> Result<Value, String>;
    /// A value as text, to show in a reject file beside the reason.
    fn as_text(value: &Self::Value) -> Value;
}

/// A row that cannot be carried: its key (with its line), why, and its values as far as read.
type Bad = (String, String, Row);

pub struct ScriptSource<D: ScriptValues> {
    text: Arc<str>,
    content_id: String,
    /// Selected tables, by target name.
    tables: Vec<(Arc<str>, SourceTable<D::Name>)>,
    ranges: HashMap<D::Name, Vec<InsertRun>>,
    unconvertible: SkippedRows,
    dialect: PhantomData<fn() -> D>,
}

impl<D: ScriptValues> ScriptSource<D> {
    pub fn new(
        text: Arc<str>,
        content_id: String,
        tables: Vec<SourceTable<D::Name>>,
        ranges: HashMap<D::Name, Vec<InsertRun>>,
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
            dialect: PhantomData,
        }
    }

    pub fn tables(&self) -> impl Iterator<Item = &SourceTable<D::Name>> {
        self.tables.iter().map(|(_, t)| t)
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(_, t)| t.schema.clone()).collect()
    }

    fn table(&self, name: &str) -> Result<&(Arc<str>, SourceTable<D::Name>), SourceError> {
        self.tables
            .iter()
            .find(|(n, _)| &**n == name)
            .ok_or_else(|| format!("no table `{name}` in the script").into())
    }

    fn runs(&self, t: &SourceTable<D::Name>) -> &[InsertRun] {
        self.ranges
            .iter()
            .find(|(n, _)| D::same_table(n, &t.name))
            .map_or(&[], |(_, r)| r.as_slice())
    }

    /// Rows the script holds for a table.
    pub fn rows(&self, t: &SourceTable<D::Name>) -> u64 {
        self.runs(t).iter().map(|r| r.rows).sum()
    }

    /// Bytes of a table's INSERT statements.
    pub fn bytes(&self, t: &SourceTable<D::Name>) -> u64 {
        self.runs(t).iter().map(|r| (r.end - r.offset) as u64).sum()
    }

    /// Convert one row of values in the INSERT's column order.
    fn convert_row(
        t: &SourceTable<D::Name>,
        slots: &[usize],
        values: Vec<D::Value>,
        key: &dyn Fn(&Row) -> String,
    ) -> Result<Row, Bad> {
        let mut row = vec![Value::Null; t.schema.columns.len()];
        let mut failed = None;
        for (&slot, lit) in slots.iter().zip(values) {
            match D::convert(&lit, &t.types[slot], &t.resolved[slot]) {
                Ok(v) => row[slot] = v,
                Err(e) => {
                    row[slot] = D::as_text(&lit);
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
        t: &SourceTable<D::Name>,
        resume: Option<(usize, u64, u64)>,
        visit: &mut dyn FnMut(Result<Row, Bad>, String) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        for r in self.runs(t) {
            let (start, line, skip) = match resume {
                Some((off, _, _)) if off >= r.end => continue,
                Some((off, line, rows)) if off >= r.offset => (off, line, rows),
                _ => (r.offset, r.line, 0),
            };
            self.read_run(t, &self.text[..r.end], (start, line, skip), visit)
                .map_err(D::unstop)?;
        }
        Ok(())
    }

    /// One run of INSERTs, in `text`, from `start` (`offset, line, rows` to skip).
    fn read_run(
        &self,
        t: &SourceTable<D::Name>,
        text: &str,
        (start, line, mut skip): (usize, u64, u64),
        visit: &mut dyn FnMut(Result<Row, Bad>, String) -> Result<(), SourceError>,
    ) -> Result<(), D::Error> {
        each_insert::<D>(text, (start, line), |lx, at, stmt_line| {
            let head = insert_head(lx)?;
            let mine = D::same_table(&head.table, &t.name);
            let slots = if mine {
                slots(t, head.columns.as_deref(), lx)?
            } else {
                Vec::new()
            };
            insert_rows(lx, &mut |i, row_line, values| {
                if !mine || i < skip {
                    return Ok(true);
                }
                if values.len() != slots.len() {
                    let message = format!(
                        "INSERT INTO {}: row {} has {} values for {} columns",
                        D::sql(&t.name),
                        i + 1,
                        values.len(),
                        slots.len()
                    );
                    return Err(LexError {
                        line: row_line,
                        message,
                    }
                    .into());
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
                visit(item, pos).map_err(D::stop)?;
                Ok(true)
            })?;
            skip = 0;
            Ok(())
        })
    }
}

/// The place of each INSERT value among the table's stored columns.
fn slots<D: InsertSyntax>(
    t: &SourceTable<D::Name>,
    listed: Option<&[String]>,
    lx: &mut Lexer<'_, D>,
) -> Result<Vec<usize>, D::Error> {
    let Some(listed) = listed else {
        return Ok((0..t.source_columns.len()).collect());
    };
    listed
        .iter()
        .map(|n| {
            t.source_columns
                .iter()
                .position(|c| D::same_column(c, n))
                .ok_or_else(|| {
                    let message = format!(
                        "INSERT INTO {}: the table has no column {}",
                        D::sql(&t.name),
                        D::column_sql(n)
                    );
                    lx.syntax(message).into()
                })
        })
        .collect()
}

impl<D: ScriptValues> Source for ScriptSource<D>
where
    D::Name: Send + Sync,
{
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

impl<D: ScriptValues> VerifySource for ScriptSource<D>
where
    D::Name: Send + Sync,
{
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
