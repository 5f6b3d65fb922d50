//! `migrate --for-sync` then `sync` against the real server's binlog: every change
//! after the copy's snapshot reaches the store, across kills and dropped
//! connections; what sync cannot follow is refused up front or stops it clearly.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use lightning_core::store::Store;
use lightning_core::Value;
use mysql::prelude::Queryable;

/// Keys of several kinds, a table sync does not follow, and one it cannot.
fn source(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    db.sql(
        "CREATE TABLE items (id BIGINT UNSIGNED PRIMARY KEY, name VARCHAR(40) NOT NULL,
                             price DECIMAL(12,2), doc JSON, at TIMESTAMP(6) NULL,
                             kind ENUM('a','b'), big LONGTEXT);
         INSERT INTO items (id, name, price, doc, at, kind)
           SELECT seq, CONCAT('item ', seq), seq / 100, JSON_OBJECT('n', seq),
                  TIMESTAMP '2024-01-01 00:00:00' + INTERVAL seq MINUTE, IF(seq % 2, 'a', 'b')
             FROM seq_1_to_3000;
         INSERT INTO items (id, name) VALUES (18446744073709551615, 'largest');
         CREATE TABLE tags (item INT, tag VARCHAR(20) CHARACTER SET utf8mb4, PRIMARY KEY (item, tag));
         INSERT INTO tags SELECT seq, CONCAT('t', seq % 7) FROM seq_1_to_500;
         CREATE TABLE prices (day DATE, amount DECIMAL(10,3), at DATETIME(6), v INT,
                              PRIMARY KEY (day, amount, at));
         INSERT INTO prices VALUES ('2024-01-01', 1.5, '2024-01-01 10:00:00.25', 1);
         CREATE TABLE log (line TEXT);
         INSERT INTO log VALUES ('a'), ('b');",
    );
    db
}

fn migrate_args<'a>(db: &'a str, store: &'a Path) -> Vec<&'a str> {
    vec![
        "migrate",
        "--source",
        db,
        "--target",
        p(store),
        "--for-sync",
        "--exclude",
        "log",
        "--quiet",
    ]
}

fn sync(url: &str, store: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["sync", "--source", url, "--target", p(store)];
    args.extend(extra);
    m2l(&args)
}

fn sync_json(url: &str, store: &Path) -> serde_json::Value {
    let r = sync(url, store, &["--until-caught-up", "--json", "--quiet"]);
    assert_eq!(r.code, 0, "sync: {}", r.stderr);
    serde_json::from_str(&r.stdout).expect("sync report JSON")
}

fn verify_equal(url: &str, store: &Path) {
    let r = m2l(&[
        "verify",
        "--source",
        url,
        "--target",
        p(store),
        "--exclude",
        "log",
    ]);
    assert_eq!(r.code, 0, "verify: {}\n{}", r.stdout, r.stderr);
}

fn state(store: &Path) -> lightning_core::store::SyncState {
    Store::open_to_read(store)
        .unwrap()
        .sync_state()
        .unwrap()
        .expect("a sync state")
}

fn conn(db: &TestDb) -> mysql::Conn {
    mysql::Conn::new(mysql::Opts::from_url(&db.url()).unwrap()).unwrap()
}

