//! Failures end cleanly and say what failed: a server that cannot be reached is
//! named by host and port, a password never shows, contradictory options are a
//! usage error.

mod common;

use common::*;

#[test]
fn an_unreachable_server_is_named_by_host_and_port() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    for args in [
        vec!["assess", "--source", "redis://127.0.0.1:1/0"],
        vec!["convert-schema", "--source", "redis://127.0.0.1:1/0"],
        vec![
            "migrate",
            "--source",
            "redis://127.0.0.1:1/0",
            "--target",
            p(&target),
        ],
        vec![
            "verify",
            "--source",
            "redis://127.0.0.1:1/0",
            "--target",
            p(&target),
        ],
    ] {
        let r = r2l(&args);
        assert_clean_error(&r, 1, "127.0.0.1:1");
    }
    assert!(!target.exists(), "no target for a source never reached");
}

#[test]
fn a_password_in_the_url_is_never_printed() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("t.ldb");
    // A server that cannot be reached, and one that refuses the password.
    let refused = format!(
        "redis://u:secret@{}/0",
        server_url().trim_start_matches("redis://")
    );
    for url in ["redis://u:secret@127.0.0.1:1/0", refused.as_str()] {
        for args in [
            vec!["convert-schema", "--source", url],
            vec!["migrate", "--source", url, "--target", p(&target)],
        ] {
            let r = r2l(&args);
            assert_eq!(r.code, 1, "{args:?}: {}", r.stderr);
            assert!(!r.all().contains("secret"), "{args:?}: {}", r.all());
            assert_clean_error(&r, 1, "127.0.0.1:");
        }
    }
}

#[test]
fn source_and_dump_together_is_a_usage_error() {
    let r = r2l(&[
        "migrate",
        "--source",
        "redis://127.0.0.1:1/0",
        "--from-dump",
        "dump.rdb",
        "--target",
        "t.ldb",
    ]);
    assert_eq!(r.code, 2, "{}", r.stderr);
    assert!(r.stderr.contains("--from-dump"), "{}", r.stderr);
    assert!(!r.stderr.contains("panicked"), "{}", r.stderr);
    // Neither is a usage error too.
    let r = r2l(&["convert-schema"]);
    assert_eq!(r.code, 2, "{}", r.stderr);
}

#[test]
fn cast_rules_point_to_the_mapping_file() {
    let r = r2l(&[
        "convert-schema",
        "--source",
        "redis://127.0.0.1:1/0",
        "--cast",
        "type:text value => BLOB",
    ]);
    assert_clean_error(&r, 1, "--write-mapping");
}
