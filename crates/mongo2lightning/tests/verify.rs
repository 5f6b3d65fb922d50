//! `verify` compares the documents rebuilt from the store with the server's: a
//! document changed, deleted or added since the migration is named by its `_id`,
//! and `verify --repair` makes the store equal again.

mod common;

use bson::doc;
use common::*;
use serde_json::Value;

/// The `(key, kind)` of every difference in a verification entry.
fn differences(entry: &Value) -> Vec<(String, String)> {
    let mut v: Vec<(String, String)> = entry["differing_keys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["key"].as_str().unwrap().to_string(),
                d["kind"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    v.sort();
    v
}

fn entry<'a>(report: &'a Value, table: &str) -> &'a Value {
    verification(report)["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == table)
        .unwrap_or_else(|| panic!("no entry {table}: {report:#}"))
}

#[test]
fn verify_names_the_documents_changed_on_the_server_and_repair_makes_the_store_equal() {
    let db = TestDb::new("verify");
    let (docs, _) = orders(300);
    db.insert("orders", &docs);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("orders.ldb");
    migrate_verified(&db.url, &target, &[]);

    let orders = db.coll("orders");
    orders
        .update_one(doc! {"_id": 5}, doc! {"$set": {"customer": "someone else"}})
        .run()
        .unwrap();
    // A change in an array of documents (a child table's row).
    orders
        .update_one(doc! {"_id": 9}, doc! {"$set": {"items.0.qty": 99}})
        .run()
        .unwrap();
    // Arrays that shrink and grow: child rows to delete and to add.
    orders
        .update_one(doc! {"_id": 11}, doc! {"$pop": {"items": 1}})
        .run()
        .unwrap();
    orders
        .update_one(
            doc! {"_id": 12},
            doc! {"$set": {"items": [{"sku": "X", "qty": 1}, {"sku": "Y", "qty": 2}]}},
        )
        .run()
        .unwrap();
    orders.delete_one(doc! {"_id": 7}).run().unwrap();
    orders
        .insert_one(doc! {"_id": 1000, "customer": "new", "items": [{"sku": "N", "qty": 1}]})
        .run()
        .unwrap();

    let args = [
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ];
    let r = m2l(&args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    let report = r.json();
    assert_eq!(verification(&report)["equal"], false);
    assert_eq!(
        differences(entry(&report, "orders (documents)")),
        [
            ("_id=1000".to_string(), "missing_in_target".to_string()),
            ("_id=11".into(), "values_differ".into()),
            ("_id=12".into(), "values_differ".into()),
            ("_id=5".into(), "values_differ".into()),
            ("_id=7".into(), "extra_in_target".into()),
            ("_id=9".into(), "values_differ".into()),
        ]
    );
    // The tables' own entries differ too.
    assert_eq!(entry(&report, "orders")["equal"], false);
    assert_eq!(entry(&report, "orders_items")["equal"], false);

    let mut repair = args.to_vec();
    repair.push("--repair");
    let r = m2l(&repair);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_all_equal(&r.json());
    // The store now holds the server's documents.
    let server: Vec<_> = orders
        .find(doc! {})
        .run()
        .unwrap()
        .map(|d| d.unwrap())
        .collect();
    let items: usize = server
        .iter()
        .map(|d| d.get_array("items").unwrap().len())
        .sum();
    let c = counts(&target);
    assert_eq!(
        (c["orders"], c["orders_items"]),
        (server.len() as u64, items as u64)
    );
    let mut server: Vec<String> = server.iter().map(|d| canonical(d).to_string()).collect();
    server.sort();
    let mut stored: Vec<String> = documents(&target, "orders")
        .iter()
        .map(|d| d.to_string())
        .collect();
    stored.sort();
    assert_eq!(stored, server);
    let r = m2l(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);
}

#[test]
fn verify_names_the_documents_a_file_changed_since_the_migration() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("every_type.json");
    std::fs::copy(fixture("every_type.json"), &file).unwrap();
    let target = dir.path().join("t.ldb");
    migrate_verified(p(&file), &target, &[]);
    // The third document changes, the fifth goes.
    let text = std::fs::read_to_string(&file).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let changed = lines[2].replace("not a number", "still not a number");
    assert_ne!(changed, lines[2]);
    std::fs::write(
        &file,
        [lines[0], lines[1], &changed, lines[3]].join("\n") + "\n",
    )
    .unwrap();

    let args = [
        "verify",
        "--source",
        p(&file),
        "--target",
        p(&target),
        "--json",
    ];
    let r = m2l(&args);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    assert_eq!(
        differences(entry(&r.json(), "every_type (documents)")),
        [
            (
                r#"_id={"$oid":"65a0c0de0000000000000003"}"#.to_string(),
                "values_differ".to_string()
            ),
            (
                r#"_id={"$oid":"65a0c0de0000000000000005"}"#.into(),
                "extra_in_target".into()
            ),
        ]
    );
    let mut repair = args.to_vec();
    repair.push("--repair");
    let r = m2l(&repair);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert_all_equal(&r.json());
    let now = std::fs::read_to_string(&file).unwrap();
    assert_eq!(documents(&target, "every_type"), canonical_lines(&now));
}
