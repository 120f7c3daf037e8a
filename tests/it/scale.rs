//! Audits at any size (issue 14): what a scan costs must not grow with
//! what the partitions hold when it does not need to read them. (The
//! server's own work is the other half: a delimited listing made Garage
//! walk every key to find 30 partitions; the seeks do not. That is
//! measured in BENCHMARKS.md, not in a timed test.)

use std::time::Duration;

use futures::stream::{self, StreamExt};

use crate::cleanup::{PREFIX, day, garage_fixture_at, json, run_with};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, server};

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
