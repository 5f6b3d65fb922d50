//! Tables with SQLite's maximum of 2,000 columns: with the rowid a read passes the
//! limit on a result's columns, so every command must read them in column chunks.

mod common;

use common::*;

const COLUMNS: usize = 2000;
const ROWS: usize = 300;

/// Column `i`'s declared type, so that chunk boundaries cross every conversion.
fn declared(i: usize) -> &'static str {
    ["INTEGER", "TEXT", "REAL", "DECIMAL(10,2)"][i % 4]
}

/// The literal stored in row `r`, column `i`.
fn literal(r: usize, i: usize) -> String {
    match i % 4 {
        0 => (r * 10_000 + i).to_string(),
        1 => format!("'r{r}c{i}'"),
        2 => format!("{}.5", r + i),
        _ => format!("'{}.{:02}'", r, i % 100),
    }
}

fn wide_db(dir: &std::path::Path) -> std::path::PathBuf {
    let cols: Vec<String> = (0..COLUMNS)
        .map(|i| format!("c{i} {}", declared(i)))
        .collect();
    let path = dir.join("wide.sqlite");
    let mut conn = rusqlite::Connection::open(&path).unwrap();
    let tx = conn.transaction().unwrap();
    tx.execute_batch(&format!(
        "CREATE TABLE wide ({0}); CREATE TABLE wide_pk ({0}, PRIMARY KEY (c0)) WITHOUT ROWID;",
        cols.join(", ")
    ))
    .unwrap();
    for r in 1..=ROWS {
        let vals: Vec<String> = (0..COLUMNS).map(|i| literal(r, i)).collect();
        for table in ["wide", "wide_pk"] {
            tx.execute(
                &format!("INSERT INTO {table} VALUES ({})", vals.join(", ")),
                [],
            )
            .unwrap();
        }
    }
    // Gaps and a negative rowid: the chunks must still step the same rows.
    tx.execute_batch(
        "DELETE FROM wide WHERE rowid % 7 = 0; UPDATE wide SET rowid = -5 WHERE rowid = 1;",
    )
    .unwrap();
    tx.commit().unwrap();
    path
}

#[test]
fn a_table_of_two_thousand_columns_migrates_verifies_exports_and_is_assessed() {
    let dir = tempfile::tempdir().unwrap();
    let db = wide_db(dir.path());
    let kept = ROWS - ROWS / 7;

    let target = dir.path().join("wide.ldb");
    let report = migrate_verified(&db, &target, &[]);
    assert_eq!(
        report["summary"]["rows_written"].as_u64(),
        Some((kept + ROWS) as u64),
        "{report}"
    );
    assert_eq!(report["verification"]["equal"], true, "{report}");

    // The row moved to rowid -5 has row 1's values in the first and last columns.
    let r = light(&["get", p(&target), "wide", "-5"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(row.as_object().unwrap().len(), COLUMNS);
    assert_eq!(row["c0"], 10_000);
    assert_eq!(row["c1997"], "r1c1997");
    assert_eq!(row["c1998"], 1.0 + 1998.0 + 0.5);
    assert_eq!(row["c1999"], "1.99");
    let r = light(&["get", p(&target), "wide_pk", "3000000"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let row: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(row["c1999"], "300.99");

    let r = s2l(&["verify", "--source", p(&db), "--target", p(&target)]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    // The stream carries the same rows: identical checksums.
    let streamed = dir.path().join("streamed.ldb");
    export_into(&db, &streamed);
    let sums = light(&["checksum", p(&target)]);
    assert_eq!(sums.code, 0, "{}", sums.stderr);
    assert_eq!(light(&["checksum", p(&streamed)]).stdout, sums.stdout);

    // A --where condition applies to every chunk of columns alike.
    let part = dir.path().join("part.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&part),
        "--tables",
        "wide",
        "--where",
        "c0 > 1500000",
        "--verify",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let count = light(&["count", p(&part), "wide"]);
    let expected = (151..=ROWS).filter(|r| r % 7 != 0).count();
    assert_eq!(count.stdout.trim(), expected.to_string());

    let r = s2l(&["assess", "--source", p(&db), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a: serde_json::Value = serde_json::from_str(&r.stdout).unwrap();
    let tables = a["tables"].as_array().unwrap();
    assert_eq!(tables.len(), 2);
    for t in tables {
        assert_eq!(t["columns"], COLUMNS, "{t}");
    }
    assert_eq!(tables[0]["rows"].as_u64(), Some(kept as u64));
    assert!(a["estimate"]["sampled_rows"].as_u64().unwrap() > 0);

    let r = s2l(&["convert-schema", "--source", p(&db)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("c1999 DECIMAL(10,2)"), "{}", r.stdout);
}
