//! `bootstrap`: the whole job for one environment, from nothing.

use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cleanup::{json, run_with, unique_bucket, write_s3_spec};
use crate::servers::server;
use crate::support::{Run, tempdir};

#[test]
fn init_then_bootstrap_local_needs_no_server_and_no_account() {
    let dir = tempdir();
    Run::new(dir.path()).args(["init"]).run().code(0);
    let out = Run::new(dir.path())
        .args(["bootstrap", "--env", "local", "--yes"])
        .run()
        .code(0)
        .stderr_is_empty();
    for step in [
        "validate",
        "render",
        "apply",
        "check",
        "cleanup verify",
        "report",
    ] {
        assert!(
            out.stdout.contains(step),
            "{step} missing from\n{}",
            out.stdout
        );
    }
    assert!(out.stdout.contains("ready."), "{}", out.stdout);
    assert!(dir.path().join("storage/app/traces").is_dir());
    assert!(dir.path().join("deploy/report.local.html").is_file());
    assert!(dir.path().join("deploy/.env.local").is_file());
    // A second run converges: nothing to apply.
    let again = Run::new(dir.path())
        .args(["--output", "json", "bootstrap", "--env", "local", "--yes"])
        .run()
        .code(0)
        .stderr_contains("(everything in place)");
    let report: Value = serde_json::from_str(&again.stdout).expect("json");
    assert_eq!(report["ok"], true);
    let steps = report["steps"].as_array().expect("steps");
    assert_eq!(steps.len(), 6);
    assert!(steps.iter().all(|s| s["status"] == "ok"), "{report:#}");
    assert_eq!(steps[2]["summary"], "nothing to do: as the spec asks");
}

#[test]
fn a_cloud_environment_without_credentials_stops_within_seconds_naming_the_step() {
    let dir = tempdir();
    // A port that was free a moment ago: nothing answers there.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let spec = format!(
        "project: p\nenvironments:\n  ci:\n    storage: s3\n    provider: s3-compatible\n    endpoint: http://127.0.0.1:{port}\n    region: garage\n    bucket: ct-nowhere\n"
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write");
    let started = Instant::now();
    let out = Run::new(dir.path())
        .args(["bootstrap", "-e", "ci", "--yes"])
        .run()
        .code(2);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(out.stdout.contains("ERROR    apply"), "{}", out.stdout);
    assert!(out.stdout.contains("skipped  check"), "{}", out.stdout);
    assert!(out.stdout.contains("credentials"), "{}", out.stdout);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn bootstrap_provisions_checks_and_reports_a_garage_environment() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = unique_bucket("boot");
    write_s3_spec(dir.path(), &garage, "s3-compatible", &bucket, false);
    let out = run_with(dir.path(), &garage, &["bootstrap", "--yes"]);
    let report = json(&out);
    assert_eq!(out.code, 0, "{report:#}\n{}", out.stderr);
    let steps = report["steps"].as_array().expect("steps");
    let names: Vec<&str> = steps.iter().filter_map(|s| s["name"].as_str()).collect();
    assert_eq!(
        names,
        [
            "validate",
            "render",
            "apply",
            "check",
            "cleanup verify",
            "report"
        ]
    );
    // Every step's own result is there for scripts.
    assert!(steps[2]["result"]["changes"].is_array(), "{:#}", steps[2]);
    assert!(steps[3]["result"]["checks"].is_array(), "{:#}", steps[3]);
    assert_eq!(steps[4]["result"]["ok"], true);
    assert!(dir.path().join("deploy/report.staging.html").is_file());
    // The secret never shows.
    assert!(!out.stdout.contains(&garage.secret_access_key));
    assert!(!out.stderr.contains(&garage.secret_access_key));
}

/// Issue 11: one session per run. Apply, check, verify and report share
/// one set of clients: with `-v`, credentials resolve once.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn bootstrap_resolves_credentials_once() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = unique_bucket("boot1");
    write_s3_spec(dir.path(), &garage, "s3-compatible", &bucket, false);
    let out = run_with(dir.path(), &garage, &["-v", "bootstrap", "--yes"]);
    assert_eq!(out.code, 0, "{}\n{}", out.stdout, out.stderr);
    let resolved = out.stderr.matches("credentials resolved").count();
    assert_eq!(resolved, 1, "{}", out.stderr);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn verbose_logs_go_to_stderr_and_never_show_the_secret() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = unique_bucket("verbose");
    write_s3_spec(dir.path(), &garage, "s3-compatible", &bucket, false);
    for verbosity in ["-v", "-vv"] {
        let out = run_with(dir.path(), &garage, &[verbosity, "plan"]);
        assert_eq!(out.code, 0, "{}", out.stderr);
        assert!(out.stderr.contains("DEBUG"), "{verbosity}: {}", out.stderr);
        assert!(out.stderr.contains("connecting"), "{}", out.stderr);
        assert!(out.stderr.contains(&garage.access_key_id), "{}", out.stderr);
        assert!(
            !out.stderr.contains(&garage.secret_access_key),
            "{verbosity} leaked the secret"
        );
        assert!(!out.stdout.contains(&garage.secret_access_key));
        // stdout stays data: the JSON plan, nothing else.
        let _: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is JSON");
    }
}
