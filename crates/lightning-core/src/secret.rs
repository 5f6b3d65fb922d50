//! Passwords given other than on the command line: `--password-file FILE`, which
//! every tool that connects to a server takes. A password in a URL shows in `ps`
//! and in shell history; a file readable only by its owner does not.

use std::path::{Path, PathBuf};

use clap::Args;

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    #[error("cannot read the password file {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("the password file {path} is empty: write the password on its first line")]
    Empty { path: String },
}

/// `--password-file FILE`, flattened into the options of a tool that connects.
#[derive(Debug, Clone, Default, Args)]
pub struct PasswordFileArg {
    /// Read the password from the first line of FILE (make it readable only by
    /// you). Safer than a password in the URL, which other users see in `ps`.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

impl PasswordFileArg {
    /// The password the file holds, when one was given.
    pub fn read(&self) -> Result<Option<String>, SecretError> {
        self.password_file
            .as_deref()
            .map(read_password_file)
            .transpose()
    }
}

/// The first line of `path`, without its line ending. A file that others can read
/// is used, with a warning: libpq refuses such a `.pgpass`, but a user who names a
/// file means it.
pub fn read_password_file(path: &Path) -> Result<String, SecretError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|e| SecretError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    warn_if_readable_by_others(path);
    let line = text.lines().next().unwrap_or("");
    if line.is_empty() {
        return Err(SecretError::Empty { path: shown });
    }
    Ok(line.to_string())
}

/// `message` without the password, whether it came in `url` or from elsewhere
/// (`password`: a password file, an environment variable).
pub fn hide_password(message: &str, url: &str, password: Option<&str>) -> String {
    let in_url = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .is_some_and(|(userinfo, _)| userinfo.contains(':'));
    match password.filter(|p| !p.is_empty()) {
        // A URL's `name@` is then the user, not a password to take out.
        Some(p) if !in_url => message.replace(p, "****"),
        Some(p) => crate::text::redact_password(message, url).replace(p, "****"),
        None => crate::text::redact_password(message, url),
    }
}

/// Warn when a file holding a secret can be read by the group or by others.
pub fn warn_if_readable_by_others(path: &Path) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o077 != 0 {
                tracing::warn!(
                    "{} can be read by other users; make it private with `chmod 600 {}`",
                    path.display(),
                    path.display()
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = path;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_line_is_the_password() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("pw");
        std::fs::write(&p, "s3cr3t pass\r\nignored\n").unwrap();
        assert_eq!(read_password_file(&p).unwrap(), "s3cr3t pass");
        std::fs::write(&p, "\n").unwrap();
        assert!(matches!(
            read_password_file(&p),
            Err(SecretError::Empty { .. })
        ));
        assert_eq!(
            hide_password("app: bad s3cr3t", "redis://app@h", Some("s3cr3t")),
            "app: bad ****"
        );
        assert_eq!(
            hide_password("app: bad s3cr3t", "redis://app:s3cr3t@h", None),
            "app: bad ****"
        );
        let missing = dir.path().join("none");
        let e = read_password_file(&missing).unwrap_err().to_string();
        assert!(e.contains("none"), "{e}");
    }
}
