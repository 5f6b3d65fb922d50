//! A migration killed part-way resumes with every row exactly once.

mod common;

use std::fmt::Write;

use common::*;

/// Three tables of `rows` rows each, one keyless, with a COMMIT every 500 INSERTs
/// as SQL Developer writes them.
fn script(rows: u64) -> String {
    let mut s = String::from(
        "SET DEFINE OFF;\n  CREATE TABLE \"SHOP\".\"ORDERS\" \n   (\t\"ID\" NUMBER(18,0), \n\t\"NOTE\" VARCHAR2(80 CHAR), \n\t\"TOTAL\" NUMBER(12,4), \n\t CONSTRAINT \"PK_ORDERS\" PRIMARY KEY (\"ID\") ENABLE\n   ) TABLESPACE \"USERS\" ;\n\
         \n  CREATE TABLE \"SHOP\".\"EVENTS\" \n   (\t\"AT\" TIMESTAMP (9) NOT NULL ENABLE, \n\t\"KIND\" VARCHAR2(10 BYTE)\n   ) TABLESPACE \"USERS\" ;\n\
         \n  CREATE TABLE \"SHOP\".\"LINES\" \n   (\t\"ORDER_ID\" NUMBER(18,0) NOT NULL ENABLE, \n\t\"N\" NUMBER(9,0) NOT NULL ENABLE, \n\t\"B\" RAW(16), \n\t PRIMARY KEY (\"ORDER_ID\", \"N\") ENABLE\n   ) ;\nREM INSERTING into SHOP.ORDERS\nSET DEFINE OFF;\n",
    );
    for i in 0..rows {
        writeln!(
            s,
            "Insert into SHOP.ORDERS (ID,NOTE,TOTAL) values ({i},'order {i} ✓',{}.{:04});",
            i * 3,
            i % 10_000
        )
        .unwrap();
        if i % 500 == 499 {
            s.push_str("COMMIT;\n");
        }
    }
    s.push_str("REM INSERTING into SHOP.EVENTS\nSET DEFINE OFF;\n");
    for i in 0..rows {
        writeln!(s, "Insert into SHOP.EVENTS (AT,KIND) values (to_timestamp('01-JAN-24 12.00.{:02}.{:06}000 AM','DD-MON-RR HH.MI.SSXFF AM'),'k{}');", i % 60, (i % 1000) * 10, i % 3).unwrap();
    }
    s.push_str("REM INSERTING into SHOP.LINES\nSET DEFINE OFF;\n");
    for i in 0..rows {
        writeln!(
            s,
            "Insert into SHOP.LINES (ORDER_ID,N,B) values ({},{},'{i:032X}');",
            i / 4,
            i % 4
        )
        .unwrap();
    }
    s.push_str("COMMIT;\n");
    s
}

#[test]
fn a_script_copy_killed_then_failing_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "big.sql", script(30_000));
    let target = dir.path().join("big.ldb");
    let resumed = lightning_testkit::kill_abort_resume(
        &tool(),
        &["--from-script", p(&file)],
        &target,
        "committed:4",
        lightning_testkit::some_rows_of(90_000),
    );
    for (table, c) in resumed {
        assert_eq!(c.rows, 30_000, "{table}");
    }
}
