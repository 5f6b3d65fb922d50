//! `sync` from a live server: the row-based binary log, read from the position that
//! `migrate --for-sync` took under the same lock as its snapshot.
//!
//! The binlog says which rows each transaction changed; sync reads those rows again
//! by primary key through the copy's own path (the same conversion, every type as
//! exactly as the copy carries it) and applies whole transactions a batch at a time,
//! with the position after them in the same commit. A row read again is at least as
//! new as the transactions applied, so once the source is quiet (at a cutover) the
//! store equals it; transactions read again after a crash read the same rows again,
//! so none takes effect twice.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{CommandFactory, FromArgMatches, Parser, ValueEnum};
use lightning_core::pipeline::SourceError;
use lightning_core::store::{Store, SyncState};
use lightning_core::sync::{Change, ChangeFeed, Poll, SourceTransaction, SyncArgs};
use lightning_core::Value;
use mysql::binlog::events::{EventData, RowsEventData};
use mysql::prelude::Queryable;
use mysql::{BinlogDumpFlags, BinlogRequest, BinlogStream, Conn, Value as MyValue};
use serde::{Deserialize, Serialize};

use crate::connect::ConnSpec;
use crate::convert::SourceTable;
use crate::mapping::{convert, ColMap, Counters, Ctx, Kind, Limit, ZeroDates};
use crate::model::{MyCatalog, MyTable};
use crate::source::{BinlogPosition, ServerSource};

mod gtid;

/// Attempts at reading the binlog when the connection drops.
const ATTEMPTS: u32 = 5;

/// What the store keeps for the feed besides the position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedState {
    /// Each store table and the MySQL table its rows come from.
    pub tables: Vec<SyncedTable>,
    /// Every table the database had at the copy: a table made later is named in
    /// the report.
    pub known: Vec<String>,
    /// `--zero-dates` of the copy (`error`, `null`, `sentinel`).
    pub zero_dates: String,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncedTable {
    pub table: String,
    pub source: String,
    /// Columns of the MySQL table at the copy (its row events have as many).
    pub columns: usize,
    /// The place of each primary-key column in those rows.
    pub key_at: Vec<usize>,
}

/// Why a table cannot be followed through the binlog, if it cannot.
pub fn key_problem(t: &SourceTable, my: &MyTable) -> Option<String> {
    let name = &t.schema.name;
    if t.schema.primary_key.is_empty() {
        return Some(format!(
            "table `{name}` has no primary key: sync applies each change by its key, and \
             without one an update or delete cannot be told apart from its duplicates. Add a \
             primary key on the source, or leave the table out (--exclude {})",
            t.source_name
        ));
    }
    for k in &t.schema.primary_key {
        let col = t
            .source_columns
            .iter()
            .position(|c| c == k)
            .map(|i| &t.columns[i]);
        let my_col = my.columns.iter().find(|c| &c.name == k);
        let (Some(col), Some(my_col)) = (col, my_col) else {
            return Some(format!("table `{name}`: its key column `{k}` is not read"));
        };
        let ty = lightning_core::cast::SourceType::parse(&col.column_type);
        let ok = match col.kind {
            Kind::Int | Kind::Decimal | Kind::Date | Kind::DateTime | Kind::Time => true,
            Kind::Text => {
                matches!(ty.name.as_str(), "char" | "varchar")
                    && my_col
                        .charset
                        .as_deref()
                        .is_none_or(|c| matches!(c, "utf8mb4" | "utf8mb3" | "utf8" | "ascii"))
            }
            Kind::Binary => ty.name == "varbinary",
            _ => false,
        };
        if !ok {
            let charset = my_col
                .charset
                .as_deref()
                .map(|c| format!(" in {c}"))
                .unwrap_or_default();
            return Some(format!(
                "table `{name}`: its primary key column `{k}` is {}{charset}, which the binlog \
                 writes in a form sync cannot match to the row exactly (keys of integers, \
                 DECIMAL, DATE, DATETIME, TIME, UTF-8 CHAR/VARCHAR and VARBINARY can be \
                 followed). Leave the table out (--exclude {}) and copy it at the cutover",
                col.column_type, t.source_name
            ));
        }
    }
    None
}

