//! Reading the script: whole lines (UTF-8 checked, counted, optionally copied to a
//! spool file), statements split the way psql splits them, and the tokens of one
//! statement.

use std::io::{BufRead, Write};

use super::DumpError;

/// Reads the input one line at a time into a reused buffer, knowing each line's
/// number and byte offset.
pub(crate) struct LineReader<'w, R> {
    input: R,
    tee: Option<&'w mut dyn Write>,
    line: String,
    number: u64,
    offset: u64,
    next_offset: u64,
}

impl<'w, R: BufRead> LineReader<'w, R> {
    /// `offset` and `first_line` say where `input` starts in the dump.
    pub(crate) fn new(
        input: R,
        tee: Option<&'w mut dyn Write>,
        offset: u64,
        first_line: u64,
    ) -> Self {
        LineReader {
            input,
            tee,
            line: String::new(),
            number: first_line.saturating_sub(1),
            offset,
            next_offset: offset,
        }
    }

    /// The current line, with its line end.
    pub(crate) fn line(&self) -> &str {
        &self.line
    }

    /// The current line's number (after the end: the last line's).
    pub(crate) fn number(&self) -> u64 {
        self.number
    }

    /// The byte offset just after the current line.
    pub(crate) fn next_offset(&self) -> u64 {
        self.next_offset
    }

    /// Read the next line; false at the end of the input.
    pub(crate) fn advance(&mut self) -> Result<bool, DumpError> {
        let mut buf = std::mem::take(&mut self.line).into_bytes();
        buf.clear();
        let number = self.number + 1;
        let read = self
            .input
            .read_until(b'\n', &mut buf)
            .map_err(|e| DumpError::new(number, format!("cannot read the dump: {e}")))?;
        self.offset = self.next_offset;
        if read == 0 {
            self.line = String::from_utf8(buf).unwrap_or_default();
            return Ok(false);
        }
        self.number = number;
        self.next_offset += read as u64;
        if let Some(tee) = self.tee.as_mut() {
            tee.write_all(&buf).map_err(|e| {
                DumpError::new(
                    number,
                    format!("cannot copy the dump to the spool file: {e}"),
                )
            })?;
        }
        if self.offset == 0 {
            if let Some(message) = foreign_format(&buf) {
                return Err(DumpError::new(number, message));
            }
        }
        match String::from_utf8(buf) {
            Ok(line) => {
                self.line = line;
                Ok(true)
            }
            Err(e) => Err(not_utf8(number, e.as_bytes(), e.utf8_error().valid_up_to())),
        }
    }
}

/// Inputs that are a dump, but not a plain one: say how to get the plain one.
fn foreign_format(first: &[u8]) -> Option<String> {
    let what = if first.starts_with(b"PGDMP") {
        "a pg_dump custom-format archive: convert it to a plain script with `pg_restore -f dump.sql ARCHIVE` (or pipe `pg_restore -f - ARCHIVE`)"
    } else if first.starts_with(b"toc.dat") {
        "a pg_dump tar-format archive: convert it to a plain script with `pg_restore -f dump.sql ARCHIVE`"
    } else if first.starts_with(&[0x1f, 0x8b]) {
        "gzip-compressed: decompress it first (`gunzip -c dump.sql.gz | ...`)"
    } else if first.starts_with(&[0x28, 0xb5, 0x2f, 0xfd]) {
        "zstd-compressed: decompress it first (`zstd -dc dump.sql.zst | ...`)"
    } else if first.starts_with(&[0x04, 0x22, 0x4d, 0x18]) {
        "lz4-compressed: decompress it first (`lz4 -dc dump.sql.lz4 | ...`)"
    } else {
        return None;
    };
    Some(format!("the input is {what}"))
}

