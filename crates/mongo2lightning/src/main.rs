//! mongo2lightning: migrate MongoDB collections into Lightning DB.

mod assess;
mod documents;
mod files;
mod infer;
mod input;
mod kind;
mod live;
mod mapping;
mod rebuild;
mod rows;
mod source;

use std::process::ExitCode;

use clap::{Args, ValueEnum};
use lightning_core::cast::{CastRule, CastRules};
use lightning_core::secret::PasswordFileArg;
use lightning_core::tool::{MappingArgs, OpenRequest, OpenedSource, SourceTool};

use crate::kind::Kind;

// The copy allocates and frees many small values; mimalloc does that much faster
// than the system allocator.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

pub(crate) struct Mongo;

/// Where the documents are, and how to map them.
#[derive(Args, Clone)]
pub(crate) struct Options {
    /// A connection string naming the database (mongodb://USER@host:27017/shop,
    /// with the password in --password-file; TLS options such as tls=true and
    /// tlsCAFile=FILE after `?`), a
    /// mongoexport JSON-lines file, a mongodump .bson file, a folder of such files
    /// (one per collection), or `-` for standard input.
    #[arg(long, value_name = "URL|FILE|DIR|-")]
    source: String,
    #[command(flatten)]
    password: PasswordFileArg,
    /// The collection one file or standard input holds (default: the file's name
    /// without its extension).
    #[arg(long, value_name = "NAME")]
    collection: Option<String>,
    /// The format of standard input, or of a file whose name does not say it
    /// (default: JSON when it starts with `{`, BSON otherwise).
    #[arg(long, value_enum, value_name = "FORMAT")]
    format: Option<FileFormat>,
    /// Documents per collection sampled to decide the mapping; a collection with no
    /// more is read whole (files are always read whole).
    #[arg(long, default_value_t = 1000, value_name = "N")]
    sample_size: u64,
    #[command(flatten)]
    mapping: MappingArgs,
}

#[derive(Clone, Copy, ValueEnum)]
pub(crate) enum FileFormat {
    /// Extended JSON, one document per line (mongoexport).
    Json,
    /// BSON documents one after another (mongodump).
    Bson,
}

impl From<FileFormat> for files::Format {
    fn from(f: FileFormat) -> Self {
        match f {
            FileFormat::Json => files::Format::Json,
            FileFormat::Bson => files::Format::Bson,
        }
    }
}

impl SourceTool for Mongo {
    const NAME: &'static str = "mongo2lightning";
    const ABOUT: &'static str = "Migrate MongoDB collections into Lightning DB";
    const LONG_ABOUT: &'static str = "\
Migrate MongoDB collections into Lightning DB.

Each collection becomes a table keyed by `_id`; nested documents become columns
(`address_city`), arrays of documents child tables (`orders_items`, keyed by the
parent's `_id` and `position`), other arrays and fields of several types JSON
columns. What no column holds (a field met after the sample, a value of another
type, an explicit null) is kept in the row's `_extra` JSON column, so every
document can be rebuilt exactly; `verify` rebuilds them and compares.

The source is a live database, or mongoexport (Extended JSON lines) and mongodump
(.bson) files: a file, a folder of them, or standard input.

Example:
  mongo2lightning assess --source mongodb://127.0.0.1:27017/shop
  mongo2lightning convert-schema --source mongodb://127.0.0.1:27017/shop --write-mapping shop.mapping.json
  mongo2lightning migrate --source mongodb://127.0.0.1:27017/shop --target shop.ldb --verify
  mongo2lightning migrate --source 'mongodb://app@db.internal:27017/shop?tls=true&tlsCAFile=ca.pem' \
      --password-file mongo.pw --target shop.ldb
  mongo2lightning migrate --source dump/shop --target shop.ldb --mapping shop.mapping.json
  mongo2lightning documents --target shop.ldb --collection orders > orders.json

The password is read from --password-file for the URL's user; one in the URL
works too, but other users see it in `ps`. Passwords are never printed. TLS is
the driver's own: tls=true, tlsCAFile=FILE, tlsCertificateKeyFile=FILE and
tlsAllowInvalidCertificates=true in the URL's options.

Exit codes: 0 success, 1 failure, 2 bad usage, 3 verification found differences,
130/143 interrupted.";
    const NO_SYNC: &'static str = "reading MongoDB change streams is not available yet";
    const CASTS_NOTE: &'static str = "\
# a field with several types, an array of values and any other BSON type (regex,
# javascript, minKey, maxKey, binary of other subtypes, ...) => JSON (Extended JSON);
# a nested document => its fields as columns; an array of documents => a child table.
# Change a field's mapping in a mapping file (--write-mapping, then --mapping).\n";
    type Options = Options;

    fn default_casts() -> CastRules {
        CastRules::new(
            Kind::ALL
                .into_iter()
                .map(|k| {
                    CastRule::default_for(
                        k.name(),
                        k.column_type(),
                        match k {
                            Kind::ObjectId => "the 24 hexadecimal digits",
                            Kind::Date => "milliseconds since 1970, UTC",
                            Kind::Timestamp => "seconds << 32 | increment",
                            Kind::Uuid => "binary of subtype 4",
                            Kind::BinData => "binary of subtype 0",
                            Kind::Json => "Extended JSON, exact",
                            _ => "exact",
                        },
                    )
                })
                .collect(),
        )
    }

    fn open(options: &Options, request: &OpenRequest<'_>) -> anyhow::Result<Box<dyn OpenedSource>> {
        input::open(options, request)
    }

    fn extra_commands() -> Vec<clap::Command> {
        vec![documents::command()]
    }

    fn run_extra(_name: &str, matches: &clap::ArgMatches) -> anyhow::Result<ExitCode> {
        documents::run(matches)
    }
}

fn main() -> ExitCode {
    lightning_core::tool::main::<Mongo>()
}
