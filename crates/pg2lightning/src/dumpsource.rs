//! Reading rows from a pg_dump script: each data block (a `COPY ... FROM stdin` or
//! a run of INSERTs) is a partition, read by seeking to where the scan found it.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufReader, Seek, SeekFrom};
use std::path::PathBuf;
use std::sync::Arc;

use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema};

use crate::convert::ConvertedTable;
use crate::dump::{BlockReader, DataBlock};
use crate::rows::convert_row;
use crate::server::keyless_rowid;

/// One block of rows and where its fields go.
struct Block {
    table: usize,
    leaf: usize,
    block: DataBlock,
    /// For each plan column, its field in the block's rows.
    fields: Vec<usize>,
    /// Rows of the same source table in earlier blocks (keyless numbering goes on).
    first_ordinal: i64,
}

pub struct DumpSource {
    path: PathBuf,
    tables: Vec<(Arc<str>, ConvertedTable)>,
    blocks: Vec<Block>,
    unconvertible: SkippedRows,
    /// The hash of the dump's bytes.
    pub content_id: Option<String>,
}

impl DumpSource {
    /// `path` holds the dump (the file given, or stdin spooled to disk).
    pub fn new(
        path: PathBuf,
        tables: Vec<ConvertedTable>,
        blocks: Vec<DataBlock>,
        all_columns: &dyn Fn(&crate::model::QualifiedName) -> Vec<String>,
    ) -> Result<DumpSource, SourceError> {
        let mut out = Vec::new();
        let mut seen: HashMap<(usize, usize), i64> = HashMap::new();
        for b in blocks {
            let Some((ti, leaf)) = tables.iter().enumerate().find_map(|(ti, t)| {
                t.sources
                    .iter()
                    .position(|s| s == &b.table)
                    .map(|l| (ti, l))
            }) else {
                continue; // a table not selected
            };
            let names = b.columns.clone().unwrap_or_else(|| all_columns(&b.table));
            let fields = tables[ti]
                .columns
                .iter()
                .map(|c| {
                    names.iter().position(|n| n == &c.name).ok_or_else(|| {
                        format!(
                            "line {}: the data of {} has no column `{}`",
                            b.line, b.table, c.name
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()?;
            let before = seen.entry((ti, leaf)).or_default();
            let first_ordinal = *before;
            *before += b.rows as i64;
            out.push(Block {
                table: ti,
                leaf,
                block: b,
                fields,
                first_ordinal,
            });
        }
        Ok(DumpSource {
            path,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.schema.name.as_str()), t))
                .collect(),
            blocks: out,
            unconvertible: SkippedRows::default(),
            content_id: None,
        })
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(_, t)| t.schema.clone()).collect()
    }

    /// The size of the dump file.
    pub fn size_bytes(&self) -> u64 {
        std::fs::metadata(&self.path).map_or(0, |m| m.len())
    }

    /// Bytes of each table's data in the dump (COPY lines, INSERT statements).
    pub fn data_bytes(&self) -> HashMap<String, u64> {
        let mut out: HashMap<String, u64> = HashMap::new();
        for b in &self.blocks {
            *out.entry(self.tables[b.table].0.to_string()).or_default() += b.block.bytes;
        }
        out
    }

    /// Rows per table, as the scan counted them.
    pub fn row_counts(&self) -> HashMap<String, u64> {
        let mut out: HashMap<String, u64> = HashMap::new();
        for b in &self.blocks {
            *out.entry(self.tables[b.table].0.to_string()).or_default() += b.block.rows;
        }
        out
    }

    /// Read block `bi`, handing each converted row (with its line) to `visit`.
    fn read_block(
        &self,
        bi: usize,
        visit: &mut dyn FnMut(
            Option<i64>,
            Result<Row, crate::rows::BadRow>,
        ) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let b = &self.blocks[bi];
        let t = &self.tables[b.table].1;
        let keyed = !t.schema.primary_key.is_empty();
        let mut file = File::open(&self.path)
            .map_err(|e| format!("cannot reopen the dump {}: {e}", self.path.display()))?;
        file.seek(SeekFrom::Start(b.block.offset))?;
        let mut reader = BlockReader::new(BufReader::with_capacity(1 << 16, file), &b.block);
        let mut fields = Vec::with_capacity(b.fields.len());
        let mut picked: Vec<Option<String>> = Vec::with_capacity(b.fields.len());
        let mut n = 0u64;
        while let Some(line) = reader.next_row(&mut fields)? {
            n += 1;
            picked.clear();
            picked.extend(
                b.fields
                    .iter()
                    .map(|&i| fields.get_mut(i).and_then(Option::take)),
            );
            let rowid = (!keyed).then(|| keyless_rowid(b.leaf, b.first_ordinal + n as i64));
            let mut row = Vec::with_capacity(picked.len());
            let converted = convert_row(&t.columns, &t.schema, rowid, &picked, &mut row)
                .map(|()| row)
                .map_err(|mut bad| {
                    bad.reason = format!("line {line}: {}", bad.reason);
                    bad
                });
            visit(rowid, converted)?;
        }
        Ok(())
    }
}

impl Source for DumpSource {
    fn content_id(&self) -> Option<String> {
        self.content_id.clone()
    }

    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        Ok(self
            .blocks
            .iter()
            .enumerate()
            .map(|(i, b)| {
                let name = &self.tables[b.table].0;
                Partition {
                    // Stable across runs of the same dump: the table and its block's line.
                    id: format!("{name}@{}", b.block.line),
                    table: name.clone(),
                    estimated_rows: b.block.rows,
                    spec: i.to_string(),
                }
            })
            .collect())
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        let bi: usize = partition.spec.parse()?;
        let name = self.tables[self.blocks[bi].table].0.clone();
        // A dump cannot be sought by key: the rows a previous run committed are
        // read again and dropped.
        let skip = resume.map_or(0, |c| c.rows);
        if skip > 0 {
            out.skip_records(skip);
        }
        self.read_block(bi, &mut |rowid, converted| {
            match converted {
                Ok(row) => out.row(&name, rowid, row),
                Err(bad) => out.reject(&name, bad.key, bad.reason, bad.raw),
            }
            out.end_record(|| None)
        })
    }
}

impl VerifySource for DumpSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        self.unconvertible.scan(&table.name, visit, |each| {
            for bi in 0..self.blocks.len() {
                if *self.tables[self.blocks[bi].table].0 == *table.name {
                    self.read_block(bi, &mut |rowid, converted| each(rowid, converted))?;
                }
            }
            Ok(())
        })
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
