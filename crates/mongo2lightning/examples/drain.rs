//! The MongoDB benchmark's helper (`cargo xtask bench --source mongo`): it loads the
//! generated orders into a server, writes them as mongoexport and mongodump files,
//! and is the reference each `mongo2lightning migrate` is measured against: the same
//! driver draining a plain `find()` cursor, or the same `bson` crate parsing a file.
//!
//! ```text
//! drain load URL N [COLLECTION]        insert N generated orders (insert_many, in
//!                                      batches); nothing when the collection already
//!                                      holds N documents, otherwise it is dropped first
//! drain read URL COLLECTION            drain find() over the collection, print the count
//! drain write FILE N                   write N generated orders: FILE.json as
//!                                      mongoexport writes it (relaxed Extended JSON, one
//!                                      document per line), FILE.bson as mongodump does
//! drain parse FILE                     parse every document of such a file, print the count
//! ```
//!
//! URL names the database: `mongodb://127.0.0.1:27017/lightning_bench`. Orders are
//! the same for the same N: a deterministic generator, no clock, no randomness.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::time::Instant;

use anyhow::{bail, Context, Result};
use bson::oid::ObjectId;
use bson::{doc, Bson, DateTime, Decimal128, Document};
use mongodb::sync::{Client, Collection};

const USAGE: &str = "usage: drain load URL N [COLLECTION] | drain read URL COLLECTION | \
                     drain write FILE.json|FILE.bson N | drain parse FILE";
/// Documents per insert_many.
const BATCH: usize = 1000;

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    match args.as_slice() {
        ["load", url, n] => load(url, "orders", count_arg(n)?),
        ["load", url, n, coll] => load(url, coll, count_arg(n)?),
        ["read", url, coll] => read(url, coll),
        ["write", file, n] => write(Path::new(file), count_arg(n)?),
        ["parse", file] => parse(Path::new(file)),
        _ => bail!("{USAGE}"),
    }
}

fn count_arg(n: &str) -> Result<u64> {
    n.replace('_', "")
        .parse()
        .with_context(|| format!("`{n}` is not a number of documents\n{USAGE}"))
}

fn collection(url: &str, coll: &str) -> Result<Collection<Document>> {
    let client = Client::with_uri_str(url).with_context(|| format!("connecting to {url}"))?;
    let db = client
        .default_database()
        .with_context(|| format!("name the database in the URL: {url}"))?;
    Ok(db.collection(coll))
}

fn load(url: &str, coll: &str, n: u64) -> Result<()> {
    let collection = collection(url, coll)?;
    let have = collection.count_documents(doc! {}).run()?;
    if have == n {
        eprintln!("{coll}: already holds {n} documents");
        return Ok(());
    }
    if have > 0 {
        eprintln!("{coll}: holds {have} documents, not {n}: loading it again");
        collection.drop().run()?;
    }
    let began = Instant::now();
    let mut orders = Orders::new();
    let mut batch = Vec::with_capacity(BATCH);
    let mut done = 0u64;
    let mut next_report = n / 10;
    while done < n {
        batch.clear();
        while batch.len() < BATCH && done + (batch.len() as u64) < n {
            batch.push(orders.next_order());
        }
        collection.insert_many(&batch).run()?;
        done += batch.len() as u64;
        if done >= next_report {
            eprintln!("  {:>3}%  {done} documents", done * 100 / n.max(1));
            next_report += (n / 10).max(1);
        }
    }
    let secs = began.elapsed().as_secs_f64();
    eprintln!(
        "{coll}: loaded {n} documents in {secs:.1} s ({:.0} documents/s)",
        n as f64 / secs
    );
    Ok(())
}

fn read(url: &str, coll: &str) -> Result<()> {
    let collection = collection(url, coll)?;
    let mut count = 0u64;
    for document in collection.find(doc! {}).run()? {
        std::hint::black_box(document?);
        count += 1;
    }
    println!("{count}");
    Ok(())
}

fn write(path: &Path, n: u64) -> Result<()> {
    let json = match path.extension().and_then(|e| e.to_str()) {
        Some("json") => true,
        Some("bson") => false,
        _ => bail!("{}: name a .json or a .bson file", path.display()),
    };
    let file = File::create(path).with_context(|| format!("creating {}", path.display()))?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let mut orders = Orders::new();
    for _ in 0..n {
        let order = orders.next_order();
        if json {
            // mongoexport's default: relaxed Extended JSON, one document per line.
            write_relaxed(&mut out, &Bson::Document(order))?;
            out.write_all(b"\n")?;
        } else {
            order.to_writer(&mut out)?;
        }
    }
    out.flush()?;
    Ok(())
}

