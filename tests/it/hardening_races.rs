//! Races with other writers (issue 7, item 3): a lifecycle configuration is
//! a read-modify-write with no conditional PUT. Two applies for two
//! environments of one Garage bucket run at the same time, round after
//! round, while another team's writer (the SDK, following the same
//! read-back protocol) adds its own rule; the proxy holds every lifecycle
//! read's answer so that every round really overlaps. No rule is lost.

use std::path::Path;
use std::time::Duration;

use aws_sdk_s3::Client;
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter,
};

use crate::cleanup::unique_bucket;
use crate::fault_proxy::Fault;
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, s3_client, server};
use crate::support::{Outcome, Run, tempdir};

/// Rounds of the race.
const ROUNDS: usize = 10;
const ENVS: [&str; 2] = ["alpha", "beta"];

fn two_envs(dir: &Path, endpoint: &Endpoint, bucket: &str) {
    let env = |name: &str| {
        format!(
            "  {name}:\n    storage: s3\n    provider: s3-compatible\n    endpoint: {}\n    region: {}\n    bucket: {bucket}\n    prefix: {name}/traces\n    retention_days: 30\n",
            endpoint.url, endpoint.region
        )
    };
    let text = format!("project: t\nenvironments:\n{}{}", env("alpha"), env("beta"));
    std::fs::write(dir.join("chronotrace-ops.yaml"), text).expect("spec written");
}

fn apply(dir: &Path, endpoint: &Endpoint, env: &str, args: &[&str]) -> Outcome {
    Run::new(dir)
        .args(["-e", env])
        .args(args)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
        .run()
}

/// The ids of the bucket's lifecycle rules.
async fn rule_ids(s3: &Client, bucket: &str) -> Vec<String> {
    match s3
        .get_bucket_lifecycle_configuration()
        .bucket(bucket)
        .send()
        .await
    {
        Ok(out) => out
            .rules()
            .iter()
            .filter_map(|r| r.id().map(str::to_string))
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// Another team's writer: read, add its rule, write, wait, read back;
/// again until the rule stays.
async fn foreign_writer(s3: Client, bucket: String, id: String) {
    for _ in 0..20 {
        let mut rules: Vec<LifecycleRule> = s3
            .get_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .send()
            .await
            .map(|o| o.rules().to_vec())
            .unwrap_or_default();
        rules.retain(|r| r.id() != Some(id.as_str()));
        rules.push(
            LifecycleRule::builder()
                .id(&id)
                .status(ExpirationStatus::Enabled)
                .filter(LifecycleRuleFilter::builder().prefix("other-team/").build())
                .expiration(LifecycleExpiration::builder().days(90).build())
                .build()
                .expect("a rule"),
        );
        let config = BucketLifecycleConfiguration::builder()
            .set_rules(Some(rules))
            .build()
            .expect("a configuration");
        s3.put_bucket_lifecycle_configuration()
            .bucket(&bucket)
            .lifecycle_configuration(config)
            .send()
            .await
            .expect("the other team's write");
        tokio::time::sleep(Duration::from_millis(1000)).await;
        if rule_ids(&s3, &bucket).await.contains(&id) {
            return;
        }
    }
    panic!("the other team's rule {id} never stayed");
}

#[tokio::test(flavor = "multi_thread")]
async fn concurrent_applies_and_another_writer_lose_no_lifecycle_rule() {
    let Some(garage) = server("garage") else {
        return;
    };
    let (proxy, proxied) = through_proxy(&garage);
    let s3 = s3_client(&garage);
    let bucket = unique_bucket("race");
    let dir = tempdir();
    two_envs(dir.path(), &proxied, &bucket);
    for env in ENVS {
        apply(dir.path(), &proxied, env, &["apply", "--yes"]).code(0);
    }
    // Every lifecycle read answered 300 ms after the server read it: the
    // applies' read-to-write windows always overlap.
    proxy.on(
        "GET",
        "lifecycle",
        Fault::Hold(Duration::from_millis(300)),
        100_000,
    );
    for round in 0..ROUNDS {
        s3.delete_bucket_lifecycle()
            .bucket(&bucket)
            .send()
            .await
            .expect("a clean slate");
        let foreign = format!("other-team-{round}");
        let applies: Vec<_> = ENVS
            .iter()
            .map(|env| {
                let (dir, endpoint) = (dir.path().to_path_buf(), proxied.clone());
                tokio::task::spawn_blocking(move || {
                    apply(&dir, &endpoint, env, &["apply", "--yes"])
                })
            })
            .collect();
        // The other team writes while the applies are under way.
        tokio::time::sleep(Duration::from_millis(50 * (round as u64 % 8))).await;
        foreign_writer(s3.clone(), bucket.clone(), foreign.clone()).await;
        for run in applies {
            let out = run.await.expect("apply finishes");
            assert_eq!(out.code, 0, "round {round}: {}", out.stderr);
        }
        let ids = rule_ids(&s3, &bucket).await;
        for id in [
            "chronotrace-ops:alpha:retention",
            "chronotrace-ops:beta:retention",
            foreign.as_str(),
        ] {
            assert!(
                ids.iter().any(|i| i == id),
                "round {round}: {id} lost: {ids:?}"
            );
        }
    }
    for env in ENVS {
        apply(dir.path(), &proxied, env, &["plan", "--exit-code"]).code(0);
    }
    drop(proxy);
    for env in ENVS {
        apply(
            dir.path(),
            &garage_spec(&garage, dir.path(), &bucket),
            env,
            &["destroy", "--yes", "--empty"],
        );
    }
}

/// Points the spec at Garage directly again (for the clean-up).
fn garage_spec(garage: &Endpoint, dir: &Path, bucket: &str) -> Endpoint {
    two_envs(dir, garage, bucket);
    garage.clone()
}
