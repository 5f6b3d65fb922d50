//! Every row exactly once or a loud failure: resumes in a later state of the source,
//! a shared snapshot lost mid-copy, tables that would collide, a source with no
//! tables, keys longer than the engine takes, signals, the spool of a dump read
//! from standard input, names that carry terminal escapes, and repairs.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use common::*;
use lightning_core::Store;

/// Rows enough for the server to split the table into ctid ranges (above 250,000
/// by the catalog's estimate).
const ITEMS: i64 = 300_000;

fn items_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    db.exec(&format!(
        "CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL);
         INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, {ITEMS}) g;
         ANALYZE items;"
    ));
    db
}

/// The heap block of each row `cond` selects, the highest.
fn max_block(db: &TestDb, table: &str, cond: &str) -> i64 {
    db.client()
        .query_one(
            &format!("SELECT max((ctid::text::point)[0])::int8 FROM {table} WHERE {cond}"),
            &[],
        )
        .unwrap()
        .get(0)
}

/// The resume points of a store's unfinished partitions: (partition, ctid block).
fn resume_blocks(store: &Path) -> Vec<(String, i64)> {
    let s = Store::open(store).unwrap();
    s.checkpoints()
        .unwrap()
        .into_iter()
        .filter(|c| !c.done)
        .filter_map(|c| {
            let block = c.position?.split(',').next()?.parse().ok()?;
            Some((c.partition, block))
        })
        .collect()
}

fn report(path: &Path) -> serde_json::Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).expect("report JSON")
}

/// A copy that died a third of the way in, resumed after rows were deleted, the
/// space vacuumed and rows near the end updated into it (below where the copy
/// stopped, so the resumed copy never reads them): the repair finds them.
fn resume_in_a_changed_source(tag: &str, parallel: &str) {
    let db = items_db(tag);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    let report_file = dir.path().join("report.json");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
        "--parallel",
        parallel,
        "--batch-size",
        "10000",
        "--report",
        p(&report_file),
    ];
    let r = p2l_fault(&args, "abort:committed:10");
    assert_ne!(r.code, 0, "the first run must die: {}", r.stderr);
    assert_eq!(checksums(&store)["items"].rows, 100_000);
    let stopped = resume_blocks(&store);
    assert!(
        stopped.iter().all(|(id, _)| id.contains('#')),
        "the table is split into ctid ranges: {stopped:?}"
    );
    let first = stopped
        .iter()
        .find(|(id, _)| id.starts_with("items#0-"))
        .map(|(_, b)| *b)
        .expect("the first range stopped part way");

    db.exec("DELETE FROM items WHERE id <= 3000");
    // With so few dead rows VACUUM would skip the index pass and leave their
    // space unrecorded; rows updated later are to move into it.
    db.exec("VACUUM (INDEX_CLEANUP ON) items");
    db.exec("UPDATE items SET v = 'moved ' || id WHERE id > 297000 AND id <= 298000");
    db.exec("UPDATE items SET v = 'changed ' || id WHERE id > 5000 AND id <= 5010");
    let moved = max_block(&db, "items", "id > 297000 AND id <= 298000");
    let changed = max_block(&db, "items", "id > 5000 AND id <= 5010");
    assert!(
        moved < first && changed < first,
        "the updated rows must lie below where the copy stopped (block {first}): {moved}, {changed}"
    );

    let r = p2l(&args);
    assert_eq!(r.code, 0, "the resumed run: {}", r.stderr);
    assert!(
        r.stderr.contains("bringing `items` level with the source"),
        "{}",
        r.stderr
    );
    let rep = report(&report_file);
    let repaired = &rep["repaired"]["items"];
    assert_eq!(repaired["inserted"], 1000, "{rep}");
    assert_eq!(repaired["updated"], 10, "{rep}");
    assert_eq!(repaired["deleted"], 3000, "{rep}");

    let got = light(&["get", p(&store), "items", "297500"]);
    assert_eq!(got.code, 0, "{}", got.stderr);
    assert!(got.stdout.contains("\"moved 297500\""), "{}", got.stdout);
    let got = light(&["get", p(&store), "items", "5005"]);
    assert!(got.stdout.contains("\"changed 5005\""), "{}", got.stdout);
    let gone = light(&["get", p(&store), "items", "17"]);
    assert_eq!(gone.code, 1, "a deleted row is gone: {}", gone.stdout);
    assert!(gone.stderr.contains("no row"), "{}", gone.stderr);
    assert_eq!(checksums(&store)["items"].rows, ITEMS as u64 - 3000);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
}

