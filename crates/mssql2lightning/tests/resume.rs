//! A migration killed part-way resumes with every row exactly once.

mod common;

use std::fmt::Write;
use std::process::Command;

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
    let args = [
        "migrate",
        "--from-script",
        p(&file),
        "--target",
        p(&target),
        "--batch-size",
        "1000",
        "--quiet",
    ];
    let mut cmd = Command::new(tool());
    cmd.args(args);
    Paused::start(cmd, "committed:6").kill();
    let partial: u64 = checksums(&target).values().map(|c| c.rows).sum();
    assert!(
        partial > 0 && partial < 90_000,
        "{partial} rows after the kill"
    );
    let r = ms_fault(&args, "abort:committed:4");
    assert_ne!(r.code, 0, "{}", r.stderr);
    let report = migrate_verified(&file, &target, &["--batch-size", "1000"]);
    // The same script: the copy went on where it stopped, nothing to repair.
    assert!(report.get("repaired").is_none(), "{report:#}");
    let clean = dir.path().join("clean.ldb");
    migrate_verified(&file, &clean, &[]);
    assert_eq!(checksums(&target), checksums(&clean));
    for (table, c) in checksums(&target) {
        assert_eq!(c.rows, 30_000, "{table}");
    }
}