/// What the server must have for sync: the binary log, in ROW format, with the
/// key columns in every row image.
pub fn check_server(conn: &mut Conn, spec: &ConnSpec) -> anyhow::Result<()> {
    let row: Option<(Option<String>, Option<String>, Option<String>)> = conn
        .query_first("SELECT @@log_bin, @@binlog_format, @@binlog_row_image")
        .map_err(|e| spec.query_error(e))?;
    let (log_bin, format, image) = row.unwrap_or_default();
    if log_bin.as_deref() != Some("1") {
        bail!(
            "the server keeps no binary log (log_bin is off); sync reads it. Turn it on in \
             the server's option file ([mysqld] log-bin = NAME, binlog-format = ROW, \
             server-id = N) and restart the server, then migrate again"
        );
    }
    if !format
        .as_deref()
        .is_some_and(|f| f.eq_ignore_ascii_case("ROW"))
    {
        bail!(
            "the server's binlog_format is {}; sync reads row events, which need \
             binlog_format = ROW: set it in the option file (and SET GLOBAL binlog_format = \
             'ROW' for sessions to come), then migrate again",
            format.unwrap_or_default()
        );
    }
    if image
        .as_deref()
        .is_some_and(|i| i.eq_ignore_ascii_case("MINIMAL"))
    {
        bail!(
            "the server's binlog_row_image is MINIMAL, which may leave a changed row's key \
             out of the log; set binlog_row_image = FULL (the default), then migrate again"
        );
    }
    // Compressed events hold row changes this reader does not open (MySQL's
    // transaction payloads, MariaDB's compressed events): refused, never skipped.
    for (var, what) in [
        ("binlog_transaction_compression", "MySQL"),
        ("log_bin_compress", "MariaDB"),
    ] {
        let on: Option<Option<String>> = conn.query_first(format!("SELECT @@{var}")).ok().flatten();
        if on
            .flatten()
            .is_some_and(|v| v == "1" || v.eq_ignore_ascii_case("ON"))
        {
            bail!(
                "the server compresses its binlog ({what}'s {var} = ON), which sync cannot \
                 read; set {var} = OFF, then migrate again"
            );
        }
    }
    Ok(())
}

/// The sync state a migration records when it is done.
pub fn initial_state(
    start: &BinlogPosition,
    tables: &[SourceTable],
    cat: &MyCatalog,
    zero_dates: ZeroDates,
) -> SyncState {
    let feed = FeedState {
        tables: tables
            .iter()
            .filter_map(|t| {
                let my = cat.tables.iter().find(|m| m.name == t.source_name)?;
                Some(SyncedTable {
                    table: t.schema.name.clone(),
                    source: t.source_name.clone(),
                    columns: my.columns.len(),
                    key_at: t
                        .schema
                        .primary_key
                        .iter()
                        .filter_map(|k| my.columns.iter().position(|c| &c.name == k))
                        .collect(),
                })
            })
            .collect(),
        known: cat.tables.iter().map(|t| t.name.clone()).collect(),
        zero_dates: zero_dates_name(zero_dates),
    };
    SyncState {
        tool: crate::TOOL.into(),
        position: start.to_string(),
        feed: serde_json::to_value(feed).expect("feed state serializes"),
        transactions: 0,
        changes: 0,
        source_commit_micros: None,
        updated_at: lightning_core::store::now_rfc3339(),
    }
}

fn zero_dates_name(z: ZeroDates) -> String {
    z.to_possible_value()
        .map(|v| v.get_name().to_string())
        .unwrap_or_default()
}

#[derive(Parser)]
#[command(
    name = "sync",
    about = "Apply the changes committed on the server since the migration (the binlog)",
    long_about = "\
Apply the changes committed on the server since the migration's snapshot: INSERT,
UPDATE, DELETE and TRUNCATE, read from the row-based binary log from the position
`migrate --for-sync` recorded. The rows each transaction changed are read again by
key, converted as the copy converts them, and applied a batch of whole
transactions at a time, atomically with the position in the binlog, so a sync
killed at any point and run again ends in the same state.

The server needs the binary log in ROW format (log-bin, binlog-format = ROW,
binlog_row_image = FULL); the user needs REPLICATION SLAVE (to read it) and
REPLICATION CLIENT (BINLOG MONITOR on MariaDB) besides SELECT. The server keeps
its binlog files as long as its expiry settings say, not as long as sync needs
them: run sync before they expire.

Example:
  mysql2lightning migrate --source mysql://app@db/shop --target shop.ldb --for-sync
  mysql2lightning sync --source mysql://app@db/shop --target shop.ldb --until-caught-up"
)]
pub struct SyncCommand {
    /// The server, named as for migrate (a URL, or a database name with the option
    /// files, or MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD and USER).
    #[arg(long, value_name = "URL|DATABASE")]
    source: String,
    #[command(flatten)]
    client: crate::connect::ClientArgs,
    /// The server id sync reads the binlog as (it must differ from every replica's)
    /// [default: one made from the process id].
    #[arg(long, value_name = "N")]
    server_id: Option<u32>,
    #[command(flatten)]
    sync: SyncArgs,
}

