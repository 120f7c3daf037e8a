//! The counts of a transfer of traces between two stores (`migrate`, and
//! the hybrid store's archive), folded one trace at a time: what was
//! listed, copied, found already there, removed from the source, and what
//! failed (each failure naming its trace; the first ones listed).

use std::collections::BTreeMap;

use chrono::NaiveDate;
use serde::Serialize;

use super::Volume;

/// The per-trace errors a report lists (the count is always whole).
const LISTED_ERRORS: usize = 100;

/// What a transfer did (or, dry, would do).
#[derive(Debug, Clone, Default, Serialize)]
pub struct TransferCounts {
    /// Traces the source listed (selected).
    pub listed: u64,
    pub listed_bytes: u64,
    /// Written to the destination and confirmed.
    pub copied: u64,
    pub copied_bytes: u64,
    /// Already in the destination with the same bytes (not written again).
    pub already_there: u64,
    /// Source copies removed (a move), each after its copy was confirmed.
    pub removed_from_source: u64,
    /// Not written: past the destination's own retention (kept in the source).
    pub past_destination_retention: u64,
    /// Gone from the source between its listing and its reading.
    pub gone_from_source: u64,
    /// Traces that failed (each kept in the source); the first listed below.
    pub failed: u64,
    pub errors: Vec<TraceError>,
    /// Per day: what a dry run would copy, or what was copied.
    #[serde(serialize_with = "day_rows")]
    pub days: BTreeMap<NaiveDate, Volume>,
}

/// One trace that could not be transferred, and why.
#[derive(Debug, Clone, Serialize)]
pub struct TraceError {
    pub trace: String,
    pub message: String,
}

/// How one trace's transfer ended.
#[derive(Debug)]
pub enum TraceMoved {
    /// Copied (`bytes` written); `removed`: what became of the source copy
    /// (`None`: a copy, not a move).
    Copied {
        bytes: u64,
        removed: Option<bool>,
    },
    AlreadyThere {
        removed: Option<bool>,
    },
    PastRetention,
    Gone,
    /// Not started: the run is stopping.
    NotStarted,
    /// Failed, and why; the source copy is kept.
    Failed(String),
}

impl TransferCounts {
    /// Counts a listed trace (and, dry, its day).
    pub fn listed(&mut self, day: NaiveDate, size: u64, dry_run: bool) {
        self.listed += 1;
        self.listed_bytes += size;
        if dry_run {
            self.days.entry(day).or_default().add(size);
        }
    }

    /// Folds one trace's end in. A source copy that could not be removed
    /// (`removed: Some(false)`) changed after it was read: a failure.
    pub fn record(&mut self, trace: &str, day: NaiveDate, moved: TraceMoved) {
        let removed = match moved {
            TraceMoved::Copied { bytes, removed } => {
                self.copied += 1;
                self.copied_bytes += bytes;
                self.days.entry(day).or_default().add(bytes);
                removed
            }
            TraceMoved::AlreadyThere { removed } => {
                self.already_there += 1;
                removed
            }
            TraceMoved::PastRetention => {
                self.past_destination_retention += 1;
                None
            }
            TraceMoved::Gone => {
                self.gone_from_source += 1;
                None
            }
            TraceMoved::NotStarted => None,
            TraceMoved::Failed(message) => {
                self.fail(trace, message);
                None
            }
        };
        match removed {
            Some(true) => self.removed_from_source += 1,
            Some(false) => self.fail(
                trace,
                "changed in the source after it was copied: kept in the source, the destination has the copy read before".into(),
            ),
            None => {}
        }
    }

    fn fail(&mut self, trace: &str, message: String) {
        self.failed += 1;
        if self.errors.len() < LISTED_ERRORS {
            self.errors.push(TraceError {
                trace: trace.to_string(),
                message,
            });
        }
    }
}

/// The days as the reports' rows (`date`, `objects`, `bytes`), oldest first.
fn day_rows<S: serde::Serializer>(
    days: &BTreeMap<NaiveDate, Volume>,
    out: S,
) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeSeq;
    let mut seq = out.serialize_seq(Some(days.len()))?;
    for (day, volume) in days {
        seq.serialize_element(&serde_json::json!({
            "date": day.to_string(),
            "objects": volume.objects,
            "bytes": volume.bytes,
        }))?;
    }
    seq.end()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 11, 3).expect("a day")
    }

    #[test]
    fn a_source_copy_changed_after_the_copy_is_a_failure_never_a_removal() {
        let mut counts = TransferCounts::default();
        let moved = TraceMoved::Copied {
            bytes: 10,
            removed: Some(false),
        };
        counts.record("ct_a", day(), moved);
        assert_eq!((counts.copied, counts.removed_from_source), (1, 0));
        assert_eq!(counts.failed, 1);
        assert_eq!(counts.errors[0].trace, "ct_a");
    }

    #[test]
    fn only_the_first_errors_are_listed_but_all_are_counted() {
        let mut counts = TransferCounts::default();
        for i in 0..150 {
            counts.record(&format!("t{i}"), day(), TraceMoved::Failed("x".into()));
        }
        assert_eq!(counts.failed, 150);
        assert_eq!(counts.errors.len(), LISTED_ERRORS);
    }
}
