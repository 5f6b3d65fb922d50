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

/// Every SQLite storage class and declared type the tool maps, with edge values (and
/// a keyless table and a WITHOUT ROWID compound key).
pub const EVERY_TYPE: &str = r#"
CREATE TABLE every_type (
    id INTEGER PRIMARY KEY,
    i BIGINT,
    b BOOLEAN,
    r REAL,
    d DECIMAL(24,6),
    t TEXT,
    v VARCHAR(10),
    bl BLOB,
    dt DATE,
    ts DATETIME,
    tm TIME,
    j JSON,
    u UUID,
    untyped
);
INSERT INTO every_type VALUES (1, 9223372036854775807, 1, 9e999, '12345678.123456', '', 'x', x'', '2024-02-29', '2024-01-01 12:34:56.123456', '23:59:59.999999', '{"a":[1,2.50,null]}', '67e55044-10b1-426f-9247-bb680e5fe0c8', 1);
INSERT INTO every_type VALUES (2, -9223372036854775808, 0, -9e999, '-0.000001', 'Zoë 東京 🚀', 'line
break', x'00ff0000', '0001-01-01', '1969-12-31 23:59:59', '00:00:00', '[]', '00000000-0000-0000-0000-000000000000', -5);
INSERT INTO every_type VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
INSERT INTO every_type VALUES (4, 0, 1, -0.0, 0, 'quote'' "double"', '', x'0a0d09', '9999-12-31', '2000-02-29T00:00:00', '12:00', 'null', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF', 0);
INSERT INTO every_type VALUES (5, 42, 0, 0.1, 19.99, 'tab	and nul-free text', ' padded ', randomblob(0), '1970-01-01', '1970-01-01 00:00:00.000001', '01:02:03.5', '{"nested":{"k":"é"}}', '67E55044-10B1-426F-9247-BB680E5FE0C8', 9);
INSERT INTO every_type VALUES (6, 1, 1, 1e-300, '1e3', 'x', 'y', x'ff', '2024-12-31', '2024-12-31 23:59:59.999999', '00:00:00.000001', '"text"', '11111111-2222-3333-4444-555555555555', 10);
CREATE TABLE no_key (a TEXT, b INTEGER);
INSERT INTO no_key VALUES ('same', 1), ('same', 1), (NULL, NULL);
CREATE TABLE composite (k1 TEXT, k2 INTEGER, val REAL, PRIMARY KEY (k1, k2)) WITHOUT ROWID;
INSERT INTO composite VALUES ('b', 2, 1.5), ('a', 10, 2.5), ('a', 9, NULL);
"#;

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
