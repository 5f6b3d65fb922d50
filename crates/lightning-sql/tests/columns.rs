//! Column segments on a real store: a whole-table scan of a large table reads
//! them once built and gives exactly what reading the rows gives, and any write to
//! the table (SQL, a copy's upsert, a repair) drops them so no query sees stale
//! values.

use std::sync::Arc;

use lightning_core::ddl::parse_schema;
use lightning_core::store::{BadRows, BatchRow, WriteMode};
use lightning_core::value::Decimal;
use lightning_core::{Row, Store, Value};
use lightning_sql::{columns, Engine};

mod common;
use common::{rows, run};

/// More rows than `columns::MIN_ROWS`, so whole scans use segments.
const ROWS: i64 = 120_000;

fn exec(e: &Engine, sql: &str) {
    run(e, sql).unwrap_or_else(|err| panic!("{sql}: {err}"));
}

fn row(i: i64) -> Row {
    if i == 100 {
        return edge_row(i);
    }
    let null_every = |n: i64, v: Value| if i % n == 0 { Value::Null } else { v };
    vec![
        Value::Int(i * 3 - 100_000),
        null_every(50, Value::Int(i % 97)),
        Value::Decimal(Decimal::parse(&format!("{}.{:02}", i / 7 - 5000, i % 100)).unwrap()),
        null_every(
            31,
            Value::Text(format!("név-{i}-{}", "ő".repeat((i % 5) as usize))),
        ),
        null_every(13, Value::Blob(i.to_le_bytes().to_vec())),
        Value::Timestamp(i * 1_000_003),
        null_every(7, Value::Json(format!("{{\"n\": {i}}}"))),
        Value::Bool(i % 3 == 0),
        null_every(11, Value::Int(i % 30_000 - 15_000)),
        Value::Float(i as f32 / 8.0),
        null_every(9, Value::Double(i as f64 * 1e-3 - 7.5)),
        Value::Date(i as i32 - 60_000),
        Value::Time(i * 700_001 % 86_400_000_000),
        Value::TimestampTz(-i * 999_983),
        null_every(17, Value::Uuid(((i as u128) << 64 | 0xabc).to_be_bytes())),
    ]
}

/// The widest values of each type the segments keep (the others as usual).
fn edge_row(i: i64) -> Row {
    vec![
        Value::Int(i * 3 - 100_000),
        Value::Int(i32::MIN as i64),
        Value::Decimal(Decimal::parse("-9999999999.99").unwrap()),
        Value::Text(String::new()),
        Value::Blob(Vec::new()),
        Value::Timestamp(-3_155_760_000_000_000),
        Value::Json("[]".into()),
        Value::Bool(false),
        Value::Int(-32_768),
        Value::Float(f32::MAX),
        Value::Double(f64::NEG_INFINITY),
        Value::Date(-719_162),
        Value::Time(86_399_999_999),
        Value::TimestampTz(8_000_000_000_000_000),
        Value::Uuid([0xff; 16]),
    ]
}

fn store_with_rows(path: &std::path::Path) -> Arc<Store> {
    let store = Store::create_or_open(path).unwrap();
    for t in parse_schema(
        "CREATE TABLE big (id BIGINT NOT NULL, grp INTEGER, amount DECIMAL(12,2), name TEXT,
           bytes BLOB, at TIMESTAMP, doc JSON, flag BOOLEAN, small SMALLINT, f FLOAT, d DOUBLE,
           day DATE, clock TIME, tz TIMESTAMPTZ, u UUID, PRIMARY KEY (id));",
    )
    .unwrap()
    {
        store.create_table(&t).unwrap();
    }
    let table: Arc<str> = Arc::from("big");
    for start in (0..ROWS).step_by(20_000) {
        let batch = (start..start + 20_000)
            .map(|i| BatchRow {
                table: table.clone(),
                rowid: None,
                row: row(i),
            })
            .collect();
        store
            .write_batch(batch, &[], BadRows::Abort, WriteMode::Insert)
            .unwrap();
    }
    // Opened again, as a later command would: the rows are not "just written".
    drop(store);
    Arc::new(Store::open(path).unwrap())
}

fn layout_columns(store: &Store) -> Option<Vec<usize>> {
    let snap = store.snapshot("big").unwrap();
    snap.layout().map(|l| l.columns.clone())
}

/// A decimal's text as a whole number of cents.
fn cents(s: &str) -> i128 {
    let (whole, frac) = s.split_once('.').unwrap_or((s, "00"));
    let c = whole.trim_start_matches('-').parse::<i128>().unwrap() * 100
        + format!("{frac:0<2}").parse::<i128>().unwrap();
    if s.starts_with('-') {
        -c
    } else {
        c
    }
}

/// Positions of the columns of bounded width: the ones segments keep.
const KEPT: [usize; 12] = [0, 1, 2, 5, 7, 8, 9, 10, 11, 12, 13, 14];

/// A filter on the key makes the scan read rows: the reference for segments.
const BY_ROWS: &str = "WHERE id >= -1000000";

