//! The trace stores, one folder each, and the seam they plug into. `ops`
//! (and so every command) works through this module alone: `open` is the
//! one place that tells the storage kinds apart (beside `spec`, which
//! parses them).
//!
//! - `s3/`: S3-compatible buckets (AWS, MinIO, Garage, SeaweedFS, any
//!   S3-compatible store): the SDK clients, the scan and bulk deletes, the
//!   S3 Inventory, provisioning, the signed checks, the app's identity on
//!   each self-hosted server and their admin planes (`s3/admin/`).
//! - `gcs/`: Google Cloud Storage buckets over the JSON API (the seed's
//!   `GcsTraceStorage`): a key file's token, listing, batch deletes.
//! - `local/`: a directory on the local disk (or a mounted share).
//! - `redis/`: the seed's Redis store (index, keys, TTL, ACL user).
//! - `sql/`: the seed's database table (PostgreSQL, MySQL/MariaDB, SQLite).
//! - `hybrid/`: a hot/cold pair of two other environments' stores (the
//!   seed's `HybridTraceStorage`), archiving through `transfer`.
//! - `items` (each store's traces one at a time) and `transfer` (moving
//!   them between two stores, confirmed, nothing lost): `migrate` and the
//!   hybrid store's archive.
//! - `connections`: what a run connects with (the overrides, the S3
//!   clients built once); `fake` (tests only): an in-memory `TraceStore`.
//!
//! Each folder's `plugin.rs` implements [`Store`] (what `ops` asks of an
//! environment's store: its location, traces, checks and provisioning;
//! and what the modules that must not import the stores ask of it, handed
//! to them by their caller: what `render` writes for it, `files`, and
//! what the Laravel app must do to reach it, `app_contract`),
//! its `store.rs` the [`TraceStore`] that `cleanup` and `report` scan, and
//! its provisioner [`Provision`] (one planned change at a time; the
//! executor, its progress lines and the interruption log are `ops`').
//! A store never imports `ops` nor another store's folder
//! (`scripts/layers.py` checks it); a store made of stores (a hybrid
//! hot/cold pair) opens them through `open`.
//!
//! # Adding a store
//!
//! 1. A folder `stores/<kind>/` with its adapter (the only code that talks
//!    to that server, every call under the run's `Timeouts`, no
//!    credential in any message) and a `plugin.rs` implementing `Store`.
//! 2. Its `TraceStore`: a "day partition" is whatever groups the store's
//!    traces by day (a `traces/{YYYY-MM-DD}/` prefix or folder, the day of
//!    a Redis sorted-set score, `date(created_at)` of SQL rows); `scan`
//!    walks them and folds each trace into the outcome with the shared pure
//!    code of `scan` (`Judge`, `Tally`), deleting in batches with `purge`;
//!    `retention` answers with the store's own mechanism (a lifecycle rule,
//!    a TTL, `Retention::None` when `cleanup purge` is the mechanism).
//! 3. Its provisioning in `Store::provision`: plan, then hand the plan to
//!    `Steps` to confirm and execute through its `Provision`; a new secret
//!    goes through `credentials_file` (written once, 0600, never printed).
//! 4. Its variant in `spec::Storage` (parsed and validated there), its arm
//!    in `open` below, and its module line here.
//! 5. Its tests: the conformance suite (`tests/it/conformance/`), which
//!    every store passes, plus the server tests of what only it does.

#![warn(unreachable_pub)]

pub(crate) mod connections;
#[cfg(test)]
mod contract_tests;
#[cfg(test)]
pub(crate) mod fake;
// Adapter modules that predate the lint; their seam files carry it.
pub(crate) mod gcs;
pub(crate) mod hybrid;
pub(crate) mod items;
#[allow(unreachable_pub)]
pub(crate) mod local;
#[allow(unreachable_pub)]
pub(crate) mod redis;
#[allow(unreachable_pub)]
pub(crate) mod s3;
#[allow(unreachable_pub)]
pub(crate) mod sql;
pub(crate) mod transfer;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::app::contract::Contract;
use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::plan::{Change, Plan};
use crate::render::store::StoreFiles;
use crate::report::model::StorageSummary;
use crate::retention::RuleStatus;
use crate::scan::{DataSource, DeletedCount, Judge, Progress, ScanOutcome, Selection};
use crate::spec::{Environment, Spec, Storage};
use connections::Connections;
use items::TraceItems;
/// Traces beside a store that its verdict should count (see `Store::elsewhere`).
pub(crate) use local::stray::Stray;

