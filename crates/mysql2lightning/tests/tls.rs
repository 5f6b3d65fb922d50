//! Connecting as the mysql client does, against the local MariaDB: each ssl-mode
//! (with the server's own CA, and a wrong one), and each source of the password
//! (option files, MYSQL_PWD, --password-file), which never shows anywhere.
//!
//! The server must have TLS on: the test command turns it on with a throwaway CA.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

/// The test user with a password, and that password: `#` and `;` need quoting in
/// an option file, and must survive it.
const USER: &str = "lt_pw";
const SECRET: &str = "Lt-s3cr3t#pw;x";

/// The CA file the server's certificate is signed by, as the server reports it.
fn server_ca() -> PathBuf {
    let have = mariadb(None, "SELECT @@have_ssl").trim().to_string();
    assert_eq!(
        have, "YES",
        "the local MariaDB has no TLS (have_ssl = {have}): run the test command \
         (cargo xtask test), which turns TLS on with a throwaway CA"
    );
    let ca = mariadb(None, "SELECT @@ssl_ca").trim().to_string();
    assert!(
        Path::new(&ca).is_file(),
        "the server's ssl_ca `{ca}` is not a readable file"
    );
    PathBuf::from(ca)
}

fn other_ca() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/other-ca.pem")
}

/// The tool with no connection settings from this machine: an empty HOME (no
/// ~/.my.cnf), none of the client's environment variables; the connection's
/// TLS state in the log.
fn tool_cmd(home: &Path) -> Command {
    let mut cmd = Command::new(tool());
    cmd.env("HOME", home)
        .env("LIGHTNING_LOG", "warn,mysql2lightning=debug")
        .env_remove("MYSQL_PWD")
        .env_remove("MYSQL_HOST")
        .env_remove("MYSQL_TCP_PORT");
    cmd
}

fn assess(home: &Path, args: &[&str]) -> Run {
    lightning_testkit::run(tool_cmd(home).arg("assess").arg("--json").args(args))
}

/// The ciphers of the connections the run logged ("" for a plain one).
fn ciphers(r: &Run) -> Vec<String> {
    let found: Vec<String> = r
        .stderr
        .lines()
        .filter_map(|l| {
            if let Some((_, c)) = l.split_once("over TLS, cipher ") {
                Some(c.trim().to_string())
            } else if l.contains(" in plain text") && l.contains("connected to") {
                Some(String::new())
            } else {
                None
            }
        })
        .collect();
    assert!(!found.is_empty(), "no connection logged: {}", r.stderr);
    found
}

#[test]
fn every_ssl_mode_connects_as_it_says() {
    let ca = server_ca();
    let home = tempfile::tempdir().unwrap();
    let db = TestDb::new("tls_modes");
    db.sql("CREATE TABLE t (id INT PRIMARY KEY); INSERT INTO t VALUES (1);");
    let url = |host: &str, query: &str| format!("mysql://root@{host}:3306/{}?{query}", db.name);
    let ca_q = format!("ssl-ca={}", p(&ca));
    let cases = [
        ("DISABLED", url("127.0.0.1", "ssl-mode=DISABLED"), false),
        ("default", url("127.0.0.1", ""), true),
        ("PREFERRED", url("127.0.0.1", "ssl_mode=preferred"), true),
        ("REQUIRED", url("127.0.0.1", "ssl-mode=REQUIRED"), true),
        (
            "VERIFY_CA",
            url("127.0.0.1", &format!("ssl-mode=VERIFY_CA&{ca_q}")),
            true,
        ),
        (
            "VERIFY_IDENTITY 127.0.0.1",
            url("127.0.0.1", &format!("ssl-mode=VERIFY_IDENTITY&{ca_q}")),
            true,
        ),
        (
            "VERIFY_IDENTITY localhost",
            url("localhost", &format!("ssl-mode=VERIFY_IDENTITY&{ca_q}")),
            true,
        ),
    ];
    for (what, source, encrypted) in cases {
        let r = assess(home.path(), &["--source", &source]);
        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
        assert_eq!(
            r.json()["tables"].as_array().map(Vec::len),
            Some(1),
            "{what}: {}",
            r.stdout
        );
        for cipher in ciphers(&r) {
            assert_eq!(!cipher.is_empty(), encrypted, "{what}: cipher `{cipher}`");
        }
    }
    // The same settings as flags.
    let r = assess(
        home.path(),
        &[
            "--source",
            &url("localhost", ""),
            "--ssl-mode",
            "VERIFY_IDENTITY",
            "--ssl-ca",
            p(&ca),
        ],
    );
    assert_eq!(r.code, 0, "flags: {}", r.stderr);
    assert!(ciphers(&r).iter().all(|c| !c.is_empty()), "{}", r.stderr);
}

