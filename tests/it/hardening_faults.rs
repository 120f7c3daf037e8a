//! Faults in the middle of work (issue 7, items 1 and 2): the tool talks to
//! the real Garage of the bench through `fault_proxy`, which answers storms
//! of `503 SlowDown`, cuts and truncates listings, resets connections
//! part-way through `apply`, answers DeleteObjects with per-key errors, or
//! is gone altogether.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::cleanup::{
    PREFIX, all_keys, day, fixture_keys, garage_fixture_at, json, run_with, unique_bucket,
    write_s3_spec,
};
use crate::fault_proxy::{Fault, Listing};
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, tempdir};

/// The fixture's partitions past the 15-day retention (purge deletes them).
const EXPIRED: [u64; 3] = [40, 20, 16];

/// A bucket loaded with the cleanup fixture (directly, not through the
/// proxy), and a spec whose endpoint is the proxy.
async fn loaded(garage: &Endpoint, proxied: &Endpoint, tag: &str) -> (tempfile::TempDir, String) {
    let (_, bucket, dir) = garage_fixture_at(garage, proxied, tag).await;
    (dir, bucket)
}

/// A spec for a new bucket whose endpoint is the proxy.
fn spec_through(proxied: &Endpoint, tag: &str) -> tempfile::TempDir {
    let dir = tempdir();
    write_s3_spec(
        dir.path(),
        proxied,
        "s3-compatible",
        &unique_bucket(tag),
        false,
    );
    dir
}

/// The fixture keys a purge must leave.
fn survivors() -> BTreeSet<String> {
    fixture_keys()
        .into_iter()
        .filter(|k| {
            !EXPIRED
                .iter()
                .any(|age| k.starts_with(&format!("{PREFIX}/traces/{}/", day(*age))))
        })
        .collect()
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
async fn purge_under_a_storm_of_slowdowns_completes_with_exact_counts() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, bucket) = loaded(&garage, &proxied, "storm").await;
    // Two 503s before every request gets through (the SDK makes three
    // attempts), for the first thirty requests; and DeleteObjects answering
    // SlowDown for each key twice (the tool retries throttled keys).
    let storm = [Fault::SlowDown, Fault::SlowDown, Fault::Pass];
    proxy.script(storm.iter().copied().cycle().take(30));
    proxy.on("POST", "delete", Fault::DeleteErrors("SlowDown"), 2);
    let out = tool(
        dir.path(),
        &proxied,
        &["cleanup", "purge", "--yes", "--concurrency", "1"],
    )
    .await
    .code(0);
    let purge = json(&out);
    assert_eq!(purge["deleted_objects"], 6, "{purge}");
    assert_eq!(purge["deleted_bytes"], 18, "{purge}");
    assert_eq!(purge["errors"], serde_json::json!([]), "{purge}");
    assert!(
        proxy.injected() >= 12,
        "the storm hit: {}",
        proxy.injected()
    );
    assert_eq!(all_keys(&s3_client(&garage), &bucket).await, survivors());
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn per_key_delete_errors_are_reported_and_still_counted_afterwards() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, bucket) = loaded(&garage, &proxied, "keyerr").await;
    proxy.on("POST", "delete", Fault::DeleteErrors("AccessDenied"), 100);
    let out = tool(dir.path(), &proxied, &["cleanup", "purge", "--yes"])
        .await
        .code(1);
    let purge = json(&out);
    assert_eq!(purge["deleted_objects"], 0, "{purge}");
    let failed: BTreeSet<&str> = purge["errors"]
        .as_array()
        .expect("errors")
        .iter()
        .map(|e| {
            assert_eq!(e["code"], "AccessDenied", "{e}");
            e["key"].as_str().expect("key")
        })
        .collect();
    let doomed: BTreeSet<String> = fixture_keys()
        .into_iter()
        .filter(|k| !survivors().contains(k))
        .collect();
    assert_eq!(
        failed,
        doomed.iter().map(String::as_str).collect(),
        "every failed key is named"
    );
    assert_eq!(
        all_keys(&s3_client(&garage), &bucket).await.len(),
        fixture_keys().len()
    );
    // verify, with the proxy passing again, still counts all of them.
    let verify = json(
        &tool(dir.path(), &proxied, &["cleanup", "verify", "--grace", "0"])
            .await
            .code(1),
    );
    assert_eq!(verify["expired_objects"], 6, "{verify}");
}