pub fn command() -> clap::Command {
    SyncCommand::command()
}

pub fn run(matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    let cmd = SyncCommand::from_arg_matches(matches).unwrap_or_else(|e| e.exit());
    let spec = ConnSpec::resolve(&cmd.source, &cmd.client)?;
    let server_id = cmd
        .server_id
        .unwrap_or(0x4c00_0000 | (std::process::id() & 0x00ff_ffff));
    lightning_core::sync::run_command(crate::TOOL, &cmd.sync, |store, state| {
        Ok(Box::new(MyFeed::open(
            spec, store, state, &cmd.sync, server_id,
        )?))
    })
}

/// A followed table as the binlog shows it.
struct Followed {
    table: Arc<str>,
    /// Columns of the MySQL table (a row event with another count is of another shape).
    columns: usize,
    /// The place of each primary-key column in the MySQL table's rows.
    key_at: Vec<usize>,
    /// How each key value becomes the store's.
    key_cols: Vec<ColMap>,
    /// The place of each key column in the store's rows.
    key_positions: Vec<usize>,
}

/// A row a transaction changed: its table and key as the binlog gives it.
struct Touch {
    table: Arc<str>,
    key: Vec<MyValue>,
    /// The key as the store keeps it, and encoded.
    stored: Vec<Value>,
    encoded: Vec<u8>,
}

/// A transaction read from the binlog, before its rows are read again.
#[derive(Default)]
struct Pending {
    touches: Vec<Touch>,
    truncates: Vec<(usize, Arc<str>)>,
    seen: HashSet<(Arc<str>, Vec<u8>)>,
}

struct Complete {
    pending: Pending,
    position: BinlogPosition,
    committed_at_micros: Option<i64>,
}

pub struct MyFeed {
    spec: ConnSpec,
    database: String,
    /// For reading rows again and the binlog's size.
    conn: Option<Conn>,
    source: ServerSource,
    feed: FeedState,
    zero_dates: ZeroDates,
    /// Followed tables by their MySQL name.
    followed: HashMap<String, Followed>,
    known: HashSet<String>,
    made_later: BTreeSet<String>,
    server_id: u32,
    stream: Option<BinlogStream>,
    /// The binlog file the stream's events are in.
    file: String,
    /// After the last transaction handed over.
    at: BinlogPosition,
    /// `--until-caught-up`: the server's position when sync started.
    until: Option<BinlogPosition>,
    /// The stream reached the end of the binlog.
    ended: bool,
    deferred: Option<SourceError>,
}

impl MyFeed {
    pub fn open(
        spec: ConnSpec,
        store: &Store,
        state: &SyncState,
        args: &SyncArgs,
        server_id: u32,
    ) -> anyhow::Result<MyFeed> {
        let feed: FeedState =
            serde_json::from_value(state.feed.clone()).context("the store's sync state")?;
        let zero_dates = ZeroDates::from_str(&feed.zero_dates, true).unwrap_or_default();
        let mut conn = spec.connect()?;
        check_server(&mut conn, &spec)?;
        let at = match &args.start_position {
            Some(p) => match gtid::Gtid::parse(p) {
                Some(g) => {
                    let at = gtid::position_after(&mut conn, &g)
                        .with_context(|| format!("--start-position {p}"))?;
                    tracing::info!("GTID {g} ends at {at}: starting there");
                    at
                }
                None => BinlogPosition::parse(p).with_context(|| {
                    format!(
                        "--start-position `{p}` is neither a binlog file:position such as \
                         mariadb-bin.000003:1234 (as SHOW MASTER STATUS shows it) nor a GTID \
                         such as 0-1-57 (MariaDB) or 3e11fa47-71ca-11e1-9e33-c80aa9429562:23 (MySQL)"
                    )
                })?,
            },
            None => BinlogPosition::parse(&state.position)
                .with_context(|| format!("the store's sync position `{}`", state.position))?,
        };
        let logs: Vec<mysql::Row> = conn
            .query("SHOW BINARY LOGS")
            .map_err(|e| spec.query_error(e))?;
        let size = logs.iter().find_map(|r| {
            (r.get::<String, _>(0).as_deref() == Some(at.file.as_str()))
                .then(|| r.get::<u64, _>(1))
                .flatten()
        });
        if size.is_none_or(|s| at.pos > s) {
            bail!(
                "the server's binlog has no position {at}: {}. The changes since cannot be \
                 read; copy again with `migrate --for-sync --fresh`, then sync",
                match size {
                    None => "that file is not among its binlog files (it was purged by \
                             expire_logs_days or binlog_expire_logs_seconds, or never existed)"
                        .to_string(),
                    Some(s) => format!("the file holds {s} bytes"),
                }
            );
        }
        let cat = crate::catalog::read(&mut conn, &spec)?;
        let (tables, followed) = plans(&cat, store, &feed, zero_dates)?;
        let until = if args.until_caught_up {
            BinlogPosition::current(&mut conn).map_err(|e| spec.query_error(e))?
        } else {
            None
        };
        let known: HashSet<String> = feed.known.iter().cloned().collect();
        let made_later = cat
            .tables
            .iter()
            .filter(|t| !known.is_empty() && !known.contains(&t.name))
            .map(|t| t.name.clone())
            .collect();
        let source = ServerSource::new(spec.clone(), tables, HashMap::new(), 1, zero_dates, false);
        Ok(MyFeed {
            database: spec.database.clone(),
            spec,
            conn: Some(conn),
            source,
            feed,
            zero_dates,
            followed,
            known,
            made_later,
            server_id,
            stream: None,
            file: at.file.clone(),
            at,
            until,
            ended: false,
            deferred: None,
        })
    }

