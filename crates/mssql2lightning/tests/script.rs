//! Scripts as SQL Server Management Studio writes them: every type, both
//! encodings, standard input, bad values and malformed scripts.

mod common;

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

#[test]
fn every_type_migrates_exactly_from_utf8_and_utf16_scripts() {
    let dir = tempfile::tempdir().unwrap();
    let text = every_type();
    let utf8 = write(dir.path(), "shop-utf8.sql", &text);
    let utf16 = write(dir.path(), "shop-utf16.sql", utf16le(&text));
    let a = dir.path().join("a.ldb");
    let b = dir.path().join("b.ldb");
    migrate_verified(&utf8, &a, &[]);
    migrate_verified(&utf16, &b, &[]);

    let sums = checksums(&a);
    assert_eq!(sums, checksums(&b), "both encodings give the same rows");
    let rows: Vec<(&str, u64)> = sums.iter().map(|(t, c)| (t.as_str(), c.rows)).collect();
    assert_eq!(
        rows,
        [("EveryType", 5), ("Log", 3), ("sales.Order Lines", 3)]
    );
    let expected = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every_type.csv"),
    )
    .unwrap();
    assert_eq!(csv(&a, "EveryType"), expected);

    // What cannot be carried is said, each on its object.
    let converted = ms(&["convert-schema", "--from-script", p(&utf16), "--json"]);
    assert_eq!(converted.code, 0, "{}", converted.stderr);
    let report = converted.json();
    let manual = names(&report, "manual");
    for object in [
        "EveryType.total",
        "view BigOrders",
        "procedure AddLine",
        "sequence OrderNumbers",
        "sales.Order Lines check CK_Qty",
    ] {
        assert!(manual.iter().any(|m| m == object), "{object} in {manual:?}");
    }
    let loss = names(&report, "loss");
    for object in [
        "EveryType.tm",
        "EveryType.dt2",
        "EveryType.dto",
        "EveryType.v",
        "EveryType.h",
        "EveryType.g",
    ] {
        assert!(loss.iter().any(|m| m == object), "{object} in {loss:?}");
    }
    // The schema: keys, the foreign key with its action, the index, the default.
    let ddl = ms(&["convert-schema", "--from-script", p(&utf8)]);
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    for needle in [
        "PRIMARY KEY (\"OrderID\", \"ItemID\")",
        "REFERENCES \"EveryType\" (id) ON DELETE CASCADE",
        "\"Qty\" SMALLINT NOT NULL DEFAULT 1",
        "CREATE INDEX \"IX_Order Lines_Note\" ON \"sales.Order Lines\"",
        "id INTEGER NOT NULL PRIMARY KEY AUTOINCREMENT",
        "ti SMALLINT",
        "m DECIMAL(19,4)",
        "r FLOAT",
        "dto TIMESTAMPTZ",
        "u UUID",
        "ph TEXT SOURCE 'nvarchar(20)'",
        "rv BLOB SOURCE 'timestamp'",
    ] {
        assert!(ddl.stdout.contains(needle), "{needle} in\n{}", ddl.stdout);
    }
    assert!(!ddl.stdout.contains("total"), "{}", ddl.stdout);
    // A table renamed by its script name: the foreign key follows it.
    let renamed = ms(&[
        "convert-schema",
        "--from-script",
        p(&utf8),
        "--rename",
        "[dbo].[EveryType] => things",
    ]);
    assert_eq!(renamed.code, 0, "{}", renamed.stderr);
    assert!(
        renamed.stdout.contains("CREATE TABLE things (")
            && renamed.stdout.contains("REFERENCES things (id)"),
        "{}",
        renamed.stdout
    );
}

#[test]
fn a_script_on_standard_input_migrates_and_resumes_as_the_same_source() {
    let dir = tempfile::tempdir().unwrap();
    lightning_testkit::stdin_as_file(
        &tool(),
        "--from-script",
        every_type().as_bytes(),
        dir.path(),
        "shop.sql",
    );
}

const ONE_TABLE: &str = "CREATE TABLE [dbo].[T](\n\t[id] [int] NOT NULL,\n\t[at] [time](7) NULL,\n\t[n] [tinyint] NULL,\n PRIMARY KEY CLUSTERED ([id] ASC)\n)\nGO\n";

