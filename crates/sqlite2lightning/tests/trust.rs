//! Every row exactly once or a loud failure: resumes in another state of the
//! source, repairs, damaged and read-only stores, a full disk, long keys, two
//! migrations at once, `--fresh`, and what verify says about a difference.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;
use serde_json::Value;

/// Run `sqlite2lightning` with extra environment variables.
fn s2l_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    let out = Command::new(tool())
        .args(args)
        .envs(env.iter().copied())
        .stdin(Stdio::null())
        .output()
        .expect("the tool runs");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn count(target: &Path, table: &str) -> u64 {
    let r = light(&["count", p(target), table]);
    assert_eq!(r.code, 0, "count {table}: {}", r.stderr);
    r.stdout.trim().parse().expect("a count")
}

fn sqlite_count(db: &Path, table: &str) -> u64 {
    let conn = rusqlite::Connection::open(db).unwrap();
    conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |r| {
        r.get::<_, i64>(0)
    })
    .unwrap() as u64
}

/// `verify --json` must find the target equal to the source.
fn assert_verified_equal(db: &Path, target: &Path) {
    let r = s2l(&["verify", "--source", p(db), "--target", p(target), "--json"]);
    assert_eq!(r.code, 0, "verify: {}\n{}", r.stderr, r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["equal"], true, "{report:#}");
}

/// `lightning check` must find the store whole.
fn assert_whole(target: &Path) {
    let r = light(&["check", p(target)]);
    assert_eq!(r.code, 0, "check: {}{}", r.stdout, r.stderr);
}

