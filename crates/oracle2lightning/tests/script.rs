//! Scripts as SQL Developer and DBMS_METADATA write them: every type, standard
//! input, bad values and malformed scripts.

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
fn every_type_migrates_exactly_with_its_findings() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "shop.sql", every_type());
    let store = dir.path().join("shop.ldb");
    migrate_verified(&file, &store, &[]);

    let sums = checksums(&store);
    let rows: Vec<(&str, u64)> = sums.iter().map(|(t, c)| (t.as_str(), c.rows)).collect();
    assert_eq!(rows, [("Order Lines", 3), ("every_type", 5), ("log", 3)]);
    let expected = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every_type.csv"),
    )
    .unwrap();
    assert_eq!(csv(&store, "every_type"), expected);
    assert_eq!(
        csv(&store, "Order Lines"),
        "order_id,item,qty,Note\n1,1,2,first\n1,2,1,\n2,1,9999,ünïcödé\n"
    );
    assert_eq!(
        csv(&store, "log"),
        "at,msg,rawdata\n2024-01-01 00:00:00,started,\\xcafe\n2024-01-01 00:00:00,started,\\xcafe\n,,\n"
    );

    // What cannot be carried is said, each on its object.
    let converted = ora(&["convert-schema", "--from-script", p(&file), "--json"]);
    assert_eq!(converted.code, 0, "{}", converted.stderr);
    let report = converted.json();
    let manual = names(&report, "manual");
    for object in [
        "Order Lines.total",
        "Order Lines check ck_qty",
        "sequence line_seq",
        "trigger lines_bi",
        "view big_orders",
        "procedure add_line",
        "synonym lines",
    ] {
        assert!(manual.iter().any(|m| m == object), "{object} in {manual:?}");
    }
    let trigger = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["object"] == "trigger lines_bi")
        .unwrap();
    let definition = trigger["definition"].as_str().unwrap();
    assert!(
        definition.starts_with("CREATE OR REPLACE EDITIONABLE TRIGGER")
            && definition.ends_with("END;"),
        "{definition}"
    );
    let loss = names(&report, "loss");
    for object in [
        "every_type.ts9",
        "every_type.tstz",
        "every_type.iym",
        "every_type.ids",
    ] {
        assert!(loss.iter().any(|m| m == object), "{object} in {loss:?}");
    }
    let warnings = names(&report, "warning");
    for object in [
        "empty strings",
        "every_type.tsltz",
        "every_type.rid",
        "log.ix_log_msg",
    ] {
        assert!(
            warnings.iter().any(|m| m == object),
            "{object} in {warnings:?}"
        );
    }
    let text = report.to_string();
    assert!(text.contains("Oracle stores an empty string as NULL"));
    assert!(text.contains("Lightning keeps microseconds"));

    // The schema: keys, the foreign key with its action, the index, the defaults.
    let ddl = ora(&["convert-schema", "--from-script", p(&file)]);
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    for needle in [
        "id INTEGER NOT NULL PRIMARY KEY SOURCE 'number(9,0)'",
        "n DECIMAL SOURCE 'number'",
        "n38 DECIMAL(38,0)",
        "nneg INTEGER SOURCE 'number(5,-2)'",
        "nstar DECIMAL(38,3) SOURCE 'number(38,3)'",
        "f DECIMAL SOURCE 'float(126)'",
        "intg DECIMAL(38,0) SOURCE 'integer'",
        "bf FLOAT",
        "bd DOUBLE",
        "vc TEXT DEFAULT 'none'",
        "d TIMESTAMP DEFAULT CURRENT_TIMESTAMP SOURCE 'date'",
        "tstz TIMESTAMPTZ SOURCE 'timestamp with time zone(6)'",
        "iym TEXT SOURCE 'interval year to month(2)'",
        "j JSON",
        "qty SMALLINT NOT NULL DEFAULT 1",
        "PRIMARY KEY (order_id, item)",
        "CONSTRAINT uq_note UNIQUE (order_id, \"Note\")",
        "FOREIGN KEY (item) REFERENCES every_type (id) ON DELETE CASCADE",
        "CREATE INDEX ix_lines_item ON \"Order Lines\" USING BTREE (item, qty)",
        "rawdata BLOB SOURCE 'long raw'",
    ] {
        assert!(ddl.stdout.contains(needle), "{needle} in\n{}", ddl.stdout);
    }
    assert!(!ddl.stdout.contains("total"), "{}", ddl.stdout);
    assert!(!ddl.stdout.contains("every_type_pk"), "{}", ddl.stdout);
    // A table renamed by its Oracle name: the foreign key follows it.
    let renamed = ora(&[
        "convert-schema",
        "--from-script",
        p(&file),
        "--rename",
        "\"SHOP\".\"EVERY_TYPE\" => things",
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
fn a_script_on_standard_input_migrates_as_the_same_source() {
    let dir = tempfile::tempdir().unwrap();
    lightning_testkit::stdin_as_file(
        &tool(),
        "--from-script",
        every_type().as_bytes(),
        dir.path(),
        "shop.sql",
    );
}

const ONE_TABLE: &str = "SET DEFINE OFF;\n  CREATE TABLE \"HR\".\"T\" \n   (\t\"ID\" NUMBER(9,0), \n\t\"AT\" TIMESTAMP (9), \n\t\"N\" NUMBER(4,0), \n\t CONSTRAINT \"T_PK\" PRIMARY KEY (\"ID\") ENABLE\n   ) ;\n";

#[test]
fn a_value_lightning_cannot_hold_stops_the_run_naming_table_key_and_line_or_is_set_aside() {
    let dir = tempfile::tempdir().unwrap();
    let mask = "'YYYY-MM-DD HH24:MI:SS.FF9'";
    let script = format!(
        "{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,to_timestamp('2024-01-01 10:00:00.123456000',{mask}),1);\nInsert into HR.T (ID,AT,N) values (2,to_timestamp('2024-01-01 10:00:00.123456789',{mask}),2);\nInsert into HR.T (ID,AT,N) values (3,null,3);\n"
    );
    let file = write(dir.path(), "t.sql", script);
    let target = dir.path().join("t.ldb");
    let r = ora(&["migrate", "--from-script", p(&file), "--target", p(&target)]);
    assert_clean_error(&r, 1, "id=2, line 9");
    assert!(r.stderr.contains("column `at`"), "{}", r.stderr);
    assert!(
        r.stderr.contains("more precise than a microsecond"),
        "{}",
        r.stderr
    );

    let rejects = dir.path().join("rejects.ndjson");
    let r = ora(&[
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
    assert_eq!(checksums(&target)["t"].rows, 2);
    let set_aside = std::fs::read_to_string(&rejects).unwrap();
    assert!(
        set_aside.contains("2024-01-01 10:00:00.123456789"),
        "{set_aside}"
    );
    // With a rule, the column keeps every digit as text.
    let kept = dir.path().join("kept.ldb");
    migrate_verified(&file, &kept, &["--cast", "column:t.at => TEXT"]);
    assert!(csv(&kept, "t").contains("2024-01-01 10:00:00.123456789"));
}

#[test]
fn malformed_scripts_are_refused_with_their_line() {
    let dir = tempfile::tempdir().unwrap();
    let cases = [
        (
            format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,null,1);\nInsert into HR.T (ID,AT,N) values (2,null,'cut);\n"),
            "line 9: a string starts here and is never closed",
        ),
        (
            format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,null,q'[cut);\n"),
            "line 8: a q'[...]' string starts here and is never closed",
        ),
        (
            format!("{ONE_TABLE}\nInsert into HR.U (ID) values (1);\n"),
            "line 9: INSERT INTO \"HR\".\"U\", but no CREATE TABLE",
        ),
        (
            format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,null);\n"),
            "line 8: INSERT INTO \"HR\".\"T\": row 1 has 2 values for 3 columns",
        ),
        (
            format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,to_timestamp('2024','YYYY-Q'),1);\n"),
            "line 8: TO_TIMESTAMP: the format mask 'YYYY-Q' has an element this tool does not read at `Q`",
        ),
        (
            format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,SYSDATE,1);\n"),
            "line 8: unexpected `SYSDATE`",
        ),
        (
            format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values (1,null,1 2);\n"),
            "line 8: row 1: expected `,` or `)` after a value, found the number 2",
        ),
        (
            format!("{ONE_TABLE}\nCREATE OR REPLACE TRIGGER T_BI BEFORE INSERT ON T\nBEGIN NULL; END;\n"),
            "line 9: a PL/SQL unit starts here and no `/` line ends it",
        ),
        (
            "CREATE TABLE T (\n\"ID\" NUMBER,\n\"X\" VARCHAR2(10)\n;\n".to_string(),
            "line 4: the CREATE TABLE ends before its `)`",
        ),
        (
            "CREATE TABLE \"T\" (\"G\" \"MDSYS\".\"SDO_GEOMETRY\");\n".to_string(),
            "t.g: no rule maps Oracle type `sdo_geometry`",
        ),
    ];
    for (i, (script, needle)) in cases.iter().enumerate() {
        let file = write(dir.path(), &format!("bad{i}.sql"), script);
        let target = dir.path().join(format!("bad{i}.ldb"));
        let r = ora(&["migrate", "--from-script", p(&file), "--target", p(&target)]);
        assert_clean_error(&r, 1, needle);
        assert!(
            r.stderr.contains(&format!("bad{i}.sql")) || needle.contains("no rule"),
            "{}",
            r.stderr
        );
    }
    // A value that is not what its column holds is refused for its row, with its line.
    let bad_values = [
        ("(1,null,'12,5')", "column `n`"),
        (
            "(1,to_timestamp('31-02-2024','DD-MM-YYYY'),1)",
            "no such date",
        ),
        (
            "(1,to_timestamp('2024-01-01 10:00 Europe/Paris','YYYY-MM-DD HH24:MI TZR'),1)",
            "time zone region",
        ),
        ("(1,null,40000)", "column `n`"),
    ];
    for (i, (values, needle)) in bad_values.iter().enumerate() {
        let script = format!("{ONE_TABLE}Insert into HR.T (ID,AT,N) values {values};\n");
        let file = write(dir.path(), &format!("value{i}.sql"), script);
        let target = dir.path().join(format!("value{i}.ldb"));
        let r = ora(&["migrate", "--from-script", p(&file), "--target", p(&target)]);
        assert_clean_error(&r, 1, "id=1, line 8");
        assert!(r.stderr.contains(needle), "{needle} in {}", r.stderr);
    }
}
