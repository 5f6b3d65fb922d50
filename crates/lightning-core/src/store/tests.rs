use std::ops::Bound;
use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::keycode::encode_key;
use crate::schema::{ColumnSchema, IndexKind, IndexSchema};
use crate::types::LightningType;

fn users() -> TableSchema {
    let mut t = TableSchema::new("users");
    let mut id = ColumnSchema::new("id", LightningType::BigInt);
    id.nullable = false;
    t.columns = vec![id, ColumnSchema::new("email", LightningType::Text)];
    t.primary_key = vec!["id".into()];
    t.indexes.push(IndexSchema {
        name: "users_email".into(),
        columns: vec!["email".into()],
        unique: true,
        kind: IndexKind::BTree,
    });
    t
}

fn row(id: i64, email: &str) -> BatchRow {
    BatchRow {
        table: Arc::from("users"),
        rowid: None,
        row: vec![Value::Int(id), Value::Text(email.into())],
    }
}

fn insert(s: &Store, rows: Vec<BatchRow>) {
    s.write_batch(rows, &[], BadRows::Abort, WriteMode::Insert)
        .unwrap();
}

#[test]
fn stores_of_other_formats_are_refused_with_advice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ldb");
    drop(Store::create_or_open(&path).unwrap());
    let marker = path.join(MARKER_FILE);
    for (found, advice) in [("1", "earlier version"), ("99", "upgrade the tool")] {
        std::fs::write(&marker, format!("Lightning store\nformat {found}\n")).unwrap();
        let err = Store::open(&path).err().expect("refused").to_string();
        assert!(
            err.contains(&format!(
                "uses store format {found}, but this tool reads format 5"
            )) && err.contains(advice),
            "{err}"
        );
    }
}

#[test]
fn stores_of_formats_2_to_4_are_upgraded_in_place_when_opened() {
    for old in ["2", "3", "4"] {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("s.ldb");
        {
            let s = Store::create_or_open(&path).unwrap();
            s.create_table(&users()).unwrap();
            s.write_batch(vec![row(1, "a")], &[], BadRows::Abort, WriteMode::Insert)
                .unwrap();
            s.meta.insert(b"format", old).unwrap();
            s.sync().unwrap();
        }
        let marker = path.join(MARKER_FILE);
        std::fs::write(&marker, format!("Lightning store\nformat {old}\n")).unwrap();
        let s = Store::open(&path).unwrap();
        assert_eq!(s.count("users").unwrap(), 1);
        assert!(s.changes_since(0).unwrap().is_empty());
        assert!(s.snapshot("users").unwrap().layout().is_none());
        assert_eq!(
            std::fs::read_to_string(&marker).unwrap(),
            "Lightning store\nformat 5\n"
        );
        assert_eq!(&*s.meta.get(b"format").unwrap().unwrap(), b"5");
    }
}

/// Build column segments of `users` (one chunk of the email column, its bytes
/// the rows' emails joined) from the build's own snapshot.
fn build_emails(s: &Store) -> Option<bool> {
    let b = s.begin_columns("users", Duration::ZERO).unwrap()?;
    let snap = b.snapshot().clone();
    let mut emails = Vec::new();
    let mut first = None;
    for item in s.scan_snapshot(&snap, Bound::Unbounded, Bound::Unbounded) {
        let (k, v) = item.unwrap();
        first.get_or_insert_with(|| k.to_vec());
        emails.push(text_at(&crate::rowcodec::decode_row(&v).unwrap(), 1));
    }
    b.put_chunk(1, 0, emails.join(",").as_bytes()).unwrap();
    let layout = ColumnLayout {
        build: b.id(),
        chunks: vec![ColumnChunk {
            id: 0,
            start: first.unwrap_or_default(),
            rows: emails.len() as u64,
        }],
        columns: vec![1],
    };
    Some(b.publish(&layout).unwrap())
}

