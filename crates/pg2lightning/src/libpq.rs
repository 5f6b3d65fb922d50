//! The ways libpq lets a server be named, read as libpq reads them: URLs and
//! `key=value` strings, service files (`pg_service.conf`) and password files
//! (`.pgpass`).

use std::path::{Path, PathBuf};

/// Connection settings by libpq keyword, in the order given; a later setting of a
/// keyword replaces an earlier one.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn set(&mut self, key: &str, value: String) {
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(slot) => slot.1 = value,
            None => self.0.push((key.to_string(), value)),
        }
    }

    /// Take a setting out (an empty value counts as not given, as in libpq).
    pub fn take(&mut self, key: &str) -> Option<String> {
        let i = self.0.iter().position(|(k, _)| k == key)?;
        Some(self.0.remove(i).1).filter(|v| !v.is_empty())
    }

    /// Fill in what is not set yet.
    pub fn fill_from(&mut self, other: &Params) {
        for (k, v) in &other.0 {
            if self.get(k).is_none() {
                self.0.push((k.clone(), v.clone()));
            }
        }
    }

    /// As a `key=value` string, every value quoted, for the driver's parser.
    pub fn to_keyword_string(&self) -> String {
        let mut out = String::new();
        for (k, v) in &self.0 {
            if v.is_empty() {
                continue;
            }
            if !out.is_empty() {
                out.push(' ');
            }
            out.push_str(k);
            out.push_str("='");
            for c in v.chars() {
                if c == '\'' || c == '\\' {
                    out.push('\\');
                }
                out.push(c);
            }
            out.push('\'');
        }
        out
    }
}

/// A URL (`postgresql://…`) or a `key=value` string as settings. Error texts never
/// quote the string, which may hold a password.
pub fn parse(s: &str) -> Result<Params, String> {
    let s = s.trim();
    for prefix in ["postgresql://", "postgres://"] {
        if let Some(rest) = s.strip_prefix(prefix) {
            return parse_url(rest);
        }
    }
    parse_keywords(s)
}

/// `[user[:password]@][host[:port][,...]][/dbname][?key=value&...]`, percent-encoded.
fn parse_url(s: &str) -> Result<Params, String> {
    let mut p = Params::default();
    let (main, query) = match s.split_once('?') {
        Some((m, q)) => (m, Some(q)),
        None => (s, None),
    };
    let (authority, path) = match main.find('/') {
        Some(i) => (&main[..i], Some(&main[i + 1..])),
        None => (main, None),
    };
    let hosts = match authority.rfind('@') {
        Some(at) => {
            let creds = &authority[..at];
            let (user, password) = match creds.split_once(':') {
                Some((u, pw)) => (u, Some(pw)),
                None => (creds, None),
            };
            p.set("user", decode(user, "user name")?);
            if let Some(pw) = password {
                p.set("password", decode(pw, "password")?);
            }
            &authority[at + 1..]
        }
        None => authority,
    };
    if !hosts.is_empty() {
        let mut names = Vec::new();
        let mut ports = Vec::new();
        for chunk in hosts.split(',') {
            let (host, port) = if let Some(inner) = chunk.strip_prefix('[') {
                let (h, after) = inner
                    .split_once(']')
                    .ok_or("an IPv6 address in the URL lacks its closing `]`")?;
                let port = match after {
                    "" => "",
                    a => a
                        .strip_prefix(':')
                        .ok_or("unexpected text after an IPv6 address in the URL")?,
                };
                (h, port)
            } else {
                chunk.split_once(':').unwrap_or((chunk, ""))
            };
            names.push(decode(host, "host")?);
            ports.push(decode(port, "port")?);
        }
        if names.iter().any(|h| !h.is_empty()) {
            p.set("host", names.join(","));
        }
        if ports.iter().any(|x| !x.is_empty()) {
            p.set("port", ports.join(","));
        }
    }
    if let Some(db) = path.filter(|d| !d.is_empty()) {
        p.set("dbname", decode(db, "database name")?);
    }
    for pair in query.unwrap_or("").split('&').filter(|x| !x.is_empty()) {
        let (k, v) = pair
            .split_once('=')
            .ok_or("a URL parameter lacks its `=` (expected ?key=value&key=value)")?;
        p.set(&decode(k, "parameter name")?, decode(v, "parameter value")?);
    }
    Ok(p)
}

