//! Connecting as `psql` and `pg_dump` do: a URL or `key=value` string, with what it
//! leaves out taken from a service file (`service=NAME`, PGSERVICE) and the libpq
//! environment (`PGHOST`, `PGPORT`, `PGUSER`, `PGDATABASE`, `PGSSLMODE`, ...); TLS
//! by `sslmode`; the password, in libpq's order, from the string, `--password-file`,
//! `PGPASSWORD` or the password file (`~/.pgpass`).

use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use lightning_core::secret::{PasswordFileArg, SecretError};
use postgres::config::Host;
use postgres::{Client, Config};

use crate::libpq::{self, Params, PassKey};
use crate::tls::{self, SslMode, Tls, TlsSettings};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("bad connection string: {0} (expected postgresql://user@host:port/db or `host=... dbname=...`)")]
    Parse(String),
    #[error(transparent)]
    Secret(#[from] SecretError),
    #[error(transparent)]
    Tls(#[from] tls::TlsError),
    #[error("service `{name}`: {message}")]
    Service { name: String, message: String },
    #[error("cannot connect to {target}: {message}")]
    Connect { target: String, message: String },
}

/// A driver error as psql shows it: the server's message with its SQLSTATE, DETAIL
/// and HINT (`FATAL: password authentication failed for user "app" (SQLSTATE
/// 28P01)`), or, when the server never answered, the cause underneath (`connection
/// refused`). The driver's own text says only `db error`.
pub fn describe(e: &postgres::Error) -> String {
    if let Some(db) = e.as_db_error() {
        let mut s = format!(
            "{}: {} (SQLSTATE {})",
            db.severity(),
            db.message(),
            db.code().code()
        );
        if let Some(d) = db.detail() {
            s.push_str(&format!("; DETAIL: {d}"));
        }
        if let Some(h) = db.hint() {
            s.push_str(&format!("; HINT: {h}"));
        }
        return s;
    }
    if e.is_closed() {
        return "the server closed the connection".into();
    }
    if let Some(t) = crate::tls::rustls_cause(e) {
        return format!("TLS: {t}");
    }
    if let Some(io) = io_cause(e) {
        return lightning_core::text::network_error(io.kind(), &io.to_string());
    }
    match std::error::Error::source(e) {
        Some(c) => format!("{e}: {c}"),
        None => e.to_string(),
    }
}

/// The I/O error under a driver error, if one caused it.
fn io_cause(e: &postgres::Error) -> Option<&std::io::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(io) = c.downcast_ref::<std::io::Error>() {
            return Some(io);
        }
        cause = c.source();
    }
    None
}

/// A driver error that shows as [`describe`] says, and keeps the error itself so
/// that callers can still ask what kind it is (a dropped connection, say).
#[derive(Debug)]
pub struct PgError {
    pub error: postgres::Error,
    text: String,
}

impl PgError {
    pub fn new(error: postgres::Error) -> Self {
        let text = lightning_core::cli::redact(&describe(&error));
        PgError { error, text }
    }

    /// The error with a note after it (what to check).
    pub fn with_note(mut self, note: &str) -> Self {
        self.text.push_str("; ");
        self.text.push_str(note);
        self
    }
}

impl std::fmt::Display for PgError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

// No `source`: the text already holds the cause, and a report of the chain would
// repeat it.
impl std::error::Error for PgError {}

impl From<postgres::Error> for PgError {
    fn from(e: postgres::Error) -> Self {
        PgError::new(e)
    }
}

/// `result.pg()?`: a driver error as a [`PgError`].
pub trait PgResult<T> {
    fn pg(self) -> Result<T, PgError>;
}

impl<T> PgResult<T> for Result<T, postgres::Error> {
    fn pg(self) -> Result<T, PgError> {
        self.map_err(PgError::new)
    }
}

/// Where to connect, without ever showing the password.
#[derive(Clone)]
pub struct ConnectInfo {
    config: Config,
    /// `postgresql://user@host:port/db`, for reports and run records.
    pub display: String,
    host: String,
    port: u16,
    tls: Tls,
    /// Where the password came from, when from somewhere (never the password).
    password_from: Option<String>,
}

