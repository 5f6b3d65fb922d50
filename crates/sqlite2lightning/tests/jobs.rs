//! Job files, renames, the naming rule, completions and manual pages, run through
//! the real binary on real SQLite files (what every source tool shares).

mod common;

use common::*;
use lightning_core::Store;
use lightning_testkit::checksums;

const SHOP: &str = r#"
CREATE TABLE "Customers" (
    "CustomerID" INTEGER PRIMARY KEY,
    "eMail" TEXT UNIQUE NOT NULL,
    "FullName" TEXT,
    "Score" INTEGER CHECK ("Score" >= 0)
);
CREATE TABLE "OrderItems" (
    id INTEGER PRIMARY KEY,
    cust INTEGER REFERENCES "Customers"("CustomerID"),
    qty INTEGER NOT NULL CHECK (qty > 0),
    note TEXT
);
CREATE INDEX items_by_cust ON "OrderItems"(cust);
CREATE TABLE audit (at TEXT, what TEXT);
INSERT INTO "Customers" VALUES (1, 'a@x', 'Ann', 3), (2, 'b@x', 'Bob', 0), (3, 'c@x', NULL, 7);
INSERT INTO "OrderItems" VALUES (10, 1, 2, 'first'), (11, 1, 1, NULL), (12, 3, 5, 'qty''s'), (13, 2, 9, '');
INSERT INTO audit VALUES ('2024-01-01', 'x');
"#;

/// The same migration given as flags and as a job file.
const FLAGS: [&str; 12] = [
    "--tables",
    "Customers,OrderItems",
    "--rename",
    "OrderItems => order_lines",
    "--rename-column",
    "OrderItems.cust => customer_id",
    "--names",
    "snake",
    "--where",
    "OrderItems: qty < 9",
    "--batch-size",
    "2",
];

const JOB: &str = r#"
tables = ["Customers", "OrderItems"]
names = "snake"
batch_size = 2

[rename]
OrderItems = "order_lines"

[rename-column]
"OrderItems.cust" = "customer_id"

[where]
OrderItems = "qty < 9"
"#;

fn schema_of(store: &std::path::Path) -> Vec<lightning_core::TableSchema> {
    let s = Store::open(store).expect("store opens");
    let mut tables = s.tables();
    tables.sort_by(|a, b| a.name.cmp(&b.name));
    tables
}

