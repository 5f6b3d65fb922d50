//! sqlite2lightning end to end: real SQLite files, the real binaries.

mod common;

use common::*;
use serde_json::{json, Value};

fn export_records(store: &str, table: &str) -> Vec<Value> {
    export_lines(store, table)
        .iter()
        .map(|l| serde_json::from_str::<Value>(l).unwrap()["record"].clone())
        .collect()
}

/// The RECORD lines as written: decimals and JSON documents keep every digit
/// there (a parsed `Value` holds numbers as floats).
fn export_lines(store: &str, table: &str) -> Vec<String> {
    let r = light(&["export", store, table]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .filter(|l| l.contains(r#""type":"RECORD""#))
        .map(String::from)
        .collect()
}

#[test]
fn every_type_migrates_verifies_and_exports_value_for_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "every.sqlite", EVERY_TYPE);
    let target = dir.path().join("every.ldb");
    let report = migrate_verified(&db, &target, &[]);
    assert_eq!(report["summary"]["rows_written"], 12);
    assert_eq!(report["verification"]["equal"], true);

    let t = p(&target);
    let recs = export_records(t, "every_type");
    assert_eq!(recs.len(), 6);
    assert_eq!(
        recs[0],
        json!({"id": 1, "i": 9223372036854775807i64, "b": true, "r": "Infinity", "d": 12345678.123456, "t": "", "v": "x",
               "bl": "", "dt": "2024-02-29", "ts": "2024-01-01T12:34:56.123456+00:00", "tm": "23:59:59.999999", "j": {"a": [1, 2.5, null]},
               "u": "67e55044-10b1-426f-9247-bb680e5fe0c8", "untyped": 1})
    );
    assert_eq!(
        recs[1],
        json!({"id": 2, "i": i64::MIN, "b": false, "r": "-Infinity", "d": -0.000001, "t": "Zoë 東京 🚀", "v": "line\nbreak",
               "bl": "AP8AAA==", "dt": "0001-01-01", "ts": "1969-12-31T23:59:59+00:00", "tm": "00:00:00", "j": [],
               "u": "00000000-0000-0000-0000-000000000000", "untyped": -5})
    );
    // Decimals are numbers with their exact digits, JSON documents byte for byte.
    let lines = export_lines(t, "every_type");
    assert!(lines[0].contains(r#""d":12345678.123456,"#), "{}", lines[0]);
    assert!(
        lines[0].contains(r#""j":{"a":[1,2.50,null]},"#),
        "{}",
        lines[0]
    );
    for (i, d) in [(3, "0.000000"), (4, "19.990000"), (5, "1000.000000")] {
        let want = format!(r#""d":{d},"#);
        assert!(
            lines[i].contains(&want),
            "DECIMAL(24,6) values have scale 6: {}",
            lines[i]
        );
    }
    let nulls = recs[2].as_object().unwrap();
    assert!(
        nulls
            .iter()
            .filter(|(k, _)| *k != "id")
            .all(|(_, v)| v.is_null()),
        "{nulls:?}"
    );
    assert_eq!(recs[3]["r"], json!(-0.0));
    assert_eq!(recs[3]["t"], "quote' \"double\"");
    assert_eq!(recs[3]["v"], "", "empty string is not NULL");
    assert_eq!(recs[3]["ts"], "2000-02-29T00:00:00+00:00");
    assert_eq!(recs[3]["tm"], "12:00:00");
    assert_eq!(recs[3]["u"], "ffffffff-ffff-ffff-ffff-ffffffffffff");
    assert_eq!(recs[4]["r"], json!(0.1));
    assert_eq!(recs[4]["v"], " padded ");
    assert_eq!(recs[4]["ts"], "1970-01-01T00:00:00.000001+00:00");
    assert_eq!(recs[4]["tm"], "01:02:03.500000");
    assert_eq!(recs[5]["r"], json!(1e-300));
    assert_eq!(recs[5]["bl"], "/w==");

    // Keyless rows keep their duplicates; composite keys scan in key order.
    assert_eq!(export_records(t, "no_key").len(), 3);
    let comp = export_records(t, "composite");
    let keys: Vec<(String, i64)> = comp
        .iter()
        .map(|r| {
            (
                r["k1"].as_str().unwrap().to_string(),
                r["k2"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        keys,
        vec![("a".into(), 9), ("a".into(), 10), ("b".into(), 2)]
    );

    // The schema kept its keys and source types.
    let desc = light(&["describe", t, "composite"]);
    assert!(
        desc.stdout.contains("PRIMARY KEY (k1, k2)"),
        "{}",
        desc.stdout
    );
    assert!(desc.stdout.contains("SOURCE 'REAL'"), "{}", desc.stdout);

    // A second run finds everything done and copies nothing again.
    let again = s2l(&["migrate", "--source", p(&db), "--target", t, "--json"]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    let again: Value = serde_json::from_str(&again.stdout).unwrap();
    assert_eq!(again["summary"]["rows_written"], 0);
    assert_eq!(again["summary"]["partitions_already_done"], 3);
    assert_eq!(light(&["count", t, "no_key"]).stdout.trim(), "3");
}

#[test]
fn export_stream_imports_into_an_identical_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "every.sqlite", EVERY_TYPE);
    let direct = dir.path().join("direct.ldb");
    let piped = dir.path().join("piped.ldb");
    assert_eq!(
        s2l(&["migrate", "--source", p(&db), "--target", p(&direct)]).code,
        0
    );
    export_into(&db, &piped);
    for table in ["every_type", "composite"] {
        let a = light(&["checksum", p(&direct), table]);
        let b = light(&["checksum", p(&piped), table]);
        assert_eq!(a.code, 0, "{}", a.stderr);
        assert_eq!(a.stdout, b.stdout, "{table}");
    }
}

#[test]
fn a_changed_source_row_is_named_by_verify() {
    let dir = tempfile::tempdir().unwrap();
    let mut sql =
        String::from("CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT, price NUMERIC);\n");
    sql.push_str("WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 20000) INSERT INTO items SELECT x, 'item ' || x, x * 1.25 FROM n;\n");
    let db = sqlite_db(dir.path(), "items.sqlite", &sql);
    let target = dir.path().join("items.ldb");
    assert_eq!(
        s2l(&["migrate", "--source", p(&db), "--target", p(&target)]).code,
        0
    );
    assert_eq!(
        s2l(&["verify", "--source", p(&db), "--target", p(&target)]).code,
        0
    );

    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch("UPDATE items SET name = 'changed' WHERE id = 12345; DELETE FROM items WHERE id = 777; INSERT INTO items VALUES (30000, 'new', 1);").unwrap();
    drop(conn);
    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--sample",
        "0",
        "--json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["equal"], false);
    let t = &report["tables"][0];
    let mut diffs: Vec<(String, String)> = t["differing_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["kind"].as_str().unwrap().to_string(),
                d["key"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    diffs.sort();
    assert_eq!(
        diffs,
        vec![
            ("extra_in_target".to_string(), "id=777".to_string()),
            ("missing_in_target".to_string(), "id=30000".to_string()),
            ("values_differ".to_string(), "id=12345".to_string()),
        ]
    );
    // The terminal summary names the key too.
    let r = s2l(&["verify", "--source", p(&db), "--target", p(&target)]);
    assert_eq!(r.code, 3);
    assert!(r.stderr.contains("id=12345"), "{}", r.stderr);
}

#[test]
fn values_that_disagree_with_their_type_are_reported_never_corrupted() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "mixed.sqlite",
        "CREATE TABLE m (id INTEGER PRIMARY KEY, qty INTEGER, born DATE);
         INSERT INTO m VALUES (1, 5, '2020-01-02'), (2, 'lots', '2020-01-03'), (3, 7, '0000-00-00'), (4, 8, '0009-12-04');",
    );
    // The conversion report names the column and the values.
    let conv = s2l(&["convert-schema", "--source", p(&db), "--json"]);
    assert_eq!(conv.code, 0, "{}", conv.stderr);
    let report: Value = serde_json::from_str(&conv.stdout).unwrap();
    let found = report["findings"].as_array().unwrap().iter().any(|f| {
        f["object"] == "m.qty"
            && f["message"]
                .as_str()
                .unwrap()
                .contains("1 values cannot be carried exactly as BIGINT")
    });
    assert!(found, "{report:#}");

    // By default the bad row stops the run with its table, key and column.
    let target = dir.path().join("m.ldb");
    let r = s2l(&["migrate", "--source", p(&db), "--target", p(&target)]);
    assert_clean_error(&r, 1, "table `m` (id=2)");
    assert!(r.stderr.contains("column `qty`"), "{}", r.stderr);

    // With skip, the bad rows go to the reject file and the rest is copied.
    let rejects = dir.path().join("rejects.jsonl");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--on-error",
        "skip",
        "--reject-file",
        p(&rejects),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(report["summary"]["rows_rejected"], 2);
    assert_eq!(report["summary"]["rows_written"], 2);
    let lines: Vec<Value> = std::fs::read_to_string(&rejects)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["key"], "id=2");
    assert_eq!(lines[0]["row"]["qty"], "lots");
    assert_eq!(lines[1]["key"], "id=3");
    // Verify tells that the target lacks what could not be converted.
    assert_eq!(
        s2l(&["verify", "--source", p(&db), "--target", p(&target)]).code,
        3
    );

    // Cast rules carry them: zero dates to NULL decided per value, the text column as TEXT.
    let fixed = dir.path().join("fixed.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&fixed),
        "--cast",
        "column:m.qty => TEXT",
        "--cast",
        "type:date using zero-date-to-null",
        "--verify",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    // The report says how many values the rule changed (counted for the copy only).
    assert_eq!(
        r.json()["notes"],
        serde_json::json!(["1 values made NULL by the cast rule `zero-date-to-null`"])
    );
    let rows = light(&["scan", p(&fixed), "m"]).stdout;
    let rows: Vec<Value> = rows
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(rows[1]["qty"], "lots");
    assert_eq!(rows[2]["born"], Value::Null);
    assert_eq!(
        rows[3]["born"], "0009-12-04",
        "a real date with a small year is kept"
    );
}

#[test]
fn where_and_table_filters_select_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "f.sqlite",
        "CREATE TABLE a (id INTEGER PRIMARY KEY, v INTEGER); INSERT INTO a VALUES (1, 1), (2, 2), (3, 3);
         CREATE TABLE b (id INTEGER PRIMARY KEY); INSERT INTO b VALUES (1);",
    );
    let target = dir.path().join("f.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--tables",
        "a",
        "--where",
        "a:v >= 2",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(light(&["count", p(&target), "a"]).stdout.trim(), "2");
    let v = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--tables",
        "a",
    ]);
    assert_eq!(v.code, 3, "the whole table differs from the filtered copy");
    let v = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--tables",
        "a",
        "--where",
        "a:v >= 2",
    ]);
    assert_eq!(v.code, 0, "{}", v.stderr);
    assert_ne!(light(&["count", p(&target), "b"]).code, 0);
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--tables",
        "nope",
    ]);
    assert_clean_error(&r, 1, "no table `nope`");
}

