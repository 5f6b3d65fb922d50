//! `--start-position` given as a GTID: the binlog position just after that
//! transaction, found by reading the server's binlog events.
//!
//! MariaDB writes a GTID as `domain-server-sequence` (`0-1-57`, as
//! `@@gtid_binlog_pos` shows it); MySQL as `source_uuid:number` (or a set
//! `source_uuid:1-57`, whose last number is taken). Sync starts at the first event
//! after the transaction: the next transaction's GTID event in the same file, or the
//! file's end.

use mysql::prelude::Queryable;
use mysql::Conn;

use crate::source::BinlogPosition;

/// A transaction's global id, as one server flavour writes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gtid {
    /// `domain-server-sequence`.
    MariaDb(String),
    /// `uuid:number`, the uuid lower-cased.
    MySql(String),
}

impl Gtid {
    /// `None` when `s` is not a GTID (it may be a file:position).
    pub fn parse(s: &str) -> Option<Gtid> {
        let s = s.trim();
        let parts: Vec<&str> = s.split('-').collect();
        let digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if parts.len() == 3 && parts.iter().all(|p| digits(p)) {
            return Some(Gtid::MariaDb(s.to_string()));
        }
        let (uuid, range) = s.split_once(':')?;
        let hex = uuid.replace('-', "");
        if hex.len() != 32 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        let last = match range.split_once('-') {
            Some((a, b)) if digits(a) && digits(b) => b,
            None if digits(range) => range,
            _ => return None,
        };
        Some(Gtid::MySql(format!("{}:{last}", uuid.to_ascii_lowercase())))
    }

    /// Whether a `Gtid` event's text (`SHOW BINLOG EVENTS`' Info) is this one.
    fn is(&self, info: &str) -> bool {
        match self {
            // `BEGIN GTID 0-1-57`, `GTID 0-1-58` (DDL).
            Gtid::MariaDb(g) => info.split_whitespace().any(|w| w == g),
            // `SET @@SESSION.GTID_NEXT= '3e11fa47-...:57'`.
            Gtid::MySql(g) => info.to_ascii_lowercase().contains(&format!("'{g}'")),
        }
    }
}

impl std::fmt::Display for Gtid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Gtid::MariaDb(g) | Gtid::MySql(g) => f.write_str(g),
        }
    }
}

/// Why a GTID has no position.
#[derive(Debug, thiserror::Error)]
pub enum GtidError {
    #[error("reading the binlog's events: {0}")]
    Query(#[from] mysql::Error),
    #[error(
        "GTID {0} is in none of the server's binlog files (purged, not written yet, or from \
         another server); give a file:position, or copy again with `migrate --for-sync --fresh`"
    )]
    NotFound(Gtid),
}

/// The position just after `gtid`'s transaction.
pub fn position_after(conn: &mut Conn, gtid: &Gtid) -> Result<BinlogPosition, GtidError> {
    let files: Vec<String> = conn
        .query::<mysql::Row, _>("SHOW BINARY LOGS")?
        .iter()
        .filter_map(|r| r.get::<String, _>(0))
        .collect();
    // The newest files first: a GTID to start from is usually recent.
    for file in files.iter().rev() {
        let sql = format!("SHOW BINLOG EVENTS IN '{}'", file.replace('\'', "''"));
        let mut found = false;
        let mut end = None;
        for row in conn.query_iter(sql)? {
            let row = row?;
            let kind: String = row.get(2).unwrap_or_default();
            let info: String = row.get(5).unwrap_or_default();
            if kind.eq_ignore_ascii_case("Gtid") {
                if found {
                    let pos: u64 = row.get(1).unwrap_or_default();
                    end = Some(pos);
                    break;
                }
                found = gtid.is(&info);
            }
            end = row.get(4);
        }
        if found {
            return Ok(BinlogPosition {
                file: file.clone(),
                pos: end.unwrap_or(4),
            });
        }
    }
    Err(GtidError::NotFound(gtid.clone()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gtids_are_told_from_positions() {
        assert_eq!(Gtid::parse("0-1-57"), Some(Gtid::MariaDb("0-1-57".into())));
        assert_eq!(
            Gtid::parse("3E11FA47-71CA-11E1-9E33-C80AA9429562:1-23"),
            Some(Gtid::MySql(
                "3e11fa47-71ca-11e1-9e33-c80aa9429562:23".into()
            ))
        );
        assert_eq!(Gtid::parse("mariadb-bin.000003:1234"), None);
        assert_eq!(Gtid::parse("0-1"), None);
        assert_eq!(Gtid::parse("0-1-57,1-2-3"), None);
        assert_eq!(
            Gtid::parse("3e11fa47-71ca-11e1-9e33-c80aa9429562:1-5:7-9"),
            None
        );
        assert!(Gtid::MariaDb("0-1-5".into()).is("BEGIN GTID 0-1-5"));
        assert!(!Gtid::MariaDb("0-1-5".into()).is("BEGIN GTID 0-1-57"));
        assert!(Gtid::MySql("3e11fa47-71ca-11e1-9e33-c80aa9429562:5".into())
            .is("SET @@SESSION.GTID_NEXT= '3E11FA47-71CA-11E1-9E33-C80AA9429562:5'"));
    }
}
