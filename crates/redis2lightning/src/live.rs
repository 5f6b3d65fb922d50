//! A live Redis server: connecting, walking the keyspace with `SCAN`, and reading
//! keys' values with their expiry in pipelined, atomic batches (big keys in pages).

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use lightning_core::secret::hide_password;
use lightning_core::secret::PasswordFileArg;
use redis::{
    Connection, ConnectionAddr, IntoConnectionInfo, RedisError, TlsCertificates, Value as Reply,
};

use crate::profile::RedisType;
use crate::rdb::{self, Stream, StreamEntry};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const REPLY_TIMEOUT: Duration = Duration::from_secs(120);
/// Keys per `SCAN` step.
const SCAN_COUNT: u64 = 1000;
/// Elements read in one reply; bigger keys are read in pages of this many.
pub const PAGE: u64 = 1000;

pub struct Live {
    client: redis::Client,
    /// `redis://host:port/db`, without credentials.
    pub description: String,
    pub db: i64,
    pub version: String,
    /// `PEXPIRETIME` (Redis 7): the exact expiry instant; before, `PTTL` from the
    /// server's `TIME` in the same transaction.
    exact_expiry: bool,
}

/// What a walk calls for each key: its name, its type (`None`: a module's
/// type, named in the text), whether it has a TTL.
pub type WalkVisit<'a> = dyn FnMut(&[u8], Option<RedisType>, &str, bool) -> anyhow::Result<()> + 'a;

/// A key as a batch read found it.
#[derive(Debug)]
pub enum Found {
    Value {
        value: rdb::Value,
        expires_at_ms: Option<i64>,
    },
    /// Deleted or expired since the walk.
    Gone,
    /// Now of another type (or a module's type).
    Changed,
}

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct LiveError(pub String);

/// Whether an error is the connection's (worth trying again on a new one).
pub fn is_connection(e: &RedisError) -> bool {
    e.is_io_error() || e.is_connection_dropped() || e.is_timeout() || e.is_connection_refusal()
}

/// How to connect beyond what the URL says.
#[derive(Debug, Default)]
pub struct Connect {
    /// The password when the URL has none (`--password-file`, then `REDISCLI_AUTH`).
    pub password: Option<String>,
    /// PEM CA certificates to verify a `rediss://` server with, instead of the
    /// system's roots.
    pub tls_ca: Option<PathBuf>,
}

/// The variable redis-cli reads a password from.
pub const PASSWORD_ENV: &str = "REDISCLI_AUTH";

/// The password to use when the URL has none: the file's, else `REDISCLI_AUTH`'s.
/// Neither is read when the URL has one (as redis-cli does with its variable).
pub fn password(
    url_has_one: bool,
    file: &PasswordFileArg,
    env: Option<String>,
) -> anyhow::Result<Option<String>> {
    if url_has_one {
        if file.password_file.is_some() {
            tracing::warn!("the --source URL has a password: --password-file is not read");
        }
        return Ok(None);
    }
    if let Some(p) = file.read()? {
        return Ok(Some(p));
    }
    Ok(env.filter(|p| !p.is_empty()))
}

/// Whether a `redis://` URL carries a password (`redis://:pw@`, `redis://user:pw@`).
pub fn url_has_password(url: &str) -> bool {
    url.into_connection_info()
        .is_ok_and(|i| i.redis_settings().password().is_some())
}

