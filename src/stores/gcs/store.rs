//! The seam for a GCS bucket: the scan of `{prefix}/` (every page of the
//! listing, each object placed by `layout`, the expired ones deleted in
//! batches of the JSON batch endpoint, every generation on a versioned
//! bucket), the probe under `{prefix}/_probe/`, and no retention
//! mechanism read yet (the lifecycle rule is `check`'s and `plan`'s work
//! still to come): `Retention::None`.

#![warn(unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};

use super::client::{BATCH_MAX, Gcs, Object, PartStatus};
use super::layout::place;
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::report::model::StorageSummary;
use crate::scan::{
    Advance, Entry, EntryKind, Judge, KeyError, Place, Progress, ScanOutcome, Selection, Volume,
};
use crate::spec::GcsStorage;
use crate::stores::{Retention, RetentionWant, TraceStore};

/// The id of `check`'s write/read/delete probe.
pub(crate) const PROBE_CHECK: &str = "gcs.probe";

/// A bucket's traces, with the connection to reach them.
#[derive(Debug)]
pub(crate) struct GcsStore {
    gcs: Gcs,
    spec: GcsStorage,
    concurrency: usize,
}

/// One expired object (or generation) queued for deletion.
struct Doomed {
    name: String,
    generation: Option<String>,
    bytes: u64,
    day: Option<NaiveDate>,
}

impl GcsStore {
    pub(crate) fn new(gcs: Gcs, spec: &GcsStorage, concurrency: usize) -> GcsStore {
        GcsStore {
            gcs,
            spec: spec.clone(),
            concurrency: concurrency.max(1),
        }
    }

    async fn scan_all(
        &self,
        judge: &Judge,
        selection: Selection,
        purge: bool,
        progress: &Progress,
    ) -> Result<ScanOutcome> {
        let dir = self.spec.prefix.dir();
        let mut outcome = ScanOutcome::default();
        let mut days = BTreeSet::new();
        let mut page_token: Option<String> = None;
        // Each page must move past the ones before it (as S3's listings):
        // a server that ignores the token would otherwise list for ever.
        let mut advance = if self.spec.versioning {
            Advance::by_version()
        } else {
            Advance::by_key()
        };
        loop {
            let page = self
                .gcs
                .list(
                    &self.spec.bucket,
                    &dir,
                    self.spec.versioning,
                    page_token.as_deref(),
                )
                .await?;
            let next = page.next_page_token.clone().filter(|t| !t.is_empty());
            let entries = page
                .items
                .iter()
                .map(|o| (o.name.as_str(), o.generation.as_deref()));
            advance
                .page(entries, std::iter::empty(), next.as_ref())
                .map_err(|why| {
                    Error::cloud_with_hint(
                        format!(
                            "objects.list gs://{}/{dir}: {why}; the scan stops rather than loop",
                            self.spec.bucket
                        ),
                        "the endpoint (or a proxy in front of it) pages listings incorrectly; check what sits in front of the store",
                    )
                })?;
            let mut doomed = Vec::new();
            for object in &page.items {
                let created = object.created();
                let Some((at, _age_from)) =
                    place(&dir, &object.name, created, |t| judge.loose_day(t))
                else {
                    continue; // outside the prefix: not the environment's
                };
                if let Place::Partition(day) = at {
                    days.insert(day);
                    if !judge.selects(selection, day) {
                        continue;
                    }
                }
                let expired = judge.expired(at.day());
                outcome.tally.record(&entry(object), at, expired);
                if expired {
                    if outcome.sample_expired.is_none() {
                        outcome.sample_expired = Some(object.name.clone());
                    }
                    doomed.push(Doomed {
                        name: object.name.clone(),
                        generation: object.generation.clone().filter(|_| self.spec.versioning),
                        bytes: object.bytes(),
                        day: match at {
                            Place::Partition(day) => Some(day),
                            Place::Loose(_) => None,
                        },
                    });
                }
            }
            if purge && !doomed.is_empty() {
                self.delete(doomed, &mut outcome, progress).await?;
            }
            page_token = next;
            if page_token.is_none() {
                break;
            }
        }
        outcome.partitions_found = days.len();
        outcome.partitions_listed = days
            .iter()
            .filter(|d| judge.selects(selection, **d))
            .count();
        if purge {
            for day in days.iter().filter(|d| judge.expired(**d)) {
                progress.finished(*day);
            }
        }
        progress.finish();
        Ok(outcome)
    }

