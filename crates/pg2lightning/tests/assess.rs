//! `assess` on a never-analysed database and on a dump: true row counts, a time
//! estimate that is not zero, table sizes from the dump's data; and the portable
//! schema rated as from every source.

mod common;

use std::path::PathBuf;

use common::*;

fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr))
}

/// Table name → (rows, size_bytes) of an assessment.
fn tables(a: &serde_json::Value) -> Vec<(String, u64, u64)> {
    a["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["table"].as_str().unwrap().to_string(),
                t["rows"].as_u64().unwrap(),
                t["size_bytes"].as_u64().unwrap(),
            )
        })
        .collect()
}

#[test]
fn a_never_analysed_database_gets_true_row_counts_and_a_time_estimate() {
    let db = TestDb::new("unanalysed");
    db.exec(
        "CREATE TABLE big (id int PRIMARY KEY, t text) WITH (autovacuum_enabled = off);
         CREATE TABLE small (id int PRIMARY KEY, v numeric) WITH (autovacuum_enabled = off);
         CREATE TABLE nokey (a int, b text) WITH (autovacuum_enabled = off);
         INSERT INTO big SELECT g, repeat('x', g % 50) FROM generate_series(1, 3456) g;
         INSERT INTO small SELECT g, g / 7.0 FROM generate_series(1, 45) g;
         INSERT INTO nokey SELECT g % 3, 'r' FROM generate_series(1, 210) g;",
    );
    // The catalog knows nothing of them.
    let unknown: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_class WHERE relname IN ('big', 'small', 'nokey') AND reltuples < 0",
            &[],
        )
        .unwrap()
        .get(0);
    assert_eq!(unknown, 3, "the tables must never have been analysed");
    let r = p2l_ok(&[
        "assess",
        "--source",
        &db.url,
        "--json",
        "--sample-secs",
        "1",
    ]);
    let a = json(&r);
    let rows: Vec<(String, u64)> = tables(&a).into_iter().map(|(t, r, _)| (t, r)).collect();
    assert_eq!(
        rows,
        vec![
            ("big".to_string(), 3456),
            ("nokey".to_string(), 210),
            ("small".to_string(), 45)
        ]
    );
    let estimate = a["estimate"]["estimated_secs"].as_f64().unwrap();
    let sampled = a["estimate"]["sampled_secs"].as_f64().unwrap();
    assert!(
        estimate > 0.0,
        "a zero estimate for 3711 rows: {}",
        a["estimate"]
    );
    // The sample read every row; `migrate` also opens the source and sizes its
    // store first.
    assert_eq!(a["estimate"]["complete"], true, "{}", a["estimate"]);
    assert_eq!(a["estimate"]["sampled_rows"], 3711, "{}", a["estimate"]);
    assert!(estimate > sampled, "{}", a["estimate"]);
    let recs = a["recommendations"].to_string();
    assert!(
        recs.contains(
            "no row estimate for big, nokey, small (never analysed): their rows were counted"
        ),
        "{recs}"
    );
    // Once analysed, the catalog's estimates are used.
    db.exec("ANALYZE");
    let a = json(&p2l_ok(&["assess", "--source", &db.url, "--json"]));
    assert_eq!(tables(&a)[0].1, 3456);
    assert!(!a["recommendations"].to_string().contains("never analysed"));
}

/// The bytes of the COPY data lines of each table in a plain pg_dump script.
fn copy_bytes(dump: &str) -> Vec<(String, u64)> {
    let mut out = Vec::new();
    let mut current: Option<(String, u64)> = None;
    for line in dump.split_inclusive('\n') {
        match &mut current {
            None => {
                if let Some(rest) = line.strip_prefix("COPY public.") {
                    let name = rest.split(' ').next().unwrap().to_string();
                    current = Some((name, 0));
                }
            }
            Some((name, bytes)) => {
                if line == "\\.\n" {
                    out.push((name.clone(), *bytes));
                    current = None;
                } else {
                    *bytes += line.len() as u64;
                }
            }
        }
    }
    out.sort();
    out
}

#[test]
fn a_dump_gives_each_table_the_size_of_its_data() {
    let db = TestDb::new("dumpsizes");
    db.exec(
        "CREATE TABLE big (id int PRIMARY KEY, t text);
         CREATE TABLE small (id int PRIMARY KEY, v numeric);
         CREATE TABLE empty (id int PRIMARY KEY);
         INSERT INTO big SELECT g, repeat('x', g % 50) FROM generate_series(1, 3456) g;
         INSERT INTO small SELECT g, g / 7.0 FROM generate_series(1, 45) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let file: PathBuf = dir.path().join("d.sql");
    db.dump(&file, &[]);
    let text = std::fs::read_to_string(&file).unwrap();
    let expected = copy_bytes(&text);
    assert_eq!(expected.len(), 3, "{expected:?}");
    let a = json(&p2l_ok(&["assess", "--from-dump", p(&file), "--json"]));
    let sizes: Vec<(String, u64)> = tables(&a).into_iter().map(|(t, _, s)| (t, s)).collect();
    assert_eq!(sizes, expected);
    assert!(sizes
        .iter()
        .filter(|(t, _)| t != "empty")
        .all(|(_, s)| *s > 0));
    assert_eq!(
        a["database_size_bytes"].as_u64().unwrap(),
        text.len() as u64
    );

    // INSERT statements: each table's statements, so about the lines that hold them.
    let file = dir.path().join("i.sql");
    db.dump(&file, &["--inserts"]);
    let text = std::fs::read_to_string(&file).unwrap();
    let a = json(&p2l_ok(&["assess", "--from-dump", p(&file), "--json"]));
    for (table, _, size) in tables(&a) {
        let prefix = format!("INSERT INTO public.{table} ");
        let lines: u64 = text
            .lines()
            .filter(|l| l.starts_with(&prefix))
            .map(|l| l.len() as u64)
            .sum();
        assert_eq!(size, lines, "{table}");
    }
}

#[test]
fn the_portable_schema_is_rated_as_from_every_source() {
    let db = TestDb::new("portable");
    db.psql_file(&PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../lightning-core/tests/portable-schema.sql"
    )));
    let a = json(&p2l_ok(&["assess", "--source", &db.url, "--json"]));
    // The same values from sqlite2lightning and mysql2lightning's tests of this file.
    assert_eq!(a["complexity"], "low", "{a}");
    assert_eq!(a["compatibility_score"], 100, "{a}");
    let rows: u64 = tables(&a).iter().map(|(_, r, _)| r).sum();
    assert_eq!(rows, 7);
}