#[test]
fn a_copy_resumed_in_a_changed_source_repairs_rows_moved_below_its_checkpoint() {
    resume_in_a_changed_source("moved2", "2");
}

#[test]
fn a_copy_resumed_in_a_changed_source_repairs_rows_moved_below_its_checkpoint_with_one_reader() {
    resume_in_a_changed_source("moved1", "1");
}

#[test]
fn a_keyless_table_resumed_after_changes_ends_equal() {
    let db = TestDb::new("keyless");
    db.exec(
        "CREATE TABLE log (at int, msg text);
         INSERT INTO log SELECT g, CASE WHEN g % 5 = 0 THEN 'same' ELSE 'm' || g END
           FROM generate_series(1, 60000) g;
         ANALYZE log;",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
        "--parallel",
        "1",
        "--batch-size",
        "10000",
    ];
    let r = p2l_fault(&args, "abort:committed:3");
    assert_ne!(r.code, 0, "the first run must die: {}", r.stderr);
    assert_eq!(checksums(&store)["log"].rows, 30_000);
    db.exec("DELETE FROM log WHERE at <= 500 OR at % 1000 = 7");
    db.exec("VACUUM (INDEX_CLEANUP ON) log");
    db.exec(
        "UPDATE log SET msg = 'late ' || at WHERE at > 59000;
         INSERT INTO log SELECT g, 'new' FROM generate_series(1, 300) g;",
    );
    let r = p2l(&args);
    assert_eq!(r.code, 0, "the resumed run: {}", r.stderr);
    assert!(
        r.stderr.contains("bringing `log` level with the source"),
        "{}",
        r.stderr
    );
    let expected: i64 = db
        .client()
        .query_one("SELECT count(*) FROM log", &[])
        .unwrap()
        .get(0);
    assert_eq!(checksums(&store)["log"].rows, expected as u64);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
}

#[test]
fn a_lost_shared_snapshot_does_not_fail_with_duplicate_keys_and_ends_equal() {
    let db = TestDb::new("snaplost");
    // Wide enough rows that the server cannot have sent the whole table before
    // the pause: the reader is still inside its COPY when its session ends.
    db.exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL);
         INSERT INTO items SELECT g, 'v' || g || repeat('x', 120) FROM generate_series(1, 200000) g;
         ANALYZE items;",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    let report_file = dir.path().join("report.json");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
        "--parallel",
        "1",
        "--batch-size",
        "5000",
        "--report",
        p(&report_file),
    ];
    let run = paused(&args, "committed:3");
    // Every session of the migration ends: the readers' and the one that holds
    // the exported snapshot.
    let ended: i64 = admin()
        .query_one(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
             WHERE datname = $1 AND pid <> pg_backend_pid()",
            &[&db.name],
        )
        .unwrap()
        .get(0);
    assert!(
        ended >= 2,
        "the snapshot's and a reader's sessions end ({ended})"
    );
    // Rows already copied and rows not yet read move to the end of the table,
    // where the reader, going on in a snapshot of its own, reads them again.
    db.exec(
        "UPDATE items SET v = 'moved ' || id WHERE id <= 10000;
         UPDATE items SET v = 'later ' || id WHERE id > 150000 AND id <= 151000;
         DELETE FROM items WHERE id > 190000 AND id <= 190100;",
    );
    assert!(max_block(&db, "items", "id <= 10000") > max_block(&db, "items", "id > 190100"));
    let r = run.finish();
    assert!(
        !r.stderr.contains("duplicate primary key"),
        "rows read again are upserted: {}",
        r.stderr
    );
    assert_eq!(r.code, 0, "the run recovers: {}", r.stderr);
    assert!(
        r.stderr.contains("shared snapshot is no longer available"),
        "the reader went on in a new snapshot: {}",
        r.stderr
    );
    let rep = report(&report_file);
    assert!(rep["repaired"].get("items").is_some(), "{rep}");
    let got = light(&["get", p(&store), "items", "42"]);
    assert!(got.stdout.contains("\"moved 42\""), "{}", got.stdout);
    assert_eq!(checksums(&store)["items"].rows, 200_000 - 100);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
    p2l_ok(&args);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
}

