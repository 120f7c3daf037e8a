//! The bench of real servers that `scripts/test.sh` starts (see
//! `scripts/bench/`), as the tests reach it, and a smoke test of each: the
//! binary's bucket and object round trip, so a broken bench fails here,
//! plainly, rather than somewhere inside a feature test.
//!
//! A server is announced by `CT_TEST_<NAME>_*` variables (`ENDPOINT`,
//! `REGION`, and for Garage `ACCESS_KEY_ID` and `SECRET_ACCESS_KEY`). A
//! test that needs one is `#[ignore = "needs the bench: scripts/test.sh"]`,
//! and `scripts/test.sh` runs it (`--include-ignored`); run without its
//! server, it fails with a one-line message saying how to run it, and is
//! never reported passed (`a_server_test_without_its_server_fails`).

use std::env;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

use crate::cleanup::{run_with, write_s3_spec};
use crate::support::tempdir;

/// Where a test server listens and how to sign requests for it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// The server `name` (`moto`, `garage`) from its `CT_TEST_<NAME>_*` variables.
///
/// # Panics
///
/// When the server is not running (the variables are not set), and when
/// its endpoint is not on loopback: the tests never send a request
/// anywhere else.
pub fn server(name: &str) -> Endpoint {
    let prefix = format!("CT_TEST_{}", name.to_uppercase());
    let var = |suffix: &str| {
        env::var(format!("{prefix}_{suffix}"))
            .ok()
            .filter(|v| !v.is_empty())
    };
    // moto accepts any credentials; `testing` is its documented convention.
    let credentials = match (var("ACCESS_KEY_ID"), var("SECRET_ACCESS_KEY")) {
        (Some(id), Some(secret)) => Some((id, secret)),
        _ if name == "moto" => Some(("testing".to_owned(), "testing".to_owned())),
        _ => None,
    };
    let (Some(url), Some(region), Some((access_key_id, secret_access_key))) =
        (var("ENDPOINT"), var("REGION"), credentials)
    else {
        panic!(
            "{name} is not running ({prefix}_* variables are not set): \
             run this test through scripts/test.sh, which starts it"
        );
    };
    assert!(
        is_loopback_url(&url),
        "{prefix}_ENDPOINT={url} is not a loopback http URL; the tests only talk to local servers"
    );
    Endpoint {
        name: name.to_owned(),
        url,
        region,
        access_key_id,
        secret_access_key,
    }
}

/// `http://HOST[:PORT][/...]` with HOST `localhost` or a loopback IP.
fn is_loopback_url(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or_default();
    let host = match authority.strip_prefix('[') {
        Some(v6) => v6.split(']').next().unwrap_or_default(),
        None => authority.split(':').next().unwrap_or_default(),
    };
    host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// An S3 client for `endpoint` alone: explicit endpoint, region and static
/// credentials, so nothing is looked up in the environment, profiles or
/// instance metadata. Path-style addressing: the servers have no DNS names.
pub fn s3_client(endpoint: &Endpoint) -> Client {
    let credentials = Credentials::new(
        &endpoint.access_key_id,
        &endpoint.secret_access_key,
        None,
        None,
        "chronotrace-ops-tests",
    );
    let config = aws_sdk_s3::Config::builder()
        .behavior_version(BehaviorVersion::latest())
        .endpoint_url(&endpoint.url)
        .region(Region::new(endpoint.region.clone()))
        .credentials_provider(credentials)
        .force_path_style(true)
        .http_client(chronotrace_ops::testing::sdk_http_client().expect("the tool's HTTP client"))
        .build();
    Client::from_conf(config)
}

/// A bucket name no other test run uses: several runs may share a server.
pub fn unique_bucket(tag: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock is after 1970")
        .as_nanos();
    format!("ct-{tag}-{}-{}", std::process::id(), nanos % 1_000_000_000)
}

/// Creates `bucket` on `endpoint`, with a location constraint where the
/// region needs one (never in us-east-1, as on AWS).
pub async fn create_bucket(s3: &Client, endpoint: &Endpoint, bucket: &str) {
    let mut create = s3.create_bucket().bucket(bucket);
    if endpoint.region != "us-east-1" {
        create = create.create_bucket_configuration(
            CreateBucketConfiguration::builder()
                .location_constraint(BucketLocationConstraint::from(endpoint.region.as_str()))
                .build(),
        );
    }
    create.send().await.expect("create bucket");
}

/// The names of the server's buckets.
async fn bucket_names(s3: &Client, endpoint: &Endpoint) -> Vec<String> {
    let listed = s3.list_buckets().send().await.unwrap_or_else(|e| {
        panic!(
            "{} at {}: list buckets: {}",
            endpoint.name,
            endpoint.url,
            DisplayErrorContext(&e)
        )
    });
    listed
        .buckets()
        .iter()
        .filter_map(|b| b.name().map(str::to_owned))
        .collect()
}

/// The binary's round trip on the server: `apply` creates a bucket (the
/// server lists it), `check`'s probe writes, reads and deletes an object in
/// it, `destroy --empty` removes it (the server no longer lists it).
async fn bucket_round_trip(endpoint: &Endpoint) {
    let s3 = s3_client(endpoint);
    let name = &endpoint.name;
    let bucket = unique_bucket(&format!("smoke-{name}"));
    let dir = tempdir();
    write_s3_spec(dir.path(), endpoint, "s3-compatible", &bucket, false);

    // Under --output json the plan is shown on stderr, the result is JSON.
    run_with(dir.path(), endpoint, &["apply", "--yes"])
        .code(0)
        .stderr_contains("5 to create")
        .json();
    let names = bucket_names(&s3, endpoint).await;
    assert!(
        names.contains(&bucket),
        "{name}: {bucket} not listed in {names:?}"
    );

    let report = run_with(dir.path(), endpoint, &["check"]).json();
    for id in ["bucket.exists", "probe"] {
        let check = report["checks"]
            .as_array()
            .and_then(|checks| checks.iter().find(|c| c["id"] == id));
        assert_eq!(
            check.map(|c| &c["status"]),
            Some(&serde_json::json!("pass")),
            "{name}: {id}: {report:#}"
        );
    }

    run_with(dir.path(), endpoint, &["destroy", "--yes", "--empty"])
        .code(0)
        .json();
    let names = bucket_names(&s3, endpoint).await;
    assert!(
        !names.contains(&bucket),
        "{name}: {bucket} still listed after destroy"
    );
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn moto_bucket_round_trip() {
    let moto = server("moto");
    bucket_round_trip(&moto).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_bucket_round_trip() {
    let garage = server("garage");
    bucket_round_trip(&garage).await;
}

#[test]
fn only_loopback_endpoints_are_accepted() {
    for url in [
        "http://127.0.0.1:9000",
        "http://127.1.2.3:80/",
        "http://localhost:9000",
        "http://[::1]:9000/",
    ] {
        assert!(is_loopback_url(url), "{url}");
    }
    for url in [
        "https://127.0.0.1:9000",
        "http://10.0.0.1:9000",
        "http://s3.amazonaws.com",
        "http://localhost.example.com",
        "127.0.0.1:9000",
    ] {
        assert!(!is_loopback_url(url), "{url}");
    }
}
