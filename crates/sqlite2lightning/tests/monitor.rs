//! Watching a migration of a multi-million-row table: the monitoring endpoint
//! (JSON, Prometheus metrics, the dashboard in a real browser), the progress lines
//! of a log, and a second terminal reading a store a run holds.

mod common;

use std::process::Command;
use std::time::{Duration, Instant};

use common::*;
use lightning_testkit::{browser, free_port, http_get, Paused};
use serde_json::Value;

const ROWS: u64 = 2_000_000;

fn big_db(dir: &std::path::Path) -> std::path::PathBuf {
    let path = dir.join("big.sqlite");
    let conn = rusqlite::Connection::open(&path).unwrap();
    conn.execute_batch(&format!(
        "CREATE TABLE accounts (id INTEGER PRIMARY KEY, branch INTEGER NOT NULL, balance INTEGER NOT NULL, note TEXT);
         CREATE TABLE branches (id INTEGER PRIMARY KEY, name TEXT);
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {ROWS})
           INSERT INTO accounts SELECT i, i % 50, i * 7 % 100000, 'account ' || i FROM s;
         WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < 50)
           INSERT INTO branches SELECT i, 'branch ' || i FROM s;"
    ))
    .unwrap();
    path
}

fn stats(port: u16) -> Value {
    let r = http_get(port, "/api/stats");
    assert_eq!(r.status, 200);
    assert_eq!(r.content_type, "application/json");
    serde_json::from_str(&r.body).expect("JSON stats")
}

/// The text of the element with `id` in a page's DOM.
fn element_text<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom
        .find(&format!("id=\"{id}\""))
        .unwrap_or_else(|| panic!("no #{id} in the page"));
    let start = at + dom[at..].find('>').unwrap() + 1;
    let end = start + dom[start..].find('<').unwrap();
    &dom[start..end]
}

fn number(text: &str) -> u64 {
    text.replace(',', "")
        .parse()
        .unwrap_or_else(|_| panic!("a number expected, not {text:?}"))
}

/// Prometheus's own parser (its Python client) reads `/metrics`: each family's
/// samples as {family: [[sample name, labels, value], ...]}.
fn parse_metrics(text: &str) -> Value {
    let python = std::env::var("LIGHTNING_TEST_PROMETHEUS_PYTHON").unwrap_or_else(|_| {
        panic!("LIGHTNING_TEST_PROMETHEUS_PYTHON names a Python with prometheus-client: `cargo xtask test` installs one and sets it")
    });
    let script = r#"
import sys, json
from prometheus_client.parser import text_string_to_metric_families
out = {}
for f in text_string_to_metric_families(sys.stdin.read()):
    out[f.name] = {"type": f.type, "samples": [[s.name, s.labels, s.value] for s in f.samples]}
print(json.dumps(out))
"#;
    let r = lightning_testkit::run_with_stdin(
        Command::new(python).args(["-c", script]),
        text.as_bytes(),
    );
    assert_eq!(
        r.code, 0,
        "the Prometheus parser refused /metrics: {}\n{text}",
        r.stderr
    );
    serde_json::from_str(&r.stdout).unwrap()
}

fn metric(families: &Value, family: &str) -> f64 {
    families[family]["samples"][0][2]
        .as_f64()
        .unwrap_or_else(|| panic!("no metric {family}"))
}

