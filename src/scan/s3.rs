//! The scan over a bucket: finds the date partitions under
//! `{prefix}/traces/` with one delimited listing, then lists the selected
//! partitions concurrently (bounded), page by page, folding each page into
//! a tally and, when purging, deleting the expired entries of the page
//! before the next one is read. Versioned buckets are listed by version, so
//! noncurrent versions and delete markers are seen (and deleted by id).

use aws_sdk_s3::Client;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::{Entry, Judge, Outcome, Place, Progress, Selection};
use crate::cloud::Target;
use crate::cloud::delete::{Deleter, Doomed};
use crate::error::Result;
use crate::retention::parse_partition;
use crate::spec::Prefix;

mod listing;

use listing::Page;

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
    pub async fn scan(
        &self,
        judge: &Judge,
        selection: Selection,
        deleter: Option<&Deleter>,
        progress: &Progress,
    ) -> Result<Outcome> {
        let plan = self.plan(judge, selection).await?;
        let mut total = Outcome {
            partitions_found: plan.partitions_found,
            partitions_listed: plan.partitions_listed,
            ..Outcome::default()
        };
        let results = stream::iter(plan.units.iter())
            .map(|unit| self.run_unit(unit, judge, deleter, progress))
            .buffer_unordered(self.concurrency.max(1));
        let mut results = std::pin::pin!(results);
        while let Some(outcome) = results.try_next().await? {
            total.merge(outcome);
        }
        progress.finish();
        Ok(total)
    }

    /// Finds the partitions and the other folders under the prefix: two
    /// delimited listings, whose size grows with days, not objects.
    async fn plan(&self, judge: &Judge, selection: Selection) -> Result<Plan> {
        let root = self.prefix.dir();
        let traces = self.prefix.traces_dir();
        let mut units = vec![Unit::Shallow(root.clone()), Unit::Shallow(traces.clone())];
        for folder in self.folders(&root).await? {
            if folder != traces {
                units.push(Unit::Loose(folder));
            }
        }
        let (mut found, mut listed) = (0, 0);
        for folder in self.folders(&traces).await? {
            let name = folder[traces.len()..].trim_end_matches('/');
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
        Ok(Plan {
            units,
            partitions_found: found,
            partitions_listed: listed,
        })
    }

    /// The sub-folders (common prefixes) directly under `prefix`.
    async fn folders(&self, prefix: &str) -> Result<Vec<String>> {
        let mut folders = Vec::new();
        let mut token = None;
        loop {
            let page = self.page(prefix, true, token).await?;
            folders.extend(page.folders);
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(folders),
            }
        }
    }

    /// Lists one unit page by page: tally, and delete what is expired.
    async fn run_unit(
        &self,
        unit: &Unit,
        judge: &Judge,
        deleter: Option<&Deleter>,
        progress: &Progress,
    ) -> Result<Outcome> {
        let mut outcome = Outcome::default();
        let mut token = None;
        loop {
            let page = self
                .page(unit.prefix(), matches!(unit, Unit::Shallow(_)), token)
                .await?;
            let mut doomed = Vec::new();
            for entry in &page.entries {
                let place = place_of(unit, entry, judge);
                let expired = judge.expired(place.day());
                outcome.tally.record(entry, place, expired);
                if expired && outcome.sample_expired.is_none() {
                    outcome.sample_expired = Some(entry.key.clone());
                }
                if expired && deleter.is_some() {
                    doomed.push(Doomed {
                        key: entry.key.clone(),
                        version_id: entry.version_id.clone(),
                        size: entry.size,
                    });
                }
            }
            if let Some(deleter) = deleter {
                let count = doomed.len() as u64;
                let deleted = deleter.delete(doomed).await?;
                outcome.deleted.merge(deleted.volume);
                outcome.error_count += deleted.errors.len() as u64;
                outcome.keep_errors(deleted.errors);
                progress.advance(count, "purged");
            }
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(outcome),
            }
        }
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

/// Where an entry of `unit` sits for the age rule.
fn place_of(unit: &Unit, entry: &Entry, judge: &Judge) -> Place {
    match unit {
        Unit::Partition(day, _) => Place::Partition(*day),
        Unit::Loose(_) | Unit::Shallow(_) => Place::Loose(judge.loose_day(entry.modified)),
    }
}
