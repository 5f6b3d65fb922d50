//! Small helpers for the SQL text PostgreSQL prints (definitions, type names).

/// Split at `sep` where it is outside parentheses, quotes and brackets.
pub fn split_top_level(s: &str, sep: char) -> Vec<&str> {
    let mut out = Vec::new();
    let mut depth = 0i32;
    let mut start = 0;
    let mut quote: Option<char> = None;
    for (i, c) in s.char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' | '[' => depth += 1,
                ')' | ']' => depth -= 1,
                c if c == sep && depth == 0 => {
                    out.push(s[start..i].trim());
                    start = i + c.len_utf8();
                }
                _ => {}
            },
        }
    }
    let last = s[start..].trim();
    if !last.is_empty() || !out.is_empty() {
        out.push(last);
    }
    out
}

/// The text inside the parenthesis that opens at byte `open`, and the index just
/// after its closing parenthesis.
pub fn paren_group(s: &str, open: usize) -> Option<(&str, usize)> {
    let mut depth = 0i32;
    let mut quote: Option<char> = None;
    for (i, c) in s[open..].char_indices() {
        match quote {
            Some(q) if c == q => quote = None,
            Some(_) => {}
            None => match c {
                '\'' | '"' => quote = Some(c),
                '(' => depth += 1,
                ')' => {
                    depth -= 1;
                    if depth == 0 {
                        return Some((&s[open + 1..open + i], open + i + 1));
                    }
                }
                _ => {}
            },
        }
    }
    None
}

/// `"My Col"` → `My Col`, `film_id` → `film_id`; `None` when it is not a plain
/// identifier (an expression, a function call).
pub fn unquote_ident(s: &str) -> Option<String> {
    let s = s.trim();
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        if inner.replace("\"\"", "").contains('"') {
            return None;
        }
        return Some(inner.replace("\"\"", "\""));
    }
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '$')
        && !s.starts_with(|c: char| c.is_ascii_digit());
    plain.then(|| s.to_lowercase())
}

/// Split `schema.name` (each part possibly quoted) into unquoted parts.
pub fn split_qualified(s: &str) -> Option<(String, String)> {
    let parts = split_top_level(s.trim(), '.');
    match parts.as_slice() {
        [a, b] => Some((unquote_ident(a)?, unquote_ident(b)?)),
        [b] => Some(("public".into(), unquote_ident(b)?)),
        _ => None,
    }
}

/// Remove one pair of enclosing parentheses when they enclose the whole text.
pub fn strip_outer_parens(s: &str) -> &str {
    let t = s.trim();
    if t.starts_with('(') {
        if let Some((inner, end)) = paren_group(t, 0) {
            if end == t.len() {
                return inner.trim();
            }
        }
    }
    t
}

/// Replace the identifier `word` (case-insensitive, outside quotes) with `with`.
pub fn replace_word(s: &str, word: &str, with: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    let mut quote: Option<u8> = None;
    while i < b.len() {
        let c = b[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            }
            out.push(c as char);
            i += 1;
            continue;
        }
        if c == b'\'' || c == b'"' {
            quote = Some(c);
        }
        let boundary_before = i == 0 || !(b[i - 1].is_ascii_alphanumeric() || b[i - 1] == b'_');
        let end = i + word.len();
        if boundary_before
            && end <= b.len()
            && s[i..end].eq_ignore_ascii_case(word)
            && (end == b.len() || !(b[end].is_ascii_alphanumeric() || b[end] == b'_'))
        {
            out.push_str(with);
            i = end;
            continue;
        }
        let ch = s[i..].chars().next().unwrap_or(' ');
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_and_unquotes() {
        assert_eq!(
            split_top_level("a, lower(b, c), \"x,y\"", ','),
            vec!["a", "lower(b, c)", "\"x,y\""]
        );
        assert_eq!(
            unquote_ident("\"My \"\"Col\"\"\""),
            Some("My \"Col\"".into())
        );
        assert_eq!(unquote_ident("lower(b)"), None);
        assert_eq!(
            split_qualified("public.\"bıgınt\""),
            Some(("public".into(), "bıgınt".into()))
        );
        assert_eq!(strip_outer_parens("((a > 0))"), "(a > 0)");
        assert_eq!(strip_outer_parens("(a) OR (b)"), "(a) OR (b)");
        assert_eq!(
            replace_word(
                "((VALUE >= 1) AND ('VALUE' <> value_x))",
                "VALUE",
                "\"year\""
            ),
            "((\"year\" >= 1) AND ('VALUE' <> value_x))"
        );
    }
}
