//! `check` through an nginx TLS proxy in front of Garage (issue 4): a valid
//! certificate passes, one with 10 days left warns, an expired one fails
//! naming the date, an unknown CA and a wrong name fail with the fix.

use std::path::Path;

use time::{Duration, OffsetDateTime};

use super::setup::assert_no_probe_left;
use super::tls_proxy::{Proxy, TestCa};
use super::{assert_status, check_json, find, garage_ready_bucket, message, s3_env, write_spec};
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, Run, tempdir, tool};

/// Garage's `host:port` for nginx's proxy_pass.
pub(super) fn upstream(garage: &Endpoint) -> String {
    garage
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .to_string()
}

/// Starts a proxy serving a certificate for `name` valid in the window.
fn proxy(
    dir: &Path,
    garage: &Endpoint,
    ca: &TestCa,
    name: &str,
    from: OffsetDateTime,
    until: OffsetDateTime,
) -> Proxy {
    let nginx = tool("nginx");
    let (cert, key) = ca.issue(name, from, until);
    Proxy::start(&nginx, dir, &upstream(garage), &cert, &key)
}

fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
}

async fn setup(label: &str) -> (Endpoint, String, tempfile::TempDir, TestCa) {
    let garage = server("garage");
    let (_, bucket) = garage_ready_bucket(&garage, label).await;
    (garage, bucket, tempdir(), TestCa::new())
}

fn creds(garage: &Endpoint) -> (&str, &str) {
    (&garage.access_key_id, &garage.secret_access_key)
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn valid_certificate_passes_and_the_sdk_trusts_the_ca_bundle() {
    let (garage, bucket, dir, ca) = setup("tls-valid").await;
    let proxy = proxy(
        dir.path(),
        &garage,
        &ca,
        "localhost",
        now() - Duration::days(1),
        now() + Duration::days(365),
    );
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &proxy.url(), "garage", &bucket, ""),
    );
    let bundle = ca.write_bundle(dir.path());
    let (out, report) = check_json(
        dir.path(),
        creds(&garage),
        &["--ca-bundle", &bundle.to_string_lossy()],
    );
    out.code(0).stderr_is_empty();
    assert_status(&report, "network.tls", "pass");
    assert!(message(&report, "network.tls").contains("days left"));
    // The S3 calls went through the proxy with the same trust.
    assert_status(&report, "probe", "pass");
    assert_status(&report, "retention.lifecycle", "pass");
    assert_no_probe_left(&s3_client(&garage), &bucket, false).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn certificate_with_ten_days_left_warns() {
    let (garage, bucket, dir, ca) = setup("tls-soon").await;
    let until = now() + Duration::days(10) + Duration::hours(1);
    let proxy = proxy(
        dir.path(),
        &garage,
        &ca,
        "localhost",
        now() - Duration::days(80),
        until,
    );
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &proxy.url(), "garage", &bucket, ""),
    );
    let bundle = ca.write_bundle(dir.path());
    // AWS_CA_BUNDLE works as --ca-bundle does.
    let out = Run::new(dir.path())
        .args(["check", "-e", "e", "--output", "json"])
        .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
        .env("AWS_CA_BUNDLE", &bundle)
        .run()
        .code(0);
    let report: serde_json::Value = serde_json::from_str(&out.stdout).expect("json");
    assert_status(&report, "network.tls", "warn");
    assert!(
        message(&report, "network.tls").contains("10 days left"),
        "{report:#}"
    );
    assert_status(&report, "probe", "pass");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn expired_certificate_fails_naming_the_expiry() {
    let (garage, bucket, dir, ca) = setup("tls-expired").await;
    let from = OffsetDateTime::from_unix_timestamp(1_577_836_800).expect("2020-01-01");
    let until = OffsetDateTime::from_unix_timestamp(1_590_969_600).expect("2020-06-01");
    let proxy = proxy(dir.path(), &garage, &ca, "localhost", from, until);
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &proxy.url(), "garage", &bucket, ""),
    );
    let bundle = ca.write_bundle(dir.path());
    let (out, report) = check_json(
        dir.path(),
        creds(&garage),
        &["--ca-bundle", &bundle.to_string_lossy()],
    );
    out.code(1).stderr_is_empty();
    assert_status(&report, "network.tls", "fail");
    let text = message(&report, "network.tls");
    assert!(
        text.contains("expired") && text.contains("2020-06-01"),
        "{text}"
    );
    assert_status(&report, "probe", "skip");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn unknown_ca_and_wrong_name_fail_with_the_fix() {
    let (garage, bucket, dir, ca) = setup("tls-untrusted").await;
    let proxy = proxy(
        dir.path(),
        &garage,
        &ca,
        "localhost",
        now() - Duration::days(1),
        now() + Duration::days(365),
    );
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &proxy.url(), "garage", &bucket, ""),
    );
    let (out, report): (Outcome, _) = check_json(dir.path(), creds(&garage), &[]);
    out.code(1).stderr_is_empty();
    assert_status(&report, "network.tls", "fail");
    assert!(message(&report, "network.tls").contains("untrusted"));
    let hint = find(&report, "network.tls")["hint"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(
        hint.contains("--ca-bundle") && hint.contains("AWS_CA_BUNDLE"),
        "{hint}"
    );
    drop(proxy);

    let other = tempdir();
    let proxy = proxy_named(other.path(), &garage, &ca);
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &proxy.url(), "garage", &bucket, ""),
    );
    let bundle = ca.write_bundle(dir.path());
    let (out, report) = check_json(
        dir.path(),
        creds(&garage),
        &["--ca-bundle", &bundle.to_string_lossy()],
    );
    out.code(1).stderr_is_empty();
    assert_status(&report, "network.tls", "fail");
    assert!(
        message(&report, "network.tls").contains("does not name localhost"),
        "{report:#}"
    );
}

fn proxy_named(dir: &Path, garage: &Endpoint, ca: &TestCa) -> Proxy {
    proxy(
        dir,
        garage,
        ca,
        "minio.example.com",
        now() - Duration::days(1),
        now() + Duration::days(365),
    )
}