#[test]
fn a_wrong_ca_is_refused_with_a_clear_error() {
    server_ca();
    let home = tempfile::tempdir().unwrap();
    let wrong = other_ca();
    for mode in ["VERIFY_CA", "VERIFY_IDENTITY"] {
        let source = format!(
            "mysql://root@127.0.0.1:3306/mysql?ssl-mode={mode}&ssl-ca={}",
            p(&wrong)
        );
        let r = assess(home.path(), &["--source", &source]);
        assert_clean_error(&r, 1, "not signed by that CA");
        for needle in [
            format!("ssl-mode {mode}"),
            format!("CA file {}", p(&wrong)),
            "root@127.0.0.1:3306".to_string(),
        ] {
            assert!(
                r.stderr.contains(&needle),
                "{mode}: `{needle}` not in {}",
                r.stderr
            );
        }
    }
    // A CA file that is not there is named, with the mode.
    let missing = home.path().join("no-such-ca.pem");
    let r = assess(
        home.path(),
        &[
            "--source",
            "mysql://root@127.0.0.1:3306/mysql",
            "--ssl-mode",
            "VERIFY_CA",
            "--ssl-ca",
            p(&missing),
        ],
    );
    assert_clean_error(&r, 1, "cannot read the ssl-ca file");
    assert!(
        r.stderr.contains("no-such-ca.pem") && r.stderr.contains("VERIFY_CA"),
        "{}",
        r.stderr
    );
}

#[test]
fn tls_settings_come_from_an_option_file() {
    let ca = server_ca();
    let db = TestDb::new("tls_cnf");
    let home = tempfile::tempdir().unwrap();
    let cnf = home.path().join("tls.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[client]\nhost = localhost\nport = 3306\nuser = root\nssl_mode = VERIFY_IDENTITY\n\
             ssl-ca = \"{}\"\n",
            p(&ca)
        ),
    )
    .unwrap();
    let r = assess(
        home.path(),
        &["--source", &db.name, "--defaults-file", p(&cnf)],
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(ciphers(&r).iter().all(|c| !c.is_empty()), "{}", r.stderr);
    // The wrong CA through the file: refused the same way.
    std::fs::write(
        &cnf,
        format!(
            "[mysql2lightning]\nhost = 127.0.0.1\nuser = root\nssl-mode = VERIFY_CA\nssl-ca = {}\n",
            p(&other_ca())
        ),
    )
    .unwrap();
    let r = assess(
        home.path(),
        &["--source", &db.name, "--defaults-file", p(&cnf)],
    );
    assert_clean_error(&r, 1, "not signed by that CA");
}

/// The user with a password, able to read `db`.
fn password_user(db: &TestDb) {
    mariadb(
        None,
        &format!(
            "CREATE USER IF NOT EXISTS '{USER}'@'%' IDENTIFIED BY '{SECRET}';
             ALTER USER '{USER}'@'%' IDENTIFIED BY '{SECRET}';
             GRANT ALL ON `{}`.* TO '{USER}'@'%';",
            db.name
        ),
    );
}

