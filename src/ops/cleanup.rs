//! The verification and the purge: is what lies past retention gone (and
//! does the store's own retention mechanism say so), and delete it. The
//! age rule is `retention`, the tally is `scan`, listing, deleting and the
//! mechanism's judgement are the store's (`TraceStore`); this module puts
//! them together.

use serde::Serialize;

use super::session::stoppable;
use super::{DEFAULT_CONCURRENCY, DEFAULT_GRACE_DAYS, Outcome, Session};
use crate::error::{Error, Result};
use crate::report::DayRow;
use crate::retention::{self, Rule, RuleStatus};
use crate::scan::{
    DeletedCount, Judge, KeyError, Progress, Purged, ScanOutcome, Selection, StoreFinding,
    TablePartition, TransferCounts, Volume,
};
use crate::spec::Environment;
use crate::spec::ids::lifecycle_rule_id;
use crate::stores::{self, RetentionWant, ScanSource, TraceStore};

/// What `cleanup verify` is asked: the retention (`None`: the spec's), the
/// days of lifecycle lag allowed, the partitions listed at once.
#[derive(Debug, Clone, Copy)]
pub struct VerifySettings {
    pub days: Option<u32>,
    pub grace: u32,
    pub concurrency: usize,
    /// A progress line on a terminal (false under `--output json`).
    pub progress: bool,
    /// The store's listing, or its inventory (`--source`).
    pub source: super::ScanSource,
}

impl Default for VerifySettings {
    fn default() -> Self {
        VerifySettings {
            days: None,
            grace: DEFAULT_GRACE_DAYS,
            concurrency: DEFAULT_CONCURRENCY,
            progress: false,
            source: super::ScanSource::Listing,
        }
    }
}

/// What `cleanup purge` is asked: as verify, without grace; `delete` false
/// is a dry run.
#[derive(Debug, Clone, Copy)]
pub struct PurgeSettings {
    pub days: Option<u32>,
    pub delete: bool,
    pub concurrency: usize,
    /// A progress line on a terminal (false under `--output json`).
    pub progress: bool,
    /// `--detach`: a partitioned SQL table's partitions wholly past the
    /// cutoff are detached and kept as tables instead of dropped.
    pub detach: bool,
}

/// `cleanup verify` as JSON (the documented JSON contract, plus detail fields).
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub env: String,
    pub ok: bool,
    pub retention_days: u32,
    pub grace_days: u32,
    pub cutoff: String,
    pub scanned_objects: u64,
    pub expired_objects: u64,
    pub expired_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    pub lifecycle: Option<RuleStatus>,
    pub partitions_found: usize,
    pub partitions_listed: usize,
    pub expired_partitions: Vec<DayRow>,
    /// Local traces under the other Laravel root (`storage/app` vs
    /// `storage/app/private`): the verdict above does not cover them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<crate::stores::Stray>,
    /// Defects of the store's own layout (an index's orphaned members,
    /// keys without a TTL); a failing one fails the verification.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub store_findings: Vec<StoreFinding>,
    /// Where the figures come from when not a listing: the store's
    /// inventory and how old it is (`--source inventory|auto`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<crate::scan::DataSource>,
    /// A partitioned SQL table: each partition and its rows past the
    /// cutoff, and whether a purge would drop it whole.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_partitions: Vec<TablePartition>,
}

