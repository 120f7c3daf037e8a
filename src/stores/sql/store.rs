//! The seam for a SQL table (the seed's `DatabaseTraceStorage`): a day is
//! `date(created_at)`, counted on the server (`stores::sql::scan`; only
//! the days past the cutoff for verify and purge, a range on the
//! `created_at` index); the purge deletes in short batches by primary key
//! (`stores::sql::scan`); nothing expires by itself (`Retention::None`: the tool's
//! purge is the mechanism). Rows without `created_at` are counted outside
//! the partitions and never judged expired.

#![warn(unreachable_pub)]

use std::cell::{Cell, RefCell};
use std::sync::OnceLock;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::report::model::StorageSummary;
use crate::scan::{Judge, Place, Progress, ScanOutcome, Selection, TablePartition, Volume};
use crate::spec::database::Dialect;
use crate::stores::sql::Db;
use crate::stores::sql::inspect::Sizes;
use crate::stores::sql::partitions::{Layout, Partition};
use crate::stores::sql::past_partitions::Retire;
use crate::stores::sql::scan::{
    BATCH_ROWS, BatchSizer, Budget, Cursor, DayCount, Lane, cutoff_text, merge_days,
};
use crate::stores::{Retention, RetentionWant, TraceStore};

/// A connected traces table.
#[derive(Debug)]
pub(crate) struct SqlStore {
    db: Db,
    /// Table and index sizes, read by a full scan (the report's).
    sizes: OnceLock<Option<Sizes>>,
    batch_rows: usize,
    /// What a purge does with the partitions wholly past the cutoff
    /// (`--detach`: keeps them as tables).
    retire: Retire,
}

impl SqlStore {
    pub(crate) fn new(db: Db) -> SqlStore {
        SqlStore {
            db,
            sizes: OnceLock::new(),
            batch_rows: BATCH_ROWS,
            retire: Retire::Drop,
        }
    }

    /// Folds the per-day counts into the outcome.
    fn tally(
        judge: &Judge,
        selection: Selection,
        days: &[DayCount],
        out: &mut ScanOutcome,
        table: &str,
    ) {
        for count in days {
            let Some(day) = count.day else {
                out.tally
                    .record_volume(Place::Loose(judge.today), count.volume, false);
                continue;
            };
            out.partitions_found += 1;
            if !judge.selects(selection, day) {
                continue;
            }
            out.partitions_listed += 1;
            let expired = judge.expired(day);
            out.tally
                .record_volume(Place::Partition(day), count.volume, expired);
            if expired && out.sample_expired.is_none() {
                out.sample_expired = Some(format!("{table} rows of {day}"));
            }
        }
    }

    /// Deletes every row before `cutoff`, batch after batch, recording
    /// each batch as it commits (what an interruption reports), in the
    /// lanes `Db::lanes` gives (two at once on PostgreSQL). The rows past
    /// the cutoff when it began (`counted`) may arrive while it runs:
    /// until then batches keep their first size, and the budget is
    /// settled once they are known (before a second pass at the latest).
    /// A lane that fails stops the others after their batch in flight:
    /// a batch is never cut to end the purge sooner (`interrupt::uncut`).
    async fn purge(
        &self,
        before: &str,
        counted: &Counted,
        out: &mut ScanOutcome,
        progress: &Progress,
    ) -> Result<()> {
        let lanes = self.db.lanes(before).await?;
        let shared = Purging {
            out: RefCell::new(out),
            budget: RefCell::new(None),
            unsettled: Cell::new(0),
            failed: Cell::new(false),
        };
        let runs = lanes.iter().map(|lane| async {
            let result = self.purge_lane(lane, counted, &shared, progress).await;
            if result.is_err() {
                shared.failed.set(true);
            }
            result
        });
        futures::future::join_all(runs)
            .await
            .into_iter()
            .collect::<Result<Vec<()>>>()
            .map(|_| ())
    }

    /// One lane of a purge (`purge`).
    async fn purge_lane(
        &self,
        lane: &Lane,
        counted: &Counted,
        shared: &Purging<'_>,
        progress: &Progress,
    ) -> Result<()> {
        let mut cursor = Cursor::of(lane);
        let mut sizer = BatchSizer::new(self.first_batch_rows());
        let mut sized = false;
        loop {
            // Stop between batches, never inside one (see `interrupt::uncut`).
            if crate::interrupt::requested() {
                return Err(Error::Interrupted);
            }
            if shared.failed.get() {
                // Another lane failed: its error ends the purge.
                return Ok(());
            }
            if shared.budget.borrow().is_none() && cursor.starts_a_pass_again() {
                counted.wait().await;
            }
            if let Some(known) = counted.get() {
                if !sized {
                    // A purge of a few batches keeps them whole: sizing
                    // them would only split what is quickly done anyway.
                    sizer.adapt = known.left() > 3 * self.batch_rows as u64;
                    sized = true;
                }
                if shared.budget.borrow().is_none() {
                    *shared.budget.borrow_mut() = Some(known);
                    self.spend(shared, shared.unsettled.take())?;
                }
            }
            let started = std::time::Instant::now();
            let batch = self
                .db
                .purge_batch(&lane.ceiling, sizer.rows, &mut cursor)
                .await?;
            // The batch's transaction is the longest any lock is held.
            let ms = started.elapsed().as_millis() as u64;
            if batch.done {
                // The last look found nothing to delete: no lock taken.
                tracing::debug!(ms, "purge done: nothing left past the cutoff");
                return Ok(());
            }
            let rows: u64 = batch.days.iter().map(|d| d.volume.objects).sum();
            tracing::debug!(rows, size = sizer.rows, ms, "purge batch committed");
            sizer.learn(rows, ms);
            let total = self.record(&batch.days, &mut shared.out.borrow_mut(), progress);
            if shared.budget.borrow().is_some() {
                self.spend(shared, total.objects)?;
            } else {
                shared.unsettled.set(shared.unsettled.get() + total.objects);
            }
        }
    }

