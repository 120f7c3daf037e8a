//! The report builder through an in-memory store (`stores::fake`): rows per
//! day, oldest and newest, the findings for a missing lifecycle rule and a
//! store with no expiry of its own, and where check failures rank.

use futures::executor::block_on;

use super::build_store;
use crate::check::CheckResult;
use crate::ops::cleanup::tests::{judge, staging};
use crate::report::Report;
use crate::report::model::Severity;
use crate::retention::RuleStatus;
use crate::stores::fake::FakeStore;
use crate::stores::{Retention, TraceStore};

fn build(store: &dyn TraceStore) -> Report {
    block_on(build_store(
        store,
        &staging(),
        &judge(2),
        "2026-03-31T09:00:00Z".into(),
    ))
    .expect("report")
}

fn ids(report: &Report) -> Vec<&str> {
    report.findings.iter().map(|f| f.id.as_str()).collect()
}

fn store() -> FakeStore {
    FakeStore::new()
        .with_day("2026-02-20", 3, 100)
        .with_day_in("2026-03-01", 2, 50, Some("STANDARD_IA"))
        .with_day("2026-03-30", 4, 10)
        .with_loose("traces/stray.zip", 7, Some("2026-03-10"))
}

#[test]
fn rows_per_day_oldest_newest_and_classes() {
    let report = build(&store());
    assert_eq!(report.env, "staging");
    assert_eq!(report.generated_at, "2026-03-31T09:00:00Z");
    assert_eq!(report.storage.kind, "fake");
    assert_eq!(report.storage.location, "fake://traces");
    let rows: Vec<_> = report
        .by_day
        .iter()
        .map(|r| (r.date.as_str(), r.objects, r.bytes))
        .collect();
    assert_eq!(
        rows,
        [
            ("2026-02-20", 3, 300),
            ("2026-03-01", 2, 100),
            ("2026-03-30", 4, 40)
        ]
    );
    assert_eq!((report.objects, report.bytes), (10, 447));
    assert_eq!(report.oldest.as_deref(), Some("2026-02-20"));
    assert_eq!(report.newest.as_deref(), Some("2026-03-30"));
    assert_eq!(report.outside_partitions.objects, 1);
    let classes: Vec<_> = report
        .storage_classes
        .iter()
        .map(|c| (c.class.as_str(), c.objects))
        .collect();
    assert_eq!(classes, [("STANDARD", 8), ("STANDARD_IA", 2)]);
    assert_eq!(report.retention.expired_objects, 3);
    assert!(!report.retention.ok);
}

#[test]
fn a_store_with_no_expiry_of_its_own_says_retention_depends_on_the_tool() {
    let report = build(&store());
    assert_eq!(report.lifecycle, None);
    // The stray object outside partitions is a finding of its own.
    assert_eq!(
        ids(&report),
        [
            "retention.expired",
            "retention.local",
            "layout.outside-partitions"
        ]
    );
}

#[test]
fn a_missing_lifecycle_rule_is_an_error_finding() {
    let missing = RuleStatus {
        rule_id: "chronotrace-staging-expire".into(),
        supported: true,
        ..RuleStatus::default()
    };
    let fresh = FakeStore::new()
        .with_day("2026-03-30", 1, 10)
        .with_retention(Retention::LifecycleRule(missing));
    let report = build(&fresh);
    assert_eq!(ids(&report), ["lifecycle.missing"]);
    assert_eq!(report.findings[0].severity, Severity::Error);
    assert!(
        report.findings[0]
            .message
            .contains("chronotrace-staging-expire")
    );
}

#[test]
fn a_failed_probe_ranks_among_the_errors_before_the_info() {
    let fake = FakeStore::new()
        .with_day("2026-03-30", 1, 10)
        .with_probe(CheckResult::fail("probe", "fake: write refused"));
    let probe = block_on(fake.probe());
    let report = build(&fake).with_checks(vec![probe]);
    assert_eq!(ids(&report), ["check.probe", "retention.local"]);
    assert_eq!(report.checks.len(), 1);
}