fn runs(target: &Path) -> Vec<Value> {
    let r = light(&["runs", p(target), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str::<Value>(&r.stdout)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn counts_of(repaired: &Value) -> (u64, u64, u64) {
    (
        repaired["inserted"].as_u64().expect("inserted"),
        repaired["updated"].as_u64().expect("updated"),
        repaired["deleted"].as_u64().expect("deleted"),
    )
}

/// The engine's keyspace folders of a store.
fn keyspace_folders(target: &Path) -> BTreeSet<String> {
    std::fs::read_dir(target.join("data").join("keyspaces"))
        .expect("the store has keyspace folders")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Migrate one table alone: the keyspace folders its creation added (each table
/// has keyspaces of its own, created with it).
fn migrate_table(db: &Path, target: &Path, table: &str) -> BTreeSet<String> {
    if !target.exists() {
        // An empty store first (an import of nothing), so that the store's own
        // keyspaces are not taken for the table's.
        let r = light(&["import", p(target)]);
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let before = keyspace_folders(target);
    let r = s2l(&[
        "migrate",
        "--source",
        p(db),
        "--target",
        p(target),
        "--tables",
        table,
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    keyspace_folders(target)
        .difference(&before)
        .cloned()
        .collect()
}

fn remove_journal(target: &Path) {
    for e in std::fs::read_dir(target.join("data")).unwrap() {
        let path = e.unwrap().path();
        if path.extension().is_some_and(|x| x == "jnl") {
            std::fs::remove_file(path).unwrap();
        }
    }
}

/// A file system mounted for a test, unmounted when dropped (also when the test
/// fails).
struct Mount(PathBuf);

fn mount(args: &[&str]) {
    let out = Command::new("mount")
        .args(args)
        .output()
        .expect("`mount` runs");
    assert!(
        out.status.success(),
        "this test mounts file systems and must run as root: mount {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

impl Mount {
    fn tmpfs(at: &Path, size: &str) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        mount(&["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs", p(at)]);
        Mount(at.to_path_buf())
    }

    fn read_only_bind(from: &Path, at: &Path) -> Mount {
        std::fs::create_dir_all(at).unwrap();
        mount(&["--bind", p(from), p(at)]);
        let m = Mount(at.to_path_buf());
        mount(&["-o", "remount,bind,ro", p(at)]);
        m
    }

    fn resize(&self, size: &str) {
        mount(&["-o", &format!("remount,size={size}"), p(&self.0)]);
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

// ---- Resume in another state of the source ----

const EVENTS: u64 = 260_000;

#[test]
fn a_copy_resumed_after_the_source_changed_is_repaired_to_equal() {
    let dir = tempfile::tempdir().unwrap();
    // `codes` (WITHOUT ROWID, one partition) is copied first, then `events`, more
    // than 250,000 rows, in two rowid ranges of 130,000.
    let db = sqlite_db(
        dir.path(),
        "shop.sqlite",
        &format!(
            "CREATE TABLE codes (code TEXT NOT NULL, n INTEGER NOT NULL, label TEXT,
                PRIMARY KEY (code, n)) WITHOUT ROWID;
             WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 35000)
               INSERT INTO codes SELECT printf('c%06d', x), x % 7, 'label ' || x FROM s;
             CREATE TABLE events (id INTEGER PRIMARY KEY, v INTEGER);
             WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < {EVENTS})
               INSERT INTO events SELECT x, x * 3 FROM s;"
        ),
    );
    let target = dir.path().join("shop.ldb");
    let args = [
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--parallel",
        "1",
        "--batch-size",
        "10000",
        "--quiet",
    ];
    // Commits: `codes` 4 (the last one ends it), the first range of `events` 14,
    // then 4 batches of the second range (rowids up to 170,000); the process dies
    // as `kill -9` would end it.
    let r = s2l_env(&args, &[("LIGHTNING_FAULT", "abort:committed:22")]);
    assert_ne!(r.code, 0, "the fault did not stop the run: {}", r.stderr);
    let first = runs(&target);
    assert_eq!(first.len(), 1);
    assert_eq!(first[0]["status"], "interrupted", "{first:?}");
    let listed = light(&["runs", p(&target)]);
    assert!(listed.stdout.contains("interrupted"), "{}", listed.stdout);
    assert_eq!(count(&target, "codes"), 35_000);
    let copied = count(&target, "events");
    assert!(
        (140_000..=170_000).contains(&copied),
        "{copied} events copied before the fault"
    );

    // The source changes: rows of finished ranges are deleted and updated, rows
    // of the unfinished range that were copied too, and rows are added beyond
    // the old highest rowid.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DELETE FROM codes WHERE code <= 'c010000' AND n = 3;
         UPDATE codes SET label = 'changed' WHERE code BETWEEN 'c020000' AND 'c020099';
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 7)
           INSERT INTO codes SELECT 'b' || x, 0, 'new' FROM s;
         INSERT INTO codes VALUES ('d1', 1, 'new'), ('d2', 2, 'new');
         DELETE FROM events WHERE id BETWEEN 1000 AND 1099;
         UPDATE events SET v = -1 WHERE id BETWEEN 50000 AND 50049;
         DELETE FROM events WHERE id BETWEEN 130001 AND 130010;
         UPDATE events SET v = -2 WHERE id BETWEEN 135000 AND 135009;
         WITH RECURSIVE s(x) AS (SELECT 260001 UNION ALL SELECT x + 1 FROM s WHERE x < 260500)
           INSERT INTO events SELECT x, 0 FROM s;",
    )
    .unwrap();
    let deleted_codes: u64 = 10_000 / 7 + u64::from(10_000 % 7 >= 3);
    let new_codes = 7 + 2;
    drop(conn);

    let mut json_args = args.to_vec();
    json_args.extend(["--json", "--verify"]);
    let r = s2l(&json_args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for t in ["codes", "events"] {
        assert!(
            r.stderr
                .contains(&format!("bringing `{t}` level with the source")),
            "{}",
            r.stderr
        );
    }
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        report["summary"]["partitions_already_done"]
            .as_u64()
            .unwrap()
            >= 2
    );
    assert_eq!(
        counts_of(&report["repaired"]["codes"]),
        (new_codes, 100, deleted_codes),
        "{:#}",
        report["repaired"]
    );
    assert_eq!(
        counts_of(&report["repaired"]["events"]),
        (0, 60, 110),
        "the rows added past the old end are copied by the resumed range: {:#}",
        report["repaired"]
    );
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    assert_eq!(count(&target, "events"), EVENTS - 110 + 500);
    assert_eq!(count(&target, "codes"), sqlite_count(&db, "codes"));
    assert_verified_equal(&db, &target);
    assert_whole(&target);
    let all = runs(&target);
    assert_eq!(all[0]["status"], "interrupted");
    assert_eq!(all[1]["status"], "completed");
    assert_eq!(all[1]["repaired"]["codes"]["updated"], 100);
}

#[test]
fn a_partly_copied_without_rowid_table_is_repaired_when_the_source_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "tags.sqlite",
        "CREATE TABLE tags (name TEXT PRIMARY KEY, uses INTEGER) WITHOUT ROWID;
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 30000)
           INSERT INTO tags SELECT printf('t%05d', x), x FROM s;",
    );
    let target = dir.path().join("tags.ldb");
    let args = [
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--parallel",
        "1",
        "--batch-size",
        "5000",
        "--quiet",
    ];
    let r = s2l_env(&args, &[("LIGHTNING_FAULT", "abort:committed:4")]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(count(&target, "tags") >= 15_000);
    // A table without rowids resumes by skipping the rows already copied: in the
    // changed source the skipped rows are not the copied ones any more.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "DELETE FROM tags WHERE name BETWEEN 't01000' AND 't01099';
         UPDATE tags SET uses = -uses WHERE name BETWEEN 't05000' AND 't05049';
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 30)
           INSERT INTO tags SELECT printf('a%02d', x), 0 FROM s;",
    )
    .unwrap();
    drop(conn);
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let r = s2l(&json_args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("bringing `tags` level with the source"),
        "{}",
        r.stderr
    );
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    // 30 new rows and 70 old ones were skipped unread (100 fewer rows before the
    // resume point, 30 more), 50 updated, 100 deleted.
    assert_eq!(
        counts_of(&report["repaired"]["tags"]),
        (100, 50, 100),
        "{report:#}"
    );
    assert_eq!(count(&target, "tags"), 30_000 - 100 + 30);
    assert_verified_equal(&db, &target);
    assert_whole(&target);
}

#[test]
fn a_run_killed_between_a_bulk_load_and_its_commit_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "items.sqlite",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 30000)
           INSERT INTO items SELECT x, printf('item %d', x) FROM s;",
    );
    let target = dir.path().join("items.ldb");
    let args = [
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--parallel",
        "1",
        "--batch-size",
        "5000",
        "--quiet",
    ];
    // Each batch goes straight into the engine's files; the third is there when
    // the process dies, its commit (rows counted, checkpoint) not made.
    let r = s2l_env(&args, &[("LIGHTNING_FAULT", "abort:ingested:3")]);
    assert_ne!(r.code, 0, "the fault did not stop the run: {}", r.stderr);
    // Opening the store takes the uncommitted rows out again.
    assert_eq!(count(&target, "items"), 10_000);
    assert_whole(&target);
    let r = s2l(&args);
    assert_eq!(r.code, 0, "the resumed run: {}", r.stderr);
    assert_eq!(count(&target, "items"), 30_000);
    assert_verified_equal(&db, &target);
    assert_whole(&target);
}

