//! A migration killed with SIGKILL at random points resumes and finishes with every
//! row exactly once.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;
use serde_json::Value;

/// A small deterministic generator, enough to pick kill times.
fn next(seed: &mut u64) -> u64 {
    *seed = seed.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *seed;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

const ROWS: u64 = 300_000;

#[test]
fn killed_migrations_resume_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let sql = format!(
        "CREATE TABLE events (id INTEGER PRIMARY KEY, payload TEXT, amount NUMERIC);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {ROWS})
           INSERT INTO events SELECT x, printf('%08d-%s', x, hex(randomblob(24))), x * 0.01 FROM n;
         CREATE TABLE users (id TEXT PRIMARY KEY, name TEXT);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {})
           INSERT INTO users SELECT lower(hex(randomblob(16))), 'user ' || x FROM n;
         CREATE TABLE log (line TEXT);
         WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < {})
           INSERT INTO log SELECT 'line ' || (x % 100) FROM n;",
        ROWS / 3,
        ROWS / 3
    );
    let db = sqlite_db(dir.path(), "big.sqlite", &sql);
    let target = dir.path().join("big.ldb");
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

    // How long an uninterrupted run takes on this machine, to spread the kills over it.
    let probe = dir.path().join("probe.ldb");
    let started = Instant::now();
    assert_eq!(
        s2l(&[
            "migrate",
            "--source",
            p(&db),
            "--target",
            p(&probe),
            "--quiet"
        ])
        .code,
        0
    );
    let full = started.elapsed();

    let mut seed = SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_nanos() as u64;
    // Kill runs at random points of the first third of a full run's time, until
    // one finishes by itself: each killed run leaves a little more done.
    let mut kills = 0;
    let window = (full.as_millis() as u64 / 3).max(60);
    for _ in 0..12 {
        let mut child = Command::new(tool())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        std::thread::sleep(Duration::from_millis(20 + next(&mut seed) % window));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    eprintln!("killed {kills} runs with SIGKILL");
    assert!(
        kills >= 3,
        "the migration finished before it could be killed ({kills} kills)"
    );

    let report = migrate_verified(&db, &target, &["--quiet"]);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    for (table, rows) in [("events", ROWS), ("users", ROWS / 3), ("log", ROWS / 3)] {
        assert_eq!(
            light(&["count", p(&target), table]).stdout.trim(),
            rows.to_string(),
            "{table}"
        );
    }
    let runs = light(&["runs", p(&target), "--json"]);
    let runs: Value = serde_json::from_str(&runs.stdout).unwrap();
    assert_eq!(
        runs.as_array().unwrap().last().unwrap()["status"],
        "completed"
    );
    // Both stores hold the same rows.
    assert_eq!(
        light(&["checksum", p(&target)]).stdout,
        light(&["checksum", p(&probe)]).stdout
    );
}
