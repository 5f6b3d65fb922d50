//! Driver errors in words: what failed, and what to check; never the password.

use super::{ConnSpec, ConnectError, SslMode};

impl ConnSpec {
    /// A driver error as text, never with the password in it.
    pub fn scrub(&self, text: &str) -> String {
        match &self.access.password {
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
        // The handshake's refusal arrives wrapped in an I/O or a codec error.
        let shown = e.to_string();
        if let Some(at) = shown.find("invalid peer certificate") {
            let reason = shown[at..].split(['\'', '`']).next().unwrap_or_default();
            return self.scrub(&self.certificate_refused(reason));
        }
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
                format!("the server does not offer TLS ({})", self.describe_tls())
            }
            E::DriverError(d) => format!("the connection failed: {d}"),
            E::TlsError(t) => format!("TLS failed ({}): {t}", self.describe_tls()),
            E::IoError(io) if io.get_ref().is_some() && self.access.tls.mode != SslMode::Disabled => {
                format!("the TLS connection failed ({}): {io}", self.describe_tls())
            }
            E::IoError(io) => format!(
                "the connection to the server failed: {}",
                lightning_core::text::network_error(io.kind(), &io.to_string())
            ),
            E::CodecError(c) if self.access.tls.mode != SslMode::Disabled => format!(
                "the server's reply cannot be read ({}): {c}",
                self.describe_tls()
            ),
            E::CodecError(c) => format!("the server's reply cannot be read: {c}"),
            E::UrlError(u) => format!("bad connection URL: {u}"),
            E::FromValueError(_) | E::FromRowError(_) => {
                "the server sent a value of an unexpected type".into()
            }
        };
        self.scrub(&text)
    }

    /// The server's certificate refused under VERIFY_CA or VERIFY_IDENTITY: why, in words.
    fn certificate_refused(&self, driver: &str) -> String {
        let why = if driver.contains("UnknownIssuer") || driver.contains("BadSignature") {
            match self.access.tls.ca {
                Some(_) => "it is not signed by that CA".to_string(),
                None => "it is not signed by a well-known public CA; name the CA that signed it \
                         with ssl-ca"
                    .to_string(),
            }
        } else if driver.contains("not valid for name") || driver.contains("NotValidForName") {
            format!(
                "it does not name the host `{}` (VERIFY_IDENTITY checks the name; connect with the \
                 name the certificate gives, or use VERIFY_CA)",
                self.host
            )
        } else if driver.contains("Expired") {
            "it has expired".to_string()
        } else {
            "it does not pass the checks".to_string()
        };
        format!(
            "{}: the server's certificate is refused: {why} ({})",
            self.describe_tls(),
            driver.trim()
        )
    }

    /// What to check when a connection fails, by what failed.
    pub(super) fn advice(&self, e: &mysql::Error) -> Option<String> {
        use mysql::{DriverError as D, Error as E};
        match e {
            E::MySqlError(m) => match m.code {
                1045 => Some(match &self.access.password_from {
                    Some(from) => {
                        format!("check the user and password (the password came from {from})")
                    }
                    None => "check the user and password: no password was given (give one \
                             in an option file, with --password-file or in MYSQL_PWD)"
                        .into(),
                }),
                1044 => Some(format!(
                    "grant the user access to the database `{}`",
                    self.database
                )),
                1049 => Some("check the database name".into()),
                1130 => Some("the server does not let this user connect from this host".into()),
                1040 => Some("the server has no connection left; try again later".into()),
                _ => None,
            },
            E::TlsError(_) => None,
            E::IoError(io)
                if io.get_ref().is_some() && self.access.tls.mode != SslMode::Disabled =>
            {
                None
            }
            E::DriverError(D::TlsNotSupported) => Some(
                "turn TLS on at the server, or connect with ssl-mode PREFERRED or DISABLED".into(),
            ),
            E::DriverError(_) | E::IoError(_) => Some(format!(
                "check the host and port ({}:{}), and that the server is running",
                self.host, self.port
            )),
            _ => None,
        }
    }
}
