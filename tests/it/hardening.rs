//! Hardening: the binary behaves when the server misbehaves. Faults come
//! from `fault_proxy` in front of the real Garage of the bench: a burst of
//! `503 SlowDown`, a response cut part-way, a slow answer. The binary gives
//! the answer it gives without faults, or a one-line error; never a partial
//! one. (More faults, mid-purge and mid-apply, in `hardening_faults`.)

use std::net::SocketAddr;
use std::path::Path;
use std::sync::atomic::Ordering;
use std::time::Duration;

use tempfile::TempDir;

use crate::cleanup::{create_bucket, run_with, unique_bucket, write_s3_spec};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, tempdir};

/// A proxy in front of `endpoint`, and the endpoint as seen through it.
pub fn through_proxy(endpoint: &Endpoint) -> (FaultProxy, Endpoint) {
    let upstream: SocketAddr = endpoint
        .url
        .trim_start_matches("http://")
        .trim_end_matches('/')
        .parse()
        .expect("the bench endpoint is ip:port");
    let proxy = FaultProxy::start(upstream);
    let proxied = Endpoint {
        url: proxy.endpoint(),
        ..endpoint.clone()
    };
    (proxy, proxied)
}

/// A new empty Garage bucket, and a spec in a fresh directory whose
/// endpoint is `proxied`; the binary's `cleanup verify` there, without
/// faults, as the answer faulted runs must give.
async fn bucket_behind(garage: &Endpoint, proxied: &Endpoint, tag: &str) -> (TempDir, Outcome) {
    let bucket = unique_bucket(tag);
    create_bucket(&s3_client(garage), garage, &bucket).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), proxied, "s3-compatible", &bucket, false);
    let baseline = verify(dir.path(), proxied).await.code(0).stderr_is_empty();
    (dir, baseline)
}

/// `cleanup verify --output json` through the proxy, in a blocking thread
/// (the proxy serves meanwhile).
async fn verify(dir: &Path, endpoint: &Endpoint) -> Outcome {
    let (dir, endpoint) = (dir.to_path_buf(), endpoint.clone());
    tokio::task::spawn_blocking(move || run_with(&dir, &endpoint, &["cleanup", "verify"]))
        .await
        .expect("the run finishes")
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn slowdown_bursts_are_retried_to_success() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, baseline) = bucket_behind(&garage, &proxied, "slowdown").await;
    let before = proxy.requests.load(Ordering::Relaxed);
    proxy.script([Fault::SlowDown, Fault::SlowDown]);
    let out = verify(dir.path(), &proxied).await.code(0).stderr_is_empty();
    assert_eq!(
        out.json(),
        baseline.json(),
        "the same answer as without faults"
    );
    assert_eq!(proxy.injected(), 2);
    assert!(proxy.requests.load(Ordering::Relaxed) >= before + 3);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_response_cut_mid_way_is_an_error_or_a_retry_never_a_partial_answer() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, baseline) = bucket_behind(&garage, &proxied, "cut").await;
    // Cut once: retried to the same answer. Cut every time: a one-line
    // error, nothing on stdout.
    proxy.script([Fault::CutAfter(40)]);
    let out = verify(dir.path(), &proxied).await.code(0).stderr_is_empty();
    assert_eq!(
        out.json(),
        baseline.json(),
        "the same answer as without faults"
    );
    proxy.script([Fault::CutAfter(40); 100]);
    verify(dir.path(), &proxied)
        .await
        .code(2)
        .one_line_error(&proxied.url.replace("http://", ""));
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_slow_answer_within_the_attempt_timeout_is_waited_for() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let (dir, baseline) = bucket_behind(&garage, &proxied, "slow").await;
    proxy.script([Fault::Delay(Duration::from_millis(1500))]);
    let out = verify(dir.path(), &proxied).await.code(0).stderr_is_empty();
    assert_eq!(
        out.json(),
        baseline.json(),
        "the same answer as without faults"
    );
    assert_eq!(proxy.injected(), 1);
}
