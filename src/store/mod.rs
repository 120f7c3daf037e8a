//! Opens an environment's storage for scanning: a bucket (connect, learn
//! whether it is versioned) or a local directory, behind one `scan` call.

use std::path::PathBuf;

use crate::cloud::Clients;
use crate::cloud::delete::Deleter;
use crate::cloud::scan as s3;
use crate::error::Result;
use crate::local::scan as local;
use crate::scan::{Judge, Outcome, Progress, Selection};
use crate::spec::Storage;

/// An environment's storage, ready to scan.
#[derive(Debug)]
pub enum Store {
    S3 { source: Box<s3::Source> },
    Local { traces_dir: PathBuf },
}

impl Store {
    /// The local directory of `storage`, or its bucket through `clients`
    /// (connected by the caller: one connection per run), learning whether
    /// the bucket is versioned.
    pub async fn open(
        storage: &Storage,
        clients: Option<Clients>,
        concurrency: usize,
    ) -> Result<Store> {
        let (s3, clients) = match (storage, clients) {
            (Storage::Local(local), _) => {
                return Ok(Store::Local {
                    traces_dir: local.traces_dir(),
                });
            }
            (Storage::S3(s3), Some(clients)) => (s3, clients),
            (Storage::S3(_), None) => {
                return Err(crate::error::Error::usage("an S3 store needs its clients"));
            }
        };
        let versioned = crate::cloud::versioning::is_versioned(&clients, &s3.bucket).await?;
        Ok(Store::S3 {
            source: Box::new(s3::Source {
                target: clients.target.clone(),
                s3: clients.s3,
                bucket: s3.bucket.clone(),
                prefix: s3.prefix.clone(),
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
