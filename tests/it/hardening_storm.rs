//! Throttling storms (issue 27, "a throttling storm aborts a purge"): the
//! fault proxy in front of the bench's Garage answers 30% of all requests
//! (listings, seeks, DeleteObjects, the side reads) with a throttling
//! answer. A storm slows a run down; it never fails it, and the counts are
//! those of a calm run. Each round draws a fresh seed, printed when the
//! round fails so that it can be replayed.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::cleanup::{
    PREFIX, all_keys, create_bucket, day, json, put, run_with, unique_bucket, write_s3_spec,
};
use crate::fault_proxy::Fault;
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, tempdir};

/// Traces per partition: 30 partitions of 30, the 900.
const PER_PARTITION: usize = 30;
/// Partitions within the 15-day retention (ages in days).
const YOUNG: std::ops::RangeInclusive<u64> = 0..=12;
/// Partitions past it, purged every round.
const EXPIRED: std::ops::RangeInclusive<u64> = 20..=36;
/// Purge runs in a row under a storm.
const PURGE_ROUNDS: u64 = 20;
/// The share of requests the storm answers instead of the server.
const STORM_PERCENT: u64 = 30;

/// Traces per expired partition in the rounds after the first: the
/// requests of a purge (a seek, a listing and a DeleteObjects per
/// partition) stay the same, the loading between rounds is shorter.
const PER_PARTITION_AFTER: usize = 5;

fn traces(ages: std::ops::RangeInclusive<u64>) -> Vec<String> {
    traces_of(ages, PER_PARTITION)
}

fn traces_of(ages: std::ops::RangeInclusive<u64>, each: usize) -> Vec<String> {
    ages.flat_map(|age| {
        (0..each).map(move |i| format!("{PREFIX}/traces/{}/trace-{age}-{i}.zip", day(age)))
    })
    .collect()
}

/// Keys outside the environment's prefix, old enough to look expired.
fn outsiders() -> Vec<String> {
    (0..3)
        .flat_map(|i| {
            [
                format!("other-tenant/traces/traces/{}/t{i}.zip", day(40)),
                format!("staging/traces-archive/traces/{}/a{i}.zip", day(40)),
            ]
        })
        .collect()
}

/// Writes `keys` (3 bytes each), directly to Garage, many at once.
async fn load(s3: &Client, bucket: &str, keys: Vec<String>) {
    stream::iter(keys)
        .for_each_concurrent(32, |key| async move { put(s3, bucket, &key).await })
        .await;
}

/// A seed no earlier round used.
fn seed(round: u64) -> u64 {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos() as u64);
    nanos ^ round.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// Runs the tool in a blocking thread (the proxy serves meanwhile).
async fn tool(dir: &Path, endpoint: &Endpoint, args: &[&str]) -> Outcome {
    let (dir, endpoint) = (dir.to_path_buf(), endpoint.clone());
    let args: Vec<String> = args.iter().map(|a| (*a).to_string()).collect();
    tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_with(&dir, &endpoint, &args)
    })
    .await
    .expect("the run finishes")
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn purge_through_a_storm_of_slowdowns_exits_0_with_exact_counts_twenty_runs_in_a_row() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let s3 = s3_client(&garage);
    let bucket = unique_bucket("storm-purge");
    create_bucket(&s3, &garage, &bucket).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), &proxied, "s3-compatible", &bucket, false);
    let (young, expired) = (traces(YOUNG), traces(EXPIRED));
    assert_eq!(young.len() + expired.len(), 900, "the issue's 900 traces");
    load(
        &s3,
        &bucket,
        young.iter().chain(&outsiders()).cloned().collect(),
    )
    .await;
    let kept: BTreeSet<String> = young.iter().cloned().chain(outsiders()).collect();
    for round in 0..PURGE_ROUNDS {
        let expired = match round {
            0 => expired.clone(),
            _ => traces_of(EXPIRED, PER_PARTITION_AFTER),
        };
        let doomed = expired.len() as u64;
        load(&s3, &bucket, expired).await;
        let seed = seed(round);
        let before = proxy.injected();
        proxy.storm(STORM_PERCENT, seed, &[Fault::SlowDown]);
        let started = Instant::now();
        let out = tool(dir.path(), &proxied, &["cleanup", "purge", "--yes"]).await;
        proxy.calm();
        let what = format!("round {round}, seed {seed}, {:?}", started.elapsed());
        eprintln!(
            "storm purge: {what}, {} throttled",
            proxy.injected() - before
        );
        assert_eq!(out.code, 0, "{what}\n{}\n{}", out.stdout, out.stderr);
        let purge = json(&out);
        assert_eq!(purge["deleted_objects"], doomed, "{what}: {purge}");
        assert_eq!(purge["deleted_bytes"], 3 * doomed, "{what}: {purge}");
        assert_eq!(purge["errors"], serde_json::json!([]), "{what}: {purge}");
        assert!(
            proxy.injected() > before + 10,
            "{what}: the storm hit ({} throttled answers)",
            proxy.injected() - before
        );
        assert_eq!(
            all_keys(&s3, &bucket).await,
            kept,
            "{what}: everything past retention went, nothing else"
        );
    }
}