impl Live {
    pub fn connect(url: &str, with: &Connect) -> anyhow::Result<Live> {
        let secret = with.password.as_deref();
        let mut info = url.into_connection_info().map_err(|e| {
            anyhow::anyhow!(
                "--source is not a Redis URL ({}): redis[s]://[user[:password]@]host:port/db",
                hide_password(&e.to_string(), url, secret)
            )
        })?;
        if let (None, Some(p)) = (info.redis_settings().password(), secret) {
            let settings = info.redis_settings().clone().set_password(p);
            info = info.set_redis_settings(settings);
        }
        let tls = matches!(info.addr(), ConnectionAddr::TcpTls { .. });
        if tls {
            // One provider for the process, whichever crate asks first.
            let _ = rustls::crypto::ring::default_provider().install_default();
        }
        let client = match &with.tls_ca {
            None => redis::Client::open(info),
            Some(ca) => {
                match info.addr() {
                    ConnectionAddr::TcpTls { insecure: true, .. } => bail!(
                        "--tls-ca verifies the server's certificate, and the URL's #insecure \
                         skips that: give one of them"
                    ),
                    ConnectionAddr::TcpTls { .. } => {}
                    _ => bail!("--tls-ca is for a TLS connection: use a rediss:// URL"),
                }
                let pem = std::fs::read(ca)
                    .with_context(|| format!("cannot read the CA file {}", ca.display()))?;
                redis::Client::build_with_tls(
                    info,
                    TlsCertificates {
                        client_tls: None,
                        root_cert: Some(pem),
                    },
                )
            }
        }
        .map_err(|e| {
            anyhow::anyhow!(
                "--source or --tls-ca: {}",
                hide_password(&e.to_string(), url, secret)
            )
        })?;
        let info = client.get_connection_info();
        let db = info.redis_settings().db();
        let where_ = match info.addr() {
            ConnectionAddr::Tcp(h, p) => format!("redis://{h}:{p}"),
            ConnectionAddr::TcpTls { host, port, .. } => format!("rediss://{host}:{port}"),
            ConnectionAddr::Unix(p) => format!("redis+unix://{}", p.display()),
            _ => "redis://?".to_string(),
        };
        let description = format!("{where_}/{db}");
        let user = info
            .redis_settings()
            .username()
            .unwrap_or("default")
            .to_string();
        let mut live = Live {
            client,
            description,
            db,
            version: String::new(),
            exact_expiry: true,
        };
        let mut con = live.connection().map_err(|e| {
            anyhow::anyhow!(
                "cannot connect to {} as `{user}`: {}: {}",
                live.description,
                hide_password(&e.0, url, secret),
                connect_hint(&e.0, tls)
            )
        })?;
        // A role without INFO is read as a Redis 7: a server without PEXPIRETIME
        // then says so on the first read, nothing is taken for a key without TTL.
        let server: String = redis::cmd("INFO")
            .arg("server")
            .query(&mut con)
            .unwrap_or_default();
        live.version = server
            .lines()
            .find_map(|l| l.strip_prefix("redis_version:"))
            .unwrap_or("?")
            .trim()
            .to_string();
        let major: u32 = live
            .version
            .split('.')
            .next()
            .and_then(|m| m.parse().ok())
            .unwrap_or(7);
        live.exact_expiry = major >= 7;
        Ok(live)
    }

    pub fn connection(&self) -> Result<Connection, LiveError> {
        let con = self
            .client
            .get_connection_with_timeout(CONNECT_TIMEOUT)
            .map_err(|e| LiveError(e.to_string()))?;
        con.set_read_timeout(Some(REPLY_TIMEOUT))
            .and_then(|_| con.set_write_timeout(Some(REPLY_TIMEOUT)))
            .map_err(|e| LiveError(e.to_string()))?;
        Ok(con)
    }

