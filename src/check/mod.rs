//! The check result model (`CheckResult`, `Status`, `Report`), the helpers
//! every group of checks uses, and the table (`table`). Pure: the checks
//! themselves live with the adapter they exercise — `transport` (DNS, TCP, TLS,
//! MinIO health), `stores::s3::checks` (identity, bucket, probe, retention,
//! security, IAM simulation), `stores::local::check` (a directory or NFS mount) —
//! and `ops::check` orders and runs them. `junit` writes the report as
//! JUnit XML for CI test panels.

#![warn(unreachable_pub)]

pub(crate) mod junit;
pub(crate) mod table;

use std::future::Future;
use std::time::Instant;

use serde::Serialize;

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Status {
    Pass,
    Warn,
    Fail,
    /// Not run: a prerequisite failed or the store does not have the feature.
    Skip,
}

impl Status {
    /// The lowercase word used in JSON and in the table.
    pub(crate) fn word(self) -> &'static str {
        match self {
            Status::Pass => "pass",
            Status::Warn => "warn",
            Status::Fail => "fail",
            Status::Skip => "skip",
        }
    }
}

/// One line of the check report (the JSON shape docs/ci-and-schedules.md documents).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct CheckResult {
    pub(crate) id: String,
    pub(crate) status: Status,
    pub(crate) message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) hint: Option<String>,
    pub(crate) duration_ms: u64,
}

impl CheckResult {
    fn new(id: &str, status: Status, message: impl Into<String>) -> CheckResult {
        CheckResult {
            id: id.to_string(),
            status,
            message: message.into(),
            hint: None,
            duration_ms: 0,
        }
    }

    /// A passed check.
    pub(crate) fn pass(id: &str, message: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Pass, message)
    }

    /// A warning: worth fixing, not a failure.
    pub(crate) fn warn(id: &str, message: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Warn, message)
    }

    /// A failed check.
    pub(crate) fn fail(id: &str, message: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Fail, message)
    }

    /// A check not run, with the reason.
    pub(crate) fn skip(id: &str, reason: impl Into<String>) -> CheckResult {
        CheckResult::new(id, Status::Skip, reason)
    }

    /// Adds a hint saying how to fix it.
    pub(crate) fn with_hint(mut self, hint: impl Into<String>) -> CheckResult {
        self.hint = Some(hint.into());
        self
    }

    /// Sets how long the check took.
    pub(crate) fn took(mut self, started: Instant) -> CheckResult {
        self.duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
        self
    }

    /// A result built from an error (a failure, or a skip when the store
    /// does not implement the call).
    pub(crate) fn from_error(id: &str, err: &crate::error::Error) -> CheckResult {
        let result = CheckResult::fail(id, err.to_string());
        match err.hint() {
            Some(hint) => result.with_hint(hint),
            None => result,
        }
    }
}

/// Runs `check` and stamps its duration on the result.
pub(crate) async fn timed<F>(check: F) -> CheckResult
where
    F: Future<Output = CheckResult>,
{
    let started = Instant::now();
    check.await.took(started)
}

/// Skips every id in `ids` with the same reason.
pub(crate) fn skip_all(ids: &[&str], reason: &str) -> Vec<CheckResult> {
    ids.iter().map(|id| CheckResult::skip(id, reason)).collect()
}

/// The whole report of one environment (JSON: `{"env","ok","checks"}`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Report {
    pub(crate) env: String,
    pub(crate) ok: bool,
    pub(crate) checks: Vec<CheckResult>,
}

impl Report {
    /// A report is ok when no check failed (warnings and skips are fine).
    pub(crate) fn new(env: &str, checks: Vec<CheckResult>) -> Report {
        Report {
            env: env.to_string(),
            ok: !checks.iter().any(|c| c.status == Status::Fail),
            checks,
        }
    }

    /// How many checks ended with `status`.
    pub(crate) fn count(&self, status: Status) -> usize {
        self.checks.iter().filter(|c| c.status == status).count()
    }
}

/// A random-enough name for probe objects and files: two runs at once
/// (CI jobs, a person and a cron) never pick the same one.
pub(crate) fn probe_name() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("probe-{}-{nanos:x}", std::process::id())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_report_is_ok_unless_something_failed() {
        let cases = [
            (vec![Status::Pass, Status::Warn, Status::Skip], true),
            (vec![], true),
            (vec![Status::Pass, Status::Fail], false),
        ];
        for (statuses, ok) in cases {
            let checks = statuses
                .iter()
                .map(|s| CheckResult::new("x", *s, "m"))
                .collect();
            assert_eq!(Report::new("e", checks).ok, ok, "{statuses:?}");
        }
    }

    #[test]
    fn json_shape_omits_absent_hints() {
        let json =
            serde_json::to_value(CheckResult::skip("iam.simulate", "no IAM")).expect("serialises");
        assert_eq!(
            json,
            serde_json::json!({"id": "iam.simulate", "status": "skip", "message": "no IAM", "duration_ms": 0})
        );
    }
}
