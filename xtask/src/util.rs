//! Small helpers shared by the tasks: paths, running commands, output.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{bail, Context, Result};

/// The workspace root (the parent of the `xtask` crate).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the xtask crate lives inside the workspace")
        .to_path_buf()
}

/// Cargo's target directory: `CARGO_TARGET_DIR` when set, otherwise `<root>/target`.
pub fn target_dir() -> PathBuf {
    let root = repo_root();
    match std::env::var_os("CARGO_TARGET_DIR") {
        Some(dir) if !dir.is_empty() => root.join(dir),
        _ => root.join("target"),
    }
}

/// A `cargo` command run from the workspace root, using the same cargo that runs us.
///
/// Without the variables `cargo run` set for xtask itself (`CARGO_MANIFEST_DIR`,
/// `CARGO_PKG_*`, ...): build scripts that watch them (ring's, under the MongoDB
/// driver's TLS) would otherwise run again, and everything above them be rebuilt,
/// each time a build alternates between `cargo xtask` and a plain `cargo build`.
pub fn cargo() -> Command {
    let program = std::env::var_os("CARGO").unwrap_or_else(|| OsString::from("cargo"));
    let mut cmd = Command::new(program);
    cmd.current_dir(repo_root());
    for (name, _) in std::env::vars_os() {
        let text = name.to_string_lossy();
        if text.starts_with("CARGO_PKG_")
            || text.starts_with("CARGO_MANIFEST_")
            || matches!(
                &*text,
                "CARGO_CRATE_NAME" | "CARGO_BIN_NAME" | "CARGO_PRIMARY_PACKAGE"
            )
        {
            cmd.env_remove(&name);
        }
    }
    cmd
}

/// A shell-like rendering of a command, for messages.
pub fn describe(cmd: &Command) -> String {
    let program = Path::new(cmd.get_program())
        .file_name()
        .unwrap_or(cmd.get_program())
        .to_string_lossy()
        .into_owned();
    let mut out = program;
    for arg in cmd.get_args() {
        let arg = arg.to_string_lossy();
        out.push(' ');
        let plain = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%".contains(c);
        if !arg.is_empty() && arg.chars().all(plain) {
            out.push_str(&arg);
        } else {
            out.push('\'');
            out.push_str(&arg.replace('\'', "'\\''"));
            out.push('\'');
        }
    }
    out
}

/// Runs a command with inherited stdio; fails when it does not exit successfully.
pub fn run(cmd: &mut Command) -> Result<()> {
    let shown = describe(cmd);
    eprintln!("$ {shown}");
    let status = cmd
        .status()
        .with_context(|| format!("could not start `{shown}`"))?;
    if !status.success() {
        bail!("`{shown}` failed ({status})");
    }
    Ok(())
}

/// Whether a program can be found: a path that exists, or a name on `PATH`.
pub fn program_exists(program: &str) -> bool {
    find_program(program).is_some()
}

/// Where a program is: the path itself when it names an existing file, or the first
/// match on `PATH`.
pub fn find_program(program: &str) -> Option<PathBuf> {
    if program.contains('/') {
        let path = Path::new(program);
        return path.is_file().then(|| path.to_path_buf());
    }
    let paths = std::env::var_os("PATH")?;
    std::env::split_paths(&paths)
        .map(|dir| dir.join(program))
        .find(|path| path.is_file())
}

/// A section heading on stderr.
pub fn section(title: &str) {
    eprintln!("\n==> {title}");
}

/// A duration for people: `0.4 s`, `12.3 s`, `2 min 05 s`.
pub fn format_duration(duration: Duration) -> String {
    let secs = duration.as_secs_f64();
    if secs < 60.0 {
        format!("{secs:.1} s")
    } else {
        let whole = duration.as_secs();
        format!("{} min {:02} s", whole / 60, whole % 60)
    }
}

/// How a step ended.
enum Outcome {
    Passed(Duration),
    Failed(Duration),
    Skipped(String),
}

