//! Transaction blocks (`BEGIN` … `COMMIT`) with savepoints.
//!
//! A block's writes are kept beside the store, by table and key: the block's own
//! statements read them merged with the store's rows, no other session sees them,
//! and `COMMIT` writes them all in one atomic commit of the store. `ROLLBACK`, a
//! failed `COMMIT` or a dropped connection leaves the store untouched. A row that
//! another session changed after the block read it fails the `COMMIT` (SQLSTATE
//! 40001) instead of being overwritten.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::sync::{Arc, Mutex};

use datafusion::sql::sqlparser::ast::Statement;
use lightning_core::checksum::row_hash;
use lightning_core::store::{StoreError, TableChange};
use lightning_core::{Row, Store, TableSchema, Value};

use crate::table::Shared;
use crate::{Result, SqlError};

tokio::task_local! {
    static SESSION: Arc<Session>;
}

/// A row a block changed: as the store held it when the block first touched it,
/// and as the block leaves it (`None`: absent).
#[derive(Debug, Clone)]
pub struct Changed {
    pub before: Option<Row>,
    pub now: Option<Row>,
}

/// One table's changes in a block, by whole encoded key (the store's key order).
pub type Changes = BTreeMap<Vec<u8>, Changed>;

type Tables = HashMap<String, Arc<Changes>>;

#[derive(Debug, Default)]
struct Block {
    tables: Tables,
    /// Savepoints, oldest first, with the changes as they were when each was set.
    savepoints: Vec<(String, Tables)>,
}

/// One client's session: its open transaction block, if any.
#[derive(Debug, Default)]
pub struct Session {
    block: Mutex<Option<Block>>,
}

/// A statement that controls transactions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Control {
    Begin,
    Commit,
    Rollback,
    Savepoint(String),
    Release(String),
    RollbackTo(String),
}

impl Control {
    pub fn of(st: &Statement) -> Option<Control> {
        Some(match st {
            Statement::StartTransaction { .. } => Control::Begin,
            Statement::Commit { .. } => Control::Commit,
            Statement::Rollback {
                savepoint: Some(n), ..
            } => Control::RollbackTo(n.value.clone()),
            Statement::Rollback { .. } => Control::Rollback,
            Statement::Savepoint { name } => Control::Savepoint(name.value.clone()),
            Statement::ReleaseSavepoint { name } => Control::Release(name.value.clone()),
            _ => return None,
        })
    }

    /// The command tag PostgreSQL answers with.
    pub fn tag(&self) -> &'static str {
        match self {
            Control::Begin => "BEGIN",
            Control::Commit => "COMMIT",
            Control::Rollback | Control::RollbackTo(_) => "ROLLBACK",
            Control::Savepoint(_) => "SAVEPOINT",
            Control::Release(_) => "RELEASE",
        }
    }
}

impl Session {
    /// Run `f` as this session: the engine's reads and writes within it see and
    /// join the session's open block.
    pub async fn scope<F: Future>(self: Arc<Self>, f: F) -> F::Output {
        SESSION.scope(self, f).await
    }

    /// The session the running statement belongs to.
    pub fn current() -> Option<Arc<Session>> {
        SESSION.try_with(Arc::clone).ok()
    }

    pub fn in_block(&self) -> bool {
        self.block.lock().expect("session lock").is_some()
    }

    /// The block's changes to `table`, when there are any.
    pub fn changes(&self, table: &str) -> Option<Arc<Changes>> {
        let block = self.block.lock().expect("session lock");
        block
            .as_ref()?
            .tables
            .get(table)
            .filter(|c| !c.is_empty())
            .cloned()
    }

    /// Carry out a transaction control statement.
    pub fn control(&self, c: &Control, shared: &Shared) -> Result<()> {
        let mut block = self.block.lock().expect("session lock");
        match c {
            Control::Begin => {
                block.get_or_insert_with(Block::default);
            }
            Control::Rollback => *block = None,
            Control::Commit => {
                // Released before the store's write lock is taken: a writing
                // statement takes that lock first, then this one.
                let taken = block.take();
                drop(block);
                if let Some(b) = taken {
                    commit(shared, b.tables)?;
                }
            }
            Control::Savepoint(name) => {
                let b = block.as_mut().ok_or_else(|| outside(c))?;
                let snapshot = b.tables.clone();
                b.savepoints.push((name.clone(), snapshot));
            }
            Control::Release(name) | Control::RollbackTo(name) => {
                let b = block.as_mut().ok_or_else(|| outside(c))?;
                let at = b
                    .savepoints
                    .iter()
                    .rposition(|(n, _)| n == name)
                    .ok_or_else(|| {
                        SqlError::Refused(format!("savepoint \"{name}\" does not exist"))
                    })?;
                if *c == Control::RollbackTo(name.clone()) {
                    // The savepoint stays, as in PostgreSQL; later ones go.
                    b.tables = b.savepoints[at].1.clone();
                    b.savepoints.truncate(at + 1);
                } else {
                    b.savepoints.truncate(at);
                }
            }
        }
        Ok(())
    }

