//! Connection settings, gathered the way the `mysql` client gathers them:
//!
//! 1. what is given explicitly: the `--source` URL
//!    (`mysql://user:password@host:port/db?ssl-mode=VERIFY_IDENTITY&ssl-ca=ca.pem`)
//!    and the flags (`--password-file`, `--ssl-mode`, `--ssl-ca`, ...); a setting
//!    given both ways is refused;
//! 2. option files: the `[client]` and `[mysql2lightning]` groups of
//!    /etc/my.cnf, /etc/mysql/my.cnf, `--defaults-extra-file` and ~/.my.cnf, in
//!    that order, a later value winning; or `--defaults-file` alone;
//! 3. the environment: `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_PWD`;
//! 4. defaults: localhost, 3306, the login name (`USER`), ssl-mode PREFERRED.
//!
//! Option files come before the environment as with the client, whose option
//! files count as command-line arguments. The password is never shown:
//! `describe` leaves it out, errors are built from `describe`, and `scrub` takes
//! it out of the driver's messages, wherever it came from.

mod explain;
mod option_file;
mod settings;
mod tls;

use std::path::PathBuf;

use clap::Args;
use lightning_core::secret::PasswordFileArg;
use mysql::{Conn, Opts, OptsBuilder};

pub use tls::{SslMode, Tls};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("bad connection URL `{url}`: {why}. Write mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE[?ssl-mode=MODE&ssl-ca=FILE], or give the database name and set MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD")]
    BadUrl { url: String, why: String },
    #[error("{0}")]
    Settings(String),
    #[error("cannot connect to {server}: {error}")]
    Connect { server: String, error: String },
    #[error("{server}: {error}")]
    Query { server: String, error: String },
}

/// How to connect besides `--source`: option files, the password file, TLS.
#[derive(Args, Clone, Debug, Default)]
pub struct ClientArgs {
    /// Read the connection settings ([client] and [mysql2lightning] groups) from
    /// FILE only, instead of /etc/my.cnf, /etc/mysql/my.cnf and ~/.my.cnf.
    #[arg(long, value_name = "FILE")]
    pub defaults_file: Option<PathBuf>,
    /// Read FILE too, after the system's option files and before ~/.my.cnf.
    #[arg(long, value_name = "FILE", conflicts_with = "defaults_file")]
    pub defaults_extra_file: Option<PathBuf>,
    #[command(flatten)]
    pub password: PasswordFileArg,
    /// TLS: DISABLED, PREFERRED (TLS when offered), REQUIRED, VERIFY_CA (the
    /// certificate signed by --ssl-ca), VERIFY_IDENTITY (and naming the host)
    /// [default: PREFERRED].
    #[arg(long, value_name = "MODE", value_parser = SslMode::parse)]
    pub ssl_mode: Option<SslMode>,
    /// The CA certificate (PEM) that signs the server's certificate.
    #[arg(long, value_name = "FILE")]
    pub ssl_ca: Option<PathBuf>,
    /// A client certificate (PEM), for servers that ask for one (with --ssl-key).
    #[arg(long, value_name = "FILE", requires = "ssl_key")]
    pub ssl_cert: Option<PathBuf>,
    /// The client certificate's private key (PEM).
    #[arg(long, value_name = "FILE", requires = "ssl_cert")]
    pub ssl_key: Option<PathBuf>,
}

/// Where and how to connect; `password` is never printed.
#[derive(Clone)]
pub struct ConnSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    pub database: String,
    /// Boxed: every reader of a copy holds a ConnSpec.
    access: Box<Access>,
}

/// How to get in: the password and TLS.
#[derive(Clone)]
struct Access {
    password: Option<String>,
    /// Where the password came from (`--password-file FILE`, `MYSQL_PWD`, ...),
    /// for the advice on error 1045.
    password_from: Option<String>,
    tls: Tls,
}

impl std::fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

impl ConnSpec {
    /// The source as shown in reports and run records: no password, ever.
    pub fn describe(&self) -> String {
        format!(
            "mysql://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    fn opts(&self, encrypt: bool) -> Opts {
        let tls = &self.access.tls;
        // `localhost` would make some clients use the Unix socket; this one speaks
        // TCP. VERIFY_IDENTITY checks the name as given, so it is kept there.
        let host = if self.host == "localhost" && tls.mode != SslMode::VerifyIdentity {
            "127.0.0.1".to_string()
        } else {
            self.host.clone()
        };
        let builder = OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(self.access.password.clone())
            .db_name(Some(self.database.clone()))
            .prefer_socket(false);
        if !encrypt {
            return builder.into();
        }
        builder.ssl_opts(Some(tls.ssl_opts())).into()
    }

    /// Open a connection set up for reading: UTF-8 (utf8mb4) text, UTC for
    /// TIMESTAMP values, long network timeouts (a reader may wait on the writer).
    pub fn connect(&self) -> Result<Conn, ConnectError> {
        self.check_tls_files()?;
        let tls = self.access.tls.mode != SslMode::Disabled;
        let connected = match Conn::new(self.opts(tls)) {
            // PREFERRED: plain text when the server offers no TLS, as the client does.
            Err(mysql::Error::DriverError(mysql::DriverError::TlsNotSupported))
                if self.access.tls.mode == SslMode::Preferred =>
            {
                tracing::debug!(
                    "{}: the server offers no TLS; connecting in plain text",
                    self.describe()
                );
                Conn::new(self.opts(false))
            }
            other => other,
        };
        let mut conn = connected.map_err(|e| {
            let mut error = self.explain(&e);
            if let Some(advice) = self.advice(&e) {
                error = format!("{error}; {advice}");
            }
            ConnectError::Connect {
                server: self.describe(),
                error,
            }
        })?;
        use mysql::prelude::Queryable;
        conn.query_drop(
            "SET NAMES utf8mb4, time_zone = '+00:00', SESSION net_write_timeout = 3600, \
             SESSION net_read_timeout = 3600, SESSION sql_mode = ''",
        )
        .map_err(|e| self.query_error(e))?;
        if tracing::enabled!(tracing::Level::DEBUG) {
            let cipher: Option<(String, String)> = conn
                .query_first("SHOW SESSION STATUS LIKE 'Ssl_cipher'")
                .map_err(|e| self.query_error(e))?;
            match cipher.map(|(_, c)| c).filter(|c| !c.is_empty()) {
                Some(c) => tracing::debug!("connected to {} over TLS, cipher {c}", self.describe()),
                None => tracing::debug!("connected to {} in plain text", self.describe()),
            }
        }
        Ok(conn)
    }
}

/// Quote a MySQL identifier.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}
