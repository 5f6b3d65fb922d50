//! `cargo xtask fixtures`: regenerates the bundled sample database
//! `examples/shop.sqlite`, byte for byte the same on every run.

use std::fs;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use rusqlite::{params, Connection};

use crate::synth::{self, Rng};
use crate::util::{self, section};

const CUSTOMERS: i64 = 150;
const ORDERS: i64 = 500;

/// The sample schema, as users will see it in `sqlite_schema`. The view and the
/// trigger are created after the data is loaded (see `POST_LOAD_SQL`).
const SCHEMA_SQL: &str = "
CREATE TABLE customers (
    id         INTEGER PRIMARY KEY,
    email      TEXT UNIQUE NOT NULL,
    name       TEXT,
    created_at TEXT DEFAULT CURRENT_TIMESTAMP,
    vip        BOOLEAN
);

CREATE TABLE products (
    sku    TEXT PRIMARY KEY,
    title  TEXT,
    price  DECIMAL(10,2) CHECK (price >= 0),
    weight REAL,
    image  BLOB
) WITHOUT ROWID;

CREATE TABLE orders (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    customer_id INTEGER REFERENCES customers(id) ON DELETE CASCADE,
    placed_at   DATETIME,
    total       NUMERIC(12,2),
    note        TEXT
);

CREATE TABLE order_items (
    order_id INTEGER REFERENCES orders(id),
    sku      TEXT REFERENCES products(sku),
    qty      INTEGER NOT NULL,
    PRIMARY KEY (order_id, sku)
);

CREATE TABLE audit_log (
    at      TEXT,
    message TEXT
);

CREATE INDEX orders_by_customer ON orders(customer_id);
CREATE INDEX big_orders ON orders(total) WHERE total > 100;
";

/// Created once the data is in: the trigger would otherwise stamp every generated
/// order with the current time, and the file would differ on every run.
const POST_LOAD_SQL: &str = "
CREATE VIEW customer_totals AS
SELECT c.id                      AS customer_id,
       c.email                   AS email,
       COUNT(o.id)               AS order_count,
       COALESCE(SUM(o.total), 0) AS total_spent
FROM customers AS c
LEFT JOIN orders AS o ON o.customer_id = c.id
GROUP BY c.id, c.email;

CREATE TRIGGER orders_audit AFTER INSERT ON orders BEGIN
    INSERT INTO audit_log VALUES (datetime('now'), 'order ' || NEW.id);
END;
";

/// (display name, ASCII form for the e-mail address)
const FIRST_NAMES: &[(&str, &str)] = &[
    ("Zoë", "zoe"),
    ("José", "jose"),
    ("Łukasz", "lukasz"),
    ("Søren", "soren"),
    ("Ana", "ana"),
    ("Mei", "mei"),
    ("Yuki", "yuki"),
    ("Олег", "oleg"),
    ("Grace", "grace"),
    ("Liam", "liam"),
    ("Fatima", "fatima"),
    ("Noah", "noah"),
    ("Élodie", "elodie"),
    ("Kenji", "kenji"),
];

const LAST_NAMES: &[(&str, &str)] = &[
    ("Müller", "mueller"),
    ("García", "garcia"),
    ("Nakamura", "nakamura"),
    ("O'Brien", "obrien"),
    ("Smith", "smith"),
    ("Dubois", "dubois"),
    ("Kowalski", "kowalski"),
    ("Andersen", "andersen"),
    ("田中", "tanaka"),
    ("Okafor", "okafor"),
];

const ADJECTIVES: &[&str] = &[
    "Classic",
    "Organic",
    "Compact",
    "Deluxe",
    "Vintage",
    "Ergonomic",
    "Café",
    "Nordic",
    "Travel",
    "Bamboo",
];

const NOUNS: &[&str] = &[
    "Coffee Grinder",
    "Tea Kettle",
    "Desk Lamp",
    "Notebook",
    "Backpack",
    "Water Bottle",
    "Crème Brûlée Torch",
    "Tote Bag (東京)",
    "Headphones",
    "Chef's Knife",
    "Yoga Mat",
    "Umbrella",
];

