//! `assess` of a live database and of a folder of files, and `--where` on a live
//! migration.

mod common;

use bson::doc;
use common::*;
use serde_json::Value;

fn table<'a>(report: &'a Value, name: &str) -> &'a Value {
    report["tables"]
        .as_array()
        .unwrap_or_else(|| panic!("no tables: {report:#}"))
        .iter()
        .find(|t| t["table"] == name)
        .unwrap_or_else(|| panic!("no table {name}: {report:#}"))
}

/// An assessment's tables, their rows, and an estimate.
fn assert_assessment(report: &Value, orders: u64, items: u64) {
    assert_eq!(report["kind"], "assessment", "{report:#}");
    assert_eq!(table(report, "orders")["rows"], orders, "{report:#}");
    assert_eq!(table(report, "orders_items")["rows"], items, "{report:#}");
    assert_eq!(table(report, "every_type")["rows"], 5, "{report:#}");
    assert_eq!(table(report, "every_type_items")["rows"], 4, "{report:#}");
    assert_eq!(
        table(report, "every_type_items_parts")["rows"],
        2,
        "{report:#}"
    );
    assert!(table(report, "orders")["size_bytes"].as_u64().unwrap() > 0);
    // The estimate comes from a timed read of a sample of the documents.
    let estimate = &report["estimate"];
    assert!(estimate["sampled_rows"].as_u64().unwrap() > 0, "{report:#}");
    assert!(
        estimate["estimated_secs"].as_f64().unwrap() > 0.0,
        "{report:#}"
    );
    assert!(report["database_size_bytes"].as_u64().unwrap() > 0);
}

/// A folder of `n` orders in JSON lines and the every-type BSON fixture; the
/// orders' items.
fn files_folder(n: i32) -> (tempfile::TempDir, u64) {
    let dir = tempfile::tempdir().unwrap();
    let (docs, items) = orders(n);
    write_json_lines(&dir.path().join("orders.json"), &docs);
    std::fs::copy(
        fixture("every_type.bson"),
        dir.path().join("every_type.bson"),
    )
    .unwrap();
    (dir, items)
}

#[test]
fn assess_reports_the_tables_documents_and_an_estimate_of_a_live_database() {
    let db = TestDb::new("assess");
    let (docs, items) = orders(400);
    db.insert("orders", &docs);
    db.insert("every_type", &every_type());
    let r = m2l_ok(&["assess", "--source", &db.url, "--json"]);
    assert_assessment(&r.json(), 400, items);
}

#[test]
fn assess_reports_the_tables_documents_and_an_estimate_of_a_folder_of_files() {
    let (dir, items) = files_folder(400);
    let r = m2l_ok(&["assess", "--source", p(dir.path()), "--json"]);
    assert_assessment(&r.json(), 400, items);
}

#[test]
fn files_given_their_mapping_are_counted_as_without_it() {
    // The mapping spares the profile of every document, not their count: the
    // estimate is of the whole file, in JSON lines and in BSON.
    let (dir, _) = files_folder(1000);
    let outside = tempfile::tempdir().unwrap();
    let mapping = outside.path().join("m.json");
    m2l_ok(&[
        "convert-schema",
        "--source",
        p(dir.path()),
        "--write-mapping",
        p(&mapping),
    ]);
    let r = m2l_ok(&[
        "assess",
        "--source",
        p(dir.path()),
        "--mapping",
        p(&mapping),
        "--json",
    ])
    .json();
    assert_eq!(table(&r, "orders")["rows"], 1000, "{r:#}");
    assert_eq!(table(&r, "every_type")["rows"], 5, "{r:#}");
    assert!(r["estimate"]["estimated_secs"].as_f64().unwrap() > 0.0);
}

