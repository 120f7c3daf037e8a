//! Audits at any size (issue 14): what a scan costs must not grow with
//! what the partitions hold when it does not need to read them. (The
//! server's own work is the other half: a delimited listing made Garage
//! walk every key to find 30 partitions; the seeks do not. That is
//! measured in BENCHMARKS.md, not in a timed test.)

use std::time::Duration;

use futures::stream::{self, StreamExt};

use std::collections::BTreeSet;

use crate::cleanup::{
    PREFIX, all_keys, day, garage_fixture_at, json, put, run_with, write_s3_spec,
};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, create_bucket, s3_client, server, unique_bucket};
use crate::support::tempdir;

/// The ListObjectsV2 requests one `cleanup verify` sends (each passes the
/// proxy as a zero delay, which the proxy counts).
fn verify_listings(proxy: &FaultProxy, dir: &std::path::Path, proxied: &Endpoint) -> usize {
    proxy.clear_rules();
    proxy.on(
        "GET",
        "list-type=2",
        Fault::Delay(Duration::ZERO),
        1_000_000,
    );
    let before = proxy.injected();
    let verify = json(&run_with(dir, proxied, &["cleanup", "verify"]).code(0));
    assert_eq!(verify["expired_objects"], 0, "{verify}");
    assert_eq!(verify["partitions_listed"], 0, "{verify}");
    let listings = proxy.injected() - before;
    proxy.clear_rules();
    listings
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_healthy_verify_sends_the_same_requests_whatever_the_partitions_hold() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (s3, bucket, dir) = garage_fixture_at(&garage, &proxied, "seek").await;
    // Purged, the fixture keeps 2 partitions (5 and 0 days old) and the
    // diagnostic file: a healthy bucket.
    run_with(dir.path(), &proxied, &["cleanup", "purge", "--yes"]).code(0);
    let few = verify_listings(&proxy, dir.path(), &proxied);

    // 2,500 more traces in today's partition: listing it would take three
    // pages more; finding the partitions must not.
    let today = day(0);
    stream::iter(0..2_500)
        .for_each_concurrent(32, |i| {
            let (s3, bucket, today) = (&s3, &bucket, &today);
            async move {
                s3.put_object()
                    .bucket(bucket)
                    .key(format!("{PREFIX}/traces/{today}/more-{i:05}.zip"))
                    .body(b"zip".to_vec().into())
                    .send()
                    .await
                    .expect("put");
            }
        })
        .await;
    let many = verify_listings(&proxy, dir.path(), &proxied);
    assert_eq!(few, many, "listings for a healthy verify");
    // The prefix (its folders: traces/) and traces/ (2 partitions and the
    // diagnostic file): one seek per folder, one to find the end.
    assert!(many <= 6, "{many} listings");
}

/// A month of daily partitions: once two days in a row are found, the seeks
/// past the next days go out together (BENCHMARKS.md). What the walk finds
/// must still be exactly what seeking one folder at a time finds, including
/// what sits between two partitions: a file named like a day (it sorts just
/// before that day's folder) and a folder that is not a date.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_run_of_daily_partitions_is_sought_ahead_and_nothing_between_them_is_missed() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let s3 = s3_client(&garage);
    let bucket = unique_bucket("ahead");
    create_bucket(&s3, &garage, &bucket).await;
    let traces = format!("{PREFIX}/traces");
    let mut keys: Vec<String> = (0..26)
        .map(|d| format!("{traces}/{}/t.zip", day(d)))
        .collect();
    let between = [
        format!("{traces}/{}.zip", day(10)),
        format!("{traces}/{}-old/x.zip", day(5)),
    ];
    keys.extend(between.iter().cloned());
    for key in &keys {
        put(&s3, &bucket, key).await;
    }
    let dir = tempdir();
    write_s3_spec(dir.path(), &proxied, "s3-compatible", &bucket, false);

    let report = json(&run_with(dir.path(), &proxied, &["report", "--no-checks"]).code(0));
    assert_eq!(
        report["objects"], 28,
        "every key, the two between partitions too"
    );
    // 15 days + 2 grace: the partitions 18 to 25 days old are past it.
    let verify = json(&run_with(dir.path(), &proxied, &["cleanup", "verify"]).code(1));
    assert_eq!(verify["partitions_found"], 26, "{verify}");
    assert_eq!(verify["partitions_listed"], 8, "{verify}");
    assert_eq!(verify["expired_objects"], 8, "{verify}");

    // The purge has no grace: 16 to 25 days old go, nothing else.
    let purge = json(&run_with(dir.path(), &proxied, &["cleanup", "purge", "--yes"]).code(0));
    assert_eq!(purge["deleted_objects"], 10, "{purge}");
    let expected: BTreeSet<String> = (0..16)
        .map(|d| format!("{traces}/{}/t.zip", day(d)))
        .chain(between.iter().cloned())
        .collect();
    assert_eq!(all_keys(&s3, &bucket).await, expected);

    // Healthy: one seek per folder (16 days, the folder between them), one
    // to find the end, the file between them, and the prefix's own walk;
    // never a page of any partition.
    let listings = verify_listings(&proxy, dir.path(), &proxied);
    assert!(listings <= 16 + 6, "{listings} listings");
}
