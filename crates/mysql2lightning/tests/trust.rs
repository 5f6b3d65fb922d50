//! Every row exactly once or a loud failure: copies resumed in another state of the
//! source (a server, a different dump) are repaired; `migrate --verify` compares
//! with the snapshot it copied; empty inputs, long keys, panicking threads,
//! permissions, unknown table names and findings in the report.

mod common;

use std::path::Path;
use std::time::Duration;

use common::*;
use lightning_core::{Store, Value};

/// The checkpoint of each partition of a store: (done, rows).
fn partitions(target: &Path) -> std::collections::BTreeMap<String, (bool, u64)> {
    Store::open(target)
        .unwrap()
        .checkpoints()
        .unwrap()
        .into_iter()
        .map(|c| (c.partition, (c.done, c.rows)))
        .collect()
}

fn text_of(store: &Store, table: &str, key: i64, column: &str) -> Option<String> {
    let schema = store.table(table).unwrap();
    store
        .get(table, &[Value::Int(key)])
        .unwrap()
        .map(|row| row[schema.column_index(column).unwrap()].to_text().unwrap())
}

fn count(db: &TestDb, table: &str) -> u64 {
    db.sql(&format!("SELECT COUNT(*) FROM `{table}`"))
        .trim()
        .parse()
        .unwrap()
}

/// `big` is split into two key ranges by the server's estimate: `..650000` holds
/// 20,000 rows, the open last range from 650000 holds 260,000. `aevents` has no key
/// and is copied first.
fn split_db(name: &str) -> TestDb {
    let db = TestDb::new(name);
    db.sql(
        "CREATE TABLE aevents (line VARCHAR(20), n INT);
         INSERT INTO aevents SELECT CONCAT('line ', seq), seq FROM seq_1_to_3000;
         CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(12) NOT NULL);
         INSERT INTO big SELECT seq, LEFT(MD5(seq), 12) FROM seq_1_to_20000;
         INSERT INTO big SELECT 1000000 + seq, LEFT(MD5(seq), 12) FROM seq_1_to_260000;
         ANALYZE TABLE big;",
    );
    let estimate: u64 = mariadb(
        None,
        &format!(
            "SELECT TABLE_ROWS FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{}' AND TABLE_NAME = 'big'",
            db.name
        ),
    )
    .trim()
    .parse()
    .unwrap();
    assert!(
        estimate > 250_000,
        "the server estimates {estimate} rows: too few to split `big` into key ranges"
    );
    db
}

