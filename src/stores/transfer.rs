//! Moving traces from one store to another, one at a time, through the
//! `items` seam (it names no store): what `migrate` runs between two
//! environments, and the hybrid store's archive from its hot tier to its
//! cold one.
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
//! A dry run reads the source's listing alone (counts, bytes, per day).

#![warn(unreachable_pub)]

use std::collections::{BTreeSet, HashMap};

use chrono::NaiveDate;
use futures::StreamExt;

use crate::bundle;
use crate::error::{Error, Result};
use crate::scan::{Advance, Progress, TraceMoved, TransferCounts};
use crate::stores::items::{
    DayHeld, Fingerprint, Held, ReadCopy, Removed, TraceItems, TraceRef, Written, md5_hex, plain_id,
};

/// What a transfer is asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct TransferSettings {
    /// Only traces stored before this day.
    pub(crate) before: Option<NaiveDate>,
    /// Remove each source copy once its copy is confirmed.
    pub(crate) move_traces: bool,
    /// Really copy (otherwise a dry run).
    pub(crate) apply: bool,
    /// Traces copied at once.
    pub(crate) concurrency: usize,
}

/// Two stores and what to do between them.
pub(crate) struct Transfer<'a> {
    pub(crate) source: &'a dyn TraceItems,
    pub(crate) destination: &'a dyn TraceItems,
    pub(crate) settings: TransferSettings,
    pub(crate) progress: &'a Progress,
}

