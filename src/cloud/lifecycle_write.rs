//! The lifecycle read-modify-write, safe against concurrent writers.
//!
//! S3 has no conditional PUT for a lifecycle configuration: two writers who
//! read the same configuration and each add their rule leave only the last
//! one's. So after writing, and after a settling pause (so that a writer
//! who read before this write has written by then), the configuration is
//! read back; when the tool's rule is not there (or still there after a
//! removal), another writer replaced the configuration meanwhile, and the
//! merge is redone from a fresh read, after a jittered pause. Two applies for two
//! environments of one bucket therefore both end with their rule, as does
//! any other writer that reads back the same way. The guarantee holds for
//! writers whose read-to-write window is shorter than `SETTLE` (a few
//! milliseconds normally; S3 offers nothing stronger).
//!
//! A foreign rule that was there before the write and is gone on read-back
//! was removed by someone else after the write (the tool wrote it back): it
//! is not resurrected (its owner may have deleted it on purpose; putting an
//! expiration back could delete data), but the result says so.

use std::time::Duration;

use aws_sdk_s3::types::{BucketLifecycleConfiguration, LifecycleRule};
use serde_json::Value;

use super::Clients;
use super::bucket::seen;
use super::bucket_write::rule_from_json;
use super::provision::{Applied, done};
use crate::error::{Error, Result};
use crate::plan::merge::merge_by_id;
use crate::plan::observed::Seen;

/// Read-modify-write rounds before giving up on a configuration that keeps
/// changing under the tool.
const ROUNDS: u32 = 6;
/// The wait between writing and reading back: longer than another
/// writer's read-to-write window, so its write, if any, is seen.
const SETTLE: Duration = Duration::from_millis(1000);

/// What a read-back says about one write.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReadBack {
    /// The tool's rule is there (or gone, after a removal); `gone` lists foreign rules that were
    /// written back but are missing now.
    Confirmed { gone: Vec<String> },
    /// Another writer replaced the configuration: merge again.
    Lost,
}

/// Judges a read-back: `after` are the rules now; `ours` the tool's rule
/// (template JSON) or `None` when it was removed; `carried` the ids of the
/// foreign rules the write carried over.
pub fn judge(
    after: &[LifecycleRule],
    rule_id: &str,
    ours: Option<&Value>,
    carried: &[String],
) -> ReadBack {
    // Presence, not equality: a store may normalise the rule it returns,
    // and a normalised rule is not a lost one (plan reports any drift).
    let there = after.iter().any(|r| r.id() == Some(rule_id));
    if there != ours.is_some() {
        return ReadBack::Lost;
    }
    let gone = carried
        .iter()
        .filter(|id| !after.iter().any(|r| r.id() == Some(id.as_str())))
        .cloned()
        .collect();
    ReadBack::Confirmed { gone }
}

/// Swaps (or removes, with `None`) the tool's rule in the bucket's
/// lifecycle configuration, keeping every other rule, and confirms it by
/// reading back; deletes the configuration when no rule is left.
pub async fn lifecycle(
    clients: &Clients,
    bucket: &str,
    ours: Option<&Value>,
    rule_id: &str,
) -> Result<Applied> {
    for round in 1..=ROUNDS {
        let rules = match read(clients, bucket).await? {
            Ok(rules) => rules,
            Err(reason) => return Ok(Applied::Unsupported(reason)),
        };
        let carried: Vec<String> = rules
            .iter()
            .filter_map(LifecycleRule::id)
            .filter(|id| *id != rule_id)
            .map(str::to_string)
            .collect();
        let written = write(clients, bucket, rules, ours, rule_id).await?;
        if !matches!(written, Applied::Done) {
            return Ok(written);
        }
        tokio::time::sleep(SETTLE).await;
        let after = read(clients, bucket).await?.unwrap_or_default();
        match judge(&after, rule_id, ours, &carried) {
            ReadBack::Confirmed { gone } if gone.is_empty() => return Ok(Applied::Done),
            ReadBack::Confirmed { gone } => {
                return Ok(Applied::Noted(format!(
                    "another writer removed {} meanwhile (not put back)",
                    gone.join(", ")
                )));
            }
            ReadBack::Lost if round < ROUNDS => tokio::time::sleep(pause(round)).await,
            ReadBack::Lost => {}
        }
    }
    Err(Error::cloud_with_hint(
        format!(
            "PutBucketLifecycleConfiguration {bucket}: another writer kept replacing the lifecycle configuration; the rule {rule_id} did not stay after {ROUNDS} attempts"
        ),
        "run apply again once the other writer is done",
    ))
}

