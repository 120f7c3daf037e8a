//! `plan`, `apply`, `destroy` against the bench's moto (AWS planes, IAM
//! included) and Garage (a real S3 store), issue 3: apply from empty
//! converges, drift is shown and repaired, what others own survives apply
//! and destroy, destroy leaves nothing of ours, and the errors a user meets
//! are one line with a hint.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
};
use serde_json::Value;

use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, Run, tempdir};

const RULE_ID: &str = "chronotrace-ops:ci:retention";
const FOREIGN_RULE: &str = "someone-elses-rule";

fn unique(prefix: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_nanos();
    format!(
        "ct-{prefix}-{}-{}",
        std::process::id(),
        nanos % 10_000_000_000
    )
}

/// A spec with one S3 environment `ci` on `endpoint`.
fn spec(dir: &Path, endpoint: &Endpoint, provider: &str, bucket: &str, extra: &str) {
    let text = format!(
        "project: t\nenvironments:\n  ci:\n    storage: s3\n    provider: {provider}\n    endpoint: {}\n    region: {}\n    bucket: {bucket}\n    prefix: ci/traces\n    retention_days: 30\n{extra}",
        endpoint.url, endpoint.region
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), text).expect("spec written");
}

/// The binary on environment `ci` with the endpoint's credentials.
fn ct(dir: &Path, endpoint: &Endpoint, args: &[&str]) -> Outcome {
    Run::new(dir)
        .args(["-e", "ci"])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
        .run()
}

async fn rules(s3: &aws_sdk_s3::Client, bucket: &str) -> Vec<LifecycleRule> {
    match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out.rules().to_vec(),
        Err(_) => Vec::new(),
    }
}

fn rule(id: &str, prefix: &str, days: i32) -> LifecycleRule {
    LifecycleRule::builder()
        .id(id)
        .status(ExpirationStatus::Enabled)
        .filter(LifecycleRuleFilter::builder().prefix(prefix).build())
        .expiration(LifecycleExpiration::builder().days(days).build())
        .build()
        .expect("a rule")
}