    /// Visit every key of the database with its type (`None`: a module's type,
    /// named in the text) and whether it has a TTL. A key may come twice.
    /// `with_ttl`: ask each key's TTL too (reports count them; a copy reads the
    /// expiry with the value). Returns the time spent asking TTLs, which only an
    /// assessment spends: its estimate of a copy leaves it out.
    pub fn walk(&self, with_ttl: bool, visit: &mut WalkVisit<'_>) -> anyhow::Result<Duration> {
        let mut con = self
            .connection()
            .map_err(|e| anyhow::anyhow!("{}: {}", self.description, e))?;
        let failed =
            |e: RedisError| anyhow::anyhow!("walking the keys of {}: {e}", self.description);
        let mut cursor: u64 = 0;
        let mut asking_ttls = Duration::ZERO;
        loop {
            let (next, keys): (u64, Vec<Vec<u8>>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("COUNT")
                .arg(SCAN_COUNT)
                .query(&mut con)
                .map_err(failed)?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for k in &keys {
                    pipe.cmd("TYPE").arg(k);
                }
                let types: Vec<Reply> = pipe.query(&mut con).map_err(failed)?;
                let ttls: Vec<Reply> = if with_ttl {
                    let started = Instant::now();
                    let mut pipe = redis::pipe();
                    for k in &keys {
                        pipe.cmd("PTTL").arg(k);
                    }
                    let ttls: Vec<Reply> = pipe.query(&mut con).map_err(failed)?;
                    asking_ttls += started.elapsed();
                    ttls
                } else {
                    Vec::new()
                };
                for (i, (k, r)) in keys.iter().zip(&types).enumerate() {
                    let t = match r {
                        Reply::SimpleString(s) => s.clone(),
                        Reply::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                        _ => continue,
                    };
                    if t == "none" {
                        continue;
                    }
                    let ttl = matches!(ttls.get(i), Some(Reply::Int(n)) if *n >= 0);
                    visit(k, RedisType::parse(&t), &t, ttl)?;
                }
            }
            cursor = next;
            if cursor == 0 {
                return Ok(asking_ttls);
            }
        }
    }

    /// `MEMORY USAGE` of some keys, in bytes (0 where the server does not say).
    pub fn memory(&self, keys: &[Vec<u8>]) -> Result<Vec<u64>, RedisError> {
        let mut con = self.client.get_connection_with_timeout(CONNECT_TIMEOUT)?;
        let mut pipe = redis::pipe();
        for k in keys {
            pipe.cmd("MEMORY").arg("USAGE").arg(k);
        }
        let replies: Vec<Reply> = pipe.ignore_errors().query(&mut con)?;
        Ok(replies
            .iter()
            .map(|r| match r {
                Reply::Int(n) => *n as u64,
                _ => 0,
            })
            .collect())
    }

    /// The values of keys of one type, with their expiry: each small key read in
    /// one transaction with its type and expiry, big ones in pages after.
    pub fn read(
        &self,
        con: &mut Connection,
        kind: RedisType,
        keys: &[Vec<u8>],
    ) -> Result<Vec<Found>, RedisError> {
        // The sizes first, to know which keys need pages.
        let sizes: Vec<Option<u64>> = match size_command(kind) {
            None => vec![None; keys.len()],
            Some(cmd) => {
                let mut pipe = redis::pipe();
                for k in keys {
                    pipe.cmd(cmd).arg(k);
                }
                let replies: Vec<Reply> = pipe.ignore_errors().query(con)?;
                replies
                    .iter()
                    .map(|r| match r {
                        Reply::Int(n) => Some(*n as u64),
                        _ => None,
                    })
                    .collect()
            }
        };
        let mut pipe = redis::pipe();
        pipe.atomic();
        if !self.exact_expiry {
            pipe.cmd("TIME");
        }
        for (k, size) in keys.iter().zip(&sizes) {
            pipe.cmd("TYPE").arg(k);
            pipe.cmd(if self.exact_expiry {
                "PEXPIRETIME"
            } else {
                "PTTL"
            })
            .arg(k);
            let whole = size.is_none_or(|n| n <= PAGE);
            match (kind, whole) {
                (RedisType::String, _) => pipe.cmd("GET").arg(k),
                (_, false) => pipe.cmd("EXISTS").arg(k),
                (RedisType::Hash, true) => pipe.cmd("HGETALL").arg(k),
                (RedisType::List, true) => pipe.cmd("LRANGE").arg(k).arg(0).arg(-1),
                (RedisType::Set, true) => pipe.cmd("SMEMBERS").arg(k),
                (RedisType::Zset, true) => {
                    pipe.cmd("ZRANGE").arg(k).arg(0).arg(-1).arg("WITHSCORES")
                }
                (RedisType::Stream, true) => pipe.cmd("XRANGE").arg(k).arg("-").arg("+"),
            };
        }
        let mut replies: Vec<Reply> = pipe.ignore_errors().query(con)?;
        let server_ms = if self.exact_expiry {
            0
        } else {
            server_time_ms(&replies.remove(0))?
        };
        let mut out = Vec::with_capacity(keys.len());
        for ((k, size), r) in keys.iter().zip(&sizes).zip(replies.chunks(3)) {
            let t = match &r[0] {
                Reply::SimpleString(s) => s.clone(),
                Reply::BulkString(b) => String::from_utf8_lossy(b).into_owned(),
                Reply::ServerError(e) => return Err(e.clone().into()),
                other => format!("{other:?}"),
            };
            if t == "none" {
                out.push(Found::Gone);
                continue;
            }
            if RedisType::parse(&t) != Some(kind) {
                out.push(Found::Changed);
                continue;
            }
            // -1: no expiry. Anything else than a number is an error, never a key
            // taken for one without TTL.
            let expires_at_ms = match &r[1] {
                Reply::Int(n) if *n >= 0 => {
                    Some(if self.exact_expiry { *n } else { server_ms + n })
                }
                Reply::Int(_) => None,
                other => return Err(bad_reply("an expiry", other)),
            };
            let whole = size.is_none_or(|n| n <= PAGE);
            let value = if whole || kind == RedisType::String {
                decode(kind, &r[2])?
            } else {
                match self.paged(con, kind, k)? {
                    Some(v) => v,
                    None => {
                        out.push(Found::Gone);
                        continue;
                    }
                }
            };
            out.push(Found::Value {
                value,
                expires_at_ms,
            });
        }
        Ok(out)
    }

