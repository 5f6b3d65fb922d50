//! Connection settings, the way the `mysql` and `mysqldump` clients take them: a
//! URL (`mysql://user:password@host:port/db`), or a database name with the
//! `MYSQL_HOST`, `MYSQL_TCP_PORT`, `MYSQL_PWD` and `USER` environment variables
//! filling in what is missing. The password is never shown: `describe` leaves it
//! out, and errors are built from `describe`.

use mysql::{Conn, Opts, OptsBuilder};

#[derive(Debug, thiserror::Error)]
pub enum ConnectError {
    #[error("bad connection URL `{url}`: {why}. Write mysql://USER[:PASSWORD]@HOST[:PORT]/DATABASE, or give the database name and set MYSQL_HOST, MYSQL_TCP_PORT, MYSQL_PWD")]
    BadUrl { url: String, why: String },
    #[error("cannot connect to {server}: {error}")]
    Connect { server: String, error: String },
    #[error("{server}: {error}")]
    Query { server: String, error: String },
}

/// Where and how to connect; `password` is never printed.
#[derive(Clone)]
pub struct ConnSpec {
    pub host: String,
    pub port: u16,
    pub user: String,
    password: Option<String>,
    pub database: String,
}

impl std::fmt::Debug for ConnSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

fn percent_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 2 < b.len() {
            if let Ok(v) = u8::from_str_radix(&s[i + 1..i + 3], 16) {
                out.push(v);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

impl ConnSpec {
    /// Parse `--source`: a `mysql://` (or `mariadb://`) URL, or a bare database name.
    pub fn parse(source: &str) -> Result<ConnSpec, ConnectError> {
        let shown = lightning_core::cli::redact(source);
        let bad = |why: &str| ConnectError::BadUrl {
            url: shown.clone(),
            why: why.to_string(),
        };
        let default_host = env("MYSQL_HOST").unwrap_or_else(|| "localhost".into());
        let default_port = match env("MYSQL_TCP_PORT") {
            Some(p) => p
                .parse()
                .map_err(|_| bad(&format!("MYSQL_TCP_PORT `{p}` is not a port number")))?,
            None => 3306,
        };
        let default_user = env("USER").unwrap_or_else(|| "root".into());
        let rest = source
            .strip_prefix("mysql://")
            .or_else(|| source.strip_prefix("mariadb://"));
        let Some(rest) = rest else {
            if source.contains("://") {
                return Err(bad("only mysql:// and mariadb:// URLs are understood"));
            }
            if source.is_empty() || source.contains(['/', '@', ' ']) {
                return Err(bad("expected a URL or a database name"));
            }
            return Ok(ConnSpec {
                host: default_host,
                port: default_port,
                user: default_user,
                password: env("MYSQL_PWD"),
                database: source.to_string(),
            });
        };
        let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
        let database = path.split('?').next().unwrap_or("");
        if database.is_empty() {
            return Err(bad("the URL names no database (mysql://host/DATABASE)"));
        }
        let (userinfo, hostport) = match authority.rsplit_once('@') {
            Some((u, h)) => (Some(u), h),
            None => (None, authority),
        };
        let (user, password) = match userinfo {
            Some(u) => match u.split_once(':') {
                Some((n, p)) => (percent_decode(n), Some(percent_decode(p))),
                None => (percent_decode(u), None),
            },
            None => (default_user, None),
        };
        let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
            let (h, after) = h.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
            let port = match after.strip_prefix(':') {
                Some(p) => p.parse().map_err(|_| bad("bad port"))?,
                None => default_port,
            };
            (h.to_string(), port)
        } else {
            match hostport.rsplit_once(':') {
                Some((h, p)) => (h.to_string(), p.parse().map_err(|_| bad("bad port"))?),
                None => (hostport.to_string(), default_port),
            }
        };
        Ok(ConnSpec {
            host: if host.is_empty() { default_host } else { host },
            port,
            user: if user.is_empty() {
                env("USER").unwrap_or_else(|| "root".into())
            } else {
                user
            },
            password: password.or_else(|| env("MYSQL_PWD")),
            database: percent_decode(database),
        })
    }

    /// The source as shown in reports and run records: no password, ever.
    pub fn describe(&self) -> String {
        format!(
            "mysql://{}@{}:{}/{}",
            self.user, self.host, self.port, self.database
        )
    }

    fn opts(&self) -> Opts {
        // `localhost` would make some clients use the Unix socket; this one speaks TCP.
        let host = if self.host == "localhost" {
            "127.0.0.1".to_string()
        } else {
            self.host.clone()
        };
        OptsBuilder::new()
            .ip_or_hostname(Some(host))
            .tcp_port(self.port)
            .user(Some(self.user.clone()))
            .pass(self.password.clone())
            .db_name(Some(self.database.clone()))
            .prefer_socket(false)
            .into()
    }

    /// Open a connection set up for reading: UTF-8 (utf8mb4) text, UTC for
    /// TIMESTAMP values, long network timeouts (a reader may wait on the writer).
    pub fn connect(&self) -> Result<Conn, ConnectError> {
        let mut conn = Conn::new(self.opts()).map_err(|e| {
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
        Ok(conn)
    }

    /// A driver error as text, never with the password in it.
    pub fn scrub(&self, text: &str) -> String {
        match &self.password {
            Some(p) if !p.is_empty() => text.replace(p.as_str(), "***"),
            _ => text.to_string(),
        }
    }

    pub fn query_error(&self, e: mysql::Error) -> ConnectError {
        ConnectError::Query {
            server: self.describe(),
            error: self.explain(&e),
        }
    }

    /// A driver error as the `mysql` client shows it: the server's message with its
    /// error code and SQLSTATE (`ERROR 1045 (28000): Access denied for user ...`),
    /// or what went wrong on the way in words; never with the password.
    pub fn explain(&self, e: &mysql::Error) -> String {
        use mysql::{DriverError as D, Error as E};
        let text = match e {
            E::MySqlError(m) => format!("ERROR {} ({}): {}", m.code, m.state, m.message),
            E::DriverError(D::CouldNotConnect(Some((addr, desc, kind)))) => format!(
                "could not connect to {addr}: {}",
                lightning_core::text::network_error(*kind, desc)
            ),
            E::DriverError(D::CouldNotConnect(None)) => {
                "could not connect: no address to connect to".into()
            }
            E::DriverError(D::ConnectTimeout) => {
                "could not connect: the server did not answer in time".into()
            }
            E::DriverError(D::Timeout) => "the server did not answer in time".into(),
            E::DriverError(D::UnknownAuthPlugin(p)) => format!(
                "the server asks for the authentication method `{p}`, which this tool does not speak"
            ),
            E::DriverError(D::TlsNotSupported) => {
                "the connection asks for TLS, which the server does not offer".into()
            }
            E::DriverError(d) => format!("the connection failed: {d}"),
            E::IoError(io) => format!(
                "the connection to the server failed: {}",
                lightning_core::text::network_error(io.kind(), &io.to_string())
            ),
            E::CodecError(c) => format!("the server's reply cannot be read: {c}"),
            E::UrlError(u) => format!("bad connection URL: {u}"),
            E::FromValueError(_) | E::FromRowError(_) => {
                "the server sent a value of an unexpected type".into()
            }
        };
        self.scrub(&text)
    }

    /// What to check when a connection fails, by what failed.
    fn advice(&self, e: &mysql::Error) -> Option<String> {
        use mysql::Error as E;
        match e {
            E::MySqlError(m) => match m.code {
                1045 => Some("check the user and password (in the URL or MYSQL_PWD)".into()),
                1044 => Some(format!(
                    "grant the user access to the database `{}`",
                    self.database
                )),
                1049 => Some("check the database name".into()),
                1130 => Some("the server does not let this user connect from this host".into()),
                1040 => Some("the server has no connection left; try again later".into()),
                _ => None,
            },
            E::DriverError(_) | E::IoError(_) => Some(format!(
                "check the host and port ({}:{}), and that the server is running",
                self.host, self.port
            )),
            _ => None,
        }
    }
}

/// Quote a MySQL identifier.
pub fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let s = ConnSpec::parse("mysql://app:s3cr%40t@db.example:3307/shop").unwrap();
        assert_eq!(
            (
                s.host.as_str(),
                s.port,
                s.user.as_str(),
                s.database.as_str()
            ),
            ("db.example", 3307, "app", "shop")
        );
        assert_eq!(s.password.as_deref(), Some("s3cr@t"));
        assert_eq!(s.describe(), "mysql://app@db.example:3307/shop");
        assert!(!format!("{s:?}").contains("s3cr"));
        assert_eq!(s.scrub("denied for s3cr@t"), "denied for ***");
        let e = ConnSpec::parse("mysql://app:hunter2@host").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(ConnSpec::parse("postgres://x/y").is_err());
    }
}
