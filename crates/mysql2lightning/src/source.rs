//! Reading rows from a live server for the copy pipeline and for verification.
//!
//! **One snapshot.** The readers share one consistent snapshot: before the copy,
//! one connection per reader is opened; the first takes `FLUSH TABLES WITH READ
//! LOCK`, every connection starts `START TRANSACTION WITH CONSISTENT SNAPSHOT`, and
//! the lock is released — the lock is held only while the snapshots start (this is
//! what `mysqldump --single-transaction --master-data` does). Without the RELOAD
//! privilege the lock is refused: each reader then has its own snapshot and a
//! warning says to stop writers. With one reader no lock is needed.
//!
//! **Partitions.** A table whose primary key is one integer column and which holds
//! more than `SPLIT_ROWS` rows (by the server's estimate) is split into key ranges
//! read in parallel; other tables are one partition each. Rows are read in key
//! order; a resumed partition starts after the last key committed. Tables without a
//! primary key are read in the server's scan order and keyed by position; a resumed
//! read skips the rows already committed.

use std::collections::HashMap;
use std::sync::{Arc, Condvar, Mutex};

use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema, Value};
use mysql::prelude::Queryable;
use mysql::{Conn, Value as MyValue};

use crate::connect::{quote, ConnSpec};
use crate::convert::SourceTable;
use crate::mapping::{convert, raw_value, Counters, Ctx, ZeroDates};

/// Tables with more rows than this (estimated) are split into key ranges.
pub const SPLIT_ROWS: u64 = 250_000;

pub struct ServerSource {
    spec: ConnSpec,
    tables: Vec<(Arc<str>, SourceTable)>,
    where_: HashMap<String, String>,
    parallel: usize,
    zero_dates: ZeroDates,
    pub counters: Counters,
    /// Connections inside the snapshot, taken by readers and given back.
    pool: Mutex<Option<Pool>>,
    returned: Condvar,
    /// Verification reads the copy's snapshot (migrate), not the current data.
    in_snapshot: bool,
    unconvertible: SkippedRows,
    /// `migrate --for-sync`: the snapshot is taken under the lock, with the binlog
    /// position it stands at (recorded here).
    for_sync: bool,
    binlog_start: Mutex<Option<BinlogPosition>>,
}

/// A place in the server's binary log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BinlogPosition {
    pub file: String,
    pub pos: u64,
}

impl std::fmt::Display for BinlogPosition {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}:{}", self.file, self.pos)
    }
}

impl BinlogPosition {
    /// `mariadb-bin.000003:1234`.
    pub fn parse(s: &str) -> Option<BinlogPosition> {
        let (file, pos) = s.trim().rsplit_once(':')?;
        (!file.is_empty()).then_some(())?;
        Some(BinlogPosition {
            file: file.to_string(),
            pos: pos.parse().ok()?,
        })
    }

    /// The server's current position (`SHOW MASTER STATUS`, or its newer name).
    pub fn current(conn: &mut Conn) -> Result<Option<BinlogPosition>, mysql::Error> {
        let row: Option<mysql::Row> = match conn.query_first("SHOW MASTER STATUS") {
            Ok(r) => r,
            // MySQL 8.4 knows only the newer name.
            Err(mysql::Error::MySqlError(e)) if e.code == 1064 => {
                conn.query_first("SHOW BINARY LOG STATUS")?
            }
            Err(e) => return Err(e),
        };
        Ok(row.and_then(|r| {
            let file: String = r.get(0)?;
            let pos: u64 = r.get(1)?;
            Some(BinlogPosition { file, pos })
        }))
    }

    /// Order by file (their names end in a sequence number), then position.
    pub fn key(&self) -> (&str, u64) {
        (&self.file, self.pos)
    }
}

/// A connection taken for one read.
struct Lent {
    conn: Conn,
    /// It belongs to the pool (and goes back to it).
    pooled: bool,
    /// Its snapshot is not the one the other readers share.
    own_snapshot: bool,
}

struct Pool {
    idle: Vec<Conn>,
    /// Connections opened in the snapshot (idle or lent).
    opened: usize,
    /// All of them share one snapshot (else each reader has its own).
    shared: bool,
}