    /// A big key read in pages (`None`: it went away meanwhile). A key changed
    /// while its pages are read is read as the pages found it.
    fn paged(
        &self,
        con: &mut Connection,
        kind: RedisType,
        key: &[u8],
    ) -> Result<Option<rdb::Value>, RedisError> {
        let page = PAGE as i64;
        Ok(Some(match kind {
            RedisType::List => {
                let mut items = Vec::new();
                loop {
                    let start = items.len() as i64;
                    let got: Vec<Vec<u8>> = redis::cmd("LRANGE")
                        .arg(key)
                        .arg(start)
                        .arg(start + page - 1)
                        .query(con)?;
                    let n = got.len();
                    items.extend(got);
                    if (n as i64) < page {
                        break;
                    }
                }
                rdb::Value::List(items)
            }
            RedisType::Zset => {
                let mut items = Vec::new();
                loop {
                    let start = items.len() as i64;
                    let got: Vec<(Vec<u8>, Vec<u8>)> = redis::cmd("ZRANGE")
                        .arg(key)
                        .arg(start)
                        .arg(start + page - 1)
                        .arg("WITHSCORES")
                        .query(con)?;
                    let n = got.len();
                    for (m, s) in got {
                        items.push((m, score(&s)?));
                    }
                    if (n as i64) < page {
                        break;
                    }
                }
                rdb::Value::SortedSet(items)
            }
            RedisType::Hash | RedisType::Set => {
                let cmd = if kind == RedisType::Hash {
                    "HSCAN"
                } else {
                    "SSCAN"
                };
                let mut seen: BTreeMap<Vec<u8>, Vec<u8>> = BTreeMap::new();
                let mut cursor: u64 = 0;
                loop {
                    let (next, got): (u64, Vec<Vec<u8>>) = redis::cmd(cmd)
                        .arg(key)
                        .arg(cursor)
                        .arg("COUNT")
                        .arg(PAGE)
                        .query(con)?;
                    if kind == RedisType::Hash {
                        for pair in got.chunks(2) {
                            if let [f, v] = pair {
                                seen.insert(f.clone(), v.clone());
                            }
                        }
                    } else {
                        for m in got {
                            seen.insert(m, Vec::new());
                        }
                    }
                    cursor = next;
                    if cursor == 0 {
                        break;
                    }
                }
                if kind == RedisType::Hash {
                    rdb::Value::Hash(seen.into_iter().collect())
                } else {
                    rdb::Value::Set(seen.into_keys().collect())
                }
            }
            RedisType::Stream => {
                let mut entries: Vec<StreamEntry> = Vec::new();
                loop {
                    let start = match entries.last() {
                        None => "-".to_string(),
                        Some(e) => format!("({}-{}", e.ms, e.seq),
                    };
                    let reply: Reply = redis::cmd("XRANGE")
                        .arg(key)
                        .arg(start)
                        .arg("+")
                        .arg("COUNT")
                        .arg(PAGE)
                        .query(con)?;
                    let got = stream_entries(&reply)?;
                    let n = got.len();
                    entries.extend(got);
                    if (n as u64) < PAGE {
                        break;
                    }
                }
                rdb::Value::Stream(Stream {
                    entries,
                    last_id: (0, 0),
                    groups: Vec::new(),
                })
            }
            RedisType::String => {
                let v: Option<Vec<u8>> = redis::cmd("GET").arg(key).query(con)?;
                match v {
                    Some(v) => rdb::Value::String(v),
                    None => return Ok(None),
                }
            }
        }))
    }
}

