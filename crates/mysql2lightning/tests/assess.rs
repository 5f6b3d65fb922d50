//! `assess` from the server, a dump file and standard input: zero dates counted and
//! recommended only when there are some; collation findings the same in every mode
//! and report; the portable schema rated as from every source.

mod common;

use std::collections::BTreeSet;
use std::path::PathBuf;

use common::*;

fn recommendations(a: &serde_json::Value) -> Vec<String> {
    a["recommendations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r.as_str().unwrap().to_string())
        .collect()
}

fn zero_date_advice(a: &serde_json::Value) -> Vec<String> {
    recommendations(a)
        .into_iter()
        .filter(|r| r.contains("zero date"))
        .collect()
}

#[test]
fn zero_dates_are_counted_and_recommended_only_when_there_are_some() {
    let dir = tempfile::tempdir().unwrap();
    let with = TestDb::new("zd_with");
    with.sql(
        "SET sql_mode = '';
         CREATE TABLE z (id INT PRIMARY KEY, d DATE, dt DATETIME, ts TIMESTAMP NULL, txt DATE, n VARCHAR(5));
         INSERT INTO z VALUES (1, '0000-00-00', '2020-00-15 10:00:00', '0000-00-00 00:00:00', '0000-00-00', 'a'),
                              (2, '2020-01-01', '2020-01-01 00:00:00', NULL, NULL, 'b'),
                              (3, '2021-05-00', NULL, '2021-01-01 00:00:00', NULL, 'c'),
                              (4, '0009-12-04', '0000-01-01 00:00:00', NULL, NULL, 'd');
         CREATE TABLE ok (id INT PRIMARY KEY, d DATE);
         INSERT INTO ok VALUES (1, '2020-01-01'), (2, NULL);",
    );
    let without = TestDb::new("zd_without");
    without.sql(
        "CREATE TABLE ok (id INT PRIMARY KEY, d DATE, t DATETIME);
         INSERT INTO ok VALUES (1, '2020-01-01', '2020-01-01 10:00:00'), (2, NULL, NULL);",
    );
    // A column cast to TEXT carries its zero dates as text: nothing to decide.
    let cast = "column:z.txt => TEXT";
    let expected = "z.d has 2, z.dt has 1, z.ts has 1";
    let with_file = with.dump(dir.path(), "with.sql", &[]);
    let without_file = without.dump(dir.path(), "without.sql", &[]);
    for source in [
        vec!["--source".to_string(), with.url()],
        vec!["--from-dump".to_string(), p(&with_file).to_string()],
    ] {
        let mut args = vec!["assess", "--json", "--cast", cast];
        args.extend(source.iter().map(String::as_str));
        let a = json(&m2l(&args));
        let advice = zero_date_advice(&a);
        assert_eq!(advice.len(), 1, "{source:?}: {advice:?}");
        assert!(advice[0].contains(expected), "{source:?}: {advice:?}");
        assert!(advice[0].contains("--zero-dates"), "{advice:?}");
        assert!(
            !advice[0].contains("z.txt") && !advice[0].contains("ok."),
            "{advice:?}"
        );
    }
    for source in [
        vec!["--source".to_string(), without.url()],
        vec!["--from-dump".to_string(), p(&without_file).to_string()],
    ] {
        let mut args = vec!["assess", "--json"];
        args.extend(source.iter().map(String::as_str));
        let a = json(&m2l(&args));
        assert_eq!(zero_date_advice(&a), Vec::<String>::new(), "{source:?}");
    }
}

/// The findings of a report as comparable lines.
fn findings(v: &serde_json::Value) -> BTreeSet<String> {
    v["findings"]
        .as_array()
        .unwrap_or_else(|| panic!("no findings in {v}"))
        .iter()
        .map(|f| {
            format!(
                "{} | {} | {}",
                f["severity"].as_str().unwrap(),
                f["object"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect()
}

#[test]
fn collation_findings_are_the_same_from_the_server_a_file_and_stdin() {
    let db = TestDb::new("collations");
    db.sql(
        "ALTER DATABASE CHARACTER SET utf8mb4 COLLATE utf8mb4_general_ci;
         CREATE TABLE a (id INT PRIMARY KEY, name VARCHAR(20), note TEXT);
         CREATE TABLE b (id INT PRIMARY KEY, code VARCHAR(10) COLLATE utf8mb4_bin,
                         title VARCHAR(20) COLLATE utf8mb4_unicode_ci, label VARCHAR(10));
         CREATE TABLE c (id INT PRIMARY KEY, x VARCHAR(10)) COLLATE utf8mb4_unicode_ci;
         CREATE TABLE d (id INT PRIMARY KEY, y VARCHAR(10)) COLLATE utf8mb4_bin;
         INSERT INTO a VALUES (1, 'Ann', 'n'); INSERT INTO b VALUES (1, 'X', 'T', 'L');
         INSERT INTO c VALUES (1, 'x'); INSERT INTO d VALUES (1, 'y');",
    );
    let dir = tempfile::tempdir().unwrap();
    let file = db.dump(dir.path(), "c.sql", &[]);
    let dump = std::fs::read(&file).unwrap();
    let mut seen: Vec<(String, BTreeSet<String>)> = Vec::new();
    for command in ["assess", "convert-schema"] {
        let server = json(&m2l(&[command, "--source", &db.url(), "--json"]));
        let from_file = json(&m2l(&[command, "--from-dump", p(&file), "--json"]));
        let from_stdin = json(&m2l_stdin(&[command, "--from-dump", "-", "--json"], &dump));
        for (mode, report) in [
            ("server", &server),
            ("file", &from_file),
            ("stdin", &from_stdin),
        ] {
            seen.push((format!("{command} from the {mode}"), findings(report)));
        }
    }
    // Migration reports carry the conversion's findings (all but `info`).
    for (mode, r) in [
        (
            "server",
            m2l(&[
                "migrate",
                "--source",
                &db.url(),
                "--target",
                p(&dir.path().join("s.ldb")),
                "--json",
                "--quiet",
            ]),
        ),
        (
            "file",
            m2l(&[
                "migrate",
                "--from-dump",
                p(&file),
                "--target",
                p(&dir.path().join("f.ldb")),
                "--json",
                "--quiet",
            ]),
        ),
        (
            "stdin",
            m2l_stdin(
                &[
                    "migrate",
                    "--from-dump",
                    "-",
                    "--target",
                    p(&dir.path().join("i.ldb")),
                    "--json",
                    "--quiet",
                ],
                &dump,
            ),
        ),
    ] {
        assert_eq!(r.code, 0, "{mode}: {}", r.stderr);
        let all = &seen[0].1;
        let expected: BTreeSet<String> = all
            .iter()
            .filter(|f| !f.starts_with("info"))
            .cloned()
            .collect();
        assert_eq!(findings(&json(&r)), expected, "migrate from the {mode}");
    }
    let (first, expected) = &seen[0];
    for (what, got) in &seen[1..] {
        assert_eq!(got, expected, "{what} differs from {first}");
    }
    let loss: Vec<&String> = expected.iter().filter(|f| f.starts_with("loss")).collect();
    // The database default (most tables' default): one finding for a and b.label.
    assert!(
        loss.iter().any(|f| f.starts_with(
            "loss | database | utf8mb4_general_ci, the default collation of 2 of 4 tables"
        ) && f.contains("3 text columns in 2 tables")),
        "{loss:#?}"
    );
    // A table with another default, and a column with a collation of its own.
    assert!(
        loss.iter().any(|f| f
            .starts_with("loss | c | the table's default collation utf8mb4_unicode_ci")
            && f.contains("(x)")),
        "{loss:#?}"
    );
    assert!(
        loss.iter()
            .any(|f| f.starts_with("loss | b.title | collation utf8mb4_unicode_ci")),
        "{loss:#?}"
    );
    // Binary collations compare bytes, as Lightning does: nothing about them.
    assert_eq!(loss.len(), 3, "{loss:#?}");
    let objects: Vec<&str> = expected
        .iter()
        .filter_map(|f| f.split(" | ").nth(1))
        .collect();
    for quiet in ["d", "d.y", "b.code"] {
        assert!(!objects.contains(&quiet), "{quiet}: {expected:#?}");
    }
}

#[test]
fn the_portable_schema_is_rated_as_from_every_source() {
    let db = TestDb::new("portable");
    let schema = std::fs::read_to_string(PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../lightning-core/tests/portable-schema.sql"
    )))
    .unwrap();
    db.sql(&schema);
    let a = json(&m2l(&["assess", "--source", &db.url(), "--json"]));
    // The same complexity as from sqlite2lightning and pg2lightning; MariaDB's
    // case-insensitive default collation is one loss about the whole database.
    assert_eq!(a["complexity"], "low", "{a}");
    let loss: Vec<&serde_json::Value> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "loss")
        .collect();
    assert_eq!(loss.len(), 1, "{loss:?}");
    assert_eq!(loss[0]["object"], "database");
    assert!(a["compatibility_score"].as_u64().unwrap() > 90, "{a}");
}
