//! The HTML reports as a person sees them: each page written by the real tool,
//! shown in a real browser, and its screenshot checked for what must stand out.
//! `LIGHTNING_TEST_SHOTS=DIR` keeps the screenshots there for a look.

mod common;

use std::path::{Path, PathBuf};

use common::*;
use lightning_core::report::Tone;
use lightning_testkit::browser;

const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;

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

struct Shot {
    pixels: Vec<[u8; 3]>,
}

impl Shot {
    /// Screenshot of the page at `html`, kept as `name`.png.
    fn of(html: &Path, name: &str) -> Shot {
        let png = html.with_file_name(format!("{name}.png"));
        browser::screenshot(&browser::file_url(html), &png, WIDTH, HEIGHT);
        if let Some(dir) = std::env::var_os("LIGHTNING_TEST_SHOTS") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::copy(&png, dir.join(format!("{name}.png"))).unwrap();
        }
        let decoder =
            png::Decoder::new(std::io::BufReader::new(std::fs::File::open(&png).unwrap()));
        let mut reader = decoder.read_info().unwrap();
        let mut buf = vec![0; reader.output_buffer_size().unwrap()];
        let info = reader.next_frame(&mut buf).unwrap();
        assert_eq!(
            (info.width, info.height),
            (WIDTH, HEIGHT),
            "{name}: the window's size"
        );
        let step = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{name}: unexpected colour type {other:?}"),
        };
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let pixels = buf[..info.buffer_size()]
            .chunks_exact(step)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Shot { pixels }
    }

    /// The share of pixels that are not (nearly) white.
    fn ink(&self) -> f64 {
        let inked = self
            .pixels
            .iter()
            .filter(|p| p.iter().any(|&c| c < 235))
            .count();
        inked as f64 / self.pixels.len() as f64
    }

    /// Pixels of `tone`'s colour (a badge's background, a bar).
    fn of_tone(&self, tone: Tone) -> usize {
        let hex = tone.colour().trim_start_matches('#');
        let want: Vec<u8> = (0..3)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        self.pixels
            .iter()
            .filter(|p| p.iter().zip(&want).all(|(&a, &b)| a.abs_diff(b) <= 6))
            .count()
    }

    fn assert_rendered(&self, name: &str) {
        let ink = self.ink();
        assert!(
            ink > 0.02,
            "{name}: the page looks empty ({:.1}% of it drawn)",
            ink * 100.0
        );
    }

    fn assert_shows(&self, name: &str, tone: Tone) {
        let n = self.of_tone(tone);
        assert!(
            n > 150,
            "{name}: nothing in {} ({n} pixels of {})",
            tone.class(),
            tone.colour()
        );
    }
}

fn page(path: &Path) -> String {
    let html = std::fs::read_to_string(path).unwrap();
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", path.display());
    for banned in ["<script", "http://", "https://", "@import", "url("] {
        // The SVG namespace is a name, not something fetched.
        let outside_svg = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
        assert!(
            !outside_svg.contains(banned),
            "{}: {banned} in a self-contained page",
            path.display()
        );
    }
    html
}

#[test]
fn every_report_renders_as_a_page_where_what_matters_stands_out() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let target = dir.path().join("shop.ldb");

    // assess: table sizes, findings by severity, how the score was reached.
    let assess = dir.path().join("assess.html");
    let r = s2l(&["assess", "--source", p(&db), "--html", p(&assess)]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let html = page(&assess);
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
    let html = page(&convert);
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
    let html = page(&migrate);
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
    let html = page(&verify);
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