fn not_utf8(line: u64, bytes: &[u8], valid: usize) -> DumpError {
    let column = std::str::from_utf8(&bytes[..valid]).map_or(valid, |s| s.chars().count()) + 1;
    DumpError::new(
        line,
        format!(
            "invalid UTF-8 (byte 0x{:02X} at character {column}): the dump must be UTF-8; \
             dump the database again with `pg_dump -E UTF8`",
            bytes[valid]
        ),
    )
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Normal,
    /// Inside `/* */`, nested this deep.
    Comment(u32),
    /// Inside '...'; `backslash`: E'...' (or standard_conforming_strings off).
    Quote {
        backslash: bool,
    },
    /// Inside "...".
    Ident,
    /// Inside a dollar quote whose tag is `Lexer::tag`.
    Dollar,
}

/// Splits the script into statements the way psql does: at `;` outside quotes,
/// comments, parentheses and `BEGIN ... END` bodies of SQL-standard routines.
/// psql meta-command lines (`\connect`, `\restrict`, ...) are skipped.
pub(crate) struct Lexer<'w, R> {
    pub(crate) lines: LineReader<'w, R>,
    /// Position in the current line of the next byte to lex.
    pos: usize,
    text: String,
    started: bool,
    line: u64,
    offset: u64,
    state: State,
    tag: String,
    parens: u32,
    begins: u32,
    words: u32,
    head: [u8; 4],
    /// `standard_conforming_strings`: '...' has no backslash escapes.
    pub(crate) standard_strings: bool,
    /// The script began with pg_dump's `-- PostgreSQL database dump` comment.
    pub(crate) saw_header: bool,
    /// pg_dump's closing comment came after the last statement.
    pub(crate) complete: bool,
    seen_statement: bool,
}

impl<'w, R: BufRead> Lexer<'w, R> {
    pub(crate) fn new(lines: LineReader<'w, R>, standard_strings: bool) -> Self {
        Lexer {
            lines,
            pos: 0,
            text: String::new(),
            started: false,
            line: 0,
            offset: 0,
            state: State::Normal,
            tag: String::new(),
            parens: 0,
            begins: 0,
            words: 0,
            head: [0; 4],
            standard_strings,
            saw_header: false,
            complete: false,
            seen_statement: false,
        }
    }

    /// The last statement, without its `;`.
    pub(crate) fn text(&self) -> &str {
        &self.text
    }

    /// The line the last statement starts on.
    pub(crate) fn line(&self) -> u64 {
        self.line
    }

    /// The byte offset of the last statement's first character.
    pub(crate) fn offset(&self) -> u64 {
        self.offset
    }

    /// Drop the rest of the current line (after `COPY ... FROM stdin;` and its data).
    pub(crate) fn skip_line(&mut self) {
        self.pos = self.lines.line().len();
    }

    /// Read the next statement; false at the end of the script.
    pub(crate) fn next_statement(&mut self) -> Result<bool, DumpError> {
        self.text.clear();
        self.started = false;
        self.parens = 0;
        self.begins = 0;
        self.words = 0;
        self.head = [0; 4];
        loop {
            if self.pos >= self.lines.line().len() {
                if !self.lines.advance()? {
                    return self.at_end();
                }
                self.pos = 0;
            }
            let line = std::mem::take(&mut self.lines.line);
            let done = self.scan(&line);
            self.lines.line = line;
            if done {
                return Ok(true);
            }
        }
    }

    fn at_end(&self) -> Result<bool, DumpError> {
        let end = self.lines.number();
        if self.started {
            let inside = match self.state {
                State::Quote { .. } => " (inside a string)",
                State::Ident => " (inside a quoted name)",
                State::Dollar => " (inside a dollar-quoted body)",
                State::Comment(_) => " (inside a comment)",
                State::Normal => "",
            };
            return Err(DumpError::new(
                end,
                format!(
                    "the dump ends inside the statement that starts at line {}{inside}: \
                     it is truncated; dump the database again",
                    self.line
                ),
            ));
        }
        if self.state != State::Normal {
            return Err(DumpError::new(
                end,
                "the dump ends inside a /* comment */: it is truncated; dump the database again",
            ));
        }
        Ok(false)
    }

