//! A report as Markdown: headings, facts as a list, tables, and steps as a task
//! list with each command in a `sh` block (copied into a shell as it is).

use std::fmt::Write as _;

use super::{Cell, Report, Section};

/// A cell's text made safe inside a table row.
fn in_table(c: &Cell) -> String {
    let text = c.text().replace('|', "\\|").replace('\n', "<br>");
    match c {
        Cell::Code(_) if !text.contains('`') => format!("`{text}`"),
        Cell::Badge(..) => format!("**{text}**"),
        _ => text,
    }
}

pub fn to_markdown(r: &dyn Report) -> String {
    let mut m = format!("# {}\n\n", r.title());
    for (k, v) in r.header() {
        let _ = writeln!(m, "- {k}: {}", in_table(&v));
    }
    for s in r.sections() {
        section(&mut m, &s);
    }
    m
}

fn section(m: &mut String, s: &Section) {
    let _ = write!(m, "\n## {}\n\n", s.heading);
    for (k, v) in &s.facts {
        let _ = writeln!(m, "- **{k}**: {}", in_table(v));
    }
    if !s.facts.is_empty() {
        m.push('\n');
    }
    for p in &s.paragraphs {
        let _ = write!(m, "{p}\n\n");
    }
    for step in &s.steps {
        let tick = if step.done.is_some() { "x" } else { " " };
        let _ = write!(m, "- [{tick}] {}", step.text);
        if let Some(d) = &step.done {
            let _ = write!(m, " — *done: {d}*");
        }
        m.push('\n');
        if let Some(c) = &step.command {
            m.push_str("\n  ```sh\n");
            for line in c.lines() {
                let _ = writeln!(m, "  {line}");
            }
            m.push_str("  ```\n\n");
        }
    }
    if s.steps.last().is_some_and(|s| s.command.is_none()) {
        m.push('\n');
    }
    if s.header.is_empty() {
        return;
    }
    if s.rows.is_empty() {
        m.push_str("None.\n");
        return;
    }
    let _ = writeln!(m, "| {} |", s.header.join(" | "));
    let rule: Vec<&str> = (0..s.header.len())
        .map(|i| {
            if s.rows.iter().all(|r| r.get(i).is_none_or(Cell::is_numeric)) {
                "---:"
            } else {
                "---"
            }
        })
        .collect();
    let _ = writeln!(m, "| {} |", rule.join(" | "));
    for row in &s.rows {
        let cells: Vec<String> = row.iter().take(s.header.len()).map(in_table).collect();
        let _ = writeln!(m, "| {} |", cells.join(" | "));
    }
}