    /// Record one statement's change to `t` in the open block, checked as the store
    /// would check it: `deletes` are whole keys with the rows they held, `puts` new
    /// rows. Nothing is recorded when a row is refused.
    pub fn stage(
        &self,
        store: &Store,
        t: &TableSchema,
        deletes: Vec<(Vec<u8>, Row)>,
        puts: Vec<Row>,
    ) -> Result<()> {
        let mut guard = self.block.lock().expect("session lock");
        let block = guard.as_mut().expect("an open block");
        let held = block.tables.entry(t.name.clone()).or_default();
        let mut pending = Changes::new();
        let known = |pending: &Changes, key: &[u8]| -> Option<Changed> {
            pending.get(key).or_else(|| held.get(key)).cloned()
        };
        for (key, row) in deletes {
            let before = match known(&pending, &key) {
                Some(c) => c.before,
                None => Some(row),
            };
            pending.insert(key, Changed { before, now: None });
        }
        let positions = t.key_positions();
        let uniques = t.unique_sets();
        for row in puts {
            t.check_row(&row)
                .map_err(|reason| bad_row(t, &row, reason))?;
            let pk: Vec<Value> = positions.iter().map(|&p| row[p].clone()).collect();
            let key = store.encode_table_key(&t.name, &pk)?;
            let (present, before) = match known(&pending, &key) {
                Some(c) => (c.now.is_some(), c.before),
                None => {
                    let stored = store.get(&t.name, &pk)?;
                    (stored.is_some(), stored)
                }
            };
            if present {
                let reason = format!("duplicate primary key ({})", t.describe_key(None, &row));
                return Err(bad_row(t, &row, reason));
            }
            // A unique value a stored row holds (the block's own rows are checked
            // again at COMMIT, where the store sees them all).
            for (name, cols) in &uniques {
                let values: Vec<Value> = cols.iter().map(|&c| row[c].clone()).collect();
                if values.iter().any(|v| matches!(v, Value::Null)) {
                    continue;
                }
                for other in store.index_lookup(&t.name, name, &values)? {
                    let opk: Vec<Value> = positions.iter().map(|&p| other[p].clone()).collect();
                    let okey = store.encode_table_key(&t.name, &opk)?;
                    if okey != key && known(&pending, &okey).is_none() {
                        let reason = format!("duplicate value for unique index `{name}`");
                        return Err(bad_row(t, &row, reason));
                    }
                }
            }
            pending.insert(
                key,
                Changed {
                    before,
                    now: Some(row),
                },
            );
        }
        Arc::make_mut(held).extend(pending);
        Ok(())
    }
}

fn outside(c: &Control) -> SqlError {
    SqlError::Refused(format!(
        "{} can only be used in transaction blocks",
        c.tag()
    ))
}

fn bad_row(t: &TableSchema, row: &Row, reason: String) -> SqlError {
    SqlError::Store(StoreError::BadRow {
        table: t.name.clone(),
        key: t.describe_key(None, row),
        reason,
    })
}

/// Write a block's changes in one commit, after checking that no row it read was
/// changed by someone else since.
fn commit(shared: &Shared, tables: Tables) -> Result<()> {
    let store = &shared.store;
    let _one_writer = shared.writes.lock().expect("write lock");
    let mut changes = Vec::new();
    let mut buf = Vec::new();
    for (table, rows) in tables {
        if rows.is_empty() {
            continue;
        }
        let t = store.table(&table)?;
        let positions = t.key_positions();
        let mut change = TableChange {
            table: table.clone(),
            deletes: Vec::new(),
            puts: Vec::new(),
        };
        for (key, c) in Arc::unwrap_or_clone(rows) {
            // A row the block inserted meets any newcomer at the store's key check.
            if let Some(before) = &c.before {
                let pk: Vec<Value> = positions.iter().map(|&p| before[p].clone()).collect();
                let unchanged = store
                    .get(&table, &pk)?
                    .is_some_and(|now| row_hash(&now, &mut buf) == row_hash(before, &mut buf));
                if !unchanged {
                    return Err(SqlError::Conflict(format!(
                        "could not serialize access due to concurrent update: row ({}) of table `{table}` changed after this transaction read it; the transaction was rolled back, run it again",
                        t.describe_key(None, before)
                    )));
                }
                change.deletes.push(key);
            }
            if let Some(row) = c.now {
                change.puts.push((None, row));
            }
        }
        changes.push(change);
    }
    if !changes.is_empty() {
        store.change_tables(changes)?;
    }
    Ok(())
}
