//! The settings in layers (the URL and the flags, the option files, the
//! environment, the defaults), merged into a `ConnSpec`.

use std::path::{Path, PathBuf};

use super::option_file::from_option_files;
use super::{Access, ClientArgs, ConnSpec, ConnectError, SslMode, Tls};

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

/// One layer of settings (the URL, the flags, the option files, the
/// environment); a value missing from one is looked for in the next.
#[derive(Default, Debug)]
pub(super) struct Layer {
    pub(super) host: Option<String>,
    pub(super) port: Option<u16>,
    pub(super) user: Option<String>,
    /// The password and where it came from.
    pub(super) password: Option<(String, String)>,
    pub(super) database: Option<String>,
    pub(super) ssl_mode: Option<SslMode>,
    pub(super) ssl_ca: Option<PathBuf>,
    pub(super) ssl_cert: Option<PathBuf>,
    pub(super) ssl_key: Option<PathBuf>,
}

/// Parse `--source`: a `mysql://` (or `mariadb://`) URL, or a bare database name.
fn parse_source(source: &str) -> Result<Layer, ConnectError> {
    let shown = lightning_core::cli::redact(source);
    let bad = |why: &str| ConnectError::BadUrl {
        url: shown.clone(),
        why: why.to_string(),
    };
    let rest = source
        .strip_prefix("mysql://")
        .or_else(|| source.strip_prefix("mariadb://"));
    let Some(rest) = rest else {
        if source.contains("://") {
            return Err(bad("only mysql:// and mariadb:// URLs are understood"));
        }
        if source.is_empty() || source.contains(['/', '@', ' ', '?']) {
            return Err(bad("expected a URL or a database name"));
        }
        return Ok(Layer {
            database: Some(source.to_string()),
            ..Layer::default()
        });
    };
    let (authority, path) = rest.split_once('/').unwrap_or((rest, ""));
    let (database, query) = path.split_once('?').unwrap_or((path, ""));
    // None here: an option file's `database` may name it.
    let mut layer = Layer {
        database: Some(percent_decode(database)).filter(|d| !d.is_empty()),
        ..Layer::default()
    };
    let (userinfo, hostport) = match authority.rsplit_once('@') {
        Some((u, h)) => (Some(u), h),
        None => (None, authority),
    };
    if let Some(u) = userinfo {
        let (user, password) = match u.split_once(':') {
            Some((n, p)) => (percent_decode(n), Some(percent_decode(p))),
            None => (percent_decode(u), None),
        };
        layer.user = Some(user).filter(|u| !u.is_empty());
        layer.password = password.map(|p| (p, "the URL".to_string()));
    }
    let (host, port) = if let Some(h) = hostport.strip_prefix('[') {
        let (h, after) = h.split_once(']').ok_or_else(|| bad("unclosed `[`"))?;
        let port = match after.strip_prefix(':') {
            Some(p) => Some(p.parse().map_err(|_| bad("bad port"))?),
            None => None,
        };
        (h.to_string(), port)
    } else {
        match hostport.rsplit_once(':') {
            Some((h, p)) => (h.to_string(), Some(p.parse().map_err(|_| bad("bad port"))?)),
            None => (hostport.to_string(), None),
        }
    };
    layer.host = Some(host).filter(|h| !h.is_empty());
    layer.port = port;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let value = percent_decode(value);
        match key.replace('_', "-").to_ascii_lowercase().as_str() {
            "ssl-mode" => layer.ssl_mode = Some(SslMode::parse(&value).map_err(|e| bad(&e))?),
            "ssl-ca" => layer.ssl_ca = Some(PathBuf::from(value)),
            "ssl-cert" => layer.ssl_cert = Some(PathBuf::from(value)),
            "ssl-key" => layer.ssl_key = Some(PathBuf::from(value)),
            _ => {
                return Err(bad(&format!(
                    "unknown parameter `{key}` (the URL takes ssl-mode, ssl-ca, ssl-cert, ssl-key)"
                )))
            }
        }
    }
    Ok(layer)
}