#[test]
fn where_copies_only_the_matching_documents_of_a_live_collection() {
    let db = TestDb::new("where");
    let (docs, _) = orders(300);
    db.insert("orders", &docs);
    db.insert("other", &[doc! {"_id": 1, "status": "B"}]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("a.ldb");
    let report = migrate_verified(
        &db.url,
        &target,
        &[
            "--where",
            r#"orders:{"status": "A", "total": {"$gte": 150}}"#,
        ],
    );
    let expected: Vec<_> = docs
        .iter()
        .filter(|d| d.get_str("status").unwrap() == "A" && d.get_f64("total").unwrap() >= 150.0)
        .collect();
    let items: u64 = expected
        .iter()
        .map(|d| d.get_array("items").unwrap().len() as u64)
        .sum();
    assert!(!expected.is_empty() && expected.len() < docs.len());
    let c = counts(&target);
    assert_eq!(c["orders"], expected.len() as u64, "{c:?}");
    assert_eq!(c["orders_items"], items, "{c:?}");
    assert_eq!(c["other"], 1, "{c:?}");
    assert_eq!(
        documents(&target, "orders"),
        expected.iter().map(|d| canonical(d)).collect::<Vec<_>>()
    );
    // The filtered tables are verified against the filtered source.
    assert!(verified_tables(&report).contains(&"orders".to_string()));
    // Two conditions on one collection: both must match.
    let both = dir.path().join("both.ldb");
    migrate_verified(
        &db.url,
        &both,
        &[
            "--where",
            r#"orders:{"status": "A"}"#,
            "--where",
            r#"orders:{"total": {"$gte": 150}}"#,
        ],
    );
    assert_eq!(counts(&both), c);
    // A filter that is not a JSON query is refused, naming the collection.
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&dir.path().join("b.ldb")),
        "--where",
        "orders:status = 'A'",
    ]);
    assert_clean_error(&r, 1, "--where orders");
}

#[test]
fn indexes_become_lightning_indexes_or_manual_work_and_views_are_named() {
    let db = TestDb::new("indexes");
    let (docs, _) = orders(50);
    db.insert("orders", &docs);
    let orders = db.coll("orders");
    let index = |keys: bson::Document, options: Option<mongodb::options::IndexOptions>| {
        let model = mongodb::IndexModel::builder()
            .keys(keys)
            .options(options)
            .build();
        orders.create_index(model).run().unwrap();
    };
    let unique = mongodb::options::IndexOptions::builder()
        .unique(true)
        .build();
    index(doc! {"customer": 1, "address.city": -1}, None);
    index(doc! {"address.zip": 1}, Some(unique));
    index(doc! {"$**": 1}, None);
    let ttl = mongodb::options::IndexOptions::builder()
        .expire_after(std::time::Duration::from_secs(60))
        .build();
    index(doc! {"total": 1}, Some(ttl));
    db.db
        .run_command(doc! {"create": "big_orders", "viewOn": "orders", "pipeline": [{"$match": {"total": {"$gt": 10}}}]})
        .run()
        .unwrap();
    let r = m2l_ok(&["convert-schema", "--source", &db.url]);
    assert!(
        r.stdout
            .contains("ON orders USING BTREE (customer, address_city);"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("UNIQUE"), "{}", r.stdout);
    assert!(r.stdout.contains("(address_zip)"), "{}", r.stdout);
    let report = m2l_ok(&["convert-schema", "--source", &db.url, "--json"]).json();
    let manual: Vec<String> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["severity"] == "manual")
        .map(|f| {
            format!(
                "{} {}",
                f["object"].as_str().unwrap(),
                f["message"].as_str().unwrap()
            )
        })
        .collect();
    assert!(manual.iter().any(|m| m.contains("wildcard")), "{manual:?}");
    assert!(manual.iter().any(|m| m.contains("TTL")), "{manual:?}");
    assert!(
        manual
            .iter()
            .any(|m| m.starts_with("big_orders ") && m.contains("a view")),
        "{manual:?}"
    );
    // The view is not a table.
    assert!(
        !r.stdout.contains("CREATE TABLE big_orders"),
        "{}",
        r.stdout
    );
}
