//! The scan over a bucket: finds the date partitions under
//! `{prefix}/traces/` by seeking (`seek.rs`: one small listing per folder,
//! never a walk over the objects in them), then lists the selected
//! partitions concurrently (bounded), page by page, folding each page into
//! a tally and, when purging, deleting the expired entries of the page
//! before the next one is read. Versioned buckets are listed by version, so
//! noncurrent versions and delete markers are seen (and deleted by id).
//!
//! A healthy `cleanup verify` therefore costs one request per partition
//! folder (and per other folder), whatever the number of objects.

use std::future::Future;

use aws_sdk_s3::Client;
use futures::future::BoxFuture;
use futures::stream::{self, FuturesUnordered, StreamExt, TryStreamExt};
use tokio::sync::Semaphore;

use crate::error::{Error, Result};
use crate::retention::parse_partition;
use crate::scan::{Entry, Judge, Place, Progress, ScanOutcome, Selection};
use crate::spec::Prefix;
use crate::stores::s3::Target;
use crate::stores::s3::delete::{Deleted, Deleter, Doomed};
use crate::stores::s3::throttle::Gate;

mod fast_path;
mod listing;
mod page_xml;
mod seek;
mod xml_tokens;

use listing::Page;

/// The streaming parse of one listing page (ListObjectsV2, then
/// ListObjectVersions), for the fuzz target (any bytes, never a panic):
/// whether each read it.
#[cfg(feature = "fuzzing")]
pub fn fuzz_page_parse(body: &[u8]) -> [bool; 2] {
    [
        page_xml::objects_v2(body).is_some(),
        page_xml::versions(body).is_some(),
    ]
}

/// A bucket and the environment's prefix in it.
#[derive(Debug, Clone)]
pub struct Source {
    pub s3: Client,
    pub target: Target,
    pub bucket: String,
    pub prefix: Prefix,
    /// List versions and delete markers (versioning enabled or suspended).
    pub versioned: bool,
    /// Partitions listed at once.
    pub concurrency: usize,
    /// The pace of the run's requests (shared with its deletes): fewer in
    /// flight while the store throttles.
    pub gate: Gate,
}

/// One listing job of the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Unit {
    /// `{prefix}/traces/{day}/`: every entry is dated `day`.
    Partition(chrono::NaiveDate, String),
    /// A folder outside partitions, listed whole; judged by modification time.
    Loose(String),
    /// Only the entries directly in a folder (its sub-folders are other units).
    Shallow(String),
}

impl Unit {
    fn prefix(&self) -> &str {
        match self {
            Unit::Partition(_, p) | Unit::Loose(p) | Unit::Shallow(p) => p,
        }
    }
}

/// The units of one scan, and how many partitions exist.
struct Plan {
    units: Vec<Unit>,
    partitions_found: usize,
    partitions_listed: usize,
}

impl Source {
    /// Scans the prefix; with `deleter`, deletes what is past retention.
    ///
    /// Two seek walks (the prefix and its `traces/`, at once, from one
    /// first seek) find the folders and take the files directly in them; then the selected
    /// partitions and other folders are listed, `concurrency` at a time.
    pub async fn scan(
        &self,
        judge: &Judge,
        selection: Selection,
        deleter: Option<&Deleter>,
        progress: &Progress,
    ) -> Result<ScanOutcome> {
        let traces = self.prefix.traces_dir();
        let (root_unit, traces_unit) = (
            Unit::Shallow(self.prefix.dir()),
            Unit::Shallow(traces.clone()),
        );
        // The prefix's first key, asked once for both walks: when it is
        // under `traces/` it is also the first key there. Garage keeps
        // deleted keys for a day and a listing from the start walks them
        // (after a purge, tens of thousands), so two first seeks would
        // make it walk them twice.
        let first = self.first_seek(root_unit.prefix()).await?;
        let shared = match first.entries.as_slice() {
            [only] if only.key.starts_with(&traces) => Some(first.clone()),
            _ => None,
        };
        let ((mut total, top), (inner, partitions)) = futures::try_join!(
            self.seek_walk(&root_unit, Some(first), judge, deleter, progress),
            self.seek_walk(&traces_unit, shared, judge, deleter, progress),
        )?;
        total.merge(inner);
        let plan = plan(&traces, top, partitions, judge, selection);
        total.partitions_found = plan.partitions_found;
        total.partitions_listed = plan.partitions_listed;
        // As many deletes in flight as partitions listed at once.
        let slots = Semaphore::new(self.concurrency.max(1));
        let results = stream::iter(plan.units.iter())
            .map(|unit| self.run_unit(unit, judge, deleter, &slots, progress))
            .buffer_unordered(self.concurrency.max(1));
        let mut results = std::pin::pin!(results);
        while let Some((outcome, _)) = results.try_next().await? {
            total.merge(outcome);
        }
        progress.finish();
        Ok(total)
    }