    /// Lex the current line from `pos`; true when a statement ended in it.
    fn scan(&mut self, line: &str) -> bool {
        let b = line.as_bytes();
        let n = b.len();
        let mut i = self.pos;
        let mut seg = i;
        while i < n {
            let c = b[i];
            let next = b.get(i + 1).copied().unwrap_or(0);
            match self.state {
                State::Comment(depth) => {
                    if c == b'/' && next == b'*' {
                        self.state = State::Comment(depth + 1);
                        i += 2;
                    } else if c == b'*' && next == b'/' {
                        self.state = if depth == 1 {
                            State::Normal
                        } else {
                            State::Comment(depth - 1)
                        };
                        i += 2;
                    } else {
                        i += 1;
                    }
                }
                State::Quote { backslash } => {
                    // Most of a long value is plain text: jump to the next quote or backslash.
                    let special = |x: &u8| *x == b'\'' || (backslash && *x == b'\\');
                    if !special(&c) {
                        i = b[i..].iter().position(special).map_or(n, |k| i + k);
                    } else if backslash && c == b'\\' {
                        i += 2;
                    } else if c == b'\'' {
                        if next == b'\'' {
                            i += 2;
                        } else {
                            self.state = State::Normal;
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                State::Ident => {
                    if c == b'"' {
                        if next == b'"' {
                            i += 2;
                        } else {
                            self.state = State::Normal;
                            i += 1;
                        }
                    } else {
                        i += 1;
                    }
                }
                State::Dollar => {
                    // A `$` byte is never inside a multi-byte character: slicing is safe.
                    if c == b'$' && line[i..].starts_with(self.tag.as_str()) {
                        i += self.tag.len();
                        self.state = State::Normal;
                    } else {
                        i += 1;
                    }
                }
                State::Normal => {
                    if !self.started {
                        if c.is_ascii_whitespace() {
                            i += 1;
                            continue;
                        }
                        if self.lines.offset == 0 && i == 0 && line.starts_with('\u{feff}') {
                            // A byte order mark, left by an editor.
                            i += '\u{feff}'.len_utf8();
                            continue;
                        }
                        if c == b'-' && next == b'-' {
                            self.note_comment(&line[i..]);
                            i = n;
                            continue;
                        }
                        if c == b'/' && next == b'*' {
                            self.state = State::Comment(1);
                            i += 2;
                            continue;
                        }
                        if c == b'\\' {
                            // A psql meta-command: \connect, \restrict, \unrestrict, ...
                            i = n;
                            continue;
                        }
                        self.started = true;
                        self.seen_statement = true;
                        self.complete = false;
                        self.line = self.lines.number;
                        self.offset = self.lines.offset + i as u64;
                        seg = i;
                    }
                    match c {
                        b'-' if next == b'-' => i = n,
                        b'/' if next == b'*' => {
                            self.state = State::Comment(1);
                            i += 2;
                        }
                        b'\'' => {
                            let e_string = i > 0
                                && matches!(b[i - 1], b'E' | b'e')
                                && (i < 2 || !is_ident_byte(b[i - 2]));
                            self.state = State::Quote {
                                backslash: e_string || !self.standard_strings,
                            };
                            i += 1;
                        }
                        b'"' => {
                            self.state = State::Ident;
                            i += 1;
                        }
                        b'$' => {
                            let in_word = i > 0 && is_ident_byte(b[i - 1]);
                            match dollar_tag(&b[i..]) {
                                Some(len) if !in_word => {
                                    self.tag.clear();
                                    self.tag.push_str(&line[i..i + len]);
                                    self.state = State::Dollar;
                                    i += len;
                                }
                                _ => i += 1,
                            }
                        }
                        b'(' => {
                            self.parens += 1;
                            i += 1;
                        }
                        b')' => {
                            self.parens = self.parens.saturating_sub(1);
                            i += 1;
                        }
                        b';' if self.parens == 0 && self.begins == 0 => {
                            self.text.push_str(&line[seg..i]);
                            let len = self.text.trim_end().len();
                            self.text.truncate(len);
                            self.pos = i + 1;
                            return true;
                        }
                        _ if is_ident_start(c) && (i == 0 || !is_ident_byte(b[i - 1])) => {
                            let end = b[i..]
                                .iter()
                                .position(|&x| !is_ident_byte(x))
                                .map_or(n, |k| i + k);
                            self.word(&b[i..end]);
                            i = end;
                        }
                        _ => i += 1,
                    }
                }
            }
        }
        if self.started {
            self.text.push_str(&line[seg..]);
        }
        self.pos = n;
        false
    }

    /// psql's heuristic for `BEGIN ATOMIC ... END` bodies: inside
    /// `CREATE [OR REPLACE] {FUNCTION|PROCEDURE}`, BEGIN (and CASE within it) opens
    /// a block that END closes, and `;` inside one does not end the statement.
    fn word(&mut self, w: &[u8]) {
        let is = |s: &str| w.eq_ignore_ascii_case(s.as_bytes());
        let k = self.words as usize;
        if k < self.head.len()
            && (is("create") || is("function") || is("procedure") || is("or") || is("replace"))
        {
            self.head[k] = w[0].to_ascii_lowercase();
        }
        self.words += 1;
        let h = self.head;
        let routine = h[0] == b'c'
            && (h[1] == b'f'
                || h[1] == b'p'
                || (h[1] == b'o' && h[2] == b'r' && (h[3] == b'f' || h[3] == b'p')));
        if routine && self.parens == 0 {
            if is("begin") {
                self.begins += 1;
            } else if is("case") {
                if self.begins >= 1 {
                    self.begins += 1;
                }
            } else if is("end") && self.begins > 0 {
                self.begins -= 1;
            }
        }
    }

    fn note_comment(&mut self, comment: &str) {
        let comment = comment.trim_end();
        if comment == "-- PostgreSQL database dump complete" {
            self.complete = true;
        } else if comment == "-- PostgreSQL database dump" && !self.seen_statement {
            self.saw_header = true;
        }
    }
}

fn is_ident_start(c: u8) -> bool {
    c.is_ascii_alphabetic() || c == b'_' || c >= 0x80
}

fn is_ident_byte(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'_' || c == b'$' || c >= 0x80
}

/// The length of the `$tag$` at the start of `b`, if it is one.
fn dollar_tag(b: &[u8]) -> Option<usize> {
    match b.get(1) {
        Some(b'$') => Some(2),
        Some(&c) if is_ident_start(c) => {
            let len = b[1..]
                .iter()
                .position(|&x| !(is_ident_byte(x) && x != b'$'))
                .map_or(b.len(), |k| k + 1);
            (b.get(len) == Some(&b'$')).then_some(len + 1)
        }
        _ => None,
    }
}

/// What a token is; its text is `&statement[start..end]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// A keyword or unquoted name.
    Word,
    /// A "quoted name".
    Quoted,
    /// A string constant, with its prefix if any: 'x', E'x', B'0', X'1F', N'x'.
    Str,
    /// A dollar-quoted string.
    Dollar,
    Number,
    /// `$1`.
    Param,
    /// An operator, including `::`.
    Op,
    /// `( ) [ ] , ; . :` and anything else on its own.
    Punct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) kind: Kind,
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Token {
    pub(crate) fn text(self, s: &str) -> &str {
        &s[self.start..self.end]
    }
}

/// The tokens of one statement, skipping white space and comments.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Tokens<'a> {
    s: &'a str,
    pub(crate) pos: usize,
    standard_strings: bool,
}

impl<'a> Tokens<'a> {
    pub(crate) fn new(s: &'a str, standard_strings: bool) -> Self {
        Self::at(s, 0, standard_strings)
    }

