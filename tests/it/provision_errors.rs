//! The errors a user of `plan`/`apply` meets (issue 3), each one line with
//! a hint and exit 2: no credentials, wrong credentials, access denied,
//! unreachable endpoint (within seconds), bucket name taken, region mismatch.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};
use serde_json::Value;

use super::{ct, spec, unique};
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, Run, tempdir};

/// One error line and one hint line on stderr, nothing on stdout (but
/// the plan `apply` was carrying out).
#[track_caller]
fn one_line_with_hint(out: &Outcome, says: &str) {
    // `apply` shows the plan it was carrying out before it failed.
    assert!(
        out.stdout.is_empty() || out.stdout.starts_with("Plan for environment"),
        "nothing on stdout but a plan:\n{}",
        out.stdout
    );
    let lines: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| !l.starts_with("note:") && !l.starts_with("warning:"))
        .collect();
    assert_eq!(lines.len(), 2, "one error line and a hint:\n{}", out.stderr);
    assert!(
        lines[0].starts_with("error: ") && lines[0].contains(says),
        "{}",
        out.stderr
    );
    assert!(lines[1].starts_with("  hint: "), "{}", out.stderr);
}

/// POST to Garage's admin API (v2), returning the JSON answer.
fn garage_admin(action: &str, body: &str) -> Value {
    let url = std::env::var("CT_TEST_GARAGE_ADMIN_ENDPOINT").expect("garage admin endpoint");
    let token = std::env::var("CT_TEST_GARAGE_ADMIN_TOKEN").expect("garage admin token");
    let host = url.trim_start_matches("http://").trim_end_matches('/');
    let mut stream = TcpStream::connect(host).expect("admin API reachable");
    let request = format!(
        "POST /v2/{action} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).expect("request sent");
    let mut answer = String::new();
    stream.read_to_string(&mut answer).expect("answer read");
    let json = answer.split("\r\n\r\n").nth(1).unwrap_or_default();
    // A chunked answer wraps the JSON in size lines: keep from the first brace.
    let start = json.find('{').expect("a JSON answer");
    let end = json.rfind('}').expect("a JSON answer");
    serde_json::from_str(&json[start..=end]).expect("admin JSON")
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn no_credentials() {
    let moto = server("moto");
    let dir = tempdir();
    spec(dir.path(), &moto, "aws", &unique("nocred"), "");
    let out = Run::new(dir.path())
        .args(["-e", "ci", "plan"])
        .run()
        .code(2);
    one_line_with_hint(&out, "no credentials");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn wrong_credentials() {
    let garage = server("garage");
    let dir = tempdir();
    spec(dir.path(), &garage, "s3-compatible", &unique("badkey"), "");
    let wrong = Endpoint {
        secret_access_key: "not-the-secret".into(),
        ..garage
    };
    let out = ct(dir.path(), &wrong, &["plan"]).code(2);
    one_line_with_hint(&out, "wrong secret key");
    let unknown = Endpoint {
        access_key_id: "GK0000000000000000000000".into(),
        ..wrong
    };
    let out = ct(dir.path(), &unknown, &["plan"]).code(2);
    one_line_with_hint(&out, "not known");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn access_denied_names_action_and_resource() {
    let garage = server("garage");
    let key = garage_admin(
        "CreateKey",
        &format!("{{\"name\":\"{}\"}}", unique("nobody")),
    );
    let limited = Endpoint {
        access_key_id: key["accessKeyId"].as_str().expect("key id").into(),
        secret_access_key: key["secretAccessKey"].as_str().expect("secret").into(),
        ..garage
    };
    let dir = tempdir();
    let bucket = unique("denied");
    spec(dir.path(), &limited, "s3-compatible", &bucket, "");
    let out = ct(dir.path(), &limited, &["apply", "--yes"]).code(2);
    one_line_with_hint(&out, &format!("CreateBucket on {bucket}: access denied"));
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn bucket_taken_by_another_owner() {
    let garage = server("garage");
    let bucket = unique("taken");
    garage_admin("CreateBucket", &format!("{{\"globalAlias\":\"{bucket}\"}}"));
    let dir = tempdir();
    spec(dir.path(), &garage, "s3-compatible", &bucket, "");
    let out = ct(dir.path(), &garage, &["plan"]).code(2);
    one_line_with_hint(&out, "taken by another account");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn unreachable_endpoint_fails_within_seconds() {
    let moto = server("moto");
    // A port that was free a moment ago: nothing listens there.
    let port = TcpListener::bind("127.0.0.1:0")
        .expect("a port")
        .local_addr()
        .expect("addr")
        .port();
    let closed = Endpoint {
        url: format!("http://127.0.0.1:{port}"),
        ..moto
    };
    let dir = tempdir();
    spec(dir.path(), &closed, "aws", &unique("unreachable"), "");
    let started = Instant::now();
    let out = ct(dir.path(), &closed, &["plan"]).code(2);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    one_line_with_hint(&out, "cannot reach");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn region_mismatch() {
    let moto = server("moto");
    let bucket = unique("region");
    s3_client(&moto)
        .create_bucket()
        .bucket(&bucket)
        .create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::EuWest1)
                .build(),
        )
        .send()
        .await
        .expect("bucket in eu-west-1");
    let dir = tempdir();
    spec(dir.path(), &moto, "aws", &bucket, "");
    let out = ct(dir.path(), &moto, &["plan"]).code(2);
    one_line_with_hint(&out, "region mismatch");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn region_mismatch_on_garage() {
    let garage = server("garage");
    let elsewhere = Endpoint {
        region: "eu-west-1".into(),
        ..garage
    };
    let dir = tempdir();
    spec(
        dir.path(),
        &elsewhere,
        "s3-compatible",
        &unique("gregion"),
        "",
    );
    let out = ct(dir.path(), &elsewhere, &["plan"]).code(2);
    one_line_with_hint(&out, "region mismatch");
}