/// What to check after a failed connection, from the error's text (the client
/// gives TLS failures as I/O errors, so their text is all there is to go by).
fn connect_hint(error: &str, tls: bool) -> &'static str {
    let e = error.to_ascii_lowercase();
    if tls && e.contains("certificate") {
        "the server's TLS certificate is not trusted: give the CA that signed it with \
         --tls-ca FILE (and check that the certificate names the URL's host)"
    } else if tls
        && [
            "corrupt message",
            "invalidcontenttype",
            "temporarily unavailable",
            "timed out",
        ]
        .iter()
        .any(|w| e.contains(w))
    {
        // A server without TLS waits for the end of a command that never comes.
        "the server did not answer the TLS handshake: if it does not take TLS on this port, \
         use redis://"
    } else if !tls
        && ["closed", "reset", "broken pipe", "eof", "dropped"]
            .iter()
            .any(|w| e.contains(w))
    {
        "the server closed the connection: if it takes TLS on this port, use rediss://"
    } else {
        "check that the server runs and the URL's host, port and password"
    }
}

/// `TIME`'s reply (seconds, microseconds) in milliseconds.
fn server_time_ms(r: &Reply) -> Result<i64, RedisError> {
    let parts = items(r)?;
    let num = |i: usize| -> Option<i64> { std::str::from_utf8(parts.get(i)?).ok()?.parse().ok() };
    match (num(0), num(1)) {
        (Some(s), Some(us)) => Ok(s * 1000 + us / 1000),
        _ => Err(bad_reply("the server's time", r)),
    }
}

fn size_command(kind: RedisType) -> Option<&'static str> {
    Some(match kind {
        RedisType::String => return None,
        RedisType::Hash => "HLEN",
        RedisType::List => "LLEN",
        RedisType::Set => "SCARD",
        RedisType::Zset => "ZCARD",
        RedisType::Stream => "XLEN",
    })
}

fn bad_reply(what: &str, r: &Reply) -> RedisError {
    if let Reply::ServerError(e) = r {
        return e.clone().into();
    }
    RedisError::from((
        redis::ErrorKind::Parse,
        "unexpected reply",
        format!("{what}: {r:?}"),
    ))
}

fn bytes(r: &Reply) -> Result<Vec<u8>, RedisError> {
    match r {
        Reply::BulkString(b) => Ok(b.clone()),
        Reply::SimpleString(s) => Ok(s.clone().into_bytes()),
        Reply::Int(n) => Ok(n.to_string().into_bytes()),
        other => Err(bad_reply("a string", other)),
    }
}

fn items(r: &Reply) -> Result<Vec<Vec<u8>>, RedisError> {
    match r {
        Reply::Array(a) | Reply::Set(a) => a.iter().map(bytes).collect(),
        Reply::Nil => Ok(Vec::new()),
        other => Err(bad_reply("an array", other)),
    }
}

