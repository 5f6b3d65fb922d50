//! redis2lightning: migrate Redis keyspaces into Lightning DB.

mod assess;
mod findings;
mod input;
mod keys;
mod live;
mod mapping;
mod pattern;
mod profile;
#[allow(dead_code)]
mod rdb;
mod source;

use std::path::PathBuf;

use clap::Args;
use lightning_core::cast::{CastRule, CastRules};
use lightning_core::secret::PasswordFileArg;
use lightning_core::tool::{MappingArgs, OpenRequest, OpenedSource, SourceTool};
use lightning_core::LightningType;

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) struct Redis;

/// Where the keys are, and how to map them.
#[derive(Args, Clone)]
pub(crate) struct Options {
    /// The server: redis://[USER@]HOST[:PORT][/DB], or rediss:// for TLS (database
    /// 0 unless the path names another). The password: --password-file, else
    /// REDISCLI_AUTH (one in the URL works too, but shows in `ps`).
    #[arg(
        long,
        value_name = "URL",
        conflicts_with = "from_dump",
        required_unless_present = "from_dump"
    )]
    source: Option<String>,
    #[command(flatten)]
    password: PasswordFileArg,
    /// Verify a rediss:// server's certificate against the CA certificates (PEM)
    /// in FILE instead of the system's.
    #[arg(long, value_name = "FILE")]
    tls_ca: Option<PathBuf>,
    /// An RDB snapshot (`redis-cli --rdb FILE`, a server's dump.rdb), or `-` for
    /// standard input (saved beside the target while the run lasts).
    #[arg(long, value_name = "FILE|-")]
    from_dump: Option<String>,
    /// The logical database of an RDB file to copy.
    #[arg(long, value_name = "N")]
    db: Option<u64>,
    /// A key pattern to group keys by, before the automatic grouping: segments
    /// split on `:`, `*` for a variable segment (`user:*:profile`). Repeatable.
    #[arg(long, value_name = "PATTERN")]
    pattern: Vec<String>,
    /// Keys per table whose values a live server is asked for to decide the types
    /// (an RDB file's values are all read).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    sample_size: u64,
    #[command(flatten)]
    mapping: MappingArgs,
}

impl SourceTool for Redis {
    const NAME: &'static str = "redis2lightning";
    const ABOUT: &'static str =
        "Migrate Redis keyspaces into Lightning DB, from a live server or an RDB file";
    const LONG_ABOUT: &'static str = "\
Migrate Redis keyspaces into Lightning DB, from a live server or an RDB file.

Keys are grouped into patterns (`session:*`, `user:*:profile`: numbers, UUIDs
and other ids become `*`, as do segments with many values), and each pattern
and Redis type becomes a table: strings (key, value, expires_at), hashes (a
column per common field and `_extra`, or one JSON column), lists (key,
position, value), sets (key, member), sorted sets (key, member, score), streams
(key, id_ms, id_seq, fields). A pattern's variable segments become columns
(`session:12345` gives `session_id` 12345). Integer values become BIGINT, JSON
documents JSON, other text TEXT, bytes that are not UTF-8 BLOB, as the data
shows; `convert-schema --write-mapping` writes these decisions to a file to
edit and give back with --mapping.

A live server is walked with SCAN (never KEYS) and read in pipelined
transactions on several connections; an RDB file (redis-cli --rdb) is read
whole, from a path or standard input.

Example:
  redis2lightning assess --source redis://127.0.0.1:6379/0
  redis2lightning convert-schema --source redis://127.0.0.1:6379/0 --write-mapping cache.mapping.json
  redis2lightning migrate --source redis://127.0.0.1:6379/0 --target cache.ldb --verify
  redis2lightning migrate --source rediss://cache.internal:6380/0 --tls-ca ca.pem \
      --password-file redis.pw --target cache.ldb
  redis-cli --rdb - | redis2lightning migrate --from-dump - --target cache.ldb

The password is read from --password-file, else from REDISCLI_AUTH as redis-cli
does; one in the URL works too, but other users see it in `ps`. Passwords are
never printed. rediss:// connects with TLS, verified against the system's CA
certificates or those of --tls-ca; rediss://...#insecure skips the verification.

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const NO_SYNC: &'static str = "Redis keeps no log of changes to continue from";
    const CASTS_NOTE: &'static str = "\
# values are typed from the data: integers as Redis writes them => BIGINT, JSON
# objects and arrays => JSON, other UTF-8 => TEXT, other bytes => BLOB; sorted set
# scores => DOUBLE; TTLs => expires_at TIMESTAMPTZ. Change a column's type in a
# mapping file (--write-mapping, then --mapping).\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        use LightningType as T;
        CastRules::new(vec![
            CastRule::default_for(
                "integer value",
                T::BigInt,
                "exact (canonical integers only)",
            ),
            CastRule::default_for("json value", T::Json, "exact, byte for byte"),
            CastRule::default_for("text value", T::Text, "exact"),
            CastRule::default_for("binary value", T::Blob, "exact"),
            CastRule::default_for("score", T::Double, "exact"),
            CastRule::default_for("ttl", T::TimestampTz, "the expiry instant, milliseconds"),
        ])
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        input::open(options, request)
    }
}

fn main() -> std::process::ExitCode {
    lightning_core::tool::main::<Redis>()
}