/// Every file under `dir`, as text.
fn files_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files_text(&path));
        } else {
            let bytes = std::fs::read(&path).unwrap();
            out.push((path, String::from_utf8_lossy(&bytes).into_owned()));
        }
    }
    out
}

fn private_file(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
}

#[test]
fn every_password_source_works_and_the_password_never_shows() {
    server_ca();
    let db = TestDb::new("tls_pw");
    db.sql("CREATE TABLE t (id INT PRIMARY KEY, v VARCHAR(10)); INSERT INTO t VALUES (1, 'a'), (2, 'b');");
    password_user(&db);
    let work = tempfile::tempdir().unwrap();
    let secrets = work.path().join("secrets");
    std::fs::create_dir(&secrets).unwrap();
    let empty_home = work.path().join("empty-home");
    std::fs::create_dir(&empty_home).unwrap();
    let url = format!("mysql://{USER}@127.0.0.1:3306/{}", db.name);

    // --defaults-file: a [client] group with everything, the source a bare name.
    let cnf = secrets.join("client.cnf");
    private_file(
        &cnf,
        &format!("[client]\nhost = 127.0.0.1\nuser = {USER}\npassword = \"{SECRET}\"\n"),
    );
    // ~/.my.cnf, through a HOME of its own.
    let home = work.path().join("home");
    std::fs::create_dir(&home).unwrap();
    private_file(
        &home.join(".my.cnf"),
        &format!("# the test user\n[client]\npassword = '{SECRET}'  ; quoted\n"),
    );
    let pw_file = secrets.join("pw");
    private_file(&pw_file, &format!("{SECRET}\n"));

    let mut runs = Vec::new();
    let out = work.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let name = db.name.as_str();
    // What, HOME, the environment, the connection options.
    let sources: [(&str, &Path, Option<&str>, Vec<&str>); 4] = [
        (
            "--defaults-file",
            &empty_home,
            None,
            vec!["--defaults-file", p(&cnf), "--source", name],
        ),
        ("~/.my.cnf", &home, None, vec!["--source", &url]),
        (
            "MYSQL_PWD",
            &empty_home,
            Some(SECRET),
            vec!["--source", &url],
        ),
        (
            "--password-file",
            &empty_home,
            None,
            vec!["--password-file", p(&pw_file), "--source", &url],
        ),
    ];
    for (i, (what, home, pwd, args)) in sources.into_iter().enumerate() {
        let target = out.join(format!("run{i}.ldb"));
        let report = out.join(format!("report{i}.json"));
        let mut cmd = tool_cmd(home);
        if let Some(pwd) = pwd {
            cmd.env("MYSQL_PWD", pwd);
        }
        cmd.arg("migrate").args(args).args([
            "--target",
            p(&target),
            "--verify",
            "--report",
            p(&report),
        ]);
        let r = lightning_testkit::run(&mut cmd);
        assert_eq!(r.code, 0, "{what}: {}", r.stderr);
        assert!(
            !r.stderr.contains("can be read by other users"),
            "{what}: {}",
            r.stderr
        );
        assert_eq!(checksums(&target)["t"].rows, 2, "{what}");
        runs.push((what, r));
    }
    for (what, r) in &runs {
        assert!(
            !r.all().contains(SECRET),
            "{what}: the password leaked: {}",
            r.all()
        );
    }
    for (path, text) in files_text(&out) {
        assert!(
            !text.contains(SECRET),
            "the password leaked into {}",
            path.display()
        );
    }
}