fn key_range_resume_in_a_new_state_of_the_server(name: &str, parallel: &str, abort_at: u32) {
    let db = split_db(name);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    let url = db.url();
    let args = [
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--parallel",
        parallel,
        "--batch-size",
        "2000",
        "--quiet",
    ];
    let fault = format!("abort:committed:{abort_at}");
    let r = m2l_env(&args, &[("LIGHTNING_FAULT", &fault)]);
    assert_ne!(r.code, 0, "the run was to die: {}", r.stderr);
    let state = partitions(&target);
    assert_eq!(state.get("aevents").map(|s| s.0), Some(true), "{state:?}");
    assert_eq!(state.get("big#0").map(|s| s.0), Some(true), "{state:?}");
    let last = state.get("big#1").copied().unwrap_or((false, 0));
    assert!(!last.0 && last.1 >= 200, "{state:?}");

    // The source changes: in the finished range, in the copied part of the open
    // range, and beyond the old maximum; the keyless table everywhere.
    db.sql(
        "DELETE FROM big WHERE id BETWEEN 101 AND 200;
         UPDATE big SET v = 'changed' WHERE id BETWEEN 1001 AND 1100;
         INSERT INTO big SELECT 500000 + seq, 'hole' FROM seq_1_to_10;
         DELETE FROM big WHERE id BETWEEN 1000001 AND 1000050;
         UPDATE big SET v = 'changed' WHERE id BETWEEN 1000101 AND 1000150;
         INSERT INTO big SELECT 1260000 + seq, 'beyond' FROM seq_1_to_20;
         DELETE FROM aevents WHERE n <= 10;
         UPDATE aevents SET line = 'changed' WHERE n BETWEEN 2000 AND 2010;
         INSERT INTO aevents VALUES ('new', 5000), ('new', 5001);",
    );
    let mut again = args.to_vec();
    again.extend(["--verify", "--json"]);
    let r = m2l(&again);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for t in ["big", "aevents"] {
        assert!(
            r.stderr
                .contains(&format!("bringing `{t}` level with the source")),
            "{}",
            r.stderr
        );
    }
    let report = json(&r);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    let big = &report["repaired"]["big"];
    assert_eq!(big["deleted"], 150, "{report:#}");
    assert_eq!(big["updated"], 150, "{report:#}");
    assert_eq!(big["inserted"], 10, "{report:#}");
    assert!(report["repaired"]["aevents"].is_object(), "{report:#}");

    let s = Store::open(&target).unwrap();
    for gone in [101, 150, 200, 1000001, 1000050] {
        assert_eq!(text_of(&s, "big", gone, "v"), None, "id {gone}");
    }
    for changed in [1001, 1100, 1000101, 1000150] {
        assert_eq!(
            text_of(&s, "big", changed, "v").as_deref(),
            Some("changed"),
            "id {changed}"
        );
    }
    assert_eq!(text_of(&s, "big", 500005, "v").as_deref(), Some("hole"));
    assert_eq!(text_of(&s, "big", 1260020, "v").as_deref(), Some("beyond"));
    assert_eq!(s.count("big").unwrap(), count(&db, "big"));
    assert_eq!(s.count("aevents").unwrap(), count(&db, "aevents"));
    drop(s);
    let v = m2l(&["verify", "--source", &url, "--target", p(&target)]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

#[test]
fn a_key_range_copy_resumed_after_the_source_changed_is_repaired_one_reader() {
    key_range_resume_in_a_new_state_of_the_server("krange1", "1", 30);
}

#[test]
fn a_key_range_copy_resumed_after_the_source_changed_is_repaired_two_readers() {
    key_range_resume_in_a_new_state_of_the_server("krange2", "2", 60);
}

fn dump_db(name: &str) -> TestDb {
    let db = TestDb::new(name);
    db.sql(
        "CREATE TABLE items (id INT PRIMARY KEY, v VARCHAR(40) NOT NULL);
         INSERT INTO items SELECT seq, MD5(seq) FROM seq_1_to_30000;
         CREATE TABLE alog (line VARCHAR(20), n INT);
         INSERT INTO alog SELECT CONCAT('line ', seq), seq FROM seq_1_to_3000;",
    );
    db
}

/// Small INSERT statements, so that a resumed read stands in the middle of the dump.
const DUMP_OPTS: &[&str] = &["--net-buffer-length=16384"];

#[test]
fn a_dump_copy_resumed_with_the_same_file_goes_on_without_repair() {
    let db = dump_db("dsame");
    let dir = tempfile::tempdir().unwrap();
    let dump = db.dump(dir.path(), "shop.sql", DUMP_OPTS);
    let target = dir.path().join("t.ldb");
    let args = [
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&target),
        "--parallel",
        "1",
        "--batch-size",
        "1000",
        "--quiet",
    ];
    let r = m2l_env(&args, &[("LIGHTNING_FAULT", "abort:committed:12")]);
    assert_ne!(r.code, 0, "the run was to die: {}", r.stderr);
    let state = partitions(&target);
    assert_eq!(state.get("alog").map(|s| s.0), Some(true), "{state:?}");
    assert!(
        state.get("items").is_some_and(|s| !s.0 && s.1 >= 2000),
        "{state:?}"
    );
    let mut again = args.to_vec();
    again.extend(["--verify", "--json"]);
    let r = m2l(&again);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("bringing"), "{}", r.stderr);
    let report = json(&r);
    assert!(report.get("repaired").is_none(), "{report:#}");
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    let v = m2l(&["verify", "--source", &db.url(), "--target", p(&target)]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    let s = Store::open(&target).unwrap();
    assert_eq!(s.count("items").unwrap(), 30_000);
    assert_eq!(s.count("alog").unwrap(), 3_000);
    drop(s);
    let want = checksums(&target);

    // The same dump piped twice is the same content: the second run goes on.
    let bytes = std::fs::read(&dump).unwrap();
    let piped = dir.path().join("piped.ldb");
    let args = [
        "migrate",
        "--from-dump",
        "-",
        "--target",
        p(&piped),
        "--parallel",
        "1",
        "--batch-size",
        "1000",
        "--quiet",
    ];
    let (r, _) = m2l_within_stdin(&args, &[("LIGHTNING_FAULT", "abort:committed:12")], &bytes);
    assert_ne!(r.code, 0, "the run was to die: {}", r.stderr);
    assert!(
        partitions(&piped)
            .get("items")
            .is_some_and(|s| !s.0 && s.1 >= 2000),
        "{:?}",
        partitions(&piped)
    );
    let mut again = args.to_vec();
    again.push("--json");
    let r = m2l_stdin(&again, &bytes);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("bringing"), "{}", r.stderr);
    assert!(json(&r).get("repaired").is_none());
    assert_eq!(checksums(&piped), want);
}