/// The flags, as a layer: the same level as the URL, so a setting in both is refused.
fn from_flags(url: Layer, args: &ClientArgs) -> Result<Layer, ConnectError> {
    fn both<T>(url: Option<T>, flag: Option<T>, what: &str) -> Result<Option<T>, ConnectError> {
        match (url, flag) {
            (Some(_), Some(_)) => Err(ConnectError::Settings(format!(
                "{what} is given both in the URL and as a flag: give it once"
            ))),
            (u, f) => Ok(u.or(f)),
        }
    }
    let password = args
        .password
        .read()
        .map_err(|e| ConnectError::Settings(e.to_string()))?
        .map(|p| {
            let file = args
                .password
                .password_file
                .as_deref()
                .unwrap_or(Path::new(""));
            (p, format!("--password-file {}", file.display()))
        });
    Ok(Layer {
        password: both(url.password, password, "the password")?,
        ssl_mode: both(url.ssl_mode, args.ssl_mode, "ssl-mode")?,
        ssl_ca: both(url.ssl_ca, args.ssl_ca.clone(), "ssl-ca")?,
        ssl_cert: both(url.ssl_cert, args.ssl_cert.clone(), "ssl-cert")?,
        ssl_key: both(url.ssl_key, args.ssl_key.clone(), "ssl-key")?,
        ..url
    })
}

/// The environment the client reads, as a layer.
fn from_env() -> Result<Layer, ConnectError> {
    let port = match env("MYSQL_TCP_PORT") {
        Some(p) => Some(p.parse().map_err(|_| {
            ConnectError::Settings(format!("MYSQL_TCP_PORT `{p}` is not a port number"))
        })?),
        None => None,
    };
    Ok(Layer {
        host: env("MYSQL_HOST"),
        port,
        password: env("MYSQL_PWD").map(|p| (p, "MYSQL_PWD".to_string())),
        ..Layer::default()
    })
}

impl ConnSpec {
    /// Where and how to connect: `--source` with the flags, the option files, the
    /// environment and the defaults, in that order of precedence.
    pub fn resolve(source: &str, args: &ClientArgs) -> Result<ConnSpec, ConnectError> {
        let explicit = from_flags(parse_source(source)?, args)?;
        let files = from_option_files(args)?;
        ConnSpec::from_layers([explicit, files, from_env()?])
    }

