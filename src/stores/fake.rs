//! An in-memory trace store for unit tests of the logic above the seam
//! (`ops`): day partitions of objects, objects outside partitions (judged
//! by their modification day), keys whose delete fails, a probe result and
//! a retention mechanism, all set by the test. It walks its contents the
//! way the real stores do (`stores::local::scan`, `stores::s3::scan`): partitions found
//! and listed, a tally per entry, deletes of what is past retention when
//! purging, per-key errors counted. The server tests stay the proof that
//! the real stores behave so; this fake only lets `ops` be tested alone.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::sync::Mutex;

use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::{Retention, RetentionWant, TraceStore};
use crate::check::CheckResult;
use crate::error::Result;
use crate::report::model::StorageSummary;
use crate::scan::{Entry, EntryKind, Judge, KeyError, Place, Progress, ScanOutcome, Selection};

/// One stored trace: its key, size and storage class.
#[derive(Debug, Clone)]
struct Object {
    key: String,
    size: u64,
    class: Option<String>,
    modified: Option<DateTime<Utc>>,
}

/// What the store holds and how it answers, set by the test.
#[derive(Debug)]
pub(crate) struct FakeStore {
    days: BTreeMap<NaiveDate, Vec<Object>>,
    loose: Vec<Object>,
    failing: BTreeSet<String>,
    probe: CheckResult,
    retention: Retention,
    /// Keys deleted so far (a dry run must leave this empty).
    deleted: Mutex<Vec<String>>,
    /// What `retention` was last asked (the spec's want, the sample key).
    asked: Mutex<Option<(RetentionWant, Option<String>)>>,
}

impl FakeStore {
    /// An empty store with no retention mechanism (like a local disk) and
    /// a passing probe.
    pub(crate) fn new() -> FakeStore {
        FakeStore {
            days: BTreeMap::new(),
            loose: Vec::new(),
            failing: BTreeSet::new(),
            probe: CheckResult::pass("probe", "fake store: written, read, deleted"),
            retention: Retention::None,
            deleted: Mutex::new(Vec::new()),
            asked: Mutex::new(None),
        }
    }

    /// Adds `count` traces of `size` bytes to the partition of `day`
    /// (`YYYY-MM-DD`), in storage class `class` (`None`: STANDARD).
    pub(crate) fn with_day(self, day: &str, count: usize, size: u64) -> FakeStore {
        self.with_day_in(day, count, size, None)
    }

    /// As `with_day`, in a named storage class.
    pub(crate) fn with_day_in(
        mut self,
        day: &str,
        count: usize,
        size: u64,
        class: Option<&str>,
    ) -> FakeStore {
        let date = parse_day(day);
        let objects = self.days.entry(date).or_default();
        for _ in 0..count {
            let key = format!("traces/{day}/{}.zip", objects.len());
            objects.push(Object {
                key,
                size,
                class: class.map(str::to_string),
                modified: None,
            });
        }
        self
    }

    /// Adds one object outside any partition, last modified on `day`
    /// (`None`: unknown, never judged expired).
    pub(crate) fn with_loose(mut self, key: &str, size: u64, day: Option<&str>) -> FakeStore {
        let modified = day.map(|d| parse_day(d).and_hms_opt(12, 0, 0).map(|t| t.and_utc()));
        self.loose.push(Object {
            key: key.to_string(),
            size,
            class: None,
            modified: modified.flatten(),
        });
        self
    }

    /// Makes the delete of `key` fail (as a bucket's per-key error does).
    pub(crate) fn failing_delete(mut self, key: &str) -> FakeStore {
        self.failing.insert(key.to_string());
        self
    }

    /// Sets what the write/read/delete probe answers.
    pub(crate) fn with_probe(mut self, probe: CheckResult) -> FakeStore {
        self.probe = probe;
        self
    }

    /// Sets the store's own retention mechanism.
    pub(crate) fn with_retention(mut self, retention: Retention) -> FakeStore {
        self.retention = retention;
        self
    }

    /// The keys deleted so far, in order.
    pub(crate) fn deleted(&self) -> Vec<String> {
        self.deleted.lock().map(|d| d.clone()).unwrap_or_default()
    }

    /// What the last `retention` call was asked.
    pub(crate) fn asked(&self) -> Option<(RetentionWant, Option<String>)> {
        self.asked.lock().ok().and_then(|a| a.clone())
    }

    /// Tallies (and, purging, deletes) one object at `place`.
    fn visit(&self, object: &Object, place: Place, walk: &Walk<'_>, out: &mut ScanOutcome) {
        let expired = walk.judge.expired(place.day());
        let entry = Entry {
            key: object.key.clone(),
            size: object.size,
            modified: object.modified,
            class: object.class.clone().map(Cow::Owned),
            version_id: None,
            kind: EntryKind::Current,
        };
        out.tally.record(&entry, place, expired);
        if !expired {
            return;
        }
        if out.sample_expired.is_none() {
            out.sample_expired = Some(object.key.clone());
        }
        if !walk.purge {
            return;
        }
        if self.failing.contains(&object.key) {
            out.error_count += 1;
            out.keep_errors(vec![KeyError {
                key: object.key.clone(),
                version_id: None,
                code: "AccessDenied".into(),
                message: "fake: delete refused".into(),
            }]);
        } else {
            out.deleted.add(object.size);
            if let Ok(mut deleted) = self.deleted.lock() {
                deleted.push(object.key.clone());
            }
        }
        walk.progress.advance(1, "purged");
    }
}

/// One scan's settings.
struct Walk<'a> {
    judge: &'a Judge,
    purge: bool,
    progress: &'a Progress,
}

fn parse_day(day: &str) -> NaiveDate {
    NaiveDate::parse_from_str(day, "%Y-%m-%d").unwrap_or_else(|_| panic!("test day {day}"))
}

impl TraceStore for FakeStore {
    fn location(&self) -> String {
        "fake://traces".into()
    }

    fn describe(&self, summary: &mut StorageSummary) {
        summary.kind = "fake".into();
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        let walk = Walk {
            judge,
            purge,
            progress,
        };
        let mut out = ScanOutcome::default();
        for (day, objects) in &self.days {
            out.partitions_found += 1;
            if !judge.selects(selection, *day) {
                continue;
            }
            out.partitions_listed += 1;
            for object in objects {
                self.visit(object, Place::Partition(*day), &walk, &mut out);
            }
        }
        // Outside partitions, everything is read (by modification day).
        for object in &self.loose {
            let place = Place::Loose(judge.loose_day(object.modified));
            self.visit(object, place, &walk, &mut out);
        }
        progress.finish();
        futures::future::ready(Ok(out)).boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        futures::future::ready(self.probe.clone()).boxed_local()
    }

    fn retention<'a>(
        &'a self,
        want: &'a RetentionWant,
        sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        if let Ok(mut asked) = self.asked.lock() {
            *asked = Some((want.clone(), sample.map(str::to_string)));
        }
        futures::future::ready(Ok(self.retention.clone())).boxed_local()
    }
}