    fn open_stream(&mut self, from: &BinlogPosition) -> Result<(), SourceError> {
        let conn = self.spec.connect()?;
        let request = BinlogRequest::new(self.server_id)
            .with_filename(from.file.as_bytes().to_vec())
            .with_pos(from.pos)
            .with_flags(BinlogDumpFlags::BINLOG_DUMP_NON_BLOCK);
        let stream = conn
            .get_binlog_stream(request)
            .map_err(|e| self.binlog_error(e, from))?;
        self.stream = Some(stream);
        self.file = from.file.clone();
        Ok(())
    }

    /// A binlog error as the user can act on it.
    fn binlog_error(&self, e: mysql::Error, from: &BinlogPosition) -> SourceError {
        let text = self.spec.explain(&e);
        match &e {
            mysql::Error::MySqlError(m) if m.code == 1236 => format!(
                "the server cannot send its binlog from {from}: {text}. The file was purged \
                 (expire_logs_days, binlog_expire_logs_seconds) or the position is not the \
                 start of an event; the changes since cannot be read. Copy again with \
                 `migrate --for-sync --fresh`, then sync"
            )
            .into(),
            mysql::Error::MySqlError(m) if m.code == 1227 || m.code == 1045 => {
                format!("reading the binlog: {text}; grant the user REPLICATION SLAVE").into()
            }
            _ => format!("reading the binlog from {}: {text}", self.spec.describe()).into(),
        }
    }

    fn lost(e: &mysql::Error) -> bool {
        // Over TLS a killed connection reads as a codec error (an unexpected end
        // of the TLS stream) rather than an I/O error.
        matches!(
            e,
            mysql::Error::IoError(_)
                | mysql::Error::DriverError(_)
                | mysql::Error::CodecError(_)
                | mysql::Error::TlsError(_)
        ) || matches!(e, mysql::Error::MySqlError(m) if matches!(m.code, 1053 | 1927 | 2006 | 2013))
    }

    /// A change to the shape of a followed table: sync stops before it.
    fn schema_change(&self, table: &str, what: &str) -> SourceError {
        format!(
            "table `{table}` changed on the server ({what}) and the store's table was made \
             without the change: sync stopped before it, with everything earlier applied. \
             Bring the store's table to the new shape (migrate the table again with --fresh \
             --for-sync), then sync"
        )
        .into()
    }

