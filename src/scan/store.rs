//! Opens an environment's storage for scanning: a bucket (connect, learn
//! whether it is versioned) or a local directory, behind one `scan` call.

use std::path::PathBuf;

use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::types::BucketVersioningStatus;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::{Judge, Outcome, Progress, Selection, local, s3};
use crate::cloud::delete::Deleter;
use crate::cloud::errors::{api_error, is_not_implemented};
use crate::cloud::{Clients, Target};
use crate::error::Result;
use crate::spec::{S3Storage, Storage};

/// An environment's storage, ready to scan.
#[derive(Debug)]
pub enum Store {
    S3 { source: Box<s3::Source> },
    Local { traces_dir: PathBuf },
}

impl Store {
    /// Connects to the bucket (or finds the directory) of `storage`;
    /// `target` says where an S3 environment connects (with the overrides).
    pub async fn open(
        storage: &Storage,
        target: impl FnOnce(&S3Storage) -> Target,
        concurrency: usize,
    ) -> Result<Store> {
        let storage = match storage {
            Storage::Local(local) => {
                return Ok(Store::Local {
                    traces_dir: local.traces_dir(),
                });
            }
            Storage::S3(s3) => s3,
        };
        let target = target(storage);
        let clients = Clients::connect(&target).await?;
        let versioned = versioned(&clients, storage).await?;
        Ok(Store::S3 {
            source: Box::new(s3::Source {
                s3: clients.s3,
                target,
                bucket: storage.bucket.clone(),
                prefix: storage.prefix.clone(),
                versioned,
                concurrency,
            }),
        })
    }

    /// Scans; with `purge`, deletes what is past retention.
    pub async fn scan(
        &self,
        judge: &Judge,
        selection: Selection,
        purge: bool,
        progress: &Progress,
    ) -> Result<Outcome> {
        tracing::debug!(cutoff = %judge.cutoff_text(), ?selection, purge, "scanning");
        let outcome = self.scan_inner(judge, selection, purge, progress).await;
        if let Ok(o) = &outcome {
            tracing::debug!(
                partitions_found = o.partitions_found,
                partitions_listed = o.partitions_listed,
                "scanned"
            );
        }
        outcome
    }

    async fn scan_inner(
        &self,
        judge: &Judge,
        selection: Selection,
        purge: bool,
        progress: &Progress,
    ) -> Result<Outcome> {
        match self {
            Store::Local { traces_dir } => {
                local::scan(traces_dir, judge, selection, purge, progress)
            }
            Store::S3 { source, .. } => {
                let deleter = purge.then(|| Deleter {
                    s3: source.s3.clone(),
                    bucket: source.bucket.clone(),
                    fence: source.prefix.dir(),
                    target: source.target.clone(),
                });
                source
                    .scan(judge, selection, deleter.as_ref(), progress)
                    .await
            }
        }
    }

    /// Where the traces are, for messages (no credentials in it).
    pub fn location(&self) -> String {
        match self {
            Store::Local { traces_dir } => traces_dir.display().to_string(),
            Store::S3 { source, .. } => format!(
                "s3://{}/{} at {}",
                source.bucket,
                source.prefix.dir(),
                source.target.endpoint_label()
            ),
        }
    }
}

/// Whether the bucket keeps versions (enabled now or once: suspended
/// buckets still hold old versions). A store without the API is not.
async fn versioned(clients: &Clients, storage: &S3Storage) -> Result<bool> {
    match clients
        .s3
        .get_bucket_versioning()
        .bucket(&storage.bucket)
        .send()
        .await
    {
        Ok(out) => Ok(matches!(
            out.status(),
            Some(BucketVersioningStatus::Enabled | BucketVersioningStatus::Suspended)
        )),
        Err(e) if is_not_implemented(&e) => Ok(false),
        Err(e) => match status_from_raw(&e) {
            Some(versioned) => Ok(versioned),
            None => Err(api_error(
                e,
                "GetBucketVersioning",
                &storage.bucket,
                &clients.target,
            )),
        },
    }
}

/// A 200 answer the SDK could not parse (moto 5.2 names the root element
/// `GetBucketVersioningResponse`): read the `<Status>` from the body.
fn status_from_raw<E>(err: &SdkError<E, HttpResponse>) -> Option<bool> {
    let raw = err.raw_response()?;
    if raw.status().as_u16() != 200 {
        return None;
    }
    let body = std::str::from_utf8(raw.body().bytes()?).ok()?;
    Some(body.contains("<Status>Enabled</Status>") || body.contains("<Status>Suspended</Status>"))
}