#[test]
fn a_monitored_migration_serves_its_state_metrics_and_a_live_dashboard() {
    let dir = tempfile::tempdir().unwrap();
    let db = big_db(dir.path());
    let target = dir.path().join("big.ldb");
    let port = free_port();
    let mut cmd = Command::new(tool());
    cmd.args([
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--verify",
    ])
    .args(["--monitor", &port.to_string(), "--monitor-linger", "120"])
    .args(["--progress-interval", "1", "--json"]);
    // Held after its fourth committed batch: the numbers stand still while they
    // are read from every side.
    let run = Paused::start(cmd, "committed:4");
    std::thread::sleep(Duration::from_millis(1500));

    let live = stats(port);
    assert_eq!(live["status"], "running");
    assert_eq!(live["phase"], "copying");
    assert_eq!(live["tool"], "sqlite2lightning");
    assert_eq!(live["tables_total"], 2);
    assert_eq!(live["current_table"], "accounts");
    let migrated = live["rows_migrated"].as_u64().unwrap();
    assert!(migrated > 0 && migrated < ROWS, "{migrated}");
    assert_eq!(live["rows_total"].as_u64().unwrap(), ROWS + 50);
    assert!(live["start_time"].as_str().unwrap().ends_with('Z'));
    assert!(live["elapsed_seconds"].as_f64().unwrap() > 1.0);
    let accounts = &live["tables"][0];
    assert_eq!(
        (&accounts["name"], &accounts["status"]),
        (&"accounts".into(), &"copying".into())
    );
    let in_accounts = accounts["rows_migrated"].as_u64().unwrap();
    assert!(in_accounts > 0);
    assert_eq!(accounts["rows_stored"].as_u64(), Some(in_accounts));

    let m = http_get(port, "/metrics");
    assert_eq!(m.status, 200);
    assert!(
        m.content_type.starts_with("text/plain; version=0.0.4"),
        "{}",
        m.content_type
    );
    let families = parse_metrics(&m.body);
    assert_eq!(families["lightning_rows_migrated"]["type"], "counter");
    assert_eq!(
        metric(&families, "lightning_rows_migrated"),
        migrated as f64
    );
    assert_eq!(
        metric(&families, "lightning_rows_estimated"),
        (ROWS + 50) as f64
    );
    assert_eq!(metric(&families, "lightning_tables"), 2.0);
    let info = &families["lightning_run_info"]["samples"][0][1];
    assert_eq!(
        (&info["phase"], &info["status"]),
        (&"copying".into(), &"running".into())
    );
    let per_table = &families["lightning_table_rows_migrated"]["samples"];
    assert!(per_table
        .as_array()
        .unwrap()
        .iter()
        .any(|s| s[1]["table"] == "accounts" && s[2] == migrated as f64));

    let page = http_get(port, "/");
    assert_eq!(page.status, 200);
    assert_eq!(page.content_type, "text/html; charset=utf-8");
    for outside in ["src=\"http", "href=\"http", "@import", "url(http"] {
        assert!(
            !page.body.contains(outside),
            "the dashboard fetches {outside}…"
        );
    }
    assert_eq!(http_get(port, "/nothing").status, 404);

    // The dashboard in a browser shows the live numbers.
    let url = format!("http://127.0.0.1:{port}/");
    let first = browser::dom(&url, 2500);
    assert_eq!(number(element_text(&first, "rows-migrated")), migrated);
    assert_eq!(number(element_text(&first, "rows-total")), ROWS + 50);
    assert_eq!(element_text(&first, "status"), "running");
    assert_eq!(element_text(&first, "phase"), "copying");
    assert!(first.contains(">accounts<"), "the tables are listed");

    // A second terminal reads the store the run holds.
    let count = light(&["count", p(&target), "accounts"]);
    assert_eq!(count.code, 0, "{}", count.stderr);
    assert_eq!(count.stdout.trim(), in_accounts.to_string());
    assert!(
        count.stderr.contains("in use by sqlite2lightning migrate"),
        "{}",
        count.stderr
    );
    let tables = light(&["tables", p(&target)]);
    assert_eq!(tables.code, 0, "{}", tables.stderr);
    assert!(tables.stdout.contains("accounts") && tables.stdout.contains("branches"));
    let runs = light(&["runs", p(&target)]);
    assert_eq!(runs.code, 0, "{}", runs.stderr);
    assert!(runs.stdout.contains("running (copying"), "{}", runs.stdout);

    run.resume();
    let started = Instant::now();
    let done = loop {
        let s = stats(port);
        if s["status"] != "running" {
            break s;
        }
        assert!(
            started.elapsed() < Duration::from_secs(300),
            "the run does not end"
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    assert_eq!(done["status"], "completed");
    assert_eq!(done["phase"], "done");
    assert_eq!(done["verdict"], "EQUAL");
    assert_eq!(done["rows_migrated"].as_u64(), Some(ROWS + 50));
    assert_eq!(done["rows_verified"].as_u64(), Some(ROWS + 50));
    assert_eq!(done["tables_completed"], 2);
    assert!(done["history"].as_array().unwrap().len() >= 2);

    // The same page, later: it has followed the run to its end.
    let last = browser::dom(&url, 2500);
    assert_eq!(number(element_text(&last, "rows-migrated")), ROWS + 50);
    assert_eq!(element_text(&last, "status"), "completed");
    assert_eq!(element_text(&last, "verdict"), "EQUAL");
    assert!(last.contains("<path d=\"M"), "the rate chart is drawn");

    // Ctrl-C ends the wait of the endpoint, not the run's success.
    Command::new("kill")
        .args(["-INT", &run.pid().to_string()])
        .status()
        .unwrap();
    let out = run.finish();
    assert_eq!(out.code, 0, "{}", out.stderr);
    assert_eq!(out.json()["verification"]["equal"], true);
    // Not a terminal: progress lines, each table on its own, copying and verifying.
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(
        lines
            .iter()
            .any(|l| l.contains("] copying: ") && l.contains("rows/s")),
        "{}",
        out.stderr
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("]   accounts: ") && l.contains(" of 2,000,000 rows")),
        "{}",
        out.stderr
    );
    assert!(
        lines.iter().any(|l| l.contains("] verifying: ")),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("final state stays at"),
        "{}",
        out.stderr
    );
    assert!(!target.join(lightning_core::progress::LIVE_FILE).exists());
}

#[test]
fn quiet_runs_print_no_progress_and_a_busy_port_is_refused_clearly() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_db(dir.path(), "every.sqlite", EVERY_TYPE);
    let target = dir.path().join("every.ldb");
    let r = s2l(&[
        "migrate",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--quiet",
        "--progress-interval",
        "1",
    ]);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("] copying"), "{}", r.stderr);

    let busy = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = busy.local_addr().unwrap().port().to_string();
    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--monitor",
        &port,
    ]);
    assert_clean_error(&r, 1, "cannot serve the monitoring endpoint on 127.0.0.1:");
    let r = s2l(&[
        "verify",
        "--source",
        p(&db),
        "--target",
        p(&target),
        "--monitor",
        "nine",
    ]);
    assert_clean_error(&r, 1, "give a port (9187) or an address and port");
}
