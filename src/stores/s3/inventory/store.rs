//! A bucket read through its S3 Inventory instead of a listing (`report`
//! and `cleanup verify` with `--source inventory|auto`): the same seam as
//! `s3::S3Store`, whose probe, retention rule and description it reuses;
//! only `scan` differs, folding the newest complete inventory's rows with
//! `scan::KeyedFold`. It never purges: an inventory lags by up to a day,
//! so deleting from it could delete what the listing no longer holds or
//! miss what it does (`cleanup purge` always lists).

#![warn(unreachable_pub)]

use chrono::{DateTime, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::report::model::StorageSummary;
use crate::scan::{DataSource, Judge, KeyedFold, Progress, ScanOutcome, Selection};
use crate::spec::S3Storage;
use crate::spec::inventory::Inventory;
use crate::stores::s3::Clients;
use crate::stores::s3::inventory::{Reader, Snapshot};
use crate::stores::s3::store::S3Store;
use crate::stores::{Retention, RetentionWant, TraceStore};

/// How fresh an inventory must be for `--source auto` to use it.
pub(crate) const AUTO_MAX_AGE_HOURS: i64 = 48;

/// What `--source` asks for.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Want {
    /// The newest complete inventory, whatever its age; an error if none.
    #[default]
    Inventory,
    /// The inventory when fresher than `AUTO_MAX_AGE_HOURS`, else a listing.
    Auto,
}

/// A bucket, and the inventory its scans read (`None`: they list).
#[derive(Debug)]
pub(crate) struct InventoryStore {
    bucket: S3Store,
    /// For the probe (the same one `S3Store` runs).
    clients: Clients,
    spec: S3Storage,
    reader: Reader,
    snapshot: Option<Snapshot>,
    /// Why a listing is read instead (`auto` only).
    fallback: Option<String>,
}

impl InventoryStore {
    /// Opens the bucket and finds its newest complete inventory.
    pub(crate) async fn open(
        clients: Clients,
        s3: &S3Storage,
        inventory: &Inventory,
        concurrency: usize,
        want: Want,
    ) -> Result<InventoryStore> {
        let reader = Reader {
            s3: clients.s3.clone(),
            target: clients.target.clone(),
            inventory: inventory.clone(),
            source_bucket: s3.bucket.clone(),
        };
        let bucket = S3Store::open(clients.clone(), s3, concurrency).await?;
        let newest = reader.newest().await?;
        let now = crate::clock::now();
        let (snapshot, fallback) = match (newest, want) {
            (Some(snap), Want::Inventory) => (Some(snap), None),
            (None, Want::Inventory) => {
                return Err(Error::cloud_with_hint(
                    format!(
                        "no complete S3 Inventory of {} under {}/{}",
                        s3.bucket,
                        inventory.destination(),
                        inventory.reports_dir(&s3.bucket).trim_end_matches('/')
                    ),
                    "S3 delivers the first inventory within 48 hours of `apply`; until then use --source listing (or auto)",
                ));
            }
            (Some(snap), Want::Auto) if hours(now, snap.created) < AUTO_MAX_AGE_HOURS as f64 => {
                (Some(snap), None)
            }
            (Some(snap), Want::Auto) => {
                let why = format!(
                    "listing: the newest inventory ({}) is {:.1} hours old, more than {AUTO_MAX_AGE_HOURS}",
                    snap.manifest_url,
                    hours(now, snap.created)
                );
                (None, Some(why))
            }
            (None, Want::Auto) => (None, Some("listing: no complete inventory yet".into())),
        };
        Ok(InventoryStore {
            bucket,
            clients,
            spec: s3.clone(),
            reader,
            snapshot,
            fallback,
        })
    }
}

/// Hours from `then` to `now` (negative clocks skew: 0).
fn hours(now: DateTime<Utc>, then: DateTime<Utc>) -> f64 {
    ((now - then).num_seconds().max(0) as f64) / 3600.0
}

impl TraceStore for InventoryStore {
    fn location(&self) -> String {
        self.bucket.location()
    }

    fn describe(&self, summary: &mut StorageSummary) {
        self.bucket.describe(summary);
        summary.source = self.data_source();
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        async move {
            let Some(snapshot) = self.snapshot.as_ref().filter(|_| !purge) else {
                return self.bucket.scan(judge, selection, purge, progress).await;
            };
            let mut fold = KeyedFold::new(judge, selection, &self.bucket.prefix());
            self.reader.scan(snapshot, &mut fold).await?;
            Ok(fold.finish())
        }
        .boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        crate::stores::s3::checks::probe::check(&self.clients, &self.spec).boxed_local()
    }

    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        self.bucket.retention(want, sample)
    }

    fn data_source(&self) -> Option<DataSource> {
        Some(match (&self.snapshot, &self.fallback) {
            (Some(snap), _) => DataSource::inventory(
                &snap.manifest_url,
                snap.created,
                hours(crate::clock::now(), snap.created),
            ),
            (None, why) => DataSource::listing(why.clone()),
        })
    }
}
