//! `lightning query` and `lightning serve`: SQL over a Lightning database.

use std::io::{Read, Write};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use lightning_core::query_check::escape_tsv;
use lightning_sql::serve::Credentials;
use lightning_sql::{text, Engine, Outcome};

use crate::out;

/// Run SQL on a Lightning database
///
/// Runs the statements of SQL (or of --file, or of stdin when neither is given)
/// in order and prints the rows of each query. SELECT with joins, aggregates,
/// window functions and WITH queries; INSERT, UPDATE, DELETE and TRUNCATE, each
/// one atomic change that the store checks (types, NOT NULL, primary keys, unique
/// indexes); CREATE TABLE in Lightning DDL and DROP TABLE. JSON columns are text:
/// JSON_CONTAINS(doc, '["admin"]') and JSON_EXTRACT(doc, '$.a.b') work on them,
/// and FULLTEXT_SEARCH(col, 'words') matches every word. See docs/sql.md.
///
/// Values print as PostgreSQL prints them (t/f, 2024-05-01 10:00:00+00); what a
/// write changed goes to stderr (INSERT 3).
///
/// Examples:
///
///     lightning query app.ldb "SELECT count(*) FROM users"
///     lightning query app.ldb --format csv -f report.sql > report.csv
///     echo "DELETE FROM sessions WHERE expires < now()" | lightning query app.ldb
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct QueryArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// The SQL to run (several statements separated by `;`).
    #[arg(value_name = "SQL", conflicts_with = "file")]
    pub sql: Option<String>,
    /// Read the SQL from FILE (`-` for stdin).
    #[arg(short = 'f', long, value_name = "FILE")]
    pub file: Option<PathBuf>,
    /// How rows are printed.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// Aligned columns with a header.
    Table,
    /// CSV with a header line.
    Csv,
    /// One JSON object a line.
    Ndjson,
    /// One JSON array of objects.
    Json,
    /// PostgreSQL's COPY text format with a header line: tab-separated, `\N`
    /// for NULL, backslash escapes.
    Tsv,
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("cannot start the query runtime")
}

