//! Issue 28: the AWS CLI's variables. `AWS_ENDPOINT_URL_S3` and
//! `AWS_ENDPOINT_URL`, read as the AWS CLI reads them (`--endpoint-url`
//! first, then the S3 variable, then the general one, then the spec's
//! endpoint), steer the SDK's clients and what the tool derives from the
//! endpoint alike: the plan's heading and `check`'s DNS and TCP probes.
//! `AWS_REGION` never wins over the spec's region, and `-v` says so.

use serde_json::Value;

use crate::servers::{Endpoint, server};
use crate::support::{Outcome, Run, tempdir};

/// An endpoint where nothing listens (the discard port, on loopback).
const DEAD: &str = "http://127.0.0.1:9";

/// A spec whose one environment `e` is the S3 store at `endpoint`.
pub fn spec(dir: &std::path::Path, endpoint: &str, region: &str) {
    let spec = format!(
        "project: ct\nenvironments:\n  e:\n    storage: s3\n    provider: minio\n    endpoint: {endpoint}\n    region: {region}\n    bucket: ct-endpoint-vars\n    retention_days: 14\n"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

/// The tool on `e` with `server`'s credentials and the variables `vars`.
pub fn run_on_e(
    dir: &std::path::Path,
    server: &Endpoint,
    args: &[&str],
    vars: &[(&str, &str)],
) -> Outcome {
    let mut run = Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", &server.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &server.secret_access_key)
        .args(["-e", "e"])
        .args(args);
    for (name, value) in vars {
        run = run.env(name, value);
    }
    run.run()
}

/// The status and message of check `id`.
fn check_result(report: &Value, id: &str) -> (String, String) {
    let found = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report}"));
    (
        found["status"].as_str().unwrap_or_default().to_string(),
        found["message"].as_str().unwrap_or_default().to_string(),
    )
}

#[test]
fn an_endpoint_variable_obeys_the_endpoint_rules_and_is_named() {
    let dir = tempdir();
    Run::new(dir.path())
        .args(["plan", "-e", "staging"])
        .env(
            "AWS_ENDPOINT_URL",
            "http://AKIAEXAMPLE:s3cr3t@127.0.0.1:9000",
        )
        .run()
        .code(2)
        .one_line_error("AWS_ENDPOINT_URL: endpoint must not hold credentials");
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["plan", "-e", "staging"])
        .env("AWS_ENDPOINT_URL_S3", "ftp://127.0.0.1:21")
        .run()
        .code(2)
        .one_line_error("AWS_ENDPOINT_URL_S3: endpoint 'ftp://127.0.0.1:21' must be http");
    assert!(!out.stderr.contains("s3cr3t"));
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn issue_28_the_endpoint_variables_steer_the_clients_the_plan_and_the_probes() {
    let moto = server("moto");
    let dir = tempdir();
    spec(dir.path(), DEAD, &moto.region);
    let tool = |args: &[&str], vars: &[(&str, &str)]| run_on_e(dir.path(), &moto, args, vars);
    let heading = format!(" at {}):", moto.url);
    // The S3 variable wins over the general one and over the spec.
    let vars = [
        ("AWS_ENDPOINT_URL_S3", moto.url.as_str()),
        ("AWS_ENDPOINT_URL", DEAD),
    ];
    tool(&["plan"], &vars).code(0).stdout_contains(&heading);
    // The general one wins over the spec.
    tool(&["plan"], &[("AWS_ENDPOINT_URL", moto.url.as_str())])
        .code(0)
        .stdout_contains(&heading);
    // The flag wins over both variables, in the SDK's clients too (the
    // SDK alone would let AWS_ENDPOINT_URL_S3 win over its loader's
    // endpoint).
    let flag = ["plan", "--endpoint-url", moto.url.as_str()];
    tool(
        &flag,
        &[("AWS_ENDPOINT_URL_S3", DEAD), ("AWS_ENDPOINT_URL", DEAD)],
    )
    .code(0)
    .stdout_contains(&heading);

    // check probes the endpoint the variable names, not the spec's.
    let out = tool(&["check", "--output", "json"], &vars);
    let report = out.json();
    let port = moto.url.rsplit(':').next().unwrap_or_default();
    let (status, message) = check_result(&report, "network.tcp");
    assert_eq!(status, "pass", "{message}");
    assert!(message.ends_with(&format!(":{port}")), "{message}");
    let (status, message) = check_result(&report, "identity");
    assert_eq!(status, "pass", "{message}");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn issue_28_verbose_says_which_region_is_used_and_why() {
    let moto = server("moto");
    let dir = tempdir();
    spec(dir.path(), DEAD, &moto.region);
    let run = |args: &[&str]| {
        Run::new(dir.path())
            .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key)
            .env("AWS_REGION", "eu-west-3")
            .args(["-v", "-e", "e", "--endpoint-url", moto.url.as_str(), "plan"])
            .args(args)
            .run()
            .code(0)
    };
    let from_spec = format!("region region={} from=\"the spec's region", moto.region);
    run(&[])
        .stderr_contains(&from_spec)
        .stderr_contains("not_used=AWS_REGION=eu-west-3")
        .stdout_contains(&format!("in {} at", moto.region));
    run(&["--region", "us-west-2"])
        .stderr_contains("region region=us-west-2 from=\"--region\"")
        .stdout_contains("in us-west-2 at");
}