#[test]
fn option_files_beat_the_environment_and_flags_beat_both() {
    server_ca();
    let db = TestDb::new("tls_order");
    password_user(&db);
    let home = tempfile::tempdir().unwrap();
    private_file(
        &home.path().join(".my.cnf"),
        &format!("[client]\npassword = \"{SECRET}\"\n"),
    );
    let url = format!("mysql://{USER}@127.0.0.1:3306/{}", db.name);
    // The option file's right password wins over a wrong MYSQL_PWD, as with the client.
    let r = lightning_testkit::run(
        tool_cmd(home.path())
            .env("MYSQL_PWD", "wrong-from-env")
            .args(["assess", "--source", &url]),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    // A wrong --password-file wins over the right option file.
    let wrong = home.path().join("wrong-pw");
    private_file(&wrong, "wrong-from-file\n");
    let r = lightning_testkit::run(tool_cmd(home.path()).args([
        "assess",
        "--source",
        &url,
        "--password-file",
        p(&wrong),
    ]));
    assert_clean_error(&r, 1, "ERROR 1045");
    assert!(r.stderr.contains("--password-file"), "{}", r.stderr);
    // A password both in the URL and in a file: refused, neither shown.
    let both = format!("mysql://{USER}:{SECRET}@127.0.0.1:3306/{}", db.name);
    let r = lightning_testkit::run(tool_cmd(home.path()).args([
        "assess",
        "--source",
        &both,
        "--password-file",
        p(&wrong),
    ]));
    assert_clean_error(&r, 1, "the password is given both");
    assert!(
        !r.all().contains(SECRET) && !r.all().contains("wrong-from-file"),
        "{}",
        r.all()
    );
}

#[test]
fn a_wrong_password_is_error_1045_naming_user_and_host_only() {
    server_ca();
    let db = TestDb::new("tls_wrong");
    password_user(&db);
    let home = tempfile::tempdir().unwrap();
    let wrong = format!("{SECRET}-wrong");
    let cnf = home.path().join("wrong.cnf");
    private_file(
        &cnf,
        &format!("[client]\nuser={USER}\npassword=\"{wrong}\"\n"),
    );
    let source = format!("mysql://127.0.0.1:3306/{}", db.name);
    let runs = [
        lightning_testkit::run(tool_cmd(home.path()).args([
            "assess",
            "--source",
            &source,
            "--defaults-file",
            p(&cnf),
        ])),
        lightning_testkit::run(tool_cmd(home.path()).env("MYSQL_PWD", &wrong).args([
            "assess",
            "--source",
            &format!("mysql://{USER}@127.0.0.1/{}", db.name),
        ])),
    ];
    for r in &runs {
        assert_clean_error(r, 1, "ERROR 1045");
        for needle in [format!("'{USER}'@"), format!("{USER}@127.0.0.1:3306")] {
            assert!(r.stderr.contains(&needle), "`{needle}` not in {}", r.stderr);
        }
        assert!(
            !r.all().contains(SECRET),
            "the password leaked: {}",
            r.all()
        );
    }
    assert!(runs[0].stderr.contains("wrong.cnf"), "{}", runs[0].stderr);
    assert!(runs[1].stderr.contains("MYSQL_PWD"), "{}", runs[1].stderr);
}

#[test]
fn an_option_file_with_a_password_readable_by_others_is_warned_about() {
    use std::os::unix::fs::PermissionsExt;
    server_ca();
    let db = TestDb::new("tls_perm");
    password_user(&db);
    let home = tempfile::tempdir().unwrap();
    let cnf = home.path().join(".my.cnf");
    std::fs::write(
        &cnf,
        format!("[client]\nuser = {USER}\npassword = \"{SECRET}\"\n"),
    )
    .unwrap();
    std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o644)).unwrap();
    let r = lightning_testkit::run(tool_cmd(home.path()).args([
        "assess",
        "--source",
        &format!("mysql://127.0.0.1/{}", db.name),
    ]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert!(
        r.stderr.contains("can be read by other users"),
        "{}",
        r.stderr
    );
    assert!(r.stderr.contains(".my.cnf"), "{}", r.stderr);
    assert!(!r.all().contains(SECRET), "{}", r.all());
}

#[test]
fn sync_takes_the_same_connection_options() {
    let r = lightning_testkit::run(Command::new(tool()).args(["sync", "--help"]));
    assert_eq!(r.code, 0, "{}", r.stderr);
    for flag in [
        "--defaults-file",
        "--password-file",
        "--ssl-mode",
        "--ssl-ca",
    ] {
        assert!(r.stdout.contains(flag), "{flag} not in: {}", r.stdout);
    }
}

/// A MariaDB of its own without TLS, on a free port, stopped when dropped: the
/// local server has TLS, and PREFERRED and REQUIRED differ only on one without.
struct PlainServer {
    child: std::process::Child,
    port: u16,
    _dir: tempfile::TempDir,
}

impl PlainServer {
    fn start() -> PlainServer {
        let dir = tempfile::tempdir().unwrap();
        // The server runs as `mysql`, which must reach its data directory.
        let chown = Command::new("chown")
            .args(["mysql:mysql", p(dir.path())])
            .status()
            .unwrap();
        assert!(chown.success(), "chown mysql {}", p(dir.path()));
        let data = dir.path().join("data");
        let install = Command::new("mariadb-install-db")
            .args([
                "--no-defaults",
                "--user=mysql",
                "--auth-root-authentication-method=normal",
                "--skip-test-db",
            ])
            .arg(format!("--datadir={}", p(&data)))
            .output()
            .expect("mariadb-install-db is installed with the server");
        assert!(
            install.status.success(),
            "mariadb-install-db: {}",
            String::from_utf8_lossy(&install.stderr)
        );
        let port = lightning_testkit::free_port();
        // Often outside a user's PATH.
        let program = ["/usr/sbin/mariadbd", "/usr/local/sbin/mariadbd"]
            .into_iter()
            .find(|p| Path::new(p).exists())
            .unwrap_or("mariadbd");
        let child = Command::new(program)
            .args(["--no-defaults", "--user=mysql", "--skip-ssl"])
            .arg("--bind-address=127.0.0.1")
            .arg(format!("--port={port}"))
            .arg(format!("--datadir={}", p(&data)))
            .arg(format!("--socket={}", p(&dir.path().join("s.sock"))))
            .arg(format!("--pid-file={}", p(&dir.path().join("s.pid"))))
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("mariadbd runs");
        let server = PlainServer {
            child,
            port,
            _dir: dir,
        };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                std::time::Instant::now() < deadline,
                "the plain server did not open port {port}"
            );
            std::thread::sleep(std::time::Duration::from_millis(200));
        }
        server
    }
}

