//! The stream against real Singer packages: PostgreSQL taps piped into
//! `lightning import`, Singer targets loading `lightning export`, a round trip
//! through a target and a tap, and an orchestrated resume from the STATE that
//! `lightning import` prints.
//!
//! `cargo xtask test` installs the packages, one virtual environment each, and
//! names their directory in `LIGHTNING_TEST_SINGER`. Every test works in a
//! PostgreSQL schema of its own in database `test` on 127.0.0.1:5432 (user
//! `postgres`), dropped at its end.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::thread;

use lightning_testkit::{finish, p, Run};
use serde_json::{json, Value as Json};

const BIN: &str = env!("CARGO_BIN_EXE_lightning");

const PG_HOST: &str = "127.0.0.1";
const PG_PORT: u16 = 5432;
const PG_USER: &str = "postgres";
const PG_DATABASE: &str = "test";

// ---------------------------------------------------------------------------
// The Singer packages

/// `program` of the Singer package installed in the virtual environment `venv`.
fn singer(venv: &str, program: &str) -> Command {
    let dir = std::env::var_os("LIGHTNING_TEST_SINGER").unwrap_or_else(|| {
        panic!(
            "LIGHTNING_TEST_SINGER names the directory of the Singer packages' virtual environments: `cargo xtask test` installs them and sets it"
        )
    });
    let path = Path::new(&dir).join(venv).join("bin").join(program);
    assert!(
        path.is_file(),
        "{} is missing: `cargo xtask test` installs it into {venv} (its warnings say why it could not)",
        path.display()
    );
    Command::new(path)
}

/// The two PostgreSQL taps. Both read the same table; their configs, catalogs
/// and SCHEMA messages differ.
#[derive(Clone, Copy, Debug)]
enum Tap {
    /// pipelinewise-tap-postgres
    Pipelinewise,
    /// meltanolabs-tap-postgres (singer-sdk)
    Meltanolabs,
}

/// How a tap reads its stream.
#[derive(Clone, Copy)]
enum Replication {
    FullTable,
    /// Incremental on the column `id` (inclusive: the bookmark row comes again).
    IncrementalOnId,
}

impl Tap {
    fn command(self) -> Command {
        match self {
            Tap::Pipelinewise => singer("pw-tap-postgres", "tap-postgres"),
            Tap::Meltanolabs => singer("ml-tap-postgres", "tap-postgres"),
        }
    }

    fn config(self, schema: &str) -> Json {
        match self {
            Tap::Pipelinewise => json!({"host": PG_HOST, "port": PG_PORT, "user": PG_USER,
                "password": "", "dbname": PG_DATABASE, "filter_schemas": schema}),
            Tap::Meltanolabs => json!({"host": PG_HOST, "port": PG_PORT, "user": PG_USER,
                "password": "", "database": PG_DATABASE, "filter_schemas": [schema]}),
        }
    }

    /// Discover the tables of `schema`, select `table` in the catalog, and
    /// return the command that reads it (add `--state FILE` to go on).
    fn reading(self, dir: &Path, schema: &str, table: &str, how: Replication) -> Command {
        let config = write_json(dir, "tap-config.json", &self.config(schema));
        let discovered = run(self
            .command()
            .arg("--config")
            .arg(&config)
            .arg("--discover"));
        assert_eq!(
            discovered.code, 0,
            "{self:?} --discover: {}",
            discovered.stderr
        );
        let mut catalog: Json = serde_json::from_str(&discovered.stdout).unwrap_or_else(|e| {
            panic!(
                "{self:?} --discover prints a catalog ({e}): {}",
                discovered.stdout
            )
        });
        select(&mut catalog, &format!("{schema}-{table}"), how);
        let catalog = write_json(dir, "catalog.json", &catalog);
        let mut cmd = self.command();
        cmd.arg("--config")
            .arg(config)
            .arg("--catalog")
            .arg(catalog);
        cmd
    }
}

/// Select the stream `id` of a discovered catalog, replicated as `how` says
/// (both taps read these keys from the stream's metadata, breadcrumb `[]`).
fn select(catalog: &mut Json, id: &str, how: Replication) {
    let streams = catalog["streams"]
        .as_array_mut()
        .expect("a catalog has streams");
    let stream = streams
        .iter_mut()
        .find(|s| s["tap_stream_id"] == id)
        .unwrap_or_else(|| panic!("the catalog has no stream `{id}`"));
    let root = stream["metadata"]
        .as_array_mut()
        .expect("a stream has metadata")
        .iter_mut()
        .find(|m| m["breadcrumb"] == json!([]))
        .expect("a stream's metadata has its breadcrumb []");
    let m = &mut root["metadata"];
    m["selected"] = json!(true);
    match how {
        Replication::FullTable => m["replication-method"] = json!("FULL_TABLE"),
        Replication::IncrementalOnId => {
            m["replication-method"] = json!("INCREMENTAL");
            m["replication-key"] = json!("id");
        }
    }
}

