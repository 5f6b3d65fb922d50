//! MySQL option files (my.cnf), read as the `mysql` client reads them.

use std::path::{Path, PathBuf};

use super::settings::Layer;
use super::{ClientArgs, ConnectError, SslMode};

/// The option files read, in order (a later value wins): the system's, then
/// `--defaults-extra-file`, then the user's; or `--defaults-file` alone.
fn option_files(args: &ClientArgs) -> Vec<(PathBuf, bool)> {
    if let Some(only) = &args.defaults_file {
        // Named by the user: it must exist.
        return vec![(only.clone(), true)];
    }
    let mut files = vec![
        (PathBuf::from("/etc/my.cnf"), false),
        (PathBuf::from("/etc/mysql/my.cnf"), false),
    ];
    if let Some(extra) = &args.defaults_extra_file {
        files.push((extra.clone(), true));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        files.push((PathBuf::from(home).join(".my.cnf"), false));
    }
    files
}

/// The groups of an option file this tool reads.
const GROUPS: &[&str] = &["client", "mysql2lightning"];

/// Nesting allowed for `!include`, so that a file including itself ends.
const MAX_INCLUDE_DEPTH: usize = 10;

/// One `key = value` of an option file's groups this tool reads.
#[derive(Debug, PartialEq, Eq)]
struct OptionValue {
    file: PathBuf,
    line: usize,
    key: String,
    value: Option<String>,
}

/// Read an option file as the client does: `[group]` headers, `key = value` or a
/// lone `key`, `#` and `;` comments, quoted values with the client's escapes,
/// `!include FILE` and `!includedir DIR` (its `*.cnf` files).
fn read_option_file(
    path: &Path,
    required: bool,
    depth: usize,
    out: &mut Vec<OptionValue>,
) -> Result<(), ConnectError> {
    let text = match std::fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => {
            return Err(ConnectError::Settings(format!(
                "cannot read the option file {}: {e}",
                path.display()
            )))
        }
    };
    let mut in_group = false;
    for (n, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(rest) = line.strip_prefix('!') {
            let (directive, arg) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
            let arg = Path::new(arg.trim());
            if depth >= MAX_INCLUDE_DEPTH {
                tracing::warn!(
                    "{}:{}: includes nested too deep; skipped",
                    path.display(),
                    n + 1
                );
                continue;
            }
            match directive {
                "include" => read_option_file(arg, false, depth + 1, out)?,
                "includedir" => {
                    let mut files: Vec<PathBuf> = std::fs::read_dir(arg)
                        .map(|dir| {
                            dir.filter_map(|e| e.ok().map(|e| e.path()))
                                .filter(|p| p.extension().is_some_and(|x| x == "cnf"))
                                .collect()
                        })
                        .unwrap_or_default();
                    files.sort();
                    for f in files {
                        read_option_file(&f, false, depth + 1, out)?;
                    }
                }
                _ => tracing::warn!(
                    "{}:{}: unknown directive `!{directive}`; skipped",
                    path.display(),
                    n + 1
                ),
            }
            continue;
        }
        if let Some(group) = line.strip_prefix('[') {
            let name = group.split(']').next().unwrap_or("").trim();
            in_group = GROUPS.iter().any(|g| g.eq_ignore_ascii_case(name));
            continue;
        }
        if !in_group {
            continue;
        }
        let (key, value) = match line.split_once('=') {
            Some((k, v)) => (k, Some(option_value(v))),
            None => (line, None),
        };
        out.push(OptionValue {
            file: path.to_path_buf(),
            line: n + 1,
            key: key.trim().replace('_', "-").to_ascii_lowercase(),
            value,
        });
    }
    Ok(())
}

/// A value as the client reads it: trimmed; in quotes up to the closing quote,
/// else up to a `#` comment; `\n`, `\t`, `\r`, `\b`, `\s`, `\\` escapes.
fn option_value(raw: &str) -> String {
    let raw = raw.trim();
    let quote = raw.chars().next().filter(|c| *c == '"' || *c == '\'');
    let mut out = String::new();
    let mut chars = raw.chars().skip(usize::from(quote.is_some()));
    while let Some(c) = chars.next() {
        match c {
            '\\' => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('b') => out.push('\u{8}'),
                Some('s') => out.push(' '),
                Some('\\') => out.push('\\'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            },
            c if Some(c) == quote => return out,
            '#' if quote.is_none() => break,
            c => out.push(c),
        }
    }
    if quote.is_none() {
        out.truncate(out.trim_end().len());
    }
    out
}

