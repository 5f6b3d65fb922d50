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

    /// The statements that read `t`: one, or one per chunk of columns when the rowid
    /// and the columns together pass SQLite's limit on a result's columns.
    fn select_sqls(&self, t: &SourceTable, extra: &[String]) -> Vec<String> {
        let mut conds: Vec<String> = extra.to_vec();
        if let Some(w) = self.where_.get(&t.schema.name) {
            conds.push(format!("({w})"));
        }
        let mut tail = format!(" FROM {}", quote(&t.source_name));
        if !conds.is_empty() {
            tail.push_str(" WHERE ");
            tail.push_str(&conds.join(" AND "));
        }
        if let Some(rid) = &t.rowid {
            tail.push_str(&format!(" ORDER BY {rid}"));
        } else {
            let pk: Vec<String> = t.schema.primary_key.iter().map(|c| quote(c)).collect();
            if !pk.is_empty() {
                tail.push_str(&format!(" ORDER BY {}", pk.join(", ")));
            }
        }
        t.schema
            .columns
            .chunks(chunk_width(t))
            .map(|chunk| {
                let mut cols: Vec<String> = t.rowid.iter().cloned().collect();
                cols.extend(chunk.iter().map(|c| quote(&c.name)));
                format!("SELECT {}{tail}", cols.join(", "))
            })
            .collect()
    }

    /// Read `t`'s rows in order, calling `f` with each row's rowid (when the table has
    /// one) and its values. Several statements (column chunks) are stepped together
    /// in one read transaction, so they see the same rows; any disagreement between
    /// them is an error.
    fn each_row(
        &self,
        conn: &Connection,
        t: &SourceTable,
        conds: &[String],
        params: &[i64],
        mut f: impl FnMut(Option<i64>, &SourceRow<'_>) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let sqls = self.select_sqls(t, conds);
        let _snapshot = if sqls.len() > 1 {
            Some(conn.unchecked_transaction()?)
        } else {
            None
        };
        let mut stmts = sqls
            .iter()
            .map(|sql| conn.prepare(sql))
            .collect::<Result<Vec<_>, _>>()?;
        let mut cursors = stmts
            .iter_mut()
            .map(|st| st.query(rusqlite::params_from_iter(params.iter())))
            .collect::<Result<Vec<_>, _>>()?;
        let lead = usize::from(t.rowid.is_some());
        loop {
            let mut parts = Vec::with_capacity(cursors.len());
            for c in cursors.iter_mut() {
                parts.push(c.next()?);
            }
            let parts: Vec<&rusqlite::Row<'_>> = match parts.iter().filter(|p| p.is_some()).count()
            {
                0 => return Ok(()),
                n if n == parts.len() => parts.into_iter().flatten().collect(),
                _ => return Err(chunks_disagree(&t.schema.name)),
            };
            let rowid: Option<i64> = if lead == 1 {
                let first: i64 = parts[0].get(0)?;
                for p in &parts[1..] {
                    if p.get::<_, i64>(0)? != first {
                        return Err(chunks_disagree(&t.schema.name));
                    }
                }
                Some(first)
            } else {
                None
            };
            f(
                rowid,
                &SourceRow {
                    parts,
                    lead,
                    width: chunk_width(t),
                },
            )?;
        }
    }

    /// Convert one SQLite row. On failure: the key, the reason, and the raw values.
    fn convert_row(
        t: &SourceTable,
        r: &SourceRow<'_>,
        rowid: Option<i64>,
    ) -> Result<Row, (String, String, Row)> {
        let mut row = Vec::with_capacity(t.columns.len());
        for (i, rule) in t.columns.iter().enumerate() {
            let v = r
                .get_ref(i)
                .map_err(|e| (String::new(), e.to_string(), Vec::new()))?;
            match convert(v, rule) {
                Ok(x) => row.push(x),
                Err(reason) => {
                    let raw: Row = (0..t.columns.len())
                        .map(|j| r.get_ref(j).map(natural_value).unwrap_or(Value::Null))
                        .collect();
                    let key = if t.keyed_by_rowid {
                        format!("rowid={}", rowid.unwrap_or_default())
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

/// SQLite's limit on the columns of a result (SQLITE_MAX_COLUMN, 2,000 by default),
/// which is also the most columns a table can have.
pub const MAX_RESULT_COLUMNS: usize = 2000;

/// Columns per statement: what the limit leaves beside the rowid.
fn chunk_width(t: &SourceTable) -> usize {
    MAX_RESULT_COLUMNS - usize::from(t.rowid.is_some())
}

fn chunks_disagree(table: &str) -> SourceError {
    format!("the statements reading `{table}` in column chunks returned different rows").into()
}

/// One source row, possibly spread over several statements' rows.
struct SourceRow<'a> {
    parts: Vec<&'a rusqlite::Row<'a>>,
    /// 1 when each part starts with the rowid.
    lead: usize,
    width: usize,
}

impl SourceRow<'_> {
    /// Column `i` of the table.
    fn get_ref(&self, i: usize) -> rusqlite::Result<rusqlite::types::ValueRef<'_>> {
        self.parts[i / self.width].get_ref(self.lead + i % self.width)
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
            let split = t.rowid.as_ref().filter(|_| rows > SPLIT_ROWS);
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
                    // The last range has no upper bound: rows added since the plan
                    // (kept for resumed runs) are read too.
                    let end = if i + 1 == parts {
                        String::new()
                    } else {
                        (start + span).to_string()
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
            let end: Option<i64> = if end.is_empty() {
                None
            } else {
                Some(end.parse()?)
            };
            let rid = t.rowid.as_deref().unwrap_or("rowid");
            let resumed = resume
                .and_then(|c| c.position.as_deref())
                .and_then(|p| p.parse::<i64>().ok());
            if let Some(from) = resumed.max(start) {
                conds.push(format!("{rid} > ?"));
                params.push(from);
            }
            if let Some(end) = end {
                conds.push(format!("{rid} <= ?"));
                params.push(end);
            }
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
        self.each_row(&conn, t, &conds, &params, |rowid, r| {
            match Self::convert_row(t, r, rowid) {
                Ok(row) => out.row(name, if t.keyed_by_rowid { rowid } else { None }, row),
                Err((key, reason, raw)) => out.reject(name, key, reason, raw),
            }
            out.end_record(|| rowid.map(|x| x.to_string()))
        })
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
        self.unconvertible.scan(&table.name, visit, |each| {
            self.each_row(&conn, t, &[], &[], |rowid, r| {
                let id = if t.keyed_by_rowid { rowid } else { None };
                each(id, Self::convert_row(t, r, rowid))
            })
        })
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
