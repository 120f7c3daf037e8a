//! The seam for an S3-compatible bucket: the scan of `stores::s3::scan`, bulk
//! deletes of `stores::s3::delete`, the probe of `stores::s3::checks::probe`, the
//! lifecycle rule of `stores::s3::retention_rule`, the provisioning of
//! `stores::s3::provision`. Glue only: the work is in the `stores::s3` adapter.

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::error::Result;
use crate::report::model::StorageSummary;
use crate::scan::{DeletedCount, Judge, Progress, ScanOutcome, Selection};
use crate::spec::S3Storage;
use crate::stores::s3::delete::Deleter;
use crate::stores::s3::scan::Source;
use crate::stores::s3::throttle::Gate;
use crate::stores::s3::{Clients, checks, retention_rule};
use crate::stores::{Retention, RetentionWant, TraceStore};

/// A bucket and the environment's prefix in it, ready to scan.
#[derive(Debug)]
pub(crate) struct S3Store {
    clients: Clients,
    spec: S3Storage,
    source: Source,
}

impl S3Store {
    /// Learns whether the bucket is versioned (to list versions too).
    pub(crate) async fn open(
        clients: Clients,
        s3: &S3Storage,
        concurrency: usize,
    ) -> Result<S3Store> {
        let versioned = crate::stores::s3::versioning::is_versioned(&clients, &s3.bucket).await?;
        // The most requests a scan sends at once: a listing and a delete
        // per partition listed, or the seeks of its two walks. The gate
        // starts there, so a healthy run never waits on it.
        let ceiling = 2 * concurrency.max(1) + 2;
        let source = Source {
            s3: clients.s3.clone(),
            target: clients.target.clone(),
            bucket: s3.bucket.clone(),
            prefix: s3.prefix.clone(),
            versioned,
            concurrency,
            gate: Gate::new(ceiling, clients.target.timeouts.call),
        };
        Ok(S3Store {
            clients,
            spec: s3.clone(),
            source,
        })
    }
}

impl S3Store {
    /// The environment's prefix in the bucket.
    pub(crate) fn prefix(&self) -> crate::spec::Prefix {
        self.source.prefix.clone()
    }
}

impl TraceStore for S3Store {
    fn location(&self) -> String {
        let s = &self.source;
        format!(
            "s3://{}/{} at {}",
            s.bucket,
            s.prefix.dir(),
            s.target.endpoint_label()
        )
    }

    fn describe(&self, summary: &mut StorageSummary) {
        let s = &self.source;
        summary.kind = "s3".into();
        summary.provider = Some(self.spec.provider.name().into());
        summary.endpoint = s.target.endpoint.clone();
        summary.region = Some(s.target.region.clone());
        summary.bucket = Some(s.bucket.clone());
        summary.prefix = Some(s.prefix.dir());
        summary.versioned = Some(s.versioned);
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        async move {
            let s = &self.source;
            let deleter = purge.then(|| Deleter {
                s3: s.s3.clone(),
                bucket: s.bucket.clone(),
                fence: s.prefix.dir(),
                target: s.target.clone(),
                gate: s.gate.clone(),
            });
            s.scan(judge, selection, deleter.as_ref(), progress).await
        }
        .boxed_local()
    }

    /// DeleteObjects answers "deleted" for a key already gone (S3 deletes
    /// are idempotent), and only AWS has conditional deletes: what another
    /// purge took first cannot be told from what this one removed.
    fn deleted_count(&self) -> DeletedCount {
        DeletedCount::Requested
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        checks::probe::check(&self.clients, &self.spec).boxed_local()
    }

    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        async move {
            let s = &self.source;
            let mut status = retention_rule::read(
                &s.s3,
                &s.target,
                &s.bucket,
                &want.rule_id,
                want.days,
                &s.prefix.dir(),
            )
            .await?;
            if let Some(key) = sample {
                status.applies = retention_rule::applies_to(&s.s3, &s.target, &s.bucket, key).await;
            }
            Ok(Retention::LifecycleRule(status))
        }
        .boxed_local()
    }
}
