//! The statement splitter: reads a dump as a stream of bytes and hands out one
//! statement at a time, as the `mysql` client would split it — quotes, comments,
//! versioned comments (`/*!50705 ... */`, whose content is live SQL), and the
//! `DELIMITER` client command. Memory holds one statement (mysqldump bounds its
//! statements by `--net-buffer-length`); a statement over `MAX_STATEMENT` bytes is
//! an error rather than a way to exhaust memory.

use std::io::Read;

use super::DumpError;

pub const MAX_STATEMENT: usize = 1 << 30;

/// One statement: where it starts (for resuming and messages) and its bytes,
/// without the delimiter.
#[derive(Debug)]
pub struct Statement {
    /// Byte offset where the splitter started reading this statement.
    pub offset: u64,
    /// Line (1-based) at that offset.
    pub line: u64,
    /// Line of its first byte that is not a space or comment.
    pub first_line: u64,
    pub text: Vec<u8>,
    /// Opening parentheses at depth 0: about the number of rows of an INSERT.
    pub groups: u64,
}

/// The splitter's state that a resumed read must restore.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SplitState {
    pub delimiter: Vec<u8>,
    pub no_backslash_escapes: bool,
}

impl Default for SplitState {
    fn default() -> Self {
        SplitState {
            delimiter: b";".to_vec(),
            no_backslash_escapes: false,
        }
    }
}

pub struct Splitter<R: Read> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    len: usize,
    eof: bool,
    /// Offset in the input of `buf[0]`.
    base: u64,
    pub line: u64,
    pub state: SplitState,
    /// Stop after this offset (a range of the file).
    limit: Option<u64>,
    pub saw_header: bool,
    pub saw_completed: bool,
    /// The `-- Server version` line of a mysqldump header.
    pub server_version: Option<String>,
}

#[derive(Clone, Copy, PartialEq)]
enum St {
    Normal,
    Quote(u8),
    LineComment,
    BlockComment,
}

impl<R: Read> Splitter<R> {
    pub fn new(reader: R, offset: u64, line: u64, state: SplitState, limit: Option<u64>) -> Self {
        Splitter {
            reader,
            buf: vec![0; 1 << 20],
            pos: 0,
            len: 0,
            eof: false,
            base: offset,
            line,
            state,
            limit,
            saw_header: false,
            saw_completed: false,
            server_version: None,
        }
    }

    pub fn offset(&self) -> u64 {
        self.base + self.pos as u64
    }

    /// Make sure `n` bytes are available from `pos` (fewer at the end of input).
    fn fill(&mut self, n: usize) -> Result<(), DumpError> {
        if self.len - self.pos >= n || self.eof {
            return Ok(());
        }
        if self.pos > 0 {
            self.buf.copy_within(self.pos..self.len, 0);
            self.base += self.pos as u64;
            self.len -= self.pos;
            self.pos = 0;
        }
        while self.len < n && !self.eof {
            if self.len == self.buf.len() {
                self.buf.resize(self.buf.len() * 2, 0);
            }
            let got = self
                .reader
                .read(&mut self.buf[self.len..])
                .map_err(DumpError::Io)?;
            if got == 0 {
                self.eof = true;
            }
            self.len += got;
        }
        Ok(())
    }

    fn peek(&mut self, k: usize) -> Result<Option<u8>, DumpError> {
        self.fill(k + 1)?;
        Ok(self
            .buf
            .get(self.pos + k)
            .copied()
            .filter(|_| self.pos + k < self.len))
    }

    fn starts_with_ci(&mut self, s: &[u8]) -> Result<bool, DumpError> {
        self.fill(s.len())?;
        Ok(self.len - self.pos >= s.len()
            && self.buf[self.pos..self.pos + s.len()].eq_ignore_ascii_case(s))
    }

