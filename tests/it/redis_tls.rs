//! A `rediss://` URL against the bench's redis-server over TLS
//! (`CT_TEST_REDIS_TLS_URL`, its certificate signed by the bench's own CA
//! in `CT_TEST_REDIS_TLS_CA`): the tool connects, authenticates and works
//! when the CA is trusted (the system's roots, which honour
//! `SSL_CERT_FILE`), and refuses an untrusted certificate with one line,
//! exit 2, before sending the password.

use std::path::Path;

use crate::redis::{namespace, redis_server, write_spec_at};
use crate::support::{Outcome, Run, bench_file, tempdir};

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

fn run(dir: &Path, trust: &Path, args: &[&str]) -> Outcome {
    let (_, password) = redis_server();
    Run::new(dir)
        .env("REDIS_PASSWORD", password)
        .env("SSL_CERT_FILE", trust)
        .args(["-e", "cache"])
        .args(args)
        .run()
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
    // The system's roots only: the bench's CA is not among them.
    let system = Path::new("/etc/ssl/certs/ca-certificates.crt");
    let (_, password) = redis_server();
    let out = run(dir.path(), system, &["cleanup", "verify"])
        .code(2)
        .one_line_error("certificate");
    assert!(!out.stderr.contains(&password), "{}", out.stderr);
}
