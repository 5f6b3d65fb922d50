//! What the server says reaches the user: a wrong password, a missing database, a
//! missing privilege, a bad `--where` and a refused port each give one `error:`
//! line with the server's message and error code (or the network cause, with the
//! host and port) — never the driver's Rust names — exit code 1, and never the
//! password.

mod common;

use std::path::Path;

use common::*;

/// One error line holding every needle, exit 1, no password, no driver names.
fn assert_says(r: &Run, needles: &[&str], password: &str) {
    for n in needles {
        assert_clean_error(r, 1, n);
    }
    let all = format!("{}{}", r.stdout, r.stderr);
    assert!(!all.contains(password), "the password leaked: {all}");
    for debug_text in ["MySqlError {", "DriverError {", "IoError {", "CodecError {"] {
        assert!(!all.contains(debug_text), "the driver's names: {all}");
    }
}

fn migrate(url: &str, target: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["migrate", "--source", url, "--target", p(target), "--quiet"];
    args.extend_from_slice(extra);
    m2l(&args)
}

fn verify(url: &str, target: &Path, extra: &[&str]) -> Run {
    let mut args = vec!["verify", "--source", url, "--target", p(target)];
    args.extend_from_slice(extra);
    m2l(&args)
}

/// A database with two small tables, migrated by root into `store`.
fn two_tables(tag: &str, store: &Path) -> TestDb {
    let db = TestDb::new(tag);
    db.sql(
        "CREATE TABLE a (id INT PRIMARY KEY, t VARCHAR(10)); INSERT INTO a VALUES (1, 'x'), (2, 'y');
         CREATE TABLE b (id INT PRIMARY KEY); INSERT INTO b VALUES (1);",
    );
    let r = migrate(&db.url(), store, &[]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    db
}

/// A user of its own for one test, with a password; dropped at the end.
struct TestUser {
    name: String,
    password: String,
}

impl TestUser {
    fn new(tag: &str, grants: &str) -> TestUser {
        let name = format!("l2_{tag}_{}", std::process::id());
        let password = format!("Pw-{tag}-S3cret");
        mariadb(
            None,
            &format!(
                "DROP USER IF EXISTS '{name}'@'%'; CREATE USER '{name}'@'%' IDENTIFIED BY '{password}'; {}",
                grants.replace("USER", &format!("'{name}'@'%'"))
            ),
        );
        TestUser { name, password }
    }

    fn url(&self, db: &str) -> String {
        format!(
            "mysql://{}:{}@127.0.0.1:3306/{db}",
            self.name, self.password
        )
    }
}

impl Drop for TestUser {
    fn drop(&mut self) {
        let _ = std::process::Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "-uroot", "-e"])
            .arg(format!("DROP USER IF EXISTS '{}'@'%'", self.name))
            .output();
    }
}

#[test]
fn a_wrong_password_shows_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.ldb");
    let db = two_tables("wrongpw", &store);
    let user = TestUser::new("wrongpw", &format!("GRANT ALL ON `{}`.* TO USER;", db.name));
    // The right password gets in.
    let ok = m2l(&["convert-schema", "--source", &user.url(&db.name), "--json"]);
    assert_eq!(ok.code, 0, "{}", ok.stderr);
    let wrong = user.url(&db.name).replace(&user.password, "wrong-password");
    let message = format!(
        "ERROR 1045 (28000): Access denied for user '{}'@'127.0.0.1' (using password: YES)",
        user.name
    );
    let needles = [message.as_str(), "check the user and password"];
    assert_says(
        &migrate(&wrong, &dir.path().join("other.ldb"), &[]),
        &needles,
        "wrong-password",
    );
    assert_says(&verify(&wrong, &store, &[]), &needles, "wrong-password");
    assert_says(
        &m2l(&["assess", "--source", &wrong]),
        &needles,
        "wrong-password",
    );
}

#[test]
fn a_missing_database_shows_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("m.ldb");
    let _db = two_tables("missingdb", &store);
    let name = format!("l2_no_such_db_{}", std::process::id());
    let user = TestUser::new("missingdb", "GRANT SELECT ON *.* TO USER;");
    let url = user.url(&name);
    let message = format!("ERROR 1049 (42000): Unknown database '{name}'");
    let needles = [message.as_str(), "check the database name"];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &[]),
        &needles,
        &user.password,
    );
    assert_says(&verify(&url, &store, &[]), &needles, &user.password);
}

#[test]
fn a_missing_privilege_shows_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("p.ldb");
    let db = two_tables("privilege", &store);
    // The user sees `b` (it may insert into it) but may not read it.
    let user = TestUser::new(
        "privilege",
        &format!(
            "GRANT SELECT ON `{0}`.`a` TO USER; GRANT INSERT ON `{0}`.`b` TO USER;",
            db.name
        ),
    );
    let url = user.url(&db.name);
    let message = format!(
        "ERROR 1142 (42000): SELECT command denied to user '{}'@'127.0.0.1' for table `{}`.`b`",
        user.name, db.name
    );
    let needles = [message.as_str(), "the user needs SELECT on `b`"];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &[]),
        &needles,
        &user.password,
    );
    assert_says(&verify(&url, &store, &[]), &needles, &user.password);
}

#[test]
fn a_bad_where_shows_the_servers_message() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("w.ldb");
    let db = two_tables("badwhere", &store);
    let user = TestUser::new(
        "badwhere",
        &format!("GRANT SELECT ON `{}`.* TO USER;", db.name),
    );
    let url = user.url(&db.name);
    let needles = [
        "ERROR 1054 (42S22): Unknown column 'nosuch' in 'WHERE'",
        "check the --where condition for `a`",
    ];
    let filter = ["--where", "a:nosuch > 1"];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &filter),
        &needles,
        &user.password,
    );
    assert_says(&verify(&url, &store, &filter), &needles, &user.password);
}

#[test]
fn a_refused_port_shows_the_cause_with_the_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("r.ldb");
    let db = two_tables("refused", &store);
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("mysql://root:Pw-refused@127.0.0.1:{port}/{}", db.name);
    let at = format!("could not connect to 127.0.0.1:{port}: connection refused");
    let needles = [at.as_str(), "check the host and port"];
    assert_says(
        &migrate(&url, &dir.path().join("other.ldb"), &[]),
        &needles,
        "Pw-refused",
    );
    assert_says(&verify(&url, &store, &[]), &needles, "Pw-refused");
}