#[test]
fn a_dump_copy_resumed_with_another_dump_under_the_same_path_is_repaired() {
    let db = dump_db("dother");
    let dir = tempfile::tempdir().unwrap();
    let dump = db.dump(dir.path(), "shop.sql", DUMP_OPTS);
    let target = dir.path().join("t.ldb");
    let args = [
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&target),
        "--parallel",
        "1",
        "--batch-size",
        "1000",
        "--quiet",
    ];
    // `alog` is copied, `items` in part.
    let r = m2l_env(&args, &[("LIGHTNING_FAULT", "abort:committed:12")]);
    assert_ne!(r.code, 0, "the run was to die: {}", r.stderr);
    let state = partitions(&target);
    assert_eq!(state.get("alog").map(|s| s.0), Some(true), "{state:?}");
    assert!(
        state.get("items").is_some_and(|s| !s.0 && s.1 >= 2000),
        "{state:?}"
    );
    db.sql(
        "DELETE FROM items WHERE id BETWEEN 101 AND 200;
         UPDATE items SET v = 'changed' WHERE id BETWEEN 1001 AND 1050;
         INSERT INTO items SELECT 40000 + seq, 'new' FROM seq_1_to_25;
         DELETE FROM alog WHERE n <= 5;
         UPDATE alog SET line = 'changed' WHERE n = 2500;",
    );
    db.dump(dir.path(), "shop.sql", DUMP_OPTS);
    let mut again = args.to_vec();
    again.extend(["--verify", "--json"]);
    let r = m2l(&again);
    assert_eq!(r.code, 0, "{}", r.stderr);
    for t in ["items", "alog"] {
        assert!(
            r.stderr
                .contains(&format!("bringing `{t}` level with the source")),
            "{}",
            r.stderr
        );
    }
    let report = json(&r);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    assert_eq!(report["repaired"]["items"]["deleted"], 100, "{report:#}");
    assert!(report["repaired"]["alog"].is_object(), "{report:#}");
    let s = Store::open(&target).unwrap();
    assert_eq!(text_of(&s, "items", 150, "v"), None);
    assert_eq!(text_of(&s, "items", 1001, "v").as_deref(), Some("changed"));
    assert_eq!(text_of(&s, "items", 40025, "v").as_deref(), Some("new"));
    assert_eq!(s.count("items").unwrap(), 30_000 - 100 + 25);
    assert_eq!(s.count("alog").unwrap(), 2_995);
    drop(s);
    let v = m2l(&["verify", "--source", &db.url(), "--target", p(&target)]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}

