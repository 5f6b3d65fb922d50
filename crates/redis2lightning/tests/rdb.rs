//! RDB snapshot files: a live copy and a copy of the server's snapshot give the
//! same tables to the checksum; the committed Redis 7 file (every encoding) copies
//! and verifies; standard input is read; a copy killed after some commits resumes
//! exactly once; truncated, damaged and foreign files are refused clearly.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;
use lightning_core::value::Value;
use lightning_testkit::{assert_clean_error, checksums, p, run_with_stdin};

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/rdb/redis7-all-types.rdb")
}

/// The server's snapshot (`redis-cli --rdb`), every database in it.
fn snapshot(to: &Path) {
    let url = server_url();
    let out = Command::new("redis-cli")
        .args(["-u", &url, "--rdb"])
        .arg(to)
        .output()
        .expect("redis-cli runs");
    assert!(
        out.status.success(),
        "redis-cli --rdb: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A keyspace of every type with edge values and TTLs, big enough for several batches.
fn load(db: &mut TestDb) {
    let mut cmds = Vec::new();
    for i in 0..6_000u32 {
        let mut c = cmd("SET");
        c.arg(format!("session:{i}"))
            .arg(format!(r#"{{"user":{i},"ok":true}}"#));
        if i % 3 == 0 {
            c.arg("EX").arg(86_400 + i);
        }
        cmds.push(c);
    }
    for i in 0..500u32 {
        cmds.push(
            cmd("INCRBY")
                .arg(format!("page:views:{i}"))
                .arg(i64::from(i) * 1_000_000_007)
                .clone(),
        );
        cmds.push(
            cmd("HSET")
                .arg(format!("user:{i}:profile"))
                .arg("name")
                .arg(format!("名前 {i}"))
                .arg("age")
                .arg(i % 90)
                .clone(),
        );
        cmds.push(
            cmd("RPUSH")
                .arg(format!("queue:{i}"))
                .arg("a")
                .arg("")
                .arg(vec![0u8, 255, 10])
                .clone(),
        );
        cmds.push(cmd("SADD").arg(format!("tags:{i}")).arg("x").arg(i).clone());
    }
    cmds.push(
        cmd("ZADD")
            .arg("leaderboard")
            .arg("1.5")
            .arg("ann")
            .arg("-inf")
            .arg("bob")
            .arg("1e-300")
            .arg("cy")
            .clone(),
    );
    for j in 0..1_500u32 {
        cmds.push(
            cmd("RPUSH")
                .arg("big:list")
                .arg(format!("item {j}"))
                .clone(),
        );
        cmds.push(
            cmd("HSET")
                .arg("big:hash")
                .arg(format!("f{j}"))
                .arg(j)
                .clone(),
        );
        cmds.push(
            cmd("ZADD")
                .arg("big:zset")
                .arg(f64::from(j) / 7.0)
                .arg(format!("m{j}"))
                .clone(),
        );
        cmds.push(
            cmd("XADD")
                .arg("events")
                .arg(format!("{}-{j}", 1_700_000_000_000u64))
                .arg("kind")
                .arg("click")
                .arg("n")
                .arg(j)
                .clone(),
        );
    }
    cmds.push(
        cmd("SET")
            .arg(vec![0xffu8, b':', 1])
            .arg(vec![0u8; 70_000])
            .clone(),
    );
    cmds.push(cmd("SET").arg("用户:😀").arg("").clone());
    cmds.push(cmd("SET").arg("huge:1").arg("x".repeat(1 << 20)).clone());
    db.pipe(cmds);
}

#[test]
fn live_and_rdb_copies_of_a_keyspace_are_identical_and_an_rdb_copy_resumes_exactly_once() {
    let mut db = TestDb::new(dbs::LIVE_AND_RDB);
    load(&mut db);
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.ldb");
    migrate_verified(&db.url, &live, &[]);

    let file = dir.path().join("dump.rdb");
    snapshot(&file);
    let database = db.db.to_string();
    let from_file = dir.path().join("file.ldb");
    let report = r2l_ok(&[
        "migrate",
        "--from-dump",
        p(&file),
        "--db",
        &database,
        "--target",
        p(&from_file),
        "--verify",
        "--json",
        "--quiet",
    ])
    .json();
    assert_all_equal(&report);
    let a = checksums(&live);
    assert!(a.len() >= 9, "{a:?}");
    assert_eq!(a, checksums(&from_file), "live and RDB copies differ");
    // The store copied from the file verifies against the server too.
    verified_equal(&db.url, &from_file);

    // Killed after two commits (as kill -9 would), then run again: every row once.
    let resumed = dir.path().join("resumed.ldb");
    let args = [
        "migrate",
        "--from-dump",
        p(&file),
        "--db",
        &database,
        "--target",
        p(&resumed),
        "--quiet",
        "--batch-size",
        "2000",
    ];
    let killed = r2l_fault(&args, "abort:committed:2");
    assert_ne!(killed.code, 0, "the run was to die: {}", killed.all());
    let partial: u64 = counts(&resumed).values().sum();
    let whole: u64 = counts(&live).values().sum();
    assert!(partial > 0 && partial < whole, "{partial} of {whole}");
    r2l_ok(&args);
    assert_eq!(checksums(&resumed), a, "the resumed copy differs");
    assert_eq!(runs(&resumed).last().unwrap().0, "completed");
}

#[test]
fn the_redis7_file_with_every_encoding_copies_and_verifies() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("fx.ldb");
    let report = r2l_ok(&[
        "migrate",
        "--from-dump",
        p(&fixture()),
        "--db",
        "9",
        "--target",
        p(&target),
        "--verify",
        "--json",
        "--quiet",
    ])
    .json();
    assert_all_equal(&report);
    let c = counts(&target);
    assert_eq!(c["l_big"], 300);
    assert_eq!(c["set_big"], 600);
    // Bytes 00..ff as a BLOB, a 64-bit integer as BIGINT.
    let bin = rows(&target, "s_bin");
    assert_eq!(bin[0][1], Value::Blob((0..=255u8).collect()));
    assert_eq!(rows(&target, "s_i64min")[0][1], Value::Int(i64::MIN));
    // What is not copied is said: consumer groups and the function library.
    let schema = r2l_ok(&[
        "convert-schema",
        "--from-dump",
        p(&fixture()),
        "--db",
        "9",
        "--json",
    ]);
    let text = schema.all();
    assert!(text.contains("consumer groups"), "{text}");
    assert!(text.contains("function libraries"), "{text}");
    assert!(text.contains("logical database 10"), "{text}");
}

#[test]
fn standard_input_gives_the_same_tables_as_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let from_file = dir.path().join("file.ldb");
    r2l_ok(&[
        "migrate",
        "--from-dump",
        p(&fixture()),
        "--db",
        "9",
        "--target",
        p(&from_file),
        "--quiet",
    ]);
    let piped = dir.path().join("piped.ldb");
    let bytes = std::fs::read(fixture()).unwrap();
    let r = run_with_stdin(
        Command::new(tool()).args([
            "migrate",
            "--from-dump",
            "-",
            "--db",
            "9",
            "--target",
            p(&piped),
            "--verify",
            "--quiet",
        ]),
        &bytes,
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(checksums(&piped), checksums(&from_file));
    // Nothing of the spooled input is left beside the target.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with('.'))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[test]
fn truncated_damaged_and_foreign_files_are_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = std::fs::read(fixture()).unwrap();
    let cases: [(&str, Vec<u8>, &str); 4] = [
        ("truncated", bytes[..bytes.len() / 2].to_vec(), "truncated"),
        (
            "damaged",
            {
                let mut b = bytes.clone();
                let at = b.len() - 100;
                b[at] ^= 0x5a;
                b
            },
            "",
        ),
        (
            "foreign",
            b"PGDMP not a redis file".to_vec(),
            "not an RDB file",
        ),
        (
            "newer",
            b"REDIS0099\xff\0\0\0\0\0\0\0\0".to_vec(),
            "RDB version 99",
        ),
    ];
    for (name, content, needle) in cases {
        let file = dir.path().join(format!("{name}.rdb"));
        std::fs::write(&file, &content).unwrap();
        let target = dir.path().join(format!("{name}.ldb"));
        let r = r2l(&["migrate", "--from-dump", p(&file), "--target", p(&target)]);
        assert_clean_error(&r, 1, needle);
        assert!(
            r.stderr.contains(&*file.to_string_lossy()),
            "{name}: the file is named: {}",
            r.stderr
        );
        assert!(!target.exists(), "{name}: nothing is written");
    }
}