#[test]
fn a_job_file_reproduces_a_flag_driven_migration_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let by_flags = dir.path().join("flags.ldb");
    let mut args = vec![
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&by_flags),
        "--quiet",
    ];
    args.extend(FLAGS);
    let r = s2l(&args);
    assert_eq!(r.code, 0, "{}", r.stderr);

    let job = dir.path().join("job.toml");
    let by_file = dir.path().join("file.ldb");
    std::fs::write(
        &job,
        format!(
            "source = {:?}\ntarget = {:?}\nquiet = true\n{JOB}",
            p(&db),
            p(&by_file)
        ),
    )
    .unwrap();
    let r = s2l(&["migrate", "--config", p(&job)]);
    assert_eq!(r.code, 0, "{}", r.stderr);

    assert_eq!(schema_of(&by_flags), schema_of(&by_file));
    assert_eq!(checksums(&by_flags), checksums(&by_file));

    // The renames show in the store: tables, columns, keys, indexes, checks.
    let tables = schema_of(&by_file);
    let names: Vec<&str> = tables.iter().map(|t| t.name.as_str()).collect();
    assert_eq!(names, ["customers", "order_lines"]);
    let customers = &tables[0];
    let cols: Vec<&str> = customers.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["customer_id", "e_mail", "full_name", "score"]);
    assert_eq!(customers.primary_key, ["customer_id"]);
    assert!(
        customers
            .checks
            .iter()
            .any(|c| c.expression.contains("score >= 0")),
        "{:?}",
        customers.checks
    );
    let lines = &tables[1];
    let cols: Vec<&str> = lines.columns.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(cols, ["id", "customer_id", "qty", "note"]);
    let fk = &lines.foreign_keys[0];
    assert_eq!(
        (
            fk.columns.as_slice(),
            fk.ref_table.as_str(),
            fk.ref_columns.as_slice()
        ),
        (
            &["customer_id".to_string()][..],
            "customers",
            &["customer_id".to_string()][..]
        )
    );
    assert!(lines.indexes.iter().any(|i| i.columns == ["customer_id"]));
    let count = Store::open(&by_file).unwrap().count("order_lines").unwrap();
    assert_eq!(count, 3, "the --where from the file applies");

    // Verify with the same job proves equality through the renames; a flag given
    // on the command line wins over the file's.
    let r = s2l(&["verify", "--config", p(&job), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    lightning_testkit::assert_verified_equal(&r.json());
    let report = r.json();
    let names: Vec<&str> = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["table"].as_str().unwrap_or(""))
        .collect();
    assert!(names.contains(&"order_lines"), "{names:?}");

    let other = dir.path().join("other.ldb");
    let r = s2l(&[
        "migrate",
        "--config",
        p(&job),
        "--target",
        p(&other),
        "--tables",
        "Customers",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let names: Vec<String> = schema_of(&other).into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["customers"], "the command line's --tables wins");
}

#[test]
fn convert_schema_writes_a_job_file_that_migrates() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let job = dir.path().join("shop.toml");
    let r = s2l(&[
        "convert-schema",
        "--source",
        p(&db),
        "--exclude",
        "audit",
        "--rename",
        "OrderItems=order_lines",
        "--write-config",
        p(&job),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let text = std::fs::read_to_string(&job).unwrap();
    assert!(text.contains("\"OrderItems\" = \"order_lines\""), "{text}");
    assert!(text.contains("\"Customers\","), "{text}");
    assert!(!text.contains("\"audit\","), "{text}");
    let store = dir.path().join("shop.ldb");
    let r = s2l(&[
        "migrate",
        "--config",
        p(&job),
        "--target",
        p(&store),
        "--verify",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    lightning_testkit::assert_verified_equal(&r.json());
    let names: Vec<String> = schema_of(&store).into_iter().map(|t| t.name).collect();
    assert_eq!(names, ["Customers", "order_lines"]);
}

#[test]
fn job_file_mistakes_name_the_line_and_copy_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let store = dir.path().join("t.ldb");
    let job = dir.path().join("job.toml");
    let cases = [
        (
            "tabels = ['audit']\n",
            ":3: unknown setting `tabels`: did you mean `tables`?",
        ),
        (
            "batch-size = 'lots'\n",
            ":3: `batch-size`: invalid value 'lots' for --batch-size",
        ),
        (
            "on-error = 'ignore'\n",
            ":3: `on-error`: invalid value 'ignore' for --on-error",
        ),
        ("[where\n", ":3: not valid TOML"),
        ("verify = 'yes'\n", ":3: `verify` is true or false"),
    ];
    for (bad, needle) in cases {
        std::fs::write(
            &job,
            format!("source = {:?}\ntarget = {:?}\n{bad}", p(&db), p(&store)),
        )
        .unwrap();
        let r = s2l(&["migrate", "--config", p(&job)]);
        assert_clean_error(&r, 1, needle);
        assert!(!store.exists(), "nothing is written for {bad}");
    }
    let r = s2l(&["migrate", "--config", p(&dir.path().join("missing.toml"))]);
    assert_clean_error(&r, 1, "cannot read the job file");
}

#[test]
fn rename_mistakes_are_refused_before_copying() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", SHOP);
    let store = dir.path().join("t.ldb");
    let base = ["migrate", "--source", p(&db), "--target", p(&store)];
    let with = |extra: &[&str]| {
        let mut a = base.to_vec();
        a.extend(extra);
        s2l(&a)
    };
    assert_clean_error(
        &with(&["--rename-column", "OrderItems.nope => x"]),
        1,
        "the table `OrderItems` has no column `nope`",
    );
    assert_clean_error(
        &with(&["--rename-column", "Nope.cust => x"]),
        1,
        "no table `Nope` in the source",
    );
    assert_clean_error(
        &with(&["--rename-column", "OrderItems.cust => qty"]),
        1,
        "the columns `cust` and `qty` of `OrderItems` would both be called `qty`",
    );
    assert_clean_error(
        &with(&["--rename", "Customers => audit"]),
        1,
        "would both become the table `audit`",
    );
    assert!(!store.exists());
}

#[test]
fn completions_and_manual_pages_come_from_the_command_line() {
    for shell in ["bash", "zsh", "fish"] {
        let r = s2l(&["completions", shell]);
        assert_eq!(r.code, 0, "{}", r.stderr);
        for word in ["migrate", "rename-column", "config"] {
            assert!(r.stdout.contains(word), "{shell}: no `{word}`");
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let r = s2l(&["man", "--dir", p(dir.path())]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let page = std::fs::read_to_string(dir.path().join("sqlite2lightning-migrate.1")).unwrap();
    assert!(page.contains(".TH sqlite2lightning-migrate 1"), "{page}");
    assert!(page.contains("rename\\-column"), "{page}");
    assert!(dir.path().join("sqlite2lightning.1").exists());
    let r = s2l(&["completions", "tcsh"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}