/// Relaxed Extended JSON with the fields in the document's order, as mongoexport
/// writes it (a `serde_json::Value` would sort them by name).
fn write_relaxed(out: &mut impl Write, value: &Bson) -> Result<()> {
    match value {
        Bson::Document(d) => {
            out.write_all(b"{")?;
            for (i, (key, value)) in d.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                serde_json::to_writer(&mut *out, key)?;
                out.write_all(b":")?;
                write_relaxed(out, value)?;
            }
            out.write_all(b"}")?;
        }
        Bson::Array(a) => {
            out.write_all(b"[")?;
            for (i, value) in a.iter().enumerate() {
                if i > 0 {
                    out.write_all(b",")?;
                }
                write_relaxed(out, value)?;
            }
            out.write_all(b"]")?;
        }
        other => serde_json::to_writer(&mut *out, &other.clone().into_relaxed_extjson())?,
    }
    Ok(())
}

fn parse(path: &Path) -> Result<()> {
    let file = File::open(path).with_context(|| format!("opening {}", path.display()))?;
    let mut input = BufReader::with_capacity(256 * 1024, file);
    let mut count = 0u64;
    if path.extension().is_some_and(|e| e == "bson") {
        let mut buf = Vec::new();
        loop {
            let mut len = [0u8; 4];
            match input.read_exact(&mut len) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => break,
                Err(e) => return Err(e.into()),
            }
            let size = usize::try_from(i32::from_le_bytes(len)).context("a negative length")?;
            buf.clear();
            buf.extend_from_slice(&len);
            buf.resize(size, 0);
            input.read_exact(&mut buf[4..])?;
            let raw = bson::RawDocument::from_bytes(&buf)?;
            std::hint::black_box(Document::try_from(raw)?);
            count += 1;
        }
    } else {
        let mut line = Vec::new();
        while {
            line.clear();
            input.read_until(b'\n', &mut line)? > 0
        } {
            let text = line.trim_ascii();
            if text.is_empty() {
                continue;
            }
            let json: serde_json::Value = serde_json::from_slice(text)?;
            match Bson::try_from(json)? {
                Bson::Document(d) => std::hint::black_box(d),
                other => bail!("line {}: not a document: {other}", count + 1),
            };
            count += 1;
        }
    }
    println!("{count}");
    Ok(())
}

/// SplitMix64, as xtask's generators use: the same orders on every run.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A value in `0..n` (`n > 0`).
    fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }

    fn chance(&mut self, percent: u64) -> bool {
        self.below(100) < percent
    }
}

/// Milliseconds since 1970 of 2023-01-01T00:00:00Z.
const START_2023_MS: i64 = 1_672_531_200_000;

const FIRST_NAMES: &[&str] = &[
    "Ada", "Grace", "Linus", "Zoë", "José", "Mei", "Yuki", "Olu", "Søren", "Priya", "Liam",
    "Fatima", "Noah", "Élodie", "Kenji", "Anna",
];
const LAST_NAMES: &[&str] = &[
    "Lovelace", "Hopper", "Müller", "García", "Nakamura", "O'Brien", "Okafor", "Kowalski",
    "Andersen", "Dubois", "Singh", "Smith", "Rossi", "Novák",
];
const STREETS: &[&str] = &[
    "Main Street",
    "Baker Street",
    "Rue de Rivoli",
    "Kastanienallee",
    "Calle Mayor",
    "Ulica Floriańska",
    "High Road",
    "Elm Avenue",
];
const CITIES: &[(&str, &str)] = &[
    ("London", "GB"),
    ("Paris", "FR"),
    ("Berlin", "DE"),
    ("Madrid", "ES"),
    ("Kraków", "PL"),
    ("São Paulo", "BR"),
    ("東京", "JP"),
    ("Toronto", "CA"),
    ("Austin", "US"),
];
const PRODUCTS: &[&str] = &[
    "Espresso grinder",
    "Running shoes",
    "Wool socks (3 pairs)",
    "Cast-iron pan 28 cm",
    "Noise-cancelling headphones",
    "Paperback: The Pragmatic Programmer",
    "Garden hose 25 m",
    "LED desk lamp",
    "Yoga mat",
    "Water bottle 750 ml",
    "USB-C charger 65 W",
    "Rain jacket",
];
const STATUSES: &[&str] = &[
    "pending",
    "paid",
    "shipped",
    "shipped",
    "delivered",
    "delivered",
    "cancelled",
];
const PAYMENTS: &[&str] = &[
    "card",
    "card",
    "card",
    "paypal",
    "bank_transfer",
    "gift_card",
];
const CHANNELS: &[&str] = &["web", "web", "ios", "android", "marketplace"];
const TAGS: &[&str] = &["gift", "express", "first-order", "b2b", "fragile", "promo"];
const NOTES: &[&str] = &[
    "Please leave the parcel with the neighbour if nobody is home.",
    "Ring twice; the bell is broken on the ground floor.",
    "Deliver after 5 pm on weekdays, any time at weekends.",
    "Gift: no invoice in the box, please.",
];