    /// A purge's first batch, in rows: `batch_rows`, or on MySQL/MariaDB
    /// a fifth of it: InnoDB deletes a row in about 25 µs (PostgreSQL in
    /// 1 to 3), so 5,000 would hold their locks well past the time a batch
    /// should take; the sizer grows it from there.
    fn first_batch_rows(&self) -> usize {
        match self.db.sql.dialect {
            Dialect::Mysql => (self.batch_rows / 5).max(1),
            Dialect::Postgres | Dialect::Sqlite => self.batch_rows,
        }
    }

    /// Records what went (a batch, a partition) into the outcome and the
    /// progress; returns its total.
    fn record(&self, days: &[DayCount], out: &mut ScanOutcome, progress: &Progress) -> Volume {
        let mut total = Volume::default();
        for count in days {
            progress.deleted(count.day, count.volume, 0);
            total.merge(count.volume);
        }
        out.deleted.merge(total);
        progress.advance(total.objects, "purged");
        total
    }

    /// Records `rows` deleted against the budget; an error once the
    /// purge deleted more than there were.
    fn spend(&self, shared: &Purging<'_>, rows: u64) -> Result<()> {
        let mut budget = shared.budget.borrow_mut();
        let Some(budget) = budget.as_mut() else {
            return Ok(());
        };
        budget.spend(rows).map_err(|why| {
            Error::cloud(format!(
                "purging {}: {why}; stopped",
                self.db.storage.location()
            ))
        })
    }
}

/// What the lanes of one purge share (they run on one thread, taking
/// turns at each await: no borrow is held across one).
struct Purging<'a> {
    out: RefCell<&'a mut ScanOutcome>,
    /// Settled once the count is known.
    budget: RefCell<Option<Budget>>,
    /// Deleted before the count was known.
    unsettled: Cell<u64>,
    /// A lane failed: the others stop after their batch in flight.
    failed: Cell<bool>,
}

/// The purge's budget once the count is known (`None` inside: the count
/// failed, and its error ends the run).
#[derive(Debug, Default)]
struct Counted {
    budget: std::cell::Cell<Option<Option<Budget>>>,
    known: tokio::sync::Notify,
}

impl Counted {
    fn set(&self, budget: Option<Budget>) {
        self.budget.set(Some(budget));
        // Every lane waiting on it (a Notified future created before
        // this call is woken even if not yet polled).
        self.known.notify_waiters();
    }

    fn get(&self) -> Option<Budget> {
        self.budget.get().flatten()
    }

    /// Until the count is in (or failed).
    async fn wait(&self) {
        if self.budget.get().is_none() {
            self.known.notified().await;
        }
    }
}

impl SqlStore {
    /// Each partition of `layout` and its rows (before `before` when
    /// given), those in `past` marked as what a purge does with them:
    /// dropped whole, or detached and kept under a name.
    async fn partition_counts(
        &self,
        layout: Option<&Layout>,
        past: &[Partition],
        before: Option<&str>,
    ) -> Result<Vec<TablePartition>> {
        let Some(layout) = layout else {
            return Ok(Vec::new());
        };
        let mut counts = Vec::with_capacity(layout.partitions.len());
        for partition in &layout.partitions {
            let days = self.db.partition_days(partition, before).await?;
            let total = days.iter().fold(Volume::default(), |mut total, day| {
                total.merge(day.volume);
                total
            });
            counts.push(self.table_partition(partition, total, past.contains(partition)));
        }
        Ok(counts)
    }

    /// How `partition` and what it holds (`total`) are reported; `whole`:
    /// it is wholly past the cutoff, and dropped or detached as `retire` says.
    fn table_partition(&self, partition: &Partition, total: Volume, whole: bool) -> TablePartition {
        TablePartition {
            name: partition.name.clone(),
            bounds: partition.bounds.clone(),
            rows: total.objects,
            bytes: total.bytes,
            dropped_whole: whole && self.retire == Retire::Drop,
            detached_as: (whole && self.retire == Retire::Detach)
                .then(|| self.db.kept_name(partition)),
        }
    }
}

