use lightning_core::sql_script::insert_rows;

use super::*;

const EXPORT: &str = "--------------------------------------------------------\n--  File created - Friday-November-27-2026\n--------------------------------------------------------\nSET DEFINE OFF;\nREM it's a remark with a quote\nPROMPT it's a prompt\n--------------------------------------------------------\n--  DDL for Table EMP\n--------------------------------------------------------\n\n  CREATE TABLE \"HR\".\"EMP\" \n   (\t\"ID\" NUMBER(6,0), \n\t\"NAME\" VARCHAR2(20 BYTE) CONSTRAINT \"EMP_NAME_NN\" NOT NULL ENABLE, \n\t\"PAY\" NUMBER(8,2) DEFAULT 0, \n\t\"HIRED\" DATE DEFAULT SYSDATE, \n\t\"AT\" TIMESTAMP (6) WITH LOCAL TIME ZONE, \n\t\"GAP\" INTERVAL DAY (2) TO SECOND (6), \n\t CONSTRAINT \"EMP_PK\" PRIMARY KEY (\"ID\")\n  USING INDEX PCTFREE 10 INITRANS 2 MAXTRANS 255 COMPUTE STATISTICS \n  STORAGE(INITIAL 65536 NEXT 1048576 MINEXTENTS 1) TABLESPACE \"USERS\"  ENABLE\n   ) SEGMENT CREATION IMMEDIATE \n  PCTFREE 10 PCTUSED 40 INITRANS 1 MAXTRANS 255 \n NOCOMPRESS LOGGING\n  STORAGE(INITIAL 65536 NEXT 1048576 BUFFER_POOL DEFAULT FLASH_CACHE DEFAULT CELL_FLASH_CACHE DEFAULT)\n  TABLESPACE \"USERS\" ;\nREM INSERTING into HR.EMP\nSET DEFINE OFF;\nInsert into HR.EMP (ID,NAME,PAY,HIRED,AT,GAP) values (1,'O''Brien',-0.5,to_date('17-JUN-03','DD-MON-RR'),null,'+01 02:03:04.000000');\nInsert into HR.EMP (ID,NAME,PAY,HIRED,AT,GAP) values (2,q'[it's]',1E+2,to_date('2003-06-17 10:00:00','YYYY-MM-DD HH24:MI:SS'),null,null);\nCOMMIT;\n\n  CREATE UNIQUE INDEX \"HR\".\"EMP_PK\" ON \"HR\".\"EMP\" (\"ID\") \n  PCTFREE 10 INITRANS 2 MAXTRANS 255 COMPUTE STATISTICS \n  TABLESPACE \"USERS\" ;\n  CREATE INDEX \"HR\".\"EMP_UP\" ON \"HR\".\"EMP\" (UPPER(\"NAME\")) ;\n  CREATE INDEX \"HR\".\"EMP_NAME\" ON \"HR\".\"EMP\" (\"NAME\", \"PAY\" DESC) ;\n\n  CREATE OR REPLACE EDITIONABLE TRIGGER \"HR\".\"EMP_BI\" \nBEFORE INSERT ON emp FOR EACH ROW\nBEGIN\n  :new.name := UPPER(:new.name); -- a ; inside\nEND;\n/\nALTER TRIGGER \"HR\".\"EMP_BI\" ENABLE;\n   CREATE SEQUENCE  \"HR\".\"EMP_SEQ\"  MINVALUE 1 MAXVALUE 9999999999999999999999999999 INCREMENT BY 1 START WITH 21 CACHE 20 NOORDER  NOCYCLE  NOKEEP  NOSCALE  GLOBAL ;\n  CREATE OR REPLACE FORCE EDITIONABLE VIEW \"HR\".\"RICH\" (\"ID\") AS \n  SELECT id FROM emp WHERE pay > 100;\n";

