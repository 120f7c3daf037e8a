//! Changing a bucket for `apply` and `destroy`: create and mark it, write
//! each setting, merge the tool's policy statement into what others wrote
//! (read right before the write; the lifecycle rule's merge lives in
//! `lifecycle_write`), and remove the bucket
//! (refusing a non-empty one unless asked to empty it).

use aws_sdk_s3::error::ProvideErrorMetadata;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLocationConstraint, BucketVersioningStatus, CreateBucketConfiguration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    Tag, Tagging, VersioningConfiguration,
};
use serde_json::Value;

use super::Clients;
use super::applied::{Applied, done};
use super::applied::{seen, status};
use super::bucket::{MARKER_KEY, marker_body};
use super::errors::api_error;
use crate::error::{Error, Result};
use crate::plan::desired::{DesiredBucket, TLS_ONLY_SID};
use crate::plan::observed::Seen;

pub(crate) fn build_error(what: &str, e: impl std::fmt::Display) -> Error {
    Error::cloud(format!("building the {what} request: {e}"))
}

/// CreateBucket, then the tool's mark: tags, or a marker object on stores
/// without bucket tagging.
pub async fn create(clients: &Clients, want: &DesiredBucket, env: &str) -> Result<Applied> {
    let mut create = clients.s3.create_bucket().bucket(&want.name);
    if let Some(region) = &want.location_constraint {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(region.as_str()))
                .build(),
        );
    }
    match create.send().await {
        Ok(_) => {}
        Err(e) if e.code() == Some("BucketAlreadyOwnedByYou") => {}
        Err(e) => return Err(api_error(e, "CreateBucket", &want.name, &clients.target)),
    }
    let tags: Vec<Tag> = want
        .tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| build_error("tagging", e))?;
    let tagging = Tagging::builder()
        .set_tag_set(Some(tags))
        .build()
        .map_err(|e| build_error("tagging", e))?;
    let tagged = clients
        .s3
        .put_bucket_tagging()
        .bucket(&want.name)
        .tagging(tagging)
        .send()
        .await;
    match done(tagged, "PutBucketTagging", clients, &want.name)? {
        Applied::Unsupported(_) => {
            clients
                .s3
                .put_object()
                .bucket(&want.name)
                .key(MARKER_KEY)
                .content_type("application/json")
                .body(ByteStream::from(marker_body(env).into_bytes()))
                .send()
                .await
                .map_err(|e| {
                    api_error(
                        e,
                        "PutObject",
                        &format!("{}/{MARKER_KEY}", want.name),
                        &clients.target,
                    )
                })?;
            Ok(Applied::Noted(format!(
                "the store has no bucket tagging: ownership recorded in the object {MARKER_KEY}"
            )))
        }
        other => Ok(other),
    }
}

/// Turns versioning on.
pub async fn versioning(clients: &Clients, bucket: &str) -> Result<Applied> {
    let config = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Enabled)
        .build();
    let result = clients
        .s3
        .put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(config)
        .send()
        .await;
    done(result, "PutBucketVersioning", clients, bucket)
}

/// All four public-access-block flags on.
pub async fn public_access_block(clients: &Clients, bucket: &str) -> Result<Applied> {
    let config = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    let result = clients
        .s3
        .put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(config)
        .send()
        .await;
    done(result, "PutPublicAccessBlock", clients, bucket)
}

/// ObjectOwnership BucketOwnerEnforced: ACLs off (never sends an ACL).
pub async fn ownership_controls(clients: &Clients, bucket: &str) -> Result<Applied> {
    let rule = OwnershipControlsRule::builder()
        .object_ownership(ObjectOwnership::BucketOwnerEnforced)
        .build()
        .map_err(|e| build_error("ownership controls", e))?;
    let controls = OwnershipControls::builder()
        .rules(rule)
        .build()
        .map_err(|e| build_error("ownership controls", e))?;
    let result = clients
        .s3
        .put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(controls)
        .send()
        .await;
    done(result, "PutBucketOwnershipControls", clients, bucket)
}

