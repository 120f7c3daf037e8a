//! The lifecycle read-modify-write, confirmed by reading back (see
//! `confirmed_write` for why and how): the tool's rule, by ID, in a
//! configuration other environments and teams share.

use aws_sdk_s3::types::{
    AbortIncompleteMultipartUpload, BucketLifecycleConfiguration, ExpirationStatus,
    LifecycleExpiration, LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration,
    Transition, TransitionStorageClass,
};
use serde_json::Value;

use super::Clients;
use super::applied::seen;
use super::applied::{Applied, done};
use super::bucket_write::build_error;
use super::confirmed_write::{SharedDocument, write_confirmed};
use crate::error::{Error, Result};
use crate::plan::merge::merge_by_id;
use crate::plan::observed::Seen;

/// Swaps (or removes, with `None`) the tool's rule in the bucket's
/// lifecycle configuration, keeping every other rule, and confirms it by
/// reading back; deletes the configuration when no rule is left.
pub async fn lifecycle(
    clients: &Clients,
    bucket: &str,
    ours: Option<&Value>,
    rule_id: &str,
) -> Result<Applied> {
    write_confirmed(&Lifecycle {
        clients,
        bucket,
        ours,
        rule_id,
    })
    .await
}

/// One bucket's lifecycle configuration and the tool's rule for it.
struct Lifecycle<'a> {
    clients: &'a Clients,
    bucket: &'a str,
    ours: Option<&'a Value>,
    rule_id: &'a str,
}

impl SharedDocument for Lifecycle<'_> {
    type Current = Vec<LifecycleRule>;

    const WRITE_ACTION: &'static str = "PutBucketLifecycleConfiguration";

    fn our_id(&self) -> &str {
        self.rule_id
    }

    fn wants_ours(&self) -> bool {
        self.ours.is_some()
    }

    fn bucket(&self) -> &str {
        self.bucket
    }

    async fn read(&self) -> Result<std::result::Result<Vec<LifecycleRule>, String>> {
        read(self.clients, self.bucket).await
    }

    fn ids(rules: &Vec<LifecycleRule>) -> Vec<String> {
        rules
            .iter()
            .filter_map(LifecycleRule::id)
            .map(str::to_string)
            .collect()
    }

    async fn write(&self, rules: Vec<LifecycleRule>) -> Result<Applied> {
        write(self.clients, self.bucket, rules, self.ours, self.rule_id).await
    }
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

/// The tool's rule (template JSON shape) as an SDK rule.
pub fn rule_from_json(rule: &Value) -> Result<LifecycleRule> {
    let days = |v: &Value| v.as_i64().and_then(|d| i32::try_from(d).ok());
    let mut b = LifecycleRule::builder()
        .set_id(rule["ID"].as_str().map(str::to_string))
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .set_prefix(rule["Filter"]["Prefix"].as_str().map(str::to_string))
                .build(),
        );
    for t in rule["Transitions"].as_array().into_iter().flatten() {
        b = b.transitions(
            Transition::builder()
                .set_days(days(&t["Days"]))
                .set_storage_class(t["StorageClass"].as_str().map(TransitionStorageClass::from))
                .build(),
        );
    }
    if let Some(d) = days(&rule["Expiration"]["Days"]) {
        b = b.expiration(LifecycleExpiration::builder().days(d).build());
    }
    if let Some(d) = days(&rule["NoncurrentVersionExpiration"]["NoncurrentDays"]) {
        b = b.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(d)
                .build(),
        );
    }
    if let Some(d) = days(&rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"]) {
        b = b.abort_incomplete_multipart_upload(
            AbortIncompleteMultipartUpload::builder()
                .days_after_initiation(d)
                .build(),
        );
    }
    b.build().map_err(|e| build_error("lifecycle rule", e))
}
