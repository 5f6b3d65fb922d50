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

/// A network error in words, as a person reads it: `connection refused`, without
/// the `(os error 111)` tail the system adds. `text` is the error's own text, for
/// the kinds without words here.
pub fn network_error(kind: std::io::ErrorKind, text: &str) -> String {
    use std::io::ErrorKind as K;
    match kind {
        K::ConnectionRefused => "connection refused".into(),
        K::ConnectionReset => "connection reset by the server".into(),
        K::ConnectionAborted => "connection aborted".into(),
        K::TimedOut => "timed out".into(),
        K::AddrNotAvailable => "address not available".into(),
        K::PermissionDenied => "permission denied".into(),
        K::UnexpectedEof => "the server closed the connection".into(),
        _ => {
            let t = match text.find(" (os error") {
                Some(i) => &text[..i],
                None => text,
            };
            let mut c = t.chars();
            match c.next() {
                Some(f) => f.to_lowercase().chain(c).collect(),
                None => format!("{kind}"),
            }
        }
    }
}

/// `message` with the password of `url` (`scheme://user:password@host`, or
/// `scheme://password@host`) taken out, wherever it appears: driver errors may
/// quote the URL or the password.
pub fn redact_password(message: &str, url: &str) -> String {
    let password = url
        .split_once("://")
        .and_then(|(_, rest)| rest.split_once('@'))
        .map(|(userinfo, _)| userinfo.split_once(':').map_or(userinfo, |(_, p)| p))
        .filter(|p| !p.is_empty());
    match password {
        Some(p) => message.replace(p, "****"),
        None => message.to_string(),
    }
}

/// Names listed in one message before the rest are counted.
pub const LISTED: usize = 10;

/// Up to ten names, then how many more (`a, b and 3 more`).
pub fn listed(names: &[String]) -> String {
    let mut s = names
        .iter()
        .take(LISTED)
        .map(|n| for_terminal(n).into_owned())
        .collect::<Vec<_>>()
        .join(", ");
    if names.len() > LISTED {
        s.push_str(&format!(" and {} more", names.len() - LISTED));
    }
    s
}

/// The start of a statement, on one line and quoted: its first 60 characters,
/// whitespace runs made one space.
pub fn statement_start(query: &str) -> String {
    let one_line = query.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut start: String = one_line.chars().take(60).collect();
    if one_line.chars().count() > 60 {
        start.push('…');
    }
    format!("`{}`", for_terminal(&start))
}

#[cfg(test)]
mod tests {
    #[test]
    fn statement_starts_are_one_line_of_sixty_characters_and_lists_are_cut_at_ten() {
        use super::{listed, statement_start};
        assert_eq!(statement_start("SELECT\n\t1"), "`SELECT 1`");
        let shown = statement_start(&format!("SELECT {}", "x".repeat(100)));
        assert_eq!(shown.chars().count(), 60 + 3);
        assert!(shown.ends_with("…`"));
        assert_eq!(
            listed(&(0..12).map(|i| i.to_string()).collect::<Vec<_>>()),
            "0, 1, 2, 3, 4, 5, 6, 7, 8, 9 and 2 more"
        );
    }

    #[test]
    fn passwords_are_taken_out_of_messages() {
        use super::redact_password;
        assert_eq!(
            redact_password("bad auth for s3cret", "mongodb://u:s3cret@h/db"),
            "bad auth for ****"
        );
        assert_eq!(redact_password("x s3cret", "redis://:s3cret@h"), "x ****");
        assert_eq!(redact_password("x s3cret", "redis://s3cret@h"), "x ****");
        assert_eq!(redact_password("nothing", "redis://h:6379"), "nothing");
    }

    use super::*;

    #[test]
    fn network_errors_read_as_words() {
        use std::io::ErrorKind as K;
        assert_eq!(
            network_error(K::ConnectionRefused, "Connection refused (os error 111)"),
            "connection refused"
        );
        assert_eq!(
            network_error(K::Other, "Name or service not known (os error -2)"),
            "name or service not known"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(for_terminal("plain ünï"), "plain ünï");
        assert_eq!(
            for_terminal("a\x1b[31mred\u{9b}\n"),
            "a\\u{1b}[31mred\\u{9b}\\u{a}"
        );
    }
}

/// A count with thousands separators: `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A duration as a clock reads it: `42s`, `3m05s`, `2h03m`.
pub fn duration(d: std::time::Duration) -> String {
    let s = d.as_secs();
    if s < 60 {
        format!("{s}s")
    } else if s < 3600 {
        format!("{}m{:02}s", s / 60, s % 60)
    } else {
        format!("{}h{:02}m", s / 3600, (s % 3600) / 60)
    }
}

#[cfg(test)]
mod counts {
    use super::*;

    #[test]
    fn counts_and_durations_read_as_people_write_them() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1_234_567), "1,234,567");
        assert_eq!(duration(std::time::Duration::from_secs(42)), "42s");
        assert_eq!(duration(std::time::Duration::from_secs(185)), "3m05s");
        assert_eq!(duration(std::time::Duration::from_secs(7380)), "2h03m");
    }
}
