//! `cleanup verify` and `cleanup purge` against real stores (issue 5):
//! Garage loaded with old and young partitions, another tenant's prefix, a
//! sibling prefix and the app's diagnostic file; a versioned bucket on
//! moto; a local directory. Counts are exact, and what must stay, stays.

use std::collections::BTreeSet;
use std::path::Path;

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketVersioningStatus, VersioningConfiguration};
use chrono::{Days, Utc};
use serde_json::Value;
use tempfile::TempDir;

use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Run, tempdir};

/// The app's prefix in the bucket (`CHRONOTRACE_S3_PREFIX`).
pub const PREFIX: &str = "staging/traces";
/// Retention of the test spec; verify's default grace is 2 days.
pub const RETENTION: u32 = 15;

/// `YYYY-MM-DD` of `days` ago (UTC).
pub fn day(days: u64) -> String {
    Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(days))
        .expect("a date")
        .to_string()
}

/// The fixture: partitions by age in days and their trace counts.
/// 40 and 20 days old: past retention plus grace. 16 days old: past
/// retention (purge deletes it) but within the grace of verify. 5 and 0:
/// young.
pub const PARTITIONS: [(u64, usize); 5] = [(40, 3), (20, 2), (16, 1), (5, 4), (0, 1)];

/// Every key the fixture writes: the environment's traces, the app's
/// diagnostic file, another tenant's traces and a sibling prefix.
pub fn fixture_keys() -> Vec<String> {
    let mut keys = Vec::new();
    for (age, n) in PARTITIONS {
        for i in 0..n {
            keys.push(format!("{PREFIX}/traces/{}/trace-{age}-{i}.zip", day(age)));
        }
    }
    keys.push(format!("{PREFIX}/traces/diagnostic-test-6750a1b2c3d4e.txt"));
    for i in 0..2 {
        keys.push(format!("other-tenant/traces/traces/{}/t{i}.zip", day(40)));
        keys.push(format!(
            "staging/traces-archive/traces/{}/a{i}.zip",
            day(40)
        ));
    }
    keys
}

pub use crate::servers::{create_bucket, unique_bucket};

/// Writes `key` with a small body (3 bytes per object, so bytes = 3 × count).
pub async fn put(s3: &Client, bucket: &str, key: &str) {
    s3.put_object()
        .bucket(bucket)
        .key(key)
        .body(ByteStream::from_static(b"zip"))
        .send()
        .await
        .unwrap_or_else(|e| panic!("put {key}: {e:?}"));
}

/// Every current key of the bucket.
pub async fn all_keys(s3: &Client, bucket: &str) -> BTreeSet<String> {
    let mut keys = BTreeSet::new();
    let mut pages = s3.list_objects_v2().bucket(bucket).into_paginator().send();
    while let Some(page) = pages.next().await {
        for o in page.expect("list").contents() {
            keys.insert(o.key().expect("key").to_string());
        }
    }
    keys
}

