//! `migrate`: copy an environment's traces into another environment's
//! store, in that store's layout, keeping each trace's id and date; with
//! `--move`, then remove each source copy. Any two stores: the work goes
//! through `stores::items` and names none of them.
//!
//! Nothing is lost, whatever stops the run:
//! - per trace, the copy is written and **confirmed by the destination**
//!   (its checksum, or a read-back) before the source copy is touched;
//! - the source copy is removed only **if unchanged** since it was read
//!   (the version read, the same bytes), by the source store itself;
//! - a trace already in the destination with the same bytes is not
//!   written again (a rerun finishes an interrupted run), and one with
//!   other bytes is never overwritten (a per-trace error);
//! - Ctrl-C stops between traces (the traces in flight finish), a
//!   destination that keeps failing stops the run, and either way each
//!   trace is in the source, the destination or both, byte for byte.
//!
//! Without `--yes` it is a dry run: the source's listing alone (counts,
//! bytes, per day), nothing read or written.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use futures::StreamExt;
use serde::Serialize;

use crate::bundle;
use crate::error::{Error, Result};
use crate::ops::Outcome;
use crate::ops::session::Session;
use crate::report::DayRow;
use crate::scan::{Progress, Volume};
use crate::spec::Environment;
use crate::stores::items::{
    Held, ReadCopy, Removed, TraceItems, TraceRef, Written, plain_id, same_place,
};

/// The per-trace errors a report lists (the count is always whole).
const LISTED_ERRORS: usize = 100;

/// What `migrate` was asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MigrateSettings {
    /// Only traces stored more than this many days ago.
    pub(crate) older_than: Option<u32>,
    /// Remove each source copy once its copy is confirmed.
    pub(crate) move_traces: bool,
    /// Really copy (otherwise a dry run).
    pub(crate) apply: bool,
    /// Traces copied at once.
    pub(crate) concurrency: usize,
    pub(crate) progress: bool,
}

/// What a migration did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub(crate) struct MigrateReport {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) from_location: String,
    pub(crate) to_location: String,
    pub(crate) dry_run: bool,
    #[serde(rename = "move")]
    pub(crate) move_traces: bool,
    pub(crate) older_than_days: Option<u32>,
    /// Traces stored before this day were selected (`--older-than`).
    pub(crate) before: Option<String>,
    /// Traces the source listed (selected).
    pub(crate) listed: u64,
    pub(crate) listed_bytes: u64,
    /// Written to the destination and confirmed.
    pub(crate) copied: u64,
    pub(crate) copied_bytes: u64,
    /// Already in the destination with the same bytes (not written again).
    pub(crate) already_there: u64,
    /// Source copies removed (`--move`), each after its copy was confirmed.
    pub(crate) removed_from_source: u64,
    /// Not written: past the destination's own retention (kept in the source).
    pub(crate) past_destination_retention: u64,
    /// Gone from the source between its listing and its reading.
    pub(crate) gone_from_source: u64,
    /// Traces that failed (each kept in the source); the first listed below.
    pub(crate) failed: u64,
    pub(crate) errors: Vec<TraceError>,
    /// Per day: what the dry run would copy, or what was copied.
    pub(crate) days: Vec<DayRow>,
    pub(crate) interrupted: bool,
    pub(crate) stopped_by_error: Option<String>,
}

/// One trace that could not be migrated, and why.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct TraceError {
    pub(crate) trace: String,
    pub(crate) message: String,
}

/// How one trace ended.
#[derive(Debug)]
enum Moved {
    Copied {
        bytes: u64,
        removed: Option<Removed>,
    },
    AlreadyThere {
        removed: Option<Removed>,
    },
    PastRetention,
    Gone,
    /// Not started: the run is stopping.
    NotStarted,
    /// The trace's own problem (its bytes, a different copy): the run goes on.
    Refused(String),
    /// A store's error: the run goes on unless they keep coming.
    Failed(Error),
}

