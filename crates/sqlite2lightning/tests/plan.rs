//! `plan` writes a runbook whose commands, pasted into a shell in order, carry out
//! the migration and verify it; run again, it ticks what the store shows done. A
//! target whose disk is too small is refused before anything is written.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;
use lightning_testkit::{runbook_commands, shell};

const DB: &str = "
CREATE TABLE customers (id INTEGER PRIMARY KEY, name TEXT NOT NULL, city TEXT);
CREATE TABLE orders (id INTEGER PRIMARY KEY, customer_id INTEGER REFERENCES customers(id),
                     total DECIMAL(12,2), placed DATE);
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 400)
INSERT INTO customers SELECT i, 'customer ' || i, CASE i % 3 WHEN 0 THEN 'Oslo' ELSE NULL END FROM n;
WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 1500)
INSERT INTO orders SELECT i, 1 + i % 400, printf('%d.%02d', i, i % 100), date('2024-01-01', '+' || (i % 365) || ' days') FROM n;
";

fn plan(db: &Path, store: &Path) -> (String, String) {
    let r = s2l(&["plan", "--source", p(db), "--target", p(store)]);
    assert_eq!(r.code, 0, "plan failed:\n{}", r.stderr);
    let md = store.with_file_name("shop.runbook.md");
    let html = md.with_extension("html");
    (
        std::fs::read_to_string(&md).expect("the Markdown runbook"),
        std::fs::read_to_string(&html).expect("the HTML runbook"),
    )
}

#[test]
fn a_runbooks_commands_pasted_into_a_shell_migrate_and_verify_and_plan_then_shows_them_done() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", DB);
    let store = dir.path().join("shop.ldb");
    let (md, html) = plan(&db, &store);
    assert!(md.contains("| target disk space | **pass** |"), "{md}");
    assert!(md.contains("- **rows**: 1,900"), "{md}");
    assert!(md.contains("- [ ] Copy and verify"), "{md}");
    assert!(html.contains("<input type=\"checkbox\">"), "{html}");
    assert!(!store.exists(), "plan must not write the target");
    let commands = runbook_commands(&md);
    let kinds: Vec<&str> = commands
        .iter()
        .map(|c| c.split_whitespace().take(2).last().unwrap_or(""))
        .collect();
    assert_eq!(
        kinds,
        [
            "convert-schema",
            "migrate",
            "verify",
            "export",
            "-bail",
            "verify"
        ],
        "{commands:#?}"
    );
    for c in &commands {
        let r = shell(c, dir.path(), &[&tool(), &lightning()]);
        assert_eq!(r.code, 0, "`{c}` failed:\n{}\n{}", r.stdout, r.stderr);
    }
    let counts = light(&["count", p(&store), "orders"]);
    assert!(counts.stdout.contains("1500"), "{}", counts.stdout);
    // Run again: the copy and its verification are ticked, with the run.
    let (md, html) = plan(&db, &store);
    assert!(
        md.contains("- [x] Copy and verify") && md.contains("*done: run 1, 1,900 rows"),
        "{md}"
    );
    assert!(md.contains(", verified*"), "{md}");
    assert!(html.contains("<input type=\"checkbox\" checked>"), "{html}");
    // The way back now starts from the migration's run.
    assert!(md.contains("--since 1 > back.sql"), "{md}");
}

/// A small file system of its own, unmounted at the end.
struct Tmpfs<'a>(&'a Path);

impl Drop for Tmpfs<'_> {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(self.0).status();
    }
}

#[test]
fn a_target_without_room_is_refused_before_anything_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "shop.sqlite", DB);
    let small = dir.path().join("small");
    std::fs::create_dir(&small).unwrap();
    // The store needs more than 1 MiB with the engine's head-room.
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=1m", "tmpfs", p(&small)])
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        let root = Command::new("id").arg("-u").output().unwrap().stdout == b"0\n";
        assert!(!root, "root could not mount a tmpfs at {}", small.display());
        eprintln!("skipped: mounting a small file system needs root");
        return;
    }
    let _unmount = Tmpfs(&small);
    let store = small.join("shop.ldb");
    let r = s2l(&["migrate", "--source", p(&db), "--target", p(&store)]);
    assert_clean_error(&r, 1, "not enough free space for");
    assert!(r.stderr.contains("--no-space-check"), "{}", r.stderr);
    let left: Vec<_> = std::fs::read_dir(&small).unwrap().collect();
    assert!(left.is_empty(), "a refused copy left {left:?}");
    // The plan says so too.
    let r = s2l(&[
        "assess",
        "--source",
        p(&db),
        "--target",
        p(&store),
        "--json",
    ]);
    let checks = r.json()["checks"].clone();
    assert_eq!(checks[0]["check"], "target disk space", "{checks}");
    assert_eq!(checks[0]["status"], "fail", "{checks}");
    // Told to, it copies (the store itself fits).
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&store),
        "--no-space-check",
        "--verify",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
}
