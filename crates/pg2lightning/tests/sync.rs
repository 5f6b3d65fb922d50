//! `migrate --for-sync` then `sync`: the server's changes after the copy's snapshot
//! reach the store exactly once, across kills, with the slot kept and dropped as
//! the user asks.

mod common;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use lightning_core::store::Store;

/// A database with a keyed table (with a TOASTed column), a second table, and a
/// keyless one left out of sync.
fn source(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    db.exec(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(12,2),
                             doc jsonb, big text, at timestamptz);
         INSERT INTO items SELECT g, 'item ' || g, g / 100.0, jsonb_build_object('n', g),
                CASE WHEN g % 10 = 0 THEN repeat(md5(g::text), 200) END,
                TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 minute'
           FROM generate_series(1, 3000) g;
         CREATE TABLE tags (item bigint, tag text, PRIMARY KEY (item, tag));
         INSERT INTO tags SELECT g, 't' || (g % 7) FROM generate_series(1, 500) g;
         CREATE TABLE log (line text);
         INSERT INTO log VALUES ('a'), ('b');",
    );
    db
}

fn slot_of(db: &TestDb) -> String {
    format!("s_{}", db.name)
}

fn migrate_args<'a>(db: &'a TestDb, store: &'a Path, slot: &'a str) -> Vec<&'a str> {
    vec![
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(store),
        "--for-sync",
        "--slot",
        slot,
        "--exclude",
        "log",
        "--quiet",
    ]
}

fn sync(db: &TestDb, store: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["sync", "--source", &db.url, "--target", p(store)];
    args.extend(extra);
    p2l(&args)
}

fn sync_json(db: &TestDb, store: &Path) -> serde_json::Value {
    let r = sync(db, store, &["--until-caught-up", "--json", "--quiet"]);
    assert_eq!(r.code, 0, "sync: {}", r.stderr);
    serde_json::from_str(&r.stdout).expect("sync report JSON")
}

