//! The seam for a SQL table (the seed's `DatabaseTraceStorage`): a day is
//! `date(created_at)`, counted on the server by one grouped query (only
//! the days past the cutoff for verify and purge, a range on the
//! `created_at` index); the purge deletes in short batches by primary key
//! (`stores::sql::scan`); nothing expires by itself (`Retention::None`: the tool's
//! purge is the mechanism). Rows without `created_at` are counted outside
//! the partitions and never judged expired.

#![warn(unreachable_pub)]

use std::sync::OnceLock;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::report::model::StorageSummary;
use crate::scan::{Judge, Place, Progress, ScanOutcome, Selection, Volume};
use crate::stores::sql::Db;
use crate::stores::sql::inspect::Sizes;
use crate::stores::sql::scan::{BATCH_ROWS, Budget, DayCount, cutoff_text};
use crate::stores::{Retention, RetentionWant, TraceStore};

/// A connected traces table.
#[derive(Debug)]
pub(crate) struct SqlStore {
    db: Db,
    /// Table and index sizes, read by a full scan (the report's).
    sizes: OnceLock<Option<Sizes>>,
    batch_rows: usize,
}

impl SqlStore {
    pub(crate) fn new(db: Db) -> SqlStore {
        SqlStore {
            db,
            sizes: OnceLock::new(),
            batch_rows: BATCH_ROWS,
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
    /// each batch as it commits (what an interruption reports).
    async fn purge(
        &self,
        before: &str,
        mut budget: Budget,
        out: &mut ScanOutcome,
        progress: &Progress,
    ) -> Result<()> {
        let mut resume = None;
        loop {
            // Stop between batches, never inside one (see `interrupt::uncut`).
            if crate::interrupt::requested() {
                return Err(Error::Interrupted);
            }
            let started = std::time::Instant::now();
            let batch = self
                .db
                .purge_batch(before, self.batch_rows, &mut resume)
                .await?;
            // The batch's transaction is the longest any lock is held.
            let rows: u64 = batch.iter().map(|d| d.volume.objects).sum();
            tracing::debug!(
                rows,
                ms = started.elapsed().as_millis() as u64,
                "purge batch committed"
            );
            if batch.is_empty() {
                return Ok(());
            }
            let mut total = Volume::default();
            for count in &batch {
                progress.deleted(count.day, count.volume, 0);
                total.merge(count.volume);
            }
            out.deleted.merge(total);
            progress.advance(total.objects, "purged");
            budget.spend(total.objects).map_err(|why| {
                Error::cloud(format!(
                    "purging {}: {why}; stopped",
                    self.db.storage.location()
                ))
            })?;
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
            let days = self
                .db
                .days(expired_only.then_some(before.as_str()))
                .await?;
            let mut out = ScanOutcome::default();
            Self::tally(judge, selection, &days, &mut out, &self.db.sql.name);
            if selection == Selection::All {
                let sizes = self.db.sizes().await?;
                let _ = self.sizes.set(sizes);
            }
            if purge {
                self.purge(&before, Budget::of(&days), &mut out, progress)
                    .await?;
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

    fn retention<'a>(
        &'a self,
        _want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        futures::future::ready(Ok(Retention::None)).boxed_local()
    }
}