#[test]
fn whole_table_scans_from_column_segments_equal_scans_of_the_rows() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_with_rows(&dir.path().join("t.ldb"));
    assert!(ROWS as u64 >= columns::MIN_ROWS);
    let e = Engine::new(store.clone());
    let all = "SELECT id, grp, amount, at, flag, small, f, d, day, clock, tz, u FROM big";
    let from_segments = rows(&e, &format!("{all} ORDER BY id"));
    assert_eq!(layout_columns(&store), Some(KEPT.to_vec()));
    let from_rows = rows(&e, &format!("{all} {BY_ROWS} ORDER BY id"));
    assert_eq!(from_segments.len(), ROWS as usize);
    // The widest values come back as themselves.
    let edge = &from_segments[100];
    assert_eq!(edge[0], "-99700");
    assert_eq!(
        [&edge[1], &edge[2], &edge[5], &edge[9], &edge[11]],
        [
            "-2147483648",
            "-9999999999.99",
            "-32768",
            "23:59:59.999999",
            "ffffffff-ffff-ffff-ffff-ffffffffffff"
        ]
    );
    assert_eq!(from_segments, from_rows);
    // Read again from the segments now built, and as aggregates.
    assert_eq!(rows(&e, &format!("{all} ORDER BY id")), from_rows);
    let agg = |filter: &str| {
        rows(
            &e,
            &format!(
                "SELECT grp, count(*), sum(amount), min(at), max(at), \
                 sum(CASE WHEN flag THEN 1 ELSE 0 END) FROM big {filter} GROUP BY grp ORDER BY grp"
            ),
        )
    };
    assert_eq!(agg(""), agg(BY_ROWS));
    assert_eq!(rows(&e, "SELECT count(*) FROM big"), [[ROWS.to_string()]]);
    // Text, BLOB and JSON columns are read from the rows, and not kept.
    let wide = "SELECT id, name, bytes, doc FROM big";
    assert_eq!(
        rows(&e, &format!("{wide} ORDER BY id")),
        rows(&e, &format!("{wide} {BY_ROWS} ORDER BY id"))
    );
    assert_eq!(layout_columns(&store), Some(KEPT.to_vec()));
}

#[test]
fn a_write_drops_the_segments_and_the_next_scan_sees_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ldb");
    let store = store_with_rows(&path);
    let e = Engine::new(store.clone());
    let total = |e: &Engine| rows(e, "SELECT sum(amount), count(*), max(grp) FROM big")[0].clone();
    let before = total(&e);
    let amount = |i| match &row(i)[2] {
        Value::Decimal(d) => cents(d.as_str()),
        other => panic!("{other:?}"),
    };
    let expected: i128 = (0..ROWS).map(amount).sum();
    assert_eq!(cents(&before[0]), expected);
    assert_eq!(layout_columns(&store), Some(vec![1, 2]));
    // Another column is added to the same chunks.
    let chunks = store
        .snapshot("big")
        .unwrap()
        .layout()
        .unwrap()
        .chunks
        .clone();
    assert!(chunks.len() >= 2, "{} chunks", chunks.len());
    assert_eq!(rows(&e, "SELECT count(at) FROM big"), [[ROWS.to_string()]]);
    let layout = store.snapshot("big").unwrap().layout().unwrap().clone();
    assert_eq!((&layout.columns, &layout.chunks), (&vec![1, 2, 5], &chunks));
    assert_eq!(layout.rows(), ROWS as u64);

    // SQL writes.
    exec(
        &e,
        "UPDATE big SET amount = amount + 1000.01, grp = 500 WHERE id = -99997",
    );
    assert_eq!(layout_columns(&store), None);
    let after = total(&e);
    assert_eq!(cents(&after[0]), cents(&before[0]) + 100_001);
    assert_eq!(after[1..], [ROWS.to_string(), "500".to_string()]);
    // Written a moment ago: read row by row, and built again once quiet.
    assert_eq!(layout_columns(&store), None);
    std::thread::sleep(columns::QUIET);
    assert_eq!(after, total(&e), "read from the rebuilt segments");
    assert_eq!(layout_columns(&store), Some(vec![1, 2]));
    exec(&e, "DELETE FROM big WHERE id < -99000");
    assert_eq!(
        rows(&e, "SELECT count(*) FROM big")[0][0],
        (ROWS - 334).to_string()
    );

    // A copy's upsert and a repair drop them too.
    let mut changed = row(1000);
    changed[1] = Value::Int(900);
    store
        .write_batch(
            vec![BatchRow {
                table: Arc::from("big"),
                rowid: None,
                row: changed,
            }],
            &[],
            BadRows::Abort,
            WriteMode::Upsert,
        )
        .unwrap();
    assert_eq!(rows(&e, "SELECT max(grp) FROM big"), [["900"]]);
    let key = store
        .encode_table_key("big", &[Value::Int(1000 * 3 - 100_000)])
        .unwrap();
    store.apply("big", Vec::new(), &[key]).unwrap();
    assert_eq!(rows(&e, "SELECT max(grp) FROM big"), [["96"]]);
    assert_eq!(
        rows(&e, "SELECT count(*) FROM big")[0][0],
        (ROWS - 335).to_string()
    );

    // Segments outlive the process and are read back as built.
    std::thread::sleep(columns::QUIET);
    let expected = rows(
        &e,
        "SELECT grp, count(*), sum(amount) FROM big GROUP BY grp ORDER BY grp",
    );
    drop(e);
    // A scan's reader thread may hold the store a moment after its last batch.
    let waited = std::time::Instant::now();
    while Arc::strong_count(&store) > 1 && waited.elapsed() < std::time::Duration::from_secs(30) {
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert_eq!(Arc::strong_count(&store), 1);
    drop(store);
    let store = Arc::new(Store::open(&path).unwrap());
    assert!(layout_columns(&store).is_some());
    let e = Engine::new(store);
    assert_eq!(
        rows(
            &e,
            "SELECT grp, count(*), sum(amount) FROM big GROUP BY grp ORDER BY grp"
        ),
        expected
    );
}