/// What a complete scan says, for comparing with scans under faults.
fn scan_facts(report: &Value) -> Value {
    serde_json::json!({
        "objects": report["objects"],
        "bytes": report["bytes"],
        "by_day": report["by_day"],
        "expired": report["retention"]["expired_objects"],
    })
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_listing_cut_or_truncated_mid_way_is_retried_or_fails_never_partial() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, _bucket) = loaded(&garage, &proxied, "cut").await;
    let report = ["report", "--format", "json", "--no-checks"];
    let baseline = json(&tool(dir.path(), &proxied, &report).await.code(0));
    let complete = scan_facts(&baseline);
    assert_eq!(complete["expired"], 5, "{baseline}");
    assert_eq!(complete["objects"], 12, "{baseline}");
    let faults = [
        Fault::CutAfter(0),
        Fault::CutAfter(120),
        Fault::CutAfter(700),
        Fault::Truncate(150),
        Fault::Truncate(600),
        Fault::Truncate(1200),
    ];
    for fault in faults {
        // Twice (the SDK's retries absorb it) and ten times (they cannot).
        for times in [2, 10] {
            for args in [&report[..], &["cleanup", "verify"][..]] {
                proxy.on("GET", "list-type=2", fault, times);
                let out = tool(dir.path(), &proxied, args).await;
                let what = format!("{fault:?} x{times}: {}", args.join(" "));
                match out.code {
                    2 => {
                        assert!(
                            out.stderr.contains("ListObjectsV2"),
                            "{what}: the error names the listing\n{}",
                            out.stderr
                        );
                        assert!(
                            out.stdout.is_empty(),
                            "{what}: nothing claimed\n{}",
                            out.stdout
                        );
                    }
                    _ if args[0] == "report" => {
                        assert_eq!(scan_facts(&json(&out)), complete, "{what}: {}", out.stderr);
                    }
                    _ => {
                        assert_eq!(out.code, 1, "{what}: {}", out.stderr);
                        assert_eq!(json(&out)["expired_objects"], 5, "{what}");
                    }
                }
                proxy.clear_rules();
            }
        }
    }
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn apply_cut_part_way_names_the_step_and_a_rerun_converges() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let dir = spec_through(&proxied, "cutapply");
    // The lifecycle write answered 503 until the SDK gives up.
    proxy.on("PUT", "lifecycle", Fault::SlowDown, 10);
    let first = tool(dir.path(), &proxied, &["apply", "--yes"])
        .await
        .code(2);
    assert!(
        first
            .stderr
            .contains("bucket.lifecycle failed after these changes were made: bucket"),
        "{}",
        first.stderr
    );
    assert!(
        first.stderr.contains("PutBucketLifecycleConfiguration"),
        "{}",
        first.stderr
    );
    proxy.clear_rules();
    tool(dir.path(), &proxied, &["plan", "--exit-code"])
        .await
        .code(1);
    // The write reaches the server but its answer is cut: the tool cannot
    // know, says so, and the next run finds the work done.
    proxy.on("PUT", "lifecycle", Fault::CutAfter(0), 10);
    let second = tool(dir.path(), &proxied, &["apply", "--yes"]).await;
    proxy.clear_rules();
    if second.code != 0 {
        assert_eq!(second.code, 2);
        assert!(
            second.stderr.contains("bucket.lifecycle failed"),
            "{}",
            second.stderr
        );
    }
    tool(dir.path(), &proxied, &["apply", "--yes"])
        .await
        .code(0);
    tool(dir.path(), &proxied, &["plan", "--exit-code"])
        .await
        .code(0);
    tool(dir.path(), &proxied, &["destroy", "--yes", "--empty"])
        .await
        .code(0);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_server_gone_is_a_clear_error_within_seconds() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let dir = spec_through(&proxied, "gone");
    drop(proxy);
    tokio::time::sleep(Duration::from_millis(100)).await;
    for args in [
        &["plan"][..],
        &["apply", "--yes"],
        &["cleanup", "verify"],
        &["cleanup", "purge", "--yes"],
        &["report", "--format", "json"],
        &["destroy", "--yes", "--empty"],
    ] {
        let started = Instant::now();
        let out = tool(dir.path(), &proxied, args)
            .await
            .code(2)
            .stdout_is_empty();
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{args:?} took {:?}",
            started.elapsed()
        );
        let line = out
            .stderr
            .lines()
            .find(|l| l.starts_with("error"))
            .unwrap_or_default();
        assert!(
            line.contains("cannot reach") && line.contains(&proxied.url.replace("http://", "")),
            "{args:?}: {}",
            out.stderr
        );
    }
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_html_page_instead_of_s3_is_an_error_never_an_empty_answer() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, bucket) = loaded(&garage, &proxied, "html").await;
    for status in [200, 502] {
        for args in [
            &["cleanup", "verify"][..],
            &["cleanup", "purge", "--yes"],
            &["report", "--format", "json", "--no-checks"],
            &["plan"],
        ] {
            proxy.clear_rules();
            proxy.on("GET", "", Fault::Html(status), 100);
            let out = tool(dir.path(), &proxied, args).await;
            let what = format!("HTML {status}: {}", args.join(" "));
            assert_eq!(out.code, 2, "{what}\n{}\n{}", out.stdout, out.stderr);
            assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
            assert!(
                out.stdout.trim().is_empty(),
                "{what}: nothing on stdout\n{}",
                out.stdout
            );
        }
    }
    proxy.clear_rules();
    assert_eq!(
        all_keys(&s3_client(&garage), &bucket).await.len(),
        fixture_keys().len(),
        "nothing was deleted"
    );
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_server_killed_mid_purge_is_a_clear_error_within_seconds_and_nothing_is_miscounted() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, bucket) = loaded(&garage, &proxied, "killed").await;
    // The listing goes through; the server dies at the first delete.
    proxy.on("POST", "delete", Fault::Kill, 100);
    let started = Instant::now();
    let out = tool(dir.path(), &proxied, &["cleanup", "purge", "--yes"])
        .await
        .code(2);
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "took {:?}",
        started.elapsed()
    );
    assert!(
        out.stderr.contains("cannot reach") && out.stderr.contains("DeleteObjects"),
        "{}",
        out.stderr
    );
    assert!(
        out.stdout.trim().is_empty(),
        "no result claimed: {}",
        out.stdout
    );
    // Nothing was deleted, and verify (straight to Garage) still counts it all.
    let s3 = s3_client(&garage);
    assert_eq!(all_keys(&s3, &bucket).await.len(), fixture_keys().len());
    write_s3_spec(dir.path(), &garage, "s3-compatible", &bucket, false);
    let verify = json(
        &tool(dir.path(), &garage, &["cleanup", "verify", "--grace", "0"])
            .await
            .code(1),
    );
    assert_eq!(verify["expired_objects"], 6, "{verify}");
}