/// Encode key values for a checkpoint.
fn encode_key(vals: &[MyValue]) -> String {
    vals.iter()
        .map(|v| match v {
            MyValue::NULL => "n".to_string(),
            MyValue::Int(i) => format!("i{i}"),
            MyValue::UInt(u) => format!("u{u}"),
            MyValue::Float(f) => format!("f{}", f.to_bits()),
            MyValue::Double(f) => format!("d{}", f.to_bits()),
            MyValue::Bytes(b) => {
                let mut s = String::with_capacity(1 + 2 * b.len());
                s.push('x');
                for x in b {
                    s.push_str(&format!("{x:02x}"));
                }
                s
            }
            MyValue::Date(y, m, d, h, mi, s, us) => format!("D{y}-{m}-{d}-{h}-{mi}-{s}-{us}"),
            MyValue::Time(n, d, h, m, s, us) => format!("T{}-{d}-{h}-{m}-{s}-{us}", u8::from(*n)),
        })
        .collect::<Vec<_>>()
        .join(",")
}

fn decode_key(s: &str) -> Option<Vec<MyValue>> {
    s.split(',')
        .map(|p| {
            let (tag, body) = p.split_at(1);
            let nums = || -> Option<Vec<u64>> { body.split('-').map(|x| x.parse().ok()).collect() };
            Some(match tag {
                "n" => MyValue::NULL,
                "i" => MyValue::Int(body.parse().ok()?),
                "u" => MyValue::UInt(body.parse().ok()?),
                "f" => MyValue::Float(f32::from_bits(body.parse().ok()?)),
                "d" => MyValue::Double(f64::from_bits(body.parse().ok()?)),
                "x" => MyValue::Bytes(lightning_core::value::decode_hex(body)?),
                "D" => match nums()?[..] {
                    [y, m, d, h, mi, s, us] => MyValue::Date(
                        y as u16, m as u8, d as u8, h as u8, mi as u8, s as u8, us as u32,
                    ),
                    _ => return None,
                },
                "T" => match nums()?[..] {
                    [n, d, h, m, s, us] => {
                        MyValue::Time(n == 1, d as u32, h as u8, m as u8, s as u8, us as u32)
                    }
                    _ => return None,
                },
                _ => return None,
            })
        })
        .collect()
}

fn int_of(v: &MyValue) -> Option<i128> {
    match v {
        MyValue::Int(i) => Some(i128::from(*i)),
        MyValue::UInt(u) => Some(i128::from(*u)),
        MyValue::Bytes(b) => std::str::from_utf8(b).ok()?.parse().ok(),
        _ => None,
    }
}

