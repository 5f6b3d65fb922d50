//! Interruptions: a migration killed with SIGKILL at random points resumes and ends
//! with every row exactly once; a reader whose server connection is killed fails
//! cleanly and the next run resumes.

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use common::*;

const ROWS: u64 = 300_000;

fn big_db(name: &str) -> TestDb {
    let db = TestDb::new(name);
    db.sql(&format!(
        "CREATE TABLE big (id BIGINT PRIMARY KEY, payload VARCHAR(64), amount DECIMAL(12,2), at DATETIME(6));
         INSERT INTO big SELECT seq, MD5(seq), seq / 100, '2020-01-01' + INTERVAL seq SECOND FROM seq_1_to_{ROWS};
         CREATE TABLE nokey (line VARCHAR(20));
         INSERT INTO nokey SELECT CONCAT('line ', seq % 100) FROM seq_1_to_{};",
        ROWS / 3
    ));
    db
}

#[test]
fn killed_migrations_resume_exactly_once() {
    let db = big_db("kill9");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big.ldb");
    let url = db.url();
    let args = [
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--batch-size",
        "2000",
        "--quiet",
    ];
    let probe = dir.path().join("probe.ldb");
    let started = Instant::now();
    assert_eq!(
        m2l(&[
            "migrate",
            "--source",
            &url,
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
    let window = (full.as_millis() as u64 / 3).max(60);
    let mut kills = 0;
    for _ in 0..10 {
        let mut child = Command::new(tool())
            .args(args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        std::thread::sleep(Duration::from_millis(50 + (seed >> 33) % window));
        if child.try_wait().unwrap().is_some() {
            break;
        }
        child.kill().unwrap(); // SIGKILL
        child.wait().unwrap();
        kills += 1;
    }
    assert!(
        kills >= 2,
        "the migration finished before it could be killed ({kills} kills)"
    );
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--verify",
        "--json",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(json(&r)["verification"]["equal"], true);
    let s = lightning_core::Store::open(&target).unwrap();
    assert_eq!(s.count("big").unwrap(), ROWS);
    assert_eq!(s.count("nokey").unwrap(), ROWS / 3);
    drop(s);
    assert_eq!(checksums(&target), checksums(&probe));
}

#[test]
fn a_killed_connection_fails_cleanly_and_the_next_run_resumes() {
    let db = big_db("killconn");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("big.ldb");
    let url = db.url();
    let args = [
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--parallel",
        "1",
        "--batch-size",
        "500",
        "--quiet",
        "--tables",
        "big",
    ];
    // Held at the copy's second commit: the size sample before the copy is over
    // (its fault points are quiet), so the query reading `big` is the copy's reader,
    // stopped by the full channel while the batches wait.
    let held = Paused::start(&args, "committed:2", &dir.path().join("hs"), None);
    let reader = || -> Option<u64> {
        mariadb(
            None,
            &format!(
                "SELECT ID FROM information_schema.PROCESSLIST WHERE DB = '{}' AND INFO LIKE 'SELECT %FROM `big`%'",
                db.name
            ),
        )
        .lines()
        .filter_map(|l| l.trim().parse().ok())
        // A lingering sample connection is older: the copy's has the highest id.
        .max()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let id = loop {
        if let Some(id) = reader() {
            break id;
        }
        assert!(
            Instant::now() < deadline,
            "the reader's query was never seen"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    mariadb(None, &format!("KILL {id}"));
    let r = held.go_on();
    let stderr = r.stderr;
    assert_eq!(r.code, 1, "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(
        stderr.contains("reading table `big`") && stderr.contains("run the same command again"),
        "{stderr}"
    );
    let partial = lightning_core::Store::open(&target)
        .unwrap()
        .count("big")
        .unwrap();
    assert!(partial < ROWS, "{partial}");

    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--tables",
        "big",
        "--verify",
        "--json",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["verification"]["equal"], true);
    assert_eq!(
        lightning_core::Store::open(&target)
            .unwrap()
            .count("big")
            .unwrap(),
        ROWS
    );
}
