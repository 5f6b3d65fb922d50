//! Helpers shared by the integration tests: run the tools, build SQLite files.

#![allow(dead_code)]

// Each test file uses some of them.
#[allow(unused_imports)]
pub use lightning_testkit::{assert_clean_error, p, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sqlite2lightning"))
}

/// The `lightning` binary, built beside this crate's binary by `cargo test --workspace`.
pub fn lightning() -> PathBuf {
    lightning_testkit::lightning_beside(&tool())
}

pub fn run(bin: &Path, args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(bin).args(args))
}

pub fn s2l(args: &[&str]) -> Run {
    run(&tool(), args)
}

pub fn light(args: &[&str]) -> Run {
    run(&lightning(), args)
}

/// A SQLite file built from SQL.
pub fn sqlite_db(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    let conn = rusqlite::Connection::open(&path).expect("create sqlite");
    conn.execute_batch(sql).expect("sql runs");
    path
}

/// `sqlite2lightning export --source DB | lightning import STORE`, both succeeding.
pub fn export_into(db: &Path, store: &Path) {
    use std::io::Write;
    use std::process::Stdio;
    let export = Command::new(tool())
        .args(["export", "--source", p(db)])
        .output()
        .expect("export runs");
    assert!(
        export.status.success(),
        "{}",
        String::from_utf8_lossy(&export.stderr)
    );
    let mut child = Command::new(lightning())
        .args(["import", p(store)])
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("import runs");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(&export.stdout)
        .expect("stream written");
    let out = child.wait_with_output().expect("import ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `migrate --verify --json` with `extra` options, which must succeed: its report.
pub fn migrate_verified(db: &Path, target: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "migrate",
        "--source",
        p(db),
        "--target",
        p(target),
        "--verify",
        "--json",
    ];
    args.extend_from_slice(extra);
    let r = s2l(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
    serde_json::from_str(&r.stdout).expect("a JSON report")
}
