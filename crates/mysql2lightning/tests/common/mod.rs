//! Helpers for the integration tests: a throw-away database on the local MariaDB
//! (127.0.0.1:3306, root, no password), the tool, and the store.

#![allow(dead_code)]

// Each test file uses some of them.
#[allow(unused_imports)]
pub use lightning_testkit::{assert_clean_error, checksums, finish, p, run_with_stdin, Run};

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mysql2lightning"))
}

/// Every MySQL type with its edge values (and a keyless table, a compound key,
/// generated columns).
pub const TYPES: &str = r#"
SET sql_mode = '';
SET time_zone = '+00:00';
CREATE TABLE types (
  id INT NOT NULL PRIMARY KEY,
  ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED, mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
  i INT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED,
  b BOOL, bit1 BIT(1), bit5 BIT(5), bit64 BIT(64),
  dec1 DECIMAL(20,6), dec0 DECIMAL(65,0),
  f FLOAT, d DOUBLE,
  c CHAR(5), vc VARCHAR(50), t TEXT, lt LONGTEXT, lat VARCHAR(20) CHARACTER SET latin1,
  bin BINARY(4), vb VARBINARY(10), bl BLOB,
  e ENUM('a','b c',''), s SET('x','y','z'),
  dt DATE, dtm DATETIME(6), ts TIMESTAMP(3) NULL, tm TIME(6), y YEAR,
  j JSON, g GEOMETRY
) DEFAULT CHARSET=utf8mb4;
INSERT INTO types VALUES
 (1, -128, 255, -32768, 65535, -8388608, 16777215, -2147483648, 4294967295, -9223372036854775808, 18446744073709551615,
  1, b'1', b'10101', b'1111111111111111111111111111111111111111111111111111111111111111',
  -12345678901234.123456, 99999999999999999999999999999999999999999999999999999999999999999,
  3.14159, 0.1,
  'ab', 'it''s "quoted" \\ back', 'multi\nline\ttab', REPEAT('x', 70000), 'café €‰Ÿ',
  0x00FF0001, '', 0x00000000FF,
  'b c', 'x,z',
  '0009-12-04', '2020-01-02 03:04:05.123456', '2038-01-19 03:14:07.999', '-838:59:59.000000', 2155,
  '{"a": [1, 2.5, "é"], "b": null}', ST_GeomFromText('POLYGON((0 0,10 0,10 10,0 10,0 0))')),
 (2, 127, 0, 32767, 0, 8388607, 0, 2147483647, 0, 9223372036854775807, 0,
  0, b'0', b'0', b'0',
  0.000001, -1,
  -1.5e-7, -1.7976931348623157e308,
  '', '', '', '', '',
  0x00000000, 0x00, '',
  '', '',
  '1000-01-01', '1000-01-01 00:00:00.000000', '1970-01-01 00:00:01.000', '838:59:59.999999', 1901,
  '[]', ST_GeomFromText('POINT(-1.5 2.25)')),
 (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
  NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, '100:00:00.5', 0, NULL, NULL);
CREATE TABLE nokey (a INT, b VARCHAR(10));
INSERT INTO nokey VALUES (1, 'x'), (1, 'x'), (2, NULL), (NULL, 'y');
CREATE TABLE compound (a VARCHAR(10) NOT NULL, b INT NOT NULL, v INT, PRIMARY KEY (a, b),
  UNIQUE KEY uv (v), KEY by_b (b) USING HASH);
INSERT INTO compound VALUES ('a', 1, 1), ('a', 2, 2), ('B', 1, 3);
CREATE TABLE gen (id INT PRIMARY KEY, a INT, twice INT AS (a * 2) VIRTUAL, next INT AS (a + 1) PERSISTENT);
INSERT INTO gen (id, a) VALUES (1, 10), (2, NULL);
"#;

/// `lightning ARGS` (the binary built beside this crate's).
pub fn light(args: &[&str]) -> Run {
    finish(
        Command::new(lightning_testkit::lightning_beside(&tool()))
            .args(args)
            .output()
            .expect("lightning runs"),
    )
}

pub fn m2l(args: &[&str]) -> Run {
    finish(
        Command::new(tool())
            .args(args)
            .env_remove("MYSQL_PWD")
            .output()
            .expect("tool runs"),
    )
}

/// Run the tool with `input` on standard input.
pub fn m2l_stdin(args: &[&str], input: &[u8]) -> Run {
    run_with_stdin(Command::new(tool()).args(args), input)
}

/// A database of its own on the local server, dropped at the end of the test.
pub struct TestDb {
    pub name: String,
}

