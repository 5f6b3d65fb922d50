//! Failures end cleanly, say what failed, and leave a target the next run finishes:
//! a connection cut in the middle of the copy, files cut short or with a bad line.
//! A password in the URL shows nowhere, whatever happens.

mod common;

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use bson::doc;
use common::*;

/// A TCP proxy in front of the server. Once `limit` bytes have come back from the
/// server it cuts every connection; then, unless it cuts only `once`, it closes the
/// new ones at once until it is healed.
struct Proxy {
    port: u16,
    /// Bytes the server sent through the proxy.
    bytes: Arc<AtomicU64>,
    limit: Arc<AtomicU64>,
    once: Arc<AtomicBool>,
    /// Whether the proxy cut the connections (and refuses new ones, unless `once`).
    cut: Arc<AtomicBool>,
    down: Arc<AtomicBool>,
}

impl Proxy {
    fn start() -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("a port");
        let port = listener.local_addr().unwrap().port();
        let proxy = Proxy {
            port,
            bytes: Arc::default(),
            limit: Arc::new(AtomicU64::new(u64::MAX)),
            once: Arc::default(),
            cut: Arc::default(),
            down: Arc::default(),
        };
        let (bytes, limit, once, cut, down) = (
            proxy.bytes.clone(),
            proxy.limit.clone(),
            proxy.once.clone(),
            proxy.cut.clone(),
            proxy.down.clone(),
        );
        let open: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { continue };
                if down.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is closed at once
                }
                let Ok(server) = TcpStream::connect(server_addr()) else {
                    continue;
                };
                {
                    let mut open = open.lock().unwrap();
                    open.push(client.try_clone().unwrap());
                    open.push(server.try_clone().unwrap());
                }
                let pump = |mut from: TcpStream, mut to: TcpStream, count: bool| {
                    let (bytes, limit, once, cut, down, open) = (
                        bytes.clone(),
                        limit.clone(),
                        once.clone(),
                        cut.clone(),
                        down.clone(),
                        open.clone(),
                    );
                    std::thread::spawn(move || {
                        let mut buf = [0u8; 4096];
                        loop {
                            let n = match from.read(&mut buf) {
                                Ok(0) | Err(_) => break,
                                Ok(n) => n,
                            };
                            if to.write_all(&buf[..n]).is_err() {
                                break;
                            }
                            if !count {
                                continue;
                            }
                            let total = bytes.fetch_add(n as u64, Ordering::SeqCst) + n as u64;
                            if total >= limit.load(Ordering::SeqCst) {
                                let once = once.load(Ordering::SeqCst);
                                down.store(!once, Ordering::SeqCst);
                                cut.store(true, Ordering::SeqCst);
                                limit.store(u64::MAX, Ordering::SeqCst);
                                for s in open.lock().unwrap().drain(..) {
                                    let _ = s.shutdown(Shutdown::Both);
                                }
                                break;
                            }
                        }
                        let _ = from.shutdown(Shutdown::Both);
                        let _ = to.shutdown(Shutdown::Both);
                    });
                };
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    false,
                );
                pump(server, client, true);
            }
        });
        proxy
    }

    /// Cut the connections once `limit` bytes more have come back from the server.
    fn cut_after(&self, limit: u64, once: bool) {
        self.once.store(once, Ordering::SeqCst);
        let now = self.bytes.load(Ordering::SeqCst);
        self.limit.store(now + limit, Ordering::SeqCst);
    }

    /// Let connections through again.
    fn heal(&self) {
        self.down.store(false, Ordering::SeqCst);
    }

    /// The URL of a database through the proxy; a server lost is given up on soon.
    fn url(&self, db: &str) -> String {
        format!(
            "mongodb://127.0.0.1:{}/{db}?serverSelectionTimeoutMS=1000&connectTimeoutMS=1000&directConnection=true",
            self.port
        )
    }
}

/// 2000 orders, the first 1500 with an int `_id`, the others with a string one
/// (strings sort after numbers).
fn orders_of_two_id_types() -> (Vec<bson::Document>, u64) {
    let (mut docs, items) = orders(2000);
    for d in &mut docs[1500..] {
        let id = format!("order-{}", d.get_i32("_id").unwrap());
        d.insert("_id", id);
    }
    (docs, items)
}

/// The mapping of the test database, decided from every document (not a random
/// sample, which could miss the string `_id`s and fail the copy at the first).
fn mapping_of(db: &TestDb, dir: &Path) -> PathBuf {
    let mapping = dir.join("mapping.json");
    m2l_ok(&[
        "convert-schema",
        "--source",
        &db.url,
        "--sample-size",
        "100000",
        "--write-mapping",
        p(&mapping),
    ]);
    mapping
}

