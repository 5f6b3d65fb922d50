//! Connecting as `psql` and `pg_dump` do: a URL or `key=value` string, with what it
//! leaves out taken from the libpq environment (`PGHOST`, `PGPORT`, `PGUSER`,
//! `PGPASSWORD`, `PGDATABASE`).

use std::str::FromStr;
use std::time::Duration;

use postgres::config::Host;
use postgres::{Client, Config, NoTls};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("bad connection string: {0} (expected postgresql://user@host:port/db or `host=... dbname=...`)")]
    Parse(String),
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
}

impl ConnectInfo {
    pub fn from_source(source: Option<&str>) -> Result<ConnectInfo, ConnectError> {
        let env = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let mut config = match source {
            Some(s) if !s.trim().is_empty() => Config::from_str(s.trim())
                // The parser's message may quote the string: never show it.
                .map_err(|e| ConnectError::Parse(lightning_core::cli::redact(&e.to_string())))?,
            _ => Config::new(),
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
        if config.get_password().is_none() {
            if let Some(p) = env("PGPASSWORD") {
                config.password(p);
            }
        }
        if config.get_dbname().is_none() {
            let db =
                env("PGDATABASE").unwrap_or_else(|| config.get_user().unwrap_or("").to_string());
            config.dbname(&db);
        }
        config.application_name("pg2lightning");
        config.connect_timeout(Duration::from_secs(15));
        let host = match config.get_hosts().first() {
            Some(Host::Tcp(h)) => h.clone(),
            #[cfg(unix)]
            Some(Host::Unix(p)) => p.display().to_string(),
            None => "localhost".into(),
        };
        let port = config.get_ports().first().copied().unwrap_or(5432);
        let display = format!(
            "postgresql://{}@{host}:{port}/{}",
            config.get_user().unwrap_or(""),
            config.get_dbname().unwrap_or("")
        );
        Ok(ConnectInfo {
            config,
            display,
            host,
            port,
        })
    }

    /// What to check when a connection fails, by what failed.
    fn advice(&self, e: &postgres::Error) -> String {
        match e.code().map(|c| c.code()) {
            Some("28P01") => "check the user and password (in the URL or PGPASSWORD)".into(),
            Some("28000") => {
                "check the user, and that pg_hba.conf lets it connect from here".into()
            }
            Some("3D000") => "check the database name (in the URL or PGDATABASE)".into(),
            Some("53300") => "the server has no connection slot left; try again later".into(),
            Some(_) => String::new(),
            None if io_cause(e).is_some() || e.to_string() == "timeout waiting for server" => {
                format!(
                    "is the server running on {} and accepting TCP connections on port {}?",
                    self.host, self.port
                )
            }
            None if describe(e).contains("password missing") => {
                "the server asks for a password: give it in the URL or PGPASSWORD".into()
            }
            None => String::new(),
        }
    }

    /// A new session with the settings every reader uses: ISO dates, exact floats,
    /// UTF-8, UTC, and names printed schema-qualified (as pg_dump prints them).
    pub fn connect(&self) -> Result<Client, ConnectError> {
        let mut client = self.config.connect(NoTls).map_err(|e| {
            let advice = self.advice(&e);
            let mut message = describe(&e);
            if e.as_db_error().is_none() {
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
