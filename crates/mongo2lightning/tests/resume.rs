//! A migration that dies after some batches are committed (as `kill -9` would end
//! it) resumes when run again and ends with every document and every element of
//! its arrays exactly once.

mod common;

use std::path::Path;

use bson::{Bson, Document};
use common::*;

const DOCS: i32 = 2000;

/// The same documents, whatever their order: sorted canonical texts.
fn sorted(docs: impl IntoIterator<Item = serde_json::Value>) -> Vec<String> {
    let mut v: Vec<String> = docs.into_iter().map(|d| d.to_string()).collect();
    v.sort();
    v
}

/// The store holds exactly `docs` (with `items` child rows) and the last run completed.
fn assert_exactly(target: &Path, docs: &[Document], items: u64) {
    let counts = counts(target);
    assert_eq!(counts["orders"], docs.len() as u64, "{counts:?}");
    assert_eq!(counts["orders_items"], items, "{counts:?}");
    assert_eq!(
        sorted(documents(target, "orders")),
        sorted(docs.iter().map(canonical))
    );
    let runs = runs(target);
    assert_eq!(runs.last().unwrap().0, "completed", "{runs:?}");
}

/// What an interrupted run left: some rows, not all of them.
fn assert_partial(target: &Path, docs: usize) {
    let counts = counts(target);
    let n = counts.get("orders").copied().unwrap_or(0);
    assert!(
        n < docs as u64,
        "the run was to die before the end: {counts:?}"
    );
    assert!(
        counts.values().sum::<u64>() > 0,
        "the run was to commit batches before it died: {counts:?}"
    );
}

#[test]
fn a_live_copy_that_dies_after_some_commits_resumes_exactly_once() {
    let db = TestDb::new("abort");
    let (docs, items) = orders(DOCS);
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--batch-size",
        "250",
        "--quiet",
    ];
    // The process aborts at once after its fifth commit, as `kill -9` would end it.
    let r = m2l_fault(&args, "abort:committed:5");
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_partial(&target, docs.len());
    // A second death later on, then the run that finishes.
    let r = m2l_fault(&args, "abort:committed:3");
    assert_ne!(r.code, 0, "{}", r.stderr);
    migrate_verified(&db.url, &target, &["--batch-size", "250"]);
    assert_exactly(&target, &docs, items);
}

#[test]
fn a_live_copy_of_ids_of_several_types_killed_resumes_exactly_once() {
    // `_id`s of several types sort by type first: numbers, strings, ObjectIds.
    // A copy resumed after a number must still read the strings and ObjectIds.
    let db = TestDb::new("kill_ids");
    let (mut docs, items) = orders(900);
    for (i, d) in docs.iter_mut().enumerate() {
        let id = match i % 3 {
            0 => Bson::Int32(i as i32),
            1 => Bson::String(format!("order-{i:05}")),
            _ => {
                Bson::ObjectId(bson::oid::ObjectId::parse_str(format!("65a0c0de{i:016x}")).unwrap())
            }
        };
        d.insert("_id", id);
    }
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--batch-size",
        "100",
        "--quiet",
    ];
    // Killed (SIGKILL) while the numbers are being copied.
    paused(&args, "committed:2").kill();
    assert_partial(&target, docs.len());
    let report = migrate_verified(&db.url, &target, &["--batch-size", "100"]);
    assert_exactly(&target, &docs, items);
    // Nothing was left for a repair to find: the resumed copy read every document.
    assert!(
        report.get("repaired").is_none_or(|r| r
            .as_object()
            .is_none_or(|m| m.values().all(|c| c["inserted"] == 0))),
        "the resumed copy missed documents the repair had to insert: {report:#}"
    );
}

#[test]
fn a_file_copy_killed_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let (docs, items) = orders(DOCS);
    let file = dir.path().join("orders.bson");
    write_bson(&file, &docs);
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        p(&file),
        "--target",
        p(&target),
        "--batch-size",
        "250",
        "--quiet",
    ];
    paused(&args, "committed:4").kill();
    assert_partial(&target, docs.len());
    let r = m2l_fault(&args, "abort:committed:3");
    assert_ne!(r.code, 0, "{}", r.stderr);
    let report = migrate_verified(p(&file), &target, &["--batch-size", "250"]);
    assert_exactly(&target, &docs, items);
    // The same file: the copy went on where it stopped, nothing to repair.
    assert!(report.get("repaired").is_none(), "{report:#}");
}

/// `mongo2lightning ARGS` splitting collections of more than `above` documents
/// into `_id` ranges, with a fault injected (`LIGHTNING_FAULT=fault`) if any.
fn split_run(args: &[&str], above: u64, fault: Option<&str>) -> Run {
    let mut cmd = std::process::Command::new(tool());
    cmd.args(args)
        .env("MONGO2LIGHTNING_SPLIT_ABOVE", above.to_string());
    if let Some(f) = fault {
        cmd.env("LIGHTNING_FAULT", f);
    }
    finish(cmd.output().expect("tool runs"))
}

#[test]
fn a_collection_read_in_id_ranges_in_parallel_dies_and_resumes_exactly_once() {
    let db = TestDb::new("ranges");
    let (docs, items) = orders(DOCS);
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--batch-size",
        "250",
        "--parallel",
        "2",
        "--quiet",
    ];
    let r = split_run(&args, 500, Some("abort:committed:6"));
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_partial(&target, docs.len());
    let mut verified = args.to_vec();
    verified.extend(["--verify", "--json"]);
    let r = split_run(&verified, 500, None);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = r.json();
    assert_all_equal(&report);
    // Read in four ranges of `_id` (two for each reader), each resumed where it
    // stopped.
    let summary = &report["summary"];
    assert_eq!(
        summary["partitions_copied"].as_u64().unwrap()
            + summary["partitions_already_done"].as_u64().unwrap(),
        4,
        "{report:#}"
    );
    assert!(
        summary["tables"]["orders"]["rows_written"]
            .as_u64()
            .unwrap()
            < docs.len() as u64,
        "{report:#}"
    );
    assert!(
        report.get("repaired").is_none_or(|r| r
            .as_object()
            .is_none_or(|m| m.values().all(|c| c["inserted"] == 0))),
        "{report:#}"
    );
    assert_exactly(&target, &docs, items);
}

#[test]
fn a_live_copy_terminated_exits_143_and_resumes_exactly_once() {
    let db = TestDb::new("term");
    let (docs, items) = orders(DOCS);
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--batch-size",
        "250",
        "--quiet",
    ];
    let paused = paused(&args, "committed:3");
    let ok = std::process::Command::new("kill")
        .args(["-s", "TERM", &paused.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
    let r = paused.finish();
    assert_eq!(r.code, 143, "{}", r.stderr);
    assert!(
        r.stderr.contains("run the same command again"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_partial(&target, docs.len());
    assert_eq!(runs(&target).last().unwrap().0, "interrupted");
    migrate_verified(&db.url, &target, &["--batch-size", "250"]);
    assert_exactly(&target, &docs, items);
}
