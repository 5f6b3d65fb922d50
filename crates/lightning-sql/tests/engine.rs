//! The engine on a real store: every Lightning type through SQL and back exactly,
//! scans narrowed by keys and indexes giving the same rows as full scans, and
//! each statement one change.

use std::sync::Arc;

use lightning_core::ddl::parse_schema;
use lightning_core::{Store, Value};
use lightning_sql::access::{self, Access};
use lightning_sql::transaction::Session;
use lightning_sql::{Engine, Outcome};

mod common;
use common::{cells, rows, rt, run};

fn engine(ddl: &str) -> (tempfile::TempDir, Engine) {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::create_or_open(dir.path().join("t.ldb")).unwrap();
    for t in parse_schema(ddl).unwrap() {
        store.create_table(&t).unwrap();
    }
    (dir, Engine::new(Arc::new(store)))
}

#[test]
fn every_type_goes_through_sql_exactly() {
    let (_d, e) = engine(
        "CREATE TABLE t (id INTEGER NOT NULL, b BOOLEAN, s SMALLINT, big BIGINT, f FLOAT, d DOUBLE,
           m DECIMAL(12,2), wide DECIMAL(50,10), free DECIMAL, tx TEXT, bl BLOB, dt DATE, tm TIME,
           ts TIMESTAMP, tz TIMESTAMPTZ, j JSON, u UUID, PRIMARY KEY (id));",
    );
    run(
        &e,
        "INSERT INTO t VALUES
          (1, true, -32768, 9223372036854775807, 1.5, 0.1, 1234567890.05,
           '1234567890123456789012345678901234567890.0123456789', '3.14159265358979323846264338327950288',
           'Grüße, 世界', X'00ff10', '1969-07-20', '23:59:59.999999', '1899-12-31 23:59:59.5',
           '2262-04-11 23:47:16.854775+00', '{\"a\": [1, 2.50]}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
          (2, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)",
    )
    .unwrap();
    let got = rows(&e, "SELECT * FROM t ORDER BY id");
    assert_eq!(
        got[0],
        [
            "1",
            "t",
            "-32768",
            "9223372036854775807",
            "1.5",
            "0.1",
            "1234567890.05",
            "1234567890123456789012345678901234567890.0123456789",
            "3.14159265358979323846264338327950288",
            "Grüße, 世界",
            "\\x00ff10",
            "1969-07-20",
            "23:59:59.999999",
            "1899-12-31 23:59:59.5",
            "2262-04-11 23:47:16.854775+00",
            "{\"a\": [1, 2.50]}",
            "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"
        ]
    );
    assert!(got[1][1..].iter().all(|c| c == "NULL"), "{:?}", got[1]);
    // The store holds the same values as the Lightning values they stand for.
    let row = e.store().get("t", &[Value::Int(1)]).unwrap().unwrap();
    assert_eq!(row[6].to_text().unwrap(), "1234567890.05");
    assert_eq!(row[13].to_text().unwrap(), "1899-12-31 23:59:59.500000");
    assert_eq!(row[15], Value::Json("{\"a\": [1, 2.50]}".into()));
    // Sums of DECIMAL stay exact.
    run(&e, "INSERT INTO t (id, m) VALUES (3, 0.10), (4, 0.20)").unwrap();
    assert_eq!(rows(&e, "SELECT sum(m) FROM t WHERE id > 2"), [["0.30"]]);
}

#[test]
fn values_a_column_cannot_hold_are_refused_by_name() {
    let (_d, e) = engine(
        "CREATE TABLE t (id INTEGER NOT NULL, m DECIMAL(4,2), j JSON, u UUID, PRIMARY KEY (id));",
    );
    let err = |sql: &str| run(&e, sql).unwrap_err().to_string();
    assert!(err("INSERT INTO t (id, j) VALUES (1, 'not json')").contains("column `j`"));
    assert!(err("INSERT INTO t (id, u) VALUES (1, 'nope')").contains("column `u`"));
    assert!(err("INSERT INTO t (id) VALUES (NULL)").contains("NOT NULL"));
    assert!(rows(&e, "SELECT count(*) FROM t") == [["0"]]);
}

