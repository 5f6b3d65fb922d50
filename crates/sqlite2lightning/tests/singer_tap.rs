//! `export` as a Singer tap: `--discover`, `--catalog`, `--state` and a JSON
//! `--config`, through the real binary on a SQLite file.

mod common;

use std::path::Path;

use common::*;
use serde_json::{json, Value};

const SHOP: &str = r#"
CREATE TABLE items (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price DECIMAL(8,2));
CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT);
CREATE TABLE log (at TEXT, msg TEXT);
INSERT INTO items VALUES (1, 'pen', 1.50), (2, 'ink', 7), (3, 'pad', NULL);
INSERT INTO notes VALUES (1, 'hello');
INSERT INTO log VALUES ('2024-01-01', 'start'), ('2024-01-02', 'stop');
"#;

/// The stream's messages, each parsed.
fn messages(r: &Run) -> Vec<Value> {
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
        .lines()
        .map(|l| serde_json::from_str(l).expect("a JSON line"))
        .collect()
}

fn of_type<'a>(msgs: &'a [Value], kind: &str) -> Vec<&'a Value> {
    msgs.iter().filter(|m| m["type"] == kind).collect()
}

/// The streams of the SCHEMA messages, and the (stream, id) of the records.
fn summary(msgs: &[Value]) -> (Vec<String>, Vec<(String, i64)>) {
    let schemas = of_type(msgs, "SCHEMA")
        .iter()
        .map(|m| m["stream"].as_str().unwrap().to_string())
        .collect();
    let records = of_type(msgs, "RECORD")
        .iter()
        .map(|m| {
            (
                m["stream"].as_str().unwrap().to_string(),
                m["record"]["id"].as_i64().unwrap_or(-1),
            )
        })
        .collect();
    (schemas, records)
}

/// The value of the last STATE message, as an orchestrator keeps it.
fn last_state(msgs: &[Value]) -> Value {
    of_type(msgs, "STATE")
        .last()
        .expect("a STATE message")
        .get("value")
        .unwrap()
        .clone()
}

fn write_json(dir: &Path, name: &str, v: &Value) -> String {
    let path = dir.join(name);
    std::fs::write(&path, serde_json::to_string_pretty(v).unwrap()).unwrap();
    p(&path).to_string()
}

fn sql(db: &Path, sql: &str) {
    rusqlite::Connection::open(db)
        .unwrap()
        .execute_batch(sql)
        .unwrap();
}

