//! Judging a flat list of keys (an S3 Inventory's rows) exactly as the
//! listing judges its units (`stores::s3::scan`): a key under
//! `{prefix}/traces/{YYYY-MM-DD}/` is in that partition, anything else
//! under `{prefix}/` is judged by its modification day, keys outside the
//! prefix are not the environment's. Under `Selection::Expired` only the
//! partitions past the cutoff are counted, as the listing lists only them,
//! so both sources give the same figures on the same objects. Pure.

use std::collections::BTreeSet;

use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::Serialize;

use super::{Entry, Judge, Place, ScanOutcome, Selection};
use crate::retention::parse_partition;
use crate::spec::Prefix;

/// Folds entries in any order into an outcome; bounded by days, not keys.
#[derive(Debug)]
pub struct KeyedFold<'a> {
    judge: &'a Judge,
    selection: Selection,
    root: String,
    traces: String,
    outcome: ScanOutcome,
    /// The partition days seen (what the listing's seek would find).
    days: BTreeSet<NaiveDate>,
}

impl<'a> KeyedFold<'a> {
    /// A fold over the environment under `prefix`.
    pub fn new(judge: &'a Judge, selection: Selection, prefix: &Prefix) -> KeyedFold<'a> {
        KeyedFold {
            judge,
            selection,
            root: prefix.dir(),
            traces: prefix.traces_dir(),
            outcome: ScanOutcome::default(),
            days: BTreeSet::new(),
        }
    }

    /// Where `entry` sits, or `None` when it is outside the prefix.
    fn place(&self, entry: &Entry) -> Option<Place> {
        if !entry.key.starts_with(&self.root) {
            return None;
        }
        let day = entry
            .key
            .strip_prefix(&self.traces)
            .and_then(|rest| rest.split_once('/'))
            .and_then(|(folder, _)| parse_partition(folder));
        Some(match day {
            Some(day) => Place::Partition(day),
            None => Place::Loose(self.judge.loose_day(entry.modified)),
        })
    }

    /// Folds one entry in (or leaves it out: outside the prefix, or in a
    /// partition the selection does not read).
    pub fn record(&mut self, entry: &Entry) {
        let Some(place) = self.place(entry) else {
            return;
        };
        if let Place::Partition(day) = place {
            self.days.insert(day);
            if !self.judge.selects(self.selection, day) {
                return;
            }
        }
        let expired = self.judge.expired(place.day());
        self.outcome.tally.record(entry, place, expired);
        if expired && self.outcome.sample_expired.is_none() {
            self.outcome.sample_expired = Some(entry.key.clone());
        }
    }

    /// The outcome, with the partitions found and those read.
    pub fn finish(self) -> ScanOutcome {
        let mut outcome = self.outcome;
        outcome.partitions_found = self.days.len();
        outcome.partitions_listed = self
            .days
            .iter()
            .filter(|d| self.judge.selects(self.selection, **d))
            .count();
        outcome
    }
}

/// Where a scan's figures come from, when not from the usual listing
/// (`source` in the JSON of `report` and `cleanup verify`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DataSource {
    /// `inventory`, or `listing` when `--source auto` fell back to it.
    pub kind: &'static str,
    /// The inventory's `manifest.json`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest: Option<String>,
    /// When the inventory's scan started: the figures are as of then.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub as_of: Option<String>,
    /// How old the figures are, in hours (one decimal).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub age_hours: Option<f64>,
    /// Why a listing was read instead.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl DataSource {
    /// Figures from the inventory `manifest`, started at `as_of`.
    pub fn inventory(manifest: &str, as_of: DateTime<Utc>, age_hours: f64) -> DataSource {
        DataSource {
            kind: "inventory",
            manifest: Some(manifest.to_string()),
            as_of: Some(as_of.to_rfc3339_opts(SecondsFormat::Secs, true)),
            age_hours: Some((age_hours * 10.0).round() / 10.0),
            note: None,
        }
    }

    /// Figures from a listing, read instead of an inventory for `note`.
    pub fn listing(note: Option<String>) -> DataSource {
        DataSource {
            kind: "listing",
            manifest: None,
            as_of: None,
            age_hours: None,
            note,
        }
    }

    /// One line for people: where the figures come from and their age.
    pub fn line(&self) -> String {
        match (&self.as_of, self.age_hours, &self.note) {
            (Some(as_of), Some(age), _) => format!(
                "S3 Inventory as of {as_of} ({age:.1} hours old; objects written or deleted since are not in it)"
            ),
            (_, _, Some(note)) => note.clone(),
            _ => self.kind.to_string(),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{DateTime, Utc};

    use super::*;
    use crate::scan::EntryKind;

    fn entry(key: &str, modified: &str) -> Entry {
        Entry {
            key: key.into(),
            size: 3,
            modified: DateTime::parse_from_rfc3339(modified)
                .ok()
                .map(|t| t.with_timezone(&Utc)),
            class: None,
            version_id: None,
            kind: EntryKind::Current,
        }
    }

    fn fold(selection: Selection) -> ScanOutcome {
        let judge = Judge::fixture();
        let prefix = Prefix::parse("p").expect("prefix");
        let mut fold = KeyedFold::new(&judge, selection, &prefix);
        for (key, modified) in [
            ("p/traces/2026-10-01/a.zip", "2026-11-20T00:00:00Z"),
            ("p/traces/2026-10-01/b.zip", "2026-11-20T00:00:00Z"),
            ("p/traces/2026-11-25/c.zip", "2026-11-25T00:00:00Z"),
            ("p/traces/misc/old.log", "2026-09-01T00:00:00Z"),
            ("p/traces/2026-10-02", "2026-11-25T00:00:00Z"),
            ("p/_probe/x", "2026-11-25T00:00:00Z"),
            ("q/traces/2026-10-01/other-env.zip", "2026-10-01T00:00:00Z"),
        ] {
            fold.record(&entry(key, modified));
        }
        fold.finish()
    }

    #[test]
    fn keys_are_placed_as_the_listing_places_them() {
        let all = fold(Selection::All);
        assert_eq!(all.tally.current.objects, 6, "the other prefix is left out");
        assert_eq!((all.partitions_found, all.partitions_listed), (2, 2));
        assert_eq!(all.tally.by_day.len(), 2);
        assert_eq!(
            all.tally.unpartitioned.objects, 3,
            "misc, a file in traces/, the probe"
        );
        // 2 in the old partition, and misc/old.log by its modification day.
        assert_eq!(all.tally.expired.objects, 3);
    }

    #[test]
    fn the_expired_selection_counts_only_partitions_past_the_cutoff() {
        let expired = fold(Selection::Expired);
        assert_eq!(
            (expired.partitions_found, expired.partitions_listed),
            (2, 1)
        );
        assert_eq!(expired.tally.current.objects, 5, "not the fresh partition");
        assert_eq!(expired.tally.expired.objects, 3);
        assert!(expired.sample_expired.is_some());
    }
}