/// `%XX` escapes (no `+` for space, as libpq).
fn decode(s: &str, what: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok())
                .ok_or_else(|| format!("bad %-escape in the URL's {what}"))?;
            out.push(hex);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| format!("the URL's {what} is not UTF-8 once decoded"))
}

/// `key=value key2='quoted \' value'`: values end at white space unless quoted;
/// a backslash takes the next character as it is.
fn parse_keywords(s: &str) -> Result<Params, String> {
    let mut p = Params::default();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.peek().is_none() {
            return Ok(p);
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c.is_whitespace() {
                break;
            }
            key.push(c);
            chars.next();
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        if chars.next() != Some('=') {
            // Not naming the word: in a mistyped string it may be part of a password.
            return Err("a setting lacks its `=` (expected `key=value key=value`)".into());
        }
        while chars.peek().is_some_and(|c| c.is_whitespace()) {
            chars.next();
        }
        let mut value = String::new();
        if chars.peek() == Some(&'\'') {
            chars.next();
            loop {
                match chars.next() {
                    Some('\\') => value.extend(chars.next()),
                    Some('\'') => break,
                    Some(c) => value.push(c),
                    None => return Err(format!("the quoted value of `{key}` is not closed")),
                }
            }
        } else {
            while let Some(&c) = chars.peek() {
                if c.is_whitespace() {
                    break;
                }
                chars.next();
                if c == '\\' {
                    value.extend(chars.next());
                } else {
                    value.push(c);
                }
            }
        }
        p.set(&key, value);
    }
}

/// The settings of service `name` in a service file's text, if it has that
/// section: INI-style, `[name]` then `key=value` lines, `#` comments.
pub fn find_service(text: &str, name: &str) -> Result<Option<Params>, String> {
    let mut found: Option<Params> = None;
    let mut inside = false;
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if let Some(section) = line.strip_prefix('[') {
            if found.is_some() && inside {
                break;
            }
            inside = section.strip_suffix(']').map(str::trim) == Some(name);
            if inside {
                found = Some(Params::default());
            }
            continue;
        }
        if !inside {
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .ok_or_else(|| format!("line {} has no `=`", n + 1))?;
        let k = k.trim();
        if k == "service" {
            return Err(format!("line {}: a service cannot name another", n + 1));
        }
        if let Some(p) = found.as_mut() {
            p.set(k, v.trim().to_string());
        }
    }
    Ok(found)
}

/// What a `.pgpass` line is matched against.
pub struct PassKey<'a> {
    pub host: &'a str,
    pub port: &'a str,
    pub dbname: &'a str,
    pub user: &'a str,
}

/// The password of the first line of a password file that matches:
/// `hostname:port:database:username:password`, `*` matching anything, `\:` and
/// `\\` for a colon and a backslash, `#` lines skipped. A Unix socket matches as
/// `localhost`, as in libpq.
pub fn find_password(text: &str, key: &PassKey<'_>) -> Option<String> {
    let host = if key.host.is_empty() || key.host.starts_with('/') || key.host.starts_with('@') {
        "localhost"
    } else {
        key.host
    };
    let wanted = [host, key.port, key.dbname, key.user];
    for line in text.lines() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let Some(fields) = split_pgpass(line) else {
            continue;
        };
        let matches = fields[..4]
            .iter()
            .zip(wanted)
            .all(|((value, star), want)| *star || value == want);
        if matches && !fields[4].0.is_empty() {
            return Some(fields[4].0.clone());
        }
    }
    None
}

