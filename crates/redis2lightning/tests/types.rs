//! Every Redis type, with the values at their edges, copied from a live server
//! and read back from the store exactly: bytes that are not UTF-8, unicode keys,
//! empty strings, huge values, keys big enough to be read in pages, special
//! scores, and TTLs to the millisecond.

mod common;

use std::collections::BTreeMap;

use common::*;
use lightning_core::value::{Row, Value};

const LIST: usize = 5000;
const HASH: usize = 1500;
const SET: usize = 3000;
const ZSET: usize = 2000;
const STREAM: usize = 1500;

/// The one table holding `key`, and the key's rows there.
fn rows_of(all: &BTreeMap<String, BTreeMap<Vec<u8>, Vec<Row>>>, key: &[u8]) -> (String, Vec<Row>) {
    let found: Vec<(String, Vec<Row>)> = all
        .iter()
        .filter_map(|(t, by_key)| by_key.get(key).map(|r| (t.clone(), r.clone())))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "key `{}` in {} tables: {:?}",
        String::from_utf8_lossy(key),
        found.len(),
        found.iter().map(|f| &f.0).collect::<Vec<_>>()
    );
    found.into_iter().next().unwrap()
}

#[test]
fn every_type_with_edge_values_is_copied_exactly() {
    let mut db = TestDb::new(dbs::EVERY_TYPE);
    let all_bytes: Vec<u8> = (0..=255u8).collect();
    let huge_string = "0123456789abcdef".repeat(65_536); // 1 MiB
    let huge_member = "m".repeat(100 * 1024);
    let mut c = vec![
        cmd("SET").arg("bin:all").arg(&all_bytes).clone(),
        cmd("SET").arg("用户:1").arg("张三").clone(),
        cmd("SET").arg("用户:2").arg("李四").clone(),
        cmd("SET").arg("emoji:🚀").arg("🎉 ok").clone(),
        cmd("SET").arg("empty:str").arg("").clone(),
        cmd("SET").arg("huge:str").arg(&huge_string).clone(),
        cmd("SADD")
            .arg("huge:set")
            .arg(&huge_member)
            .arg("small")
            .clone(),
        cmd("RPUSH")
            .arg("binlist")
            .arg(b"\x00".as_slice())
            .arg(b"\xff".as_slice())
            .arg("")
            .clone(),
        cmd("SET").arg(b"raw:\xff\xfe".as_slice()).arg("v1").clone(),
        cmd("SET").arg(b"raw:\xc3\x28".as_slice()).arg("v2").clone(),
        cmd("SET")
            .arg("ttl:str")
            .arg("t")
            .arg("EX")
            .arg(3600)
            .clone(),
        cmd("HSET")
            .arg("ttl:hash")
            .arg("a")
            .arg("1")
            .arg("b")
            .arg("")
            .clone(),
        cmd("PEXPIRE").arg("ttl:hash").arg(7_200_123).clone(),
        cmd("RPUSH").arg("ttl:list").arg("x").arg("y").clone(),
        // 2100-01-01T00:00:00.123Z
        cmd("PEXPIREAT")
            .arg("ttl:list")
            .arg(4_102_444_800_123i64)
            .clone(),
    ];
    for i in 0..LIST {
        c.push(cmd("RPUSH").arg("biglist").arg(format!("item-{i}")).clone());
    }
    for i in 0..HASH {
        c.push(
            cmd("HSET")
                .arg("bighash")
                .arg(format!("f{i}"))
                .arg(format!("v{i}"))
                .clone(),
        );
    }
    for i in 0..SET {
        c.push(cmd("SADD").arg("bigset").arg(format!("s{i}")).clone());
    }
    for i in 0..ZSET {
        c.push(
            cmd("ZADD")
                .arg("bigzset")
                .arg(i as f64 * 1.5 + 1.0)
                .arg(format!("z{i}"))
                .clone(),
        );
    }
    let specials: [(&str, &str, f64); 5] = [
        ("neg_inf", "-inf", f64::NEG_INFINITY),
        ("pos_inf", "+inf", f64::INFINITY),
        ("neg_zero", "-0.0", -0.0),
        ("tiny", "1e-300", 1e-300),
        ("tenth", "0.1", 0.1),
    ];
    for (m, s, _) in specials {
        c.push(cmd("ZADD").arg("bigzset").arg(s).arg(m).clone());
    }
    for i in 0..STREAM {
        c.push(
            cmd("XADD")
                .arg("bigstream")
                .arg(format!("{}-{}", 1_700_000_000_000u64 + i as u64, i % 3))
                .arg("n")
                .arg(i)
                .arg("s")
                .arg("é")
                .clone(),
        );
    }
    db.pipe(c);
    let ttl_str = db.expire_time(b"ttl:str");
    let ttl_hash = db.expire_time(b"ttl:hash");
    assert!(ttl_str > 0 && ttl_hash > 0);

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("types.ldb");
    migrate_verified(&db.url, &target, &[]);

    let all: BTreeMap<String, BTreeMap<Vec<u8>, Vec<Row>>> = tables(&target)
        .into_iter()
        .map(|t| {
            let r = rows_by_key(&target, &t);
            (t, r)
        })
        .collect();
    let one = |key: &[u8]| -> Row {
        let (t, r) = rows_of(&all, key);
        assert_eq!(r.len(), 1, "{t}: {r:?}");
        r.into_iter().next().unwrap()
    };
    let last2 = |r: &Row| (r[r.len() - 2].clone(), r[r.len() - 1].clone());

    // Strings: bytes, unicode, empty, huge; no TTL.
    assert_eq!(
        last2(&one(b"bin:all")),
        (Value::Blob(all_bytes.clone()), Value::Null)
    );
    let (t, r) = rows_of(&all, "用户:1".as_bytes());
    assert_eq!(
        r,
        [vec![
            text("用户:1"),
            Value::Int(1),
            text("张三"),
            Value::Null
        ]],
        "{t}"
    );
    assert_eq!(
        columns(&target, &t)[..2],
        ["key TEXT".to_string(), "用户_id BIGINT".to_string()]
    );
    assert_eq!(rows_of(&all, "用户:2".as_bytes()).1[0][2], text("李四"));
    assert_eq!(last2(&one("emoji:🚀".as_bytes())).0, text("🎉 ok"));
    assert_eq!(last2(&one(b"empty:str")).0, text(""));
    assert_eq!(last2(&one(b"huge:str")).0, text(&huge_string));

    // Keys that are not UTF-8: a BLOB key column holding their bytes.
    for (key, v) in [(&b"raw:\xff\xfe"[..], "v1"), (&b"raw:\xc3\x28"[..], "v2")] {
        let (t, r) = rows_of(&all, key);
        assert_eq!(r[0][0], Value::Blob(key.to_vec()), "{t}");
        assert!(columns(&target, &t)[0] == "key BLOB", "{t}");
        assert!(r[0].contains(&text(v)), "{r:?}");
    }

    // TTLs: the exact PEXPIRETIME, to the millisecond, for every type.
    let r = one(b"ttl:str");
    assert_eq!(unix_ms(&r[r.len() - 1]), Some(ttl_str));
    let r = one(b"ttl:hash");
    assert_eq!(unix_ms(&r[r.len() - 1]), Some(ttl_hash));
    let (_, r) = rows_of(&all, b"ttl:list");
    assert_eq!(r.len(), 2);
    for (i, row) in r.iter().enumerate() {
        assert_eq!(row[row.len() - 3], Value::Int(i as i64));
        assert_eq!(unix_ms(&row[row.len() - 1]), Some(4_102_444_800_123));
    }

    // A list read in pages: every position once, in order.
    let (t, r) = rows_of(&all, b"biglist");
    assert_eq!(r.len(), LIST, "{t}");
    for (i, row) in r.iter().enumerate() {
        assert_eq!(
            row[1..],
            [
                Value::Int(i as i64),
                text(&format!("item-{i}")),
                Value::Null
            ],
            "{t}"
        );
    }
    // Elements that are not UTF-8: BLOB.
    let (_, r) = rows_of(&all, b"binlist");
    let items: Vec<Value> = r.iter().map(|row| row[2].clone()).collect();
    assert_eq!(
        items,
        [
            Value::Blob(vec![0]),
            Value::Blob(vec![0xff]),
            Value::Blob(vec![])
        ]
    );

    // A hash of more fields than a page: every field in its JSON.
    let r = one(b"bighash");
    let Value::Json(fields) = &r[1] else {
        panic!("a JSON column expected: {:?}", &r[..2]);
    };
    let fields: serde_json::Map<String, serde_json::Value> = serde_json::from_str(fields).unwrap();
    assert_eq!(fields.len(), HASH);
    for i in 0..HASH {
        assert_eq!(fields[&format!("f{i}")], format!("v{i}"));
    }
    // A small hash: a typed column per field.
    let (t, r) = rows_of(&all, b"ttl:hash");
    assert_eq!(
        columns(&target, &t),
        [
            "key TEXT",
            "a BIGINT",
            "b TEXT",
            "_extra JSON",
            "expires_at TIMESTAMPTZ"
        ]
    );
    assert_eq!(r[0][1..4], [Value::Int(1), text(""), Value::Null]);

    // Sets: every member once, the huge one whole.
    let (_, r) = rows_of(&all, b"bigset");
    let mut members: Vec<Value> = r.iter().map(|row| row[1].clone()).collect();
    members.sort_by_key(|v| format!("{v:?}"));
    let mut expected: Vec<Value> = (0..SET).map(|i| text(&format!("s{i}"))).collect();
    expected.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(members, expected);
    let (_, r) = rows_of(&all, b"huge:set");
    let mut members: Vec<Value> = r.iter().map(|row| row[1].clone()).collect();
    members.sort_by_key(|v| format!("{v:?}"));
    assert_eq!(members, [text(&huge_member), text("small")]);

    // Sorted sets: every member with its score, the special ones bit for bit.
    let (t, r) = rows_of(&all, b"bigzset");
    assert_eq!(r.len(), ZSET + specials.len(), "{t}");
    assert_eq!(
        columns(&target, &t),
        [
            "key TEXT",
            "member TEXT",
            "score DOUBLE",
            "expires_at TIMESTAMPTZ"
        ]
    );
    let scores: BTreeMap<String, f64> = r
        .iter()
        .map(|row| match (&row[1], &row[2]) {
            (Value::Text(m), Value::Double(s)) => (m.clone(), *s),
            other => panic!("{other:?}"),
        })
        .collect();
    for i in 0..ZSET {
        assert_eq!(scores[&format!("z{i}")], i as f64 * 1.5 + 1.0);
    }
    for (m, _, s) in specials {
        assert_eq!(scores[m].to_bits(), s.to_bits(), "{m}: {}", scores[m]);
    }

    // A stream of more entries than a page: every entry once, in id order.
    let (t, r) = rows_of(&all, b"bigstream");
    assert_eq!(r.len(), STREAM, "{t}");
    for (i, row) in r.iter().enumerate() {
        assert_eq!(
            row[1..],
            [
                Value::Int(1_700_000_000_000 + i as i64),
                Value::Int((i % 3) as i64),
                Value::Json(format!(r#"{{"n":"{i}","s":"é"}}"#)),
                Value::Null
            ],
            "{t}"
        );
    }

    // Nothing else: one table per key, each key's rows only.
    let keys: usize = all.values().map(|k| k.len()).sum();
    let in_redis: usize = db.cmd(&mut cmd("DBSIZE"));
    assert_eq!(keys, in_redis, "{:?}", all.keys().collect::<Vec<_>>());
}
