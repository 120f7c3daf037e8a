//! `cleanup verify` and `purge` through an in-memory store (`stores::fake`):
//! the verdict, the grace, the lifecycle judgement, dry runs and per-key
//! delete errors, without a server (the server tests in `tests/it` are the
//! proof that the real stores walk the same way).

use chrono::NaiveDate;
use futures::executor::block_on;

use super::{purge_store, verify_store};
use crate::retention::{Rule, RuleStatus};
use crate::scan::{Judge, MAX_KEPT_ERRORS, Progress, Volume};
use crate::spec::{Environment, STARTER_SPEC, Spec};
use crate::stores::fake::FakeStore;
use crate::stores::{Retention, TraceStore};

/// The starter spec's `staging`: S3, 30 days of retention.
pub(crate) fn staging() -> Environment {
    let spec = Spec::parse(STARTER_SPEC, "starter").expect("starter spec");
    spec.environment("staging").expect("staging").clone()
}

/// 2026-03-31 with 30 days and `grace`: the cutoff is 2026-02-27 with 2
/// grace days, 2026-03-01 with none.
pub(crate) fn judge(grace: u32) -> Judge {
    let today = NaiveDate::from_ymd_opt(2026, 3, 31).expect("date");
    Judge::new(
        Rule {
            retention_days: 30,
            grace_days: grace,
        },
        today,
    )
}

/// Two days past retention (one only without grace), a fresh day, one
/// stale object outside partitions and one with no known time.
pub(crate) fn store() -> FakeStore {
    FakeStore::new()
        .with_day("2026-02-20", 3, 100)
        .with_day("2026-02-27", 2, 50)
        .with_day("2026-03-30", 4, 10)
        .with_loose("traces/stray.zip", 7, Some("2026-01-05"))
        .with_loose("traces/upload.tmp", 1, None)
}

fn verify(store: &dyn TraceStore, grace: u32) -> super::VerifyReport {
    block_on(verify_store(
        store,
        &staging(),
        &judge(grace),
        &Progress::default(),
    ))
    .expect("verify")
}

fn purge(store: &dyn TraceStore, delete: bool) -> super::PurgeReport {
    block_on(purge_store(
        store,
        &staging(),
        &judge(0),
        delete,
        &Progress::default(),
    ))
    .expect("purge")
}

#[test]
fn verify_counts_what_is_past_retention_plus_grace() {
    let report = verify(&store(), 2);
    assert!(!report.ok);
    assert_eq!((report.retention_days, report.grace_days), (30, 2));
    assert_eq!(report.cutoff, "2026-02-27T00:00:00Z");
    // 2026-02-20's three and the stray; 2026-02-27 is inside the grace.
    assert_eq!(report.expired_objects, 4);
    assert_eq!(report.expired_bytes, 307);
    assert_eq!(report.oldest.as_deref(), Some("2026-01-05"));
    // Only the expired partition is read, plus everything outside them.
    assert_eq!((report.partitions_found, report.partitions_listed), (3, 1));
    assert_eq!(report.scanned_objects, 5);
    let rows: Vec<_> = report
        .expired_partitions
        .iter()
        .map(|r| (r.date.as_str(), r.objects, r.bytes))
        .collect();
    assert_eq!(rows, [("2026-02-20", 3, 300)]);
    assert!(report.elsewhere.is_none());
}

#[test]
fn verify_without_grace_reaches_the_cutoff_day() {
    let report = verify(&store(), 0);
    assert_eq!(report.cutoff, "2026-03-01T00:00:00Z");
    assert_eq!(report.expired_objects, 6);
    assert_eq!(report.expired_bytes, 407);
    assert_eq!(report.partitions_listed, 2);
}