impl ServerSource {
    pub fn new(
        spec: ConnSpec,
        tables: Vec<SourceTable>,
        where_: HashMap<String, String>,
        parallel: usize,
        zero_dates: ZeroDates,
        in_snapshot: bool,
    ) -> Self {
        ServerSource {
            spec,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.schema.name.as_str()), t))
                .collect(),
            where_,
            parallel: parallel.max(1),
            zero_dates,
            counters: Counters::default(),
            pool: Mutex::new(None),
            returned: Condvar::new(),
            in_snapshot,
            unconvertible: SkippedRows::default(),
            for_sync: false,
            binlog_start: Mutex::new(None),
        }
    }

    /// Take the snapshot under the lock, with the binlog position it stands at.
    pub fn for_sync(mut self) -> Self {
        self.for_sync = true;
        self
    }

    /// The binlog position of the copy's snapshot (`--for-sync`, once taken).
    pub fn binlog_start(&self) -> Option<BinlogPosition> {
        self.binlog_start.lock().expect("binlog start").clone()
    }

    pub fn tables(&self) -> impl Iterator<Item = &SourceTable> {
        self.tables.iter().map(|(_, t)| t)
    }

    /// The rows of `table` with these primary keys as they are now, outside any
    /// snapshot (sync reads the rows the binlog says changed).
    pub fn read_keys(
        &self,
        conn: &mut Conn,
        table: &str,
        keys: &[Vec<MyValue>],
    ) -> Result<Vec<Row>, SourceError> {
        let (name, t) = self.table(table)?;
        let pk: Vec<String> = t.schema.primary_key.iter().map(|c| quote(c)).collect();
        let mut out = Vec::with_capacity(keys.len());
        for chunk in keys.chunks(500) {
            let cond = if pk.len() == 1 {
                format!("{} IN ({})", pk[0], vec!["?"; chunk.len()].join(", "))
            } else {
                let one = pk
                    .iter()
                    .map(|c| format!("{c} = ?"))
                    .collect::<Vec<_>>()
                    .join(" AND ");
                vec![format!("({one})"); chunk.len()].join(" OR ")
            };
            // A locking read: the binlog can carry a transaction before its rows
            // are visible to other sessions (written to the log, not yet committed
            // in the engine); reading them plainly could take the old row and move
            // the position past the change. A share lock waits for that commit.
            let sql = format!("{} LOCK IN SHARE MODE", self.select_sql(t, &[cond], false));
            let params: Vec<MyValue> = chunk.iter().flatten().cloned().collect();
            let result = conn
                .exec_iter(sql.as_str(), params)
                .map_err(|e| self.err(name, e))?;
            for row in result {
                let vals = row.map_err(|e| self.err(name, e))?.unwrap();
                match self.convert_row(t, vals, None, &self.counters) {
                    Ok(r) => out.push(r),
                    Err((key, reason, _)) => {
                        return Err(format!(
                            "table `{name}`, row {key}: {reason}. The value cannot be carried \
                             exactly into the store's type: sync stopped before its transaction, \
                             with everything earlier applied"
                        )
                        .into())
                    }
                }
            }
        }
        Ok(out)
    }

    pub fn zero_dates(&self) -> ZeroDates {
        self.zero_dates
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

    fn err(&self, table: &str, e: mysql::Error) -> SourceError {
        let code = match &e {
            mysql::Error::MySqlError(m) => m.code,
            _ => 0,
        };
        let mut text = format!(
            "reading table `{table}` from {}: {}",
            self.spec.describe(),
            self.spec.explain(&e)
        );
        // 1054 unknown column, 1064 syntax, 1305 no such function, 1146 no such
        // table, 1582/1583 wrong arguments, 1292/1366 a bad value.
        let where_codes = [1054, 1064, 1146, 1292, 1305, 1366, 1582, 1583];
        match self.where_.get(table) {
            Some(w) if where_codes.contains(&code) => {
                text.push_str(&format!("; check the --where condition for `{table}`: {w}"));
            }
            _ if code == 1142 => {
                let source = self
                    .table(table)
                    .map_or_else(|_| table.to_string(), |(_, t)| t.source_name.clone());
                text.push_str(&format!(
                    "; the user needs SELECT on `{source}`: grant it, or leave the table out (--exclude)"
                ));
            }
            _ => {}
        }
        text.into()
    }

    /// Open the readers' connections inside one snapshot (see the module notes);
    /// true when they share it.
    fn open_snapshot(&self) -> Result<(Vec<Conn>, bool), SourceError> {
        let mut conns = Vec::with_capacity(self.parallel);
        for _ in 0..self.parallel {
            conns.push(self.spec.connect()?);
        }
        let locked = if self.for_sync {
            // Sync continues from the binlog position of this very snapshot: the lock
            // holds the log still while the snapshots start and the position is read.
            conns[0]
                .query_drop("FLUSH TABLES WITH READ LOCK")
                .map_err(|e| {
                    format!(
                        "migrate --for-sync takes FLUSH TABLES WITH READ LOCK for a moment, to \
                         read the binlog position of its snapshot: {}; grant the user RELOAD",
                        self.spec.explain(&e)
                    )
                })?;
            true
        } else if conns.len() > 1 {
            match conns[0].query_drop("FLUSH TABLES WITH READ LOCK") {
                Ok(()) => true,
                Err(e) => {
                    tracing::warn!(
                        "cannot take FLUSH TABLES WITH READ LOCK ({}): each reader reads its own snapshot, \
                         so stop writes to the database while migrating, or use --parallel 1",
                        self.spec.explain(&e)
                    );
                    false
                }
            }
        } else {
            false
        };
        let start = |c: &mut Conn| -> Result<(), mysql::Error> {
            c.query_drop("SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ")?;
            c.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
        };
        let mut outcome = Ok(());
        for c in &mut conns {
            if let Err(e) = start(c) {
                outcome = Err(e);
                break;
            }
        }
        if self.for_sync && outcome.is_ok() {
            let at = BinlogPosition::current(&mut conns[0]).map_err(|e| {
                format!(
                    "reading the binlog position (SHOW MASTER STATUS): {}; grant the user \
                     REPLICATION CLIENT (BINLOG MONITOR on MariaDB)",
                    self.spec.explain(&e)
                )
            })?;
            let at = at.ok_or("the server keeps no binary log (log_bin is off)")?;
            *self.binlog_start.lock().expect("binlog start") = Some(at);
        }
        if locked {
            conns[0]
                .query_drop("UNLOCK TABLES")
                .map_err(|e| self.spec.query_error(e))?;
        }
        outcome.map_err(|e| self.spec.query_error(e))?;
        let shared = locked || conns.len() == 1;
        Ok((conns, shared))
    }

    /// A connection in the snapshot. With `wait`, a lent one is waited for rather
    /// than a new one opened (a verification must read the copy's snapshot).
    fn take_conn(&self, wait: bool) -> Result<Lent, SourceError> {
        let mut pool = self.pool.lock().expect("pool");
        if pool.is_none() {
            let (idle, shared) = self.open_snapshot()?;
            *pool = Some(Pool {
                opened: idle.len(),
                idle,
                shared,
            });
        }
        loop {
            let p = pool.as_mut().expect("pool opened");
            if let Some(conn) = p.idle.pop() {
                return Ok(Lent {
                    conn,
                    pooled: true,
                    own_snapshot: !p.shared,
                });
            }
            if !wait {
                break;
            }
            if p.opened == 0 {
                return Err(
                    "the connections reading the migration's snapshot were lost; run verify again"
                        .into(),
                );
            }
            pool = self.returned.wait(pool).expect("pool");
        }
        drop(pool);
        let mut conn = self.spec.connect()?;
        conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY")
            .map_err(|e| self.spec.query_error(e))?;
        Ok(Lent {
            conn,
            pooled: false,
            own_snapshot: true,
        })
    }

    /// Return a connection after use: to the pool when it came from it and the
    /// use went well.
    fn give_back(&self, lent: Lent, ok: bool) {
        if !lent.pooled {
            return;
        }
        if let Some(p) = self.pool.lock().expect("pool").as_mut() {
            if ok {
                p.idle.push(lent.conn);
            } else {
                p.opened = p.opened.saturating_sub(1);
            }
        }
        self.returned.notify_all();
    }

    fn select_sql(&self, t: &SourceTable, conds: &[String], ordered: bool) -> String {
        let cols: Vec<String> = t.source_columns.iter().map(|c| quote(c)).collect();
        let mut sql = format!("SELECT {} FROM {}", cols.join(", "), quote(&t.source_name));
        let mut all: Vec<String> = conds.to_vec();
        if let Some(w) = self.where_.get(&t.schema.name) {
            all.push(format!("({w})"));
        }
        if !all.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&all.join(" AND "));
        }
        if ordered && !t.schema.primary_key.is_empty() {
            let pk: Vec<String> = t.schema.primary_key.iter().map(|c| quote(c)).collect();
            sql.push_str(&format!(" ORDER BY {}", pk.join(", ")));
        }
        sql
    }

    /// Convert one row. On failure: the key, the reason, and the values as read.
    fn convert_row(
        &self,
        t: &SourceTable,
        vals: Vec<MyValue>,
        rowid: Option<i64>,
        counters: &Counters,
    ) -> Result<Row, (String, String, Row)> {
        let ctx = Ctx {
            zero_dates: self.zero_dates,
            counters,
        };
        let mut row = Vec::with_capacity(vals.len());
        let mut it = vals.into_iter();
        for (i, v) in it.by_ref().enumerate() {
            match convert(&t.columns[i], v, &ctx) {
                Ok(x) => row.push(x),
                Err(reason) => {
                    let mut raw = row;
                    raw.push(Value::Null);
                    raw.extend(it.map(|v| raw_value(&v)));
                    let key = match rowid {
                        Some(id) => format!("row {id} in scan order"),
                        None => t.schema.describe_key(None, &raw),
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

impl Source for ServerSource {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        let mut lent = self.take_conn(false)?;
        let conn = &mut lent.conn;
        let mut out = Vec::new();
        let result = (|| -> Result<(), SourceError> {
            for (name, t) in &self.tables {
                let rows = t.rows_estimate;
                let split = t.int_key && !self.where_.contains_key(&**name) && rows > SPLIT_ROWS;
                if split {
                    let pk = quote(&t.schema.primary_key[0]);
                    let row: Option<mysql::Row> = conn
                        .query_first(format!(
                            "SELECT MIN({pk}), MAX({pk}) FROM {}",
                            quote(&t.source_name)
                        ))
                        .map_err(|e| self.err(name, e))?;
                    let (lo, hi) = match row.map(mysql::Row::unwrap).as_deref() {
                        Some([a, b]) => (int_of(a), int_of(b)),
                        _ => (None, None),
                    };
                    if let (Some(lo), Some(hi)) = (lo, hi) {
                        let parts = rows.div_ceil(SPLIT_ROWS) as i128;
                        let span = ((hi - lo + 1) / parts).max(1);
                        for i in 0..parts {
                            let start = lo - 1 + span * i;
                            // The last range has no upper bound: rows added since the
                            // plan (kept for resumed runs) are read too.
                            let end = if i + 1 == parts {
                                String::new()
                            } else {
                                (start + span).to_string()
                            };
                            out.push(Partition {
                                id: format!("{name}#{i}"),
                                table: name.clone(),
                                estimated_rows: rows / parts as u64,
                                spec: if i == 0 {
                                    format!("..{end}")
                                } else {
                                    format!("{start}..{end}")
                                },
                            });
                        }
                        continue;
                    }
                }
                out.push(Partition {
                    id: name.to_string(),
                    table: name.clone(),
                    estimated_rows: rows,
                    spec: String::new(),
                });
            }
            Ok(())
        })();
        let ok = result.is_ok();
        self.give_back(lent, ok);
        result.map(|()| out)
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        let (name, t) = self.table(&partition.table)?;
        let mut conds = Vec::new();
        let mut params: Vec<MyValue> = Vec::new();
        let pk_pos: Vec<usize> = t.schema.key_positions();
        let resumed_key = resume
            .and_then(|c| c.position.as_deref())
            .and_then(decode_key);
        if let Some((start, end)) = partition.spec.split_once("..") {
            let pk = quote(&t.schema.primary_key[0]);
            if !start.is_empty() {
                conds.push(format!("{pk} > {}", start.parse::<i128>()?));
            }
            if !end.is_empty() {
                conds.push(format!("{pk} <= {}", end.parse::<i128>()?));
            }
        }
        if t.keyed_by_position() {
            if let Some(c) = resume {
                out.skip_records(c.rows);
            }
        } else if let Some(key) = resumed_key {
            let cols: Vec<String> = t.schema.primary_key.iter().map(|c| quote(c)).collect();
            let marks = vec!["?"; cols.len()].join(", ");
            conds.push(format!("({}) > ({marks})", cols.join(", ")));
            params.extend(key);
        }
        let sql = self.select_sql(t, &conds, true);
        let mut lent = self.take_conn(false)?;
        if lent.own_snapshot {
            out.snapshot_changed();
        }
        let outcome = (|| -> Result<(), SourceError> {
            let result = lent
                .conn
                .exec_iter(sql.as_str(), params)
                .map_err(|e| self.err(name, e))?;
            for row in result {
                let vals = row.map_err(|e| self.err(name, e))?.unwrap();
                let rowid = t.keyed_by_position().then(|| out.records() as i64 + 1);
                let key: Vec<MyValue> = pk_pos.iter().map(|&p| vals[p].clone()).collect();
                match self.convert_row(t, vals, rowid, &self.counters) {
                    Ok(r) => out.row(name, rowid, r),
                    Err((k, reason, raw)) => out.reject(name, k, reason, raw),
                }
                out.end_record(|| (!key.is_empty()).then(|| encode_key(&key)))?;
            }
            Ok(())
        })();
        self.give_back(lent, outcome.is_ok());
        outcome
    }
}

impl VerifySource for ServerSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let (name, t) = self.table(&table.name)?;
        // Within a migration, compare with the snapshot that was copied.
        let mut lent = if self.in_snapshot {
            self.take_conn(true)?
        } else {
            Lent {
                conn: self.spec.connect()?,
                pooled: false,
                own_snapshot: true,
            }
        };
        let sql = self.select_sql(t, &[], false);
        let mut bad = 0;
        let outcome = (|| -> Result<(), SourceError> {
            let result = lent
                .conn
                .exec_iter(sql.as_str(), ())
                .map_err(|e| self.err(name, e))?;
            let mut ordinal = 0i64;
            let scratch = Counters::default();
            for row in result {
                let vals = row.map_err(|e| self.err(name, e))?.unwrap();
                ordinal += 1;
                let rowid = t.keyed_by_position().then_some(ordinal);
                match self.convert_row(t, vals, rowid, &scratch) {
                    Ok(r) => visit(rowid, r)?,
                    Err(_) => bad += 1,
                }
            }
            Ok(())
        })();
        self.give_back(lent, outcome.is_ok());
        outcome?;
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
    fn keys_round_trip_through_checkpoints() {
        let k = vec![
            MyValue::Int(-5),
            MyValue::UInt(u64::MAX),
            MyValue::Bytes(b"a,b".to_vec()),
            MyValue::Date(2020, 1, 2, 3, 4, 5, 6),
            MyValue::Time(true, 1, 2, 3, 4, 5),
            MyValue::Double(0.1),
            MyValue::NULL,
        ];
        assert_eq!(decode_key(&encode_key(&k)), Some(k));
    }
}
