//! Interrupted migrations: killed with SIGKILL mid-table, or losing their server
//! connection mid-copy. Every row arrives exactly once.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::*;

const ROWS: i64 = 400_000;

fn big_db(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    db.exec(&format!(
        "CREATE TABLE items (id bigint PRIMARY KEY, name text NOT NULL, price numeric(10,2), at timestamptz);
         INSERT INTO items SELECT g, 'item ' || g || repeat('x', g % 50), (g % 100000) / 100.0,
                TIMESTAMPTZ '2020-01-01' + g * INTERVAL '1 second' FROM generate_series(1, {ROWS}) g;
         CREATE TABLE events (kind text, payload jsonb);
         INSERT INTO events SELECT CASE WHEN g % 3 = 0 THEN 'same' ELSE 'k' || g END,
                jsonb_build_object('n', g % 7) FROM generate_series(1, {}) g;
         ANALYZE;",
        ROWS / 2
    ));
    db
}

/// Run `pg2lightning migrate ARGS`, killing it with SIGKILL after a growing delay,
/// until a run finishes on its own. Returns how many runs were killed.
// Every path waits for the child, except a failing assertion, which ends the test.
#[allow(clippy::zombie_processes)]
fn kill_until_done(args: &[&str]) -> u32 {
    let mut kills = 0;
    let mut delay = 300u64;
    loop {
        let mut child = Command::new(tool())
            .args(args)
            .args(["--quiet", "--batch-size", "5000"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let started = Instant::now();
        let mut finished = None;
        while started.elapsed() < Duration::from_millis(delay) {
            if let Some(status) = child.try_wait().unwrap() {
                finished = Some(status);
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        match finished {
            Some(status) => {
                assert!(
                    status.success(),
                    "a run failed: {}",
                    finish(child.wait_with_output().unwrap()).stderr
                );
                return kills;
            }
            None => {
                child.kill().unwrap();
                child.wait().unwrap();
                kills += 1;
                // Growing by half each time: a slow machine still gets a run long
                // enough to finish, after a few early kills.
                delay = delay * 3 / 2 + 250;
            }
        }
        assert!(kills < 40, "the migration never finished");
    }
}

#[test]
fn killed_migrations_resume_exactly_once() {
    let db = big_db("kill");
    let dir = tempfile::tempdir().unwrap();
    // Uninterrupted, for reference.
    let clean = dir.path().join("clean.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&clean),
        "--quiet",
    ]);
    let reference = checksums(&clean);
    assert_eq!(reference["items"].rows, ROWS as u64);
    assert_eq!(reference["events"].rows, ROWS as u64 / 2);

    let store = dir.path().join("server.ldb");
    let kills = kill_until_done(&["migrate", "--source", &db.url, "--target", p(&store)]);
    assert!(
        kills >= 2,
        "the test must interrupt the copy (killed {kills} times)"
    );
    assert_eq!(checksums(&store), reference);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);

    // The same from a dump file: resumed runs skip the rows already committed.
    let dump = dir.path().join("big.sql");
    db.dump(&dump, &[]);
    let from_dump = dir.path().join("dump.ldb");
    let kills = kill_until_done(&[
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&from_dump),
    ]);
    assert!(
        kills >= 2,
        "the test must interrupt the copy (killed {kills} times)"
    );
    assert_eq!(checksums(&from_dump), reference);
}

#[test]
fn a_terminated_connection_is_resumed() {
    let db = big_db("conn");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("s.ldb");
    let child = Command::new(tool())
        .args([
            "migrate",
            "--source",
            &db.url,
            "--target",
            p(&store),
            "--quiet",
            "--parallel",
            "1",
            "--batch-size",
            "2000",
        ])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut admin = admin();
    let started = Instant::now();
    let mut terminated = 0;
    while terminated < 2 && started.elapsed() < Duration::from_secs(60) {
        let n: i64 = admin
            .query_one(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity \
                 WHERE datname = $1 AND application_name = 'pg2lightning' AND query LIKE 'COPY%' AND state = 'active'",
                &[&db.name],
            )
            .unwrap()
            .get(0);
        if n > 0 {
            terminated += 1;
            std::thread::sleep(Duration::from_millis(700));
        }
        std::thread::sleep(Duration::from_millis(30));
    }
    let out = finish(child.wait_with_output().unwrap());
    assert!(terminated > 0, "no COPY session was caught");
    assert_eq!(out.code, 0, "the run should recover: {}", out.stderr);
    assert!(
        out.stderr.contains("reconnecting"),
        "the retry is logged: {}",
        out.stderr
    );
    let sums = checksums(&store);
    assert_eq!(sums["items"].rows, ROWS as u64);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
}