#[test]
fn column_segments_last_until_the_table_is_written_and_a_build_a_commit_overtook_is_dropped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ldb");
    let chunk = |s: &Store| {
        let snap = s.snapshot("users").unwrap();
        snap.layout()?;
        Some(String::from_utf8(s.column_chunk(&snap, 1, 0).unwrap().to_vec()).unwrap())
    };
    {
        let s = Store::create_or_open(&path).unwrap();
        s.create_table(&users()).unwrap();
        insert(&s, vec![row(1, "a"), row(2, "b")]);
        assert_eq!(build_emails(&s), Some(true));
        assert_eq!(chunk(&s).as_deref(), Some("a,b"));
        // A snapshot taken now keeps reading what it saw after a write.
        let before = s.snapshot("users").unwrap();
        s.write_batch(vec![row(3, "c")], &[], BadRows::Abort, WriteMode::Insert)
            .unwrap();
        assert_eq!(chunk(&s), None, "a write drops the layout");
        assert_eq!(&*s.column_chunk(&before, 1, 0).unwrap(), b"a,b");
        assert_eq!(build_emails(&s), Some(true));
        assert_eq!(chunk(&s).as_deref(), Some("a,b,c"));

        // One build at a time per table; a commit during a build wins.
        let b = s
            .begin_columns("users", Duration::ZERO)
            .unwrap()
            .expect("no build runs");
        assert!(s.begin_columns("users", Duration::ZERO).unwrap().is_none());
        s.write_batch(vec![row(4, "d")], &[], BadRows::Abort, WriteMode::Upsert)
            .unwrap();
        let stale = ColumnLayout {
            build: b.id(),
            chunks: Vec::new(),
            columns: vec![1],
        };
        assert!(!b.publish(&stale).unwrap());
        assert_eq!(chunk(&s), None);
        // A table written a moment ago is not built when the caller wants quiet.
        assert!(s
            .begin_columns("users", Duration::from_secs(3600))
            .unwrap()
            .is_none());
        assert_eq!(build_emails(&s), Some(true));
    }
    // The layout outlives the process; a repair (apply) drops it too.
    let s = Store::open(&path).unwrap();
    assert_eq!(chunk(&s).as_deref(), Some("a,b,c,d"));
    s.apply("users", Vec::new(), &[encode_key(&[Value::Int(4)])])
        .unwrap();
    assert_eq!(chunk(&s), None);
    assert_eq!(build_emails(&s), Some(true));
    s.drop_table("users").unwrap();
    s.create_table(&users()).unwrap();
    assert!(s.snapshot("users").unwrap().layout().is_none());
    assert!(!s.db.keyspace_exists(&columns::columns_keyspace(1)));
}

#[test]
fn writes_scans_and_enforces_keys() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ldb");
    {
        let s = Store::create_or_open(&path).unwrap();
        s.create_table(&users()).unwrap();
        let ck = Checkpoint {
            partition: "users".into(),
            table: "users".into(),
            position: Some("2".into()),
            rows: 2,
            done: false,
        };
        s.write_batch(
            vec![row(2, "b"), row(-1, "a")],
            std::slice::from_ref(&ck),
            BadRows::Abort,
            WriteMode::Insert,
        )
        .unwrap();
        assert_eq!(s.count("users").unwrap(), 2);
        let keys: Vec<i64> = s
            .scan("users")
            .unwrap()
            .map(|r| match r.unwrap().1[0] {
                Value::Int(i) => i,
                _ => 0,
            })
            .collect();
        assert_eq!(keys, vec![-1, 2]);
        let err = s
            .write_batch(
                vec![row(3, "c"), row(2, "x")],
                &[],
                BadRows::Abort,
                WriteMode::Insert,
            )
            .unwrap_err();
        assert!(
            err.to_string().contains("duplicate primary key (id=2)"),
            "{err}"
        );
        assert_eq!(
            s.count("users").unwrap(),
            2,
            "a failed batch writes nothing"
        );
        let rej = s
            .write_batch(
                vec![row(3, "c"), row(4, "a")],
                &[],
                BadRows::SetAside(&mut |_| Ok(())),
                WriteMode::Insert,
            )
            .unwrap();
        assert_eq!(rej.len(), 1);
        assert!(rej[0].reason.contains("unique index `users_email`"));
        assert_eq!(s.count("users").unwrap(), 3);
        assert_eq!(s.checkpoint("users").unwrap(), Some(ck));
        assert_eq!(
            s.index_lookup("users", "users_email", &[Value::Text("c".into())])
                .unwrap()
                .len(),
            1
        );
        s.sync().unwrap();
    }
    let s = Store::open(&path).unwrap();
    assert_eq!(s.count("users").unwrap(), 3);
    assert_eq!(
        s.get("users", &[Value::Int(3)]).unwrap().unwrap()[1],
        Value::Text("c".into())
    );
    assert!(matches!(s.count("nope"), Err(StoreError::UnknownTable(_))));
    s.drop_table("users").unwrap();
    assert!(s.tables().is_empty());
}