#[test]
fn a_sql_developer_export_gives_its_table_rows_and_objects() {
    let ix = scan(EXPORT).unwrap();
    assert_eq!(ix.tables.len(), 1);
    let t = &ix.tables[0];
    assert_eq!(t.primary_key, vec!["ID"]);
    let types: Vec<&str> = t.columns.iter().map(|c| c.ty.as_str()).collect();
    assert_eq!(
        types,
        [
            "number(6,0)",
            "varchar2(20)",
            "number(8,2)",
            "date",
            "timestamp with local time zone(6)",
            "interval day to second(2,6)"
        ]
    );
    assert!(!t.columns[1].nullable);
    assert_eq!(t.columns[2].default.as_deref(), Some("0"));
    assert_eq!(t.columns[3].default.as_deref(), Some("SYSDATE"));
    let runs = &ix.ranges[&t.qualified()];
    assert_eq!(runs.len(), 1, "COMMIT and SET keep the run going");
    assert_eq!((runs[0].rows, runs[0].line), (2, 28));
    assert_eq!(t.indexes.len(), 2, "{:?}", t.indexes);
    assert_eq!(t.indexes[1].columns, ["NAME", "PAY"]);
    let kinds: Vec<(&str, &str)> = ix
        .objects
        .iter()
        .map(|o| (o.kind, o.name.as_str()))
        .collect();
    assert_eq!(
        kinds,
        [
            ("trigger", "emp_bi"),
            ("sequence", "emp_seq"),
            ("view", "rich")
        ]
    );
    assert!(ix.objects[0].definition.ends_with("END;"));
    assert!(ix
        .notes
        .iter()
        .any(|(_, m)| m.starts_with("a function-based index")));
}

/// Scan a script, then read every INSERT of every run, as a copy would.
fn read_all(text: &str) {
    let Ok(ix) = scan(text) else { return };
    for r in ix.ranges.values().flatten() {
        let _ = lightning_core::sql_script::read_inserts::<OracleSql>(text, r);
    }
}

#[test]
fn values_read_as_oracle_reads_them() {
    let mut lx = Lexer::new(
        "(TO_CLOB('ab') || TO_CLOB(q'{c'd}') || '', '', N'é', HEXTORAW('0aff'), -BINARY_DOUBLE_INFINITY, UNISTR('\\00e9\\d83d\\de80'), CHR(10), INTERVAL '1-2' YEAR TO MONTH, DATE '2024-02-29', to_date('31-12-9999','DD-MM-YYYY'), TO_TIMESTAMP('bad','YYYY'), EMPTY_CLOB())",
        0,
        1,
    );
    let mut got = Vec::new();
    insert_rows(&mut lx, &mut |_, _, v| {
        got = v;
        Ok(true)
    })
    .unwrap();
    assert_eq!(got[0], Literal::Str("abc'd".into()));
    assert_eq!(got[1], Literal::Null);
    assert_eq!(got[2], Literal::Str("é".into()));
    assert_eq!(got[3], Literal::Bin(vec![0x0a, 0xff]));
    assert_eq!(got[4], Literal::Num("-Infinity".into()));
    assert_eq!(got[5], Literal::Str("é🚀".into()));
    assert_eq!(got[6], Literal::Str("\n".into()));
    assert_eq!(got[7], Literal::Str("1-2".into()));
    assert!(matches!(got[8], Literal::Stamp(..)));
    assert!(matches!(got[9], Literal::Stamp(..)));
    assert!(matches!(got[10], Literal::Invalid { .. }));
    assert_eq!(got[11], Literal::Str(String::new()));
    let mut lx = Lexer::new("(TO_DATE('1', 'YYYY-Q'))", 0, 1);
    let e = insert_rows(&mut lx, &mut |_, _, _| Ok(true)).unwrap_err();
    assert!(e.to_string().contains("format mask"), "{e}");
}