const NOTES: &[&str] = &[
    "",
    "Zoë",
    "東京",
    "Leave at the door",
    "Gift — please don't include the receipt",
    "Fragile: glass 🥂",
    "Call before delivery; buzzer #12",
    "Lieferung an Zoë Müller, 2. OG",
    "配達は午前中にお願いします",
    "Line one\nline two",
    "  padded with spaces  ",
];

/// A tiny PNG-like image: the PNG signature and an IHDR chunk header, which hold NUL
/// bytes, followed by `extra` random bytes.
fn image(rng: &mut Rng, extra: usize) -> Vec<u8> {
    let mut bytes = vec![
        0x89, b'P', b'N', b'G', b'\r', b'\n', 0x1A, b'\n', 0, 0, 0, 13, b'I', b'H', b'D', b'R', 0,
        0, 0, 1, 0, 0, 0, 1, 8, 6, 0, 0, 0,
    ];
    bytes.extend(rng.bytes(extra));
    bytes
}

pub fn run() -> Result<()> {
    let root = util::repo_root();
    let path = root.join("examples").join("shop.sqlite");
    let shown = path
        .strip_prefix(&root)
        .unwrap_or(&path)
        .display()
        .to_string();
    fs::create_dir_all(root.join("examples"))?;
    section(&format!("Generating {shown}"));
    write_shop(&path)?;
    let conn = Connection::open(&path)?;
    for table in [
        "customers",
        "products",
        "orders",
        "order_items",
        "audit_log",
    ] {
        let n: i64 = conn.query_row(&format!("SELECT count(*) FROM {table}"), [], |row| {
            row.get(0)
        })?;
        eprintln!("  {table:<12} {n:>5} rows");
    }
    drop(conn);
    eprintln!("{shown}: {} bytes", fs::metadata(&path)?.len());
    Ok(())
}

/// Writes the sample database to `path` (through a temporary file, so a failed run
/// leaves the previous file in place).
pub fn write_shop(path: &Path) -> Result<()> {
    let tmp = PathBuf::from(format!("{}.tmp", path.display()));
    util::remove_path(&tmp)?;
    util::remove_path(&PathBuf::from(format!("{}-journal", tmp.display())))?;
    build(&tmp).with_context(|| format!("could not build {}", tmp.display()))?;
    fs::rename(&tmp, path)
        .with_context(|| format!("could not move {} into place", tmp.display()))?;
    Ok(())
}

