//! The geometry of the report's inline SVG bar charts, computed here in
//! plain numbers; `templates/report/report.html.tera` draws them (with
//! autoescaping, so a label or tooltip is always text, never markup).

use serde::Serialize;

/// One bar as given: its label, its value, the tooltip text and where it
/// stands against the retention cutoff.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) value: u64,
    pub(crate) tip: String,
    pub(crate) standing: Standing,
}

/// Where a bar's traces stand against the retention cutoff (retention
/// plus grace): the template colours each kind and its legend names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Standing {
    /// Every trace of the bar is within retention.
    Within,
    /// Some of its days are past the cutoff (an age bucket across it).
    Partly,
    /// Every trace of the bar is past the cutoff.
    Past,
}

/// The cutoff as given: where it falls, in bars from the left (`2.0`:
/// between the second and third bar; `2.5`: inside the third), and its
/// label.
#[derive(Debug, Clone)]
pub(crate) struct CutoffAt {
    pub(crate) bars: f64,
    pub(crate) text: String,
}

/// The cutoff's vertical line and label, laid out.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CutoffLine {
    pub(crate) x: u64,
    pub(crate) top: u64,
    pub(crate) bottom: u64,
    pub(crate) text: String,
}

const WIDTH: u64 = 720;
const HEIGHT: u64 = 220;
const LEFT: u64 = 56;
const BOTTOM: u64 = 40;
const TOP: u64 = 12;

/// A vertical bar chart, laid out: what the template draws.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Chart {
    /// The element id (`volume-per-day`, `age-histogram`).
    pub(crate) id: &'static str,
    /// The section heading above the chart.
    pub(crate) heading: &'static str,
    /// The chart's accessible name.
    pub(crate) title: &'static str,
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) axis: Axis,
    pub(crate) bars: Vec<PlacedBar>,
    /// The retention cutoff's line, when it falls within the chart.
    pub(crate) cutoff: Option<CutoffLine>,
    /// Whether any bar is past the cutoff (wholly or partly).
    pub(crate) any_past: bool,
}

/// The two axis lines and the scale's labels (0 and the maximum).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Axis {
    pub(crate) left: u64,
    pub(crate) top: u64,
    /// The y of the horizontal axis (value 0).
    pub(crate) bottom: u64,
    /// The x where the horizontal axis ends.
    pub(crate) right: u64,
    /// The x of the right-aligned scale labels.
    pub(crate) label_x: u64,
    /// The y of the maximum's label.
    pub(crate) max_y: u64,
    pub(crate) max: u64,
}

/// One bar's rectangle, tooltip and (when there is room) axis label.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct PlacedBar {
    pub(crate) x: u64,
    pub(crate) y: u64,
    pub(crate) width: u64,
    pub(crate) height: u64,
    pub(crate) tip: String,
    pub(crate) standing: Standing,
    pub(crate) label: Option<Label>,
}

/// A label under the horizontal axis, centred on its bar.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Label {
    pub(crate) x: u64,
    pub(crate) y: u64,
    pub(crate) text: String,
}

/// Lays out `bars` as a chart with this id, heading and accessible title,
/// and the retention cutoff's line where `cutoff` puts it.
pub(crate) fn bar_chart(
    id: &'static str,
    heading: &'static str,
    title: &'static str,
    bars: &[Bar],
    cutoff: Option<CutoffAt>,
) -> Chart {
    let plot_w = WIDTH - LEFT - 8;
    let plot_h = HEIGHT - BOTTOM - TOP;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1);
    let n = bars.len().max(1) as u64;
    let slot = plot_w / n;
    let gap = (slot / 5).max(1);
    // Every label when they fit, else every k-th.
    let every = (n * 70 / plot_w).max(1);
    let placed = (0_u64..)
        .zip(bars)
        .map(|(i, bar)| {
            let height = bar.value * plot_h / max;
            let x = LEFT + i * slot + gap / 2;
            PlacedBar {
                x,
                y: TOP + plot_h - height,
                width: slot.saturating_sub(gap).max(1),
                height,
                tip: bar.tip.clone(),
                standing: bar.standing,
                label: (i % every == 0).then(|| Label {
                    x: x + slot / 2,
                    y: TOP + plot_h + 16,
                    text: bar.label.clone(),
                }),
            }
        })
        .collect();
    Chart {
        id,
        heading,
        title,
        width: WIDTH,
        height: HEIGHT,
        axis: Axis {
            left: LEFT,
            top: TOP,
            bottom: TOP + plot_h,
            right: LEFT + plot_w,
            label_x: LEFT - 4,
            max_y: TOP + 10,
            max,
        },
        bars: placed,
        cutoff: cutoff
            .filter(|at| at.bars >= 0.0 && at.bars <= n as f64)
            .map(|at| CutoffLine {
                // Whole pixels: the position of a chart, not a measurement.
                #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
                x: LEFT + (at.bars * slot as f64).round() as u64,
                top: TOP,
                bottom: TOP + plot_h,
                text: at.text,
            }),
        any_past: bars.iter().any(|b| b.standing != Standing::Within),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bars(n: u64) -> Vec<Bar> {
        (0..n)
            .map(|i| Bar {
                label: format!("d{i}"),
                value: i,
                tip: format!("{i}"),
                standing: if i < 2 {
                    Standing::Past
                } else {
                    Standing::Within
                },
            })
            .collect()
    }

    #[test]
    fn one_bar_per_value_scaled_to_the_tallest() {
        let chart = bar_chart("c", "C", "Chart", &bars(3), None);
        assert_eq!(chart.bars.len(), 3);
        assert_eq!(chart.axis.max, 2);
        let plot_h = chart.axis.bottom - chart.axis.top;
        assert_eq!(chart.bars[2].height, plot_h, "the tallest fills the plot");
        assert_eq!(chart.bars[0].height, 0);
        assert!(
            chart
                .bars
                .iter()
                .all(|b| b.y + b.height == chart.axis.bottom)
        );
        assert!(bar_chart("e", "E", "Empty", &[], None).bars.is_empty());
    }

    #[test]
    fn labels_thin_out_when_they_would_overlap() {
        let chart = bar_chart("c", "C", "Chart", &bars(400), None);
        let labelled = chart.bars.iter().filter(|b| b.label.is_some()).count();
        assert!(labelled < 400 && labelled > 1, "{labelled}");
        assert!(chart.bars.iter().all(|b| b.x + b.width <= chart.axis.right));
    }

    #[test]
    fn the_cutoff_line_falls_between_or_inside_bars_and_only_within_the_chart() {
        let at = |bars: f64| {
            Some(CutoffAt {
                bars,
                text: "cutoff".into(),
            })
        };
        let chart = bar_chart("c", "C", "Chart", &bars(4), at(2.0));
        let slot = chart.bars[1].x - chart.bars[0].x;
        let line = chart.cutoff.as_ref().map(|c| c.x);
        assert_eq!(line, Some(chart.axis.left + 2 * slot));
        assert!(chart.any_past);
        assert_eq!(chart.bars[0].standing, Standing::Past);
        let inside = bar_chart("c", "C", "Chart", &bars(4), at(2.5));
        assert_eq!(
            inside.cutoff.map(|c| c.x),
            Some(chart.axis.left + 2 * slot + slot / 2)
        );
        assert!(
            bar_chart("c", "C", "Chart", &bars(4), at(4.5))
                .cutoff
                .is_none()
        );
        assert!(
            bar_chart("c", "C", "Chart", &bars(4), at(-1.0))
                .cutoff
                .is_none()
        );
    }
}