#[test]
fn a_value_lightning_cannot_hold_stops_the_run_naming_table_key_and_line_or_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let script = format!(
        "{ONE_TABLE}INSERT [dbo].[T] ([id], [at], [n]) VALUES (1, CAST(N'10:00:00.1234560' AS Time), 1)\nINSERT [dbo].[T] ([id], [at], [n]) VALUES (2, CAST(N'10:00:00.1234567' AS Time), 2)\nINSERT [dbo].[T] ([id], [at], [n]) VALUES (3, NULL, 3)\nGO\n"
    );
    let file = write(dir.path(), "t.sql", script);
    let target = dir.path().join("t.ldb");
    let r = ms(&["migrate", "--from-script", p(&file), "--target", p(&target)]);
    assert_clean_error(&r, 1, "id=2, line 9");
    assert!(r.stderr.contains("column `at`"), "{}", r.stderr);
    assert!(
        r.stderr.contains("more precise than a microsecond"),
        "{}",
        r.stderr
    );
    assert!(
        r.stderr.contains("run the same command again"),
        "{}",
        r.stderr
    );

    let rejects = dir.path().join("rejects.ndjson");
    let r = ms(&[
        "migrate",
        "--from-script",
        p(&file),
        "--target",
        p(&target),
        "--on-error",
        "skip",
        "--reject-file",
        p(&rejects),
        "--verify",
        "--json",
        "--quiet",
    ]);
    // Verification counts the row set aside as a difference: the target lacks it.
    assert_eq!(r.code, 3, "{}", r.stderr);
    assert!(
        r.stdout.contains("1 source rows cannot be converted"),
        "{}",
        r.stdout
    );
    assert_eq!(checksums(&target)["T"].rows, 2);
    let set_aside = std::fs::read_to_string(&rejects).unwrap();
    assert!(set_aside.contains("10:00:00.1234567"), "{set_aside}");
    // With a rule, the column keeps every digit as text.
    let kept = dir.path().join("kept.ldb");
    migrate_verified(&file, &kept, &["--cast", "column:T.at => TEXT"]);
    assert!(csv(&kept, "T").contains("10:00:00.1234567"));
}

#[test]
fn malformed_scripts_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (format!("{ONE_TABLE}INSERT [dbo].[T] ([id], [at], [n]) VALUES (1, N'10:00', 1)\nINSERT [dbo].[T] ([id], [at], [n]) VALUES (2, N'cut"), "line 9: a string starts here and is never closed"),
        (format!("{ONE_TABLE}\nINSERT [dbo].[U] ([id]) VALUES (1)\n"), "line 9: INSERT INTO [dbo].[U], but no CREATE TABLE"),
        (format!("{ONE_TABLE}INSERT [dbo].[T] ([id], [at], [n]) VALUES (1, NULL)\n"), "line 8: INSERT INTO [dbo].[T]: row 1 has 2 values for 3 columns"),
        (format!("{ONE_TABLE}INSERT [dbo].[T] ([id], [at], [n]) SELECT 1, NULL, 1\n"), "line 8: INSERT INTO [dbo].[T]: only INSERT ... VALUES is read"),
        (format!("{ONE_TABLE}INSERT [dbo].[T] ([id], [at], [n]) VALUES (1, GETDATE(), 1)\n"), "line 8: unexpected `GETDATE`"),
        ("CREATE TABLE [dbo].[T](\n[id] [int] NOT NULL,\n[x] [money] NULL\nGO\n".to_string(), "line 3: the CREATE TABLE ends before its `)`"),
        ("CREATE TABLE [dbo].[T]([id] [geometry2] NULL)\n".to_string(), "T.id: no rule maps SQL Server type `geometry2`"),
    ];
    for (i, (script, needle)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("bad{i}.sql"), script);
        let target = dir.path().join(format!("bad{i}.ldb"));
        let r = ms(&["migrate", "--from-script", p(&file), "--target", p(&target)]);
        assert_clean_error(&r, 1, needle);
        assert!(
            r.stderr.contains(&format!("bad{i}.sql")) || needle.contains("no rule"),
            "{}",
            r.stderr
        );
    }
    let mut cut = utf16le(ONE_TABLE);
    cut.pop();
    let file = write(dir.path(), "odd.sql", cut);
    let r = ms(&["assess", "--from-script", p(&file)]);
    assert_clean_error(&r, 1, "odd number of bytes");
}
