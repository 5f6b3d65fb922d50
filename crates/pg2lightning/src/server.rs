//! Reading rows from a live server: `COPY (SELECT ...) TO STDOUT` per partition, all
//! readers in one exported snapshot, big tables split into `ctid` block ranges, and
//! a dropped connection resumed after the last row read.

use std::collections::HashMap;
use std::io::BufRead;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use lightning_core::pipeline::{Partition, RowEmitter, Source, SourceError};
use lightning_core::store::Checkpoint;
use lightning_core::verify::{SkippedRows, VerifySource};
use lightning_core::{Row, TableSchema};
use postgres::Client;

use crate::connect::{ConnectInfo, PgError, PgResult};
use crate::convert::ConvertedTable;
use crate::model::quote_ident;
use crate::rows::convert_row;

/// Tables with more rows than this (by the catalog's estimate) are split.
const SPLIT_ROWS: u64 = 250_000;
/// Attempts at a partition whose connection drops.
const ATTEMPTS: u32 = 4;

/// Keeps the transaction whose snapshot every reader shares open.
pub struct Snapshot {
    _client: Client,
    pub id: String,
    /// Which transactions it sees, as `txid_current_snapshot()` prints it.
    pub xids: String,
}

impl Snapshot {
    pub fn export(conn: &ConnectInfo) -> Result<Snapshot, SourceError> {
        let mut client = conn.connect()?;
        client
            .batch_execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .pg()?;
        let row = client
            .query_one(
                "SELECT pg_catalog.pg_export_snapshot(), pg_catalog.txid_current_snapshot()::text",
                &[],
            )
            .pg()?;
        Ok(Snapshot {
            _client: client,
            id: row.get(0),
            xids: row.get(1),
        })
    }
}

pub struct ServerSource {
    conn: ConnectInfo,
    tables: Vec<(Arc<str>, ConvertedTable)>,
    where_: HashMap<String, String>,
    snapshot: Mutex<Shared>,
    unconvertible: SkippedRows,
}

/// The snapshot the readers share. When its exporting session is gone, a new one
/// is exported and shared in turn (the next generation), so that what is read
/// after — the rest of the copy, the repair, `--verify` — sees one state again.
struct Shared {
    id: Option<String>,
    /// Which transactions the snapshot sees (`txid_current_snapshot()`).
    xids: Option<String>,
    /// 0 for the snapshot the run started with.
    generation: u32,
    /// Keeps a snapshot exported after the first one open.
    _holder: Option<Snapshot>,
}

/// What a read hands to its visitor.
enum Event {
    /// A row, converted or not, and the position after it.
    Row(Option<i64>, Result<Row, crate::rows::BadRow>, Position),
    /// From here the rows come from this generation of the shared snapshot (not
    /// the first one).
    NewSnapshot(u32),
}

type Visit<'a> = dyn FnMut(Event) -> Result<(), SourceError> + 'a;

/// Where a partition reads: a leaf table and a block range.
struct Spec {
    leaf: usize,
    blocks: Option<(u64, Option<u64>)>,
}

impl Spec {
    fn parse(s: &str) -> Result<Spec, SourceError> {
        let mut it = s.split(':');
        let leaf = it.next().unwrap_or("0").parse()?;
        let blocks = match (it.next(), it.next()) {
            (Some(a), Some(b)) => Some((
                a.parse()?,
                if b.is_empty() { None } else { Some(b.parse()?) },
            )),
            _ => None,
        };
        Ok(Spec { leaf, blocks })
    }
}

/// The resume point: the last row's `ctid` and, for keyless tables, its number.
#[derive(Clone, Copy, Default)]
struct Position {
    block: u64,
    offset: u64,
    ordinal: i64,
}

impl Position {
    fn parse(s: &str) -> Option<Position> {
        let mut it = s.split(',');
        Some(Position {
            block: it.next()?.parse().ok()?,
            offset: it.next()?.parse().ok()?,
            ordinal: it.next()?.parse().ok()?,
        })
    }

