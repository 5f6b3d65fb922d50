//! A copy that dies after some batches are committed (as `kill -9` would end it)
//! finishes when run again, with every key exactly once and the keys changed
//! meanwhile as Redis holds them; connections the server
//! drops in the middle of a copy are opened again and the batch read again.

mod common;

use std::path::Path;

use common::*;
use lightning_core::value::Value;

const STRINGS: usize = 60_000;
const HASHES: usize = 500;

fn load(db: &mut TestDb, strings: usize, hashes: usize) {
    let mut c = Vec::with_capacity(strings + hashes);
    for i in 0..strings {
        c.push(
            cmd("SET")
                .arg(format!("item:{i}"))
                .arg(format!("value-{i}"))
                .clone(),
        );
    }
    for i in 0..hashes {
        c.push(
            cmd("HSET")
                .arg(format!("order:{i}"))
                .arg("sku")
                .arg(format!("SKU-{}", i % 7))
                .arg("qty")
                .arg(i)
                .clone(),
        );
    }
    db.pipe(c);
}

/// The store holds exactly the keys `load` wrote, and its last run completed.
fn assert_exactly(target: &Path, strings: usize, hashes: usize) {
    let values: Vec<Option<String>> = (0..strings).map(|i| Some(format!("value-{i}"))).collect();
    assert_items(target, &values, hashes);
}

/// The store holds `item:I` with `values[I]` (none where `None`), `hashes` orders,
/// and its last run completed.
fn assert_items(target: &Path, values: &[Option<String>], hashes: usize) {
    let items = rows(target, "item");
    assert_eq!(items.len(), values.iter().flatten().count());
    let mut seen = vec![false; values.len()];
    for r in &items {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert!(!seen[i as usize], "item:{i} twice");
        seen[i as usize] = true;
        let Some(v) = &values[i as usize] else {
            panic!("item:{i} is no longer in Redis: {r:?}")
        };
        assert_eq!(
            r[..],
            [
                text(&format!("item:{i}")),
                Value::Int(i),
                text(v),
                Value::Null
            ]
        );
    }
    let orders = rows(target, "order");
    assert_eq!(orders.len(), hashes);
    for r in &orders {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert_eq!(
            r[..],
            [
                text(&format!("order:{i}")),
                Value::Int(i),
                Value::Int(i),
                text(&format!("SKU-{}", i % 7)),
                Value::Null,
                Value::Null
            ]
        );
    }
    let runs = runs(target);
    assert_eq!(runs.last().unwrap().0, "completed", "{runs:?}");
}

#[test]
fn a_copy_killed_after_two_commits_resumes_with_every_key_once() {
    let mut db = TestDb::new(dbs::KILLED);
    load(&mut db, STRINGS, HASHES);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("killed.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--quiet",
    ];
    // The process aborts at once after its second commit of 10,000 rows.
    let r = r2l_fault(&args, "abort:committed:2");
    assert_ne!(r.code, 0, "{}", r.stderr);
    let c = counts(&target);
    let copied: u64 = c.values().sum();
    assert!(
        copied >= 20_000 && copied < (STRINGS + HASHES) as u64,
        "two batches were to be committed, not all: {c:?}"
    );
    assert_ne!(runs(&target).last().unwrap().0, "completed");
    // Keys change in Redis before the run again: one copied is changed, one
    // copied is deleted, one is added (keys are read in byte order: `item:0` and
    // `item:1` were among the first batches).
    db.pipe(vec![
        cmd("SET").arg("item:0").arg("changed").clone(),
        cmd("DEL").arg("item:1").clone(),
        cmd("SET")
            .arg(format!("item:{STRINGS}"))
            .arg("added")
            .clone(),
    ]);
    let mut values: Vec<Option<String>> =
        (0..=STRINGS).map(|i| Some(format!("value-{i}"))).collect();
    values[0] = Some("changed".into());
    values[1] = None;
    values[STRINGS] = Some("added".into());

    let report = migrate_verified(&db.url, &target, &[]);
    assert_items(&target, &values, HASHES);
    // The resumed run did not copy again what the first one committed.
    let written: u64 = report["summary"]["tables"]
        .as_object()
        .unwrap()
        .values()
        .map(|t| t["rows_written"].as_u64().unwrap())
        .sum();
    assert!(
        written <= (STRINGS + HASHES) as u64 - 20_000 + 10_000 + 1,
        "{written} rows written by the resumed run: {:#}",
        report["summary"]
    );
    verified_equal(&db.url, &target);
}

/// Close every connection to the test's database but `own`'s: the server drops
/// them as `CLIENT KILL` does. Returns how many were closed.
fn kill_connections(url: &str, db: u8) -> usize {
    let mut own = connect(url);
    let me: i64 = cmd("CLIENT").arg("ID").query(&mut own).unwrap();
    let list: String = cmd("CLIENT").arg("LIST").query(&mut own).unwrap();
    let mut killed = 0;
    for line in list.lines() {
        let field = |name: &str| {
            line.split(' ')
                .find_map(|kv| kv.strip_prefix(name).and_then(|v| v.strip_prefix('=')))
                .unwrap_or("")
        };
        if field("db") == db.to_string() && field("id") != me.to_string() {
            let n: i64 = cmd("CLIENT")
                .arg("KILL")
                .arg("ID")
                .arg(field("id"))
                .query(&mut own)
                .unwrap();
            killed += n as usize;
        }
    }
    killed
}

#[test]
fn connections_killed_in_the_middle_of_the_copy_are_reopened() {
    const N: usize = 30_000;
    let mut db = TestDb::new(dbs::DROPPED);
    load(&mut db, N, 50);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("dropped.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--batch-size",
        "5000",
        "--parallel",
        "1",
        "--verify",
        "--json",
    ];
    // Held after its first commit, its reader waiting with a connection open.
    let paused = paused(&args, "committed:1");
    let killed = kill_connections(&db.url, dbs::DROPPED);
    assert!(killed >= 1, "the reader's connection was to be open");
    let r = paused.finish();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("connection lost; reading the batch again"),
        "no retry said: {}",
        r.stderr
    );
    assert_all_equal(&r.json());
    assert_exactly(&target, N, 50);
}
