//! Opens an environment's storage for scanning: a bucket (connect, learn
//! whether it is versioned) or a local directory, behind one `scan` call.

use std::path::PathBuf;

use super::{Judge, Outcome, Progress, Selection, local, s3};
use crate::cloud::delete::Deleter;
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
        let versioned = crate::cloud::versioning::is_versioned(&clients, &storage.bucket).await?;
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