#[test]
fn verify_is_ok_when_nothing_is_past_retention() {
    let fresh =
        FakeStore::new()
            .with_day("2026-03-30", 4, 10)
            .with_loose("traces/upload.tmp", 1, None);
    let report = verify(&fresh, 2);
    assert!(report.ok);
    assert_eq!(report.expired_objects, 0);
    assert_eq!(report.oldest, None);
    assert_eq!((report.partitions_found, report.partitions_listed), (1, 0));
    assert!(report.expired_partitions.is_empty());
}

#[test]
fn verify_judges_the_stores_lifecycle_rule_and_asks_about_an_expired_trace() {
    let missing = RuleStatus {
        rule_id: "chronotrace-staging-expire".into(),
        supported: true,
        problems: vec!["no rule".into()],
        ..RuleStatus::default()
    };
    let fake = store().with_retention(Retention::LifecycleRule(missing.clone()));
    let report = verify(&fake, 2);
    assert_eq!(report.lifecycle, Some(missing));
    let (want, sample) = fake.asked().expect("retention asked");
    assert_eq!(want.rule_id, crate::spec::ids::lifecycle_rule_id("staging"));
    assert_eq!(want.days, 30);
    assert_eq!(sample.as_deref(), Some("traces/2026-02-20/0.zip"));
    // The lifecycle says nothing of the verdict: expired traces decide it.
    assert!(!report.ok);
}

#[test]
fn verify_of_a_store_without_lifecycle_reports_none() {
    let report = verify(&store(), 2);
    assert_eq!(report.lifecycle, None);
    let json = serde_json::to_value(&report).expect("json");
    assert!(json["lifecycle"].is_null());
}

#[test]
fn purge_dry_run_deletes_nothing_and_counts_exactly() {
    let fake = store();
    let report = purge(&fake, false);
    assert!(report.dry_run);
    assert!(
        fake.deleted().is_empty(),
        "a dry run deleted {:?}",
        fake.deleted()
    );
    assert_eq!((report.deleted_objects, report.deleted_bytes), (6, 407));
    assert_eq!(report.cutoff, "2026-03-01T00:00:00Z");
    let rows: Vec<_> = report
        .partitions
        .iter()
        .map(|r| (r.date.as_str(), r.objects, r.bytes))
        .collect();
    assert_eq!(rows, [("2026-02-20", 3, 300), ("2026-02-27", 2, 100)]);
    assert_eq!(
        report.outside_partitions,
        Volume {
            objects: 1,
            bytes: 7
        }
    );
    assert_eq!(report.error_count, 0);
}

#[test]
fn purge_deletes_what_is_expired_and_reports_per_key_errors() {
    let fake = store().failing_delete("traces/2026-02-20/1.zip");
    let report = purge(&fake, true);
    assert!(!report.dry_run);
    assert_eq!((report.deleted_objects, report.deleted_bytes), (5, 307));
    assert_eq!(report.error_count, 1);
    assert_eq!(report.errors.len(), 1);
    assert_eq!(report.errors[0].key, "traces/2026-02-20/1.zip");
    assert_eq!(report.errors[0].code, "AccessDenied");
    let deleted = fake.deleted();
    assert_eq!(deleted.len(), 5);
    assert!(!deleted.iter().any(|k| k.starts_with("traces/2026-03-30/")));
    assert!(!deleted.contains(&"traces/upload.tmp".to_string()));
    // The partitions row still says what was past retention.
    assert_eq!(report.partitions[0].objects, 3);
}

#[test]
fn purge_counts_every_error_but_keeps_a_bounded_list() {
    let n = MAX_KEPT_ERRORS + 5;
    let mut fake = FakeStore::new().with_day("2026-01-01", n, 1);
    for i in 0..n {
        fake = fake.failing_delete(&format!("traces/2026-01-01/{i}.zip"));
    }
    let report = purge(&fake, true);
    assert_eq!(report.error_count, n as u64);
    assert_eq!(report.errors.len(), MAX_KEPT_ERRORS);
    assert_eq!(report.deleted_objects, 0);
    assert!(fake.deleted().is_empty());
}
