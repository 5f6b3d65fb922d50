//! `sync` from a live server: logical decoding (`pgoutput`) from a replication slot
//! that `migrate --for-sync` makes before it takes its snapshot.
//!
//! The slot starts a moment before the snapshot: transactions committed in between
//! are both in the copy and in the slot. The snapshot says which they are (those
//! it sees), so they are skipped, and every other one is applied once. The slot is
//! read with `pg_logical_slot_peek_binary_changes` and advanced only after the
//! store holds what was read; after a crash in between, the transactions read
//! again are skipped by their commit position, which the store keeps with them.

use std::collections::HashMap;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{CommandFactory, FromArgMatches, Parser};
use lightning_core::pipeline::SourceError;
use lightning_core::secret::PasswordFileArg;
use lightning_core::store::{Store, SyncState};
use lightning_core::sync::{Change, ChangeFeed, Poll, SourceTransaction, SyncArgs};
use lightning_core::{Row, TableSchema, Value};
use postgres::Client;
use serde::{Deserialize, Serialize};

use crate::connect::{ConnectInfo, PgError, PgResult};
use crate::convert::{convert, ColumnPlan, ConvertOptions, ConvertedTable};
use crate::model::{quote_ident, QualifiedName};
use crate::pgoutput::{self, Field, Lsn, Message, UNIX_TO_PG_MICROS};
use crate::rows::convert_row;

/// The slot (and publication) `--for-sync` makes when none is named.
pub const DEFAULT_SLOT: &str = "lightning_sync";
/// Attempts at a read whose connection drops.
const ATTEMPTS: u32 = 5;

/// What the store keeps for the feed besides the position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FeedState {
    pub slot: String,
    pub publication: String,
    /// The copy's snapshot (`xmin:xmax:xip,...`): transactions it sees are in the
    /// copy already. Forgotten once the feed is past them.
    #[serde(default)]
    pub snapshot: Option<String>,
    pub keep_partitions: bool,
    /// Each store table and the source tables its rows come from.
    pub tables: Vec<SyncedTable>,
    /// Every table the source had at the copy, followed or not: a table made
    /// later is named in the report.
    #[serde(default)]
    pub known: Vec<(String, String)>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct SyncedTable {
    pub table: String,
    /// The source table (a partitioned table's root when its partitions are merged).
    #[serde(default)]
    pub root: Option<(String, String)>,
    pub sources: Vec<(String, String)>,
}

/// A slot made (or found) for a migration, before its snapshot is taken.
pub struct SlotStart {
    pub slot: String,
    pub start: Lsn,
}

