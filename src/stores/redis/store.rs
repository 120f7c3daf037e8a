//! The seam for the seed's Redis store: the two-pass walk of `stores::redis::walk`
//! (index by score days, keys by SCAN), the TTL of `stores::redis::ttl` as the
//! store's retention mechanism, a probe key under the prefix with a short
//! TTL. Glue only: the work is in the `stores::redis` adapter.

#![warn(unreachable_pub)]

use std::path::Path;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::error::Result;
use crate::report::model::StorageSummary;
use crate::scan::{Judge, Progress, ScanOutcome, Selection};
use crate::spec::RedisStorage;
use crate::stores::redis::cluster::Nodes;
use crate::stores::redis::walk::Walk;
use crate::stores::{Retention, RetentionWant, TraceStore};
use crate::transport::timeouts::Timeouts;

/// A connected Redis server (or every master of a cluster) and the layout
/// the spec names.
#[derive(Debug)]
pub(crate) struct RedisStore {
    nodes: Nodes,
    spec: RedisStorage,
}

impl RedisStore {
    /// Connects and authenticates (one connection for the run; on a
    /// cluster, one a master, read from the node the spec names).
    pub(crate) async fn open(
        spec: &RedisStorage,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<RedisStore> {
        Ok(RedisStore {
            nodes: Nodes::open(spec, timeouts, ca_bundle).await?,
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
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        async move {
            let walk = Walk {
                nodes: &self.nodes,
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
        crate::stores::redis::checks::probe(&self.nodes, &self.spec.key_prefix).boxed_local()
    }

    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        async move {
            let status =
                crate::stores::redis::ttl::sample(&self.nodes, &self.spec.key_prefix, want.days)
                    .await?;
            Ok(Retention::Ttl(status))
        }
        .boxed_local()
    }
}