#[test]
fn refuses_what_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    assert!(matches!(
        Store::open(dir.path().join("none")),
        Err(StoreError::Missing(_))
    ));
    assert!(matches!(
        Store::open(dir.path()),
        Err(StoreError::NotAStore(_))
    ));
}

// ---- Long keys: stored as a prefix and a hash, every match checked in full ----

/// `docs(k TEXT PRIMARY KEY, u TEXT UNIQUE, tag TEXT)` with a secondary index on `tag`.
fn docs() -> TableSchema {
    let mut t = TableSchema::new("docs");
    let mut k = ColumnSchema::new("k", LightningType::Text);
    k.nullable = false;
    t.columns = vec![
        k,
        ColumnSchema::new("u", LightningType::Text),
        ColumnSchema::new("tag", LightningType::Text),
    ];
    t.primary_key = vec!["k".into()];
    t.uniques.push(crate::schema::UniqueConstraint {
        name: Some("docs_u".into()),
        columns: vec!["u".into()],
    });
    t.indexes.push(IndexSchema {
        name: "docs_tag".into(),
        columns: vec!["tag".into()],
        unique: false,
        kind: IndexKind::BTree,
    });
    t
}

/// A text of `len` bytes: a shared head of 2,000 bytes, then `tail` repeated.
fn long_text(tail: char, len: usize) -> String {
    let mut s = "h".repeat(2_000);
    while s.len() < len {
        s.push(tail);
    }
    s
}

fn doc(k: &str, u: Option<&str>, tag: &str) -> BatchRow {
    BatchRow {
        table: Arc::from("docs"),
        rowid: None,
        row: vec![
            Value::Text(k.into()),
            u.map_or(Value::Null, |u| Value::Text(u.into())),
            Value::Text(tag.into()),
        ],
    }
}

fn text_at(row: &Row, i: usize) -> String {
    match &row[i] {
        Value::Text(s) => s.clone(),
        other => panic!("text expected, got {other:?}"),
    }
}

fn scanned_keys(s: &Store, from: Bound<Vec<u8>>, to: Bound<Vec<u8>>) -> Vec<String> {
    s.scan_range("docs", from, to)
        .unwrap()
        .map(|r| {
            let (key, row) = r.unwrap();
            assert_eq!(key, encode_key([&row[0]]), "a row comes with its whole key");
            text_at(&row, 0)
        })
        .collect()
}

/// Keys sharing their first 2,000 bytes (past `LONG_KEY`), differing only after,
/// some of them 70,000 bytes long, mixed with short keys.
fn long_keys() -> Vec<String> {
    let mut keys = vec![
        long_text('m', 70_000),
        long_text('a', 2_100),
        long_text('z', 3_000),
        long_text('b', 70_000),
        "short".to_string(),
        "h".repeat(1_000),
        "h".repeat(2_000), // the shared head itself: a prefix of every long one
        long_text('a', 70_000),
        "zzz".to_string(),
    ];
    // Two that differ in their very last byte.
    let mut x = long_text('q', 69_999);
    x.push('1');
    keys.push(x.clone());
    x.pop();
    x.push('0');
    keys.push(x);
    keys
}

