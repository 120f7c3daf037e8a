//! The findings of a report, derived purely from its data: what an
//! operator should look at, most serious first, each with a stable id.

use super::fmt;
use super::model::{Finding, Report, Severity};
use crate::render::schedule::Forms;

/// Where retention depends on the tool: the package expires nothing (its
/// purge deletes nothing, its retention settings are read nowhere).
pub(crate) fn local_retention(env: &str) -> String {
    format!(
        "retention depends on chronotrace-ops: nothing expires traces on a local disk (the package's chronotrace:purge deletes nothing, CHRONOTRACE_RETENTION_DAYS and CHRONOTRACE_AUTO_PURGE are read nowhere); schedule the purge: {}",
        Forms::new(env, None).summary()
    )
}

/// The findings of `report`. `noncurrent_expiry`: the spec expires
/// noncurrent versions.
pub(crate) fn findings(report: &Report, noncurrent_expiry: bool) -> Vec<Finding> {
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
        None if report.storage.kind == "database" => add(
            Severity::Info,
            "retention.database",
            format!(
                "retention depends on chronotrace-ops: nothing expires rows of a table by itself (the seed's purgeOldTraces is one unbounded DELETE that locks every expired row until it ends); schedule the batched purge: {}",
                Forms::new(&report.env, None).summary()
            ),
        ),
        None => add(
            Severity::Info,
            "retention.local",
            local_retention(&report.env),
        ),
        Some(l) if !l.supported => add(
            Severity::Warning,
            "lifecycle.unsupported",
            format!(
                "the store has no lifecycle API: retention depends on chronotrace-ops; schedule its purge: {}",
                Forms::new(&report.env, None).summary()
            ),
        ),
        Some(l) if !l.present => add(
            Severity::Error,
            "lifecycle.missing",
            format!(
                "no lifecycle rule '{}': traces never expire; run `chronotrace-ops apply`",
                l.rule_id
            ),
        ),
        Some(l) if !l.matching => add(
            Severity::Error,
            "lifecycle.mismatch",
            format!(
                "lifecycle rule '{}' differs from the spec: {}",
                l.rule_id,
                l.problems.join("; ")
            ),
        ),
        Some(_) => {}
    }
    if let Some(v) = &report.versions
        && !noncurrent_expiry
        && (v.noncurrent_versions > 0 || v.delete_markers > 0)
    {
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

#[cfg(test)]
mod tests {

    use crate::report::model::{Inputs, Report, StorageSummary};
    use crate::retention::RuleStatus;
    use crate::scan::{Judge, ScanOutcome, Volume};

    fn report(expired: u64, lifecycle: Option<RuleStatus>, versioned: bool) -> Report {
        let judge = Judge::fixture();
        let mut outcome = ScanOutcome::default();
        outcome.tally.current = Volume {
            objects: 10,
            bytes: 30,
        };
        outcome.tally.expired = Volume {
            objects: expired,
            bytes: expired * 3,
        };
        outcome.tally.noncurrent = Volume {
            objects: 2,
            bytes: 6,
        };
        Report::build(Inputs {
            env: "staging",
            generated_at: "2026-11-26T00:00:00Z".into(),
            storage: StorageSummary {
                versioned: Some(versioned),
                ..StorageSummary::default()
            },
            judge: &judge,
            outcome: &outcome,
            lifecycle,
            noncurrent_expiry: false,
        })
    }

    fn ids(r: &Report) -> Vec<&str> {
        r.findings.iter().map(|f| f.id.as_str()).collect()
    }

    #[test]
    fn findings_follow_the_data() {
        let matching = RuleStatus {
            supported: true,
            present: true,
            matching: true,
            ..RuleStatus::default()
        };
        let missing = RuleStatus {
            supported: true,
            ..RuleStatus::default()
        };
        assert!(ids(&report(0, Some(matching.clone()), false)).is_empty());
        assert_eq!(
            ids(&report(3, Some(matching.clone()), false)),
            ["retention.expired"]
        );
        assert_eq!(ids(&report(0, Some(missing), false)), ["lifecycle.missing"]);
        assert_eq!(
            ids(&report(0, Some(matching), true)),
            ["versioning.noncurrent-kept"]
        );
        assert_eq!(ids(&report(0, None, false)), ["retention.local"]);
        // No finding offers a package setting that does nothing (issue 15).
        let local = &report(0, None, false).findings[0].message;
        for form in [
            "cron (/etc/cron.d): `15 3 * * *",
            "OnCalendar=",
            "Schedule::exec(",
        ] {
            assert!(local.contains(form), "{form} missing from {local}");
        }
        assert!(!local.contains("(or CHRONOTRACE_AUTO_PURGE)"), "{local}");
    }
}