// ---- verify --repair, and what verify says about a difference ----

#[test]
fn verify_repair_makes_the_target_equal_and_counts_what_it_changed() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "r.sqlite",
        "CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT UNIQUE, price REAL);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 20000)
           INSERT INTO items SELECT x, 'item ' || x, x * 0.5 FROM s;
         CREATE TABLE notes (body TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 3000)
           INSERT INTO notes SELECT 'note ' || x FROM s;
         CREATE TABLE same (k TEXT PRIMARY KEY, v INTEGER) WITHOUT ROWID;
         INSERT INTO same VALUES ('a', 1), ('b', 2);",
    );
    let target = dir.path().join("r.ldb");
    migrate_verified(&db, &target, &["--quiet"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE items SET price = 0 WHERE id BETWEEN 100 AND 109;
         DELETE FROM items WHERE id BETWEEN 5000 AND 5019;
         INSERT INTO items VALUES (30000, 'new one', 1), (0, 'new zero', 2), (-5, 'new negative', 3);
         -- a unique value moves from one row to another
         UPDATE items SET name = 'gone' WHERE id = 7;
         UPDATE items SET name = 'item 7' WHERE id = 8;
         DELETE FROM notes WHERE rowid IN (10, 20, 30);
         UPDATE notes SET body = 'edited' WHERE rowid = 40;
         INSERT INTO notes VALUES ('added');",
    )
    .unwrap();
    drop(conn);
    let r = s2l(&["verify", "--source", p(&db), "--target", p(&target)]);
    assert_eq!(r.code, 3, "{}", r.stderr);

    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--repair",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stderr, r.stdout);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["equal"], true, "{report:#}");
    assert_eq!(
        counts_of(&report["repaired"]["items"]),
        (3, 12, 20),
        "{:#}",
        report["repaired"]
    );
    assert_eq!(
        counts_of(&report["repaired"]["notes"]),
        (1, 1, 3),
        "{:#}",
        report["repaired"]
    );
    assert!(
        report["repaired"].get("same").is_none(),
        "an equal table is not repaired: {:#}",
        report["repaired"]
    );
    assert!(
        r.stderr
            .contains("repaired `items`: 3 rows inserted, 12 updated, 20 deleted"),
        "{}",
        r.stderr
    );
    assert_eq!(count(&target, "items"), 20_000 - 20 + 3);
    assert_verified_equal(&db, &target);
    assert_whole(&target);
    // Nothing left to repair: a second repair changes nothing.
    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--repair",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(report.get("repaired").is_none(), "{report:#}");
}

#[test]
fn verify_quotes_values_that_differ_only_by_a_trailing_space_and_names_the_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "cities.sqlite",
        "CREATE TABLE people (id INTEGER PRIMARY KEY, name TEXT, city TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 500)
           INSERT INTO people SELECT x, 'person ' || x, 'Edinburgh' FROM s;",
    );
    let target = dir.path().join("cities.ldb");
    migrate_verified(&db, &target, &["--quiet"]);
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("UPDATE people SET city = 'Edinburgh ' WHERE id = 321", [])
        .unwrap();
    drop(conn);
    let expected = r#"city: source "Edinburgh " / target "Edinburgh""#;

    for sample in ["0", "1000"] {
        let r = s2l(&[
            "verify",
            "--source",
            p(&db),
            "--target",
            p(&target),
            "--sample",
            sample,
        ]);
        assert_eq!(r.code, 3, "{}", r.stderr);
        let line = r
            .stderr
            .lines()
            .find(|l| l.contains("id=321") && l.contains("values differ"))
            .unwrap_or_else(|| panic!("no line for id=321: {}", r.stderr));
        assert!(line.contains(expected), "{line}");
        assert!(
            !r.stderr.contains("name:"),
            "only the differing column: {}",
            r.stderr
        );
    }

    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--sample",
        "0",
        "--json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let diffs = report["tables"][0]["differing_keys"].as_array().unwrap();
    assert_eq!(diffs.len(), 1, "{diffs:?}");
    assert_eq!(diffs[0]["kind"], "values_differ");
    assert_eq!(diffs[0]["key"], "id=321");
    assert_eq!(diffs[0]["columns"], expected);
    // Listing a difference is not repairing it: the target still holds "Edinburgh".
    let row = light(&["get", p(&target), "people", "321"]);
    assert!(
        row.stdout.contains(r#""city":"Edinburgh""#),
        "{}",
        row.stdout
    );
}

// ---- A damaged store ----

#[test]
fn a_store_missing_a_tables_files_is_refused_as_damaged_and_check_names_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "two.sqlite",
        "CREATE TABLE kept (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 3000)
           INSERT INTO kept SELECT x, 'v' || x FROM s;
         CREATE TABLE lost (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 4000)
           INSERT INTO lost SELECT x, 'v' || x FROM s;",
    );
    let target = dir.path().join("two.ldb");
    migrate_table(&db, &target, "kept");
    let lost = migrate_table(&db, &target, "lost");
    assert_eq!(lost.len(), 1, "{lost:?}");
    assert_eq!(count(&target, "lost"), 4000);
    for f in &lost {
        std::fs::remove_dir_all(target.join("data").join("keyspaces").join(f)).unwrap();
    }
    remove_journal(&target);

    let damaged = "is damaged and cannot be read: the rows of table `lost` are missing";
    for args in [
        vec!["count", p(&target)],
        vec!["count", p(&target), "lost"],
        vec!["checksum", p(&target)],
    ] {
        let r = light(&args);
        assert_clean_error(&r, 1, damaged);
        assert_eq!(r.stdout, "", "{args:?} printed counts of a damaged store");
    }
    // Migrating again is refused the same way (never a run that finds 0 rows).
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, damaged);
    let r = s2l(&["verify", "--source", p(&db), "--target", p(&target)]);
    assert_clean_error(&r, 1, damaged);

    let r = light(&["check", p(&target), "--json"]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["healthy"], false);
    assert!(
        report["problems"].to_string().contains("table `lost`"),
        "{report:#}"
    );
    let r = light(&["check", p(&target)]);
    assert_eq!(r.code, 3);
    assert!(r.stdout.contains("`lost`"), "{}", r.stdout);
}

