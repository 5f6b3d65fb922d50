//! TLS: the client's `--ssl-mode` and certificate files, and the driver's
//! options built from them.

use std::path::PathBuf;

use mysql::{ClientIdentity, SslOpts};

use super::{ConnSpec, ConnectError};

/// How the connection uses TLS; the names and meanings of the client's `--ssl-mode`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SslMode {
    /// Plain text.
    Disabled,
    /// TLS without certificate checks when the server offers it, else plain text.
    #[default]
    Preferred,
    /// TLS without certificate checks; fail when the server does not offer it.
    Required,
    /// TLS, the server's certificate signed by the CA; any host name.
    VerifyCa,
    /// TLS, the server's certificate signed by the CA and naming the host.
    VerifyIdentity,
}

impl SslMode {
    pub const NAMES: &'static str = "DISABLED, PREFERRED, REQUIRED, VERIFY_CA, VERIFY_IDENTITY";

    /// As the client takes it: any case, `-` or `_`.
    pub fn parse(text: &str) -> Result<SslMode, String> {
        match text.trim().to_ascii_uppercase().replace('-', "_").as_str() {
            "DISABLED" => Ok(SslMode::Disabled),
            "PREFERRED" => Ok(SslMode::Preferred),
            "REQUIRED" => Ok(SslMode::Required),
            "VERIFY_CA" => Ok(SslMode::VerifyCa),
            "VERIFY_IDENTITY" => Ok(SslMode::VerifyIdentity),
            _ => Err(format!(
                "ssl-mode `{text}` is not one of {}",
                SslMode::NAMES
            )),
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disabled => "DISABLED",
            SslMode::Preferred => "PREFERRED",
            SslMode::Required => "REQUIRED",
            SslMode::VerifyCa => "VERIFY_CA",
            SslMode::VerifyIdentity => "VERIFY_IDENTITY",
        }
    }

    fn verifies(self) -> bool {
        matches!(self, SslMode::VerifyCa | SslMode::VerifyIdentity)
    }
}

/// TLS settings, as the client names them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Tls {
    pub mode: SslMode,
    pub ca: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
}

impl Tls {
    /// The driver's TLS options: certificates are checked only under VERIFY_CA
    /// and VERIFY_IDENTITY, the host name only under VERIFY_IDENTITY.
    pub(super) fn ssl_opts(&self) -> SslOpts {
        let identity = match (&self.cert, &self.key) {
            (Some(cert), Some(key)) => Some(ClientIdentity::new(cert.clone(), key.clone())),
            _ => None,
        };
        SslOpts::default()
            .with_client_identity(identity)
            .with_root_cert_path(self.ca.clone().filter(|_| self.mode.verifies()))
            .with_danger_accept_invalid_certs(!self.mode.verifies())
            .with_danger_skip_domain_validation(self.mode != SslMode::VerifyIdentity)
    }
}

impl ConnSpec {
    /// The TLS settings in words, for errors: the mode, and the CA file it checks against.
    pub fn describe_tls(&self) -> String {
        let tls = &self.access.tls;
        let mut text = format!("ssl-mode {}", tls.mode.name());
        if tls.mode.verifies() {
            match &tls.ca {
                Some(ca) => text.push_str(&format!(", CA file {}", ca.display())),
                None => text.push_str(", the well-known public CAs (no ssl-ca)"),
            }
        }
        text
    }

    /// Check the certificate files before connecting: the driver's own error for a
    /// missing file does not name it.
    pub(super) fn check_tls_files(&self) -> Result<(), ConnectError> {
        let tls = &self.access.tls;
        if tls.mode == SslMode::Disabled {
            return Ok(());
        }
        let files = [
            ("ssl-ca", tls.ca.as_ref().filter(|_| tls.mode.verifies())),
            ("ssl-cert", tls.cert.as_ref()),
            ("ssl-key", tls.key.as_ref()),
        ];
        for (what, path) in files {
            let Some(path) = path else { continue };
            if let Err(e) = std::fs::File::open(path) {
                return Err(ConnectError::Connect {
                    server: self.describe(),
                    error: format!(
                        "{}: cannot read the {what} file {}: {}",
                        self.describe_tls(),
                        path.display(),
                        lightning_core::text::network_error(e.kind(), &e.to_string())
                    ),
                });
            }
        }
        Ok(())
    }
}
