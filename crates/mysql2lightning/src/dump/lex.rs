//! Tokens of one statement: words, quoted names, strings (MySQL escapes undone),
//! hex and bit literals, numbers, punctuation. Versioned comments are honoured by
//! version: `/*!NNNNN ... */` and `/*M!NNNNNN ... */` are read as SQL when NNNNN is
//! read by the server the dump is read as (see `includes`), skipped otherwise.

use std::borrow::Cow;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};

/// The server whose versioned comments are honoured: set once per run, from
/// `--dump-server-version` or the dump's `-- Server version` header line (MySQL
/// 8.0.36 when neither says).
static VERSION: AtomicU32 = AtomicU32::new(80036);
static MARIADB: AtomicBool = AtomicBool::new(false);

/// Parse `8.0.36`, `5.7.44-log` or `10.11.19-MariaDB-0+deb12u1`.
pub fn parse_server_version(v: &str) -> Option<(u32, bool)> {
    let mariadb = v.to_ascii_lowercase().contains("mariadb");
    let head = v.trim().split(['-', ' ']).next()?;
    let mut p = head.split('.').map(|x| x.parse::<u32>().ok());
    let (a, b, c) = (
        p.next()??,
        p.next().flatten().unwrap_or(0),
        p.next().flatten().unwrap_or(0),
    );
    Some((a * 10_000 + b * 100 + c, mariadb))
}

static EXPLICIT: AtomicBool = AtomicBool::new(false);

/// The server version given on the command line; the dump's header then does not
/// change it.
pub fn set_dialect(version: u32, mariadb: bool) {
    VERSION.store(version, Ordering::Relaxed);
    MARIADB.store(mariadb, Ordering::Relaxed);
    EXPLICIT.store(true, Ordering::Relaxed);
}

/// The dump's own `-- Server version` line, unless one was given explicitly.
pub fn dialect_from_header(v: &str) {
    if !EXPLICIT.load(Ordering::Relaxed) {
        if let Some((n, m)) = parse_server_version(v) {
            VERSION.store(n, Ordering::Relaxed);
            MARIADB.store(m, Ordering::Relaxed);
        }
    }
}

