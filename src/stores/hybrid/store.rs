//! A hybrid pair's traces (`TraceStore`): both tiers' scans, and the pair's
//! own work on top.
//! - **purge:** the archive first — every hot trace older than `hot_days`
//!   moved to the cold tier (`stores::transfer`: each copy confirmed by the
//!   cold tier before the hot copy goes, a changed or failed one kept) —
//!   then the cold tier's own purge past the pair's retention. The hot
//!   tier is not purged: what stays there failed to archive and is kept.
//! - **verify, report, a dry run:** both tiers scanned and judged against
//!   the pair's retention, what the archive would move, and the pair's
//!   findings (`findings`).

#![warn(unreachable_pub)]

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::findings;
use crate::check::CheckResult;
use crate::error::Result;
use crate::report::model::StorageSummary;
use crate::scan::{Judge, Progress, ScanOutcome, Selection, TransferCounts};
use crate::spec::HybridStorage;
use crate::stores::items::TraceItems;
use crate::stores::transfer::{Transfer, TransferSettings};
use crate::stores::{Retention, RetentionWant, TraceStore};

/// Both tiers, as scans and one trace at a time.
#[derive(Debug)]
pub(crate) struct HybridTraces {
    pub(crate) hot: Box<dyn TraceStore>,
    pub(crate) cold: Box<dyn TraceStore>,
    pub(crate) hot_items: Box<dyn TraceItems>,
    pub(crate) cold_items: Box<dyn TraceItems>,
    pub(crate) hybrid: HybridStorage,
    pub(crate) concurrency: usize,
}

impl HybridTraces {
    /// The archive: hot traces older than `hot_days` moved to the cold
    /// tier (`apply`), or counted (a dry run).
    async fn archive(&self, apply: bool, progress: &Progress) -> Result<TransferCounts> {
        let before =
            crate::clock::now().date_naive() - chrono::Days::new(u64::from(self.hybrid.hot_days));
        let transfer = Transfer {
            source: &*self.hot_items,
            destination: &*self.cold_items,
            settings: TransferSettings {
                before: Some(before),
                move_traces: true,
                apply,
                concurrency: self.concurrency,
            },
            progress,
        };
        // The archive stops itself between traces (Ctrl-C is seen after
        // each one), never cut inside one: so what it says it moved is
        // exactly what left the hot tier.
        let _uncut = crate::interrupt::uncut();
        let mut counts = TransferCounts::default();
        match transfer.run(&mut counts).await {
            None => Ok(counts),
            Some(stopped) => {
                // What the stopped purge reports (it reads the progress).
                progress.purged().archive = Some(counts);
                Err(stopped)
            }
        }
    }

    async fn scan_pair(
        &self,
        judge: &Judge,
        selection: Selection,
        purge: bool,
        progress: &Progress,
    ) -> Result<ScanOutcome> {
        if purge {
            let archived = self.archive(true, progress).await?;
            let mut outcome = self.cold.scan(judge, selection, true, progress).await?;
            outcome.archive = Some(archived);
            return Ok(outcome);
        }
        let mut outcome = self.hot.scan(judge, selection, false, progress).await?;
        outcome.merge(self.cold.scan(judge, selection, false, progress).await?);
        outcome.archive = Some(self.archive(false, progress).await?);
        let counts = findings::walk(
            &*self.hot_items,
            &*self.cold_items,
            &self.hybrid,
            crate::clock::now(),
        )
        .await?;
        outcome.findings.extend(counts.findings(&self.hybrid));
        Ok(outcome)
    }
}

impl TraceStore for HybridTraces {
    fn location(&self) -> String {
        format!(
            "hot {} → cold {}",
            self.hot.location(),
            self.cold.location()
        )
    }

    fn describe(&self, summary: &mut StorageSummary) {
        self.cold.describe(summary);
        summary.kind = "hybrid".into();
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        self.scan_pair(judge, selection, purge, progress)
            .boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        self.cold.probe()
    }

    fn retention<'a>(
        &'a self,
        _want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        // The pair's mechanism is its purge (the archive, then the cold
        // tier's purge); each tier's own rule or TTL is its own check.
        futures::future::ready(Ok(Retention::None)).boxed_local()
    }
}
