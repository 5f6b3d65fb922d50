//! The same NUMERIC(10,2) values from SQLite, PostgreSQL and MariaDB are stored as
//! the same text, at the declared scale, with the same checksums; a value that
//! would need rounding is refused or set aside. Needs the local PostgreSQL and
//! MariaDB servers and the workspace's binaries.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

const TABLE: &str = "CREATE TABLE prices (id BIGINT PRIMARY KEY, amount NUMERIC(10,2))";
const ROWS: &str =
    "INSERT INTO prices VALUES (1, 1.90), (2, 2.00), (3, -0.50), (4, 0), (5, '1.500')";
const STORED: &str = "id,amount\n1,1.90\n2,2.00\n3,-0.50\n4,0.00\n5,1.50\n";

/// A binary of another crate of the workspace, built beside this one.
fn sibling(name: &str) -> PathBuf {
    let p = tool().with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace` or `cargo xtask test`)",
        p.display()
    );
    p
}

fn pg_url(db: &str) -> String {
    let base = std::env::var("PG2L_TEST_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into());
    let server = base.rsplit_once('/').map_or(base.as_str(), |(b, _)| b);
    format!("{server}/{db}")
}

fn client(cmd: &str, args: &[&str]) {
    let out = Command::new(cmd)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("{cmd} is installed: {e}"));
    assert!(
        out.status.success(),
        "{cmd} {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn psql(db: &str, sql: &str) {
    client(
        "psql",
        &[
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &pg_url(db),
            "-c",
            sql,
        ],
    );
}

fn mariadb(sql: &str) {
    client("mariadb", &["-h127.0.0.1", "-P3306", "-uroot", "-e", sql]);
}

/// Test databases on both servers, dropped at the end.
struct Servers {
    pg: String,
    my: String,
}

impl Servers {
    fn new() -> Servers {
        let pid = std::process::id();
        let s = Servers {
            pg: format!("l2t_decscale_{pid}"),
            my: format!("l2_test_decscale_{pid}"),
        };
        psql(
            "postgres",
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", s.pg),
        );
        psql("postgres", &format!("CREATE DATABASE {}", s.pg));
        psql(&s.pg, &format!("{TABLE}; {ROWS}"));
        mariadb(&format!(
            "DROP DATABASE IF EXISTS `{0}`; CREATE DATABASE `{0}`; USE `{0}`; {TABLE}; {ROWS};",
            s.my
        ));
        s
    }
}

impl Drop for Servers {
    fn drop(&mut self) {
        let _ = Command::new("psql")
            .args(["-X", "-q", "-d", &pg_url("postgres"), "-c"])
            .arg(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.pg))
            .output();
        let _ = Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "-uroot", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS `{}`", self.my))
            .output();
    }
}

fn migrate(bin: &Path, source: &str, target: &Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "migrate",
        "--source",
        source,
        "--target",
        p(target),
        "--quiet",
    ];
    args.extend_from_slice(extra);
    run(bin, &args)
}

#[test]
fn numeric_10_2_is_the_same_text_and_checksum_from_every_source() {
    let servers = Servers::new();
    let dir = tempfile::tempdir().unwrap();
    let sqlite = sqlite_db(dir.path(), "prices.sqlite", &format!("{TABLE}; {ROWS};"));

    let sources = [
        (tool(), p(&sqlite).to_string()),
        (sibling("pg2lightning"), pg_url(&servers.pg)),
        (
            sibling("mysql2lightning"),
            format!("mysql://root@127.0.0.1:3306/{}", servers.my),
        ),
    ];
    let mut sums = Vec::new();
    for (i, (bin, source)) in sources.iter().enumerate() {
        let store = dir.path().join(format!("s{i}.ldb"));
        let r = migrate(bin, source, &store, &["--verify"]);
        assert_eq!(r.code, 0, "{}: {}", bin.display(), r.stderr);
        let scan = light(&["scan", p(&store), "prices", "--format", "csv"]);
        assert_eq!(scan.stdout, STORED, "{}", bin.display());
        let sum = light(&["checksum", p(&store), "prices"]);
        assert_eq!(sum.code, 0, "{}", sum.stderr);
        sums.push(sum.stdout);
    }
    assert_eq!(sums[0], sums[1], "SQLite and PostgreSQL");
    assert_eq!(sums[0], sums[2], "SQLite and MariaDB");

    // A cast to a smaller scale drops only zeros; the rest is set aside.
    let store = dir.path().join("scale0.ldb");
    let rejects = dir.path().join("scale0.rejects.jsonl");
    let r = migrate(
        &sources[2].0,
        &sources[2].1,
        &store,
        &[
            "--cast",
            "column:prices.amount => DECIMAL(10,0)",
            "--on-error",
            "skip",
            "--reject-file",
            p(&rejects),
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scan = light(&["scan", p(&store), "prices", "--format", "csv"]);
    assert_eq!(scan.stdout, "id,amount\n2,2\n4,0\n");
    let set_aside = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(set_aside.lines().count(), 3, "{set_aside}");
    assert!(set_aside.contains("without rounding"), "{set_aside}");
}

#[test]
fn a_sqlite_value_that_needs_rounding_is_refused_with_its_key() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(
        dir.path(),
        "round.sqlite",
        &format!("{TABLE}; {ROWS}; INSERT INTO prices VALUES (6, 1.999);"),
    );
    let store = dir.path().join("round.ldb");
    let r = migrate(&tool(), p(&db), &store, &[]);
    assert_clean_error(&r, 1, "id=6");
    let err = r.stderr.lines().find(|l| l.starts_with("error:")).unwrap();
    for needle in ["prices", "amount", "1.999", "without rounding"] {
        assert!(err.contains(needle), "`{needle}` not in: {err}");
    }

    let rejects = dir.path().join("round.rejects.jsonl");
    let r = migrate(
        &tool(),
        p(&db),
        &store,
        &[
            "--on-error",
            "skip",
            "--reject-file",
            p(&rejects),
            "--fresh",
        ],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    let scan = light(&["scan", p(&store), "prices", "--format", "csv"]);
    assert_eq!(scan.stdout, STORED);
    let set_aside = std::fs::read_to_string(&rejects).unwrap();
    assert_eq!(set_aside.lines().count(), 1, "{set_aside}");
    assert!(set_aside.contains("1.999"), "{set_aside}");
}
