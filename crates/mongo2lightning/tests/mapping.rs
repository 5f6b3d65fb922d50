//! How documents map to tables: a mapping file written, edited and given back; and
//! what the mapping decided from a sample does not hold (fields met later, values
//! of other types, an `_id` of another type).

mod common;

use bson::{doc, Bson, Document};
use common::*;
use lightning_core::value::Value;
use serde_json::json;

/// The field `name` of a mapping's list of fields.
fn field<'a>(fields: &'a mut serde_json::Value, name: &str) -> &'a mut serde_json::Value {
    fields
        .as_array_mut()
        .unwrap()
        .iter_mut()
        .find(|f| f["field"] == name)
        .unwrap_or_else(|| panic!("no field {name}"))
}

fn sorted_docs(docs: &[Document]) -> Vec<String> {
    let mut v: Vec<String> = docs.iter().map(|d| canonical(d).to_string()).collect();
    v.sort();
    v
}

fn sorted(values: Vec<serde_json::Value>) -> Vec<String> {
    let mut v: Vec<String> = values.iter().map(|d| d.to_string()).collect();
    v.sort();
    v
}

#[test]
fn an_edited_mapping_file_gives_the_tables_it_says_and_verifies_equal() {
    let db = TestDb::new("mapping");
    let (docs, items) = orders(200);
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("m.json");
    m2l_ok(&[
        "convert-schema",
        "--source",
        &db.url,
        "--write-mapping",
        p(&mapping),
    ]);
    let mut m: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&mapping).unwrap()).unwrap();
    // The tables renamed, a flattened document kept whole as JSON, a double as
    // JSON, a column renamed, a string read as an int (every value then goes to
    // `_extra`).
    assert_eq!(m["collections"][0]["table"], "orders");
    m["collections"][0]["table"] = json!("purchases");
    let fields = &mut m["collections"][0]["fields"];
    assert!(field(fields, "address").get("flatten").is_some());
    *field(fields, "address") = json!({"field": "address", "column": "address", "type": "json"});
    assert_eq!(field(fields, "total")["type"], "double");
    field(fields, "total")["type"] = json!("json");
    field(fields, "customer")["column"] = json!("customer_name");
    field(fields, "status")["type"] = json!("int");
    assert_eq!(field(fields, "items")["table"], "orders_items");
    field(fields, "items")["table"] = json!("order_lines");
    std::fs::write(&mapping, serde_json::to_string_pretty(&m).unwrap()).unwrap();

    let target = dir.path().join("orders.ldb");
    let report = migrate_verified(&db.url, &target, &["--mapping", p(&mapping)]);
    assert!(
        verified_tables(&report).contains(&"order_lines".to_string()),
        "{report:#}"
    );
    let cols = columns(&target, "purchases");
    for c in [
        "address JSON",
        "total JSON",
        "customer_name TEXT",
        "status INTEGER",
    ] {
        assert!(cols.contains(&c.to_string()), "{c} not in {cols:?}");
    }
    assert!(!cols.iter().any(|c| c.starts_with("address_")), "{cols:?}");
    let c = counts(&target);
    assert_eq!(c.len(), 2, "{c:?}");
    assert_eq!((c["purchases"], c["order_lines"]), (200, items), "{c:?}");
    assert!(columns(&target, "order_lines").contains(&"purchases_id INTEGER".to_string()));
    // Every `status` is a string: none fits the int column, all are in `_extra`.
    let store = lightning_core::Store::open(&target).unwrap();
    for row in store.scan("purchases").unwrap() {
        let (_, row) = row.unwrap();
        let status = cols.iter().position(|c| c == "status INTEGER").unwrap();
        assert!(row[status].is_null());
        let Value::Json(extra) = row.last().unwrap() else {
            panic!("no _extra: {row:?}");
        };
        assert!(extra.contains("\"status\""), "{extra}");
    }
    drop(store);
    assert_eq!(
        sorted(documents(&target, "orders")),
        sorted_docs(&docs),
        "the documents come back"
    );
    // The store keeps the mapping: a verification without it reads the same way.
    let r = m2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_all_equal(&r.json());
}

