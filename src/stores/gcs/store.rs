//! The seam for a GCS bucket: the scan of `{prefix}/` (every page of the
//! listing, each object placed by `layout`, the expired ones deleted in
//! batches of the JSON batch endpoint, every generation on a versioned
//! bucket), the probe under `{prefix}/_probe/`, and no retention
//! mechanism read here (the lifecycle rule is `check`'s and `plan`'s):
//! `Retention::None`.
//!
//! The report reads everything. Verify and purge skip the day folders
//! within retention by seeking: day folders sort by date, so the names
//! before the first young day's folder are one listing (`endOffset`), and
//! from there on a listing with folders folded (`startOffset`,
//! `delimiter=/`) gives each young day as one entry, the flat traces and
//! loose files as objects, and any other folder to list in full. A server
//! that ignores the offsets is caught (a name past `endOffset`, or before
//! `startOffset`) and costs a full listing, never a count.

#![warn(unreachable_pub)]

use std::collections::{BTreeMap, BTreeSet};

use chrono::NaiveDate;
use futures::future::LocalBoxFuture;
use futures::{FutureExt, StreamExt};

use super::client::{BATCH_MAX, Gcs, ListQuery, Object, PartStatus};
use super::layout::place;
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::report::model::StorageSummary;
use crate::retention::parse_partition;
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

/// A scan under way: what decides, and what was found so far.
struct Scan<'a> {
    judge: &'a Judge,
    selection: Selection,
    purge: bool,
    progress: &'a Progress,
    outcome: ScanOutcome,
    /// Every day seen: a day folder, or the day of a flat trace.
    days: BTreeSet<NaiveDate>,
}

/// What one listing found beside its objects.
#[derive(Default)]
struct Listed {
    /// Folders (with `folders`), each once, at or after `start`.
    folders: BTreeSet<String>,
    /// A name at or past `end` came back: the server ignored `endOffset`,
    /// so this listing read everything.
    past_end: bool,
}

impl Scan<'_> {
    /// Judges one page's objects into the tally; the expired ones, to
    /// delete when purging.
    fn judge_page<'o>(
        &mut self,
        dir: &str,
        objects: impl Iterator<Item = &'o Object>,
        versioning: bool,
    ) -> Vec<Doomed> {
        let judge = self.judge;
        let mut doomed = Vec::new();
        for object in objects {
            let created = object.created();
            let Some((at, _age_from)) = place(dir, &object.name, created, |t| judge.loose_day(t))
            else {
                continue; // outside the prefix: not the environment's
            };
            if let Place::Partition(day) = at {
                self.days.insert(day);
                if !judge.selects(self.selection, day) {
                    continue;
                }
            }
            let expired = judge.expired(at.day());
            self.outcome.tally.record(&entry(object), at, expired);
            if expired {
                if self.outcome.sample_expired.is_none() {
                    self.outcome.sample_expired = Some(object.name.clone());
                }
                doomed.push(Doomed {
                    name: object.name.clone(),
                    generation: object.generation.clone().filter(|_| versioning),
                    bytes: object.bytes(),
                    day: match at {
                        Place::Partition(day) => Some(day),
                        Place::Loose(_) => None,
                    },
                });
            }
        }
        doomed
    }
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
        let mut scan = Scan {
            judge,
            selection,
            purge,
            progress,
            outcome: ScanOutcome::default(),
            days: BTreeSet::new(),
        };
        let whole = ListQuery {
            prefix: dir.clone(),
            versions: self.spec.versioning,
            ..ListQuery::default()
        };
        match selection {
            Selection::All => {
                self.list_into(&whole, &mut scan).await?;
            }
            // Verify and purge read no day folder within retention: the
            // names before the first young day's folder, then from it on
            // with folders folded (a young day is one entry, not its
            // objects), each other folder listed in full.
            Selection::Expired => {
                let young = format!("{dir}{}/", judge.cutoff.format("%Y-%m-%d"));
                let before = ListQuery {
                    end: Some(young.clone()),
                    ..whole.clone()
                };
                let covered_all = self.list_into(&before, &mut scan).await?.past_end;
                if !covered_all {
                    let after = ListQuery {
                        start: Some(young.clone()),
                        folders: true,
                        ..whole.clone()
                    };
                    let rest = self.list_into(&after, &mut scan).await?;
                    for folder in rest.folders {
                        let name = folder.strip_prefix(&dir).unwrap_or(&folder);
                        match parse_partition(name.trim_end_matches('/')) {
                            Some(day) => {
                                scan.days.insert(day);
                            }
                            None => {
                                let inside = ListQuery {
                                    prefix: folder.clone(),
                                    ..whole.clone()
                                };
                                self.list_into(&inside, &mut scan).await?;
                            }
                        }
                    }
                }
            }
        }
        let Scan {
            mut outcome, days, ..
        } = scan;
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

    /// Every page of `query`, each object judged into `scan` (and the
    /// expired ones deleted when purging). A server that ignores
    /// `startOffset` is caught here: names before it were read by the
    /// listing before, and are skipped.
    async fn list_into(&self, query: &ListQuery, scan: &mut Scan<'_>) -> Result<Listed> {
        let dir = &query.prefix;
        let mut listed = Listed::default();
        let mut page_token: Option<String> = None;
        // Each page must move past the ones before it (as S3's listings):
        // a server that ignores the token would otherwise list for ever.
        // Objects only: fake-gcs-server repeats the folders on each page.
        let mut advance = if self.spec.versioning {
            Advance::by_version()
        } else {
            Advance::by_key()
        };
        loop {
            let page = self
                .gcs
                .list_page(&self.spec.bucket, query, page_token.as_deref())
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
            let in_range = |name: &str| query.start.as_deref().is_none_or(|start| name >= start);
            if let Some(end) = &query.end {
                listed.past_end |= page.items.iter().any(|o| o.name >= *end);
            }
            // fake-gcs-server repeats every folder on every page: a set.
            listed.folders.extend(
                page.prefixes
                    .iter()
                    .filter(|p| in_range(p.as_str()))
                    .cloned(),
            );
            let doomed = scan.judge_page(
                &self.spec.prefix.dir(),
                page.items.iter().filter(|o| in_range(&o.name)),
                self.spec.versioning,
            );
            if scan.purge && !doomed.is_empty() {
                self.delete(doomed, &mut scan.outcome, scan.progress)
                    .await?;
            }
            page_token = next;
            if page_token.is_none() {
                break;
            }
        }
        Ok(listed)
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
