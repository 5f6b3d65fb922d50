//! The same rows written as a SQL Server script and as a PostgreSQL dump read into
//! the same values: the two dialects are read consistently.

mod common;

use common::*;

const MSSQL: &str = "SET ANSI_NULLS ON\r\nGO\r\nCREATE TABLE [dbo].[prices](\r\n\t[id] [int] NOT NULL,\r\n\t[name] [nvarchar](max) NULL,\r\n\t[amount] [decimal](12, 2) NULL,\r\n\t[at] [datetime2](6) NULL,\r\n\t[day] [date] NULL,\r\n\t[flag] [bit] NULL,\r\n\t[data] [varbinary](max) NULL,\r\n\t[u] [uniqueidentifier] NULL,\r\n\t[ratio] [float] NULL,\r\n\t[tz] [datetimeoffset](6) NULL,\r\n\t[big] [bigint] NULL,\r\n CONSTRAINT [PK_prices] PRIMARY KEY CLUSTERED ([id] ASC)\r\n) ON [PRIMARY]\r\nGO\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (1, N'Zoë 🚀 it''s', CAST(-1234567890.12 AS Decimal(12, 2)), CAST(N'2024-02-29T12:34:56.123456' AS DateTime2), CAST(N'2024-02-29' AS Date), 1, 0xDEADBEEF, N'67E55044-10B1-426F-9247-BB680E5FE0C8', 0.1, CAST(N'2024-02-29T12:00:00.000000-08:00' AS DateTimeOffset), 9223372036854775807)\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (2, N'tab\there\nnewline \\ backslash', CAST(0.00 AS Decimal(12, 2)), CAST(N'0001-01-01T00:00:00.000000' AS DateTime2), CAST(N'9999-12-31' AS Date), 0, 0x, N'00000000-0000-0000-0000-000000000000', -1.7976931348623157E+308, CAST(N'0001-01-01T00:00:00.000000+00:00' AS DateTimeOffset), -9223372036854775808)\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)\r\n\
INSERT [dbo].[prices] ([id], [name], [amount], [at], [day], [flag], [data], [u], [ratio], [tz], [big]) VALUES (4, N'', CAST(9999999999.99 AS Decimal(12, 2)), CAST(N'1969-12-31T23:59:59.999999' AS DateTime2), CAST(N'1970-01-01' AS Date), 1, 0x00, N'ffffffff-ffff-ffff-ffff-ffffffffffff', 5E-324, CAST(N'2000-01-01T05:30:00.000001+05:30' AS DateTimeOffset), 0)\r\n\
GO\r\n";

const PG_DUMP: &str = "--\n-- PostgreSQL database dump\n--\n\n-- Dumped from database version 16.4\n-- Dumped by pg_dump version 16.4\n\nSET statement_timeout = 0;\nSET client_encoding = 'UTF8';\nSET standard_conforming_strings = on;\nSELECT pg_catalog.set_config('search_path', '', false);\n\n\
CREATE TABLE public.prices (\n    id integer NOT NULL,\n    name text,\n    amount numeric(12,2),\n    at timestamp without time zone,\n    day date,\n    flag boolean,\n    data bytea,\n    u uuid,\n    ratio double precision,\n    tz timestamp with time zone,\n    big bigint\n);\n\n\
COPY public.prices (id, name, amount, at, day, flag, data, u, ratio, tz, big) FROM stdin;\n\
1\tZoë 🚀 it's\t-1234567890.12\t2024-02-29 12:34:56.123456\t2024-02-29\tt\t\\\\xdeadbeef\t67e55044-10b1-426f-9247-bb680e5fe0c8\t0.1\t2024-02-29 20:00:00+00\t9223372036854775807\n\
2\ttab\\there\\nnewline \\\\ backslash\t0.00\t0001-01-01 00:00:00\t9999-12-31\tf\t\\\\x\t00000000-0000-0000-0000-000000000000\t-1.7976931348623157e+308\t0001-01-01 00:00:00+00\t-9223372036854775808\n\
3\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\t\\N\n\
4\t\t9999999999.99\t1969-12-31 23:59:59.999999\t1970-01-01\tt\t\\\\x00\tffffffff-ffff-ffff-ffff-ffffffffffff\t5e-324\t2000-01-01 00:00:00.000001+00\t0\n\
\\.\n\n\
ALTER TABLE ONLY public.prices\n    ADD CONSTRAINT prices_pkey PRIMARY KEY (id);\n\n--\n-- PostgreSQL database dump complete\n--\n\n";

#[test]
fn a_sql_server_script_and_a_postgresql_dump_of_the_same_rows_give_the_same_values() {
    let dir = tempfile::tempdir().unwrap();
    let script = write(dir.path(), "prices.sql", MSSQL);
    let dump = write(dir.path(), "prices.dump.sql", PG_DUMP);
    let from_mssql = dir.path().join("mssql.ldb");
    let from_pg = dir.path().join("pg.ldb");
    migrate_verified(&script, &from_mssql, &[]);
    let r = lightning_testkit::run(std::process::Command::new(sibling("pg2lightning")).args([
        "migrate",
        "--from-dump",
        p(&dump),
        "--target",
        p(&from_pg),
        "--verify",
        "--quiet",
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    let rows = csv(&from_mssql, "prices");
    assert_eq!(rows, csv(&from_pg, "prices"));
    assert_eq!(checksums(&from_mssql)["prices"].rows, 4);
    assert_eq!(
        checksums(&from_mssql)["prices"],
        checksums(&from_pg)["prices"]
    );
}