#[test]
fn bad_inputs_get_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let not_sqlite = dir.path().join("notes.txt");
    std::fs::write(
        &not_sqlite,
        "this is not a database, just some text that is long enough to have a header........",
    )
    .unwrap();
    let target = dir.path().join("t.ldb");
    assert_clean_error(
        &s2l(&[
            "migrate",
            "--source",
            p(&not_sqlite),
            "--target",
            p(&target),
        ]),
        1,
        "is not a SQLite database",
    );
    assert_clean_error(
        &s2l(&["assess", "--source", p(&dir.path().join("missing.sqlite"))]),
        1,
        "no such file",
    );
    let usage = s2l(&["migrate", "--source", p(&not_sqlite)]);
    assert_eq!(usage.code, 2, "missing --target is a usage error");
    assert_clean_error(
        &s2l(&[
            "migrate",
            "--source",
            p(&not_sqlite),
            "--target",
            p(&target),
            "--cast",
            "type:int => VARCHAR",
        ]),
        1,
        "bad cast rule",
    );
    assert!(!target.exists(), "nothing is created when the input is bad");

    // A store whose files were damaged.
    let db = sqlite_db(
        dir.path(),
        "ok.sqlite",
        "CREATE TABLE x (id INTEGER PRIMARY KEY, s TEXT); INSERT INTO x VALUES (1, 'a');",
    );
    assert_eq!(
        s2l(&["migrate", "--source", p(&db), "--target", p(&target)]).code,
        0
    );
    std::fs::remove_file(target.join("LIGHTNING")).unwrap();
    assert_clean_error(
        &s2l(&["verify", "--source", p(&db), "--target", p(&target)]),
        1,
        "is not a Lightning database",
    );
}

