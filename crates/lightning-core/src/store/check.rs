//! `lightning check`: read every byte of a store back and compare it with what the
//! store says it holds. Reading every block makes the engine verify its
//! checksums; each row must decode, fit its table, sit under its own key, and have
//! exactly its index entries; row counts must match; column segments must be
//! whole.

use std::collections::HashMap;

use serde::Serialize;

use super::keys;
use super::{Store, TableEntry};
use crate::rowcodec::decode_row;

/// Problems listed per table at most (the count says how many there are).
const LISTED: usize = 20;

#[derive(Debug, Clone, Serialize)]
pub struct TableCheck {
    pub table: String,
    pub rows_recorded: u64,
    pub rows_found: u64,
    pub index_entries: u64,
    pub problems: Vec<String>,
    /// Problems found, listed or not.
    pub problem_count: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct CheckReport {
    pub store: String,
    pub tables: Vec<TableCheck>,
    /// Problems outside the tables (checkpoints, run records, marks).
    pub problems: Vec<String>,
    pub healthy: bool,
}

impl TableCheck {
    fn problem(&mut self, p: String) {
        self.problem_count += 1;
        if self.problems.len() < LISTED {
            self.problems.push(p);
        }
    }
}

impl Store {
    /// Check the whole store (see the module notes).
    pub fn check(&self) -> CheckReport {
        let entries = self.entries();
        let mut tables = Vec::new();
        for e in &entries {
            tables.push(self.check_table(e));
        }
        let mut problems = self.damage.clone();
        let known: Vec<&str> = entries.iter().map(|e| e.schema.name.as_str()).collect();
        match self.checkpoints() {
            Ok(cks) => {
                for c in cks.iter().filter(|c| !known.contains(&c.table.as_str())) {
                    problems.push(format!(
                        "checkpoint `{}` names table `{}`, which the store does not have",
                        c.partition, c.table
                    ));
                }
            }
            Err(e) => problems.push(format!("the checkpoints cannot be read: {e}")),
        }
        if let Err(e) = self.runs() {
            problems.push(format!("the run records cannot be read: {e}"));
        }
        let healthy = problems.is_empty() && tables.iter().all(|t| t.problem_count == 0);
        CheckReport {
            store: self.path.display().to_string(),
            tables,
            problems,
            healthy,
        }
    }

    fn check_table(&self, e: &TableEntry) -> TableCheck {
        let mut t = TableCheck {
            table: e.schema.name.clone(),
            rows_recorded: self.count(&e.schema.name).unwrap_or(0),
            rows_found: 0,
            index_entries: 0,
            problems: Vec::new(),
            problem_count: 0,
        };
        // Index entries each index should have, by index number.
        let mut expected: HashMap<u16, u64> = HashMap::new();
        for kv in e.rows.iter() {
            let (k, v) = match kv.into_inner() {
                Ok(x) => x,
                Err(err) => {
                    t.problem(format!("the engine cannot read the rows: {err:?}"));
                    break;
                }
            };
            t.rows_found += 1;
            let row = match decode_row(&v) {
                Ok(r) => r,
                Err(err) => {
                    t.problem(format!("a row cannot be decoded ({err})"));
                    continue;
                }
            };
            let rowid = if e.key_positions.is_empty() {
                crate::keycode::decode_rowid(&k)
            } else {
                None
            };
            let desc = e.schema.describe_key(rowid, &row);
            if let Err(reason) = e.schema.check_row(&row) {
                t.problem(format!("row {desc}: {reason}"));
                continue;
            }
            let Some(full) = e.key_of_row(rowid, &row) else {
                t.problem(format!("a row id key of {} bytes", k.len()));
                continue;
            };
            if keys::stored(&full).as_ref() != k.as_ref() {
                t.problem(format!("row {desc} is stored under another key"));
            }
            for (ik, iv) in e.index_entries(&full, &row) {
                *expected
                    .entry(u16::from_be_bytes([ik[0], ik[1]]))
                    .or_default() += 1;
                let found = e
                    .index
                    .as_ref()
                    .and_then(|ix| ix.get(keys::stored(&ik).as_ref()).ok().flatten());
                if found.as_deref() != Some(iv.as_slice()) {
                    t.problem(format!("row {desc} lacks an entry in its indexes"));
                }
            }
        }
        if t.rows_found != t.rows_recorded {
            t.problem(format!(
                "the table should hold {} rows but holds {}",
                t.rows_recorded, t.rows_found
            ));
        }
        if let Some(ix) = &e.index {
            let mut found: HashMap<u16, u64> = HashMap::new();
            for kv in ix.iter() {
                match kv.key() {
                    Ok(k) if k.len() >= 2 => {
                        t.index_entries += 1;
                        *found.entry(u16::from_be_bytes([k[0], k[1]])).or_default() += 1;
                    }
                    Ok(_) => t.problem("an index entry with a key too short".into()),
                    Err(err) => {
                        t.problem(format!("the engine cannot read the index entries: {err:?}"));
                        break;
                    }
                }
            }
            let mut numbers: Vec<u16> = found.keys().chain(expected.keys()).copied().collect();
            numbers.sort_unstable();
            numbers.dedup();
            for no in numbers {
                let (f, x) = (
                    found.get(&no).copied().unwrap_or(0),
                    expected.get(&no).copied().unwrap_or(0),
                );
                if f != x {
                    t.problem(format!(
                        "index {} holds {f} entries for {x} rows that need one",
                        e.index_name(no)
                    ));
                }
            }
        }
        self.check_columns(e, &mut t);
        t
    }

    /// Column segments, when the table has them: every chunk of every column is
    /// there, and the chunks hold as many rows as the table.
    fn check_columns(&self, e: &TableEntry, t: &mut TableCheck) {
        let snap = match self.snapshot(&e.schema.name) {
            Ok(s) => s,
            Err(err) => return t.problem(format!("the column layout cannot be read: {err}")),
        };
        let Some(layout) = snap.layout() else {
            return;
        };
        if layout.rows() != t.rows_found {
            t.problem(format!(
                "the column segments hold {} rows, the table {}",
                layout.rows(),
                t.rows_found
            ));
        }
        for &col in &layout.columns {
            for c in &layout.chunks {
                match self.column_chunk(&snap, col, c.id) {
                    Ok(_) => {}
                    Err(super::StoreError::Corrupt { detail, .. }) => t.problem(detail),
                    Err(err) => t.problem(err.to_string()),
                }
            }
        }
    }
}

impl TableEntry {
    fn index_name(&self, no: u16) -> String {
        let no = no as usize;
        if let Some((n, _)) = self.unique_sets.get(no) {
            return format!("`{n}`");
        }
        self.schema
            .indexes
            .iter()
            .filter(|ix| !ix.unique)
            .nth(no - self.unique_sets.len())
            .map_or_else(|| format!("number {no}"), |ix| format!("`{}`", ix.name))
    }
}
