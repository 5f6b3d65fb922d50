//! The tool connects as libpq does, against the real server: each sslmode gives the
//! session the server reports (`pg_stat_ssl`), certificates are checked against
//! the CA given (chain, and host name for verify-full), a wrong CA or host name is
//! refused with a message that says which, and passwords come from a password file
//! (`PGPASSFILE`) or `--password-file` without ever being shown.
//!
//! The server must have `ssl = on`; its own self-signed certificate (for
//! `localhost`), found with `SHOW ssl_cert_file`, serves as the CA.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// A row passes only if the session that reads it is encrypted: the copy holds
/// one row under TLS and none without.
const ENCRYPTED_ONLY: &str = "t:EXISTS (SELECT FROM pg_catalog.pg_stat_ssl s \
                              WHERE s.pid = pg_catalog.pg_backend_pid() AND s.ssl)";

/// The throwaway CA committed as a fixture: it signed nothing.
fn other_ca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/other-ca.pem")
}

/// The server's certificate, where the server says it is. No TLS on the server, or
/// a certificate the tests cannot read, fails the test: these are what it checks.
fn server_cert() -> PathBuf {
    let mut a = admin();
    let ssl: String = a.query_one("SHOW ssl", &[]).unwrap().get(0);
    assert_eq!(
        ssl, "on",
        "the test server has ssl = off: the TLS tests need ssl = on (with a certificate for \
         localhost)"
    );
    let file: String = a.query_one("SHOW ssl_cert_file", &[]).unwrap().get(0);
    let mut path = PathBuf::from(&file);
    if path.is_relative() {
        let data: String = a.query_one("SHOW data_directory", &[]).unwrap().get(0);
        path = Path::new(&data).join(path);
    }
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "the server's certificate {} (SHOW ssl_cert_file) cannot be read here ({e}): the \
             TLS tests check the server against it",
            path.display()
        )
    });
    assert!(
        text.contains("BEGIN CERTIFICATE"),
        "{} holds no PEM certificate",
        path.display()
    );
    path
}

/// A database with one row in `t`.
fn one_row(tag: &str) -> TestDb {
    let db = TestDb::new(tag);
    db.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    db
}

/// `db`'s URL with `host` for the server's address and `query` added.
fn url(db: &TestDb, host: &str, query: &str) -> String {
    let u = db.url.replacen("@127.0.0.1:", &format!("@{host}:"), 1);
    assert!(
        u.contains(&format!("@{host}:")),
        "the test server's URL is not postgresql://user@127.0.0.1:port/db: {}",
        db.url
    );
    if query.is_empty() {
        u
    } else {
        format!("{u}?{query}")
    }
}

/// The tool with a home of its own and none of the caller's libpq settings, so that
/// no `~/.pgpass`, `~/.postgresql/root.crt` or PGSSLMODE decides a test.
fn tool_in(home: &Path) -> Command {
    let mut c = Command::new(tool());
    c.env("HOME", home);
    for var in [
        "PGSSLMODE",
        "PGSSLROOTCERT",
        "PGSSLCERT",
        "PGSSLKEY",
        "PGPASSWORD",
        "PGPASSFILE",
        "PGSERVICE",
        "PGSERVICEFILE",
        "PGSYSCONFDIR",
    ] {
        c.env_remove(var);
    }
    c
}

fn run(c: &mut Command) -> Run {
    finish(c.output().expect("the tool runs"))
}

/// `migrate` of table `t` with only the rows an encrypted session sees.
fn migrate(home: &Path, source: &str, store: &Path, extra: &[&str]) -> Run {
    run(tool_in(home)
        .args([
            "migrate",
            "--source",
            source,
            "--target",
            p(store),
            "--quiet",
        ])
        .args(["--tables", "t", "--where", ENCRYPTED_ONLY])
        .args(extra))
}

/// Rows copied by a migration that must have worked.
fn copied(r: &Run, store: &Path) -> u64 {
    assert_eq!(r.code, 0, "stdout: {}\nstderr: {}", r.stdout, r.stderr);
    checksums(store)["t"].rows
}