/// The query of the listing of the partition `day` (and not of the seeks
/// that find the partitions, whose `start-after` names the day too).
fn partition_listing(day: &str) -> String {
    format!(
        "prefix={}%2Ftraces%2F{day}%2F",
        crate::cleanup::PREFIX.replace('/', "%2F")
    )
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_huge_listing_page_is_counted_exactly() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, _bucket) = loaded(&garage, &proxied, "huge").await;
    // The 40-day-old partition answers 100,000 keys in one page (S3 sends
    // at most 1000): about 17 MB of XML.
    const HUGE: u64 = 100_000;
    proxy.on(
        "GET",
        partition_listing(&day(40)),
        Fault::Listing(Listing::Huge(HUGE as usize)),
        1,
    );
    let verify = json(
        &tool(dir.path(), &proxied, &["cleanup", "verify"])
            .await
            .code(1),
    );
    assert_eq!(proxy.injected(), 1, "the made-up page was served");
    // Plus the two real traces of the 20-day-old partition.
    assert_eq!(verify["expired_objects"], HUGE + 2, "{verify}");
    assert_eq!(verify["expired_bytes"], 3 * (HUGE + 2), "{verify}");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_listing_that_says_more_follows_but_cannot_go_on_is_an_error_never_partial() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, _bucket) = loaded(&garage, &proxied, "endless").await;
    for (kind, why) in [
        (Listing::TruncatedWithoutToken, "no token"),
        (Listing::RepeatedToken, "never end"),
    ] {
        proxy.clear_rules();
        proxy.on("GET", partition_listing(&day(40)), Fault::Listing(kind), 10);
        let started = Instant::now();
        let out = tool(dir.path(), &proxied, &["cleanup", "verify"])
            .await
            .code(2);
        assert!(started.elapsed() < Duration::from_secs(30), "{kind:?} ends");
        assert!(
            out.stdout.trim().is_empty(),
            "no result claimed: {}",
            out.stdout
        );
        let error: Vec<&str> = out
            .stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .collect();
        assert_eq!(error.len(), 1, "{kind:?}: {}", out.stderr);
        assert!(
            error[0].contains(why) && error[0].contains("ListObjectsV2"),
            "{}",
            error[0]
        );
    }
}