// ---- Long keys ----

/// `n` bytes: a shared head of 2,000 bytes, then `tail` repeated.
fn long_text(tail: char, n: usize) -> String {
    let mut s = "k".repeat(2_000);
    while s.len() < n {
        s.push(tail);
    }
    s
}

fn long_blob(tail: u8, n: usize) -> Vec<u8> {
    let mut b: Vec<u8> = (0..2_000u32).map(|i| (i % 256) as u8).collect();
    b.resize(n, tail);
    b
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The first CSV field of each line after the header (the key), unquoted.
fn first_csv_fields(csv: &str) -> Vec<String> {
    csv.lines()
        .skip(1)
        .map(|l| {
            let field = l.split(',').next().unwrap();
            field.trim_matches('"').to_string()
        })
        .collect()
}

#[test]
fn long_keys_migrate_verify_and_are_found_and_scanned_in_sqlite_order() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "long.sqlite",
        "CREATE TABLE docs (k TEXT NOT NULL PRIMARY KEY, body TEXT);
         CREATE TABLE uniq (id INTEGER PRIMARY KEY, v TEXT UNIQUE);
         CREATE TABLE blobs (k BLOB NOT NULL PRIMARY KEY, n INTEGER) WITHOUT ROWID;",
    );
    let mut keys = vec![
        long_text('m', 70_000),
        long_text('a', 2_001),
        long_text('z', 5_000),
        long_text('b', 70_000),
        "short".to_string(),
        "k".repeat(2_000),
        long_text('a', 69_000),
    ];
    let mut twin = long_text('q', 60_000);
    twin.push('1');
    keys.push(twin.clone());
    twin.pop();
    twin.push('0');
    keys.push(twin);
    let blobs = [
        long_blob(0x00, 70_000),
        long_blob(0xFF, 70_000),
        long_blob(0x00, 3_000),
        long_blob(0x7F, 2_500),
        vec![0x00],
        vec![0xFF; 10],
    ];
    {
        let mut conn = rusqlite::Connection::open(&db).unwrap();
        let tx = conn.transaction().unwrap();
        for (i, k) in keys.iter().enumerate() {
            tx.execute(
                "INSERT INTO docs VALUES (?1, ?2)",
                rusqlite::params![k, format!("body {i}")],
            )
            .unwrap();
            tx.execute(
                "INSERT INTO uniq VALUES (?1, ?2)",
                rusqlite::params![i as i64, format!("{k}/unique")],
            )
            .unwrap();
        }
        for (i, b) in blobs.iter().enumerate() {
            tx.execute(
                "INSERT INTO blobs VALUES (?1, ?2)",
                rusqlite::params![b, i as i64],
            )
            .unwrap();
        }
        tx.commit().unwrap();
    }
    let target = dir.path().join("long.ldb");
    let report = migrate_verified(&db, &target, &["--quiet"]);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    assert_eq!(count(&target, "docs"), keys.len() as u64);
    assert_eq!(count(&target, "blobs"), blobs.len() as u64);
    assert_whole(&target);

    // `get` finds a 70,000-byte key, and not one that only shares its head.
    let r = light(&["get", p(&target), "docs", &keys[0]]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(row["k"].as_str().unwrap(), keys[0]);
    assert_eq!(row["body"], "body 0");
    let r = light(&["get", p(&target), "docs", &long_text('c', 70_000)]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stderr.contains("no row with"), "{}", r.stderr.len());

    // `scan` gives the keys in SQLite's ORDER BY order.
    let conn = rusqlite::Connection::open(&db).unwrap();
    let sqlite_order = |sql: &str| -> Vec<String> {
        let mut st = conn.prepare(sql).unwrap();
        st.query_map([], |r| r.get::<_, String>(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let scanned = light(&["scan", p(&target), "docs", "--format", "csv"]);
    assert_eq!(scanned.code, 0, "{}", scanned.stderr);
    let got = first_csv_fields(&scanned.stdout);
    let want = sqlite_order("SELECT k FROM docs ORDER BY k");
    assert_eq!(
        got.iter().map(String::len).collect::<Vec<_>>(),
        want.iter().map(String::len).collect::<Vec<_>>()
    );
    assert!(got == want, "docs scan order differs from ORDER BY k");
    let scanned = light(&["scan", p(&target), "blobs", "--format", "csv"]);
    assert_eq!(scanned.code, 0, "{}", scanned.stderr);
    let got: Vec<String> = first_csv_fields(&scanned.stdout)
        .into_iter()
        .map(|f| f.trim_start_matches("\\x").to_lowercase())
        .collect();
    let want = sqlite_order("SELECT lower(hex(k)) FROM blobs ORDER BY k");
    assert_eq!(got.len(), want.len());
    assert!(got == want, "blobs scan order differs from ORDER BY k");
    assert_eq!(want[0], hex(&[0x00]));
}

#[test]
fn a_long_unique_value_made_twice_by_a_cast_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "dup.sqlite",
        "CREATE TABLE uniq (id INTEGER PRIMARY KEY, v TEXT UNIQUE);",
    );
    let value = long_text('v', 70_000);
    {
        let conn = rusqlite::Connection::open(&db).unwrap();
        for (id, v) in [
            (1, value.clone()),
            (2, format!("{value}  ")), // the same once trailing spaces go
            (3, long_text('w', 70_000)),
        ] {
            conn.execute("INSERT INTO uniq VALUES (?1, ?2)", rusqlite::params![id, v])
                .unwrap();
        }
    }
    let target = dir.path().join("dup.ldb");
    let cast = "column:uniq.v => TEXT using trim-trailing-spaces";
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--cast",
        cast,
        "--quiet",
    ]);
    assert_clean_error(&r, 1, "duplicate value for unique index");
    assert!(r.stderr.contains("id=2"), "{}", r.stderr.len());
    assert_eq!(count(&target, "uniq"), 0, "a failed batch writes nothing");

    let rejects = dir.path().join("dup.rejects.jsonl");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--cast",
        cast,
        "--on-error",
        "skip",
        "--reject-file",
        p(&rejects),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&target, "uniq"), 2);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(rejected.lines().count(), 1);
    assert!(
        rejected.contains("duplicate value for unique index"),
        "{}",
        &rejected[..200.min(rejected.len())]
    );
    assert_whole(&target);
}

