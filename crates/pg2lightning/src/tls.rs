//! TLS as libpq's `sslmode` asks for it, through rustls: which certificate checks
//! each mode makes, the files they read, and what a failed handshake means.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::WebPkiServerVerifier;
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName, UnixTime};
use rustls::{CertificateError, ClientConfig, DigitallySignedStruct, RootCertStore};
use tokio_postgres_rustls::MakeRustlsConnect;

/// libpq's `sslmode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    pub fn parse(s: &str) -> Result<SslMode, String> {
        Ok(match s {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            other => {
                return Err(format!(
                    "sslmode `{other}` is not one of disable, allow, prefer, require, verify-ca, \
                     verify-full"
                ))
            }
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// What the driver is told: it knows only disable, prefer and require; the
    /// checks of the verify modes are the connector's, and `allow` is two tries.
    pub fn driver(self) -> postgres::config::SslMode {
        match self {
            SslMode::Disable | SslMode::Allow => postgres::config::SslMode::Disable,
            SslMode::Prefer => postgres::config::SslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => {
                postgres::config::SslMode::Require
            }
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("cannot read the {what} {path}: {reason}")]
    Read {
        what: &'static str,
        path: String,
        reason: String,
    },
    #[error(
        "sslmode={mode} checks the server's certificate, but the root certificate file {path} \
         does not exist: give the CA's certificate with sslrootcert=FILE (or PGSSLROOTCERT), or \
         use sslmode=require to encrypt without checking"
    )]
    NoRootCert { mode: &'static str, path: String },
    #[error(
        "sslrootcert=system (the system's CAs) is not supported: give the file of the CA that \
         signed the server's certificate"
    )]
    SystemRoots,
    #[error(
        "the client key {path} can be read by other users; libpq refuses it, and so does \
         pg2lightning: `chmod 600 {path}`"
    )]
    KeyTooOpen { path: String },
    #[error("TLS setup: {0}")]
    Setup(String),
}

/// How the server's certificate is checked.
#[derive(Debug, Clone, PartialEq)]
pub enum Check {
    /// Encrypted, but anyone's certificate is taken.
    Nothing,
    /// Signed by the CA in the file, for whatever host name.
    Chain(PathBuf),
    /// Signed by the CA in the file, and for the host connected to.
    Full(PathBuf),
}

/// The `ssl*` settings as given (a URL, a `key=value` string or PGSSL*).
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub mode: SslMode,
    pub root_cert: Option<PathBuf>,
    pub cert: Option<PathBuf>,
    pub key: Option<PathBuf>,
    /// `~/.postgresql`, where libpq looks for files not named.
    pub user_dir: Option<PathBuf>,
}

/// A connector ready for the driver, with what it checks.
#[derive(Clone)]
pub struct Tls {
    pub mode: SslMode,
    pub check: Check,
    pub connector: MakeRustlsConnect,
}

