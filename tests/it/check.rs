//! `check` (issue 4) against the real bench: healthy moto and Garage
//! environments, a wrong secret, a missing bucket and lifecycle, a closed
//! port, a MinIO that lost quorum (a small fake responder), a local
//! directory, and (in `check/tls.rs`) an nginx TLS proxy with a test CA.

mod fakes;
mod moto;
mod setup;
mod tls;
pub mod tls_proxy;
mod tls_self_signed;

use std::path::Path;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use serde_json::Value;

use setup::{assert_no_probe_left, create_bucket, put_retention};

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

/// A Garage bucket with the retention rule in place, ready for `check`.
pub(crate) async fn garage_ready_bucket(garage: &Endpoint, label: &str) -> (Client, String) {
    let s3 = s3_client(garage);
    let bucket = unique(label);
    create_bucket(&s3, garage, &bucket).await;
    put_retention(&s3, &bucket, None).await;
    (s3, bucket)
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_without_credentials_or_in_the_wrong_region_fails_with_the_fix() {
    let garage = server("garage");
    let (_, bucket) = garage_ready_bucket(&garage, "nocreds").await;
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &garage.url, "garage", &bucket, ""),
    );
    let out = Run::new(dir.path())
        .args(["check", "-e", "e", "--output", "json"])
        .run()
        .code(1);
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_status(&report, "identity", "fail");
    assert!(
        message(&report, "identity").contains("no credentials"),
        "{report:#}"
    );
    assert_status(&report, "bucket.exists", "skip");

    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &garage.url, "eu-west-3", &bucket, ""),
    );
    let creds = (&*garage.access_key_id, &*garage.secret_access_key);
    let (out, report) = check_json(dir.path(), creds, &[]);
    out.code(1).stderr_is_empty();
    assert_status(&report, "bucket.exists", "fail");
    let check = find(&report, "bucket.exists");
    assert!(
        check["hint"].as_str().is_some_and(|h| h.contains("region")),
        "{check:#}"
    );
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_healthy_environment_passes_with_skips_for_missing_features() {
    let garage = server("garage");
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
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_wrong_secret_fails_and_never_shows_it() {
    let garage = server("garage");
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
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_missing_bucket_and_lifecycle_fail_with_the_fix() {
    let garage = server("garage");
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
    out.code(1).stderr_is_empty();
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
    out.code(1).stderr_is_empty();
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
    out.code(1).stderr_is_empty();
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
fn a_server_that_never_answers_fails_within_the_deadline() {
    let endpoint = fakes::start_silent();
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &endpoint, "garage", "silent", ""),
    );
    let started = Instant::now();
    let (out, report) = check_json(dir.path(), ("key", "secret"), &[]);
    assert!(
        started.elapsed() < Duration::from_secs(25),
        "took {:?}",
        started.elapsed()
    );
    out.code(1).stderr_is_empty();
    assert_status(&report, "network.tcp", "pass");
    assert_status(&report, "bucket.exists", "fail");
    assert!(
        message(&report, "bucket.exists").contains("no answer"),
        "{report:#}"
    );
}

#[test]
fn minio_that_lost_write_quorum_fails_the_cluster_check() {
    let endpoint = fakes::start_quorum_lost();
    let dir = tempdir();
    write_spec(
        dir.path(),
        &s3_env("minio", &endpoint, "us-east-1", "quorum", ""),
    );
    let (out, report) = check_json(dir.path(), ("key", "secret"), &[]);
    out.code(1).stderr_is_empty();
    assert_status(&report, "minio.live", "pass");
    assert_status(&report, "minio.ready", "pass");
    assert_status(&report, "minio.cluster-read", "pass");
    assert_status(&report, "minio.cluster", "fail");
    assert!(
        message(&report, "minio.cluster").contains("quorum"),
        "{report:#}"
    );
    // Issue 12: MinIO users learn of the frozen images, as a warning only.
    assert_status(&report, "minio.community-builds", "warn");
    assert!(
        message(&report, "minio.community-builds").contains("October 2025"),
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
    out.code(0).stderr_is_empty();
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
    out.code(1).stderr_is_empty();
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
        .code(2)
        .one_line_error("no environment named 'nope'");
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
        .code(2)
        .one_line_error("no-such-ca.pem");
    assert!(out.stderr.contains("no-such-ca.pem"), "{}", out.stderr);
}