// ---- Two migrations at once ----

#[test]
fn two_migrations_into_a_new_target_at_once_leave_it_whole() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "small.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 300)
           INSERT INTO t SELECT x, 'v' || x FROM s;
         CREATE TABLE u (a TEXT, b INTEGER);
         INSERT INTO u VALUES ('x', 1), ('y', 2);",
    );
    let mut in_use = 0;
    for i in 0..30 {
        let target = dir.path().join(format!("t{i}.ldb"));
        let spawn = || {
            Command::new(tool())
                .args([
                    "migrate",
                    "--source",
                    p(&db),
                    "--target",
                    p(&target),
                    "--quiet",
                ])
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap()
        };
        let (a, b) = (spawn(), spawn());
        let mut succeeded = 0;
        for child in [a, b] {
            let out = child.wait_with_output().unwrap();
            let err = String::from_utf8_lossy(&out.stderr);
            match out.status.code() {
                Some(0) => succeeded += 1,
                Some(1) if err.contains("in use by another process") => in_use += 1,
                other => panic!("try {i}: exit {other:?}: {err}"),
            }
            assert!(!err.contains("panicked"), "try {i}: {err}");
        }
        assert!(succeeded >= 1, "try {i}: neither run made the store");
        assert_whole(&target);
        assert_eq!(count(&target, "t"), 300, "try {i}");
        assert_eq!(count(&target, "u"), 2, "try {i}");
        assert_verified_equal(&db, &target);
        let left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| n.contains(".creating-"))
            .collect();
        assert!(left.is_empty(), "try {i}: left behind {left:?}");
    }
    eprintln!("{in_use} of 30 second runs found the store in use");
}

