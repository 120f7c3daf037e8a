//! The seam every trace store plugs into, and the stores that implement it
//! today: an S3-compatible bucket (`s3`, through the `cloud` adapter), a
//! local directory (`local`) and a SQL table (`sql` and `sql_provision`,
//! through the `sql` adapter). A new family of stores (Redis, SQL, GCS)
//! implements these traits in a new file here, on top of its own adapter;
//! `ops` (and so every command) works through them. `fake` (tests only) is
//! an in-memory store for unit tests of `ops` without a server.
//!
//! - [`TraceStore`]: enumerate the day partitions and what lies outside
//!   them, tally each day (count, bytes, classes), delete what is past
//!   retention in batches; a write/read/delete probe; the store's retention
//!   mechanism (a lifecycle rule, a TTL, none).
//! - [`Provision`]: observe what the spec names, execute one planned change.
//!
//! # Adding a store
//!
//! A "day partition" is whatever groups a store's traces by day: a
//! `traces/{YYYY-MM-DD}/` prefix or folder, the day of a Redis sorted-set
//! score (keys by index score), `date(created_at)` of SQL rows. `scan`
//! walks them and folds each trace into the outcome with the shared pure
//! code, so `ops` needs no change:
//!
//! ```ignore
//! impl TraceStore for RedisStore {
//!     fn scan<'a>(&'a self, judge: &'a Judge, selection: Selection, purge: bool,
//!                 progress: &'a Progress) -> LocalBoxFuture<'a, Result<Outcome>> {
//!         async move {
//!             let mut out = Outcome::default();
//!             for day in self.days().await? {            // ZRANGEBYSCORE per day
//!                 out.partitions_found += 1;
//!                 if !judge.selects(selection, day) { continue; }
//!                 out.partitions_listed += 1;
//!                 for entry in self.entries(day).await? {  // key, size, class
//!                     let expired = judge.expired(day);
//!                     out.tally.record(&entry, Place::Partition(day), expired);
//!                     // purge && expired: delete in batches; a key that
//!                     // fails is `out.error_count += 1` + `out.keep_errors`.
//!                 }
//!             }
//!             Ok(out)
//!         }.boxed_local()
//!     }
//!     fn retention<'a>(&'a self, want: &'a RetentionWant, _sample: Option<&'a str>)
//!         -> LocalBoxFuture<'a, Result<Retention>> {
//!         // A TTL store judges its TTL against `want.days` (a `Ttl`
//!         // variant joins `Retention` with the first such store); a store
//!         // that expires nothing answers `Retention::None`.
//!         futures::future::ready(Ok(Retention::None)).boxed_local()
//!     }
//!     // location, describe, probe: see `local.rs`, the smallest store.
//! }
//! ```
//!
//! Every call to a server has a time limit (the session's `Timeouts`), and
//! nothing returned (location, errors) carries a credential. Then `open`
//! below learns the new `spec::Storage` variant, `store::fake` shows what
//! the unit tests of `ops` expect of a store, and a server test in
//! `tests/it` proves the real one.

#![warn(unreachable_pub)]

pub(crate) mod app_identity;
#[cfg(test)]
pub(crate) mod fake;
pub(crate) mod inventory;
pub(crate) mod local;
pub(crate) mod redis;
pub(crate) mod s3;
pub(crate) mod sql;
pub(crate) mod sql_provision;

use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::cloud::Clients;
use crate::error::{Error, Result};
use crate::plan::Change;
use crate::plan::observed::Observed;
use crate::report::model::StorageSummary;
use crate::retention::RuleStatus;
use crate::scan::{DataSource, DeletedCount, Judge, Outcome, Progress, Selection};
use crate::spec::Storage;

pub(crate) use crate::cloud::provision::Applied;

/// What every trace store does for `cleanup`, `report` and `check`.
pub(crate) trait TraceStore: Send + Sync + std::fmt::Debug {
    /// Where the traces are, for messages (no credentials in it).
    fn location(&self) -> String;