    /// Deletes `doomed` in batches, `concurrency` batches at once; each
    /// object's status is its result (gone already: done, not counted).
    async fn delete(
        &self,
        doomed: Vec<Doomed>,
        outcome: &mut ScanOutcome,
        progress: &Progress,
    ) -> Result<()> {
        let bucket = &self.spec.bucket;
        let batches = doomed.chunks(BATCH_MAX).map(|batch| async move {
            let calls: Vec<(&str, Option<&str>)> = batch
                .iter()
                .map(|d| (d.name.as_str(), d.generation.as_deref()))
                .collect();
            (batch, self.gcs.delete_batch(bucket, &calls).await)
        });
        let mut done = futures::stream::iter(batches).buffer_unordered(self.concurrency);
        while let Some((batch, statuses)) = done.next().await {
            let statuses = statuses?;
            let mut by_day: BTreeMap<Option<NaiveDate>, Volume> = BTreeMap::new();
            let mut errors = Vec::new();
            for (object, status) in batch.iter().zip(statuses) {
                match status {
                    PartStatus::Deleted => {
                        outcome.deleted.add(object.bytes);
                        by_day.entry(object.day).or_default().add(object.bytes);
                    }
                    PartStatus::Gone => {}
                    PartStatus::Failed(code, message) => errors.push(KeyError {
                        key: object.name.clone(),
                        version_id: object.generation.clone(),
                        code: code.to_string(),
                        message,
                    }),
                }
            }
            let error_count = errors.len() as u64;
            outcome.error_count += error_count;
            outcome.keep_errors(errors);
            let mut first = true;
            for (day, volume) in by_day {
                progress.advance(volume.objects, "purged");
                progress.deleted(day, volume, if first { error_count } else { 0 });
                first = false;
            }
            if first && error_count > 0 {
                progress.deleted(None, Volume::default(), error_count);
            }
        }
        Ok(())
    }

    async fn probe_once(&self) -> CheckResult {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let name = format!("{}_probe/{stamp}.json", self.spec.prefix.dir());
        let body = format!("{{\"probe\":{stamp}}}").into_bytes();
        let bucket = &self.spec.bucket;
        let steps = async {
            self.gcs.upload(bucket, &name, body.clone()).await?;
            let read = self.gcs.download(bucket, &name).await?;
            let deleted = self.gcs.delete(bucket, &name, None).await?;
            Ok::<_, crate::error::Error>((read, deleted))
        };
        match steps.await {
            Ok((Some(read), PartStatus::Deleted)) if read == body => CheckResult::pass(
                PROBE_CHECK,
                format!("wrote, read back and deleted gs://{bucket}/{name}"),
            ),
            Ok((read, deleted)) => CheckResult::fail(
                PROBE_CHECK,
                format!(
                    "gs://{bucket}/{name}: read back {}, delete {deleted:?}",
                    if read.as_deref() == Some(&body[..]) {
                        "the same bytes"
                    } else {
                        "something else"
                    }
                ),
            ),
            Err(e) => CheckResult::fail(PROBE_CHECK, e.to_string()),
        }
    }
}

/// A listed object as the shared tally reads it.
fn entry(object: &Object) -> Entry {
    Entry {
        key: object.name.clone(),
        size: object.bytes(),
        modified: object.created(),
        class: object.storage_class.clone().map(std::borrow::Cow::Owned),
        version_id: object.generation.clone(),
        kind: EntryKind::Current,
    }
}

impl TraceStore for GcsStore {
    fn location(&self) -> String {
        format!(
            "gs://{}/{} at {}",
            self.spec.bucket,
            self.spec.prefix.dir(),
            self.gcs.endpoint
        )
    }

    fn describe(&self, summary: &mut StorageSummary) {
        summary.kind = "gcs".into();
        summary.location = self.location();
        summary.endpoint = Some(self.gcs.endpoint.clone());
        summary.bucket = Some(self.spec.bucket.clone());
        summary.prefix = Some(self.spec.prefix.dir());
        summary.versioned = Some(self.spec.versioning);
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        self.scan_all(judge, selection, purge, progress)
            .boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        self.probe_once().boxed_local()
    }

    fn retention<'a>(
        &'a self,
        _want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        futures::future::ready(Ok(Retention::None)).boxed_local()
    }
}
