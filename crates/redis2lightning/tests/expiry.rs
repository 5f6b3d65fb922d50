//! Keys that expire while a run lasts: between the walk of the keyspace and their
//! reading (counted in a note, not copied, not fatal, as keys that changed type), after their copy (not a
//! difference for the verification, a note says so), or at any moment of a run
//! (never a key twice, never a permanent key missing).

mod common;

use std::time::Duration;

use common::*;
use lightning_core::value::Value;

/// The number at the start of the note containing `needle`, if there is one.
fn noted(notes: &[String], needle: &str) -> Option<u64> {
    notes
        .iter()
        .find(|n| n.contains(needle))
        .map(|n| n.split(' ').next().unwrap().parse().expect("a count"))
}

const GONE: &str = "expired or were deleted between the walk";
const LAPSED: &str = "have expired in Redis since the copy";

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as i64
}

/// Wait until the server's clock is past `at_ms` (Unix milliseconds).
fn wait_past(at_ms: i64) {
    while now_ms() <= at_ms + 20 {
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn keys_with_short_ttls_expiring_during_the_run_are_never_doubled_or_fatal() {
    let mut db = TestDb::new(dbs::EXPIRING);
    let mut c = Vec::new();
    for i in 0..3000 {
        c.push(cmd("SET").arg(format!("perm:{i}")).arg(i).clone());
    }
    for i in 0..2000u64 {
        c.push(
            cmd("SET")
                .arg(format!("tmp:{i}"))
                .arg(format!("t{i}"))
                .arg("PX")
                .arg(50 + (i * 7919) % 1951)
                .clone(),
        );
    }
    let loaded = now_ms();
    db.pipe(c);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("expiring.ldb");
    let r = r2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--verify",
        "--json",
        "--quiet",
        "--parallel",
        "2",
    ]);
    let report = r.json();

    let perm = rows(&target, "perm");
    assert_eq!(perm.len(), 3000);
    for r in &perm {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert_eq!(
            r[..],
            [
                text(&format!("perm:{i}")),
                Value::Int(i),
                Value::Int(i),
                Value::Null
            ]
        );
    }
    let tmp = if tables(&target).contains(&"tmp".to_string()) {
        rows(&target, "tmp")
    } else {
        Vec::new()
    };
    let mut keys: Vec<Value> = tmp.iter().map(|r| r[0].clone()).collect();
    keys.dedup();
    assert_eq!(keys.len(), tmp.len(), "a key copied twice");
    for r in &tmp {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert_eq!(r[2], text(&format!("t{i}")));
        let at = unix_ms(&r[3]).expect("an expiry");
        let ttl = 50 + (i * 7919) % 1951;
        assert!(
            at >= loaded + ttl && at <= now_ms() + ttl,
            "{r:?}: expiry {at} for a TTL of {ttl} ms set at {loaded}"
        );
    }
    // What the walk met was copied or counted as gone; the keys copied and
    // expired since are counted for the verification.
    let notes = notes(&report);
    let gone = noted(&notes, GONE).unwrap_or(0);
    assert!(tmp.len() as u64 + gone <= 2000, "{notes:?}");
    let lapsed = noted(&notes, LAPSED).unwrap_or(0);
    assert!(lapsed <= tmp.len() as u64, "{notes:?}");
    let expired_now = tmp
        .iter()
        .filter(|r| unix_ms(&r[3]).unwrap() <= now_ms())
        .count() as u64;
    assert!(lapsed <= expired_now, "{notes:?}");
    // Keys that expired as their `expires_at` said, whenever that was, are no
    // differences.
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_all_equal(&report);
}

/// 500 permanent keys `perm:N` (value `pN`) and `n` keys `PREFIX:N` (value
/// `{first letter}N`) expiring in `px` milliseconds: the last one's expiry.
fn permanent_and_expiring(db: &mut TestDb, prefix: &str, n: u32, px: u64) -> i64 {
    let mut c = Vec::new();
    for i in 0..500 {
        c.push(
            cmd("SET")
                .arg(format!("perm:{i}"))
                .arg(format!("p{i}"))
                .clone(),
        );
    }
    let letter = &prefix[..1];
    for i in 0..n {
        c.push(
            cmd("SET")
                .arg(format!("{prefix}:{i}"))
                .arg(format!("{letter}{i}"))
                .arg("PX")
                .arg(px)
                .clone(),
        );
    }
    db.pipe(c);
    db.expire_time(format!("{prefix}:{}", n - 1).as_bytes())
}

#[test]
fn keys_gone_between_the_walk_and_their_read_are_counted_in_a_note() {
    let mut db = TestDb::new(dbs::GONE);
    let expiry = permanent_and_expiring(&mut db, "tmp", 400, 1500);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("gone.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--verify",
        "--json",
        "--quiet",
        "--parallel",
        "1",
    ];
    // Held after the walk, before any key is read, until the keys have expired.
    let paused = paused(&args, "reader:1");
    assert!(now_ms() < expiry, "the walk was to meet the keys alive");
    // A key of another type now: counted too, not copied into its old table.
    let mut con = db.connection();
    redis::pipe()
        .atomic()
        .cmd("DEL")
        .arg("perm:0")
        .cmd("RPUSH")
        .arg("perm:0")
        .arg("x")
        .query::<()>(&mut con)
        .unwrap();
    wait_past(expiry);
    let r = paused.finish();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_all_equal(&report);
    assert_eq!(noted(&notes(&report), GONE), Some(400), "{report:#}");
    assert_eq!(
        noted(&notes(&report), "changed type between the walk"),
        Some(1),
        "{report:#}"
    );
    let perm = rows_by_key(&target, "perm");
    assert_eq!(perm.len(), 499);
    assert!(!perm.contains_key(b"perm:0".as_slice()));
    let c = counts(&target);
    assert_eq!(c.get("tmp").copied().unwrap_or(0), 0, "{c:?}");
}

#[test]
fn keys_expired_since_the_copy_are_not_differences() {
    let mut db = TestDb::new(dbs::LAPSED);
    let expiry = permanent_and_expiring(&mut db, "soon", 300, 3000);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("lapsed.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--verify",
        "--json",
        "--quiet",
    ];
    // Held after the copy, before the verification, until the keys have expired.
    let paused = paused(&args, "copied:1");
    assert!(now_ms() < expiry, "the copy was to read the keys alive");
    wait_past(expiry);
    let r = paused.finish();
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_all_equal(&report);
    assert_eq!(noted(&notes(&report), LAPSED), Some(300), "{report:#}");
    // The target keeps them, with the expiry they had.
    let soon = rows(&target, "soon");
    assert_eq!(soon.len(), 300);
    for row in &soon {
        assert!(unix_ms(&row[3]).unwrap() <= expiry, "{row:?}");
    }
    // A verification on its own says the same.
    let report = verified_equal(&db.url, &target);
    assert_eq!(noted(&notes(&report), LAPSED), Some(300), "{report:#}");
}