#[test]
fn discover_writes_a_catalog_with_schemas_and_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let r = s2l(&["export", "--source", p(&db), "--discover"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cat: Value = serde_json::from_str(&r.stdout).expect("a JSON catalog");
    let streams = cat["streams"].as_array().unwrap();
    let ids: Vec<&str> = streams
        .iter()
        .map(|s| s["tap_stream_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["items", "notes", "log"]);

    let items = &streams[0];
    assert_eq!(items["stream"], "items");
    assert_eq!(items["key_properties"], json!(["id"]));
    // The schema is the one the stream's SCHEMA message carries.
    let stream = messages(&s2l(&["export", "--source", p(&db), "--tables", "items"]));
    assert_eq!(items["schema"], of_type(&stream, "SCHEMA")[0]["schema"]);
    assert_eq!(
        items["schema"]["properties"]["id"]["type"],
        json!(["integer"])
    );
    assert_eq!(
        items["metadata"][0],
        json!({"breadcrumb": [], "metadata": {
            "selected": true,
            "table-key-properties": ["id"],
            "forced-replication-method": "INCREMENTAL",
            "valid-replication-keys": ["id"]}})
    );
    assert_eq!(
        items["metadata"][1],
        json!({"breadcrumb": ["properties", "id"],
               "metadata": {"inclusion": "automatic", "sql-datatype": "INTEGER"}})
    );
    assert_eq!(
        items["metadata"][3],
        json!({"breadcrumb": ["properties", "price"],
               "metadata": {"inclusion": "available", "sql-datatype": "DECIMAL(8,2)"}})
    );
    // A keyless table is read whole each time.
    let log = &streams[2]["metadata"][0]["metadata"];
    assert_eq!(log["forced-replication-method"], "FULL_TABLE");
    assert_eq!(log["table-key-properties"], json!([]));

    // The table filter applies.
    let r = s2l(&[
        "export",
        "--source",
        p(&db),
        "--discover",
        "--exclude",
        "log",
    ]);
    let cat: Value = serde_json::from_str(&r.stdout).unwrap();
    assert_eq!(cat["streams"].as_array().unwrap().len(), 2);
}

#[test]
fn a_catalog_selects_the_streams_exported() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let r = s2l(&["export", "--source", p(&db), "--discover"]);
    let mut cat: Value = serde_json::from_str(&r.stdout).unwrap();
    for s in cat["streams"].as_array_mut().unwrap() {
        let pick = s["stream"] == "notes";
        s["metadata"][0]["metadata"]["selected"] = json!(pick);
    }
    let file = write_json(dir.path(), "catalog.json", &cat);
    for option in ["--catalog", "--properties"] {
        let msgs = messages(&s2l(&["export", "--source", p(&db), option, &file]));
        let (schemas, records) = summary(&msgs);
        assert_eq!(schemas, ["notes"], "{option}");
        assert_eq!(records, [("notes".to_string(), 1)], "{option}");
        assert_eq!(
            last_state(&msgs)["bookmarks"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["notes"]
        );
    }

    // A stream the source does not have, and a column left out, are refused.
    let mut gone = cat.clone();
    gone["streams"][1]["tap_stream_id"] = json!("orders");
    let file = write_json(dir.path(), "gone.json", &gone);
    let r = s2l(&["export", "--source", p(&db), "--catalog", &file]);
    assert_clean_error(&r, 1, "the source has no table `orders`");
    assert!(r.stdout.is_empty(), "nothing is exported");

    let mut cols = cat.clone();
    let notes = cols["streams"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|s| s["stream"] == "notes")
        .unwrap();
    notes["metadata"][2]["metadata"]["selected"] = json!(false);
    let file = write_json(dir.path(), "cols.json", &cols);
    let r = s2l(&["export", "--source", p(&db), "--catalog", &file]);
    assert_clean_error(&r, 1, "column selection is not supported");
}

#[test]
fn a_state_gives_exactly_the_rows_added_since() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let keyed = ["export", "--source", p(&db), "--tables", "items,notes"];
    let first = messages(&s2l(&keyed));
    assert_eq!(summary(&first).1.len(), 4);
    let state = last_state(&first);
    assert_eq!(
        state["bookmarks"]["items"],
        json!({"partition": "items", "table": "items", "position": "3", "rows": 3, "done": true}),
        "a finished keyed partition keeps where it ended"
    );
    let state_file = write_json(dir.path(), "state.json", &state);

    sql(
        &db,
        "INSERT INTO items VALUES (4, 'cap', 2.25), (5, 'nib', 0.5);",
    );
    let mut args = keyed.to_vec();
    args.extend(["--state", &state_file]);
    let next = messages(&s2l(&args));
    let (schemas, records) = summary(&next);
    assert_eq!(schemas, ["items", "notes"]);
    assert_eq!(
        records,
        [("items".to_string(), 4), ("items".to_string(), 5)]
    );
    assert_eq!(of_type(&next, "RECORD")[0]["record"]["name"], "cap");
    let state = last_state(&next);
    assert_eq!(state["bookmarks"]["items"]["position"], "5");
    assert_eq!(state["bookmarks"]["notes"]["position"], "1");

    // Nothing new: no record, and the same place.
    let state_file = write_json(dir.path(), "state2.json", &state);
    let mut args = keyed.to_vec();
    args.extend(["--state", &state_file]);
    let again = messages(&s2l(&args));
    assert!(summary(&again).1.is_empty());
    assert_eq!(last_state(&again), state);

    // A keyless table is read whole.
    let log = ["export", "--source", p(&db), "--tables", "log"];
    let first = messages(&s2l(&log));
    let state_file = write_json(dir.path(), "log.json", &last_state(&first));
    let mut args = log.to_vec();
    args.extend(["--state", &state_file]);
    assert_eq!(of_type(&messages(&s2l(&args)), "RECORD").len(), 2);

    // Another tap's state is refused, saying why.
    let foreign = write_json(
        dir.path(),
        "foreign.json",
        &json!({"bookmarks": {"items": {"replication_key": "id", "replication_key_value": 3}}}),
    );
    let r = s2l(&["export", "--source", p(&db), "--state", &foreign]);
    assert_clean_error(
        &r,
        1,
        "bookmark `items` is not one this tool's export wrote",
    );
    let foreign = write_json(
        dir.path(),
        "foreign2.json",
        &json!({"currently_syncing": "x"}),
    );
    let r = s2l(&["export", "--source", p(&db), "--state", &foreign]);
    assert_clean_error(&r, 1, "no `bookmarks`");
}

#[test]
fn a_json_config_drives_export_as_an_orchestrator_calls_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let config = write_json(
        dir.path(),
        "config.json",
        &json!({"source": p(&db), "tables": ["items", "log"], "export": {"on-error": "skip"}}),
    );
    let r = s2l(&["export", "--config", &config, "--discover"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let cat: Value = serde_json::from_str(&r.stdout).unwrap();
    let file = write_json(dir.path(), "catalog.json", &cat);
    let first = messages(&s2l(&["export", "--config", &config, "--catalog", &file]));
    let (schemas, records) = summary(&first);
    assert_eq!(schemas, ["items", "log"]);
    assert_eq!(records.len(), 5);

    sql(&db, "INSERT INTO items VALUES (9, 'ruler', 3);");
    let state = write_json(dir.path(), "state.json", &last_state(&first));
    let next = messages(&s2l(&[
        "export",
        "--config",
        &config,
        "--catalog",
        &file,
        "--state",
        &state,
    ]));
    let items: Vec<_> = summary(&next)
        .1
        .into_iter()
        .filter(|(s, _)| s == "items")
        .collect();
    assert_eq!(items, [("items".to_string(), 9)]);

    // A mistake in the file names it.
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"source\": \"x\",\n \"tabels\": [\"items\"]}").unwrap();
    let r = s2l(&["export", "--config", p(&bad)]);
    assert_clean_error(
        &r,
        1,
        "bad.json: unknown setting `tabels`: did you mean `tables`?",
    );
    std::fs::write(&bad, "{\"source\": \"x\",\n \"tables\": [\"items\",]}").unwrap();
    let r = s2l(&["export", "--config", p(&bad)]);
    assert_clean_error(&r, 1, "bad.json:2:21: not valid JSON: trailing comma");
}
