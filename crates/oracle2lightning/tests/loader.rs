//! SQL*Loader control files with their data files: with the DDL from a script or
//! from the control file, the same rows as INSERTs, resuming, bad records.

mod common;

use std::fmt::Write;

use common::*;

const DDL: &str = "  CREATE TABLE \"HR\".\"EMP\" \n   (\t\"ID\" NUMBER(6,0) NOT NULL ENABLE, \n\t\"NAME\" VARCHAR2(40 BYTE), \n\t\"PAY\" NUMBER(8,2), \n\t\"HIRED\" DATE, \n\t\"AT\" TIMESTAMP (6) WITH TIME ZONE, \n\t\"PHOTO\" RAW(8), \n\t CONSTRAINT \"EMP_PK\" PRIMARY KEY (\"ID\") ENABLE\n   ) TABLESPACE \"USERS\" ;\n";

const CONTROL: &str = "OPTIONS (SKIP=1)\nLOAD DATA\nCHARACTERSET AL32UTF8\nINFILE 'emp.csv'\nINFILE 'more/emp2.csv'\nBADFILE 'emp.bad'\nAPPEND\nINTO TABLE HR.EMP\nFIELDS TERMINATED BY ',' OPTIONALLY ENCLOSED BY '\"'\nTRAILING NULLCOLS\n(\n  ID INTEGER EXTERNAL,\n  NAME CHAR(40) NULLIF NAME=BLANKS,\n  JUNK FILLER,\n  PAY DECIMAL EXTERNAL,\n  HIRED DATE \"DD-MON-RR\",\n  AT TIMESTAMP WITH TIME ZONE \"YYYY-MM-DD HH24:MI:SS.FF TZH:TZM\",\n  PHOTO\n)\n";

const EMP: &str = "ID,NAME,JUNK,PAY,HIRED,AT,PHOTO\n1,\"King, Steven\",x,24000,17-JUN-03,2024-02-29 12:00:00.5 -08:00,DEADBEEF\n2,\"said \"\"hi\"\"\nand left\",x,-0.5,01-JAN-99,,\n3,   ,x,,,\n";

const EMP2: &str = "4,Zoë 🚀,x,99999.99,31-DEC-49,2000-01-01 05:30:00.000001 +05:30,00\n";

/// The same rows as SQL Developer's INSERTs.
const INSERTS: &str = "Insert into HR.EMP (ID,NAME,PAY,HIRED,AT,PHOTO) values (1,'King, Steven',24000,to_date('17-JUN-03','DD-MON-RR'),to_timestamp_tz('2024-02-29 12:00:00.5 -08:00','YYYY-MM-DD HH24:MI:SS.FF TZH:TZM'),'DEADBEEF');\nInsert into HR.EMP (ID,NAME,PAY,HIRED,AT,PHOTO) values (2,'said \"hi\"\nand left',-0.5,to_date('01-JAN-99','DD-MON-RR'),null,null);\nInsert into HR.EMP (ID,NAME,PAY,HIRED,AT,PHOTO) values (3,null,null,null,null,null);\nInsert into HR.EMP (ID,NAME,PAY,HIRED,AT,PHOTO) values (4,'Zoë 🚀',99999.99,to_date('31-DEC-49','DD-MON-RR'),to_timestamp_tz('2000-01-01 05:30:00.000001 +05:30','YYYY-MM-DD HH24:MI:SS.FF TZH:TZM'),'00');\n";

fn files(dir: &std::path::Path) -> std::path::PathBuf {
    std::fs::create_dir_all(dir.join("more")).unwrap();
    write(dir, "emp.csv", EMP);
    write(dir, "more/emp2.csv", EMP2);
    write(dir, "emp.ctl", CONTROL)
}

#[test]
fn a_control_file_with_the_ddl_loads_the_rows_its_inserts_would() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = files(dir.path());
    let ddl = write(dir.path(), "ddl.sql", DDL);
    let store = dir.path().join("emp.ldb");
    lightning_testkit::migrate_verified(
        &tool(),
        &["--from-script", p(&ddl), "--control", p(&ctl)],
        &store,
        &[],
    );
    assert_eq!(
        csv(&store, "emp"),
        "id,name,pay,hired,at,photo\n\
         1,\"King, Steven\",24000.00,2003-06-17 00:00:00,2024-02-29 20:00:00.500000+00:00,\\xdeadbeef\n\
         2,\"said \"\"hi\"\"\nand left\",-0.50,1999-01-01 00:00:00,,\n\
         3,,,,,\n\
         4,Zoë 🚀,99999.99,2049-12-31 00:00:00,2000-01-01 00:00:00.000001+00:00,\\x00\n"
    );
    // The same rows as INSERT statements: the same values, the same checksums.
    let script = write(dir.path(), "inserts.sql", format!("{DDL}{INSERTS}"));
    let from_inserts = dir.path().join("inserts.ldb");
    migrate_verified(&script, &from_inserts, &[]);
    assert_eq!(checksums(&store), checksums(&from_inserts));
}