impl Tls {
    pub fn setup(s: &TlsSettings) -> Result<Tls, TlsError> {
        let default_root = s.user_dir.as_ref().map(|d| d.join("root.crt"));
        if s.root_cert.as_deref() == Some(Path::new("system")) {
            return Err(TlsError::SystemRoots);
        }
        let root = s.root_cert.clone().or(default_root);
        let check = match s.mode {
            SslMode::Disable | SslMode::Allow | SslMode::Prefer => Check::Nothing,
            // libpq: with a root certificate at hand, require checks the chain as verify-ca.
            SslMode::Require => match root {
                Some(r) if s.root_cert.is_some() || r.exists() => Check::Chain(r),
                _ => Check::Nothing,
            },
            SslMode::VerifyCa | SslMode::VerifyFull => {
                let Some(r) = root.filter(|r| s.root_cert.is_some() || r.exists()) else {
                    return Err(TlsError::NoRootCert {
                        mode: s.mode.name(),
                        path: s
                            .user_dir
                            .as_ref()
                            .map(|d| d.join("root.crt").display().to_string())
                            .unwrap_or_else(|| "~/.postgresql/root.crt".into()),
                    });
                };
                if s.mode == SslMode::VerifyCa {
                    Check::Chain(r)
                } else {
                    Check::Full(r)
                }
            }
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let verifier: Arc<dyn ServerCertVerifier> = match &check {
            Check::Nothing => Arc::new(AnyCertificate(algorithms)),
            Check::Chain(path) => Arc::new(AnyHostName(webpki(path, &provider)?)),
            Check::Full(path) => webpki(path, &provider)?,
        };
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| TlsError::Setup(e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        let client = if s.mode == SslMode::Disable {
            None
        } else {
            client_cert(s)?
        };
        let config = match client {
            Some((certs, key)) => builder
                .with_client_auth_cert(certs, key)
                .map_err(|e| TlsError::Setup(format!("the client certificate: {e}")))?,
            None => builder.with_no_client_auth(),
        };
        Ok(Tls {
            mode: s.mode,
            check,
            connector: MakeRustlsConnect::new(config),
        })
    }
}

fn read(what: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError::Read {
        what,
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

fn certificates(what: &'static str, path: &Path) -> Result<Vec<CertificateDer<'static>>, TlsError> {
    let bytes = read(what, path)?;
    let certs = CertificateDer::pem_slice_iter(&bytes)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| TlsError::Read {
            what,
            path: path.display().to_string(),
            reason: format!("not PEM certificates ({e})"),
        })?;
    if certs.is_empty() {
        return Err(TlsError::Read {
            what,
            path: path.display().to_string(),
            reason: "it holds no PEM certificate".into(),
        });
    }
    Ok(certs)
}

/// The CA file as a verifier of chains and host names.
fn webpki(
    path: &Path,
    provider: &Arc<rustls::crypto::CryptoProvider>,
) -> Result<Arc<WebPkiServerVerifier>, TlsError> {
    let what = "root certificate file (sslrootcert)";
    let mut roots = RootCertStore::empty();
    for cert in certificates(what, path)? {
        roots.add(cert).map_err(|e| TlsError::Read {
            what,
            path: path.display().to_string(),
            reason: e.to_string(),
        })?;
    }
    WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
        .build()
        .map_err(|e| TlsError::Setup(e.to_string()))
}

/// The client certificate and key: those named, else `~/.postgresql/postgresql.crt`
/// and `.key` when the certificate is there (as libpq).
type ClientCert = (Vec<CertificateDer<'static>>, PrivateKeyDer<'static>);

fn client_cert(s: &TlsSettings) -> Result<Option<ClientCert>, TlsError> {
    let cert = match (&s.cert, &s.user_dir) {
        (Some(c), _) => c.clone(),
        (None, Some(d)) if d.join("postgresql.crt").is_file() => d.join("postgresql.crt"),
        _ => return Ok(None),
    };
    let key = match (&s.key, &s.user_dir) {
        (Some(k), _) => k.clone(),
        (None, Some(d)) => d.join("postgresql.key"),
        (None, None) => cert.with_extension("key"),
    };
    let certs = certificates("client certificate (sslcert)", &cert)?;
    key_private_enough(&key)?;
    let bytes = read("client key (sslkey)", &key)?;
    let key_der = PrivateKeyDer::from_pem_slice(&bytes).map_err(|e| TlsError::Read {
        what: "client key (sslkey)",
        path: key.display().to_string(),
        reason: format!("not an unencrypted PEM private key ({e})"),
    })?;
    Ok(Some((certs, key_der)))
}

/// libpq refuses a key others can read (a key owned by root may be group-readable).
fn key_private_enough(path: &Path) -> Result<(), TlsError> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{MetadataExt, PermissionsExt};
        if let Ok(meta) = std::fs::metadata(path) {
            let mode = meta.permissions().mode();
            let allowed = if meta.uid() == 0 { 0o640 } else { 0o600 };
            if mode & 0o777 & !allowed & 0o077 != 0 {
                return Err(TlsError::KeyTooOpen {
                    path: path.display().to_string(),
                });
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
    Ok(())
}

/// prefer and require without a CA: the session is encrypted but the server is
/// not authenticated, as with libpq. The handshake's signatures are still checked.
#[derive(Debug)]
struct AnyCertificate(WebPkiSupportedAlgorithms);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_schemes()
    }
}

/// verify-ca: the full check, less the host name. The webpki verifier checks the
/// name last, after the chain, so a name mismatch means the chain passed.
#[derive(Debug)]
struct AnyHostName(Arc<WebPkiServerVerifier>);

impl ServerCertVerifier for AnyHostName {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match self
            .0
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
        {
            Err(rustls::Error::InvalidCertificate(
                CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. },
            )) => Ok(ServerCertVerified::assertion()),
            other => other,
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.supported_verify_schemes()
    }
}

/// The rustls error under a driver error, if TLS failed.
pub fn rustls_cause(e: &postgres::Error) -> Option<&rustls::Error> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if let Some(r) = c.downcast_ref::<rustls::Error>() {
            return Some(r);
        }
        // An I/O error's `source` skips the error it wraps: look inside it.
        if let Some(inner) = c
            .downcast_ref::<std::io::Error>()
            .and_then(|io| io.get_ref())
            .and_then(|i| i.downcast_ref::<rustls::Error>())
        {
            return Some(inner);
        }
        cause = c.source();
    }
    None
}

/// The server answered the TLS request with no.
pub fn refused_tls(e: &postgres::Error) -> bool {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(e);
    while let Some(c) = cause {
        if c.to_string() == "server does not support TLS" {
            return true;
        }
        cause = c.source();
    }
    false
}

