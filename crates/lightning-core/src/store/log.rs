//! The change log: which keys SQL writes changed, and when. A migration copies a
//! source; what is written through SQL afterwards exists nowhere else, and a
//! rollback to the source needs exactly that. Each commit of
//! [`Store::change`](super::Store::change) or
//! [`Store::change_tables`](super::Store::change_tables) logs every key it put or
//! deleted in the same atomic batch as the rows, so the log and the rows never
//! disagree. Copies, repairs and imports are not logged: they bring data from a
//! source that has it.
//!
//! Entries live in the `log` keyspace, made at the first logged commit. Key:
//! commit time (Unix microseconds, 8 bytes big-endian), commit number (8), table
//! id (4), then the stored form of the row's key. Value: `p` (put) or `d`
//! (delete), followed by the whole key when it is a long one.

use std::sync::Mutex;

use fjall::Keyspace;

use super::{keys, keyspace_options, Result, Store, StoreError};

/// The time and number of a commit: rising, unique within the store.
#[derive(Debug, Default)]
pub(super) struct Clock {
    micros: u64,
    seq: u64,
}

/// One key a SQL write changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedChange {
    /// Commit time, Unix microseconds.
    pub at_micros: i64,
    pub table: String,
    /// The row's whole encoded key.
    pub key: Vec<u8>,
    /// Deleted (else inserted or updated: the row now under `key`).
    pub deleted: bool,
}

pub(super) const KEYSPACE: &str = "log";

impl Store {
    pub(super) fn log_keyspace(&self) -> Result<&Keyspace> {
        if let Some(ks) = self.log.get() {
            return Ok(ks);
        }
        let ks = self.db.keyspace(KEYSPACE, keyspace_options(8))?;
        Ok(self.log.get_or_init(|| ks))
    }

    /// The prefix of one commit's entries: its time and number.
    fn next_commit(&self) -> [u8; 16] {
        let mut c = self.clock.lock().expect("clock lock");
        let now = chrono::Utc::now().timestamp_micros().max(0) as u64;
        c.micros = c.micros.max(now);
        c.seq += 1;
        let mut k = [0u8; 16];
        k[..8].copy_from_slice(&c.micros.to_be_bytes());
        k[8..].copy_from_slice(&c.seq.to_be_bytes());
        k
    }

    /// Put one commit's entries (table id, whole key, put or delete) into `batch`.
    pub(super) fn log_changes(
        &self,
        batch: &mut fjall::OwnedWriteBatch,
        changed: impl IntoIterator<Item = ((u32, Vec<u8>), bool)>,
    ) -> Result<()> {
        let mut changed = changed.into_iter().peekable();
        if changed.peek().is_none() {
            return Ok(());
        }
        let ks = self.log_keyspace()?.clone();
        let commit = self.next_commit();
        for ((id, full), put) in changed {
            let mut k = commit.to_vec();
            k.extend_from_slice(&id.to_be_bytes());
            k.extend_from_slice(&keys::stored(&full));
            let mut v = vec![if put { b'p' } else { b'd' }];
            if keys::is_long(&full) {
                v.extend_from_slice(&full);
            }
            batch.insert(&ks, k, v);
        }
        Ok(())
    }

    /// The keys SQL writes changed at or after `since` (Unix microseconds), in
    /// commit order; a key changed by several commits appears for each. Keys of
    /// tables dropped since are left out.
    pub fn changes_since(&self, since_micros: i64) -> Result<Vec<LoggedChange>> {
        if self.log.get().is_none() && !self.db.keyspace_exists(KEYSPACE) {
            return Ok(Vec::new());
        }
        let ks = self.log_keyspace()?;
        let names: std::collections::HashMap<u32, String> = self
            .catalog
            .read()
            .expect("catalog lock")
            .values()
            .map(|e| (e.id, e.schema.name.clone()))
            .collect();
        let from = (since_micros.max(0) as u64).to_be_bytes().to_vec();
        let mut out = Vec::new();
        for kv in ks.range::<Vec<u8>, _>(from..) {
            let (k, v) = kv.into_inner()?;
            let bad = || StoreError::Engine("a change log entry is cut short".into());
            if k.len() < 20 || v.is_empty() {
                return Err(bad());
            }
            let id = u32::from_be_bytes(k[16..20].try_into().map_err(|_| bad())?);
            let Some(table) = names.get(&id) else {
                continue;
            };
            let key = if v.len() > 1 {
                v[1..].to_vec()
            } else {
                k[20..].to_vec()
            };
            out.push(LoggedChange {
                at_micros: u64::from_be_bytes(k[..8].try_into().map_err(|_| bad())?) as i64,
                table: table.clone(),
                key,
                deleted: v[0] == b'd',
            });
        }
        Ok(out)
    }
}

/// The clock a store starts with.
pub(super) fn clock() -> Mutex<Clock> {
    Mutex::new(Clock::default())
}