    pub(crate) fn at(s: &'a str, pos: usize, standard_strings: bool) -> Self {
        Tokens {
            s,
            pos,
            standard_strings,
        }
    }

    fn skip_space(&mut self) -> Result<(), String> {
        let b = self.s.as_bytes();
        loop {
            while self.pos < b.len() && b[self.pos].is_ascii_whitespace() {
                self.pos += 1;
            }
            if b[self.pos..].starts_with(b"--") {
                self.pos = b[self.pos..]
                    .iter()
                    .position(|&c| c == b'\n')
                    .map_or(b.len(), |k| self.pos + k);
            } else if b[self.pos..].starts_with(b"/*") {
                let mut depth = 0u32;
                loop {
                    if b[self.pos..].starts_with(b"/*") {
                        depth += 1;
                        self.pos += 2;
                    } else if b[self.pos..].starts_with(b"*/") {
                        depth -= 1;
                        self.pos += 2;
                        if depth == 0 {
                            break;
                        }
                    } else if self.pos >= b.len() {
                        return Err("a /* comment */ is not closed".into());
                    } else {
                        self.pos += 1;
                    }
                }
            } else {
                return Ok(());
            }
        }
    }

    pub(crate) fn next_token(&mut self) -> Result<Option<Token>, String> {
        self.skip_space()?;
        let b = self.s.as_bytes();
        let start = self.pos;
        let Some(&c) = b.get(start) else {
            return Ok(None);
        };
        let at = |k: usize| b.get(start + k).copied().unwrap_or(0);
        let kind = match c {
            b'\'' => {
                self.string(start, !self.standard_strings)?;
                Kind::Str
            }
            b'E' | b'e' if at(1) == b'\'' => {
                self.string(start + 1, true)?;
                Kind::Str
            }
            b'B' | b'b' | b'X' | b'x' | b'N' | b'n' if at(1) == b'\'' => {
                self.string(start + 1, !self.standard_strings)?;
                Kind::Str
            }
            b'U' | b'u' if at(1) == b'&' && at(2) == b'\'' => {
                self.string(start + 2, false)?;
                Kind::Str
            }
            b'U' | b'u' if at(1) == b'&' && at(2) == b'"' => {
                self.quoted(start + 2)?;
                Kind::Quoted
            }
            b'"' => {
                self.quoted(start)?;
                Kind::Quoted
            }
            b'$' if at(1).is_ascii_digit() => {
                self.pos = b[start + 1..]
                    .iter()
                    .position(|x| !x.is_ascii_digit())
                    .map_or(b.len(), |k| start + 1 + k);
                Kind::Param
            }
            b'$' => match dollar_tag(&b[start..]) {
                Some(len) => {
                    let tag = &self.s[start..start + len];
                    let body = start + len;
                    let close = self.s[body..]
                        .find(tag)
                        .ok_or_else(|| format!("the dollar quote {tag} is not closed"))?;
                    self.pos = body + close + len;
                    Kind::Dollar
                }
                None => {
                    self.pos += 1;
                    Kind::Op
                }
            },
            _ if is_ident_start(c) => {
                self.pos = b[start..]
                    .iter()
                    .position(|&x| !is_ident_byte(x))
                    .map_or(b.len(), |k| start + k);
                Kind::Word
            }
            _ if c.is_ascii_digit() || (c == b'.' && at(1).is_ascii_digit()) => {
                self.number(start);
                Kind::Number
            }
            b':' if at(1) == b':' => {
                self.pos += 2;
                Kind::Op
            }
            _ if is_op_byte(c) => {
                let mut end = start;
                while end < b.len()
                    && is_op_byte(b[end])
                    && !(end > start
                        && (b[end..].starts_with(b"--") || b[end..].starts_with(b"/*")))
                {
                    end += 1;
                }
                self.pos = end;
                Kind::Op
            }
            _ => {
                // One character, whole even when not ASCII.
                self.pos += self.s[start..].chars().next().map_or(1, char::len_utf8);
                Kind::Punct
            }
        };
        Ok(Some(Token {
            kind,
            start,
            end: self.pos,
        }))
    }

