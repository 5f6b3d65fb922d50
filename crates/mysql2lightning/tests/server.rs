//! Round trips against the real server: every type with its edge values, from the
//! server and from mysqldump output (a file, `--hex-blob`, `--complete-insert`,
//! standard input), giving the same checksums; zero dates; differing keys named;
//! credentials never shown.

mod common;

use common::*;
use lightning_core::Store;
use lightning_core::Value;

fn store_in(dir: &tempfile::TempDir, name: &str) -> std::path::PathBuf {
    dir.path().join(name)
}

#[test]
fn every_type_round_trips_from_the_server_and_from_dumps_with_the_same_checksums() {
    let db = TestDb::new("types");
    db.sql(TYPES);
    let dir = tempfile::tempdir().unwrap();
    let server = store_in(&dir, "server.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&server),
        "--verify",
        "--json",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let report = json(&r);
    assert_eq!(report["verification"]["equal"], true, "{report:#}");

    // Values, exactly.
    let s = Store::open(&server).unwrap();
    let row = s.get("types", &[Value::Int(1)]).unwrap().unwrap();
    let schema = s.table("types").unwrap();
    let col = |name: &str| row[schema.column_index(name).unwrap()].to_text().unwrap();
    assert_eq!(col("bu"), "18446744073709551615");
    assert_eq!(col("bit64"), "18446744073709551615");
    assert_eq!(col("bit5"), "21");
    assert_eq!(col("b"), "true");
    assert_eq!(col("dec1"), "-12345678901234.123456");
    assert_eq!(col("f"), "3.14159");
    assert_eq!(col("vc"), "it's \"quoted\" \\ back");
    assert_eq!(col("lat"), "café €‰Ÿ");
    assert_eq!(col("bin"), "\\x00ff0001");
    assert_eq!(col("e"), "b c");
    assert_eq!(col("s"), "x,z");
    assert_eq!(col("dt"), "0009-12-04");
    assert_eq!(col("dtm"), "2020-01-02 03:04:05.123456");
    assert_eq!(col("ts"), "2038-01-19 03:14:07.999000+00:00");
    assert_eq!(col("tm"), "-838:59:59");
    assert_eq!(col("y"), "2155");
    assert!(
        col("g").starts_with("\\x0103000000"),
        "WKB polygon: {}",
        col("g")
    );
    let row2 = s.get("types", &[Value::Int(2)]).unwrap().unwrap();
    assert_eq!(
        row2[schema.column_index("vb").unwrap()],
        Value::Blob(vec![0])
    );
    assert_eq!(
        row2[schema.column_index("c").unwrap()],
        Value::Text(String::new())
    );
    let row3 = s.get("types", &[Value::Int(3)]).unwrap().unwrap();
    assert_eq!(row3[schema.column_index("c").unwrap()], Value::Null);
    assert_eq!(
        row3[schema.column_index("tm").unwrap()].to_text().unwrap(),
        "100:00:00.500000"
    );
    assert_eq!(s.count("nokey").unwrap(), 4);
    // Generated columns carry their values (the dumps below hold them too).
    let gen = s.get("gen", &[Value::Int(1)]).unwrap().unwrap();
    assert_eq!(
        gen,
        vec![
            Value::Int(1),
            Value::Int(10),
            Value::Int(20),
            Value::Int(11)
        ]
    );
    drop(s);
    let want = checksums(&server);

    // The same database through mysqldump, in its several forms.
    for (file, opts) in [
        ("plain.sql", vec![]),
        ("hex.sql", vec!["--hex-blob"]),
        (
            "complete.sql",
            vec!["--complete-insert", "--skip-extended-insert"],
        ),
    ] {
        let dump = db.dump(dir.path(), file, &opts);
        let target = store_in(&dir, &format!("{file}.ldb"));
        let r = m2l(&[
            "migrate",
            "--from-dump",
            p(&dump),
            "--target",
            p(&target),
            "--quiet",
        ]);
        assert_eq!(r.code, 0, "{file}: {}", r.stderr);
        assert_eq!(checksums(&target), want, "{file}");
        // And verify from the server agrees with the dump's copy.
        let v = m2l(&["verify", "--source", &db.url(), "--target", p(&target)]);
        assert_eq!(v.code, 0, "{file}: {}", v.stderr);
    }
    let dump = std::fs::read(dir.path().join("plain.sql")).unwrap();
    let target = store_in(&dir, "stdin.ldb");
    let r = m2l_stdin(
        &[
            "migrate",
            "--from-dump",
            "-",
            "--target",
            p(&target),
            "--quiet",
        ],
        &dump,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(checksums(&target), want, "standard input");
}

#[test]
fn zero_dates_are_decided_per_value_and_counted() {
    let db = TestDb::new("zero");
    db.sql(
        "SET sql_mode = ''; CREATE TABLE z (id INT PRIMARY KEY, d DATE NOT NULL, t DATETIME);
         INSERT INTO z VALUES (1, '0000-00-00', '0000-00-00 00:00:00'), (2, '2020-00-15', '2021-03-04 05:06:07'),
                              (3, '0009-12-04', NULL);",
    );
    let dir = tempfile::tempdir().unwrap();
    let t1 = dir.path().join("a.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&t1),
        "--quiet",
    ]);
    assert_clean_error(&r, 1, "zero date `0000-00-00`");
    assert!(
        r.stderr.contains("table `z` (id=1)") && r.stderr.contains("--zero-dates"),
        "{}",
        r.stderr
    );

    // A rule that changes the schema needs --fresh (here: NOT NULL d becomes nullable).
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&t1),
        "--zero-dates",
        "null",
        "--verify",
        "--quiet",
        "--fresh",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("z.d: 2 zero dates carried as NULL"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("z.t: 1 zero dates carried as NULL"),
        "{}",
        r.stderr
    );
    let s = Store::open(&t1).unwrap();
    assert_eq!(
        s.get("z", &[Value::Int(2)]).unwrap().unwrap()[1],
        Value::Null
    );
    assert_eq!(
        s.get("z", &[Value::Int(3)]).unwrap().unwrap()[1]
            .to_text()
            .unwrap(),
        "0009-12-04"
    );
    drop(s);

    let t2 = dir.path().join("b.ldb");
    let r = m2l(&[
        "migrate",
        "--source",
        &db.url(),
        "--target",
        p(&t2),
        "--zero-dates",
        "sentinel",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let s = Store::open(&t2).unwrap();
    assert_eq!(
        s.get("z", &[Value::Int(1)]).unwrap().unwrap()[1],
        Value::Date(i32::MIN)
    );
    drop(s);
    // The dump decides the same way.
    let dump = db.dump(dir.path(), "z.sql", &[]);
    let t3 = dir.path().join("c.ldb");
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&t3),
        "--zero-dates",
        "sentinel",
        "--quiet",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_eq!(checksums(&t2), checksums(&t3));
}

#[test]
fn verify_names_the_rows_that_differ() {
    let db = TestDb::new("differ");
    db.sql(
        "CREATE TABLE big (id BIGINT PRIMARY KEY, v VARCHAR(20));
         INSERT INTO big SELECT seq, CONCAT('v', seq) FROM seq_1_to_5000;",
    );
    let dir = tempfile::tempdir().unwrap();
    let t = dir.path().join("d.ldb");
    assert_eq!(
        m2l(&[
            "migrate",
            "--source",
            &db.url(),
            "--target",
            p(&t),
            "--quiet"
        ])
        .code,
        0
    );
    db.sql("UPDATE big SET v = 'changed' WHERE id = 1234; DELETE FROM big WHERE id = 77; INSERT INTO big VALUES (9999, 'new');");
    let r = m2l(&["verify", "--source", &db.url(), "--target", p(&t), "--json"]);
    assert_eq!(r.code, 3, "{}", r.stderr);
    let text = r.stdout.clone();
    for key in ["id=1234", "id=77", "id=9999"] {
        assert!(text.contains(key), "{key} not named: {text}");
    }
}

#[test]
fn credentials_never_appear() {
    let db = TestDb::new("creds");
    let user = format!("l2_user_{}", std::process::id());
    let secret = "S3cr3t-pa55";
    mariadb(
        None,
        &format!(
            "DROP USER IF EXISTS '{user}'@'%'; CREATE USER '{user}'@'%' IDENTIFIED BY '{secret}';
             GRANT ALL ON `{}`.* TO '{user}'@'%';",
            db.name
        ),
    );
    db.sql("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);");
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("c.ldb");
    let url = format!("mysql://{user}:{secret}@127.0.0.1:3306/{}", db.name);
    let report = dir.path().join("report.json");
    let r = m2l(&[
        "migrate",
        "--source",
        &url,
        "--target",
        p(&target),
        "--verify",
        "--report",
        p(&report),
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    let bad = m2l(&[
        "migrate",
        "--source",
        &format!("mysql://{user}:wrong-{secret}@127.0.0.1/{}", db.name),
        "--target",
        p(&target),
    ]);
    assert_eq!(bad.code, 1);
    let unparsable = m2l(&[
        "assess",
        "--source",
        &format!("mysql://{user}:{secret}@127.0.0.1:99999/x"),
    ]);
    assert_eq!(unparsable.code, 1);
    let runs = format!("{:?}", Store::open(&target).unwrap().runs().unwrap());
    for text in [
        &r.stdout,
        &r.stderr,
        &bad.stderr,
        &unparsable.stderr,
        &std::fs::read_to_string(&report).unwrap(),
        &runs,
    ] {
        assert!(!text.contains(secret), "the password leaked: {text}");
    }
    assert!(
        runs.contains(&format!("mysql://{user}@127.0.0.1:3306/")),
        "{runs}"
    );
    mariadb(None, &format!("DROP USER IF EXISTS '{user}'@'%'"));
}

#[test]
fn bad_dumps_give_errors_with_line_numbers() {
    let db = TestDb::new("baddump");
    db.sql(
        "CREATE TABLE t (id INT PRIMARY KEY, small TINYINT, name VARCHAR(20));
         INSERT INTO t SELECT seq, seq % 100, CONCAT('n', seq) FROM seq_1_to_300;",
    );
    let dir = tempfile::tempdir().unwrap();
    let good = db.dump(dir.path(), "good.sql", &["--skip-extended-insert"]);
    let text = std::fs::read_to_string(&good).unwrap();
    let target = dir.path().join("t.ldb");

    // Truncated: cut in the middle of the INSERTs.
    let cut = text.find("INSERT INTO `t` VALUES (150,").unwrap() + 20;
    let truncated = dir.path().join("truncated.sql");
    std::fs::write(&truncated, &text[..cut]).unwrap();
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&truncated),
        "--target",
        p(&target),
    ]);
    assert_clean_error(&r, 1, "truncated");
    assert!(r.stderr.contains("line "), "{}", r.stderr);
    // Cut between statements: the missing `-- Dump completed` gives it away.
    let cut = text.find("INSERT INTO `t` VALUES (150,").unwrap();
    std::fs::write(&truncated, &text[..cut]).unwrap();
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&truncated),
        "--target",
        p(&target),
    ]);
    assert_clean_error(&r, 1, "Dump completed");

    // A malformed INSERT.
    let line_of = |needle: &str| text[..text.find(needle).unwrap()].lines().count();
    let malformed = dir.path().join("malformed.sql");
    std::fs::write(
        &malformed,
        text.replace("VALUES (42,42,'n42')", "VALUES (42,42 'n42')"),
    )
    .unwrap();
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&malformed),
        "--target",
        p(&target),
        "--fresh",
    ]);
    assert_clean_error(&r, 1, &format!("line {}", line_of("VALUES (42,42,'n42')")));
    assert!(r.stderr.contains("INSERT INTO `t`"), "{}", r.stderr);

    // A value that does not fit its column.
    let unfit = dir.path().join("unfit.sql");
    std::fs::write(
        &unfit,
        text.replace("VALUES (42,42,'n42')", "VALUES (42,300,'n42')"),
    )
    .unwrap();
    let r = m2l(&[
        "migrate",
        "--from-dump",
        p(&unfit),
        "--target",
        p(&target),
        "--fresh",
    ]);
    assert_clean_error(&r, 1, &format!("line {}", line_of("VALUES (42,42,'n42')")));
    assert!(
        r.stderr.contains("id=42") && r.stderr.contains("small"),
        "{}",
        r.stderr
    );
    // The rows committed before stay, and the run is marked failed.
    let s = Store::open(&target).unwrap();
    assert!(s.count("t").unwrap() < 300);
    assert_eq!(s.runs().unwrap().last().unwrap().status, "failed");
}
