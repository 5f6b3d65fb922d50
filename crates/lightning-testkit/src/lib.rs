//! What the tools' integration tests share (a dev-dependency only): running a
//! binary and reading its outcome, the shape of a clean error, a store's checksums.
//! What is particular to a source (its test server, its fixtures) stays in that
//! tool's `tests/common`.

pub mod browser;
pub mod tls;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use lightning_core::checksum::TableChecksum;
use lightning_core::Store;

/// The `lightning` binary, built beside a source tool's binary (`cargo build
/// --workspace`).
pub fn lightning_beside(tool: &Path) -> PathBuf {
    let p = tool.with_file_name(format!("lightning{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build the workspace first (`cargo build --workspace` or `cargo xtask test`)",
        p.display()
    );
    p
}

/// Start `run()` again and again while `going()` holds, killing (SIGKILL) each
/// start after a wait that grows from 200 ms by half each time; how many were
/// killed.
pub fn kill_repeatedly(mut run: impl FnMut() -> Command, going: impl Fn() -> bool) -> u32 {
    let mut kills = 0;
    let mut delay = 200u64;
    while going() {
        let mut child = run()
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("the tool starts");
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().expect("kill");
        child.wait().expect("wait");
        kills += 1;
        delay = delay * 3 / 2;
    }
    kills
}

/// How a run of a binary ended.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// The JSON report on stdout (`--json`).
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| {
            panic!(
                "a JSON report expected ({e})\nstdout: {}\nstderr: {}",
                self.stdout, self.stderr
            )
        })
    }

    /// stdout and stderr together, for what must never appear anywhere.
    pub fn all(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}