fn colliding_db() -> TestDb {
    let db = TestDb::new("collide");
    db.exec(
        r#"CREATE SCHEMA p; CREATE SCHEMA "p.q";
           CREATE TABLE p."q.r" (id int PRIMARY KEY, a text);
           CREATE TABLE "p.q".r (id int PRIMARY KEY, b int);
           CREATE TABLE extra (id int PRIMARY KEY);
           INSERT INTO p."q.r" SELECT g, 'a' || g FROM generate_series(1, 100) g;
           INSERT INTO "p.q".r SELECT g, g * 2 FROM generate_series(1, 70) g;
           INSERT INTO extra VALUES (1), (2);"#,
    );
    db
}

#[test]
fn tables_that_would_become_one_are_refused_before_copying_unless_renamed() {
    let db = colliding_db();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("collide.sql");
    db.dump(&dump, &[]);
    for source in [["--source", db.url.as_str()], ["--from-dump", p(&dump)]] {
        let store = dir.path().join("refused.ldb");
        let mut args = vec!["migrate", "--target", p(&store), "--quiet"];
        args.extend(source);
        let r = p2l(&args);
        assert_clean_error(&r, 1, "p.q.r");
        for needle in [r#"p."q.r""#, r#""p.q".r"#, "--rename"] {
            assert!(r.stderr.contains(needle), "`{needle}` in: {}", r.stderr);
        }
        assert!(!store.exists(), "nothing is written before the refusal");
    }

    let rename = r#""p.q".r=pq_r"#;
    let from_server = dir.path().join("server.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&from_server),
        "--rename",
        rename,
        "--quiet",
    ]);
    let from_dump = dir.path().join("dump.ldb");
    p2l_ok(&[
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&from_dump),
        "--rename",
        rename,
        "--quiet",
    ]);
    let sums = checksums(&from_server);
    assert_eq!(sums["p.q.r"].rows, 100);
    assert_eq!(sums["pq_r"].rows, 70);
    assert_eq!(checksums(&from_dump), sums);
    for store in [&from_server, &from_dump] {
        p2l_ok(&[
            "verify",
            "--source",
            &db.url,
            "--target",
            p(store),
            "--rename",
            rename,
        ]);
    }

    // A store that lacks a table of the source is different.
    let partial = dir.path().join("partial.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&partial),
        "--rename",
        rename,
        "--exclude",
        "extra",
        "--quiet",
    ]);
    let r = p2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&partial),
        "--rename",
        rename,
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(r.stderr.contains("DIFFERENT"), "{}", r.stderr);
    let line = r
        .stderr
        .lines()
        .find(|l| l.trim_start().starts_with("extra "))
        .unwrap_or_else(|| panic!("a line for `extra`: {}", r.stderr));
    assert!(line.contains("DIFFERENT"), "{line}");
}

#[test]
fn a_database_without_tables_is_an_error_to_migrate_and_harmless_to_assess() {
    let db = TestDb::new("notables");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    let r = p2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, "has no tables");
    assert!(!store.exists());
    for args in [
        vec!["assess", "--source", db.url.as_str()],
        vec!["assess", "--source", db.url.as_str(), "--json"],
        vec!["convert-schema", "--source", db.url.as_str()],
        vec!["convert-schema", "--source", db.url.as_str(), "--json"],
    ] {
        let r = p2l(&args);
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(
            !r.stderr.contains("panicked") && !r.stderr.contains("internal error"),
            "{args:?}: {}",
            r.stderr
        );
    }
}