#[test]
fn migrate_verify_compares_with_the_snapshot_it_copied() {
    let db = TestDb::new("snapver");
    db.sql(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_1000;",
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    let url = db.url();
    let paused = Paused::start(
        &[
            "migrate",
            "--source",
            &url,
            "--target",
            p(&target),
            "--verify",
            "--json",
            "--quiet",
        ],
        "copied",
        &dir.path().join("handshake"),
        None,
    );
    db.sql(
        "UPDATE t SET v = 'changed' WHERE id IN (5, 500);
         DELETE FROM t WHERE id = 7;
         INSERT INTO t VALUES (2000, 'new');",
    );
    let r = paused.go_on();
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    assert!(report.get("repaired").is_none(), "{report:#}");

    let v = m2l(&["verify", "--source", &url, "--target", p(&target), "--json"]);
    assert_eq!(v.code, 3, "{}{}", v.stdout, v.stderr);
    let report = json(&v);
    let keys: Vec<(String, String)> = report["tables"][0]["differing_keys"]
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
    for (key, kind) in [
        ("id=5", "values_differ"),
        ("id=500", "values_differ"),
        ("id=7", "extra_in_target"),
        ("id=2000", "missing_in_target"),
    ] {
        assert!(
            keys.iter().any(|(k, d)| k == key && d == kind),
            "{key} {kind} not in {keys:?}"
        );
    }
    assert_eq!(keys.len(), 4, "{keys:?}");
}

#[test]
fn empty_dumps_and_databases_without_tables_fail_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.ldb");
    let r = m2l_stdin(
        &["migrate", "--from-dump", "-", "--target", p(&target)],
        b"",
    );
    assert_clean_error(&r, 1, "the dump is empty");

    // A dump command that fails writes nothing on standard output.
    let pipe = format!(
        "mariadb-dump -h127.0.0.1 -P3306 -u nosuchuser nosuchdb | '{}' migrate --from-dump - --target '{}'",
        tool().display(),
        p(&target)
    );
    let out = std::process::Command::new("sh")
        .args(["-c", &pipe])
        .output()
        .unwrap();
    let r = Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert_clean_error(&r, 1, "the dump is empty");

    let db = TestDb::new("notables");
    let r = m2l(&["migrate", "--source", &db.url(), "--target", p(&target)]);
    assert_clean_error(&r, 1, "has no tables");
    let dump = db.dump(dir.path(), "empty.sql", &[]);
    let r = m2l(&["migrate", "--from-dump", p(&dump), "--target", p(&target)]);
    assert_clean_error(&r, 1, "has no tables");
    let r = m2l(&["verify", "--from-dump", p(&dump), "--target", p(&target)]);
    assert_clean_error(&r, 1, "has no tables");
    assert!(!target.exists(), "no store is made for nothing");
}