    /// Read events up to about `max` changed rows (whole transactions), or the end.
    fn read_events(&mut self, max: usize, done: &mut Vec<Complete>) -> Result<(), SourceError> {
        let mut open: Option<Pending> = None;
        // Row changes, and one for each transaction (those of other databases too).
        let mut rows = 0usize;
        let mut failures = 0;
        loop {
            let from = done
                .last()
                .map_or_else(|| self.at.clone(), |c| c.position.clone());
            if self.until.as_ref().is_some_and(|u| from.key() >= u.key()) && open.is_none() {
                self.ended = true;
                return Ok(());
            }
            if open.is_none() && rows >= max {
                return Ok(());
            }
            if self.stream.is_none() {
                open = None;
                if let Err(e) = self.open_stream(&from) {
                    // A connection ended while it was being made: tried again.
                    if failures >= ATTEMPTS {
                        return Err(e);
                    }
                    failures += 1;
                    tracing::warn!("cannot open the binlog ({e}); reconnecting");
                    std::thread::sleep(Duration::from_millis(200 << failures));
                    continue;
                }
            }
            let stream = self.stream.as_mut().expect("stream opened");
            let event = match stream.next() {
                None => {
                    self.stream = None;
                    if open.is_none() {
                        self.ended = true;
                        return Ok(());
                    }
                    // The end of the log inside a transaction: the connection ended.
                    failures += 1;
                    if failures > ATTEMPTS {
                        return Err(format!(
                            "the server's binlog ended inside a transaction after {from}, {ATTEMPTS} times"
                        )
                        .into());
                    }
                    continue;
                }
                Some(Err(e)) => {
                    self.stream = None;
                    if !Self::lost(&e) || failures >= ATTEMPTS {
                        return Err(self.binlog_error(e, &from));
                    }
                    if !done.is_empty() {
                        return Ok(());
                    }
                    failures += 1;
                    tracing::warn!(
                        "the binlog connection dropped ({}); reconnecting",
                        self.spec.explain(&e)
                    );
                    std::thread::sleep(Duration::from_millis(200 << failures));
                    continue;
                }
                Some(Ok(event)) => event,
            };
            let header = event.header();
            let before = done.len();
            let end = BinlogPosition {
                file: self.file.clone(),
                pos: u64::from(header.log_pos()),
            };
            // MariaDB's compressed query and row events, MySQL's compressed
            // transactions: their changes would be missed.
            let raw = header.event_type_raw();
            if (165..=171).contains(&raw) || raw == 40 {
                self.stream = None;
                let e: SourceError = format!(
                    "a compressed binlog event at {end}, which sync cannot read: turn the \
                     server's binlog compression off (log_bin_compress on MariaDB, \
                     binlog_transaction_compression on MySQL); the changes from here on \
                     were not applied"
                )
                .into();
                if done.is_empty() {
                    return Err(e);
                }
                self.deferred = Some(e);
                return Ok(());
            }
            let data = event
                .read_data()
                .map_err(|e| format!("a binlog event at {end} cannot be read: {e}"))?;
            match data {
                // The server starts a stream with a made-up rotate (its header
                // position 0) to the file asked for, read before the stream says
                // whether events carry checksums: its name may end in one.
                Some(EventData::RotateEvent(r)) if header.log_pos() != 0 => {
                    self.file = r.name().into_owned();
                }
                Some(EventData::QueryEvent(q)) => {
                    let sql = q.query();
                    let word = sql.trim().to_ascii_uppercase();
                    match word.as_str() {
                        "BEGIN" => open = Some(Pending::default()),
                        "COMMIT" | "ROLLBACK" => {
                            done.push(Complete {
                                pending: open.take().unwrap_or_default(),
                                position: end,
                                committed_at_micros: Some(
                                    i64::from(header.timestamp()) * 1_000_000,
                                ),
                            });
                        }
                        w if w.starts_with("SAVEPOINT")
                            || w.starts_with("ROLLBACK TO")
                            || w.starts_with("XA ") => {}
                        // A statement inside a transaction that is not DDL on a
                        // table (MariaDB's stand-in for an event this reader does
                        // not announce it reads is a comment) changes no row.
                        _ if open.is_some() && ddl::parse(&sql).is_none() => {}
                        _ => {
                            let mut p = open.take().unwrap_or_default();
                            let schema = q.schema().into_owned();
                            if let Err(e) = self.statement(&sql, &schema, &end, &mut p) {
                                if done.is_empty() {
                                    return Err(e);
                                }
                                self.deferred = Some(e);
                                return Ok(());
                            }
                            done.push(Complete {
                                pending: p,
                                position: end,
                                committed_at_micros: Some(
                                    i64::from(header.timestamp()) * 1_000_000,
                                ),
                            });
                        }
                    }
                }
                Some(EventData::XidEvent(_)) => {
                    done.push(Complete {
                        pending: open.take().unwrap_or_default(),
                        position: end,
                        committed_at_micros: Some(i64::from(header.timestamp()) * 1_000_000),
                    });
                }
                Some(EventData::RowsEvent(re)) => {
                    let p = open.get_or_insert_with(Pending::default);
                    match self.rows_event(&re, p) {
                        Ok(n) => rows += n,
                        Err(e) => {
                            self.stream = None;
                            if done.is_empty() {
                                return Err(e);
                            }
                            self.deferred = Some(e);
                            return Ok(());
                        }
                    }
                }
                _ => {}
            }
            rows += done.len() - before;
        }
    }