#[test]
fn long_keys_are_found_scanned_in_order_and_refused_twice() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_or_open(dir.path().join("long.ldb")).unwrap();
    s.create_table(&docs()).unwrap();
    let keys = long_keys();
    assert!(keys.iter().filter(|k| k.len() > 60_000).count() >= 4);
    let rows: Vec<BatchRow> = keys
        .iter()
        .enumerate()
        .map(|(i, k)| doc(k, Some(&format!("{k}#{i}")), &format!("{}{i}", k)))
        .collect();
    s.write_batch(rows, &[], BadRows::Abort, WriteMode::Insert)
        .unwrap();
    assert_eq!(s.count("docs").unwrap(), keys.len() as u64);

    for (i, k) in keys.iter().enumerate() {
        let row = s
            .get("docs", &[Value::Text(k.clone())])
            .unwrap()
            .unwrap_or_else(|| panic!("key {i} ({} bytes) not found", k.len()));
        assert_eq!(&text_at(&row, 0), k);
        assert_eq!(text_at(&row, 1), format!("{k}#{i}"));
        // The secondary index finds it by its long value.
        let found = s
            .index_lookup("docs", "docs_tag", &[Value::Text(format!("{k}{i}"))])
            .unwrap();
        assert_eq!(found.len(), 1, "index lookup of key {i}");
        let by_unique = s
            .index_lookup("docs", "docs_u", &[Value::Text(format!("{k}#{i}"))])
            .unwrap();
        assert_eq!(by_unique.len(), 1, "unique lookup of key {i}");
    }
    // A key that shares the stored prefix of the long ones but is not there.
    assert!(s
        .get("docs", &[Value::Text(long_text('c', 70_000))])
        .unwrap()
        .is_none());

    // A scan gives the keys in the order of their values.
    let mut sorted = keys.clone();
    sorted.sort();
    assert_eq!(scanned_keys(&s, Bound::Unbounded, Bound::Unbounded), sorted);

    // The same long key again, or a long unique value again, is refused.
    let err = s
        .write_batch(
            vec![doc(&keys[0], Some("fresh"), "t")],
            &[],
            BadRows::Abort,
            WriteMode::Insert,
        )
        .unwrap_err();
    assert!(err.to_string().contains("duplicate primary key"), "{err}");
    let err = s
        .write_batch(
            vec![doc("new key", Some(&format!("{}#3", keys[3])), "t")],
            &[],
            BadRows::Abort,
            WriteMode::Insert,
        )
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("duplicate value for unique index `docs_u`"),
        "{err}"
    );
    // Twice in one batch too (neither is in the table yet).
    let twin = long_text('t', 70_000);
    let err = s
        .write_batch(
            vec![doc("one", Some(&twin), "t"), doc("two", Some(&twin), "t")],
            &[],
            BadRows::Abort,
            WriteMode::Insert,
        )
        .unwrap_err();
    assert!(err.to_string().contains("unique index `docs_u`"), "{err}");
    // Long values that differ only after the stored prefix are not duplicates.
    s.write_batch(
        vec![
            doc("one", Some(&long_text('t', 70_000)), "t"),
            doc("two", Some(&long_text('u', 70_000)), "t"),
        ],
        &[],
        BadRows::Abort,
        WriteMode::Insert,
    )
    .unwrap();
    assert_eq!(s.count("docs").unwrap(), keys.len() as u64 + 2);
    let report = s.check();
    assert!(report.healthy, "{report:?}");
}

#[test]
fn scan_range_with_long_bounds_returns_exactly_the_keys_within_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_or_open(dir.path().join("range.ldb")).unwrap();
    s.create_table(&docs()).unwrap();
    let all = long_keys();
    s.write_batch(
        all.iter().map(|k| doc(k, None, "t")).collect(),
        &[],
        BadRows::Abort,
        WriteMode::Insert,
    )
    .unwrap();
    let mut sorted = all.clone();
    sorted.sort();
    let enc = |k: &str| encode_key([&Value::Text(k.into())]);
    // Bounds: every key of the table, and long keys that are not in it (between
    // two stored ones with the same prefix, and past all of them).
    let mut bounds: Vec<String> = all.clone();
    bounds.push(long_text('c', 70_000));
    bounds.push(long_text('a', 2_050));
    bounds.push(long_text('~', 5_000));
    bounds.push("h".repeat(1_500));
    let bound = |kind: u8, k: &str| match kind {
        0 => Bound::Included(enc(k)),
        1 => Bound::Excluded(enc(k)),
        _ => Bound::Unbounded,
    };
    let mut checked = 0;
    for lo in &bounds {
        for hi in &bounds {
            for (lk, hk) in [(0, 1), (1, 0), (0, 0), (1, 1), (2, 1), (0, 2)] {
                let (from, to) = (bound(lk, lo), bound(hk, hi));
                let expected: Vec<String> = sorted
                    .iter()
                    .filter(|k| keys::within(&enc(k), &from, &to))
                    .cloned()
                    .collect();
                let got = scanned_keys(&s, from, to);
                assert_eq!(
                    got.iter().map(String::len).collect::<Vec<_>>(),
                    expected.iter().map(String::len).collect::<Vec<_>>(),
                    "bounds of {} ({lk}) and {} ({hk}) bytes",
                    lo.len(),
                    hi.len()
                );
                assert_eq!(got, expected);
                checked += 1;
            }
        }
    }
    assert!(checked > 500);
}

