//! The same rows written as an Oracle export, a SQL Server script and a
//! PostgreSQL dump read into the same values and checksums.
//!
//! The SQL Server and PostgreSQL texts are those of mssql2lightning's dialect
//! test, with two values changed in all three: Oracle holds no empty string and
//! no empty RAW (both are NULL), so row 4's name is a space and row 2's bytes are
//! `0x01`. Oracle has no boolean, uuid or 64-bit integer type: those columns are
//! NUMBER(1), RAW(16) and NUMBER(19), read with cast rules as BOOLEAN, UUID and
//! BIGINT; DATE holds a time of day in Oracle and is read as DATE by a rule too.

mod common;

use common::*;

const ORACLE: &str = "SET DEFINE OFF;\n  CREATE TABLE \"APP\".\"PRICES\" \n   (\t\"ID\" NUMBER(9,0) NOT NULL ENABLE, \n\t\"NAME\" NCLOB, \n\t\"AMOUNT\" NUMBER(12,2), \n\t\"AT\" TIMESTAMP (6), \n\t\"DAY\" DATE, \n\t\"FLAG\" NUMBER(1,0), \n\t\"DATA\" BLOB, \n\t\"U\" RAW(16), \n\t\"RATIO\" BINARY_DOUBLE, \n\t\"TZ\" TIMESTAMP (6) WITH TIME ZONE, \n\t\"BIG\" NUMBER(19,0), \n\t CONSTRAINT \"PK_PRICES\" PRIMARY KEY (\"ID\") ENABLE\n   ) TABLESPACE \"USERS\" ;\nREM INSERTING into APP.PRICES\nSET DEFINE OFF;\n\
Insert into APP.PRICES (ID,NAME,AMOUNT,AT,DAY,FLAG,DATA,U,RATIO,TZ,BIG) values (1,TO_NCLOB(N'Zoë 🚀 it''s'),-1234567890.12,to_timestamp('29-FEB-24 12.34.56.123456000 PM','DD-MON-RR HH.MI.SSXFF AM'),to_date('29-FEB-24','DD-MON-RR'),1,HEXTORAW('DEADBEEF'),'67E5504410B1426F9247BB680E5FE0C8',0.1,to_timestamp_tz('29-FEB-24 12.00.00.000000000 PM -08:00','DD-MON-RR HH.MI.SSXFF AM TZR'),9223372036854775807);\n\
Insert into APP.PRICES (ID,NAME,AMOUNT,AT,DAY,FLAG,DATA,U,RATIO,TZ,BIG) values (2,'tab\there\nnewline \\ backslash',0,to_timestamp('0001-01-01 00:00:00.000000','YYYY-MM-DD HH24:MI:SS.FF'),to_date('9999-12-31','YYYY-MM-DD'),0,HEXTORAW('01'),'00000000000000000000000000000000',-1.7976931348623157E+308,to_timestamp_tz('0001-01-01 00:00:00 +00:00','YYYY-MM-DD HH24:MI:SS TZH:TZM'),-9223372036854775808);\n\
Insert into APP.PRICES (ID,NAME,AMOUNT,AT,DAY,FLAG,DATA,U,RATIO,TZ,BIG) values (3,null,null,null,null,null,null,null,null,null,null);\n\
Insert into APP.PRICES (ID,NAME,AMOUNT,AT,DAY,FLAG,DATA,U,RATIO,TZ,BIG) values (4,' ',9999999999.99,to_timestamp('31-DEC-1969 11.59.59.999999000 PM','DD-MON-YYYY HH.MI.SSXFF AM'),DATE '1970-01-01',1,HEXTORAW('00'),'FFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF',5E-324,to_timestamp_tz('2000-01-01 05:30:00.000001 +05:30','YYYY-MM-DD HH24:MI:SS.FF TZH:TZM'),0);\n\
COMMIT;\n";

