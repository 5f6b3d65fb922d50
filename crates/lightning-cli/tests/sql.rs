//! SQL on a migrated store: the same queries on the source PostgreSQL, through
//! `lightning query` and through psql against `lightning serve` give the same rows;
//! writes through SQL keep the store's rules.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use lightning_testkit::{finish, p, Run};

const BIN: &str = env!("CARGO_BIN_EXE_lightning");

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/sql")
        .join(name)
}

/// Another tool of the workspace, built beside `lightning`.
fn sibling(tool: &str) -> PathBuf {
    let path = Path::new(BIN).with_file_name(tool);
    assert!(
        path.exists(),
        "{} is not built: run the workspace's tests (`cargo xtask test`) or `cargo build -p {tool}` first",
        path.display()
    );
    path
}

fn server_url() -> String {
    std::env::var("PG2L_TEST_URL")
        .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into())
}

fn psql(url: &str) -> Command {
    let mut c = Command::new("psql");
    c.args(["-X", "-v", "ON_ERROR_STOP=1", "-d", url])
        .env("PGOPTIONS", "-c TimeZone=UTC");
    c
}

/// A PostgreSQL database holding the shop fixture, dropped at the end.
struct ShopDb {
    name: String,
    url: String,
}

impl ShopDb {
    fn new(tag: &str) -> ShopDb {
        let name = format!("lsql_{tag}_{}", std::process::id());
        let admin = server_url();
        let run = |sql: &str| {
            let r = finish(
                psql(&admin)
                    .args(["-q", "-c", sql])
                    .output()
                    .expect("psql runs"),
            );
            assert!(r.code == 0, "psql: {}", r.all());
        };
        run(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"));
        run(&format!(
            "CREATE DATABASE {name} TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
        ));
        let base = admin.rsplit_once('/').map_or(admin.as_str(), |(b, _)| b);
        let url = format!("{base}/{name}");
        let r = finish(
            psql(&url)
                .args(["-q", "-f"])
                .arg(fixture("shop.sql"))
                .output()
                .expect("psql runs"),
        );
        assert!(r.code == 0, "loading shop.sql: {}", r.all());
        ShopDb { name, url }
    }

    /// Migrate into a new store at `target`.
    fn migrate(&self, target: &Path) {
        let r = finish(
            Command::new(sibling("pg2lightning"))
                .args(["migrate", "--quiet", "--source", &self.url, "--target"])
                .arg(target)
                .output()
                .expect("pg2lightning runs"),
        );
        assert!(r.code == 0, "migrate: {}", r.all());
    }
}

impl Drop for ShopDb {
    fn drop(&mut self) {
        let _ = psql(&server_url())
            .args([
                "-q",
                "-c",
                &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
            ])
            .output();
    }
}

/// `lightning serve` on a free loopback port, stopped when dropped.
struct Server {
    child: Child,
    port: u16,
}

impl Server {
    fn start(db: &Path, extra: &[&str], env: &[(&str, &str)]) -> Server {
        let mut child = Command::new(BIN)
            .args(["serve", p(db), "--listen", "127.0.0.1:0"])
            .args(extra)
            .envs(env.iter().copied())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("lightning serve starts");
        let mut line = String::new();
        BufReader::new(child.stderr.as_mut().expect("stderr"))
            .read_line(&mut line)
            .expect("serve says where it listens");
        let port = line
            .split("127.0.0.1:")
            .nth(1)
            .and_then(|r| r.split('/').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no port in `{line}`"));
        Server { child, port }
    }

    fn url(&self, user: &str) -> String {
        format!("postgresql://{user}@127.0.0.1:{}/shop", self.port)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn queries() -> Vec<String> {
    std::fs::read_to_string(fixture("queries.sql"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with("--"))
        .map(|l| l.trim_end_matches(';').to_string())
        .collect()
}

/// Rows as psql prints them in CSV without a header.
fn psql_rows(url: &str, sql: &str) -> Run {
    finish(
        psql(url)
            .args(["--csv", "-t", "-c", sql])
            .output()
            .expect("psql runs"),
    )
}

fn lightning(args: &[&str]) -> Run {
    finish(
        Command::new(BIN)
            .args(args)
            .output()
            .expect("lightning runs"),
    )
}

/// `lightning query --format csv` rows without the header line.
fn query_rows(db: &Path, sql: &str) -> Run {
    lightning(&["query", p(db), "--format", "csv", sql])
}

fn without_header(csv: &str) -> String {
    csv.split_once('\n')
        .map_or("", |(_, rest)| rest)
        .to_string()
}

#[test]
fn the_same_queries_give_the_same_rows_on_postgres_query_and_serve() {
    let src = ShopDb::new("same");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let qs = queries();
    assert_eq!(qs.len(), 20, "the fixture holds 20 queries");
    let mut expected = Vec::new();
    for q in &qs {
        let pg = psql_rows(&src.url, q);
        assert!(pg.code == 0, "PostgreSQL refused `{q}`: {}", pg.all());
        assert!(
            !pg.stdout.trim().is_empty(),
            "`{q}` gives no rows on PostgreSQL"
        );
        let lq = query_rows(&db, q);
        assert!(lq.code == 0, "lightning query refused `{q}`: {}", lq.all());
        assert_eq!(
            without_header(&lq.stdout),
            pg.stdout,
            "`lightning query` differs from PostgreSQL for `{q}`"
        );
        expected.push(pg);
    }
    // The server holds the store open: it starts once `lightning query` is done.
    let server = Server::start(&db, &[], &[]);
    for (q, pg) in qs.iter().zip(&expected) {
        let served = psql_rows(&server.url("lightning"), q);
        assert!(
            served.code == 0,
            "lightning serve refused `{q}`: {}",
            served.all()
        );
        assert_eq!(
            served.stdout, pg.stdout,
            "psql against `lightning serve` differs from PostgreSQL for `{q}`"
        );
    }
}

#[test]
fn json_containment_and_full_text_match_their_postgres_counterparts() {
    let src = ShopDb::new("json");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let pairs = [
        (
            r#"SELECT id FROM customers WHERE tags @> '["admin"]' ORDER BY id"#,
            r#"SELECT id FROM customers WHERE JSON_CONTAINS(tags, '["admin"]') ORDER BY id"#,
        ),
        (
            r#"SELECT id FROM customers WHERE tags @> '["vip","admin"]' ORDER BY id"#,
            r#"SELECT id FROM customers WHERE json_contains(tags, '["vip","admin"]') ORDER BY id"#,
        ),
        (
            "SELECT id FROM customers WHERE to_tsvector('simple', bio) @@ plainto_tsquery('simple', 'coffee') ORDER BY id",
            "SELECT id FROM customers WHERE FULLTEXT_SEARCH(bio, 'coffee') ORDER BY id",
        ),
        (
            "SELECT tags->0 FROM customers WHERE id IN (1, 7) ORDER BY id",
            "SELECT json_extract(tags, '$[0]') FROM customers WHERE id IN (1, 7) ORDER BY id",
        ),
    ];
    for (pg_sql, l_sql) in pairs {
        let pg = psql_rows(&src.url, pg_sql);
        assert!(pg.code == 0, "{}", pg.all());
        let lq = query_rows(&db, l_sql);
        assert!(lq.code == 0, "{}", lq.all());
        assert_eq!(without_header(&lq.stdout), pg.stdout, "{l_sql}");
        assert!(!pg.stdout.trim().is_empty(), "{pg_sql} matches rows");
    }
}

#[test]
fn writes_through_sql_keep_the_stores_rules() {
    let src = ShopDb::new("writes");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let ok = |sql: &str| {
        let r = lightning(&["query", p(&db), sql]);
        assert!(r.code == 0, "`{sql}`: {}", r.all());
        r
    };
    let refused = |sql: &str, needle: &str| {
        let r = lightning(&["query", p(&db), sql]);
        assert_eq!(r.code, 1, "`{sql}` must fail: {}", r.all());
        assert!(
            r.stderr.contains(needle),
            "`{sql}`: expected `{needle}` in {}",
            r.stderr
        );
    };
    let r = ok("INSERT INTO products VALUES (11, 'Thé vert', 'drinks', 4.50), (12, 'Sieb', 'kitchen', 0.99)");
    assert!(r.stderr.contains("INSERT 2"), "{}", r.stderr);
    refused(
        "INSERT INTO products VALUES (11, 'again', 'drinks', 1)",
        "duplicate primary key",
    );
    refused(
        "INSERT INTO customers (id, name, email, country, created_at) VALUES (99, 'X', 'zoe@example.se', 'X', now())",
        "duplicate value for unique index",
    );
    refused(
        "INSERT INTO products (id, name, category) VALUES (13, 'no price', 'x')",
        "NOT NULL",
    );
    // One statement is one change: the bad second row leaves the first out too.
    refused(
        "INSERT INTO products VALUES (14, 'fine', 'x', 1.00), (1, 'clash', 'x', 1.00)",
        "duplicate primary key",
    );
    let r = ok("UPDATE products SET price = price + 1.25 WHERE category = 'drinks'");
    assert!(r.stderr.contains("UPDATE 4"), "{}", r.stderr);
    refused(
        "UPDATE customers SET email = 'zoe@example.se' WHERE id = 2",
        "duplicate value for unique index",
    );
    // Swapping unique values inside one statement is fine.
    ok("UPDATE customers SET email = CASE id WHEN 1 THEN 'lukasz@example.pl' ELSE 'zoe@example.se' END WHERE id IN (1, 2)");
    let r = ok("DELETE FROM order_items WHERE order_id > 200");
    assert!(r.stderr.contains("DELETE "), "{}", r.stderr);
    refused(
        "UPDATE orders SET status = 'x' FROM customers c WHERE c.id = orders.customer_id",
        "UPDATE ... FROM is not supported",
    );
    let rows = query_rows(
        &db,
        "SELECT id, price FROM products WHERE id IN (1, 2, 11, 12, 14) ORDER BY id; SELECT id, email FROM customers WHERE id <= 2 ORDER BY id; SELECT count(*) FROM order_items WHERE order_id > 200",
    );
    assert!(rows.code == 0, "{}", rows.all());
    assert_eq!(
        rows.stdout,
        "id,price\n1,9.59\n2,16.94\n11,5.75\n12,0.99\nid,email\n1,lukasz@example.pl\n2,zoe@example.se\ncount(*)\n0\n"
    );
    // DDL in Lightning types, then rows in it; the store agrees with what SQL saw.
    ok("CREATE TABLE notes (id BIGINT NOT NULL, body TEXT, at TIMESTAMPTZ, PRIMARY KEY (id))");
    ok("INSERT INTO notes VALUES (1, 'première', '2024-05-01 10:00:00+02')");
    let got = lightning(&["get", p(&db), "notes", "1"]);
    assert!(got.code == 0, "{}", got.all());
    assert!(
        got.stdout.contains("2024-05-01 08:00:00+00:00"),
        "{}",
        got.stdout
    );
    ok("DROP TABLE notes");
    let tables = lightning(&["tables", p(&db)]);
    assert!(!tables.stdout.contains("notes"), "{}", tables.stdout);
    let check = lightning(&["check", p(&db)]);
    assert!(
        check.code == 0,
        "the store is consistent after the writes: {}",
        check.all()
    );
}

#[test]
fn serve_asks_for_its_password_and_rolls_back_a_block() {
    let src = ShopDb::new("auth");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "s3cret-Ω\n").unwrap();
    let server = Server::start(&db, &["--user", "app", "--password-file", p(&pw)], &[]);
    let with = |password: &str| {
        finish(
            psql(&server.url("app"))
                .args(["--csv", "-t", "-c", "SELECT count(*) FROM orders"])
                .env("PGPASSWORD", password)
                .output()
                .unwrap(),
        )
    };
    let good = with("s3cret-Ω");
    assert!(good.code == 0, "{}", good.all());
    assert_eq!(good.stdout, "240\n");
    // A block sees its own write; after ROLLBACK the row is gone.
    let r = finish(
        psql(&server.url("app"))
            .args(["-A", "-t", "-c", "BEGIN"])
            .args([
                "-c",
                "INSERT INTO products VALUES (30, 'Glas', 'kitchen', 2.00)",
            ])
            .args(["-c", "SELECT name FROM products WHERE id = 30"])
            .args(["-c", "ROLLBACK"])
            .args(["-c", "SELECT count(*) FROM products WHERE id = 30"])
            .env("PGPASSWORD", "s3cret-Ω")
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(
        r.stdout,
        "BEGIN\nINSERT 0 1\nGlas\nROLLBACK\n0\n",
        "{}",
        r.all()
    );
    let bad = with("wrong");
    assert!(bad.code != 0, "a wrong password is refused");
    assert!(
        bad.stderr.contains("authentication failed"),
        "{}",
        bad.stderr
    );
    let r = lightning(&["serve", p(&db), "--listen", "0.0.0.0:0"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("without a password"), "{}", r.stderr);
}

#[test]
fn python_sqlalchemy_reads_and_writes_through_serve() {
    let python = std::env::var("LIGHTNING_TEST_PYTHON").unwrap_or_else(|_| {
        panic!(
            "LIGHTNING_TEST_PYTHON names a Python with psycopg and SQLAlchemy: `cargo xtask test` installs one and sets it"
        )
    });
    let src = ShopDb::new("python");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let server = Server::start(
        &db,
        &["--user", "app"],
        &[("LIGHTNING_SERVE_PASSWORD", "pÿ-secret")],
    );
    let url = format!(
        "postgresql+psycopg://app:p%C3%BF-secret@127.0.0.1:{}/shop",
        server.port
    );
    let r = finish(
        Command::new(&python)
            .arg(fixture("sqlalchemy_client.py"))
            .arg(&url)
            .output()
            .expect("python runs"),
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.stdout.trim(), "ok");
    drop(server);
    let rows = query_rows(
        &db,
        "SELECT id, name, price FROM products WHERE id >= 20 ORDER BY id",
    );
    assert_eq!(rows.stdout, "id,name,price\n20,Kräuter,3.20\n");
}

#[test]
fn java_jdbc_reads_and_writes_through_serve() {
    let jar = std::env::var("LIGHTNING_TEST_JDBC").unwrap_or_else(|_| {
        panic!(
            "LIGHTNING_TEST_JDBC names the PostgreSQL JDBC driver's jar: `cargo xtask test` installs it and sets it"
        )
    });
    let src = ShopDb::new("jdbc");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let classes = dir.path().join("classes");
    let built = finish(
        Command::new("javac")
            .arg("-d")
            .arg(&classes)
            .arg(fixture("JdbcClient.java"))
            .output()
            .expect("javac runs"),
    );
    assert_eq!(built.code, 0, "{}", built.all());
    let server = Server::start(
        &db,
        &["--user", "app"],
        &[("LIGHTNING_SERVE_PASSWORD", "j-secret")],
    );
    let r = finish(
        Command::new("java")
            .arg("-cp")
            .arg(format!("{}:{jar}", classes.display()))
            .arg("JdbcClient")
            .arg(format!("jdbc:postgresql://127.0.0.1:{}/shop", server.port))
            .args(["app", "j-secret"])
            .output()
            .expect("java runs"),
    );
    assert_eq!(r.code, 0, "{}", r.all());
    assert_eq!(r.stdout.trim(), "ok");
    drop(server);
    let rows = query_rows(
        &db,
        "SELECT id, name, price FROM products WHERE id >= 50 ORDER BY id",
    );
    assert_eq!(rows.stdout, "id,name,price\n51,Tasse,4.25\n52,Tasse,4.25\n");
}

#[test]
fn verify_compares_queries_on_the_source_and_the_store() {
    let src = ShopDb::new("vq");
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("shop.ldb");
    src.migrate(&db);
    let verify = |extra: &[&str]| {
        finish(
            Command::new(sibling("pg2lightning"))
                .args(["verify", "--json", "--source", &src.url, "--target", p(&db)])
                .args(extra)
                .output()
                .unwrap(),
        )
    };
    let r = verify(&["--queries", p(&fixture("queries.sql"))]);
    assert_eq!(r.code, 0, "{}", r.all());
    let report = r.json();
    let checks = report["queries"].as_array().expect("queries in the report");
    assert_eq!(checks.len(), 20);
    assert!(checks.iter().all(|c| c["equal"] == true), "{report:#}");
    assert!(report["tables"].as_array().unwrap().is_empty());

    // A change on the source shows as the first differing row.
    let r = finish(
        psql(&src.url)
            .args(["-c", "UPDATE orders SET total = total + 0.01 WHERE id = 7"])
            .output()
            .unwrap(),
    );
    assert_eq!(r.code, 0, "{}", r.all());
    let r = verify(&[
        "--query",
        "SELECT id, total FROM orders WHERE id < 10 ORDER BY id",
    ]);
    assert_eq!(r.code, 3, "{}", r.all());
    let check = &r.json()["queries"][0];
    assert_eq!(check["equal"], false);
    let diff = check["difference"].as_str().unwrap();
    assert!(diff.starts_with("row 7: source ('7', '"), "{diff}");
    let r = verify(&["--query", "SELECT nonsense FROM orders"]);
    assert_eq!(r.code, 1, "{}", r.all());
    assert!(r.stderr.contains("running on the source"), "{}", r.stderr);
}