impl TraceStore for SqlStore {
    fn location(&self) -> String {
        self.db.storage.location()
    }

    fn describe(&self, summary: &mut StorageSummary) {
        summary.kind = "database".into();
        summary.provider = Some(self.db.storage.dialect.name().into());
        summary.table = Some(self.db.sql.name.clone());
        if let Some(Some(sizes)) = self.sizes.get() {
            summary.table_bytes = Some(sizes.table_bytes);
            summary.index_bytes = Some(sizes.index_bytes);
            // Every rendering shows the location: the sizes go with it.
            summary.location = format!(
                "{} (table {}, indexes {}, from the server's catalog)",
                summary.location,
                crate::report::fmt::bytes(sizes.table_bytes),
                crate::report::fmt::bytes(sizes.index_bytes)
            );
        }
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        async move {
            let before = cutoff_text(judge.cutoff);
            let expired_only = selection == Selection::Expired;
            let mut out = ScanOutcome::default();
            // PostgreSQL and MySQL/MariaDB count what is past the cutoff
            // on a connection of its own while the others delete: the
            // count reads a snapshot taken before the first batch, so it
            // sees what was there when the purge began, as a count run
            // first would (at a million rows it takes 0.15 s on
            // PostgreSQL, 1.2 s on MariaDB: the purge no longer waits).
            let counted = Counted::default();
            // The partitions wholly past the cutoff go whole
            // (`partitions`), before the count: dropping would wait on a
            // count beside it, and the count on the drop.
            let (layout, past) = self.db.wholly_past(&before).await?;
            if self.retire == Retire::Detach {
                // Refused before any change: nothing to detach, a server
                // that cannot, or a name already taken.
                self.db.may_detach(layout.as_ref(), &past).await?;
            }
            if !purge {
                // What verify, a dry run and the report say per partition.
                let only_past = expired_only.then_some(before.as_str());
                out.table_partitions = self
                    .partition_counts(layout.as_ref(), &past, only_past)
                    .await?;
            }
            let whole = if purge && expired_only {
                past
            } else {
                Vec::new()
            };
            let days = if purge
                && expired_only
                && whole.is_empty()
                && self.db.sql.dialect != Dialect::Sqlite
            {
                let statement = self.db.days_statement(true).await?;
                let snapshot = self.db.snapshot().await?;
                let count = async {
                    let days = self.db.days_in(snapshot, &statement, &before).await;
                    counted.set(days.as_ref().ok().map(|d| Budget::of(d)));
                    days
                };
                let (days, ()) =
                    futures::try_join!(count, self.purge(&before, &counted, &mut out, progress))?;
                days
            } else {
                // The partitions wholly past the cutoff go first, each
                // counted under its lock as it goes; the count after them
                // reads only what is left (the boundary partition).
                let mut dropped = Vec::new();
                for partition in &whole {
                    if crate::interrupt::requested() {
                        return Err(Error::Interrupted);
                    }
                    let started = std::time::Instant::now();
                    let days = self.db.retire_partition(partition, self.retire).await?;
                    let total = self.record(&days, &mut out, progress);
                    let gone = self.table_partition(partition, total, true);
                    // What an interrupted purge reports it had taken out.
                    progress.purged().table_partitions.push(gone.clone());
                    out.table_partitions.push(gone);
                    tracing::debug!(
                        partition = partition.name.as_str(),
                        rows = total.objects,
                        ms = started.elapsed().as_millis() as u64,
                        how = ?self.retire,
                        "partition past the cutoff taken out of the table"
                    );
                    merge_days(&mut dropped, &days);
                }
                let days = self
                    .db
                    .days(expired_only.then_some(before.as_str()))
                    .await?;
                if purge {
                    counted.set(Some(Budget::of(&days)));
                    self.purge(&before, &counted, &mut out, progress).await?;
                }
                if dropped.is_empty() {
                    days
                } else {
                    merge_days(&mut dropped, &days);
                    dropped
                }
            };
            Self::tally(judge, selection, &days, &mut out, &self.db.sql.name);
            if selection == Selection::All {
                let sizes = self.db.sizes().await?;
                let _ = self.sizes.set(sizes);
            }
            if purge {
                for day in days
                    .iter()
                    .filter_map(|d| d.day)
                    .filter(|d| judge.expired(*d))
                {
                    progress.finished(day);
                }
                progress.finish();
            }
            Ok(out)
        }
        .boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        async move {
            let checks = crate::stores::sql::check::run(&self.db.storage, self.db.timeouts()).await;
            checks
                .into_iter()
                .find(|c| c.id == "sql.probe")
                .unwrap_or_else(|| CheckResult::skip("sql.probe", "not run"))
        }
        .boxed_local()
    }

    fn detach_partitions(&mut self) -> Result<()> {
        self.retire = Retire::Detach;
        Ok(())
    }

    fn retention<'a>(
        &'a self,
        _want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        futures::future::ready(Ok(Retention::None)).boxed_local()
    }
}