/// A spec with one S3 environment `staging` on `endpoint`.
pub fn write_s3_spec(
    dir: &Path,
    endpoint: &Endpoint,
    provider: &str,
    bucket: &str,
    versioned: bool,
) {
    let versioning = if versioned {
        "    versioning: true\n    noncurrent_days: 7\n"
    } else {
        ""
    };
    let spec = format!(
        "project: ct\nenvironments:\n  staging:\n    storage: s3\n    provider: {provider}\n    endpoint: {}\n    region: {}\n    bucket: {bucket}\n    prefix: {PREFIX}\n    retention_days: {RETENTION}\n{versioning}",
        endpoint.url, endpoint.region
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

/// The binary against `endpoint`, with its credentials.
pub fn run_with(dir: &Path, endpoint: &Endpoint, args: &[&str]) -> crate::support::Outcome {
    Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
        .args(["-e", "staging", "--output", "json"])
        .args(args)
        .run()
}

/// The JSON on stdout.
pub fn json(out: &crate::support::Outcome) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// The fixture keys expected to survive a purge.
fn survivors() -> BTreeSet<String> {
    let expired: Vec<String> = [40, 20, 16]
        .iter()
        .map(|a| format!("/traces/{}/", day(*a)))
        .collect();
    fixture_keys()
        .into_iter()
        .filter(|k| {
            !(k.starts_with(&format!("{PREFIX}/"))
                && expired.iter().any(|e| k.contains(e.as_str())))
        })
        .collect()
}

/// A Garage bucket loaded with the fixture, and a spec for it in a fresh
/// directory: (client, bucket, directory).
pub async fn garage_fixture(garage: &Endpoint, tag: &str) -> (Client, String, TempDir) {
    garage_fixture_at(garage, garage, tag).await
}

/// As `garage_fixture`, loaded directly but with a spec whose endpoint is
/// `spec_endpoint` (a proxy in front of the same Garage, say).
pub async fn garage_fixture_at(
    garage: &Endpoint,
    spec_endpoint: &Endpoint,
    tag: &str,
) -> (Client, String, TempDir) {
    let s3 = s3_client(garage);
    let bucket = unique_bucket(tag);
    create_bucket(&s3, garage, &bucket).await;
    for key in fixture_keys() {
        put(&s3, &bucket, &key).await;
    }
    let dir = tempdir();
    write_s3_spec(dir.path(), spec_endpoint, "s3-compatible", &bucket, false);
    (s3, bucket, dir)
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_verify_purge_verify_exact_counts() {
    verify_purge_verify_exact_counts(&server("garage")).await;
}

/// The same on SeaweedFS (its DeleteObjects and lifecycle included).
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn seaweedfs_verify_purge_verify_exact_counts() {
    verify_purge_verify_exact_counts(&server("seaweedfs")).await;
}

async fn verify_purge_verify_exact_counts(store: &Endpoint) {
    let (s3, bucket, dir) = garage_fixture(store, "cleanup").await;

    // 3 + 2 traces are past 15 days + 2 grace; the 16-day-old one is not yet.
    let verify = json(&run_with(dir.path(), store, &["cleanup", "verify"]).code(1));
    assert_eq!(verify["ok"], false);
    assert_eq!(verify["expired_objects"], 5);
    assert_eq!(verify["expired_bytes"], 15);
    assert_eq!(verify["oldest"], day(40));
    assert_eq!(verify["grace_days"], 2);
    assert_eq!(verify["partitions_found"], 5);
    assert_eq!(
        verify["partitions_listed"], 2,
        "only partitions past the cutoff are listed"
    );
    assert_eq!(verify["lifecycle"]["present"], false);

    // A dry run counts the 16-day-old trace too (no grace) and deletes nothing.
    let before = all_keys(&s3, &bucket).await;
    let dry = json(&run_with(dir.path(), store, &["cleanup", "purge"]).code(0));
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["deleted_objects"], 6);
    assert_eq!(dry["partitions"].as_array().map(Vec::len), Some(3));
    assert_eq!(
        all_keys(&s3, &bucket).await,
        before,
        "a dry run deletes nothing"
    );

    let purge = json(&run_with(dir.path(), store, &["cleanup", "purge", "--yes"]).code(0));
    assert_eq!(purge["dry_run"], false);
    assert_eq!(purge["deleted_objects"], 6);
    assert_eq!(purge["deleted_bytes"], 18);
    assert_eq!(purge["errors"], serde_json::json!([]));
    assert_eq!(
        all_keys(&s3, &bucket).await,
        survivors(),
        "exactly the expired set is gone"
    );

    put_retention_rule(&s3, &bucket, RETENTION).await;
    let after = json(&run_with(dir.path(), store, &["cleanup", "verify", "--grace", "0"]).code(0));
    assert_eq!(after["ok"], true);
    assert_eq!(after["expired_objects"], 0);
    // SeaweedFS keeps a purged partition's empty folder (its filer lists
    // it as a common prefix of a delimited listing); the seeks that find
    // partitions see keys only, so on every store nothing is left to list.
    assert_eq!(after["partitions_listed"], 0, "{after}");
    assert_eq!(after["lifecycle"]["present"], true, "{after}");
    assert_eq!(after["lifecycle"]["matching"], true, "{after}");

    // A rule that drifted from the spec is reported, not "matching".
    put_retention_rule(&s3, &bucket, RETENTION + 1).await;
    let drifted = json(&run_with(dir.path(), store, &["cleanup", "verify"]).code(0));
    assert_eq!(drifted["lifecycle"]["matching"], false, "{drifted}");
}

/// Writes the tool's lifecycle rule (as `apply` would) expiring after `days`.
pub async fn put_retention_rule(s3: &Client, bucket: &str, days: u32) {
    use aws_sdk_s3::types::{
        BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
        LifecycleRuleFilter,
    };
    let rule = LifecycleRule::builder()
        .id("chronotrace-ops:staging:retention")
        .status(ExpirationStatus::Enabled)
        .filter(
            LifecycleRuleFilter::builder()
                .prefix(format!("{PREFIX}/"))
                .build(),
        )
        .expiration(
            LifecycleExpiration::builder()
                .days(i32::try_from(days).expect("days"))
                .build(),
        )
        .build()
        .expect("a rule");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(
            BucketLifecycleConfiguration::builder()
                .rules(rule)
                .build()
                .expect("a configuration"),
        )
        .send()
        .await
        .expect("put lifecycle");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_versioned_purge_removes_every_version_and_marker() {
    versioned_purge_removes_every_version_and_marker(&server("moto"), "aws").await;
}

/// The same on SeaweedFS, whose versioning is real (measured, issue 12).
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn seaweedfs_versioned_purge_removes_every_version_and_marker() {
    versioned_purge_removes_every_version_and_marker(&server("seaweedfs"), "seaweedfs").await;
}

/// A versioned bucket on `store`: in a partition 40 days old and one 3 days
/// old, two versions of `a.zip` and a deleted `b.zip` (its version under a
/// delete marker). Returns the client, the bucket and the two days.
pub async fn versioned_fixture(store: &Endpoint) -> (Client, String, (String, String)) {
    let s3 = s3_client(store);
    let bucket = unique_bucket("versions");
    create_bucket(&s3, store, &bucket).await;
    s3.put_bucket_versioning()
        .bucket(&bucket)
        .versioning_configuration(
            VersioningConfiguration::builder()
                .status(BucketVersioningStatus::Enabled)
                .build(),
        )
        .send()
        .await
        .expect("enable versioning");
    let (old, young) = (day(40), day(3));
    for partition in [&old, &young] {
        let base = format!("{PREFIX}/traces/{partition}");
        // Two versions of one trace, and a trace deleted (a delete marker
        // over its one version).
        put(&s3, &bucket, &format!("{base}/a.zip")).await;
        put(&s3, &bucket, &format!("{base}/a.zip")).await;
        put(&s3, &bucket, &format!("{base}/b.zip")).await;
        s3.delete_object()
            .bucket(&bucket)
            .key(format!("{base}/b.zip"))
            .send()
            .await
            .expect("delete b");
    }
    (s3, bucket, (old, young))
}

async fn versioned_purge_removes_every_version_and_marker(store: &Endpoint, provider: &str) {
    let (s3, bucket, (old, young)) = versioned_fixture(store).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), store, provider, &bucket, true);

    // Per partition: a (current), its old version and b's (noncurrent), b's marker.
    let report = json(&run_with(dir.path(), store, &["report"]).code(0));
    assert_eq!(report["objects"], 2, "{report}");
    assert_eq!(report["versions"]["noncurrent_versions"], 4, "{report}");
    assert_eq!(report["versions"]["delete_markers"], 2, "{report}");

    // 2 versions of a, 1 of b, 1 delete marker.
    let verify = json(&run_with(dir.path(), store, &["cleanup", "verify"]).code(1));
    assert_eq!(verify["expired_objects"], 4);

    let purge = json(&run_with(dir.path(), store, &["cleanup", "purge", "--yes"]).code(0));
    assert_eq!(purge["deleted_objects"], 4, "{purge}");
    let count = |prefix: String| {
        let s3 = s3.clone();
        let bucket = bucket.clone();
        async move {
            let out = s3
                .list_object_versions()
                .bucket(&bucket)
                .prefix(prefix)
                .send()
                .await
                .expect("list versions");
            out.versions().len() + out.delete_markers().len()
        }
    };
    assert_eq!(count(format!("{PREFIX}/traces/{old}/")).await, 0);
    assert_eq!(
        count(format!("{PREFIX}/traces/{young}/")).await,
        4,
        "fresh traces are kept"
    );
    run_with(dir.path(), store, &["cleanup", "verify"]).code(0);
}

/// Writes the fixture's environment traces under `{path}/traces/`, plus a
/// file beside `traces/` that must never be touched.
pub fn write_local_fixture(root: &Path) {
    for key in fixture_keys()
        .iter()
        .filter_map(|k| k.strip_prefix(&format!("{PREFIX}/")))
    {
        let path = root.join("disk").join(key);
        std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
        std::fs::write(&path, b"zip").expect("write");
    }
    std::fs::create_dir_all(root.join("disk/app")).expect("mkdir");
    std::fs::write(root.join("disk/app/keep.txt"), b"keep").expect("write");
    let spec = format!(
        "project: ct\nenvironments:\n  staging:\n    storage: local\n    path: disk\n    retention_days: {RETENTION}\n"
    );
    std::fs::write(root.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

fn local(dir: &Path, args: &[&str]) -> crate::support::Outcome {
    Run::new(dir)
        .args(["-e", "staging", "--output", "json"])
        .args(args)
        .run()
}

#[test]
fn local_directory_verify_purge_verify_exact_counts() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let traces = dir.path().join("disk/traces");

    let verify = json(&local(dir.path(), &["cleanup", "verify"]).code(1));
    assert_eq!(verify["expired_objects"], 5);
    assert_eq!(verify["lifecycle"], Value::Null);

    let dry = json(&local(dir.path(), &["cleanup", "purge"]).code(0));
    assert_eq!(dry["deleted_objects"], 6);
    assert!(traces.join(day(40)).is_dir(), "a dry run deletes nothing");

    let purge = json(&local(dir.path(), &["cleanup", "purge", "--yes"]).code(0));
    assert_eq!(purge["deleted_objects"], 6);
    for age in [40, 20, 16] {
        assert!(
            !traces.join(day(age)).exists(),
            "empty partition {age} removed"
        );
    }
    assert_eq!(
        std::fs::read_dir(traces.join(day(5)))
            .expect("young")
            .count(),
        4
    );
    assert!(traces.join("diagnostic-test-6750a1b2c3d4e.txt").is_file());
    assert!(
        dir.path().join("disk/app/keep.txt").is_file(),
        "outside traces/ untouched"
    );

    let after = json(&local(dir.path(), &["cleanup", "verify", "--grace", "0"]).code(0));
    assert_eq!(after["expired_objects"], 0);
}

#[test]
fn days_zero_is_refused() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let out = local(dir.path(), &["cleanup", "purge", "--days", "0"])
        .code(2)
        .one_line_error("--days 0");
    assert!(out.stderr.contains("--days 0"), "{}", out.stderr);
}