#[test]
fn narrowed_scans_give_the_rows_a_full_scan_gives() {
    let (_d, e) = engine(
        "CREATE TABLE t (a INTEGER NOT NULL, b TEXT NOT NULL, c INTEGER, u TEXT, PRIMARY KEY (a, b));
         CREATE UNIQUE INDEX t_u ON t (u);
         CREATE INDEX t_c ON t (c);
         CREATE TABLE plain (a INTEGER, b TEXT, c INTEGER, u TEXT);",
    );
    let mut values = Vec::new();
    for a in 0..60 {
        for b in ["x", "y", "ünï"] {
            values.push(format!("({a}, '{b}', {}, 'u{a}{b}')", a % 7));
        }
    }
    run(&e, &format!("INSERT INTO t VALUES {}", values.join(", "))).unwrap();
    // The same rows where nothing narrows a scan.
    run(&e, "INSERT INTO plain SELECT * FROM t").unwrap();
    let cases = [
        "a = 5 AND b = 'y'",
        "a IN (3, 4) AND b IN ('x', 'ünï')",
        "a > 50",
        "a >= 50 AND a < 55",
        "a <= 2",
        "10 < a AND a < 13",
        "u = 'u7ünï'",
        "c = 3",
        "c = 3 AND a > 40",
        "b = 'x'",
    ];
    for cond in cases {
        let narrowed = rows(&e, &format!("SELECT * FROM t WHERE {cond} ORDER BY a, b"));
        let full = rows(
            &e,
            &format!("SELECT * FROM plain WHERE {cond} ORDER BY a, b"),
        );
        assert_eq!(narrowed, full, "{cond}");
        assert!(!narrowed.is_empty(), "{cond} matches rows");
    }
    // And the scan was narrowed the way the conditions allow.
    let t = e.store().table("t").unwrap();
    let plan = |cond: &str| {
        let ctx = e.context();
        let df = rt()
            .block_on(ctx.sql(&format!("SELECT * FROM t WHERE {cond}")))
            .unwrap();
        let filters: Vec<_> =
            datafusion::logical_expr::utils::split_conjunction(&match df.logical_plan() {
                datafusion::logical_expr::LogicalPlan::Projection(p) => match p.input.as_ref() {
                    datafusion::logical_expr::LogicalPlan::Filter(f) => f.predicate.clone(),
                    other => panic!("{other:?}"),
                },
                other => panic!("{other:?}"),
            })
            .into_iter()
            .cloned()
            .collect();
        access::choose(&t, &filters)
    };
    assert!(matches!(plan("a = 5 AND b = 'y'"), Access::Keys(k) if k.len() == 1));
    assert!(matches!(plan("a IN (3, 4) AND b IN ('x', 'y')"), Access::Keys(k) if k.len() == 4));
    assert!(matches!(plan("a > 50"), Access::Range(..)));
    assert!(matches!(plan("u = 'u7x'"), Access::Index(n, _) if n == "t_u"));
    assert!(matches!(plan("c = 3"), Access::Index(n, _) if n == "t_c"));
    assert!(matches!(plan("b = 'x'"), Access::All));
}

#[test]
fn a_statement_is_one_change() {
    let (_d, e) = engine(
        "CREATE TABLE t (id INTEGER NOT NULL, v TEXT, PRIMARY KEY (id));
         CREATE UNIQUE INDEX t_v ON t (v);",
    );
    run(&e, "INSERT INTO t VALUES (1, 'a'), (2, 'b'), (3, 'c')").unwrap();
    // The last row breaks the unique index: nothing of the statement stays.
    let err = run(&e, "UPDATE t SET v = 'z' WHERE id >= 2").unwrap_err();
    assert!(err.to_string().contains("t_v"), "{err}");
    assert_eq!(err.sqlstate(), "23505");
    assert_eq!(
        rows(&e, "SELECT v FROM t ORDER BY id"),
        [["a"], ["b"], ["c"]]
    );
    // A key may change; the old row goes.
    run(&e, "UPDATE t SET id = id + 10 WHERE id = 3").unwrap();
    assert_eq!(
        rows(&e, "SELECT id FROM t ORDER BY id"),
        [["1"], ["2"], ["13"]]
    );
    assert!(e.store().get("t", &[Value::Int(3)]).unwrap().is_none());
    // The change log has each statement's keys; the refused statement left none.
    let logged: Vec<(Vec<u8>, bool)> = e
        .store()
        .changes_since(0)
        .unwrap()
        .into_iter()
        .map(|c| (c.key, c.deleted))
        .collect();
    let key = |id: i64| e.store().encode_table_key("t", &[Value::Int(id)]).unwrap();
    assert_eq!(
        logged,
        [
            (key(1), false),
            (key(2), false),
            (key(3), false),
            (key(3), true),
            (key(13), false)
        ]
    );
    let out = run(&e, "DELETE FROM t WHERE v < 'c'").unwrap();
    assert!(
        matches!(out[..], [Outcome::Changed("DELETE", 2)]),
        "{out:?}"
    );
    assert_eq!(e.store().count("t").unwrap(), 1);
    run(&e, "TRUNCATE t").unwrap();
    assert_eq!(e.store().count("t").unwrap(), 0);
    for refused in [
        "UPDATE t SET v = 'q' FROM t AS o WHERE o.id = t.id",
        "INSERT INTO t VALUES (5, 'e') RETURNING id",
        "CREATE VIEW w AS SELECT 1",
        "ALTER TABLE t ADD COLUMN x INTEGER",
    ] {
        let err = run(&e, refused).unwrap_err();
        assert_eq!(err.sqlstate(), "0A000", "{refused}: {err}");
    }
}

