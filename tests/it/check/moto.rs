//! `check` against moto (a fake AWS): a hardened, versioned bucket passes
//! (IAM simulation is a skip: moto lacks it), a TLS-only policy over plain
//! http fails the probe with the reason, an anonymous policy fails.

use super::setup::{assert_no_probe_left, create_bucket, harden, put_public_policy, put_retention};
use super::{
    assert_no_failure, assert_status, check_json, find, message, s3_env, unique, write_spec,
};
use crate::servers::{s3_client, server};
use crate::support::tempdir;

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_healthy_environment_passes() {
    let moto = server("moto");
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
    let out = out.code(0).stderr_is_empty();
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
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_tls_only_policy_over_plain_http_fails_the_probe_with_the_reason() {
    let moto = server("moto");
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
    out.code(1).stderr_is_empty();
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

/// `mc anonymous set public`: anyone may read and write.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_anonymous_policy_fails() {
    let moto = server("moto");
    let s3 = s3_client(&moto);
    let bucket = unique("motopublic");
    create_bucket(&s3, &moto, &bucket).await;
    put_retention(&s3, &bucket, None).await;
    put_public_policy(&s3, &bucket).await;
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("aws", &moto.url, &moto.region, &bucket, ""),
    );
    let (out, report) = check_json(dir.path(), ("testing", "testing"), &[]);
    out.code(1).stderr_is_empty();
    assert_status(&report, "security.anonymous-access", "fail");
    assert!(message(&report, "security.anonymous-access").contains("s3:PutObject"));
    assert!(
        find(&report, "security.anonymous-access")["hint"]
            .as_str()
            .is_some_and(|h| h.contains("mc anonymous set none"))
    );
    assert_status(&report, "security.public-access-block", "fail");
}