/// Copies (and with `--move`, moves) `from`'s traces into `to`'s store.
pub(crate) async fn migrate(
    session: &Session,
    from: &Environment,
    to: &Environment,
    settings: MigrateSettings,
) -> Result<Outcome<MigrateReport>> {
    if from.name == to.name || same_place(from, to) {
        return Err(Error::usage_with_hint(
            format!(
                "migrate --from {} --to {}: the same store and place; a copy onto itself would lose traces",
                from.name, to.name
            ),
            "name two environments whose stores (or prefixes, tables, key prefixes) differ",
        ));
    }
    let source_store = crate::stores::open(from, &session.connections);
    let destination_store = crate::stores::open(to, &session.connections);
    let source = source_store.items().await?;
    let destination = destination_store.items().await?;
    let before = settings
        .older_than
        .map(|days| crate::clock::now().date_naive() - chrono::Days::new(u64::from(days)));
    let mut report = MigrateReport {
        from: from.name.clone(),
        to: to.name.clone(),
        from_location: source.location(),
        to_location: destination.location(),
        dry_run: !settings.apply,
        move_traces: settings.move_traces,
        older_than_days: settings.older_than,
        before: before.map(|d| d.to_string()),
        ..MigrateReport::default()
    };
    let progress = Progress::when(settings.progress);
    let _cooperating = crate::interrupt::cooperate();
    let run = Run {
        source: &*source,
        destination: &*destination,
        settings,
        progress: &progress,
    };
    let stopped = run.all(before, &mut report).await;
    progress.finish();
    Ok(match stopped {
        None => Outcome::Done(report),
        Some(by) => {
            report.interrupted = matches!(by, Error::Interrupted);
            if !report.interrupted {
                report.stopped_by_error = Some(by.to_string().replace('\n', " "));
            }
            Outcome::Stopped { so_far: report, by }
        }
    })
}

/// One migration's two stores and settings.
struct Run<'a> {
    source: &'a dyn TraceItems,
    destination: &'a dyn TraceItems,
    settings: MigrateSettings,
    progress: &'a Progress,
}

impl Run<'_> {
    /// Every page of the source's listing; what stopped the run, if
    /// anything did.
    async fn all(&self, before: Option<NaiveDate>, report: &mut MigrateReport) -> Option<Error> {
        let mut days: BTreeMap<NaiveDate, Volume> = BTreeMap::new();
        let mut cursor = None;
        // Store errors in a row: a destination that died fails every
        // trace, and each would wait out its time limit.
        let mut failing = 0usize;
        let give_up = (2 * self.settings.concurrency).max(10);
        let stopped = loop {
            if crate::interrupt::requested() {
                break Some(Error::Interrupted);
            }
            let page = match self.source.list(before, cursor.take()).await {
                Ok(page) => page,
                Err(e) => break Some(e),
            };
            for trace in &page.traces {
                report.listed += 1;
                report.listed_bytes += trace.size;
                if !self.settings.apply {
                    days.entry(trace.day()).or_default().add(trace.size);
                }
            }
            if self.settings.apply {
                let mut results = futures::stream::iter(page.traces.iter())
                    .map(|trace| async move { (trace, self.one(trace).await) })
                    .buffer_unordered(self.settings.concurrency.max(1));
                let mut last_failure = None;
                while let Some((trace, moved)) = results.next().await {
                    if let Moved::Failed(e) = &moved {
                        failing += 1;
                        last_failure = Some(e.to_string());
                    } else if !matches!(moved, Moved::NotStarted) {
                        failing = 0;
                    }
                    record(report, &mut days, trace, moved);
                    let verb = if self.settings.move_traces {
                        "moved"
                    } else {
                        "copied"
                    };
                    self.progress.advance(1, verb);
                }
                if failing >= give_up {
                    break Some(Error::cloud(format!(
                        "{failing} traces in a row failed; stopped (the last: {})",
                        last_failure.unwrap_or_default()
                    )));
                }
            } else {
                self.progress.advance(page.traces.len() as u64, "listed");
            }
            match page.next {
                Some(next) => cursor = Some(next),
                None => break None,
            }
        };
        report.days = days.into_iter().map(|(d, v)| DayRow::new(d, v)).collect();
        if crate::interrupt::requested() {
            return Some(Error::Interrupted);
        }
        stopped
    }

    /// Copies one trace, confirms it, and with `--move` removes its source
    /// copy if unchanged.
    async fn one(&self, trace: &TraceRef) -> Moved {
        if crate::interrupt::requested() {
            return Moved::NotStarted;
        }
        if !plain_id(&trace.id) {
            return Moved::Refused(format!(
                "the id {:?} cannot name a key, file or row elsewhere",
                trace.id
            ));
        }
        let read = match self.source.read(trace).await {
            Ok(Some(read)) => read,
            Ok(None) => return Moved::Gone,
            Err(e) => return Moved::Failed(e),
        };
        let bytes = match bundle::convert(
            read.bytes.clone(),
            self.source.format(),
            self.destination.format(),
            trace.created,
        ) {
            Ok(bytes) => bytes,
            Err(why) => return Moved::Refused(why),
        };
        let held = match self
            .destination
            .held(&trace.id, trace.created, &bytes)
            .await
        {
            Ok(held) => held,
            Err(e) => return Moved::Failed(e),
        };
        match held {
            Held::Different => Moved::Refused(format!(
                "{} holds another trace with this id: left alone, and the source copy kept",
                self.destination.location()
            )),
            Held::Same => Moved::AlreadyThere {
                removed: match self.remove(trace, &read).await {
                    Ok(removed) => removed,
                    Err(e) => return Moved::Failed(e),
                },
            },
            Held::Absent => match self
                .destination
                .write(&trace.id, trace.created, &bytes)
                .await
            {
                Ok(Written::PastRetention) => Moved::PastRetention,
                Ok(Written::Confirmed) => Moved::Copied {
                    bytes: bytes.len() as u64,
                    removed: match self.remove(trace, &read).await {
                        Ok(removed) => removed,
                        Err(e) => return Moved::Failed(e),
                    },
                },
                Err(e) => Moved::Failed(e),
            },
        }
    }

    /// With `--move`, the source copy removed if unchanged.
    async fn remove(&self, trace: &TraceRef, read: &ReadCopy) -> Result<Option<Removed>> {
        if !self.settings.move_traces {
            return Ok(None);
        }
        #[cfg(feature = "testing")]
        test_gate::wait(&trace.id).await;
        self.source.remove(trace, read).await.map(Some)
    }
}

