//! Helpers shared by the integration tests: run the tools, write scripts.

#![allow(dead_code)]

#[allow(unused_imports)]
pub use lightning_testkit::{assert_clean_error, checksums, p, write_file as write, Paused, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_mssql2lightning"))
}

/// A tool of the workspace built beside this one (`pg2lightning`, `lightning`).
pub fn sibling(name: &str) -> PathBuf {
    lightning_testkit::sibling(&tool(), name)
}

pub fn lightning() -> PathBuf {
    lightning_testkit::lightning_beside(&tool())
}

pub fn ms(args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(tool()).args(args))
}

pub fn light(args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(lightning()).args(args))
}

/// The SSMS script with every type, as the repository keeps it (UTF-8, CRLF).
pub fn every_type() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every_type.sql"),
    )
    .expect("the fixture")
}

/// `text` as SSMS saves "Unicode": UTF-16 little-endian with a byte-order mark.
pub fn utf16le(text: &str) -> Vec<u8> {
    let mut out = vec![0xFF, 0xFE];
    out.extend(text.encode_utf16().flat_map(u16::to_le_bytes));
    out
}

/// `migrate --verify --json`, which must succeed with every table equal.
pub fn migrate_verified(script: &Path, target: &Path, extra: &[&str]) -> serde_json::Value {
    lightning_testkit::migrate_verified(&tool(), &["--from-script", p(script)], target, extra)
}

/// A table's rows as `lightning scan --format csv` prints them.
pub fn csv(store: &Path, table: &str) -> String {
    lightning_testkit::scan_csv(&lightning(), store, table)
}
