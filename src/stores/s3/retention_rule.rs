//! Is the tool's lifecycle rule in place? Reads the bucket's lifecycle
//! configuration and judges (purely) whether the rule with the tool's ID
//! expires `{prefix}/` after the spec's retention; reads the
//! `x-amz-expiration` header of one object to say which rule applies to it.

use super::Target;
use super::errors::{api_error, code, is_not_implemented};
use super::throttle::throttled;
use crate::error::Result;
pub use crate::retention::RuleStatus;
use aws_sdk_s3::Client;
use aws_sdk_s3::types::{ExpirationStatus, LifecycleRule};

/// Reads the lifecycle configuration and judges the tool's rule.
pub async fn read(
    s3: &Client,
    target: &Target,
    bucket: &str,
    rule_id: &str,
    want_days: u32,
    want_prefix: &str,
) -> Result<RuleStatus> {
    // Read beside every verify's scan: throttled as its listings are.
    let request = s3.get_bucket_lifecycle_configuration().bucket(bucket);
    let rules = match throttled(target.timeouts.call, || request.clone().send()).await {
        Ok(out) => out.rules().to_vec(),
        Err(e) if code(&e) == Some("NoSuchLifecycleConfiguration") => Vec::new(),
        Err(e) if is_not_implemented(&e) => {
            return Ok(RuleStatus {
                rule_id: rule_id.to_string(),
                problems: vec!["the store has no lifecycle API: expiry cannot be automatic".into()],
                ..RuleStatus::default()
            });
        }
        Err(e) => {
            return Err(api_error(
                e,
                "GetBucketLifecycleConfiguration",
                bucket,
                target,
            ));
        }
    };
    Ok(assess(&rules, rule_id, want_days, want_prefix))
}

/// Judges the rule `rule_id` among `rules` against the spec (pure).
pub fn assess(
    rules: &[LifecycleRule],
    rule_id: &str,
    want_days: u32,
    want_prefix: &str,
) -> RuleStatus {
    let mut status = RuleStatus {
        rule_id: rule_id.to_string(),
        supported: true,
        ..RuleStatus::default()
    };
    let Some(rule) = rules.iter().find(|r| r.id() == Some(rule_id)) else {
        status.problems.push(format!(
            "no lifecycle rule '{rule_id}': run `chronotrace-ops apply`"
        ));
        return status;
    };
    status.present = true;
    let enabled = *rule.status() == ExpirationStatus::Enabled;
    let days = rule.expiration().and_then(|e| e.days());
    let prefix = rule_prefix(rule);
    if !enabled {
        status.problems.push("the rule is disabled".into());
    }
    if days != i32::try_from(want_days).ok() {
        status.problems.push(format!(
            "the rule expires after {} days, the spec says {want_days}",
            days.map_or_else(|| "no".to_string(), |d| d.to_string())
        ));
    }
    if prefix.as_deref() != Some(want_prefix) {
        status.problems.push(format!(
            "the rule filters on '{}', not '{want_prefix}'",
            prefix.as_deref().unwrap_or("")
        ));
    }
    status.matching = status.problems.is_empty();
    status.enabled = Some(enabled);
    status.expiration_days = days;
    status.prefix = prefix;
    status
}

/// The rule's prefix, from the filter (or the legacy top-level prefix).
fn rule_prefix(rule: &LifecycleRule) -> Option<String> {
    let filter = rule.filter();
    filter
        .and_then(|f| f.prefix())
        .or_else(|| filter.and_then(|f| f.and()).and_then(|a| a.prefix()))
        .or_else(|| {
            #[allow(deprecated)]
            rule.prefix()
        })
        .map(str::to_string)
}

/// The rule the store applies to `key`, from HEAD's `x-amz-expiration`
/// (`expiry-date="…", rule-id="…"`); `None` when it says nothing (or the
/// store throttled HEAD past `target`'s budget: the answer is a hint).
pub async fn applies_to(s3: &Client, target: &Target, bucket: &str, key: &str) -> Option<String> {
    let request = s3.head_object().bucket(bucket).key(key);
    let head = throttled(target.timeouts.call, || request.clone().send())
        .await
        .ok()?;
    head.expiration().and_then(rule_id_of)
}

/// The `rule-id` of an `x-amz-expiration` value (pure).
pub fn rule_id_of(header: &str) -> Option<String> {
    let start = header.find("rule-id=\"")? + "rule-id=\"".len();
    let rest = &header[start..];
    let end = rest.find('"')?;
    Some(rest[..end].to_string())
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::{LifecycleExpiration, LifecycleRuleFilter};

    use super::*;

    fn rule(id: &str, days: i32, prefix: &str, enabled: bool) -> LifecycleRule {
        LifecycleRule::builder()
            .id(id)
            .status(if enabled {
                ExpirationStatus::Enabled
            } else {
                ExpirationStatus::Disabled
            })
            .expiration(LifecycleExpiration::builder().days(days).build())
            .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
            .build()
            .expect("a valid rule")
    }

    #[test]
    fn judges_the_tools_rule_only() {
        let id = "chronotrace-ops:staging:retention";
        let other = rule("someone-else", 1, "", true);
        let table = [
            (vec![other.clone()], false, false, 1),
            (vec![other.clone(), rule(id, 30, "s/", true)], true, true, 0),
            (vec![rule(id, 31, "s/", true)], true, false, 1),
            (vec![rule(id, 30, "t/", true)], true, false, 1),
            (vec![rule(id, 30, "s/", false)], true, false, 1),
        ];
        for (rules, present, matching, problems) in table {
            let status = assess(&rules, id, 30, "s/");
            assert_eq!(status.present, present, "{status:?}");
            assert_eq!(status.matching, matching, "{status:?}");
            assert_eq!(status.problems.len(), problems, "{status:?}");
        }
    }

    #[test]
    fn reads_the_rule_id_of_x_amz_expiration() {
        assert_eq!(
            rule_id_of(
                r#"expiry-date="Fri, 23 Dec 2026 00:00:00 GMT", rule-id="chronotrace-ops:s:retention""#
            ),
            Some("chronotrace-ops:s:retention".into())
        );
        assert_eq!(rule_id_of("expiry-date=\"x\""), None);
        assert_eq!(rule_id_of("rule-id=\"unterminated"), None);
    }
}
