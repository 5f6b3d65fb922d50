//! `plan` against the local server: a runbook whose commands, pasted into a shell
//! in order while the application keeps writing, copy the database, keep the
//! target in sync, verify it, drop the slot and load the way back; run again, it
//! ticks what the store shows done.

mod common;

use common::*;
use lightning_testkit::{runbook_commands, shell};

#[test]
fn a_runbooks_commands_pasted_into_a_shell_carry_out_a_live_migration() {
    let db = TestDb::new("plan");
    db.exec(
        "CREATE TABLE accounts (id bigint PRIMARY KEY, owner text NOT NULL, balance numeric(12,2));
         INSERT INTO accounts SELECT g, 'owner ' || g, g * 1.25 FROM generate_series(1, 2000) g;
         CREATE TABLE notes (account bigint, n int, body text, PRIMARY KEY (account, n));
         INSERT INTO notes SELECT g % 2000 + 1, g, md5(g::text) FROM generate_series(1, 3000) g;",
    );
    let dir = tempfile::tempdir().unwrap();
    let store = dir.path().join("app.ldb");
    let slot = format!("s_{}", db.name);
    let plan = || {
        let r = p2l(&[
            "plan",
            "--source",
            &db.url,
            "--slot",
            &slot,
            "--target",
            p(&store),
        ]);
        assert_eq!(r.code, 0, "plan failed:\n{}", r.stderr);
        std::fs::read_to_string(dir.path().join("app.runbook.md")).expect("the runbook")
    };
    let md = plan();
    for check in [
        "connect",
        "read tables",
        "wal_level (for sync)",
        "target disk space",
    ] {
        assert!(
            md.contains(&format!("| {check} | **pass** |")),
            "{check} should pass:\n{md}"
        );
    }
    assert!(md.contains("keep the target in sync"), "{md}");
    let commands = runbook_commands(&md);
    let steps: Vec<String> = commands
        .iter()
        .map(|c| {
            let words: Vec<&str> = c.split_whitespace().collect();
            let last = words.iter().rev().find(|w| w.starts_with("--")).copied();
            format!("{} {}", words[0], words.get(1).copied().unwrap_or(""))
                + match (words[1], last) {
                    ("sync", Some(flag)) => flag,
                    _ => "",
                }
        })
        .collect();
    assert_eq!(
        steps,
        [
            "pg2lightning convert-schema",
            "pg2lightning migrate",
            "pg2lightning sync--until-caught-up",
            "pg2lightning sync--until-caught-up",
            "pg2lightning verify",
            "pg2lightning sync--drop-slot",
            "lightning export",
            "psql -v",
            "pg2lightning verify",
        ],
        "{commands:#?}"
    );
    assert!(commands[1].contains("--for-sync") && commands[1].contains("--verify"));
    let tools = [tool(), lightning()];
    let tools: Vec<&std::path::Path> = tools.iter().map(|t| t.as_path()).collect();
    for (i, c) in commands.iter().enumerate() {
        // The application writes (one transaction) while the copy is kept in sync.
        if i == 2 {
            db.exec(
                "INSERT INTO accounts VALUES (2001, 'late', 1.00);
                 UPDATE accounts SET balance = 0 WHERE id = 7;
                 DELETE FROM notes WHERE n = 5;",
            );
        }
        let r = shell(c, dir.path(), &tools);
        assert_eq!(r.code, 0, "`{c}` failed:\n{}\n{}", r.stdout, r.stderr);
        // Planned again once sync has applied the writes: the copy and sync are
        // ticked, with the run and the transactions applied.
        if i == 2 {
            let md = plan();
            assert!(
                md.contains("- [x] Copy and verify") && md.contains(", verified*"),
                "{md}"
            );
            assert!(
                md.contains(
                    "- [x] Bring the target level with the source. — *done: 1 transaction applied"
                ),
                "{md}"
            );
        }
    }
    let count = light(&["count", p(&store), "accounts"]);
    assert!(count.stdout.contains("2001"), "{}", count.stdout);
    let slots: i64 = db
        .client()
        .query_one(
            "SELECT count(*) FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .unwrap()
        .get(0);
    assert_eq!(slots, 0, "the runbook's last sync step drops the slot");
    let md = plan();
    assert!(md.contains("- [x] Copy and verify"), "{md}");
    // The way back now starts from the migration's run.
    assert!(md.contains("--since 1 > back.sql"), "{md}");
}
