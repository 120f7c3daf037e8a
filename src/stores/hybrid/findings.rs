//! What a hybrid pair's verify finds beyond each tier's retention, from
//! one walk of both tiers' traces (the cold tier's ids first, then the hot
//! tier page by page):
//! - `hybrid.archive-lag`: hot traces older than `hot_days` and a day (the
//!   daily archive) that the cold tier does not hold;
//! - `hybrid.at-risk`: of those, the ones the hot tier expires within a day
//!   (its `retention_days`, the seed's TTL): lost unless archived now;
//! - `hybrid.critical-hot-only`: critical traces (the seed's rule) only in
//!   the hot tier, which the seed's store writes to cold at once;
//! - `hybrid.cold-duplicates`: ids the cold tier holds more than once (the
//!   seed writes a critical trace to cold twice: at once, and archived);
//! - `hybrid.tiers`: a note, each tier's count, those in both, the unique.

use std::collections::HashMap;

use chrono::{DateTime, Duration, Utc};

use crate::bundle::{self, Format};
use crate::error::{Error, Result};
use crate::scan::{Advance, StoreFinding};
use crate::spec::HybridStorage;
use crate::stores::items::TraceItems;

/// The counts one walk gives.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub(crate) struct PairCounts {
    pub(crate) hot: u64,
    pub(crate) cold: u64,
    /// The cold tier's distinct ids.
    pub(crate) cold_ids: u64,
    pub(crate) both: u64,
    pub(crate) lagging: u64,
    pub(crate) at_risk: u64,
    pub(crate) critical_hot_only: u64,
    pub(crate) cold_duplicates: u64,
}

/// Walks both tiers.
pub(crate) async fn walk(
    hot: &dyn TraceItems,
    cold: &dyn TraceItems,
    hybrid: &HybridStorage,
    now: DateTime<Utc>,
) -> Result<PairCounts> {
    let mut counts = PairCounts::default();
    let mut in_cold: HashMap<String, u32> = HashMap::new();
    let mut cursor = None;
    let mut advance = Advance::by_key();
    loop {
        let page = cold.list(None, cursor.take()).await?;
        for trace in page.traces {
            counts.cold += 1;
            *in_cold.entry(trace.id).or_default() += 1;
        }
        cursor = moved_on(&mut advance, page.next, cold)?;
        if cursor.is_none() {
            break;
        }
    }
    counts.cold_duplicates = in_cold.values().filter(|n| **n > 1).count() as u64;
    counts.cold_ids = in_cold.len() as u64;
    let lag_after = Duration::days(i64::from(hybrid.hot_days) + 1);
    let hot_keeps = Duration::days(i64::from(hybrid.hot.retention_days));
    let mut advance = Advance::by_key();
    loop {
        let page = hot.list(None, cursor.take()).await?;
        for trace in &page.traces {
            counts.hot += 1;
            if in_cold.contains_key(&trace.id) {
                counts.both += 1;
                continue;
            }
            if now - trace.created > lag_after {
                counts.lagging += 1;
                if trace.created + hot_keeps - now < Duration::days(1) {
                    counts.at_risk += 1;
                }
            }
            let Some(copy) = hot.read(trace).await? else {
                continue;
            };
            let json = bundle::convert(copy.bytes, hot.format(), Format::Json, trace.created);
            let critical = json
                .ok()
                .and_then(|j| serde_json::from_slice::<serde_json::Value>(&j).ok())
                .and_then(|v| hybrid.critical.judge(&v));
            if critical == Some(true) {
                counts.critical_hot_only += 1;
            }
        }
        cursor = moved_on(&mut advance, page.next, hot)?;
        if cursor.is_none() {
            break;
        }
    }
    Ok(counts)
}

/// The next page's cursor, `None` at the end; an error when the listing
/// hands back a cursor it gave before (it would go round for ever).
fn moved_on(
    advance: &mut Advance<String>,
    next: Option<String>,
    tier: &dyn TraceItems,
) -> Result<Option<String>> {
    if let Some(next) = &next {
        advance
            .cursor(next)
            .map_err(|stuck| Error::cloud(format!("listing {}: {stuck}", tier.location())))?;
    }
    Ok(next)
}

impl PairCounts {
    /// The findings `cleanup verify` and `report` carry.
    pub(crate) fn findings(&self, hybrid: &HybridStorage) -> Vec<StoreFinding> {
        let finding = |id, count, fails, message: String| StoreFinding {
            id,
            count,
            fails,
            repaired: 0,
            message,
            note: false,
        };
        let unique = self.hot - self.both + self.cold_ids;
        let tiers = StoreFinding {
            note: true,
            ..finding(
                "hybrid.tiers",
                unique,
                false,
                format!(
                    "hot tier '{}': {} traces, cold tier '{}': {}, in both: {}, unique: {unique}",
                    hybrid.hot.name, self.hot, hybrid.cold.name, self.cold, self.both
                ),
            )
        };
        vec![
            tiers,
            finding(
                "hybrid.archive-lag",
                self.lagging,
                true,
                format!(
                    "{} hot traces older than hot_days ({}) and a day are not in the cold tier: the archive has not run, or failed",
                    self.lagging, hybrid.hot_days
                ),
            ),
            finding(
                "hybrid.at-risk",
                self.at_risk,
                true,
                format!(
                    "{} hot traces expire from the hot tier within a day and are in no cold tier: lost unless `cleanup purge --yes` archives them now",
                    self.at_risk
                ),
            ),
            finding(
                "hybrid.critical-hot-only",
                self.critical_hot_only,
                true,
                format!(
                    "{} critical traces (status at least {} or over {} ms) are only in the hot tier",
                    self.critical_hot_only,
                    hybrid.critical.status_at_least,
                    hybrid.critical.duration_ms_over
                ),
            ),
            finding(
                "hybrid.cold-duplicates",
                self.cold_duplicates,
                true,
                format!(
                    "{} trace ids are in the cold tier more than once (written at once and again when archived)",
                    self.cold_duplicates
                ),
            ),
        ]
    }
}
