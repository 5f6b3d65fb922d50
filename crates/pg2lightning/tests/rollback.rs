//! The way back after a cutover: what SQL wrote on the store after the migration,
//! exported as a PostgreSQL script (`lightning export --format sql --since`) and
//! applied to the source, makes the source equal to the store again.

mod common;

use common::*;

fn psql_script(db: &TestDb, script: &str) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("back.sql");
    std::fs::write(&file, script).unwrap();
    db.psql_file(&file);
}

fn query(store: &std::path::Path, sql: &str) {
    let r = light(&["query", p(store), sql]);
    assert_eq!(r.code, 0, "{sql}: {}", r.stderr);
}

#[test]
fn sql_writes_after_the_cutover_go_back_to_the_source() {
    let db = TestDb::new("rollback");
    db.exec(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(12,2),
                                opened date, seen timestamptz, photo bytea, prefs jsonb, ratio real);
         CREATE TABLE moves (id bigint PRIMARY KEY, account bigint NOT NULL REFERENCES accounts (id),
                             amount numeric(12,2) NOT NULL, at timestamp);
         CREATE TABLE \"Odd \"\"name\"\"\" (k text PRIMARY KEY, v int);
         INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.25, DATE '2020-01-01' + g,
                TIMESTAMPTZ '2024-01-01 00:00:00+00' + g * INTERVAL '1 hour', '\\x00ff'::bytea,
                jsonb_build_object('g', g), g / 3.0 FROM generate_series(1, 50) g;
         INSERT INTO moves SELECT g, 1 + g % 50, g * 0.5, TIMESTAMP '2024-06-01' FROM generate_series(1, 100) g;
         INSERT INTO \"Odd \"\"name\"\"\" VALUES ('a', 1), ('b', 2);",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&store),
        "--quiet",
    ]);
    let run = runs(&store).last().unwrap()["id"]
        .as_u64()
        .unwrap()
        .to_string();

    // Nothing written since the run: an empty script.
    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--since",
        &run,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        !r.stdout.contains("INSERT") && !r.stdout.contains("DELETE"),
        "{}",
        r.stdout
    );

    // The application writes on Lightning after the cutover.
    query(&store, "INSERT INTO accounts (id, owner, balance, opened, seen, photo, prefs, ratio) VALUES (51, 'O''Brien \\ ü', 0.10, DATE '1999-12-31', TIMESTAMP '2026-11-26 10:00:00.123456', X'0a0d00', '{\"new\": [1, \"x\"]}', 0.1)");
    query(&store, "INSERT INTO moves VALUES (101, 51, 9.99, NULL)");
    query(
        &store,
        "UPDATE accounts SET balance = balance + 100, owner = 'moved\ttab' WHERE id <= 3",
    );
    query(&store, "DELETE FROM moves WHERE account = 7");
    query(&store, "DELETE FROM accounts WHERE id = 7");
    query(&store, "UPDATE moves SET amount = -1.50 WHERE id = 10");
    query(&store, "DELETE FROM \"Odd \"\"name\"\"\" WHERE k = 'a'");
    query(
        &store,
        "INSERT INTO \"Odd \"\"name\"\"\" VALUES ('c', NULL)",
    );

    let r = light(&[
        "export",
        p(&store),
        "--all",
        "--format",
        "sql",
        "--since",
        &run,
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("to delete"), "{}", r.stderr);
    psql_script(&db, &r.stdout);
    let v = p2l(&["verify", "--source", &db.url, "--target", p(&store)]);
    assert_eq!(
        v.code, 0,
        "verify after the way back: {}\n{}\n{}",
        v.stdout, v.stderr, r.stdout
    );

    // Applying it twice changes nothing.
    psql_script(&db, &r.stdout);
    let v = p2l(&["verify", "--source", &db.url, "--target", p(&store)]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    // A whole table as COPY loads into an empty copy of it.
    let r = light(&["export", p(&store), "accounts", "--format", "sql"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    db.exec("TRUNCATE moves, accounts");
    psql_script(&db, &r.stdout);
    let (n,): (i64,) = {
        let row = db
            .client()
            .query_one("SELECT count(*) FROM accounts", &[])
            .unwrap();
        (row.get(0),)
    };
    assert_eq!(n, 50);
}