/// Settings that only pg2lightning's own code reads: the driver's parser does not
/// know them, or not all their values.
const OURS: [&str; 6] = [
    "sslmode",
    "sslrootcert",
    "sslcert",
    "sslkey",
    "passfile",
    "service",
];

/// libpq settings without meaning here: GSSAPI encryption is never tried, rustls
/// always sends SNI for a host name, and TLS compression no longer exists.
const IGNORED: [&str; 4] = [
    "gssencmode",
    "sslsni",
    "sslcompression",
    "fallback_application_name",
];

/// The environment, as a lookup (tests give their own).
type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

impl ConnectInfo {
    /// The server named by `source` (a URL or `key=value` string, or nothing), with
    /// the password file of `--password-file` if given.
    pub fn from_source(
        source: Option<&str>,
        password: &PasswordFileArg,
    ) -> Result<ConnectInfo, ConnectError> {
        let file_password = password.read()?;
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        Self::resolve(source, file_password, &env)
    }

    fn resolve(
        source: Option<&str>,
        file_password: Option<String>,
        env: Env<'_>,
    ) -> Result<ConnectInfo, ConnectError> {
        let mut params = match source {
            Some(s) if !s.trim().is_empty() => libpq::parse(s).map_err(ConnectError::Parse)?,
            _ => Params::default(),
        };
        let mut password_from = None;
        if params.get("password").is_some_and(|p| !p.is_empty()) {
            password_from = Some("the connection string".to_string());
        } else if let Some(p) = file_password {
            // Before the service's settings: a file named on the command line wins.
            params.set("password", p);
            password_from = Some("--password-file".into());
        }
        if let Some(name) = params.take("service").or_else(|| env("PGSERVICE")) {
            let service = load_service(&name, env)?;
            if password_from.is_none() && service.get("password").is_some() {
                password_from = Some(format!("the service `{name}`"));
            }
            params.fill_from(&service);
        }
        let setting =
            |params: &mut Params, key: &str, var: &str| params.take(key).or_else(|| env(var));
        let mode = match setting(&mut params, "sslmode", "PGSSLMODE") {
            Some(m) => SslMode::parse(&m).map_err(ConnectError::Parse)?,
            None => SslMode::Prefer,
        };
        let tls_settings = TlsSettings {
            mode,
            root_cert: setting(&mut params, "sslrootcert", "PGSSLROOTCERT").map(PathBuf::from),
            cert: setting(&mut params, "sslcert", "PGSSLCERT").map(PathBuf::from),
            key: setting(&mut params, "sslkey", "PGSSLKEY").map(PathBuf::from),
            user_dir: libpq::user_dir(env),
        };
        let passfile = setting(&mut params, "passfile", "PGPASSFILE")
            .map(PathBuf::from)
            .or_else(|| libpq::default_passfile(env));
        for key in IGNORED {
            if let Some(v) = params.take(key) {
                if key == "gssencmode" && v == "require" {
                    return Err(ConnectError::Parse(
                        "gssencmode=require: GSSAPI encryption is not supported (use sslmode)"
                            .into(),
                    ));
                }
                tracing::debug!("the setting `{key}` has no effect here");
            }
        }
        debug_assert!(OURS.iter().all(|k| params.get(k).is_none()));
        let mut config = if params == Params::default() {
            Config::new()
        } else {
            // The parser's message may quote the string: never show it.
            Config::from_str(&params.to_keyword_string()).map_err(|e| {
                let text = match std::error::Error::source(&e) {
                    Some(cause) => format!("{e}: {cause}"),
                    None => e.to_string(),
                };
                ConnectError::Parse(lightning_core::cli::redact(&text))
            })?
        };
        if config.get_hosts().is_empty() {
            config.host(&env("PGHOST").unwrap_or_else(|| "localhost".into()));
        }
        if config.get_ports().is_empty() {
            if let Some(p) = env("PGPORT") {
                let port = p.parse().map_err(|_| {
                    ConnectError::Parse(format!("PGPORT `{p}` is not a port number"))
                })?;
                config.port(port);
            }
        }
        if config.get_user().is_none() {
            let user = env("PGUSER")
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "postgres".into());
            config.user(&user);
        }
        if config.get_dbname().is_none() {
            let db =
                env("PGDATABASE").unwrap_or_else(|| config.get_user().unwrap_or("").to_string());
            config.dbname(&db);
        }
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                config.password(p);
                password_from = Some("PGPASSWORD".into());
            } else if let Some(file) = passfile {
                let key = PassKey {
                    host: &host,
                    port: &port.to_string(),
                    dbname: config.get_dbname().unwrap_or(""),
                    user: config.get_user().unwrap_or(""),
                };
                if let Some(p) = password_from_file(&file, &key) {
                    config.password(p);
                    password_from = Some(file.display().to_string());
                }
            }
        }
        if let Some(from) = &password_from {
            tracing::debug!("the password comes from {from}");
        }
        config.ssl_mode(mode.driver());
        let tls = Tls::setup(&tls_settings)?;
        config.application_name("pg2lightning");
        config.connect_timeout(Duration::from_secs(15));
        let mut display = format!(
            "postgresql://{}@{host}:{port}/{}",
            config.get_user().unwrap_or(""),
            config.get_dbname().unwrap_or("")
        );
        if mode != SslMode::Prefer {
            display.push_str(&format!("?sslmode={}", mode.name()));
        }
        Ok(ConnectInfo {
            config,
            display,
            host,
            port,
            tls,
            password_from,
        })
    }

    /// What to check when a connection fails, by what failed.
    fn advice(&self, e: &postgres::Error) -> String {
        match e.code().map(|c| c.code()) {
            Some("28P01") => match &self.password_from {
                Some(from) => format!(
                    "check the user and password (the password came from {from}; it is taken \
                     from the URL, --password-file, PGPASSWORD or ~/.pgpass, the first that has \
                     one)"
                ),
                None => "check the user and password (URL, --password-file, PGPASSWORD or \
                         ~/.pgpass)"
                    .into(),
            },
            Some("28000") => "check the user, and that pg_hba.conf lets it connect from here \
                              (a `hostssl` line needs sslmode=require or stronger)"
                .into(),
            Some("3D000") => "check the database name (in the URL or PGDATABASE)".into(),
            Some("53300") => "the server has no connection slot left; try again later".into(),
            Some(_) => String::new(),
            None if tls::rustls_cause(e).is_some() || tls::refused_tls(e) => String::new(),
            None if io_cause(e).is_some() || e.to_string() == "timeout waiting for server" => {
                format!(
                    "is the server running on {} and accepting TCP connections on port {}?",
                    self.host, self.port
                )
            }
            None if describe(e).contains("password missing") => {
                "the server asks for a password: give it with --password-file, PGPASSWORD or \
                 ~/.pgpass (a password in the URL shows in `ps`)"
                    .into()
            }
            None => String::new(),
        }
    }

    /// One try to connect, or two as the mode says: `allow` tries TLS after the
    /// server refused a plain session, `prefer` a plain session after a failed
    /// handshake (as libpq).
    fn open(&self) -> Result<Client, postgres::Error> {
        let tls = self.tls.connector.clone();
        match self.tls.mode {
            SslMode::Allow => match self.config.connect(tls.clone()) {
                Err(e) if e.as_db_error().is_some() => {
                    tracing::debug!("the server refused a plain session; trying TLS");
                    let mut config = self.config.clone();
                    config.ssl_mode(postgres::config::SslMode::Require);
                    config.connect(tls)
                }
                other => other,
            },
            SslMode::Prefer => match self.config.connect(tls.clone()) {
                Err(e) if tls::rustls_cause(&e).is_some() => {
                    tracing::debug!("the TLS handshake failed; trying without TLS");
                    let mut config = self.config.clone();
                    config.ssl_mode(postgres::config::SslMode::Disable);
                    config.connect(tls)
                }
                other => other,
            },
            _ => self.config.connect(tls),
        }
    }

    /// A new session with the settings every reader uses: ISO dates, exact floats,
    /// UTF-8, UTC, and names printed schema-qualified (as pg_dump prints them).
    pub fn connect(&self) -> Result<Client, ConnectError> {
        let mut client = self.open().map_err(|e| {
            let advice = self.advice(&e);
            let mut message = if let Some(cause) = tls::rustls_cause(&e) {
                tls::explain(cause, &self.tls, &self.host)
            } else if tls::refused_tls(&e) {
                format!(
                    "the server does not accept TLS connections (sslmode={})",
                    self.tls.mode.name()
                )
            } else {
                describe(&e)
            };
            if e.as_db_error().is_none() {
                // The user is in the target's name, before this.
                message = format!(
                    "connection to {} port {} failed: {message}",
                    self.host, self.port
                );
            }
            if !advice.is_empty() {
                message = format!("{message}; {advice}");
            }
            ConnectError::Connect {
                target: self.display.clone(),
                message: lightning_core::cli::redact(&message),
            }
        })?;
        client
            .batch_execute(
                "SET DateStyle = ISO; SET IntervalStyle = postgres; SET extra_float_digits = 3; \
                 SET client_encoding = 'UTF8'; SET TimeZone = 'UTC'; SET bytea_output = hex; \
                 SET search_path = ''; SET synchronize_seqscans = off; \
                 SET statement_timeout = 0; SET idle_in_transaction_session_timeout = 0; \
                 SET max_parallel_workers_per_gather = 0",
            )
            .map_err(|e| ConnectError::Connect {
                target: self.display.clone(),
                message: format!("setting up the session: {}", PgError::new(e)),
            })?;
        Ok(client)
    }
}