fn verify_equal(db: &TestDb, store: &Path) {
    let r = p2l(&[
        "verify",
        "--source",
        &db.url,
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

fn slot_exists(slot: &str) -> bool {
    admin()
        .query_opt(
            "SELECT 1 FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .unwrap()
        .is_some()
}

#[test]
fn sync_applies_each_change_after_the_snapshot_once() {
    let db = source("sync_once");
    let slot = slot_of(&db);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");

    // Held after the slot is made and before the snapshot: what commits now is in
    // the copy and in the slot, and must not be applied again.
    let held = paused(&migrate_args(&db, &store, &slot), "slot-made:1");
    db.exec("UPDATE items SET price = price + 1 WHERE id <= 10");
    db.exec("INSERT INTO items (id, name) VALUES (5001, 'in the window')");
    held.resume();
    let copy = held.finish();
    assert_eq!(copy.code, 0, "migrate: {}", copy.stderr);
    assert!(copy.stderr.contains("ready for sync"), "{}", copy.stderr);
    assert!(slot_exists(&slot));

    // After the snapshot: seven transactions, of every kind.
    let mut c = db.client();
    c.batch_execute("INSERT INTO items (id, name, price) VALUES (6001, 'new', 1.5)")
        .unwrap();
    c.batch_execute("UPDATE items SET name = 'renamed' WHERE id = 20")
        .unwrap(); // its big value is TOASTed and not sent
    c.batch_execute("UPDATE items SET id = 7000 WHERE id = 30")
        .unwrap(); // a new key
    c.batch_execute("DELETE FROM items WHERE id BETWEEN 100 AND 199")
        .unwrap();
    c.batch_execute(
        "BEGIN; INSERT INTO items (id, name) VALUES (6002, 'gone'); \
         DELETE FROM items WHERE id = 6002; \
         UPDATE items SET doc = '{\"x\": [1, 2]}', at = NULL WHERE id = 1; COMMIT",
    )
    .unwrap();
    c.batch_execute("TRUNCATE tags").unwrap();
    c.batch_execute("INSERT INTO tags VALUES (1, 'after'), (2, 'after')")
        .unwrap();
    // A table sync does not follow: nothing of it arrives.
    c.batch_execute("INSERT INTO log VALUES ('c')").unwrap();

    let report = sync_json(&db, &store);
    assert_eq!(report["status"], "caught up", "{report:#}");
    assert_eq!(report["transactions"], 7, "{report:#}");
    assert_eq!(report["tables"]["items"]["deleted"], 101, "{report:#}");
    verify_equal(&db, &store);
    let s = Store::open_to_read(&store).unwrap();
    let row = s
        .get("items", &[lightning_core::Value::Int(20)])
        .unwrap()
        .unwrap();
    assert_eq!(row[1], lightning_core::Value::Text("renamed".into()));
    assert!(
        matches!(&row[4], lightning_core::Value::Text(t) if t.len() == 6400),
        "the unchanged TOASTed value is kept: {:?}",
        row[4]
    );
    drop(s);

    // Nothing new: nothing applied, the position kept. This time the settings come
    // from a job file, whose [migrate] settings sync skips.
    let job = dir.path().join("job.toml");
    std::fs::write(
        &job,
        format!(
            "source = {:?}\ntarget = {:?}\nexclude = [\"log\"]\nquiet = true\n\
             [migrate]\nfor-sync = true\n[sync]\nuntil-caught-up = true\njson = true\n",
            db.url,
            p(&store)
        ),
    )
    .unwrap();
    let r = p2l(&["sync", "--config", p(&job)]);
    assert_eq!(r.code, 0, "sync --config: {}", r.stderr);
    let again: serde_json::Value = serde_json::from_str(&r.stdout).expect("sync report JSON");
    assert_eq!(again["transactions"], 0, "{again:#}");
    assert_eq!(again["position"], report["position"]);
    assert!(
        again["warnings"][0]
            .as_str()
            .unwrap()
            .contains("--drop-slot"),
        "{again:#}"
    );

    // A slot nothing reads is named by assess, with how to drop it.
    let a = p2l_ok(&["assess", "--source", &db.url, "--json"]);
    assert!(
        a.stdout.contains(&format!("the logical slot {slot} ")) && a.stdout.contains("--drop-slot"),
        "{}",
        a.stdout
    );

    // The cutover is done: the slot goes.
    let r = sync(&db, &store, &["--drop-slot"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!slot_exists(&slot));
    let r = sync(&db, &store, &["--until-caught-up"]);
    assert_clean_error(&r, 1, "--for-sync");
    // Nothing left to drop: said, and no other slot is guessed at.
    let r = sync(&db, &store, &["--drop-slot"]);
    assert_clean_error(&r, 1, "records no replication slot");
}

/// Runs `sync` (following) and kills it with SIGKILL after growing delays while a
/// write load runs, then catches up: every transaction arrives exactly once.
#[test]
fn killed_syncs_apply_every_transaction_exactly_once() {
    let db = source("sync_kill");
    let slot = slot_of(&db);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    p2l_ok(&migrate_args(&db, &store, &slot));

    const TXNS: u64 = 600;
    const EXTRA: u64 = 5;
    let url = db.url.clone();
    let load = std::thread::spawn(move || {
        let mut c = postgres::Client::connect(&url, postgres::NoTls).unwrap();
        for i in 0..TXNS as i64 {
            let id = 1 + (i * 7919) % 3000;
            match i % 3 {
                0 => c.execute("UPDATE items SET price = price + 0.01 WHERE id = $1", &[&id]),
                1 => c.execute(
                    "INSERT INTO tags VALUES ($1, 'k' || $2::bigint) ON CONFLICT DO NOTHING",
                    &[&id, &i],
                ),
                _ => c.execute(
                    "UPDATE items SET doc = jsonb_set(coalesce(doc, '{}'), '{i}', to_jsonb($2::bigint)) WHERE id = $1",
                    &[&id, &i],
                ),
            }
            .unwrap();
            std::thread::sleep(Duration::from_millis(3));
        }
    });
    let kills = lightning_testkit::kill_repeatedly(
        || {
            let mut cmd = Command::new(tool());
            cmd.args(["sync", "--source", &db.url, "--target", p(&store)])
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
    load.join().unwrap();
    let applied = state(&store).transactions;
    assert!(
        applied > 0,
        "the killed runs applied nothing ({kills} kills)"
    );
    // A commit whose slot advance was lost to a crash: the next run skips it.
    let mut c = db.client();
    for id in 1..=EXTRA as i64 {
        c.execute("UPDATE items SET name = name || '+' WHERE id = $1", &[&id])
            .unwrap();
    }
    let r = p2l_fault(
        &[
            "sync",
            "--source",
            &db.url,
            "--target",
            p(&store),
            "--until-caught-up",
            "--batch-changes",
            "2",
        ],
        "abort:sync-applied:1",
    );
    assert_ne!(r.code, 0, "{}", r.stderr);
    let crashed = state(&store).transactions;
    assert!(crashed > applied, "the crashed run committed a batch first");
    let report = sync_json(&db, &store);
    assert_eq!(report["status"], "caught up", "{report:#}");
    verify_equal(&db, &store);
    assert!(kills >= 2, "only {kills} kills");
    assert_eq!(
        state(&store).transactions,
        TXNS + EXTRA,
        "every transaction applied once ({kills} kills)"
    );
}

#[test]
fn sync_refuses_what_it_cannot_follow() {
    let db = source("sync_refuse");
    let slot = slot_of(&db);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");

    // A keyless table: refused with the way out.
    let r = p2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--for-sync",
        "--slot",
        &slot,
    ]);
    assert_clean_error(&r, 1, "no primary key");
    assert!(r.stderr.contains("--exclude log"), "{}", r.stderr);
    assert!(!slot_exists(&slot), "no slot is left behind");

    // A store copied without --for-sync has no starting point.
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--exclude",
        "log",
        "--quiet",
    ]);
    let r = sync(&db, &store, &["--until-caught-up"]);
    assert_clean_error(&r, 1, "was not migrated for sync");

    // A slot dropped behind sync's back: the changes since the copy are gone.
    let mut fresh = migrate_args(&db, &store, &slot);
    fresh.push("--fresh");
    p2l_ok(&fresh);
    admin()
        .execute("SELECT pg_drop_replication_slot($1)", &[&slot])
        .unwrap();
    let r = sync(&db, &store, &["--until-caught-up"]);
    assert_clean_error(&r, 1, "no longer exists");

    // A column added on the source stops sync before the change, saying what to do.
    let slot2 = format!("{slot}_2");
    p2l_ok(&{
        let mut a = migrate_args(&db, &store, &slot2);
        a.push("--fresh");
        a
    });
    db.exec("INSERT INTO items (id, name) VALUES (9001, 'before')");
    db.exec("ALTER TABLE items ADD COLUMN extra int; INSERT INTO items (id, name, extra) VALUES (9002, 'after', 1)");
    let r = sync(&db, &store, &["--until-caught-up"]);
    assert_clean_error(&r, 1, "column `extra` was added");
    let s = Store::open_to_read(&store).unwrap();
    assert!(s
        .get("items", &[lightning_core::Value::Int(9001)])
        .unwrap()
        .is_some());
    assert!(s
        .get("items", &[lightning_core::Value::Int(9002)])
        .unwrap()
        .is_none());
    drop(s);
    let started = Instant::now();
    let r = sync(&db, &store, &["--drop-slot"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(started.elapsed() < Duration::from_secs(30));

    // A copy killed and resumed was read in two snapshots: no starting point for
    // sync, and the way to one is said; --fresh gives it.
    let other = dir.path().join("resumed.ldb");
    let mut args = migrate_args(&db, &other, &slot);
    args.extend(["--batch-size", "500"]);
    let r = p2l_fault(&args, "abort:committed:2");
    assert_ne!(r.code, 0, "{}", r.stderr);
    let r = p2l(&args);
    assert_clean_error(&r, 1, "more than one snapshot");
    assert!(r.stderr.contains("--fresh"), "{}", r.stderr);
    let r = sync(&db, &other, &["--until-caught-up"]);
    assert_clean_error(&r, 1, "was not migrated for sync");
    args.push("--fresh");
    p2l_ok(&args);
    db.exec("UPDATE items SET name = 'after the fresh copy' WHERE id = 2");
    let report = sync_json(&db, &other);
    assert_eq!(report["transactions"], 1, "{report:#}");
    verify_equal(&db, &other);
}

/// pgbench's own write load during the copy and after it; one `sync
/// --until-caught-up`; the store equals the server.
#[test]
fn pgbench_writes_during_and_after_the_copy_arrive() {
    let db = TestDb::new("sync_pgbench");
    let slot = slot_of(&db);
    let pgbench = |args: &[&str]| {
        let out = Command::new("pgbench")
            .args(args)
            .arg(&db.url)
            .output()
            .expect("pgbench runs");
        assert!(
            out.status.success(),
            "pgbench {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    pgbench(&["-i", "-s", "2", "-q"]);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("bench.ldb");
    let during = Command::new("pgbench")
        .args(["-c", "2", "-T", "4", "-n", &db.url])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500));
    let copy = p2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--for-sync",
        "--slot",
        &slot,
        "--exclude",
        "pgbench_history",
        "--quiet",
    ]);
    assert_eq!(copy.code, 0, "{}", copy.stderr);
    let status = during.wait_with_output().unwrap().status;
    assert!(status.success());
    pgbench(&["-c", "2", "-t", "300", "-n"]);
    let report = sync_json(&db, &store);
    assert!(
        report["transactions"].as_u64().unwrap() >= 600,
        "{report:#}"
    );
    let r = p2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--exclude",
        "pgbench_history",
    ]);
    assert_eq!(r.code, 0, "verify: {}\n{}", r.stdout, r.stderr);
    p2l_ok(&[
        "sync",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--drop-slot",
    ]);
}

/// A partitioned table is followed whole: rows in a partition made after the copy
/// arrive too. A table made after the copy is named in every report.
#[test]
fn partitions_made_after_the_copy_are_followed() {
    let db = TestDb::new("sync_parts");
    db.exec(
        "CREATE TABLE m (id int, day date, v numeric, PRIMARY KEY (id, day)) PARTITION BY RANGE (day);
         CREATE TABLE m_2024 PARTITION OF m FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
         INSERT INTO m VALUES (1, '2024-05-01', 1.5), (2, '2024-06-01', NULL);",
    );
    let slot = slot_of(&db);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("m.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--for-sync",
        "--slot",
        &slot,
        "--quiet",
    ]);
    db.exec(
        "CREATE TABLE m_2025 PARTITION OF m FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');
         INSERT INTO m VALUES (3, '2025-02-01', 7), (1, '2024-07-01', 2);
         UPDATE m SET v = 0 WHERE id = 2;
         CREATE TABLE later (id int PRIMARY KEY);",
    );
    let report = sync_json(&db, &store);
    assert_eq!(report["tables"]["m"]["inserted"], 2, "{report:#}");
    assert_eq!(report["tables"]["m"]["updated"], 1, "{report:#}");
    let warnings = report["warnings"].to_string();
    assert!(
        warnings.contains("not followed by sync: public.later"),
        "{warnings}"
    );
    let r = p2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--exclude",
        "later",
    ]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
}

