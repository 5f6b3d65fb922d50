//! Keys grouped into patterns become typed tables: the guide's sessions, counters
//! and leaderboard; many named profiles in one table; a pattern given on the
//! command line grouping keys the automatic grouping keeps apart.

mod common;

use common::*;
use lightning_core::value::Value;

/// The tables of a `convert-schema` DDL (stdout): `table: [column TYPE, ...]`.
fn ddl_tables(ddl: &str) -> Vec<(String, Vec<String>)> {
    lightning_core::ddl::parse_schema(ddl)
        .unwrap_or_else(|e| panic!("the DDL parses ({e}):\n{ddl}"))
        .into_iter()
        .map(|t| {
            let cols = t
                .columns
                .iter()
                .map(|c| format!("{} {}", c.name, c.ty))
                .collect();
            (t.name, cols)
        })
        .collect()
}

fn convert_schema(url: &str, extra: &[&str]) -> Vec<(String, Vec<String>)> {
    let mut args = vec!["convert-schema", "--source", url];
    args.extend_from_slice(extra);
    let r = r2l_ok(&args);
    ddl_tables(&r.stdout)
}

#[test]
fn sessions_counters_and_a_leaderboard_become_typed_tables() {
    let mut db = TestDb::new(dbs::GUIDE);
    let mut c = Vec::new();
    for id in 1..=50 {
        c.push(
            cmd("SET")
                .arg(format!("session:{id}"))
                .arg(format!(r#"{{"user":{id},"cart":[1,2]}}"#))
                .arg("EX")
                .arg(3600)
                .clone(),
        );
    }
    for id in 1..=30 {
        for _ in 0..id {
            c.push(cmd("INCR").arg(format!("page:views:{id}")).clone());
        }
    }
    for i in 0..100 {
        c.push(
            cmd("ZADD")
                .arg("leaderboard")
                .arg(i as f64 * 10.5)
                .arg(format!("player{i}"))
                .clone(),
        );
    }
    db.pipe(c);

    let ddl = convert_schema(&db.url, &[]);
    let shown = |t: &str| {
        ddl.iter()
            .find(|(n, _)| n == t)
            .unwrap_or_else(|| panic!("no table {t} in {ddl:?}"))
            .1
            .clone()
    };
    assert_eq!(ddl.len(), 3, "{ddl:?}");
    assert_eq!(
        shown("session"),
        [
            "key TEXT",
            "session_id BIGINT",
            "value JSON",
            "expires_at TIMESTAMPTZ"
        ]
    );
    assert_eq!(
        shown("page_views"),
        [
            "key TEXT",
            "views_id BIGINT",
            "value BIGINT",
            "expires_at TIMESTAMPTZ"
        ]
    );
    assert_eq!(
        shown("leaderboard"),
        [
            "key TEXT",
            "member TEXT",
            "score DOUBLE",
            "expires_at TIMESTAMPTZ"
        ]
    );

    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("guide.ldb");
    migrate_verified(&db.url, &target, &[]);
    assert_eq!(tables(&target), ["leaderboard", "page_views", "session"]);
    for t in ["session", "page_views", "leaderboard"] {
        assert_eq!(columns(&target, t), shown(t), "{t}");
    }

    let sessions = rows(&target, "session");
    assert_eq!(sessions.len(), 50);
    for r in &sessions {
        let Value::Int(id) = r[1] else {
            panic!("{r:?}")
        };
        assert_eq!(r[0], text(&format!("session:{id}")));
        assert_eq!(
            r[2],
            Value::Json(format!(r#"{{"user":{id},"cart":[1,2]}}"#))
        );
        let at = unix_ms(&r[3]).expect("an expiry");
        assert_eq!(at, db.expire_time(format!("session:{id}").as_bytes()));
    }

    let views = rows(&target, "page_views");
    assert_eq!(views.len(), 30);
    for r in &views {
        let Value::Int(id) = r[1] else {
            panic!("{r:?}")
        };
        assert_eq!(r[0], text(&format!("page:views:{id}")));
        assert_eq!(r[2], Value::Int(id), "views of page {id}");
        assert_eq!(r[3], Value::Null);
    }

    let board = rows(&target, "leaderboard");
    assert_eq!(board.len(), 100);
    let mut got: Vec<(String, f64)> = board
        .iter()
        .map(|r| match (&r[0], &r[1], &r[2]) {
            (Value::Text(k), Value::Text(m), Value::Double(s)) if k == "leaderboard" => {
                (m.clone(), *s)
            }
            other => panic!("{other:?}"),
        })
        .collect();
    got.sort_by(|a, b| a.0.cmp(&b.0));
    let mut want: Vec<(String, f64)> = (0..100)
        .map(|i| (format!("player{i}"), i as f64 * 10.5))
        .collect();
    want.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(got, want);
}

const NAMES: [&str; 30] = [
    "alice", "bob", "carol", "dave", "erin", "frank", "grace", "heidi", "ivan", "judy", "mallory",
    "niaj", "olivia", "peggy", "rupert", "sybil", "trent", "victor", "walter", "xena", "yara",
    "zoe", "arthur", "bella", "cyril", "dora", "ethan", "fiona", "gus", "hana",
];

#[test]
fn thirty_user_profiles_become_one_table() {
    let mut db = TestDb::new(dbs::PROFILES);
    let c = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| {
            cmd("HSET")
                .arg(format!("user:{n}:profile"))
                .arg("name")
                .arg(n.to_uppercase())
                .arg("age")
                .arg(20 + i)
                .arg("email")
                .arg(format!("{n}@example.com"))
                .clone()
        })
        .collect();
    db.pipe(c);
    let ddl = convert_schema(&db.url, &[]);
    assert_eq!(
        ddl,
        [(
            "user_profile".to_string(),
            [
                "key TEXT",
                "user_id TEXT",
                "age BIGINT",
                "email TEXT",
                "name TEXT",
                "_extra JSON",
                "expires_at TIMESTAMPTZ"
            ]
            .map(String::from)
            .to_vec()
        )]
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("profiles.ldb");
    migrate_verified(&db.url, &target, &[]);
    assert_eq!(tables(&target), ["user_profile"]);
    let mut got = rows(&target, "user_profile");
    got.sort_by_key(|r| format!("{:?}", r[1]));
    let mut want: Vec<Vec<Value>> = NAMES
        .iter()
        .enumerate()
        .map(|(i, n)| {
            vec![
                text(&format!("user:{n}:profile")),
                text(n),
                Value::Int(20 + i as i64),
                text(&format!("{n}@example.com")),
                text(&n.to_uppercase()),
                Value::Null,
                Value::Null,
            ]
        })
        .collect();
    want.sort_by_key(|r| format!("{:?}", r[1]));
    assert_eq!(got, want);
}

#[test]
fn a_pattern_given_groups_named_keys_with_a_text_id() {
    let mut db = TestDb::new(dbs::CFG);
    db.pipe(vec![
        cmd("SET").arg("cfg:prod").arg("p").clone(),
        cmd("SET").arg("cfg:dev").arg("d").clone(),
    ]);
    // Without the pattern: two names, two tables.
    let apart = convert_schema(&db.url, &[]);
    let names: Vec<&str> = apart.iter().map(|t| t.0.as_str()).collect();
    assert_eq!(names.len(), 2, "{apart:?}");
    assert!(
        names.contains(&"cfg_prod") && names.contains(&"cfg_dev"),
        "{apart:?}"
    );

    let together = convert_schema(&db.url, &["--pattern", "cfg:*"]);
    assert_eq!(
        together,
        [(
            "cfg".to_string(),
            [
                "key TEXT",
                "cfg_id TEXT",
                "value TEXT",
                "expires_at TIMESTAMPTZ"
            ]
            .map(String::from)
            .to_vec()
        )]
    );
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("cfg.ldb");
    migrate_verified(&db.url, &target, &["--pattern", "cfg:*"]);
    assert_eq!(tables(&target), ["cfg"]);
    assert_eq!(
        rows(&target, "cfg"),
        [
            vec![text("cfg:dev"), text("dev"), text("d"), Value::Null],
            vec![text("cfg:prod"), text("prod"), text("p"), Value::Null],
        ]
    );
}
