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

/// Where to connect, without ever showing the password.
#[derive(Clone)]
pub struct ConnectInfo {
    config: Config,
    /// `postgresql://user@host:port/db`, for reports and run records.
    pub display: String,
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
        Ok(ConnectInfo { config, display })
    }

    /// A new session with the settings every reader uses: ISO dates, exact floats,
    /// UTF-8, UTC, and names printed schema-qualified (as pg_dump prints them).
    pub fn connect(&self) -> Result<Client, ConnectError> {
        let mut client = self
            .config
            .connect(NoTls)
            .map_err(|e| ConnectError::Connect {
                target: self.display.clone(),
                message: lightning_core::cli::redact(&e.to_string()),
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
                message: e.to_string(),
            })?;
        Ok(client)
    }
}