#[test]
fn a_control_file_alone_gives_the_types_of_its_fields() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = files(dir.path());
    let ddl = ora(&["convert-schema", "--control", p(&ctl)]);
    assert_eq!(ddl.code, 0, "{}", ddl.stderr);
    for needle in [
        "CREATE TABLE emp (",
        "id DECIMAL(38,0) SOURCE 'number(38,0)'",
        "name TEXT SOURCE 'varchar2(40)'",
        "pay DECIMAL SOURCE 'number'",
        "hired TIMESTAMP SOURCE 'date'",
        "at TIMESTAMPTZ SOURCE 'timestamp with time zone(9)'",
        "photo TEXT SOURCE 'varchar2(4000)'",
    ] {
        assert!(ddl.stdout.contains(needle), "{needle} in\n{}", ddl.stdout);
    }
    assert!(!ddl.stdout.contains("junk"), "{}", ddl.stdout);
    let store = dir.path().join("emp.ldb");
    lightning_testkit::migrate_verified(&tool(), &["--control", p(&ctl)], &store, &[]);
    let report = ora(&["convert-schema", "--control", p(&ctl), "--json"]);
    assert_eq!(report.code, 0, "{}", report.stderr);
    assert!(report.stdout.contains("no DDL given"), "{}", report.stdout);
    assert_eq!(checksums(&store)["emp"].rows, 4);
    assert!(csv(&store, "emp").contains("\n3,,,,,\n"));
}

#[test]
fn bad_records_and_control_files_are_refused_with_their_place() {
    let dir = tempfile::tempdir().unwrap();
    let ctl = files(dir.path());
    let ddl = write(dir.path(), "ddl.sql", DDL);
    write(dir.path(), "more/emp2.csv", "4,a,x,1,01-JAN-24,,00,extra\n");
    let store = dir.path().join("bad.ldb");
    let r = ora(&[
        "migrate",
        "--from-script",
        p(&ddl),
        "--control",
        p(&ctl),
        "--target",
        p(&store),
    ]);
    assert_clean_error(&r, 1, "emp2.csv line 1");
    assert!(
        r.stderr.contains("8 fields and the control file lists 7"),
        "{}",
        r.stderr
    );
    write(dir.path(), "more/emp2.csv", "4,a,x,1,31-FEB-24\n");
    let r = ora(&[
        "migrate",
        "--from-script",
        p(&ddl),
        "--control",
        p(&ctl),
        "--target",
        p(&store),
    ]);
    assert_clean_error(&r, 1, "id=4, emp2.csv line 1");
    let bad = write(
        dir.path(),
        "bad.ctl",
        "LOAD DATA\nINFILE 'emp.csv'\nINTO TABLE EMP\nFIELDS TERMINATED BY ','\n(ID, NAME \"UPPER(:NAME)\")\n",
    );
    let r = ora(&["assess", "--from-script", p(&ddl), "--control", p(&bad)]);
    assert_clean_error(
        &r,
        1,
        "line 5: the SQL expression of field NAME is not read",
    );
}

#[test]
fn a_load_killed_then_failing_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let mut data = String::from("ID,NAME,JUNK,PAY,HIRED,AT,PHOTO\n");
    for i in 0..20_000 {
        writeln!(
            data,
            "{i},\"name {i}, ✓\",j,{}.{:02},01-JAN-24,,{:08X}",
            i * 3,
            i % 100,
            i
        )
        .unwrap();
    }
    write(dir.path(), "emp.csv", &data);
    std::fs::create_dir_all(dir.path().join("more")).unwrap();
    let mut more = String::new();
    for i in 20_000..30_000 {
        writeln!(more, "{i},n,j,1,01-JAN-24").unwrap();
    }
    write(dir.path(), "more/emp2.csv", &more);
    let ctl = write(dir.path(), "emp.ctl", CONTROL);
    let ddl = write(dir.path(), "ddl.sql", DDL);
    let target = dir.path().join("big.ldb");
    let resumed = lightning_testkit::kill_abort_resume(
        &tool(),
        &["--from-script", p(&ddl), "--control", p(&ctl)],
        &target,
        "committed:12",
        |left| {
            let partial = left.get("emp").map_or(0, |c| c.rows);
            assert!(
                partial > 0 && partial < 30_000,
                "{partial} rows after the kill"
            );
        },
    );
    assert_eq!(resumed["emp"].rows, 30_000);
}
