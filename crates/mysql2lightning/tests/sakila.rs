//! The Sakila fixtures (tests/fixtures): loaded into the server, migrated from
//! the server and from the files, verified equal.

mod common;

use common::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures");

/// The fixture files, with the hard-coded `sakila` database renamed to `db`.
fn fixture_sql(db: &str) -> String {
    let mut sql = String::new();
    for f in ["sakila-schema.sql", "sakila-data.sql"] {
        let text = std::fs::read_to_string(format!("{FIXTURES}/{f}")).expect("fixture");
        sql.push_str(
            &text
                .replace("DROP SCHEMA IF EXISTS sakila;", "")
                .replace("CREATE SCHEMA sakila;", "")
                .replace("USE sakila;", &format!("USE `{db}`;"))
                // The views name their tables with the database.
                .replace("sakila.", &format!("`{db}`.")),
        );
        sql.push('\n');
    }
    sql
}

#[test]
fn sakila_migrates_from_the_server_and_from_the_files() {
    let db = TestDb::new("sakila");
    let sql = fixture_sql(&db.name);
    db.sql(&sql);
    let dir = tempfile::tempdir().unwrap();

    // From the server: everything, verified equal.
    let server = dir.path().join("server.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&server),
        "--verify",
        "--json",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");
    assert_eq!(report["summary"]["tables"]["rental"]["rows_written"], 16044);
    assert_eq!(
        report["summary"]["tables"]["payment"]["rows_written"],
        16049
    );

    // The manual work is listed with definitions.
    let conv = m2l(&["convert-schema", "--source", &db.url(), "--json"]);
    assert_eq!(conv.code, 0, "{}", conv.stderr);
    let conv = json(&conv);
    let findings = conv["findings"].as_array().unwrap();
    for object in [
        "view actor_info",
        "procedure rewards_report",
        "function get_customer_balance",
        "trigger ins_film",
    ] {
        let f = findings
            .iter()
            .find(|f| f["object"] == object)
            .unwrap_or_else(|| panic!("{object} not reported"));
        assert_eq!(f["severity"], "manual");
        assert!(f["definition"].as_str().unwrap().len() > 20);
    }

    // From the files, read as MariaDB reads them (it skips the MySQL 5.7 `/*!50705`
    // GEOMETRY column), into another store: the same checksums, except `film_text`,
    // which the server fills with triggers while loading (a dump read does not run
    // triggers).
    let file = dir.path().join("sakila.sql");
    std::fs::write(&file, &sql).unwrap();
    let from_file = dir.path().join("file.ldb");
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&file),
        "--dump-server-version",
        "10.11-MariaDB",
        "--target",
        p(&from_file),
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let (a, b) = (checksums(&server), checksums(&from_file));
    assert_eq!(a.len(), 16);
    for (t, sum) in &a {
        if t == "film_text" {
            assert_eq!(b[t].rows, 0, "{}", b[t]);
        } else {
            assert_eq!(&b[t], sum, "{t}");
        }
    }
    let v = m2l(&[
        "verify",
        "--source",
        &db.url(),
        "--target",
        p(&from_file),
        "--exclude",
        "film_text",
    ]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    // The files verify against their own copy too.
    let v = m2l(&[
        "verify",
        "--from-dump",
        p(&file),
        "--dump-server-version",
        "10.11-MariaDB",
        "--target",
        p(&from_file),
    ]);
    assert_eq!(v.code, 0, "{}", v.stderr);

    // Read as MySQL 8 reads them, the GEOMETRY column and its SPATIAL index exist.
    let conv = m2l(&[
        "convert-schema",
        "--from-dump",
        p(&file),
        "--json",
        "--tables",
        "address",
    ]);
    assert_eq!(conv.code, 0, "{}", conv.stderr);
    let text = conv.stdout;
    assert!(text.contains("\"column\": \"location\""), "{text}");
    assert!(text.contains("SPATIAL index"), "{text}");
    let mysql8 = dir.path().join("mysql8.ldb");
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&file),
        "--target",
        p(&mysql8),
        "--tables",
        "address",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(checksums(&mysql8)["address"].rows, 603);

    // The assessment measures and scores.
    let a = m2l(&[
        "assess",
        "--source",
        &db.url(),
        "--json",
        "--sample-secs",
        "1",
    ]);
    assert_eq!(a.code, 0, "{}", a.stderr);
    let a = json(&a);
    assert!(
        a["estimate"]["rows_per_sec"].as_f64().unwrap() > 0.0,
        "{a:#}"
    );
    assert!(a["compatibility_score"].as_u64().unwrap() < 100);
    assert_eq!(a["tables"].as_array().unwrap().len(), 16);
}
