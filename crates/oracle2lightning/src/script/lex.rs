//! Tokens of Oracle SQL as SQL*Plus reads a script: `"quoted"` names, `'...'`,
//! `N'...'` and `q'[...]'` strings, numbers with their `f`/`d` suffix, `||`,
//! `--` and `/* */` comments, and `/` alone on a line ending a PL/SQL unit.

/// One token. Strings and names are unescaped; words keep their spelling.
#[derive(Debug, Clone, PartialEq)]
pub enum Tok<'a> {
    /// A keyword or unquoted name (`INSERT`, `hr`, `SYS_C0042$`).
    Word(&'a str),
    /// A `"quoted"` name.
    Name(String),
    /// A `'string'`, `N'string'` or `q'[string]'`.
    Str(String),
    /// A number as written, without a `f`/`d` suffix; `-` comes as punctuation.
    Num(&'a str),
    /// `||`
    Concat,
    Punct(char),
    /// A `/` alone on its line: the unit or statement ends.
    Slash,
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

    /// Pass over the rest of the current line: a SQL*Plus command (`SET`, `REM`,
    /// `PROMPT`) takes its line whatever it holds.
    pub fn skip_line(&mut self) {
        self.peeked = None;
        let b = self.text.as_bytes();
        let from = self.i.min(b.len());
        self.i = self.text[from..].find('\n').map_or(b.len(), |n| from + n);
    }

    fn err(&mut self, at: usize, message: impl Into<String>) -> LexError {
        LexError {
            line: self.line_at(at),
            message: message.into(),
        }
    }

    /// Whether only spaces stand between the start of `at`'s line and `at`.
    fn starts_line(&self, at: usize) -> bool {
        self.text.as_bytes()[..at]
            .iter()
            .rev()
            .take_while(|&&b| b != b'\n')
            .all(|b| matches!(b, b' ' | b'\t' | b'\r'))
    }

    /// A `/` alone on its line: the end of that line.
    fn slash_line(&self, at: usize) -> Option<usize> {
        if !self.starts_line(at) {
            return None;
        }
        let end = self.text[at..]
            .find('\n')
            .map_or(self.text.len(), |n| at + n);
        self.text[at + 1..end].trim().is_empty().then_some(end)
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
                // Oracle's comments do not nest.
                match self.text[self.i + 2..].find("*/") {
                    Some(n) => self.i += n + 4,
                    None => return Err(self.err(self.i, "a /* comment is never closed")),
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
        let c = b[s];
        if c == b'/' {
            if let Some(end) = self.slash_line(s) {
                self.i = end;
                return Ok(Tok::Slash);
            }
        }
        let at = |k: usize| b.get(s + k).copied().unwrap_or(0);
        match c {
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
            b'q' | b'Q' if at(1) == b'\'' => self.q_quoted(s, s + 1),
            b'n' | b'N' if at(1) == b'\'' => {
                let (v, j) = self.quoted(s + 1, b'\'')?;
                self.i = j;
                Ok(Tok::Str(v))
            }
            b'n' | b'N' if matches!(at(1), b'q' | b'Q') && at(2) == b'\'' => {
                self.q_quoted(s, s + 2)
            }
            b'|' if at(1) == b'|' => {
                self.i = s + 2;
                Ok(Tok::Concat)
            }
            b'0'..=b'9' | b'.' if c != b'.' || at(1).is_ascii_digit() => {
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
                let num = &self.text[s..j];
                // `1.5f` and `1.5d`: BINARY_FLOAT and BINARY_DOUBLE literals.
                let next = b.get(j + 1).copied().unwrap_or(b' ');
                if j < b.len()
                    && matches!(b[j], b'f' | b'F' | b'd' | b'D')
                    && !(next.is_ascii_alphanumeric() || next == b'_')
                {
                    j += 1;
                }
                self.i = j;
                Ok(Tok::Num(num))
            }
            _ if c.is_ascii_alphabetic() || c >= 0x80 => {
                let mut j = s + self.text[s..].chars().next().map_or(1, char::len_utf8);
                while j < b.len() {
                    let ch = self.text[j..].chars().next().unwrap_or(' ');
                    if ch.is_alphanumeric() || matches!(ch, '_' | '$' | '#') {
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

    /// `q'X...X'` from `s`, its quote at `quote`: `[`, `{`, `<` and `(` close with
    /// their pair, any other character with itself.
    fn q_quoted(&mut self, s: usize, quote: usize) -> Result<Tok<'a>, LexError> {
        let Some(open) = self.text[quote + 1..].chars().next() else {
            return Err(self.err(s, "a q'...' string starts here and is never closed"));
        };
        if open.is_whitespace() {
            return Err(self.err(s, "a q'...' string needs a delimiter after q'"));
        }
        let close = match open {
            '[' => ']',
            '{' => '}',
            '<' => '>',
            '(' => ')',
            c => c,
        };
        let body = quote + 1 + open.len_utf8();
        let end = format!("{close}'");
        match self.text[body..].find(&end) {
            Some(n) => {
                self.i = body + n + end.len();
                Ok(Tok::Str(self.text[body..body + n].to_string()))
            }
            None => Err(self.err(
                s,
                format!("a q'{open}...{close}' string starts here and is never closed: the script is cut short or its closing {close}' is missing"),
            )),
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
    fn names_strings_quotes_numbers_and_slash() {
        assert_eq!(
            all("Insert into \"HR\".\"A\"\"B\" values ('it''s', q'[a ' b]', Nq'{x}', N'é', -1.5E+10, 2.5d, .5)||\n  /  \nx/y"),
            vec![
                Tok::Word("Insert"),
                Tok::Word("into"),
                Tok::Name("HR".into()),
                Tok::Punct('.'),
                Tok::Name("A\"B".into()),
                Tok::Word("values"),
                Tok::Punct('('),
                Tok::Str("it's".into()),
                Tok::Punct(','),
                Tok::Str("a ' b".into()),
                Tok::Punct(','),
                Tok::Str("x".into()),
                Tok::Punct(','),
                Tok::Str("é".into()),
                Tok::Punct(','),
                Tok::Punct('-'),
                Tok::Num("1.5E+10"),
                Tok::Punct(','),
                Tok::Num("2.5"),
                Tok::Punct(','),
                Tok::Num(".5"),
                Tok::Punct(')'),
                Tok::Concat,
                Tok::Slash,
                Tok::Word("x"),
                Tok::Punct('/'),
                Tok::Word("y"),
            ]
        );
    }

    #[test]
    fn a_slash_inside_a_string_is_not_an_end_and_lines_are_counted() {
        assert_eq!(all("'a\n/\nb'"), vec![Tok::Str("a\n/\nb".into())]);
        let mut lx = Lexer::new("/* a */\n-- x\n\n\"t\"", 0, 1);
        assert_eq!(lx.next().unwrap(), Tok::Name("t".into()));
        assert_eq!(lx.line(), 4);
        let mut lx = Lexer::new("x\n'open", 0, 1);
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap_err().line, 2);
        let mut lx = Lexer::new("x\n\nq'[open'", 0, 1);
        lx.next().unwrap();
        assert_eq!(lx.next().unwrap_err().line, 3);
    }
}