#[test]
fn upsert_and_apply_with_long_keys_replace_delete_and_evict_unique_holders() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("upsert.ldb");
    let (a, b, c) = (
        long_text('a', 70_000),
        long_text('b', 70_000),
        long_text('c', 70_000),
    );
    let (x, y) = (long_text('x', 70_000), long_text('y', 70_000));
    {
        let s = Store::create_or_open(&path).unwrap();
        s.create_table(&docs()).unwrap();
        s.write_batch(
            vec![doc(&a, Some(&x), "first"), doc(&b, Some(&y), "second")],
            &[],
            BadRows::Abort,
            WriteMode::Insert,
        )
        .unwrap();

        // Upsert: `a` is replaced (not refused), `c` takes `b`'s unique value, so
        // the stale row `b` is dropped; the table is marked for a repair.
        s.write_batch(
            vec![doc(&a, Some(&x), "changed"), doc(&c, Some(&y), "third")],
            &[],
            BadRows::Abort,
            WriteMode::Upsert,
        )
        .unwrap();
        assert_eq!(s.count("docs").unwrap(), 2);
        assert_eq!(
            text_at(
                &s.get("docs", &[Value::Text(a.clone())]).unwrap().unwrap(),
                2
            ),
            "changed"
        );
        assert!(s.get("docs", &[Value::Text(b.clone())]).unwrap().is_none());
        let holder = s
            .index_lookup("docs", "docs_u", &[Value::Text(y.clone())])
            .unwrap();
        assert_eq!(holder.len(), 1);
        assert_eq!(text_at(&holder[0], 0), c);
        assert_eq!(s.marked_for_repair().unwrap(), vec!["docs".to_string()]);
        assert!(s.check().healthy, "{:?}", s.check());

        // Apply: delete `a` by its whole key, put `b` back with `x` (free now),
        // move `c` to a new unique value, and put a row that evicts nobody.
        let puts = vec![
            (None, doc(&b, Some(&x), "back").row),
            (None, doc(&c, Some(&long_text('z', 70_000)), "moved").row),
        ];
        let counts = s
            .apply("docs", puts, &[encode_key([&Value::Text(a.clone())])])
            .unwrap();
        assert_eq!(
            counts,
            RepairCounts {
                inserted: 1,
                updated: 1,
                deleted: 1
            }
        );
        assert_eq!(s.count("docs").unwrap(), 2);
        // A unique value held by another row: the holder goes, and is counted.
        let counts = s
            .apply(
                "docs",
                vec![(None, doc("short", Some(&x), "takes x").row)],
                &[],
            )
            .unwrap();
        assert_eq!(
            counts,
            RepairCounts {
                inserted: 1,
                updated: 0,
                deleted: 1
            }
        );
        // Deleting a long key that is not there changes nothing.
        let none = s
            .apply("docs", Vec::new(), &[encode_key([&Value::Text(a.clone())])])
            .unwrap();
        assert_eq!(none, RepairCounts::default());
        s.repaired("docs").unwrap();
        s.flush().unwrap();
    }
    let s = Store::open(&path).unwrap();
    let rows: Vec<(String, String)> = s
        .scan("docs")
        .unwrap()
        .map(|r| {
            let row = r.unwrap().1;
            (text_at(&row, 0), text_at(&row, 2))
        })
        .collect();
    assert_eq!(
        rows,
        vec![
            (c.clone(), "moved".into()),
            ("short".into(), "takes x".into())
        ]
    );
    assert!(s.get("docs", &[Value::Text(b)]).unwrap().is_none());
    assert_eq!(
        s.index_lookup("docs", "docs_u", &[Value::Text(x)])
            .unwrap()
            .len(),
        1
    );
    assert!(s.marked_for_repair().unwrap().is_empty());
    let report = s.check();
    assert!(report.healthy, "{report:?}");
    assert_eq!(report.tables[0].rows_found, 2);
}

#[test]
fn a_dropped_table_leaves_no_plan_checkpoint_or_mark_behind() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_or_open(dir.path().join("drop.ldb")).unwrap();
    s.create_table(&users()).unwrap();
    let plan = vec![PlannedPartition {
        id: "users#0".into(),
        spec: "..100".into(),
        estimated_rows: 100,
    }];
    s.set_plan("users", &plan).unwrap();
    let ck = Checkpoint {
        partition: "users#0".into(),
        table: "users".into(),
        position: Some("1".into()),
        rows: 1,
        done: false,
    };
    s.write_batch(vec![row(1, "a")], &[ck], BadRows::Abort, WriteMode::Upsert)
        .unwrap();
    assert_eq!(s.plan("users").unwrap(), Some(plan));
    assert_eq!(s.marked_for_repair().unwrap(), vec!["users".to_string()]);
    s.drop_table("users").unwrap();
    s.create_table(&users()).unwrap();
    assert_eq!(s.plan("users").unwrap(), None, "a new copy plans anew");
    assert!(s.checkpoints().unwrap().is_empty());
    assert!(s.marked_for_repair().unwrap().is_empty());
    assert_eq!(s.count("users").unwrap(), 0);
    assert!(s.get("users", &[Value::Int(1)]).unwrap().is_none());
    assert!(s.check().healthy);
}

