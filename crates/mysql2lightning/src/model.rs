//! The MySQL catalog as one model, whichever way it was read: from a live server's
//! `information_schema` (`catalog.rs`) or from the `CREATE TABLE` statements of a
//! mysqldump file (`dump/ddl.rs`). Both readers normalise to this model, so that the
//! same database gives the same Lightning schema from either side.

/// A column as MySQL describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyColumn {
    pub name: String,
    /// `COLUMN_TYPE`, lower-case: `int(10) unsigned`, `varchar(45)`, `enum('a','b')`.
    pub column_type: String,
    pub nullable: bool,
    /// The default as MariaDB's `information_schema` shows it: string literals quoted
    /// (`'abc'`), numbers bare, `CURRENT_TIMESTAMP` for the current-time functions;
    /// `None` for no default or `DEFAULT NULL`.
    pub default: Option<String>,
    pub auto_increment: bool,
    /// `ON UPDATE CURRENT_TIMESTAMP`.
    pub on_update: Option<String>,
    /// Character set of a text column (`utf8mb4`, `latin1`), `None` for other types.
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// Generated column: (expression, stored).
    pub generated: Option<(String, bool)>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MyIndexKind {
    BTree,
    Hash,
    FullText,
    Spatial,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyIndex {
    pub name: String,
    pub kind: MyIndexKind,
    pub unique: bool,
    /// Columns with their prefix length (`SUB_PART`); a `None` name is an expression.
    pub columns: Vec<(Option<String>, Option<u32>)>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyForeignKey {
    pub name: String,
    pub columns: Vec<String>,
    pub ref_table: String,
    pub ref_columns: Vec<String>,
    /// `CASCADE`, `SET NULL`, `SET DEFAULT`; RESTRICT and NO ACTION (the same thing in
    /// InnoDB) are `None`.
    pub on_delete: Option<String>,
    pub on_update: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyCheck {
    /// `None` for a column-level check (MariaDB names those after the column).
    pub name: Option<String>,
    pub expression: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MyTable {
    pub name: String,
    pub columns: Vec<MyColumn>,
    pub primary_key: Vec<String>,
    pub indexes: Vec<MyIndex>,
    pub foreign_keys: Vec<MyForeignKey>,
    pub checks: Vec<MyCheck>,
    pub engine: Option<String>,
    /// The table's default collation (`utf8mb4_general_ci`).
    pub collation: Option<String>,
    /// The next AUTO_INCREMENT value.
    pub auto_increment: Option<u64>,
    pub partitioned: bool,
    /// Row count estimate (server: `TABLE_ROWS`), bytes of data and indexes.
    pub rows_estimate: u64,
    pub size_bytes: u64,
}

impl MyTable {
    /// Put indexes, foreign keys and checks in a stable order (by name), so that the
    /// order a catalog lists them in does not matter.
    pub fn normalise(&mut self) {
        self.indexes.sort_by(|a, b| a.name.cmp(&b.name));
        self.foreign_keys.sort_by(|a, b| a.name.cmp(&b.name));
        self.checks.sort_by(|a, b| {
            (a.name.as_deref(), &a.expression).cmp(&(b.name.as_deref(), &b.expression))
        });
    }
}

/// An object that is not a table: listed in the report as manual work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MyObject {
    /// `view`, `trigger`, `procedure`, `function`, `event`, `sequence`.
    pub kind: String,
    pub name: String,
    /// For triggers: the table it belongs to.
    pub table: Option<String>,
    pub definition: String,
}

/// A whole catalog: tables in order, and the other objects.
#[derive(Debug, Clone, Default)]
pub struct MyCatalog {
    pub tables: Vec<MyTable>,
    pub objects: Vec<MyObject>,
    /// Notes about the source as a whole (server version, time zone decisions, ...).
    pub notes: Vec<String>,
}

/// Split the values of `enum('a','b c')` / `set(...)`, undoing `''` and backslash
/// escapes.
pub fn enum_values(column_type: &str) -> Vec<String> {
    let Some(open) = column_type.find('(') else {
        return Vec::new();
    };
    let b = column_type.as_bytes();
    let mut out = Vec::new();
    let mut i = open + 1;
    while i < b.len() {
        match b[i] {
            b'\'' => {
                let mut v = Vec::new();
                i += 1;
                while i < b.len() {
                    match b[i] {
                        b'\'' if b.get(i + 1) == Some(&b'\'') => {
                            v.push(b'\'');
                            i += 2;
                        }
                        b'\'' => {
                            i += 1;
                            break;
                        }
                        b'\\' if i + 1 < b.len() => {
                            v.push(b[i + 1]);
                            i += 2;
                        }
                        c => {
                            v.push(c);
                            i += 1;
                        }
                    }
                }
                out.push(String::from_utf8_lossy(&v).into_owned());
            }
            b')' => break,
            _ => i += 1,
        }
    }
    out
}

/// Quote a value as a MySQL string literal (`''` for a quote).
pub fn quote_literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Render `enum`/`set` values back in MySQL's `COLUMN_TYPE` form.
pub fn render_enum(kind: &str, values: &[String]) -> String {
    let v: Vec<String> = values.iter().map(|x| quote_literal(x)).collect();
    format!("{kind}({})", v.join(","))
}

/// Normalise a default expression: the current-time functions in any spelling become
/// `CURRENT_TIMESTAMP` (with its precision when one is given).
pub fn normalise_default(expr: &str) -> String {
    let t = expr.trim();
    let lower = t.to_ascii_lowercase();
    for f in [
        "current_timestamp",
        "now",
        "localtimestamp",
        "localtime",
        "current_date",
        "curdate",
        "current_time",
        "curtime",
    ] {
        if let Some(rest) = lower.strip_prefix(f) {
            let rest = rest.trim();
            let args = rest
                .strip_prefix('(')
                .and_then(|r| r.strip_suffix(')'))
                .map(str::trim);
            if rest.is_empty() || args.is_some() {
                let base = match f {
                    "current_date" | "curdate" => "CURRENT_DATE",
                    "current_time" | "curtime" => "CURRENT_TIME",
                    _ => "CURRENT_TIMESTAMP",
                };
                return match args {
                    Some(p) if !p.is_empty() && p != "0" => format!("{base}({p})"),
                    _ => base.to_string(),
                };
            }
        }
    }
    t.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enum_values_are_unescaped() {
        assert_eq!(
            enum_values("enum('a','b c','it''s','x\\'y')"),
            vec!["a", "b c", "it's", "x'y"]
        );
        assert_eq!(enum_values("set('')"), vec![""]);
    }

    #[test]
    fn current_time_defaults_are_one_spelling() {
        assert_eq!(
            normalise_default("current_timestamp()"),
            "CURRENT_TIMESTAMP"
        );
        assert_eq!(normalise_default("CURRENT_TIMESTAMP"), "CURRENT_TIMESTAMP");
        assert_eq!(normalise_default("now(6)"), "CURRENT_TIMESTAMP(6)");
        assert_eq!(normalise_default("'now'"), "'now'");
    }
}