/// Test hook, not a user feature (test builds only, like the clock's):
/// with `CHRONOTRACE_OPS_TEST_MIGRATE_GATE=FILE`, the first removal of a
/// source copy writes its trace id to `FILE.paused` and waits (at most a
/// minute) until `FILE` is gone, so that a test can change that trace
/// between its copy and its removal.
#[cfg(feature = "testing")]
mod test_gate {
    use std::sync::atomic::{AtomicBool, Ordering};

    static PASSED: AtomicBool = AtomicBool::new(false);

    pub(super) async fn wait(id: &str) {
        let Some(gate) = std::env::var_os("CHRONOTRACE_OPS_TEST_MIGRATE_GATE") else {
            return;
        };
        if PASSED.swap(true, Ordering::SeqCst) {
            return;
        }
        let gate = std::path::PathBuf::from(gate);
        let mut paused = gate.clone().into_os_string();
        paused.push(".paused");
        let _ = std::fs::write(&paused, id);
        for _ in 0..3000 {
            if !gate.exists() {
                return;
            }
            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
        }
    }
}

/// Folds one trace's end into the report.
fn record(
    report: &mut MigrateReport,
    days: &mut BTreeMap<NaiveDate, Volume>,
    trace: &TraceRef,
    moved: Moved,
) {
    let removed = match moved {
        Moved::Copied { bytes, removed } => {
            report.copied += 1;
            report.copied_bytes += bytes;
            days.entry(trace.day()).or_default().add(bytes);
            removed
        }
        Moved::AlreadyThere { removed } => {
            report.already_there += 1;
            removed
        }
        Moved::PastRetention => {
            report.past_destination_retention += 1;
            None
        }
        Moved::Gone => {
            report.gone_from_source += 1;
            None
        }
        Moved::NotStarted => None,
        Moved::Refused(message) => {
            fail(report, trace, message);
            None
        }
        Moved::Failed(e) => {
            fail(report, trace, e.to_string().replace('\n', " "));
            None
        }
    };
    match removed {
        Some(Removed::Removed) => report.removed_from_source += 1,
        Some(Removed::Changed) => fail(
            report,
            trace,
            "changed in the source after it was copied: kept in the source, the destination has the copy read before".into(),
        ),
        None => {}
    }
}

fn fail(report: &mut MigrateReport, trace: &TraceRef, message: String) {
    report.failed += 1;
    if report.errors.len() < LISTED_ERRORS {
        report.errors.push(TraceError {
            trace: trace.id.clone(),
            message,
        });
    }
}
