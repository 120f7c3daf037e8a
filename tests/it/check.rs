//! `check` (issue 4) against the real bench: healthy moto and Garage
//! environments, a wrong secret, a missing bucket and lifecycle, a closed
//! port, a MinIO that lost quorum (a small fake responder), a local
//! directory, and (in `check/tls.rs`) an nginx TLS proxy with a test CA.

mod fake_minio;
mod tls;
mod tls_proxy;

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, BucketLocationConstraint, BucketVersioningStatus,
    CreateBucketConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, NoncurrentVersionExpiration, ObjectOwnership, OwnershipControls,
    OwnershipControlsRule, PublicAccessBlockConfiguration, ServerSideEncryption,
    ServerSideEncryptionByDefault, ServerSideEncryptionConfiguration, ServerSideEncryptionRule,
    VersioningConfiguration,
};
use serde_json::Value;

use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, Run, tempdir};

/// A bucket name of this test run alone.
fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!(
        "ct-check-{label}-{}-{}",
        std::process::id(),
        nanos % 1_000_000_000
    )
}

/// Writes a spec with one environment `e` of the given YAML body.
fn write_spec(dir: &Path, body: &str) {
    let spec = format!("project: chronotrace\nenvironments:\n  e:\n{body}");
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

fn s3_env(provider: &str, endpoint: &str, region: &str, bucket: &str, extra: &str) -> String {
    format!(
        "    storage: s3\n    provider: {provider}\n    endpoint: {endpoint}\n    region: {region}\n    bucket: {bucket}\n    prefix: app/traces\n    retention_days: 30\n{extra}"
    )
}

/// Runs `check -e e --output json` with the server's credentials.
fn check_json(dir: &Path, creds: (&str, &str), extra: &[&str]) -> (Outcome, Value) {
    let out = Run::new(dir)
        .args(["check", "-e", "e", "--output", "json"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", creds.0)
        .env("AWS_SECRET_ACCESS_KEY", creds.1)
        .run();
    let json = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
    (out, json)
}

/// The check `id` of a JSON report.
fn find<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

#[track_caller]
fn assert_status(report: &Value, id: &str, status: &str) {
    let check = find(report, id);
    assert_eq!(
        check["status"], status,
        "{id}: {check:#}\nreport: {report:#}"
    );
}

fn message<'a>(report: &'a Value, id: &str) -> &'a str {
    find(report, id)["message"].as_str().unwrap_or_default()
}

/// No report line may say `fail`.
#[track_caller]
fn assert_no_failure(report: &Value) {
    let failed: Vec<&Value> = report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["status"] == "fail")
        .collect();
    assert!(failed.is_empty(), "failed checks: {failed:#?}");
    assert_eq!(report["ok"], true);
}

async fn create_bucket(s3: &Client, endpoint: &Endpoint, bucket: &str) {
    let mut create = s3.create_bucket().bucket(bucket);
    if endpoint.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(endpoint.region.as_str()))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
}