/// The server ends sync's session while it follows: sync reconnects and goes on,
/// and every transaction arrives once.
#[test]
fn a_following_sync_survives_its_connection_being_ended() {
    let db = source("sync_drop");
    let slot = slot_of(&db);
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    p2l_ok(&migrate_args(&db, &store, &slot));
    let port = lightning_testkit::free_port();
    let mut follower = Command::new(tool())
        .args(["sync", "--source", &db.url, "--target", p(&store)])
        .args(["--poll-interval-ms", "50", "--quiet"])
        .args(["--monitor", &port.to_string()])
        .args(["--html", p(&dir.path().join("sync.html"))])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut c = db.client();
    for round in 0..4 {
        for i in 0..50i64 {
            c.execute(
                "UPDATE items SET price = price + 1 WHERE id = $1",
                &[&(1 + round * 50 + i)],
            )
            .unwrap();
        }
        // Sync is following once the slot is confirmed past these writes.
        let end: String = admin()
            .query_one("SELECT pg_current_wal_lsn()::text", &[])
            .unwrap()
            .get(0);
        let deadline = Instant::now() + Duration::from_secs(60);
        while !admin()
            .query_one(
                "SELECT confirmed_flush_lsn >= $2::text::pg_lsn FROM pg_replication_slots \
                 WHERE slot_name = $1",
                &[&slot, &end],
            )
            .unwrap()
            .get::<_, bool>(0)
        {
            assert!(
                follower.try_wait().unwrap().is_none(),
                "sync stopped: {}",
                finish(follower.wait_with_output().unwrap()).stderr
            );
            assert!(Instant::now() < deadline, "sync did not catch up");
            std::thread::sleep(Duration::from_millis(50));
        }
        if round < 3 {
            let ended = admin()
                .execute(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                     WHERE datname = $1 AND application_name = 'pg2lightning'",
                    &[&db.name],
                )
                .unwrap();
            assert_eq!(ended, 1, "sync's session is ended");
        }
    }
    // The monitoring endpoint follows the sync: what it applied and its lag.
    let live: serde_json::Value =
        serde_json::from_str(&lightning_testkit::http_get(port, "/api/stats").body).unwrap();
    assert_eq!(
        (&live["command"], &live["phase"]),
        (&"sync".into(), &"syncing".into())
    );
    assert_eq!(live["status"], "running");
    assert_eq!(live["sync"]["transactions"], 200);
    assert!(live["sync"]["bytes_behind"].is_u64(), "{live}");
    assert!(!live["sync"]["position"].as_str().unwrap().is_empty());
    let metrics = lightning_testkit::http_get(port, "/metrics").body;
    assert!(
        metrics.contains("\nlightning_sync_transactions_total 200\n"),
        "{metrics}"
    );
    assert!(metrics.contains("\nlightning_sync_lag_bytes "), "{metrics}");
    signal(follower.id(), "INT");
    let out = finish(follower.wait_with_output().unwrap());
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert!(out.stderr.contains("reconnecting"), "{}", out.stderr);
    assert_eq!(state(&store).transactions, 200);
    // The sync's report as a page, in a real browser: its status stands out.
    let page = dir.path().join("sync.html");
    let html = lightning_testkit::browser::self_contained_page(&page);
    assert!(html.contains("items"), "the tables it changed are listed");
    let shot = lightning_testkit::browser::Shot::of(&page, "sync");
    shot.assert_rendered("sync");
    shot.assert_shows("sync", lightning_core::report::Tone::Warning);
    verify_equal(&db, &store);
}