/// What a complete scan says, for comparing with scans under a storm.
fn scan_facts(report: &Value) -> Value {
    serde_json::json!({
        "objects": report["objects"],
        "bytes": report["bytes"],
        "by_day": report["by_day"],
        "expired": report["retention"]["expired_objects"],
    })
}

/// What `cleanup verify` says, for the same comparison.
fn verify_facts(verify: &Value) -> Value {
    serde_json::json!({
        "ok": verify["ok"],
        "scanned": verify["scanned_objects"],
        "expired": verify["expired_objects"],
        "expired_bytes": verify["expired_bytes"],
        "oldest": verify["oldest"],
        "partitions": verify["expired_partitions"],
        "lifecycle": verify["lifecycle"],
    })
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn report_and_verify_through_a_storm_of_throttling_answers_count_exactly() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let s3 = s3_client(&garage);
    let bucket = unique_bucket("storm-list");
    create_bucket(&s3, &garage, &bucket).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), &proxied, "s3-compatible", &bucket, false);
    let keys: Vec<String> = traces(YOUNG)
        .into_iter()
        .chain(traces(EXPIRED))
        .chain(outsiders())
        .collect();
    load(&s3, &bucket, keys).await;
    let report = ["report", "--format", "json", "--no-checks"];
    let verify = ["cleanup", "verify"];
    let calm_report = scan_facts(&json(&tool(dir.path(), &proxied, &report).await.code(0)));
    assert_eq!(calm_report["objects"], 900, "{calm_report}");
    let calm_verify = verify_facts(&json(&tool(dir.path(), &proxied, &verify).await.code(1)));
    assert_eq!(calm_verify["expired"], 510, "{calm_verify}");
    // Every way a store says "slow down": S3's SlowDown, a load balancer's
    // bare 503, a gateway's bare 429, and the other throttling codes.
    let answers = [
        Fault::SlowDown,
        Fault::Bare(503),
        Fault::Bare(429),
        Fault::Coded(503, "RequestLimitExceeded"),
        Fault::Coded(400, "Throttling"),
    ];
    for round in 0..10 {
        let seed = seed(round);
        proxy.storm(STORM_PERCENT, seed, &answers);
        let before = proxy.injected();
        let started = Instant::now();
        let listed = tool(dir.path(), &proxied, &report).await;
        let checked = tool(dir.path(), &proxied, &verify).await;
        proxy.calm();
        let what = format!("round {round}, seed {seed}, {:?}", started.elapsed());
        eprintln!(
            "storm listing: {what}, {} throttled",
            proxy.injected() - before
        );
        assert_eq!(listed.code, 0, "{what}: report\n{}", listed.stderr);
        assert_eq!(scan_facts(&json(&listed)), calm_report, "{what}: report");
        assert_eq!(checked.code, 1, "{what}: verify\n{}", checked.stderr);
        assert_eq!(verify_facts(&json(&checked)), calm_verify, "{what}: verify");
        assert!(
            proxy.injected() > before + 10,
            "{what}: the storm hit ({} throttled answers)",
            proxy.injected() - before
        );
        assert!(started.elapsed() < Duration::from_secs(120), "{what}");
    }
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_delete_throttled_past_its_budget_is_a_per_key_error_never_exit_2_nor_a_loss() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let s3 = s3_client(&garage);
    let bucket = unique_bucket("storm-budget");
    create_bucket(&s3, &garage, &bucket).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), &proxied, "s3-compatible", &bucket, false);
    let (young, expired) = (traces_of(3..=4, 3), traces_of(20..=21, 3));
    load(
        &s3,
        &bucket,
        young.iter().chain(&expired).cloned().collect(),
    )
    .await;
    // Every DeleteObjects refused whole, for longer than any budget.
    proxy.on("POST", "delete", Fault::SlowDown, 100_000);
    let started = Instant::now();
    let out = tool(
        dir.path(),
        &proxied,
        &["--timeout", "4", "cleanup", "purge", "--yes"],
    )
    .await;
    let took = started.elapsed();
    proxy.clear_rules();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let purge = json(&out);
    assert_eq!(purge["deleted_objects"], 0, "{purge}");
    assert_eq!(purge["error_count"], expired.len(), "{purge}");
    let failed: BTreeSet<&str> = purge["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "SlowDown", "{e}");
            assert!(
                e["message"].as_str().is_some_and(|m| m.contains("budget")),
                "{e}"
            );
            e["key"].as_str().expect("key")
        })
        .collect();
    let doomed: BTreeSet<&str> = expired.iter().map(String::as_str).collect();
    assert_eq!(failed, doomed, "every key not deleted is named");
    // Each DeleteObjects had its rounds for one budget, side by side.
    assert!(took < Duration::from_secs(20), "took {took:?}");
    assert!(proxy.injected() > 2 * 3, "sent again: {}", proxy.injected());
    let everything: BTreeSet<String> = young.into_iter().chain(expired).collect();
    assert_eq!(all_keys(&s3, &bucket).await, everything, "nothing lost");
}