// ---- A full disk, a read-only store ----

#[test]
fn a_full_disk_is_said_as_such_and_the_same_command_resumes_once_there_is_room() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "fill.sqlite",
        "CREATE TABLE fill (id INTEGER PRIMARY KEY, payload TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 40000)
           INSERT INTO fill SELECT x, printf('%d-%s', x, hex(randomblob(100))) FROM s;",
    );
    let disk = Mount::tmpfs(&dir.path().join("disk"), "3m");
    let target = disk.0.join("fill.ldb");
    let args = [
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--batch-size",
        "2000",
        "--quiet",
    ];
    let r = s2l(&args);
    assert_clean_error(&r, 1, "no space left on device");
    assert!(r.stderr.contains(p(&target)), "{}", r.stderr);
    for word in ["FjallError", "Poisoned", "Storage(", "damaged"] {
        assert!(!r.stderr.contains(word), "{word}: {}", r.stderr);
    }

    disk.resize("64m");
    let mut verified = args.to_vec();
    verified.extend(["--verify", "--json"]);
    let r = s2l(&verified);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    assert_eq!(count(&target, "fill"), 40_000);
    assert_whole(&target);
    drop(disk);
}

#[test]
fn a_store_on_a_read_only_file_system_is_read_and_refuses_a_migration_as_not_writable() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "ro.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 2000)
           INSERT INTO t SELECT x, 'v' || x FROM s;",
    );
    let store = dir.path().join("ro.ldb");
    migrate_verified(&db, &store, &["--quiet"]);
    let scan = light(&["scan", p(&store), "t", "--format", "csv"]);
    let ro = Mount::read_only_bind(&store, &dir.path().join("ro-mount"));
    let target = ro.0.clone();
    assert_eq!(count(&target, "t"), 2000);
    assert_eq!(
        light(&["scan", p(&target), "t", "--format", "csv"]).stdout,
        scan.stdout
    );
    assert_whole(&target);
    // Verification only reads.
    assert_verified_equal(&db, &target);
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, "cannot be written");
    assert!(!r.stderr.contains("damaged"), "{}", r.stderr);
    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--repair",
    ]);
    assert_clean_error(&r, 1, "cannot be written");
    drop(ro);
}

