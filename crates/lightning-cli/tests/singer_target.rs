//! `lightning import` as a Singer target, fed the messages taps write: plain
//! SCHEMAs, upserts, foreign STATE, a config file. No server is needed.

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value as Json;

const BIN: &str = env!("CARGO_BIN_EXE_lightning");

fn run(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("lightning runs");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

fn ok(args: &[&str], stdin: &str) -> String {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "lightning {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

fn fails(args: &[&str], stdin: &str) -> String {
    let out = run(args, stdin);
    assert!(!out.status.success(), "lightning {args:?} succeeded");
    String::from_utf8_lossy(&out.stderr).into_owned()
}

fn rows(db: &str, table: &str) -> Vec<Json> {
    ok(&["scan", db, table], "")
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn column_types(db: &str, table: &str) -> Vec<(String, String, bool)> {
    let schema: Json = serde_json::from_str(&ok(&["describe", db, table, "--json"], "")).unwrap();
    schema["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            (
                c["name"].as_str().unwrap().to_string(),
                c["type"].as_str().unwrap().to_string(),
                c["nullable"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// A tap's SCHEMA as pipelinewise-tap-postgres writes one (NUMERIC(38,9) as
/// multipleOf/maximum, JSON as object/array) and as singer-sdk taps do
/// (`required`, a mixed-kind JSON column, `anyOf`).
const SCHEMA: &str = r#"{"type": "SCHEMA", "stream": "public-orders", "schema": {"type": "object", "properties": {"id": {"type": ["integer"], "minimum": -2147483648, "maximum": 2147483647}, "amount": {"type": ["null", "number"], "exclusiveMaximum": true, "maximum": 100000000000000000000000000000, "multipleOf": 1e-09, "exclusiveMinimum": true, "minimum": -100000000000000000000000000000}, "ratio": {"type": ["null", "number"]}, "placed": {"type": ["null", "string"], "format": "date-time"}, "doc": {"type": ["string", "number", "integer", "array", "object", "boolean", "null"]}, "tags": {"type": ["null", "object", "array"]}, "qty": {"anyOf": [{"type": "integer"}, {"type": "null"}]}, "note": {"type": "string"}, "code": {"type": "string"}}, "required": ["id", "code"]}, "key_properties": ["id"]}"#;

fn record(body: &str) -> String {
    format!(
        r#"{{"type": "RECORD", "stream": "public-orders", "record": {body}, "version": 1, "time_extracted": "2026-11-27T01:18:06.698791Z"}}"#
    )
}

#[test]
fn a_taps_schema_gets_types_that_hold_every_value() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.ldb");
    let db = db.to_str().unwrap();
    let stream = [
        SCHEMA.to_string(),
        record(
            r#"{"id": 1, "amount": 12345678901234567890.123456789, "ratio": 1e-300, "placed": "2024-02-29T13:45:00.123456000+05:30", "doc": {"n": 1E+400, "s": "x"}, "tags": [1, 2.50], "qty": 3, "note": "a\nb", "code": "A"}"#,
        ),
        record(r#"{"id": 2, "amount": 0E-9, "ratio": NaN, "doc": "str", "code": "B"}"#),
        record(r#"{"id": 3, "amount": null, "doc": 12.5, "code": "C", "placed": null}"#),
    ]
    .join("\n");
    ok(&["import", db], &stream);
    let types = column_types(db, "public-orders");
    let expect = [
        ("id", "INTEGER", false),
        ("amount", "DECIMAL(38,9)", true),
        ("ratio", "DECIMAL", true),
        ("placed", "TIMESTAMPTZ", true),
        ("doc", "JSON", true),
        ("tags", "JSON", true),
        ("qty", "BIGINT", true),
        ("note", "TEXT", true),
        ("code", "TEXT", false),
    ];
    let expect: Vec<(String, String, bool)> = expect
        .iter()
        .map(|(n, t, z)| (n.to_string(), t.to_string(), *z))
        .collect();
    assert_eq!(types, expect);
    // Read as text: a document's numbers may be beyond what a parser holds.
    let lines = ok(&["scan", db, "public-orders"], "");
    let first = lines.lines().next().unwrap();
    assert!(
        first.contains(r#""doc":{"n": 1E+400, "s": "x"}"#),
        "{first}"
    );
    assert!(first.contains(r#""tags":[1, 2.50]"#), "{first}");
    let got: Vec<Json> = lines
        .lines()
        .skip(1)
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let first: Json = serde_json::from_str(&first.replace("1E+400", "1")).unwrap();
    let got = [vec![first], got].concat();
    assert_eq!(got[0]["amount"], "12345678901234567890.123456789");
    assert_eq!(got[0]["ratio"], "0.".to_string() + &"0".repeat(299) + "1");
    assert_eq!(got[0]["placed"], "2024-02-29 08:15:00.123456+00:00");
    assert_eq!(got[1]["amount"], "0.000000000");
    assert_eq!(got[1]["ratio"], "NaN");
    // A string in a JSON column is a JSON string; left-out properties are NULL.
    assert_eq!(got[1]["doc"], "str");
    assert_eq!(got[1]["note"], Json::Null);
    assert_eq!(got[2]["doc"].to_string(), "12.5");
}

#[test]
fn values_the_schema_does_not_allow_or_that_would_be_rounded_are_bad_rows() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.ldb");
    let db = db.to_str().unwrap();
    let bad = [
        (
            r#"{"id": 1, "code": "A", "qty": "3"}"#,
            "a string where the SCHEMA allows null, integer",
        ),
        (
            r#"{"id": 1, "code": null}"#,
            "a null where the SCHEMA allows string",
        ),
        (
            r#"{"id": 1, "code": "A", "placed": "2024-02-29T13:45:00.123456789Z"}"#,
            "more precise than a microsecond",
        ),
        (
            r#"{"id": 1, "code": "A", "amount": 1.0000000001}"#,
            "without rounding",
        ),
        (
            r#"{"id": 1, "code": "A", "doc": {"big": Infinity}}"#,
            "bare NaN or Infinity",
        ),
    ];
    for (body, why) in bad {
        let err = fails(&["import", db], &format!("{SCHEMA}\n{}\n", record(body)));
        assert!(
            err.contains("stream line 2") && err.contains(why),
            "{body}: {err}"
        );
    }
    // With --on-error skip they are set aside and the rest is stored.
    let mixed = format!(
        "{SCHEMA}\n{}\n{}\n",
        record(r#"{"id": 1, "code": "A", "qty": "3"}"#),
        record(r#"{"id": 2, "code": "B"}"#)
    );
    ok(&["import", db, "--on-error", "skip"], &mixed);
    assert_eq!(rows(db, "public-orders").len(), 1);
}

#[test]
fn records_upsert_and_each_committed_state_is_written_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.ldb");
    let db = db.to_str().unwrap();
    let state = |v: u32| {
        format!(
            r#"{{"type": "STATE", "value": {{"bookmarks": {{"public-orders": {{"replication_key": "id", "replication_key_value": {v}}}}}, "currently_syncing": null}}}}"#
        )
    };
    let first = [
        SCHEMA.to_string(),
        record(r#"{"id": 1, "code": "A"}"#),
        state(1),
        record(r#"{"id": 2, "code": "B"}"#),
        state(2),
    ]
    .join("\n");
    let out = ok(&["import", db, "--batch-size", "1"], &first);
    let states: Vec<Json> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(states.len(), 2, "{out}");
    assert_eq!(
        states[1]["bookmarks"]["public-orders"]["replication_key_value"],
        2
    );
    // The tap's next run re-sends its bookmark row, changed, and a new one.
    let second = [
        SCHEMA.to_string(),
        record(r#"{"id": 2, "code": "B2"}"#),
        record(r#"{"id": 3, "code": "C"}"#),
        state(3),
    ]
    .join("\n");
    let out = ok(&["import", db], &second);
    assert_eq!(out.lines().count(), 1, "{out}");
    let codes: Vec<Json> = rows(db, "public-orders")
        .iter()
        .map(|r| r["code"].clone())
        .collect();
    assert_eq!(codes, ["A", "B2", "C"]);
    // --on-conflict error makes the same record a bad row.
    let err = fails(&["import", db, "--on-conflict", "error"], &second);
    assert!(err.contains("duplicate primary key (id=2)"), "{err}");
    // An upsert is not a repair: no table is marked for one.
    let store = lightning_core::Store::open_to_read(db).unwrap();
    assert_eq!(store.marked_for_repair().unwrap(), Vec::<String>::new());
}

#[test]
fn a_config_file_gives_the_database_and_settings() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("cfg.ldb");
    let config = dir.path().join("target.json");
    let body = serde_json::json!({"db": db, "batch_size": 1, "on_conflict": "error"});
    std::fs::write(&config, body.to_string()).unwrap();
    let config = config.to_str().unwrap();
    let twice = format!(
        "{SCHEMA}\n{}\n{}\n",
        record(r#"{"id": 1, "code": "A"}"#),
        record(r#"{"id": 1, "code": "A"}"#)
    );
    let err = fails(&["import", "--config", config], &twice);
    assert!(err.contains("duplicate primary key"), "{err}");
    // The option given wins over the file.
    ok(
        &["import", "--config", config, "--on-conflict", "replace"],
        &twice,
    );
    assert!(Path::new(&db).join("").exists());
    std::fs::write(
        dir.path().join("bad.json"),
        r#"{"db": "x", "batchsize": 1}"#,
    )
    .unwrap();
    let err = fails(
        &[
            "import",
            "--config",
            dir.path().join("bad.json").to_str().unwrap(),
        ],
        "",
    );
    assert!(
        err.contains("bad.json") && err.contains("did you mean `batch-size`"),
        "{err}"
    );
    // A TOML job file works as well.
    let toml = dir.path().join("target.toml");
    std::fs::write(&toml, format!("db = {db:?}\non_conflict = \"error\"\n")).unwrap();
    let err = fails(&["import", "--config", toml.to_str().unwrap()], &twice);
    assert!(err.contains("duplicate primary key"), "{err}");
}

#[test]
fn a_later_schema_with_another_column() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.ldb");
    let db = db.to_str().unwrap();
    let v1 = r#"{"type": "SCHEMA", "stream": "s", "schema": {"properties": {"id": {"type": "integer"}}}, "key_properties": ["id"]}"#;
    let v2 = r#"{"type": "SCHEMA", "stream": "s", "schema": {"properties": {"id": {"type": "integer"}, "extra": {"type": ["string", "null"]}}}, "key_properties": ["id"]}"#;
    let rec = r#"{"type": "RECORD", "stream": "s", "record": {"id": 1, "extra": "x"}}"#;
    // No rows yet: the table is made again with the new column.
    ok(&["import", db], &format!("{v1}\n{v2}\n{rec}\n"));
    assert_eq!(rows(db, "s")[0]["extra"], "x");
    // Rows held: the import stops and says what differs.
    let v3 = v2.replace(r#""extra""#, r#""other""#);
    let err = fails(&["import", db], &format!("{v3}\n"));
    assert!(
        err.contains("new or changed: other TEXT") && err.contains("no longer there: extra TEXT"),
        "{err}"
    );
}