#[test]
fn sync_applies_each_change_after_the_snapshot() {
    let db = source("sync_once");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");

    // Held after the snapshot is taken and before a row is read: what commits now
    // is not in the copy, and comes through the binlog.
    let mut args = migrate_args(&url, &store);
    args.extend(["--parallel", "1"]);
    let held = Paused::start(&args, "reader:1", &dir.path().join("hs"), None);
    db.sql("UPDATE items SET price = price + 1 WHERE id <= 10");
    db.sql("INSERT INTO items (id, name) VALUES (5001, 'while copying')");
    let copy = held.go_on();
    assert_eq!(copy.code, 0, "migrate: {}", copy.stderr);
    assert!(copy.stderr.contains("ready for sync"), "{}", copy.stderr);
    assert!(state(&store).position.contains(':'));

    // After: eleven transactions of every kind on followed tables.
    let mut c = conn(&db);
    for sql in [
        "INSERT INTO items (id, name, price) VALUES (6001, 'new', 1.5)",
        "UPDATE items SET name = 'renamed', kind = 'b' WHERE id = 20",
        "UPDATE items SET id = 7000 WHERE id = 30",
        "DELETE FROM items WHERE id BETWEEN 100 AND 199",
        "UPDATE items SET name = 'still largest' WHERE id = 18446744073709551615",
        "INSERT INTO items (id, name) VALUES (9223372036854775808, 'past i64')",
        "START TRANSACTION; INSERT INTO items (id, name) VALUES (6002, 'gone'); \
         DELETE FROM items WHERE id = 6002; \
         UPDATE items SET doc = '{\"x\": [1, 2]}', at = NULL WHERE id = 1; COMMIT",
        "TRUNCATE tags",
        "INSERT INTO tags VALUES (1, 'after'), (2, 'naïve ✓')",
        "UPDATE prices SET v = 2, amount = 1.25 WHERE day = '2024-01-01'",
        "INSERT INTO prices VALUES ('2024-02-29', 0.001, '2024-02-29 23:59:59.999999', 3)",
        // A table sync does not follow: nothing of it arrives.
        "INSERT INTO log VALUES ('c')",
        // Rolled back: never in the binlog.
        "START TRANSACTION; DELETE FROM items; ROLLBACK",
    ] {
        c.query_drop(sql).unwrap();
    }

    let report = sync_json(&url, &store);
    assert_eq!(report["status"], "caught up", "{report:#}");
    // The two before the copy read anything, and the eleven after.
    assert_eq!(report["transactions"], 13, "{report:#}");
    assert_eq!(report["tables"]["items"]["deleted"], 101, "{report:#}");
    verify_equal(&url, &store);
    let tags = Store::open_to_read(&store).unwrap().count("tags").unwrap();
    assert_eq!(tags, 2);

    // Caught up: a second run applies nothing and stays equal.
    let again = sync_json(&url, &store);
    assert_eq!(again["transactions"], 0, "{again:#}");
    verify_equal(&url, &store);
}