/// The three targets, each with its config: the PostgreSQL ones load into the
/// schema `schema`, target-jsonl writes `STREAM.jsonl` files into `dir`.
#[derive(Clone, Copy, Debug)]
enum Target {
    /// pipelinewise-target-postgres
    Pipelinewise,
    /// meltanolabs-target-postgres (singer-sdk)
    Meltanolabs,
    Jsonl,
}

impl Target {
    fn command(self, dir: &Path, schema: &str) -> Command {
        let (mut cmd, config) = match self {
            Target::Pipelinewise => (
                singer("pw-target-postgres", "target-postgres"),
                // The password must not be empty (the server trusts us anyway).
                json!({"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "password": "unused",
                    "dbname": PG_DATABASE, "default_target_schema": schema}),
            ),
            Target::Meltanolabs => (
                singer("ml-target-postgres", "target-postgres"),
                json!({"host": PG_HOST, "port": PG_PORT, "user": PG_USER, "password": "",
                    "database": PG_DATABASE, "default_target_schema": schema}),
            ),
            Target::Jsonl => (
                singer("target-jsonl", "target-jsonl"),
                json!({"destination_path": dir, "do_timestamp_file": false}),
            ),
        };
        let config = write_json(dir, "target-config.json", &config);
        cmd.arg("--config").arg(config);
        cmd
    }
}

// ---------------------------------------------------------------------------
// Running programs

fn run(cmd: &mut Command) -> Run {
    finish(cmd.stdin(Stdio::null()).output().expect("the program runs"))
}

fn lightning(args: &[&str]) -> Run {
    run(Command::new(BIN).args(args))
}

/// `lightning ARGS`, which must succeed: its stdout.
fn ok(args: &[&str]) -> String {
    let r = lightning(args);
    assert_eq!(r.code, 0, "lightning {args:?}: {}", r.stderr);
    r.stdout
}

/// `tap | target`, as a shell pipes them, keeping a copy of the stream between
/// them: the tap's run (its stdout being that stream), and the target's.
fn pipe(tap: &mut Command, target: &mut Command) -> (Run, Run) {
    let mut tap = tap
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the tap starts");
    let mut target = target
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the target starts");
    let mut from = tap.stdout.take().expect("the tap's stdout");
    let mut to = target.stdin.take().expect("the target's stdin");
    let copier = thread::spawn(move || {
        let mut stream = Vec::new();
        let mut buf = vec![0; 64 * 1024];
        let mut open = true;
        loop {
            let n = from.read(&mut buf).expect("reading the tap's output");
            if n == 0 {
                break;
            }
            stream.extend_from_slice(&buf[..n]);
            // A target that stopped reading has failed: its run says why.
            open = open && to.write_all(&buf[..n]).is_ok();
        }
        stream
    });
    let mut tap_err = tap.stderr.take().expect("the tap's stderr");
    let tap_log = thread::spawn(move || {
        let mut log = Vec::new();
        let _ = tap_err.read_to_end(&mut log);
        log
    });
    let target = finish(target.wait_with_output().expect("the target ends"));
    let stream = copier.join().expect("the copy of the stream");
    let status = tap.wait().expect("the tap ends");
    let tap = Run {
        code: status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&stream).into_owned(),
        stderr: String::from_utf8_lossy(&tap_log.join().expect("the tap's log")).into_owned(),
    };
    (tap, target)
}

/// `tap | lightning import DB`, both of which must succeed; the tap's stream
/// and the import's stdout (the STATE values it committed).
fn tap_into(tap: &mut Command, db: &Path) -> (String, String) {
    let (tap, import) = pipe(tap, Command::new(BIN).arg("import").arg(db));
    assert_eq!(tap.code, 0, "the tap failed: {}", tap.stderr);
    assert_eq!(
        import.code, 0,
        "lightning import failed on the tap's stream: {}\n--- the stream ---\n{}",
        import.stderr, tap.stdout
    );
    (tap.stdout, import.stdout)
}

/// A file `input` fed to `target`, which must succeed.
fn load(target: &mut Command, input: &Path) {
    let r = finish(
        target
            .stdin(std::fs::File::open(input).expect("the stream file"))
            .output()
            .expect("the target runs"),
    );
    assert_eq!(
        r.code,
        0,
        "{:?} failed on {}: {}",
        target.get_program(),
        input.display(),
        r.stderr
    );
}

fn write_json(dir: &Path, name: &str, value: &Json) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, value.to_string()).expect("writing a config file");
    path
}

/// The messages of a stream, parsed.
fn messages(stream: &str) -> Vec<Json> {
    stream
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The `id` of each RECORD in a stream, in order.
fn record_ids(stream: &str) -> Vec<i64> {
    messages(stream)
        .iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| {
            m["record"]["id"]
                .as_i64()
                .expect("a record with an integer id")
        })
        .collect()
}

// ---------------------------------------------------------------------------
// PostgreSQL

