//! Charts as inline SVG: written by hand, so the page needs nothing else.

use std::fmt::Write as _;

use super::html::esc;
use super::Chart;

const WIDTH: f64 = 760.0;
/// Room for the labels left of the bars.
const LABEL: f64 = 190.0;
/// Room for the values right of the longest bar.
const VALUE: f64 = 110.0;
const ROW: f64 = 24.0;
const TOP: f64 = 30.0;
/// Labels longer than this are shortened (the whole label is the bar's tooltip).
const LABEL_CHARS: usize = 26;
const BAR_COLOUR: &str = "#4a72b0";

/// A horizontal bar chart, each bar labelled with its value.
pub fn bar_chart(c: &Chart) -> String {
    let max = c.bars.iter().map(|b| b.value).fold(0.0_f64, f64::max);
    let span = WIDTH - LABEL - VALUE;
    let height = TOP + ROW * c.bars.len() as f64 + 6.0;
    let title = esc(&c.title);
    let mut s = String::new();
    let _ = write!(
        s,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" \
         viewBox=\"0 0 {WIDTH} {height}\" role=\"img\" aria-label=\"{title}\" \
         font-family=\"system-ui, sans-serif\" font-size=\"12\">\
         <title>{title}</title>\
         <text x=\"0\" y=\"16\" font-size=\"13\" font-weight=\"600\" fill=\"#1f2328\">{title}</text>"
    );
    for (i, b) in c.bars.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let w = if max > 0.0 && b.value > 0.0 {
            (b.value / max * span).max(1.0)
        } else {
            0.0
        };
        let label = if b.label.chars().count() > LABEL_CHARS {
            let cut: String = b.label.chars().take(LABEL_CHARS - 1).collect();
            format!("{cut}…")
        } else {
            b.label.clone()
        };
        let fill = b.tone.map_or(BAR_COLOUR, |t| t.colour());
        let _ = write!(
            s,
            "<g><title>{full}: {shown}</title>\
             <text x=\"{lx}\" y=\"{ty}\" text-anchor=\"end\" fill=\"#1f2328\">{label}</text>\
             <rect x=\"{LABEL}\" y=\"{y}\" width=\"{w:.1}\" height=\"16\" rx=\"2\" fill=\"{fill}\"/>\
             <text x=\"{vx:.1}\" y=\"{ty}\" fill=\"#57606a\">{shown}</text></g>",
            full = esc(&b.label),
            shown = esc(&b.shown),
            label = esc(&label),
            lx = LABEL - 8.0,
            ty = y + 12.5,
            vx = LABEL + w + 6.0,
        );
    }
    s.push_str("</svg>");
    s
}
