//! Helpers for the integration tests: a logical database of its own per test on
//! the real server, the tool, and what a store holds.

#![allow(dead_code)]

// Each test file uses some of them.
#[allow(unused_imports)]
pub use lightning_testkit::{
    assert_clean_error, assert_verified_equal as assert_all_equal, checksums, finish, p, run,
    verification, Paused, Run,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use lightning_core::store::Store;
use lightning_core::value::{Row, Value};

/// The logical database each test uses (tests run in parallel, each in its own).
/// A test flushes its database when it starts.
pub mod dbs {
    /// types.rs: every_type_with_edge_values_is_copied_exactly
    pub const EVERY_TYPE: u8 = 1;
    /// patterns.rs: sessions_counters_and_a_leaderboard_become_typed_tables
    pub const GUIDE: u8 = 2;
    /// expiry.rs: keys_with_short_ttls_expiring_during_the_run_are_never_doubled_or_fatal
    pub const EXPIRING: u8 = 3;
    /// resume.rs: a_copy_killed_after_two_commits_resumes_with_every_key_once
    pub const KILLED: u8 = 4;
    /// resume.rs: connections_killed_in_the_middle_of_the_copy_are_reopened
    pub const DROPPED: u8 = 5;
    /// mapping.rs: an_edited_mapping_file_is_followed
    pub const MAPPING: u8 = 6;
    /// mapping.rs: a_bad_mapping_file_is_refused_with_its_problem_named
    pub const BAD_MAPPING: u8 = 7;
    /// mapping.rs: a_value_that_does_not_fit_its_sampled_type_stops_the_copy_then_is_rejected
    pub const MISFIT: u8 = 8;
    // 9: not used here.
    /// verify.rs: verify_names_the_keys_changed_deleted_and_added_since_the_copy
    pub const VERIFY: u8 = 10;
    /// patterns.rs: thirty_user_profiles_become_one_table
    pub const PROFILES: u8 = 11;
    /// patterns.rs: a_pattern_given_groups_named_keys_with_a_text_id
    pub const CFG: u8 = 12;
    /// expiry.rs: keys_gone_between_the_walk_and_their_read_are_counted_in_a_note
    pub const GONE: u8 = 13;
    /// expiry.rs: keys_expired_since_the_copy_are_not_differences
    pub const LAPSED: u8 = 14;
    /// verify.rs: verify_names_the_keys_of_a_pattern_deleted_whole
    pub const DELETED_PATTERN: u8 = 15;
    /// rdb.rs: the keyspace a live copy and an RDB copy read.
    pub const LIVE_AND_RDB: u8 = 9;
}

/// The server the tests use (override with `REDIS2L_TEST_URL`, without a database).
pub fn server_url() -> String {
    std::env::var("REDIS2L_TEST_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
        .trim_end_matches('/')
        .to_string()
}

/// A logical database of one test, flushed when the test starts.
pub struct TestDb {
    pub db: u8,
    pub url: String,
    pub con: redis::Connection,
}

impl TestDb {
    pub fn new(db: u8) -> TestDb {
        assert!((1..=15).contains(&db), "database {db}");
        let url = format!("{}/{db}", server_url());
        let mut con = connect(&url);
        redis::cmd("FLUSHDB")
            .query::<()>(&mut con)
            .expect("FLUSHDB");
        TestDb { db, url, con }
    }

    /// A new connection to the test's database.
    pub fn connection(&self) -> redis::Connection {
        connect(&self.url)
    }

    /// Run a pipeline of commands (in chunks the server takes quickly).
    pub fn pipe(&mut self, commands: Vec<redis::Cmd>) {
        for chunk in commands.chunks(2000) {
            let mut pipe = redis::pipe();
            for c in chunk {
                pipe.add_command(c.clone()).ignore();
            }
            pipe.query::<()>(&mut self.con).expect("pipeline");
        }
    }

    pub fn cmd<T: redis::FromRedisValue>(&mut self, c: &mut redis::Cmd) -> T {
        c.query(&mut self.con).expect("command")
    }

    /// `PEXPIRETIME key`.
    pub fn expire_time(&mut self, key: &[u8]) -> i64 {
        self.cmd(redis::cmd("PEXPIRETIME").arg(key))
    }
}

pub fn connect(url: &str) -> redis::Connection {
    redis::Client::open(url)
        .expect("a Redis URL")
        .get_connection()
        .unwrap_or_else(|e| panic!("these tests need a Redis server at {url}: {e}"))
}

pub fn cmd(name: &str) -> redis::Cmd {
    redis::cmd(name)
}

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_redis2lightning"))
}

pub fn r2l(args: &[&str]) -> Run {
    run(Command::new(tool()).args(args))
}

/// Run and require exit 0.
pub fn r2l_ok(args: &[&str]) -> Run {
    let r = r2l(args);
    assert_eq!(
        r.code, 0,
        "redis2lightning {args:?}\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// `redis2lightning ARGS` with a fault injected (`LIGHTNING_FAULT=SPEC`).
pub fn r2l_fault(args: &[&str], fault: &str) -> Run {
    run(Command::new(tool())
        .args(args)
        .env("LIGHTNING_FAULT", fault))
}

/// `migrate --verify --json` with `extra` options, which must succeed and verify
/// equal: its report.
pub fn migrate_verified(source: &str, target: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "migrate",
        "--source",
        source,
        "--target",
        p(target),
        "--verify",
        "--json",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let report = r2l_ok(&args).json();
    assert_all_equal(&report);
    report
}

/// `verify --source SOURCE --target TARGET --json`, which must exit 0 and say equal:
/// its report.
pub fn verified_equal(source: &str, target: &Path) -> serde_json::Value {
    let r = r2l(&[
        "verify",
        "--source",
        source,
        "--target",
        p(target),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_all_equal(&report);
    report
}

/// A report's notes (a migration's and its verification's).
pub fn notes(report: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    for n in [&report["notes"], &verification(report)["notes"]] {
        for s in n.as_array().into_iter().flatten() {
            out.push(s.as_str().unwrap_or_default().to_string());
        }
    }
    out
}

pub fn open(store: &Path) -> Store {
    Store::open_to_read(store).expect("store opens")
}

/// Every table's row count in a store.
pub fn counts(store: &Path) -> BTreeMap<String, u64> {
    let s = open(store);
    s.tables()
        .into_iter()
        .map(|t| (t.name.clone(), s.count(&t.name).expect("count")))
        .collect()
}

/// The columns of a store's table: `name TYPE`.
pub fn columns(store: &Path, table: &str) -> Vec<String> {
    open(store)
        .table(table)
        .unwrap_or_else(|e| panic!("no table {table}: {e}"))
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect()
}

/// The rows of a table, in key order.
pub fn rows(store: &Path, table: &str) -> Vec<Row> {
    let s = open(store);
    let it = s
        .scan(table)
        .unwrap_or_else(|e| panic!("no table {table}: {e}"));
    it.map(|r| r.expect("a row").1).collect()
}

/// The rows of a table by the text of their `key` column (first column).
pub fn rows_by_key(store: &Path, table: &str) -> BTreeMap<Vec<u8>, Vec<Row>> {
    let mut out: BTreeMap<Vec<u8>, Vec<Row>> = BTreeMap::new();
    for r in rows(store, table) {
        out.entry(key_bytes(&r[0])).or_default().push(r);
    }
    out
}

pub fn key_bytes(v: &Value) -> Vec<u8> {
    match v {
        Value::Text(t) => t.as_bytes().to_vec(),
        Value::Blob(b) => b.clone(),
        other => panic!("a key column holds {other:?}"),
    }
}

/// The table names of a store.
pub fn tables(store: &Path) -> Vec<String> {
    let mut v: Vec<String> = open(store).tables().into_iter().map(|t| t.name).collect();
    v.sort();
    v
}

/// The runs a store records, oldest first: (status, rows written).
pub fn runs(store: &Path) -> Vec<(String, u64)> {
    open(store)
        .runs()
        .expect("runs")
        .into_iter()
        .map(|r| (r.status, r.rows_written))
        .collect()
}

/// Unix milliseconds of an `expires_at` value (TIMESTAMPTZ: microseconds since 2000).
pub fn unix_ms(v: &Value) -> Option<i64> {
    const UNIX_TO_2000_MS: i64 = 946_684_800_000;
    match v {
        Value::TimestampTz(us) => {
            assert_eq!(us % 1000, 0, "an expiry in whole milliseconds");
            Some(us / 1000 + UNIX_TO_2000_MS)
        }
        Value::Null => None,
        other => panic!("expires_at holds {other:?}"),
    }
}

pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// The tool started paused at a fault point (`POINT:N`).
pub fn paused(args: &[&str], at: &str) -> Paused {
    let mut cmd = Command::new(tool());
    cmd.args(args);
    Paused::start(cmd, at)
}
