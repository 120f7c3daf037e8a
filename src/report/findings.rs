//! The findings of a report, derived purely from its data: what an
//! operator should look at, most serious first, each with a stable id.

use super::fmt;
use super::model::{Finding, Report, Severity};

/// The findings of `report`. `noncurrent_expiry`: the spec expires
/// noncurrent versions.
pub fn findings(report: &Report, noncurrent_expiry: bool) -> Vec<Finding> {
    let mut out = Vec::new();
    let mut add = |severity, id: &str, message: String| {
        out.push(Finding {
            severity,
            id: id.to_string(),
            message,
        });
    };
    let r = &report.retention;
    if r.expired_objects > 0 {
        add(
            Severity::Error,
            "retention.expired",
            format!(
                "{} objects ({}) are past {} days of retention plus {} grace days{}: run `chronotrace-ops cleanup purge`",
                fmt::count(r.expired_objects),
                fmt::bytes(r.expired_bytes),
                r.retention_days,
                r.grace_days,
                r.oldest_expired
                    .as_ref()
                    .map(|d| format!(", the oldest from {d}"))
                    .unwrap_or_default()
            ),
        );
    }
    match &report.lifecycle {
        None => add(
            Severity::Info,
            "retention.local",
            "nothing expires traces on a local disk by itself: schedule `chronotrace-ops cleanup purge --yes` (or CHRONOTRACE_AUTO_PURGE)".into(),
        ),
        Some(l) if !l.supported => add(
            Severity::Warning,
            "lifecycle.unsupported",
            "the store has no lifecycle API: schedule `chronotrace-ops cleanup purge --yes`".into(),
        ),
        Some(l) if !l.present => add(
            Severity::Error,
            "lifecycle.missing",
            format!("no lifecycle rule '{}': traces never expire; run `chronotrace-ops apply`", l.rule_id),
        ),
        Some(l) if !l.matching => add(
            Severity::Error,
            "lifecycle.mismatch",
            format!("lifecycle rule '{}' differs from the spec: {}", l.rule_id, l.problems.join("; ")),
        ),
        Some(_) => {}
    }
    if let Some(v) = &report.versions {
        if !noncurrent_expiry && (v.noncurrent_versions > 0 || v.delete_markers > 0) {
            add(
                Severity::Warning,
                "versioning.noncurrent-kept",
                format!(
                    "{} noncurrent versions ({}) and {} delete markers are kept forever: set noncurrent_days in the spec",
                    fmt::count(v.noncurrent_versions),
                    fmt::bytes(v.noncurrent_bytes),
                    fmt::count(v.delete_markers)
                ),
            );
        }
    }
    if report.outside_partitions.objects > 0 {
        add(
            Severity::Info,
            "layout.outside-partitions",
            format!(
                "{} objects lie outside traces/YYYY-MM-DD/ partitions (diagnostic files, probes); judged by modification time",
                fmt::count(report.outside_partitions.objects)
            ),
        );
    }
    if report.objects == 0 {
        add(
            Severity::Info,
            "storage.empty",
            "no traces stored yet".into(),
        );
    }
    out.sort_by_key(|f| f.severity);
    out
}