impl Transfer<'_> {
    /// Every page of the source's listing, each trace's end folded into
    /// `counts`; what stopped the run, if anything did (Ctrl-C, the
    /// source's listing failing, the destination failing trace after trace).
    pub(crate) async fn run(&self, counts: &mut TransferCounts) -> Option<Error> {
        let mut cursor = None;
        // Store errors in a row: a destination that died fails every
        // trace, and each would wait out its time limit.
        let mut failing = 0usize;
        let give_up = (2 * self.settings.concurrency).max(10);
        let verb = if self.settings.move_traces {
            "moved"
        } else {
            "copied"
        };
        // What the destination holds of the days the current page covers,
        // from one listing a day where it can tell (kept while the pages
        // stay on that day): a trace then costs one write, not a lookup
        // and a write.
        let mut known: HashMap<NaiveDate, DayHeld> = HashMap::new();
        // A listing that hands back a cursor it gave before would go round
        // for ever: stop it.
        let mut advance = Advance::by_key();
        loop {
            if crate::interrupt::requested() {
                return Some(Error::Interrupted);
            }
            let page = match self.source.list(self.settings.before, cursor.take()).await {
                Ok(page) => page,
                Err(e) => return Some(e),
            };
            for trace in &page.traces {
                counts.listed(trace.day(), trace.size, !self.settings.apply);
            }
            if self.settings.apply {
                known = match self.held_days(&page.traces, known).await {
                    Ok(known) => known,
                    Err(e) => return Some(e),
                };
                let known = &known;
                let mut results =
                    futures::stream::iter(page.traces.iter())
                        .map(|trace| async move {
                            (trace, self.one(trace, known.get(&trace.day())).await)
                        })
                        .buffer_unordered(self.settings.concurrency.max(1));
                let mut last_failure = None;
                while let Some((trace, (moved, store_error))) = results.next().await {
                    match (&moved, store_error) {
                        (_, Some(e)) => {
                            failing += 1;
                            last_failure = Some(e);
                        }
                        (TraceMoved::NotStarted, None) => {}
                        (_, None) => failing = 0,
                    }
                    counts.record(&trace.id, trace.day(), moved);
                    self.progress.advance(1, verb);
                }
                if failing >= give_up {
                    return Some(Error::cloud(format!(
                        "{failing} traces in a row failed; stopped (the last: {})",
                        last_failure.unwrap_or_default()
                    )));
                }
            } else {
                self.progress.advance(page.traces.len() as u64, "listed");
            }
            match page.next {
                Some(next) => {
                    if let Err(stuck) = advance.cursor(&next) {
                        let at = self.source.location();
                        return Some(Error::cloud(format!("listing {at}: {stuck}")));
                    }
                    cursor = Some(next);
                }
                None => break,
            }
        }
        crate::interrupt::requested().then_some(Error::Interrupted)
    }

    /// What the destination holds of each day of `traces`, reusing what
    /// `known` has of those days already.
    async fn held_days(
        &self,
        traces: &[TraceRef],
        mut known: HashMap<NaiveDate, DayHeld>,
    ) -> Result<HashMap<NaiveDate, DayHeld>> {
        let days: BTreeSet<NaiveDate> = traces.iter().map(TraceRef::day).collect();
        let mut now = HashMap::new();
        for day in days {
            let held = match known.remove(&day) {
                Some(held) => Some(held),
                None => self.destination.held_day(day).await?,
            };
            if let Some(held) = held {
                now.insert(day, held);
            }
        }
        Ok(now)
    }

    /// What the destination holds under the trace's id: from its day's
    /// listing when there is one (and it gives an MD5), else asked.
    async fn held(&self, trace: &TraceRef, bytes: &[u8], day: Option<&DayHeld>) -> Result<Held> {
        let listed = day.map(|day| day.get(&trace.id));
        match listed {
            Some(None) => Ok(Held::Absent),
            Some(Some(Fingerprint { size, .. })) if *size != bytes.len() as u64 => {
                Ok(Held::Different)
            }
            Some(Some(Fingerprint { md5: Some(md5), .. })) => Ok(if *md5 == md5_hex(bytes) {
                Held::Same
            } else {
                Held::Different
            }),
            Some(Some(_)) | None => self.destination.held(&trace.id, trace.created, bytes).await,
        }
    }

    /// Copies one trace, confirms it, and when moving removes its source
    /// copy if unchanged; with a store's error (as opposed to the trace's
    /// own problem), that error's line.
    async fn one(&self, trace: &TraceRef, day: Option<&DayHeld>) -> (TraceMoved, Option<String>) {
        let failed = |e: Error| {
            let line = e.to_string().replace('\n', " ");
            (TraceMoved::Failed(line.clone()), Some(line))
        };
        if crate::interrupt::requested() {
            return (TraceMoved::NotStarted, None);
        }
        if !plain_id(&trace.id) {
            let why = format!(
                "the id {:?} cannot name a key, file or row elsewhere",
                trace.id
            );
            return (TraceMoved::Failed(why), None);
        }
        let read = match self.source.read(trace).await {
            Ok(Some(read)) => read,
            Ok(None) => return (TraceMoved::Gone, None),
            Err(e) => return failed(e),
        };
        let bytes = match bundle::convert(
            read.bytes.clone(),
            self.source.format(),
            self.destination.format(),
            trace.created,
        ) {
            Ok(bytes) => bytes,
            Err(why) => return (TraceMoved::Failed(why), None),
        };
        let held = match self.held(trace, &bytes, day).await {
            Ok(held) => held,
            Err(e) => return failed(e),
        };
        let moved = match held {
            Held::Different => {
                let why = format!(
                    "{} holds another trace with this id: left alone, and the source copy kept",
                    self.destination.location()
                );
                return (TraceMoved::Failed(why), None);
            }
            Held::Same => match self.remove(trace, &read).await {
                Ok(removed) => TraceMoved::AlreadyThere { removed },
                Err(e) => return failed(e),
            },
            Held::Absent => match self
                .destination
                .write(&trace.id, trace.created, &bytes)
                .await
            {
                Ok(Written::PastRetention) => TraceMoved::PastRetention,
                Ok(Written::Confirmed) => match self.remove(trace, &read).await {
                    Ok(removed) => TraceMoved::Copied {
                        bytes: bytes.len() as u64,
                        removed,
                    },
                    Err(e) => return failed(e),
                },
                Err(e) => return failed(e),
            },
        };
        (moved, None)
    }

    /// When moving, the source copy removed if unchanged (`Some(true)`),
    /// or left because it changed (`Some(false)`).
    async fn remove(&self, trace: &TraceRef, read: &ReadCopy) -> Result<Option<bool>> {
        if !self.settings.move_traces {
            return Ok(None);
        }
        #[cfg(feature = "testing")]
        test_gate::wait(&trace.id).await;
        let removed = self.source.remove(trace, read).await?;
        Ok(Some(removed == Removed::Removed))
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