#[test]
fn a_mapping_file_with_a_mistake_is_refused_with_its_name() {
    let db = TestDb::new("badmap");
    db.insert("orders", &orders(5).0);
    let dir = tempfile::tempdir().unwrap();
    let mapping = dir.path().join("m.json");
    m2l_ok(&[
        "convert-schema",
        "--source",
        &db.url,
        "--write-mapping",
        p(&mapping),
    ]);
    let text = std::fs::read_to_string(&mapping).unwrap();
    std::fs::write(&mapping, text.replacen("\"double\"", "\"float\"", 1)).unwrap();
    let target = dir.path().join("t.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--mapping",
        p(&mapping),
    ]);
    assert_clean_error(&r, 1, &format!("mapping file {}", mapping.display()));
    assert!(!target.exists() || counts(&target).values().all(|n| *n == 0));
}

#[test]
fn fields_and_types_met_after_the_sample_land_in_extra_and_verify_equal() {
    // Each document has a field of its own and `v` of another type than the one
    // before: whichever document the sample of one picks, the others hold what its
    // mapping has no column for.
    let db = TestDb::new("late");
    let docs: Vec<Document> = (0..40)
        .map(|i| {
            let v = match i % 4 {
                0 => Bson::Int32(i),
                1 => Bson::String(format!("s{i}")),
                2 => Bson::Double(f64::from(i) / 2.0),
                _ => Bson::Document(doc! {"n": i, "deep": {"x": [i]}}),
            };
            let mut d = doc! {"_id": i, "v": v, "common": "c"};
            d.insert(format!("only_{i}"), i);
            if i % 5 == 0 {
                d.insert(
                    "lines",
                    vec![Bson::Document(doc! {"k": i, format!("k{i}"): true})],
                );
            }
            d
        })
        .collect();
    db.insert("late", &docs);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("late.ldb");
    let report = migrate_verified(&db.url, &target, &["--sample-size", "1"]);
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("late: ") && notes.contains("`_extra`"),
        "{report:#}"
    );
    // Every document but the sampled one keeps its own field in `_extra`.
    let store = lightning_core::Store::open(&target).unwrap();
    let with_extra = store
        .scan("late")
        .unwrap()
        .filter(|r| !r.as_ref().unwrap().1.last().unwrap().is_null())
        .count();
    assert!(with_extra >= 39, "{with_extra} rows with `_extra`");
    drop(store);
    assert_eq!(sorted(documents(&target, "late")), sorted_docs(&docs));
}

#[test]
fn an_id_of_another_type_than_the_mapping_s_stops_the_run_or_goes_to_the_reject_file() {
    let db = TestDb::new("odd_id");
    let (docs, items) = orders(50);
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    // Decided from the documents so far: every `_id` is an int.
    let mapping = dir.path().join("m.json");
    m2l_ok(&[
        "convert-schema",
        "--source",
        &db.url,
        "--write-mapping",
        p(&mapping),
    ]);
    assert!(std::fs::read_to_string(&mapping)
        .unwrap()
        .contains("\"id\": \"int\""));
    db.insert(
        "orders",
        &[doc! {"_id": "odd-one", "customer": "x", "items": [{"sku": "s"}]}],
    );
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--mapping",
        p(&mapping),
        "--quiet",
    ];
    let r = m2l(&args);
    assert_clean_error(&r, 1, "_id=\"odd-one\"");
    assert!(r.stderr.contains("`_id` is string"), "{}", r.stderr);

    let rejects = dir.path().join("rejects.jsonl");
    let mut skip = args.to_vec();
    skip.extend(["--on-error", "skip", "--reject-file", p(&rejects), "--json"]);
    let r = m2l(&skip);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(report["summary"]["rows_rejected"], 1, "{report:#}");
    let text = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(text.lines().count(), 1, "{text}");
    assert!(text.contains("odd-one"), "{text}");
    let c = counts(&target);
    assert_eq!((c["orders"], c["orders_items"]), (50, items), "{c:?}");
    // The document set aside is a difference the verification names; the others
    // are equal.
    let r = m2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    for t in verification(&report)["tables"].as_array().unwrap() {
        assert_eq!(t["source_checksum"], t["target_checksum"], "{t:#}");
        assert_eq!(t["differing_keys"], json!([]), "{t:#}");
        if t["table"] != "orders_items" {
            assert_eq!(t["equal"], false, "{t:#}");
            assert!(
                t["sample_mismatches"].to_string().contains("1 source"),
                "{t:#}"
            );
        }
    }
}