/// A retention rule on `app/traces/` with an ID the tool did not choose
/// (`check` judges the effect, not the name).
async fn put_retention(s3: &Client, bucket: &str, noncurrent: Option<i32>) {
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
async fn harden(s3: &Client, bucket: &str, tls_only: bool) {
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

async fn put_tls_only_policy(s3: &Client, bucket: &str) {
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
async fn assert_no_probe_left(s3: &Client, bucket: &str, versioned: bool) {
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

/// A Garage bucket with the retention rule in place, ready for `check`.
pub(crate) async fn garage_ready_bucket(garage: &Endpoint, label: &str) -> (Client, String) {
    let s3 = s3_client(garage);
    let bucket = unique(label);
    create_bucket(&s3, garage, &bucket).await;
    put_retention(&s3, &bucket, None).await;
    (s3, bucket)
}

#[tokio::test]
async fn moto_healthy_environment_passes() {
    let Some(moto) = server("moto") else { return };
    let s3 = s3_client(&moto);
    let bucket = unique("moto");
    create_bucket(&s3, &moto, &bucket).await;
    harden(&s3, &bucket, false).await;
    put_retention(&s3, &bucket, Some(7)).await;
    let dir = tempdir();
    let iam = "    noncurrent_days: 7\n    versioning: true\n    iam:\n      policy: ChronoTracePolicy\n      role: ChronoTraceRole\n";
    write_spec(
        dir.path(),
        &s3_env("aws", &moto.url, &moto.region, &bucket, iam),
    );

    let (out, report) = check_json(dir.path(), ("testing", "testing"), &[]);
    let out = out.code(0);
    assert_no_failure(&report);
    assert_eq!(report["env"], "e");
    for id in [
        "network.dns",
        "network.tcp",
        "identity",
        "bucket.exists",
        "bucket.region",
        "bucket.list",
        "probe",
        "retention.lifecycle",
        "retention.noncurrent",
        "security.public-access-block",
        "security.anonymous-access",
        "security.encryption",
        "security.ownership",
    ] {
        assert_status(&report, id, "pass");
    }
    assert!(message(&report, "identity").contains("123456789012"));
    assert!(message(&report, "retention.lifecycle").contains("team-retention"));
    // No TLS-only policy here (see the next test): a warning, not a failure.
    assert_status(&report, "security.tls-only", "warn");
    // moto has no SimulatePrincipalPolicy (it answers 500): a skip, said so.
    assert_status(&report, "iam.simulate", "skip");
    assert!(message(&report, "iam.simulate").contains("SimulatePrincipalPolicy"));
    assert!(!out.stdout.contains("testing\""), "no secret in the output");
    assert_no_probe_left(&s3, &bucket, true).await;
}

/// A TLS-only policy denies plain http, and moto enforces it: the policy
/// check passes and the probe fails, saying why.
#[tokio::test]
async fn moto_tls_only_policy_over_plain_http_fails_the_probe_with_the_reason() {
    let Some(moto) = server("moto") else { return };
    let s3 = s3_client(&moto);
    let bucket = unique("motohttp");
    create_bucket(&s3, &moto, &bucket).await;
    put_retention(&s3, &bucket, None).await;
    harden(&s3, &bucket, true).await;
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("aws", &moto.url, &moto.region, &bucket, ""),
    );
    let (out, report) = check_json(dir.path(), ("testing", "testing"), &[]);
    out.code(1);
    assert_status(&report, "security.tls-only", "pass");
    assert_status(&report, "probe", "fail");
    let probe = find(&report, "probe");
    assert!(
        probe["message"]
            .as_str()
            .is_some_and(|m| m.contains("HTTP 403")),
        "{probe:#}"
    );
    assert!(
        probe["hint"]
            .as_str()
            .is_some_and(|h| h.contains("TLS-only")),
        "{probe:#}"
    );
}

#[tokio::test]
async fn garage_healthy_environment_passes_with_skips_for_missing_features() {
    let Some(garage) = server("garage") else {
        return;
    };
    let (s3, bucket) = garage_ready_bucket(&garage, "garage").await;
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &garage.url, "garage", &bucket, ""),
    );
    let creds = (&*garage.access_key_id, &*garage.secret_access_key);

    let (_, report) = check_json(dir.path(), creds, &[]);
    assert_no_failure(&report);
    for id in [
        "bucket.exists",
        "bucket.region",
        "bucket.list",
        "probe",
        "retention.lifecycle",
    ] {
        assert_status(&report, id, "pass");
    }
    // What Garage lacks is a skip with the reason, never a failure.
    for id in [
        "identity",
        "security.public-access-block",
        "security.tls-only",
        "security.encryption",
        "security.ownership",
    ] {
        assert_status(&report, id, "skip");
    }
    assert!(message(&report, "security.encryption").contains("does not implement"));
    assert_no_probe_left(&s3, &bucket, false).await;

    // The text table: one line per check, a summary, no colour off a terminal.
    let out = Run::new(dir.path())
        .args(["check", "-e", "e"])
        .env("AWS_ACCESS_KEY_ID", creds.0)
        .env("AWS_SECRET_ACCESS_KEY", creds.1)
        .run()
        .code(0);
    assert!(out.stdout.contains("PASS  network.dns"), "{}", out.stdout);
    assert!(out.stdout.contains("e: ok: "), "{}", out.stdout);
    assert!(!out.stdout.contains('\x1b'), "no colour when piped");
}

#[tokio::test]
async fn garage_wrong_secret_fails_and_never_shows_it() {
    let Some(garage) = server("garage") else {
        return;
    };
    let (_, bucket) = garage_ready_bucket(&garage, "secret").await;
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &garage.url, "garage", &bucket, ""),
    );
    let secret = "wrong-secret-4f1d9a7c2b8e";
    for output in ["json", "text"] {
        let out = Run::new(dir.path())
            .args(["check", "-e", "e", "--output", output, "-vv"])
            .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", secret)
            .run()
            .code(1);
        assert!(!out.stdout.contains(secret) && !out.stderr.contains(secret));
        assert!(!out.stdout.contains(&garage.secret_access_key));
        if output == "json" {
            let report: Value = serde_json::from_str(&out.stdout).expect("json");
            assert_status(&report, "bucket.exists", "fail");
            let check = find(&report, "bucket.exists");
            assert!(
                check["hint"]
                    .as_str()
                    .unwrap_or_default()
                    .contains("AWS_SECRET_ACCESS_KEY"),
                "{check:#}"
            );
            assert_status(&report, "probe", "skip");
        }
    }
}