/// Check what logical decoding needs, then make the publication and the slot
/// (or keep the ones an earlier run of this migration made).
pub fn prepare_slot(
    client: &mut Client,
    slot: &str,
    tables: &[ConvertedTable],
) -> anyhow::Result<SlotStart> {
    let level: String = client.query_one("SHOW wal_level", &[]).pg()?.get(0);
    if level != "logical" {
        bail!(
            "the source's wal_level is `{level}`; sync reads the server's logical decoding, \
             which needs `wal_level = logical`: set it (ALTER SYSTEM SET wal_level = logical, \
             or in postgresql.conf) and restart the server, then migrate again"
        );
    }
    for t in tables {
        if t.schema.primary_key.is_empty() {
            bail!(
                "table `{}` has no primary key: sync applies each change by its key, and \
                 without one an update or delete cannot be told apart from its duplicates. \
                 Add a primary key on the source, or leave the table out (--exclude {})",
                t.schema.name,
                t.schema.name
            );
        }
        if let Some(c) = t.columns.iter().find(|c| c.cast_numeric) {
            bail!(
                "table `{}`: column `{}` is `money`, whose changes come as text in the \
                 server's currency format; sync cannot read it exactly. Change the column \
                 to numeric on the source, or leave the table out (--exclude {})",
                t.schema.name,
                c.name,
                t.schema.name
            );
        }
    }
    // From PostgreSQL 13 a partitioned table is published whole, as itself: its
    // partitions, those made later included, send their changes under its name.
    let version: i32 = client
        .query_one("SELECT current_setting('server_version_num')::int", &[])
        .pg()?
        .get(0);
    let by_root = version >= 130_000;
    let sources: Vec<String> = tables
        .iter()
        .flat_map(|t| {
            if by_root && merged(t) {
                vec![t.name.sql()]
            } else {
                t.sources.iter().map(|s| s.sql()).collect()
            }
        })
        .collect();
    let existing = client
        .query_opt(
            "SELECT plugin::text, database::text, confirmed_flush_lsn::text \
             FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .pg()?;
    let has_publication = client
        .query_opt(
            "SELECT 1 FROM pg_catalog.pg_publication WHERE pubname = $1",
            &[&slot],
        )
        .pg()?
        .is_some();
    let list = sources.join(", ");
    let publication = quote_ident(slot);
    let root = if by_root {
        " WITH (publish_via_partition_root = true)"
    } else {
        ""
    };
    let sql = if has_publication {
        format!(
            "ALTER PUBLICATION {publication} SET TABLE {list}; \
             ALTER PUBLICATION {publication} SET (publish_via_partition_root = {by_root})"
        )
    } else {
        format!("CREATE PUBLICATION {publication} FOR TABLE {list}{root}")
    };
    client.batch_execute(&sql).map_err(|e| {
        let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
        let err = PgError::new(e);
        if code == "42501" {
            anyhow::anyhow!(err.with_note(
                "making the publication needs the user to own the tables (or be superuser)"
            ))
        } else {
            anyhow::anyhow!(err)
        }
    })?;
    if let Some(row) = existing {
        let plugin: String = row.get(0);
        let database: Option<String> = row.get(1);
        let here: String = client
            .query_one("SELECT current_database()::text", &[])
            .pg()?
            .get(0);
        if plugin != "pgoutput" || database.as_deref() != Some(here.as_str()) {
            bail!(
                "a replication slot named `{slot}` exists for something else (plugin {plugin}, \
                 database {}): name another with --slot",
                database.unwrap_or_default()
            );
        }
        let at: Option<String> = row.get(2);
        let start = at.as_deref().and_then(Lsn::parse).unwrap_or_default();
        tracing::info!("keeping the replication slot `{slot}` an earlier run made");
        return Ok(SlotStart {
            slot: slot.to_string(),
            start,
        });
    }
    let row = client
        .query_one(
            "SELECT lsn::text FROM pg_catalog.pg_create_logical_replication_slot($1, 'pgoutput')",
            &[&slot],
        )
        .map_err(|e| {
            let code = e.code().map(|c| c.code().to_string()).unwrap_or_default();
            let err = PgError::new(e);
            match code.as_str() {
                "42501" => anyhow::anyhow!(err.with_note(
                    "the user needs the REPLICATION attribute (ALTER ROLE ... REPLICATION) \
                     or to be superuser"
                )),
                "53400" => anyhow::anyhow!(err.with_note(
                    "the server has no free replication slot: raise max_replication_slots \
                     or drop an unused slot"
                )),
                _ => anyhow::anyhow!(err),
            }
        })?;
    let lsn: String = row.get(0);
    eprintln!(
        "made the replication slot `{slot}` at {lsn}: it keeps the source's WAL until sync \
         reads it; remove it with `pg2lightning sync --drop-slot` when done"
    );
    Ok(SlotStart {
        slot: slot.to_string(),
        start: Lsn::parse(&lsn).unwrap_or_default(),
    })
}

/// A partitioned table whose partitions are copied into one table.
fn merged(t: &ConvertedTable) -> bool {
    t.sources.len() != 1 || t.sources[0] != t.name
}

/// The sync state a migration records when it is done.
pub fn initial_state(
    start: &SlotStart,
    snapshot: &str,
    keep_partitions: bool,
    tables: &[ConvertedTable],
    known: Vec<(String, String)>,
) -> SyncState {
    let feed = FeedState {
        slot: start.slot.clone(),
        publication: start.slot.clone(),
        snapshot: Some(snapshot.to_string()),
        keep_partitions,
        tables: tables
            .iter()
            .map(|t| SyncedTable {
                table: t.schema.name.clone(),
                root: Some((t.name.schema.clone(), t.name.name.clone())),
                sources: t
                    .sources
                    .iter()
                    .map(|s| (s.schema.clone(), s.name.clone()))
                    .collect(),
            })
            .collect(),
        known,
    };
    SyncState {
        tool: crate::TOOL.into(),
        position: start.start.to_string(),
        feed: serde_json::to_value(feed).expect("feed state serializes"),
        transactions: 0,
        changes: 0,
        source_commit_micros: None,
        updated_at: lightning_core::store::now_rfc3339(),
    }
}

#[derive(Parser)]
#[command(
    name = "sync",
    about = "Apply the changes committed on the server since the migration (logical decoding)",
    long_about = "\
Apply the changes committed on the server since the migration's snapshot: INSERT,
UPDATE, DELETE and TRUNCATE, read with logical decoding from the replication slot
that `migrate --for-sync` made. Each batch is applied atomically with its position
in the server's log, and the slot is advanced only after, so a sync killed at any
point and run again applies every change exactly once.

The server needs `wal_level = logical`; the user needs the REPLICATION attribute
(or superuser) and ownership of the tables (for the publication). A slot keeps
the server's WAL until sync reads it: drop it with --drop-slot after the cutover.

Example:
  pg2lightning migrate --source postgresql://app@db/app --target app.ldb --for-sync
  pg2lightning sync --source postgresql://app@db/app --target app.ldb --until-caught-up
  pg2lightning sync --source postgresql://app@db/app --target app.ldb --drop-slot"
)]
pub struct SyncCommand {
    /// The server, named as for migrate (a URL or `key=value` string with sslmode
    /// and the other libpq settings; a service; PG* variables; ~/.pgpass).
    #[arg(long, value_name = "URL")]
    source: Option<String>,
    #[command(flatten)]
    password: PasswordFileArg,
    /// Remove the replication slot and publication from the server (and the store's
    /// sync state), then exit: after the cutover, or to give up sync.
    #[arg(long)]
    drop_slot: bool,
    #[command(flatten)]
    sync: SyncArgs,
}

