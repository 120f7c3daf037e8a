//! Smoke tests for the bench of real servers that `scripts/test.sh` starts
//! (see `scripts/bench/`): each server takes a bucket and object round trip
//! through the AWS SDK, so a broken bench fails here, plainly, rather than
//! somewhere inside a feature test.
//!
//! A server is announced by `CT_TEST_<NAME>_*` variables (`ENDPOINT`,
//! `REGION`, and for Garage `ACCESS_KEY_ID` and `SECRET_ACCESS_KEY`). When
//! they are missing the test is skipped with a note, or fails if
//! `CT_TEST_REQUIRE_SERVERS` or `CI` is set: there a skip would hide a
//! broken bench.

use std::env;
use std::net::IpAddr;
use std::time::{SystemTime, UNIX_EPOCH};

use aws_sdk_s3::Client;
use aws_sdk_s3::config::{BehaviorVersion, Credentials, Region};
use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::primitives::ByteStream;
use aws_sdk_s3::types::{BucketLocationConstraint, CreateBucketConfiguration};

/// Where a test server listens and how to sign requests for it.
#[derive(Debug, Clone)]
pub struct Endpoint {
    pub name: String,
    pub url: String,
    pub region: String,
    pub access_key_id: String,
    pub secret_access_key: String,
}

/// Whether a flag variable is set to something other than empty, `0` or `false`.
fn flag(var: &str) -> bool {
    env::var(var).is_ok_and(|v| !matches!(v.trim(), "" | "0" | "false"))
}

/// The server `name` (`moto`, `garage`) from its `CT_TEST_<NAME>_*`
/// variables, or `None` (after a note on stderr) when it is not running and
/// servers are not required.
///
/// # Panics
///
/// When the server is missing but required, and when its endpoint is not on
/// loopback: the tests never send a request anywhere else.
pub fn server(name: &str) -> Option<Endpoint> {
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
        let why = format!(
            "{name} is not running: start it with scripts/test.sh \
             ({prefix}_* variables are not set)"
        );
        if flag("CT_TEST_REQUIRE_SERVERS") || flag("CI") {
            panic!("{why}");
        }
        eprintln!("note: skipping, {why}");
        return None;
    };
    assert!(
        is_loopback_url(&url),
        "{prefix}_ENDPOINT={url} is not a loopback http URL; the tests only talk to local servers"
    );
    Some(Endpoint {
        name: name.to_owned(),
        url,
        region,
        access_key_id,
        secret_access_key,
    })
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

/// Creates a bucket, sees it listed, writes, reads and deletes an object in
/// it, deletes it, and sees it gone.
async fn bucket_round_trip(endpoint: &Endpoint) {
    let s3 = s3_client(endpoint);
    let (name, url) = (&endpoint.name, &endpoint.url);
    let fail = |step: &str, err: &dyn std::error::Error| -> ! {
        panic!("{name} at {url}: {step}: {}", DisplayErrorContext(err))
    };
    let bucket = unique_bucket(&format!("smoke-{name}"));

    create_bucket(&s3, endpoint, &bucket).await;

    let listed = s3
        .list_buckets()
        .send()
        .await
        .unwrap_or_else(|e| fail("list buckets", &e));
    let names: Vec<&str> = listed.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(
        names.contains(&bucket.as_str()),
        "{name}: bucket {bucket} not listed in {names:?}"
    );

    let key = "smoke/hello.txt";
    let body = b"hello from chronotrace-ops\n";
    if let Err(e) = s3
        .put_object()
        .bucket(&bucket)
        .key(key)
        .body(ByteStream::from_static(body))
        .send()
        .await
    {
        fail(&format!("put {bucket}/{key}"), &e);
    }
    let got = s3
        .get_object()
        .bucket(&bucket)
        .key(key)
        .send()
        .await
        .unwrap_or_else(|e| fail(&format!("get {bucket}/{key}"), &e));
    let got = got
        .body
        .collect()
        .await
        .unwrap_or_else(|e| fail(&format!("read {bucket}/{key}"), &e))
        .into_bytes();
    assert_eq!(&got[..], body, "{name}: object read back differs");

    if let Err(e) = s3.delete_object().bucket(&bucket).key(key).send().await {
        fail(&format!("delete {bucket}/{key}"), &e);
    }
    if let Err(e) = s3.delete_bucket().bucket(&bucket).send().await {
        fail(&format!("delete bucket {bucket}"), &e);
    }
    let listed = s3
        .list_buckets()
        .send()
        .await
        .unwrap_or_else(|e| fail("list buckets", &e));
    let still_there = listed.buckets().iter().any(|b| b.name() == Some(&*bucket));
    assert!(
        !still_there,
        "{name}: bucket {bucket} still listed after delete"
    );
}

#[tokio::test]
async fn moto_bucket_round_trip() {
    let Some(moto) = server("moto") else { return };
    bucket_round_trip(&moto).await;
}

#[tokio::test]
async fn garage_bucket_round_trip() {
    let Some(garage) = server("garage") else {
        return;
    };
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