#[test]
fn change_tables_commits_every_table_or_none() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_or_open(dir.path().join("t.ldb")).unwrap();
    s.create_table(&users()).unwrap();
    let mut other = users();
    other.name = "admins".into();
    for ix in &mut other.indexes {
        ix.name = "admins_email".into();
    }
    s.create_table(&other).unwrap();
    s.write_batch(vec![row(1, "a")], &[], BadRows::Abort, WriteMode::Insert)
        .unwrap();
    let key1 = s.encode_table_key("users", &[Value::Int(1)]).unwrap();
    let put = |id: i64, email: &str| (None, vec![Value::Int(id), Value::Text(email.into())]);
    // The second table's duplicate refuses the whole commit: users keeps row 1.
    let err = s
        .change_tables(vec![
            TableChange {
                table: "users".into(),
                deletes: vec![key1.clone()],
                puts: vec![put(2, "b")],
            },
            TableChange {
                table: "admins".into(),
                deletes: Vec::new(),
                puts: vec![put(7, "x"), put(7, "y")],
            },
        ])
        .unwrap_err();
    assert!(
        err.to_string().contains("duplicate primary key (id=7)"),
        "{err}"
    );
    assert!(s.get("users", &[Value::Int(1)]).unwrap().is_some());
    assert_eq!(
        (s.count("users").unwrap(), s.count("admins").unwrap()),
        (1, 0)
    );
    let done = s
        .change_tables(vec![
            TableChange {
                table: "users".into(),
                deletes: vec![key1],
                puts: vec![put(2, "a")],
            },
            TableChange {
                table: "admins".into(),
                deletes: Vec::new(),
                puts: vec![put(7, "x")],
            },
        ])
        .unwrap();
    assert_eq!(
        (done[0].deleted, done[0].inserted, done[1].inserted),
        (1, 1, 1)
    );
    assert!(s.get("users", &[Value::Int(1)]).unwrap().is_none());
    assert_eq!(
        s.index_lookup("users", "users_email", &[Value::Text("a".into())])
            .unwrap()
            .len(),
        1
    );
    assert_eq!(
        (s.count("users").unwrap(), s.count("admins").unwrap()),
        (1, 1)
    );
}

#[test]
fn sql_writes_are_logged_with_their_commit_and_copies_are_not() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("t.ldb");
    let s = Store::create_or_open(&path).unwrap();
    let mut docs = TableSchema::new("docs");
    let mut k = ColumnSchema::new("k", LightningType::Text);
    k.nullable = false;
    docs.columns = vec![k];
    docs.primary_key = vec!["k".into()];
    s.create_table(&users()).unwrap();
    s.create_table(&docs).unwrap();
    // A copy (and a repair) writes rows the source has: not logged.
    insert(&s, vec![row(1, "a"), row(2, "b")]);
    s.apply("users", vec![(None, row(3, "c").row)], &[])
        .unwrap();
    assert!(s.changes_since(0).unwrap().is_empty());

    let key = |id: i64| encode_key([&Value::Int(id)]);
    let put = |id: i64, email: &str| (None, vec![Value::Int(id), Value::Text(email.into())]);
    assert_eq!(
        key(1),
        s.encode_table_key("users", &[Value::Int(1)]).unwrap()
    );
    // An UPDATE of row 1, then a DELETE of row 2 and an INSERT in one transaction.
    s.change("users", &[key(1)], vec![put(1, "a2")]).unwrap();
    let long = "x".repeat(LONG_KEY + 10);
    s.change_tables(vec![
        TableChange {
            table: "users".into(),
            deletes: vec![key(2)],
            puts: vec![put(4, "d")],
        },
        TableChange {
            table: "docs".into(),
            deletes: Vec::new(),
            puts: vec![(None, vec![Value::Text(long.clone())])],
        },
    ])
    .unwrap();
    let long_key = s.encode_table_key("docs", &[Value::Text(long)]).unwrap();
    s.change("docs", std::slice::from_ref(&long_key), Vec::new())
        .unwrap();
    let log = s.changes_since(0).unwrap();
    let seen: Vec<(&str, &[u8], bool)> = log
        .iter()
        .map(|c| (c.table.as_str(), c.key.as_slice(), c.deleted))
        .collect();
    let (k1, k2, k4) = (key(1), key(2), key(4));
    assert_eq!(
        seen,
        vec![
            ("users", &k1[..], false),
            ("users", &k2[..], true),
            ("users", &k4[..], false),
            ("docs", &long_key[..], false),
            ("docs", &long_key[..], true),
        ]
    );
    assert!(log.windows(2).all(|w| w[0].at_micros <= w[1].at_micros));
    // From the second commit's time on: the first is left out.
    let later = s.changes_since(log[1].at_micros).unwrap();
    assert_eq!(later.len(), 4);

    // The log survives a reopen; a table dropped since is left out of it.
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!(s.changes_since(0).unwrap(), log);
    s.drop_table("docs").unwrap();
    s.change("users", &[], vec![put(5, "e")]).unwrap();
    let after = s.changes_since(0).unwrap();
    assert_eq!(after.len(), 4);
    assert_eq!(after[3].key, key(5));
    assert!(after[3].at_micros >= log[4].at_micros);
}

