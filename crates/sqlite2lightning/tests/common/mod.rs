//! Helpers shared by the integration tests: run the tools, build SQLite files.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_sqlite2lightning"))
}

/// The `lightning` binary, built beside this crate's binary by `cargo test --workspace`.
pub fn lightning() -> PathBuf {
    let p = tool().with_file_name(format!("lightning{}", std::env::consts::EXE_SUFFIX));
    assert!(p.exists(), "{} is missing: build the workspace first (`cargo build --workspace` or `cargo xtask test`)", p.display());
    p
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn run(bin: &Path, args: &[&str]) -> Run {
    finish(Command::new(bin).args(args).output().expect("tool runs"))
}

pub fn s2l(args: &[&str]) -> Run {
    run(&tool(), args)
}

pub fn light(args: &[&str]) -> Run {
    run(&lightning(), args)
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// A SQLite file built from SQL.
pub fn sqlite_db(dir: &Path, name: &str, sql: &str) -> PathBuf {
    let path = dir.join(name);
    let conn = rusqlite::Connection::open(&path).expect("create sqlite");
    conn.execute_batch(sql).expect("sql runs");
    path
}

/// An error run: non-zero exit, one `error:` line, no panic.
pub fn assert_clean_error(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "exit code; stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line expected: {}", r.stderr);
    assert!(lines[0].contains(needle), "`{needle}` not in: {}", lines[0]);
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