/// The five fields of a line, each with whether it was a bare `*`; `None` for a
/// line with fewer.
fn split_pgpass(line: &str) -> Option<Vec<(String, bool)>> {
    let mut fields = Vec::with_capacity(5);
    let mut cur = String::new();
    let mut raw_star = true;
    let mut raw_len = 0;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == ':' && fields.len() < 4 {
            fields.push((std::mem::take(&mut cur), raw_star && raw_len == 1));
            raw_star = true;
            raw_len = 0;
            continue;
        }
        raw_len += 1;
        if c == '\\' {
            raw_star = false;
            cur.extend(chars.next());
        } else {
            raw_star &= c == '*';
            cur.push(c);
        }
    }
    if fields.len() < 4 {
        return None;
    }
    fields.push((cur, false));
    Some(fields)
}

/// Whether a file holding passwords may be used: libpq skips a password file that
/// is not a plain file or that the group or others can read, and so do we.
pub fn private_enough(path: &Path) -> bool {
    let Ok(meta) = std::fs::metadata(path) else {
        return false;
    };
    if !meta.is_file() {
        tracing::warn!(
            "the password file {} is not a plain file; not using it",
            path.display()
        );
        return false;
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if meta.permissions().mode() & 0o077 != 0 {
            tracing::warn!(
                "the password file {} can be read by other users, so it is not used (as psql \
                 would not); make it private with `chmod 600 {}`",
                path.display(),
                path.display()
            );
            return false;
        }
    }
    true
}

/// libpq's per-user folder for certificates: `~/.postgresql` (on Windows
/// `%APPDATA%\postgresql`).
pub fn user_dir(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if cfg!(windows) {
        env("APPDATA").map(|d| PathBuf::from(d).join("postgresql"))
    } else {
        env("HOME").map(|h| PathBuf::from(h).join(".postgresql"))
    }
}

/// The default password file: `~/.pgpass` (on Windows
/// `%APPDATA%\postgresql\pgpass.conf`).
pub fn default_passfile(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if cfg!(windows) {
        user_dir(env).map(|d| d.join("pgpass.conf"))
    } else {
        env("HOME").map(|h| PathBuf::from(h).join(".pgpass"))
    }
}