fn events() -> TableSchema {
    let mut t = TableSchema::new("events");
    let mut id = ColumnSchema::new("id", LightningType::BigInt);
    id.nullable = false;
    t.columns = vec![id, ColumnSchema::new("v", LightningType::Text)];
    t.primary_key = vec!["id".into()];
    t.indexes.push(IndexSchema {
        name: "events_v".into(),
        columns: vec!["v".into()],
        unique: false,
        kind: IndexKind::BTree,
    });
    t
}

fn event(id: i64, v: &str) -> BatchRow {
    BatchRow {
        table: Arc::from("events"),
        rowid: None,
        row: vec![Value::Int(id), Value::Text(v.into())],
    }
}

fn event_rows(s: &Store) -> Vec<(i64, String)> {
    s.scan("events")
        .unwrap()
        .map(|r| {
            let (_, r) = r.unwrap();
            let Value::Int(id) = r[0] else {
                panic!("{r:?}")
            };
            (id, text_at(&r, 1))
        })
        .collect()
}

fn table_files(s: &Store, table: &str) -> usize {
    s.catalog.read().unwrap()[table].rows.table_count()
}

#[test]
fn rows_where_the_table_holds_no_key_are_loaded_in_bulk_and_still_refused_twice() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ldb");
    let s = Store::create_or_open(&path).unwrap();
    s.create_table(&events()).unwrap();
    let write = |rows: Vec<BatchRow>| {
        let mut kept = Vec::new();
        let mut keep = |r: &[RejectedRow]| {
            kept.extend(
                r.iter()
                    .map(|r| (r.key.clone(), r.reason.clone(), r.row.clone())),
            );
            Ok(())
        };
        s.write_batch(rows, &[], BadRows::SetAside(&mut keep), WriteMode::Insert)
            .unwrap();
        kept
    };

    // Out of order, with two keys given twice and one row that fails its check:
    // the first of each key stays, the later ones are refused.
    let mut batch: Vec<BatchRow> = (0..400).map(|i| event(1000 + (i * 7) % 400, "a")).collect();
    batch.push(event(1005, "again"));
    batch.push(event(1399, "again"));
    batch.push(BatchRow {
        table: Arc::from("events"),
        rowid: None,
        row: vec![Value::Null, Value::Text("no key".into())],
    });
    let refused = write(batch);
    assert_eq!(refused.len(), 3, "{refused:?}");
    assert!(refused
        .iter()
        .any(|(k, r, _)| k == "id=1005" && r == "duplicate primary key (id=1005)"));
    assert!(refused
        .iter()
        .any(|(k, _, row)| k == "id=1399" && row[1] == Value::Text("again".into())));
    assert_eq!(
        table_files(&s, "events"),
        1,
        "the rows went straight to a table file"
    );
    assert_eq!(s.count("events").unwrap(), 400);

    // Below everything the table holds: in bulk again.
    write((0..300).map(|i| event(i, "b")).collect());
    assert_eq!(table_files(&s, "events"), 2);
    // Overlapping what it holds: row by row, each key looked up.
    let refused = write((1200..1700).map(|i| event(i, "c")).collect());
    assert_eq!(refused.len(), 200);
    assert!(refused
        .iter()
        .all(|(_, r, _)| r.starts_with("duplicate primary key")));
    assert_eq!(
        table_files(&s, "events"),
        2,
        "the rows went to the in-memory table"
    );
    assert_eq!(s.count("events").unwrap(), 1000);

    let expect: Vec<(i64, String)> = (0..300)
        .map(|i| (i, "b".to_string()))
        .chain((1000..1400).map(|i| (i, "a".to_string())))
        .chain((1400..1700).map(|i| (i, "c".to_string())))
        .collect();
    assert_eq!(event_rows(&s), expect);
    drop(s);
    let s = Store::open(&path).unwrap();
    assert_eq!(event_rows(&s), expect);
    assert_eq!(s.count("events").unwrap(), 1000);
    // Each row kept has exactly its index entries, the refused ones none.
    let report = s.check();
    assert!(report.healthy, "{:?}", report.tables);
    assert_eq!(report.tables[0].index_entries, 1000);
}