pub fn command() -> clap::Command {
    SyncCommand::command()
}

pub fn run(matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
    let cmd = SyncCommand::from_arg_matches(matches).unwrap_or_else(|e| e.exit());
    let conn = ConnectInfo::from_source(cmd.source.as_deref(), &cmd.password)?;
    if cmd.drop_slot {
        return drop_slot(&conn, &cmd.sync);
    }
    lightning_core::sync::run_command(crate::TOOL, &cmd.sync, |store, state| {
        Ok(Box::new(PgFeed::open(conn, store, state, &cmd.sync)?))
    })
}

fn drop_slot(conn: &ConnectInfo, args: &SyncArgs) -> anyhow::Result<ExitCode> {
    let store =
        Store::open(&args.target).with_context(|| format!("opening {}", args.target.display()))?;
    let Some(state) = store.sync_state()? else {
        bail!(
            "{} records no replication slot (it was not migrated for sync, or the slot was \
             dropped already). To remove a slot by name, run on the server: \
             SELECT pg_drop_replication_slot('NAME'); DROP PUBLICATION NAME;",
            args.target.display()
        );
    };
    let slot = serde_json::from_value::<FeedState>(state.feed)
        .context("the store's sync state")?
        .slot;
    let mut client = conn.connect()?;
    let dropped = client
        .execute(
            "SELECT pg_catalog.pg_drop_replication_slot(slot_name) \
             FROM pg_catalog.pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .pg()
        .map_err(|e| e.with_note("a sync still reading the slot must be stopped first"))?;
    client
        .batch_execute(&format!(
            "DROP PUBLICATION IF EXISTS {}",
            quote_ident(&slot)
        ))
        .pg()?;
    store.set_sync_state(None)?;
    if dropped == 0 {
        eprintln!("no replication slot `{slot}` on the server; the store's sync state is cleared");
    } else {
        eprintln!("dropped the replication slot and publication `{slot}`; the store's sync state is cleared");
    }
    Ok(ExitCode::SUCCESS)
}

/// A transaction snapshot as `txid_current_snapshot()` prints it.
#[derive(Debug, Clone)]
struct XidSnapshot {
    xmin: u64,
    xmax: u64,
    xip: Vec<u64>,
}

impl XidSnapshot {
    fn parse(s: &str) -> Option<XidSnapshot> {
        let mut it = s.split(':');
        let xmin = it.next()?.parse().ok()?;
        let xmax = it.next()?.parse().ok()?;
        let xip = match it.next()? {
            "" => Vec::new(),
            list => list
                .split(',')
                .map(|x| x.parse().ok())
                .collect::<Option<_>>()?,
        };
        Some(XidSnapshot { xmin, xmax, xip })
    }

    /// The 32-bit xid of a decoded transaction, in the snapshot's epoch.
    fn full(&self, xid: u32) -> u64 {
        let epoch = self.xmax >> 32;
        let full = (epoch << 32) | xid as u64;
        if full > self.xmax && epoch > 0 {
            full - (1 << 32)
        } else {
            full
        }
    }

    /// Whether the transaction's changes were visible to the snapshot (in the copy).
    fn sees(&self, full: u64) -> bool {
        full < self.xmin || (full < self.xmax && !self.xip.contains(&full))
    }
}

/// Store tables by the (schema, name) of each source table: the table, its schema,
/// and how its columns are read.
type Plans = HashMap<(String, String), (Arc<str>, TableSchema, Vec<ColumnPlan>)>;

/// How a relation's changes become a store table's.
struct Target {
    table: Arc<str>,
    schema: TableSchema,
    /// The store's columns, in order, as read from the source.
    plan: Vec<ColumnPlan>,
    /// For each store column, its place in the relation's tuples.
    place: Vec<usize>,
    key_positions: Vec<usize>,
}

pub struct PgFeed {
    conn: ConnectInfo,
    client: Client,
    feed: FeedState,
    snapshot: Option<XidSnapshot>,
    /// Transactions that commit before this are in the store.
    applied: Lsn,
    /// The slot's confirmed position: it cannot go back.
    confirmed: Lsn,
    /// `--until-caught-up`: the server's position when sync started.
    until: Option<Lsn>,
    /// Store tables by source table.
    by_source: Plans,
    /// Each relation the server described: how its changes become the store's,
    /// or why they cannot.
    relations: HashMap<u32, Result<Target, String>>,
    /// An error met after complete transactions, given at the next poll.
    deferred: Option<SourceError>,
    /// Tables made on the server after the copy (not followed).
    made_later: Vec<String>,
}

impl PgFeed {
    fn open(
        conn: ConnectInfo,
        store: &Store,
        state: &SyncState,
        args: &SyncArgs,
    ) -> anyhow::Result<PgFeed> {
        let feed: FeedState =
            serde_json::from_value(state.feed.clone()).context("the store's sync state")?;
        let mut client = conn.connect()?;
        let slot = client
            .query_opt(
                "SELECT confirmed_flush_lsn::text, active FROM pg_catalog.pg_replication_slots \
                 WHERE slot_name = $1",
                &[&feed.slot],
            )
            .pg()?;
        let Some(slot) = slot else {
            bail!(
                "the replication slot `{}` no longer exists on {}: it was dropped (or the \
                 server restored), and the changes since the copy went with it. Copy again: \
                 pg2lightning migrate --for-sync --fresh --target {}",
                feed.slot,
                conn.display,
                args.target.display()
            );
        };
        let confirmed: Option<String> = slot.get(0);
        let confirmed = confirmed
            .as_deref()
            .and_then(Lsn::parse)
            .unwrap_or_default();
        if slot.get::<_, bool>(1) {
            bail!(
                "the replication slot `{}` is in use by another session (another sync?): \
                 stop it first",
                feed.slot
            );
        }
        let mut applied = Lsn::parse(&state.position)
            .with_context(|| format!("the store's sync position `{}`", state.position))?;
        let mut snapshot = feed.snapshot.as_deref().and_then(XidSnapshot::parse);
        if let Some(p) = &args.start_position {
            let at = Lsn::parse(p).with_context(|| {
                format!("--start-position `{p}` is not an LSN (such as 0/15FE3A8)")
            })?;
            if at < confirmed {
                bail!(
                    "--start-position {at} is before where the slot `{}` stands ({confirmed}): \
                     the server has let go of the changes before that",
                    feed.slot
                );
            }
            applied = at;
            snapshot = None;
        }
        let until = if args.until_caught_up {
            Some(current_lsn(&mut client)?)
        } else {
            None
        };
        let (by_source, made_later) = plans(&mut client, store, &feed)?;
        Ok(PgFeed {
            conn,
            client,
            feed,
            snapshot,
            applied,
            confirmed,
            until,
            by_source,
            relations: HashMap::new(),
            deferred: None,
            made_later,
        })
    }

    /// Run `f` on the session, reconnecting when the connection drops.
    fn retry<T>(
        &mut self,
        mut f: impl FnMut(&mut Client) -> Result<T, postgres::Error>,
    ) -> Result<T, SourceError> {
        let mut attempt = 0;
        loop {
            match f(&mut self.client) {
                Ok(v) => return Ok(v),
                Err(e) if attempt + 1 < ATTEMPTS && lost_connection(&e) => {
                    attempt += 1;
                    let wait = Duration::from_millis(500 << attempt);
                    tracing::warn!(
                        "the connection to the source dropped ({}); reconnecting in {} ms",
                        PgError::new(e),
                        wait.as_millis()
                    );
                    std::thread::sleep(wait);
                    if let Ok(c) = self.conn.connect() {
                        self.client = c;
                    }
                }
                Err(e) => return Err(Box::new(PgError::new(e))),
            }
        }
    }

    /// Take one message of a poll's answer: transactions end up in `txns`, the
    /// position after the last one complete in `position`.
    fn read_message(
        &mut self,
        data: &[u8],
        open: &mut Option<(SourceTransaction, bool)>,
        txns: &mut Vec<SourceTransaction>,
        position: &mut Lsn,
    ) -> Result<(), SourceError> {
        match pgoutput::parse(data)? {
            Message::Begin {
                final_lsn,
                commit_time,
                xid,
            } => {
                let mut skip = final_lsn < self.applied;
                if let Some(snap) = &self.snapshot {
                    let full = snap.full(xid);
                    if snap.sees(full) {
                        skip = true;
                    } else if full >= snap.xmax {
                        // Every transaction the copy saw committed before this one.
                        self.snapshot = None;
                    }
                }
                let txn = SourceTransaction {
                    position: String::new(),
                    committed_at_micros: Some(commit_time + UNIX_TO_PG_MICROS),
                    changes: Vec::new(),
                };
                *open = Some((txn, skip));
            }
            Message::Commit { end_lsn, .. } => {
                let Some((mut txn, skip)) = open.take() else {
                    return Err("a commit without its transaction's start".into());
                };
                *position = (*position).max(end_lsn);
                // Empty: a transaction of tables sync does not follow.
                if !skip && !txn.changes.is_empty() {
                    txn.position = end_lsn.to_string();
                    txns.push(txn);
                }
            }
            Message::Relation {
                id,
                namespace,
                name,
                columns,
            } => self.relation(id, namespace, name, columns),
            Message::Truncate { relations } => {
                if let Some((txn, false)) = open {
                    for r in relations {
                        let table = self.target(r)?.table.clone();
                        txn.changes.push(Change::Truncate { table });
                    }
                }
            }
            Message::Other(_) => {}
            m => {
                if let Some((txn, false)) = open {
                    if let Some(c) = self.change(m)? {
                        txn.changes.push(c);
                    }
                }
            }
        }
        Ok(())
    }

    fn target(&self, relation: u32) -> Result<&Target, SourceError> {
        match self.relations.get(&relation) {
            Some(Ok(t)) => Ok(t),
            Some(Err(why)) => Err(why.clone().into()),
            None => Err(format!("a change for relation {relation} before its description").into()),
        }
    }

    /// Take a relation's description. One the store cannot follow (not copied,
    /// or changed since the copy) is an error only when a change of it comes: the
    /// server also describes partitions whose changes it sends under their root.
    fn relation(
        &mut self,
        id: u32,
        namespace: String,
        name: String,
        columns: Vec<pgoutput::RelationColumn>,
    ) {
        let target = self.describe(namespace, name, columns);
        self.relations.insert(id, target.map_err(|e| e.to_string()));
    }

    fn describe(
        &self,
        namespace: String,
        name: String,
        columns: Vec<pgoutput::RelationColumn>,
    ) -> Result<Target, SourceError> {
        let Some((table, schema, plan)) = self.by_source.get(&(namespace.clone(), name.clone()))
        else {
            return Err(format!(
                "the server sent changes of {}, which the store does not have",
                QualifiedName::new(namespace, name).sql()
            )
            .into());
        };
        let source = QualifiedName::new(namespace, name).sql();
        let mut place = Vec::with_capacity(plan.len());
        for p in plan {
            let Some(i) = columns.iter().position(|c| c.name == p.name) else {
                return Err(schema_change(
                    table,
                    &source,
                    &format!("column `{}` was dropped", p.name),
                ));
            };
            place.push(i);
        }
        if let Some(extra) = columns
            .iter()
            .find(|c| !plan.iter().any(|p| p.name == c.name))
        {
            return Err(schema_change(
                table,
                &source,
                &format!("column `{}` was added", extra.name),
            ));
        }
        let key_positions = schema
            .primary_key
            .iter()
            .filter_map(|k| schema.column_index(k))
            .collect();
        Ok(Target {
            table: table.clone(),
            schema: schema.clone(),
            plan: plan.clone(),
            place,
            key_positions,
        })
    }

    /// A change message as a store change.
    fn change(&self, m: Message) -> Result<Option<Change>, SourceError> {
        Ok(Some(match m {
            Message::Insert { relation, new } => {
                let t = self.target(relation)?;
                Change::Put {
                    table: t.table.clone(),
                    old_key: None,
                    row: t.values(&new)?,
                }
            }
            Message::Update { relation, old, new } => {
                let t = self.target(relation)?;
                let old_key = match old {
                    Some(old) => Some(t.key(&old)?),
                    None => None,
                };
                Change::Put {
                    table: t.table.clone(),
                    old_key,
                    row: t.values(&new)?,
                }
            }
            Message::Delete { relation, old } => {
                let t = self.target(relation)?;
                Change::Delete {
                    table: t.table.clone(),
                    key: t.key(&old)?,
                }
            }
            _ => return Ok(None),
        }))
    }
}

fn schema_change(table: &str, source: &str, what: &str) -> SourceError {
    format!(
        "{source} changed on the server ({what}) and the store's table `{table}` was made \
         without it: sync stopped before this change, with everything earlier applied. \
         Bring the store's table to the new shape (migrate the table again with \
         --fresh --for-sync), then sync"
    )
    .into()
}

impl Target {
    /// The store row of a tuple; `None` where the server left a value out.
    fn values(&self, tuple: &[Field]) -> Result<Vec<Option<Value>>, SourceError> {
        let mut fields = Vec::with_capacity(self.plan.len());
        let mut unchanged = Vec::new();
        for (i, &at) in self.place.iter().enumerate() {
            let f = tuple.get(at).ok_or_else(|| {
                format!(
                    "table `{}`: a change with fewer values than columns",
                    self.table
                )
            })?;
            fields.push(match f {
                Field::Text(t) => Some(t.clone()),
                Field::Null => None,
                Field::Unchanged => {
                    unchanged.push(i);
                    None
                }
            });
        }
        let mut row: Row = Vec::with_capacity(fields.len());
        if let Err(bad) = convert_row(&self.plan, &self.schema, None, &fields, &mut row) {
            return Err(format!(
                "table `{}`, row {}: {}. The value cannot be carried exactly into the \
                 store's type: sync stopped before its transaction, with everything earlier \
                 applied",
                self.table, bad.key, bad.reason
            )
            .into());
        }
        let mut out: Vec<Option<Value>> = row.into_iter().map(Some).collect();
        for i in unchanged {
            out[i] = None;
        }
        Ok(out)
    }

    /// The primary key an old tuple names.
    fn key(&self, tuple: &[Field]) -> Result<Vec<Value>, SourceError> {
        let row = self.values(tuple)?;
        let key: Vec<Value> = self
            .key_positions
            .iter()
            .map(|&i| row[i].clone().unwrap_or(Value::Null))
            .collect();
        if key.iter().any(|v| matches!(v, Value::Null)) {
            return Err(format!(
                "table `{}`: the server sent an old row without its primary key; its replica \
                 identity must be the primary key (ALTER TABLE ... REPLICA IDENTITY DEFAULT) \
                 or FULL",
                self.table
            )
            .into());
        }
        Ok(key)
    }
}

/// How each store table is read from the server: the default conversion of its
/// source tables, with the store's column types as the targets.
fn plans(
    client: &mut Client,
    store: &Store,
    feed: &FeedState,
) -> anyhow::Result<(Plans, Vec<String>)> {
    let db = crate::catalog::read(client).map_err(PgError::new)?;
    let made_later: Vec<String> = if feed.known.is_empty() {
        Vec::new()
    } else {
        db.tables
            .iter()
            .filter(|t| t.parent.is_none())
            .filter(|t| {
                !feed
                    .known
                    .contains(&(t.name.schema.clone(), t.name.name.clone()))
            })
            .map(|t| t.name.sql())
            .collect()
    };
    let mut report = lightning_core::report::ConversionReport::new(crate::TOOL, "");
    let converted = convert(
        &db,
        &crate::mapping::default_rules(),
        ConvertOptions {
            keep_partitions: feed.keep_partitions,
        },
        &|_| true,
        &mut report,
    );
    let mut out = HashMap::new();
    for synced in &feed.tables {
        let schema = store.table(&synced.table)?;
        let sources: Vec<QualifiedName> = synced
            .sources
            .iter()
            .map(|(s, n)| QualifiedName::new(s, n))
            .collect();
        let root = synced.root.as_ref().map(|(s, n)| QualifiedName::new(s, n));
        let Some(c) = converted
            .iter()
            .find(|c| Some(&c.name) == root.as_ref() || c.sources == sources)
        else {
            bail!(
                "the server no longer has the source of table `{}` ({})",
                synced.table,
                sources
                    .iter()
                    .map(|s| s.sql())
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        };
        let mut plan = Vec::with_capacity(schema.columns.len());
        for col in &schema.columns {
            let Some(p) = c.columns.iter().find(|p| p.name == col.name) else {
                bail!(
                    "table `{}`: the server's table has no column `{}` any more: migrate the \
                     table again (--fresh --for-sync)",
                    synced.table,
                    col.name
                );
            };
            let mut p = p.clone();
            p.target = col.ty;
            plan.push(p);
        }
        let name: Arc<str> = Arc::from(synced.table.as_str());
        for s in synced.sources.iter().chain(&synced.root) {
            out.insert(s.clone(), (name.clone(), schema.clone(), plan.clone()));
        }
    }
    Ok((out, made_later))
}

fn current_lsn(client: &mut Client) -> anyhow::Result<Lsn> {
    let s: String = client
        .query_one("SELECT pg_catalog.pg_current_wal_lsn()::text", &[])
        .pg()?
        .get(0);
    Lsn::parse(&s).with_context(|| format!("the server's WAL position `{s}`"))
}

fn lost_connection(e: &postgres::Error) -> bool {
    e.is_closed()
        || e.code().is_some_and(|c| {
            let c = c.code();
            c.starts_with("08") || c.starts_with("57P")
        })
        || std::error::Error::source(e).is_some_and(|s| s.is::<std::io::Error>())
}

impl ChangeFeed for PgFeed {
    fn poll(&mut self, max_changes: usize) -> Result<Poll, SourceError> {
        if let Some(e) = self.deferred.take() {
            return Err(e);
        }
        let upto = match self.until {
            Some(u) => u,
            None => {
                let s: String = self
                    .retry(|c| c.query_one("SELECT pg_catalog.pg_current_wal_lsn()::text", &[]))?
                    .get(0);
                Lsn::parse(&s).ok_or("the server's WAL position")?
            }
        };
        let slot = self.feed.slot.clone();
        let publication = self.feed.publication.clone();
        let limit = i32::try_from(max_changes).unwrap_or(i32::MAX);
        let rows = self.retry(|c| {
            c.query(
                "SELECT data FROM pg_catalog.pg_logical_slot_peek_binary_changes(\
                 $1, $2::text::pg_lsn, $3, 'proto_version', '1', 'publication_names', $4)",
                &[&slot, &upto.to_string(), &limit, &publication],
            )
        })?;
        if rows.is_empty() {
            if self.until.is_some() {
                return Ok(Poll::CaughtUp);
            }
            // Nothing of ours committed before `upto`: the slot may let that WAL go,
            // and the store is level with the server up to there.
            if upto > self.confirmed {
                self.confirm(&upto.to_string())?;
            }
            self.applied = self.applied.max(upto);
            return Ok(Poll::Idle);
        }
        let mut txns = Vec::new();
        let mut open: Option<(SourceTransaction, bool)> = None;
        let mut position = self.applied;
        for row in rows {
            let data: &[u8] = row.get(0);
            if let Err(e) = self.read_message(data, &mut open, &mut txns, &mut position) {
                if txns.is_empty() {
                    return Err(e);
                }
                // What committed before the change that cannot be read is applied
                // first; the next poll stops on it.
                self.deferred = Some(e);
                break;
            }
        }
        self.applied = position;
        Ok(Poll::Transactions(txns, position.to_string()))
    }

    fn confirm(&mut self, position: &str) -> Result<(), SourceError> {
        let at = Lsn::parse(position).ok_or("a position that is not an LSN")?;
        if at <= self.confirmed {
            return Ok(());
        }
        let slot = self.feed.slot.clone();
        self.retry(|c| {
            c.execute(
                "SELECT pg_catalog.pg_replication_slot_advance($1, $2::text::pg_lsn)",
                &[&slot, &at.to_string()],
            )
        })?;
        self.confirmed = at;
        Ok(())
    }

    fn bytes_behind(&mut self) -> Result<Option<u64>, SourceError> {
        let at = self.applied.to_string();
        let behind: f64 = self
            .retry(|c| {
                c.query_one(
                    "SELECT pg_catalog.pg_wal_lsn_diff(pg_catalog.pg_current_wal_lsn(), \
                     $1::text::pg_lsn)::float8",
                    &[&at],
                )
            })?
            .get(0);
        Ok(Some(behind.max(0.0) as u64))
    }

    fn feed_state(&self) -> serde_json::Value {
        let mut feed = self.feed.clone();
        feed.snapshot = self.snapshot.as_ref().map(|s| {
            let xip: Vec<String> = s.xip.iter().map(u64::to_string).collect();
            format!("{}:{}:{}", s.xmin, s.xmax, xip.join(","))
        });
        serde_json::to_value(feed).expect("feed state serializes")
    }

    fn warnings(&self) -> Vec<String> {
        let mut out = vec![format!(
            "the replication slot `{}` keeps the server's WAL from where sync stands; when \
             the cutover is done, remove it with `pg2lightning sync --drop-slot` (an \
             abandoned slot fills the server's disk)",
            self.feed.slot
        )];
        if !self.made_later.is_empty() {
            out.push(format!(
                "made on the server after the copy, not followed by sync: {}; copy them with \
                 `pg2lightning migrate --tables ...` into another store, or migrate again \
                 with --for-sync",
                self.made_later.join(", ")
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_snapshot_sees_what_committed_before_it() {
        let s = XidSnapshot::parse("100:105:101,103").unwrap();
        assert!(s.sees(99));
        assert!(s.sees(100));
        assert!(!s.sees(101));
        assert!(s.sees(102));
        assert!(!s.sees(103));
        assert!(!s.sees(105));
        assert!(XidSnapshot::parse("7:7:").unwrap().xip.is_empty());
        // In a later epoch, a 32-bit xid is read in the snapshot's epoch.
        let e = XidSnapshot::parse("8589934692:8589934700:").unwrap();
        assert_eq!(e.full(100), 8_589_934_692);
        assert_eq!(e.full(u32::MAX), (1 << 32) + u32::MAX as u64);
    }
}
