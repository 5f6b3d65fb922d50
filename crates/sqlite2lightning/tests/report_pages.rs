//! The HTML reports as a person sees them: each page written by the real tool,
//! shown in a real browser, and its screenshot checked for what must stand out.
//! `LIGHTNING_TEST_SHOTS=DIR` keeps the screenshots there for a look.

mod common;

use common::*;
use lightning_core::report::Tone;
use lightning_testkit::browser::{self, Shot};

/// A shop with something of every kind to report: a loss (a NOCASE collation),
/// warnings (numeric text stored as REAL), manual work (a view, a trigger), and
/// tables of different sizes.
const SHOP: &str = r#"
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT COLLATE NOCASE, city TEXT, email TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     total NUMERIC(12,2), placed DATE, note TEXT);
CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE TABLE tags (name TEXT PRIMARY KEY, weight REAL);
CREATE VIEW big_spenders AS SELECT customer_id, sum(total) AS spent FROM orders GROUP BY customer_id;
CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN SELECT 1; END;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 3000)
  INSERT INTO customers SELECT x, 'customer ' || x, 'city ' || (x % 40), 'c' || x || '@example.com' FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 40000)
  INSERT INTO orders SELECT x, 1 + x % 3000, x * 1.25, date('2020-01-01', '+' || (x % 1500) || ' days'),
                            'order number ' || x || ' with a note long enough to take some room' FROM n;
WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n WHERE x < 60)
  INSERT INTO tags SELECT 'tag ' || x, x / 7.0 FROM n;
"#;

#[test]
fn every_report_renders_as_a_page_where_what_matters_stands_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let target = dir.path().join("shop.ldb");

    // assess: table sizes, findings by severity, how the score was reached.
    let assess = dir.path().join("assess.html");
    let r = s2l(&["assess", "--source", p(&db), "--html", p(&assess)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = browser::self_contained_page(&assess);
    for expected in [
        "Table sizes",
        "Findings by severity",
        "How the score was reached",
        "<span class=\"badge manual\">manual work</span>",
        "<span class=\"badge loss\">loss</span>",
        "<td class=\"num\">40,000</td>",
        env!("CARGO_PKG_VERSION"),
        "sqlite2lightning assess --source",
    ] {
        assert!(html.contains(expected), "assess: no {expected:?}");
    }
    let shot = Shot::of(&assess, "assess");
    shot.assert_rendered("assess");
    shot.assert_shows("assess", Tone::Manual);
    shot.assert_shows("assess", Tone::Loss);
    shot.assert_shows("assess", Tone::Warning);

    // convert-schema: every column's decision, findings coloured.
    let convert = dir.path().join("convert.html");
    let r = s2l(&["convert-schema", "--source", p(&db), "--html", p(&convert)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = browser::self_contained_page(&convert);
    assert!(html.contains("Findings by severity") && html.contains("Table orders"));
    let shot = Shot::of(&convert, "convert-schema");
    shot.assert_rendered("convert-schema");
    shot.assert_shows("convert-schema", Tone::Loss);

    // migrate --verify: time per table, store size, an EQUAL verdict.
    let migrate = dir.path().join("migrate.html");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--verify",
        "--html",
        p(&migrate),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = browser::self_contained_page(&migrate);
    for expected in [
        "Time per table",
        "store size",
        "rows/s",
        "<span class=\"badge good\">EQUAL</span>",
        "<td class=\"num\">40,000</td>",
    ] {
        assert!(html.contains(expected), "migrate: no {expected:?}");
    }
    let shot = Shot::of(&migrate, "migrate");
    shot.assert_rendered("migrate");
    shot.assert_shows("migrate", Tone::Good);

    // verify after the source changed: DIFFERENT, with the columns that differ.
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute_batch(
        "UPDATE customers SET city = 'Edinburgh', email = 'new@example.com' WHERE id = 42;
         DELETE FROM orders WHERE id = 7;",
    )
    .unwrap();
    drop(conn);
    let verify = dir.path().join("verify.html");
    let json = dir.path().join("verify.json");
    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--html",
        p(&verify),
        "--report",
        p(&json),
    ]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let report: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let customers = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "customers")
        .unwrap();
    assert_eq!(
        customers["differing_columns"],
        serde_json::json!(["city", "email"])
    );
    let html = browser::self_contained_page(&verify);
    assert!(html.contains("<span class=\"badge bad\">DIFFERENT</span>"));
    assert!(
        html.contains("<td>city, email</td>"),
        "the differing columns"
    );
    let shot = Shot::of(&verify, "verify");
    shot.assert_rendered("verify");
    shot.assert_shows("verify", Tone::Bad);
    shot.assert_shows("verify", Tone::Good);
}