#[test]
fn each_sslmode_gives_the_session_it_names() {
    server_cert();
    let db = one_row("sslmodes");
    let dir = tempfile::tempdir().unwrap();
    // prefer is the default; allow tries without TLS first, and the server takes it.
    for (i, (query, rows)) in [
        ("sslmode=disable", 0),
        ("sslmode=allow", 0),
        ("", 1),
        ("sslmode=prefer", 1),
        ("sslmode=require", 1),
    ]
    .into_iter()
    .enumerate()
    {
        let store = dir.path().join(format!("s{i}.ldb"));
        let r = migrate(dir.path(), &url(&db, "127.0.0.1", query), &store, &[]);
        assert_eq!(copied(&r, &store), rows, "`{query}`: {}", r.stderr);
    }
    // From the environment too.
    let store = dir.path().join("env.ldb");
    let r = run(tool_in(dir.path())
        .env("PGSSLMODE", "disable")
        .args([
            "migrate",
            "--source",
            &url(&db, "127.0.0.1", ""),
            "--target",
        ])
        .args([
            p(&store),
            "--quiet",
            "--tables",
            "t",
            "--where",
            ENCRYPTED_ONLY,
        ]));
    assert_eq!(copied(&r, &store), 0);
}

#[test]
fn verify_full_checks_the_chain_and_the_host_name() {
    let cert = server_cert();
    let db = one_row("verifyfull");
    let dir = tempfile::tempdir().unwrap();
    let root = format!("sslrootcert={}", cert.display());
    // The certificate is for localhost: verified in full, and encrypted.
    let store = dir.path().join("full.ldb");
    let full = format!("sslmode=verify-full&{root}");
    let r = migrate(dir.path(), &url(&db, "localhost", &full), &store, &[]);
    assert_eq!(copied(&r, &store), 1);
    // The same in a key=value string, quoted as libpq quotes.
    let kv = format!(
        "host=localhost port={} user=postgres dbname={} sslmode=verify-full sslrootcert='{}'",
        db.url
            .rsplit_once(':')
            .unwrap()
            .1
            .split('/')
            .next()
            .unwrap(),
        db.name,
        cert.display()
    );
    let store = dir.path().join("kv.ldb");
    assert_eq!(copied(&migrate(dir.path(), &kv, &store, &[]), &store), 1);
    // 127.0.0.1 is not a name the certificate lists.
    let source = url(&db, "127.0.0.1", &full);
    let r = migrate(dir.path(), &source, &dir.path().join("ip.ldb"), &[]);
    assert_clean_error(
        &r,
        1,
        "the server's certificate is not for the host name `127.0.0.1`",
    );
    assert_clean_error(&r, 1, "sslmode=verify-full");
    assert_clean_error(&r, 1, "postgres@127.0.0.1:");
    // verify-ca checks the chain only: 127.0.0.1 is fine.
    let store = dir.path().join("ca.ldb");
    let ca = format!("sslmode=verify-ca&{root}");
    let r = migrate(dir.path(), &url(&db, "127.0.0.1", &ca), &store, &[]);
    assert_eq!(copied(&r, &store), 1);
    // From the environment, as libpq reads it.
    let store = dir.path().join("env.ldb");
    let r = run(tool_in(dir.path())
        .env("PGSSLMODE", "verify-full")
        .env("PGSSLROOTCERT", &cert)
        .args([
            "migrate",
            "--source",
            &url(&db, "localhost", ""),
            "--target",
        ])
        .args([
            p(&store),
            "--quiet",
            "--tables",
            "t",
            "--where",
            ENCRYPTED_ONLY,
        ]));
    assert_eq!(copied(&r, &store), 1);
    // Other commands connect the same way.
    let r = run(tool_in(dir.path()).args(["assess", "--source", &url(&db, "127.0.0.1", &full)]));
    assert_clean_error(&r, 1, "not for the host name `127.0.0.1`");
}

#[test]
fn a_certificate_from_another_ca_is_refused() {
    let cert = server_cert();
    let db = one_row("wrongca");
    let dir = tempfile::tempdir().unwrap();
    let other = other_ca();
    for (mode, host) in [
        ("verify-full", "localhost"),
        ("verify-ca", "127.0.0.1"),
        // With a root certificate given, require checks the chain (as libpq).
        ("require", "127.0.0.1"),
    ] {
        let query = format!("sslmode={mode}&sslrootcert={}", other.display());
        let r = migrate(
            dir.path(),
            &url(&db, host, &query),
            &dir.path().join("x.ldb"),
            &[],
        );
        let needle = format!(
            "the server's certificate is not signed by the CA in {} (sslmode={mode})",
            other.display()
        );
        assert_clean_error(&r, 1, &needle);
        // The server and the user, never a password.
        assert_clean_error(&r, 1, &format!("postgres@{host}:"));
        assert_clean_error(&r, 1, &format!("connection to {host} port"));
    }
    // No CA at all: verify-full says where it looked.
    let r = migrate(
        dir.path(),
        &url(&db, "localhost", "sslmode=verify-full"),
        &dir.path().join("y.ldb"),
        &[],
    );
    assert_clean_error(&r, 1, "root.crt");
    // ~/.postgresql/root.crt is the default CA file: with the server's certificate
    // there, verify-full needs nothing more.
    std::fs::create_dir_all(dir.path().join(".postgresql")).unwrap();
    std::fs::copy(&cert, dir.path().join(".postgresql/root.crt")).unwrap();
    let store = dir.path().join("home.ldb");
    let r = migrate(
        dir.path(),
        &url(&db, "localhost", "sslmode=verify-full"),
        &store,
        &[],
    );
    assert_eq!(copied(&r, &store), 1);
}

