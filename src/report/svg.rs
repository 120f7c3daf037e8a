//! The geometry of the report's inline SVG bar charts, computed here in
//! plain numbers; `templates/report/report.html.tera` draws them (with
//! autoescaping, so a label or tooltip is always text, never markup).

use serde::Serialize;

/// One bar as given: its label, its value and the tooltip text.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub(crate) label: String,
    pub(crate) value: u64,
    pub(crate) tip: String,
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
    pub(crate) label: Option<Label>,
}

/// A label under the horizontal axis, centred on its bar.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Label {
    pub(crate) x: u64,
    pub(crate) y: u64,
    pub(crate) text: String,
}

/// Lays out `bars` as a chart with this id, heading and accessible title.
pub(crate) fn bar_chart(
    id: &'static str,
    heading: &'static str,
    title: &'static str,
    bars: &[Bar],
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
            })
            .collect()
    }

    #[test]
    fn one_bar_per_value_scaled_to_the_tallest() {
        let chart = bar_chart("c", "C", "Chart", &bars(3));
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
        assert!(bar_chart("e", "E", "Empty", &[]).bars.is_empty());
    }

    #[test]
    fn labels_thin_out_when_they_would_overlap() {
        let chart = bar_chart("c", "C", "Chart", &bars(400));
        let labelled = chart.bars.iter().filter(|b| b.label.is_some()).count();
        assert!(labelled < 400 && labelled > 1, "{labelled}");
        assert!(chart.bars.iter().all(|b| b.x + b.width <= chart.axis.right));
    }
}