fn psql() -> Command {
    let mut cmd = Command::new("psql");
    cmd.args(["-X", "-q", "-At", "-v", "ON_ERROR_STOP=1"])
        .args([
            "-h",
            PG_HOST,
            "-p",
            &PG_PORT.to_string(),
            "-U",
            PG_USER,
            "-d",
            PG_DATABASE,
        ])
        .env("PGOPTIONS", "-c TimeZone=UTC");
    cmd
}

/// A schema of the test's own in database `test`, dropped at the end.
struct PgSchema {
    name: String,
}

impl PgSchema {
    fn new(tag: &str) -> PgSchema {
        let name = format!("singer_{tag}_{}", std::process::id());
        let schema = PgSchema { name };
        schema.sql(&format!(
            "DROP SCHEMA IF EXISTS {0} CASCADE; CREATE SCHEMA {0};",
            schema.name
        ));
        schema
    }

    /// Run `sql` with the schema first on the search path; psql's output
    /// (unaligned, tuples only).
    fn sql(&self, sql: &str) -> String {
        let script = format!("SET search_path TO {}, public;\n{sql}", self.name);
        let r = run(psql().args(["-c", &script]));
        assert_eq!(
            r.code, 0,
            "psql: {}\n--- the script ---\n{script}",
            r.stderr
        );
        r.stdout
    }

    /// The columns the targets made of table `table`, with their types
    /// (`information_schema.columns.data_type`), leaving out the metadata
    /// columns singer-sdk targets add (`_sdc_…`).
    fn column_types(&self, table: &str) -> BTreeMap<String, String> {
        let rows = self.sql(&format!(
            "SELECT column_name, data_type FROM information_schema.columns \
             WHERE table_schema = '{}' AND table_name = '{table}' ORDER BY column_name",
            self.name
        ));
        rows.lines()
            .filter_map(|l| l.split_once('|'))
            .filter(|(c, _)| !c.starts_with("_sdc_"))
            .map(|(c, t)| (c.to_string(), t.to_string()))
            .collect()
    }
}

impl Drop for PgSchema {
    fn drop(&mut self) {
        let _ = run(psql().args([
            "-c",
            &format!("DROP SCHEMA IF EXISTS {} CASCADE", self.name),
        ]));
    }
}

// ---------------------------------------------------------------------------
// Lightning stores