/// `cleanup purge` as JSON (the documented JSON contract, plus detail fields).
#[derive(Debug, Serialize)]
pub struct PurgeReport {
    pub env: String,
    pub dry_run: bool,
    pub deleted_objects: u64,
    pub deleted_bytes: u64,
    /// What `deleted_objects` counts when the purge deleted (absent on a
    /// dry run): `removed`, what the store confirmed this run removed (two
    /// purges at once add up to what went); `requested`, keys sent to a
    /// store that answers "deleted" for a key already gone (an object store).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub deleted_objects_counted: Option<DeletedCount>,
    pub errors: Vec<KeyError>,
    pub error_count: u64,
    pub retention_days: u32,
    pub cutoff: String,
    /// The expired partitions (what goes, or went).
    pub partitions: Vec<DayRow>,
    /// Expired objects outside partitions (by modification time).
    pub outside_partitions: Volume,
    /// Ctrl-C or SIGTERM stopped the purge: the counts are what was deleted
    /// until then, `partitions` what went from each, and
    /// `finished_partitions` the partitions handled to their end.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub interrupted: bool,
    /// A server's error stopped the purge part-way (the error, one line):
    /// the counts are what the store confirmed deleted until then, as for
    /// an interruption; the command then exits 2.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stopped_by_error: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub finished_partitions: Option<Vec<String>>,
    /// The store's layout defects found, and what the purge repaired.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub store_findings: Vec<StoreFinding>,
    /// A hybrid pair's archive (hot → cold) before the cold tier's purge:
    /// what it moved (or, dry, would move) and what failed, apart from
    /// what the purge deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<TransferCounts>,
    /// A partitioned SQL table: a dry run, each partition and its rows
    /// past the cutoff, `dropped_whole` for those the purge would drop
    /// whole (`detached_as` for those `--detach` would keep as a table);
    /// a purge, the partitions it dropped whole or detached (a stopped
    /// one: those until it stopped).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub table_partitions: Vec<TablePartition>,
    /// With `--detach`, of `deleted_objects` and `deleted_bytes`: the rows
    /// out of the table but kept in the detached partitions' tables (a dry
    /// run: would be), not deleted. Absent when no partition is detached.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached_objects: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached_bytes: Option<u64>,
}

/// The retention of this run: `--days`, else the spec's.
pub fn retention_days(days: Option<u32>, env: &Environment) -> Result<u32> {
    match days {
        Some(0) => Err(Error::usage_with_hint(
            "--days 0: retention must be at least 1 day",
            "a lifecycle rule cannot expire objects on the day they are written either",
        )),
        Some(days) => Ok(days),
        None => Ok(env.retention_days),
    }
}

/// Lists what is past retention in `env` (only the partitions past the
/// cutoff) and judges the lifecycle rule.
pub async fn verify(
    session: &Session,
    env: &Environment,
    settings: VerifySettings,
) -> Result<VerifyReport> {
    let rule = Rule {
        retention_days: retention_days(settings.days, env)?,
        grace_days: settings.grace,
    };
    let judge = Judge::new(rule, retention::today());
    let mut report = stoppable(async {
        let store = stores::open(env, &session.connections)
            .traces(settings.concurrency, settings.source)
            .await?;
        verify_store(
            store.as_ref(),
            env,
            &judge,
            &Progress::when(settings.progress),
        )
        .await
    })
    .await?;
    // Local traces one directory away (the other Laravel root) fail it too.
    report.elsewhere = stores::open(env, &session.connections).elsewhere();
    report.ok &= report.elsewhere.is_none();
    Ok(report)
}

/// The verification of one opened store (the seam `verify` goes through,
/// and the in-process fakes in tests): its verdict on its own, without
/// looking beside it (`elsewhere` is left empty).
pub(crate) async fn verify_store(
    store: &dyn TraceStore,
    env: &Environment,
    judge: &Judge,
    progress: &Progress,
) -> Result<VerifyReport> {
    let outcome = store
        .scan(judge, Selection::Expired, false, progress)
        .await?;
    let lifecycle = lifecycle_status(store, env, outcome.sample_expired.as_deref()).await?;
    let tally = &outcome.tally;
    Ok(VerifyReport {
        env: env.name.clone(),
        ok: tally.expired.objects == 0 && crate::scan::all_pass(&outcome.findings),
        retention_days: judge.rule.retention_days,
        grace_days: judge.rule.grace_days,
        cutoff: judge.cutoff_text(),
        scanned_objects: tally.current.objects + tally.noncurrent.objects + tally.delete_markers,
        expired_objects: tally.expired.objects,
        expired_bytes: tally.expired.bytes,
        oldest: tally.oldest_expired.map(|d| d.to_string()),
        lifecycle,
        partitions_found: outcome.partitions_found,
        partitions_listed: outcome.partitions_listed,
        expired_partitions: expired_rows(&outcome),
        elsewhere: None,
        store_findings: outcome.findings.clone(),
        source: store.data_source(),
        table_partitions: outcome.table_partitions.clone(),
    })
}

