//! Helpers shared by the integration tests: run the tools, write scripts.

#![allow(dead_code)]

#[allow(unused_imports)]
pub use lightning_testkit::{assert_clean_error, checksums, p, Paused, Run};

use std::path::{Path, PathBuf};
use std::process::Command;

pub fn tool() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_oracle2lightning"))
}

/// A tool of the workspace built beside this one (`pg2lightning`, `lightning`).
pub fn sibling(name: &str) -> PathBuf {
    let p = tool().with_file_name(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        p.exists(),
        "{} is missing: build the workspace first",
        p.display()
    );
    p
}

pub fn lightning() -> PathBuf {
    lightning_testkit::lightning_beside(&tool())
}

pub fn ora(args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(tool()).args(args))
}

pub fn ora_fault(args: &[&str], fault: &str) -> Run {
    lightning_testkit::run(
        Command::new(tool())
            .args(args)
            .env("LIGHTNING_FAULT", fault),
    )
}

pub fn light(args: &[&str]) -> Run {
    lightning_testkit::run(Command::new(lightning()).args(args))
}

/// The SQL Developer export with every type, as the repository keeps it.
pub fn every_type() -> String {
    std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/every_type.sql"),
    )
    .expect("the fixture")
}

pub fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, bytes).expect("write");
    path
}

/// `migrate --verify --json`, which must succeed with every table equal.
pub fn migrate_verified(script: &Path, target: &Path, extra: &[&str]) -> serde_json::Value {
    lightning_testkit::migrate_verified(&tool(), &["--from-script", p(script)], target, extra)
}

/// A table's rows as `lightning scan --format csv` prints them.
pub fn csv(store: &Path, table: &str) -> String {
    lightning_testkit::scan_csv(&lightning(), store, table)
}
