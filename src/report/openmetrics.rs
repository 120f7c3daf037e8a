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

/// Renders `reports` (one per environment) as one OpenMetrics text, each
/// family's samples together, ending with `# EOF`.
pub(crate) fn render(reports: &[Report]) -> String {
    let mut out = Exposition::default();
    for report in reports {
        out.common = vec![
            ("env", report.env.clone()),
            ("store", report.storage.kind.clone()),
        ];
        add(&mut out, report);
    }
    out.finish()
}

/// Adds one environment's samples.
fn add(out: &mut Exposition, report: &Report) {
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
    // Figures read from an S3 Inventory are as old as it is.
    if let Some(hours) = report.storage.source.as_ref().and_then(|s| s.age_hours) {
        out.gauge(
            "chronotrace_data_age_seconds",
            "Age of the figures: the S3 Inventory they were read from",
            Some("seconds"),
            (hours * 3600.0).round(),
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
}

/// The families being collected (in the order first seen, each with its
/// samples), and the labels every sample of the current report carries.
#[derive(Default)]
struct Exposition {
    families: Vec<Family>,
    common: Vec<(&'static str, String)>,
}

struct Family {
    name: String,
    help: String,
    unit: Option<String>,
    samples: Vec<String>,
}

impl Exposition {
    /// Opens (or, for a later environment, reopens) a metric family.
    fn family(&mut self, name: &str, help: &str, unit: Option<&str>) {
        if !self.families.iter().any(|f| f.name == name) {
            self.families.push(Family {
                name: name.to_string(),
                help: help.to_string(),
                unit: unit.map(str::to_string),
                samples: Vec::new(),
            });
        }
    }

    /// A family of one sample with only the common labels.
    fn gauge(&mut self, name: &str, help: &str, unit: Option<&str>, value: f64) {
        self.family(name, help, unit);
        self.sample(name, &[], value);
    }

    /// One sample of the family `name` (opened before).
    fn sample(&mut self, name: &str, labels: &[(&str, &str)], value: f64) {
        let pairs = self
            .common
            .iter()
            .map(|(k, v)| (*k, v.as_str()))
            .chain(labels.iter().copied())
            .map(|(k, v)| format!("{k}=\"{}\"", escape_label(v)))
            .collect::<Vec<_>>()
            .join(",");
        if let Some(family) = self.families.iter_mut().find(|f| f.name == name) {
            family.samples.push(format!("{name}{{{pairs}}} {value}"));
        }
    }

    fn finish(self) -> String {
        let mut text = String::new();
        for f in self.families {
            let name = &f.name;
            let _ = writeln!(text, "# TYPE {name} gauge");
            if let Some(unit) = &f.unit {
                let _ = writeln!(text, "# UNIT {name} {unit}");
            }
            let _ = writeln!(text, "# HELP {name} {}", escape_help(&f.help));
            for sample in &f.samples {
                let _ = writeln!(text, "{sample}");
            }
        }
        text.push_str("# EOF\n");
        text
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
        let mut out = Exposition {
            common: vec![("env", "prod\"1".into()), ("store", "s3".into())],
            ..Exposition::default()
        };
        out.family("chronotrace_objects", "Traces", None);
        out.sample("chronotrace_objects", &[("day", "2026-11-30")], 3.0);
        let text = out.finish();
        assert_eq!(
            text,
            "# TYPE chronotrace_objects gauge\n# HELP chronotrace_objects Traces\n\
             chronotrace_objects{env=\"prod\\\"1\",store=\"s3\",day=\"2026-11-30\"} 3\n# EOF\n"
        );
    }

    #[test]
    fn a_family_seen_again_for_another_environment_keeps_its_samples_together() {
        let mut out = Exposition::default();
        for env in ["a", "b"] {
            out.common = vec![("env", env.into())];
            out.gauge("chronotrace_objects", "Traces", None, 1.0);
            out.gauge("chronotrace_bytes", "Bytes", Some("bytes"), 2.0);
        }
        let text = out.finish();
        let names: Vec<&str> = text.lines().filter(|l| !l.starts_with('#')).collect();
        assert_eq!(
            names,
            [
                "chronotrace_objects{env=\"a\"} 1",
                "chronotrace_objects{env=\"b\"} 1",
                "chronotrace_bytes{env=\"a\"} 2",
                "chronotrace_bytes{env=\"b\"} 2"
            ]
        );
    }
}