#[test]
fn keys_longer_than_the_engine_takes_migrate_are_found_and_keep_their_order() {
    let db = TestDb::new("longkeys");
    // PostgreSQL takes these in its btree indexes because they compress; the hash
    // index holds only hashes, so its values are long and distinct.
    db.exec(
        r#"CREATE TABLE longkeys (k text PRIMARY KEY, h text NOT NULL, u text UNIQUE, n int NOT NULL);
           CREATE INDEX longkeys_h ON longkeys USING hash (h);
           INSERT INTO longkeys (k, h, u, n)
           SELECT k, (SELECT string_agg(md5(n::text || '/' || g::text), '') FROM generate_series(1, 2200) g), u, n
           FROM (VALUES
             (repeat('x', 70000), repeat('u', 70000), 1),
             (repeat('x', 69999) || 'a', repeat('u', 69999) || 'a', 2),
             (repeat('x', 69999) || 'y', repeat('u', 69000) || 'b', 3),
             (repeat('x', 2000), repeat('u', 2000), 4),
             ('x', 'u', 5),
             (repeat('x', 1023) || 'z', NULL, 6),
             (repeat('x', 1024), repeat('u', 1024), 7),
             ('a' || repeat('x', 70000), NULL, 8),
             (repeat('w', 70000), 'w', 9)
           ) AS v(k, u, n);"#,
    );
    let order: Vec<i32> = db
        .client()
        .query("SELECT n FROM longkeys ORDER BY k COLLATE \"C\"", &[])
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("long.sql");
    db.dump(&dump, &[]);
    let from_server = dir.path().join("server.ldb");
    let from_dump = dir.path().join("dump.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&from_server),
        "--quiet",
    ]);
    p2l_ok(&[
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&from_dump),
        "--quiet",
    ]);
    assert_eq!(checksums(&from_dump), checksums(&from_server));
    let long_key = "x".repeat(70000);
    for store in [&from_server, &from_dump] {
        p2l_ok(&["verify", "--source", &db.url, "--target", p(store)]);
        let got = light(&["get", p(store), "longkeys", &long_key]);
        assert_eq!(got.code, 0, "{}", got.stderr);
        assert!(got.stdout.contains("\"n\":1}"), "{:.200}", got.stdout);
        let scan = light(&["scan", p(store), "longkeys"]);
        assert_eq!(scan.code, 0, "{}", scan.stderr);
        let scanned: Vec<i32> = scan
            .stdout
            .lines()
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).unwrap();
                v["n"].as_i64().unwrap() as i32
            })
            .collect();
        assert_eq!(scanned, order, "rows come in byte order of their keys");
        let check = light(&["check", p(store)]);
        assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    }
}

fn signal_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    db.exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, v text NOT NULL);
         INSERT INTO items SELECT g, 'v' || g FROM generate_series(1, 60000) g;",
    );
    db
}

fn last_status(store: &Path) -> String {
    runs(store)
        .last()
        .and_then(|r| r["status"].as_str())
        .expect("a run")
        .to_string()
}

#[test]
fn sigint_and_sigterm_stop_a_copy_resumably_and_a_killed_run_shows_interrupted() {
    let db = signal_db("signals");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
        "--parallel",
        "1",
        "--batch-size",
        "5000",
    ];
    for (sig, code, said) in [("INT", 130, "interrupted"), ("TERM", 143, "terminated")] {
        let run = paused(&args, "committed:2");
        signal(run.pid(), sig);
        std::thread::sleep(Duration::from_millis(300));
        let r = run.finish();
        assert_eq!(r.code, code, "SIG{sig}: {}", r.stderr);
        assert!(
            r.stderr.contains(said) && r.stderr.contains("run the same command again to resume"),
            "SIG{sig}: {}",
            r.stderr
        );
        assert!(!r.stderr.contains("error:"), "{}", r.stderr);
        assert_eq!(last_status(&store), "interrupted");
        let rows = checksums(&store)["items"].rows;
        assert!(rows > 0 && rows < 60_000, "stopped part way: {rows}");
    }
    p2l_ok(&args);
    assert_eq!(last_status(&store), "completed");
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);

    // A run that dies at once (as with kill -9) is interrupted, not running.
    let mut fresh = args.to_vec();
    fresh.push("--fresh");
    let r = p2l_fault(&fresh, "abort:committed:2");
    assert_ne!(r.code, 0);
    assert_eq!(last_status(&store), "interrupted");
    let human = light(&["runs", p(&store)]);
    let last = human.stdout.lines().last().unwrap_or_default().to_string();
    assert!(
        last.contains("interrupted") && !last.contains("running"),
        "{}",
        human.stdout
    );
    p2l_ok(&args);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
}

fn spools(dir: &Path) -> Vec<std::path::PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .map(|e| e.path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with(".lightning-stdin-") && name.ends_with(".spool")
        })
        .collect()
}