/// The current rules, or why the store has no lifecycle support.
async fn read(
    clients: &Clients,
    bucket: &str,
) -> Result<std::result::Result<Vec<LifecycleRule>, String>> {
    let current = clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await;
    match seen(
        current,
        &["NoSuchLifecycleConfiguration"],
        "GetBucketLifecycleConfiguration",
        clients,
        bucket,
    )? {
        Seen::Present(out) => Ok(Ok(out.rules().to_vec())),
        Seen::Absent => Ok(Ok(Vec::new())),
        Seen::Unsupported(reason) => Ok(Err(reason)),
    }
}

/// Writes `rules` with the tool's rule merged in (or out).
async fn write(
    clients: &Clients,
    bucket: &str,
    rules: Vec<LifecycleRule>,
    ours: Option<&Value>,
    rule_id: &str,
) -> Result<Applied> {
    let ours = ours.map(rule_from_json).transpose()?;
    let merged = merge_by_id(rules, rule_id, LifecycleRule::id, ours);
    if merged.is_empty() {
        let result = clients
            .s3
            .delete_bucket_lifecycle()
            .bucket(bucket)
            .send()
            .await;
        return done(result, "DeleteBucketLifecycle", clients, bucket);
    }
    let config = BucketLifecycleConfiguration::builder()
        .set_rules(Some(merged))
        .build()
        .map_err(|e| Error::cloud(format!("building the lifecycle request: {e}")))?;
    let result = clients
        .s3
        .put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await;
    done(result, "PutBucketLifecycleConfiguration", clients, bucket)
}

/// A pause growing with the round, jittered so racing writers fall apart.
fn pause(round: u32) -> Duration {
    let jitter = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::from(d.subsec_nanos() % 200));
    Duration::from_millis(100 * u64::from(round) + jitter)
}

#[cfg(test)]
mod tests {
    use aws_sdk_s3::types::LifecycleRule;
    use serde_json::json;

    use super::{ReadBack, judge};
    use crate::cloud::bucket_write::rule_from_json;

    const OURS: &str = "chronotrace-ops:prod:retention";

    fn rule(id: &str, days: i64) -> serde_json::Value {
        json!({"ID": id, "Status": "Enabled", "Filter": {"Prefix": "p/"},
               "Expiration": {"Days": days},
               "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})
    }

    fn rules(items: &[(&str, i64)]) -> Vec<LifecycleRule> {
        items
            .iter()
            .map(|(id, d)| rule_from_json(&rule(id, *d)).expect("a rule"))
            .collect()
    }

    #[test]
    fn read_back_verdicts() {
        let want = rule(OURS, 30);
        let carried = vec!["team-a".to_string()];
        let confirmed = |gone: &[&str]| ReadBack::Confirmed {
            gone: gone.iter().map(|s| s.to_string()).collect(),
        };
        type Case<'a> = (
            &'a [(&'a str, i64)],
            Option<&'a serde_json::Value>,
            ReadBack,
        );
        let cases: [Case; 6] = [
            (&[("team-a", 9), (OURS, 30)], Some(&want), confirmed(&[])),
            (&[(OURS, 30)], Some(&want), confirmed(&["team-a"])),
            (&[("team-a", 9)], Some(&want), ReadBack::Lost),
            (&[("team-a", 9), (OURS, 31)], Some(&want), confirmed(&[])),
            (&[("team-a", 9)], None, confirmed(&[])),
            (&[("team-a", 9), (OURS, 30)], None, ReadBack::Lost),
        ];
        for (after, ours, expected) in cases {
            assert_eq!(
                judge(&rules(after), OURS, ours, &carried),
                expected,
                "{after:?} {ours:?}"
            );
        }
    }
}