/// The service's settings: from PGSERVICEFILE or `~/.pg_service.conf`, else
/// `PGSYSCONFDIR/pg_service.conf`, as libpq looks.
fn load_service(name: &str, env: Env<'_>) -> Result<Params, ConnectError> {
    let err = |message: String| ConnectError::Service {
        name: name.to_string(),
        message,
    };
    let mut tried = Vec::new();
    let user_file = env("PGSERVICEFILE")
        .map(PathBuf::from)
        .or_else(|| libpq::default_servicefile(env));
    let system_file = env("PGSYSCONFDIR").map(|d| PathBuf::from(d).join("pg_service.conf"));
    for file in user_file.into_iter().chain(system_file) {
        let text = match std::fs::read_to_string(&file) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                tried.push(file.display().to_string());
                continue;
            }
            Err(e) => return Err(err(format!("cannot read {}: {e}", file.display()))),
        };
        tried.push(file.display().to_string());
        match libpq::find_service(&text, name) {
            Ok(Some(p)) => return Ok(p),
            Ok(None) => continue,
            Err(m) => return Err(err(format!("{}: {m}", file.display()))),
        }
    }
    Err(err(format!(
        "no such service in {}",
        if tried.is_empty() {
            "any service file (set PGSERVICEFILE)".to_string()
        } else {
            tried.join(" or ")
        }
    )))
}

