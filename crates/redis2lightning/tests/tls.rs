//! TLS and passwords against real servers: a redis-server of the test's own taking
//! TLS with a throwaway CA, and one asking for a password. A password never shows
//! in what the tool prints, nor in the store it writes.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::*;
use lightning_testkit::tls::Pki;
use redis::TlsCertificates;

/// A redis-server of the test's own, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl Server {
    /// `tls`: take TLS only, with the PKI's server certificate.
    fn start(tls: Option<&Pki>, password: Option<&str>) -> Server {
        let dir = tempfile::tempdir().unwrap();
        let port = lightning_testkit::free_port();
        let mut cmd = Command::new("redis-server");
        cmd.args(["--save", "", "--appendonly", "no", "--bind", "127.0.0.1"])
            .arg("--dir")
            .arg(dir.path());
        match tls {
            Some(pki) => {
                cmd.args(["--port", "0", "--tls-port", &port.to_string()])
                    .arg("--tls-cert-file")
                    .arg(pki.path("server.pem"))
                    .arg("--tls-key-file")
                    .arg(pki.path("server.key"))
                    .arg("--tls-ca-cert-file")
                    .arg(pki.path("ca.pem"))
                    .args(["--tls-auth-clients", "no"]);
            }
            None => {
                cmd.args(["--port", &port.to_string()]);
            }
        }
        if let Some(p) = password {
            cmd.args(["--requirepass", p]);
        }
        let child = cmd
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("these tests need redis-server");
        let server = Server {
            child,
            port,
            _dir: dir,
        };
        // Up when it takes connections.
        let deadline = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A connection through TLS, verified with the test CA.
fn tls_connection(pki: &Pki, url: &str) -> redis::Connection {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = std::fs::read(pki.path("ca.pem")).unwrap();
    redis::Client::build_with_tls(
        url,
        TlsCertificates {
            client_tls: None,
            root_cert: Some(ca),
        },
    )
    .expect("a client")
    .get_connection()
    .expect("a TLS connection to the test server")
}

/// Every file under `dir` (a store), as bytes.
fn files_hold(dir: &Path, needle: &[u8]) -> Vec<PathBuf> {
    let mut found = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if std::fs::read(&p)
                .unwrap_or_default()
                .windows(needle.len())
                .any(|w| w == needle)
            {
                found.push(p);
            }
        }
    }
    found
}

const PASSWORD: &str = "tls-Pa55-never-shown";