fn build(path: &Path) -> Result<()> {
    let mut conn = Connection::open(path)?;
    conn.execute_batch("PRAGMA foreign_keys = ON;")?;
    conn.execute_batch(SCHEMA_SQL)?;
    let mut rng = Rng::new(0x5110_9E55);
    let tx = conn.transaction()?;

    // Customers: ids 1..=CUSTOMERS; customer 7 has an empty name, 13 has none.
    {
        let mut stmt = tx.prepare(
            "INSERT INTO customers (id, email, name, created_at, vip) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        let mut at = synth::START_2023 - 365 * 86_400;
        for id in 1..=CUSTOMERS {
            let (first, first_ascii) = *rng.pick(FIRST_NAMES);
            let (last, last_ascii) = *rng.pick(LAST_NAMES);
            let email = format!("{first_ascii}.{last_ascii}.{id}@example.com");
            let name = match id {
                7 => Some(String::new()),
                13 => None,
                _ => Some(format!("{first} {last}")),
            };
            at += rng.range(600, 4 * 86_400);
            let vip = if id % 41 == 0 {
                None
            } else {
                Some(rng.chance(15))
            };
            stmt.execute(params![id, email, name, synth::datetime(at), vip])?;
        }
    }

    // Products: prices in cents kept here to compute order totals exactly.
    let mut products: Vec<(String, i64)> = Vec::new();
    {
        let mut stmt = tx.prepare(
            "INSERT INTO products (sku, title, price, weight, image) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        // Edge values first: a free product, a weight of exactly 0.1, an empty image.
        stmt.execute(params![
            "GIFT-WRAP",
            "Gift wrapping",
            "0.00",
            0.1_f64,
            Vec::<u8>::new()
        ])?;
        products.push(("GIFT-WRAP".to_owned(), 0));
        stmt.execute(params![
            "E-VOUCHER-50",
            "Gift voucher (e-mail delivery)",
            "50.00",
            None::<f64>,
            None::<Vec<u8>>
        ])?;
        products.push(("E-VOUCHER-50".to_owned(), 5_000));
        for n in 0..78 {
            let sku = format!("SKU-{:04}", 1000 + n * 7);
            let title = format!("{} {}", rng.pick(ADJECTIVES), rng.pick(NOUNS));
            let price = rng.range(199, 8_000);
            let weight = rng.range(50, 12_000) as f64 / 1000.0;
            let image = if rng.chance(60) {
                let extra = rng.range(8, 40) as usize;
                Some(image(&mut rng, extra))
            } else {
                None
            };
            stmt.execute(params![sku, title, synth::cents(price), weight, image])?;
            products.push((sku, price));
        }
    }

    // Orders with their items; totals are the exact sum of qty * price.
    {
        let mut order_stmt = tx.prepare(
            "INSERT INTO orders (customer_id, placed_at, total, note) VALUES (?1, ?2, ?3, ?4)",
        )?;
        let mut item_stmt =
            tx.prepare("INSERT INTO order_items (order_id, sku, qty) VALUES (?1, ?2, ?3)")?;
        let mut audit_stmt = tx.prepare("INSERT INTO audit_log (at, message) VALUES (?1, ?2)")?;
        let mut at = synth::START_2023;
        for _ in 0..ORDERS {
            let customer_id = rng.range(1, CUSTOMERS);
            at += rng.range(60, 86_400);
            let count = rng.range(1, 4) as usize;
            let mut items: Vec<(usize, i64)> = Vec::with_capacity(count);
            while items.len() < count {
                let product = rng.below(products.len() as u64) as usize;
                if items.iter().all(|(p, _)| *p != product) {
                    let qty = if rng.chance(70) { 1 } else { rng.range(2, 3) };
                    items.push((product, qty));
                }
            }
            let total: i64 = items.iter().map(|(p, qty)| products[*p].1 * qty).sum();
            let note = if rng.chance(30) {
                Some(*rng.pick(NOTES))
            } else {
                None
            };
            let placed_at = synth::datetime(at);
            order_stmt.execute(params![customer_id, placed_at, synth::cents(total), note])?;
            let order_id = tx.last_insert_rowid();
            for (product, qty) in items {
                item_stmt.execute(params![order_id, products[product].0, qty])?;
            }
            // What the trigger would have written, with the order's own time.
            audit_stmt.execute(params![placed_at, format!("order {order_id}")])?;
        }
        // A table without a primary key may hold duplicate rows and NULLs.
        for _ in 0..2 {
            audit_stmt.execute(params!["2023-06-01 12:00:00", "nightly export finished"])?;
        }
        audit_stmt.execute(params!["2023-06-02 12:00:00", None::<String>])?;
        audit_stmt.execute(params![None::<String>, "clock not set"])?;
    }
    tx.commit()?;

    conn.execute_batch(POST_LOAD_SQL)?;
    let problems: i64 =
        conn.query_row("SELECT count(*) FROM pragma_foreign_key_check", [], |row| {
            row.get(0)
        })?;
    if problems != 0 {
        bail!("{problems} foreign key violations in the generated data");
    }
    let integrity: String = conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))?;
    if integrity != "ok" {
        bail!("integrity check failed: {integrity}");
    }
    conn.execute_batch("VACUUM;")?;
    conn.close().map_err(|(_, err)| err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sample_is_deterministic() {
        let dir = std::env::temp_dir().join(format!("xtask-fixtures-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let a = dir.join("a.sqlite");
        let b = dir.join("b.sqlite");
        write_shop(&a).unwrap();
        write_shop(&b).unwrap();
        let (bytes_a, bytes_b) = (fs::read(&a).unwrap(), fs::read(&b).unwrap());
        fs::remove_dir_all(&dir).unwrap();
        assert!(bytes_a.len() < 1_000_000);
        assert!(bytes_a == bytes_b, "two runs gave different files");
    }
}
