//! S3 stores under the suite: moto (`provider: aws`), Garage and SeaweedFS
//! (their own providers), each a fresh bucket, traces under
//! `staging/traces/traces/{date}/` (the `cleanup` fixture's prefix).
//!
//! The bucket is made by the test (to seed it, or to plant the foreign
//! objects) before any `apply`: to the tool it is the team's bucket, so
//! `apply` adds its lifecycle rule to it and `destroy` removes only that,
//! leaving the bucket and every object. (That `apply` creates a bucket of
//! its own and `destroy --empty` removes it is `servers::*_round_trip`'s
//! and `provision`'s.) The interrupted purge goes through `fault_proxy`:
//! the first DeleteObjects is slowed, the second held, as in `interrupts`.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use aws_sdk_s3::Client;
use tempfile::TempDir;

use super::{PurgeHold, Seeded, StoreUnderTest, suite};
use crate::cleanup::{PREFIX, all_keys, day, put, put_retention_rule, write_s3_spec};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::hardening::through_proxy;
use crate::servers::{Endpoint, create_bucket, s3_client, server, unique_bucket};
use crate::support::{Run, tempdir};

/// Long enough that a held request never completes during the test.
const STALL: Duration = Duration::from_secs(120);

struct S3Store {
    endpoint: Endpoint,
    provider: &'static str,
    bucket: String,
    dir: TempDir,
    s3: Client,
    /// The SDK's connections belong to the runtime that opened them: one
    /// for the store's life.
    rt: tokio::runtime::Runtime,
    made: bool,
}

impl S3Store {
    /// The bench's server `name`, as `provider`.
    fn new(name: &str, provider: &'static str) -> S3Store {
        let endpoint = server(name);
        let bucket = unique_bucket(&format!("cf-{name}"));
        let dir = tempdir();
        write_s3_spec(dir.path(), &endpoint, provider, &bucket, false);
        S3Store {
            s3: s3_client(&endpoint),
            endpoint,
            provider,
            bucket,
            dir,
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime"),
            made: false,
        }
    }

    fn make_bucket(&mut self) {
        if !self.made {
            self.rt
                .block_on(create_bucket(&self.s3, &self.endpoint, &self.bucket));
            self.made = true;
        }
    }

    fn put_all(&mut self, keys: &[String]) {
        self.make_bucket();
        let (s3, bucket) = (&self.s3, &self.bucket);
        self.rt.block_on(async {
            for chunk in keys.chunks(16) {
                futures::future::join_all(chunk.iter().map(|k| put(s3, bucket, k))).await;
            }
        });
    }
}

impl StoreUnderTest for S3Store {
    fn name(&self) -> &str {
        &self.endpoint.name
    }

    fn tool(&self, args: &[&str]) -> Run {
        Run::new(self.dir.path())
            .env("AWS_ACCESS_KEY_ID", &self.endpoint.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &self.endpoint.secret_access_key)
            .args(["-e", "staging"])
            .args(args)
    }

    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        let mut seeded = Seeded::default();
        let mut keys = Vec::new();
        for age in 0..days {
            let traces: Vec<(String, u64)> = (0..per_day)
                .map(|i| {
                    (
                        format!("{PREFIX}/traces/{}/trace-{age}-{i}.zip", day(age)),
                        3,
                    )
                })
                .collect();
            keys.extend(traces.iter().map(|(k, _)| k.clone()));
            seeded.push(age, traces);
        }
        self.put_all(&keys);
        seeded
    }

    fn count(&self) -> u64 {
        let traces = format!("{PREFIX}/traces/");
        self.everything()
            .iter()
            .filter(|k| k.starts_with(&traces))
            .count() as u64
    }

    fn everything(&self) -> BTreeSet<String> {
        if !self.made {
            return BTreeSet::new();
        }
        self.rt.block_on(all_keys(&self.s3, &self.bucket))
    }

    fn plant_foreign(&mut self) -> BTreeSet<String> {
        let old = day(40);
        let keys = vec![
            format!("{PREFIX}-archive/traces/{old}/a.zip"),
            format!("other-tenant/traces/traces/{old}/t.zip"),
            format!("{PREFIX}.zip"),
        ];
        self.put_all(&keys);
        keys.into_iter().collect()
    }

    fn probe_check(&self) -> &'static str {
        "probe"
    }

    fn interrupt_load(&self) -> (u64, u64) {
        // Four partitions past retention: one DeleteObjects each with
        // `--concurrency 1`, the second of them held.
        (20, 2)
    }

    fn hold_purge(&mut self, _total: u64, _young: u64) -> Box<dyn PurgeHold> {
        let (proxy, proxied) = through_proxy(&self.endpoint);
        write_s3_spec(
            self.dir.path(),
            &proxied,
            self.provider,
            &self.bucket,
            false,
        );
        proxy.on(
            "POST",
            "delete",
            Fault::Delay(Duration::from_millis(500)),
            1,
        );
        proxy.on("POST", "delete", Fault::Delay(STALL), 10);
        Box::new(ProxyHold {
            proxy,
            dir: self.dir.path().to_path_buf(),
            endpoint: self.endpoint.clone(),
            provider: self.provider,
            bucket: self.bucket.clone(),
        })
    }

    fn drift(&mut self) -> &'static str {
        // Another client shortens the tool's rule to 5 days.
        self.rt
            .block_on(put_retention_rule(&self.s3, &self.bucket, 5));
        "bucket.lifecycle"
    }
}

/// The purge's deletes through a proxy: the first slowed, the next held.
struct ProxyHold {
    proxy: FaultProxy,
    dir: PathBuf,
    endpoint: Endpoint,
    provider: &'static str,
    bucket: String,
}

impl PurgeHold for ProxyHold {
    fn wait_mid_run(&mut self, child: &mut Child) {
        super::wait_for_the_second_delete(&self.proxy, child);
    }
}

impl Drop for ProxyHold {
    /// Later runs talk to the server directly.
    fn drop(&mut self) {
        self.proxy.clear_rules();
        write_s3_spec(
            &self.dir,
            &self.endpoint,
            self.provider,
            &self.bucket,
            false,
        );
    }
}

mod moto {
    super::suite!(super::S3Store::new("moto", "aws"), #[ignore = "needs the bench: run scripts/test.sh"]);
}

mod garage {
    super::suite!(super::S3Store::new("garage", "garage"), #[ignore = "needs the bench: run scripts/test.sh"]);
}

mod seaweedfs {
    super::suite!(super::S3Store::new("seaweedfs", "seaweedfs"), #[ignore = "needs the bench: run scripts/test.sh"]);
}
