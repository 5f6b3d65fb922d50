//! Reading rows from SQLite for the copy pipeline and for verification.

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema, Value};
use rusqlite::Connection;

use crate::catalog::{quote, SourceTable};
use crate::mapping::{convert, natural_value};

/// Tables with more rows than this are split into rowid ranges read in parallel.
const SPLIT_ROWS: u64 = 250_000;

pub struct SqliteSource {
    path: PathBuf,
    tables: Vec<(Arc<str>, SourceTable)>,
    where_: HashMap<String, String>,
    /// Read at most this many rows per partition (the assessment's timed sample).
    pub limit: Option<u64>,
    unconvertible: SkippedRows,
}

impl SqliteSource {
    pub fn new(path: PathBuf, tables: Vec<SourceTable>, where_: HashMap<String, String>) -> Self {
        SqliteSource {
            path,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.schema.name.as_str()), t))
                .collect(),
            where_,
            limit: None,
            unconvertible: SkippedRows::default(),
        }
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(_, t)| t.schema.clone()).collect()
    }

    fn table(&self, name: &str) -> Result<&(Arc<str>, SourceTable), SourceError> {
        self.tables
            .iter()
            .find(|(n, _)| &**n == name)
            .ok_or_else(|| format!("no table `{name}` in the source").into())
    }

    fn connect(&self) -> Result<Connection, SourceError> {
        Ok(crate::catalog::open(&self.path)?)
    }

    fn select_sql(&self, t: &SourceTable, extra: &[String]) -> String {
        let cols: Vec<String> = t.schema.columns.iter().map(|c| quote(&c.name)).collect();
        let mut conds: Vec<String> = extra.to_vec();
        if let Some(w) = self.where_.get(&t.schema.name) {
            conds.push(format!("({w})"));
        }
        let head = if let Some(rid) = &t.rowid {
            format!("SELECT {rid}, {}", cols.join(", "))
        } else {
            format!("SELECT {}", cols.join(", "))
        };
        let mut sql = format!("{head} FROM {}", quote(&t.source_name));
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        if let Some(rid) = &t.rowid {
            sql.push_str(&format!(" ORDER BY {rid}"));
        } else {
            let pk: Vec<String> = t.schema.primary_key.iter().map(|c| quote(c)).collect();
            if !pk.is_empty() {
                sql.push_str(&format!(" ORDER BY {}", pk.join(", ")));
            }
        }
        if let Some(l) = self.limit {
            sql.push_str(&format!(" LIMIT {l}"));
        }
        sql
    }

    /// Convert one SQLite row. On failure: the key, the reason, and the raw values.
    fn convert_row(
        t: &SourceTable,
        r: &rusqlite::Row<'_>,
        offset: usize,
    ) -> Result<Row, (String, String, Row)> {
        let mut row = Vec::with_capacity(t.columns.len());
        for (i, rule) in t.columns.iter().enumerate() {
            let v = r
                .get_ref(i + offset)
                .map_err(|e| (String::new(), e.to_string(), Vec::new()))?;
            match convert(v, rule) {
                Ok(x) => row.push(x),
                Err(reason) => {
                    let raw: Row = (0..t.columns.len())
                        .map(|j| {
                            r.get_ref(j + offset)
                                .map(natural_value)
                                .unwrap_or(Value::Null)
                        })
                        .collect();
                    let key = if t.keyed_by_rowid {
                        format!("rowid={}", r.get::<_, i64>(0).unwrap_or_default())
                    } else {
                        t.schema.describe_key(None, &raw)
                    };
                    return Err((
                        key,
                        format!("column `{}`: {reason}", t.schema.columns[i].name),
                        raw,
                    ));
                }
            }
        }
        Ok(row)
    }
}