// ---- --fresh ----

#[test]
fn fresh_drops_the_selected_tables_files_whole_and_leaves_the_others_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "f.sqlite",
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v TEXT UNIQUE);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 20000)
           INSERT INTO a SELECT x, 'a' || x FROM s;
         CREATE TABLE b (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 5000)
           INSERT INTO b SELECT x, 'b' || x FROM s;",
    );
    let target = dir.path().join("f.ldb");
    let a_folders = migrate_table(&db, &target, "a");
    let b_folders = migrate_table(&db, &target, "b");
    assert_eq!(a_folders.len(), 2, "rows and unique index: {a_folders:?}");
    assert_eq!(b_folders.len(), 1, "{b_folders:?}");
    // The table files of `b` (the engine's own bookkeeping files beside them
    // may be rewritten; the rows' files must not be): name, size and a hash.
    let b_files = |t: &Path| -> Vec<(String, usize, u64)> {
        use std::hash::{Hash, Hasher};
        let mut out = Vec::new();
        for f in &b_folders {
            let tables = t.join("data").join("keyspaces").join(f).join("tables");
            for e in std::fs::read_dir(&tables).unwrap() {
                let path = e.unwrap().path();
                let bytes = std::fs::read(&path).unwrap();
                let mut h = std::collections::hash_map::DefaultHasher::new();
                bytes.hash(&mut h);
                out.push((path.display().to_string(), bytes.len(), h.finish()));
            }
        }
        out.sort();
        assert!(!out.is_empty(), "`b` has no table files");
        out
    };
    let b_before = b_files(&target);
    let b_checksum = light(&["checksum", p(&target), "b"]).stdout;

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("DELETE FROM a WHERE id > 15000; UPDATE a SET v = v || '!' WHERE id <= 10;")
        .unwrap();
    drop(conn);
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--tables",
        "a",
        "--fresh",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["summary"]["tables"]["a"]["rows_written"], 15_000);
    assert!(report.get("repaired").is_none(), "{report:#}");
    let now = keyspace_folders(&target);
    let still: Vec<&String> = a_folders.intersection(&now).collect();
    assert!(
        still.is_empty(),
        "the old files of `a` remain: {still:?} in {now:?}"
    );
    assert!(b_folders.is_subset(&now), "{now:?}");
    assert_eq!(count(&target, "a"), 15_000);
    assert_eq!(count(&target, "b"), 5_000);
    assert_eq!(b_files(&target), b_before, "the files of `b` changed");
    assert_eq!(light(&["checksum", p(&target), "b"]).stdout, b_checksum);
    assert_verified_equal(&db, &target);
    assert_whole(&target);

    // A `--fresh` killed after the table left the catalog, before its files went:
    // the next open removes them.
    let a_now: BTreeSet<String> = keyspace_folders(&target)
        .difference(&b_folders)
        .filter(|f| !["0", "1"].contains(&f.as_str()))
        .cloned()
        .collect();
    assert_eq!(a_now.len(), 2, "{a_now:?}");
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute("DELETE FROM a WHERE id <= 100", []).unwrap();
    drop(conn);
    let fresh = [
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--tables",
        "a",
        "--fresh",
        "--quiet",
    ];
    let r = s2l_env(&fresh, &[("LIGHTNING_FAULT", "abort:dropped")]);
    assert_ne!(r.code, 0, "the fault did not stop the run: {}", r.stderr);
    assert!(
        a_now.is_subset(&keyspace_folders(&target)),
        "the files went before the fault"
    );
    let tables = light(&["tables", p(&target)]);
    assert_eq!(tables.code, 0, "{}", tables.stderr);
    assert!(
        !tables.stdout.lines().any(|l| l.starts_with("a ")),
        "{}",
        tables.stdout
    );
    let left: Vec<String> = a_now
        .intersection(&keyspace_folders(&target))
        .cloned()
        .collect();
    assert!(
        left.is_empty(),
        "files of the dropped table remain: {left:?}"
    );
    assert_whole(&target);
    let r = s2l(&fresh);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(count(&target, "a"), 14_900);
    assert_eq!(b_files(&target), b_before, "the files of `b` changed");
    assert_verified_equal(&db, &target);
    assert_whole(&target);
}

