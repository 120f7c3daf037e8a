//! The seam for the seed's Redis store: the two-pass walk of `kv::walk`
//! (index by score days, keys by SCAN), the TTL of `kv::ttl` as the
//! store's retention mechanism, a probe key under the prefix with a short
//! TTL. Glue only: the work is in the `kv` adapter.

use std::path::Path;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::{Retention, RetentionWant, TraceStore};
use crate::check::CheckResult;
use crate::cloud::timeouts::Timeouts;
use crate::error::Result;
use crate::kv::Redis;
use crate::kv::walk::Walk;
use crate::report::model::StorageSummary;
use crate::scan::{Judge, Outcome, Progress, Selection};
use crate::spec::RedisStorage;

/// A connected Redis server and the layout the spec names.
#[derive(Debug)]
pub(crate) struct RedisStore {
    redis: Redis,
    spec: RedisStorage,
}

impl RedisStore {
    /// Connects and authenticates (one connection for the run).
    pub(crate) async fn open(
        spec: &RedisStorage,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<RedisStore> {
        Ok(RedisStore {
            redis: Redis::connect(spec, timeouts, ca_bundle).await?,
            spec: spec.clone(),
        })
    }
}

impl TraceStore for RedisStore {
    fn location(&self) -> String {
        format!("{}* at {}", self.spec.key_prefix, self.spec.url)
    }

    fn describe(&self, summary: &mut StorageSummary) {
        summary.kind = "redis".into();
        summary.endpoint = Some(self.spec.url.clone());
        summary.prefix = Some(self.spec.key_prefix.clone());
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<Outcome>> {
        async move {
            let walk = Walk {
                redis: &self.redis,
                prefix: &self.spec.key_prefix,
                index: &self.spec.index_key,
                judge,
                selection,
                purge,
                progress,
            };
            walk.run().await
        }
        .boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        crate::kv::checks::probe(&self.redis, &self.spec.key_prefix).boxed_local()
    }

    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        async move {
            let status =
                crate::kv::ttl::sample(&self.redis, &self.spec.key_prefix, want.days).await?;
            Ok(Retention::Ttl(status))
        }
        .boxed_local()
    }
}