    /// Past the '...' whose opening quote is at `quote`.
    fn string(&mut self, quote: usize, backslash: bool) -> Result<(), String> {
        let b = self.s.as_bytes();
        let mut i = quote + 1;
        loop {
            let special = |x: &u8| *x == b'\'' || (backslash && *x == b'\\');
            i = b[i.min(b.len())..]
                .iter()
                .position(special)
                .map_or(b.len(), |k| i + k);
            match b.get(i) {
                None => return Err("a string constant is not closed".into()),
                Some(b'\\') if backslash => i += 2,
                Some(b'\'') if b.get(i + 1) == Some(&b'\'') => i += 2,
                Some(b'\'') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(())
    }

    /// Past the "..." whose opening quote is at `quote`.
    fn quoted(&mut self, quote: usize) -> Result<(), String> {
        let b = self.s.as_bytes();
        let mut i = quote + 1;
        loop {
            match b.get(i) {
                None => return Err("a quoted name is not closed".into()),
                Some(b'"') if b.get(i + 1) == Some(&b'"') => i += 2,
                Some(b'"') => break,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        Ok(())
    }

    fn number(&mut self, start: usize) {
        let b = self.s.as_bytes();
        let mut i = start;
        while i < b.len() {
            let c = b[i];
            let exponent_sign = matches!(c, b'+' | b'-')
                && matches!(b[i - 1], b'e' | b'E')
                && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if !(c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || exponent_sign) {
                break;
            }
            i += 1;
        }
        self.pos = i;
    }
}

fn is_op_byte(c: u8) -> bool {
    b"+-*/<>=~!@#%^&|`?".contains(&c)
}

/// All the tokens of a statement.
pub(crate) fn tokenize(s: &str, standard_strings: bool) -> Result<Vec<Token>, String> {
    let mut tokens = Tokens::new(s, standard_strings);
    let mut out = Vec::new();
    while let Some(t) = tokens.next_token()? {
        out.push(t);
    }
    Ok(out)
}

/// The name a Word or Quoted token stands for: unquoted names fold to lower case.
pub(crate) fn ident_value(s: &str, t: Token) -> Option<String> {
    match t.kind {
        Kind::Word => Some(t.text(s).to_ascii_lowercase()),
        Kind::Quoted => {
            let text = t.text(s);
            let inner = &text[text.find('"')? + 1..text.len() - 1];
            Some(inner.replace("\"\"", "\""))
        }
        _ => None,
    }
}

/// The value of a string constant token, as PostgreSQL reads it.
pub(crate) fn string_value(text: &str, standard_strings: bool) -> Result<String, String> {
    let quote = text.find('\'').ok_or("not a string constant")?;
    let (prefix, body) = text.split_at(quote);
    let inner = &body[1..body.len() - 1];
    match prefix {
        "" | "N" | "n" if standard_strings => Ok(if inner.contains('\'') {
            inner.replace("''", "'")
        } else {
            inner.to_string()
        }),
        "" | "N" | "n" | "E" | "e" => backslash_string(inner),
        "B" | "b" => {
            if inner.bytes().all(|c| c == b'0' || c == b'1') {
                Ok(inner.to_string())
            } else {
                Err(format!("{text} is not a valid bit string"))
            }
        }
        "X" | "x" => inner
            .chars()
            .map(|c| {
                c.to_digit(16)
                    .map(|d| format!("{d:04b}"))
                    .ok_or_else(|| format!("{text} is not a valid hexadecimal bit string"))
            })
            .collect(),
        _ => Err(format!(
            "{prefix}'...' string constants are not supported; dump with plain strings"
        )),
    }
}

/// The body of an E'...' string: backslash escapes as PostgreSQL reads them.
fn backslash_string(inner: &str) -> Result<String, String> {
    let b = inner.as_bytes();
    let mut out: Vec<u8> = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'\'' {
            // '' inside the string.
            out.push(b'\'');
            i += 2;
            continue;
        }
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        let Some(&e) = b.get(i + 1) else {
            return Err("a string constant ends with a lone backslash".into());
        };
        i += 2;
        match e {
            b'b' => out.push(8),
            b'f' => out.push(12),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b't' => out.push(b'\t'),
            b'0'..=b'7' => {
                let mut v = u32::from(e - b'0');
                for _ in 0..2 {
                    match b.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push((v & 0xff) as u8);
            }
            b'x' if b.get(i).is_some_and(u8::is_ascii_hexdigit) => {
                let len = if b.get(i + 1).is_some_and(u8::is_ascii_hexdigit) {
                    2
                } else {
                    1
                };
                let v = u8::from_str_radix(&inner[i..i + len], 16).map_err(|e| e.to_string())?;
                out.push(v);
                i += len;
            }
            b'u' | b'U' => {
                let len = if e == b'u' { 4 } else { 8 };
                let hex = inner
                    .get(i..i + len)
                    .filter(|h| h.bytes().all(|c| c.is_ascii_hexdigit()))
                    .ok_or("an invalid \\u escape in a string constant")?;
                let ch = u32::from_str_radix(hex, 16)
                    .ok()
                    .and_then(char::from_u32)
                    .ok_or("an invalid \\u escape in a string constant")?;
                let mut buf = [0; 4];
                out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                i += len;
            }
            other => out.push(other),
        }
    }
    if out.contains(&0) {
        return Err("a string constant holds a NUL byte, which PostgreSQL text cannot hold".into());
    }
    String::from_utf8(out)
        .map_err(|_| "a string constant's escapes decode to invalid UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn statements(script: &str) -> Vec<(u64, u64, String)> {
        let lines = LineReader::new(script.as_bytes(), None, 0, 1);
        let mut lexer = Lexer::new(lines, true);
        let mut out = Vec::new();
        while lexer.next_statement().unwrap() {
            out.push((lexer.line(), lexer.offset(), lexer.text().to_string()));
        }
        out
    }

    #[test]
    fn splits_at_semicolons_outside_quotes_and_comments() {
        let script = "-- a comment; still\nSET a = 1; SET b = 'x;''y';\n/* c; /* nested; */ */\n\
                      CREATE TABLE \"we;ird\" (a int) -- trailing; comment\n;\n";
        let got = statements(script);
        assert_eq!(got.len(), 3);
        assert_eq!(got[0], (2, 20, "SET a = 1".to_string()));
        assert_eq!(got[1].0, 2);
        assert_eq!(got[1].1, 31);
        assert_eq!(got[1].2, "SET b = 'x;''y'");
        assert_eq!(got[2].0, 4);
        assert_eq!(
            got[2].2,
            "CREATE TABLE \"we;ird\" (a int) -- trailing; comment"
        );
        // The offset points at the statement's first byte.
        assert_eq!(&script[got[2].1 as usize..][..12], "CREATE TABLE");
    }

    #[test]
    fn dollar_quotes_and_e_strings() {
        let script = "CREATE FUNCTION f() RETURNS int AS $_$ select 1; $x$ ; $x$ $_$;\n\
                      SELECT E'it\\'s; fine', 'a\\';\n\
                      CREATE FUNCTION g() AS $$ a; $_$ b; $$ LANGUAGE sql;\n\
                      SELECT a$b, $1;\n";
        let got = statements(script);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].2.ends_with("$x$ $_$"));
        assert_eq!(got[1].2, "SELECT E'it\\'s; fine', 'a\\'");
        assert!(got[2].2.ends_with("LANGUAGE sql"));
        assert_eq!(got[3].2, "SELECT a$b, $1");
    }

    #[test]
    fn begin_atomic_bodies_and_parenthesised_rules() {
        let script = "CREATE FUNCTION public.f(a integer) RETURNS integer\n    LANGUAGE sql\n    \
                      BEGIN ATOMIC\n SELECT CASE WHEN a > 0 THEN 1 ELSE 2 END;\n SELECT 2;\nEND;\n\
                      CREATE RULE r AS ON INSERT TO public.t DO (INSERT INTO a VALUES (1); DELETE FROM b);\n\
                      BEGIN;\nCOMMIT;\n";
        let got = statements(script);
        assert_eq!(got.len(), 4, "{got:?}");
        assert!(got[0].2.ends_with("SELECT 2;\nEND"));
        assert!(got[1].2.ends_with("DELETE FROM b)"));
        assert_eq!(got[2].2, "BEGIN");
        assert_eq!(got[3].2, "COMMIT");
    }

    #[test]
    fn meta_commands_and_markers() {
        let script = "--\n-- PostgreSQL database dump\n--\n\n\\restrict abc\n\nSET x = 1;\n\
                      \\connect db\n--\n-- PostgreSQL database dump complete\n--\n\n\\unrestrict abc\n";
        let lines = LineReader::new(script.as_bytes(), None, 0, 1);
        let mut lexer = Lexer::new(lines, true);
        assert!(lexer.next_statement().unwrap());
        assert_eq!(lexer.text(), "SET x = 1");
        assert!(!lexer.next_statement().unwrap());
        assert!(lexer.saw_header);
        assert!(lexer.complete);

        let script = "\u{feff}--\n-- PostgreSQL database dump\n--\nSET x = 1;\n";
        let lines = LineReader::new(script.as_bytes(), None, 0, 1);
        let mut lexer = Lexer::new(lines, true);
        assert!(lexer.next_statement().unwrap());
        assert_eq!((lexer.text(), lexer.line()), ("SET x = 1", 4));
        assert!(lexer.saw_header);
    }

    #[test]
    fn truncated_statement_and_invalid_utf8() {
        let lines = LineReader::new(&b"SET a = 1;\nCREATE TABLE t (\n  a int\n"[..], None, 0, 1);
        let mut lexer = Lexer::new(lines, true);
        assert!(lexer.next_statement().unwrap());
        let err = lexer.next_statement().unwrap_err();
        assert_eq!(err.line, 3);
        assert!(err.message.contains("starts at line 2"), "{err}");

        let lines = LineReader::new(&b"SET a = 1;\nSET b = '\xff';\n"[..], None, 0, 1);
        let mut lexer = Lexer::new(lines, true);
        assert!(lexer.next_statement().unwrap());
        let err = lexer.next_statement().unwrap_err();
        assert_eq!(err.line, 2);
        assert!(err.message.contains("UTF-8"), "{err}");
        assert!(err.message.contains("character 10"), "{err}");
    }

    #[test]
    fn archives_are_recognised() {
        let lines = LineReader::new(&b"PGDMP\x01\x0e\x00"[..], None, 0, 1);
        let err = Lexer::new(lines, true).next_statement().unwrap_err();
        assert!(err.message.contains("pg_restore"), "{err}");
    }

    #[test]
    fn tokens_and_values() {
        let s = "a.\"B\"\"c\"::text[] -5 1.5e-3 E'x\\n' 'it''s' $q$ $$ $q$ <= ; $1 B'01'";
        let toks = tokenize(s, true).unwrap();
        let texts: Vec<&str> = toks.iter().map(|t| t.text(s)).collect();
        assert_eq!(
            texts,
            [
                "a",
                ".",
                "\"B\"\"c\"",
                "::",
                "text",
                "[",
                "]",
                "-",
                "5",
                "1.5e-3",
                "E'x\\n'",
                "'it''s'",
                "$q$ $$ $q$",
                "<=",
                ";",
                "$1",
                "B'01'"
            ]
        );
        assert_eq!(ident_value(s, toks[2]).unwrap(), "B\"c");
        assert_eq!(ident_value(s, toks[0]).unwrap(), "a");
        assert_eq!(
            string_value("E'x\\n\\101\\x41\\u00e9\\''", true).unwrap(),
            "x\nAAé'"
        );
        assert_eq!(string_value("'it''s'", true).unwrap(), "it's");
        assert_eq!(string_value("'a\\b'", true).unwrap(), "a\\b");
        assert_eq!(string_value("'a\\tb'", false).unwrap(), "a\tb");
        assert_eq!(string_value("B'0101'", true).unwrap(), "0101");
        assert_eq!(string_value("X'1F'", true).unwrap(), "00011111");
        assert!(string_value("E'\\000'", true).is_err());
        assert!(string_value("E'\\xff'", true).is_err());
    }
}