#[test]
fn long_keys_and_prefix_indexes_copy_from_the_server_and_from_a_dump() {
    let db = TestDb::new("longkeys");
    db.sql(
        "CREATE TABLE docs (id INT PRIMARY KEY, c TEXT, KEY byc (c(10)));
         INSERT INTO docs VALUES (1, REPEAT('a', 65535)),
           (2, CONCAT(REPEAT('a', 2000), REPEAT('b', 63000))),
           (3, CONCAT(REPEAT('a', 2000), 'c')), (4, 'short'), (5, NULL);
         CREATE TABLE uniq (id INT PRIMARY KEY, b BLOB, UNIQUE KEY ub (b(3000)));
         INSERT INTO uniq VALUES (1, CONCAT(REPEAT('x', 2999), 'a')),
           (2, CONCAT(REPEAT('x', 2999), 'b')), (3, CONCAT(REPEAT('x', 2998), 'ab'));
         CREATE TABLE textkey (c TEXT NOT NULL, n INT, PRIMARY KEY (c(100)));
         INSERT INTO textkey VALUES (REPEAT('k', 65535), 1),
           (CONCAT(REPEAT('k', 99), 'j', REPEAT('k', 65000)), 2), ('k', 3);",
    );
    let dir = tempfile::tempdir().unwrap();
    let server = dir.path().join("server.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&server),
        "--verify",
        "--json",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(json(&r)["verification"]["equal"], true);
    let s = Store::open(&server).unwrap();
    assert_eq!(text_of(&s, "docs", 1, "c").map(|c| c.len()), Some(65535));
    assert_eq!(s.count("uniq").unwrap(), 3);
    assert_eq!(s.count("textkey").unwrap(), 3);
    let check = s.check();
    assert!(check.healthy, "{check:?}");
    drop(s);
    let want = checksums(&server);

    let dump = db.dump(dir.path(), "long.sql", &[]);
    let from_dump = dir.path().join("dump.ldb");
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&from_dump),
        "--verify",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    assert_eq!(checksums(&from_dump), want);
    let v = m2l(&["verify", "--source", &db.url(), "--target", p(&from_dump)]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
    assert!(Store::open(&from_dump).unwrap().check().healthy);
}

fn panic_ends_the_process_and_the_target_resumes(name: &str, fault: &str, parallel: &str) {
    let db = TestDb::new(name);
    db.sql(
        "CREATE TABLE a (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO a SELECT seq, CONCAT('v', seq) FROM seq_1_to_5000;
         CREATE TABLE b (line VARCHAR(20));
         INSERT INTO b SELECT CONCAT('line ', seq) FROM seq_1_to_2000;",
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    let url = db.url();
    let args = [
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--parallel",
        parallel,
        "--batch-size",
        "500",
        "--quiet",
    ];
    let (r, took) = m2l_within(
        &args,
        &[("LIGHTNING_FAULT", fault)],
        Duration::from_secs(30),
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(took < Duration::from_secs(10), "it took {took:?}");
    let errors: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", r.stderr);
    assert!(
        errors[0].starts_with("error: internal error"),
        "{}",
        r.stderr
    );
    assert!(!r.stderr.contains("panicked at"), "{}", r.stderr);

    let mut again = args.to_vec();
    again.extend(["--verify", "--json"]);
    let r = m2l(&again);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["verification"]["equal"], true);
    let s = Store::open(&target).unwrap();
    assert_eq!(s.count("a").unwrap(), 5000);
    assert_eq!(s.count("b").unwrap(), 2000);
}

#[test]
fn a_panic_in_a_reader_ends_the_process_and_the_target_resumes() {
    panic_ends_the_process_and_the_target_resumes("panicread", "panic:reader:2", "2");
}

#[test]
fn a_panic_in_the_writer_ends_the_process_and_the_target_resumes() {
    panic_ends_the_process_and_the_target_resumes("panicwrite", "panic:writer:4", "1");
}

#[test]
fn stores_reject_files_and_spools_are_owner_only() {
    let db = TestDb::new("perms");
    db.sql(
        "SET sql_mode = ''; CREATE TABLE z (id INT PRIMARY KEY, d DATE);
         INSERT INTO z VALUES (1, '2020-01-01'), (2, '0000-00-00');",
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("z.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&target),
        "--on-error",
        "skip",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&target), 0o700, "the store folder");
    let rejects = dir.path().join("z.ldb.rejects.jsonl");
    assert!(
        std::fs::read_to_string(&rejects)
            .unwrap()
            .contains("0000-00-00"),
        "the zero date is set aside"
    );
    assert_eq!(mode(&rejects), 0o600, "the reject file");

    // The spool of standard input, looked at while the run stands still.
    let dump = std::fs::read(db.dump(dir.path(), "z.sql", &[])).unwrap();
    let piped = dir.path().join("piped.ldb");
    let paused = Paused::start(
        &[
            "migrate",
            "--from-dump",
            "-",
            "--target",
            p(&piped),
            "--zero-dates",
            "null",
            "--quiet",
        ],
        "copied",
        &dir.path().join("handshake"),
        Some(dump),
    );
    let spools: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let n = p.file_name().unwrap().to_string_lossy().into_owned();
            n.starts_with(".lightning-stdin-") && n.ends_with(".spool")
        })
        .collect();
    assert_eq!(spools.len(), 1, "{spools:?}");
    assert_eq!(mode(&spools[0]), 0o600, "the spool");
    let r = paused.go_on();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(mode(&piped), 0o700);
    assert!(!spools[0].exists(), "the spool is removed at the end");
}