    /// The rows a rows event changed, noted in the transaction; how many.
    fn rows_event(
        &mut self,
        re: &RowsEventData<'_>,
        p: &mut Pending,
    ) -> Result<usize, SourceError> {
        let stream = self.stream.as_ref().expect("stream open");
        let tme = stream
            .get_tme(re.table_id())
            .ok_or("a row event without its table map event")?;
        if tme.database_name() != self.database.as_str() {
            return Ok(0);
        }
        let name = tme.table_name().into_owned();
        let Some(f) = self.followed.get(&name) else {
            if !self.known.contains(&name) {
                self.made_later.insert(name);
            }
            return Ok(0);
        };
        if tme.columns_count() as usize != f.columns {
            return Err(self.schema_change(
                &f.table,
                &format!(
                    "its rows have {} columns where the copy's had {}",
                    tme.columns_count(),
                    f.columns
                ),
            ));
        }
        let ctx = Ctx {
            zero_dates: self.zero_dates,
            counters: &Counters::default(),
        };
        let mut n = 0;
        for row in re.rows(tme) {
            let (before, after) =
                row.map_err(|e| format!("a row event of `{name}` cannot be read: {e}"))?;
            for image in [before, after].into_iter().flatten() {
                let mut key = Vec::with_capacity(f.key_at.len());
                for (i, &at) in f.key_at.iter().enumerate() {
                    match image.as_ref(at) {
                        Some(mysql::binlog::value::BinlogValue::Value(v)) => {
                            key.push(key_value(&f.key_cols[i], v.clone()));
                        }
                        _ => break,
                    }
                }
                if key.len() != f.key_at.len() {
                    continue;
                }
                let stored: Vec<Value> = key
                    .iter()
                    .zip(&f.key_cols)
                    .map(|(v, c)| convert(c, v.clone(), &ctx))
                    .collect::<Result<_, _>>()
                    .map_err(|e| format!("table `{}`: a key in the binlog: {e}", f.table))?;
                let encoded = lightning_core::keycode::encode_key(&stored);
                if p.seen.insert((f.table.clone(), encoded.clone())) {
                    p.touches.push(Touch {
                        table: f.table.clone(),
                        key,
                        stored,
                        encoded,
                    });
                    n += 1;
                }
            }
        }
        Ok(n)
    }

    /// A statement in the binlog (DDL): TRUNCATE of a followed table is a change;
    /// other changes to one stop sync; new tables are noted.
    fn statement(
        &mut self,
        sql: &str,
        schema: &str,
        at: &BinlogPosition,
        p: &mut Pending,
    ) -> Result<(), SourceError> {
        let Some(ddl) = ddl::parse(sql) else {
            return Ok(());
        };
        let ours: Vec<String> = ddl
            .tables
            .iter()
            .filter(|(db, _)| db.as_deref().unwrap_or(schema) == self.database)
            .map(|(_, t)| t.clone())
            .collect();
        for t in &ours {
            let Some(f) = self.followed.get(t) else {
                if ddl.verb == ddl::Verb::Create && !self.known.contains(t) {
                    self.made_later.insert(t.clone());
                }
                continue;
            };
            if ddl.verb == ddl::Verb::Truncate {
                p.truncates.push((p.touches.len(), f.table.clone()));
                continue;
            }
            let mut shown: String = sql.trim().chars().take(200).collect();
            if shown.len() < sql.trim().len() {
                shown.push_str("...");
            }
            return Err(self.schema_change(&f.table, &format!("`{shown}` at {at}")));
        }
        Ok(())
    }

