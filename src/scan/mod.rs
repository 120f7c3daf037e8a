//! The scan engine: walks an environment's traces, aware of the client's
//! layout (`{root}/traces/{YYYY-MM-DD}/…`), and aggregates as it goes.
//!
//! Partitions are judged by their date, everything else under the root by
//! its modification time (`retention`). Listing is streaming: each page is
//! folded into a `Tally` (sizes bounded by the number of days, never by the
//! number of objects) and, when purging, deleted before the next page is
//! read. Pure: the walks themselves are the stores' (`stores::s3::scan` for a
//! bucket, `stores::local::scan` for a directory, behind `stores::TraceStore`).

pub(crate) mod advance;
mod keyed;
mod store_findings;
mod tally;
mod transfer;

pub(crate) use advance::Advance;

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;

use crate::retention::{self, Rule};

pub use keyed::{DataSource, KeyedFold};
pub use store_findings::{StoreFinding, all_pass};
pub use tally::{Tally, Volume};
pub use transfer::{TraceMoved, TransferCounts};

/// Which parts of the tree a scan reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Selection {
    /// Everything (the report).
    All,
    /// Only partitions past the cutoff, plus objects outside partitions
    /// (verify and purge): the cost grows with days, not objects.
    Expired,
}

/// What a scan decides with: the rule, today's date and the cutoff.
#[derive(Debug, Clone, Copy)]
pub struct Judge {
    pub rule: Rule,
    pub today: NaiveDate,
    pub cutoff: NaiveDate,
}

#[cfg(test)]
impl Judge {
    /// The judge the unit tests share: 15 days + 2 grace, on 2026-11-26.
    pub(crate) fn fixture() -> Judge {
        let today = NaiveDate::from_ymd_opt(2026, 11, 26).unwrap_or_default();
        Judge::new(
            Rule {
                retention_days: 15,
                grace_days: 2,
            },
            today,
        )
    }
}

impl Judge {
    /// The judge of `rule` at `today` (UTC).
    pub fn new(rule: Rule, today: NaiveDate) -> Judge {
        Judge {
            rule,
            today,
            cutoff: rule.cutoff(today),
        }
    }

    /// Whether a trace dated `day` is past retention.
    pub fn expired(&self, day: NaiveDate) -> bool {
        day < self.cutoff
    }

    /// Whether a partition is read under `selection`.
    pub fn selects(&self, selection: Selection, day: NaiveDate) -> bool {
        selection == Selection::All || self.expired(day)
    }

    /// The age day of something outside partitions: its modification day;
    /// with no time known, today (never judged expired on a guess).
    pub fn loose_day(&self, modified: Option<DateTime<Utc>>) -> NaiveDate {
        modified.map_or(self.today, |t| t.date_naive())
    }

    /// The cutoff as an RFC 3339 instant, for output.
    pub fn cutoff_text(&self) -> String {
        retention::cutoff_instant(self.cutoff).to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
    }
}

/// Where an entry sits: in a dated partition, or outside any (judged by its
/// modification day). Either way, the day is the entry's age day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Place {
    Partition(NaiveDate),
    Loose(NaiveDate),
}

impl Place {
    /// The day the entry's age counts from.
    pub fn day(self) -> NaiveDate {
        match self {
            Place::Partition(d) | Place::Loose(d) => d,
        }
    }
}

/// What kind of listing entry (versioned buckets list three kinds).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryKind {
    Current,
    Noncurrent,
    DeleteMarker,
}

/// One listed object, version or delete marker (or one local file).
#[derive(Debug, Clone)]
pub struct Entry {
    pub key: String,
    pub size: u64,
    pub modified: Option<DateTime<Utc>>,
    /// Borrowed for the classes S3 names (`stores::s3::storage_class`): a
    /// listing of millions of keys allocates none for them.
    pub class: Option<Cow<'static, str>>,
    pub version_id: Option<String>,
    pub kind: EntryKind,
}

/// One key (and version) that could not be deleted.
#[derive(Debug, Clone, Serialize)]
pub struct KeyError {
    pub key: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version_id: Option<String>,
    pub code: String,
    pub message: String,
}

