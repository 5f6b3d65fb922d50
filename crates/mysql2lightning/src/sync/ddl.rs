//! Which tables a DDL statement in the binlog names.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verb {
    Truncate,
    Alter,
    Drop,
    Rename,
    Create,
}

/// A table as a statement names it: (database, table).
pub type Name = (Option<String>, String);

#[derive(Debug)]
pub struct Ddl {
    pub verb: Verb,
    pub tables: Vec<Name>,
}

#[derive(Debug, PartialEq)]
enum Tok {
    Word(String),
    Quoted(String),
    Punct(char),
}

fn tokens(sql: &str) -> Vec<Tok> {
    let b: Vec<char> = sql.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            while i + 1 < b.len() && !(b[i] == '*' && b[i + 1] == '/') {
                i += 1;
            }
            i += 2;
        } else if c == '#' || (c == '-' && b.get(i + 1) == Some(&'-')) {
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
        } else if c == '`' {
            let mut s = String::new();
            i += 1;
            while i < b.len() {
                if b[i] == '`' {
                    if b.get(i + 1) == Some(&'`') {
                        s.push('`');
                        i += 2;
                        continue;
                    }
                    break;
                }
                s.push(b[i]);
                i += 1;
            }
            i += 1;
            out.push(Tok::Quoted(s));
        } else if c == '\'' || c == '"' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            out.push(Tok::Punct('\''));
        } else if c.is_alphanumeric() || c == '_' || c == '$' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_' || b[i] == '$') {
                i += 1;
            }
            out.push(Tok::Word(b[start..i].iter().collect()));
        } else {
            out.push(Tok::Punct(c));
            i += 1;
        }
    }
    out
}

struct Cursor {
    toks: Vec<Tok>,
    at: usize,
}

impl Cursor {
    fn word(&self) -> Option<String> {
        match self.toks.get(self.at) {
            Some(Tok::Word(w)) => Some(w.to_ascii_lowercase()),
            _ => None,
        }
    }

    fn eat(&mut self, w: &str) -> bool {
        if self.word().as_deref() == Some(w) {
            self.at += 1;
            true
        } else {
            false
        }
    }

    fn ident(&mut self) -> Option<String> {
        let s = match self.toks.get(self.at)? {
            Tok::Word(w) => w.clone(),
            Tok::Quoted(q) => q.clone(),
            Tok::Punct(_) => return None,
        };
        self.at += 1;
        Some(s)
    }

    /// `name` or `db.name`.
    fn name(&mut self) -> Option<Name> {
        let first = self.ident()?;
        if self.toks.get(self.at) == Some(&Tok::Punct('.')) {
            self.at += 1;
            let second = self.ident()?;
            return Some((Some(first), second));
        }
        Some((None, first))
    }

    fn comma(&mut self) -> bool {
        if self.toks.get(self.at) == Some(&Tok::Punct(',')) {
            self.at += 1;
            true
        } else {
            false
        }
    }
}

/// The tables a statement changes the shape or contents of, if it is DDL on
/// tables (temporary tables are not in a row-based log).
pub fn parse(sql: &str) -> Option<Ddl> {
    let mut c = Cursor {
        toks: tokens(sql),
        at: 0,
    };
    let verb = c.word()?;
    c.at += 1;
    let mut tables = Vec::new();
    let verb = match verb.as_str() {
        "truncate" => {
            c.eat("table");
            tables.push(c.name()?);
            Verb::Truncate
        }
        "alter" => {
            while !c.eat("table") {
                let w = c.word()?;
                if !matches!(w.as_str(), "online" | "offline" | "ignore") {
                    return None;
                }
                c.at += 1;
            }
            c.eat("if");
            c.eat("exists");
            tables.push(c.name()?);
            Verb::Alter
        }
        "drop" => {
            if !c.eat("table") {
                return None;
            }
            if c.eat("if") {
                c.eat("exists");
            }
            loop {
                tables.push(c.name()?);
                if !c.comma() {
                    break;
                }
            }
            Verb::Drop
        }
        "rename" => {
            if !c.eat("table") {
                return None;
            }
            loop {
                tables.push(c.name()?);
                if !c.eat("to") {
                    return None;
                }
                tables.push(c.name()?);
                if !c.comma() {
                    break;
                }
            }
            Verb::Rename
        }
        "create" => {
            if c.eat("or") {
                c.eat("replace");
            }
            if !c.eat("table") {
                return None;
            }
            if c.eat("if") {
                c.eat("not");
                c.eat("exists");
            }
            tables.push(c.name()?);
            Verb::Create
        }
        _ => return None,
    };
    Some(Ddl { verb, tables })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(sql: &str) -> Option<(Verb, Vec<Name>)> {
        parse(sql).map(|d| (d.verb, d.tables))
    }

    #[test]
    fn ddl_names_its_tables() {
        let t = |s: &str| (None, s.to_string());
        assert_eq!(
            names("TRUNCATE TABLE `a``b`"),
            Some((Verb::Truncate, vec![t("a`b")]))
        );
        assert_eq!(names("truncate x"), Some((Verb::Truncate, vec![t("x")])));
        assert_eq!(
            names("/* c */ ALTER ONLINE TABLE db.`t` ADD COLUMN c INT"),
            Some((Verb::Alter, vec![(Some("db".into()), "t".into())]))
        );
        assert_eq!(
            names("DROP TABLE IF EXISTS `a`, b /* generated by server */"),
            Some((Verb::Drop, vec![t("a"), t("b")]))
        );
        assert_eq!(
            names("RENAME TABLE a TO b, c TO d"),
            Some((Verb::Rename, vec![t("a"), t("b"), t("c"), t("d")]))
        );
        assert_eq!(
            names("CREATE TABLE IF NOT EXISTS n (id int)"),
            Some((Verb::Create, vec![t("n")]))
        );
        assert_eq!(names("CREATE INDEX i ON t (c)"), None);
        assert_eq!(names("DROP TEMPORARY TABLE t"), None);
        assert_eq!(names("GRANT SELECT ON t TO u"), None);
        assert_eq!(names("ALTER USER u"), None);
    }
}