    /// Fills in what the report says about where the traces live.
    fn describe(&self, summary: &mut StorageSummary);

    /// Walks the store's layout: enumerates the day partitions and what lies
    /// outside them, reads those `selection` wants and tallies each day as
    /// it goes; with `purge`, deletes what is past retention, in batches.
    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<Outcome>>;

    /// Writes, reads back and deletes one probe (a check result).
    #[cfg_attr(
        not(test),
        expect(
            dead_code,
            reason = "the check runner still calls the adapters' probes directly"
        )
    )]
    fn probe(&self) -> LocalBoxFuture<'_, CheckResult>;

    /// How the store expires traces by itself, judged against `want`;
    /// `sample` is one expired trace to ask which rule applies to it.
    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>>;

    /// What a purge's count of deleted objects counts: what the store
    /// confirmed removed, unless its deletes cannot tell (S3).
    fn deleted_count(&self) -> DeletedCount {
        DeletedCount::Removed
    }

    /// Where `scan`'s figures come from when not from the store's own
    /// listing (an S3 Inventory, and how old it is); `None`: the listing.
    fn data_source(&self) -> Option<DataSource> {
        None
    }
}

/// The retention the spec asks of a store's own mechanism.
#[derive(Debug, Clone)]
pub(crate) struct RetentionWant {
    /// The ID of the tool's lifecycle rule (`spec::ids::lifecycle_rule_id`).
    pub(crate) rule_id: String,
    pub(crate) days: u32,
}

/// A store's own retention mechanism. Stores with a per-key TTL (Redis)
/// or none at all (SQL tables purged by the tool) add their variant here.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Retention {
    /// An S3 lifecycle rule, and how it compares with the spec.
    LifecycleRule(RuleStatus),
    /// Nothing expires by itself: `cleanup purge` is the mechanism.
    None,
    /// A TTL on each key (Redis), sampled and judged against the days.
    Ttl(crate::kv::ttl::TtlStatus),
}

impl Retention {
    /// The lifecycle rule's status, where the store has one.
    pub(crate) fn rule_status(self) -> Option<RuleStatus> {
        match self {
            Retention::LifecycleRule(status) => Some(status),
            Retention::None | Retention::Ttl(_) => None,
        }
    }
}

/// What provisioning does on every store: observe, then execute a plan
/// one change at a time (`ops::apply` decides the order and reports).
pub(crate) trait Provision: Send + Sync {
    /// What exists now of what the spec names.
    fn observe(&self) -> LocalBoxFuture<'_, Result<Observed>>;
    /// Executes one planned change; `empty` allows deleting a bucket's content.
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>>;
}

/// Opens an environment's storage: the local directory, or the bucket
/// through `clients` (connected by the caller: one connection per run),
/// or the Redis server (over TLS, trusting `ca_bundle` too) or database.
pub(crate) async fn open(
    storage: &Storage,
    clients: Option<Clients>,
    concurrency: usize,
    timeouts: crate::cloud::timeouts::Timeouts,
    ca_bundle: Option<&std::path::Path>,
) -> Result<Box<dyn TraceStore>> {
    match (storage, clients) {
        (Storage::Local(local), _) => Ok(Box::new(local::LocalStore::new(local))),
        (Storage::S3(s3), Some(clients)) => {
            Ok(Box::new(s3::S3Store::open(clients, s3, concurrency).await?))
        }
        (Storage::S3(_), None) => Err(Error::usage("an S3 store needs its clients")),
        (Storage::Redis(spec), _) => Ok(Box::new(
            redis::RedisStore::open(spec, timeouts, ca_bundle).await?,
        )),
        (Storage::Database(db), _) => Ok(Box::new(sql::SqlStore::new(
            crate::sql::Db::connect(db, timeouts, false).await?,
        ))),
    }
}
