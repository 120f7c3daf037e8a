//! The health report: one model (`model`), built purely from a scan, the
//! lifecycle status and (when wired in) the check results, and rendered as
//! text, JSON, Markdown (fits a CI job summary), one self-contained HTML
//! file with inline SVG charts, or OpenMetrics (for the node exporter's
//! textfile collector).

#![warn(unreachable_pub)]

mod findings;
pub(crate) mod fmt;
mod html;
mod markdown;
pub(crate) mod model;
mod openmetrics;
mod svg;
mod text;

use crate::error::{Error, Result};

/// The renderings of a report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ReportFormat {
    Text,
    Json,
    Markdown,
    Html,
    OpenMetrics,
}

pub(crate) use model::{DayRow, Finding, Report, Severity};

/// Renders `report` in `format`.
pub(crate) fn render(report: &Report, format: ReportFormat) -> Result<String> {
    Ok(match format {
        ReportFormat::Text => text::render(report),
        ReportFormat::Markdown => markdown::render(report),
        ReportFormat::Html => html::render(report)?,
        ReportFormat::OpenMetrics => openmetrics::render(report),
        ReportFormat::Json => {
            let mut json = serde_json::to_string_pretty(report)
                .map_err(|e| Error::usage(format!("report as JSON: {e}")))?;
            json.push('\n');
            json
        }
    })
}