proptest::proptest! {
    #![proptest_config(proptest::prelude::ProptestConfig::with_cases(400))]

    #[test]
    fn damaged_scripts_never_panic(cut in 0usize..3000, at in 0usize..3000, with in proptest::prelude::any::<char>()) {
        let mut text: String = EXPORT.chars().take(cut.max(1)).collect();
        if let Some((i, _)) = text.char_indices().nth(at % text.chars().count().max(1)) {
            text.insert(i, with);
        }
        read_all(&text);
    }

    #[test]
    fn any_text_never_panics(text in "[\"'()qQN0-9eE,.;/|*\\-+ \n\t\r\\[\\]{}<>!a-zA-Z]{0,200}") {
        read_all(&text);
        let _ = decode(text.into_bytes());
    }

    #[test]
    fn any_bytes_never_panic(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        if let Ok(text) = decode(bytes) {
            read_all(&text);
        }
    }

    #[test]
    fn any_mask_and_value_never_panic(mask_text in "[A-Za-z0-9 .:/\"+-]{0,20}", value in "[A-Za-z0-9 .:/+-]{0,30}") {
        if let Ok(m) = mask::Mask::parse(&mask_text) {
            let _ = m.read(&value);
        }
    }
}

#[test]
fn an_insert_into_an_unknown_table_names_its_line() {
    let e = scan("SET DEFINE OFF;\nInsert into X (A) values (1);").unwrap_err();
    assert!(
        e.to_string().starts_with("line 2: INSERT INTO \"X\""),
        "{e}"
    );
}

#[test]
fn dbms_metadata_ddl_with_identity_partitions_and_two_owners() {
    let ix = scan(
        "\n  CREATE TABLE \"HR\".\"T\" \n   (\t\"ID\" NUMBER GENERATED BY DEFAULT ON NULL AS IDENTITY MINVALUE 1 MAXVALUE 9999999999999999999999999999 INCREMENT BY 1 START WITH 1 CACHE 20 NOORDER  NOCYCLE  NOKEEP  NOSCALE  NOT NULL ENABLE, \n\t\"N\" NUMBER(*), \n\t\"I\" NUMBER(*,0), \n\t\"D\" DATE DEFAULT ON NULL sysdate, \n\t\"V\" NUMBER AS (\"I\"*2) VIRTUAL \n   ) PARTITION BY RANGE (\"D\") \n (PARTITION \"P1\"  VALUES LESS THAN (TO_DATE(' 2024-01-01 00:00:00', 'SYYYY-MM-DD HH24:MI:SS', 'NLS_CALENDAR=GREGORIAN')) SEGMENT CREATION IMMEDIATE \n  TABLESPACE \"USERS\" ) ;\n\
         ALTER TABLE \"HR\".\"T\" MODIFY (\"N\" NOT NULL ENABLE);\n\
         ALTER TABLE \"HR\".\"T\" ADD PRIMARY KEY (\"ID\") USING INDEX  ENABLE;\n\
         CREATE GLOBAL TEMPORARY TABLE \"APP\".\"T\" (\"x\" VARCHAR2(10)) ON COMMIT PRESERVE ROWS ;\n\
         BEGIN\n  DBMS_STATS.GATHER_TABLE_STATS('HR', 'T');\nEND;\n/\n\
         Insert into \"APP\".\"T\" (\"x\") values ('a');\n",
    )
    .unwrap();
    assert_eq!(ix.tables.len(), 2);
    let t = &ix.tables[0];
    assert!(t.columns[0].identity && !t.columns[0].nullable);
    let types: Vec<&str> = t.columns.iter().map(|c| c.ty.as_str()).collect();
    assert_eq!(
        types,
        ["number", "number", "number(38,0)", "date", "number"]
    );
    assert!(!t.columns[1].nullable, "MODIFY NOT NULL");
    assert_eq!(t.columns[3].default.as_deref(), Some("sysdate"));
    assert!(t.columns[4].computed.is_some());
    assert_eq!(t.primary_key, ["ID"]);
    assert!(ix.owners);
    assert_eq!(ix.name_of(&ix.tables[0].qualified()), "hr.t");
    assert_eq!(ix.name_of(&ix.tables[1].qualified()), "app.t");
    assert_eq!(ix.tables[1].columns[0].name, "x");
    let runs: Vec<_> = ix.ranges.keys().map(|q| q.sql()).collect();
    assert_eq!(runs, ["\"APP\".\"T\""]);
    assert!(ix.notes[0].1.starts_with("an anonymous PL/SQL block"));
}
