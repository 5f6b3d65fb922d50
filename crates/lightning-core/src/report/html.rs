//! A report as one self-contained HTML page: inline CSS and SVG, no scripts,
//! nothing fetched.

use std::fmt::Write as _;

use super::{svg, Cell, Report, Section, Tone};

pub(super) fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

const STYLE: &str = "\
*{box-sizing:border-box}\
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;font-size:14px;line-height:1.45;\
color:#1f2328;background:#fff;margin:0;padding:24px 32px 48px;max-width:1240px}\
h1{font-size:22px;margin:0 0 12px}\
h2{font-size:17px;margin:28px 0 10px;padding-bottom:4px;border-bottom:1px solid #d0d7de}\
header{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:16px 20px}\
header table{margin:0}header td,header th{border:0;padding:2px 16px 2px 0;background:none}\
header td.num{text-align:left}\
table{border-collapse:collapse;margin:6px 0 14px}\
td,th{border:1px solid #d0d7de;padding:4px 10px;text-align:left;vertical-align:top;overflow-wrap:break-word}\
th{background:#f6f8fa;font-weight:600}\
table.facts th{min-width:12em}table.facts td{min-width:9em}\
td.num{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}\
pre,code{font-family:ui-monospace,'SFMono-Regular',Menlo,Consolas,monospace;font-size:12px}\
pre{margin:0;white-space:pre-wrap}\
.badge{display:inline-block;padding:1px 8px;border-radius:10px;font-weight:600;font-size:12px;white-space:nowrap}\
ol.steps li{margin:6px 0}ol.steps pre{background:#f6f8fa;border:1px solid #d0d7de;border-radius:6px;padding:6px 10px;margin:4px 0}\
figure{margin:8px 0 14px}p{margin:6px 0;max-width:60em}p.none{color:#57606a}";

/// The page of a report.
pub fn to_html(r: &dyn Report) -> String {
    let title = esc(&r.title());
    let mut h = String::new();
    let _ = write!(
        h,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\
         <meta name=\"viewport\" content=\"width=device-width\"><title>{title}</title><style>{STYLE}"
    );
    for t in Tone::ALL {
        let _ = write!(
            h,
            ".{}{{background:{};color:{}}}",
            t.class(),
            t.colour(),
            t.text_colour()
        );
    }
    let _ = write!(h, "</style></head><body>\n<header><h1>{title}</h1>");
    facts(&mut h, &r.header());
    h.push_str("</header>\n");
    for s in r.sections() {
        section(&mut h, &s);
    }
    h.push_str("</body></html>\n");
    h
}

fn section(h: &mut String, s: &Section) {
    let _ = writeln!(h, "<h2>{}</h2>", esc(&s.heading));
    facts(h, &s.facts);
    for p in &s.paragraphs {
        let _ = writeln!(h, "<p>{}</p>", esc(p));
    }
    for c in &s.charts {
        let _ = writeln!(h, "<figure>{}</figure>", svg::bar_chart(c));
    }
    steps(h, &s.steps);
    if s.header.is_empty() {
        return;
    }
    if s.rows.is_empty() {
        h.push_str("<p class=\"none\">None.</p>\n");
        return;
    }
    h.push_str("<table><tr>");
    // A column of numbers has its heading over the numbers.
    for (i, c) in s.header.iter().enumerate() {
        let numeric = s.rows.iter().all(|r| r.get(i).is_none_or(Cell::is_numeric));
        let class = if numeric { " class=\"num\"" } else { "" };
        let _ = write!(h, "<th{class}>{}</th>", esc(c));
    }
    h.push_str("</tr>\n");
    for row in &s.rows {
        h.push_str("<tr>");
        for c in row {
            cell(h, c);
        }
        h.push_str("</tr>\n");
    }
    h.push_str("</table>\n");
}

/// Steps as a list of tick boxes, each command below its step.
fn steps(h: &mut String, steps: &[super::Step]) {
    if steps.is_empty() {
        return;
    }
    h.push_str("<ol class=\"steps\">\n");
    for s in steps {
        let _ = write!(
            h,
            "<li><label><input type=\"checkbox\"{}> {}</label>",
            if s.done.is_some() { " checked" } else { "" },
            esc(&s.text)
        );
        if let Some(d) = &s.done {
            let _ = write!(h, " <span class=\"badge good\">done</span> {}", esc(d));
        }
        if let Some(c) = &s.command {
            let _ = write!(h, "<pre><code>{}</code></pre>", esc(c));
        }
        h.push_str("</li>\n");
    }
    h.push_str("</ol>\n");
}

fn facts(h: &mut String, facts: &[(String, Cell)]) {
    if facts.is_empty() {
        return;
    }
    h.push_str("<table class=\"facts\">");
    for (k, v) in facts {
        let _ = write!(h, "<tr><th>{}</th>", esc(k));
        cell(h, v);
        h.push_str("</tr>");
    }
    h.push_str("</table>\n");
}

fn cell(h: &mut String, c: &Cell) {
    let _ = match c {
        Cell::Count(_) | Cell::Measure(_) => {
            write!(h, "<td class=\"num\">{}</td>", esc(&c.text()))
        }
        Cell::Badge(tone, s) => write!(
            h,
            "<td><span class=\"badge {}\">{}</span></td>",
            tone.class(),
            esc(s)
        ),
        Cell::Code(s) => write!(h, "<td><code>{}</code></td>", esc(s)),
        Cell::Text(s) if s.contains('\n') => write!(h, "<td><pre>{}</pre></td>", esc(s)),
        Cell::Text(s) => write!(h, "<td>{}</td>", esc(s)),
    };
}