#[test]
fn a_bulk_batch_far_out_of_key_order_marks_its_table_scattered() {
    let dir = tempfile::tempdir().unwrap();
    let s = Store::create_or_open(dir.path().join("s.ldb")).unwrap();
    s.create_table(&events()).unwrap();
    let write = |rows: Vec<BatchRow>| {
        s.write_batch(rows, &[], BadRows::Abort, WriteMode::Insert)
            .unwrap();
    };
    // In order but for a few rows that come last (rows updated in place).
    let late = [1003, 1050, 1101, 1177, 1190];
    let rows = (1000..1400)
        .filter(|i| !late.contains(i))
        .chain(late)
        .map(|i| event(i, "a"));
    write(rows.collect());
    assert!(s.scattered_tables().is_empty());
    // Keys as a hash orders them.
    write(
        (0..400)
            .map(|i| event(5000 + (i * 7919) % 10007, "b"))
            .collect(),
    );
    assert_eq!(s.scattered_tables(), HashSet::from(["events".to_string()]));
    assert_eq!(s.count("events").unwrap(), 800);
}

#[test]
fn a_bulk_load_whose_commit_never_came_is_undone_when_the_store_opens() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("s.ldb");
    let s = Store::create_or_open(&path).unwrap();
    s.create_table(&events()).unwrap();
    insert(&s, (0..10).map(|i| event(i * 1000, "kept")).collect());
    // What a process that died between the ingestion and its commit leaves: the
    // intent, and rows in the span it names (here between rows the table held).
    {
        let cat = s.catalog.read().unwrap();
        let e = &cat["events"];
        let by_id = HashMap::from([(e.id, e)]);
        let rows: Vec<bulk::BulkRow> = (1001..1500)
            .map(|i| bulk::BulkRow {
                key: encode_key([&Value::Int(i)]),
                value: {
                    let mut v = Vec::new();
                    crate::rowcodec::encode_row(
                        &[Value::Int(i), Value::Text("lost".into())],
                        &mut v,
                    );
                    v
                },
                order: 0,
                index: Vec::new(),
            })
            .collect();
        let intent = s.ingest(&by_id, HashMap::from([(e.id, rows)])).unwrap();
        assert!(intent.is_some());
    }
    assert_eq!(event_rows(&s).len(), 10 + 499);
    drop(s);
    let s = Store::open(&path).unwrap();
    let rows = event_rows(&s);
    assert_eq!(rows.len(), 10, "{:?}", &rows[..rows.len().min(12)]);
    assert!(rows.iter().all(|(_, v)| v == "kept"));
    assert_eq!(s.count("events").unwrap(), 10);
    assert!(s.meta.get(meta_key("ingest", b"")).unwrap().is_none());
    // The span is free again: the copy that resumes loads it in bulk.
    insert(&s, (1001..1500).map(|i| event(i, "again")).collect());
    assert_eq!(s.count("events").unwrap(), 509);
}

#[test]
fn a_checkpoints_position_reads_as_numbers_only_in_its_own_shape() {
    let at = |p: Option<&str>| Checkpoint {
        partition: "t".into(),
        table: "t".into(),
        position: p.map(str::to_string),
        rows: 0,
        done: false,
    };
    assert_eq!(
        at(Some("2:1048576:17")).position_numbers(),
        Some([2, 1048576, 17])
    );
    assert_eq!(at(Some("2:1048576")).position_numbers::<3>(), None);
    assert_eq!(at(Some("2:1:3:4")).position_numbers::<3>(), None);
    assert_eq!(at(Some("a:1:3")).position_numbers::<3>(), None);
    assert_eq!(at(None).position_numbers::<3>(), None);
}