/// The default per-user service file: `~/.pg_service.conf` (on Windows
/// `%APPDATA%\postgresql\.pg_service.conf`).
pub fn default_servicefile(env: &dyn Fn(&str) -> Option<String>) -> Option<PathBuf> {
    if cfg!(windows) {
        user_dir(env).map(|d| d.join(".pg_service.conf"))
    } else {
        env("HOME").map(|h| PathBuf::from(h).join(".pg_service.conf"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pairs(p: &Params) -> Vec<(&str, &str)> {
        p.0.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect()
    }

    #[test]
    fn urls_become_settings() {
        let p = parse(
            "postgresql://app:p%40ss%3Aw@db.example:6432/my%20db?sslmode=verify-full&sslrootcert=/ca%20dir/ca.pem",
        )
        .unwrap();
        assert_eq!(
            pairs(&p),
            [
                ("user", "app"),
                ("password", "p@ss:w"),
                ("host", "db.example"),
                ("port", "6432"),
                ("dbname", "my db"),
                ("sslmode", "verify-full"),
                ("sslrootcert", "/ca dir/ca.pem"),
            ]
        );
        let p = parse("postgres://[::1]:5433,h2/db").unwrap();
        assert_eq!(
            pairs(&p),
            [("host", "::1,h2"), ("port", "5433,"), ("dbname", "db")]
        );
        let p = parse("postgresql:///db?host=%2Fvar%2Frun%2Fpostgresql").unwrap();
        assert_eq!(
            pairs(&p),
            [("dbname", "db"), ("host", "/var/run/postgresql")]
        );
        assert_eq!(pairs(&parse("postgresql://").unwrap()), []);
        assert!(parse("postgresql://h/db?sslmode").is_err());
        assert!(parse("postgresql://u:%zz@h/db").is_err());
    }

    #[test]
    fn keyword_strings_keep_libpq_quoting() {
        let p = parse(
            r"host=h  port = 5433 password='it''s' dbname='a \'b\' c' user=x\ y sslmode=require",
        );
        // `'it''s'` is a quoted `it` followed by a new keyword: libpq rejects it too.
        assert!(p.is_err());
        let p = parse(r"host=h port = 5433 password='it\'s \\ x' dbname='' user=x\ y").unwrap();
        assert_eq!(
            pairs(&p),
            [
                ("host", "h"),
                ("port", "5433"),
                ("password", r"it's \ x"),
                ("dbname", ""),
                ("user", "x y"),
            ]
        );
        assert!(parse("host").is_err());
        assert!(parse("password='open").is_err());
        // Back to a string the driver parses into the same values.
        let mut q = p.clone();
        q.take("dbname");
        assert_eq!(
            q.to_keyword_string(),
            r"host='h' port='5433' password='it\'s \\ x' user='x y'"
        );
        assert_eq!(parse(&q.to_keyword_string()).unwrap(), q);
    }

    #[test]
    fn service_sections() {
        let text = "# comment\n[other]\nhost=o\n\n[app]\n host = db.example \nport=6432\n\
                    sslmode=verify-full\n[later]\nhost=l\n";
        let p = find_service(text, "app").unwrap().unwrap();
        assert_eq!(
            pairs(&p),
            [
                ("host", "db.example"),
                ("port", "6432"),
                ("sslmode", "verify-full")
            ]
        );
        assert_eq!(find_service(text, "none").unwrap(), None);
        assert!(find_service("[a]\nservice=b\n", "a").is_err());
        assert!(find_service("[a]\njunk\n", "a").is_err());
        // A bad line in another section does not matter.
        assert!(find_service("[b]\njunk\n[a]\nhost=x\n", "a")
            .unwrap()
            .is_some());
    }

    #[test]
    fn pgpass_lines_match_as_libpq() {
        let text = "# a comment:*:*:*:no\n\
                    db.example:5432:app:alice:first\n\
                    *:*:*:alice:fallback\n\
                    localhost:5432:*:bob:socket\\:pw\n\
                    h\\:x:*:*:carol:escaped\\\\pw\r\n\
                    \\*:*:*:dave:literal-star\n\
                    short:line\n";
        let key = |host, port, dbname, user| PassKey {
            host,
            port,
            dbname,
            user,
        };
        let find = |k: PassKey<'_>| find_password(text, &k);
        assert_eq!(
            find(key("db.example", "5432", "app", "alice")).as_deref(),
            Some("first")
        );
        assert_eq!(
            find(key("db.example", "5433", "app", "alice")).as_deref(),
            Some("fallback")
        );
        assert_eq!(
            find(key("/var/run/postgresql", "5432", "x", "bob")).as_deref(),
            Some("socket:pw")
        );
        assert_eq!(
            find(key("", "5432", "x", "bob")).as_deref(),
            Some("socket:pw")
        );
        assert_eq!(find(key("127.0.0.1", "5432", "x", "bob")), None);
        assert_eq!(
            find(key("h:x", "1", "d", "carol")).as_deref(),
            Some("escaped\\pw")
        );
        assert_eq!(find(key("other", "1", "d", "dave")), None);
        assert_eq!(
            find(key("*", "1", "d", "dave")).as_deref(),
            Some("literal-star")
        );
        assert_eq!(find(key("x", "1", "d", "nobody")), None);
    }

    #[cfg(unix)]
    #[test]
    fn readable_password_files_are_skipped() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pgpass");
        std::fs::write(&f, "*:*:*:*:pw\n").unwrap();
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(private_enough(&f));
        std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o640)).unwrap();
        assert!(!private_enough(&f));
        assert!(!private_enough(dir.path()));
        assert!(!private_enough(&dir.path().join("missing")));
    }
}