fn migrate_args(url: &str, target: &Path) -> Vec<String> {
    let mapping = target.with_file_name("mapping.json");
    [
        "migrate",
        "--source",
        url,
        "--target",
        p(target),
        "--batch-size",
        "200",
        "--mapping",
        p(&mapping),
    ]
    .map(String::from)
    .to_vec()
}

fn run(args: &[String]) -> Run {
    m2l(&args.iter().map(String::as_str).collect::<Vec<_>>())
}

/// The bytes a whole migration reads from the server through a proxy.
fn bytes_of_a_run(db: &TestDb) -> u64 {
    let dir = tempfile::tempdir().unwrap();
    mapping_of(db, dir.path());
    let probe = Proxy::start();
    let r = run(&migrate_args(
        &probe.url(&db.name),
        &dir.path().join("probe.ldb"),
    ));
    assert_eq!(r.code, 0, "{}", r.stderr);
    probe.bytes.load(Ordering::SeqCst)
}

#[test]
fn a_connection_cut_during_the_copy_is_read_again_after_the_last_id() {
    let db = TestDb::new("cut_once");
    let (docs, items) = orders_of_two_id_types();
    db.insert("orders", &docs);
    let total = bytes_of_a_run(&db);
    // Cut once when three quarters have gone through: the driver reads documents
    // in batches of a thousand, the connection drops inside the second one (while
    // numbers are read; strings come after them).
    let proxy = Proxy::start();
    proxy.cut_after(total * 3 / 4, true);
    let dir = tempfile::tempdir().unwrap();
    mapping_of(&db, dir.path());
    let target = dir.path().join("orders.ldb");
    let mut args = migrate_args(&proxy.url(&db.name), &target);
    args.extend(["--verify", "--json"].map(String::from));
    let r = run(&args);
    assert!(proxy.cut.load(Ordering::SeqCst), "the proxy did not cut");
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    assert!(
        r.stderr
            .contains("reading again after the last document read"),
        "{}",
        r.stderr
    );
    assert_all_equal(&r.json());
    let c = counts(&target);
    assert_eq!((c["orders"], c["orders_items"]), (docs.len() as u64, items));
}

#[test]
fn a_connection_that_stays_down_fails_cleanly_and_the_next_run_finishes() {
    let db = TestDb::new("cut");
    let (docs, items) = orders_of_two_id_types();
    db.insert("orders", &docs);
    let total = bytes_of_a_run(&db);
    let proxy = Proxy::start();
    proxy.cut_after(total * 3 / 4, false);
    let url = proxy.url(&db.name);
    let dir = tempfile::tempdir().unwrap();
    mapping_of(&db, dir.path());
    let target = dir.path().join("orders.ldb");
    let r = run(&migrate_args(&url, &target));
    assert!(proxy.cut.load(Ordering::SeqCst), "the proxy did not cut");
    if r.code == 0 {
        // The driver got through after all: then it must all be there.
        migrate_verified(&url, &target, &[]);
    } else {
        assert_clean_error(&r, 1, "reading partition `orders`");
        assert!(
            r.stderr.contains("run the same command again"),
            "{}",
            r.stderr
        );
        let n = counts(&target)["orders"];
        assert!(n > 0 && n < docs.len() as u64, "{n} documents copied");
        // The server reached at another address is another source to the target.
        let r = run(&migrate_args(&db.url, &target));
        assert_clean_error(&r, 1, "use --fresh");
        // At the same address, the copy goes on where it stopped.
        proxy.heal();
        let report = migrate_verified(&url, &target, &[]);
        let written = report["summary"]["tables"]["orders"]["rows_written"]
            .as_u64()
            .unwrap();
        assert_eq!(written + n, docs.len() as u64, "{report:#}");
    }
    let c = counts(&target);
    assert_eq!((c["orders"], c["orders_items"]), (docs.len() as u64, items));
}

#[test]
fn a_bson_file_cut_short_is_named_and_the_fixed_file_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let (docs, items) = orders(300);
    let file = dir.path().join("orders.bson");
    write_bson(&file, &docs);
    let whole = std::fs::read(&file).unwrap();
    std::fs::write(&file, &whole[..whole.len() - 10]).unwrap();
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        p(&file),
        "--target",
        p(&target),
        "--quiet",
    ];
    let r = m2l(&args);
    assert_clean_error(&r, 1, &format!("{} document 300 (at byte", file.display()));
    assert!(r.stderr.contains("is it complete"), "{}", r.stderr);
    assert!(counts_or_none(&target).is_none_or(|c| c.values().all(|n| *n == 0)));
    std::fs::write(&file, &whole).unwrap();
    migrate_verified(p(&file), &target, &[]);
    let c = counts(&target);
    assert_eq!((c["orders"], c["orders_items"]), (300, items));
}