/// The tool's lifecycle rule on a bucket (`None` where the store has no
/// lifecycle), and which rule the store applies to one expired trace.
pub async fn lifecycle_status(
    store: &dyn TraceStore,
    env: &Environment,
    sample: Option<&str>,
) -> Result<Option<RuleStatus>> {
    let want = RetentionWant {
        rule_id: lifecycle_rule_id(&env.name),
        days: env.retention_days,
    };
    Ok(store.retention(&want, sample).await?.rule_status())
}

fn expired_rows(outcome: &ScanOutcome) -> Vec<DayRow> {
    outcome
        .tally
        .expired_partitions
        .iter()
        .map(|(d, v)| DayRow::new(*d, *v))
        .collect()
}

/// Deletes (or, as a dry run, counts) everything past retention in `env`.
/// A purge that Ctrl-C, SIGTERM or a server's error stops once it has
/// begun deleting is `Outcome::Stopped` with what the store confirmed
/// deleted until then; an error before (the store unreachable) or during a
/// dry run changed nothing and is the error alone.
pub async fn purge(
    session: &Session,
    env: &Environment,
    settings: PurgeSettings,
) -> Result<Outcome<PurgeReport>> {
    // Purge deletes everything past retention: no grace.
    let rule = Rule {
        retention_days: retention_days(settings.days, env)?,
        grace_days: 0,
    };
    let judge = Judge::new(rule, retention::today());
    let progress = Progress::when(settings.progress);
    let mut counted = DeletedCount::Removed;
    if settings.detach {
        detach_applies(env, session)?;
    }
    let purged = stoppable(async {
        let mut store = stores::open(env, &session.connections)
            .traces(settings.concurrency, ScanSource::Listing)
            .await?;
        if settings.detach {
            store.detach_partitions()?;
        }
        counted = store.deleted_count();
        purge_store(store.as_ref(), env, &judge, settings.delete, &progress).await
    })
    .await;
    match purged {
        Ok(report) => Ok(Outcome::Done(report)),
        // Once it began deleting, a server's error leaves deletions behind.
        Err(by) if matches!(by, Error::Interrupted) || (settings.delete && began(&progress)) => {
            progress.finish();
            let purged = progress.purged();
            let so_far = stopped(env, &judge, settings, &purged, counted, &by);
            Ok(Outcome::Stopped { so_far, by })
        }
        Err(e) => Err(e),
    }
}

/// `--detach` is for a store that may hold table partitions (a SQL table
/// on PostgreSQL or MySQL/MariaDB: whether it is partitioned is the
/// table's catalog's to say); any other is refused before a call.
fn detach_applies(env: &Environment, session: &Session) -> Result<()> {
    let store = stores::open(env, &session.connections);
    if store.may_detach_partitions() {
        return Ok(());
    }
    Err(Error::usage_with_hint(
        format!(
            "--detach: environment '{}' is {}, not a PostgreSQL or MySQL/MariaDB table: it has no table partitions to detach",
            env.name,
            store.location()
        ),
        "run cleanup purge without --detach",
    ))
}

/// The purge had deleted, tried to, finished a partition, or taken a
/// table partition out (an empty one too).
fn began(progress: &Progress) -> bool {
    let purged = progress.purged();
    purged.deleted.objects > 0
        || purged.error_count > 0
        || !purged.finished.is_empty()
        || !purged.table_partitions.is_empty()
}