    /// Lists one unit page by page: tally, and delete what is expired.
    /// Returns the sub-folders too (shallow units only).
    ///
    /// A page's delete runs while the next page is listed: a partition of
    /// 33,000 traces is a chain of 34 pages, and listing only after each
    /// delete came back kept a handful of deletes in flight, well under
    /// what the server takes (BENCHMARKS.md, "Purge at the limit"). Deletes
    /// in flight are bounded across units by `slots`.
    async fn run_unit(
        &self,
        unit: &Unit,
        judge: &Judge,
        deleter: Option<&Deleter>,
        slots: &Semaphore,
        progress: &Progress,
    ) -> Result<(ScanOutcome, Vec<String>)> {
        let mut outcome = ScanOutcome::default();
        let mut folders = Vec::new();
        let mut token = None;
        let mut advance = listing::advance(self);
        let mut deleting: Deleting<'_> = FuturesUnordered::new();
        loop {
            let listing = self.page(unit.prefix(), matches!(unit, Unit::Shallow(_)), token);
            let page =
                while_deleting(listing, &mut deleting, unit, progress, &mut outcome).await??;
            listing::moved_on(self, &mut advance, unit.prefix(), &page)?;
            let doomed = tally_page(unit, &page.entries, judge, deleter.is_some(), &mut outcome);
            if let Some(deleter) = deleter {
                let slot =
                    while_deleting(slots.acquire(), &mut deleting, unit, progress, &mut outcome)
                        .await?
                        .map_err(|_| Error::cloud("the purge's delete slots were closed"))?;
                let count = doomed.len() as u64;
                deleting.push(Box::pin(async move {
                    let _slot = slot;
                    deleter.delete(doomed).await.map(|done| (done, count))
                }));
            }
            folders.extend(page.folders);
            match page.next {
                Some(next) => token = Some(next),
                None => {
                    while let Some(done) = deleting.next().await {
                        record_deleted(unit, done?, progress, &mut outcome);
                    }
                    if let (Unit::Partition(day, _), Some(_)) = (unit, deleter) {
                        progress.finished(*day);
                    }
                    return Ok((outcome, folders));
                }
            }
        }
    }

    /// Tallies `entries` of `unit` into `outcome`; with `deleter`, deletes
    /// the expired ones (one batch per call).
    async fn fold(
        &self,
        unit: &Unit,
        entries: &[Entry],
        judge: &Judge,
        deleter: Option<&Deleter>,
        progress: &Progress,
        outcome: &mut ScanOutcome,
    ) -> Result<()> {
        let doomed = tally_page(unit, entries, judge, deleter.is_some(), outcome);
        if let Some(deleter) = deleter {
            let count = doomed.len() as u64;
            let deleted = deleter.delete(doomed).await?;
            record_deleted(unit, (deleted, count), progress, outcome);
        }
        Ok(())
    }

    /// One listing page of `prefix`, by version when the bucket is versioned.
    async fn page(
        &self,
        prefix: &str,
        delimited: bool,
        token: Option<listing::Token>,
    ) -> Result<Page> {
        if self.versioned {
            listing::versions(self, prefix, delimited, token).await
        } else {
            listing::objects(self, prefix, delimited, token).await
        }
    }
}

/// The deletes of one unit in flight: what each deleted, and how many
/// keys it was given.
type Deleting<'a> = FuturesUnordered<BoxFuture<'a, Result<(Deleted, u64)>>>;

/// Runs `work` to its end while the unit's deletes in flight go on (a
/// future only makes progress while polled), recording each as it ends.
async fn while_deleting<T>(
    work: impl Future<Output = T>,
    deleting: &mut Deleting<'_>,
    unit: &Unit,
    progress: &Progress,
    outcome: &mut ScanOutcome,
) -> Result<T> {
    let mut work = std::pin::pin!(work);
    loop {
        tokio::select! {
            biased;
            Some(done) = deleting.next(), if !deleting.is_empty() => {
                record_deleted(unit, done?, progress, outcome);
            }
            out = &mut work => return Ok(out),
        }
    }
}