#[test]
fn tables_without_a_key_take_sql_writes() {
    let (_d, e) = engine("CREATE TABLE log (at INTEGER, msg TEXT);");
    run(&e, "INSERT INTO log VALUES (1, 'a'), (1, 'a'), (2, 'b')").unwrap();
    run(&e, "UPDATE log SET msg = 'c' WHERE at = 2").unwrap();
    let out = run(&e, "DELETE FROM log WHERE at = 1").unwrap();
    assert!(
        matches!(out[..], [Outcome::Changed("DELETE", 2)]),
        "{out:?}"
    );
    assert_eq!(rows(&e, "SELECT at, msg FROM log"), [["2", "c"]]);
}

/// Run `sql` as `session` (a client's connection in `serve`).
fn run_as(
    e: &Engine,
    session: &Arc<Session>,
    sql: &str,
) -> Result<Vec<Outcome>, lightning_sql::SqlError> {
    rt().block_on(session.clone().scope(e.run(sql)))
}

#[test]
fn a_transaction_block_sees_its_own_writes_and_rollback_leaves_the_store() {
    let (_d, e) = engine("CREATE TABLE t (id INTEGER NOT NULL, v TEXT, PRIMARY KEY (id));");
    run(&e, "INSERT INTO t VALUES (2, 'b'), (4, 'd'), (6, 'f')").unwrap();
    let a = Arc::new(Session::default());
    run_as(
        &e,
        &a,
        "BEGIN; INSERT INTO t VALUES (1, 'a'), (5, 'e'), (9, 'i');
         UPDATE t SET v = 'D' WHERE id = 4; DELETE FROM t WHERE id = 6",
    )
    .unwrap();
    let seen = |sql: &str| cells(sql, run_as(&e, &a, sql).unwrap());
    // The block reads its rows merged with the store's, by every access path.
    assert_eq!(
        seen("SELECT id, v FROM t ORDER BY id"),
        [["1", "a"], ["2", "b"], ["4", "D"], ["5", "e"], ["9", "i"]]
    );
    assert_eq!(seen("SELECT v FROM t WHERE id = 4"), [["D"]]);
    assert!(seen("SELECT v FROM t WHERE id = 6").is_empty());
    assert_eq!(
        seen("SELECT id FROM t WHERE id > 3 AND id < 9 ORDER BY id"),
        [["4"], ["5"]]
    );
    assert_eq!(seen("SELECT count(*) FROM t"), [["5"]]);
    // No one else sees them, and the store has none of them.
    assert_eq!(
        rows(&e, "SELECT id, v FROM t ORDER BY id"),
        [["2", "b"], ["4", "d"], ["6", "f"]]
    );
    // A key the block inserted is taken within it; the failed statement changes nothing.
    let err = run_as(&e, &a, "INSERT INTO t VALUES (3, 'c'), (5, 'x')").unwrap_err();
    assert_eq!(err.sqlstate(), "23505", "{err}");
    assert!(seen("SELECT id FROM t WHERE id = 3").is_empty());
    let logged = e.store().changes_since(0).unwrap().len();
    run_as(&e, &a, "ROLLBACK").unwrap();
    assert_eq!(
        rows(&e, "SELECT id, v FROM t ORDER BY id"),
        [["2", "b"], ["4", "d"], ["6", "f"]]
    );
    assert!(!a.in_block());
    // Nothing of the block reached the change log.
    assert_eq!(e.store().changes_since(0).unwrap().len(), logged);
}