fn score(s: &[u8]) -> Result<f64, RedisError> {
    let text = std::str::from_utf8(s).unwrap_or("");
    match text {
        "inf" | "+inf" => Ok(f64::INFINITY),
        "-inf" => Ok(f64::NEG_INFINITY),
        _ => text
            .parse()
            .map_err(|_| bad_reply("a score", &Reply::BulkString(s.to_vec()))),
    }
}

fn stream_entries(r: &Reply) -> Result<Vec<StreamEntry>, RedisError> {
    let Reply::Array(list) = r else {
        return Err(bad_reply("stream entries", r));
    };
    let mut out = Vec::with_capacity(list.len());
    for e in list {
        let Reply::Array(parts) = e else {
            return Err(bad_reply("a stream entry", e));
        };
        let (Some(id), Some(fields)) = (parts.first(), parts.get(1)) else {
            return Err(bad_reply("a stream entry", e));
        };
        let id = String::from_utf8_lossy(&bytes(id)?).into_owned();
        let (ms, seq) = id
            .split_once('-')
            .and_then(|(a, b)| Some((a.parse().ok()?, b.parse().ok()?)))
            .ok_or_else(|| bad_reply("a stream id", &Reply::SimpleString(id.clone())))?;
        let flat = items(fields)?;
        let fields = flat
            .chunks(2)
            .filter_map(|p| match p {
                [f, v] => Some((f.clone(), v.clone())),
                _ => None,
            })
            .collect();
        out.push(StreamEntry { ms, seq, fields });
    }
    Ok(out)
}

/// A reply of the read command as a value.
fn decode(kind: RedisType, r: &Reply) -> Result<rdb::Value, RedisError> {
    Ok(match kind {
        RedisType::String => rdb::Value::String(bytes(r)?),
        RedisType::List => rdb::Value::List(items(r)?),
        RedisType::Set => rdb::Value::Set(items(r)?),
        RedisType::Hash => rdb::Value::Hash(
            items(r)?
                .chunks(2)
                .filter_map(|p| match p {
                    [f, v] => Some((f.clone(), v.clone())),
                    _ => None,
                })
                .collect(),
        ),
        RedisType::Zset => {
            let flat = items(r)?;
            let mut out = Vec::with_capacity(flat.len() / 2);
            for p in flat.chunks(2) {
                if let [m, s] = p {
                    out.push((m.clone(), score(s)?));
                }
            }
            rdb::Value::SortedSet(out)
        }
        RedisType::Stream => rdb::Value::Stream(Stream {
            entries: stream_entries(r)?,
            last_id: (0, 0),
            groups: Vec::new(),
        }),
    })
}

pub fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_comes_from_the_url_then_the_file_then_the_variable() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("pw");
        std::fs::write(&f, "from-file\n").unwrap();
        let file = PasswordFileArg {
            password_file: Some(f),
        };
        let none = PasswordFileArg::default();
        let env = || Some("from-env".to_string());
        assert_eq!(password(true, &file, env()).unwrap(), None);
        assert_eq!(
            password(false, &file, env()).unwrap().as_deref(),
            Some("from-file")
        );
        assert_eq!(
            password(false, &none, env()).unwrap().as_deref(),
            Some("from-env")
        );
        assert_eq!(password(false, &none, Some(String::new())).unwrap(), None);
        assert!(url_has_password("redis://:pw@h:6379/0"));
        assert!(url_has_password("rediss://u:pw@h:6379/0"));
        assert!(!url_has_password("redis://u@h:6379/0"));
    }

    #[test]
    fn a_password_from_anywhere_is_taken_out_of_messages() {
        assert_eq!(
            hide_password("auth failed for s3cret", "redis://h/0", Some("s3cret")),
            "auth failed for ****"
        );
        assert_eq!(
            hide_password("alice: s3cret", "redis://alice@h/0", Some("s3cret")),
            "alice: ****"
        );
        assert_eq!(
            hide_password("auth failed for urlpw", "redis://:urlpw@h/0", None),
            "auth failed for ****"
        );
    }
}
