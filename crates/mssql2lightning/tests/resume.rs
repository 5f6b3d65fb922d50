//! A migration killed part-way resumes with every row exactly once.

mod common;

use std::fmt::Write;

use common::*;

/// Three tables of `rows` rows each, one keyless, with a GO every 500 INSERTs.
fn script(rows: u64) -> String {
    let mut s = String::from(
        "CREATE TABLE [dbo].[Orders]([id] [bigint] NOT NULL, [note] [nvarchar](80) NULL, [total] [money] NULL,\n CONSTRAINT [PK_Orders] PRIMARY KEY CLUSTERED ([id] ASC)) ON [PRIMARY]\nGO\n\
         CREATE TABLE [dbo].[Events]([at] [datetime2](7) NOT NULL, [kind] [varchar](10) NULL) ON [PRIMARY]\nGO\n\
         CREATE TABLE [sales].[Lines]([order] [bigint] NOT NULL, [n] [int] NOT NULL, [u] [uniqueidentifier] NULL, PRIMARY KEY ([order], [n]))\nGO\n",
    );
    for i in 0..rows {
        writeln!(
            s,
            "INSERT [dbo].[Orders] ([id], [note], [total]) VALUES ({i}, N'order {i} ✓', {}.{:04})",
            i * 3,
            i % 10_000
        )
        .unwrap();
        if i % 500 == 499 {
            s.push_str("GO\n");
        }
    }
    for i in 0..rows {
        writeln!(s, "INSERT [dbo].[Events] ([at], [kind]) VALUES (CAST(N'2024-01-01T00:00:{:02}.{:07}' AS DateTime2), 'k{}')", i % 60, (i % 1000) * 10, i % 3).unwrap();
    }
    s.push_str("GO\n");
    for i in 0..rows {
        writeln!(s, "INSERT [sales].[Lines] ([order], [n], [u]) VALUES ({}, {}, N'00000000-0000-0000-0000-{i:012}')", i / 4, i % 4).unwrap();
    }
    s.push_str("GO\n");
    s
}

#[test]
fn a_script_copy_killed_then_failing_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "big.sql", utf16le(&script(30_000)));
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
