//! Text shown to a person: names and values that came from a source are escaped so
//! that a control character in a table name cannot drive the user's terminal.

use std::borrow::Cow;

/// `s` with every control character (C0, DEL, C1) written as `\u{..}`.
pub fn for_terminal(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if c.is_control() {
            out.push_str(&format!("\\u{{{:x}}}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(for_terminal("plain ünï"), "plain ünï");
        assert_eq!(
            for_terminal("a\x1b[31mred\u{9b}\n"),
            "a\\u{1b}[31mred\\u{9b}\\u{a}"
        );
    }
}