    fn text(&self) -> String {
        format!("{},{},{}", self.block, self.offset, self.ordinal)
    }
}

fn parse_ctid(s: &str) -> Option<(u64, u64)> {
    let (b, o) = s.strip_prefix('(')?.strip_suffix(')')?.split_once(',')?;
    Some((b.parse().ok()?, o.parse().ok()?))
}

/// Keyless rows are numbered per partition of the source table: the partition's
/// position in the upper bits keeps numbers of merged partitions apart.
pub fn keyless_rowid(leaf: usize, ordinal: i64) -> i64 {
    ((leaf as i64) << 40) | ordinal
}

/// Whether an error means the connection went away (worth reconnecting).
fn is_connection_error(e: &(dyn std::error::Error + 'static)) -> bool {
    let pe = e
        .downcast_ref::<PgError>()
        .map(|p| &p.error)
        .or_else(|| e.downcast_ref::<postgres::Error>());
    if let Some(pe) = pe {
        if pe.is_closed() {
            return true;
        }
        if let Some(code) = pe.code() {
            let c = code.code();
            return c.starts_with("08") || c.starts_with("57P");
        }
        // An I/O error under the driver.
        return std::error::Error::source(pe).is_some_and(|s| s.is::<std::io::Error>());
    }
    e.is::<std::io::Error>()
}

impl ServerSource {
    /// A query's rows in the server's text forms (`verify --query`), with the
    /// user's search_path (readers run with an empty one).
    pub fn query_rows(&self, sql: &str) -> anyhow::Result<lightning_core::query_check::TextRows> {
        let mut client = self.conn.connect()?;
        client.batch_execute("RESET search_path")?;
        let mut rows = Vec::new();
        for m in client.simple_query(sql)? {
            if let postgres::SimpleQueryMessage::Row(r) = m {
                rows.push((0..r.len()).map(|i| r.get(i).map(str::to_string)).collect());
            }
        }
        Ok(rows)
    }
}

impl ServerSource {
    pub fn new(
        conn: ConnectInfo,
        tables: Vec<ConvertedTable>,
        where_: HashMap<String, String>,
        snapshot: Option<&Snapshot>,
    ) -> Self {
        ServerSource {
            conn,
            tables: tables
                .into_iter()
                .map(|t| (Arc::from(t.schema.name.as_str()), t))
                .collect(),
            where_,
            snapshot: Mutex::new(Shared {
                id: snapshot.map(|s| s.id.clone()),
                xids: snapshot.map(|s| s.xids.clone()),
                generation: 0,
                _holder: None,
            }),
            unconvertible: SkippedRows::default(),
        }
    }

    pub fn schemas(&self) -> Vec<TableSchema> {
        self.tables.iter().map(|(_, t)| t.schema.clone()).collect()
    }

    pub fn converted(&self) -> Vec<ConvertedTable> {
        self.tables.iter().map(|(_, t)| t.clone()).collect()
    }

    /// Which transactions the snapshot the rows are read in sees (the latest one,
    /// when the first was lost and the tables repaired in a new one).
    pub fn snapshot_xids(&self) -> Option<String> {
        self.snapshot.lock().expect("snapshot").xids.clone()
    }

    fn table(&self, name: &str) -> Result<&(Arc<str>, ConvertedTable), SourceError> {
        self.tables
            .iter()
            .find(|(n, _)| &**n == name)
            .ok_or_else(|| format!("no table `{name}` in the source").into())
    }

    /// A reader session inside the shared snapshot, with the snapshot's generation
    /// (0: the one the run started with).
    fn reader(&self) -> Result<(Client, u32), SourceError> {
        let mut client = self.conn.connect()?;
        // Rows must come in ctid order: resuming and keyless row numbers rely on it.
        client
            .batch_execute(
                "SET enable_indexscan = off; SET enable_indexonlyscan = off; \
                 BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            )
            .pg()?;
        let (id, generation) = {
            let s = self.snapshot.lock().expect("snapshot");
            (s.id.clone(), s.generation)
        };
        let Some(id) = id else {
            return Ok((client, 0));
        };
        let Err(e) = client.batch_execute(&format!("SET TRANSACTION SNAPSHOT '{id}'")) else {
            return Ok((client, generation));
        };
        // The exporting session is gone (it was terminated): share a new snapshot.
        // Rows read before and after it may come twice or not at all; the copy
        // writes them by upsert and repairs the table after, in the new snapshot.
        client
            .batch_execute("ROLLBACK; BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            .pg()?;
        let (id, generation) = {
            let mut s = self.snapshot.lock().expect("snapshot");
            if s.generation == generation {
                tracing::warn!(
                    "the shared snapshot is no longer available ({}); reading in a new one",
                    PgError::new(e)
                );
                let next = Snapshot::export(&self.conn)?;
                s.id = Some(next.id.clone());
                s.xids = Some(next.xids.clone());
                s.generation += 1;
                s._holder = Some(next);
            }
            (s.id.clone().expect("a snapshot"), s.generation)
        };
        client
            .batch_execute(&format!("SET TRANSACTION SNAPSHOT '{id}'"))
            .pg()?;
        Ok((client, generation))
    }

    fn copy_sql(&self, t: &ConvertedTable, spec: &Spec, after: Option<Position>) -> String {
        let cols: Vec<String> = t
            .columns
            .iter()
            .map(|c| {
                if c.cast_numeric {
                    format!("{}::pg_catalog.numeric", quote_ident(&c.name))
                } else {
                    quote_ident(&c.name)
                }
            })
            .collect();
        let mut conds = Vec::new();
        if let Some((start, end)) = spec.blocks {
            conds.push(format!("ctid >= '({start},0)'::pg_catalog.tid"));
            if let Some(end) = end {
                conds.push(format!("ctid < '({end},0)'::pg_catalog.tid"));
            }
        }
        if let Some(p) = after {
            conds.push(format!(
                "ctid > '({},{})'::pg_catalog.tid",
                p.block, p.offset
            ));
        }
        if let Some(w) = self.where_.get(&t.schema.name) {
            conds.push(format!("({w})"));
        }
        let mut sql = format!(
            "COPY (SELECT ctid, {} FROM ONLY {}",
            cols.join(", "),
            t.sources[spec.leaf].sql()
        );
        if !conds.is_empty() {
            sql.push_str(" WHERE ");
            sql.push_str(&conds.join(" AND "));
        }
        sql.push_str(") TO STDOUT");
        sql
    }

    /// The error of the query reading `t`: a condition of `--where` that the server
    /// refuses is named as the likely cause.
    fn query_error(&self, t: &ConvertedTable, leaf: usize, e: postgres::Error) -> PgError {
        let class = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        let err = PgError::new(e);
        match self.where_.get(&t.schema.name) {
            Some(w) if (class.starts_with("42") && class != "42501") || class.starts_with("22") => {
                err.with_note(&format!(
                    "check the --where condition for `{}`: {w}",
                    t.schema.name
                ))
            }
            _ if class == "42501" => err.with_note(&format!(
                "the user needs SELECT on {}: grant it, or leave the table out (--exclude)",
                t.sources
                    .get(leaf)
                    .map_or_else(|| t.name.sql(), |s| s.sql()),
            )),
            _ => err,
        }
    }

    /// An error while the rows stream in: the server's, when it sent one.
    fn read_error(&self, t: &ConvertedTable, leaf: usize, e: std::io::Error) -> SourceError {
        if !e.get_ref().is_some_and(|i| i.is::<postgres::Error>()) {
            return Box::new(e);
        }
        match e.into_inner().map(|i| i.downcast::<postgres::Error>()) {
            Some(Ok(pe)) => Box::new(self.query_error(t, leaf, *pe)),
            Some(Err(other)) => other,
            None => "the connection failed while the rows were read".into(),
        }
    }

    /// Read one partition from `start`, handing each row to `visit`; the position
    /// after every row is kept in `pos` so a retry continues from there.
    fn read_range(
        &self,
        t: &ConvertedTable,
        spec: &Spec,
        pos: &mut Option<Position>,
        visit: &mut Visit<'_>,
    ) -> Result<(), SourceError> {
        let (mut client, generation) = self.reader()?;
        if generation > 0 {
            visit(Event::NewSnapshot(generation))?;
        }
        let sql = self.copy_sql(t, spec, *pos);
        let reader = client
            .copy_out(sql.as_str())
            .map_err(|e| self.query_error(t, spec.leaf, e))?;
        let mut reader = std::io::BufReader::with_capacity(1 << 16, reader);
        let keyed = !t.schema.primary_key.is_empty();
        let mut line = Vec::with_capacity(1024);
        let mut fields: Vec<Option<String>> = Vec::with_capacity(t.columns.len() + 1);
        loop {
            line.clear();
            let n = reader
                .read_until(b'\n', &mut line)
                .map_err(|e| self.read_error(t, spec.leaf, e))?;
            if n == 0 {
                break;
            }
            if line.last() == Some(&b'\n') {
                line.pop();
            }
            let text = std::str::from_utf8(&line).map_err(|_| {
                format!("{}: the server sent a row that is not UTF-8", t.schema.name)
            })?;
            crate::copytext::parse_copy_line(text, &mut fields)
                .map_err(|e| e.describe(&t.sources[spec.leaf]))?;
            let ctid = fields
                .first()
                .and_then(|c| c.as_deref())
                .and_then(parse_ctid)
                .ok_or_else(|| format!("{}: a row without its ctid", t.schema.name))?;
            let ordinal = pos.map_or(0, |p| p.ordinal) + 1;
            let here = Position {
                block: ctid.0,
                offset: ctid.1,
                ordinal,
            };
            let rowid = (!keyed).then(|| keyless_rowid(spec.leaf, ordinal));
            let mut row = Vec::with_capacity(t.columns.len());
            let converted =
                convert_row(&t.columns, &t.schema, rowid, &fields[1..], &mut row).map(|()| row);
            visit(Event::Row(rowid, converted, here))?;
            *pos = Some(here);
        }
        drop(reader);
        client.batch_execute("COMMIT").pg()?;
        Ok(())
    }

    /// `read_range` with reconnection when the connection drops.
    fn read_with_retry(
        &self,
        t: &ConvertedTable,
        spec: &Spec,
        mut pos: Option<Position>,
        visit: &mut Visit<'_>,
    ) -> Result<(), SourceError> {
        let mut attempt = 1;
        loop {
            match self.read_range(t, spec, &mut pos, visit) {
                Ok(()) => return Ok(()),
                Err(e) if attempt < ATTEMPTS && is_connection_error(e.as_ref()) => {
                    tracing::warn!(
                        table = %t.schema.name,
                        "connection lost ({e}); reconnecting (attempt {} of {ATTEMPTS})",
                        attempt + 1
                    );
                    std::thread::sleep(Duration::from_millis(500 << attempt));
                    attempt += 1;
                }
                Err(e) => return Err(e),
            }
        }
    }
}

impl Source for ServerSource {
    fn partitions(&self) -> Result<Vec<Partition>, SourceError> {
        let (mut client, _) = self.reader()?;
        let block_size: i64 = client
            .query_one("SELECT current_setting('block_size')::int8", &[])
            .pg()?
            .get(0);
        let mut out = Vec::new();
        for (name, t) in &self.tables {
            let keyed = !t.schema.primary_key.is_empty();
            for (leaf, src) in t.sources.iter().enumerate() {
                let r = client.query_one(
                    "SELECT GREATEST(c.reltuples, 0)::int8, pg_catalog.pg_relation_size(c.oid) \
                     FROM pg_catalog.pg_class c WHERE c.oid = $1::text::pg_catalog.regclass",
                    &[&src.sql()],
                ).pg()?;
                let rows = r.get::<_, i64>(0) as u64;
                let blocks = (r.get::<_, i64>(1) / block_size.max(1)) as u64;
                let base = if t.sources.len() == 1 {
                    name.to_string()
                } else {
                    format!("{name}/{}", src.lightning_name())
                };
                let parts = if keyed && rows > SPLIT_ROWS && blocks > 1 {
                    rows.div_ceil(SPLIT_ROWS).min(blocks)
                } else {
                    1
                };
                if parts == 1 {
                    out.push(Partition {
                        id: base,
                        table: name.clone(),
                        estimated_rows: rows,
                        spec: leaf.to_string(),
                    });
                    continue;
                }
                let per = blocks.div_ceil(parts);
                for i in 0..parts {
                    let start = i * per;
                    // The last range is open: the table may have grown since.
                    let end = if i + 1 == parts {
                        String::new()
                    } else {
                        ((i + 1) * per).to_string()
                    };
                    out.push(Partition {
                        id: format!("{base}#{start}-{end}"),
                        table: name.clone(),
                        estimated_rows: rows / parts,
                        spec: format!("{leaf}:{start}:{end}"),
                    });
                }
            }
        }
        client.batch_execute("COMMIT").pg()?;
        Ok(out)
    }

    fn read(
        &self,
        partition: &Partition,
        resume: Option<&Checkpoint>,
        out: &mut RowEmitter<'_>,
    ) -> Result<(), SourceError> {
        let (name, t) = self.table(&partition.table)?;
        let spec = Spec::parse(&partition.spec)?;
        let pos = match resume {
            Some(c) => match c.position.as_deref().and_then(Position::parse) {
                Some(p) => Some(p),
                None if c.rows == 0 => None,
                None => {
                    return Err(format!(
                    "{}: the checkpoint of a previous run cannot be read; run again with --fresh",
                    partition.id
                )
                    .into())
                }
            },
            None => None,
        };
        self.read_with_retry(t, &spec, pos, &mut |event| match event {
            Event::NewSnapshot(_) => {
                out.snapshot_changed();
                Ok(())
            }
            Event::Row(rowid, converted, here) => {
                match converted {
                    Ok(row) => out.row(name, rowid, row),
                    Err(bad) => out.reject(name, bad.key, bad.reason, bad.raw),
                }
                out.end_record(|| Some(here.text()))
            }
        })
    }
}

impl VerifySource for ServerSource {
    fn scan(
        &self,
        table: &TableSchema,
        visit: &mut dyn FnMut(Option<i64>, Row) -> Result<(), SourceError>,
    ) -> Result<(), SourceError> {
        let (_, t) = self.table(&table.name)?;
        let mut bad = 0;
        for leaf in 0..t.sources.len() {
            let spec = Spec { leaf, blocks: None };
            let mut read = 0u64;
            let mut seen: Option<u32> = None;
            self.read_with_retry(t, &spec, None, &mut |event| match event {
                // The scan began in a later generation of the shared snapshot (the
                // copy lost the first one): it reads that one throughout.
                Event::NewSnapshot(g) if read == 0 || seen == Some(g) => {
                    seen = Some(g);
                    Ok(())
                }
                // A scan must see one state of the table from start to end.
                Event::NewSnapshot(_) => Err(format!(
                    "{}: the snapshot being compared with is gone (its session ended); run the verification again",
                    table.name
                )
                .into()),
                Event::Row(rowid, Ok(row), _) => {
                    read += 1;
                    visit(rowid, row)
                }
                Event::Row(_, Err(_), _) => {
                    read += 1;
                    bad += 1;
                    Ok(())
                }
            })?;
        }
        self.unconvertible.record(&table.name, bad);
        Ok(())
    }

    fn unconvertible(&self, table: &str) -> u64 {
        self.unconvertible.get(table)
    }
}
