//! A `rediss://` URL against the bench's redis-server over TLS
//! (`CT_TEST_REDIS_TLS_URL`, its certificate signed by the bench's own CA
//! in `CT_TEST_REDIS_TLS_CA`): the tool connects, authenticates and works
//! when the CA is trusted (the system's roots, which honour
//! `SSL_CERT_FILE`, or `--ca-bundle` / `AWS_CA_BUNDLE` on top of them), and
//! refuses an untrusted certificate or an unreadable bundle with one line,
//! exit 2, before sending the password.

use std::path::Path;

use crate::redis::{namespace, redis_server, write_spec_at};
use crate::support::{Outcome, Run, bench_file, tempdir};

/// The system's roots only: the bench's CA is not among them.
const SYSTEM_ROOTS: &str = "/etc/ssl/certs/ca-certificates.crt";

/// The bench's TLS URL (loopback only).
fn tls_url() -> String {
    let url = std::env::var("CT_TEST_REDIS_TLS_URL")
        .ok()
        .filter(|v| !v.is_empty())
        .unwrap_or_else(|| {
            panic!("redis TLS is not running (CT_TEST_REDIS_TLS_URL is not set): run this test through scripts/test.sh")
        });
    assert!(
        url.starts_with("rediss://127.0.0.1:"),
        "not loopback TLS: {url}"
    );
    url
}

fn write_spec(dir: &Path, ns: &str) {
    write_spec_at(dir, ns, &tls_url());
}

/// The tool on the `cache` environment, the system's trust read from `trust`.
fn tool(dir: &Path, trust: &Path) -> Run {
    let (_, password) = redis_server();
    Run::new(dir)
        .env("REDIS_PASSWORD", password)
        .env("SSL_CERT_FILE", trust)
        .args(["-e", "cache"])
}

fn run(dir: &Path, trust: &Path, args: &[&str]) -> Outcome {
    tool(dir, trust).args(args).run()
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_rediss_url_works_over_tls_with_a_trusted_ca() {
    let dir = tempdir();
    write_spec(dir.path(), &namespace("tls"));
    let ca = bench_file("CT_TEST_REDIS_TLS_CA");
    let verify = run(dir.path(), &ca, &["--output", "json", "cleanup", "verify"]).code(0);
    assert_eq!(verify.json()["ok"], true);
    let report = run(
        dir.path(),
        &ca,
        &["report", "--format", "json", "--no-checks"],
    )
    .code(0);
    assert_eq!(report.json()["objects"], 0);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn an_untrusted_certificate_is_one_line_and_exit_2() {
    let dir = tempdir();
    write_spec(dir.path(), &namespace("tls-untrusted"));
    let system = Path::new(SYSTEM_ROOTS);
    let (_, password) = redis_server();
    let out = run(dir.path(), system, &["cleanup", "verify"])
        .code(2)
        .one_line_error("certificate");
    assert!(!out.stderr.contains(&password), "{}", out.stderr);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_ca_bundle_is_trusted_for_rediss_on_top_of_the_system_roots() {
    let dir = tempdir();
    write_spec(dir.path(), &namespace("tls-bundle"));
    let ca = bench_file("CT_TEST_REDIS_TLS_CA");
    let system = Path::new(SYSTEM_ROOTS);
    let ca_arg = ca.to_str().expect("a UTF-8 path");
    let verify = run(
        dir.path(),
        system,
        &[
            "--ca-bundle",
            ca_arg,
            "--output",
            "json",
            "cleanup",
            "verify",
        ],
    )
    .code(0);
    assert_eq!(verify.json()["ok"], true);
    // The variable the S3 commands read gives the same trust.
    let report = tool(dir.path(), system)
        .env("AWS_CA_BUNDLE", &ca)
        .args(["report", "--format", "json", "--no-checks"])
        .run()
        .code(0);
    assert_eq!(report.json()["objects"], 0);
    let check = run(
        dir.path(),
        system,
        &["--ca-bundle", ca_arg, "--output", "json", "check"],
    );
    let checks = check.json()["checks"].clone();
    let connect = checks
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == "redis.connect"))
        .unwrap_or_else(|| panic!("no redis.connect in {checks}"));
    assert_eq!(connect["status"], "pass", "{connect}");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn an_unreadable_ca_bundle_is_one_line_and_exit_2_before_connecting() {
    let dir = tempdir();
    write_spec(dir.path(), &namespace("tls-bad-bundle"));
    let bad = dir.path().join("not-a-bundle.pem");
    std::fs::write(&bad, "not a certificate\n").expect("write");
    let bad_arg = bad.to_str().expect("a UTF-8 path");
    let (_, password) = redis_server();
    for command in [
        &["cleanup", "verify"][..],
        &["check"],
        &["report", "--no-checks"],
    ] {
        let args: Vec<&str> = ["--ca-bundle", bad_arg]
            .iter()
            .chain(command)
            .copied()
            .collect();
        let out = run(dir.path(), Path::new(SYSTEM_ROOTS), &args)
            .code(2)
            .one_line_error("no PEM certificate");
        assert!(!out.stderr.contains(&password), "{}", out.stderr);
    }
}
