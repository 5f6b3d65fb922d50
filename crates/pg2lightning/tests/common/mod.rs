//! Helpers for the integration tests: a fresh database per test on the real server,
//! the tool, pg_dump, and store checksums.

#![allow(dead_code)]

// Each test file uses some of them.
#[allow(unused_imports)]
pub use lightning_testkit::{assert_clean_error, checksums, finish, p, Paused, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

/// The server the tests use (override with `PG2L_TEST_URL`).
pub fn server_url() -> String {
    std::env::var("PG2L_TEST_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into())
}

fn with_db(url: &str, db: &str) -> String {
    let base = url.rsplit_once('/').map_or(url, |(b, _)| b);
    format!("{base}/{db}")
}

pub fn admin() -> postgres::Client {
    postgres::Client::connect(&server_url(), postgres::NoTls)
        .expect("PostgreSQL must be running for these tests (`cargo xtask test` starts it)")
}

/// A database created for one test and dropped after it.
pub struct TestDb {
    pub name: String,
    pub url: String,
}

impl TestDb {
    pub fn new(tag: &str) -> TestDb {
        static NEXT: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let name = format!("l2t_{tag}_{}_{n}", std::process::id());
        let mut a = admin();
        a.batch_execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .expect("drop old test db");
        a.batch_execute(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ))
        .expect("create test db");
        let url = with_db(&server_url(), &name);
        TestDb { name, url }
    }

    pub fn client(&self) -> postgres::Client {
        postgres::Client::connect(&self.url, postgres::NoTls).expect("connect to test db")
    }

    pub fn exec(&self, sql: &str) {
        self.client().batch_execute(sql).expect("test SQL runs");
    }

    /// `psql -f FILE`, stopping at the first error.
    pub fn psql_file(&self, file: &Path) {
        let out = Command::new("psql")
            .args(["-X", "-q", "-v", "ON_ERROR_STOP=1", "-d", &self.url, "-f"])
            .arg(file)
            .output()
            .expect("psql runs");
        assert!(
            out.status.success(),
            "psql: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// `pg_dump` of this database into `file`, with extra arguments.
    pub fn dump(&self, file: &Path, extra: &[&str]) {
        let out = Command::new("pg_dump")
            .args(extra)
            .args(["-d", &self.url, "-f"])
            .arg(file)
            .output()
            .expect("pg_dump runs");
        assert!(
            out.status.success(),
            "pg_dump: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        if let Ok(mut a) = postgres::Client::connect(&server_url(), postgres::NoTls) {
            // A replication slot in the database keeps it from being dropped.
            let _ = a.execute(
                "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots \
                 WHERE database = $1 AND NOT active",
                &[&self.name],
            );
            let _ = a.batch_execute(&format!(
                "DROP DATABASE IF EXISTS {} WITH (FORCE)",
                self.name
            ));
        }
    }
}

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_pg2lightning"))
}

pub fn p2l(args: &[&str]) -> Run {
    finish(Command::new(tool()).args(args).output().expect("tool runs"))
}

/// Run and require exit 0.
pub fn p2l_ok(args: &[&str]) -> Run {
    let r = p2l(args);
    assert_eq!(
        r.code, 0,
        "pg2lightning {args:?}\nstdout: {}\nstderr: {}",
        r.stdout, r.stderr
    );
    r
}

/// A port on 127.0.0.1 that nothing listens on (bound, then released).
pub fn unused_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").port()
}

/// The one role the tests give a password that the server checks: the local
/// server trusts every other connection, so an `pg_hba.conf` line asks this role
/// (and only it) for its password. The line is added once, at the top of the file,
/// through the server (the test user is a superuser), and the configuration is
/// reloaded; the test waits until a wrong password is refused.
pub const PASSWORD_ROLE: &str = "l2t_password_check";
pub const PASSWORD: &str = "L2t-s3cret-Passw0rd";

pub fn password_role() {
    let mut a = admin();
    a.batch_execute(&format!(
        "DO $$ BEGIN
           IF NOT EXISTS (SELECT FROM pg_catalog.pg_roles WHERE rolname = '{PASSWORD_ROLE}') THEN
             CREATE ROLE {PASSWORD_ROLE} LOGIN;
           END IF;
         EXCEPTION WHEN duplicate_object THEN NULL;
         END $$;
         ALTER ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}';"
    ))
    .expect("the password role");
    let rule = format!("host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256");
    let hba: String = a
        .query_one(
            "SELECT pg_catalog.pg_read_file(current_setting('hba_file'))",
            &[],
        )
        .expect("pg_hba.conf is readable by the superuser")
        .get(0);
    if !hba.lines().any(|l| l.trim() == rule) {
        let text = format!(
            "# The Lightning toolkit's tests: this role must give its password.\n{rule}\n{hba}"
        );
        a.batch_execute("BEGIN").unwrap();
        let oid: u32 = a
            .query_one(
                "SELECT pg_catalog.lo_from_bytea(0, pg_catalog.convert_to($1, 'UTF8'))",
                &[&text],
            )
            .expect("a large object")
            .get(0);
        a.execute(
            "SELECT pg_catalog.lo_export($1, current_setting('hba_file'))",
            &[&oid],
        )
        .expect("pg_hba.conf is writable by the server");
        a.execute("SELECT pg_catalog.lo_unlink($1)", &[&oid])
            .unwrap();
        a.batch_execute("COMMIT; SELECT pg_catalog.pg_reload_conf()")
            .unwrap();
    }
    // The reload is asynchronous: wait until the rule is in force.
    let wrong = format!("postgresql://{PASSWORD_ROLE}:wrong@127.0.0.1:5432/postgres");
    for _ in 0..100 {
        if postgres::Client::connect(&wrong, postgres::NoTls).is_err() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the server still lets {PASSWORD_ROLE} in without its password");
}

/// A role of its own for one test, dropped after the test's databases.
pub struct TestRole {
    pub name: String,
}

impl TestRole {
    pub fn new(tag: &str) -> TestRole {
        let name = format!("l2t_role_{tag}_{}", std::process::id());
        admin()
            .batch_execute(&format!(
                "DROP ROLE IF EXISTS {name}; CREATE ROLE {name} LOGIN"
            ))
            .expect("create the role");
        TestRole { name }
    }
}

impl Drop for TestRole {
    fn drop(&mut self) {
        if let Ok(mut a) = postgres::Client::connect(&server_url(), postgres::NoTls) {
            let _ = a.batch_execute(&format!("DROP ROLE IF EXISTS {}", self.name));
        }
    }
}

/// The `lightning` binary, built beside this crate's binary (`cargo build --workspace`).
pub fn lightning() -> PathBuf {
    lightning_testkit::lightning_beside(&tool())
}

pub fn light(args: &[&str]) -> Run {
    finish(
        Command::new(lightning())
            .args(args)
            .output()
            .expect("lightning runs"),
    )
}

/// `pg2lightning ARGS` with a fault injected (`LIGHTNING_FAULT=SPEC`).
pub fn p2l_fault(args: &[&str], fault: &str) -> Run {
    finish(
        Command::new(tool())
            .args(args)
            .env("LIGHTNING_FAULT", fault)
            .output()
            .expect("tool runs"),
    )
}

/// Send a signal (`INT`, `TERM`, ...) to a process.
pub fn signal(pid: u32, name: &str) {
    let ok = Command::new("kill")
        .args(["-s", name, &pid.to_string()])
        .status()
        .expect("kill runs")
        .success();
    assert!(ok, "kill -s {name} {pid} failed");
}

/// The runs a store records (`lightning runs --json`).
pub fn runs(store: &Path) -> Vec<serde_json::Value> {
    let r = light(&["runs", p(store), "--json"]);
    assert_eq!(r.code, 0, "lightning runs: {}", r.stderr);
    serde_json::from_str::<serde_json::Value>(&r.stdout)
        .expect("runs JSON")
        .as_array()
        .expect("a list of runs")
        .clone()
}

/// The tool started paused at a fault point (`POINT:N`).
pub fn paused(args: &[&str], at: &str) -> Paused {
    let mut cmd = Command::new(tool());
    cmd.args(args);
    Paused::start(cmd, at)
}
