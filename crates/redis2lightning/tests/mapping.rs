//! The mapping file: written by `convert-schema`, edited, given back to `migrate`,
//! which follows it; a bad one is refused with its problem named and the target
//! untouched; a value that does not fit the type decided from a sample stops the
//! copy with the key named, or is set aside with `--on-error skip`.

mod common;

use std::path::Path;

use common::*;
use lightning_core::value::Value;
use serde_json::{json, Value as Json};

fn read_json(path: &Path) -> Json {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn table_entry<'a>(m: &'a mut Json, pattern: &str) -> &'a mut Json {
    m["tables"]
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|t| t["pattern"] == pattern)
        .unwrap_or_else(|| panic!("no pattern {pattern}"))
}

fn load_mapped(db: &mut TestDb) {
    let mut c = Vec::new();
    for i in 1..=30 {
        c.push(
            cmd("SET")
                .arg(format!("page:views:{i}"))
                .arg(i * 100)
                .clone(),
        );
    }
    for i in 1..=40 {
        c.push(
            cmd("HSET")
                .arg(format!("user:{i}"))
                .arg("name")
                .arg(format!("n{i}"))
                .arg("age")
                .arg(i)
                .clone(),
        );
    }
    for i in 1..=20 {
        c.push(
            cmd("SET")
                .arg(format!("session:{i}"))
                .arg(format!(r#"{{"u":{i}}}"#))
                .clone(),
        );
    }
    db.pipe(c);
}

#[test]
fn an_edited_mapping_file_is_followed() {
    let mut db = TestDb::new(dbs::MAPPING);
    load_mapped(&mut db);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("m.json");
    let r = r2l_ok(&[
        "convert-schema",
        "--source",
        &db.url,
        "--write-mapping",
        p(&file),
    ]);
    assert!(r.stdout.contains("page_views"), "{}", r.stdout);
    let mut m = read_json(&file);
    assert_eq!(m["format"], 1);
    let views = table_entry(&mut m, "page:views:*");
    assert_eq!(views["type"], "string");
    assert_eq!(views["table"], "page_views");
    assert_eq!(views["value"]["type"], "BIGINT");
    views["table"] = json!("views");
    views["value"]["type"] = json!("TEXT");
    let users = table_entry(&mut m, "user:*");
    assert_eq!(users["type"], "hash");
    assert!(users["fields"].is_array(), "{users:#}");
    users.as_object_mut().unwrap().remove("fields");
    std::fs::write(&file, serde_json::to_string_pretty(&m).unwrap()).unwrap();

    let target = dir.path().join("mapped.ldb");
    migrate_verified(&db.url, &target, &["--mapping", p(&file)]);
    assert_eq!(tables(&target), ["session", "user", "views"]);
    assert_eq!(
        columns(&target, "views"),
        [
            "key TEXT",
            "views_id BIGINT",
            "value TEXT",
            "expires_at TIMESTAMPTZ"
        ]
    );
    let mut views = rows(&target, "views");
    views.sort_by_key(|r| format!("{:?}", r[1]));
    assert_eq!(views.len(), 30);
    for r in &views {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert_eq!(r[2], text(&(i * 100).to_string()), "{r:?}");
    }
    assert_eq!(
        columns(&target, "user"),
        [
            "key TEXT",
            "user_id BIGINT",
            "fields JSON",
            "expires_at TIMESTAMPTZ"
        ]
    );
    for r in rows(&target, "user") {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert_eq!(
            r[2],
            Value::Json(format!(r#"{{"age":"{i}","name":"n{i}"}}"#)),
            "{r:?}"
        );
    }
    assert_eq!(rows(&target, "session").len(), 20);
    // A verification on its own reads the keys with the mapping the target keeps.
    verified_equal(&db.url, &target);
}

#[test]
fn a_bad_mapping_file_is_refused_with_its_problem_named() {
    let mut db = TestDb::new(dbs::BAD_MAPPING);
    load_mapped(&mut db);
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    r2l_ok(&[
        "convert-schema",
        "--source",
        &db.url,
        "--write-mapping",
        p(&good),
    ]);
    let target = dir.path().join("bad.ldb");
    migrate_verified(&db.url, &target, &["--mapping", p(&good)]);
    let before = checksums(&target);
    let runs_before = runs(&target).len();

    type Edit = fn(&mut Json);
    let cases: [(&str, Edit, &str); 5] = [
        (
            "an unknown column type",
            |m| table_entry(m, "page:views:*")["value"]["type"] = json!("GEOGRAPHY"),
            "GEOGRAPHY",
        ),
        (
            "a type that cannot carry the values",
            |m| table_entry(m, "page:views:*")["value"]["type"] = json!("DATE"),
            "cannot be DATE",
        ),
        (
            "a segment column missing",
            |m| table_entry(m, "session:*")["segments"] = json!([]),
            "has 1 variable segments",
        ),
        (
            "an unknown Redis type",
            |m| table_entry(m, "session:*")["type"] = json!("bitmap"),
            "bitmap",
        ),
        (
            "two patterns into one table",
            |m| table_entry(m, "session:*")["table"] = json!("user"),
            "two patterns map to the table `user`",
        ),
    ];
    for (what, edit, needle) in cases {
        let mut m = read_json(&good);
        edit(&mut m);
        let file = dir.path().join("edited.json");
        std::fs::write(&file, serde_json::to_string_pretty(&m).unwrap()).unwrap();
        let r = r2l(&[
            "migrate",
            "--source",
            &db.url,
            "--target",
            p(&target),
            "--mapping",
            p(&file),
            "--quiet",
        ]);
        assert!(
            r.code == 1 || r.code == 2,
            "{what}: exit {}: {}",
            r.code,
            r.stderr
        );
        assert_clean_error(&r, r.code, needle);
        assert!(
            r.stderr.contains("edited.json"),
            "{what}: the file named: {}",
            r.stderr
        );
        assert_eq!(checksums(&target), before, "{what}: the target changed");
        assert_eq!(runs(&target).len(), runs_before, "{what}: a run started");
    }
    // Not JSON at all.
    let file = dir.path().join("edited.json");
    std::fs::write(&file, "{ not json").unwrap();
    let r = r2l(&["convert-schema", "--source", &db.url, "--mapping", p(&file)]);
    assert_clean_error(&r, r.code, "edited.json");
    assert!(r.code == 1 || r.code == 2, "{}", r.stderr);
    assert_eq!(checksums(&target), before);
}

#[test]
fn a_value_that_does_not_fit_its_sampled_type_stops_the_copy_then_is_rejected() {
    let mut db = TestDb::new(dbs::MISFIT);
    let c = (1..=20)
        .map(|i| cmd("SET").arg(format!("page:views:{i}")).arg(i).clone())
        .collect();
    db.pipe(c);
    // The walk meets the keys in SCAN order and samples the first one: the last
    // one met holds a value that is no integer.
    let order = settled_scan(&mut db);
    assert_eq!(order.len(), 20, "one SCAN step holds every key");
    let bad = order.last().unwrap().clone();
    db.cmd::<()>(cmd("SET").arg(&bad).arg("abc"));
    let again = settled_scan(&mut db);
    assert_ne!(again[0], bad, "the sampled key is not the bad one");

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("misfit.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--sample-size",
        "1",
        "--quiet",
    ];
    let r = r2l(&args);
    assert_clean_error(&r, 1, &bad);
    let error = r
        .stderr
        .lines()
        .find(|l| l.starts_with("error:"))
        .unwrap()
        .to_string();
    assert!(error.contains("`abc`"), "{error}");
    assert_eq!(columns(&target, "page_views")[2], "value BIGINT");

    // The same target, the key set aside.
    let mut skip = args.to_vec();
    skip.extend(["--on-error", "skip", "--json"]);
    let r = r2l(&skip);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rejects = std::fs::read_to_string(format!("{}.rejects.jsonl", p(&target))).unwrap();
    let lines: Vec<&str> = rejects.lines().collect();
    assert_eq!(lines.len(), 1, "{rejects}");
    assert!(
        lines[0].contains(&bad) && lines[0].contains("abc"),
        "{rejects}"
    );
    let got = rows(&target, "page_views");
    assert_eq!(got.len(), 19);
    for r in &got {
        let Value::Int(i) = r[1] else { panic!("{r:?}") };
        assert_eq!(r[2], Value::Int(i));
    }
    assert_eq!(runs(&target).last().unwrap().0, "completed");
    // The verification counts the key set aside.
    let r = r2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ]);
    let report = r.json();
    let entry = &report["tables"][0];
    assert_eq!(entry["table"], "page_views", "{report:#}");
    assert!(
        entry["sample_mismatches"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m
                .as_str()
                .unwrap()
                .contains("1 source rows cannot be converted")),
        "{report:#}"
    );
    assert_eq!(entry["target_rows"], 19, "{report:#}");

    // What the first run said to do applies to Redis: a mapping file, not --cast
    // (which redis2lightning refuses).
    assert!(
        error.contains("mapping"),
        "the mapping file suggested: {error}"
    );
    assert!(
        !error.contains("--cast"),
        "--cast does not apply to Redis: {error}"
    );
}

/// Every key in SCAN order, once the order has stopped moving: while the server is
/// still growing its key table (it does so a step at a time, in the background),
/// two SCANs may meet the keys in different orders.
fn settled_scan(db: &mut TestDb) -> Vec<String> {
    let mut last: Vec<String> = Vec::new();
    for _ in 0..50 {
        let (_, keys): (u64, Vec<String>) = db.cmd(cmd("SCAN").arg(0).arg("COUNT").arg(1000));
        if keys == last {
            return keys;
        }
        last = keys;
        std::thread::sleep(std::time::Duration::from_millis(150));
    }
    panic!("the SCAN order did not settle in 7 s: {last:?}");
}
