//! Reading the tables' COPY TO files for the copy pipeline and for verification.

use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema, Value};

use crate::convert::SourceTable;
use crate::cql::schema::Schema;
use crate::csvfile::{Escapes, Records};
use crate::value::Reading;

/// One file of a table's rows (COPY TO splits a large table over `t.csv`,
/// `t.csv.1`, ...).
#[derive(Debug, Clone)]
pub struct DataFile {
    pub path: PathBuf,
    pub escapes: Escapes,
    /// Rows, the header left out.
    pub rows: u64,
    pub bytes: u64,
    /// Where the rows start: after the header, if it has one.
    pub data_offset: u64,
    pub data_line: u64,
    /// The stored column of each field.
    pub slots: Vec<usize>,
}

pub struct TableData {
    pub table: SourceTable,
    pub files: Vec<DataFile>,
}

/// A row that cannot be carried: its key (with its line), why, and its values as read.
type Bad = (String, String, Row);

pub struct CsvSource {
    content_id: String,
    schema: Arc<Schema>,
    tables: Vec<(Arc<str>, TableData)>,
    null: Option<String>,
    delimiter: u8,
    unconvertible: SkippedRows,
}

impl CsvSource {
    pub fn new(
        content_id: String,
        schema: Arc<Schema>,
        tables: Vec<TableData>,
        null: Option<String>,
        delimiter: u8,
    ) -> Self {
        CsvSource {
            content_id,
            schema,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.table.schema.name.as_str()), t))
                .collect(),
            null,
            delimiter,
            unconvertible: SkippedRows::default(),
        }
    }

    pub fn tables(&self) -> impl Iterator<Item = &TableData> {
        self.tables.iter().map(|(_, t)| t)
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables
            .iter()
            .map(|(_, t)| t.table.schema.clone())
            .collect()
    }

    fn table(&self, name: &str) -> Result<&(Arc<str>, TableData), SourceError> {
        self.tables
            .iter()
            .find(|(n, _)| &**n == name)
            .ok_or_else(|| format!("no table `{name}` in the export").into())
    }

    /// Read a table's files from `resume` (`FILE:OFFSET:LINE`), calling `visit` with
    /// each row (or why it cannot be carried) and the position after it.
    fn read_rows(
        &self,
        data: &TableData,
        resume: Option<(usize, u64, u64)>,
        visit: &mut dyn FnMut(Result<Row, Bad>, String) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let t = &data.table;
        let reading = Reading {
            schema: &self.schema,
            keyspace: &t.keyspace,
            null: self.null.as_deref(),
        };
        for (n, f) in data.files.iter().enumerate() {
            let (offset, line) = match resume {
                Some((file, _, _)) if file > n => continue,
                Some((file, offset, line)) if file == n => (offset, line),
                _ => (f.data_offset, f.data_line),
            };
            let shown = f.path.display();
            let mut file = File::open(&f.path).map_err(|e| format!("cannot open {shown}: {e}"))?;
            file.seek(SeekFrom::Start(offset))
                .map_err(|e| format!("reading {shown}: {e}"))?;
            let mut records = Records::new(
                BufReader::with_capacity(1 << 20, file),
                self.delimiter,
                f.escapes,
                offset,
                line,
            );
            while let Some(rec) = records.next_record().map_err(|e| format!("{shown}: {e}"))? {
                if rec.fields.len() != f.slots.len() {
                    return Err(format!(
                        "{shown}: line {}: {} fields where the header has {}: the file is damaged or was written with another DELIMITER (give it with --delimiter)",
                        rec.line,
                        rec.fields.len(),
                        f.slots.len()
                    )
                    .into());
                }
                let item = convert_row(&reading, t, &f.slots, &rec.fields, rec.line);
                let pos = format!("{n}:{}:{}", records.offset(), records.line());
                visit(item, pos)?;
            }
        }
        Ok(())
    }
}

/// Convert one record's fields into the table's stored row.
fn convert_row(
    reading: &Reading<'_>,
    t: &SourceTable,
    slots: &[usize],
    fields: &[String],
    line: u64,
) -> Result<Row, Bad> {
    let mut row = vec![Value::Null; t.schema.columns.len()];
    let mut failed = None;
    for (&slot, field) in slots.iter().zip(fields) {
        match reading.convert(field, &t.types[slot], &t.resolved[slot]) {
            Ok(v) => row[slot] = v,
            Err(e) => {
                row[slot] = Value::Text(field.clone());
                failed.get_or_insert(format!("column `{}`: {e}", t.schema.columns[slot].name));
            }
        }
    }
    match failed {
        None => Ok(row),
        Some(why) => Err((
            format!("{}, line {line}", t.schema.describe_key(None, &row)),
            why,
            row,
        )),
    }
}

impl Source for CsvSource {
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
                estimated_rows: t.files.iter().map(|f| f.rows).sum(),
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
            match item {
                Ok(row) => out.row(name, None, row),
                Err((key, why, raw)) => out.reject(name, key, why, raw),
            }
            out.end_record(|| Some(pos.clone()))
        })
    }

    fn bad_row_fix(&self) -> &'static str {
        "Fix the row in the file, add a --cast rule"
    }
}

impl VerifySource for CsvSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let (_, t) = self.table(&table.name)?;
        self.unconvertible.scan(&table.name, visit, |each| {
            self.read_rows(t, None, &mut |item, _| each(None, item))
        })
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
