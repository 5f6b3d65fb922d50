//! A migration killed part-way resumes with every row exactly once.

mod common;

use std::fmt::Write;
use std::path::Path;

use common::*;
use lightning_testkit::{kill_abort_resume, some_rows_of};

const SCHEMA: &str = "
CREATE KEYSPACE big WITH replication = {'class': 'SimpleStrategy', 'replication_factor': '1'}  AND durable_writes = true;

CREATE TABLE big.orders (
    id bigint PRIMARY KEY,
    note text,
    total decimal
);

CREATE TABLE big.events (
    day date,
    at timestamp,
    kind text,
    tags set<text>,
    PRIMARY KEY (day, at)
) WITH CLUSTERING ORDER BY (at DESC);

CREATE TABLE big.lines (
    order_id bigint,
    n int,
    u uuid,
    PRIMARY KEY ((order_id, n))
);
";

/// Three tables of `rows` rows each, as COPY TO writes them (`lines` in two parts,
/// as MAXOUTPUTSIZE splits a table).
fn export(dir: &Path, rows: u64) {
    let mut orders = String::from("id,note,total\r\n");
    let mut events = String::from("day,at,kind,tags\r\n");
    let mut lines = String::from("order_id,n,u\r\n");
    let mut lines2 = String::new();
    for i in 0..rows {
        writeln!(
            orders,
            "{i},\"order {i}, ✓ \\\\\\\\ \\\"q\\\"\",{}.{:04}\r",
            i * 3,
            i % 10_000
        )
        .unwrap();
        writeln!(
            events,
            "2024-01-{:02},2024-01-01 00:{:02}:{:02}.{:03}+0000,k{},\"{{'a', 'b{}'}}\"\r",
            1 + i % 28,
            (i / 60) % 60,
            i % 60,
            i % 1000,
            i % 3,
            i % 5
        )
        .unwrap();
        let line = format!("{},{},00000000-0000-0000-0000-{i:012}\r\n", i / 4, i % 4);
        if i < rows / 2 {
            lines.push_str(&line);
        } else {
            lines2.push_str(&line);
        }
    }
    write(dir, "orders.csv", orders);
    write(dir, "events.csv", events);
    write(dir, "big.lines.csv", lines);
    write(dir, "big.lines.csv.1", lines2);
}

#[test]
fn a_copy_killed_then_failing_resumes_exactly_once() {
    let dir = tempfile::tempdir().unwrap();
    let schema = write(dir.path(), "big.cql", SCHEMA);
    let data = dir.path().join("data");
    std::fs::create_dir(&data).unwrap();
    export(&data, 30_000);
    let target = dir.path().join("big.ldb");
    let source = ["--schema", p(&schema), "--data", p(&data)];
    kill_abort_resume(
        &tool(),
        &source,
        &target,
        "committed:4",
        some_rows_of(90_000),
    );
    for (table, c) in checksums(&target) {
        assert_eq!(c.rows, 30_000, "{table}");
    }
}
