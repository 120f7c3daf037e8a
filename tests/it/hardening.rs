//! Hardening: the tool and its SDK behave when the server misbehaves.
//! Faults come from `fault_proxy` in front of the real Garage of the bench.

use std::net::SocketAddr;

use crate::fault_proxy::{Fault, FaultProxy};
use crate::servers::{Endpoint, s3_client, server};

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

#[tokio::test]
async fn slowdown_bursts_are_retried_to_success() {
    let Some(garage) = server("garage") else {
        return;
    };
    let (proxy, proxied) = through_proxy(&garage);
    proxy.script([Fault::SlowDown, Fault::SlowDown]);
    let listed = s3_client(&proxied).list_buckets().send().await;
    assert!(listed.is_ok(), "{listed:?}");
    assert_eq!(proxy.injected.load(std::sync::atomic::Ordering::Relaxed), 2);
    assert!(proxy.requests.load(std::sync::atomic::Ordering::Relaxed) >= 3);
}

#[tokio::test]
async fn a_response_cut_mid_way_is_an_error_or_a_retry_never_a_partial_answer() {
    let Some(garage) = server("garage") else {
        return;
    };
    let (proxy, proxied) = through_proxy(&garage);
    proxy.script([
        Fault::CutAfter(40),
        Fault::CutAfter(40),
        Fault::CutAfter(40),
    ]);
    let listed = s3_client(&proxied).list_buckets().send().await;
    assert!(
        listed.is_err(),
        "three cut responses cannot produce a listing: {listed:?}"
    );
}

#[tokio::test]
async fn a_slow_answer_within_the_attempt_timeout_is_waited_for() {
    let Some(garage) = server("garage") else {
        return;
    };
    let (proxy, proxied) = through_proxy(&garage);
    proxy.script([Fault::Delay(std::time::Duration::from_millis(1500))]);
    let listed = s3_client(&proxied).list_buckets().send().await;
    assert!(listed.is_ok(), "{listed:?}");
}
