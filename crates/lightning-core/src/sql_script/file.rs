//! A script read whole: from a file, or from standard input for `-`.

use std::io::Read;
use std::path::Path;

use anyhow::Context;

use crate::fingerprint::HashingReader;

/// The script's bytes and their hash: a file, or standard input for `-`.
pub fn read_script(source: &Path) -> anyhow::Result<(Vec<u8>, String)> {
    let mut bytes = Vec::new();
    let content_id = if source == Path::new("-") {
        let mut r = HashingReader::new(std::io::stdin().lock());
        r.read_to_end(&mut bytes)
            .context("reading the script from standard input")?;
        r.content_id()
    } else {
        let f = std::fs::File::open(source)
            .with_context(|| format!("cannot open the script {}", source.display()))?;
        let mut r = HashingReader::new(f);
        r.read_to_end(&mut bytes)
            .with_context(|| format!("reading the script {}", source.display()))?;
        r.content_id()
    };
    Ok((bytes, content_id))
}

/// The script as messages name it.
pub fn script_shown(source: &Path) -> String {
    if source == Path::new("-") {
        "standard input".to_string()
    } else {
        source.display().to_string()
    }
}

/// The script as a job's description names it: its full path, or standard input
/// with its hash (`content_id`).
pub fn script_description(source: &Path, content_id: &str) -> String {
    if source == Path::new("-") {
        format!("script on standard input ({content_id})")
    } else {
        std::fs::canonicalize(source)
            .unwrap_or_else(|_| source.to_path_buf())
            .display()
            .to_string()
    }
}
