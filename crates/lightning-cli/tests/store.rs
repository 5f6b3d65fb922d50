//! The store as a whole: `lightning check` on whole and damaged stores, a store
//! whose table files are gone, and a store on a read-only file system.

use std::collections::BTreeSet;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use serde_json::Value as Json;

const BIN: &str = env!("CARGO_BIN_EXE_lightning");

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_with(args: &[&str], stdin: Option<&[u8]>) -> Run {
    let mut child = Command::new(BIN)
        .args(args)
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the lightning binary runs");
    if let Some(input) = stdin {
        // A command that fails early closes its input: its exit says why.
        let _ = child.stdin.take().expect("stdin is piped").write_all(input);
    }
    let out = child.wait_with_output().expect("lightning finishes");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn run(args: &[&str]) -> Run {
    run_with(args, None)
}

/// A command that must succeed: its stdout.
fn ok(args: &[&str]) -> String {
    let r = run(args);
    assert_eq!(r.code, 0, "{args:?} failed: {}", r.stderr);
    r.stdout
}

/// A command that must fail with exit 1 and one `error:` line holding `needle`.
fn fails_saying(args: &[&str], needle: &str) -> String {
    let r = run(args);
    assert_eq!(r.code, 1, "{args:?} should fail; stdout: {}", r.stdout);
    assert!(!r.stderr.contains("panicked"), "{args:?}: {}", r.stderr);
    assert_eq!(
        r.stdout, "",
        "{args:?} printed data from a store it cannot read"
    );
    let line = r.stderr.trim_end();
    assert!(
        line.starts_with("error: ") && !line.contains('\n'),
        "{args:?}: one error line expected: {line}"
    );
    assert!(line.contains(needle), "{args:?}: `{needle}` not in: {line}");
    line.to_string()
}

fn s(p: &Path) -> &str {
    p.to_str().expect("a UTF-8 temp path")
}

/// The engine's keyspace folders of a store.
fn keyspace_folders(db: &Path) -> BTreeSet<String> {
    std::fs::read_dir(db.join("data").join("keyspaces"))
        .expect("the store has keyspace folders")
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect()
}

/// Create the tables of `ddl` and import `rows` records into `table`: the
/// keyspace folders that appeared with them.
fn add_table(db: &Path, dir: &Path, ddl: &str, table: &str, rows: u64) -> BTreeSet<String> {
    if !db.exists() {
        // An empty store first, so that its own keyspaces are not counted.
        let r = run_with(&["import", s(db)], Some(b""));
        assert_eq!(r.code, 0, "{}", r.stderr);
    }
    let before = keyspace_folders(db);
    let file = dir.join(format!("{table}.sql"));
    std::fs::write(&file, ddl).unwrap();
    ok(&["execute", s(db), "--file", s(&file)]);
    let schema: Json = serde_json::from_str(&ok(&["describe", s(db), table, "--json"])).unwrap();
    let mut stream = serde_json::json!({
        "type": "SCHEMA",
        "stream": table,
        "schema": {"type": "object", "properties": {}},
        "key_properties": schema["primary_key"],
        "lightning_schema": schema,
    })
    .to_string();
    stream.push('\n');
    for i in 1..=rows {
        stream.push_str(&format!(
            "{{\"type\":\"RECORD\",\"stream\":\"{table}\",\"record\":{{\"id\":{i},\"name\":\"{table} number {i}\"}}}}\n"
        ));
    }
    let r = run_with(
        &["import", s(db), "--batch-size", "1000"],
        Some(stream.as_bytes()),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    keyspace_folders(db).difference(&before).cloned().collect()
}

/// A store with two tables, `kept` (with a unique index) and `lost`, and the
/// keyspace folders of `lost`.
fn two_tables(dir: &Path) -> (PathBuf, BTreeSet<String>) {
    let db = dir.join("app.ldb");
    let kept = add_table(
        &db,
        dir,
        "CREATE TABLE kept (id BIGINT NOT NULL, name TEXT, PRIMARY KEY (id));\nCREATE UNIQUE INDEX kept_name ON kept (name);\n",
        "kept",
        3000,
    );
    assert_eq!(kept.len(), 2, "rows and index keyspaces: {kept:?}");
    let lost = add_table(
        &db,
        dir,
        "CREATE TABLE lost (id BIGINT NOT NULL, name TEXT, PRIMARY KEY (id));\n",
        "lost",
        5000,
    );
    assert_eq!(lost.len(), 1, "one rows keyspace: {lost:?}");
    (db, lost)
}

fn check_json(db: &Path) -> (i32, Json) {
    let r = run(&["check", s(db), "--json"]);
    let report = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("check --json printed no JSON ({e}): {}", r.stderr));
    (r.code, report)
}

#[test]
fn check_says_a_healthy_store_is_whole() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = two_tables(dir.path());
    let r = run(&["check", s(&db)]);
    assert_eq!(r.code, 0, "{}{}", r.stdout, r.stderr);
    assert!(r.stderr.contains("is whole"), "{}", r.stderr);
    let lines: Vec<Vec<&str>> = r
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    assert_eq!(
        lines,
        vec![
            vec!["ok", "kept", "3000", "rows", "3000", "index", "entries"],
            vec!["ok", "lost", "5000", "rows", "0", "index", "entries"],
        ]
    );
    let (code, report) = check_json(&db);
    assert_eq!(code, 0);
    assert_eq!(report["healthy"], true, "{report:#}");
    assert_eq!(report["tables"].as_array().unwrap().len(), 2);
    assert_eq!(report["tables"][0]["rows_recorded"], 3000);
    assert_eq!(report["tables"][0]["rows_found"], 3000);
    assert_eq!(report["tables"][0]["index_entries"], 3000);
}

