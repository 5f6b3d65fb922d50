//! The local services the tests use: check that they answer, start them when they don't.
//!
//! A service that cannot be started is a warning, not an error: only the tests that need
//! it will fail, and the message says which service it was.

use std::fs::{self, File};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context, Result};

use crate::util::{self, program_exists, warn};

/// How long a service gets to open its port after its start command.
const START_TIMEOUT: Duration = Duration::from_secs(30);
const CONNECT_TIMEOUT: Duration = Duration::from_millis(300);

struct Service {
    name: &'static str,
    /// A short name for log files.
    slug: &'static str,
    port: u16,
    /// The program the start command needs.
    program: &'static str,
    start: fn() -> Result<Command>,
}

const SERVICES: &[Service] = &[
    Service {
        name: "PostgreSQL",
        slug: "postgresql",
        port: 5432,
        program: "pg_ctlcluster",
        start: start_postgresql,
    },
    Service {
        name: "MariaDB",
        slug: "mariadb",
        port: 3306,
        program: "/usr/sbin/mariadbd",
        start: start_mariadb,
    },
    Service {
        name: "Redis",
        slug: "redis",
        port: 6379,
        program: "redis-server",
        start: start_redis,
    },
    Service {
        name: "MongoDB (SecantusDB test server)",
        slug: "mongodb",
        port: 27017,
        program: "python3",
        start: start_secantus,
    },
];

/// Makes sure every service answers on its port, starting the ones that don't.
/// Returns the names of the services that are still down.
pub fn prepare() -> Vec<&'static str> {
    let mut down = Vec::new();
    for service in SERVICES {
        if !ensure(service) {
            down.push(service.name);
        }
    }
    down
}

/// Makes sure the MongoDB-compatible test server answers on 127.0.0.1:27017, starting
/// it when it does not (the MongoDB benchmark needs it). Returns whether it is up.
pub fn ensure_mongodb() -> bool {
    SERVICES
        .iter()
        .find(|service| service.slug == "mongodb")
        .is_some_and(ensure)
}

fn is_up(port: u16) -> bool {
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT).is_ok()
}

fn ensure(service: &Service) -> bool {
    let Service {
        name, slug, port, ..
    } = *service;
    // The check takes at most CONNECT_TIMEOUT, so the line is finished right away.
    eprint!("{name} on 127.0.0.1:{port}: ");
    if is_up(port) {
        eprintln!("up");
        return true;
    }
    eprintln!("down");
    if !program_exists(service.program) {
        warn(&format!(
            "{name} is not running on 127.0.0.1:{port} and `{}` is not installed: \
             tests that need {name} will not be able to reach it",
            service.program
        ));
        return false;
    }
    let log = util::target_dir()
        .join("xtask")
        .join(format!("{slug}-start.log"));
    eprintln!(
        "starting {name} (waiting up to {} s for its port; the start command's output goes to {})",
        START_TIMEOUT.as_secs(),
        log.display()
    );
    match start(service, &log) {
        Ok(elapsed) => {
            eprintln!(
                "{name} is up on 127.0.0.1:{port} (started in {})",
                util::format_duration(elapsed)
            );
            true
        }
        Err(err) => {
            let output = util::tail(&log, 20);
            warn(&format!(
                "{name} could not be started on 127.0.0.1:{port}: {err:#}; \
                 tests that need {name} will not be able to reach it{}",
                if output.is_empty() {
                    String::new()
                } else {
                    format!("\n--- output of the start command ---\n{output}\n---")
                }
            ));
            false
        }
    }
}

/// Runs the start command (its output goes to `log`), then waits for the port.
fn start(service: &Service, log: &Path) -> Result<Duration> {
    // A start that fails before its command runs (a failed install) must not show an
    // earlier run's output as its own.
    let _ = fs::remove_file(log);
    let cmd = (service.start)()?;
    start_and_wait(cmd, service.port, log, START_TIMEOUT)
}