impl Drop for PlainServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn a_server_without_tls_is_plain_under_preferred_and_refused_under_required() {
    let server = PlainServer::start();
    let home = tempfile::tempdir().unwrap();
    // `mysql`, the server's own schema, is there from the start.
    let url = |query: &str| format!("mysql://root@127.0.0.1:{}/mysql{query}", server.port);
    for source in [url(""), url("?ssl-mode=PREFERRED")] {
        let r = lightning_testkit::run(tool_cmd(home.path()).args([
            "convert-schema",
            "--source",
            &source,
        ]));
        assert_eq!(r.code, 0, "{source}: {}", r.stderr);
        assert!(ciphers(&r).iter().all(String::is_empty), "{}", r.stderr);
    }
    let r = assess(home.path(), &["--source", &url("?ssl-mode=REQUIRED")]);
    assert_clean_error(&r, 1, "the server does not offer TLS (ssl-mode REQUIRED)");
    assert!(
        r.stderr
            .contains(&format!("root@127.0.0.1:{}", server.port)),
        "{}",
        r.stderr
    );
    let r = assess(
        home.path(),
        &[
            "--source",
            &url("?ssl-mode=VERIFY_IDENTITY"),
            "--ssl-ca",
            p(&server_ca()),
        ],
    );
    assert_clean_error(
        &r,
        1,
        "the server does not offer TLS (ssl-mode VERIFY_IDENTITY",
    );
}