const MSSQL: &str = "SET ANSI_NULLS ON\r\nGO\r\nCREATE TABLE [dbo].[prices](\r\n\t[id] [int] NOT NULL,\r\n\t[name] [nvarchar](max) NULL,\r\n\t[amount] [decimal](12, 2) NULL,\r\n\t[at] [datetime2](6) NULL,\r\n\t[day] [date] NULL,\r\n\t[flag] [bit] NULL,\r\n\t[data] [varbinary](max) NULL,\r\n\t[u] [uniqueidentifier] NULL,\r\n\t[ratio] [float] NULL,\r\n\t[tz] [datetimeoffset](6) NULL,\r\n\t[big] [bigint] NULL,\r\n CONSTRAINT [PK_prices] PRIMARY KEY CLUSTERED ([id] ASC)\r\n) ON [PRIMARY]\r\nGO\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (1, N'Zoë 🚀 it''s', CAST(-1234567890.12 AS Decimal(12, 2)), CAST(N'2024-02-29T12:34:56.123456' AS DateTime2), CAST(N'2024-02-29' AS Date), 1, 0xDEADBEEF, N'67E55044-10B1-426F-9247-BB680E5FE0C8', 0.1, CAST(N'2024-02-29T12:00:00.000000-08:00' AS DateTimeOffset), 9223372036854775807)\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (2, N'tab\there\nnewline \\ backslash', CAST(0.00 AS Decimal(12, 2)), CAST(N'0001-01-01T00:00:00.000000' AS DateTime2), CAST(N'9999-12-31' AS Date), 0, 0x01, N'00000000-0000-0000-0000-000000000000', -1.7976931348623157E+308, CAST(N'0001-01-01T00:00:00.000000+00:00' AS DateTimeOffset), -9223372036854775808)\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (4, N' ', CAST(9999999999.99 AS Decimal(12, 2)), CAST(N'1969-12-31T23:59:59.999999' AS DateTime2), CAST(N'1970-01-01' AS Date), 1, 0x00, N'ffffffff-ffff-ffff-ffff-ffffffffffff', 5E-324, CAST(N'2000-01-01T05:30:00.000001+05:30' AS DateTimeOffset), 0)\r\n\
GO\r\n";

const PG_DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 16.4\n-- Dumped by pg_dump version 16.4\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\
CREATE TABLE public.prices (\n    id integer NOT NULL,\n    name text,\n    amount numeric(12,2),\n    at timestamp without time zone,\n    day date,\n    flag boolean,\n    data bytea,\n    u uuid,\n    ratio double precision,\n    tz timestamp with time zone,\n    big bigint\n);\n\n\
COPY public.prices (id, name, amount, at, day, flag, data, u, ratio, tz, big) FROM stdin;\n\
1\tZoë 🚀 it's\t-1234567890.12\t2024-02-29 12:34:56.123456\t2024-02-29\tt\t\\\\xdeadbeef\t67e55044-10b1-426f-9247-bb680e5fe0c8\t0.1\t2024-02-29 20:00:00+00\t9223372036854775807\n\
2\ttab\\there\\nnewline \\\\ backslash\t0.00\t0001-01-01 00:00:00\t9999-12-31\tf\t\\\\x01\t00000000-0000-0000-0000-000000000000\t-1.7976931348623157e+308\t0001-01-01 00:00:00+00\t-9223372036854775808\n\
3\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n\
4\t \t9999999999.99\t1969-12-31 23:59:59.999999\t1970-01-01\tt\t\\\\x00\tffffffff-ffff-ffff-ffff-ffffffffffff\t5e-324\t2000-01-01 00:00:00.000001+00\t0\n\
\\.\n\n\
ALTER TABLE ONLY public.prices\n    ADD CONSTRAINT prices_pkey PRIMARY KEY (id);\n\n--\n-- PostgreSQL database dump complete\n--\n\n";

#[test]
fn an_oracle_export_a_sql_server_script_and_a_postgresql_dump_give_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let oracle = write(dir.path(), "prices.ora.sql", ORACLE);
    let mssql = write(dir.path(), "prices.ms.sql", MSSQL);
    let dump = write(dir.path(), "prices.dump.sql", PG_DUMP);
    let (from_ora, from_ms, from_pg) = (
        dir.path().join("ora.ldb"),
        dir.path().join("ms.ldb"),
        dir.path().join("pg.ldb"),
    );
    migrate_verified(
        &oracle,
        &from_ora,
        &[
            "--cast",
            "column:prices.flag => BOOLEAN",
            "--cast",
            "column:prices.u => UUID",
            "--cast",
            "column:prices.big => BIGINT",
            "--cast",
            "column:prices.day => DATE",
        ],
    );
    for (tool, flag, source, store) in [
        ("mssql2lightning", "--from-script", &mssql, &from_ms),
        ("pg2lightning", "--from-dump", &dump, &from_pg),
    ] {
        let r = lightning_testkit::run(std::process::Command::new(sibling(tool)).args([
            "migrate",
            flag,
            p(source),
            "--target",
            p(store),
            "--verify",
            "--quiet",
        ]));
        assert_eq!(r.code, 0, "{tool}: {}", r.stderr);
    }
    let rows = csv(&from_ora, "prices");
    assert_eq!(rows, csv(&from_ms, "prices"));
    assert_eq!(rows, csv(&from_pg, "prices"));
    let sums = checksums(&from_ora);
    assert_eq!(sums["prices"].rows, 4);
    assert_eq!(sums["prices"], checksums(&from_ms)["prices"]);
    assert_eq!(sums["prices"], checksums(&from_pg)["prices"]);
}
