//! Helpers for the integration tests: a database of its own per test on the real
//! server, the fixture documents, the tool, and what a store holds.

#![allow(dead_code)]

// Each test file uses some of them.
#[allow(unused_imports)]
pub use lightning_testkit::{
    assert_clean_error, checksums, finish, p, run_with_stdin, verification, Paused, Run,
};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use bson::{Bson, Document};
use lightning_core::Store;
use mongodb::sync::{Client, Collection, Database};

/// The server the tests use, without a database (override with `MONGO2L_TEST_URL`,
/// options after `?` allowed).
pub fn server_url() -> String {
    std::env::var("MONGO2L_TEST_URL")
        .unwrap_or_else(|_| "mongodb://127.0.0.1:27017".into())
        .trim_end_matches('/')
        .to_string()
}

/// The URL of the database `db` on the server (options of the base URL kept).
pub fn db_url(db: &str) -> String {
    let url = server_url();
    let (base, options) = match url.split_once('?') {
        Some((b, o)) => (b.trim_end_matches('/'), format!("?{o}")),
        None => (url.as_str(), String::new()),
    };
    format!("{base}/{db}{options}")
}

/// `host:port` of the server.
pub fn server_addr() -> String {
    let url = server_url();
    let rest = url.split_once("://").map_or(url.as_str(), |(_, r)| r);
    let rest = rest.rsplit_once('@').map_or(rest, |(_, r)| r);
    rest.split(['/', '?']).next().unwrap_or(rest).to_string()
}

pub fn client() -> Client {
    Client::with_uri_str(server_url()).expect("a MongoDB URL")
}

/// A database of one test, dropped after it.
pub struct TestDb {
    pub name: String,
    pub url: String,
    pub db: Database,
}

impl TestDb {
    pub fn new(tag: &str) -> TestDb {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("m2l_{tag}_{}_{n}", std::process::id());
        let db = client().database(&name);
        db.drop().run().unwrap_or_else(|e| {
            panic!(
                "these tests need a MongoDB server at {} (set MONGO2L_TEST_URL): {e}",
                server_url()
            )
        });
        let url = db_url(&name);
        TestDb { name, url, db }
    }

    pub fn coll(&self, name: &str) -> Collection<Document> {
        self.db.collection(name)
    }

    /// Insert documents into a collection (in batches the server takes).
    pub fn insert(&self, coll: &str, docs: &[Document]) {
        for chunk in docs.chunks(1000) {
            self.coll(coll)
                .insert_many(chunk)
                .run()
                .expect("documents inserted");
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = self.db.drop().run();
    }
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// The documents of `every_type.bson`, as MongoDB's own library wrote them.
pub fn every_type() -> Vec<Document> {
    let bytes = std::fs::read(fixture("every_type.bson")).expect("fixture");
    let mut docs = Vec::new();
    let mut at = 0;
    while at < bytes.len() {
        let len = i32::from_le_bytes(bytes[at..at + 4].try_into().unwrap()) as usize;
        docs.push(Document::from_reader(&bytes[at..at + len]).expect("a BSON document"));
        at += len;
    }
    assert_eq!(docs.len(), 5);
    docs
}

/// Canonical Extended JSON with every document's fields in name order (tables do
/// not carry field order).
pub fn canonical(d: &Document) -> serde_json::Value {
    sorted(Bson::Document(d.clone()).into_canonical_extjson())
}

fn sorted(v: serde_json::Value) -> serde_json::Value {
    match v {
        serde_json::Value::Object(m) => {
            let mut fields: Vec<_> = m.into_iter().collect();
            fields.sort_by(|a, b| a.0.cmp(&b.0));
            fields.into_iter().map(|(k, v)| (k, sorted(v))).collect()
        }
        serde_json::Value::Array(items) => items.into_iter().map(sorted).collect(),
        other => other,
    }
}

/// Extended JSON lines as canonical values, fields in name order.
pub fn canonical_lines(text: &str) -> Vec<serde_json::Value> {
    text.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
            let b = Bson::try_from(v).expect("Extended JSON");
            sorted(b.into_canonical_extjson())
        })
        .collect()
}

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mongo2lightning"))
}

pub fn m2l(args: &[&str]) -> Run {
    finish(Command::new(tool()).args(args).output().expect("tool runs"))
}

