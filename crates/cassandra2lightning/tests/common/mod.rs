//! Helpers shared by the integration tests: run the tools, find the fixtures.

#![allow(dead_code)]

#[allow(unused_imports)]
pub use lightning_testkit::{assert_clean_error, checksums, p, Paused, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cassandra2lightning"))
}

pub fn lightning() -> PathBuf {
    lightning_testkit::lightning_beside(&tool())
}

pub fn cass(args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(tool()).args(args))
}

pub fn light(args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(lightning()).args(args))
}

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// `migrate --verify --json`, which must succeed with every table equal.
pub fn migrate_verified(
    schema: &Path,
    data: &Path,
    target: &Path,
    extra: &[&str],
) -> serde_json::Value {
    let source = ["--schema", p(schema), "--data", p(data)];
    lightning_testkit::migrate_verified(&tool(), &source, target, extra)
}

/// A table's rows as `lightning scan --format csv` prints them.
pub fn csv(store: &Path, table: &str) -> String {
    lightning_testkit::scan_csv(&lightning(), store, table)
}
