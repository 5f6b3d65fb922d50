//! A keyspace as cqlsh exports it: every type, the report of what is lost, null
//! markers, files without a header or from older Pythons, bad values and
//! malformed files.
//!
//! The files under `tests/fixtures/data` were written by cqlsh's own COPY TO
//! formatting and CSV code (cqlshlib 6.2.2, the cqlsh of Cassandra 5.0) from
//! values made with the Python driver's types: `every_type.csv` with
//! `HEADER = true AND FLOATPRECISION = 20 AND DOUBLEPRECISION = 20`,
//! `notes.csv` with `NULL = '<null>'`, `page_views.csv` with the defaults.

mod common;

use std::path::Path;

use common::*;

/// The objects of a conversion report's findings of one severity.
fn names(report: &serde_json::Value, severity: &str) -> Vec<String> {
    report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["severity"] == severity)
        .map(|f| f["object"].as_str().unwrap_or_default().to_string())
        .collect()
}

fn schema() -> std::path::PathBuf {
    fixture("shop.cql")
}

fn data() -> std::path::PathBuf {
    fixture("data")
}

#[test]
fn every_type_migrates_exactly_and_each_loss_is_reported() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("shop.ldb");
    migrate_verified(
        &schema(),
        &data(),
        &store,
        &["--tables", "every_type,page_views"],
    );
    let rows: Vec<(String, u64)> = checksums(&store)
        .into_iter()
        .map(|(t, c)| (t, c.rows))
        .collect();
    assert_eq!(
        rows,
        [("every_type".to_string(), 4), ("page_views".to_string(), 2)]
    );
    let expected = std::fs::read_to_string(fixture("every_type.expected.csv")).unwrap();
    assert_eq!(csv(&store, "every_type"), expected);
    assert_eq!(
        csv(&store, "page_views"),
        "page,views\n/about,-5\n/home,9223372036854775807\n"
    );

    let converted = cass(&["convert-schema", "--schema", p(&schema()), "--json"]);
    assert_eq!(converted.code, 0, "{}", converted.stderr);
    let report = converted.json();
    let manual = names(&report, "manual");
    for object in [
        "function shop.twice",
        "materialized view shop.every_type_by_value",
        "every_type index every_type_set_idx",
        "every_type index every_type_text_idx",
    ] {
        assert!(manual.iter().any(|m| m == object), "{object} in {manual:?}");
    }
    let loss = names(&report, "loss");
    for object in ["every_type.a_time", "text columns"] {
        assert!(loss.iter().any(|m| m == object), "{object} in {loss:?}");
    }
    let warning = names(&report, "warning");
    for object in [
        "every_type.a_float",
        "every_type.a_double",
        "every_type.a_duration",
        "every_type.a_map",
        "every_type.a_udts",
        "page_views.views",
    ] {
        assert!(
            warning.iter().any(|m| m == object),
            "{object} in {warning:?}"
        );
    }
    let ddl = cass(&["convert-schema", "--schema", p(&schema())]);
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    for needle in [
        "PRIMARY KEY (id, seq)",
        "a_varint DECIMAL SOURCE",
        "a_tinyint SMALLINT SOURCE",
        "a_timestamp TIMESTAMPTZ SOURCE",
        "a_timeuuid UUID SOURCE",
        "a_udts JSON SOURCE",
        "a_time TIME SOURCE",
        "views BIGINT",
        "CREATE INDEX every_type_value_idx ON every_type USING BTREE (value)",
    ] {
        assert!(ddl.stdout.contains(needle), "{needle} in\n{}", ddl.stdout);
    }
    // Without the files, assess says what it cannot know.
    let r = cass(&["assess", "--schema", p(&schema()), "--json"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let advice = r.json()["recommendations"].to_string();
    assert!(
        advice.contains("Give the COPY TO files with --data DIR"),
        "{advice}"
    );
    // Key columns lead, in key order, whatever DESCRIBE's order.
    let key_first = ddl.stdout.find("id INTEGER NOT NULL").unwrap();
    assert!(key_first < ddl.stdout.find("a_static TEXT").unwrap());
}

#[test]
fn a_null_marker_tells_empty_strings_from_nulls() {
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("notes.ldb");
    migrate_verified(
        &schema(),
        &data(),
        &store,
        &["--tables", "notes", "--null", "<null>"],
    );
    let r = light(&["get", p(&store), "notes", "1"]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(r.json()["body"], "", "{}", r.stdout);
    let r = light(&["get", p(&store), "notes", "2"]);
    assert_eq!(r.json()["body"], serde_json::Value::Null, "{}", r.stdout);
    // Without the marker, `<null>` would be text: said before the copy, not after.
    let r = cass(&[
        "assess",
        "--schema",
        p(&schema()),
        "--data",
        p(&data()),
        "--tables",
        "notes",
        "--json",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(r.stdout.contains("NULL = '<null>'"), "{}", r.stdout);
}

/// The file as a Python before 3.10 writes it: a `\` of the text is not escaped again.
fn single_escapes(doubled: &str) -> String {
    let mut out = String::new();
    let mut it = doubled.chars();
    while let Some(c) = it.next() {
        if c == '\\' {
            match it.next() {
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// COPY TO's order without a header: the key, then the other columns by name.
fn without_header(file: &str) -> String {
    file.split_once("\r\n").unwrap().1.to_string()
}

#[test]
fn files_without_a_header_or_from_older_pythons_read_the_same() {
    let dir = tempfile::tempdir().unwrap();
    let every = std::fs::read_to_string(data().join("every_type.csv")).unwrap();
    assert!(
        every.contains("\\\\\\\\"),
        "the fixture escapes a backslash twice"
    );
    let old = dir.path().join("old");
    std::fs::create_dir(&old).unwrap();
    write(&old, "every_type.csv", single_escapes(&every));
    write(
        &old,
        "shop.page_views.csv",
        without_header(&std::fs::read_to_string(data().join("page_views.csv")).unwrap()),
    );
    let a = dir.path().join("a.ldb");
    let b = dir.path().join("b.ldb");
    let tables = ["--tables", "every_type,page_views"];
    migrate_verified(&schema(), &data(), &a, &tables);
    migrate_verified(&schema(), &old, &b, &tables);
    assert_eq!(checksums(&a), checksums(&b));
}

fn one_table(dir: &Path, schema: &str, file: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let s = write(dir, "ks.cql", schema);
    let d = dir.join("data");
    std::fs::create_dir_all(&d).unwrap();
    write(&d, "t.csv", file);
    (s, d)
}

const T: &str = "CREATE TABLE ks.t (\n    id int PRIMARY KEY,\n    at time,\n    n int\n);\n";

#[test]
fn a_value_lightning_cannot_hold_is_refused_with_its_row_or_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let (s, d) = one_table(
        dir.path(),
        T,
        "id,at,n\r\n1,12:00:00.000001000,1\r\n2,12:00:00.000000001,2\r\n3,,3\r\n",
    );
    let store = dir.path().join("t.ldb");
    let args = [
        "migrate",
        "--schema",
        p(&s),
        "--data",
        p(&d),
        "--target",
        p(&store),
    ];
    let r = cass(&args);
    assert_clean_error(&r, 1, "id=2, line 3");
    assert!(
        r.stderr.contains("`at`") && r.stderr.contains("more precise"),
        "{}",
        r.stderr
    );
    let rejects = dir.path().join("rejects.jsonl");
    let mut skip = args.to_vec();
    skip.extend([
        "--on-error",
        "skip",
        "--reject-file",
        p(&rejects),
        "--fresh",
    ]);
    let r = cass(&skip);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rejected = std::fs::read_to_string(&rejects).unwrap();
    assert!(rejected.contains("12:00:00.000000001"), "{rejected}");
    assert_eq!(checksums(&store)["t"].rows, 2);
    let r = cass(&[
        "verify",
        "--schema",
        p(&s),
        "--data",
        p(&d),
        "--target",
        p(&store),
    ]);
    assert_eq!(r.code, 3, "{}\n{}", r.stdout, r.stderr);
    // A rule keeps every digit.
    let kept = dir.path().join("kept.ldb");
    migrate_verified(&s, &d, &kept, &["--cast", "column:t.at => TEXT"]);
    assert!(csv(&kept, "t").contains("12:00:00.000000001"));
}

#[test]
fn malformed_files_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases: [(&str, &str, &str); 6] = [
        (
            T,
            "id,at,n\r\n1,,1\r\n2,,2,9\r\n",
            "line 3: 4 fields where the header has 3",
        ),
        (T, "id,at,n\r\n1,,1\r\n\"2,,2\r\n", "cut short"),
        (T, "id,at,n\r\n1,,x\r\n", "line 2"),
        (T, "a,b\r\n1,2\r\n", "line 1 has 2 fields"),
        (
            "CREATE TABLE ks.t (\n    id int PRIMARY KEY,\n    g 'org.example.Geo'\n);\n",
            "id,g\r\n1,x\r\n",
            "no rule maps CQL type `'org.example.Geo'`",
        ),
        (
            "CREATE TABLE ks.t (\n    id int,\n    n frozen<list<int>,\n    PRIMARY KEY (id)\n);\n",
            "id,n\r\n",
            "line 3",
        ),
    ];
    for (i, (schema, file, message)) in cases.iter().enumerate() {
        let case = dir.path().join(format!("case{i}"));
        std::fs::create_dir(&case).unwrap();
        let (s, d) = one_table(&case, schema, file);
        let store = case.join("t.ldb");
        let r = cass(&[
            "migrate",
            "--schema",
            p(&s),
            "--data",
            p(&d),
            "--target",
            p(&store),
        ]);
        assert_clean_error(&r, 1, message);
    }
    // A table whose file is missing names the file to write.
    let (s, _) = one_table(dir.path(), T, "id,at,n\r\n");
    let empty = dir.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    let r = cass(&[
        "migrate",
        "--schema",
        p(&s),
        "--data",
        p(&empty),
        "--target",
        p(&dir.path().join("x.ldb")),
    ]);
    assert_clean_error(&r, 1, "COPY ks.t TO");
}

#[test]
fn a_file_of_some_columns_leaves_the_others_null_and_says_so() {
    let dir = tempfile::tempdir().unwrap();
    let (s, d) = one_table(dir.path(), T, "n,id\r\n5,1\r\n,2\r\n");
    let store = dir.path().join("t.ldb");
    let report = migrate_verified(&s, &d, &store, &[]);
    assert!(
        report
            .to_string()
            .contains("has no column at (COPY TO was given a column list)"),
        "{report:#}"
    );
    assert_eq!(csv(&store, "t"), "id,at,n\n1,,5\n2,,\n");
    // A null marker the file was not written with is caught at the first empty field.
    let r = cass(&[
        "migrate",
        "--schema",
        p(&s),
        "--data",
        p(&d),
        "--target",
        p(&dir.path().join("m.ldb")),
        "--null",
        "<null>",
    ]);
    assert_clean_error(&r, 1, "id=2, line 3");
    assert!(
        r.stderr.contains("give --null the NULL text"),
        "{}",
        r.stderr
    );
}