    /// The next statement, or `None` at the end of the input (or of the range).
    pub fn next_statement(&mut self) -> Result<Option<Statement>, DumpError> {
        'outer: loop {
            if self.limit.is_some_and(|l| self.offset() >= l) {
                return Ok(None);
            }
            let offset = self.offset();
            let line = self.line;
            let mut first_line = line;
            let mut text: Vec<u8> = Vec::new();
            let mut content = false;
            let mut st = St::Normal;
            let mut versioned = false;
            let mut depth = 0i64;
            let mut groups = 0u64;
            let mut at_line_start = true;
            let mut comment_start = 0usize;
            loop {
                self.fill(64)?;
                if self.pos >= self.len {
                    // End of input.
                    if content
                        || st == St::Quote(b'\'')
                        || st == St::Quote(b'"')
                        || st == St::BlockComment
                    {
                        return Err(DumpError::Truncated { line: first_line });
                    }
                    return Ok(None);
                }
                let c = self.buf[self.pos];
                match st {
                    St::Quote(q) => {
                        // Fast path through the body of a string.
                        let start = self.pos;
                        let mut i = self.pos;
                        let end = self.len;
                        while i < end {
                            let b = self.buf[i];
                            if b == q || b == b'\\' || b == b'\n' {
                                break;
                            }
                            i += 1;
                        }
                        text.extend_from_slice(&self.buf[start..i]);
                        self.pos = i;
                        if i >= end {
                            continue;
                        }
                        let b = self.buf[i];
                        if b == b'\n' {
                            self.line += 1;
                            text.push(b);
                            self.pos += 1;
                        } else if b == b'\\' && q != b'`' && !self.state.no_backslash_escapes {
                            self.fill(2)?;
                            let n = (self.len - self.pos).min(2);
                            for k in 0..n {
                                if self.buf[self.pos + k] == b'\n' {
                                    self.line += 1;
                                }
                            }
                            text.extend_from_slice(&self.buf[self.pos..self.pos + n]);
                            self.pos += n;
                        } else if b == q {
                            if self.peek(1)? == Some(q) {
                                text.extend_from_slice(&[q, q]);
                                self.pos += 2;
                            } else {
                                text.push(q);
                                self.pos += 1;
                                st = St::Normal;
                            }
                        } else {
                            text.push(b);
                            self.pos += 1;
                        }
                        continue;
                    }
                    St::LineComment => {
                        self.pos += 1;
                        if c == b'\n' {
                            self.line += 1;
                            let comment = &text[comment_start..];
                            if comment.starts_with(b"-- Dump completed") {
                                self.saw_completed = true;
                            } else if let Some(v) = comment.strip_prefix(b"-- Server version") {
                                self.server_version =
                                    Some(String::from_utf8_lossy(v).trim().to_string());
                            } else if comment.starts_with(b"-- MySQL dump")
                                || comment.starts_with(b"-- MariaDB dump")
                            {
                                self.saw_header = true;
                            }
                            text.truncate(comment_start);
                            text.push(b'\n');
                            st = St::Normal;
                            at_line_start = true;
                        } else {
                            text.push(c);
                        }
                        continue;
                    }
                    St::BlockComment => {
                        if c == b'*' && self.peek(1)? == Some(b'/') {
                            self.pos += 2;
                            text.push(b' ');
                            st = St::Normal;
                        } else {
                            if c == b'\n' {
                                self.line += 1;
                            }
                            self.pos += 1;
                        }
                        continue;
                    }
                    St::Normal => {}
                }
                // Normal state.
                if at_line_start && !content && !versioned {
                    // The DELIMITER client command, at the start of a statement.
                    if (c == b'd' || c == b'D') && self.starts_with_ci(b"delimiter")? {
                        let after = self.peek(9)?;
                        if matches!(after, Some(b' ' | b'\t')) {
                            let mut cmd = Vec::new();
                            while let Some(b) = self.peek(0)? {
                                self.pos += 1;
                                if b == b'\n' {
                                    self.line += 1;
                                    break;
                                }
                                cmd.push(b);
                            }
                            let d = String::from_utf8_lossy(&cmd[9..]).trim().to_string();
                            if d.is_empty() {
                                return Err(DumpError::Syntax {
                                    line,
                                    message: "DELIMITER without a delimiter".into(),
                                });
                            }
                            self.state.delimiter = d.into_bytes();
                            continue 'outer;
                        }
                    }
                }
                if c == b'\n' {
                    self.line += 1;
                    at_line_start = true;
                    text.push(c);
                    self.pos += 1;
                    continue;
                }
                if c == b' ' || c == b'\t' || c == b'\r' {
                    text.push(c);
                    self.pos += 1;
                    continue;
                }
                at_line_start = false;
                // Comments.
                if c == b'#'
                    || (c == b'-'
                        && self.peek(1)? == Some(b'-')
                        && matches!(self.peek(2)?, None | Some(b' ' | b'\t' | b'\n' | b'\r')))
                {
                    comment_start = text.len();
                    st = St::LineComment;
                    text.push(c);
                    self.pos += 1;
                    continue;
                }
                if c == b'/' && self.peek(1)? == Some(b'*') {
                    let third = self.peek(2)?;
                    let fourth = self.peek(3)?;
                    if third == Some(b'!') || (third == Some(b'M') && fourth == Some(b'!')) {
                        // A versioned comment: its content is SQL; keep it all.
                        versioned = true;
                        if !content {
                            first_line = self.line;
                        }
                        content = true;
                        let n = if third == Some(b'!') { 3 } else { 4 };
                        text.extend_from_slice(&self.buf[self.pos..self.pos + n]);
                        self.pos += n;
                        continue;
                    }
                    st = St::BlockComment;
                    self.pos += 2;
                    continue;
                }
                if versioned && c == b'*' && self.peek(1)? == Some(b'/') {
                    versioned = false;
                    text.extend_from_slice(b"*/");
                    self.pos += 2;
                    continue;
                }
                // The delimiter ends the statement.
                let delim_first = self.state.delimiter[0];
                if c == delim_first && !versioned {
                    let dl = self.state.delimiter.len();
                    let is_delim = dl == 1 || {
                        self.fill(dl)?;
                        self.len - self.pos >= dl
                            && self.buf[self.pos..self.pos + dl] == self.state.delimiter[..]
                    };
                    if is_delim {
                        self.pos += dl;
                        if !content {
                            continue 'outer;
                        }
                        if text.len() > MAX_STATEMENT {
                            return Err(DumpError::TooLong { line: first_line });
                        }
                        return Ok(Some(Statement {
                            offset,
                            line,
                            first_line,
                            text,
                            groups,
                        }));
                    }
                }
                if !content {
                    first_line = self.line;
                    content = true;
                }
                match c {
                    b'\'' | b'"' | b'`' => st = St::Quote(c),
                    b'(' => {
                        if depth == 0 {
                            groups += 1;
                        }
                        depth += 1;
                    }
                    b')' => depth -= 1,
                    _ => {}
                }
                text.push(c);
                self.pos += 1;
                if text.len() > MAX_STATEMENT {
                    return Err(DumpError::TooLong { line: first_line });
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(s: &str) -> Vec<String> {
        let mut sp = Splitter::new(s.as_bytes(), 0, 1, SplitState::default(), None);
        let mut out = Vec::new();
        while let Some(st) = sp.next_statement().unwrap() {
            out.push(String::from_utf8(st.text).unwrap().trim().to_string());
        }
        out
    }

    #[test]
    fn splits_like_the_client() {
        let s = "-- c ; x\nSET a=1;\n/*!40101 SET NAMES utf8 */;\nINSERT INTO t VALUES ('a;b\\';'),(\"x;\");\n\
                 DELIMITER ;;\nCREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET @a=1; END ;;\nDELIMITER ;\n# end\nSELECT 1 /* ; */;";
        assert_eq!(
            split(s),
            vec![
                "SET a=1",
                "/*!40101 SET NAMES utf8 */",
                "INSERT INTO t VALUES ('a;b\\';'),(\"x;\")",
                "CREATE TRIGGER t BEFORE INSERT ON x FOR EACH ROW BEGIN SET @a=1; END",
                "SELECT 1",
            ]
        );
    }

    #[test]
    fn a_statement_cut_short_is_an_error_with_its_line() {
        let mut sp = Splitter::new(
            &b"SET a=1;\nINSERT INTO t VALUES\n(1,'abc"[..],
            0,
            1,
            SplitState::default(),
            None,
        );
        sp.next_statement().unwrap();
        match sp.next_statement() {
            Err(DumpError::Truncated { line }) => assert_eq!(line, 2),
            other => panic!("{other:?}"),
        }
    }
}
