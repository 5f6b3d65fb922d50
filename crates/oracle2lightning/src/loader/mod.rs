//! SQL*Loader input: control files (`control.rs`) and their delimited data files,
//! read for the copy pipeline and for verification (`LoaderSource`).

pub mod control;

use std::fs::File;
use std::io::{BufReader, Read};
use std::sync::Arc;

use lightning_core::fingerprint::HashingReader;
use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema, Value};

use crate::convert::SourceTable;
use crate::mapping;
use crate::script::Literal;
use control::{Control, FieldKind};

/// A row that cannot be carried: its key (with its place), why, and its values as read.
type Bad = (String, String, Row);

/// A table loaded from a control file's data files.
pub struct LoadTable {
    pub table: SourceTable,
    pub control: Control,
    /// The stored column of each field; `None` for a filler.
    pub slots: Vec<Option<usize>>,
    /// Records in the data files (a header skipped), and their bytes.
    pub rows: u64,
    pub bytes: u64,
}

fn reader<R: Read>(c: &Control, r: R) -> csv::Reader<R> {
    let mut b = csv::ReaderBuilder::new();
    b.has_headers(false)
        .flexible(true)
        .delimiter(c.delimiter)
        .double_quote(true);
    match c.quote {
        Some(q) => b.quote(q),
        None => b.quoting(false),
    };
    b.from_reader(r)
}

/// The data files' records counted and hashed in one pass: (records, bytes, hash).
pub fn survey(c: &Control) -> anyhow::Result<(u64, u64, String)> {
    use anyhow::Context;
    let mut rows = 0u64;
    let mut bytes = 0u64;
    let mut ids = Vec::new();
    for (i, path) in c.files.iter().enumerate() {
        let f = File::open(path).with_context(|| {
            format!(
                "cannot open {} (an INFILE of {})",
                path.display(),
                c.path.display()
            )
        })?;
        bytes += f.metadata().map(|m| m.len()).unwrap_or(0);
        let mut h = HashingReader::new(BufReader::new(f));
        let mut r = reader(c, &mut h);
        let mut rec = csv::ByteRecord::new();
        let mut n = 0u64;
        while r
            .read_byte_record(&mut rec)
            .with_context(|| format!("reading {}", path.display()))?
        {
            n += 1;
        }
        drop(r);
        let mut rest = Vec::new();
        h.read_to_end(&mut rest)?;
        rows += if i == 0 { n.saturating_sub(c.skip) } else { n };
        ids.push(h.content_id());
    }
    Ok((rows, bytes, ids.join("+")))
}

pub struct LoaderSource {
    content_id: String,
    tables: Vec<(Arc<str>, LoadTable)>,
    unconvertible: SkippedRows,
}