pub(crate) use crate::stores::s3::provision::Applied;

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
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>>;

    /// Writes, reads back and deletes one probe (a check result).
    fn probe(&self) -> LocalBoxFuture<'_, CheckResult>;

    /// How the store expires traces by itself, judged against `want`;
    /// `sample` is one expired trace to ask which rule applies to it.
    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>>;

    /// `cleanup purge --detach`: the purge detaches each table partition
    /// wholly past the cutoff and keeps it as a table, instead of dropping
    /// it. Only a SQL table has partitions (`ops::cleanup` refuses the
    /// flag for any other store before it connects).
    fn detach_partitions(&mut self) -> Result<()> {
        Err(Error::usage(format!(
            "--detach: {} has no table partitions to detach",
            self.location()
        )))
    }

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
    Ttl(crate::stores::redis::ttl::TtlStatus),
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

/// What provisioning does on every store: execute one planned change
/// (`ops::apply`'s executor runs a plan's changes in order through it,
/// reports each and keeps the log an interruption reports from).
pub(crate) trait Provision: Send + Sync {
    /// Executes one planned change; `empty` allows deleting a bucket's content.
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>>;
}

/// An environment's store as `ops` sees it, whatever its kind: its traces,
/// its checks, its provisioning and where it is. `open` makes one; nothing
/// outside `stores` (and `spec`) tells the kinds apart.
pub(crate) trait Store {
    /// Where the store is, as a plan's heading names it ("bucket B in R at
    /// E", "local disk P", ...), with the command line's overrides applied.
    fn location(&self) -> String;

    /// Opens the traces for `cleanup` and `report`: from the store's own
    /// listing, or (`--source`) from an inventory where the store has one.
    fn traces(
        &self,
        concurrency: usize,
        source: ScanSource,
    ) -> LocalBoxFuture<'_, Result<Box<dyn TraceStore>>>;

    /// Every check of the store itself (the app's side is `app`'s); an
    /// error only when the checks cannot run at all (an endpoint that is
    /// no URL, an unreadable CA bundle).
    fn checks(&self) -> LocalBoxFuture<'_, Result<Vec<CheckResult>>>;

    /// Plans what `intent` asks and, unless it is `Intent::Plan`, has
    /// `steps` confirm and execute it; `None` when `steps` declined.
    fn provision<'a>(
        &'a self,
        intent: &'a Intent,
        steps: &'a dyn Steps,
    ) -> LocalBoxFuture<'a, Result<Option<Provisioned>>>;

    /// Traces the store's verdict does not cover but should count: the
    /// local disk's other Laravel root.
    fn elsewhere(&self) -> Option<Stray> {
        None
    }

    /// What the store adds to its report beyond the scan's figures.
    fn amend_report(&self, _report: &mut crate::report::Report) {}

    /// Whether the store can hold table partitions for `cleanup purge
    /// --detach` to keep (from the spec alone, before any call: whether a
    /// table really is partitioned is its catalog's to say).
    fn may_detach_partitions(&self) -> bool {
        false
    }

    /// What `render` writes for the store: its `.env` lines, its own
    /// files, what enforces its retention, the server it lives on. From
    /// the spec alone (no override, no connection); an error only when a
    /// template context cannot be built.
    fn files(&self) -> Result<StoreFiles>;

    /// The store's traces one at a time (`migrate`, the hybrid store's
    /// archive); connects. A store that cannot yet says so in one line.
    fn items(&self) -> LocalBoxFuture<'_, Result<Box<dyn TraceItems>>> {
        let refused = Err(Error::usage(format!(
            "{}: migrate does not read or write this kind of store yet",
            self.location()
        )));
        futures::future::ready(refused).boxed_local()
    }

    /// What the store expects of the Laravel app (`check --app`): the
    /// driver that selects it, what expires its traces while the package's
    /// purge does not, its own `app.*` checks.
    fn app_contract(&self) -> Contract<'_>;
}

/// What `plan`, `apply` and `destroy` ask of a store's provisioning.
#[derive(Debug, Clone)]
pub(crate) enum Intent {
    /// Read the live state and say what `apply` would change.
    Plan,
    /// Bring the store to the spec; a new secret goes where `keys` says.
    Apply(KeyOptions),
    /// Remove what `apply` created; `empty` allows content to go with it.
    Destroy { empty: bool },
}

/// Where `apply` writes a new secret (an app key, a database or Redis
/// user's password), and whether it rotates the app's key.
#[derive(Debug, Clone)]
pub(crate) struct KeyOptions {
    /// `--out`, else the tool's own directory beside the spec
    /// (`.chronotrace-ops/`, git-ignored).
    pub(crate) out: std::path::PathBuf,
    /// `--rotate-app-key`.
    pub(crate) rotate: bool,
}

