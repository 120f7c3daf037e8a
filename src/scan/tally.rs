//! Streaming aggregation: every listed entry is folded into a `Tally` and
//! forgotten. Its size is bounded by the number of days and storage
//! classes, never by the number of objects.

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::{Entry, EntryKind, Place};

/// A count of objects and their bytes.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Volume {
    pub objects: u64,
    pub bytes: u64,
}

impl Volume {
    /// Adds one object of `bytes`.
    pub fn add(&mut self, bytes: u64) {
        self.objects += 1;
        self.bytes += bytes;
    }

    /// Adds another volume.
    pub fn merge(&mut self, other: Volume) {
        self.objects += other.objects;
        self.bytes += other.bytes;
    }
}

/// The aggregate of a scan.
#[derive(Debug, Default, Clone)]
pub struct Tally {
    /// Current objects (what a plain listing shows).
    pub current: Volume,
    /// Noncurrent versions (versioned buckets).
    pub noncurrent: Volume,
    pub delete_markers: u64,
    /// Current objects per partition day.
    pub by_day: BTreeMap<NaiveDate, Volume>,
    /// Current objects outside dated partitions.
    pub unpartitioned: Volume,
    /// Current objects per storage class.
    pub by_class: BTreeMap<String, Volume>,
    /// Age days of current objects.
    pub oldest: Option<NaiveDate>,
    pub newest: Option<NaiveDate>,
    /// Everything past retention: objects, noncurrent versions and delete
    /// markers (a marker counts one object of zero bytes).
    pub expired: Volume,
    /// Expired entries per partition day.
    pub expired_partitions: BTreeMap<NaiveDate, Volume>,
    /// The oldest age day among expired entries.
    pub oldest_expired: Option<NaiveDate>,
}

impl Tally {
    /// Folds one entry in.
    pub fn record(&mut self, entry: &Entry, place: Place, expired: bool) {
        let day = place.day();
        match entry.kind {
            EntryKind::Current => self.record_current(entry, place),
            EntryKind::Noncurrent => self.noncurrent.add(entry.size),
            EntryKind::DeleteMarker => self.delete_markers += 1,
        }
        if expired {
            self.expired.add(entry.size);
            if let Place::Partition(d) = place {
                self.expired_partitions
                    .entry(d)
                    .or_default()
                    .add(entry.size);
            }
            self.oldest_expired = min_day(self.oldest_expired, Some(day));
        }
    }

    /// Folds in a whole group of current traces at once: a store that
    /// counts on its server (SQL's grouped query per day) rather than
    /// listing entries. No storage class is recorded.
    pub fn record_volume(&mut self, place: Place, volume: Volume, expired: bool) {
        if volume.objects == 0 {
            return;
        }
        self.current.merge(volume);
        match place {
            Place::Partition(d) => self.by_day.entry(d).or_default().merge(volume),
            Place::Loose(_) => self.unpartitioned.merge(volume),
        }
        self.oldest = min_day(self.oldest, Some(place.day()));
        self.newest = max_day(self.newest, Some(place.day()));
        if expired {
            self.expired.merge(volume);
            if let Place::Partition(d) = place {
                self.expired_partitions.entry(d).or_default().merge(volume);
            }
            self.oldest_expired = min_day(self.oldest_expired, Some(place.day()));
        }
    }

    fn record_current(&mut self, entry: &Entry, place: Place) {
        self.current.add(entry.size);
        match place {
            Place::Partition(d) => self.by_day.entry(d).or_default().add(entry.size),
            Place::Loose(_) => self.unpartitioned.add(entry.size),
        }
        let class = entry.class.as_deref().unwrap_or("STANDARD");
        match self.by_class.get_mut(class) {
            Some(volume) => volume.add(entry.size),
            None => {
                let mut volume = Volume::default();
                volume.add(entry.size);
                self.by_class.insert(class.to_string(), volume);
            }
        }
        self.oldest = min_day(self.oldest, Some(place.day()));
        self.newest = max_day(self.newest, Some(place.day()));
    }