#[test]
fn commit_writes_every_table_at_once_and_refuses_what_changed_meanwhile() {
    let (_d, e) = engine(
        "CREATE TABLE acct (id INTEGER NOT NULL, balance INTEGER, PRIMARY KEY (id));
         CREATE TABLE moves (id INTEGER NOT NULL, amount INTEGER, PRIMARY KEY (id));",
    );
    run(&e, "INSERT INTO acct VALUES (1, 100), (2, 50)").unwrap();
    let a = Arc::new(Session::default());
    run_as(
        &e,
        &a,
        "BEGIN; UPDATE acct SET balance = balance - 30 WHERE id = 1;
         UPDATE acct SET balance = balance + 30 WHERE id = 2;
         INSERT INTO moves VALUES (1, 30); COMMIT",
    )
    .unwrap();
    assert_eq!(
        rows(&e, "SELECT balance FROM acct ORDER BY id"),
        [["70"], ["80"]]
    );
    assert_eq!(rows(&e, "SELECT amount FROM moves"), [["30"]]);
    // Another session changes a row the block changed: COMMIT refuses, nothing of
    // the block is written, and the other session's change stays.
    run_as(
        &e,
        &a,
        "BEGIN; UPDATE acct SET balance = 0 WHERE id = 1; INSERT INTO moves VALUES (2, 70)",
    )
    .unwrap();
    run(&e, "UPDATE acct SET balance = 71 WHERE id = 1").unwrap();
    let err = run_as(&e, &a, "COMMIT").unwrap_err();
    assert_eq!(err.sqlstate(), "40001", "{err}");
    assert!(err.to_string().contains("run it again"), "{err}");
    assert_eq!(
        rows(&e, "SELECT balance FROM acct ORDER BY id"),
        [["71"], ["80"]]
    );
    assert_eq!(rows(&e, "SELECT count(*) FROM moves"), [["1"]]);
    assert!(!a.in_block());
    // A key another session took meanwhile fails the COMMIT as a duplicate.
    run_as(
        &e,
        &a,
        "BEGIN; INSERT INTO moves VALUES (3, 1); INSERT INTO acct VALUES (3, 1)",
    )
    .unwrap();
    run(&e, "INSERT INTO moves VALUES (3, 2)").unwrap();
    let err = run_as(&e, &a, "COMMIT").unwrap_err();
    assert_eq!(err.sqlstate(), "23505", "{err}");
    assert_eq!(rows(&e, "SELECT count(*) FROM acct"), [["2"]]);
}

#[test]
fn savepoints_undo_part_of_a_block() {
    let (_d, e) = engine(
        "CREATE TABLE t (id INTEGER NOT NULL, v TEXT, PRIMARY KEY (id));
         CREATE TABLE log (at INTEGER, msg TEXT);",
    );
    run(
        &e,
        "BEGIN; INSERT INTO t VALUES (1, 'a'); SAVEPOINT s1; INSERT INTO t VALUES (2, 'b');
         SAVEPOINT s2; DELETE FROM t; ROLLBACK TO SAVEPOINT s2; ROLLBACK TO s1;
         INSERT INTO t VALUES (3, 'c'); RELEASE SAVEPOINT s1; COMMIT",
    )
    .unwrap();
    assert_eq!(rows(&e, "SELECT id FROM t ORDER BY id"), [["1"], ["3"]]);
    let err = run(&e, "BEGIN; ROLLBACK TO nowhere").unwrap_err();
    assert!(err.to_string().contains("nowhere"), "{err}");
    // A table without a key takes writes outside a block only, and says so.
    let err = run(&e, "BEGIN; INSERT INTO log VALUES (1, 'x')").unwrap_err();
    assert_eq!(err.sqlstate(), "0A000", "{err}");
    assert!(err.to_string().contains("no primary key"), "{err}");
    assert_eq!(e.store().count("log").unwrap(), 0);
    // A block left open when the statements end is rolled back.
    run(&e, "BEGIN; INSERT INTO t VALUES (7, 'g')").unwrap();
    assert_eq!(e.store().count("t").unwrap(), 2);
}

#[test]
fn a_scan_cut_into_key_ranges_reads_every_row_once() {
    let (_d, e) = engine(
        "CREATE TABLE n (id BIGINT NOT NULL, PRIMARY KEY (id));
         CREATE TABLE w (k TEXT NOT NULL, PRIMARY KEY (k));",
    );
    let ids: Vec<String> = (-500..1500).map(|i| format!("({})", i * 7919)).collect();
    run(&e, &format!("INSERT INTO n VALUES {}", ids.join(", "))).unwrap();
    let words: Vec<String> = (0..700)
        .map(|i| format!("('w{i}-{}')", "é".repeat(i % 40)))
        .collect();
    run(&e, &format!("INSERT INTO w VALUES {}", words.join(", "))).unwrap();
    assert_eq!(
        rows(
            &e,
            "SELECT count(*), count(DISTINCT id), sum(id), min(id), max(id) FROM n"
        ),
        [[
            "2000",
            "2000",
            (7919i64 * 999_000).to_string().as_str(),
            "-3959500",
            "11870581"
        ]]
    );
    assert_eq!(
        rows(
            &e,
            "SELECT count(*), sum(id) FROM n WHERE id > 0 AND id <= 7919000"
        ),
        [["1000", (7919i64 * 500_500).to_string().as_str()]]
    );
    assert_eq!(
        rows(&e, "SELECT count(*), count(DISTINCT k) FROM w"),
        [["700", "700"]]
    );
}