pub fn mariadb(db: Option<&str>, sql: &str) -> String {
    let mut cmd = Command::new("mariadb");
    cmd.args([
        "-h127.0.0.1",
        "-P3306",
        "-uroot",
        "--batch",
        "--skip-column-names",
    ]);
    if let Some(d) = db {
        cmd.arg(d);
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the mariadb client is installed");
    let mut stdin = child.stdin.take().unwrap();
    let data = sql.as_bytes().to_vec();
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    assert!(
        out.status.success(),
        "mariadb failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

impl TestDb {
    pub fn new(name: &str) -> TestDb {
        let name = format!("l2_test_{name}_{}", std::process::id());
        mariadb(
            None,
            &format!(
                "DROP DATABASE IF EXISTS `{name}`; CREATE DATABASE `{name}` CHARACTER SET utf8mb4;"
            ),
        );
        TestDb { name }
    }

    pub fn url(&self) -> String {
        format!("mysql://root@127.0.0.1:3306/{}", self.name)
    }

    pub fn sql(&self, sql: &str) -> String {
        mariadb(Some(&self.name), sql)
    }

    /// `mariadb-dump` of the database into a file, with extra options.
    pub fn dump(&self, dir: &Path, file: &str, opts: &[&str]) -> PathBuf {
        let path = dir.join(file);
        let out = Command::new("mariadb-dump")
            .args(["-h127.0.0.1", "-P3306", "-uroot"])
            .args(opts)
            .arg(&self.name)
            .output()
            .expect("mariadb-dump is installed");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&path, out.stdout).unwrap();
        path
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = Command::new("mariadb")
            .args(["-h127.0.0.1", "-P3306", "-uroot", "-e"])
            .arg(format!("DROP DATABASE IF EXISTS `{}`", self.name))
            .output();
    }
}

/// Parse the JSON report a `--json` run printed.
pub fn json(r: &Run) -> serde_json::Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("{e}: {}\n{}", r.stdout, r.stderr))
}

/// Run the tool with extra environment variables (fault injection), failing the
/// test when it runs longer than `limit` (a hang must not hang the suite).
pub fn m2l_within(args: &[&str], env: &[(&str, &str)], limit: Duration) -> (Run, Duration) {
    run_within(args, env, None, limit)
}

/// `m2l_within` with `input` on standard input (at most 120 s).
pub fn m2l_within_stdin(args: &[&str], env: &[(&str, &str)], input: &[u8]) -> (Run, Duration) {
    run_within(args, env, Some(input), Duration::from_secs(120))
}

fn run_within(
    args: &[&str],
    env: &[(&str, &str)],
    input: Option<&[u8]>,
    limit: Duration,
) -> (Run, Duration) {
    let started = Instant::now();
    let mut child = Command::new(tool())
        .args(args)
        .envs(env.iter().copied())
        .env_remove("MYSQL_PWD")
        .stdin(if input.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("tool runs");
    let feeder = input.map(|data| {
        let mut pipe = child.stdin.take().unwrap();
        let data = data.to_vec();
        std::thread::spawn(move || {
            let _ = pipe.write_all(&data);
        })
    });
    let mut out = child.stdout.take().unwrap();
    let mut err = child.stderr.take().unwrap();
    let out_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = out.read_to_end(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = Vec::new();
        let _ = err.read_to_end(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_reader.join().unwrap();
            panic!(
                "the run did not end within {limit:?}: {}",
                String::from_utf8_lossy(&stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let elapsed = started.elapsed();
    if let Some(f) = feeder {
        f.join().unwrap();
    }
    let stdout = out_reader.join().unwrap();
    let stderr = err_reader.join().unwrap();
    (
        Run {
            code: status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&stdout).into_owned(),
            stderr: String::from_utf8_lossy(&stderr).into_owned(),
        },
        elapsed,
    )
}

/// Run the tool with extra environment variables.
pub fn m2l_env(args: &[&str], env: &[(&str, &str)]) -> Run {
    m2l_within(args, env, Duration::from_secs(120)).0
}

/// A run of the tool stopped at a fault point (`LIGHTNING_FAULT=pause:POINT`) until
/// the test lets it go on.
pub struct Paused {
    child: Option<Child>,
    handshake: PathBuf,
    feeder: Option<std::thread::JoinHandle<()>>,
}

impl Paused {
    /// Start the tool and wait until it stands at `point` (at most 60 s).
    pub fn start(args: &[&str], point: &str, handshake: &Path, stdin: Option<Vec<u8>>) -> Paused {
        let _ = std::fs::remove_file(handshake);
        let mut child = Command::new(tool())
            .args(args)
            .env("LIGHTNING_FAULT", format!("pause:{point}"))
            .env("LIGHTNING_FAULT_HANDSHAKE", handshake)
            .env_remove("MYSQL_PWD")
            .stdin(if stdin.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("tool runs");
        let feeder = stdin.map(|data| {
            let mut pipe = child.stdin.take().unwrap();
            std::thread::spawn(move || {
                let _ = pipe.write_all(&data);
            })
        });
        let mut paused = Paused {
            child: Some(child),
            handshake: handshake.to_path_buf(),
            feeder,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while !handshake.exists() {
            let child = paused.child.as_mut().unwrap();
            if child.try_wait().unwrap().is_some() || Instant::now() > deadline {
                let run = paused.go_on();
                panic!(
                    "the run never paused at `{point}` (exit {}): {}",
                    run.code, run.stderr
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        paused
    }

    /// Let the run go on and wait for its end.
    pub fn go_on(mut self) -> Run {
        let _ = std::fs::remove_file(&self.handshake);
        let child = self.child.take().unwrap();
        let out = child.wait_with_output().unwrap();
        if let Some(f) = self.feeder.take() {
            f.join().unwrap();
        }
        finish(out)
    }
}

impl Drop for Paused {
    fn drop(&mut self) {
        // A failed test must not leave the run waiting.
        let _ = std::fs::remove_file(&self.handshake);
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The permission bits of a file or folder.
pub fn mode(path: &Path) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .permissions()
        .mode()
        & 0o777
}