/// A store with one table, made by `lightning execute` of `ddl`, holding
/// `records` (JSON objects by column name) imported as a stream.
fn store_of(db: &Path, table: &str, ddl: &str, records: &[Json]) {
    let r = finish(
        Command::new(BIN)
            .arg("execute")
            .arg(db)
            .args(["--file", "-"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .and_then(|mut c| {
                c.stdin.take().expect("stdin").write_all(ddl.as_bytes())?;
                c.wait_with_output()
            })
            .expect("lightning execute runs"),
    );
    assert_eq!(r.code, 0, "lightning execute: {}", r.stderr);
    let schema: Json = serde_json::from_str(&ok(&["describe", p(db), table, "--json"]))
        .expect("describe --json prints JSON");
    let mut stream = json!({"type": "SCHEMA", "stream": table,
        "schema": {"type": "object", "properties": {}},
        "key_properties": schema["primary_key"], "lightning_schema": schema})
    .to_string();
    for r in records {
        stream.push('\n');
        stream.push_str(&json!({"type": "RECORD", "stream": table, "record": r}).to_string());
    }
    stream.push('\n');
    let r = lightning_testkit::run_with_stdin(
        Command::new(BIN).arg("import").arg(db),
        stream.as_bytes(),
    );
    assert_eq!(r.code, 0, "lightning import: {}", r.stderr);
}

/// A table's column types, as `lightning describe --json` gives them.
fn lightning_types(db: &Path, table: &str) -> BTreeMap<String, String> {
    let schema: Json = serde_json::from_str(&ok(&["describe", p(db), table, "--json"]))
        .expect("describe --json prints JSON");
    schema["columns"]
        .as_array()
        .expect("a schema has columns")
        .iter()
        .map(|c| {
            let ty = c["type"].as_str().expect("a column type").to_string();
            let null = if c["nullable"] == true {
                ""
            } else {
                " NOT NULL"
            };
            (
                c["name"].as_str().expect("a column name").to_string(),
                ty + null,
            )
        })
        .collect()
}

/// A table's rows, as `lightning scan` prints them (NDJSON, key order).
fn scan(db: &Path, table: &str) -> Vec<Json> {
    messages(&ok(&["scan", p(db), table]))
}

/// `lightning checksum DB TABLE`: the row count and the checksum.
fn checksum(db: &Path, table: &str) -> (u64, String) {
    let out: Json = serde_json::from_str(&ok(&["checksum", p(db), table, "--json"]))
        .expect("checksum --json prints JSON");
    let t = &out[0];
    (
        t["rows"].as_u64().expect("a row count"),
        t["checksum"].as_str().expect("a checksum").to_string(),
    )
}

/// Expected and actual maps, compared entry by entry for a readable failure.
fn assert_same_map<V: PartialEq + std::fmt::Debug>(
    what: &str,
    actual: &BTreeMap<String, V>,
    expected: &[(&str, V)],
) {
    let expected: BTreeMap<String, &V> = expected.iter().map(|(k, v)| (k.to_string(), v)).collect();
    let mut wrong = Vec::new();
    for (k, want) in &expected {
        match actual.get(k) {
            Some(have) if have == *want => {}
            Some(have) => wrong.push(format!("  {k}: {have:?}, expected {want:?}")),
            None => wrong.push(format!("  {k}: missing, expected {want:?}")),
        }
    }
    for (k, have) in actual {
        if !expected.contains_key(k) {
            wrong.push(format!("  {k}: {have:?}, not expected"));
        }
    }
    assert!(wrong.is_empty(), "{what}:\n{}", wrong.join("\n"));
}

/// Rows compared column by column, for a readable failure.
fn assert_rows(what: &str, actual: &[Json], expected: &[Json]) {
    assert_eq!(
        actual.len(),
        expected.len(),
        "{what}: {} rows, expected {}:\n{actual:#?}",
        actual.len(),
        expected.len()
    );
    for (have, want) in actual.iter().zip(expected) {
        let have: BTreeMap<String, Json> = have
            .as_object()
            .expect("a row is an object")
            .clone()
            .into_iter()
            .collect();
        let want: Vec<(&str, Json)> = want
            .as_object()
            .expect("a row is an object")
            .iter()
            .map(|(k, v)| (k.as_str(), v.clone()))
            .collect();
        let id = have.get("id").cloned().unwrap_or_default();
        assert_same_map(&format!("{what}, the row with id {id}"), &have, &want);
    }
}

// ---------------------------------------------------------------------------
// a. Taps into `lightning import`

/// One row of edge values, one of other values, one of NULLs, one of zeros.
const TAP_TABLE: &str = r#"
CREATE TABLE types (
    id integer PRIMARY KEY,
    c_numeric_38_9 numeric(38,9),
    c_numeric numeric,
    c_double double precision,
    c_boolean boolean,
    c_text text,
    c_date date,
    c_time time,
    c_timestamp timestamp,
    c_timestamptz timestamptz,
    c_json json,
    c_jsonb jsonb,
    c_uuid uuid
);
INSERT INTO types VALUES
    (1, 12345678901234567890.123456789, 123.4500, 0.1, true,
     E'line1\nline2 "quoted" \\ back', '2024-02-29', '13:45:00.123456',
     '2024-02-29 13:45:00.123456', '2024-02-29 13:45:00.123456+05:30',
     '{"a": 1, "b": [1, 2.5, {"c": null}], "z": "é"}', '[1, "two", 3.5, null]',
     'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11'),
    (2, -0.000000001, -42, -2.5, false, '', '1999-12-31', '00:00:00',
     '1970-01-01 00:00:00', '1969-12-31 23:59:59.5-08:00', '{}', '[]',
     '00000000-0000-0000-0000-000000000000'),
    (3, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
    (4, 0, 0.00000000000000000001, 0, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
"#;

/// The values every tap must bring over exactly (the columns whose Lightning
/// type is the same for both taps).
fn common_values() -> Vec<Json> {
    vec![
        json!({"id": 1, "c_numeric_38_9": "12345678901234567890.123456789", "c_double": "0.1",
            "c_boolean": true, "c_text": "line1\nline2 \"quoted\" \\ back",
            "c_time": "13:45:00.123456",
            "c_timestamp": "2024-02-29 13:45:00.123456+00:00",
            "c_timestamptz": "2024-02-29 08:15:00.123456+00:00",
            "c_json": {"a": 1, "b": [1, 2.5, {"c": null}], "z": "é"},
            "c_jsonb": [1, "two", 3.5, null],
            "c_uuid": "a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11"}),
        json!({"id": 2, "c_numeric_38_9": "-0.000000001", "c_double": "-2.5",
            "c_boolean": false, "c_text": "", "c_time": "00:00:00",
            "c_timestamp": "1970-01-01 00:00:00+00:00",
            "c_timestamptz": "1970-01-01 07:59:59.500000+00:00",
            "c_json": {}, "c_jsonb": [], "c_uuid": "00000000-0000-0000-0000-000000000000"}),
        json!({"id": 3, "c_numeric_38_9": null, "c_double": null, "c_boolean": null,
            "c_text": null, "c_time": null, "c_timestamp": null, "c_timestamptz": null,
            "c_json": null, "c_jsonb": null, "c_uuid": null}),
        json!({"id": 4, "c_numeric_38_9": "0.000000000", "c_double": "0.0", "c_boolean": null,
            "c_text": null, "c_time": null, "c_timestamp": null, "c_timestamptz": null,
            "c_json": null, "c_jsonb": null, "c_uuid": null}),
    ]
}

/// `tap | lightning import DB` of the table above; the table's Lightning types
/// and rows.
fn import_from_tap(tap: Tap, tag: &str) -> (BTreeMap<String, String>, Vec<Json>) {
    let pg = PgSchema::new(tag);
    pg.sql(TAP_TABLE);
    let dir = tempfile::tempdir().expect("a scratch dir");
    let db = dir.path().join("tap.ldb");
    let mut reading = tap.reading(dir.path(), &pg.name, "types", Replication::FullTable);
    let (stream, _) = tap_into(&mut reading, &db);
    assert_eq!(record_ids(&stream), [1, 2, 3, 4], "the tap's records");
    let table = format!("{}-types", pg.name);
    (lightning_types(&db, &table), scan(&db, &table))
}

/// Merge `extra` columns into each of `rows` (the same order, by `id`).
fn with_columns(mut rows: Vec<Json>, extra: &[Json]) -> Vec<Json> {
    for (row, more) in rows.iter_mut().zip(extra) {
        for (k, v) in more.as_object().expect("an object") {
            row[k] = v.clone();
        }
    }
    rows
}

#[test]
fn pipelinewise_tap_postgres_into_lightning_import() {
    let (types, rows) = import_from_tap(Tap::Pipelinewise, "pwtap");
    assert_same_map(
        "the Lightning types of the pipelinewise tap's table",
        &types,
        &[
            // An integer key, declared with the range of a PostgreSQL integer.
            ("id", "INTEGER NOT NULL".to_string()),
            // multipleOf 1e-09 and maximum 1e29: NUMERIC(38,9) exactly.
            ("c_numeric_38_9", "DECIMAL(38,9)".to_string()),
            // The tap declares a bare numeric as multipleOf 1e-38, maximum 1e62.
            ("c_numeric", "DECIMAL(100,38)".to_string()),
            ("c_double", "DECIMAL".to_string()),
            ("c_boolean", "BOOLEAN".to_string()),
            ("c_text", "TEXT".to_string()),
            // The tap sends a date as a date-time at midnight UTC.
            ("c_date", "TIMESTAMPTZ".to_string()),
            ("c_time", "TIME".to_string()),
            ("c_timestamp", "TIMESTAMPTZ".to_string()),
            ("c_timestamptz", "TIMESTAMPTZ".to_string()),
            ("c_json", "JSON".to_string()),
            ("c_jsonb", "JSON".to_string()),
            ("c_uuid", "TEXT".to_string()),
        ],
    );
    let zeros38 = "0".repeat(38);
    let expected = with_columns(
        common_values(),
        &[
            json!({"c_numeric": format!("123.45{}", &zeros38[2..]), "c_date": "2024-02-29 00:00:00+00:00"}),
            json!({"c_numeric": format!("-42.{zeros38}"), "c_date": "1999-12-31 00:00:00+00:00"}),
            json!({"c_numeric": null, "c_date": null}),
            json!({"c_numeric": format!("0.{}1{}", &zeros38[..19], &zeros38[..18]), "c_date": null}),
        ],
    );
    assert_rows("the pipelinewise tap's rows in the store", &rows, &expected);
}

#[test]
fn meltanolabs_tap_postgres_into_lightning_import() {
    let (types, rows) = import_from_tap(Tap::Meltanolabs, "mltap");
    assert_same_map(
        "the Lightning types of the meltanolabs tap's table",
        &types,
        &[
            ("id", "BIGINT NOT NULL".to_string()),
            // This tap declares every number as a bare `number`.
            ("c_numeric_38_9", "DECIMAL".to_string()),
            ("c_numeric", "DECIMAL".to_string()),
            ("c_double", "DECIMAL".to_string()),
            ("c_boolean", "BOOLEAN".to_string()),
            ("c_text", "TEXT".to_string()),
            ("c_date", "DATE".to_string()),
            ("c_time", "TIME".to_string()),
            ("c_timestamp", "TIMESTAMPTZ".to_string()),
            ("c_timestamptz", "TIMESTAMPTZ".to_string()),
            // Any JSON value: objects, arrays and scalars.
            ("c_json", "JSON".to_string()),
            ("c_jsonb", "JSON".to_string()),
            ("c_uuid", "TEXT".to_string()),
        ],
    );
    // A bare DECIMAL keeps the scale the tap sent (`123.4500`; `0E-9` is 0 at scale 9).
    let expected = with_columns(
        common_values(),
        &[
            json!({"c_numeric": "123.4500", "c_date": "2024-02-29"}),
            json!({"c_numeric": "-42", "c_date": "1999-12-31"}),
            json!({"c_numeric": null, "c_date": null}),
            json!({"c_numeric": "0.00000000000000000001", "c_date": null}),
        ],
    );
    assert_rows("the meltanolabs tap's rows in the store", &rows, &expected);
}

// ---------------------------------------------------------------------------
// b. `lightning export` into targets

/// A table of every Lightning type.
const EVERY_TYPE: &str = "CREATE TABLE every_type (
    id BIGINT NOT NULL PRIMARY KEY,
    flag BOOLEAN,
    small SMALLINT,
    mid INTEGER,
    big BIGINT,
    f FLOAT,
    d DOUBLE,
    amount DECIMAL(12,2),
    anyd DECIMAL,
    note TEXT,
    data BLOB,
    day DATE,
    at TIME,
    ts TIMESTAMP,
    tstz TIMESTAMPTZ,
    doc JSON,
    uid UUID
);";

/// Values every target takes: no NaN, no infinities, dates and times that
/// Python's datetime holds, TIME without a fraction (singer-check-tap's `time`
/// format has none). Decimals wider than Python's 28-digit decimal context have
/// a test of their own below.
fn every_type_records() -> Vec<Json> {
    vec![
        json!({"id": 1, "flag": true, "small": -32768, "mid": 2147483647,
            "big": 9223372036854775807_i64, "f": 1.5, "d": 0.1, "amount": "1234567890.12",
            "anyd": "-0.00100", "note": "héllo, \"wörld\"\nline 2", "data": "AAEA/w==",
            "day": "2024-02-29", "at": "13:45:00", "ts": "2024-02-29 13:45:00.250000",
            "tstz": "2024-02-29T13:45:00.25+05:30",
            "doc": {"a": [1, 2, {"b": null}], "z": "é"},
            "uid": "67e55044-10b1-426f-9247-bb680e5fe0c8"}),
        json!({"id": 2}),
        json!({"id": 3, "flag": false, "small": 0, "mid": -2147483648,
            "big": -9223372036854775808_i64, "f": -0.25, "d": -1e-300, "amount": "-0.05",
            "anyd": "0", "note": "", "data": "", "day": "0001-01-01", "at": "00:00:00",
            "ts": "1970-01-01 00:00:00", "tstz": "1999-12-31T23:59:59Z", "doc": [1, "two"],
            "uid": "00000000-0000-0000-0000-000000000000"}),
    ]
}

/// `lightning export DB --all` of a store holding `every_type`, in a file.
fn every_type_export(dir: &Path) -> PathBuf {
    let db = dir.join("every.ldb");
    store_of(&db, "every_type", EVERY_TYPE, &every_type_records());
    let path = dir.join("export.jsonl");
    std::fs::write(&path, ok(&["export", p(&db), "--all"])).expect("writing the export");
    path
}

/// `target < export`, then the types of the columns it created.
fn load_every_type(target: Target, tag: &str) -> (PgSchema, BTreeMap<String, String>) {
    let pg = PgSchema::new(tag);
    let dir = tempfile::tempdir().expect("a scratch dir");
    let export = every_type_export(dir.path());
    load(&mut target.command(dir.path(), &pg.name), &export);
    let types = pg.column_types("every_type");
    (pg, types)
}

/// The instants and exact decimals as PostgreSQL holds them.
fn pg_values(pg: &PgSchema) -> String {
    pg.sql("SELECT id, amount::text, tstz::text, doc::text FROM every_type ORDER BY id")
}

#[test]
fn pipelinewise_target_postgres_loads_lightning_export() {
    let (pg, types) = load_every_type(Target::Pipelinewise, "pwtarget");
    assert_same_map(
        "the columns pipelinewise-target-postgres made of `lightning export`",
        &types,
        &[
            ("id", "bigint".to_string()),
            ("flag", "boolean".to_string()),
            ("small", "smallint".to_string()),
            ("mid", "integer".to_string()),
            ("big", "bigint".to_string()),
            // This target makes `double precision` of every `number`, whatever
            // its multipleOf: the best it can do with a decimal.
            ("f", "double precision".to_string()),
            ("d", "double precision".to_string()),
            ("amount", "double precision".to_string()),
            ("anyd", "double precision".to_string()),
            ("note", "character varying".to_string()),
            ("data", "character varying".to_string()),
            // It has no `date` columns: a `format: date` is text to it.
            ("day", "character varying".to_string()),
            ("at", "time without time zone".to_string()),
            ("ts", "timestamp without time zone".to_string()),
            ("tstz", "timestamp without time zone".to_string()),
            ("doc", "jsonb".to_string()),
            ("uid", "character varying".to_string()),
        ],
    );
    assert_eq!(
        pg_values(&pg),
        "1|1234567890.12|2024-02-29 08:15:00.25|{\"a\": [1, 2, {\"b\": null}], \"z\": \"é\"}\n\
         2|||\n\
         3|-0.05|1999-12-31 23:59:59|[1, \"two\"]\n",
        "the values pipelinewise-target-postgres stored (timestamps in UTC)"
    );
}

#[test]
fn meltanolabs_target_postgres_loads_lightning_export() {
    let (pg, types) = load_every_type(Target::Meltanolabs, "mltarget");
    assert_same_map(
        "the columns meltanolabs-target-postgres made of `lightning export`",
        &types,
        &[
            ("id", "bigint".to_string()),
            ("flag", "boolean".to_string()),
            ("small", "smallint".to_string()),
            ("mid", "integer".to_string()),
            ("big", "bigint".to_string()),
            ("f", "numeric".to_string()),
            ("d", "numeric".to_string()),
            ("amount", "numeric".to_string()),
            ("anyd", "numeric".to_string()),
            ("note", "text".to_string()),
            // singer-sdk keeps base64 as its text unless told to decode it.
            ("data", "text".to_string()),
            ("day", "date".to_string()),
            ("at", "time without time zone".to_string()),
            ("ts", "timestamp without time zone".to_string()),
            ("tstz", "timestamp without time zone".to_string()),
            ("doc", "jsonb".to_string()),
            ("uid", "uuid".to_string()),
        ],
    );
    // It stores a NULL of a jsonb column as the JSON document `null`.
    assert_eq!(
        pg_values(&pg),
        "1|1234567890.12|2024-02-29 08:15:00.25|{\"a\": [1, 2, {\"b\": null}], \"z\": \"é\"}\n\
         2|||null\n\
         3|-0.05|1999-12-31 23:59:59|[1, \"two\"]\n",
        "the values meltanolabs-target-postgres stored (timestamps in UTC)"
    );
}

#[test]
fn target_jsonl_writes_every_record_of_lightning_export() {
    let dir = tempfile::tempdir().expect("a scratch dir");
    let export = every_type_export(dir.path());
    // target-jsonl validates every record against the SCHEMA's JSON Schema.
    load(&mut Target::Jsonl.command(dir.path(), "unused"), &export);
    let written = std::fs::read_to_string(dir.path().join("every_type.jsonl"))
        .expect("target-jsonl writes every_type.jsonl");
    let exported: Vec<Json> = messages(&std::fs::read_to_string(&export).unwrap())
        .into_iter()
        .filter(|m| m["type"] == "RECORD")
        .map(|m| m["record"].clone())
        .collect();
    assert_rows(
        "the records target-jsonl wrote",
        &messages(&written),
        &exported,
    );
}

#[test]
fn singer_check_tap_accepts_lightning_export() {
    let dir = tempfile::tempdir().expect("a scratch dir");
    let export = every_type_export(dir.path());
    let r = finish(
        singer("singer-tools", "singer-check-tap")
            // It keeps a working folder in the current directory.
            .current_dir(dir.path())
            .stdin(std::fs::File::open(&export).unwrap())
            .output()
            .expect("singer-check-tap runs"),
    );
    assert_eq!(
        r.code,
        0,
        "singer-check-tap refused `lightning export`: {}\n--- the export ---\n{}",
        r.all(),
        std::fs::read_to_string(&export).unwrap()
    );
    assert!(r.stdout.contains("The output is valid."), "{}", r.stdout);
    assert!(r.stdout.contains("3 record messages"), "{}", r.stdout);
}

/// A DECIMAL(38,9) of 29 digits (as NUMERIC(38,9) columns hold) reaches the
/// programs that would check a declared `multipleOf` in Python's 28-digit
/// decimals, and crash on it (`decimal.InvalidOperation`).
#[test]
fn a_decimal_of_29_digits_reaches_meltanolabs_and_singer_check_tap_exactly() {
    let pg = PgSchema::new("wide");
    let dir = tempfile::tempdir().expect("a scratch dir");
    let db = dir.path().join("wide.ldb");
    store_of(
        &db,
        "wide",
        "CREATE TABLE wide (id BIGINT NOT NULL PRIMARY KEY, amount DECIMAL(38,9));",
        &[json!({"id": 1, "amount": "12345678901234567890.123456789"})],
    );
    let export = dir.path().join("export.jsonl");
    std::fs::write(&export, ok(&["export", p(&db), "--all"])).unwrap();
    let check = finish(
        singer("singer-tools", "singer-check-tap")
            .current_dir(dir.path())
            .stdin(std::fs::File::open(&export).unwrap())
            .output()
            .expect("singer-check-tap runs"),
    );
    assert_eq!(check.code, 0, "singer-check-tap: {}", check.all());
    load(
        &mut Target::Meltanolabs.command(dir.path(), &pg.name),
        &export,
    );
    assert_eq!(
        pg.sql("SELECT amount::text FROM wide"),
        "12345678901234567890.123456789\n"
    );
}

// ---------------------------------------------------------------------------
// c. Store → target → PostgreSQL → tap → store

/// The types that come back the same through pipelinewise-target-postgres and
/// pipelinewise-tap-postgres, with the values that do:
///
/// - a DECIMAL only with the digits a double holds and no trailing zeros (the
///   target makes `double precision` of every number);
/// - TEXT neither empty (the target loads `""` as NULL) nor with line breaks
///   or tabs (it loads them as the two characters `\n`, `\t`);
/// - a JSON document only as the text the tap writes it in (Python's
///   `json.dumps`: `", "` and `": "`, non-ASCII escaped, keys in jsonb's order),
///   since a JSON value is its text and the trip rewrites it.
///
/// The other types come back as another type: FLOAT and DOUBLE as DECIMAL (the
/// target's `double precision` is a `number` to the tap), TIMESTAMP as
/// TIMESTAMPTZ, BLOB, DATE and UUID as TEXT (the target's `character varying`).
const TRIP: &str = "CREATE TABLE trip (
    id INTEGER NOT NULL PRIMARY KEY,
    small SMALLINT,
    big BIGINT,
    amount DECIMAL(12,2),
    anyd DECIMAL,
    flag BOOLEAN,
    note TEXT,
    at TIME,
    tstz TIMESTAMPTZ,
    doc JSON
);";

fn trip_records() -> Vec<Json> {
    vec![
        json!({"id": 1, "small": 32767, "big": 9223372036854775807_i64,
            "amount": "1234567890.12", "anyd": "0.5", "flag": true,
            "note": "héllo, \"wörld\" \\ back", "at": "13:45:00.500000",
            "tstz": "2024-02-29T13:45:00.25+05:30",
            "doc": r#"{"a": [1, 2, {"c": null}], "z": "\u00e9"}"#}),
        json!({"id": 2}),
        json!({"id": -3, "small": -32768, "big": -9223372036854775808_i64,
            "amount": "-0.05", "anyd": "-1234.5", "flag": false, "note": " ",
            "at": "00:00:00", "tstz": "1970-01-01T00:00:00Z", "doc": r#"[1, "two", {}]"#}),
    ]
}

#[test]
fn a_store_comes_back_the_same_through_pipelinewise_target_and_tap() {
    let pg = PgSchema::new("trip");
    let dir = tempfile::tempdir().expect("a scratch dir");
    let before = dir.path().join("before.ldb");
    store_of(&before, "trip", TRIP, &trip_records());

    let export = dir.path().join("export.jsonl");
    std::fs::write(&export, ok(&["export", p(&before), "--all"])).unwrap();
    load(
        &mut Target::Pipelinewise.command(dir.path(), &pg.name),
        &export,
    );

    let after = dir.path().join("after.ldb");
    let mut reading =
        Tap::Pipelinewise.reading(dir.path(), &pg.name, "trip", Replication::FullTable);
    let (stream, _) = tap_into(&mut reading, &after);
    assert_eq!(record_ids(&stream).len(), 3, "the tap's records: {stream}");

    let came_back = format!("{}-trip", pg.name);
    assert_eq!(
        checksum(&after, &came_back),
        checksum(&before, "trip"),
        "the table differs after the trip\nbefore: {:#?}\nafter: {:#?}\ncolumns after: {:#?}",
        scan(&before, "trip"),
        scan(&after, &came_back),
        lightning_types(&after, &came_back)
    );
}

// ---------------------------------------------------------------------------
// d. An orchestrator resuming the tap from the STATE `lightning import` prints

#[test]
fn an_incremental_tap_resumes_from_the_state_lightning_import_prints() {
    let pg = PgSchema::new("resume");
    pg.sql(
        "CREATE TABLE items (id integer PRIMARY KEY, name text, price numeric(10,2));
         INSERT INTO items VALUES (1, 'one', 1.50), (2, 'two', 20.00), (3, 'three', 0.05);",
    );
    let dir = tempfile::tempdir().expect("a scratch dir");
    let db = dir.path().join("items.ldb");
    let table = format!("{}-items", pg.name);
    let mut tap =
        Tap::Pipelinewise.reading(dir.path(), &pg.name, "items", Replication::IncrementalOnId);

    let (first, states) = tap_into(&mut tap, &db);
    assert_eq!(record_ids(&first), [1, 2, 3], "the first run's records");
    let state = last_state(&states);
    assert_eq!(
        state.pointer(&format!("/bookmarks/{}/replication_key_value", table)),
        Some(&json!(3)),
        "the last state lightning import printed: {state}"
    );
    let state_file = write_json(dir.path(), "state.json", &state);

    pg.sql("INSERT INTO items VALUES (4, 'four', 4.00), (5, 'five', 12345678.99);");
    let (second, states) = tap_into(tap.arg("--state").arg(&state_file), &db);
    // The tap reads from its bookmark on, inclusive: row 3 comes again.
    assert_eq!(record_ids(&second), [3, 4, 5], "the second run's records");
    let state = last_state(&states);
    assert_eq!(
        state.pointer(&format!("/bookmarks/{}/replication_key_value", table)),
        Some(&json!(5)),
        "the last state of the second run: {state}"
    );

    assert_eq!(ok(&["count", p(&db), &table]), "5\n", "rows in the store");
    assert_rows(
        "the store after both runs",
        &scan(&db, &table),
        &[
            json!({"id": 1, "name": "one", "price": "1.50"}),
            json!({"id": 2, "name": "two", "price": "20.00"}),
            json!({"id": 3, "name": "three", "price": "0.05"}),
            json!({"id": 4, "name": "four", "price": "4.00"}),
            json!({"id": 5, "name": "five", "price": "12345678.99"}),
        ],
    );
}

/// The last of the STATE values `lightning import` printed, one a line; each
/// line must be one.
fn last_state(stdout: &str) -> Json {
    let states = messages(stdout);
    for s in &states {
        assert!(
            s.get("bookmarks").is_some(),
            "lightning import printed something else than a state value: {s}"
        );
    }
    states
        .last()
        .cloned()
        .unwrap_or_else(|| panic!("lightning import printed no state: {stdout:?}"))
}