#[test]
fn a_table_whose_files_are_gone_makes_every_command_say_the_store_is_damaged() {
    let dir = tempfile::tempdir().unwrap();
    let (db, lost) = two_tables(dir.path());
    assert_eq!(ok(&["count", s(&db), "lost"]), "5000\n");
    // The table's folder goes, and with it the journal that could bring it back.
    for f in &lost {
        std::fs::remove_dir_all(db.join("data").join("keyspaces").join(f)).unwrap();
    }
    for e in std::fs::read_dir(db.join("data")).unwrap() {
        let p = e.unwrap().path();
        if p.extension().is_some_and(|x| x == "jnl") {
            std::fs::remove_file(p).unwrap();
        }
    }
    let needle = "is damaged and cannot be read: the rows of table `lost` are missing";
    for args in [
        vec!["count", s(&db)],
        vec!["count", s(&db), "lost"],
        vec!["count", s(&db), "kept"],
        vec!["checksum", s(&db)],
        vec!["scan", s(&db), "lost"],
        vec!["tables", s(&db)],
    ] {
        let err = fails_saying(&args, needle);
        // The advice must be one that works on such a store.
        assert!(!err.contains("--fresh"), "{err}");
    }
    // Writing into it is refused the same way.
    let r = run_with(
        &["import", s(&db)],
        Some(
            b"{\"type\":\"RECORD\",\"stream\":\"kept\",\"record\":{\"id\":9999,\"name\":\"x\"}}\n",
        ),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains(needle), "{}", r.stderr);

    // `check` names the table, and exits 3.
    let r = run(&["check", s(&db)]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout
            .contains("the rows of table `lost` are missing from its data folder"),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout.contains("ok") && r.stdout.contains("kept"),
        "{}",
        r.stdout
    );
    assert!(r.stderr.contains("is damaged"), "{}", r.stderr);
    let (code, report) = check_json(&db);
    assert_eq!(code, 3);
    assert_eq!(report["healthy"], false, "{report:#}");
    let problems = report["problems"].to_string();
    assert!(problems.contains("table `lost`"), "{report:#}");
}

/// The largest file under `dir`.
fn largest_file(dir: &Path) -> PathBuf {
    let mut best: Option<(u64, PathBuf)> = None;
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else {
                let len = e.metadata().unwrap().len();
                if best.as_ref().is_none_or(|(l, _)| len > *l) {
                    best = Some((len, p));
                }
            }
        }
    }
    best.expect("a file").1
}

