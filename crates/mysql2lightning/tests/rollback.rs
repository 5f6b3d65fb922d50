//! The way back to MySQL/MariaDB: every type written by `lightning export --format
//! sql --dialect mysql` loads into a fresh database with the source's tables and
//! verifies equal to the store; what SQL wrote on the store after the migration,
//! exported with `--since`, makes the source equal to the store again.

mod common;

use std::path::Path;

use common::*;

fn query(store: &Path, sql: &str) {
    let r = light(&["query", p(store), sql]);
    assert_eq!(r.code, 0, "{sql}: {}", r.stderr);
}

fn export(store: &Path, what: &[&str]) -> Run {
    let mut args = vec!["export", p(store)];
    args.extend(what);
    args.extend(["--format", "sql", "--dialect", "mysql"]);
    light(&args)
}

fn verify(url: &str, store: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--source", url, "--target", p(store)];
    args.extend(extra);
    m2l(&args)
}

#[test]
fn every_type_goes_back_to_a_fresh_database_equal() {
    let db = TestDb::new("back_types");
    db.sql(TYPES);
    // Constraints, defaults and keys the script must recreate as they were.
    db.sql(
        "CREATE TABLE owner (id INT AUTO_INCREMENT PRIMARY KEY,
           name VARCHAR(20) NOT NULL DEFAULT 'a\\\\b''c\\n',
           note TEXT, score INT DEFAULT -1 CHECK (score > -5),
           seen TIMESTAMP(3) NULL DEFAULT CURRENT_TIMESTAMP(3), made DATETIME DEFAULT '2024-01-01 00:00:00',
           KEY by_note (note(20)), UNIQUE KEY one_name (name), CONSTRAINT small CHECK (score < 100)
         ) AUTO_INCREMENT = 50;
         CREATE TABLE pet (id INT PRIMARY KEY, owner INT,
           CONSTRAINT pet_owner FOREIGN KEY (owner) REFERENCES owner (id) ON DELETE CASCADE);
         INSERT INTO owner (name, note, score) VALUES ('x', 'long', 5);
         INSERT INTO owner (name) VALUES ('y');
         INSERT INTO pet VALUES (1, 50), (2, NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("types.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&store),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // An empty database: the script creates the tables, then fills them. The
    // store does not mark generated columns: `gen`'s come back as plain ones,
    // holding the values they had.
    let fresh = TestDb::new("back_fresh");
    let r = export(&store, &["--all", "--schema"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("CREATE TABLE `pet`"), "{}", r.stdout);
    // Every column keeps its source type: nothing to report.
    assert_eq!(r.stderr, "", "{}", r.stdout);
    fresh.sql(&r.stdout);
    let v = verify(&fresh.url(), &store, &[]);
    assert_eq!(v.code, 0, "verify: {}\n{}", v.stdout, v.stderr);
}

#[test]
fn sql_writes_after_the_cutover_go_back_to_mysql() {
    let db = TestDb::new("back_since");
    db.sql(
        "CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(40) NOT NULL, price DECIMAL(10,2),
                             added DATE, seen DATETIME(6), data VARBINARY(10), active BOOL,
                             ratio DOUBLE);
         CREATE TABLE `odd 'name``` (k VARCHAR(10) PRIMARY KEY);
         CREATE TABLE parts (item INT, n INT, PRIMARY KEY (item, n),
                             FOREIGN KEY (item) REFERENCES items (id));
         INSERT INTO items VALUES (1, 'one', 1.50, '2024-01-01', '2024-01-01 10:00:00', X'00ff', 1, 0.5),
                                  (2, 'two', 2.25, '2024-01-02', '2024-01-02 10:00:00.25', NULL, 0, 1e-300),
                                  (3, 'three', NULL, NULL, NULL, X'', NULL, NULL);
         INSERT INTO parts VALUES (2, 1), (2, 2), (3, 1);
         INSERT INTO `odd 'name``` VALUES ('a'), ('b');",
    );
    let url = db.url();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&store),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    query(&store, "INSERT INTO items VALUES (4, 'it''s \\ \"new\" ü', 9.99, DATE '1999-12-31', TIMESTAMP '2026-11-26 10:00:00.5', X'0a0d5c27', true, 0.1)");
    query(&store, "INSERT INTO parts VALUES (4, 1)");
    query(
        &store,
        "UPDATE items SET price = price + 1, active = false WHERE id = 1",
    );
    query(&store, "DELETE FROM parts WHERE item = 2");
    query(&store, "DELETE FROM items WHERE id = 2");
    query(&store, "DELETE FROM \"odd 'name`\" WHERE k = 'a'");
    query(&store, "INSERT INTO \"odd 'name`\" VALUES ('c')");

    let r = export(&store, &["--all", "--since", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // Parents' rows before their children's, children's deletes before theirs.
    let script = r.stdout;
    let at = |s: &str| script.find(s).unwrap_or_else(|| panic!("{s} in {script}"));
    assert!(
        at("INSERT INTO `items`") < at("INSERT INTO `parts`"),
        "{script}"
    );
    assert!(
        at("DELETE FROM `parts`") < at("DELETE FROM `items`"),
        "{script}"
    );
    db.sql(&script);
    let v = verify(&url, &store, &[]);
    assert_eq!(v.code, 0, "verify: {}\n{}\n{script}", v.stdout, v.stderr);
    // Twice: nothing changes.
    db.sql(&script);
    let v = verify(&url, &store, &[]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    // A value MySQL cannot hold stops the export, naming where it is.
    query(
        &store,
        "UPDATE items SET ratio = CAST('NaN' AS DOUBLE) WHERE id = 3",
    );
    let r = export(&store, &["items"]);
    assert_clean_error(
        &r,
        1,
        "table `items`, row id=3, column `ratio`: MySQL cannot hold the number NaN",
    );
}