    /// Read the touched rows again and make the transactions' changes.
    fn resolve(&mut self, done: Vec<Complete>) -> Result<Vec<SourceTransaction>, SourceError> {
        let mut by_table: HashMap<Arc<str>, Vec<Vec<MyValue>>> = HashMap::new();
        let mut asked: HashSet<(Arc<str>, Vec<u8>)> = HashSet::new();
        for touch in done.iter().flat_map(|c| &c.pending.touches) {
            if asked.insert((touch.table.clone(), touch.encoded.clone())) {
                by_table
                    .entry(touch.table.clone())
                    .or_default()
                    .push(touch.key.clone());
            }
        }
        let mut found: HashMap<(Arc<str>, Vec<u8>), Vec<Value>> = HashMap::new();
        for (table, keys) in by_table {
            let rows = self.read_keys(&table, &keys)?;
            let positions = self
                .followed
                .values()
                .find(|f| f.table == table)
                .map(|f| f.key_positions.clone())
                .unwrap_or_default();
            for row in rows {
                let key: Vec<&Value> = positions.iter().map(|&i| &row[i]).collect();
                let id = (table.clone(), lightning_core::keycode::encode_key(key));
                // The server compares keys by their collation: asked for `a`, it
                // may return `A` (a later transaction, not read yet, changed the
                // key). That row comes with that transaction; `a` is gone.
                if asked.contains(&id) {
                    found.insert(id, row);
                }
            }
        }
        let mut out = Vec::with_capacity(done.len());
        for c in done {
            let mut changes = Vec::with_capacity(c.pending.touches.len());
            let mut truncates = c.pending.truncates.into_iter().peekable();
            for (i, touch) in c.pending.touches.into_iter().enumerate() {
                while let Some((_, t)) = truncates.next_if(|(at, _)| *at <= i) {
                    changes.push(Change::Truncate { table: t });
                }
                match found.get(&(touch.table.clone(), touch.encoded)) {
                    Some(row) => changes.push(Change::Put {
                        table: touch.table,
                        old_key: None,
                        row: row.iter().cloned().map(Some).collect(),
                    }),
                    None => changes.push(Change::Delete {
                        table: touch.table,
                        key: touch.stored,
                    }),
                }
            }
            for (_, t) in truncates {
                changes.push(Change::Truncate { table: t });
            }
            // Transactions of other tables and databases only move the position.
            if changes.is_empty() {
                continue;
            }
            out.push(SourceTransaction {
                position: c.position.to_string(),
                committed_at_micros: c.committed_at_micros,
                changes,
            });
        }
        Ok(out)
    }