/// What a purge's count of deleted objects counts, by what the store
/// answers a delete.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum DeletedCount {
    /// Objects the store confirmed this run removed (Redis `UNLINK`, SQL
    /// rows affected, a local file removed): another purge running at the
    /// same time counts its own, and the counts of both add up.
    Removed,
    /// Keys this run asked the store to delete: S3's DeleteObjects answers
    /// "deleted" for a key that was already gone, so two purges at once
    /// may both count a key.
    Requested,
}

/// At most this many per-key errors are kept (the count is always exact).
pub const MAX_KEPT_ERRORS: usize = 1000;

/// What a scan found, and what it deleted when purging.
#[derive(Debug, Default)]
pub struct ScanOutcome {
    pub tally: Tally,
    /// Dated partitions found under `traces/`.
    pub partitions_found: usize,
    /// Of those, the ones read.
    pub partitions_listed: usize,
    pub deleted: Volume,
    pub error_count: u64,
    pub errors: Vec<KeyError>,
    /// One key found past retention (to ask the store which rule applies).
    pub sample_expired: Option<String>,
    /// Defects of the store's own layout (Redis: orphaned index members).
    pub findings: Vec<StoreFinding>,
    /// A hybrid store's archive from its hot tier to its cold one (what a
    /// purge moved, or a dry run would).
    pub archive: Option<TransferCounts>,
    /// A partitioned SQL table's partitions and their rows (verify and a
    /// dry purge: those past the cutoff; a purge: the partitions it
    /// dropped whole or detached).
    pub table_partitions: Vec<TablePartition>,
}

/// One partition of a partitioned SQL table (PostgreSQL declarative,
/// MySQL/MariaDB `PARTITION BY RANGE`) and its rows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TablePartition {
    /// As the server names it.
    pub name: String,
    /// Its bounds as the server writes them (`FOR VALUES FROM (…) TO
    /// (…)`, `VALUES LESS THAN (…)`).
    pub bounds: String,
    /// Its rows: past the cutoff (verify, purge), all of them (report).
    pub rows: u64,
    /// The bytes of their `data`.
    pub bytes: u64,
    /// Wholly past the cutoff: a purge drops it whole (a dry run: would).
    pub dropped_whole: bool,
    /// Wholly past the cutoff, and `cleanup purge --detach`: the name of
    /// the table it is kept as once detached from the traces table (a dry
    /// run: would be); its rows are out of the table but not deleted.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detached_as: Option<String>,
}

impl TablePartition {
    /// A purge takes it out of the table at once: dropped or detached.
    pub fn goes_whole(&self) -> bool {
        self.dropped_whole || self.detached_as.is_some()
    }
}

impl ScanOutcome {
    /// Folds the result of one part of the scan into this one.
    pub fn merge(&mut self, other: ScanOutcome) {
        self.tally.merge(other.tally);
        self.partitions_found += other.partitions_found;
        self.partitions_listed += other.partitions_listed;
        self.deleted.merge(other.deleted);
        self.error_count += other.error_count;
        self.keep_errors(other.errors);
        if self.sample_expired.is_none() {
            self.sample_expired = other.sample_expired;
        }
        self.findings.extend(other.findings);
        if self.archive.is_none() {
            self.archive = other.archive;
        }
        self.table_partitions.extend(other.table_partitions);
    }

    /// Records per-key errors, keeping the first `MAX_KEPT_ERRORS`.
    pub fn keep_errors(&mut self, errors: Vec<KeyError>) {
        let room = MAX_KEPT_ERRORS.saturating_sub(self.errors.len());
        self.errors.extend(errors.into_iter().take(room));
    }
}

/// A progress line on stderr (indicatif): objects done and the rate, only
/// when stderr is a terminal and the command prints text (never under
/// `--output json`, in a pipe or in a log); otherwise hidden and silent.
/// It also records what a purge deleted so far, read when the purge is
/// interrupted (the `ScanOutcome` of an interrupted scan is never returned).
#[derive(Debug)]
pub struct Progress {
    bar: indicatif::ProgressBar,
    purged: std::sync::Mutex<Purged>,
}

/// What a purge deleted so far (exact, whatever the interruption).
#[derive(Debug, Default, Clone)]
pub struct Purged {
    /// Everything deleted.
    pub deleted: Volume,
    /// Deleted per partition day.
    pub by_day: std::collections::BTreeMap<chrono::NaiveDate, Volume>,
    /// Partitions listed to their end (everything expired in them handled).
    pub finished: Vec<chrono::NaiveDate>,
    pub error_count: u64,
    /// A hybrid pair's archive, when it was stopped part-way: what it had
    /// moved by then.
    pub archive: Option<TransferCounts>,
    /// A partitioned SQL table's partitions dropped whole or detached so
    /// far (with their rows, also in `deleted`).
    pub table_partitions: Vec<TablePartition>,
}