/// Generated e-commerce orders: ascending ObjectIds and dates, a nested customer
/// with an address, 2-3 line items, decimals for money, doubles, ints and strings.
struct Orders {
    rng: Rng,
    n: u64,
    millis: i64,
}

impl Orders {
    fn new() -> Self {
        Orders {
            rng: Rng(0x0DDE_5EED_2023),
            n: 0,
            millis: START_2023_MS,
        }
    }

    fn next_order(&mut self) -> Document {
        let rng = &mut self.rng;
        self.n += 1;
        self.millis += 1 + rng.below(60_000) as i64;
        let created = self.millis;
        // An ObjectId as a server makes it: seconds, a per-process value, a counter.
        let mut oid = [0u8; 12];
        oid[..4].copy_from_slice(&((created / 1000) as u32).to_be_bytes());
        oid[4..9].copy_from_slice(&[0x5e, 0xed, 0x0d, 0xde, 0x42]);
        oid[9..].copy_from_slice(&(self.n as u32).to_be_bytes()[1..]);

        let first = rng.pick(FIRST_NAMES);
        let last = rng.pick(LAST_NAMES);
        let customer_id = 100_000 + rng.below(900_000) as i64;
        let (city, country) = CITIES[rng.below(CITIES.len() as u64) as usize];
        let lines = 2 + rng.below(2);
        let mut items = Vec::with_capacity(lines as usize);
        let mut subtotal = 0i64;
        let mut weight = 0.0;
        for line in 1..=lines {
            let qty = 1 + rng.below(4) as i32;
            let unit_cents = 199 + rng.below(25_000) as i64;
            let discount = [0.0, 0.0, 0.05, 0.1, 0.15][rng.below(5) as usize];
            subtotal += ((unit_cents * i64::from(qty)) as f64 * (1.0 - discount)).round() as i64;
            let item_weight = (50 + rng.below(4_000)) as f64 / 1000.0;
            weight += item_weight * f64::from(qty);
            items.push(doc! {
                "line": line as i32,
                "sku": format!("SKU-{:06}", rng.below(50_000)),
                "name": rng.pick(PRODUCTS),
                "qty": qty,
                "unitPrice": decimal(unit_cents),
                "discount": discount,
                "weightKg": item_weight,
            });
        }
        let shipping: f64 = [0.0, 4.99, 9.5, 14.0][rng.below(4) as usize];
        let status = rng.pick(STATUSES);
        let mut order = doc! {
            "_id": ObjectId::from_bytes(oid),
            "orderNo": format!("ORD-{:09}", self.n),
            "status": status,
            "channel": rng.pick(CHANNELS),
            "createdAt": DateTime::from_millis(created),
            "updatedAt": DateTime::from_millis(created + rng.below(3 * 86_400_000) as i64),
            "customer": {
                "customerId": customer_id,
                "name": format!("{first} {last}"),
                "email": format!("{}.{}{}@example.org", first.to_lowercase(), last.to_lowercase(), customer_id % 1000),
                "phone": format!("+44 20 {:04} {:04}", rng.below(10_000), rng.below(10_000)),
                "address": {
                    "street": format!("{} {}", 1 + rng.below(200), rng.pick(STREETS)),
                    "city": city,
                    "postcode": format!("{:05}", rng.below(100_000)),
                    "country": country,
                },
            },
            "items": items,
            "itemCount": lines as i32,
            "subtotal": decimal(subtotal),
            "shipping": shipping,
            "total": decimal(subtotal + (shipping * 100.0).round() as i64),
            "currency": "EUR",
            "weightKg": (weight * 1000.0).round() / 1000.0,
            "loyaltyPoints": (subtotal / 100) * 10,
            "payment": {
                "method": rng.pick(PAYMENTS),
                "last4": format!("{:04}", rng.below(10_000)),
                "authorized": status != "cancelled",
            },
            "tags": (0..rng.below(3)).map(|_| Bson::from(rng.pick(TAGS))).collect::<Vec<_>>(),
        };
        if rng.chance(20) {
            order.insert("couponCode", format!("SAVE{}", 5 * (1 + rng.below(6))));
        }
        if rng.chance(30) {
            order.insert("notes", rng.pick(NOTES));
        }
        order
    }
}

/// An amount in cents as a Decimal128 with two places (`123.45`).
fn decimal(cents: i64) -> Decimal128 {
    format!("{}.{:02}", cents / 100, cents % 100)
        .parse()
        .expect("a decimal with two places")
}
