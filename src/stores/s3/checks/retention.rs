//! Retention in place: some enabled lifecycle rule expires every object
//! under `{prefix}/` after `retention_days` (judged by effect, whatever the
//! rule's ID), and a versioned bucket also expires noncurrent versions.
//! `judge_*` are pure; `check` reads the configuration.

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::types::{ExpirationStatus, LifecycleRule};

use crate::check::CheckResult;
use crate::spec::{Environment, S3Storage};
use crate::stores::s3::Clients;
use crate::stores::s3::errors::{api_error, is_not_implemented};

/// The ids of the retention checks.
pub const IDS: [&str; 2] = ["retention.lifecycle", "retention.noncurrent"];

const APPLY_HINT: &str = "run `chronotrace-ops apply` to put the retention rule in place";

/// What matters of one lifecycle rule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub id: String,
    pub enabled: bool,
    /// The filter's key prefix (`""`: the whole bucket).
    pub prefix: String,
    /// A tag or size filter: the rule applies to some objects only.
    pub narrowed: bool,
    pub expiration_days: Option<i32>,
    pub noncurrent_days: Option<i32>,
}

impl Rule {
    /// Reads the parts that decide what a rule expires.
    // The rule-level Prefix is deprecated but older tools still write it.
    #[allow(deprecated)]
    pub fn from_sdk(rule: &LifecycleRule) -> Rule {
        let filter = rule.filter();
        let and = filter.and_then(|f| f.and());
        let prefix = filter
            .and_then(|f| f.prefix())
            .or_else(|| and.and_then(|a| a.prefix()))
            .or_else(|| rule.prefix())
            .unwrap_or("");
        let narrowed = filter.is_some_and(|f| {
            f.tag().is_some()
                || f.object_size_greater_than().is_some()
                || f.object_size_less_than().is_some()
        }) || and.is_some_and(|a| {
            !a.tags().is_empty()
                || a.object_size_greater_than().is_some()
                || a.object_size_less_than().is_some()
        });
        Rule {
            id: rule.id().unwrap_or("(no id)").to_string(),
            enabled: *rule.status() == ExpirationStatus::Enabled,
            prefix: prefix.to_string(),
            narrowed,
            expiration_days: rule.expiration().and_then(|e| e.days()),
            noncurrent_days: rule
                .noncurrent_version_expiration()
                .and_then(|e| e.noncurrent_days()),
        }
    }

    /// True when the rule applies to every object under `dir`.
    fn covers(&self, dir: &str) -> bool {
        self.enabled && !self.narrowed && dir.starts_with(&self.prefix)
    }
}

/// Is `{prefix}/` expired at `days`?
pub fn judge_expiration(rules: &[Rule], dir: &str, days: u32) -> CheckResult {
    let covering: Vec<&Rule> = rules
        .iter()
        .filter(|r| r.covers(dir) && r.expiration_days.is_some())
        .collect();
    if let Some(rule) = covering
        .iter()
        .find(|r| r.expiration_days == i32::try_from(days).ok())
    {
        return CheckResult::pass(
            IDS[0],
            format!("rule '{}' expires {dir} after {days} days", rule.id),
        );
    }
    if covering.is_empty() {
        return CheckResult::fail(IDS[0], format!("no enabled lifecycle rule expires {dir}"))
            .with_hint(APPLY_HINT);
    }
    let found: Vec<String> = covering
        .iter()
        .map(|r| {
            format!(
                "'{}' after {} days",
                r.id,
                r.expiration_days.unwrap_or_default()
            )
        })
        .collect();
    CheckResult::fail(
        IDS[0],
        format!(
            "{dir} expires {}, the spec says {days} days",
            found.join(", ")
        ),
    )
    .with_hint(APPLY_HINT)
}

/// On a versioned bucket, are noncurrent versions under `{prefix}/` expired?
pub fn judge_noncurrent(
    rules: &[Rule],
    dir: &str,
    versioned: bool,
    wanted: Option<u32>,
) -> CheckResult {
    if !versioned {
        return CheckResult::skip(IDS[1], "the bucket is not versioned");
    }
    let found = rules
        .iter()
        .filter(|r| r.covers(dir))
        .find_map(|r| r.noncurrent_days.map(|d| (r, d)));
    match (found, wanted) {
        (None, _) => CheckResult::warn(
            IDS[1],
            format!("versioned bucket without noncurrent-version expiration on {dir}: expired traces stay as noncurrent versions and keep costing"),
        )
        .with_hint("set noncurrent_days in the spec and run `chronotrace-ops apply`"),
        (Some((rule, days)), Some(w)) if i32::try_from(w).ok() != Some(days) => CheckResult::warn(
            IDS[1],
            format!("rule '{}' expires noncurrent versions after {days} days, the spec says {w}", rule.id),
        )
        .with_hint("run `chronotrace-ops apply`"),
        (Some((rule, days)), _) => CheckResult::pass(
            IDS[1],
            format!("rule '{}' expires noncurrent versions after {days} days", rule.id),
        ),
    }
}