/// The line: "purged 1,234 objects (567/s)".
const TEMPLATE: &str = "{msg} {human_pos} objects ({rate})";

/// A rate for the progress line: whole objects per second, one decimal
/// below ten (indicatif's own `{per_sec}` shows four).
fn rate(per_sec: f64) -> String {
    if per_sec.is_finite() && per_sec >= 10.0 {
        format!("{per_sec:.0}/s")
    } else if per_sec.is_finite() && per_sec > 0.0 {
        format!("{per_sec:.1}/s")
    } else {
        "-/s".to_string()
    }
}

/// The progress line's style: `TEMPLATE` with its `{rate}` key.
fn style() -> Result<indicatif::ProgressStyle, indicatif::style::TemplateError> {
    let style = indicatif::ProgressStyle::with_template(TEMPLATE)?;
    Ok(style.with_key(
        "rate",
        |state: &indicatif::ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = w.write_str(&rate(state.per_sec()));
        },
    ))
}

impl Default for Progress {
    /// No progress line at all.
    fn default() -> Self {
        Progress {
            bar: indicatif::ProgressBar::hidden(),
            purged: std::sync::Mutex::default(),
        }
    }
}

impl Progress {
    /// Shows progress only if stderr is a terminal.
    pub fn on_terminal() -> Progress {
        if !std::io::IsTerminal::is_terminal(&std::io::stderr()) {
            return Progress::default();
        }
        let bar =
            indicatif::ProgressBar::with_draw_target(None, indicatif::ProgressDrawTarget::stderr());
        if let Ok(style) = style() {
            bar.set_style(style);
        }
        Progress {
            bar,
            purged: std::sync::Mutex::default(),
        }
    }

    /// Progress only when `wanted` (text output) and stderr is a terminal.
    pub fn when(wanted: bool) -> Progress {
        if wanted {
            Progress::on_terminal()
        } else {
            Progress::default()
        }
    }

    /// Adds `n` items done under `verb` ("purged"); indicatif redraws the
    /// line at most a few times a second, whatever the pace.
    pub fn advance(&self, n: u64, verb: &'static str) {
        if self.bar.position() == 0 {
            self.bar.set_message(verb);
        }
        self.bar.inc(n);
    }

    /// Records what one delete removed (`day`: its partition, if in one).
    pub fn deleted(&self, day: Option<chrono::NaiveDate>, volume: Volume, errors: u64) {
        let mut purged = self.purged();
        purged.deleted.merge(volume);
        if let Some(day) = day {
            purged.by_day.entry(day).or_default().merge(volume);
        }
        purged.error_count += errors;
    }

    /// Records a partition handled to its end.
    pub fn finished(&self, day: chrono::NaiveDate) {
        self.purged().finished.push(day);
    }

    /// What was deleted so far.
    pub fn purged(&self) -> std::sync::MutexGuard<'_, Purged> {
        // A panic elsewhere cannot leave the counts half-updated: use them.
        self.purged.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Ends the progress line: kept on screen if anything was done.
    pub fn finish(&self) {
        if self.bar.position() > 0 {
            self.bar.finish();
        } else {
            self.bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_progress_line_template_is_valid() {
        assert!(style().is_ok());
    }

    #[test]
    fn rates_show_whole_objects_per_second() {
        assert_eq!(rate(21_811.3), "21811/s");
        assert_eq!(rate(12.5), "12/s");
        assert_eq!(rate(2.34), "2.3/s");
        assert_eq!(rate(0.0), "-/s");
        assert_eq!(rate(f64::NAN), "-/s");
    }

    #[test]
    fn hidden_progress_still_counts_and_draws_nothing() {
        // Under the tests stderr is no terminal: `on_terminal` is hidden.
        for progress in [Progress::default(), Progress::when(false)] {
            progress.advance(3, "purged");
            progress.advance(4, "purged");
            assert_eq!(progress.bar.position(), 7);
            assert!(progress.bar.is_hidden());
            progress.finish();
        }
    }
}
