use std::sync::Arc;

use super::*;
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
                "uses store format {found}, but this tool reads format 2"
            )) && err.contains(advice),
            "{err}"
        );
    }
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
