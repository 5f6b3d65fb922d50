//! Tokens of T-SQL as SQL Server Management Studio scripts it: `[bracketed]` and
//! `"quoted"` names, `N'...'` strings, `0x` binaries, nested `/* */` comments, and
//! `GO` alone on a line ending a batch (as [`Tok::BatchEnd`]).

use lightning_core::sql_script::Dialect;
pub use lightning_core::sql_script::{LexError, Token as Tok};

pub type Lexer<'a> = lightning_core::sql_script::Lexer<'a, Tsql>;

/// T-SQL as SQL Server Management Studio scripts it.
pub struct Tsql;

impl Dialect for Tsql {
    const NESTED_COMMENTS: bool = true;
    const WORD_START: &'static [u8] = b"_@#";
    const WORD_CHARS: &'static [char] = &['_', '@', '#', '$'];
    const NUMBER_SUFFIXES: &'static [u8] = b"";
    const NAME_QUOTES: (&'static str, &'static str) = ("[", "]");
    const BATCH_END: &'static str = "GO";

    fn token<'a>(lx: &mut Lexer<'a>, s: usize) -> Option<Result<Tok<'a>, LexError>> {
        let text = lx.text();
        let b = text.as_bytes();
        if let Some(end) = go_line(lx, s) {
            lx.i = end;
            return Some(Ok(Tok::BatchEnd));
        }
        match b[s] {
            b'[' => {
                let mut out = String::new();
                let mut j = s + 1;
                loop {
                    let Some(n) = text[j..].find(']') else {
                        return Some(Err(lx.err(s, "a [name is never closed with ]")));
                    };
                    out.push_str(&text[j..j + n]);
                    j += n + 1;
                    if b.get(j) == Some(&b']') {
                        out.push(']');
                        j += 1;
                    } else {
                        break;
                    }
                }
                lx.i = j;
                Some(Ok(Tok::Name(out)))
            }
            b'0' if matches!(b.get(s + 1), Some(b'x' | b'X')) => {
                let mut j = s + 2;
                while j < b.len() && b[j].is_ascii_hexdigit() {
                    j += 1;
                }
                lx.i = j;
                let digits = &text[s + 2..j];
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
                Some(Ok(Tok::Hex(bytes)))
            }
            _ => None,
        }
    }
}

/// `GO` or `GO n`, alone on its line (a comment may follow): the end of that line.
fn go_line(lx: &Lexer<'_>, at: usize) -> Option<usize> {
    let text = lx.text();
    let b = text.as_bytes();
    if !(b.len() >= at + 2 && b[at..at + 2].eq_ignore_ascii_case(b"GO")) {
        return None;
    }
    if !lx.starts_line(at) {
        return None;
    }
    let end = text[at..].find('\n').map_or(b.len(), |n| at + n);
    let rest = text[at + 2..end].trim();
    let rest = rest.split("--").next().unwrap_or("").trim();
    (rest.is_empty() || rest.bytes().all(|c| c.is_ascii_digit())).then_some(end)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(text: &str) -> Vec<Tok<'_>> {
        lightning_core::sql_script::tokens::<Tsql>(text).unwrap()
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
                Tok::BatchEnd,
                Tok::BatchEnd,
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
