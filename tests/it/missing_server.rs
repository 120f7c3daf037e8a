//! The missing-server test: a test that needs the bench never passes
//! without it. This test binary (`it`) runs itself as a subprocess with
//! every `CT_TEST_*` variable removed: run as `scripts/test.sh` runs it
//! (`--include-ignored`), a server test fails with a one-line reason saying
//! how to run it; run as `cargo test` alone runs it, it is reported
//! ignored, never passed; and no test marked as needing the bench passes
//! without it.

use std::process::{Command, Output};

/// A test of `servers` that needs moto.
const MOTO_TEST: &str = "servers::moto_bucket_round_trip";

/// This test binary, run with `args` and no bench.
fn without_the_bench(args: &[&str]) -> (Output, String) {
    let mut cmd = Command::new(std::env::current_exe().expect("the test binary"));
    for (key, _) in std::env::vars_os() {
        if key.to_string_lossy().starts_with("CT_TEST_") {
            cmd.env_remove(key);
        }
    }
    // The bench's tools stay out of reach too.
    cmd.env("PATH", "").args(args);
    let out = cmd.output().expect("the test binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    (out, stdout)
}

#[test]
fn a_server_test_without_its_server_fails_and_is_never_reported_passed() {
    // As scripts/test.sh runs it: a failure, saying how to run it.
    let (out, stdout) = without_the_bench(&[MOTO_TEST, "--exact", "--include-ignored"]);
    assert!(!out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("test {MOTO_TEST} ... FAILED")),
        "{stdout}"
    );
    let reason = stdout
        .lines()
        .find(|l| l.contains("moto is not running"))
        .unwrap_or_else(|| panic!("no reason given:\n{stdout}"));
    assert!(
        reason.contains("run this test through scripts/test.sh"),
        "{reason}"
    );
    assert!(stdout.contains("0 passed; 1 failed"), "{stdout}");

    // As `cargo test` alone runs it: ignored, with the reason, not passed.
    let (out, stdout) = without_the_bench(&[MOTO_TEST, "--exact"]);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "test {MOTO_TEST} ... ignored, needs the bench: run scripts/test.sh"
        )),
        "{stdout}"
    );
    assert!(stdout.contains("0 passed; 0 failed; 1 ignored"), "{stdout}");
}

#[test]
fn no_test_needing_the_bench_passes_without_it() {
    let (_, stdout) = without_the_bench(&["--ignored"]);
    let ran: Vec<&str> = stdout.lines().filter(|l| l.starts_with("test ")).collect();
    assert!(ran.len() > 40, "the bench's tests ran:\n{stdout}");
    let passed: Vec<&&str> = ran.iter().filter(|l| l.ends_with(" ok")).collect();
    assert!(passed.is_empty(), "passed without the bench: {passed:#?}");
    assert!(
        stdout.contains("\ntest result: FAILED. 0 passed;"),
        "{stdout}"
    );
}