fn start_and_wait(mut cmd: Command, port: u16, log: &Path, timeout: Duration) -> Result<Duration> {
    let began = Instant::now();
    let deadline = began + timeout;
    if let Some(dir) = log.parent() {
        fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    }
    let out = File::create(log).with_context(|| format!("could not create {}", log.display()))?;
    // Output goes to a file, never to a pipe: a daemon that keeps the start command's
    // descriptors open must not hold our own output open.
    cmd.stdin(Stdio::null())
        .stdout(out.try_clone()?)
        .stderr(out);
    let shown = util::describe(&cmd);
    eprintln!("$ {shown}");
    let mut child = cmd
        .spawn()
        .with_context(|| format!("could not run `{shown}`"))?;
    loop {
        if let Some(status) = child.try_wait()? {
            if !status.success() {
                bail!("`{shown}` failed ({status})");
            }
            break;
        }
        if Instant::now() >= deadline {
            // Ours to stop: the start command itself hung.
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{shown}` did not finish within {} s", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(100));
    }
    loop {
        if is_up(port) {
            return Ok(began.elapsed());
        }
        if Instant::now() >= deadline {
            bail!("port {port} did not open within {} s", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(250));
    }
}

fn start_postgresql() -> Result<Command> {
    let version = postgresql_version()?;
    let mut cmd = Command::new("pg_ctlcluster");
    cmd.args(["--skip-systemctl-redirect", &version, "main", "start"]);
    Ok(cmd)
}

/// Turns on what `pg2lightning sync` reads: `wal_level = logical` on the local
/// PostgreSQL (ALTER SYSTEM, then a restart), when it is not set already.
pub fn postgresql_logical_decoding() -> Result<()> {
    let level = psql("SHOW wal_level")?;
    if level == "logical" {
        eprintln!("PostgreSQL: wal_level = logical");
        return Ok(());
    }
    eprintln!("PostgreSQL: wal_level = {level}; setting it to logical and restarting the server");
    psql("ALTER SYSTEM SET wal_level = logical")?;
    let version = postgresql_version()?;
    let mut cmd = Command::new("pg_ctlcluster");
    cmd.args(["--skip-systemctl-redirect", &version, "main", "restart"]);
    let log = util::target_dir()
        .join("xtask")
        .join("postgresql-restart.log");
    start_and_wait(cmd, 5432, &log, START_TIMEOUT)?;
    let level = psql("SHOW wal_level")?;
    ensure!(
        level == "logical",
        "wal_level is still `{level}` after the restart"
    );
    Ok(())
}

/// The block `mariadb_binlog` adds to the server's option file.
const BINLOG_OPTIONS: &str = "\n# Added by `cargo xtask test`: the row-based binary log that \
mysql2lightning sync reads.\n[mariadbd]\nlog-bin = mariadb-bin\nbinlog-format = ROW\nserver-id = 1\n";

/// Turns on what `mysql2lightning sync` reads: the binary log in ROW format on the
/// local MariaDB (an option-file block, then a restart), when it is not on already.
pub fn mariadb_binlog() -> Result<()> {
    let now = mariadb_query("SELECT @@log_bin, @@binlog_format")?;
    if now == "1\tROW" {
        eprintln!("MariaDB: binary log on, binlog_format = ROW");
        return Ok(());
    }
    let cnf = Path::new("/etc/mysql/my.cnf");
    let text = fs::read_to_string(cnf).unwrap_or_default();
    if !text.contains("log-bin = mariadb-bin") {
        eprintln!("MariaDB: adding the binary log to {}", cnf.display());
        let mut text = text;
        text.push_str(BINLOG_OPTIONS);
        fs::write(cnf, text).with_context(|| format!("could not write {}", cnf.display()))?;
    }
    restart_mariadb("the binary log")?;
    let now = mariadb_query("SELECT @@log_bin, @@binlog_format")?;
    ensure!(
        now == "1\tROW",
        "after the restart: log_bin, binlog_format = {now}"
    );
    Ok(())
}

/// Stops the local MariaDB (as root, through mariadb-admin) and starts it again.
fn restart_mariadb(why: &str) -> Result<()> {
    eprintln!("MariaDB: restarting the server for {why}");
    let status = Command::new("mariadb-admin")
        .args(["-uroot", "-h127.0.0.1", "-P3306", "shutdown"])
        .stdin(Stdio::null())
        .status()
        .context("could not run mariadb-admin")?;
    ensure!(status.success(), "mariadb-admin shutdown failed ({status})");
    let deadline = Instant::now() + START_TIMEOUT;
    while is_up(3306) || Path::new("/run/mysqld/mysqld.pid").exists() {
        ensure!(
            Instant::now() < deadline,
            "MariaDB did not stop within {} s",
            START_TIMEOUT.as_secs()
        );
        thread::sleep(Duration::from_millis(200));
    }
    let log = util::target_dir().join("xtask").join("mariadb-restart.log");
    start_and_wait(start_mariadb()?, 3306, &log, START_TIMEOUT)?;
    Ok(())
}

/// Where `mariadb_tls` keeps the test CA's certificate and the server's key pair.
const TLS_DIR: &str = "/etc/mysql/lightning-tls";

/// The block `mariadb_tls` adds to the server's option file.
fn tls_options() -> String {
    format!(
        "\n# Added by `cargo xtask test`: TLS with a throwaway test CA, for the \
         mysql2lightning TLS tests.\n[mariadbd]\nssl-ca = {TLS_DIR}/ca.pem\n\
         ssl-cert = {TLS_DIR}/server-cert.pem\nssl-key = {TLS_DIR}/server-key.pem\n"
    )
}

/// Turns on TLS on the local MariaDB, for the mysql2lightning TLS tests: a
/// throwaway CA and a server certificate it signs (for `localhost` and
/// 127.0.0.1), an option-file block naming them, then a restart; nothing when
/// the server already has TLS.
pub fn mariadb_tls() -> Result<()> {
    let have = mariadb_query("SELECT @@have_ssl")?;
    if have == "YES" {
        eprintln!("MariaDB: TLS on (have_ssl = YES)");
        return Ok(());
    }
    let dir = Path::new(TLS_DIR);
    let files = ["ca.pem", "server-cert.pem", "server-key.pem"];
    if !files.iter().all(|f| dir.join(f).is_file()) {
        eprintln!(
            "MariaDB: have_ssl = {have}; making a test CA and a server certificate in {}",
            dir.display()
        );
        make_test_certificates(dir)?;
    }
    let cnf = Path::new("/etc/mysql/my.cnf");
    let text = fs::read_to_string(cnf).unwrap_or_default();
    if !text.contains(&format!("ssl-ca = {TLS_DIR}/ca.pem")) {
        eprintln!("MariaDB: adding TLS to {}", cnf.display());
        let mut text = text;
        text.push_str(&tls_options());
        fs::write(cnf, text).with_context(|| format!("could not write {}", cnf.display()))?;
    }
    restart_mariadb("TLS")?;
    let have = mariadb_query("SELECT @@have_ssl")?;
    ensure!(
        have == "YES",
        "after the restart: have_ssl = {have} (the server's error log says why)"
    );
    Ok(())
}

/// A CA valid for ten years, and a server certificate it signs for `localhost`
/// and 127.0.0.1, with the `openssl` command. The CA's key is deleted once it
/// has signed: nothing else is ever signed by it.
fn make_test_certificates(dir: &Path) -> Result<()> {
    ensure!(
        program_exists("openssl"),
        "the `openssl` command is not installed"
    );
    fs::create_dir_all(dir).with_context(|| format!("could not create {}", dir.display()))?;
    let openssl = |args: &[&str]| -> Result<()> {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdin(Stdio::null())
            .output()
            .context("could not run openssl")?;
        ensure!(
            out.status.success(),
            "`openssl {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        );
        Ok(())
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "3650",
        "-subj",
        "/CN=Lightning test CA (throwaway)",
        "-keyout",
        "ca-key.pem",
        "-out",
        "ca.pem",
    ])?;
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "server-key.pem",
        "-out",
        "server.csr",
    ])?;
    fs::write(
        dir.join("server.ext"),
        "subjectAltName = DNS:localhost, IP:127.0.0.1\n\
         basicConstraints = critical, CA:FALSE\n\
         keyUsage = critical, digitalSignature, keyEncipherment\n\
         extendedKeyUsage = serverAuth\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca-key.pem",
        "-set_serial",
        "1",
        "-days",
        "3650",
        "-extfile",
        "server.ext",
        "-out",
        "server-cert.pem",
    ])?;
    for leftover in ["ca-key.pem", "server.csr", "server.ext"] {
        fs::remove_file(dir.join(leftover))?;
    }
    // The server runs as `mysql`: its key must be readable by it and no one else.
    let status = Command::new("chown")
        .args(["-R", "mysql:mysql"])
        .arg(dir)
        .status()
        .context("could not run chown")?;
    ensure!(status.success(), "chown mysql {} failed", dir.display());
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(
        dir.join("server-key.pem"),
        fs::Permissions::from_mode(0o600),
    )?;
    Ok(())
}

