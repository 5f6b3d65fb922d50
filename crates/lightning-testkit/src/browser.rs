//! A real browser for the tests of pages the tools serve or write: Debian's
//! Chromium, headless (`cargo xtask test` installs it when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

/// The Chromium to drive: `LIGHTNING_TEST_CHROMIUM`, else `chromium` on the path.
pub fn chromium() -> PathBuf {
    if let Some(p) = std::env::var_os("LIGHTNING_TEST_CHROMIUM") {
        return PathBuf::from(p);
    }
    let found = std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|d| d.join("chromium"))
            .find(|p| p.is_file())
    });
    found.unwrap_or_else(|| {
        panic!("Chromium is not installed: `cargo xtask test` installs it (Debian's `chromium`)")
    })
}

/// Headless, with nothing fetched from elsewhere and a profile of its own.
fn headless(profile: &Path) -> Command {
    let mut cmd = Command::new(chromium());
    cmd.args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
    ])
    .arg(format!("--user-data-dir={}", profile.display()));
    cmd
}

fn run(mut cmd: Command, what: &str) -> Vec<u8> {
    let out = cmd.output().expect("Chromium starts");
    assert!(
        out.status.success(),
        "Chromium could not {what} ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

/// The page's DOM after its scripts ran for `wait_ms` (of the page's time:
/// Chromium waits for the page's requests before it counts on).
pub fn dom(url: &str, wait_ms: u64) -> String {
    let profile = tempfile::tempdir().expect("temp dir");
    let mut cmd = headless(profile.path());
    cmd.arg(format!("--virtual-time-budget={wait_ms}"))
        .arg("--dump-dom")
        .arg(url);
    String::from_utf8(run(cmd, "load the page")).expect("the DOM is UTF-8")
}

/// A PNG of the page as a window `width` × `height` shows it.
pub fn screenshot(url: &str, png: &Path, width: u32, height: u32) {
    let profile = tempfile::tempdir().expect("temp dir");
    let mut cmd = headless(profile.path());
    cmd.arg(format!("--window-size={width},{height}"))
        .arg("--virtual-time-budget=1000")
        .arg(format!("--screenshot={}", png.display()))
        .arg(url);
    run(cmd, "take a screenshot");
    assert!(png.is_file(), "no screenshot at {}", png.display());
}

/// `file://` address of a local file.
pub fn file_url(path: &Path) -> String {
    format!(
        "file://{}",
        path.canonicalize().expect("the file exists").display()
    )
}
