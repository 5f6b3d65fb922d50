//! `verify --query`: the same SQL on the source and on the store, results compared
//! value by value. The source tool runs it on its database; the store's side runs
//! in the `lightning` tool (`lightning query --format tsv`), which carries the SQL
//! engine so that the source tools do not. Values are compared in PostgreSQL's text
//! forms, which `lightning query` prints.

use std::path::Path;
use std::process::Command;

use serde::Serialize;

/// Result rows: each value in text, `None` for NULL.
pub type TextRows = Vec<Vec<Option<String>>>;

/// One query compared.
#[derive(Debug, Clone, Serialize)]
pub struct QueryCheck {
    pub sql: String,
    pub equal: bool,
    pub source_rows: usize,
    pub target_rows: usize,
    /// The first difference, or why the query could not be compared.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub difference: Option<String>,
}

/// The statements of a file of queries, split at `;` outside quotes and comments.
pub fn split_statements(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut chars = text.chars().peekable();
    let mut quote: Option<char> = None;
    while let Some(c) = chars.next() {
        match quote {
            Some(q) => {
                cur.push(c);
                if c == q {
                    quote = None;
                }
            }
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                cur.push(c);
            }
            None if c == '-' && chars.peek() == Some(&'-') => {
                for c in chars.by_ref() {
                    if c == '\n' {
                        cur.push('\n');
                        break;
                    }
                }
            }
            None if c == ';' => out.push(std::mem::take(&mut cur)),
            None => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect()
}

/// The `lightning` tool: beside this program, else on PATH.
fn lightning_program() -> std::path::PathBuf {
    let name = format!("lightning{}", std::env::consts::EXE_SUFFIX);
    std::env::current_exe()
        .ok()
        .map(|exe| exe.with_file_name(&name))
        .filter(|p| p.is_file())
        .unwrap_or_else(|| name.into())
}

/// Run `sql` on the store with `lightning query` and read its rows.
pub fn store_rows(target: &Path, sql: &str) -> anyhow::Result<TextRows> {
    let program = lightning_program();
    let out = Command::new(&program)
        .args(["query", "--format", "tsv"])
        .arg(target)
        .arg(sql)
        .output()
        .map_err(|e| {
            anyhow::anyhow!(
                "`verify --query` runs the query on the store with the `lightning` tool, which could not be started ({e}): install it beside this tool or on PATH"
            )
        })?;
    if !out.status.success() {
        let err = String::from_utf8_lossy(&out.stderr);
        anyhow::bail!("{}", err.trim().trim_start_matches("error: "));
    }
    Ok(parse_tsv(&String::from_utf8_lossy(&out.stdout)))
}

/// Rows in PostgreSQL's COPY text format after a header line: tab-separated,
/// `\N` for NULL, backslash escapes.
pub fn parse_tsv(text: &str) -> TextRows {
    text.lines()
        .skip(1)
        .map(|line| {
            line.split('\t')
                .map(|f| (f != "\\N").then(|| unescape(f)))
                .collect()
        })
        .collect()
}

fn unescape(f: &str) -> String {
    let mut out = String::with_capacity(f.len());
    let mut chars = f.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

/// A value in COPY text format (the inverse of `parse_tsv`'s fields).
pub fn escape_tsv(v: Option<&str>) -> String {
    let Some(s) = v else {
        return "\\N".into();
    };
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            c => out.push(c),
        }
    }
    out
}

fn show(row: &[Option<String>]) -> String {
    let vals: Vec<String> = row
        .iter()
        .map(|v| match v {
            None => "NULL".into(),
            Some(s) => format!("'{s}'"),
        })
        .collect();
    format!("({})", vals.join(", "))
}

/// Compare the rows of one query, in order.
pub fn compare(sql: &str, source: &TextRows, target: &TextRows) -> QueryCheck {
    let difference = source
        .iter()
        .zip(target)
        .position(|(s, t)| s != t)
        .map(|i| {
            format!(
                "row {}: source {} but target {}",
                i + 1,
                show(&source[i]),
                show(&target[i])
            )
        })
        .or_else(|| {
            (source.len() != target.len()).then(|| {
                format!(
                    "the source gives {} rows, the target {}",
                    source.len(),
                    target.len()
                )
            })
        });
    QueryCheck {
        sql: sql.to_string(),
        equal: difference.is_none(),
        source_rows: source.len(),
        target_rows: target.len(),
        difference,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_split_outside_quotes_and_comments() {
        let s = split_statements("SELECT ';' AS x; -- a; comment\nSELECT \"a;b\" FROM t;\n\n");
        assert_eq!(s, ["SELECT ';' AS x", "SELECT \"a;b\" FROM t"]);
    }

    #[test]
    fn tsv_round_trips_nulls_and_escapes() {
        let row = [None, Some("a\tb\\c\nd"), Some("")];
        let line: Vec<String> = row.iter().map(|v| escape_tsv(*v)).collect();
        let parsed = parse_tsv(&format!("h1\th2\th3\n{}\n", line.join("\t")));
        let want: Vec<Option<String>> = row.iter().map(|v| v.map(str::to_string)).collect();
        assert_eq!(parsed, vec![want]);
    }

    #[test]
    fn the_first_difference_is_named() {
        let a = vec![vec![Some("1".into())], vec![Some("2".into())]];
        let b = vec![vec![Some("1".into())], vec![None]];
        let c = compare("q", &a, &b);
        assert!(!c.equal);
        assert_eq!(
            c.difference.unwrap(),
            "row 2: source ('2') but target (NULL)"
        );
        assert!(compare("q", &a, &a).equal);
        let short = compare("q", &a, &a[..1].to_vec());
        assert_eq!(
            short.difference.unwrap(),
            "the source gives 2 rows, the target 1"
        );
    }
}
