//! Ctrl-C (issue 11, item 9): SIGINT sent to the real binary in the middle
//! of a purge or an apply on the bench's Garage, slowed down by
//! `fault_proxy` so the work is surely mid-way. The run exits 130 with one
//! line saying so, prints what it had done (valid JSON, `"interrupted":
//! true`), and the store agrees with what it printed.

use std::path::Path;
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cleanup::{garage_fixture_at, json, unique_bucket, write_s3_spec};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, server};
use crate::support::{Outcome, Run, tempdir};

/// The fixture's objects past 15 days of retention (`cleanup` fixture).
const EXPIRED_OBJECTS: u64 = 6;
/// Long enough that a held request never completes during the test.
const STALL: Duration = Duration::from_secs(120);

/// The binary on `endpoint`, JSON output, for environment `staging`.
fn tool(dir: &Path, endpoint: &Endpoint, args: &[&str]) -> Run {
    Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
        .args(["-e", "staging", "--output", "json"])
        .args(args)
}

/// Waits (generously: a loaded 2-core machine) until the proxy has
/// injected `n` faults, then sends SIGINT and collects the outcome.
fn interrupt_after(proxy: &FaultProxy, n: usize, child: Child) -> Outcome {
    let start = Instant::now();
    while proxy.injected() < n {
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no sign of progress: {} faults injected",
            proxy.injected()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = Outcome::of(child.wait_with_output().expect("the binary ends"));
    assert!(
        start.elapsed() < STALL,
        "the run ended by itself, not by the signal"
    );
    out
}

/// Exit 130 and exactly one error line on stderr, saying "interrupted".
#[track_caller]
pub fn interrupted(out: Outcome) -> Outcome {
    let out = out.code(130);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    assert!(
        errors[0].starts_with("error: interrupted"),
        "{}",
        out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    out
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_interrupted_purge_says_exactly_what_it_deleted() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (_, _bucket, dir) = garage_fixture_at(&garage, &proxied, "sigpurge").await;
    // The first DeleteObjects goes through (slowly), the next one stalls:
    // the signal arrives while the purge is surely mid-way.
    proxy.on(
        "POST",
        "delete",
        Fault::Delay(Duration::from_millis(500)),
        1,
    );
    proxy.on("POST", "delete", Fault::Delay(STALL), 10);
    let dir_path = dir.path().to_path_buf();
    let child = tool(
        &dir_path,
        &proxied,
        &["cleanup", "purge", "--yes", "--concurrency", "1"],
    )
    .spawn();
    // The proxy serves from its own threads: blocking here is fine.
    let out = interrupt_after(&proxy, 2, child);
    let out = interrupted(out);
    let purge = json(&out);
    assert_eq!(purge["interrupted"], true, "{purge}");
    let deleted = purge["deleted_objects"].as_u64().expect("deleted_objects");
    assert!(
        (1..EXPIRED_OBJECTS).contains(&deleted),
        "a partial count: {purge}"
    );
    assert_eq!(purge["deleted_bytes"], deleted * 3, "{purge}");
    let rows: u64 = purge["partitions"]
        .as_array()
        .expect("partitions")
        .iter()
        .map(|r| r["objects"].as_u64().expect("objects"))
        .sum();
    assert_eq!(rows, deleted, "per partition: {purge}");
    assert_eq!(
        purge["finished_partitions"].as_array().map(Vec::len),
        Some(1),
        "{purge}"
    );
    // What remains (the stalled delete never reached the server) is
    // exactly the rest: deleted + remaining = the fixture's expired total.
    let verify = tool(&dir_path, &proxied, &["cleanup", "verify", "--grace", "0"])
        .run()
        .code(1);
    let remaining = json(&verify)["expired_objects"]
        .as_u64()
        .expect("expired_objects");
    assert_eq!(deleted + remaining, EXPIRED_OBJECTS, "{}", verify.stdout);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_interrupted_apply_says_what_it_changed_and_a_rerun_converges() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let dir = tempdir();
    write_s3_spec(
        dir.path(),
        &proxied,
        "s3-compatible",
        &unique_bucket("sigapply"),
        false,
    );
    // The bucket is created, then the lifecycle write stalls.
    proxy.on("PUT", "lifecycle", Fault::Delay(STALL), 1);
    let dir_path = dir.path().to_path_buf();
    let child = tool(&dir_path, &proxied, &["apply", "--yes"]).spawn();
    // The proxy serves from its own threads: blocking here is fine.
    let out = interrupt_after(&proxy, 1, child);
    let out = interrupted(out);
    assert!(out.stderr.contains("  + bucket: done"), "{}", out.stderr);
    let done: Value = json(&out);
    assert_eq!(done["interrupted"], true, "{done}");
    let changes = done["changes"].as_array().expect("the plan as executed");
    assert!(
        changes
            .iter()
            .any(|c| c["resource"] == "bucket" && c["action"] == "create"),
        "what it changed: {done}"
    );
    assert!(
        changes.iter().all(|c| c["resource"] != "bucket.lifecycle"),
        "the stalled write is not claimed: {done}"
    );
    // A rerun converges (the proxy passes everything now).
    tool(&dir_path, &proxied, &["apply", "--yes"]).run().code(0);
    tool(&dir_path, &proxied, &["plan", "--exit-code"])
        .run()
        .code(0);
    tool(&dir_path, &proxied, &["destroy", "--yes", "--empty"])
        .run()
        .code(0);
}
