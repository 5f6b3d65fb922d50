//! TLS and passwords: the driver's TLS options in the URL are honoured (a server
//! without TLS is refused quickly and named; a server of the test's own taking TLS
//! with a throwaway CA is copied), and a password from a file shows nowhere.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bson::doc;
use common::*;
use lightning_testkit::tls::Pki;

/// `url` with more options after `?`.
fn with_options(url: &str, options: &str) -> String {
    let sep = if url.contains('?') { '&' } else { '?' };
    format!("{url}{sep}{options}")
}

#[test]
fn tls_against_a_server_without_tls_fails_quickly_and_names_it() {
    let db = TestDb::new("notls");
    db.insert("orders", &[doc! {"_id": 1, "a": "x"}]);
    // The same URL without TLS works: what fails below is TLS alone.
    m2l_ok(&["assess", "--source", &db.url]);
    let started = Instant::now();
    let url = with_options(
        &db.url,
        "tls=true&serverSelectionTimeoutMS=3000&connectTimeoutMS=1000",
    );
    let r = m2l(&["assess", "--source", &url]);
    assert_clean_error(&r, 1, &server_addr());
    assert_clean_error(&r, 1, "over TLS");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "took {:?}",
        started.elapsed()
    );
}

#[test]
fn a_password_file_shows_nowhere_and_needs_a_user() {
    let db = TestDb::new("pwfile");
    db.insert("orders", &[doc! {"_id": 1, "a": "x"}]);
    let dir = tempfile::tempdir().unwrap();
    let secret = "f1le-Pa55-never-shown";
    let pw = dir.path().join("mongo.pw");
    std::fs::write(&pw, format!("{secret}\n")).unwrap();
    let target = dir.path().join("t.ldb");
    let report = dir.path().join("report.json");

    let r = m2l(&["assess", "--source", &db.url, "--password-file", p(&pw)]);
    assert_clean_error(&r, 1, "USER@host");
    assert!(!r.all().contains(secret), "{}", r.all());

    // Whether this server checks the password or not, it is never printed.
    let url = format!("mongodb://app@{}/{}", server_addr(), db.name);
    let unreachable = format!(
        "mongodb://app@127.0.0.1:1/{}?serverSelectionTimeoutMS=500",
        db.name
    );
    for u in [&url, &unreachable] {
        let r = m2l(&[
            "migrate",
            "--source",
            u,
            "--password-file",
            p(&pw),
            "--target",
            p(&target),
            "--verify",
            "--json",
            "--report",
            p(&report),
        ]);
        assert!(!r.all().contains(secret), "{u}: {}", r.all());
        assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
        if let Ok(text) = std::fs::read_to_string(&report) {
            assert!(!text.contains(secret), "{text}");
        }
    }
}

/// The MongoDB-compatible test server's program, to start one with TLS:
/// `MONGO2L_SECANTUSD`, else where the test services install it.
fn secantusd() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("MONGO2L_SECANTUSD") {
        return Some(PathBuf::from(p));
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let target = match std::env::var_os("CARGO_TARGET_DIR") {
        Some(d) if !d.is_empty() => root.join(d),
        _ => root.join("target"),
    };
    let p = target.join("xtask/secantus-venv/bin/secantusd-py");
    p.is_file().then_some(p)
}

/// A server of the test's own, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_tls_server_is_copied_with_its_ca_and_refused_with_another() {
    // The test command installs the server program, unless a server was already
    // up; then this test cannot start its own and says so.
    let Some(program) = secantusd() else {
        eprintln!(
            "SKIPPED: no MongoDB-compatible server program to start with TLS (set MONGO2L_SECANTUSD)"
        );
        return;
    };
    let pki = Pki::new();
    let dir = tempfile::tempdir().unwrap();

    let port = lightning_testkit::free_port();
    let child = Command::new(program)
        .args(["--host", "127.0.0.1", "--port", &port.to_string()])
        .args(["--storage-path", ":memory:"])
        .arg("--tls-cert-file")
        .arg(pki.path("server.pem"))
        .arg("--tls-key-file")
        .arg(pki.path("server.key"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("the server starts");
    let server = Server { child, port };
    let deadline = Instant::now() + Duration::from_secs(60);
    while std::net::TcpStream::connect(("127.0.0.1", server.port)).is_err() {
        assert!(Instant::now() < deadline, "the TLS server did not start");
        std::thread::sleep(Duration::from_millis(100));
    }

    let ca = pki.path("ca.pem");
    let base = format!("mongodb://127.0.0.1:{port}/shop");
    let tls_url = |ca: &Path| {
        format!(
            "{base}?tls=true&tlsCAFile={}&serverSelectionTimeoutMS=10000",
            ca.display()
        )
    };
    let client = mongodb::sync::Client::with_uri_str(tls_url(&ca)).expect("a client");
    let orders = client
        .database("shop")
        .collection::<bson::Document>("orders");
    let docs: Vec<_> = (0..25)
        .map(|i| doc! {"_id": i, "item": format!("item {i}"), "qty": i * 2})
        .collect();
    orders.insert_many(docs).run().expect("insert through TLS");

    let target = dir.path().join("t.ldb");
    let report = migrate_verified(&tls_url(&ca), &target, &[]);
    assert!(report.to_string().contains(&base), "{report}");
    assert_eq!(counts(&target).get("orders"), Some(&25), "{report}");

    // Another CA: refused, naming the server.
    let r = m2l(&["assess", "--source", &tls_url(&pki.path("other.pem"))]);
    assert_clean_error(&r, 1, &format!("127.0.0.1:{port}"));
    assert_clean_error(&r, 1, "over TLS");
    // And without TLS: the server takes none other.
    let r = m2l(&[
        "assess",
        "--source",
        &format!("{base}?serverSelectionTimeoutMS=3000&connectTimeoutMS=1000"),
    ]);
    assert_clean_error(&r, 1, &format!("127.0.0.1:{port}"));
}