#[test]
fn a_tls_server_with_a_password_is_copied_and_verified() {
    let pki = Pki::new();
    let server = Server::start(Some(&pki), Some(PASSWORD));
    let mut con = tls_connection(
        &pki,
        &format!("rediss://:{PASSWORD}@127.0.0.1:{}/0", server.port),
    );
    for i in 0..20 {
        redis::cmd("SET")
            .arg(format!("session:{i}"))
            .arg(format!("value {i}"))
            .exec(&mut con)
            .unwrap();
    }
    redis::cmd("HSET")
        .arg("user:1")
        .arg("name")
        .arg("Ada")
        .exec(&mut con)
        .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let pw_file = dir.path().join("redis.pw");
    std::fs::write(&pw_file, format!("{PASSWORD}\n")).unwrap();
    let target = dir.path().join("t.ldb");
    let source = format!("rediss://127.0.0.1:{}/0", server.port);
    let r = r2l(&[
        "migrate",
        "--source",
        &source,
        "--tls-ca",
        p(&pki.path("ca.pem")),
        "--password-file",
        p(&pw_file),
        "--target",
        p(&target),
        "--verify",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(!r.all().contains(PASSWORD), "{}", r.all());
    let report = r.json();
    assert_all_equal(&report);
    assert!(report.to_string().contains(&source), "{report}");
    let rows: u64 = counts(&target).values().sum();
    assert_eq!(rows, 21, "{:?}", counts(&target));
    assert!(
        files_hold(&target, PASSWORD.as_bytes()).is_empty(),
        "the password is in the store"
    );

    // REDISCLI_AUTH, as redis-cli reads it.
    let r = run(Command::new(tool())
        .args(["assess", "--source", &source, "--tls-ca"])
        .arg(pki.path("ca.pem"))
        .env("REDISCLI_AUTH", PASSWORD));
    assert_eq!(r.code, 0, "{}", r.all());
    assert!(r.all().contains("session:*"), "{}", r.all());
    assert!(!r.all().contains(PASSWORD), "{}", r.all());

    // Without a password the server refuses, and the error says where.
    let r = run(Command::new(tool())
        .args(["assess", "--source", &source, "--tls-ca"])
        .arg(pki.path("ca.pem"))
        .env_remove("REDISCLI_AUTH"));
    assert_clean_error(&r, 1, &format!("rediss://127.0.0.1:{}/0", server.port));
}

#[test]
fn an_untrusted_certificate_or_a_plain_connection_is_refused_clearly() {
    let pki = Pki::new();
    let server = Server::start(Some(&pki), None);
    let port = server.port;
    let tls_url = format!("rediss://127.0.0.1:{port}/0");
    let started = Instant::now();

    // Signed by another CA than the one given, and by none the system knows.
    for extra in [vec!["--tls-ca", p(&pki.path("other.pem"))], vec![]] {
        let mut args = vec!["assess", "--source", tls_url.as_str()];
        args.extend(extra);
        let r = r2l(&args);
        assert_clean_error(&r, 1, &format!("rediss://127.0.0.1:{port}/0"));
        assert_clean_error(&r, 1, "certificate is not trusted");
        assert_clean_error(&r, 1, "--tls-ca");
    }

    // A plain connection to the TLS port.
    let r = r2l(&["assess", "--source", &format!("redis://127.0.0.1:{port}/0")]);
    assert_clean_error(&r, 1, &format!("redis://127.0.0.1:{port}/0"));
    assert_clean_error(&r, 1, "use rediss://");

    // --tls-ca is for TLS, and contradicts #insecure.
    let r = r2l(&[
        "assess",
        "--source",
        &format!("redis://127.0.0.1:{port}/0"),
        "--tls-ca",
        p(&pki.path("ca.pem")),
    ]);
    assert_clean_error(&r, 1, "rediss://");
    let insecure = format!("{tls_url}#insecure");
    let r = r2l(&[
        "assess",
        "--source",
        &insecure,
        "--tls-ca",
        p(&pki.path("ca.pem")),
    ]);
    assert_clean_error(&r, 1, "#insecure");
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "refusals are quick"
    );

    // #insecure skips the verification: the server is read with no CA given.
    let mut con = tls_connection(&pki, &tls_url);
    redis::cmd("SET")
        .arg("k:1")
        .arg("v")
        .exec(&mut con)
        .unwrap();
    let r = r2l_ok(&["assess", "--source", &insecure]);
    assert!(r.all().contains("k:*"), "{}", r.all());
    // With the right CA, verified.
    r2l_ok(&[
        "assess",
        "--source",
        &tls_url,
        "--tls-ca",
        p(&pki.path("ca.pem")),
    ]);
}

#[test]
fn a_password_file_logs_in_as_the_urls_user_and_a_wrong_one_never_shows() {
    let server = Server::start(None, Some(PASSWORD));
    let port = server.port;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.pw");
    std::fs::write(&good, PASSWORD).unwrap();
    let wrong_password = "wrong-Pa55-never-shown";
    let wrong = dir.path().join("wrong.pw");
    std::fs::write(&wrong, format!("{wrong_password}\n")).unwrap();

    let mut con = connect(&format!("redis://:{PASSWORD}@127.0.0.1:{port}/0"));
    redis::cmd("SET")
        .arg("k:1")
        .arg("v")
        .exec(&mut con)
        .unwrap();

    // The URL's user with the file's password, then the default user.
    for source in [
        format!("redis://default@127.0.0.1:{port}/0"),
        format!("redis://127.0.0.1:{port}/0"),
    ] {
        let r = r2l_ok(&["assess", "--source", &source, "--password-file", p(&good)]);
        assert!(r.all().contains("k:*"), "{}", r.all());
        assert!(!r.all().contains(PASSWORD), "{}", r.all());
    }
    let target = dir.path().join("t.ldb");
    let plain = format!("redis://127.0.0.1:{port}/0");
    for cmd in [vec!["assess"], vec!["migrate", "--target", p(&target)]] {
        let mut args = cmd;
        args.extend(["--source", &plain, "--password-file", p(&wrong)]);
        let r = r2l(&args);
        assert_clean_error(&r, 1, &format!("127.0.0.1:{port}"));
        assert!(!r.all().contains(wrong_password), "{}", r.all());
    }
    // A file that is not there is named.
    let missing = dir.path().join("missing.pw");
    let r = r2l(&["assess", "--source", &plain, "--password-file", p(&missing)]);
    assert_clean_error(&r, 1, "missing.pw");
}
