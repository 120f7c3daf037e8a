//! Where a listed object sits in the GCS layouts, and the day its age
//! counts from. Pure.
//!
//! - The seed's flat layout, `{prefix}/{traceId}.json`: the day of the
//!   Unix time in the trace id when it carries one (a UUIDv7's first 48
//!   bits are milliseconds since 1970), else of the object's `timeCreated`.
//! - Day folders, `{prefix}/{YYYY-MM-DD}/…` (the package's S3 layout
//!   written through a GCS disk): the folder's day.
//!
//! Either way the day is the trace's "day partition" (the report's per-day
//! figures). Anything else under the prefix (the probe's folder, a file
//! another tool wrote) is judged by its `timeCreated`, outside partitions.

use chrono::{DateTime, NaiveDate, Utc};

use crate::retention::parse_partition;
use crate::scan::Place;

/// How a trace's day was read (the report says which layout was found).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum AgeFrom {
    /// A `{prefix}/{YYYY-MM-DD}/` folder.
    DayFolder,
    /// The Unix time in a flat trace's id (UUIDv7).
    TraceId,
    /// A flat trace's `timeCreated`.
    TimeCreated,
}

/// Where `name` sits under `dir` (`{prefix}/`) and how its day was read;
/// `None` outside the prefix. `loose_day` judges what is not a trace.
pub(crate) fn place(
    dir: &str,
    name: &str,
    created: Option<DateTime<Utc>>,
    loose_day: impl Fn(Option<DateTime<Utc>>) -> NaiveDate,
) -> Option<(Place, Option<AgeFrom>)> {
    let rest = name.strip_prefix(dir)?;
    if let Some((folder, _)) = rest.split_once('/') {
        return Some(match parse_partition(folder) {
            Some(day) => (Place::Partition(day), Some(AgeFrom::DayFolder)),
            None => (Place::Loose(loose_day(created)), None),
        });
    }
    let Some(id) = rest.strip_suffix(".json").filter(|id| !id.is_empty()) else {
        return Some((Place::Loose(loose_day(created)), None));
    };
    if let Some(day) = uuid_v7_day(id) {
        return Some((Place::Partition(day), Some(AgeFrom::TraceId)));
    }
    Some(match created {
        Some(at) => (
            Place::Partition(at.date_naive()),
            Some(AgeFrom::TimeCreated),
        ),
        None => (Place::Loose(loose_day(None)), None),
    })
}

/// The UTC day of a UUIDv7's timestamp; `None` for any other id.
pub(crate) fn uuid_v7_day(id: &str) -> Option<NaiveDate> {
    uuid_v7_time(id).map(|t| t.date_naive())
}

/// A UUIDv7's timestamp (its first 48 bits, milliseconds since 1970);
/// `None` for any other id.
pub(crate) fn uuid_v7_time(id: &str) -> Option<DateTime<Utc>> {
    let bytes = id.as_bytes();
    let shaped = bytes.len() == 36
        && [8, 13, 18, 23].iter().all(|&i| bytes[i] == b'-')
        && bytes[14] == b'7'
        && id
            .chars()
            .filter(|c| *c != '-')
            .all(|c| c.is_ascii_hexdigit());
    if !shaped {
        return None;
    }
    let hex: String = id.chars().filter(|c| *c != '-').take(12).collect();
    let millis = i64::from_str_radix(&hex, 16).ok()?;
    DateTime::from_timestamp_millis(millis)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").expect("a date")
    }

    fn today(_: Option<DateTime<Utc>>) -> NaiveDate {
        day("2026-12-07")
    }

    #[test]
    fn a_uuid_v7_carries_its_day_and_other_ids_do_not() {
        // 0x019af... ms = 2025-12-01 (a UUIDv7 made that day).
        let millis = DateTime::parse_from_rfc3339("2025-12-01T10:00:00Z")
            .expect("a time")
            .timestamp_millis();
        let hex = format!("{millis:012x}");
        let id = format!("{}-{}-7abc-8def-0123456789ab", &hex[..8], &hex[8..]);
        assert_eq!(uuid_v7_day(&id), Some(day("2025-12-01")));
        assert_eq!(
            uuid_v7_day("0b7a7c4e-7f7e-4d7c-9a3b-1f0e8d6c5b4a"),
            None,
            "v4"
        );
        assert_eq!(uuid_v7_day("not-a-uuid"), None);
    }

    #[test]
    fn flat_traces_day_folders_and_the_rest_are_told_apart() {
        let created = DateTime::parse_from_rfc3339("2026-11-01T23:59:00Z")
            .ok()
            .map(|t| t.with_timezone(&Utc));
        let v4 = "traces/0b7a7c4e-7f7e-4d7c-9a3b-1f0e8d6c5b4a.json";
        assert_eq!(
            place("traces/", v4, created, today),
            Some((
                Place::Partition(day("2026-11-01")),
                Some(AgeFrom::TimeCreated)
            ))
        );
        assert_eq!(
            place("traces/", "traces/2026-10-03/abc.json", created, today),
            Some((
                Place::Partition(day("2026-10-03")),
                Some(AgeFrom::DayFolder)
            ))
        );
        assert_eq!(
            place("traces/", "traces/_probe/x", created, today),
            Some((Place::Loose(day("2026-12-07")), None))
        );
        assert_eq!(place("traces/", "tracesx/a.json", created, today), None);
        assert_eq!(place("traces/", "other/a.json", created, today), None);
    }
}
