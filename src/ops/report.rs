//! The report builder: scans the whole environment, reads the lifecycle
//! rule and builds the report model (the checks are added by the caller,
//! which may already have run them).

use chrono::SecondsFormat;

use super::session::stoppable;
use super::{DEFAULT_CONCURRENCY, DEFAULT_GRACE_DAYS, Session};
use crate::error::Result;
use crate::report::Report;
use crate::report::model::{Inputs, StorageSummary};
use crate::retention::{self, Rule};
use crate::scan::{Judge, Progress, Selection};
use crate::spec::Environment;
use crate::stores::TraceStore;

/// What a report is asked: days of lifecycle lag allowed, partitions
/// listed at once.
#[derive(Debug, Clone, Copy)]
pub struct ReportSettings {
    pub grace: u32,
    pub concurrency: usize,
    /// The store's listing, or its inventory (`--source`).
    pub source: super::ScanSource,
}

impl Default for ReportSettings {
    fn default() -> Self {
        ReportSettings {
            grace: DEFAULT_GRACE_DAYS,
            concurrency: DEFAULT_CONCURRENCY,
            source: super::ScanSource::Listing,
        }
    }
}

/// Scans the environment and builds its report (checks not included).
pub async fn build(
    session: &Session,
    env: &Environment,
    settings: ReportSettings,
) -> Result<Report> {
    let rule = Rule {
        retention_days: env.retention_days,
        grace_days: settings.grace,
    };
    let judge = Judge::new(rule, retention::today());
    let store = crate::stores::open(env, &session.connections);
    let mut report = stoppable(async {
        let store = store.traces(settings.concurrency, settings.source).await?;
        let generated_at = crate::clock::now().to_rfc3339_opts(SecondsFormat::Secs, true);
        build_store(store.as_ref(), env, &judge, generated_at).await
    })
    .await?;
    store.amend_report(&mut report);
    crate::app::amend_report(&mut report, env);
    Ok(report)
}

/// The report of one opened store (the seam `build` goes through): the
/// whole tree scanned, the lifecycle rule read, the model built; the app's
/// amendments and the checks are the caller's.
pub(crate) async fn build_store(
    store: &dyn TraceStore,
    env: &Environment,
    judge: &Judge,
    generated_at: String,
) -> Result<Report> {
    let outcome = store
        .scan(judge, Selection::All, false, &Progress::default())
        .await?;
    let lifecycle = super::cleanup::lifecycle_status(store, env, None).await?;
    let mut report = Report::build(Inputs {
        env: &env.name,
        generated_at,
        storage: summary(store),
        judge,
        outcome: &outcome,
        lifecycle,
        noncurrent_expiry: env.storage.noncurrent_days().is_some(),
    });
    report.add_store_findings(&outcome.findings);
    report.storage.table_partitions = outcome.table_partitions.clone();
    Ok(report)
}

/// Adds the `check` results; when the checks cannot run at all, the
/// report goes out without them and says why on stderr.
pub async fn with_checks(session: &Session, env: &Environment, report: Report) -> Report {
    match super::check::evaluate(session, env).await {
        Ok(checks) => report.with_checks(checks.checks),
        Err(e) => {
            crate::output::warn(&format!("report without checks: {e}"));
            report
        }
    }
}

/// Where the traces live, without credentials.
fn summary(store: &dyn TraceStore) -> StorageSummary {
    let mut summary = StorageSummary {
        kind: "local".into(),
        location: store.location(),
        ..StorageSummary::default()
    };
    store.describe(&mut summary);
    summary
}

#[cfg(test)]
#[path = "report_tests.rs"]
mod tests;
