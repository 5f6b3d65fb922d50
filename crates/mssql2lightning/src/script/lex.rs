//! Tokens of T-SQL as SQL Server Management Studio scripts it: `[bracketed]` and
//! `"quoted"` names, `N'...'` strings, `0x` binaries, nested `/* */` comments, and
//! `GO` alone on a line ending a batch.

/// One token. Strings and names are unescaped; words keep their spelling.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    /// A keyword or unquoted name (`INSERT`, `dbo`, `@v`, `#tmp`).
    Word(&'a str),
    /// A `[bracketed]` or `"quoted"` name.
    Name(String),
    /// A `'string'` or `N'string'`.
    Str(String),
    /// A number as written: `12`, `-` comes as punctuation.
    Num(&'a str),
    /// A `0x...` binary literal.
    Hex(Vec<u8>),
    Punct(char),
    /// A `GO` line: the batch ends.
    Go,
    Eof,
}

/// What the lexer met that no token can be made of.
#[derive(Debug, Clone, PartialEq)]
pub struct LexError {
    pub line: u64,
    pub message: String,
}

pub struct Lexer<'a> {
    text: &'a str,
    /// The byte offset of the next token's search.
    pub i: usize,
    line: u64,
    /// Where `line` was counted to.
    counted: usize,
    /// The start of the last token read.
    pub start: usize,
    peeked: Option<(Result<Tok<'a>, LexError>, usize, usize)>,
}

impl<'a> Lexer<'a> {
    /// Tokens of `text` from byte `at`, which is on line `line`.
    pub fn new(text: &'a str, at: usize, line: u64) -> Self {
        Lexer {
            text,
            i: at,
            line,
            counted: at,
            start: at,
            peeked: None,
        }
    }

    /// The line of byte `at` (at or after the last asked).
    pub fn line_at(&mut self, at: usize) -> u64 {
        let at = at.min(self.text.len());
        if at > self.counted {
            self.line += self.text.as_bytes()[self.counted..at]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64;
            self.counted = at;
        }
        self.line
    }

    /// The line of the last token read.
    pub fn line(&mut self) -> u64 {
        self.line_at(self.start)
    }

    pub fn text(&self) -> &'a str {
        self.text
    }

    pub fn peek(&mut self) -> Result<&Tok<'a>, LexError> {
        if self.peeked.is_none() {
            let save = (self.i, self.start);
            let t = self.lex();
            self.peeked = Some((t, self.i, self.start));
            (self.i, self.start) = save;
        }
        match &self.peeked {
            Some((Ok(t), _, _)) => Ok(t),
            Some((Err(e), _, _)) => Err(e.clone()),
            None => unreachable!("peeked above"),
        }
    }

    pub fn next(&mut self) -> Result<Tok<'a>, LexError> {
        if let Some((t, i, start)) = self.peeked.take() {
            self.i = i;
            self.start = start;
            return t;
        }
        self.lex()
    }

    /// Take the next token if it is the word `w` (any case).
    pub fn eat_word(&mut self, w: &str) -> Result<bool, LexError> {
        if matches!(self.peek()?, Tok::Word(x) if x.eq_ignore_ascii_case(w)) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    pub fn eat_punct(&mut self, c: char) -> Result<bool, LexError> {
        if *self.peek()? == Tok::Punct(c) {
            self.next()?;
            return Ok(true);
        }
        Ok(false)
    }

    fn err(&mut self, at: usize, message: impl Into<String>) -> LexError {
        LexError {
            line: self.line_at(at),
            message: message.into(),
        }
    }

    /// Whether only spaces stand between the start of `at`'s line and `at`.
    fn starts_line(&self, at: usize) -> bool {
        let before = &self.text.as_bytes()[..at];
        before
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
    }

    /// `GO` or `GO n`, alone on its line (a comment may follow): the end of that line.
    fn go_line(&self, at: usize) -> Option<usize> {
        let b = self.text.as_bytes();
        if !(b.len() >= at + 2 && b[at..at + 2].eq_ignore_ascii_case(b"GO")) {
            return None;
        }
        if !self.starts_line(at) {
            return None;
        }
        let end = self.text[at..].find('\n').map_or(b.len(), |n| at + n);
        let rest = self.text[at + 2..end].trim();
        let rest = rest.split("--").next().unwrap_or("").trim();
        (rest.is_empty() || rest.bytes().all(|c| c.is_ascii_digit())).then_some(end)
    }

    fn lex(&mut self) -> Result<Tok<'a>, LexError> {
        let b = self.text.as_bytes();
        loop {
            while self.i < b.len() && b[self.i].is_ascii_whitespace() {
                self.i += 1;
            }
            if b[self.i..].starts_with(b"--") {
                self.i = self.text[self.i..]
                    .find('\n')
                    .map_or(b.len(), |n| self.i + n);
                continue;
            }
            if b[self.i..].starts_with(b"/*") {
                let open = self.i;
                let mut depth = 0usize;
                while self.i < b.len() {
                    if b[self.i..].starts_with(b"/*") {
                        depth += 1;
                        self.i += 2;
                    } else if b[self.i..].starts_with(b"*/") {
                        depth -= 1;
                        self.i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        self.i += 1;
                    }
                }
                if depth > 0 {
                    return Err(self.err(open, "a /* comment is never closed"));
                }
                continue;
            }
            break;
        }
        self.start = self.i;
        let s = self.i;
        if s >= b.len() {
            return Ok(Tok::Eof);
        }
        if let Some(end) = self.go_line(s) {
            self.i = end;
            return Ok(Tok::Go);
        }
        let c = b[s];
        match c {
            b'[' => {
                let mut out = String::new();
                let mut j = s + 1;
                loop {
                    let Some(n) = self.text[j..].find(']') else {
                        return Err(self.err(s, "a [name is never closed with ]"));
                    };
                    out.push_str(&self.text[j..j + n]);
                    j += n + 1;
                    if b.get(j) == Some(&b']') {
                        out.push(']');
                        j += 1;
                    } else {
                        break;
                    }
                }
                self.i = j;
                Ok(Tok::Name(out))
            }
            b'"' => {
                let (v, j) = self.quoted(s, b'"')?;
                self.i = j;
                Ok(Tok::Name(v))
            }
            b'\'' => {
                let (v, j) = self.quoted(s, b'\'')?;
                self.i = j;
                Ok(Tok::Str(v))
            }
            b'N' | b'n' if b.get(s + 1) == Some(&b'\'') => {
                let (v, j) = self.quoted(s + 1, b'\'')?;
                self.i = j;
                Ok(Tok::Str(v))
            }
            b'0' if matches!(b.get(s + 1), Some(b'x' | b'X')) => {
                let mut j = s + 2;
                while j < b.len() && b[j].is_ascii_hexdigit() {
                    j += 1;
                }
                self.i = j;
                let digits = &self.text[s + 2..j];
                // An odd count has a leading zero left out, as SQL Server reads it.
                let padded = if digits.len() % 2 == 1 {
                    format!("0{digits}")
                } else {
                    digits.to_string()
                };
                let bytes = (0..padded.len())
                    .step_by(2)
                    .map(|k| u8::from_str_radix(&padded[k..k + 2], 16).unwrap_or(0))
                    .collect();
                Ok(Tok::Hex(bytes))
            }
            b'0'..=b'9' | b'.' if c != b'.' || b.get(s + 1).is_some_and(u8::is_ascii_digit) => {
                let mut j = s;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b'.') {
                    j += 1;
                }
                if j < b.len() && matches!(b[j], b'e' | b'E') {
                    let mut k = j + 1;
                    if k < b.len() && matches!(b[k], b'+' | b'-') {
                        k += 1;
                    }
                    if k < b.len() && b[k].is_ascii_digit() {
                        while k < b.len() && b[k].is_ascii_digit() {
                            k += 1;
                        }
                        j = k;
                    }
                }
                self.i = j;
                Ok(Tok::Num(&self.text[s..j]))
            }
            _ if c.is_ascii_alphabetic() || matches!(c, b'_' | b'@' | b'#') || c >= 0x80 => {
                let mut j = s + self.text[s..].chars().next().map_or(1, char::len_utf8);
                while j < b.len() {
                    let ch = self.text[j..].chars().next().unwrap_or(' ');
                    if ch.is_alphanumeric() || matches!(ch, '_' | '@' | '#' | '$') {
                        j += ch.len_utf8();
                    } else {
                        break;
                    }
                }
                self.i = j;
                Ok(Tok::Word(&self.text[s..j]))
            }
            _ => {
                let ch = self.text[s..].chars().next().unwrap_or(' ');
                self.i = s + ch.len_utf8();
                Ok(Tok::Punct(ch))
            }
        }
    }

    /// A string or name quoted with `q` (doubled inside) starting at `s`.
    fn quoted(&mut self, s: usize, q: u8) -> Result<(String, usize), LexError> {
        let b = self.text.as_bytes();
        let mut out = String::new();
        let mut j = s + 1;
        loop {
            let Some(n) = b[j..].iter().position(|&x| x == q) else {
                let what = if q == b'\'' { "string" } else { "quoted name" };
                return Err(self.err(
                    s,
                    format!("a {what} starts here and is never closed: the script is cut short or a quote is missing"),
                ));
            };
            out.push_str(&self.text[j..j + n]);
            j += n + 1;
            if b.get(j) == Some(&q) {
                out.push(q as char);
                j += 1;
            } else {
                return Ok((out, j));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Tok<'_>> {
        let mut lx = Lexer::new(text, 0, 1);
        let mut out = Vec::new();
        loop {
            match lx.next().unwrap() {
                Tok::Eof => return out,
                t => out.push(t),
            }
        }
    }

    #[test]
    fn names_strings_binaries_and_go() {
        assert_eq!(
            all("INSERT [dbo].[a]]b] VALUES (N'it''s', 0xABC, -1.5E+10)\nGO\n  go 2 -- twice\nselect"),
            vec![
                Tok::Word("INSERT"),
                Tok::Name("dbo".into()),
                Tok::Punct('.'),
                Tok::Name("a]b".into()),
                Tok::Word("VALUES"),
                Tok::Punct('('),
                Tok::Str("it's".into()),
                Tok::Punct(','),
                Tok::Hex(vec![0x0a, 0xbc]),
                Tok::Punct(','),
                Tok::Punct('-'),
                Tok::Num("1.5E+10"),
                Tok::Punct(')'),
                Tok::Go,
                Tok::Go,
                Tok::Word("select"),
            ]
        );
    }

    #[test]
    fn go_inside_a_string_or_a_line_is_not_a_batch_end() {
        assert_eq!(
            all("N'a\nGO\nb' goal GO"),
            vec![
                Tok::Str("a\nGO\nb".into()),
                Tok::Word("goal"),
                Tok::Word("GO")
            ]
        );
    }

    #[test]
    fn nested_comments_and_lines() {
        let mut lx = Lexer::new("/* a /* b */ c */\n-- x\n\n[t]", 0, 1);
        assert_eq!(lx.next().unwrap(), Tok::Name("t".into()));
        assert_eq!(lx.line(), 4);
        let mut lx = Lexer::new("x\n'open", 0, 1);
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap_err().line, 2);
    }
}