/// One statement through the mariadb client as root; its output, trimmed.
fn mariadb_query(sql: &str) -> Result<String> {
    let out = Command::new("mariadb")
        .args(["-uroot", "-h127.0.0.1", "-P3306", "-N", "-B", "-e", sql])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run mariadb for `{sql}`"))?;
    ensure!(
        out.status.success(),
        "mariadb `{sql}` failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// One statement through psql as the local superuser; its output, trimmed.
fn psql(sql: &str) -> Result<String> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-At",
            "-h",
            "127.0.0.1",
            "-U",
            "postgres",
            "-d",
            "postgres",
            "-c",
            sql,
        ])
        .stdin(Stdio::null())
        .output()
        .with_context(|| format!("could not run psql for `{sql}`"))?;
    ensure!(
        out.status.success(),
        "psql `{sql}` failed: {}",
        String::from_utf8_lossy(&out.stderr).trim()
    );
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The installed cluster version: the (highest) directory under /etc/postgresql.
fn postgresql_version() -> Result<String> {
    let dir = Path::new("/etc/postgresql");
    let mut versions: Vec<String> = fs::read_dir(dir)
        .with_context(|| format!("no PostgreSQL cluster configuration in {}", dir.display()))?
        .filter_map(|entry| entry.ok())
        .filter(|entry| entry.path().is_dir())
        .map(|entry| entry.file_name().to_string_lossy().into_owned())
        .collect();
    versions.sort_by_key(|v| {
        v.split('.')
            .map(|part| part.parse::<u32>().unwrap_or(0))
            .collect::<Vec<_>>()
    });
    versions
        .pop()
        .with_context(|| format!("no PostgreSQL cluster in {}", dir.display()))
}

