//! A real browser for the tests of pages the tools serve or write: Debian's
//! Chromium, headless (`cargo xtask test` installs it when it is missing).

use std::path::{Path, PathBuf};
use std::process::Command;

use lightning_core::report::Tone;

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

/// A report page's text, checked to be one self-contained page: nothing
/// fetched from elsewhere, no scripts.
pub fn self_contained_page(path: &Path) -> String {
    let html = std::fs::read_to_string(path).expect("the page was written");
    assert!(html.starts_with("<!DOCTYPE html>"), "{}", path.display());
    // The SVG namespace is a name, not something fetched.
    let outside_svg = html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for banned in ["<script", "http://", "https://", "@import", "url("] {
        assert!(
            !outside_svg.contains(banned),
            "{}: {banned} in a self-contained page",
            path.display()
        );
    }
    html
}

/// The window a report page is looked at in.
const WIDTH: u32 = 1280;
const HEIGHT: u32 = 1600;

/// A screenshot of a page, decoded: what a person would see of it.
/// `LIGHTNING_TEST_SHOTS=DIR` keeps a copy of each there for a look.
pub struct Shot {
    pixels: Vec<[u8; 3]>,
}

impl Shot {
    /// Screenshot of the page at `html`, kept beside it as `name`.png.
    pub fn of(html: &Path, name: &str) -> Shot {
        let png = html.with_file_name(format!("{name}.png"));
        screenshot(&file_url(html), &png, WIDTH, HEIGHT);
        if let Some(dir) = std::env::var_os("LIGHTNING_TEST_SHOTS") {
            let dir = PathBuf::from(dir);
            std::fs::create_dir_all(&dir).expect("the screenshots' folder");
            std::fs::copy(&png, dir.join(format!("{name}.png"))).expect("a copy");
        }
        let file = std::fs::File::open(&png).expect("the screenshot");
        let mut reader = png::Decoder::new(std::io::BufReader::new(file))
            .read_info()
            .expect("a PNG");
        let mut buf = vec![0; reader.output_buffer_size().expect("a size")];
        let info = reader.next_frame(&mut buf).expect("a frame");
        assert_eq!(
            (info.width, info.height),
            (WIDTH, HEIGHT),
            "{name}: the window's size"
        );
        let step = match info.color_type {
            png::ColorType::Rgb => 3,
            png::ColorType::Rgba => 4,
            other => panic!("{name}: unexpected colour type {other:?}"),
        };
        assert_eq!(info.bit_depth, png::BitDepth::Eight);
        let pixels = buf[..info.buffer_size()]
            .chunks_exact(step)
            .map(|p| [p[0], p[1], p[2]])
            .collect();
        Shot { pixels }
    }

    /// The share of pixels that are not (nearly) white.
    pub fn ink(&self) -> f64 {
        let inked = self
            .pixels
            .iter()
            .filter(|p| p.iter().any(|&c| c < 235))
            .count();
        inked as f64 / self.pixels.len() as f64
    }

    /// Pixels of `tone`'s colour (a badge's background, a bar).
    pub fn of_tone(&self, tone: Tone) -> usize {
        let hex = tone.colour().trim_start_matches('#');
        let want: Vec<u8> = (0..3)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).expect("a hex colour"))
            .collect();
        self.pixels
            .iter()
            .filter(|p| p.iter().zip(&want).all(|(&a, &b)| a.abs_diff(b) <= 6))
            .count()
    }

    pub fn assert_rendered(&self, name: &str) {
        let ink = self.ink();
        assert!(
            ink > 0.02,
            "{name}: the page looks empty ({:.1}% of it drawn)",
            ink * 100.0
        );
    }

    pub fn assert_shows(&self, name: &str, tone: Tone) {
        let n = self.of_tone(tone);
        assert!(
            n > 150,
            "{name}: nothing in {} ({n} pixels of {})",
            tone.class(),
            tone.colour()
        );
    }
}
