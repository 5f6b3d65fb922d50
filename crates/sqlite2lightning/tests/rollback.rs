//! The way back to SQLite: what SQL wrote on the store after the migration, as a
//! script sqlite3 runs (`lightning export --format sql --dialect sqlite --since`),
//! makes the source equal to the store again; a whole table loads the same way.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn sqlite3(db: &Path, script: &str) {
    let r = lightning_testkit::run_with_stdin(
        Command::new("sqlite3").arg("-bail").arg(db),
        script.as_bytes(),
    );
    assert_eq!(r.code, 0, "sqlite3: {}\n{script}", r.stderr);
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
fn every_type_goes_back_to_a_fresh_file_equal_and_into_postgresql() {
    let dir = tempfile::tempdir().unwrap();
    // With keys, constraints and indexes the script must recreate as they were.
    let db = sqlite_db(
        dir.path(),
        "every.sqlite",
        &format!(
            "{EVERY_TYPE}
             CREATE TABLE parent (id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL DEFAULT 'it''s',
               score REAL DEFAULT -1.5 CHECK (score < 100), at TEXT DEFAULT CURRENT_TIMESTAMP,
               n INTEGER DEFAULT (1 + 1), UNIQUE (name), CONSTRAINT positive CHECK (id > 0));
             CREATE TABLE child (id INTEGER PRIMARY KEY, parent INTEGER REFERENCES parent (id) ON DELETE CASCADE);
             CREATE INDEX child_parent ON child (parent);
             INSERT INTO parent (name, score) VALUES ('a', 1), ('b', NULL);
             INSERT INTO child VALUES (1, 1), (2, NULL);"
        ),
    );
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
    // An empty file: the script creates the tables, then fills them.
    let fresh = sqlite_db(dir.path(), "fresh.sqlite", "");
    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--dialect",
        "sqlite",
        "--schema",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.stderr, "", "{}", r.stdout);
    sqlite3(&fresh, &r.stdout);
    let v = s2l(&["verify", "--source", p(&fresh), "--target", p(&store)]);
    assert_eq!(v.code, 0, "verify: {}\n{}", v.stdout, v.stderr);

    // The same store into PostgreSQL, with PostgreSQL's types.
    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--dialect",
        "postgres",
        "--schema",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // SQLite's check and expression default are not PostgreSQL's SQL: reported,
    // not written.
    assert!(
        r.stderr
            .contains("note: parent: CHECK (id > 0) is in another database's SQL"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("note: parent.n: the default `1 + 1`"),
        "{}",
        r.stderr
    );
    let name = format!("s2l_cross_{}", std::process::id());
    psql(
        "postgres",
        &format!("DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name};"),
    );
    psql(&name, &r.stdout);
    let got = psql(
        &name,
        "SELECT count(*) FROM every_type;
         SELECT d::text || ' ' || t FROM every_type WHERE id = 1;
         SELECT r FROM every_type WHERE id = 2;
         INSERT INTO parent (name) VALUES ('c') RETURNING id;
         SELECT name FROM parent p JOIN child c ON c.parent = p.id;",
    );
    // Exact decimals, the infinities, and the identity going on after the rows.
    assert_eq!(got, "6\n12345678.123456 \n-Infinity\n3\na\n", "{got}");
    let fk = psql(
        &name,
        "SELECT count(*) FROM pg_constraint WHERE contype = 'f'",
    );
    assert_eq!(fk.trim(), "1");
    psql("postgres", &format!("DROP DATABASE {name}"));
}

/// `psql` on a database of the test server, stopping at the first error.
fn psql(db: &str, script: &str) -> String {
    let base = std::env::var("PG2L_TEST_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into());
    let url = format!("{}/{db}", base.rsplit_once('/').map_or(&*base, |(b, _)| b));
    let r = lightning_testkit::run_with_stdin(
        Command::new("psql").args(["-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", &url]),
        script.as_bytes(),
    );
    assert_eq!(r.code, 0, "psql: {}\n{script}", r.stderr);
    r.stdout
}
