//! The command line itself: help, version, usage errors.

use crate::support::{Run, tempdir};

/// Every subcommand, as `--help` lists them.
pub const SUBCOMMANDS: [&str; 12] = [
    "init",
    "render",
    "plan",
    "apply",
    "destroy",
    "check",
    "cleanup",
    "report",
    "bootstrap",
    "completions",
    "man",
    "schema",
];

#[test]
fn help_lists_every_command() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["--help"])
        .run()
        .code(0)
        .stderr_is_empty();
    for command in SUBCOMMANDS {
        assert!(out.stdout.contains(command), "{}", out.stdout);
    }
    assert!(out.stdout.contains("Exit status"), "{}", out.stdout);
}

#[test]
fn version_prints_and_exits_zero() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["--version"])
        .run()
        .code(0)
        .stderr_is_empty();
    assert!(out.stdout.starts_with("chronotrace-ops "), "{}", out.stdout);
}

#[test]
fn usage_errors_exit_2_without_a_backtrace() {
    let dir = tempdir();
    for args in [
        vec!["--bogus"],
        vec!["no-such-command"],
        vec!["render", "--output", "yaml"],
    ] {
        let out = Run::new(dir.path())
            .args(&args)
            .run()
            .code(2)
            .stdout_is_empty()
            .stderr_contains("error: ");
        assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
        assert!(!out.stderr.contains("RUST_BACKTRACE"), "{}", out.stderr);
    }
}

#[test]
fn unknown_environment_is_a_usage_error_naming_the_known_ones() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["render", "--env", "qa", "--out", "deploy"])
        .run()
        .code(2)
        .one_line_error("no environment named 'qa'");
    assert!(
        out.stderr.contains("no environment named 'qa'"),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("local, staging, production"),
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("deploy").exists());
}

#[test]
fn the_environment_comes_from_chronotrace_ops_env_too() {
    let dir = tempdir();
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .env("CHRONOTRACE_OPS_ENV", "staging")
        .run()
        .code(0)
        .stdout_contains(".env.staging");
    assert!(dir.path().join("deploy/.env.staging").exists());
    assert!(!dir.path().join("deploy/.env.production").exists());
}

/// Issue 28: the old names work, with a one-line warning naming the new
/// one; the new name wins when both are set.
#[test]
fn issue_28_the_old_variable_names_still_work_with_a_deprecation_warning() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .env("CHRONOTRACE_ENV", "staging")
        .run()
        .code(0)
        .stdout_contains(".env.staging");
    let warnings: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.contains("CHRONOTRACE_ENV"))
        .collect();
    assert_eq!(
        warnings,
        ["warning: CHRONOTRACE_ENV is deprecated: rename it CHRONOTRACE_OPS_ENV"],
        "{}",
        out.stderr
    );

    let dir = tempdir();
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .env("CHRONOTRACE_ENV", "staging")
        .env("CHRONOTRACE_OPS_ENV", "production")
        .run()
        .code(0)
        .stdout_contains(".env.production")
        .stderr_contains("CHRONOTRACE_ENV is deprecated and ignored here");
    assert!(!dir.path().join("deploy/.env.staging").exists());

    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .env("CHRONOTRACE_TIMEOUT", "never")
        .run()
        .code(2)
        .stderr_contains(
            "warning: CHRONOTRACE_TIMEOUT is deprecated: rename it CHRONOTRACE_OPS_TIMEOUT",
        )
        .stderr_contains("error: CHRONOTRACE_TIMEOUT: \"never\" is not a number");
}

#[test]
fn credentials_in_endpoint_url_are_refused_and_never_echoed() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args([
            "--endpoint-url",
            "https://AKIAEXAMPLE:s3cr3t-canary@minio.example.com",
            "render",
        ])
        .run()
        .code(2)
        .one_line_error("endpoint.credentials");
    assert!(
        out.stderr.contains("endpoint.credentials"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("s3cr3t-canary"), "{}", out.stderr);
}
