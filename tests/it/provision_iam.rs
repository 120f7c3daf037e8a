//! IAM changes on moto (issue 3): a policy change is a new default version,
//! old versions are pruned before IAM's limit of five, the trust policy is
//! updated in place, destroy removes the policy.

use std::path::Path;

use super::{ct, iam_client, unique};
use crate::servers::{Endpoint, server};
use crate::support::tempdir;

/// The spec of `moto_policy_changes_are_new_default_versions_pruned_before_five`, with prefix `p{n}`.
fn iam_spec(dir: &Path, moto: &Endpoint, bucket: &str, role: &str, n: usize, service: &str) {
    let text = format!(
        "project: t\nenvironments:\n  ci:\n    storage: s3\n    provider: aws\n    endpoint: {}\n    region: us-east-1\n    bucket: {bucket}\n    prefix: p{n}\n    retention_days: 30\n    iam:\n      policy: {role}-policy\n      role: {role}\n      trusted_service: {service}\n",
        moto.url
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), text).expect("spec written");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_policy_changes_are_new_default_versions_pruned_before_five() {
    let moto = server("moto");
    let dir = tempdir();
    let bucket = unique("versions");
    let role = unique("vrole");
    iam_spec(dir.path(), &moto, &bucket, &role, 0, "ec2.amazonaws.com");
    ct(dir.path(), &moto, &["apply", "--yes"]).code(0);
    for n in 1..=6 {
        iam_spec(dir.path(), &moto, &bucket, &role, n, "lambda.amazonaws.com");
        let plan = ct(dir.path(), &moto, &["plan", "--exit-code"]).code(1);
        assert!(plan.stdout.contains("~ iam.policy"), "{}", plan.stdout);
        ct(dir.path(), &moto, &["apply", "--yes"]).code(0);
        ct(dir.path(), &moto, &["plan", "--exit-code"]).code(0);
    }
    let iam = iam_client(&moto);
    let arn = format!("arn:aws:iam::123456789012:policy/{role}-policy");
    let versions = iam
        .list_policy_versions()
        .policy_arn(&arn)
        .send()
        .await
        .expect("versions");
    assert!(versions.versions().len() <= 5, "{:?}", versions.versions());
    let got = iam.get_role().role_name(&role).send().await.expect("role");
    let trust = got
        .role()
        .and_then(|r| r.assume_role_policy_document())
        .unwrap_or_default();
    assert!(trust.contains("lambda"), "trust policy updated: {trust}");
    ct(dir.path(), &moto, &["destroy", "--yes"]).code(0);
    assert!(
        iam.get_policy().policy_arn(&arn).send().await.is_err(),
        "policy gone"
    );
}
