//! The report as OpenMetrics text, for the Prometheus node exporter's
//! textfile collector (`report --format openmetrics --out
//! /var/lib/node_exporter/textfile_collector/chronotrace.prom`, written
//! atomically as the collector asks) and anything else that scrapes the
//! exposition format.
//!
//! Only gauges, so the same file parses as OpenMetrics 1.0 and as the
//! Prometheus text format 0.0.4 the textfile collector reads (where `# UNIT`
//! and `# EOF` are comments). Every sample carries the environment and the
//! store kind; a check's status is one gauge per state (1 for the state it
//! is in, 0 for the others), as an OpenMetrics StateSet would be, so
//! `chronotrace_check_status{status="fail"} == 1` is an alert rule.

use std::fmt::Write as _;

use chrono::{DateTime, NaiveDate};

use super::model::{DayRow, Report, Severity};
use crate::check::Status;

/// Renders `report` as OpenMetrics text, ending with `# EOF`.
pub(crate) fn render(report: &Report) -> String {
    let mut out = Exposition::new(&report.env, &report.storage.kind);
    let retention = &report.retention;

    out.gauge(
        "chronotrace_objects",
        "Traces (objects, files, keys or rows) in the store",
        None,
        report.objects as f64,
    );
    out.gauge(
        "chronotrace_bytes",
        "Bytes the traces take in the store",
        Some("bytes"),
        report.bytes as f64,
    );
    out.gauge(
        "chronotrace_outside_partitions_objects",
        "Objects outside the day partitions (diagnostic files, probes)",
        None,
        report.outside_partitions.objects as f64,
    );
    type PerDay = fn(&DayRow) -> u64;
    let per_day: [(&str, &str, Option<&str>, PerDay); 2] = [
        (
            "chronotrace_day_objects",
            "Traces per day partition",
            None,
            |d| d.objects,
        ),
        (
            "chronotrace_day_bytes",
            "Bytes per day partition",
            Some("bytes"),
            |d| d.bytes,
        ),
    ];
    for (name, help, unit, value) in per_day {
        out.family(name, help, unit);
        for day in &report.by_day {
            out.sample(name, &[("day", &day.date)], value(day) as f64);
        }
    }
    if let Some(age) = oldest_age_seconds(report) {
        out.gauge(
            "chronotrace_oldest_age_seconds",
            "Age of the oldest day partition, from the start of its day",
            Some("seconds"),
            age,
        );
    }
    out.gauge(
        "chronotrace_retention_days",
        "The retention the spec asks for",
        None,
        f64::from(retention.retention_days),
    );
    out.gauge(
        "chronotrace_expired_objects",
        "Traces past retention plus grace that are still there",
        None,
        retention.expired_objects as f64,
    );
    out.gauge(
        "chronotrace_expired_bytes",
        "Bytes of the traces past retention plus grace",
        Some("bytes"),
        retention.expired_bytes as f64,
    );
    out.gauge(
        "chronotrace_retention_ok",
        "1 when nothing past retention plus grace remains",
        None,
        bool_value(retention.ok),
    );

    if !report.checks.is_empty() {
        out.family(
            "chronotrace_check_status",
            "One gauge per check and state: 1 for the state the check is in",
            None,
        );
        for check in &report.checks {
            for state in [Status::Pass, Status::Warn, Status::Fail, Status::Skip] {
                out.sample(
                    "chronotrace_check_status",
                    &[("check", &check.id), ("status", state.word())],
                    bool_value(check.status == state),
                );
            }
        }
    }

    out.family(
        "chronotrace_findings",
        "Findings of the report by severity",
        None,
    );
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        let count = report
            .findings
            .iter()
            .filter(|f| f.severity == severity)
            .count();
        out.sample(
            "chronotrace_findings",
            &[("severity", severity.as_str())],
            count as f64,
        );
    }

    if let Some(at) = generated_at(report) {
        out.gauge(
            "chronotrace_report_timestamp_seconds",
            "When the report was made (Unix time), to alert on stale files",
            Some("seconds"),
            at as f64,
        );
    }

    out.finish()
}

/// The text being written, with the labels every sample carries.
struct Exposition {
    text: String,
    common: Vec<(&'static str, String)>,
}

impl Exposition {
    fn new(env: &str, store: &str) -> Exposition {
        Exposition {
            text: String::new(),
            common: vec![("env", env.to_string()), ("store", store.to_string())],
        }
    }

    /// The metadata lines that open a metric family.
    fn family(&mut self, name: &str, help: &str, unit: Option<&str>) {
        let _ = writeln!(self.text, "# TYPE {name} gauge");
        if let Some(unit) = unit {
            let _ = writeln!(self.text, "# UNIT {name} {unit}");
        }
        let _ = writeln!(self.text, "# HELP {name} {}", escape_help(help));
    }

    /// A family of one sample with only the common labels.
    fn gauge(&mut self, name: &str, help: &str, unit: Option<&str>, value: f64) {
        self.family(name, help, unit);
        self.sample(name, &[], value);
    }

    /// One sample of the family opened last.
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let pairs = self
            .common
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(labels.iter().copied())
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect::<Vec<_>>()
            .join(",");
        let _ = writeln!(self.text, "{name}{{{pairs}}} {value}");
    }

    fn finish(mut self) -> String {
        self.text.push_str("# EOF\n");
        self.text
    }
}

fn bool_value(yes: bool) -> f64 {
    if yes { 1.0 } else { 0.0 }
}

/// A label value: backslash, double quote and line feed escaped.
fn escape_label(value: &str) -> String {
    value
        .replace('\\', r"\\")
        .replace('"', "\\\"")
        .replace('\n', r"\n")
}

/// HELP text: backslash and line feed escaped (a quote is literal there).
fn escape_help(help: &str) -> String {
    help.replace('\\', r"\\").replace('\n', r"\n")
}

/// Seconds from the start of the oldest partition day to the report time.
fn oldest_age_seconds(report: &Report) -> Option<f64> {
    let oldest = NaiveDate::parse_from_str(report.oldest.as_deref()?, "%Y-%m-%d").ok()?;
    let start = oldest.and_hms_opt(0, 0, 0)?.and_utc().timestamp();
    let now = generated_at(report)?;
    Some(now.saturating_sub(start).max(0) as f64)
}

fn generated_at(report: &Report) -> Option<i64> {
    DateTime::parse_from_rfc3339(&report.generated_at)
        .ok()
        .map(|t| t.timestamp())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("x\ny\\"), "x\\ny\\\\");
    }

    #[test]
    fn every_sample_carries_env_and_store_and_the_text_ends_with_eof() {
        let mut out = Exposition::new("prod\"1", "s3");
        out.family("chronotrace_objects", "Traces", None);
        out.sample("chronotrace_objects", &[("day", "2026-11-30")], 3.0);
        let text = out.finish();
        assert_eq!(
            text,
            "# TYPE chronotrace_objects gauge\n# HELP chronotrace_objects Traces\n\
             chronotrace_objects{env=\"prod\\\"1\",store=\"s3\",day=\"2026-11-30\"} 3\n# EOF\n"
        );
    }
}
