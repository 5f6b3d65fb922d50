//! `verify` compares the store with the server: a key changed, deleted or added
//! since the copy is named with its kind of difference, the exit code is 3, and
//! `verify --repair` makes the store equal again.

mod common;

use common::*;
use lightning_core::value::Value;
use serde_json::Value as Json;

/// The `(key, kind)` of every difference of a table's entry.
fn differences(report: &Json, table: &str) -> Vec<(String, String)> {
    let entry = verification(report)["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no entry {table}: {report:#}"));
    let mut v: Vec<(String, String)> = entry["differing_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

#[test]
fn verify_names_the_keys_changed_deleted_and_added_since_the_copy() {
    let mut db = TestDb::new(dbs::VERIFY);
    let mut c: Vec<redis::Cmd> = (0..200)
        .map(|i| {
            cmd("SET")
                .arg(format!("item:{i}"))
                .arg(format!("v{i}"))
                .clone()
        })
        .collect();
    for i in 0..5 {
        c.push(cmd("RPUSH").arg("queue").arg(format!("job{i}")).clone());
    }
    db.pipe(c);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("verify.ldb");
    migrate_verified(&db.url, &target, &[]);

    db.pipe(vec![
        cmd("SET").arg("item:5").arg("changed").clone(),
        cmd("DEL").arg("item:7").clone(),
        cmd("SET").arg("item:1000").arg("new").clone(),
        cmd("LSET").arg("queue").arg(2).arg("other").clone(),
    ]);
    let args = [
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ];
    let r = r2l(&args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["equal"], false);
    assert_eq!(
        differences(&report, "item"),
        [
            ("key=item:1000".to_string(), "missing_in_target".to_string()),
            ("key=item:5".into(), "values_differ".into()),
            ("key=item:7".into(), "extra_in_target".into()),
        ]
    );
    // The per-table key check: one key deleted and one added, the same count.
    let keys = verification(&report)["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "item (keys)")
        .cloned()
        .unwrap_or_else(|| panic!("no key check: {report:#}"));
    assert_eq!(
        (keys["source_rows"].as_u64(), keys["target_rows"].as_u64()),
        (Some(200), Some(200))
    );
    assert_eq!(keys["equal"], false, "{keys:#}");
    let queue_keys = verification(&report)["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "queue (keys)")
        .cloned()
        .unwrap();
    // The list's element count did not change: its key check is equal.
    assert_eq!(queue_keys["equal"], true, "{queue_keys:#}");
    assert_eq!(
        differences(&report, "queue"),
        [(
            "key=queue, position=2".to_string(),
            "values_differ".to_string()
        )]
    );

    let mut repair = args.to_vec();
    repair.push("--repair");
    let r = r2l(&repair);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_all_equal(&r.json());
    let items = rows_by_key(&target, "item");
    assert_eq!(items.len(), 200);
    assert_eq!(items[&b"item:5".to_vec()][0][2], text("changed"));
    assert_eq!(items[&b"item:1000".to_vec()][0][2], text("new"));
    assert!(!items.contains_key(b"item:7".as_slice()));
    let queue: Vec<Value> = rows(&target, "queue")
        .iter()
        .map(|r| r[2].clone())
        .collect();
    assert_eq!(queue, ["job0", "job1", "other", "job3", "job4"].map(text));
}

#[test]
fn verify_names_the_keys_of_a_pattern_deleted_whole() {
    let mut db = TestDb::new(dbs::DELETED_PATTERN);
    let mut c: Vec<redis::Cmd> = (0..50)
        .map(|i| {
            cmd("SET")
                .arg(format!("item:{i}"))
                .arg(format!("v{i}"))
                .clone()
        })
        .collect();
    for i in 0..30 {
        c.push(
            cmd("SET")
                .arg(format!("cache:{i}"))
                .arg(format!("c{i}"))
                .clone(),
        );
    }
    db.pipe(c);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("deleted.ldb");
    migrate_verified(&db.url, &target, &[]);
    assert_eq!(tables(&target), ["cache", "item"]);

    // Every key of one pattern deleted: its table's rows are no longer the source's.
    let keys: Vec<String> = (0..30).map(|i| format!("cache:{i}")).collect();
    db.cmd::<()>(cmd("DEL").arg(&keys));
    let r = r2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["equal"], false, "{report:#}");
    let diffs = differences(&report, "cache");
    assert_eq!(diffs.len(), 30, "{diffs:?}");
    assert!(
        diffs.iter().all(|(_, kind)| kind == "extra_in_target"),
        "{diffs:?}"
    );
}
