//! Bad dumps, credentials, and the pagila schema from a file and from the server.

mod common;

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use common::*;

fn pagila() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/pagila-schema.sql"
    ))
}

fn small_dump(dir: &Path) -> (TestDb, String) {
    let db = TestDb::new("small");
    db.exec(
        "CREATE TABLE a (id int PRIMARY KEY, t text); INSERT INTO a SELECT g, 'row ' || g FROM generate_series(1, 50) g;
         CREATE TABLE b (id int PRIMARY KEY, a_id int REFERENCES a(id)); INSERT INTO b VALUES (1, 1);",
    );
    let file = dir.join("small.sql");
    db.dump(&file, &[]);
    (db, std::fs::read_to_string(&file).unwrap())
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.starts_with(needle))
        .expect("line present")
        + 1
}

#[test]
fn broken_dumps_stop_with_the_line_and_leave_nothing_half_written() {
    let dir = tempfile::tempdir().unwrap();
    let (_db, text) = small_dump(dir.path());

    // Truncated inside the COPY data of `a`.
    let row = line_of(&text, "20\trow 20");
    let truncated: String = text.lines().take(row).map(|l| format!("{l}\n")).collect();
    let f = dir.path().join("truncated.sql");
    std::fs::write(&f, &truncated).unwrap();
    let store = dir.path().join("t.ldb");
    let r = p2l(&[
        "migrate",
        "--from-dump",
        p(&f),
        "--target",
        p(&store),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, "line");
    assert!(r.stderr.contains("truncated"), "{}", r.stderr);
    assert!(!store.join("LIGHTNING").exists() || checksums(&store).values().all(|c| c.rows == 0));

    // Truncated between statements: the closing line of pg_dump is missing.
    let cut = line_of(&text, "ALTER TABLE ONLY public.b");
    let f = dir.path().join("cut.sql");
    std::fs::write(
        &f,
        text.lines()
            .take(cut - 1)
            .map(|l| format!("{l}\n"))
            .collect::<String>(),
    )
    .unwrap();
    let r = p2l(&["convert-schema", "--from-dump", p(&f)]);
    assert_clean_error(&r, 1, "truncated");

    // A COPY row with a missing field.
    let bad_row = line_of(&text, "7\trow 7");
    let f = dir.path().join("fields.sql");
    std::fs::write(&f, text.replacen("7\trow 7\n", "7row 7\n", 1)).unwrap();
    let r = p2l(&[
        "migrate",
        "--from-dump",
        p(&f),
        "--target",
        p(&dir.path().join("f.ldb")),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, &format!("line {bad_row}"));

    // Invalid UTF-8.
    let mut bytes = text.clone().into_bytes();
    let at = text.find("row 9\n").unwrap();
    bytes[at + 1] = 0xff;
    let f = dir.path().join("utf8.sql");
    std::fs::write(&f, bytes).unwrap();
    let r = p2l(&[
        "migrate",
        "--from-dump",
        p(&f),
        "--target",
        p(&dir.path().join("u.ldb")),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, &format!("line {}", line_of(&text, "9\trow 9")));
}

#[test]
fn a_dump_is_read_from_stdin_and_the_same_command_resumes() {
    let dir = tempfile::tempdir().unwrap();
    let (db, text) = small_dump(dir.path());
    let store = dir.path().join("s.ldb");
    for _ in 0..2 {
        let mut child = Command::new(tool())
            .args([
                "migrate",
                "--from-dump",
                "-",
                "--target",
                p(&store),
                "--quiet",
                "--verify",
            ])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(text.as_bytes())
            .unwrap();
        let r = finish(child.wait_with_output().unwrap());
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let sums = checksums(&store);
    assert_eq!(sums["a"].rows, 50);
    p2l_ok(&["verify", "--source", &db.url, "--target", p(&store)]);
    // No spool file is left beside the target.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().starts_with(".pg2lightning"))
        .collect();
    assert!(leftovers.is_empty());
}

#[test]
fn credentials_never_appear_in_output_reports_or_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new("secret");
    db.exec("CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t VALUES (1);");
    let secret = "Pa55-w0rd-Z9q";
    let url = db
        .url
        .replacen("postgres@", &format!("postgres:{secret}@"), 1);
    assert!(url.contains(secret));
    let store = dir.path().join("s.ldb");
    let report = dir.path().join("report.html");
    let mut outputs = Vec::new();
    for args in [
        vec![
            "migrate",
            "--source",
            url.as_str(),
            "--target",
            p(&store),
            "--verify",
            "--report",
            p(&report),
        ],
        vec![
            "verify",
            "--source",
            url.as_str(),
            "--target",
            p(&store),
            "--json",
        ],
        vec!["convert-schema", "--source", url.as_str(), "--json"],
        vec!["assess", "--source", url.as_str(), "--json"],
    ] {
        let r = p2l_ok(&args);
        outputs.push(r.stdout + &r.stderr);
    }
    // PGPASSWORD, and a failing connection whose error names the server.
    let r = finish(
        Command::new(tool())
            .args([
                "convert-schema",
                "--source",
                "postgresql://nobody@127.0.0.1:1/x",
            ])
            .env("PGPASSWORD", secret)
            .output()
            .unwrap(),
    );
    assert_clean_error(&r, 1, "cannot connect");
    outputs.push(r.stdout + &r.stderr);
    let bad = url.replace(":5432/", ":1/");
    let r = p2l(&["convert-schema", "--source", &bad]);
    assert_clean_error(&r, 1, "cannot connect");
    outputs.push(r.stdout + &r.stderr);
    outputs.push(std::fs::read_to_string(&report).unwrap());
    for o in &outputs {
        assert!(!o.contains(secret), "the password leaked: {o}");
    }
    for entry in walk(&store) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !bytes.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "the password is in {}",
            entry.display()
        );
    }
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let path = e.path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}

/// What must agree between two conversion reports of one database.
fn summary(json: &str) -> (BTreeSet<String>, BTreeSet<String>) {
    let v: serde_json::Value = serde_json::from_str(json).expect("report JSON");
    let columns = v["tables"]
        .as_array()
        .unwrap()
        .iter()
        .flat_map(|t| {
            let table = t["table"].as_str().unwrap().to_string();
            t["columns"].as_array().unwrap().iter().map(move |c| {
                format!(
                    "{table}.{} {} => {}",
                    c["column"], c["source_type"], c["lightning_type"]
                )
            })
        })
        .collect();
    let findings = v["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| format!("{} {} {}", f["severity"], f["object"], f["message"]))
        .collect();
    (columns, findings)
}

/// pagila uses the `vector` extension (pgvector), which this server may not have:
/// the copy loaded into the server goes without it (its one column becomes `real[]`,
/// its HNSW index a GIN one),
/// and its virtual generated column (PostgreSQL 18) becomes a stored one.
fn pagila_without_vector(dir: &Path) -> PathBuf {
    let text = std::fs::read_to_string(pagila()).unwrap();
    let edited: String = text
        .lines()
        .filter(|l| !(l.contains("EXTENSION") && l.contains("vector")))
        .map(|l| {
            l.replace("public.vector(20)", "real[]")
                .replace(") VIRTUAL", ") STORED")
                .replace(
                    "USING hnsw (embedding public.vector_cosine_ops)",
                    "USING gin (embedding)",
                )
                + "\n"
        })
        .collect();
    let path = dir.join("pagila-no-vector.sql");
    std::fs::write(&path, edited).unwrap();
    path
}

#[test]
fn pagila_converts_completely_from_the_file_and_from_the_server_alike() {
    let dir = tempfile::tempdir().unwrap();
    // The real file, as it is.
    let original = p2l_ok(&["convert-schema", "--from-dump", p(&pagila()), "--json"]);
    let (oc, of) = summary(&original.stdout);
    assert!(
        oc.contains("film_embedding.\"embedding\" \"public.vector(20)\" => \"TEXT\""),
        "{oc:?}"
    );
    assert!(
        of.iter()
            .any(|f| f.contains("\"vector\"") && f.contains("extension")),
        "{of:?}"
    );

    let file = pagila_without_vector(dir.path());
    let from_file = p2l_ok(&["convert-schema", "--from-dump", p(&file), "--json"]);
    let db = TestDb::new("pagila");
    // pagila was dumped from a newer server: give an older one its `uuidv7()`.
    db.exec(
        "DO $$ BEGIN IF to_regproc('pg_catalog.uuidv7') IS NULL THEN \
         CREATE FUNCTION pg_catalog.uuidv7() RETURNS uuid LANGUAGE sql AS 'SELECT gen_random_uuid()'; \
         END IF; END $$",
    );
    db.psql_file(&file);
    let from_server = p2l_ok(&["convert-schema", "--source", &db.url, "--json"]);
    let (fc, ff) = summary(&from_file.stdout);
    let (sc, sf) = summary(&from_server.stdout);
    assert_eq!(fc, sc, "column decisions differ");
    assert_eq!(ff, sf, "findings differ");
    // Complete: every table, the partitions merged, every object listed.
    assert_eq!(fc.iter().filter(|c| c.starts_with("film.")).count(), 14);
    assert!(
        fc.contains("payment.\"amount\" \"numeric(5,2)\" => \"DECIMAL(5,2)\""),
        "{fc:?}"
    );
    assert!(fc.contains("film.\"special_features\" \"text[]\" => \"JSON\""));
    assert!(fc.contains("film.\"rating\" \"public.mpaa_rating\" => \"TEXT\""));
    assert!(!fc.iter().any(|c| c.starts_with("payment_p2022")));
    let manual = |kind: &str| {
        ff.iter()
            .filter(|f| f.contains(&format!("\"{kind}: ")))
            .count()
    };
    assert_eq!(manual("trigger"), 16, "{ff:?}");
    assert_eq!(manual("view"), 7);
    assert_eq!(manual("materialized view"), 1);
    assert!(manual("function") >= 9);
    // The DDL parses back as Lightning DDL.
    let ddl = p2l_ok(&["convert-schema", "--from-dump", p(&pagila())]).stdout;
    let tables = lightning_core::ddl::parse_schema(&ddl).expect("valid Lightning DDL");
    assert_eq!(
        tables.len(),
        fc.iter()
            .map(|c| c.split('.').next().unwrap().to_string())
            .collect::<BTreeSet<_>>()
            .len()
    );
    // Data too: the empty schema migrates and verifies from the server.
    p2l_ok(&[
        "migrate",
        "--source",
        &db.url,
        "--target",
        p(&dir.path().join("p.ldb")),
        "--verify",
        "--quiet",
    ]);
}

#[test]
fn schemas_are_picked_and_renames_reach_the_store_and_verify() {
    let dir = tempfile::tempdir().unwrap();
    let db = TestDb::new("schemas");
    db.exec(
        "CREATE SCHEMA sales; CREATE SCHEMA hr;
         CREATE TABLE public.orders (id int PRIMARY KEY, \"custID\" int NOT NULL CHECK (\"custID\" > 0), total numeric(10,2));
         CREATE TABLE sales.\"OrderLines\" (id int PRIMARY KEY, \"orderID\" int REFERENCES public.orders(id), qty int);
         CREATE TABLE hr.people (id int PRIMARY KEY, name text);
         CREATE VIEW hr.names AS SELECT name FROM hr.people;
         INSERT INTO public.orders VALUES (1, 7, 10.50), (2, 8, 0.01);
         INSERT INTO sales.\"OrderLines\" VALUES (1, 1, 3), (2, 2, 4), (3, 1, NULL);
         INSERT INTO hr.people VALUES (1, 'x');",
    );
    let store = dir.path().join("s.ldb");
    let args = [
        "--source",
        db.url.as_str(),
        "--schema",
        "public",
        "--schema",
        "sales",
        "--rename",
        "public.orders => orders_2024",
        "--rename-column",
        "orders.custID => customer_id",
        "--names",
        "snake",
    ];
    let mut migrate = vec!["migrate", "--target", p(&store), "--verify", "--json"];
    migrate.extend(args);
    let r = p2l_ok(&migrate);
    lightning_testkit::assert_verified_equal(&r.json());
    let s = lightning_core::Store::open(&store).unwrap();
    let mut names: Vec<String> = s.tables().into_iter().map(|t| t.name).collect();
    names.sort();
    assert_eq!(
        names,
        ["orders_2024", "sales.order_lines"],
        "hr is left out"
    );
    let orders = s.table("orders_2024").unwrap();
    let cols: Vec<&str> = orders.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["id", "customer_id", "total"]);
    assert!(
        orders
            .checks
            .iter()
            .any(|c| c.expression.contains("customer_id > 0")),
        "{:?}",
        orders.checks
    );
    let lines = s.table("sales.order_lines").unwrap();
    assert_eq!(lines.columns[1].name, "order_id");
    assert_eq!(lines.foreign_keys[0].ref_table, "orders_2024");
    drop(s);

    // verify with the same options proves equality through the renames.
    let mut verify = vec!["verify", "--target", p(&store), "--json"];
    verify.extend(args);
    let r = p2l_ok(&verify);
    lightning_testkit::assert_verified_equal(&r.json());
    // The conversion report says what was renamed.
    let mut convert = vec!["convert-schema", "--json"];
    convert.extend(args);
    let r = p2l_ok(&convert);
    let report = r.json();
    let findings = report["findings"].to_string();
    assert!(
        findings.contains("renamed `orders_2024` in the target"),
        "{findings}"
    );
    assert!(
        findings.contains("column renamed `customer_id` in the target"),
        "{findings}"
    );
    assert!(
        !findings.contains("hr.names"),
        "objects of other schemas are left out: {findings}"
    );

    let r = p2l(&[
        "convert-schema",
        "--source",
        db.url.as_str(),
        "--schema",
        "nope",
    ]);
    lightning_testkit::assert_clean_error(
        &r,
        1,
        "--schema nope: no table of the source is in a schema of that name",
    );

    // A copy for sync cannot rename columns (sync follows them by source name):
    // refused before anything is written; renamed tables are fine.
    let for_sync = dir.path().join("sync.ldb");
    let r = p2l(&[
        "migrate",
        "--source",
        db.url.as_str(),
        "--target",
        p(&for_sync),
        "--for-sync",
        "--rename-column",
        "orders.custID => customer_id",
    ]);
    lightning_testkit::assert_clean_error(&r, 1, "--for-sync cannot be used with renamed columns");
    assert!(!for_sync.exists(), "nothing is written");
}
