//! Bucket state for the `check` tests, made with the SDK directly (as
//! `apply` would leave it): bucket, retention rule, hardening; and the
//! assertion that no probe object or version is left behind.

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketVersioningStatus, ExpirationStatus, LifecycleExpiration,
    LifecycleRule, LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership,
    OwnershipControls, OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};

pub use crate::servers::create_bucket;

/// A retention rule on `app/traces/` with an ID the tool did not choose
/// (`check` judges the effect, not the name).
pub async fn put_retention(s3: &Client, bucket: &str, noncurrent: Option<i32>) {
    let mut rule = LifecycleRule::builder()
        .id("team-retention")
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix("app/traces/").build())
        .expiration(LifecycleExpiration::builder().days(30).build());
    if let Some(days) = noncurrent {
        rule = rule.noncurrent_version_expiration(
            NoncurrentVersionExpiration::builder()
                .noncurrent_days(days)
                .build(),
        );
    }
    let config = BucketLifecycleConfiguration::builder()
        .rules(rule.build().expect("rule"))
        .build()
        .expect("lifecycle");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .expect("put lifecycle");
}

/// What `apply` sets on AWS: versioning, PAB, SSE, ownership, and the
/// TLS-only policy when asked (moto enforces it: plain http is then denied).
pub async fn harden(s3: &Client, bucket: &str, tls_only: bool) {
    let versioning = VersioningConfiguration::builder()
        .status(BucketVersioningStatus::Enabled)
        .build();
    s3.put_bucket_versioning()
        .bucket(bucket)
        .versioning_configuration(versioning)
        .send()
        .await
        .expect("versioning");
    let pab = PublicAccessBlockConfiguration::builder()
        .block_public_acls(true)
        .ignore_public_acls(true)
        .block_public_policy(true)
        .restrict_public_buckets(true)
        .build();
    s3.put_public_access_block()
        .bucket(bucket)
        .public_access_block_configuration(pab)
        .send()
        .await
        .expect("public access block");
    if tls_only {
        put_tls_only_policy(s3, bucket).await;
    }
    let sse = ServerSideEncryptionConfiguration::builder()
        .rules(
            ServerSideEncryptionRule::builder()
                .apply_server_side_encryption_by_default(
                    ServerSideEncryptionByDefault::builder()
                        .sse_algorithm(ServerSideEncryption::Aes256)
                        .build()
                        .expect("sse"),
                )
                .build(),
        )
        .build()
        .expect("sse config");
    s3.put_bucket_encryption()
        .bucket(bucket)
        .server_side_encryption_configuration(sse)
        .send()
        .await
        .expect("encryption");
    let ownership = OwnershipControls::builder()
        .rules(
            OwnershipControlsRule::builder()
                .object_ownership(ObjectOwnership::BucketOwnerEnforced)
                .build()
                .expect("rule"),
        )
        .build()
        .expect("ownership");
    s3.put_bucket_ownership_controls()
        .bucket(bucket)
        .ownership_controls(ownership)
        .send()
        .await
        .expect("ownership controls");
}

pub async fn put_tls_only_policy(s3: &Client, bucket: &str) {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"DenyInsecureTransport","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":["arn:aws:s3:::{bucket}","arn:aws:s3:::{bucket}/*"],"Condition":{{"Bool":{{"aws:SecureTransport":"false"}}}}}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .expect("policy");
}

/// Nothing under `app/traces/_probe/`: no object, and (versioned) no version
/// or delete marker.
pub async fn assert_no_probe_left(s3: &Client, bucket: &str, versioned: bool) {
    let listed = s3
        .list_objects_v2()
        .bucket(bucket)
        .prefix("app/traces/_probe/")
        .send()
        .await
        .expect("list");
    assert_eq!(
        listed.key_count().unwrap_or(0),
        0,
        "probe objects left: {listed:?}"
    );
    if versioned {
        let versions = s3
            .list_object_versions()
            .bucket(bucket)
            .prefix("app/traces/_probe/")
            .send()
            .await
            .expect("list versions");
        assert!(
            versions.versions().is_empty() && versions.delete_markers().is_empty(),
            "probe versions left: {versions:?}"
        );
    }
}

/// What `mc anonymous set public` writes: anyone may list, read and write.
pub async fn put_public_policy(s3: &Client, bucket: &str) {
    let policy = format!(
        r#"{{"Version":"2012-10-17","Statement":[{{"Effect":"Allow","Principal":{{"AWS":["*"]}},"Action":["s3:GetBucketLocation","s3:ListBucket"],"Resource":["arn:aws:s3:::{bucket}"]}},{{"Effect":"Allow","Principal":{{"AWS":["*"]}},"Action":["s3:GetObject","s3:PutObject","s3:DeleteObject"],"Resource":["arn:aws:s3:::{bucket}/*"]}}]}}"#
    );
    s3.put_bucket_policy()
        .bucket(bucket)
        .policy(policy)
        .send()
        .await
        .expect("public policy");
}