/// The option files' settings, as a layer (a later value wins).
pub(super) fn from_option_files(args: &ClientArgs) -> Result<Layer, ConnectError> {
    let mut values = Vec::new();
    for (file, required) in option_files(args) {
        read_option_file(&file, required, 0, &mut values)?;
    }
    let mut layer = Layer::default();
    let mut password_files: Vec<PathBuf> = Vec::new();
    for v in values {
        let at = || format!("{}:{}", v.file.display(), v.line);
        let Some(value) = v.value.clone() else {
            // A lone `password` makes the client prompt; there is no prompt here.
            if v.key == "password" {
                tracing::info!("{}: `password` without a value is ignored", at());
            }
            continue;
        };
        match v.key.as_str() {
            "host" => layer.host = Some(value).filter(|h| !h.is_empty()),
            "port" => {
                layer.port = Some(value.parse().map_err(|_| {
                    ConnectError::Settings(format!("{}: port `{value}` is not a port number", at()))
                })?)
            }
            "user" => layer.user = Some(value).filter(|u| !u.is_empty()),
            "password" => {
                if !password_files.contains(&v.file) {
                    password_files.push(v.file.clone());
                }
                layer.password = Some((value, format!("the option file {}", v.file.display())));
            }
            "database" => layer.database = Some(value).filter(|d| !d.is_empty()),
            "socket" => tracing::info!(
                "{}: `socket` is ignored: this tool connects over TCP (host and port)",
                at()
            ),
            "ssl-mode" => {
                layer.ssl_mode = Some(
                    SslMode::parse(&value)
                        .map_err(|e| ConnectError::Settings(format!("{}: {e}", at())))?,
                )
            }
            "ssl-ca" => layer.ssl_ca = Some(PathBuf::from(value)),
            "ssl-cert" => layer.ssl_cert = Some(PathBuf::from(value)),
            "ssl-key" => layer.ssl_key = Some(PathBuf::from(value)),
            // The [client] group serves every client program: others' options are theirs.
            _ => {}
        }
    }
    for file in password_files {
        lightning_core::secret::warn_if_readable_by_others(&file);
    }
    Ok(layer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn option_files_read_as_the_client_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let included = dir.path().join("conf.d");
        std::fs::create_dir(&included).unwrap();
        std::fs::write(included.join("50-client.cnf"), "[client]\nport = 3310\n").unwrap();
        std::fs::write(included.join("ignored.txt"), "[client]\nport = 1\n").unwrap();
        let main = dir.path().join("my.cnf");
        std::fs::write(
            &main,
            format!(
                "# comment\n; comment too\nuser = outside\n[mysqld]\nuser = server\n\
                 [client]\nuser = app # trailing comment\npassword = \"p#ss w\\\\rd\"\n\
                 ssl_mode = VERIFY_CA\nSSL-CA = '/ca dir/ca.pem'\nsocket = /run/x.sock\n\
                 no-beep\n!includedir {}\n[MySQL2Lightning]\nhost = db.example\n",
                included.display()
            ),
        )
        .unwrap();
        let args = ClientArgs {
            defaults_file: Some(main.clone()),
            ..ClientArgs::default()
        };
        let layer = from_option_files(&args).unwrap();
        assert_eq!(layer.user.as_deref(), Some("app"));
        assert_eq!(
            layer.password.as_ref().map(|p| p.0.as_str()),
            Some("p#ss w\\rd")
        );
        assert_eq!(layer.ssl_mode, Some(SslMode::VerifyCa));
        assert_eq!(layer.ssl_ca.as_deref(), Some(Path::new("/ca dir/ca.pem")));
        assert_eq!(layer.port, Some(3310));
        assert_eq!(layer.host.as_deref(), Some("db.example"));
        // A file named with --defaults-file must be there; the usual ones may not.
        let args = ClientArgs {
            defaults_file: Some(dir.path().join("missing.cnf")),
            ..ClientArgs::default()
        };
        let e = from_option_files(&args).unwrap_err();
        assert!(e.to_string().contains("missing.cnf"), "{e}");
        let mut none = Vec::new();
        read_option_file(&dir.path().join("absent"), false, 0, &mut none).unwrap();
        assert!(none.is_empty());
    }

    #[test]
    fn a_file_that_includes_itself_ends() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("loop.cnf");
        std::fs::write(
            &f,
            format!("[client]\nuser = u\n!include {}\n", f.display()),
        )
        .unwrap();
        let mut values = Vec::new();
        read_option_file(&f, true, 0, &mut values).unwrap();
        assert_eq!(values.len(), MAX_INCLUDE_DEPTH + 1);
    }
}