/// Run and require exit 0.
pub fn m2l_ok(args: &[&str]) -> Run {
    let r = m2l(args);
    assert_eq!(
        r.code, 0,
        "mongo2lightning {args:?}\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    r
}

/// `mongo2lightning ARGS` with a fault injected (`LIGHTNING_FAULT=SPEC`).
pub fn m2l_fault(args: &[&str], fault: &str) -> Run {
    finish(
        Command::new(tool())
            .args(args)
            .env("LIGHTNING_FAULT", fault)
            .output()
            .expect("tool runs"),
    )
}

/// `mongo2lightning ARGS` reading `input` on standard input.
pub fn m2l_stdin(args: &[&str], input: &[u8]) -> Run {
    run_with_stdin(Command::new(tool()).args(args), input)
}

/// `migrate --verify --json` with `extra` options, which must succeed and verify
/// equal: its report.
pub fn migrate_verified(source: &str, target: &Path, extra: &[&str]) -> serde_json::Value {
    let mut args = vec![
        "migrate",
        "--source",
        source,
        "--target",
        p(target),
        "--verify",
        "--json",
        "--quiet",
    ];
    args.extend_from_slice(extra);
    let report = m2l_ok(&args).json();
    assert_all_equal(&report);
    report
}

/// Every entry of a report's verification is equal, the documents' entries too.
pub fn assert_all_equal(report: &serde_json::Value) {
    lightning_testkit::assert_verified_equal(report);
    let v = verification(report);
    let tables = v["tables"].as_array().expect("verified tables");
    assert!(
        tables
            .iter()
            .any(|t| t["table"].as_str().unwrap_or("").ends_with(" (documents)")),
        "no documents entry: {report:#}"
    );
}

/// The names of a verification's entries.
pub fn verified_tables(report: &serde_json::Value) -> Vec<String> {
    verification(report)["tables"]
        .as_array()
        .expect("verified tables")
        .iter()
        .map(|t| t["table"].as_str().unwrap().to_string())
        .collect()
}

/// Every table's row count in a store.
pub fn counts(store: &Path) -> BTreeMap<String, u64> {
    let s = Store::open(store).expect("store opens");
    s.tables()
        .into_iter()
        .map(|t| (t.name.clone(), s.count(&t.name).expect("count")))
        .collect()
}

/// The columns of a store's table: `name TYPE`.
pub fn columns(store: &Path, table: &str) -> Vec<String> {
    let s = Store::open(store).expect("store opens");
    s.table(table)
        .expect("the table")
        .columns
        .iter()
        .map(|c| format!("{} {}", c.name, c.ty))
        .collect()
}

/// The documents a store holds of one collection (`documents --canonical`).
pub fn documents(store: &Path, collection: &str) -> Vec<serde_json::Value> {
    let r = m2l_ok(&[
        "documents",
        "--target",
        p(store),
        "--collection",
        collection,
        "--canonical",
    ]);
    canonical_lines(&r.stdout)
}

/// Orders with line items: `n` documents, each with 0 to 3 items (child rows),
/// a nested address and a few scalar fields. Returns the documents and the
/// number of items.
pub fn orders(n: i32) -> (Vec<Document>, u64) {
    let mut items = 0u64;
    let docs = (0..n)
        .map(|i| {
            let lines: Vec<Bson> = (0..i % 4)
                .map(|k| {
                    Bson::Document(bson::doc! {
                        "sku": format!("SKU-{k}"),
                        "qty": k + 1,
                        "price": Bson::Decimal128(format!("{}.{:02}", i % 100, k).parse().unwrap()),
                    })
                })
                .collect();
            items += lines.len() as u64;
            bson::doc! {
                "_id": i,
                "customer": format!("customer {}", i % 97),
                "total": f64::from(i) * 1.5,
                "status": if i % 3 == 0 { "A" } else { "B" },
                "address": {"city": format!("city {}", i % 13), "zip": format!("{:05}", i)},
                "items": lines,
            }
        })
        .collect();
    (docs, items)
}

/// Documents as a mongoexport JSON-lines file (canonical Extended JSON).
pub fn write_json_lines(path: &Path, docs: &[Document]) {
    let mut text = String::new();
    for d in docs {
        text.push_str(&canonical(d).to_string());
        text.push('\n');
    }
    std::fs::write(path, text).expect("file written");
}

/// Documents as a mongodump .bson file.
pub fn write_bson(path: &Path, docs: &[Document]) {
    let mut bytes = Vec::new();
    for d in docs {
        d.to_writer(&mut bytes).expect("BSON");
    }
    std::fs::write(path, bytes).expect("file written");
}

/// The tool started paused at a fault point (`POINT:N`).
pub fn paused(args: &[&str], at: &str) -> Paused {
    let mut cmd = Command::new(tool());
    cmd.args(args);
    Paused::start(cmd, at)
}

/// The runs a store records, oldest first: (status, rows written).
pub fn runs(store: &Path) -> Vec<(String, u64)> {
    Store::open(store)
        .expect("store opens")
        .runs()
        .expect("runs")
        .into_iter()
        .map(|r| (r.status, r.rows_written))
        .collect()
}