    fn from_layers(layers: [Layer; 3]) -> Result<ConnSpec, ConnectError> {
        let mut merged = Layer::default();
        // Later layers only fill what the earlier ones left empty.
        for l in layers {
            merged.host = merged.host.or(l.host);
            merged.port = merged.port.or(l.port);
            merged.user = merged.user.or(l.user);
            merged.password = merged.password.or(l.password);
            merged.database = merged.database.or(l.database);
            merged.ssl_mode = merged.ssl_mode.or(l.ssl_mode);
            merged.ssl_ca = merged.ssl_ca.or(l.ssl_ca);
            merged.ssl_cert = merged.ssl_cert.or(l.ssl_cert);
            merged.ssl_key = merged.ssl_key.or(l.ssl_key);
        }
        let (password, password_from) = match merged.password {
            Some((p, from)) => (Some(p), Some(from)),
            None => (None, None),
        };
        let tls = Tls {
            mode: merged.ssl_mode.unwrap_or_default(),
            ca: merged.ssl_ca,
            cert: merged.ssl_cert,
            key: merged.ssl_key,
        };
        if tls.cert.is_some() != tls.key.is_some() {
            return Err(ConnectError::Settings(
                "ssl-cert and ssl-key go together: give both or neither".into(),
            ));
        }
        Ok(ConnSpec {
            host: merged.host.unwrap_or_else(|| "localhost".into()),
            port: merged.port.unwrap_or(3306),
            user: merged
                .user
                .or_else(|| env("USER"))
                .unwrap_or_else(|| "root".into()),
            database: merged.database.ok_or_else(|| {
                ConnectError::Settings(
                    "no database: name it in --source (mysql://HOST/DATABASE) or as `database` \
                     in an option file's [client] group"
                        .into(),
                )
            })?,
            access: Box::new(Access {
                password,
                password_from,
                tls,
            }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The URL alone, without option files or environment.
    fn url_only(source: &str) -> Result<ConnSpec, ConnectError> {
        ConnSpec::from_layers([parse_source(source)?, Layer::default(), Layer::default()])
    }

    #[test]
    fn urls_parse_and_never_show_the_password() {
        let s = url_only("mysql://app:s3cr%40t@db.example:3307/shop").unwrap();
        assert_eq!(
            (
                s.host.as_str(),
                s.port,
                s.user.as_str(),
                s.database.as_str()
            ),
            ("db.example", 3307, "app", "shop")
        );
        assert_eq!(s.access.password.as_deref(), Some("s3cr@t"));
        assert_eq!(s.describe(), "mysql://app@db.example:3307/shop");
        assert!(!format!("{s:?}").contains("s3cr"));
        assert_eq!(s.scrub("denied for s3cr@t"), "denied for ***");
        let e = url_only("mysql://app:hunter2@host").unwrap_err();
        assert!(!e.to_string().contains("hunter2"), "{e}");
        assert!(url_only("postgres://x/y").is_err());
        let e = url_only("mysql://app:hunter2@host/db?sslmode=x").unwrap_err();
        assert!(e.to_string().contains("unknown parameter `sslmode`"), "{e}");
        assert!(!e.to_string().contains("hunter2"), "{e}");
    }

    #[test]
    fn tls_settings_come_from_the_url_in_either_spelling() {
        let s = url_only("mysql://u@h/db?ssl-mode=verify_identity&ssl_ca=%2Fx%2Fca.pem").unwrap();
        assert_eq!(s.access.tls.mode, SslMode::VerifyIdentity);
        assert_eq!(s.access.tls.ca.as_deref(), Some(Path::new("/x/ca.pem")));
        assert_eq!(
            url_only("mysql://u@h/db").unwrap().access.tls.mode,
            SslMode::Preferred
        );
        let e = url_only("mysql://u@h/db?ssl-mode=VERIFY").unwrap_err();
        assert!(e.to_string().contains("VERIFY_IDENTITY"), "{e}");
        let e = url_only("mysql://u@h/db?ssl-cert=c.pem").unwrap_err();
        assert!(e.to_string().contains("ssl-key"), "{e}");
        assert_eq!(SslMode::parse("Verify-CA"), Ok(SslMode::VerifyCa));
    }

    #[test]
    fn explicit_settings_beat_option_files_which_beat_the_environment() {
        let explicit = Layer {
            user: Some("flag".into()),
            ..Layer::default()
        };
        let files = Layer {
            user: Some("file".into()),
            host: Some("filehost".into()),
            password: Some(("from-file".into(), "the option file f".into())),
            database: Some("db".into()),
            ..Layer::default()
        };
        let environment = Layer {
            host: Some("envhost".into()),
            port: Some(3307),
            password: Some(("from-env".into(), "MYSQL_PWD".into())),
            ..Layer::default()
        };
        let s = ConnSpec::from_layers([explicit, files, environment]).unwrap();
        assert_eq!(
            (
                s.user.as_str(),
                s.host.as_str(),
                s.port,
                s.database.as_str()
            ),
            ("flag", "filehost", 3307, "db")
        );
        assert_eq!(s.access.password.as_deref(), Some("from-file"));
        assert_eq!(s.access.password_from.as_deref(), Some("the option file f"));
    }

    #[test]
    fn a_setting_both_in_the_url_and_as_a_flag_is_refused() {
        let args = ClientArgs {
            ssl_mode: Some(SslMode::Disabled),
            ..ClientArgs::default()
        };
        let url = parse_source("mysql://u@h/db?ssl-mode=REQUIRED").unwrap();
        let e = from_flags(url, &args).unwrap_err();
        assert!(e.to_string().contains("ssl-mode is given both"), "{e}");
        let url = parse_source("mysql://u@h/db").unwrap();
        assert_eq!(
            from_flags(url, &args).unwrap().ssl_mode,
            Some(SslMode::Disabled)
        );
    }
}