pub fn query(a: &QueryArgs) -> anyhow::Result<ExitCode> {
    let sql = match (&a.sql, &a.file) {
        (Some(s), _) => s.clone(),
        (None, Some(f)) if f.as_os_str() != "-" => {
            std::fs::read_to_string(f).with_context(|| format!("cannot read {}", f.display()))?
        }
        _ => {
            let mut s = String::new();
            std::io::stdin()
                .read_to_string(&mut s)
                .context("reading SQL from stdin")?;
            s
        }
    };
    if sql.trim().is_empty() {
        bail!("no SQL given: pass it as an argument, with --file, or on stdin");
    }
    let engine = Engine::open(&a.db).with_context(|| format!("cannot open {}", a.db.display()))?;
    let rt = runtime()?;
    let outcomes = rt.block_on(engine.run(&sql))?;
    let mut out = out::stdout();
    for o in outcomes {
        match o {
            Outcome::Rows(schema, batches) => print_rows(&mut out, a.format, &schema, &batches)?,
            Outcome::Changed(verb, n) => eprintln!("{verb} {n}"),
            Outcome::Done(tag) => eprintln!("{tag}"),
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

type Batches = [lightning_sql::RecordBatch];

fn print_rows(
    out: &mut impl Write,
    format: Format,
    schema: &lightning_sql::SchemaRef,
    batches: &Batches,
) -> anyhow::Result<()> {
    let names: Vec<String> = schema.fields().iter().map(|f| f.name().clone()).collect();
    match format {
        Format::Table => {
            let mut rows = vec![names.clone()];
            let right: Vec<bool> = schema
                .fields()
                .iter()
                .map(|f| f.data_type().is_numeric())
                .collect();
            for b in batches {
                for i in 0..b.num_rows() {
                    let mut r = Vec::with_capacity(names.len());
                    for c in b.columns() {
                        r.push(text::cell(c, i)?.unwrap_or_else(|| "NULL".into()));
                    }
                    rows.push(r);
                }
            }
            let n = rows.len() - 1;
            out::write_aligned(out, &rows, &right)?;
            eprintln!("({n} row{})", if n == 1 { "" } else { "s" });
        }
        Format::Csv => {
            let mut line = String::new();
            for (i, n) in names.iter().enumerate() {
                if i > 0 {
                    line.push(',');
                }
                out::csv_field(&mut line, n);
            }
            writeln!(out, "{line}")?;
            for b in batches {
                for i in 0..b.num_rows() {
                    line.clear();
                    for (k, c) in b.columns().iter().enumerate() {
                        if k > 0 {
                            line.push(',');
                        }
                        // NULL is an empty field; an empty text is "".
                        match text::cell(c, i)? {
                            None => {}
                            Some(s) if s.is_empty() => line.push_str("\"\""),
                            Some(s) => out::csv_field(&mut line, &s),
                        }
                    }
                    writeln!(out, "{line}")?;
                }
            }
        }
        Format::Tsv => {
            writeln!(
                out,
                "{}",
                names
                    .iter()
                    .map(|n| escape_tsv(Some(n)))
                    .collect::<Vec<_>>()
                    .join("\t")
            )?;
            for b in batches {
                for i in 0..b.num_rows() {
                    let mut fields = Vec::with_capacity(names.len());
                    for c in b.columns() {
                        fields.push(escape_tsv(text::cell(c, i)?.as_deref()));
                    }
                    writeln!(out, "{}", fields.join("\t"))?;
                }
            }
        }
        Format::Ndjson | Format::Json => {
            let mut first = true;
            if format == Format::Json {
                write!(out, "[")?;
            }
            for b in batches {
                for i in 0..b.num_rows() {
                    let mut obj = serde_json::Map::new();
                    for (n, c) in names.iter().zip(b.columns()) {
                        obj.insert(n.clone(), text::json_cell(c, i)?);
                    }
                    let line = serde_json::Value::Object(obj);
                    if format == Format::Json {
                        write!(out, "{}{line}", if first { "" } else { "," })?;
                    } else {
                        writeln!(out, "{line}")?;
                    }
                    first = false;
                }
            }
            if format == Format::Json {
                writeln!(out, "]")?;
            }
        }
    }
    Ok(())
}

/// Serve a Lightning database over the PostgreSQL wire protocol
///
/// Clients connect as to PostgreSQL (psql, psycopg, SQLAlchemy's postgresql
/// dialect, JDBC): postgresql://USER:PASSWORD@127.0.0.1:5433/DBNAME. The database
/// name is not checked. Queries, writes and Lightning DDL work as in `lightning
/// query`; each statement commits on its own (BEGIN and COMMIT are accepted, and
/// a ROLLBACK after writes warns that they stay). See docs/sql.md.
///
/// The server listens on loopback unless --listen says otherwise. With
/// --password-file (or LIGHTNING_SERVE_PASSWORD), clients must give --user and
/// that password (MD5 authentication); without, anyone who can connect may read
/// and write, and binding beyond loopback is refused. Stop it with Ctrl-C.
///
/// Examples:
///
///     lightning serve app.ldb
///     psql "postgresql://127.0.0.1:5433/app" -c "SELECT count(*) FROM users"
///     lightning serve app.ldb --listen 0.0.0.0:5433 --user app --password-file pw.txt
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ServeArgs {
    /// The Lightning database (a folder).
    #[arg(value_name = "DB")]
    pub db: PathBuf,
    /// Address and port to listen on.
    #[arg(long, value_name = "ADDR:PORT", default_value = "127.0.0.1:5433")]
    pub listen: SocketAddr,
    /// The user name clients log in with (with a password).
    #[arg(long, default_value = "lightning")]
    pub user: String,
    /// Read the password clients must give from FILE (its first line).
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

pub fn serve(a: &ServeArgs) -> anyhow::Result<ExitCode> {
    let password = match (&a.password_file, std::env::var("LIGHTNING_SERVE_PASSWORD")) {
        (Some(f), _) => {
            let text = std::fs::read_to_string(f)
                .with_context(|| format!("cannot read the password file {}", f.display()))?;
            let pw = text.lines().next().unwrap_or("").to_string();
            if pw.is_empty() {
                bail!("the password file {} is empty", f.display());
            }
            Some(pw)
        }
        (None, Ok(pw)) if !pw.is_empty() => Some(pw),
        _ => None,
    };
    if password.is_none() && !a.listen.ip().is_loopback() {
        bail!(
            "refusing to listen on {} without a password: anyone who reaches it could read and write the database; give --password-file FILE (or LIGHTNING_SERVE_PASSWORD)",
            a.listen
        );
    }
    let engine =
        Arc::new(Engine::open(&a.db).with_context(|| format!("cannot open {}", a.db.display()))?);
    let tables = engine.store().tables().len();
    let rt = runtime()?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(a.listen)
            .await
            .with_context(|| format!("cannot listen on {}", a.listen))?;
        let addr = listener.local_addr()?;
        eprintln!(
            "serving {} ({tables} table{}) on postgresql://{}{addr}/{}{}",
            a.db.display(),
            if tables == 1 { "" } else { "s" },
            if password.is_some() {
                format!("{}@", a.user)
            } else {
                String::new()
            },
            a.db.file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_else(|| "lightning".into()),
            if password.is_some() {
                " (password required)"
            } else {
                ""
            }
        );
        let credentials = password.map(|p| Credentials {
            user: a.user.clone(),
            password: p,
        });
        tokio::select! {
            r = lightning_sql::serve::serve(engine.clone(), listener, credentials) => r.map_err(anyhow::Error::from),
            _ = tokio::signal::ctrl_c() => {
                eprintln!("stopped");
                Ok(())
            }
        }
    })?;
    engine.store().flush()?;
    Ok(ExitCode::SUCCESS)
}