impl Source for SqliteSource {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        let conn = self.connect()?;
        let mut out = Vec::new();
        for (name, t) in &self.tables {
            let rows: u64 = conn.query_row(
                &format!("SELECT count(*) FROM {}", quote(&t.source_name)),
                [],
                |r| r.get::<_, i64>(0),
            )? as u64;
            let rows = self.limit.map_or(rows, |l| rows.min(l));
            let split = t
                .rowid
                .as_ref()
                .filter(|_| rows > SPLIT_ROWS && self.limit.is_none());
            if let Some(rid) = split {
                let (lo, hi): (i64, i64) = conn.query_row(
                    &format!(
                        "SELECT min({rid}), max({rid}) FROM {}",
                        quote(&t.source_name)
                    ),
                    [],
                    |r| Ok((r.get(0)?, r.get(1)?)),
                )?;
                let parts = rows.div_ceil(SPLIT_ROWS);
                let span = ((hi as i128 - lo as i128 + 1) / parts as i128).max(1);
                for i in 0..parts {
                    let start = lo as i128 - 1 + span * i as i128;
                    let end = if i + 1 == parts {
                        hi as i128
                    } else {
                        start + span
                    };
                    out.push(Partition {
                        id: format!("{name}#{i}"),
                        table: name.clone(),
                        estimated_rows: rows / parts,
                        // The first range has no lower bound (rowids reach i64::MIN).
                        spec: if i == 0 {
                            format!("..{end}")
                        } else {
                            format!("{start}..{end}")
                        },
                    });
                }
            } else {
                out.push(Partition {
                    id: name.to_string(),
                    table: name.clone(),
                    estimated_rows: rows,
                    spec: String::new(),
                });
            }
        }
        Ok(out)
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        let (name, t) = self.table(&partition.table)?;
        let conn = self.connect()?;
        let mut conds = Vec::new();
        let mut params: Vec<i64> = Vec::new();
        if let Some((start, end)) = partition.spec.split_once("..") {
            let start: Option<i64> = if start.is_empty() {
                None
            } else {
                Some(start.parse()?)
            };
            let end: i64 = end.parse()?;
            let rid = t.rowid.as_deref().unwrap_or("rowid");
            let resumed = resume
                .and_then(|c| c.position.as_deref())
                .and_then(|p| p.parse::<i64>().ok());
            if let Some(from) = resumed.max(start) {
                conds.push(format!("{rid} > ?"));
                params.push(from);
            }
            conds.push(format!("{rid} <= ?"));
            params.push(end);
        } else if let Some(rid) = &t.rowid {
            if let Some(p) = resume
                .and_then(|c| c.position.as_deref())
                .and_then(|p| p.parse::<i64>().ok())
            {
                conds.push(format!("{rid} > ?"));
                params.push(p);
            }
        } else if let Some(c) = resume {
            out.skip_records(c.rows);
        }
        let sql = self.select_sql(t, &conds);
        let mut stmt = conn.prepare(&sql)?;
        let mut rows = stmt.query(rusqlite::params_from_iter(params.iter()))?;
        let offset = usize::from(t.rowid.is_some());
        while let Some(r) = rows.next()? {
            let rowid: Option<i64> = if t.rowid.is_some() {
                Some(r.get(0)?)
            } else {
                None
            };
            match Self::convert_row(t, r, offset) {
                Ok(row) => out.row(name, if t.keyed_by_rowid { rowid } else { None }, row),
                Err((key, reason, raw)) => out.reject(name, key, reason, raw),
            }
            out.end_record(|| rowid.map(|x| x.to_string()))?;
        }
        Ok(())
    }
}

impl VerifySource for SqliteSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let (_, t) = self.table(&table.name)?;
        let conn = self.connect()?;
        let mut stmt = conn.prepare(&self.select_sql(t, &[]))?;
        let mut rows = stmt.query([])?;
        let offset = usize::from(t.rowid.is_some());
        let mut bad = 0;
        while let Some(r) = rows.next()? {
            let rowid: Option<i64> = if t.rowid.is_some() {
                Some(r.get(0)?)
            } else {
                None
            };
            match Self::convert_row(t, r, offset) {
                Ok(row) => visit(if t.keyed_by_rowid { rowid } else { None }, row)?,
                Err(_) => bad += 1,
            }
        }
        self.unconvertible.record(&table.name, bad);
        Ok(())
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