fn start_mariadb() -> Result<Command> {
    // The server needs its runtime directory (socket, pid file); /run may be fresh.
    let run_dir = Path::new("/run/mysqld");
    if !run_dir.exists() && program_exists("install") {
        let _ = Command::new("install")
            .args(["-d", "-m", "0755", "-o", "mysql", "-g", "root"])
            .arg(run_dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
    }
    let mut cmd = Command::new("start-stop-daemon");
    cmd.args([
        "--start",
        "--oknodo",
        "--background",
        "--exec",
        "/usr/sbin/mariadbd",
    ]);
    Ok(cmd)
}

fn start_redis() -> Result<Command> {
    for dir in ["/var/lib/redis", "/var/log/redis"] {
        let _ = fs::create_dir_all(dir);
    }
    let mut cmd = Command::new("redis-server");
    cmd.args([
        "--daemonize",
        "yes",
        "--bind",
        "127.0.0.1",
        "-::1",
        "--port",
        "6379",
        "--save",
        "",
        "--appendonly",
        "no",
        "--dir",
        "/var/lib/redis",
        "--logfile",
        "/var/log/redis/ci.log",
    ]);
    Ok(cmd)
}

// SecantusDB is GPL: a test server only, run as a separate program, never linked or shipped.
/// The MongoDB-compatible test server, pinned so that every run tests against the same one.
const SECANTUS_PACKAGE: &str = "SecantusDB==0.7.0b3";
/// The first install downloads the server and its dependencies: minutes on a slow network.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(600);

fn start_secantus() -> Result<Command> {
    let venv = util::target_dir().join("xtask").join("secantus-venv");
    let server = install_secantus(&venv)?;
    Ok(secantus_server(&server, 27017))
}

/// Installs the server into a virtual environment of its own (the system's Python is
/// left alone), unless it is already there. Returns the server program.
fn install_secantus(venv: &Path) -> Result<PathBuf> {
    let server = venv.join("bin").join("secantusd-py");
    if server.is_file() {
        return Ok(server);
    }
    eprintln!(
        "installing {SECANTUS_PACKAGE} into {} (the first time only; this can take a couple \
         of minutes, pip's output follows)",
        venv.display()
    );
    let began = Instant::now();
    run_with_timeout(
        Command::new("python3").args(["-m", "venv"]).arg(venv),
        INSTALL_TIMEOUT,
    )?;
    run_with_timeout(
        Command::new(venv.join("bin").join("pip")).args(["install", SECANTUS_PACKAGE]),
        INSTALL_TIMEOUT,
    )?;
    ensure!(
        server.is_file(),
        "installing {SECANTUS_PACKAGE} did not provide {}",
        server.display()
    );
    eprintln!(
        "installed {SECANTUS_PACKAGE} in {}",
        util::format_duration(began.elapsed())
    );
    Ok(server)
}

/// The PostgreSQL clients a Python application uses, pinned.
const SQL_CLIENT_PACKAGES: &[&str] = &["psycopg[binary]==3.3.9", "SQLAlchemy==2.0.58"];

/// A Python with psycopg and SQLAlchemy (the `lightning serve` client test).
pub fn sql_client_python() -> Result<PathBuf> {
    python_with("sql-client-venv", SQL_CLIENT_PACKAGES)
}

/// A Python with Prometheus's client library, whose parser reads `/metrics`.
pub fn metrics_parser_python() -> Result<PathBuf> {
    python_with("metrics-parser-venv", &["prometheus-client==0.26.0"])
}

/// The Singer taps and targets the Singer tests run (`lightning import` reading
/// the taps' output, the targets loading `lightning export`), pinned, each with
/// the name of its own virtual environment: both taps install a program named
/// `tap-postgres`, both PostgreSQL targets one named `target-postgres`, and
/// their dependencies clash.
const SINGER_PACKAGES: &[(&str, &str)] = &[
    ("pw-tap-postgres", "pipelinewise-tap-postgres==1.8.4"),
    ("ml-tap-postgres", "meltanolabs-tap-postgres==0.10.0"),
    ("target-jsonl", "target-jsonl==0.1.4"),
    ("pw-target-postgres", "pipelinewise-target-postgres==2.1.2"),
    ("ml-target-postgres", "meltanolabs-target-postgres==0.8.0"),
    ("singer-tools", "singer-tools==0.4.1"),
];

/// The Singer packages, each in a virtual environment of its own under one
/// directory (the tests find `DIR/pw-tap-postgres/bin/tap-postgres`, ...).
/// Returns that directory and the packages that could not be installed, each
/// with why: the others are installed all the same.
pub fn singer_packages() -> (PathBuf, Vec<(&'static str, anyhow::Error)>) {
    let dir = util::target_dir().join("xtask").join("singer");
    let failed = SINGER_PACKAGES
        .iter()
        .filter_map(|&(venv, package)| {
            python_with(&format!("singer/{venv}"), &[package])
                .err()
                .map(|e| (package, e))
        })
        .collect();
    (dir, failed)
}

/// Where Debian's PostgreSQL JDBC driver puts its jar.
const JDBC_JAR: &str = "/usr/share/java/postgresql.jar";

/// The PostgreSQL JDBC driver and a JDK to compile against it (the `lightning
/// serve` Java client test), installed with apt-get when missing. Returns the jar.
pub fn jdbc_driver() -> Result<PathBuf> {
    ensure!(
        ensure_program("javac", "openjdk-17-jdk-headless", "the JDBC client test"),
        "no Java compiler"
    );
    let jar = PathBuf::from(JDBC_JAR);
    if !jar.exists() {
        eprintln!("installing the PostgreSQL JDBC driver with apt-get");
        apt_install("libpostgresql-jdbc-java")
            .or_else(|_| apt(&["update"]).and_then(|()| apt_install("libpostgresql-jdbc-java")))?;
    }
    ensure!(jar.exists(), "{JDBC_JAR} is missing after the install");
    Ok(jar)
}

/// A Python with `packages`, in a virtual environment of its own under the target
/// directory (installed the first time, again when the list changes). Returns
/// its interpreter.
pub fn python_with(name: &str, packages: &[&str]) -> Result<PathBuf> {
    let venv = util::target_dir().join("xtask").join(name);
    let python = venv.join("bin").join("python");
    let marker = venv.join(".installed");
    let wanted = packages.join(" ");
    if fs::read_to_string(&marker).is_ok_and(|have| have == wanted) {
        return Ok(python);
    }
    eprintln!(
        "installing {} into {} (the first time only)",
        packages.join(", "),
        venv.display()
    );
    run_with_timeout(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        INSTALL_TIMEOUT,
    )?;
    run_with_timeout(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet"])
            .args(packages),
        INSTALL_TIMEOUT,
    )?;
    fs::write(&marker, wanted)?;
    Ok(python)
}

/// The server's start command. The server does not daemonize itself and must outlive
/// xtask (and miss the terminal's Ctrl-C), so it runs in a session of its own; `--fork`
/// makes `setsid` return at once, leaving the server running.
fn secantus_server(server: &Path, port: u16) -> Command {
    let mut cmd = Command::new("setsid");
    cmd.arg("--fork").arg(server).args([
        "--host",
        "127.0.0.1",
        "--port",
        &port.to_string(),
        "--storage-path",
        ":memory:",
    ]);
    cmd
}

/// Runs a command with its output shown as it comes; stops it when it takes longer
/// than `timeout`.
fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<()> {
    let shown = util::describe(cmd);
    eprintln!("$ {shown}");
    let deadline = Instant::now() + timeout;
    let mut child = cmd
        .stdin(Stdio::null())
        .spawn()
        .with_context(|| format!("could not run `{shown}`"))?;
    loop {
        if let Some(status) = child.try_wait()? {
            ensure!(status.success(), "`{shown}` failed ({status})");
            return Ok(());
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            bail!("`{shown}` did not finish within {} s", timeout.as_secs());
        }
        thread::sleep(Duration::from_millis(100));
    }
}

/// Makes sure the `sqlite3` command-line shell is installed (the benchmark's reference),
/// installing it with apt-get when it is missing. Returns whether it is available.
pub fn ensure_sqlite3() -> bool {
    let ok = ensure_program("sqlite3", "sqlite3", "the SQLite benchmark's reference");
    if let Some(version) = sqlite3_version().filter(|_| ok) {
        eprintln!("sqlite3 version {version}");
    }
    ok
}

/// Makes sure `program` is installed, installing `package` with apt-get when it is
/// missing. Returns whether it is available; `needed_for` goes into the warning.
pub fn ensure_program(program: &str, package: &str, needed_for: &str) -> bool {
    if let Some(path) = util::find_program(program) {
        eprintln!("{program}: {}", path.display());
        return true;
    }
    if !program_exists("apt-get") {
        warn(&format!(
            "`{program}` is not installed and apt-get is not available ({needed_for} needs it)"
        ));
        return false;
    }
    eprintln!(
        "`{program}` is not installed: installing {package} with apt-get \
         (this can take a minute; apt-get's output follows)"
    );
    let began = Instant::now();
    let installed = apt_install(package).is_ok() || {
        // A machine whose package lists are stale or empty needs an update first.
        eprintln!("updating the package lists, then installing {package} again");
        apt(&["update"]).is_ok() && apt_install(package).is_ok()
    };
    if installed && program_exists(program) {
        eprintln!(
            "installed {package} in {}",
            util::format_duration(began.elapsed())
        );
        return true;
    }
    warn(&format!(
        "`{program}` could not be installed ({needed_for} needs it); \
         apt-get's output is above"
    ));
    false
}

fn sqlite3_version() -> Option<String> {
    let output = Command::new("sqlite3")
        .arg("-version")
        .stdin(Stdio::null())
        .output()
        .ok()?;
    if !output.status.success() {
        return None;
    }
    let text = String::from_utf8_lossy(&output.stdout);
    Some(text.split_whitespace().next().unwrap_or("").to_owned())
}

fn apt_install(package: &str) -> Result<()> {
    apt(&["install", "-y", "--no-install-recommends", package])
}

/// Runs apt-get with its output shown as it comes.
fn apt(args: &[&str]) -> Result<()> {
    let mut cmd = Command::new("apt-get");
    cmd.args(args)
        .env("DEBIAN_FRONTEND", "noninteractive")
        .stdin(Stdio::null());
    util::run(&mut cmd)
}

#[cfg(test)]
mod tests {
    use std::net::TcpListener;
    use std::path::PathBuf;

    use super::*;

    fn free_port() -> u16 {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    }

    fn log_path(name: &str) -> PathBuf {
        std::env::temp_dir().join(format!("xtask-{name}-{}.log", std::process::id()))
    }

    fn shell(script: &str) -> Command {
        let mut cmd = Command::new("sh");
        cmd.args(["-c", script]);
        cmd
    }

    #[test]
    fn a_failing_start_command_is_reported_with_its_output() {
        let log = log_path("failing-start");
        let err = start_and_wait(
            shell("echo cannot start >&2; exit 1"),
            free_port(),
            &log,
            Duration::from_secs(5),
        )
        .unwrap_err();
        assert!(format!("{err:#}").contains("failed"), "{err:#}");
        assert_eq!(util::tail(&log, 5), "cannot start");
        let _ = fs::remove_file(&log);
    }

    #[test]
    fn a_port_that_never_opens_times_out() {
        let log = log_path("silent-start");
        let err =
            start_and_wait(shell("true"), free_port(), &log, Duration::from_secs(1)).unwrap_err();
        assert!(format!("{err:#}").contains("did not open"), "{err:#}");
        let _ = fs::remove_file(&log);
    }

    #[test]
    fn a_port_that_opens_counts_as_started() {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let log = log_path("ok-start");
        start_and_wait(shell("true"), port, &log, Duration::from_secs(5)).unwrap();
        assert!(is_up(port));
        let _ = fs::remove_file(&log);
    }

    #[test]
    fn an_installed_test_server_is_not_installed_again() {
        let venv = std::env::temp_dir().join(format!("xtask-venv-{}", std::process::id()));
        let bin = venv.join("bin");
        fs::create_dir_all(&bin).unwrap();
        fs::write(bin.join("secantusd-py"), "").unwrap();
        // This environment has no pip: an install would fail, so none may run.
        assert_eq!(install_secantus(&venv).unwrap(), bin.join("secantusd-py"));
        let _ = fs::remove_dir_all(&venv);
    }

    /// Runs the TLS step on this machine's MariaDB:
    /// `cargo test -p xtask -- --ignored --exact services::tests::turn_on_mariadb_tls`.
    #[test]
    #[ignore = "changes the local MariaDB's configuration"]
    fn turn_on_mariadb_tls() {
        mariadb_tls().unwrap();
        assert_eq!(mariadb_query("SELECT @@have_ssl").unwrap(), "YES");
    }

    #[test]
    fn an_install_step_that_hangs_is_stopped() {
        let err =
            run_with_timeout(&mut shell("exec sleep 10"), Duration::from_secs(1)).unwrap_err();
        assert!(format!("{err:#}").contains("did not finish"), "{err:#}");
    }
}