impl Default for KeyOptions {
    fn default() -> Self {
        KeyOptions {
            out: std::path::PathBuf::from(crate::credentials_file::STATE_DIR),
            rotate: false,
        }
    }
}

/// The executor's side of provisioning, which `ops` implements: a store
/// plans, then hands the plan over to be confirmed and executed.
pub(crate) trait Steps {
    /// Shows the plan and asks for consent; `false`: declined.
    fn confirm(&self, plan: &Plan) -> Result<bool>;

    /// Executes the plan's pending changes in order through `provision`,
    /// recording each; the plan as done.
    fn execute<'a>(
        &'a self,
        provision: &'a dyn Provision,
        plan: &'a Plan,
        empty: bool,
    ) -> LocalBoxFuture<'a, Result<Plan>>;
}

/// A plan and the same plan as executed (equal for `Intent::Plan`).
#[derive(Debug)]
pub(crate) struct Provisioned {
    pub(crate) planned: Plan,
    pub(crate) done: Plan,
}

impl Provisioned {
    /// A plan nothing was executed for.
    pub(crate) fn planned_only(plan: Plan) -> Provisioned {
        Provisioned {
            done: plan.clone(),
            planned: plan,
        }
    }
}

/// `--source`: where a read-only scan (`report`, `cleanup verify`) reads
/// the traces. `cleanup purge` always lists: an inventory lags by a day.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum ScanSource {
    /// The store's own listing.
    #[default]
    Listing,
    /// The store's inventory (an S3 Inventory), refused where there is none.
    Inventory,
    /// The inventory when it is fresh, else the listing.
    Auto,
}

impl ScanSource {
    /// For a store without inventories: `--source inventory` is refused,
    /// `auto` is the listing.
    pub(crate) fn listing_only(self, env: &str, store: &str) -> Result<()> {
        match self {
            ScanSource::Listing | ScanSource::Auto => Ok(()),
            ScanSource::Inventory => Err(Error::usage(format!(
                "--source inventory: environment '{env}' is {store}, not an S3 bucket (S3 Inventory is a bucket's)"
            ))),
        }
    }
}

/// What `env`'s store renders (`render`'s `StoreFiles`), without a run:
/// nothing connects, and the command line's overrides do not apply.
pub(crate) fn files(env: &Environment) -> Result<StoreFiles> {
    open(env, &Connections::default()).files()
}

/// Settles every environment of `spec` against its Laravel app when the
/// spec is loaded: `env.app` becomes the app directory in use (`--app`,
/// which is `flag`, else `app:`, else the working directory when it looks
/// like a Laravel app), and a store that lives in the app follows it (the
/// local disk's root, when the spec leaves it open).
pub(crate) fn resolve(spec: &mut Spec, flag: Option<&std::path::Path>) {
    for env in spec.environments.values_mut() {
        env.app = crate::app::locate(flag, env.app.as_deref());
        if let Storage::Local(local) = &mut env.storage {
            local::root::settle(local, env.app.as_deref(), &env.name);
        }
    }
    // A hybrid pair's tiers are copies of their environments: settled too.
    let settled = spec.environments.clone();
    for env in spec.environments.values_mut() {
        if let Storage::Hybrid(pair) = &mut env.storage {
            for tier in [&mut pair.hot, &mut pair.cold] {
                if let Some(now) = settled.get(&tier.name) {
                    **tier = now.clone();
                }
            }
        }
    }
}

/// Opens `env`'s store: the one place that tells the storage kinds apart.
/// Nothing connects yet; each step connects (once per run) when it runs.
pub(crate) fn open<'a>(env: &'a Environment, connections: &'a Connections) -> Box<dyn Store + 'a> {
    match &env.storage {
        Storage::Local(local) => Box::new(local::plugin::LocalDisk::new(env, local)),
        Storage::S3(s3) => Box::new(s3::plugin::Bucket::new(
            env,
            s3,
            &connections.overrides,
            &connections.s3_clients,
            connections.state_dir(),
        )),
        Storage::Gcs(gcs) => Box::new(gcs::plugin::GcsBucket::new(
            env,
            gcs,
            &connections.overrides,
        )),
        Storage::Redis(redis) => Box::new(redis::plugin::RedisKeys::new(
            env,
            redis,
            &connections.overrides,
        )),
        Storage::Database(db) => {
            Box::new(sql::plugin::SqlTable::new(env, db, &connections.overrides))
        }
        Storage::Hybrid(hybrid) => Box::new(hybrid::plugin::HybridPair::new(
            env,
            hybrid,
            open(&hybrid.hot, connections),
            open(&hybrid.cold, connections),
        )),
    }
}
