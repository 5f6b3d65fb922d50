//! A report as plain text for the terminal: tables fit about [`WIDTH`] columns,
//! long cells wrap onto continuation lines at word boundaries.

use std::fmt::Write as _;

use super::{Cell, Report, Section};
use crate::text::for_terminal;

/// The width a summary is made to fit.
pub const WIDTH: usize = 100;
/// Narrower than this, a column is not narrowed further to make a table fit.
const MIN_COLUMN: usize = 14;

/// The plain-text summary (the header and charts are for the page: the tables
/// hold the same numbers).
pub fn to_terminal(r: &dyn Report) -> String {
    let mut t = format!("{}\n", for_terminal(&r.title()));
    for s in r.sections() {
        section(&mut t, &s);
    }
    t
}

fn section(t: &mut String, s: &Section) {
    let _ = writeln!(t, "\n== {} ==", for_terminal(&s.heading));
    for (k, v) in &s.facts {
        let k = for_terminal(k);
        let indent = k.chars().count() + 4;
        let lines = wrap(&shown(v), WIDTH.saturating_sub(indent).max(MIN_COLUMN));
        let _ = writeln!(t, "  {k}: {}", lines.join(&format!("\n{:indent$}", "")));
    }
    for p in &s.paragraphs {
        for line in wrap(&for_terminal(p), WIDTH - 2) {
            let _ = writeln!(t, "  {line}");
        }
    }
    for (i, step) in s.steps.iter().enumerate() {
        let tick = if step.done.is_some() { "[x]" } else { "[ ]" };
        let text = match &step.done {
            Some(d) => format!("{} (done: {d})", step.text),
            None => step.text.clone(),
        };
        let lead = format!("  {tick} {}. ", i + 1);
        let indent = lead.chars().count();
        let lines = wrap(
            &for_terminal(&text),
            WIDTH.saturating_sub(indent).max(MIN_COLUMN),
        );
        let _ = writeln!(t, "{lead}{}", lines.join(&format!("\n{:indent$}", "")));
        if let Some(c) = &step.command {
            for line in c.lines() {
                let _ = writeln!(t, "{:indent$}$ {}", "", for_terminal(line));
            }
        }
    }
    if s.header.is_empty() || s.rows.is_empty() {
        return;
    }
    let cells: Vec<Vec<String>> = s
        .rows
        .iter()
        .map(|r| r.iter().take(s.header.len()).map(shown).collect())
        .collect();
    let numeric: Vec<bool> = (0..s.header.len())
        .map(|i| s.rows.iter().all(|r| r.get(i).is_none_or(Cell::is_numeric)))
        .collect();
    // Cells cut to their first line (definitions) give up room first.
    let cut: Vec<bool> = (0..s.header.len())
        .map(|i| {
            s.rows
                .iter()
                .any(|r| r.get(i).is_some_and(|c| c.text().contains('\n')))
        })
        .collect();
    let widths = widths(&s.header, &cells, &numeric, &cut);
    let mut print = |row: Vec<Vec<String>>| {
        let height = row.iter().map(Vec::len).max().unwrap_or(1);
        for l in 0..height {
            let parts: Vec<String> = row
                .iter()
                .enumerate()
                .map(|(i, lines)| {
                    let c = lines.get(l).map_or("", String::as_str);
                    if numeric[i] {
                        format!("{c:>w$}", w = widths[i])
                    } else {
                        format!("{c:<w$}", w = widths[i])
                    }
                })
                .collect();
            let _ = writeln!(t, "  {}", parts.join("  ").trim_end());
        }
    };
    print(
        s.header
            .iter()
            .map(|h| vec![for_terminal(h).into_owned()])
            .collect(),
    );
    for row in cells {
        print(
            row.iter()
                .enumerate()
                .map(|(i, c)| wrap(c, widths[i]))
                .collect(),
        );
    }
}

/// A cell on one line, escaped: of several lines (a definition) only the first
/// is shown, marked as cut.
fn shown(c: &Cell) -> String {
    let text = c.text();
    let mut lines = text.lines();
    let first = for_terminal(lines.next().unwrap_or("")).into_owned();
    if lines.next().is_some() {
        format!("{first} …")
    } else {
        first
    }
}

/// Column widths: what the cells need, the widest text columns narrowed until
/// the table fits [`WIDTH`] (numbers are never narrowed), columns of `cut` cells
/// first.
fn widths(header: &[String], cells: &[Vec<String>], numeric: &[bool], cut: &[bool]) -> Vec<usize> {
    let mut w: Vec<usize> = header.iter().map(|h| h.chars().count()).collect();
    for row in cells {
        for (i, c) in row.iter().enumerate() {
            w[i] = w[i].max(c.chars().count());
        }
    }
    let room = WIDTH.saturating_sub(2 + 2 * w.len().saturating_sub(1));
    while w.iter().sum::<usize>() > room {
        let narrowable =
            |i: &usize| !numeric[*i] && w[*i] > MIN_COLUMN.max(header[*i].chars().count());
        let widest = (0..w.len())
            .filter(|i| cut[*i] && narrowable(i))
            .max_by_key(|&i| w[i])
            .or_else(|| (0..w.len()).filter(narrowable).max_by_key(|&i| w[i]));
        match widest {
            Some(i) => w[i] -= 1,
            None => break,
        }
    }
    w
}

/// `text` in lines of at most `width` characters, broken at spaces where it can
/// be (a word longer than a line is cut).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let width = width.max(1);
    let mut lines = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        let mut word = word.to_string();
        loop {
            let len = line.chars().count();
            let wlen = word.chars().count();
            let sep = usize::from(len > 0);
            if len + sep + wlen <= width {
                if sep == 1 {
                    line.push(' ');
                }
                line.push_str(&word);
                break;
            }
            if len > 0 {
                lines.push(std::mem::take(&mut line));
                continue;
            }
            // A word longer than a whole line.
            let head: String = word.chars().take(width).collect();
            word = word.chars().skip(width).collect();
            lines.push(head);
        }
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}