// ---- Signals outside a migration ----

#[test]
fn a_signal_during_an_assessment_ends_it_as_interrupted() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "a.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT);
         WITH RECURSIVE s(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM s WHERE x < 30000)
           INSERT INTO t SELECT x, 'v' || x FROM s;",
    );
    // The timed sample pauses after its first commit; the test then sends SIGTERM.
    let handshake = dir.path().join("paused");
    let child = Command::new(tool())
        .args(["assess", "--source", p(&db), "--json"])
        .env("LIGHTNING_FAULT", "pause:committed:1")
        .env("LIGHTNING_FAULT_HANDSHAKE", &handshake)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tool runs");
    let started = std::time::Instant::now();
    while !handshake.exists() {
        assert!(
            started.elapsed() < std::time::Duration::from_secs(60),
            "the sample never paused"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    let killed = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(killed.success());
    std::thread::sleep(std::time::Duration::from_millis(200));
    std::fs::remove_file(&handshake).unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(143), "{stderr}");
    assert!(stderr.contains("interrupted"), "{stderr}");
    assert!(
        !stderr.contains("error:"),
        "an interruption is no failure: {stderr}"
    );
}

#[test]
fn sync_says_a_file_has_no_change_log_and_points_to_repair() {
    let r = s2l(&["sync", "--source", "app.db", "--target", "app.ldb"]);
    assert_clean_error(&r, 1, "no change log");
    assert!(
        r.stderr.contains("sqlite2lightning verify --repair"),
        "{}",
        r.stderr
    );
}
