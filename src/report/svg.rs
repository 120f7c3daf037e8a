//! Inline SVG bar charts for the HTML report: no script, no external asset.

use std::fmt::Write;

/// One bar: its label, its value and the tooltip text.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub value: u64,
    pub tip: String,
}

const WIDTH: u64 = 720;
const HEIGHT: u64 = 220;
const LEFT: u64 = 56;
const BOTTOM: u64 = 40;
const TOP: u64 = 12;

/// A vertical bar chart titled `title` (the chart's accessible name).
pub fn bar_chart(id: &str, title: &str, bars: &[Bar]) -> String {
    let mut s = String::new();
    let _ = write!(
        s,
        r#"<svg id="{id}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{t}"><title>{t}</title>"#,
        t = escape(title)
    );
    let plot_w = WIDTH - LEFT - 8;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let _ = write!(
        s,
        r##"<line x1="{LEFT}" y1="{TOP}" x2="{LEFT}" y2="{y0}" stroke="#888"/><line x1="{LEFT}" y1="{y0}" x2="{x1}" y2="{y0}" stroke="#888"/><text x="{lx}" y="{ty}" class="axis" text-anchor="end">{max}</text><text x="{lx}" y="{y0}" class="axis" text-anchor="end">0</text>"##,
        y0 = TOP + plot_h,
        x1 = LEFT + plot_w,
        lx = LEFT - 4,
        ty = TOP + 10,
    );
    let n = bars.len().max(1) as u64;
    let slot = plot_w / n;
    let gap = (slot / 5).max(1);
    // Every label when they fit, else every k-th.
    let every = (n * 70 / plot_w).max(1);
    for (i, bar) in (0_u64..).zip(bars) {
        let h = bar.value * plot_h / max;
        let x = LEFT + i * slot + gap / 2;
        let y = TOP + plot_h - h;
        let _ = write!(
            s,
            r#"<rect class="bar" x="{x}" y="{y}" width="{w}" height="{h}"><title>{tip}</title></rect>"#,
            w = slot.saturating_sub(gap).max(1),
            tip = escape(&bar.tip)
        );
        if i % every == 0 {
            let _ = write!(
                s,
                r#"<text x="{cx}" y="{ly}" class="axis" text-anchor="middle">{label}</text>"#,
                cx = x + slot / 2,
                ly = TOP + plot_h + 16,
                label = escape(&bar.label)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Escapes text for HTML and SVG content and attributes.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup() {
        assert_eq!(
            escape(r#"<a href="x">&'"#),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
    }

    #[test]
    fn draws_one_rect_per_bar_even_when_empty() {
        let bars: Vec<Bar> = (0..3)
            .map(|i| Bar {
                label: format!("d{i}"),
                value: i,
                tip: format!("{i}"),
            })
            .collect();
        let svg = bar_chart("c", "Chart <1>", &bars);
        assert_eq!(svg.matches("<rect").count(), 3);
        assert!(svg.contains("Chart &lt;1&gt;"));
        assert!(bar_chart("e", "Empty", &[]).ends_with("</svg>"));
    }
}
