//! What the server says reaches the user: a wrong password, a missing database, a
//! missing privilege, a bad `--where` and a refused port each give one `error:`
//! line with the server's message and SQLSTATE (or the network cause, with the host
//! and port), exit code 1, and never the password.

mod common;

use std::path::Path;

use common::*;

/// One error line holding every needle, exit 1, and no password anywhere.
fn assert_says(r: &Run, needles: &[&str], password: &str) {
    for n in needles {
        assert_clean_error(r, 1, n);
    }
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains(password), "the password leaked: {all}");
    for driver_text in ["db error", "error connecting to server"] {
        assert!(
            !all.contains(driver_text),
            "the driver's text instead of the cause: {all}"
        );
    }
}

fn migrate(url: &str, target: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["migrate", "--source", url, "--target", p(target), "--quiet"];
    args.extend_from_slice(extra);
    p2l(&args)
}

fn verify(url: &str, target: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--source", url, "--target", p(target)];
    args.extend_from_slice(extra);
    p2l(&args)
}

/// A database with two small tables, migrated by the superuser into `store`.
fn two_tables(tag: &str, store: &Path) -> TestDb {
    let db = TestDb::new(tag);
    db.exec(
        "CREATE TABLE a (id int PRIMARY KEY, t text); INSERT INTO a VALUES (1, 'x'), (2, 'y');
         CREATE TABLE b (id int PRIMARY KEY); INSERT INTO b VALUES (1);",
    );
    let r = migrate(&db.url, store, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    db
}

#[test]
fn a_wrong_password_shows_the_servers_message() {
    password_role();
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.ldb");
    let db = two_tables("wrongpw", &store);
    // The right password gets in: the rule asks for it, and it is this one.
    let right = format!(
        "postgresql://{PASSWORD_ROLE}:{PASSWORD}@127.0.0.1:5432/{}",
        db.name
    );
    postgres::Client::connect(&right, postgres::NoTls).expect("the right password connects");
    let wrong = format!(
        "postgresql://{PASSWORD_ROLE}:Not-{PASSWORD}@127.0.0.1:5432/{}",
        db.name
    );
    let message = format!(
        "FATAL: password authentication failed for user \"{PASSWORD_ROLE}\" (SQLSTATE 28P01)"
    );
    let needles = [message.as_str(), "check the user and password"];
    assert_says(
        &migrate(&wrong, &dir.path().join("other.ldb"), &[]),
        &needles,
        PASSWORD,
    );
    assert_says(&verify(&wrong, &store, &[]), &needles, PASSWORD);
    assert_says(&p2l(&["assess", "--source", &wrong]), &needles, PASSWORD);
}

#[test]
fn a_missing_database_shows_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("m.ldb");
    let _db = two_tables("missing", &store);
    let name = format!("l2t_no_such_db_{}", std::process::id());
    let url = format!("postgresql://postgres:Pw-missing-db@127.0.0.1:5432/{name}");
    let message = format!("FATAL: database \"{name}\" does not exist (SQLSTATE 3D000)");
    let needles = [message.as_str(), "check the database name"];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &[]),
        &needles,
        "Pw-missing-db",
    );
    assert_says(&verify(&url, &store, &[]), &needles, "Pw-missing-db");
}

#[test]
fn a_revoked_privilege_shows_the_servers_message() {
    let role = TestRole::new("noselect");
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("p.ldb");
    let db = two_tables("privilege", &store);
    db.exec(&format!(
        "GRANT SELECT ON ALL TABLES IN SCHEMA public TO {0}; REVOKE SELECT ON b FROM {0};",
        role.name
    ));
    let url = format!(
        "postgresql://{}:Pw-privilege@127.0.0.1:5432/{}",
        role.name, db.name
    );
    let needles = [
        "ERROR: permission denied for table b (SQLSTATE 42501)",
        "the user needs SELECT on public.b",
    ];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &[]),
        &needles,
        "Pw-privilege",
    );
    assert_says(&verify(&url, &store, &[]), &needles, "Pw-privilege");
}

#[test]
fn a_bad_where_shows_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.ldb");
    let db = two_tables("badwhere", &store);
    let url = db.url.replace("postgres@", "postgres:Pw-where@");
    let needles = [
        "ERROR: column \"nosuch\" does not exist (SQLSTATE 42703)",
        "check the --where condition for `a`",
    ];
    let filter = ["--where", "a:nosuch > 1"];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &filter),
        &needles,
        "Pw-where",
    );
    assert_says(&verify(&url, &store, &filter), &needles, "Pw-where");
}

#[test]
fn a_refused_port_shows_the_cause_with_the_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("r.ldb");
    let _db = two_tables("refused", &store);
    let port = unused_port();
    let url = format!("postgresql://postgres:Pw-refused@127.0.0.1:{port}/postgres");
    let at = format!("connection to 127.0.0.1 port {port} failed: connection refused");
    let needles = [at.as_str()];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &[]),
        &needles,
        "Pw-refused",
    );
    assert_says(&verify(&url, &store, &[]), &needles, "Pw-refused");
}