/// Whether a versioned comment numbered `n` is read as SQL. MySQL reads
/// `/*!NNNNN` up to its version; MariaDB also reads its own `/*M!NNNNNN`, but not
/// the MySQL 5.7+ comments numbered 50700..99999 (so `/*!50705 ...*/` is skipped).
fn includes(n: u32, mariadb_comment: bool) -> bool {
    let version = VERSION.load(Ordering::Relaxed);
    if MARIADB.load(Ordering::Relaxed) {
        n <= version && !(50_700..100_000).contains(&n)
    } else {
        !mariadb_comment && n < 100_000 && n <= version
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    Word(&'a str),
    /// `` `name` ``
    Name(String),
    /// A string literal's bytes, escapes undone.
    Str(Cow<'a, [u8]>),
    /// `0x0A0B` or `X'0A0B'`
    Hex(Vec<u8>),
    /// `b'0101'` or `0b0101`, as an unsigned number.
    Bits(u64),
    Num(&'a str),
    Punct(u8),
    Eof,
}

pub struct Lexer<'a> {
    s: &'a [u8],
    pub i: usize,
    in_versioned: bool,
    no_backslash: bool,
    /// Line of `s[0]`.
    base_line: u64,
    /// A position whose line is known, so that counting lines stays linear.
    known: std::cell::Cell<(usize, u64)>,
}

fn unescape(body: &[u8], quote: u8, no_backslash: bool) -> Cow<'_, [u8]> {
    if !body.contains(&b'\\') && !body.windows(2).any(|w| w[0] == quote && w[1] == quote) {
        return Cow::Borrowed(body);
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let c = body[i];
        if c == b'\\' && !no_backslash && i + 1 < body.len() {
            let n = body[i + 1];
            match n {
                b'0' => out.push(0),
                b'b' => out.push(8),
                b'n' => out.push(b'\n'),
                b'r' => out.push(b'\r'),
                b't' => out.push(b'\t'),
                b'Z' => out.push(26),
                b'%' | b'_' => out.extend_from_slice(&[b'\\', n]),
                other => out.push(other),
            }
            i += 2;
        } else if c == quote && body.get(i + 1) == Some(&quote) {
            out.push(quote);
            i += 2;
        } else {
            out.push(c);
            i += 1;
        }
    }
    Cow::Owned(out)
}

impl<'a> Lexer<'a> {
    pub fn new(s: &'a [u8], no_backslash: bool, base_line: u64) -> Self {
        Lexer {
            s,
            i: 0,
            in_versioned: false,
            no_backslash,
            base_line,
            known: std::cell::Cell::new((0, base_line)),
        }
    }

    /// The line of the current position.
    pub fn line(&self) -> u64 {
        let at = self.i.min(self.s.len());
        let (mut from, mut line) = self.known.get();
        if at < from {
            (from, line) = (0, self.base_line);
        }
        line += self.s[from..at].iter().filter(|&&b| b == b'\n').count() as u64;
        self.known.set((at, line));
        line
    }

    fn skip_space(&mut self) {
        loop {
            while self.i < self.s.len() && self.s[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            let rest = &self.s[self.i..];
            if rest.starts_with(b"/*!") || rest.starts_with(b"/*M!") {
                let start = self.i + if rest[2] == b'!' { 3 } else { 4 };
                let mut j = start;
                while j < self.s.len() && self.s[j].is_ascii_digit() {
                    j += 1;
                }
                let version: u32 = std::str::from_utf8(&self.s[start..j])
                    .ok()
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                if includes(version, rest[2] == b'M') {
                    self.i = j;
                    self.in_versioned = true;
                } else {
                    self.i = find(self.s, self.i + 2, b"*/").map_or(self.s.len(), |e| e + 2);
                }
                continue;
            }
            if rest.starts_with(b"/*") {
                self.i = find(self.s, self.i + 2, b"*/").map_or(self.s.len(), |e| e + 2);
                continue;
            }
            if self.in_versioned && rest.starts_with(b"*/") {
                self.in_versioned = false;
                self.i += 2;
                continue;
            }
            if rest.starts_with(b"#")
                || (rest.starts_with(b"--") && rest.get(2).is_none_or(|b| b.is_ascii_whitespace()))
            {
                while self.i < self.s.len() && self.s[self.i] != b'\n' {
                    self.i += 1;
                }
                continue;
            }
            return;
        }
    }

    pub fn peek(&mut self) -> Tok<'a> {
        let save = (self.i, self.in_versioned);
        let t = self.next();
        (self.i, self.in_versioned) = save;
        t
    }

    pub fn next(&mut self) -> Tok<'a> {
        self.skip_space();
        let s = self.s;
        let Some(&c) = s.get(self.i) else {
            return Tok::Eof;
        };
        let start = self.i;
        // Hex and bit literals.
        if (c == b'x' || c == b'X' || c == b'b' || c == b'B') && s.get(start + 1) == Some(&b'\'') {
            let end = find(s, start + 2, b"'").unwrap_or(s.len());
            let body = std::str::from_utf8(&s[start + 2..end]).unwrap_or("");
            self.i = (end + 1).min(s.len());
            return if c == b'x' || c == b'X' {
                Tok::Hex(lightning_core::value::decode_hex(body).unwrap_or_default())
            } else {
                Tok::Bits(
                    u64::from_str_radix(if body.is_empty() { "0" } else { body }, 2).unwrap_or(0),
                )
            };
        }
        if c == b'0' && matches!(s.get(start + 1), Some(b'x' | b'b')) {
            let mut j = start + 2;
            while j < s.len() && s[j].is_ascii_hexdigit() {
                j += 1;
            }
            let body = std::str::from_utf8(&s[start + 2..j]).unwrap_or("");
            self.i = j;
            if s[start + 1] == b'x' {
                let padded = if body.len() % 2 == 1 {
                    format!("0{body}")
                } else {
                    body.to_string()
                };
                return Tok::Hex(lightning_core::value::decode_hex(&padded).unwrap_or_default());
            }
            return Tok::Bits(u64::from_str_radix(body, 2).unwrap_or(0));
        }
        if c.is_ascii_digit() || (c == b'.' && s.get(start + 1).is_some_and(u8::is_ascii_digit)) {
            let mut j = start;
            while j < s.len() && (s[j].is_ascii_digit() || s[j] == b'.') {
                j += 1;
            }
            if j < s.len() && (s[j] == b'e' || s[j] == b'E') {
                let mut k = j + 1;
                if k < s.len() && (s[k] == b'+' || s[k] == b'-') {
                    k += 1;
                }
                if k < s.len() && s[k].is_ascii_digit() {
                    while k < s.len() && s[k].is_ascii_digit() {
                        k += 1;
                    }
                    j = k;
                }
            }
            // A word that starts with digits (`1abc`) is a name.
            if j < s.len() && (s[j].is_ascii_alphabetic() || s[j] == b'_') {
                while j < s.len() && (s[j].is_ascii_alphanumeric() || s[j] == b'_' || s[j] == b'$')
                {
                    j += 1;
                }
                self.i = j;
                return Tok::Word(std::str::from_utf8(&s[start..j]).unwrap_or(""));
            }
            self.i = j;
            return Tok::Num(std::str::from_utf8(&s[start..j]).unwrap_or("0"));
        }
        if c == b'\'' || c == b'"' || c == b'`' {
            let mut j = start + 1;
            while j < s.len() {
                let b = s[j];
                if b == b'\\' && c != b'`' && !self.no_backslash {
                    j += 2;
                    continue;
                }
                if b == c {
                    if s.get(j + 1) == Some(&c) {
                        j += 2;
                        continue;
                    }
                    break;
                }
                j += 1;
            }
            let body = &s[start + 1..j.min(s.len())];
            self.i = (j + 1).min(s.len());
            if c == b'`' {
                return Tok::Name(String::from_utf8_lossy(body).replace("``", "`"));
            }
            return Tok::Str(unescape(body, c, self.no_backslash));
        }
        if c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c == b'@' || c >= 0x80 {
            let mut j = start + 1;
            while j < s.len()
                && (s[j].is_ascii_alphanumeric() || s[j] == b'_' || s[j] == b'$' || s[j] >= 0x80)
            {
                j += 1;
            }
            self.i = j;
            return Tok::Word(std::str::from_utf8(&s[start..j]).unwrap_or(""));
        }
        self.i += 1;
        Tok::Punct(c)
    }

    /// Next token is the word `w` (any case): consume it.
    pub fn eat_word(&mut self, w: &str) -> bool {
        if matches!(self.peek(), Tok::Word(x) if x.eq_ignore_ascii_case(w)) {
            self.next();
            true
        } else {
            false
        }
    }

    pub fn eat_punct(&mut self, p: u8) -> bool {
        if self.peek() == Tok::Punct(p) {
            self.next();
            true
        } else {
            false
        }
    }

    /// A name: bare word or quoted; `db.table` gives `table`.
    pub fn name(&mut self) -> Option<String> {
        let mut n = match self.next() {
            Tok::Word(w) => w.to_string(),
            Tok::Name(n) => n,
            Tok::Str(s) => String::from_utf8_lossy(&s).into_owned(),
            _ => return None,
        };
        while self.peek() == Tok::Punct(b'.') {
            self.next();
            n = match self.next() {
                Tok::Word(w) => w.to_string(),
                Tok::Name(x) => x,
                _ => return None,
            };
        }
        Some(n)
    }

    /// Skip a balanced parenthesised group whose `(` was just read; returns its
    /// inner text.
    pub fn group(&mut self) -> String {
        let start = self.i;
        let mut depth = 1;
        loop {
            match self.next() {
                Tok::Punct(b'(') => depth += 1,
                Tok::Punct(b')') => {
                    depth -= 1;
                    if depth == 0 {
                        let end = self.i - 1;
                        return String::from_utf8_lossy(&self.s[start..end])
                            .trim()
                            .to_string();
                    }
                }
                Tok::Eof => return String::from_utf8_lossy(&self.s[start..]).trim().to_string(),
                _ => {}
            }
        }
    }
}

pub fn find(hay: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from >= hay.len() {
        return None;
    }
    hay[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| p + from)
}

/// The statement as plain SQL: versioned comments that apply unwrapped, the others
/// and plain comments removed (for DDL and manual-work definitions).
pub fn plain_sql(s: &[u8]) -> String {
    let mut out = String::new();
    let mut lx = Lexer::new(s, false, 1);
    let mut last = 0;
    loop {
        lx.skip_space();
        let before = lx.i;
        if before > last && !out.is_empty() {
            out.push(' ');
        }
        let t = lx.next();
        if t == Tok::Eof {
            break;
        }
        out.push_str(&String::from_utf8_lossy(&s[before..lx.i]));
        last = lx.i;
    }
    out.trim_end().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_versions_parse() {
        assert_eq!(
            parse_server_version("10.11.19-MariaDB-0+deb12u1"),
            Some((101119, true))
        );
        assert_eq!(parse_server_version("8.0.36"), Some((80036, false)));
    }

    #[test]
    fn strings_hex_and_versioned_comments() {
        let s = br"INSERT INTO `t` VALUES (1,'it\'s ''x''\n',0x00FF,_binary 'a\0b',/*!50705 b'101',*//*!999999 7,*/-2.5e3)";
        let mut lx = Lexer::new(s, false, 1);
        let mut toks = Vec::new();
        loop {
            let t = lx.next();
            if t == Tok::Eof {
                break;
            }
            toks.push(t);
        }
        assert!(toks.contains(&Tok::Str(Cow::Owned(b"it's 'x'\n".to_vec()))));
        assert!(toks.contains(&Tok::Hex(vec![0, 255])));
        assert!(toks.contains(&Tok::Str(Cow::Owned(b"a\0b".to_vec()))));
        assert!(toks.contains(&Tok::Bits(5)), "MySQL 8 reads /*!50705");
        assert!(!toks.contains(&Tok::Num("7")));
        assert!(toks.contains(&Tok::Num("2.5e3")));
        assert_eq!(
            plain_sql(b"/*!40001 CREATE ALGORITHM=UNDEFINED */ /*!50013 DEFINER=`r`@`%` */ /*!50001 VIEW `v` AS select 1 */"),
            "CREATE ALGORITHM=UNDEFINED DEFINER=`r`@`%` VIEW `v` AS select 1"
        );
    }
}