/// Tallies `entries` of `unit` into `outcome` (pure); returns the expired
/// ones to delete when `purging`.
fn tally_page(
    unit: &Unit,
    entries: &[Entry],
    judge: &Judge,
    purging: bool,
    outcome: &mut ScanOutcome,
) -> Vec<Doomed> {
    let mut doomed = Vec::new();
    for entry in entries {
        let place = place_of(unit, entry, judge);
        let expired = judge.expired(place.day());
        outcome.tally.record(entry, place, expired);
        if expired && outcome.sample_expired.is_none() {
            outcome.sample_expired = Some(entry.key.clone());
        }
        if expired && purging {
            doomed.push(Doomed {
                key: entry.key.clone(),
                version_id: entry.version_id.clone(),
                size: entry.size,
            });
        }
    }
    doomed
}

/// Records one finished delete of `unit` (`count` keys given to it).
fn record_deleted(
    unit: &Unit,
    (deleted, count): (Deleted, u64),
    progress: &Progress,
    outcome: &mut ScanOutcome,
) {
    outcome.deleted.merge(deleted.volume);
    outcome.error_count += deleted.errors.len() as u64;
    let day = match unit {
        Unit::Partition(day, _) => Some(*day),
        _ => None,
    };
    progress.deleted(day, deleted.volume, deleted.errors.len() as u64);
    outcome.keep_errors(deleted.errors);
    progress.advance(count, "purged");
}

/// The listing jobs after the two delimited listings (pure): the folders
/// of the prefix other than `traces/`, and the partitions `selection`
/// wants (folders of `traces/` that are not dates are listed whole).
fn plan(
    traces: &str,
    top: Vec<String>,
    partitions: Vec<String>,
    judge: &Judge,
    selection: Selection,
) -> Plan {
    let mut units: Vec<Unit> = top
        .into_iter()
        .filter(|f| f != traces)
        .map(Unit::Loose)
        .collect();
    let (mut found, mut listed) = (0, 0);
    for folder in partitions {
        let name = folder
            .get(traces.len()..)
            .unwrap_or("")
            .trim_end_matches('/');
        match parse_partition(name) {
            Some(day) => {
                found += 1;
                if judge.selects(selection, day) {
                    listed += 1;
                    units.push(Unit::Partition(day, folder));
                }
            }
            None => units.push(Unit::Loose(folder)),
        }
    }
    Plan {
        units,
        partitions_found: found,
        partitions_listed: listed,
    }
}

/// Where an entry of `unit` sits for the age rule.
fn place_of(unit: &Unit, entry: &Entry, judge: &Judge) -> Place {
    match unit {
        Unit::Partition(day, _) => Place::Partition(*day),
        Unit::Loose(_) | Unit::Shallow(_) => Place::Loose(judge.loose_day(entry.modified)),
    }
}

#[cfg(test)]
mod tests {
    use chrono::NaiveDate;

    use super::*;

    #[test]
    fn plan_lists_only_what_the_selection_needs() {
        let judge = Judge::fixture();
        let traces = "p/traces/";
        let top = vec!["p/_probe/".to_string(), traces.to_string()];
        let partitions: Vec<String> = [
            "2026-10-01",
            "2026-11-08",
            "2026-11-09",
            "2026-11-25",
            "misc",
        ]
        .iter()
        .map(|d| format!("{traces}{d}/"))
        .collect();

        let all = plan(
            traces,
            top.clone(),
            partitions.clone(),
            &judge,
            Selection::All,
        );
        assert_eq!((all.partitions_found, all.partitions_listed), (4, 4));
        assert_eq!(all.units.len(), 6, "probe folder, 4 partitions, misc");

        let expired = plan(traces, top, partitions, &judge, Selection::Expired);
        assert_eq!(
            (expired.partitions_found, expired.partitions_listed),
            (4, 2)
        );
        let day = |s: &str| NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("date");
        assert_eq!(
            expired.units,
            vec![
                Unit::Loose("p/_probe/".into()),
                Unit::Partition(day("2026-10-01"), "p/traces/2026-10-01/".into()),
                Unit::Partition(day("2026-11-08"), "p/traces/2026-11-08/".into()),
                Unit::Loose("p/traces/misc/".into()),
            ]
        );
    }
}