impl LoaderSource {
    pub fn new(content_id: String, tables: Vec<LoadTable>) -> Self {
        LoaderSource {
            content_id,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.table.schema.name.as_str()), t))
                .collect(),
            unconvertible: SkippedRows::default(),
        }
    }

    pub fn tables(&self) -> impl Iterator<Item = &LoadTable> {
        self.tables.iter().map(|(_, t)| t)
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables
            .iter()
            .map(|(_, t)| t.table.schema.clone())
            .collect()
    }

    fn table(&self, name: &str) -> Result<&(Arc<str>, LoadTable), SourceError> {
        self.tables
            .iter()
            .find(|(n, _)| &**n == name)
            .ok_or_else(|| format!("no table `{name}` in the control files").into())
    }

    /// One record's fields into a row of the table.
    fn convert_row(t: &LoadTable, rec: &csv::StringRecord, place: &str) -> Result<Row, Bad> {
        let st = &t.table;
        let mut row = vec![Value::Null; st.schema.columns.len()];
        let fields = &t.control.fields;
        let short = rec.len() < fields.len() && !t.control.trailing_nullcols;
        if short || rec.len() > fields.len() {
            let raw = rec.iter().map(|f| Value::Text(f.to_string())).collect();
            return Err((
                place.to_string(),
                format!(
                    "the record has {} fields and the control file lists {}{}",
                    rec.len(),
                    fields.len(),
                    if short {
                        " (TRAILING NULLCOLS makes missing ones NULL)"
                    } else {
                        ""
                    }
                ),
                raw,
            ));
        }
        let mut failed = None;
        for (i, (f, slot)) in fields.iter().zip(&t.slots).enumerate() {
            let Some(slot) = *slot else { continue };
            let text = rec.get(i).unwrap_or("");
            // An empty field is NULL, as Oracle holds the empty string.
            let lit = if text.is_empty() || f.blanks_null && text.trim().is_empty() {
                Literal::Null
            } else {
                match &f.kind {
                    FieldKind::Stamp { mask, .. } => match mask.read(text) {
                        Ok(s) => Literal::Stamp(s, text.to_string()),
                        Err(why) => Literal::Invalid {
                            text: text.to_string(),
                            why,
                        },
                    },
                    _ => Literal::Str(text.to_string()),
                }
            };
            match mapping::convert(&lit, &st.types[slot], &st.resolved[slot]) {
                Ok(v) => row[slot] = v,
                Err(e) => {
                    row[slot] = Value::Text(text.to_string());
                    failed.get_or_insert(format!("column `{}`: {e}", st.schema.columns[slot].name));
                }
            }
        }
        match failed {
            None => Ok(row),
            Some(why) => {
                let key = if st.keyed_by_position() {
                    place.to_string()
                } else {
                    format!("{}, {place}", st.schema.describe_key(None, &row))
                };
                Err((key, why, row))
            }
        }
    }

    /// Read a table's records from `resume` (`FILE:OFFSET:LINE`), calling `visit`
    /// with each row (or why it cannot be carried) and the position after it.
    fn read_rows(
        &self,
        t: &LoadTable,
        resume: Option<[u64; 3]>,
        visit: &mut dyn FnMut(Result<Row, Bad>, String) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let c = &t.control;
        for (fi, path) in c.files.iter().enumerate() {
            let mut skip = if fi == 0 { c.skip } else { 0 };
            let file =
                File::open(path).map_err(|e| format!("cannot open {}: {e}", path.display()))?;
            let mut r = reader(c, BufReader::new(file));
            match resume {
                Some([f, _, _]) if (f as usize) > fi => continue,
                Some([f, off, line]) if f as usize == fi => {
                    let mut at = csv::Position::new();
                    at.set_byte(off).set_line(line);
                    r.seek_raw(std::io::SeekFrom::Start(off), at)?;
                    skip = 0;
                }
                _ => {}
            }
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let mut rec = csv::StringRecord::new();
            loop {
                let line = r.position().line();
                let more = r.read_record(&mut rec).map_err(|e| {
                    format!("{name}, line {line}: {e} (the data file is not UTF-8, or is damaged)")
                })?;
                if !more {
                    break;
                }
                if skip > 0 {
                    skip -= 1;
                    continue;
                }
                let after = r.position();
                let pos = format!("{fi}:{}:{}", after.byte(), after.line());
                let item = Self::convert_row(t, &rec, &format!("{name} line {line}"));
                visit(item, pos)?;
            }
        }
        Ok(())
    }
}

impl Source for LoaderSource {
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
                estimated_rows: t.rows,
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
        let at = resume.and_then(|c| c.position_numbers());
        self.read_rows(t, at, &mut |item, pos| {
            let rowid = t
                .table
                .keyed_by_position()
                .then(|| out.records() as i64 + 1);
            match item {
                Ok(row) => out.row(name, rowid, row),
                Err((key, why, raw)) => out.reject(name, key, why, raw),
            }
            out.end_record(|| Some(pos.clone()))
        })
    }

    fn bad_row_fix(&self) -> &'static str {
        "Fix the record in the data file, add a --cast rule"
    }
}

impl VerifySource for LoaderSource {
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
                each(t.table.keyed_by_position().then_some(ordinal), item)
            })
        })
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
