//! Issue 11, item 8: the staging MinIO's self-signed certificate, made with
//! `openssl req -x509` as users make it, trusted through `--ca-bundle` /
//! `AWS_CA_BUNDLE`: `check` and the S3 commands accept it (names and dates
//! still checked), as curl, the aws cli and s5cmd do; not in the bundle, it
//! is refused on one line with the fix. Served by the nginx TLS proxy in
//! front of Garage (`tls_proxy`).

use std::path::Path;
use std::process::Command;

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair};
use time::{Duration, OffsetDateTime};

use super::tls::upstream;
use super::tls_proxy::Proxy;
use super::{assert_status, check_json, find, garage_ready_bucket, message, s3_env, write_spec};
use crate::servers::{Endpoint, server};
use crate::support::{Outcome, Run, tempdir, tool};

/// `openssl req -x509` for localhost and 127.0.0.1, as the MinIO docs
/// suggest: (certificate PEM, key PEM).
fn openssl_self_signed(dir: &Path) -> (String, String) {
    let openssl = tool("openssl");
    let (cert, key) = (dir.join("self.pem"), dir.join("self.key"));
    let status = Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "365",
        ])
        .args(["-subj", "/CN=localhost"])
        .args(["-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"])
        .arg("-keyout")
        .arg(&key)
        .arg("-out")
        .arg(&cert)
        .output()
        .expect("openssl runs");
    assert!(status.status.success(), "openssl: {status:?}");
    let read = |p: &Path| std::fs::read_to_string(p).expect("read PEM");
    (read(&cert), read(&key))
}

/// A self-signed certificate shaped as openssl's (CA:TRUE) for `name`,
/// valid in the window.
fn rcgen_self_signed(name: &str, from: OffsetDateTime, until: OffsetDateTime) -> (String, String) {
    let key = KeyPair::generate().expect("key");
    let mut params = CertificateParams::new(vec![name.to_string()]).expect("params");
    params.distinguished_name.push(DnType::CommonName, name);
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    params.not_before = from;
    params.not_after = until;
    let cert = params.self_signed(&key).expect("self-signed");
    (cert.pem(), key.serialize_pem())
}

/// The tool with Garage's credentials and `extra` flags.
fn ct(dir: &Path, garage: &Endpoint, args: &[&str], extra: &[&str]) -> Outcome {
    Run::new(dir)
        .args(args)
        .args(["-e", "e"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
        .run()
}

/// One `error:` line saying `says`, then a hint line saying `hint`.
#[track_caller]
fn one_line_error(out: &Outcome, says: &str, hint: &str) {
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("note:") && !l.starts_with("warning:"))
        .collect();
    assert_eq!(lines.len(), 2, "an error and a hint:\n{}", out.stderr);
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(says),
        "{}",
        out.stderr
    );
    assert!(
        lines[1].starts_with("  hint: ") && lines[1].contains(hint),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("CaUsedAsEndEntity"), "{}", out.stderr);
}

/// Garage behind nginx serving `cert`, a spec pointing at it.
async fn serve(
    label: &str,
    cert_and_key: impl FnOnce(&Path) -> (String, String),
) -> (
    Endpoint,
    tempfile::TempDir,
    tempfile::TempDir,
    Proxy,
    String,
) {
    let garage = server("garage");
    let nginx = tool("nginx");
    let (_, bucket) = garage_ready_bucket(&garage, label).await;
    let (dir, proxy_dir) = (tempdir(), tempdir());
    let (cert, key) = cert_and_key(dir.path());
    std::fs::write(dir.path().join("bundle.pem"), &cert).expect("write bundle");
    let proxy = Proxy::start(&nginx, proxy_dir.path(), &upstream(&garage), &cert, &key);
    write_spec(
        dir.path(),
        &s3_env("s3-compatible", &proxy.url(), "garage", &bucket, ""),
    );
    (garage, dir, proxy_dir, proxy, bucket)
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_openssl_self_signed_certificate_in_the_bundle_is_trusted_by_every_client() {
    let (garage, dir, _p, _proxy, _) = serve("tls-self", openssl_self_signed).await;
    let bundle = dir.path().join("bundle.pem");
    let flag = ["--ca-bundle", bundle.to_str().expect("utf-8 path")];
    let (out, report) = check_json(
        dir.path(),
        (&garage.access_key_id, &garage.secret_access_key),
        &flag,
    );
    out.code(0);
    assert_status(&report, "network.tls", "pass");
    assert_status(&report, "probe", "pass");
    for args in [
        &["plan"][..],
        &["report", "--no-checks", "--format", "json"],
        &["cleanup", "verify"],
    ] {
        let out = ct(dir.path(), &garage, args, &flag);
        assert_eq!(out.code, 0, "{args:?}\n{}\n{}", out.stdout, out.stderr);
    }
    // AWS_CA_BUNDLE as --ca-bundle.
    let out = Run::new(dir.path())
        .args(["report", "-e", "e", "--format", "json"])
        .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
        .env("AWS_CA_BUNDLE", &bundle)
        .run();
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_self_signed_certificate_not_in_the_bundle_is_refused_with_the_fix() {
    let (garage, dir, _p, _proxy, _) = serve("tls-self-no", openssl_self_signed).await;
    let (out, report) = check_json(
        dir.path(),
        (&garage.access_key_id, &garage.secret_access_key),
        &[],
    );
    out.code(1);
    assert_status(&report, "network.tls", "fail");
    assert!(
        message(&report, "network.tls").contains("self-signed"),
        "{report:#}"
    );
    let hint = find(&report, "network.tls")["hint"].as_str().unwrap_or("");
    assert!(hint.contains("--ca-bundle"), "{hint}");
    for args in [&["plan"][..], &["cleanup", "verify"]] {
        let out = ct(dir.path(), &garage, args, &[]).code(2);
        one_line_error(&out, "self-signed", "--ca-bundle");
    }
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_trusted_self_signed_certificate_still_needs_the_right_name_and_dates() {
    let now = OffsetDateTime::now_utc();
    let misnamed = |_: &Path| {
        rcgen_self_signed(
            "minio.example.com",
            now - Duration::days(1),
            now + Duration::days(30),
        )
    };
    let (garage, dir, _p, proxy, _) = serve("tls-self-name", misnamed).await;
    let bundle = dir.path().join("bundle.pem");
    let flag = ["--ca-bundle", bundle.to_str().expect("utf-8 path")];
    let creds = (
        garage.access_key_id.as_str(),
        garage.secret_access_key.as_str(),
    );
    let (out, report) = check_json(dir.path(), creds, &flag);
    out.code(1);
    assert!(
        message(&report, "network.tls").contains("does not name localhost"),
        "{report:#}"
    );
    let out = ct(dir.path(), &garage, &["plan"], &flag).code(2);
    one_line_error(&out, "does not name", "host name");
    drop(proxy);

    let expired = |_: &Path| {
        rcgen_self_signed(
            "localhost",
            now - Duration::days(60),
            now - Duration::days(1),
        )
    };
    let (garage, dir, _p, _proxy, _) = serve("tls-self-old", expired).await;
    let bundle = dir.path().join("bundle.pem");
    let flag = ["--ca-bundle", bundle.to_str().expect("utf-8 path")];
    let (out, report) = check_json(dir.path(), creds, &flag);
    out.code(1);
    assert!(
        message(&report, "network.tls").contains("expired"),
        "{report:#}"
    );
    let out = ct(dir.path(), &garage, &["cleanup", "verify"], &flag).code(2);
    one_line_error(&out, "has expired", "renew");
}