#[test]
fn assess_and_convert_schema_report_in_every_form() {
    let dir = tempfile::tempdir().unwrap();
    let db = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/shop.sqlite");
    let html = dir.path().join("assess.html");
    let r = s2l(&["assess", "--source", p(&db), "--json", "--html", p(&html)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(a["kind"], "assessment");
    assert_eq!(a["tables"].as_array().unwrap().len(), 5);
    assert!(a["estimate"]["rows_per_sec"].as_f64().unwrap() > 0.0);
    assert!(a["estimate"]["sampled_rows"].as_u64().unwrap() > 0);
    let manual: Vec<&str> = a["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "manual")
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert!(
        manual.contains(&"view customer_totals")
            && manual.contains(&"trigger orders_audit")
            && manual.contains(&"index big_orders"),
        "{manual:?}"
    );
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        page.starts_with("<!DOCTYPE html>")
            && page.contains("customer_totals")
            && !page.contains("<script")
    );

    let ddl = s2l(&["convert-schema", "--source", p(&db)]);
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    let schemas = lightning_core_parse(&ddl.stdout);
    assert_eq!(schemas, 5);
    assert!(ddl.stderr.contains("manual work: 3"), "{}", ddl.stderr);
    let casts = s2l(&["--print-casts"]);
    assert!(
        casts.stdout.contains("type:boolean => BOOLEAN"),
        "{}",
        casts.stdout
    );
}

#[test]
fn the_portable_schema_is_rated_as_from_every_source() {
    let dir = tempfile::tempdir().unwrap();
    let schema = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../lightning-core/tests/portable-schema.sql"),
    )
    .unwrap();
    let db = sqlite_db(dir.path(), "portable.sqlite", &schema);
    let r = s2l(&["assess", "--source", p(&db), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let a: Value = serde_json::from_str(&r.stdout).unwrap();
    // The same values as from pg2lightning and mysql2lightning's tests of this file.
    assert_eq!(a["complexity"], "low", "{a}");
    assert_eq!(a["compatibility_score"], 100, "{a}");
}

/// The DDL the tool prints is accepted by `lightning execute`.
fn lightning_core_parse(ddl: &str) -> usize {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("schema.sql");
    std::fs::write(&file, ddl).unwrap();
    let store = dir.path().join("s.ldb");
    let r = light(&["execute", p(&store), "--file", p(&file)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    light(&["tables", p(&store)]).stdout.lines().count()
}

#[test]
fn sqlite_oddities_are_carried_or_reported() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "odd.sqlite",
        "CREATE TABLE neg (v TEXT);
         INSERT INTO neg (rowid, v) VALUES (-5, 'minus five'), (-9223372036854775808, 'lowest'), (7, 'seven');
         CREATE TABLE named (rowid TEXT, v INTEGER);
         INSERT INTO named VALUES ('not the rowid', 1), ('again', 2);
         CREATE TABLE blobs (id INTEGER PRIMARY KEY, data LONGBLOB, doc MEDIUMTEXT);
         INSERT INTO blobs VALUES (1, x'00ff', 'x');
         CREATE VIRTUAL TABLE docs USING fts5(body);
         INSERT INTO docs VALUES ('full text');",
    );
    let target = dir.path().join("odd.ldb");
    let report = migrate_verified(&db, &target, &[]);
    assert_eq!(report["verification"]["equal"], true);
    let tables: Vec<&str> = report["summary"]["tables"]
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect();
    assert_eq!(
        tables,
        vec!["blobs", "named", "neg"],
        "the virtual table and its shadow tables are not copied"
    );

    let t = p(&target);
    // Negative row ids keep their order and can be looked up.
    let rows: Vec<String> = export_records(t, "neg")
        .iter()
        .map(|r| r["v"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(rows, vec!["lowest", "minus five", "seven"]);
    assert!(light(&["get", t, "neg", "-5"])
        .stdout
        .contains("minus five"));
    assert_eq!(export_records(t, "named")[0]["rowid"], "not the rowid");
    assert_eq!(export_records(t, "blobs")[0]["data"], "AP8=");

    let conv = s2l(&["convert-schema", "--source", p(&db), "--json"]);
    let conv: Value = serde_json::from_str(&conv.stdout).unwrap();
    let manual: Vec<&str> = conv["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "manual")
        .map(|f| f["object"].as_str().unwrap())
        .collect();
    assert_eq!(manual, vec!["virtual table docs"]);

    // A keyless table survives export | import with its row ids: verify is equal.
    let piped = dir.path().join("piped.ldb");
    export_into(&db, &piped);
    let r = s2l(&["verify", "--source", p(&db), "--target", p(&piped)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn review_cases_are_carried_or_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    // JSON numbers stored by SQLite's affinity as INTEGER or REAL are carried.
    let js = sqlite_db(
        dir.path(),
        "js.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, j JSON); INSERT INTO t VALUES (1, '5'), (2, '1.5'), (3, '{\"a\":1}');",
    );
    let target = dir.path().join("js.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&js),
        "--target",
        p(&target),
        "--verify",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows: Vec<Value> = export_records(p(&target), "t")
        .iter()
        .map(|r| r["j"].clone())
        .collect();
    assert_eq!(rows, vec![json!(5), json!(1.5), json!({"a": 1})]);

    // Another source into a target that holds a copy of the first is refused.
    let other = sqlite_db(
        dir.path(),
        "other.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, j JSON); INSERT INTO t VALUES (9, '[]');",
    );
    let r = s2l(&["migrate", "--source", p(&other), "--target", p(&target)]);
    assert_clean_error(&r, 1, "already holds tables copied from");
    assert!(r.stderr.contains("--fresh"), "{}", r.stderr);
    assert_eq!(
        s2l(&[
            "migrate",
            "--source",
            p(&other),
            "--target",
            p(&target),
            "--fresh"
        ])
        .code,
        0
    );
    assert_eq!(light(&["count", p(&target), "t"]).stdout.trim(), "1");

    // A cast rule for a column that does not exist is an error, not ignored.
    assert_clean_error(
        &s2l(&[
            "convert-schema",
            "--source",
            p(&js),
            "--cast",
            "column:t.jj => TEXT",
        ]),
        1,
        "names no column",
    );

    // Constraints the target lacks are schema differences.
    let plain = sqlite_db(
        dir.path(),
        "plain.sqlite",
        "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT); INSERT INTO t VALUES (1, 'a');",
    );
    let strict = sqlite_db(dir.path(), "strict.sqlite", "CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT UNIQUE CHECK (v <> 'z')); INSERT INTO t VALUES (1, 'a');");
    let st = dir.path().join("plain.ldb");
    assert_eq!(
        s2l(&["migrate", "--source", p(&plain), "--target", p(&st)]).code,
        0
    );
    let r = s2l(&[
        "verify",
        "--source",
        p(&strict),
        "--target",
        p(&st),
        "--json",
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report: Value = serde_json::from_str(&r.stdout).unwrap();
    let diffs = report["tables"][0]["schema_differences"].to_string();
    assert!(
        diffs.contains("unique constraints differ") && diffs.contains("check constraints differ"),
        "{diffs}"
    );

    // Keys SQLite keeps apart but Lightning cannot are reported before migrating.
    let keys = sqlite_db(dir.path(), "keys.sqlite", "CREATE TABLE t (k TEXT PRIMARY KEY, v INT); INSERT INTO t VALUES (NULL, 1), (NULL, 2), ('a', 3);");
    let conv = s2l(&["convert-schema", "--source", p(&keys), "--json"]);
    assert!(
        conv.stdout.contains("2 rows have NULL in it"),
        "{}",
        conv.stdout
    );
}

#[test]
fn a_large_table_with_extreme_rowids_is_split_and_copied() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "big.sqlite",
        "CREATE TABLE t (v INT);
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 260000) INSERT INTO t (rowid, v) SELECT x * 7, x FROM c;
         UPDATE t SET rowid = -9223372036854775808 WHERE rowid = 7;
         UPDATE t SET rowid = 9223372036854775807 WHERE rowid = 14;",
    );
    let target = dir.path().join("big.ldb");
    let report = migrate_verified(&db, &target, &["--quiet"]);
    assert_eq!(report["summary"]["rows_written"], 260000);
    assert!(
        report["summary"]["partitions_copied"].as_u64().unwrap() > 1,
        "the table is split"
    );
    assert_eq!(report["verification"]["equal"], true);
    assert!(light(&["get", p(&target), "t", "-9223372036854775808"])
        .stdout
        .contains("\"v\":1"));
}