/// `pg_dump DB | pg2lightning migrate --from-dump - --target TARGET`: the command
/// to start, and pg_dump, to wait for after it.
fn piped(db: &TestDb, target: &Path, extra: &[&str]) -> (Command, std::process::Child) {
    let mut dump = Command::new("pg_dump")
        .args(["-d", &db.url])
        .stdout(Stdio::piped())
        .spawn()
        .expect("pg_dump starts");
    let mut cmd = Command::new(tool());
    cmd.args([
        "migrate",
        "--from-dump",
        "-",
        "--target",
        p(target),
        "--quiet",
        "--parallel",
        "1",
        "--batch-size",
        "5000",
    ])
    .args(extra)
    .stdin(Stdio::from(dump.stdout.take().expect("pg_dump's output")));
    (cmd, dump)
}

#[test]
fn the_spool_of_a_piped_dump_is_private_and_removed_unless_the_run_is_killed() {
    use std::os::unix::fs::PermissionsExt;
    let db = signal_db("spool");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.ldb");

    // While the copy runs the spool is beside the target, owner-only.
    let (cmd, mut dump) = piped(&db, &target, &[]);
    let run = Paused::start(cmd, "committed:1");
    let held = spools(dir.path());
    assert_eq!(held.len(), 1, "{held:?}");
    let mode = std::fs::metadata(&held[0]).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o600);
    let r = run.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(dump.wait().unwrap().success());
    assert!(spools(dir.path()).is_empty(), "removed after a normal end");

    // SIGTERM: the run stops resumably and its spool goes.
    let (cmd, mut dump) = piped(&db, &target, &["--fresh"]);
    let run = Paused::start(cmd, "committed:1");
    assert_eq!(spools(dir.path()).len(), 1);
    signal(run.pid(), "TERM");
    std::thread::sleep(Duration::from_millis(300));
    let r = run.finish();
    assert_eq!(r.code, 143, "{}", r.stderr);
    assert!(dump.wait().unwrap().success());
    assert!(spools(dir.path()).is_empty(), "removed after SIGTERM");

    // A run that dies at once leaves its spool; the next run here removes it.
    let (mut killed, mut dump) = piped(&db, &target, &["--fresh"]);
    let out = killed
        .env("LIGHTNING_FAULT", "abort:committed:1")
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(dump.wait().unwrap().success());
    let left = spools(dir.path());
    assert_eq!(left.len(), 1, "the killed run's spool is left");
    let (cmd, mut dump) = piped(&db, &target, &[]);
    let run = Paused::start(cmd, "committed:1");
    let now = spools(dir.path());
    assert!(
        !now.contains(&left[0]),
        "the stale spool is removed: {now:?}"
    );
    assert_eq!(now.len(), 1, "only the running one's own: {now:?}");
    let r = run.finish();
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(dump.wait().unwrap().success());
    assert!(spools(dir.path()).is_empty());
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&target)]);
}