#[test]
fn killed_syncs_apply_every_transaction_exactly_once() {
    let db = source("sync_kill");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    let r = m2l(&migrate_args(&url, &store));
    assert_eq!(r.code, 0, "{}", r.stderr);

    const TXNS: u64 = 600;
    const EXTRA: u64 = 5;
    let load_url = url.clone();
    // How many of the transactions changed a row (the others are not in the binlog).
    let load = std::thread::spawn(move || {
        let mut c = mysql::Conn::new(mysql::Opts::from_url(&load_url).unwrap()).unwrap();
        let mut changed = 0u64;
        for i in 0..TXNS {
            let id = 1 + (i * 7919) % 3000;
            let sql = match i % 4 {
                0 => format!("UPDATE items SET price = price + 0.01 WHERE id = {id}"),
                1 => format!("INSERT IGNORE INTO tags VALUES ({id}, 'k{i}')"),
                2 => format!(
                    "UPDATE items SET doc = JSON_SET(COALESCE(doc, '{{}}'), '$.i', {i}) WHERE id = {id}"
                ),
                _ => format!("DELETE FROM tags WHERE item = {} LIMIT 1", id % 500),
            };
            c.query_drop(sql).unwrap();
            if c.affected_rows() > 0 {
                changed += 1;
            }
            std::thread::sleep(Duration::from_millis(3));
        }
        changed
    });
    let kills = lightning_testkit::kill_repeatedly(
        || {
            let mut cmd = Command::new(tool());
            cmd.args(["sync", "--source", &url, "--target", p(&store)])
                .args([
                    "--batch-changes",
                    "20",
                    "--poll-interval-ms",
                    "50",
                    "--quiet",
                ]);
            cmd
        },
        || !load.is_finished(),
    );
    let changed = load.join().unwrap();
    assert!(changed > TXNS / 2, "{changed}");
    let applied = state(&store).transactions;
    assert!(
        applied > 0,
        "the killed runs applied nothing ({kills} kills)"
    );
    let mut c = conn(&db);
    for id in 1..=EXTRA {
        c.query_drop(format!(
            "UPDATE items SET name = CONCAT(name, '+') WHERE id = {id}"
        ))
        .unwrap();
    }
    let r = m2l_env(
        &[
            "sync",
            "--source",
            &url,
            "--target",
            p(&store),
            "--until-caught-up",
            "--batch-changes",
            "2",
        ],
        &[("LIGHTNING_FAULT", "abort:sync-applied:1")],
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    let crashed = state(&store).transactions;
    assert!(
        crashed > applied,
        "the crashed run committed a batch first ({crashed} transactions, {applied} before it): {}",
        r.stderr
    );
    let report = sync_json(&url, &store);
    assert_eq!(report["status"], "caught up", "{report:#}");
    verify_equal(&url, &store);
    assert!(kills >= 2, "only {kills} kills");
    assert_eq!(
        state(&store).transactions,
        changed + EXTRA,
        "every transaction applied once ({kills} kills)"
    );
}

#[test]
fn sync_refuses_what_it_cannot_follow() {
    let db = source("sync_refuse");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");

    // A keyless table: named, with the way out.
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&store),
        "--for-sync",
        "--quiet",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("`log` has no primary key"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--exclude log"), "{}", r.stderr);
    // A key the binlog writes as something else than the row's value.
    db.sql("CREATE TABLE events (at TIMESTAMP PRIMARY KEY, what TEXT)");
    let mut args = migrate_args(&url, &store);
    args.extend(["--tables", "events"]);
    let r = m2l(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr.contains("primary key column `at` is timestamp"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--exclude events"), "{}", r.stderr);
    // Filtered copies and dumps have no binlog position.
    let mut args = migrate_args(&url, &store);
    args.extend(["--where", "items:id < 10"]);
    let r = m2l(&args);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("--where"), "{}", r.stderr);
    let r = m2l(&[
        "migrate",
        "--from-dump",
        "x.sql",
        "--target",
        p(&store),
        "--for-sync",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    let r = m2l(&[
        "verify",
        "--source",
        &url,
        "--target",
        p(&store),
        "--for-sync",
    ]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("option of migrate"), "{}", r.stderr);

    // A copy made without --for-sync has nowhere to start from.
    let plain = dir.path().join("plain.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&plain),
        "--tables",
        "tags",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = sync(&url, &plain, &["--until-caught-up"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("not migrated for sync"), "{}", r.stderr);

    // A position the server does not have.
    let mut args = migrate_args(&url, &store);
    args.extend(["--exclude", "events"]);
    let r = m2l(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let r = sync(
        &url,
        &store,
        &["--until-caught-up", "--start-position", "12"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("file:position"), "{}", r.stderr);
    let r = sync(
        &url,
        &store,
        &[
            "--until-caught-up",
            "--start-position",
            "mariadb-bin.999999:4",
        ],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("purged"), "{}", r.stderr);
    assert!(r.stderr.contains("--for-sync --fresh"), "{}", r.stderr);

    // A change of shape stops sync after what committed before it.
    db.sql("UPDATE items SET name = 'before' WHERE id = 1");
    db.sql("ALTER TABLE items ADD COLUMN extra INT");
    db.sql("UPDATE items SET name = 'after' WHERE id = 2");
    let r = sync(&url, &store, &["--until-caught-up"]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("table `items` changed"), "{}", r.stderr);
    assert!(
        r.stderr.contains("ALTER TABLE items ADD COLUMN extra INT"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains("--fresh --for-sync"), "{}", r.stderr);
    assert_eq!(state(&store).transactions, 1);
    let s = Store::open_to_read(&store).unwrap();
    let row = s
        .get(
            "items",
            &[lightning_core::Value::Decimal(
                lightning_core::value::Decimal::parse("1").unwrap(),
            )],
        )
        .unwrap()
        .expect("row 1");
    assert_eq!(row[1], lightning_core::Value::Text("before".into()));
}

#[test]
fn a_following_sync_survives_its_connections_being_killed() {
    let db = source("sync_drop");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    let r = m2l(&migrate_args(&url, &store));
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The store is the follower's while it runs: its progress lines say how far
    // it is.
    let mut follower = Command::new(tool())
        .args(["sync", "--source", &url, "--target", p(&store)])
        .args(["--poll-interval-ms", "50", "--progress-interval", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let seen = std::sync::Arc::new(std::sync::Mutex::new((0u64, String::new())));
    let reader = {
        let seen = seen.clone();
        let stderr = follower.stderr.take().unwrap();
        std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stderr).lines() {
                let line = line.unwrap();
                let mut s = seen.lock().unwrap();
                // `[3s] syncing: 1,050 transactions, …`
                if let Some(n) = line
                    .split_once("] syncing: ")
                    .and_then(|(_, r)| r.split(' ').next())
                    .and_then(|n| n.replace(',', "").parse().ok())
                {
                    s.0 = n;
                }
                s.1.push_str(&line);
                s.1.push('\n');
            }
        })
    };
    let mut c = conn(&db);
    let mut admin =
        mysql::Conn::new(mysql::Opts::from_url("mysql://root@127.0.0.1:3306/mysql").unwrap())
            .unwrap();
    for round in 0..4u64 {
        for i in 0..50u64 {
            c.query_drop(format!(
                "UPDATE items SET price = price + 1 WHERE id = {}",
                1 + round * 50 + i
            ))
            .unwrap();
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        while seen.lock().unwrap().0 < (round + 1) * 50 {
            assert!(
                follower.try_wait().unwrap().is_none(),
                "sync stopped: {}",
                seen.lock().unwrap().1
            );
            assert!(Instant::now() < deadline, "sync did not catch up");
            std::thread::sleep(Duration::from_millis(50));
        }
        if round < 3 {
            // Every session sync has open on the database: the binlog reader's
            // and the one reading rows again.
            let ids: Vec<u64> = admin
                .exec(
                    "SELECT id FROM information_schema.PROCESSLIST WHERE db = ? AND id <> ?",
                    (&db.name, c.connection_id()),
                )
                .unwrap();
            for id in &ids {
                let _ = admin.query_drop(format!("KILL {id}"));
            }
            assert!(!ids.is_empty());
        }
    }
    signal(follower.id(), "INT");
    let status = follower.wait().unwrap();
    reader.join().unwrap();
    let stderr = seen.lock().unwrap().1.clone();
    assert!(status.success(), "{stderr}");
    assert!(stderr.contains("reconnecting"), "{stderr}");
    assert_eq!(state(&store).transactions, 200);
    verify_equal(&url, &store);
}

fn signal(pid: u32, sig: &str) {
    let ok = Command::new("kill")
        .args([&format!("-{sig}"), &pid.to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok);
}

#[test]
fn a_write_mix_during_and_after_a_parallel_copy_arrives() {
    let db = TestDb::new("sync_mix");
    // Big enough to be split into key ranges read by several connections.
    db.sql(
        "CREATE TABLE accounts (id INT PRIMARY KEY, balance DECIMAL(14,2) NOT NULL, note VARCHAR(60));
         INSERT INTO accounts SELECT seq, seq % 1000, NULL FROM seq_1_to_300000;
         CREATE TABLE history (id BIGINT AUTO_INCREMENT PRIMARY KEY, account INT, delta DECIMAL(14,2),
                               at DATETIME(6));
         ANALYZE TABLE accounts;
         CREATE TABLE log (line TEXT);",
    );
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let load = {
        let (url, stop) = (url.clone(), stop.clone());
        std::thread::spawn(move || {
            let mut c = mysql::Conn::new(mysql::Opts::from_url(&url).unwrap()).unwrap();
            let mut i = 0u64;
            while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                let a = 1 + (i * 7919) % 300_000;
                let b = 1 + (i * 104_729) % 300_000;
                let sql = match i % 5 {
                    0 | 1 => format!(
                        "START TRANSACTION; \
                         UPDATE accounts SET balance = balance - 1.25 WHERE id = {a}; \
                         UPDATE accounts SET balance = balance + 1.25 WHERE id = {b}; \
                         INSERT INTO history (account, delta, at) VALUES ({a}, -1.25, NOW(6)), ({b}, 1.25, NOW(6)); \
                         COMMIT"
                    ),
                    2 => format!("UPDATE accounts SET note = 'touched {i}' WHERE id BETWEEN {a} AND {a} + 20"),
                    3 => format!("DELETE FROM history WHERE id = {}", i / 2),
                    _ => format!(
                        "INSERT INTO accounts VALUES ({}, 0, 'opened') \
                         ON DUPLICATE KEY UPDATE balance = balance + 1",
                        300_000 + i
                    ),
                };
                c.query_drop(sql).unwrap();
                i += 1;
            }
            i
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&store),
        "--for-sync",
        "--parallel",
        "3",
        "--exclude",
        "log",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    std::thread::sleep(Duration::from_millis(1500));
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let statements = load.join().unwrap();
    assert!(statements > 100, "{statements}");
    let report = sync_json(&url, &store);
    assert_eq!(report["status"], "caught up", "{report:#}");
    assert!(report["transactions"].as_u64().unwrap() > 50, "{report:#}");
    verify_equal(&url, &store);
}

#[test]
fn a_key_changed_later_within_its_collation_is_followed() {
    let db = TestDb::new("sync_collation");
    db.sql(
        "CREATE TABLE words (w VARCHAR(10) COLLATE utf8mb4_general_ci PRIMARY KEY, n INT);
         INSERT INTO words VALUES ('e', 1), ('x', 1);",
    );
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = copied_for_sync(&url, dir.path());
    // Read one transaction at a time: when the first one's row is read again, the
    // server already holds it under the key the second gave it, which it compares
    // equal to the old one.
    db.sql("UPDATE words SET n = 2 WHERE w = 'e'");
    db.sql("UPDATE words SET w = 'É' WHERE w = 'e'");
    db.sql("UPDATE words SET w = 'X ' WHERE w = 'x'");
    let r = sync(&url, &store, &["--until-caught-up", "--batch-changes", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    verify_equal_all(&url, &store);
    let keys: Vec<String> = Store::open_to_read(&store)
        .unwrap()
        .scan("words")
        .unwrap()
        .map(|r| r.unwrap().1[0].to_text().unwrap())
        .collect();
    assert_eq!(keys, ["X ", "É"]);
}

/// Every table of `url` copied with `migrate --for-sync` into `dir/app.ldb`.
fn copied_for_sync(url: &str, dir: &Path) -> std::path::PathBuf {
    let store = dir.join("app.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        url,
        "--target",
        p(&store),
        "--for-sync",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    store
}

fn verify_equal_all(url: &str, store: &Path) {
    let r = m2l(&["verify", "--source", url, "--target", p(store)]);
    assert_eq!(r.code, 0, "verify: {}\n{}", r.stdout, r.stderr);
}

#[test]
fn sync_starts_after_a_gtid() {
    let db = TestDb::new("sync_gtid");
    db.sql("CREATE TABLE g (id INT PRIMARY KEY, v INT); INSERT INTO g VALUES (0, 0);");
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = copied_for_sync(&url, dir.path());
    // Transaction A, its GTID (this session's: other tests write to the binlog
    // too), then transaction B.
    let mut c = conn(&db);
    c.query_drop("INSERT INTO g VALUES (1, 1)").unwrap();
    let a: String = c.query_first("SELECT @@last_gtid").unwrap().unwrap();
    c.query_drop("INSERT INTO g VALUES (2, 2)").unwrap();
    let r = sync(&url, &store, &["--until-caught-up", "--start-position", &a]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = Store::open_to_read(&store).unwrap();
    let ids: Vec<Value> = s
        .scan("g")
        .unwrap()
        .map(|r| r.unwrap().1[0].clone())
        .collect();
    // A was before the position; B after it.
    assert_eq!(ids, [Value::Int(0), Value::Int(2)]);
    drop(s);
    let r = sync(
        &url,
        &store,
        &["--until-caught-up", "--start-position", "0-1-999999999"],
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(
        r.stderr
            .contains("GTID 0-1-999999999 is in none of the server's binlog files"),
        "{}",
        r.stderr
    );
}