#[test]
fn a_bad_json_line_is_named_and_the_fixed_file_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let (docs, items) = orders(300);
    let file = dir.path().join("orders.json");
    write_json_lines(&file, &docs);
    let good = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[2] = r#"{"_id": 2, "customer": "cut here"#;
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let target = dir.path().join("orders.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        p(&file),
        "--target",
        p(&target),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, &format!("{} line 3: not JSON", file.display()));
    assert!(counts_or_none(&target).is_none_or(|c| c.values().all(|n| *n == 0)));
    std::fs::write(&file, &good).unwrap();
    migrate_verified(p(&file), &target, &[]);
    let c = counts(&target);
    assert_eq!((c["orders"], c["orders_items"]), (300, items));
}

#[test]
fn a_bad_line_met_during_the_copy_stops_it_and_the_fixed_file_resumes_exactly_once() {
    // With a mapping given, the file is not read before the copy: the bad line is
    // met after batches are committed.
    let dir = tempfile::tempdir().unwrap();
    let (docs, items) = orders(1000);
    let file = dir.path().join("orders.json");
    write_json_lines(&file, &docs);
    let mapping = dir.path().join("m.json");
    m2l_ok(&[
        "convert-schema",
        "--source",
        p(&file),
        "--write-mapping",
        p(&mapping),
    ]);
    let good = std::fs::read_to_string(&file).unwrap();
    let mut lines: Vec<&str> = good.lines().collect();
    lines[700] = r#"{"_id": {"$numberInt": "700"}, "total": {"$numberDouble": "x"}}"#;
    std::fs::write(&file, lines.join("\n") + "\n").unwrap();
    let target = dir.path().join("orders.ldb");
    let args = [
        "migrate",
        "--source",
        p(&file),
        "--target",
        p(&target),
        "--mapping",
        p(&mapping),
        "--batch-size",
        "100",
        "--quiet",
    ];
    let r = m2l(&args);
    assert_clean_error(
        &r,
        1,
        &format!("{} line 701: not Extended JSON", file.display()),
    );
    let before = counts(&target);
    assert!(
        before["orders"] > 0 && before["orders"] < 1000,
        "{before:?}"
    );
    std::fs::write(&file, &good).unwrap();
    migrate_verified(p(&file), &target, &["--mapping", p(&mapping)]);
    let c = counts(&target);
    assert_eq!((c["orders"], c["orders_items"]), (1000, items));
}

fn counts_or_none(store: &Path) -> Option<std::collections::BTreeMap<String, u64>> {
    store.exists().then(|| counts(store))
}

#[test]
fn a_password_in_the_url_shows_nowhere() {
    let db = TestDb::new("secret");
    db.insert("orders", &[doc! {"_id": 1, "a": "x"}]);
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    let report = dir.path().join("report.json");
    let secret = "s3cretpw";
    let url = format!("mongodb://user:{secret}@{}/{}", server_addr(), db.name);
    let refused = format!(
        "mongodb://user:{secret}@127.0.0.1:1/{}?serverSelectionTimeoutMS=500",
        db.name
    );
    let bad = format!(
        "mongodb://user:{secret}@127.0.0.1:27017/{}?bogusOption=1&authMechanism=NOPE",
        db.name
    );
    // A scheme mistyped: not a URL to the tool, but still a password.
    let typo = format!("mongdb://user:{secret}@{}/{}", server_addr(), db.name);
    for u in [&url, &refused, &bad, &typo] {
        for args in [
            vec!["assess", "--source", u, "--json"],
            vec!["convert-schema", "--source", u],
            vec![
                "migrate",
                "--source",
                u,
                "--target",
                p(&target),
                "--verify",
                "--json",
                "--report",
                p(&report),
            ],
            vec!["verify", "--source", u, "--target", p(&target), "--json"],
        ] {
            let r = m2l(&args);
            assert!(!r.all().contains(secret), "{args:?}: {}", r.all());
            assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
            if r.code != 0 {
                assert!(
                    r.stderr.lines().any(|l| l.starts_with("error:")),
                    "{}",
                    r.stderr
                );
            }
            if let Ok(text) = std::fs::read_to_string(&report) {
                assert!(!text.contains(secret), "{text}");
            }
        }
    }
    if target.exists() {
        for (status, _) in runs(&target) {
            assert!(!status.contains(secret));
        }
        let s = lightning_core::Store::open(&target).unwrap();
        for r in s.runs().unwrap() {
            assert!(!r.source.contains(secret), "{}", r.source);
            assert!(!r.error.unwrap_or_default().contains(secret));
        }
    }
}

#[test]
fn a_url_without_a_database_is_refused_naming_the_server_s_databases() {
    let db = TestDb::new("nodb");
    db.insert("orders", &[doc! {"_id": 1}]);
    let r = m2l(&["assess", "--source", &server_url()]);
    assert_clean_error(&r, 1, "name the database in the --source URL");
    assert!(r.stderr.contains(&db.name), "{}", r.stderr);
}