#[test]
fn a_flipped_byte_in_a_table_file_is_found_by_check() {
    let dir = tempfile::tempdir().unwrap();
    let (db, lost) = two_tables(dir.path());
    let folder = db
        .join("data")
        .join("keyspaces")
        .join(lost.iter().next().unwrap());
    let file = largest_file(&folder);
    let mut bytes = std::fs::read(&file).unwrap();
    assert!(bytes.len() > 10_000, "{} is small", file.display());
    let mid = bytes.len() / 2;
    for b in &mut bytes[mid..mid + 8] {
        *b ^= 0xFF;
    }
    std::fs::write(&file, bytes).unwrap();

    let r = run(&["check", s(&db)]);
    assert_eq!(r.code, 3, "{}{}", r.stdout, r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let damaged: Vec<&str> = r
        .stdout
        .lines()
        .filter(|l| l.starts_with("DAMAGED"))
        .collect();
    assert_eq!(damaged.len(), 1, "{}", r.stdout);
    assert!(damaged[0].contains("lost"), "{}", r.stdout);
    assert!(
        r.stdout.contains("ok") && r.stdout.contains("kept"),
        "{}",
        r.stdout
    );
    let (code, report) = check_json(&db);
    assert_eq!(code, 3);
    assert_eq!(report["healthy"], false);
    let lost_check = report["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == "lost")
        .unwrap();
    assert!(lost_check["problem_count"].as_u64().unwrap() > 0);
}

/// A bind mount of a folder made read-only; unmounted when dropped.
struct ReadOnlyMount(PathBuf);

impl ReadOnlyMount {
    fn new(from: &Path, at: &Path) -> ReadOnlyMount {
        std::fs::create_dir_all(at).unwrap();
        let mount = |args: &[&str]| {
            let out = Command::new("mount")
                .args(args)
                .output()
                .expect("`mount` runs");
            assert!(
                out.status.success(),
                "this test needs to mount file systems (run it as root): mount {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        mount(&["--bind", s(from), s(at)]);
        let guard = ReadOnlyMount(at.to_path_buf());
        mount(&["-o", "remount,bind,ro", s(at)]);
        guard
    }
}

impl Drop for ReadOnlyMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

#[test]
fn a_store_on_a_read_only_file_system_is_read_but_not_written() {
    let dir = tempfile::tempdir().unwrap();
    let (db, _) = two_tables(dir.path());
    let reads: Vec<Vec<String>> = [
        vec!["count"],
        vec!["count", "kept"],
        vec!["tables"],
        vec!["scan", "kept"],
        vec!["scan", "lost", "--format", "csv"],
        vec!["export", "lost"],
        vec!["export", "--all"],
        vec!["checksum"],
        vec!["get", "kept", "17"],
        vec!["check"],
    ]
    .iter()
    .map(|a| a.iter().map(|x| x.to_string()).collect())
    .collect();
    let with_db = |db: &Path, a: &[String]| -> Vec<String> {
        let mut v = vec![a[0].clone(), s(db).to_string()];
        v.extend(a[1..].iter().cloned());
        v
    };
    let expected: Vec<String> = reads
        .iter()
        .map(|a| {
            let args = with_db(&db, a);
            ok(&args.iter().map(String::as_str).collect::<Vec<_>>())
        })
        .collect();
    let files_before = files_with_sizes(&db);

    let ro = dir.path().join("ro");
    let _mount = ReadOnlyMount::new(&db, &ro);
    assert!(
        std::fs::write(ro.join("probe"), b"x").is_err(),
        "the mount is writable"
    );
    for (a, want) in reads.iter().zip(&expected) {
        let args = with_db(&ro, a);
        let r = run(&args.iter().map(String::as_str).collect::<Vec<_>>());
        assert_eq!(r.code, 0, "{args:?}: {}", r.stderr);
        assert!(!r.stderr.contains("damaged"), "{args:?}: {}", r.stderr);
        let got = if a[0] == "check" {
            r.stdout.clone()
        } else {
            r.stdout.replace(s(&ro), s(&db))
        };
        assert_eq!(&got, want, "{args:?}");
    }
    let (code, report) = check_json(&ro);
    assert_eq!(code, 0);
    assert_eq!(report["healthy"], true);
    // Writing commands say the store cannot be written, not that it is damaged.
    let r = run_with(
        &["import", s(&ro)],
        Some(
            b"{\"type\":\"RECORD\",\"stream\":\"kept\",\"record\":{\"id\":9999,\"name\":\"x\"}}\n",
        ),
    );
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be written"), "{}", r.stderr);
    assert!(!r.stderr.contains("damaged"), "{}", r.stderr);
    let ddl = dir.path().join("more.sql");
    std::fs::write(
        &ddl,
        "CREATE TABLE more (id BIGINT NOT NULL, PRIMARY KEY (id));\n",
    )
    .unwrap();
    let r = run(&["execute", s(&ro), "--file", s(&ddl)]);
    assert_eq!(r.code, 1, "{}", r.stderr);
    assert!(r.stderr.contains("cannot be written"), "{}", r.stderr);
    drop(_mount);
    assert_eq!(files_with_sizes(&db), files_before, "the store was changed");
    assert_eq!(ok(&["count", s(&db), "kept"]), "3000\n");
}

fn files_with_sizes(dir: &Path) -> Vec<(PathBuf, u64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let e = e.unwrap();
            if e.path().is_dir() {
                stack.push(e.path());
            } else {
                out.push((e.path(), e.metadata().unwrap().len()));
            }
        }
    }
    out.sort();
    out
}
