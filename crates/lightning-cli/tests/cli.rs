//! Runs the `lightning` binary against stores built in temporary folders.

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lightning_core::{ddl, TableSchema};
use serde_json::{json, Value as Json};

const BIN: &str = env!("CARGO_BIN_EXE_lightning");

const SCHEMA_SQL: &str = r#"-- a table with a composite key and every Lightning type
CREATE TABLE items (
    region TEXT NOT NULL,
    id BIGINT NOT NULL,
    flag BOOLEAN,
    small SMALLINT,
    mid INTEGER,
    f FLOAT,
    d DOUBLE,
    amount DECIMAL(40,10),
    anyd DECIMAL,
    note TEXT DEFAULT 'n/a' SOURCE 'varchar(200)',
    data BLOB,
    day DATE,
    at TIME,
    ts TIMESTAMP,
    tstz TIMESTAMPTZ,
    doc JSON,
    uid UUID,
    PRIMARY KEY (region, id)
);
CREATE INDEX items_day ON items (day);

-- a table without a primary key
CREATE TABLE events (
    kind TEXT,
    payload JSON
);
"#;

/// Hand-written RECORD and STATE messages: edge values of every type.
const RECORDS: &[&str] = &[
    r#"{"type":"RECORD","stream":"items","record":{"region":"eu","id":1,"flag":true,"small":-32768,"mid":2147483647,"f":"NaN","d":"NaN","amount":"12345678901234567890.1234567890","anyd":"1.500","note":"héllo, \"wörld\"\n日本","data":"AAEA/w==","day":"0044-03-15 BC","at":"-01:30:00.5","ts":"1999-12-31 23:59:59.999999","tstz":"2024-01-01T12:00:00+02:00","doc":{"a":[1,2,{"b":null}],"z":"é"},"uid":"67e55044-10b1-426f-9247-bb680e5fe0c8"}}"#,
    r#"{"type":"STATE","value":{"bookmarks":{"items":{"partition":"items","table":"items","position":"1","rows":1,"done":false}}}}"#,
    r#"{"type":"RECORD","stream":"items","record":{"region":"eu","id":2,"flag":null,"small":null,"mid":null,"f":"-Infinity","d":"Infinity","amount":"0.0000000000","anyd":"-0.00100","note":"","data":"","day":"infinity","at":null,"ts":"-infinity","tstz":null,"doc":"[]","uid":null}}"#,
    r#"{"type":"RECORD","stream":"items","record":{"region":"","id":-5,"flag":false,"small":32767,"mid":-2147483648,"f":1.5,"d":-0.0,"amount":"-99999999999999999999.9999999999","anyd":"123456789012345678901234567890.000000000000000000001000","note":"a,b","data":null,"day":"-infinity","at":"838:59:59","ts":"0001-01-01 00:00:00","tstz":"infinity","doc":"\"just a string\"","uid":"00000000-0000-0000-0000-000000000000"}}"#,
    r#"{"type":"RECORD","stream":"items","record":{"region":"日本","id":9223372036854775807,"d":1e308,"f":3.4028235e38,"anyd":"NaN","note":" lead and trail ","doc":"null"}}"#,
    r#"{"type":"RECORD","stream":"events","record":{"kind":"click","payload":{"x":1}}}"#,
    r#"{"type":"RECORD","stream":"events","record":{"kind":null,"payload":null}}"#,
    r#"{"type":"RECORD","stream":"events","record":{"kind":"","payload":"[]"}}"#,
    r#"{"type":"STATE","value":{"bookmarks":{"items":{"partition":"items","table":"items","position":null,"rows":4,"done":true}}}}"#,
];

fn run(args: &[&str], stdin: Option<&[u8]>) -> Output {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lightning binary runs");
    if let Some(input) = stdin {
        let mut pipe = child.stdin.take().expect("stdin is piped");
        pipe.write_all(input).expect("writing stdin");
    }
    child
        .wait_with_output()
        .expect("the lightning binary finishes")
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("UTF-8 output")
}

/// Run a command that must succeed; its stdout.
fn ok(args: &[&str]) -> String {
    ok_with(args, None)
}