/// Another client's edit: the tool's rule shortened to 5 days, a foreign rule added.
async fn drift_lifecycle(s3: &aws_sdk_s3::Client, bucket: &str) {
    let mut all: Vec<LifecycleRule> = rules(s3, bucket).await;
    all.retain(|r| r.id() != Some(RULE_ID));
    all.push(rule(RULE_ID, "ci/traces/", 5));
    all.push(rule(FOREIGN_RULE, "other/", 3));
    let config = BucketLifecycleConfiguration::builder()
        .set_rules(Some(all))
        .build()
        .expect("config");
    s3.put_bucket_lifecycle_configuration()
        .bucket(bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .expect("drift written");
}

fn ids(rules: &[LifecycleRule]) -> Vec<&str> {
    rules.iter().filter_map(LifecycleRule::id).collect()
}

async fn our_expiration(s3: &aws_sdk_s3::Client, bucket: &str) -> Option<i32> {
    rules(s3, bucket)
        .await
        .iter()
        .find(|r| r.id() == Some(RULE_ID))
        .and_then(|r| r.expiration())
        .and_then(|e| e.days())
}

pub fn iam_client(endpoint: &Endpoint) -> aws_sdk_iam::Client {
    let credentials = aws_sdk_iam::config::Credentials::new(
        &endpoint.access_key_id,
        &endpoint.secret_access_key,
        None,
        None,
        "tests",
    );
    let config = aws_sdk_iam::Config::builder()
        .behavior_version(aws_sdk_iam::config::BehaviorVersion::latest())
        .endpoint_url(&endpoint.url)
        .region(aws_sdk_iam::config::Region::new(endpoint.region.clone()))
        .credentials_provider(credentials)
        .http_client(chronotrace_ops::testing::sdk_http_client().expect("the tool's HTTP client"))
        .build();
    aws_sdk_iam::Client::from_conf(config)
}

async fn bucket_exists(s3: &aws_sdk_s3::Client, bucket: &str) -> bool {
    s3.head_bucket().bucket(bucket).send().await.is_ok()
}

/// Drift on our rule shows in plan (exit 1) and apply repairs it; the foreign rule survives.
async fn drift_is_repaired(dir: &Path, endpoint: &Endpoint, bucket: &str) {
    let s3 = s3_client(endpoint);
    drift_lifecycle(&s3, bucket).await;
    let plan = ct(dir, endpoint, &["plan", "--exit-code"]).code(1);
    assert!(
        plan.stdout.contains("~ bucket.lifecycle"),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout
            .contains("Expiration: {\"Days\":5} -> {\"Days\":30}"),
        "{}",
        plan.stdout
    );
    ct(dir, endpoint, &["apply", "--yes"]).code(0);
    ct(dir, endpoint, &["plan", "--exit-code"]).code(0);
    assert_eq!(our_expiration(&s3, bucket).await, Some(30));
    assert!(
        ids(&rules(&s3, bucket).await).contains(&FOREIGN_RULE),
        "the foreign rule survives apply"
    );
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_apply_converges_repairs_drift_and_destroys_only_its_own() {
    let moto = server("moto");
    let dir = tempdir();
    let bucket = unique("prov");
    let role = unique("role");
    let extra = format!(
        "    versioning: true\n    noncurrent_days: 7\n    iam:\n      policy: {role}-policy\n      role: {role}\n      instance_profile: {role}-profile\n"
    );
    spec(dir.path(), &moto, "aws", &bucket, &extra);

    let first = ct(
        dir.path(),
        &moto,
        &["plan", "--exit-code", "--output", "json"],
    )
    .code(1);
    let json: Value = serde_json::from_str(&first.stdout).expect("plan JSON");
    assert_eq!(json["env"], "ci");
    assert!(
        json["changes"]
            .as_array()
            .expect("changes")
            .iter()
            .all(|c| c["action"] == "create"),
        "{json}"
    );

    // No terminal, no --yes: the plan shown, then refused with the fix.
    ct(dir.path(), &moto, &["apply"])
        .code(2)
        .stderr_one_error("no terminal to confirm")
        .stderr_contains("--yes")
        .stdout_contains("11 to create");
    ct(dir.path(), &moto, &["apply", "--yes"]).code(0);
    ct(dir.path(), &moto, &["plan", "--exit-code"]).code(0);
    let again = ct(dir.path(), &moto, &["apply", "--yes"]).code(0);
    assert!(again.stdout.contains("Nothing to do"), "{}", again.stdout);

    drift_is_repaired(dir.path(), &moto, &bucket).await;

    // A foreign statement in the bucket policy survives apply.
    let s3 = s3_client(&moto);
    let policy: Value = serde_json::from_str(
        s3.get_bucket_policy()
            .bucket(&bucket)
            .send()
            .await
            .expect("policy")
            .policy()
            .expect("text"),
    )
    .expect("JSON");
    let mut doc = policy.clone();
    doc["Statement"].as_array_mut().expect("statements").insert(0, serde_json::json!({"Sid": "theirs", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": format!("arn:aws:s3:::{bucket}")}));
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(doc.to_string())
        .send()
        .await
        .expect("foreign statement");
    ct(dir.path(), &moto, &["plan", "--exit-code"]).code(0);

    // moto enforces the TLS-only statement: a plain-http write is denied.
    let denied = s3
        .put_object()
        .bucket(&bucket)
        .key("ci/traces/x")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await;
    assert!(denied.is_err(), "the TLS-only statement denies http");
    s3.delete_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("policy removed for the test's http writes");

    // Non-empty: refused without --empty; then everything of ours goes.
    s3.put_object()
        .bucket(&bucket)
        .key("ci/traces/traces/2026-01-01/a.zip")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("object");
    ct(dir.path(), &moto, &["destroy"])
        .code(2)
        .stderr_one_error("")
        .stderr_contains("--yes");
    let refused = ct(dir.path(), &moto, &["destroy", "--yes"])
        .code(2)
        .stderr_one_error("not empty");
    assert!(
        refused.stderr.contains("not empty") && refused.stderr.contains("--empty"),
        "{}",
        refused.stderr
    );
    let iam = iam_client(&moto);
    iam.get_role()
        .role_name(&role)
        .send()
        .await
        .expect("a refused destroy changes nothing");
    ct(dir.path(), &moto, &["destroy", "--yes", "--empty"]).code(0);
    assert!(!bucket_exists(&s3, &bucket).await, "bucket gone");
    assert!(
        iam.get_role().role_name(&role).send().await.is_err(),
        "role gone"
    );
    assert!(
        iam.get_instance_profile()
            .instance_profile_name(format!("{role}-profile"))
            .send()
            .await
            .is_err(),
        "profile gone"
    );
    let after = ct(dir.path(), &moto, &["destroy", "--yes"]).code(0);
    assert!(after.stdout.contains("does not exist"), "{}", after.stdout);
    // A new bucket of the same name by someone else is not taken for ours.
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("their bucket");
    let theirs = ct(dir.path(), &moto, &["plan"]).code(0);
    assert!(
        theirs.stdout.contains("not created by chronotrace-ops"),
        "{}",
        theirs.stdout
    );
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_foreign_bucket_and_role_are_reported_and_survive() {
    let moto = server("moto");
    let dir = tempdir();
    let bucket = unique("foreign");
    let role = unique("their-role");
    let s3 = s3_client(&moto);
    s3.create_bucket()
        .bucket(&bucket)
        .send()
        .await
        .expect("their bucket");
    let config = BucketLifecycleConfiguration::builder()
        .rules(rule(FOREIGN_RULE, "other/", 3))
        .build()
        .expect("config");
    s3.put_bucket_lifecycle_configuration()
        .bucket(&bucket)
        .lifecycle_configuration(config)
        .send()
        .await
        .expect("their rule");
    let theirs = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Sid": "theirs", "Effect": "Deny", "Principal": "*", "Action": "s3:DeleteBucket", "Resource": format!("arn:aws:s3:::{bucket}")}]});
    s3.put_bucket_policy()
        .bucket(&bucket)
        .policy(theirs.to_string())
        .send()
        .await
        .expect("their policy");
    let iam = iam_client(&moto);
    let trust = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"lambda.amazonaws.com"},"Action":"sts:AssumeRole"}]}"#;
    iam.create_role()
        .role_name(&role)
        .assume_role_policy_document(trust)
        .send()
        .await
        .expect("their role");
    spec(
        dir.path(),
        &moto,
        "aws",
        &bucket,
        &format!("    iam:\n      policy: {role}-policy\n      role: {role}\n"),
    );

    let plan = ct(dir.path(), &moto, &["plan"]).code(0);
    assert!(
        plan.stdout.contains("not created by chronotrace-ops"),
        "{}",
        plan.stdout
    );
    ct(dir.path(), &moto, &["apply", "--yes"]).code(0);
    ct(dir.path(), &moto, &["plan", "--exit-code"]).code(0);
    assert_eq!(ids(&rules(&s3, &bucket).await), vec![FOREIGN_RULE, RULE_ID]);
    let got = iam
        .get_role()
        .role_name(&role)
        .send()
        .await
        .expect("their role is there");
    assert!(
        got.role()
            .and_then(|r| r.assume_role_policy_document())
            .is_some_and(|d| d.contains("lambda")),
        "their trust policy untouched"
    );

    ct(dir.path(), &moto, &["destroy", "--yes"]).code(0);
    assert!(
        bucket_exists(&s3, &bucket).await,
        "their bucket survives destroy"
    );
    assert_eq!(ids(&rules(&s3, &bucket).await), vec![FOREIGN_RULE]);
    let policy = s3
        .get_bucket_policy()
        .bucket(&bucket)
        .send()
        .await
        .expect("their policy survives");
    let policy: Value = serde_json::from_str(policy.policy().expect("text")).expect("JSON");
    assert_eq!(
        policy["Statement"].as_array().map(Vec::len),
        Some(1),
        "{policy}"
    );
    assert_eq!(policy["Statement"][0]["Sid"], "theirs");
    iam.get_role()
        .role_name(&role)
        .send()
        .await
        .expect("their role survives destroy");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_converges_with_unsupported_features_reported() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = unique("garage");
    spec(dir.path(), &garage, "s3-compatible", &bucket, "");

    let applied = ct(dir.path(), &garage, &["apply", "--yes", "--output", "json"]).code(0);
    let json: Value = serde_json::from_str(&applied.stdout).expect("apply JSON");
    let policy = json["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .find(|c| c["resource"] == "bucket.public-access-block")
        .expect("public access block change");
    assert_eq!(policy["action"], "none");
    assert!(
        policy["note"]
            .as_str()
            .is_some_and(|n| n.starts_with("unsupported")),
        "{policy}"
    );

    let plan = ct(dir.path(), &garage, &["plan", "--exit-code"]).code(0);
    assert!(plan.stdout.contains("unsupported"), "{}", plan.stdout);
    drift_is_repaired(dir.path(), &garage, &bucket).await;

    let s3 = s3_client(&garage);
    s3.put_object()
        .bucket(&bucket)
        .key("ci/traces/traces/2026-01-01/a.zip")
        .body(ByteStream::from_static(b"x"))
        .send()
        .await
        .expect("object");
    ct(dir.path(), &garage, &["destroy", "--yes"])
        .code(2)
        .stderr_one_error("not empty")
        .stdout_contains("1 to delete.");
    ct(dir.path(), &garage, &["destroy", "--yes", "--empty"]).code(0);
    assert!(!bucket_exists(&s3, &bucket).await, "bucket gone");
}

#[test]
fn local_environment_gets_its_traces_dir() {
    let dir = tempdir();
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), "project: t\nenvironments:\n  local:\n    storage: local\n    path: store\n    retention_days: 15\n").expect("spec");
    let plan = Run::new(dir.path())
        .args(["plan", "--exit-code"])
        .run()
        .code(1);
    assert!(
        plan.stdout.contains("+ local.traces-dir"),
        "{}",
        plan.stdout
    );
    Run::new(dir.path())
        .args(["apply", "--yes"])
        .run()
        .code(0)
        .stderr_is_empty();
    let traces = dir.path().join("store/traces");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&traces)
            .expect("created")
            .permissions()
            .mode()
            & 0o777;
        assert_eq!(mode, 0o750);
    }
    Run::new(dir.path())
        .args(["plan", "--exit-code"])
        .run()
        .code(0);
    Run::new(dir.path())
        .args(["destroy", "--yes"])
        .run()
        .code(2)
        .one_line_error("");
}

#[path = "provision_credentials.rs"]
mod credentials;
#[path = "provision_errors.rs"]
mod errors;
#[path = "provision_iam.rs"]
mod iam;
#[path = "provision_shared.rs"]
mod shared;