#[test]
fn names_with_terminal_escapes_are_shown_escaped_and_kept_exact_in_json() {
    const TABLE: &str = "\u{1b}[31mred";
    const COLUMN: &str = "\u{1b}[32mgreen";
    let db = TestDb::new("escapes");
    db.exec(&format!(
        "CREATE TABLE \"{TABLE}\" (id int PRIMARY KEY, \"{COLUMN}\" text, p point);
         INSERT INTO \"{TABLE}\" VALUES (1, 'a', '(1,2)'), (2, 'b', NULL);"
    ));
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("\u{1b}[33mdump.sql");
    db.dump(&dump, &[]);
    let store = dir.path().join("s.ldb");
    let esc = '\u{1b}';
    let shown = "\\u{1b}[31mred";

    let r = p2l_ok(&[
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&store),
        "--quiet",
        "--verify",
    ]);
    assert!(!r.stderr.contains(esc), "raw ESC in: {:?}", r.stderr);
    assert!(r.stderr.contains(shown), "{}", r.stderr);
    let r = p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&dir.path().join("json.ldb")),
        "--quiet",
        "--json",
    ]);
    assert!(!r.stderr.contains(esc), "raw ESC in: {:?}", r.stderr);
    let rep: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert!(
        rep["summary"]["tables"].get(TABLE).is_some(),
        "exact in JSON: {rep}"
    );
    let r = p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
    assert!(
        !r.stderr.contains(esc) && r.stderr.contains(shown),
        "{:?}",
        r.stderr
    );
    let r = p2l_ok(&["convert-schema", "--source", &db.url, "--json"]);
    assert!(r.stdout.contains("\\u001b[32mgreen"), "{}", r.stdout);

    let tables = light(&["tables", p(&store)]);
    assert_eq!(tables.code, 0, "{}", tables.stderr);
    assert!(!tables.stdout.contains(esc), "{:?}", tables.stdout);
    assert!(tables.stdout.contains(shown), "{}", tables.stdout);
    let tables = light(&["tables", p(&store), "--json"]);
    let list: serde_json::Value = serde_json::from_str(&tables.stdout).unwrap();
    assert_eq!(list[0]["table"], TABLE);

    let human = light(&["runs", p(&store)]);
    assert!(!human.stdout.contains(esc), "{:?}", human.stdout);
    assert!(
        human.stdout.contains("\\u{1b}[33mdump.sql"),
        "{}",
        human.stdout
    );
    let exact = runs(&store);
    assert!(
        exact[0]["source"]
            .as_str()
            .unwrap()
            .ends_with("\u{1b}[33mdump.sql"),
        "{exact:?}"
    );
    let described = light(&["describe", p(&store), TABLE, "--json"]);
    assert_eq!(described.code, 0, "{}", described.stderr);
    let schema: serde_json::Value = serde_json::from_str(&described.stdout).unwrap();
    assert_eq!(schema["columns"][1]["name"], COLUMN);
}

#[test]
fn unknown_excluded_tables_and_directory_dumps_are_refused_with_what_to_do() {
    let db = signal_db("refuse");
    let dir = tempfile::tempdir().unwrap();
    let r = p2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&dir.path().join("s.ldb")),
        "--exclude",
        "nosuchtable",
    ]);
    assert_clean_error(&r, 1, "nosuchtable");
    assert!(r.stderr.contains("--exclude"), "{}", r.stderr);

    let archive = dir.path().join("archive");
    db.dump(&archive, &["-Fd"]);
    assert!(archive.is_dir());
    let r = p2l(&[
        "migrate",
        "--from-dump",
        p(&archive),
        "--target",
        p(&dir.path().join("d.ldb")),
    ]);
    assert_clean_error(&r, 1, "pg_restore -f -");
    assert!(r.stderr.contains("directory-format"), "{}", r.stderr);
}

#[test]
fn verify_names_the_differing_column_and_repair_makes_the_target_equal() {
    let db = TestDb::new("repair");
    db.exec(
        "CREATE TABLE people (id int PRIMARY KEY, name text NOT NULL, city text);
         INSERT INTO people SELECT g, 'p' || g, CASE WHEN g = 7 THEN 'Edinburgh' ELSE 'c' || g END
           FROM generate_series(1, 5000) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
    ]);
    let before = checksums(&store);

    // A value that differs by a trailing space only.
    db.exec("UPDATE people SET city = 'Edinburgh ' WHERE id = 7");
    let r = p2l(&["verify", "--source", &db.url, "--target", p(&store)]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stderr
            .contains(r#"id=7: city: source "Edinburgh " / target "Edinburgh""#),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("values differ"), "{}", r.stderr);
    assert_eq!(checksums(&store), before, "a plain verify changes nothing");

    db.exec(
        "UPDATE people SET name = 'renamed' WHERE id = 100;
         DELETE FROM people WHERE id = 200;
         INSERT INTO people VALUES (6000, 'new', NULL);",
    );
    let r = p2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--repair",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("repaired `people`: 1 rows inserted, 2 updated, 1 deleted"),
        "{}",
        r.stderr
    );
    let rep: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(rep["equal"], true);
    assert_eq!(rep["repaired"]["people"]["inserted"], 1);
    assert_eq!(rep["repaired"]["people"]["updated"], 2);
    assert_eq!(rep["repaired"]["people"]["deleted"], 1);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
    let got = light(&["get", p(&store), "people", "7"]);
    assert!(got.stdout.contains("\"Edinburgh \""), "{}", got.stdout);
}