/// Default encryption SSE-S3 (AES256).
pub async fn encryption(clients: &Clients, bucket: &str) -> Result<Applied> {
    let default = ServerSideEncryptionByDefault::builder()
        .sse_algorithm(ServerSideEncryption::Aes256)
        .build()
        .map_err(|e| build_error("encryption", e))?;
    let rule = ServerSideEncryptionRule::builder()
        .apply_server_side_encryption_by_default(default)
        .build();
    let config = ServerSideEncryptionConfiguration::builder()
        .rules(rule)
        .build()
        .map_err(|e| build_error("encryption", e))?;
    let result = clients
        .s3
        .put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(config)
        .send()
        .await;
    done(result, "PutBucketEncryption", clients, bucket)
}

/// Swaps (or removes) the tool's TLS-only statement in the bucket policy,
/// keeping every other statement, confirmed by reading back.
pub async fn policy(clients: &Clients, bucket: &str, ours: Option<&Value>) -> Result<Applied> {
    super::policy_write::policy(clients, bucket, TLS_ONLY_SID, ours).await
}

/// True when the bucket holds nothing but the tool's marker (every version
/// and delete marker counts).
pub async fn is_empty(clients: &Clients, bucket: &str) -> Result<bool> {
    let versions = clients
        .s3
        .list_object_versions()
        .bucket(bucket)
        .max_keys(3)
        .send()
        .await;
    match seen(versions, &[], "ListObjectVersions", clients, bucket)? {
        Seen::Present(out) => {
            let keys = out
                .versions()
                .iter()
                .filter_map(|v| v.key())
                .chain(out.delete_markers().iter().filter_map(|m| m.key()));
            Ok(keys.filter(|k| *k != MARKER_KEY).count() == 0)
        }
        _ => {
            let out = clients
                .s3
                .list_objects_v2()
                .bucket(bucket)
                .max_keys(3)
                .send()
                .await
                .map_err(|e| api_error(e, "ListObjectsV2", bucket, &clients.target))?;
            Ok(out
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .all(|k| k == MARKER_KEY))
        }
    }
}

/// DeleteBucket; a bucket that is gone already is fine. The tool's tags go
/// first: moto 5.2 keeps a deleted bucket's tags for the next bucket of the
/// same name, which would then pass for the tool's.
pub async fn delete(clients: &Clients, bucket: &str) -> Result<Applied> {
    match clients
        .s3
        .delete_bucket_tagging()
        .bucket(bucket)
        .send()
        .await
    {
        Err(e) if e.code() == Some("NoSuchBucket") => return Ok(Applied::Done),
        // No tags (NoSuchTagSet) is fine too.
        Err(e) if status(&e) == Some(404) => Applied::Done,
        untagged => done(untagged, "DeleteBucketTagging", clients, bucket)?,
    };
    match clients.s3.delete_bucket().bucket(bucket).send().await {
        Ok(_) => Ok(Applied::Done),
        Err(e) if status(&e) == Some(404) => Ok(Applied::Done),
        Err(e) if e.code() == Some("BucketNotEmpty") => Err(Error::cloud_with_hint(
            format!("DeleteBucket {bucket}: the bucket is not empty"),
            "run destroy again with --empty to delete every object, version and delete marker",
        )),
        Err(e) => Err(api_error(e, "DeleteBucket", bucket, &clients.target)),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use crate::stores::s3::bucket::rule_json;
    use crate::stores::s3::lifecycle_write::rule_from_json;

    /// What `apply` writes must read back equal, or `plan` would never converge.
    #[test]
    fn the_rule_survives_the_sdk_round_trip() {
        let rules = [
            json!({"ID": "chronotrace-ops:prod:retention", "Status": "Enabled",
                   "Filter": {"Prefix": "prod/traces/"},
                   "Transitions": [{"Days": 30, "StorageClass": "STANDARD_IA"}, {"Days": 60, "StorageClass": "GLACIER"}],
                   "Expiration": {"Days": 150},
                   "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
                   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}),
            json!({"ID": "chronotrace-ops:ci:retention", "Status": "Enabled",
                   "Filter": {"Prefix": "ci/"}, "Expiration": {"Days": 1},
                   "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}}),
        ];
        for rule in rules {
            let sdk = rule_from_json(&rule).expect("a rule");
            assert_eq!(rule_json(&sdk), rule);
        }
    }
}
