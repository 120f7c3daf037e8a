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

use crate::error::Result;
use crate::output::Stamp;

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

impl Report {
    /// The report of one scan (pure): its figures, then the findings they
    /// call for; `checks` starts empty, see `with_checks`.
    pub(crate) fn build(inputs: model::Inputs<'_>) -> Report {
        let noncurrent_expiry = inputs.noncurrent_expiry;
        let mut report = Report::figures(inputs);
        report.findings = findings::findings(&report, noncurrent_expiry);
        report
    }
}

/// Renders `report` in `format`.
pub(crate) fn render(report: &Report, format: ReportFormat, stamp: &Stamp) -> Result<String> {
    render_all(std::slice::from_ref(report), format, stamp)
}

/// Renders the reports of several environments (`--env all`) as one
/// document: text and Markdown sections one after the other, one HTML page
/// with a section each, one OpenMetrics exposition, and in JSON an array
/// (one report alone stays the object it always was), each object with
/// the run's `stamp` (version and spec).
pub(crate) fn render_all(
    reports: &[Report],
    format: ReportFormat,
    stamp: &Stamp,
) -> Result<String> {
    Ok(match format {
        ReportFormat::Text => sections(reports, text::render),
        ReportFormat::Markdown => sections(reports, markdown::render),
        ReportFormat::Html => html::render(reports)?,
        ReportFormat::OpenMetrics => openmetrics::render(reports),
        ReportFormat::Json => stamp.document(reports)?,
    })
}

/// Each report rendered on its own, a blank line between them.
fn sections(reports: &[Report], render: fn(&Report) -> String) -> String {
    reports.iter().map(render).collect::<Vec<_>>().join("\n")
}
