//! The way back to SQLite: what SQL wrote on the store after the migration, as a
//! script sqlite3 runs (`lightning export --format sql --dialect sqlite --since`),
//! makes the source equal to the store again; a whole table loads the same way.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::*;

fn sqlite3(db: &Path, script: &str) {
    let mut child = Command::new("sqlite3")
        .arg("-bail")
        .arg(db)
        .stdin(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("sqlite3 runs (`cargo xtask test` installs it)");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(script.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "sqlite3: {}\n{script}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn query(store: &Path, sql: &str) {
    let r = light(&["query", p(store), sql]);
    assert_eq!(r.code, 0, "{sql}: {}", r.stderr);
}

const SCHEMA: &str = "
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(10,2),
                    added DATE, seen DATETIME, data BLOB, active BOOLEAN, ratio REAL);
CREATE TABLE \"odd 'name'\" (k TEXT PRIMARY KEY, v INTEGER);
";

#[test]
fn sql_writes_after_the_cutover_go_back_to_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "app.db",
        &format!(
            "{SCHEMA}
             INSERT INTO items VALUES (1, 'one', 1.50, '2024-01-01', '2024-01-01 10:00:00', X'00ff', 1, 0.5),
                                      (2, 'two', 2.25, '2024-01-02', '2024-01-02 10:00:00', NULL, 0, 1e-300),
                                      (3, 'three', NULL, NULL, NULL, X'', NULL, NULL);
             INSERT INTO \"odd 'name'\" VALUES ('a', 1), ('b', 2);"
        ),
    );
    let store = dir.path().join("app.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&store),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    query(&store, "INSERT INTO items VALUES (4, 'it''s \"new\" ü', 9.99, DATE '1999-12-31', TIMESTAMP '2026-11-26 10:00:00.5', X'0a0d', true, 0.1)");
    query(
        &store,
        "UPDATE items SET price = price + 1, active = false WHERE id = 1",
    );
    query(&store, "DELETE FROM items WHERE id = 2");
    query(&store, "DELETE FROM \"odd 'name'\" WHERE k = 'a'");
    query(&store, "INSERT INTO \"odd 'name'\" VALUES ('c', NULL)");

    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--dialect",
        "sqlite",
        "--since",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    sqlite3(&db, &r.stdout);
    let v = s2l(&["verify", "--source", p(&db), "--target", p(&store)]);
    assert_eq!(
        v.code, 0,
        "verify: {}\n{}\n{}",
        v.stdout, v.stderr, r.stdout
    );
    // Twice: nothing changes.
    sqlite3(&db, &r.stdout);
    let v = s2l(&["verify", "--source", p(&db), "--target", p(&store)]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    // Every row, into a new file with the same tables.
    let fresh = sqlite_db(dir.path(), "fresh.db", SCHEMA);
    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--dialect",
        "sqlite",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    sqlite3(&fresh, &r.stdout);
    let v = s2l(&["verify", "--source", p(&fresh), "--target", p(&store)]);
    assert_eq!(v.code, 0, "{}\n{}", v.stdout, v.stderr);
}

#[test]
fn every_type_goes_back_to_a_fresh_file_equal() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "every.sqlite", EVERY_TYPE);
    let store = dir.path().join("every.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&store),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The same tables, empty.
    let schema: String = EVERY_TYPE
        .split(';')
        .filter(|s| s.trim_start().starts_with("CREATE"))
        .map(|s| format!("{s};"))
        .collect();
    let fresh = sqlite_db(dir.path(), "fresh.sqlite", &schema);
    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--dialect",
        "sqlite",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    sqlite3(&fresh, &r.stdout);
    let v = s2l(&["verify", "--source", p(&fresh), "--target", p(&store)]);
    assert_eq!(v.code, 0, "verify: {}\n{}", v.stdout, v.stderr);
}