    /// Run `f` on the feed's connection: one that dropped, or could not be made,
    /// is made again (up to `ATTEMPTS` times).
    fn on_conn<T>(
        &mut self,
        mut f: impl FnMut(&mut Conn, &ServerSource) -> Result<T, SourceError>,
    ) -> Result<T, SourceError> {
        let mut attempt = 0;
        loop {
            attempt += 1;
            if self.conn.is_none() {
                match self.spec.connect() {
                    Ok(c) => self.conn = Some(c),
                    Err(e) if attempt < ATTEMPTS => {
                        tracing::warn!("cannot connect ({e}); reconnecting");
                        std::thread::sleep(Duration::from_millis(200 << attempt));
                        continue;
                    }
                    Err(e) => return Err(e.into()),
                }
            }
            let conn = self.conn.as_mut().expect("connected");
            match f(conn, &self.source) {
                Ok(v) => return Ok(v),
                Err(e) if attempt < ATTEMPTS && conn.ping().is_err() => {
                    tracing::warn!("the connection dropped ({e}); reconnecting");
                    self.conn = None;
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// The rows with these keys as the server has them now.
    fn read_keys(
        &mut self,
        table: &str,
        keys: &[Vec<MyValue>],
    ) -> Result<Vec<Vec<Value>>, SourceError> {
        self.on_conn(|conn, source| source.read_keys(conn, table, keys))
    }
}

/// A key value from the binlog as the server would send it to a query: an
/// unsigned integer column's value comes as signed when the log does not say.
fn key_value(col: &ColMap, v: MyValue) -> MyValue {
    match (v, col.limit) {
        (MyValue::Int(i), Limit::Int(0, hi)) if i < 0 => {
            MyValue::UInt((i128::from(i) + hi + 1) as u64)
        }
        (v, _) => v,
    }
}

/// Store tables as the binlog shows them: each store column read from the server
/// as it is now (a change of shape since the copy stops sync where the binlog
/// shows it), converted to the store's type.
fn plans(
    cat: &MyCatalog,
    store: &Store,
    feed: &FeedState,
    zero_dates: ZeroDates,
) -> anyhow::Result<(Vec<SourceTable>, HashMap<String, Followed>)> {
    let mut report = lightning_core::report::ConversionReport::new(crate::TOOL, "");
    let rules = crate::mapping::default_rules();
    let wanted: HashSet<&str> = feed.tables.iter().map(|t| t.source.as_str()).collect();
    let converted = crate::convert::convert(
        cat,
        &crate::convert::Options {
            rules: &rules,
            zero_dates,
            from_dump: false,
        },
        &|t| wanted.contains(t),
        &mut report,
    );
    let mut tables = Vec::new();
    let mut followed = HashMap::new();
    for synced in &feed.tables {
        let Some(now) = converted.iter().find(|c| c.source_name == synced.source) else {
            bail!(
                "the server no longer has table `{}` (the source of `{}`): sync cannot follow it",
                synced.source,
                synced.table
            );
        };
        let my = cat
            .tables
            .iter()
            .find(|m| m.name == synced.source)
            .expect("converted from the catalog");
        let schema = store.table(&synced.table)?;
        let mut t = now.clone();
        t.columns.clear();
        t.source_columns.clear();
        for col in &schema.columns {
            let Some(i) = now.schema.columns.iter().position(|c| c.name == col.name) else {
                bail!(
                    "table `{}` on the server has no column `{}` any more: it changed since \
                     the copy. Migrate the table again (--fresh --for-sync), then sync",
                    synced.source,
                    col.name
                );
            };
            let mut c = now.columns[i].clone();
            // The store's types decide (the copy may have been cast).
            c.resolved.target = col.ty;
            t.columns.push(c);
            t.source_columns.push(now.source_columns[i].clone());
        }
        t.schema = schema.clone();
        if let Some(why) = key_problem(&t, my) {
            bail!(why);
        }
        let key_positions = t.schema.key_positions();
        let key_cols: Vec<ColMap> = key_positions
            .iter()
            .map(|&i| t.columns[i].clone())
            .collect();
        if synced.key_at.len() != key_cols.len() {
            bail!(
                "the store's sync state does not place the key of `{}`: migrate it again \
                 (--fresh --for-sync), then sync",
                synced.table
            );
        }
        followed.insert(
            synced.source.clone(),
            Followed {
                table: Arc::from(synced.table.as_str()),
                columns: synced.columns,
                key_at: synced.key_at.clone(),
                key_cols,
                key_positions,
            },
        );
        tables.push(t);
    }
    Ok((tables, followed))
}

impl ChangeFeed for MyFeed {
    fn poll(&mut self, max_changes: usize) -> Result<Poll, SourceError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        if self.ended {
            self.ended = false;
            if self.until.is_some() {
                return Ok(Poll::CaughtUp);
            }
        }
        let mut done = Vec::new();
        self.read_events(max_changes, &mut done)?;
        if done.is_empty() {
            if self.ended && self.until.is_some() {
                return Ok(Poll::CaughtUp);
            }
            self.ended = false;
            return Ok(Poll::Idle);
        }
        let position = done.last().expect("a transaction").position.clone();
        let txns = self.resolve(done)?;
        self.at = position;
        Ok(Poll::Transactions(txns, self.at.to_string()))
    }

    fn confirm(&mut self, _position: &str) -> Result<(), SourceError> {
        // The server keeps its binlog by its own expiry settings, not by ours.
        Ok(())
    }

    fn bytes_behind(&mut self) -> Result<Option<u64>, SourceError> {
        let spec = self.spec.clone();
        let logs: Vec<mysql::Row> = self.on_conn(|c, _| {
            c.query("SHOW BINARY LOGS")
                .map_err(|e| spec.query_error(e).into())
        })?;
        let mut behind = 0u64;
        for row in logs {
            let (Some(file), Some(size)) = (row.get::<String, _>(0), row.get::<u64, _>(1)) else {
                continue;
            };
            if file.as_str() > self.at.file.as_str() {
                behind += size;
            } else if file == self.at.file {
                behind += size.saturating_sub(self.at.pos);
            }
        }
        Ok(Some(behind))
    }

    fn feed_state(&self) -> serde_json::Value {
        serde_json::to_value(&self.feed).expect("feed state serializes")
    }

    fn warnings(&self) -> Vec<String> {
        let mut out = vec![format!(
            "sync reads the server's binlog files from {}: the server deletes them by its own \
             expiry settings (binlog_expire_logs_seconds, expire_logs_days), so run sync \
             before they go",
            self.at.file
        )];
        if !self.made_later.is_empty() {
            out.push(format!(
                "made on the server after the copy, not followed by sync: {}; copy them with \
                 `mysql2lightning migrate --tables ...` into another store, or migrate again \
                 with --for-sync",
                self.made_later
                    .iter()
                    .cloned()
                    .collect::<Vec<_>>()
                    .join(", ")
            ));
        }
        out
    }
}

mod ddl;
