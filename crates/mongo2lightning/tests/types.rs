//! Every BSON type, from the live server and from the files MongoDB's tools write,
//! comes back exactly: the stores agree whatever the source, and the documents
//! rebuilt from them are the fixture's.

mod common;

use common::*;

/// The fixture's documents, canonical, in `_id` order.
fn expected() -> Vec<serde_json::Value> {
    every_type().iter().map(canonical).collect()
}

#[test]
fn every_bson_type_from_the_live_server_verifies_equal_and_comes_back_exactly() {
    let db = TestDb::new("types");
    db.insert("every_type", &every_type());
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("live.ldb");
    let report = migrate_verified(&db.url, &target, &[]);
    let tables = verified_tables(&report);
    for t in [
        "every_type",
        "every_type_items",
        "every_type_items_parts",
        "every_type (documents)",
    ] {
        assert!(tables.contains(&t.to_string()), "{t} not in {tables:?}");
    }
    assert_eq!(documents(&target, "every_type"), expected());
    // Verification alone, again: the same.
    let again = m2l(&[
        "verify",
        "--source",
        &db.url,
        "--target",
        p(&target),
        "--json",
    ]);
    assert_eq!(again.code, 0, "{}", again.stderr);
    assert_all_equal(&again.json());
}

#[test]
fn the_server_canonical_json_bson_and_stdin_give_the_same_tables() {
    let db = TestDb::new("sources");
    db.insert("every_type", &every_type());
    let dir = tempfile::tempdir().unwrap();
    let live = dir.path().join("live.ldb");
    migrate_verified(&db.url, &live, &[]);
    let json = dir.path().join("json.ldb");
    migrate_verified(p(&fixture("every_type.json")), &json, &[]);
    let bson = dir.path().join("bson.ldb");
    migrate_verified(p(&fixture("every_type.bson")), &bson, &[]);
    let stdin = dir.path().join("stdin.ldb");
    let bytes = std::fs::read(fixture("every_type.bson")).unwrap();
    let r = m2l_stdin(
        &[
            "migrate",
            "--source",
            "-",
            "--collection",
            "every_type",
            "--target",
            p(&stdin),
            "--verify",
            "--json",
            "--quiet",
        ],
        &bytes,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_all_equal(&r.json());
    let stdin_json = dir.path().join("stdin_json.ldb");
    let text = std::fs::read(fixture("every_type.json")).unwrap();
    let r = m2l_stdin(
        &[
            "migrate",
            "--source",
            "-",
            "--collection",
            "every_type",
            "--target",
            p(&stdin_json),
            "--verify",
            "--json",
            "--quiet",
        ],
        &text,
    );
    assert_eq!(r.code, 0, "{}", r.stderr);
    assert_all_equal(&r.json());

    // mongodump --gzip: a folder of compressed files, and a compressed pipe.
    let gzipped = |name: &str| {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        gz.write_all(&std::fs::read(fixture(name)).unwrap())
            .unwrap();
        gz.finish().unwrap()
    };
    let dump = dir.path().join("dump");
    std::fs::create_dir(&dump).unwrap();
    std::fs::write(dump.join("every_type.bson.gz"), gzipped("every_type.bson")).unwrap();
    let gz = dir.path().join("gz.ldb");
    migrate_verified(p(&dump), &gz, &[]);
    let stdin_gz = dir.path().join("stdin_gz.ldb");
    let r = m2l_stdin(
        &[
            "migrate",
            "--source",
            "-",
            "--collection",
            "every_type",
            "--target",
            p(&stdin_gz),
            "--quiet",
        ],
        &gzipped("every_type.json"),
    );
    assert_eq!(r.code, 0, "{}", r.stderr);

    let reference = checksums(&live);
    assert_eq!(reference.len(), 3, "{reference:?}");
    for store in [&json, &bson, &stdin, &stdin_json, &gz, &stdin_gz] {
        assert_eq!(checksums(store), reference, "{}", store.display());
        assert_eq!(documents(store, "every_type"), expected());
    }
}

#[test]
fn relaxed_json_migrates_and_verifies_equal() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("relaxed.ldb");
    let source = dir.path().join("every_type.json");
    std::fs::copy(fixture("every_type.relaxed.json"), &source).unwrap();
    migrate_verified(p(&source), &target, &[]);
    // What relaxed JSON says is what comes back (its numbers read as int, long or
    // double by their size and form).
    let text = std::fs::read_to_string(&source).unwrap();
    assert_eq!(documents(&target, "every_type"), canonical_lines(&text));
}
