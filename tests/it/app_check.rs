//! Issue 15: `check --app` reads the Laravel app's env file, composer.lock
//! and config as text and catches each trap with a check line and a hint.
//! The app checks need no store, so most tests point the environment at a
//! dead loopback port (the store checks fail fast, the app checks still
//! run); one proves a well-configured app passes end to end on Garage.

use std::path::Path;

use serde_json::Value;

use crate::app::{PACKAGE, laravel_app};
use crate::servers::server;
use crate::support::{Outcome, Run, tempdir};

/// Never printed, whatever the command or format.
const CANARY: &str = "CANARY-s3cr3t-must-never-show-9f2c";
const ROOT_CANARY: &str = "CANARY-root-password-7d1e";
const ADAPTER: (&str, &str) = ("league/flysystem-aws-s3-v3", "3.29.0");

/// A port nothing listens on.
fn dead_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// An s3 environment `staging` (MinIO unless `region` is Garage's).
fn s3_spec(dir: &Path, endpoint: &str, region: &str, bucket: &str, app: Option<&str>) {
    let app = app.map(|a| format!("    app: {a}\n")).unwrap_or_default();
    let provider = if region == "us-east-1" {
        "minio"
    } else {
        "s3-compatible"
    };
    let spec = format!(
        "project: p\nenvironments:\n  staging:\n    storage: s3\n    provider: {provider}\n    endpoint: {endpoint}\n    region: {region}\n    bucket: {bucket}\n    prefix: staging/traces\n{app}"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("spec");
}

fn json(out: &Outcome) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// `id → (status, message, hint)` of the app checks.
fn app_checks(report: &Value) -> Vec<(String, String, String, bool)> {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .filter(|c| c["id"].as_str().is_some_and(|id| id.starts_with("app.")))
        .map(|c| {
            (
                c["id"].as_str().unwrap_or("").to_string(),
                c["status"].as_str().unwrap_or("").to_string(),
                c["message"].as_str().unwrap_or("").to_string(),
                c["hint"].is_string(),
            )
        })
        .collect()
}

fn status_of(checks: &[(String, String, String, bool)], id: &str) -> (String, String, bool) {
    checks
        .iter()
        .find(|c| c.0 == id)
        .map(|c| (c.1.clone(), c.2.clone(), c.3))
        .unwrap_or_else(|| panic!("no {id} in {checks:#?}"))
}

fn assert_no_secret(out: &Outcome, what: &str) {
    for secret in [CANARY, ROOT_CANARY] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{what} printed a secret:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

#[test]
fn issue_15_check_app_catches_every_trap_with_a_hint_and_no_secret() {
    let dir = tempdir();
    let endpoint = format!("http://127.0.0.1:{}", dead_port());
    s3_spec(dir.path(), &endpoint, "us-east-1", "ct-staging", None);
    let app = dir.path().join("shop");
    // The package, no S3 adapter.
    laravel_app(&app, "v12.3.0", Some("app/private"), &[PACKAGE]);
    // Laravel reads .env.staging instead of .env when APP_ENV=staging.
    std::fs::write(app.join(".env"), "CHRONOTRACE_STORAGE=s3\n").expect("env");
    let staging = format!(
        "CHRONOTRACE_STORAGE=minio\nCHRONOTRACE_S3_BUCKET=ct-other\nCHRONOTRACE_S3_ENDPOINT={endpoint}/\nCHRONOTRACE_S3_PREFIX=/staging/traces/\nAWS_ACCESS_KEY_ID=chronotrace-admin\nAWS_SECRET_ACCESS_KEY={CANARY}\nMINIO_ROOT_USER=chronotrace-admin\nMINIO_ROOT_PASSWORD=\"{ROOT_CANARY}\"\nQUEUE_CONNECTION=redis\n"
    );
    std::fs::write(app.join(".env.staging"), staging).expect("env");
    let run = |args: &[&str]| {
        Run::new(dir.path())
            .args(["--app", "shop", "-e", "staging"])
            .args(args)
            .run()
    };
    let out = run(&["--output", "json", "check"]).code(1);
    assert_no_secret(&out, "check --output json");
    let checks = app_checks(&json(&out));
    let expect = [
        ("app.laravel", "pass", "v12.3.0"),
        ("app.storage_driver", "fail", "falls back to the local disk"),
        ("app.s3_bucket", "fail", "ct-other"),
        ("app.s3_region", "pass", "us-east-1"),
        ("app.s3_endpoint", "pass", "127.0.0.1"),
        ("app.s3_prefix", "pass", "staging/traces"),
        ("app.credentials", "fail", "MinIO root user"),
        ("app.s3_adapter", "fail", "league/flysystem-aws-s3-v3"),
        ("app.queue", "warn", "no worker"),
        ("app.package", "pass", "deletes nothing"),
    ];
    for (id, status, fragment) in expect {
        let (got, message, hint) = status_of(&checks, id);
        assert_eq!(got, status, "{id}: {message}");
        assert!(message.contains(fragment), "{id}: {message}");
        if status != "pass" {
            assert!(hint, "{id} has no hint");
        }
    }
    assert!(
        status_of(&checks, "app.storage_driver")
            .1
            .contains("'minio'"),
        "{checks:#?}"
    );
    // The same lines in text, with hints, and still no secret.
    for args in [&["check"][..], &["-v", "check"][..]] {
        let out = run(args).code(1);
        assert_no_secret(&out, "check (text)");
        for fragment in [
            "app.storage_driver",
            "falls back to the local disk",
            "app.s3_adapter",
            "composer require league/flysystem-aws-s3-v3",
        ] {
            assert!(out.stdout.contains(fragment), "{fragment}: {}", out.stdout);
        }
    }

    // Fixed: s3, the right bucket, the app's own key, the adapter, a worker.
    laravel_app(&app, "v12.3.0", Some("app/private"), &[PACKAGE, ADAPTER]);
    let fixed = format!(
        "CHRONOTRACE_STORAGE=s3\nCHRONOTRACE_S3_BUCKET=ct-staging\nCHRONOTRACE_S3_ENDPOINT={endpoint}\nCHRONOTRACE_S3_PREFIX=staging/traces\nAWS_ACCESS_KEY_ID=ct-app-staging\nAWS_SECRET_ACCESS_KEY={CANARY}\nMINIO_ROOT_USER=chronotrace-admin\nQUEUE_CONNECTION=redis\n"
    );
    std::fs::write(app.join(".env.staging"), fixed).expect("env");
    std::fs::write(
        app.join("config/horizon.php"),
        "<?php return ['defaults' => ['supervisor-1' => ['queue' => ['default', 'chronotrace']]]];\n",
    )
    .expect("horizon");
    let out = run(&["--output", "json", "check"]).code(1);
    assert_no_secret(&out, "check (fixed)");
    for (id, status, message, _) in app_checks(&json(&out)) {
        assert_eq!(status, "pass", "{id}: {message}");
    }
    // The app's key is the one the tool runs with: an admin key.
    let out = Run::new(dir.path())
        .env("AWS_ACCESS_KEY_ID", "ct-app-staging")
        .env("AWS_SECRET_ACCESS_KEY", CANARY)
        .args([
            "--app", "shop", "-e", "staging", "--output", "json", "check",
        ])
        .run()
        .code(1);
    assert_no_secret(&out, "check (tool key)");
    let (status, message, _) = status_of(&app_checks(&json(&out)), "app.credentials");
    assert_eq!(status, "fail");
    assert!(
        message.contains("chronotrace-ops itself runs with"),
        "{message}"
    );
}

#[test]
fn issue_15_missing_keys_and_a_local_fallback_are_named() {
    let dir = tempdir();
    let endpoint = format!("http://127.0.0.1:{}", dead_port());
    s3_spec(
        dir.path(),
        &endpoint,
        "us-east-1",
        "ct-staging",
        Some("shop"),
    );
    let app = dir.path().join("shop");
    laravel_app(&app, "v12.3.0", None, &[]);
    // Nothing set: the package's defaults (local disk, bucket chronotrace).
    std::fs::write(app.join(".env"), "APP_NAME=shop\n").expect("env");
    let out = Run::new(dir.path())
        .args(["-e", "staging", "--output", "json", "check"])
        .run()
        .code(1);
    let checks = app_checks(&json(&out));
    let (status, message, _) = status_of(&checks, "app.storage_driver");
    assert_eq!(status, "fail");
    assert!(message.contains("CHRONOTRACE_STORAGE=local"), "{message}");
    let (status, message, _) = status_of(&checks, "app.credentials");
    assert_eq!(status, "fail");
    assert!(
        message.contains("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY"),
        "{message}"
    );
    assert_eq!(status_of(&checks, "app.package").0, "fail");
    assert_eq!(status_of(&checks, "app.s3_endpoint").0, "fail");
    // Async storage on Laravel 12's default database queue: a warning.
    assert_eq!(status_of(&checks, "app.queue").0, "warn");
}

#[test]
fn issue_15_report_and_check_of_a_local_app_never_show_its_secrets() {
    let dir = tempdir();
    laravel_app(dir.path(), "v12.3.0", Some("app/private"), &[PACKAGE]);
    std::fs::write(
        dir.path().join(".env"),
        format!(
            "CHRONOTRACE_STORAGE=minio\nAWS_SECRET_ACCESS_KEY={CANARY}\nDB_PASSWORD={ROOT_CANARY}\n"
        ),
    )
    .expect("env");
    for format in ["text", "json", "markdown", "html"] {
        let out = Run::new(dir.path())
            .args(["report", "-e", "local", "--format", format])
            .run()
            .code(0);
        assert_no_secret(&out, format);
        assert!(out.stdout.contains("app.storage_driver"), "{format}");
    }
    let out = Run::new(dir.path())
        .args(["check", "-e", "local"])
        .run()
        .code(1);
    assert_no_secret(&out, "check");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_well_configured_app_passes_check_end_to_end_on_garage() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = crate::servers::unique_bucket("app");
    s3_spec(
        dir.path(),
        &garage.url,
        &garage.region,
        &bucket,
        Some("shop"),
    );
    let app = dir.path().join("shop");
    laravel_app(&app, "v12.3.0", Some("app/private"), &[PACKAGE, ADAPTER]);
    let env = format!(
        "CHRONOTRACE_STORAGE=s3\nCHRONOTRACE_S3_BUCKET={bucket}\nCHRONOTRACE_S3_REGION={}\nCHRONOTRACE_S3_ENDPOINT={}\nCHRONOTRACE_S3_PREFIX=staging/traces\nAWS_ACCESS_KEY_ID=ct-app-own-key\nAWS_SECRET_ACCESS_KEY={CANARY}\nCHRONOTRACE_ASYNC_STORAGE=false\n",
        garage.region, garage.url
    );
    std::fs::write(app.join(".env"), env).expect("env");
    let run = |args: &[&str]| {
        Run::new(dir.path())
            .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
            .args(["-e", "staging", "--output", "json"])
            .args(args)
            .run()
    };
    run(&["apply", "--yes"]).code(0);
    let out = run(&["check"]);
    assert_no_secret(&out, "check on garage");
    let report = json(&out);
    assert_eq!(out.code, 0, "{report:#}");
    let checks = app_checks(&report);
    assert_eq!(checks.len(), 10, "{checks:#?}");
    for (id, status, message, _) in checks {
        assert_eq!(status, "pass", "{id}: {message}");
    }
    run(&["destroy", "--yes", "--empty"]).code(0);
}