/// The password a password file holds for `key`; none when the file is missing,
/// unreadable or readable by others (libpq then skips it too).
fn password_from_file(file: &std::path::Path, key: &PassKey<'_>) -> Option<String> {
    if !file.exists() || !libpq::private_enough(file) {
        return None;
    }
    match std::fs::read_to_string(file) {
        Ok(text) => libpq::find_password(&text, key),
        Err(e) => {
            tracing::warn!("cannot read the password file {}: {e}", file.display());
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An environment of its own, with HOME in `home` so that nothing of the user
    /// running the tests is read.
    fn env_of(home: &std::path::Path, vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let mut map: std::collections::HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        map.insert("HOME".into(), home.display().to_string());
        move |k: &str| map.get(k).cloned()
    }

    fn password(info: &ConnectInfo) -> Option<String> {
        info.config
            .get_password()
            .map(|p| String::from_utf8(p.to_vec()).unwrap())
    }

    #[cfg(unix)]
    fn private(path: &std::path::Path, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        std::fs::write(path, text).unwrap();
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }

    #[cfg(unix)]
    #[test]
    fn passwords_come_in_libpq_order() {
        let home = tempfile::tempdir().unwrap();
        let pgpass = home.path().join("pgpass");
        private(&pgpass, "db.example:5432:app:alice:from-pgpass\n");
        let services = home.path().join("services.conf");
        std::fs::write(&services, "[svc]\npassword=from-service\n").unwrap();
        let all = [
            ("PGPASSWORD", "from-env"),
            ("PGPASSFILE", pgpass.to_str().unwrap()),
            ("PGSERVICEFILE", services.to_str().unwrap()),
        ];
        let url = "postgresql://alice@db.example/app";
        let with_pw = "postgresql://alice:from-url@db.example/app";
        let file = || Some("from-file".to_string());
        let env = env_of(home.path(), &all);
        let info = ConnectInfo::resolve(Some(with_pw), file(), &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-url"));
        let svc = format!("{url}?service=svc");
        let info = ConnectInfo::resolve(Some(&svc), file(), &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-file"));
        assert_eq!(info.password_from.as_deref(), Some("--password-file"));
        let info = ConnectInfo::resolve(Some(&svc), None, &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-service"));
        let info = ConnectInfo::resolve(Some(url), None, &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-env"));
        let env = env_of(home.path(), &all[1..]);
        let info = ConnectInfo::resolve(Some(url), None, &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-pgpass"));
        assert_eq!(info.password_from.as_deref(), pgpass.to_str());
        // The line is for port 5432 and database app only.
        let info = ConnectInfo::resolve(Some("postgresql://alice@db.example:6432/app"), None, &env)
            .unwrap();
        assert_eq!(password(&info), None);
        // ~/.pgpass by default; skipped once others can read it.
        let env = env_of(home.path(), &[]);
        let default = home.path().join(".pgpass");
        private(&default, "*:*:*:alice:from-home\n");
        let info = ConnectInfo::resolve(Some(url), None, &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-home"));
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&default, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        let info = ConnectInfo::resolve(Some(url), None, &env).unwrap();
        assert_eq!(password(&info), None);
        // passfile= in the string names the file too.
        let kv = format!(
            "host=db.example user=alice dbname=app passfile='{}'",
            pgpass.display()
        );
        let info = ConnectInfo::resolve(Some(&kv), None, &env).unwrap();
        assert_eq!(password(&info).as_deref(), Some("from-pgpass"));
        // Never in what is shown.
        assert!(!info.display.contains("from-"), "{}", info.display);
    }

    #[test]
    fn services_fill_in_what_is_not_given() {
        let home = tempfile::tempdir().unwrap();
        let user_file = home.path().join(".pg_service.conf");
        std::fs::write(
            &user_file,
            "[app]\nhost=svc.example\nport=6432\ndbname=appdb\nuser=svcuser\nsslmode=require\n",
        )
        .unwrap();
        let sysdir = home.path().join("etc");
        std::fs::create_dir(&sysdir).unwrap();
        std::fs::write(sysdir.join("pg_service.conf"), "[sys]\nhost=sys.example\n").unwrap();
        let env = env_of(
            home.path(),
            &[
                ("PGHOST", "env.example"),
                ("PGSYSCONFDIR", sysdir.to_str().unwrap()),
            ],
        );
        let info = ConnectInfo::resolve(Some("service=app dbname=explicit"), None, &env).unwrap();
        assert_eq!(
            info.display,
            "postgresql://svcuser@svc.example:6432/explicit?sslmode=require"
        );
        let env_with_service = env_of(
            home.path(),
            &[
                ("PGSERVICE", "sys"),
                ("PGSYSCONFDIR", sysdir.to_str().unwrap()),
            ],
        );
        let info = ConnectInfo::resolve(Some("user=u dbname=d"), None, &env_with_service).unwrap();
        assert_eq!(info.display, "postgresql://u@sys.example:5432/d");
        let e = ConnectInfo::resolve(Some("service=nope"), None, &env)
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("service `nope`") && e.contains("no such service"),
            "{e}"
        );
    }

    #[test]
    fn tls_settings_come_from_the_string_or_the_environment() {
        let home = tempfile::tempdir().unwrap();
        let ca =
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/other-ca.pem");
        let env = env_of(home.path(), &[]);
        let url = format!(
            "postgresql://u@h/d?sslmode=verify-full&sslrootcert={}",
            ca.display()
        );
        let info = ConnectInfo::resolve(Some(&url), None, &env).unwrap();
        assert_eq!(info.tls.mode, SslMode::VerifyFull);
        assert_eq!(info.tls.check, tls::Check::Full(ca.clone()));
        assert_eq!(info.display, "postgresql://u@h:5432/d?sslmode=verify-full");
        let kv = format!(
            "host=h user=u sslmode = verify-ca  sslrootcert='{}' dbname='my db'",
            ca.display()
        );
        let info = ConnectInfo::resolve(Some(&kv), None, &env).unwrap();
        assert_eq!(info.tls.check, tls::Check::Chain(ca.clone()));
        assert_eq!(info.config.get_dbname(), Some("my db"));
        let env = env_of(
            home.path(),
            &[
                ("PGSSLMODE", "require"),
                ("PGSSLROOTCERT", ca.to_str().unwrap()),
            ],
        );
        let info = ConnectInfo::resolve(Some("postgresql://u@h/d"), None, &env).unwrap();
        // require with a root certificate checks the chain, as libpq.
        assert_eq!(info.tls.check, tls::Check::Chain(ca.clone()));
        let info =
            ConnectInfo::resolve(Some("postgresql://u@h/d?sslmode=disable"), None, &env).unwrap();
        assert_eq!(
            info.config.get_ssl_mode(),
            postgres::config::SslMode::Disable
        );
        assert_eq!(info.display, "postgresql://u@h:5432/d?sslmode=disable");
        let default =
            ConnectInfo::resolve(Some("host=h"), None, &env_of(home.path(), &[])).unwrap();
        assert_eq!(default.tls.mode, SslMode::Prefer);
        assert!(!default.display.contains("sslmode"));
        let e = ConnectInfo::resolve(Some("host=h sslmode=verify"), None, &env)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("sslmode `verify`"), "{e}");
        // Unknown settings are the driver's to refuse, without quoting the string.
        let e = ConnectInfo::resolve(Some("host=h password=Sekrit nosuch=1"), None, &env)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("nosuch") && !e.contains("Sekrit"), "{e}");
    }

    /// Through this module's connect, the real server reports the session as the
    /// mode asks: plain for disable and allow (the server takes a plain session),
    /// encrypted for prefer and require.
    #[test]
    fn the_server_sees_the_session_the_mode_asks_for() {
        let base = std::env::var("PG2L_TEST_URL")
            .unwrap_or_else(|_| "postgresql://postgres@127.0.0.1:5432/postgres".into());
        let sep = if base.contains('?') { '&' } else { '?' };
        let home = tempfile::tempdir().unwrap();
        let env = env_of(home.path(), &[]);
        for (mode, ssl) in [
            ("disable", false),
            ("allow", false),
            ("prefer", true),
            ("require", true),
        ] {
            let source = format!("{base}{sep}sslmode={mode}");
            let info = ConnectInfo::resolve(Some(&source), None, &env).unwrap();
            let mut c = info
                .connect()
                .unwrap_or_else(|e| panic!("sslmode={mode}: {e} (PostgreSQL must be running)"));
            let row = c
                .query_one(
                    "SELECT ssl FROM pg_catalog.pg_stat_ssl WHERE pid = pg_catalog.pg_backend_pid()",
                    &[],
                )
                .unwrap();
            assert_eq!(row.get::<_, bool>(0), ssl, "sslmode={mode}");
        }
    }

    /// A server that answers the TLS request with `N`, as one without TLS does.
    #[test]
    fn a_server_without_tls_is_named_as_such() {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = std::thread::spawn(move || {
            use std::io::{Read, Write};
            let (mut s, _) = listener.accept().unwrap();
            let mut request = [0u8; 8];
            s.read_exact(&mut request).unwrap();
            // The SSLRequest code, 80877103.
            assert_eq!(&request[4..], &[0x04, 0xd2, 0x16, 0x2f]);
            s.write_all(b"N").unwrap();
        });
        let home = tempfile::tempdir().unwrap();
        let env = env_of(home.path(), &[]);
        let source = format!("postgresql://app:Pw-notls@127.0.0.1:{port}/db?sslmode=require");
        let info = ConnectInfo::resolve(Some(&source), None, &env).unwrap();
        let e = info.connect().err().unwrap().to_string();
        server.join().unwrap();
        assert!(
            e.contains(&format!(
                "cannot connect to postgresql://app@127.0.0.1:{port}/db?sslmode=require: \
                 connection to 127.0.0.1 port {port} failed: the server does not accept TLS \
                 connections (sslmode=require)"
            )),
            "{e}"
        );
        assert!(!e.contains("Pw-notls"), "{e}");
    }
}