/// The purge of one opened store (the seam `purge` goes through): with
/// `delete` false, a dry run that deletes nothing and counts what would go.
pub(crate) async fn purge_store(
    store: &dyn TraceStore,
    env: &Environment,
    judge: &Judge,
    delete: bool,
    progress: &Progress,
) -> Result<PurgeReport> {
    let outcome = store
        .scan(judge, Selection::Expired, delete, progress)
        .await?;
    let tally = &outcome.tally;
    let detached = detached(&outcome.table_partitions);
    let done = if delete {
        outcome.deleted
    } else {
        tally.expired
    };
    Ok(PurgeReport {
        env: env.name.clone(),
        dry_run: !delete,
        deleted_objects: done.objects,
        deleted_bytes: done.bytes,
        deleted_objects_counted: delete.then(|| store.deleted_count()),
        errors: outcome.errors.clone(),
        error_count: outcome.error_count,
        retention_days: judge.rule.retention_days,
        cutoff: judge.cutoff_text(),
        partitions: expired_rows(&outcome),
        outside_partitions: outside(tally.expired, tally.expired_partitions.values()),
        interrupted: false,
        stopped_by_error: None,
        finished_partitions: None,
        store_findings: outcome.findings.clone(),
        archive: outcome.archive.clone(),
        table_partitions: outcome.table_partitions.clone(),
        detached_objects: detached.map(|v| v.objects),
        detached_bytes: detached.map(|v| v.bytes),
    })
}

/// The rows of the partitions detached (or, dry, to be), when any is.
fn detached(partitions: &[TablePartition]) -> Option<Volume> {
    let mut kept = partitions
        .iter()
        .filter(|p| p.detached_as.is_some())
        .peekable();
    kept.peek()?;
    Some(kept.fold(Volume::default(), |mut total, p| {
        total.merge(Volume {
            objects: p.rows,
            bytes: p.bytes,
        });
        total
    }))
}

/// What a purge stopped by `by` (Ctrl-C, SIGTERM or a server's error) had
/// deleted (a dry run deleted nothing), as the store counts (`counted`).
fn stopped(
    env: &Environment,
    judge: &Judge,
    settings: PurgeSettings,
    purged: &Purged,
    counted: DeletedCount,
    by: &Error,
) -> PurgeReport {
    let interrupted = matches!(by, Error::Interrupted);
    let detached = detached(&purged.table_partitions);
    PurgeReport {
        env: env.name.clone(),
        dry_run: !settings.delete,
        deleted_objects: purged.deleted.objects,
        deleted_bytes: purged.deleted.bytes,
        deleted_objects_counted: settings.delete.then_some(counted),
        errors: Vec::new(),
        error_count: purged.error_count,
        retention_days: judge.rule.retention_days,
        cutoff: judge.cutoff_text(),
        partitions: purged
            .by_day
            .iter()
            .map(|(d, v)| DayRow::new(*d, *v))
            .collect(),
        outside_partitions: outside(purged.deleted, purged.by_day.values()),
        interrupted,
        stopped_by_error: (!interrupted).then(|| by.to_string().replace('\n', " ")),
        finished_partitions: Some({
            let mut finished = purged.finished.clone();
            finished.sort();
            finished.iter().map(ToString::to_string).collect()
        }),
        store_findings: Vec::new(),
        archive: purged.archive.clone(),
        table_partitions: purged.table_partitions.clone(),
        detached_objects: detached.map(|v| v.objects),
        detached_bytes: detached.map(|v| v.bytes),
    }
}

/// The part of `total` outside the partitions' volumes.
fn outside<'a>(total: Volume, partitions: impl Iterator<Item = &'a Volume>) -> Volume {
    let inside = partitions.fold(Volume::default(), |mut a, v| {
        a.merge(*v);
        a
    });
    Volume {
        objects: total.objects.saturating_sub(inside.objects),
        bytes: total.bytes.saturating_sub(inside.bytes),
    }
}

#[cfg(test)]
#[path = "cleanup_tests.rs"]
pub(crate) mod tests;