/// Reads the lifecycle configuration and versioning state and judges them.
pub async fn check(clients: &Clients, env: &Environment, s3: &S3Storage) -> Vec<CheckResult> {
    let dir = s3.prefix.dir();
    let answer = clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&s3.bucket)
        .send()
        .await;
    let rules: Vec<Rule> = match answer {
        Ok(out) => out.rules().iter().map(Rule::from_sdk).collect(),
        Err(e) if e.code() == Some("NoSuchLifecycleConfiguration") => Vec::new(),
        Err(e) if is_not_implemented(&e) => {
            return crate::check::skip_all(
                &IDS,
                "the store does not implement lifecycle configuration",
            );
        }
        Err(e) => {
            let error = api_error(
                e,
                "GetBucketLifecycleConfiguration",
                &s3.bucket,
                &clients.target,
            );
            let mut results = vec![CheckResult::from_error(IDS[0], &error)];
            results.extend(crate::check::skip_all(
                &IDS[1..],
                "the lifecycle could not be read",
            ));
            return results;
        }
    };
    let noncurrent = match crate::stores::s3::versioning::is_versioned(clients, &s3.bucket).await {
        Ok(false) if s3.versioning => CheckResult::warn(
            IDS[1],
            format!(
                "the spec asks for versioning but bucket {} is not versioned",
                s3.bucket
            ),
        )
        .with_hint("run `chronotrace-ops apply` to turn versioning on"),
        Ok(versioned) => judge_noncurrent(&rules, &dir, versioned, s3.noncurrent_days),
        Err(e) => CheckResult::from_error(IDS[1], &e),
    };
    vec![
        judge_expiration(&rules, &dir, env.retention_days),
        noncurrent,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn rule(id: &str, prefix: &str, days: Option<i32>, noncurrent: Option<i32>) -> Rule {
        Rule {
            id: id.into(),
            enabled: true,
            prefix: prefix.into(),
            narrowed: false,
            expiration_days: days,
            noncurrent_days: noncurrent,
        }
    }

    #[test]
    fn expiration_is_judged_by_effect_not_id() {
        let dir = "prod/traces/";
        let disabled = Rule {
            enabled: false,
            ..rule("off", "prod/", Some(30), None)
        };
        let tagged = Rule {
            narrowed: true,
            ..rule("tag", "prod/", Some(30), None)
        };
        let cases = [
            (
                vec![rule("anything", "prod/traces/", Some(30), None)],
                Status::Pass,
            ),
            (vec![rule("broader", "prod/", Some(30), None)], Status::Pass),
            (vec![rule("whole", "", Some(30), None)], Status::Pass),
            (
                vec![rule("other", "staging/", Some(30), None)],
                Status::Fail,
            ),
            (
                vec![rule("longer", "prod/traces/2026", Some(30), None)],
                Status::Fail,
            ),
            (
                vec![rule("wrong-days", "prod/traces/", Some(90), None)],
                Status::Fail,
            ),
            (vec![disabled], Status::Fail),
            (vec![tagged], Status::Fail),
            (
                vec![rule("abort-only", "prod/traces/", None, None)],
                Status::Fail,
            ),
            (vec![], Status::Fail),
        ];
        for (rules, status) in cases {
            let result = judge_expiration(&rules, dir, 30);
            assert_eq!(result.status, status, "{rules:?}: {}", result.message);
            if status == Status::Fail {
                assert!(result.hint.as_deref().is_some_and(|h| h.contains("apply")));
            }
        }
    }

    #[test]
    fn wrong_days_are_named() {
        let result = judge_expiration(&[rule("r", "p/", Some(90), None)], "p/", 30);
        assert!(
            result.message.contains("'r' after 90 days"),
            "{}",
            result.message
        );
    }

    #[test]
    fn noncurrent_expiration_matters_on_versioned_buckets() {
        let with = [rule("r", "p/", Some(30), Some(7))];
        let without = [rule("r", "p/", Some(30), None)];
        let cases = [
            (&with[..], true, Some(7), Status::Pass),
            (&with[..], true, None, Status::Pass),
            (&with[..], true, Some(3), Status::Warn),
            (&without[..], true, None, Status::Warn),
            (&without[..], false, None, Status::Skip),
        ];
        for (rules, versioned, wanted, status) in cases {
            let result = judge_noncurrent(rules, "p/", versioned, wanted);
            assert_eq!(result.status, status, "{rules:?} {versioned} {wanted:?}");
        }
    }
}