#[test]
fn unknown_table_names_in_tables_and_exclude_are_errors() {
    let db = TestDb::new("names");
    db.sql("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    let url = db.url();
    let dump = db.dump(dir.path(), "names.sql", &[]);
    for source in [["--source", url.as_str()], ["--from-dump", p(&dump)]] {
        for (option, name) in [("--exclude", "nosuchtable"), ("--tables", "nosuch")] {
            let r = m2l(&[
                "migrate",
                source[0],
                source[1],
                "--target",
                p(&target),
                option,
                name,
            ]);
            assert_clean_error(&r, 1, &format!("{option}: no table `{name}`"));
        }
    }
    assert!(!target.exists(), "no store is made");
}

#[test]
fn the_report_lists_findings_from_the_server_a_dump_file_and_standard_input() {
    let db = TestDb::new("findings");
    db.sql(
        "CREATE TABLE people (id INT PRIMARY KEY, name VARCHAR(40) COLLATE utf8mb4_general_ci,
           note TEXT, UNIQUE KEY un (note(20)));
         INSERT INTO people VALUES (1, 'Ann', 'a'), (2, 'bob', 'b');",
    );
    let dir = tempfile::tempdir().unwrap();
    let dump = db.dump(dir.path(), "f.sql", &[]);
    let migrate = |source: &[&str], target: &str, stdin: Option<&[u8]>| {
        let target = dir.path().join(target);
        let mut args = vec!["migrate"];
        args.extend_from_slice(source);
        args.extend(["--target", p(&target), "--json", "--quiet"]);
        let r = match stdin {
            Some(input) => m2l_stdin(&args, input),
            None => m2l(&args),
        };
        assert_eq!(r.code, 0, "{}", r.stderr);
        json(&r)["findings"].clone()
    };
    let url = db.url();
    let server = migrate(&["--source", &url], "server.ldb", None);
    let file = migrate(&["--from-dump", p(&dump)], "file.ldb", None);
    let bytes = std::fs::read(&dump).unwrap();
    let stdin = migrate(&["--from-dump", "-"], "stdin.ldb", Some(&bytes));
    let messages = |f: &serde_json::Value| -> Vec<String> {
        f.as_array()
            .unwrap_or_else(|| panic!("findings is a list: {f}"))
            .iter()
            .map(|x| format!("{} {}: {}", x["severity"], x["object"], x["message"]))
            .collect()
    };
    let listed = messages(&server);
    assert!(
        listed
            .iter()
            .any(|m| m.contains("database") && m.contains("case- or accent-insensitive")),
        "{listed:#?}"
    );
    assert!(
        listed.iter().any(|m| m.contains("unique prefix index")),
        "{listed:#?}"
    );
    assert_eq!(messages(&file), listed, "from a dump file");
    assert_eq!(messages(&stdin), listed, "from standard input");
}

#[test]
fn verify_repair_brings_the_target_level_with_a_changed_server() {
    let db = TestDb::new("vrepair");
    db.sql(
        "CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO t SELECT seq, CONCAT('v', seq) FROM seq_1_to_5000;
         CREATE TABLE k (line VARCHAR(20));
         INSERT INTO k SELECT CONCAT('line ', seq) FROM seq_1_to_500;",
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    let url = db.url();
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    db.sql(
        "DELETE FROM t WHERE id BETWEEN 10 AND 19;
         UPDATE t SET v = 'changed' WHERE id IN (100, 4000);
         INSERT INTO t VALUES (9000, 'new');
         UPDATE k SET line = 'changed' WHERE line = 'line 250';",
    );
    let v = m2l(&["verify", "--source", &url, "--target", p(&target)]);
    assert_eq!(v.code, 3, "{}{}", v.stdout, v.stderr);

    let r = m2l(&[
        "verify",
        "--source",
        &url,
        "--target",
        p(&target),
        "--repair",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    let report = json(&r);
    assert_eq!(report["equal"], true, "{report:#}");
    let t = &report["repaired"]["t"];
    assert_eq!(
        (&t["inserted"], &t["updated"], &t["deleted"]),
        (&1.into(), &2.into(), &10.into()),
        "{report:#}"
    );
    assert_eq!(report["repaired"]["k"]["updated"], 1, "{report:#}");
    let s = Store::open(&target).unwrap();
    assert_eq!(text_of(&s, "t", 15, "v"), None);
    assert_eq!(text_of(&s, "t", 4000, "v").as_deref(), Some("changed"));
    assert_eq!(text_of(&s, "t", 9000, "v").as_deref(), Some("new"));
    drop(s);
    let v = m2l(&["verify", "--source", &url, "--target", p(&target)]);
    assert_eq!(v.code, 0, "{}{}", v.stdout, v.stderr);
}