/// What a failed handshake means, in the user's terms.
pub fn explain(e: &rustls::Error, tls: &Tls, host: &str) -> String {
    let mode = tls.mode.name();
    let ca = match &tls.check {
        Check::Chain(p) | Check::Full(p) => p.display().to_string(),
        Check::Nothing => String::new(),
    };
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer
            | CertificateError::BadSignature
            | CertificateError::InvalidPurpose
            | CertificateError::InvalidPurposeContext { .. } => {
                format!("the server's certificate is not signed by the CA in {ca} (sslmode={mode})")
            }
            CertificateError::NotValidForName => format!(
                "the server's certificate is not for the host name `{host}` (sslmode={mode}): \
                 connect with a name the certificate lists, or use sslmode=verify-ca to check \
                 only the CA"
            ),
            CertificateError::NotValidForNameContext { presented, .. } => format!(
                "the server's certificate is not for the host name `{host}` but for {} \
                 (sslmode={mode}): connect with one of those names, or use sslmode=verify-ca to \
                 check only the CA",
                presented
                    .iter()
                    .map(|n| shown_name(n))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => {
                format!("the server's certificate has expired (sslmode={mode})")
            }
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => {
                format!("the server's certificate is not valid yet (sslmode={mode})")
            }
            CertificateError::Revoked => {
                format!("the server's certificate is revoked (sslmode={mode})")
            }
            other => format!("the server's certificate was refused: {other:?} (sslmode={mode})"),
        },
        rustls::Error::AlertReceived(alert) => format!(
            "the server ended the TLS handshake ({alert:?}); it may want a client certificate \
             (sslcert and sslkey) it trusts (sslmode={mode})"
        ),
        other => format!("the TLS handshake failed: {other} (sslmode={mode})"),
    }
}

/// A name as the verifier reports it (`DnsName("db.example")`, `IpAddress(…)`),
/// as the user wrote it.
fn shown_name(reported: &str) -> String {
    let inner = reported
        .split_once('(')
        .and_then(|(_, rest)| rest.strip_suffix(')'))
        .unwrap_or(reported);
    format!("`{}`", inner.trim_matches('"'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_read_as_written() {
        assert_eq!(shown_name("DnsName(\"localhost\")"), "`localhost`");
        assert_eq!(shown_name("IpAddress(10.0.0.1)"), "`10.0.0.1`");
        assert_eq!(shown_name("db.example"), "`db.example`");
    }

    #[test]
    fn modes_parse_and_map() {
        for m in [
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ] {
            assert_eq!(SslMode::parse(m).unwrap().name(), m);
        }
        let e = SslMode::parse("verify_full").unwrap_err();
        assert!(e.contains("verify-full"), "{e}");
        assert_eq!(
            SslMode::VerifyCa.driver(),
            postgres::config::SslMode::Require
        );
        assert_eq!(SslMode::Allow.driver(), postgres::config::SslMode::Disable);
    }

    fn settings(mode: SslMode, dir: &Path) -> TlsSettings {
        TlsSettings {
            mode,
            root_cert: None,
            cert: None,
            key: None,
            user_dir: Some(dir.to_path_buf()),
        }
    }

    #[test]
    fn checks_follow_libpq() {
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/other-ca.pem");
        // No root.crt: require encrypts without checks; the verify modes refuse.
        let t = Tls::setup(&settings(SslMode::Require, dir.path())).unwrap();
        assert_eq!(t.check, Check::Nothing);
        let e = Tls::setup(&settings(SslMode::VerifyFull, dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(
            e.contains("root.crt") && e.contains("sslmode=verify-full"),
            "{e}"
        );
        // A root.crt makes require check the chain, as libpq does.
        std::fs::copy(&fixture, dir.path().join("root.crt")).unwrap();
        let t = Tls::setup(&settings(SslMode::Require, dir.path())).unwrap();
        assert_eq!(t.check, Check::Chain(dir.path().join("root.crt")));
        let t = Tls::setup(&settings(SslMode::VerifyFull, dir.path())).unwrap();
        assert_eq!(t.check, Check::Full(dir.path().join("root.crt")));
        let t = Tls::setup(&settings(SslMode::Prefer, dir.path())).unwrap();
        assert_eq!(t.check, Check::Nothing);
        // A named file that is missing or not a certificate is an error that names it.
        let mut s = settings(SslMode::VerifyCa, dir.path());
        s.root_cert = Some(dir.path().join("nope.pem"));
        let e = Tls::setup(&s).err().unwrap().to_string();
        assert!(e.contains("nope.pem"), "{e}");
        std::fs::write(dir.path().join("junk.pem"), "not a certificate").unwrap();
        s.root_cert = Some(dir.path().join("junk.pem"));
        let e = Tls::setup(&s).err().unwrap().to_string();
        assert!(
            e.contains("junk.pem") && e.contains("no PEM certificate"),
            "{e}"
        );
        s.root_cert = Some("system".into());
        assert!(matches!(Tls::setup(&s), Err(TlsError::SystemRoots)));
    }

    #[cfg(unix)]
    #[test]
    fn client_keys_must_be_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fixture = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/other-ca.pem");
        let mut s = settings(SslMode::Require, dir.path());
        s.cert = Some(fixture);
        let key = dir.path().join("client.key");
        std::fs::write(&key, "not a key").unwrap();
        s.key = Some(key.clone());
        // Readable by others: refused, whoever owns it.
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = Tls::setup(&s).err().unwrap().to_string();
        assert!(e.contains("chmod 600"), "{e}");
        std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).unwrap();
        let e = Tls::setup(&s).err().unwrap().to_string();
        assert!(e.contains("client key") && e.contains("client.key"), "{e}");
    }
}