/// A password file readable only by its owner.
#[cfg(unix)]
fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[cfg(unix)]
#[test]
fn passwords_from_files_are_used_and_never_shown() {
    use std::os::unix::fs::PermissionsExt;
    password_role();
    let db = one_row("pgpass");
    db.exec(&format!("GRANT SELECT ON t TO {PASSWORD_ROLE}"));
    let dir = tempfile::tempdir().unwrap();
    let source = format!("postgresql://{PASSWORD_ROLE}@127.0.0.1:5432/{}", db.name);
    let pgpass = dir.path().join("pgpass");
    private_file(
        &pgpass,
        &format!(
            "# other servers first\nother.example:*:*:*:nope\n127.0.0.1:5432:*:{PASSWORD_ROLE}:{PASSWORD}\n"
        ),
    );
    let mut outputs = Vec::new();
    // PGPASSFILE: the run works (over TLS, the default), and the report is clean.
    let store = dir.path().join("a.ldb");
    let report = dir.path().join("a.json");
    let r = run(tool_in(dir.path())
        .env("PGPASSFILE", &pgpass)
        .args(["migrate", "--source", &source, "--target", p(&store)])
        .args(["--tables", "t", "--where", ENCRYPTED_ONLY])
        .args(["--verify", "--report", p(&report)]));
    assert_eq!(copied(&r, &store), 1);
    outputs.push(r.all());
    outputs.push(std::fs::read_to_string(&report).unwrap());
    // ~/.pgpass by default.
    std::fs::copy(&pgpass, dir.path().join(".pgpass")).unwrap();
    let r = run(tool_in(dir.path()).args(["assess", "--source", &source, "--json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    outputs.push(r.all());
    // Readable by others: skipped with a warning, as libpq skips it, and the server
    // then asks for the password it did not get.
    std::fs::set_permissions(
        dir.path().join(".pgpass"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let r = run(tool_in(dir.path()).args(["assess", "--source", &source]));
    assert_clean_error(&r, 1, "--password-file");
    assert!(
        r.stderr.contains("can be read by other users"),
        "{}",
        r.stderr
    );
    outputs.push(r.all());
    // --password-file comes before the password file.
    std::fs::remove_file(dir.path().join(".pgpass")).unwrap();
    let pw = dir.path().join("pw");
    private_file(&pw, &format!("{PASSWORD}\n"));
    private_file(&pgpass, &format!("*:*:*:*:Not-{PASSWORD}\n"));
    let r = run(tool_in(dir.path()).env("PGPASSFILE", &pgpass).args([
        "assess",
        "--source",
        &source,
        "--password-file",
        p(&pw),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    outputs.push(r.all());
    // A wrong password from the file: the error says where it came from.
    let r = run(tool_in(dir.path())
        .env("PGPASSFILE", &pgpass)
        .args(["assess", "--source", &source]));
    assert_clean_error(&r, 1, "SQLSTATE 28P01");
    assert_clean_error(
        &r,
        1,
        &format!("the password came from {}", pgpass.display()),
    );
    outputs.push(r.all());
    // A service (PGSERVICE, or `service=` in the string) names the server, the
    // user and the password.
    let services = dir.path().join("services.conf");
    private_file(
        &services,
        &format!(
            "# a pg_service.conf\n[other]\nhost=nowhere.example\n\n[lt]\nhost=127.0.0.1\nport=5432\n\
             user={PASSWORD_ROLE}\ndbname={}\npassword={PASSWORD}\n",
            db.name
        ),
    );
    let r = run(tool_in(dir.path())
        .env("PGSERVICEFILE", &services)
        .env("PGSERVICE", "lt")
        .args(["assess", "--json"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    outputs.push(r.all());
    let r = run(tool_in(dir.path()).env("PGSERVICEFILE", &services).args([
        "assess",
        "--source",
        "service=lt",
        "--json",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    outputs.push(r.all());
    // sync takes --password-file as well.
    let r = run(tool_in(dir.path()).args(["sync", "--help"]));
    assert!(r.stdout.contains("--password-file"), "{}", r.stdout);
    for o in &outputs {
        assert!(!o.contains(PASSWORD), "the password leaked: {o}");
    }
}