fn ok_with(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run(args, stdin);
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        text(&out.stderr)
    );
    text(&out.stdout)
}

/// Run a command that must fail cleanly: exit code 1 and a single `error:` line.
fn fails(args: &[&str]) -> String {
    fails_with(args, None)
}

fn fails_with(args: &[&str], stdin: Option<&[u8]>) -> String {
    let out = run(args, stdin);
    let err = text(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{args:?} should fail with 1; stderr: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    assert_eq!(err.lines().count(), 1, "{args:?}: one line expected: {err}");
    assert!(
        err.starts_with("error: ") && err.ends_with('\n'),
        "{args:?}: {err}"
    );
    err.trim_end().to_string()
}

struct Fixture {
    dir: tempfile::TempDir,
    db: PathBuf,
}

impl Fixture {
    fn db(&self) -> &str {
        self.db.to_str().expect("a UTF-8 temp path")
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write(&self, name: &str, content: &str) -> String {
        let p = self.path(name);
        std::fs::write(&p, content).expect("writing a test file");
        p.to_str().expect("a UTF-8 temp path").to_string()
    }
}

/// The stream: SCHEMA messages carrying the schemas `describe --json` prints,
/// then the hand-written records.
fn stream_for(db: &str) -> String {
    let mut lines = Vec::new();
    for table in ["items", "events"] {
        let schema: Json = serde_json::from_str(&ok(&["describe", db, table, "--json"]))
            .expect("describe --json is JSON");
        lines.push(
            json!({
                "type": "SCHEMA",
                "stream": table,
                "schema": { "type": "object", "properties": {} },
                "key_properties": schema["primary_key"],
                "lightning_schema": schema,
            })
            .to_string(),
        );
    }
    lines.extend(RECORDS.iter().map(|s| s.to_string()));
    lines.join("\n") + "\n"
}

/// A store built with `execute` and `import`.
fn loaded() -> Fixture {
    let dir = tempfile::tempdir().expect("a temp dir");
    let db = dir.path().join("app.ldb");
    let f = Fixture { dir, db };
    let sql = f.write("schema.sql", SCHEMA_SQL);
    let out = run(&["execute", f.db(), "--file", &sql], None);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let created = text(&out.stderr);
    assert!(
        created.contains("created table `items` (17 columns, 1 index)"),
        "{created}"
    );
    assert!(
        created.contains("created table `events` (2 columns)"),
        "{created}"
    );
    let stream = f.write("stream.ndjson", &stream_for(f.db()));
    let out = run(
        &["import", f.db(), "--file", &stream, "--batch-size", "2"],
        None,
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let summary = text(&out.stderr);
    assert!(
        summary.contains("imported 7 rows into 2 tables"),
        "{summary}"
    );
    f
}

#[test]
fn counts() {
    let f = loaded();
    assert_eq!(ok(&["count", f.db(), "items"]), "4\n");
    assert_eq!(ok(&["count", f.db(), "events"]), "3\n");
    assert_eq!(
        ok(&["count", f.db()]),
        "events   3\nitems    4\n(total)  7\n"
    );
    assert_eq!(ok(&["tables", f.db()]), "events  3\nitems   4\n");
    let j: Json = serde_json::from_str(&ok(&["tables", f.db(), "--json"])).unwrap();
    assert_eq!(
        j,
        json!([{ "table": "events", "rows": 3 }, { "table": "items", "rows": 4 }])
    );
    let j: Json = serde_json::from_str(&ok(&["count", f.db(), "--json"])).unwrap();
    assert_eq!(j["total"], 7);
}

#[test]
fn get_by_composite_key_returns_exact_values() {
    let f = loaded();
    assert_eq!(
        ok(&["get", f.db(), "items", "eu", "1"]),
        concat!(
            r#"{"region":"eu","id":1,"flag":true,"small":-32768,"mid":2147483647,"f":"NaN","d":"NaN","#,
            r#""amount":"12345678901234567890.1234567890","anyd":"1.500","note":"héllo, \"wörld\"\n日本","#,
            r#""data":"AAEA/w==","day":"-0043-03-15","at":"-01:30:00.500000","ts":"1999-12-31 23:59:59.999999","#,
            r#""tstz":"2024-01-01 10:00:00+00:00","doc":{"a":[1,2,{"b":null}],"z":"é"},"#,
            r#""uid":"67e55044-10b1-426f-9247-bb680e5fe0c8"}"#,
            "\n"
        )
    );
    // An empty-string key part and a negative number (not taken for an option).
    let row: Json = serde_json::from_str(&ok(&["get", f.db(), "items", "", "-5"])).unwrap();
    assert_eq!(row["d"].to_string(), "-0.0");
    assert_eq!(
        row["anyd"],
        "123456789012345678901234567890.000000000000000000001000"
    );
    assert_eq!(row["data"], Json::Null);
    let row: Json = serde_json::from_str(&ok(&[
        "get",
        f.db(),
        "items",
        "日本",
        "9223372036854775807",
    ]))
    .unwrap();
    assert_eq!(row["note"], " lead and trail ");
    // A JSON column is printed as the JSON it holds, for `jq`: the JSON `null`
    // document prints as null, as a SQL NULL does (CSV tells them apart).
    assert_eq!(row["doc"], Json::Null);
    assert_eq!(row["amount"], Json::Null);
    // A table without a key: rows by row id, in insertion order from 0.
    assert_eq!(
        ok(&["get", f.db(), "events", "1"]),
        "{\"kind\":null,\"payload\":null}\n"
    );
    assert_eq!(
        fails(&["get", f.db(), "items", "eu", "77"]),
        "error: no row with region=eu, id=77 in items"
    );
}

#[test]
fn scan_as_csv_keeps_null_and_empty_apart() {
    let f = loaded();
    let expected = concat!(
        "region,id,flag,small,mid,f,d,amount,anyd,note,data,day,at,ts,tstz,doc,uid\n",
        "\"\",-5,false,32767,-2147483648,1.5,-0.0,-99999999999999999999.9999999999,",
        "123456789012345678901234567890.000000000000000000001000,\"a,b\",,-infinity,838:59:59,",
        "0001-01-01 00:00:00,infinity,\"\"\"just a string\"\"\",00000000-0000-0000-0000-000000000000\n",
        "eu,1,true,-32768,2147483647,NaN,NaN,12345678901234567890.1234567890,1.500,",
        "\"héllo, \"\"wörld\"\"\n日本\",\\x000100ff,-0043-03-15,-01:30:00.500000,1999-12-31 23:59:59.999999,",
        "2024-01-01 10:00:00+00:00,\"{\"\"a\"\":[1,2,{\"\"b\"\":null}],\"\"z\"\":\"\"é\"\"}\",",
        "67e55044-10b1-426f-9247-bb680e5fe0c8\n",
        "eu,2,,,,-Infinity,Infinity,0.0000000000,-0.00100,\"\",\\x,infinity,,-infinity,,[],\n",
        "日本,9223372036854775807,,,,3.4028235e38,1e308,,NaN, lead and trail ,,,,,,null,\n",
    );
    assert_eq!(ok(&["scan", f.db(), "items", "--format", "csv"]), expected);
    assert_eq!(
        ok(&["export", f.db(), "items", "--format", "csv"]),
        expected
    );
    assert_eq!(
        ok(&["scan", f.db(), "events", "--format", "csv"]),
        "kind,payload\nclick,\"{\"\"x\"\":1}\"\n,\n\"\",[]\n"
    );
    let ndjson = ok(&["scan", f.db(), "events", "--limit", "2"]);
    assert_eq!(
        ndjson,
        "{\"kind\":\"click\",\"payload\":{\"x\":1}}\n{\"kind\":null,\"payload\":null}\n"
    );
}

#[test]
fn export_then_import_gives_the_same_checksums() {
    let f = loaded();
    let copy = f.path("copy.ldb");
    let copy = copy.to_str().unwrap();
    let stream = ok(&["export", f.db(), "--all"]);
    assert!(
        !stream.contains("\"STATE\""),
        "export writes no STATE message"
    );
    let out = run(&["import", copy], Some(stream.as_bytes()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let sums = ok(&["checksum", f.db()]);
    assert_eq!(sums.lines().count(), 2, "{sums}");
    assert!(sums.starts_with("events  "), "{sums}");
    assert_eq!(ok(&["checksum", copy]), sums);
    assert_eq!(
        ok(&["checksum", copy, "--json"]),
        ok(&["checksum", f.db(), "--json"])
    );
    assert_eq!(
        ok(&["checksum", copy, "items", "--ranges", "3"]),
        ok(&["checksum", f.db(), "items", "--ranges", "3"])
    );
    for t in ["items", "events"] {
        assert_eq!(ok(&["scan", copy, t]), ok(&["scan", f.db(), t]));
        assert_eq!(ok(&["describe", copy, t]), ok(&["describe", f.db(), t]));
    }
    // Exporting the copy gives the same stream again.
    assert_eq!(ok(&["export", copy, "--all"]), stream);
}

#[test]
fn range_checksums_add_up_to_the_table_checksum() {
    let f = loaded();
    let whole: Json = serde_json::from_str(&ok(&["checksum", f.db(), "items", "--json"])).unwrap();
    let ranges: Json = serde_json::from_str(&ok(&[
        "checksum",
        f.db(),
        "items",
        "--ranges",
        "2",
        "--json",
    ]))
    .unwrap();
    assert_eq!(ranges[0]["checksum"], whole[0]["checksum"]);
    let parts = ranges[0]["ranges"].as_array().unwrap();
    assert_eq!(parts.len(), 2);
    assert_eq!(
        parts
            .iter()
            .map(|r| r["rows"].as_u64().unwrap())
            .sum::<u64>(),
        4
    );
    assert!(parts.iter().all(|r| r["first_key"].is_string()));
}

#[test]
fn describe_parses_back_to_the_same_schema() {
    let f = loaded();
    let from_file = ddl::parse_schema(SCHEMA_SQL).unwrap();
    for (i, t) in ["items", "events"].into_iter().enumerate() {
        let rendered = ok(&["describe", f.db(), t]);
        let parsed = ddl::parse_schema(&rendered).unwrap_or_else(|e| panic!("{e}\n{rendered}"));
        let stored: TableSchema =
            serde_json::from_str(&ok(&["describe", f.db(), t, "--json"])).unwrap();
        assert_eq!(parsed, vec![stored.clone()]);
        assert_eq!(stored, from_file[i]);
    }
    let items = ok(&["describe", f.db(), "items"]);
    assert!(items.contains("    PRIMARY KEY (region, id)\n"), "{items}");
    assert!(
        items.contains("CREATE INDEX items_day ON items USING BTREE (day);"),
        "{items}"
    );
}

#[test]
fn stats_and_runs() {
    let f = loaded();
    let stats: Json = serde_json::from_str(&ok(&["stats", f.db(), "--json"])).unwrap();
    assert_eq!(stats["format_version"], 5);
    assert_eq!(stats["rows"], 7);
    assert_eq!(stats["runs"], 1);
    assert!(stats["disk_space_bytes"].as_u64().unwrap() > 0);
    let human = ok(&["stats", f.db()]);
    assert!(human.contains("format      5\n"), "{human}");
    assert!(human.contains("\nitems   4\n"), "{human}");
    let runs: Json = serde_json::from_str(&ok(&["runs", f.db(), "--json"])).unwrap();
    assert_eq!(runs[0]["tool"], "lightning import");
    assert_eq!(runs[0]["status"], "completed");
    assert_eq!(runs[0]["rows_written"], 7);
    let human = ok(&["runs", f.db()]);
    assert!(human.starts_with("id  tool"), "{human}");
    assert!(human.contains("completed"), "{human}");
}

#[test]
fn execute_reports_ddl_errors_with_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let sql = dir.path().join("schema.sql");
    std::fs::write(&sql, "CREATE TABLE t (\n  a INTEGER,\n  b VARCHAR(3)\n);\n").unwrap();
    let db = dir.path().join("x.ldb");
    let err = fails(&[
        "execute",
        db.to_str().unwrap(),
        "--file",
        sql.to_str().unwrap(),
    ]);
    assert!(
        err.starts_with("error: ") && err.contains("schema.sql:3: unknown Lightning type"),
        "{err}"
    );
    assert!(!db.exists(), "a bad file creates no database");
    // From stdin, and a conflicting table.
    let ddl = "CREATE TABLE t (a INTEGER PRIMARY KEY);";
    let out = run(
        &["execute", db.to_str().unwrap(), "--file", "-"],
        Some(ddl.as_bytes()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    let out = run(
        &["execute", db.to_str().unwrap(), "-f", "-"],
        Some(ddl.as_bytes()),
    );
    assert!(
        text(&out.stderr).contains("already exists with this schema"),
        "{}",
        text(&out.stderr)
    );
    let err = fails_with(
        &["execute", db.to_str().unwrap(), "-f", "-"],
        Some(b"CREATE TABLE t (a TEXT);"),
    );
    assert!(
        err.contains("table `t` already exists in") && err.contains("nothing was created"),
        "{err}"
    );
}

#[test]
fn the_widest_dates_and_declared_scales_survive_import_scan_and_export() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("far.ldb");
    let db = db.to_str().unwrap();
    let ddl = "CREATE TABLE far (id INTEGER PRIMARY KEY, day DATE, ts TIMESTAMP, tstz TIMESTAMPTZ, price DECIMAL(10,2));";
    let out = run(&["execute", db, "-f", "-"], Some(ddl.as_bytes()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let schema: Json = serde_json::from_str(&ok(&["describe", db, "far", "--json"])).unwrap();
    let head =
        json!({"type": "SCHEMA", "stream": "far", "schema": {"type": "object", "properties": {}},
        "key_properties": ["id"], "lightning_schema": schema})
        .to_string();
    // PostgreSQL's last and first finite values, as it prints them.
    let records = [
        r#"{"type":"RECORD","stream":"far","record":{"id":1,"day":"5874897-12-31","ts":"294276-12-31 23:59:59.999999","tstz":"294276-12-31 23:59:59.999999+00","price":"1.9"}}"#,
        r#"{"type":"RECORD","stream":"far","record":{"id":2,"day":"4714-11-24 BC","ts":"4714-11-24 00:00:00 BC","tstz":"4714-11-24 00:00:00 BC","price":"2"}}"#,
    ];
    let stream = format!("{head}\n{}\n", records.join("\n"));
    let out = run(&["import", db], Some(stream.as_bytes()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    let csv = concat!(
        "id,day,ts,tstz,price\n",
        "1,+5874897-12-31,+294276-12-31 23:59:59.999999,+294276-12-31 23:59:59.999999+00:00,1.90\n",
        "2,-4713-11-24,-4713-11-24 00:00:00,-4713-11-24 00:00:00+00:00,2.00\n",
    );
    assert_eq!(ok(&["scan", db, "far", "--format", "csv"]), csv);
    // The exported stream imports into an identical store.
    let copy = dir.path().join("copy.ldb");
    let copy = copy.to_str().unwrap();
    let exported = ok(&["export", db, "far"]);
    assert!(
        exported.contains(r#""ts":"+294276-12-31 23:59:59.999999""#),
        "{exported}"
    );
    let out = run(&["import", copy], Some(exported.as_bytes()));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(ok(&["scan", copy, "far", "--format", "csv"]), csv);
    assert_eq!(ok(&["checksum", copy]), ok(&["checksum", db]));
    // A key on the command line takes the same forms.
    let row: Json = serde_json::from_str(&ok(&["get", db, "far", "1"])).unwrap();
    assert_eq!(row["day"], "+5874897-12-31");
    // A price that would need rounding is refused, naming the line.
    let bad = format!(
        "{head}\n{}\n",
        r#"{"type":"RECORD","stream":"far","record":{"id":3,"price":"1.999"}}"#
    );
    let err = fails_with(&["import", db], Some(bad.as_bytes()));
    assert!(
        err.contains("line 2") && err.contains("without rounding"),
        "{err}"
    );
}

#[test]
fn import_errors_name_the_stream_line() {
    let f = loaded();
    let db = f.path("bad.ldb");
    let db = db.to_str().unwrap();
    let schema = stream_for(f.db())
        .lines()
        .take(2)
        .collect::<Vec<_>>()
        .join("\n");
    // A value that does not parse as its type, on line 4.
    let bad_value = format!(
        "{schema}\n{}\n{}\n",
        r#"{"type":"RECORD","stream":"events","record":{"kind":"a"}}"#,
        r#"{"type":"RECORD","stream":"items","record":{"region":"x","id":1,"day":"2024-02-30"}}"#
    );
    let err = fails_with(&["import", db], Some(bad_value.as_bytes()));
    assert!(
        err.contains("stream line 4") && err.contains("`day`"),
        "{err}"
    );
    // A NULL in a NOT NULL column, on line 3.
    let not_null = format!(
        "{schema}\n{}\n",
        r#"{"type":"RECORD","stream":"items","record":{"region":"x","id":null}}"#
    );
    let err = fails_with(&["import", db], Some(not_null.as_bytes()));
    assert!(
        err.contains("stream line 3") && err.contains("NOT NULL"),
        "{err}"
    );
    // A duplicate key within one batch: the second copy, on line 5.
    let dup = format!(
        "{schema}\n{}\n{}\n{}\n",
        r#"{"type":"RECORD","stream":"items","record":{"region":"y","id":1}}"#,
        r#"{"type":"RECORD","stream":"items","record":{"region":"y","id":2}}"#,
        r#"{"type":"RECORD","stream":"items","record":{"region":"y","id":1}}"#
    );
    let err = fails_with(&["import", db], Some(dup.as_bytes()));
    assert!(
        err.contains("stream line 5") && err.contains("duplicate primary key (region=y, id=1)"),
        "{err}"
    );
    // Not JSON at all.
    let err = fails_with(&["import", db], Some(b"{\"type\":\"SCHEMA\"\n"));
    assert!(err.contains("stream line 1"), "{err}");
    // The failed runs are in the history.
    let runs: Json = serde_json::from_str(&ok(&["runs", db, "--json"])).unwrap();
    assert!(
        runs.as_array()
            .unwrap()
            .iter()
            .all(|r| r["status"] == "failed"),
        "{runs}"
    );

    // With --on-error skip the bad records go to the reject file and the rest is written.
    let skip_db = f.path("skip.ldb");
    let out = run(
        &["import", skip_db.to_str().unwrap(), "--on-error", "skip"],
        Some(dup.as_bytes()),
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("1 rejected"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(ok(&["count", skip_db.to_str().unwrap(), "items"]), "2\n");
    let rejects = std::fs::read_to_string(f.path("skip.ldb.rejects.jsonl")).unwrap();
    let line: Json = serde_json::from_str(rejects.trim()).unwrap();
    assert_eq!(line["table"], "items");
    assert_eq!(line["row"]["region"], "y");
}

#[test]
fn checkpoints_cover_exactly_the_rows_committed_with_them() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("ck.ldb");
    let record = |id: &str| format!(r#"{{"type":"RECORD","stream":"t","record":{{"id":{id}}}}}"#);
    let state = |rows: u64| {
        json!({ "type": "STATE", "value": { "bookmarks": {
            "t": { "partition": "t", "table": "t", "position": rows.to_string(), "rows": rows, "done": false }
        } } })
        .to_string()
    };
    let stream = [
        r#"{"type":"SCHEMA","stream":"t","schema":{"properties":{"id":{"type":"integer"}}},"key_properties":["id"]}"#.to_string(),
        record("1"),
        record("2"),
        record("3"),
        state(3),
        record("4"),
        record("5"),
        record("\"five\""),
    ]
    .join("\n");
    let err = fails_with(
        &["import", db.to_str().unwrap(), "--batch-size", "2"],
        Some(stream.as_bytes()),
    );
    assert!(err.contains("stream line 8"), "{err}");
    let store = lightning_core::Store::open(&db).unwrap();
    assert_eq!(
        store.count("t").unwrap(),
        3,
        "rows 4 and 5 wait for a STATE message"
    );
    let cks = store.checkpoints().unwrap();
    assert_eq!(cks.len(), 1);
    assert_eq!(cks[0].rows, 3);
    drop(store);
    // A whole stream: the last STATE is committed.
    let whole = format!("{stream}\n{}\n", state(5)).replace(&record("\"five\""), &record("6"));
    let db2 = dir.path().join("ck2.ldb");
    ok_with(
        &["import", db2.to_str().unwrap(), "--batch-size", "2"],
        Some(whole.as_bytes()),
    );
    let store = lightning_core::Store::open(&db2).unwrap();
    assert_eq!(store.count("t").unwrap(), 6);
    assert_eq!(store.checkpoints().unwrap()[0].rows, 5);
}

#[test]
fn export_csv_of_every_table_is_a_usage_error() {
    let f = loaded();
    let out = run(&["export", f.db(), "--all", "--format", "csv"], None);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out.stderr));
    let out = run(&["export", f.db()], None);
    assert_eq!(out.status.code(), Some(2));
    let out = run(&["export", f.db(), "items", "--all"], None);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn errors_are_one_line() {
    let f = loaded();
    let missing = f.path("missing.ldb");
    let err = fails(&["tables", missing.to_str().unwrap()]);
    assert!(err.contains("no Lightning database at"), "{err}");
    assert!(!missing.exists(), "reading does not create a database");
    let plain = f.dir.path().to_str().unwrap();
    let err = fails(&["count", plain]);
    assert!(err.contains("is not a Lightning database"), "{err}");
    for args in [
        vec!["count", f.db(), "nosuch"],
        vec!["scan", f.db(), "nosuch"],
        vec!["get", f.db(), "nosuch", "1"],
        vec!["describe", f.db(), "nosuch"],
        vec!["checksum", f.db(), "nosuch"],
        vec!["export", f.db(), "nosuch"],
    ] {
        let err = fails(&args);
        assert!(err.contains("no table `nosuch`"), "{args:?}: {err}");
    }
    let err = fails(&["get", f.db(), "items", "eu", "one"]);
    assert!(
        err.contains("column `id`") && err.contains("BIGINT"),
        "{err}"
    );
    let err = fails(&["get", f.db(), "items", "eu"]);
    assert!(
        err.contains("2 columns (region, id)") && err.contains("1 key value was given"),
        "{err}"
    );
    let err = fails(&["get", f.db(), "items", "eu", "1", "2"]);
    assert!(err.contains("3 key values were given"), "{err}");
    let err = fails(&["get", f.db(), "events", "x"]);
    assert!(err.contains("row id"), "{err}");
    let err = fails(&["get", f.db(), "events", "1", "2"]);
    assert!(err.contains("no primary key"), "{err}");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let p = entry.unwrap().path();
        if p.is_dir() {
            out.extend(files_under(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn a_damaged_store_gives_a_clean_error() {
    for damage in ["garbage", "truncate"] {
        let f = loaded();
        let data = f.db.join("data");
        let files = files_under(&data);
        assert!(!files.is_empty());
        for p in files {
            match damage {
                "garbage" => std::fs::write(&p, b"\x00\xffnot what was here\x01\x02").unwrap(),
                _ => std::fs::File::create(&p).unwrap().set_len(0).unwrap(),
            }
        }
        for args in [
            vec!["tables", f.db()],
            vec!["scan", f.db(), "items"],
            vec!["checksum", f.db()],
            vec!["get", f.db(), "items", "eu", "1"],
        ] {
            let err = fails(&args);
            assert!(
                err.contains("is damaged and cannot be read"),
                "{damage} {args:?}: {err}"
            );
        }
    }
}

#[test]
fn a_closed_pipe_is_a_normal_end() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("big.ldb");
    let db = db.to_str().unwrap();
    let mut stream = String::from(
        r#"{"type":"SCHEMA","stream":"t","schema":{"properties":{"id":{"type":"integer"},"s":{"type":["string","null"]}}},"key_properties":["id"]}"#,
    );
    stream.push('\n');
    for i in 0..20_000 {
        stream.push_str(&format!("{{\"type\":\"RECORD\",\"stream\":\"t\",\"record\":{{\"id\":{i},\"s\":\"row number {i}\"}}}}\n"));
    }
    ok_with(&["import", db], Some(stream.as_bytes()));
    assert_eq!(ok(&["count", db, "t"]), "20000\n");
    let mut child = Command::new(BIN)
        .args(["scan", db, "t"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    assert_eq!(first, "{\"id\":0,\"s\":\"row number 0\"}\n");
    // The reader is dropped: the rest of the output meets a closed pipe.
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(text(&out.stderr), "");
}

/// A store holding one table `t`, created by `ddl` and then imported from a
/// stream of `records` (JSON objects, values by column name).
fn store_of(dir: &Path, name: &str, ddl: &str, records: &[String]) -> String {
    let db = dir.join(name);
    let db = db.to_str().unwrap().to_string();
    ok_with(&["execute", &db, "-f", "-"], Some(ddl.as_bytes()));
    let schema: Json = serde_json::from_str(&ok(&["describe", &db, "t", "--json"])).unwrap();
    let mut stream = json!({"type": "SCHEMA", "stream": "t",
        "schema": {"type": "object", "properties": {}},
        "key_properties": ["id"], "lightning_schema": schema})
    .to_string();
    for r in records {
        stream.push_str(&format!(
            "\n{{\"type\":\"RECORD\",\"stream\":\"t\",\"record\":{r}}}"
        ));
    }
    stream.push('\n');
    ok_with(&["import", &db], Some(stream.as_bytes()));
    db
}

#[test]
fn the_same_table_with_its_columns_in_another_order_has_the_same_checksum() {
    let dir = tempfile::tempdir().unwrap();
    let rows: Vec<String> = [
        r#"{"id":1,"name":"ada","score":1.5,"seen":"2024-01-02"}"#,
        r#"{"id":2,"name":null,"score":"NaN","seen":null}"#,
        r#"{"id":3,"name":"","score":-0.0,"seen":"1999-12-31"}"#,
        r#"{"id":4,"name":"grace","score":null,"seen":"1906-12-09"}"#,
    ]
    .map(String::from)
    .to_vec();
    let by_id = "CREATE TABLE t (id BIGINT PRIMARY KEY, name TEXT, score DOUBLE, seen DATE);";
    let a = store_of(dir.path(), "a.ldb", by_id, &rows);
    let b = store_of(
        dir.path(),
        "b.ldb",
        "CREATE TABLE t (seen DATE, score DOUBLE, id BIGINT PRIMARY KEY, name TEXT);",
        &rows,
    );
    // The same rows, laid out in other column orders.
    assert_ne!(ok(&["describe", &a, "t"]), ok(&["describe", &b, "t"]));
    assert_ne!(ok(&["scan", &a, "t"]), ok(&["scan", &b, "t"]));
    let sums = ok(&["checksum", &a]);
    assert_eq!(sums.lines().count(), 1, "{sums}");
    assert!(
        sums.starts_with("t  ") && sums.trim_end().ends_with('4'),
        "{sums}"
    );
    assert_eq!(ok(&["checksum", &b]), sums);
    assert_eq!(
        ok(&["checksum", &b, "--json"]),
        ok(&["checksum", &a, "--json"])
    );
    // Key ranges (cut by the primary key) agree as well.
    assert_eq!(
        ok(&["checksum", &b, "t", "--ranges", "2"]),
        ok(&["checksum", &a, "t", "--ranges", "2"])
    );
    // Another value, or the same values under another column name, differ.
    let mut other = rows.clone();
    other[0] = other[0].replace("ada", "Ada");
    let changed = store_of(dir.path(), "c.ldb", by_id, &other);
    assert_ne!(ok(&["checksum", &changed]), sums);
    let renamed = store_of(
        dir.path(),
        "d.ldb",
        "CREATE TABLE t (id BIGINT PRIMARY KEY, title TEXT, score DOUBLE, seen DATE);",
        &rows
            .iter()
            .map(|r| r.replace("\"name\"", "\"title\""))
            .collect::<Vec<_>>(),
    );
    assert_ne!(ok(&["checksum", &renamed]), sums);
}