    /// Adds another tally (from a partition scanned concurrently).
    pub fn merge(&mut self, other: Tally) {
        self.current.merge(other.current);
        self.noncurrent.merge(other.noncurrent);
        self.delete_markers += other.delete_markers;
        merge_map(&mut self.by_day, other.by_day);
        self.unpartitioned.merge(other.unpartitioned);
        merge_map(&mut self.by_class, other.by_class);
        self.oldest = min_day(self.oldest, other.oldest);
        self.newest = max_day(self.newest, other.newest);
        self.expired.merge(other.expired);
        merge_map(&mut self.expired_partitions, other.expired_partitions);
        self.oldest_expired = min_day(self.oldest_expired, other.oldest_expired);
    }
}

fn merge_map<K: Ord>(into: &mut BTreeMap<K, Volume>, from: BTreeMap<K, Volume>) {
    for (key, volume) in from {
        into.entry(key).or_default().merge(volume);
    }
}

fn min_day(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn max_day(a: Option<NaiveDate>, b: Option<NaiveDate>) -> Option<NaiveDate> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").expect("test date")
    }

    fn entry(size: u64, kind: EntryKind) -> Entry {
        Entry {
            key: "p/traces/x.zip".into(),
            size,
            modified: None,
            class: None,
            version_id: None,
            kind,
        }
    }

    #[test]
    fn counts_days_classes_and_expiry() {
        let mut a = Tally::default();
        a.record(
            &entry(10, EntryKind::Current),
            Place::Partition(d("2026-01-01")),
            true,
        );
        a.record(
            &entry(5, EntryKind::Noncurrent),
            Place::Partition(d("2026-01-01")),
            true,
        );
        a.record(
            &entry(0, EntryKind::DeleteMarker),
            Place::Partition(d("2026-01-01")),
            true,
        );
        let mut b = Tally::default();
        b.record(
            &entry(7, EntryKind::Current),
            Place::Partition(d("2026-02-01")),
            false,
        );
        b.record(
            &entry(3, EntryKind::Current),
            Place::Loose(d("2026-02-05")),
            false,
        );
        a.merge(b);

        assert_eq!(
            a.current,
            Volume {
                objects: 3,
                bytes: 20
            }
        );
        assert_eq!(
            a.noncurrent,
            Volume {
                objects: 1,
                bytes: 5
            }
        );
        assert_eq!(a.delete_markers, 1);
        assert_eq!(
            a.unpartitioned,
            Volume {
                objects: 1,
                bytes: 3
            }
        );
        assert_eq!(a.by_day.len(), 2);
        assert_eq!(
            a.by_class["STANDARD"],
            Volume {
                objects: 3,
                bytes: 20
            }
        );
        assert_eq!(
            a.expired,
            Volume {
                objects: 3,
                bytes: 15
            }
        );
        assert_eq!(a.expired_partitions[&d("2026-01-01")].objects, 3);
        assert_eq!(a.oldest, Some(d("2026-01-01")));
        assert_eq!(a.newest, Some(d("2026-02-05")));
        assert_eq!(a.oldest_expired, Some(d("2026-01-01")));
    }

    #[test]
    fn a_whole_day_folds_in_like_its_entries() {
        let mut one_by_one = Tally::default();
        for size in [4, 6] {
            let mut e = entry(size, EntryKind::Current);
            e.class = Some("STANDARD".into());
            one_by_one.record(&e, Place::Partition(d("2026-01-01")), true);
        }
        let mut grouped = Tally::default();
        let volume = Volume {
            objects: 2,
            bytes: 10,
        };
        grouped.record_volume(Place::Partition(d("2026-01-01")), volume, true);
        grouped.record_volume(Place::Partition(d("2026-01-02")), Volume::default(), true);
        assert_eq!(grouped.current, one_by_one.current);
        assert_eq!(grouped.by_day, one_by_one.by_day);
        assert_eq!(grouped.expired, one_by_one.expired);
        assert_eq!(grouped.expired_partitions, one_by_one.expired_partitions);
        assert_eq!(grouped.oldest_expired, one_by_one.oldest_expired);
        assert!(grouped.by_class.is_empty());
    }
}