/// A task's steps, timed: each one announces itself (a section heading) before it
/// starts and says how long it took when it ends; `summary` lists them all.
///
/// Everything goes to stderr, which is unbuffered, so a log read through a pipe shows
/// each line when it happens.
pub struct Steps {
    began: Instant,
    done: Vec<(String, Outcome)>,
}

impl Steps {
    pub fn new() -> Self {
        Steps {
            began: Instant::now(),
            done: Vec::new(),
        }
    }

    /// Runs one step under the heading `title`.
    pub fn run<T>(&mut self, title: &str, step: impl FnOnce() -> Result<T>) -> Result<T> {
        section(title);
        let began = Instant::now();
        let result = step();
        let took = began.elapsed();
        let shown = format_duration(took);
        let outcome = match &result {
            Ok(_) => {
                eprintln!("--> {title}: done in {shown}");
                Outcome::Passed(took)
            }
            Err(_) => {
                eprintln!("--> {title}: failed after {shown}");
                Outcome::Failed(took)
            }
        };
        self.done.push((title.to_owned(), outcome));
        result
    }

    /// Records a step that is not run, and says why.
    pub fn skip(&mut self, title: &str, reason: &str) {
        section(&format!("{title}: skipped ({reason})"));
        self.done
            .push((title.to_owned(), Outcome::Skipped(reason.to_owned())));
    }

    /// The duration of every step so far, and the total.
    pub fn summary(&self) {
        section("Summary");
        let width = self
            .done
            .iter()
            .map(|(title, _)| title.len())
            .chain(["total".len()])
            .max()
            .unwrap_or(0);
        for (title, outcome) in &self.done {
            let line = match outcome {
                Outcome::Passed(took) => format!("{:>10}", format_duration(*took)),
                Outcome::Failed(took) => format!("{:>10}  FAILED", format_duration(*took)),
                Outcome::Skipped(reason) => format!("{:>10}  ({reason})", "skipped"),
            };
            eprintln!("  {title:<width$}  {line}");
        }
        eprintln!(
            "  {:<width$}  {:>10}",
            "total",
            format_duration(self.began.elapsed())
        );
    }
}

/// A warning on stderr, easy to spot in a CI log.
pub fn warn(message: &str) {
    eprintln!("WARNING: {message}");
}

/// The last `max_lines` lines of a text file (empty when it cannot be read).
pub fn tail(path: &Path, max_lines: usize) -> String {
    let text = fs::read(path)
        .map(|bytes| String::from_utf8_lossy(&bytes).into_owned())
        .unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    let start = lines.len().saturating_sub(max_lines);
    lines[start..].join("\n")
}

/// Total size in bytes of a file, or of every file below a directory.
pub fn disk_size(path: &Path) -> u64 {
    let Ok(meta) = fs::symlink_metadata(path) else {
        return 0;
    };
    if !meta.is_dir() {
        return meta.len();
    }
    fs::read_dir(path)
        .map(|entries| {
            entries
                .filter_map(|entry| entry.ok())
                .map(|entry| disk_size(&entry.path()))
                .sum()
        })
        .unwrap_or(0)
}

/// Removes a file or a directory tree if it exists.
pub fn remove_path(path: &Path) -> Result<()> {
    match fs::symlink_metadata(path) {
        Ok(meta) if meta.is_dir() => fs::remove_dir_all(path),
        Ok(_) => fs::remove_file(path),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(err) => Err(err),
    }
    .with_context(|| format!("could not remove {}", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_in_seconds_then_minutes() {
        assert_eq!(format_duration(Duration::from_millis(42)), "0.0 s");
        assert_eq!(format_duration(Duration::from_millis(12_345)), "12.3 s");
        assert_eq!(format_duration(Duration::from_millis(59_900)), "59.9 s");
        assert_eq!(format_duration(Duration::from_secs(60)), "1 min 00 s");
        assert_eq!(format_duration(Duration::from_secs(125)), "2 min 05 s");
    }
}