#[tokio::test]
async fn garage_missing_bucket_and_lifecycle_fail_with_the_fix() {
    let Some(garage) = server("garage") else {
        return;
    };
    let creds = (&*garage.access_key_id, &*garage.secret_access_key);
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env(
            "s3-compatible",
            &garage.url,
            "garage",
            &unique("absent"),
            "",
        ),
    );
    let (out, report) = check_json(dir.path(), creds, &[]);
    out.code(1);
    assert_status(&report, "bucket.exists", "fail");
    assert!(message(&report, "bucket.exists").contains("does not exist"));

    let s3 = s3_client(&garage);
    let bucket = unique("nolifecycle");
    create_bucket(&s3, &garage, &bucket).await;
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &garage.url, "garage", &bucket, ""),
    );
    let (out, report) = check_json(dir.path(), creds, &[]);
    out.code(1);
    assert_status(&report, "retention.lifecycle", "fail");
    assert!(
        find(&report, "retention.lifecycle")["hint"]
            .as_str()
            .is_some_and(|h| h.contains("chronotrace-ops apply"))
    );
    assert_status(&report, "probe", "pass");
}

#[test]
fn closed_port_fails_within_seconds() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let dir = tempdir();
    let endpoint = format!("http://127.0.0.1:{port}");
    write_spec(
        dir.path(),
        &s3_env("minio", &endpoint, "us-east-1", "closed-port", ""),
    );
    let started = Instant::now();
    let (out, report) = check_json(dir.path(), ("key", "secret"), &[]);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    out.code(1);
    assert_status(&report, "network.tcp", "fail");
    for id in [
        "minio.cluster",
        "bucket.exists",
        "probe",
        "security.encryption",
    ] {
        assert_status(&report, id, "skip");
        assert_eq!(message(&report, id), "endpoint unreachable");
    }
}

#[test]
fn minio_that_lost_write_quorum_fails_the_cluster_check() {
    let endpoint = fake_minio::start_quorum_lost();
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("minio", &endpoint, "us-east-1", "quorum", ""),
    );
    let (out, report) = check_json(dir.path(), ("key", "secret"), &[]);
    out.code(1);
    assert_status(&report, "minio.live", "pass");
    assert_status(&report, "minio.ready", "pass");
    assert_status(&report, "minio.cluster-read", "pass");
    assert_status(&report, "minio.cluster", "fail");
    assert!(
        message(&report, "minio.cluster").contains("quorum"),
        "{report:#}"
    );
}

#[test]
fn local_environment_is_writable_and_reports_free_space() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("disk")).expect("mkdir");
    write_spec(
        dir.path(),
        "    storage: local\n    path: disk\n    retention_days: 15\n",
    );
    let (out, report) = check_json(dir.path(), ("", ""), &[]);
    out.code(0);
    assert_no_failure(&report);
    assert_status(&report, "local.writable", "pass");
    assert!(
        message(&report, "local.free-space").contains("free of"),
        "{report:#}"
    );
    assert_status(&report, "local.filesystem", "pass");
    let left: Vec<_> = std::fs::read_dir(dir.path().join("disk"))
        .expect("read")
        .collect();
    assert!(left.is_empty(), "probe file left: {left:?}");

    write_spec(
        dir.path(),
        "    storage: local\n    path: missing\n    retention_days: 15\n",
    );
    let (out, report) = check_json(dir.path(), ("", ""), &[]);
    out.code(1);
    assert_status(&report, "local.directory", "fail");
    assert_status(&report, "local.writable", "skip");
}

#[test]
fn checks_that_cannot_run_exit_2() {
    let dir = tempdir();
    write_spec(
        dir.path(),
        "    storage: local\n    path: disk\n    retention_days: 15\n",
    );
    let out = Run::new(dir.path())
        .args(["check", "-e", "nope"])
        .run()
        .code(2);
    assert!(
        out.stderr.contains("no environment named 'nope'"),
        "{}",
        out.stderr
    );

    write_spec(
        dir.path(),
        &s3_env("minio", "http://127.0.0.1:9", "us-east-1", "bkt", ""),
    );
    let out = Run::new(dir.path())
        .args(["check", "-e", "e", "--ca-bundle", "no-such-ca.pem"])
        .run()
        .code(2);
    assert!(out.stderr.contains("no-such-ca.pem"), "{}", out.stderr);
}