pub fn finish(out: Output) -> Run {
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Run a command to its end.
pub fn run(cmd: &mut Command) -> Run {
    finish(cmd.output().expect("the binary runs"))
}

/// Run a command with `input` on its standard input (written from another thread,
/// so a command that stops reading early cannot hang the test).
pub fn run_with_stdin(cmd: &mut Command, input: &[u8]) -> Run {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the binary starts");
    let mut stdin = child.stdin.take().expect("stdin");
    let data = input.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().expect("the binary ends");
    writer.join().expect("stdin writer");
    finish(out)
}

pub fn p(path: &Path) -> &str {
    path.to_str().expect("utf-8 path")
}

/// An error run: exit `code`, one `error:` line containing `needle`, no panic.
pub fn assert_clean_error(r: &Run, code: i32, needle: &str) {
    assert_eq!(r.code, code, "exit code; stderr: {}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "panic: {}", r.stderr);
    let lines: Vec<&str> = r
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(lines.len(), 1, "one error line expected: {}", r.stderr);
    assert!(lines[0].contains(needle), "`{needle}` not in: {}", lines[0]);
}

/// Every table's checksum in a store.
pub fn checksums(store: &Path) -> BTreeMap<String, TableChecksum> {
    let s = Store::open(store).expect("store opens");
    s.tables()
        .into_iter()
        .map(|t| (t.name.clone(), s.checksum(&t.name).expect("checksum")))
        .collect()
}

/// The verification of a `--json` report: a migration's `verification`, or the
/// report of `verify` itself.
pub fn verification(report: &serde_json::Value) -> &serde_json::Value {
    match report.get("verification") {
        Some(v) => v,
        None => report,
    }
}

/// A `--json` report's verification says equal, for every table it lists (and it
/// lists some).
pub fn assert_verified_equal(report: &serde_json::Value) {
    let v = verification(report);
    assert_eq!(v["equal"], true, "{report:#}");
    let tables = v["tables"].as_array().expect("verified tables");
    assert!(!tables.is_empty(), "{report:#}");
    for t in tables {
        assert_eq!(t["equal"], true, "{t:#}");
    }
}

/// A tool of the workspace built beside `tool` (`pg2lightning`, `lightning`).
pub fn sibling(tool: &Path, name: &str) -> PathBuf {
    let p = tool.with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build the workspace first",
        p.display()
    );
    p
}

/// Write `bytes` to `dir/name`: its path.
pub fn write_file(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// `TOOL migrate SOURCE... --target TARGET --verify --json --quiet EXTRA...`, which
/// must succeed, panic nowhere and verify every table equal: its report.
pub fn migrate_verified(
    tool: &Path,
    source: &[&str],
    target: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let r = run(Command::new(tool)
        .arg("migrate")
        .args(source)
        .args(["--target", p(target), "--verify", "--json", "--quiet"])
        .args(extra));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    let report = r.json();
    assert_verified_equal(&report);
    report
}

/// `TOOL migrate FLAG - ...` with `script` on standard input: it must verify
/// equal and store what the same script read from a file (`name` in `dir`) stores.
pub fn stdin_as_file(tool: &Path, flag: &str, script: &[u8], dir: &Path, name: &str) {
    let target = dir.join("s.ldb");
    let args = [
        "migrate",
        flag,
        "-",
        "--target",
        p(&target),
        "--verify",
        "--json",
        "--quiet",
    ];
    let r = run_with_stdin(Command::new(tool).args(args), script);
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_verified_equal(&r.json());
    let file = dir.join(name);
    std::fs::write(&file, script).expect("write the script");
    let fresh = dir.join("f.ldb");
    migrate_verified(tool, &[flag, p(&file)], &fresh, &[]);
    assert_eq!(checksums(&target), checksums(&fresh));
}

/// A copy killed, then failing, then run again: it must go on where it stopped,
/// repair nothing and end as a fresh copy does. `TOOL migrate SOURCE... --target
/// TARGET --batch-size 1000` is killed at its sixth commit (`partial` looks at the
/// rows it left), fails at `abort` (`committed:N`), then runs to its end, verified.
/// The resumed store's checksums.
pub fn kill_abort_resume(
    tool: &Path,
    source: &[&str],
    target: &Path,
    abort: &str,
    partial: impl FnOnce(&BTreeMap<String, TableChecksum>),
) -> BTreeMap<String, TableChecksum> {
    let batch = ["--batch-size", "1000"];
    let mut cmd = Command::new(tool);
    cmd.arg("migrate")
        .args(source)
        .args(["--target", p(target)])
        .args(batch)
        .arg("--quiet");
    Paused::start(cmd, "committed:6").kill();
    partial(&checksums(target));
    let r = run(Command::new(tool)
        .arg("migrate")
        .args(source)
        .args(["--target", p(target)])
        .args(batch)
        .arg("--quiet")
        .env("LIGHTNING_FAULT", format!("abort:{abort}")));
    assert_ne!(r.code, 0, "{}", r.stderr);
    let report = migrate_verified(tool, source, target, &batch);
    // The same source: the copy went on where it stopped, nothing to repair.
    assert!(report.get("repaired").is_none(), "{report:#}");
    let clean = target.with_file_name("clean.ldb");
    migrate_verified(tool, source, &clean, &[]);
    let resumed = checksums(target);
    assert_eq!(resumed, checksums(&clean));
    resumed
}

/// For `kill_abort_resume`: the killed copy left some of the `total` rows, not all.
pub fn some_rows_of(total: u64) -> impl FnOnce(&BTreeMap<String, TableChecksum>) {
    move |left| {
        let partial: u64 = left.values().map(|c| c.rows).sum();
        assert!(
            partial > 0 && partial < total,
            "{partial} rows after the kill"
        );
    }
}

/// A table's rows as `lightning scan --format csv` prints them (`lightning` is
/// the binary, as `lightning_beside` finds it).
pub fn scan_csv(lightning: &Path, store: &Path, table: &str) -> String {
    let r = run(Command::new(lightning).args(["scan", p(store), table, "--format", "csv"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    r.stdout
}

/// A run held at a `pause` fault point (`LIGHTNING_FAULT=pause:POINT:N`) until the
/// test lets it go on, signals it, or kills it there.
pub struct Paused {
    child: std::process::Child,
    handshake: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Paused {
    /// Start `cmd` paused at `at` (`POINT:N`) and wait until it is there.
    // The child is waited for on every path but a failing assertion, which ends the test.
    #[allow(clippy::zombie_processes)]
    pub fn start(mut cmd: Command, at: &str) -> Paused {
        let dir = tempfile::tempdir().expect("temp dir");
        let handshake = dir.path().join("paused");
        let mut child = cmd
            .env("LIGHTNING_FAULT", format!("pause:{at}"))
            .env("LIGHTNING_FAULT_HANDSHAKE", &handshake)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let started = std::time::Instant::now();
        while !handshake.exists() {
            if child.try_wait().expect("child state").is_some() {
                let r = finish(child.wait_with_output().expect("output"));
                panic!(
                    "the run ended before pausing at {at} (exit {}): {}",
                    r.code, r.stderr
                );
            }
            assert!(
                started.elapsed() < std::time::Duration::from_secs(60),
                "the run did not pause at {at}"
            );
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        Paused {
            child,
            handshake,
            _dir: dir,
        }
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Let the run go on.
    pub fn resume(&self) {
        std::fs::remove_file(&self.handshake).expect("remove the handshake file");
    }

    /// End the paused run with SIGKILL, as a crash would.
    pub fn kill(mut self) {
        self.child.kill().expect("SIGKILL");
        self.child.wait().expect("the run ends");
    }

    /// Let the run go on (if it waits) and wait for its end.
    pub fn finish(self) -> Run {
        let _ = std::fs::remove_file(&self.handshake);
        finish(self.child.wait_with_output().expect("output"))
    }
}

/// A free TCP port on the loopback interface (for a server the test starts).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// An HTTP response: status code, `Content-Type`, body.
pub struct HttpResponse {
    pub status: u16,
    pub content_type: String,
    pub body: String,
}

/// `GET http://127.0.0.1:PORT/PATH` over a plain HTTP/1.0 connection.
pub fn http_get(port: u16, path: &str) -> HttpResponse {
    use std::io::Read;
    let mut conn = std::net::TcpStream::connect(("127.0.0.1", port))
        .unwrap_or_else(|e| panic!("cannot connect to 127.0.0.1:{port}: {e}"));
    conn.set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .expect("timeout");
    write!(
        conn,
        "GET {path} HTTP/1.0\r\nHost: 127.0.0.1:{port}\r\n\r\n"
    )
    .expect("request");
    let mut raw = Vec::new();
    conn.read_to_end(&mut raw).expect("response");
    let text = String::from_utf8(raw).expect("a UTF-8 response");
    let (head, body) = text.split_once("\r\n\r\n").expect("headers and body");
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status line");
    let content_type = head
        .lines()
        .find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.eq_ignore_ascii_case("content-type")
                .then(|| v.trim().to_string())
        })
        .unwrap_or_default();
    HttpResponse {
        status,
        content_type,
        body: body.to_string(),
    }
}

/// The commands of a runbook in Markdown (`plan`): every ```sh block, in order.
pub fn runbook_commands(markdown: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut block: Option<Vec<&str>> = None;
    for line in markdown.lines() {
        let t = line.trim();
        match (&mut block, t) {
            (None, "```sh") => block = Some(Vec::new()),
            (Some(lines), "```") => {
                out.push(lines.join("\n"));
                block = None;
            }
            (Some(lines), _) => lines.push(t),
            _ => {}
        }
    }
    assert!(block.is_none(), "an unclosed ```sh block in\n{markdown}");
    out
}

/// Run `command` with `sh -c` in `dir`, the folders of `tools` first on PATH
/// (as a user who installed them would), as if pasted into a shell.
pub fn shell(command: &str, dir: &Path, tools: &[&Path]) -> Run {
    let mut path: Vec<PathBuf> = tools
        .iter()
        .filter_map(|t| t.parent().map(Path::to_path_buf))
        .collect();
    path.extend(std::env::split_paths(
        &std::env::var_os("PATH").unwrap_or_default(),
    ));
    run(Command::new("sh")
        .arg("-c")
        .arg(command)
        .current_dir(dir)
        .env("PATH", std::env::join_paths(path).expect("PATH")))
}
