//! The seam `migrate` (and the hybrid store's archive) works through: a
//! store's traces one at a time — listed a page at a time, read, written
//! with a confirmation the store itself gives, and removed only when
//! unchanged since they were read. Each store's `items.rs` implements it;
//! `ops::migrate` composes two of them and names neither.

#![warn(unreachable_pub)]

use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::bundle::Format;
use crate::error::Result;
use crate::spec::{Environment, Storage};

/// One trace as its store lists it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TraceRef {
    /// The trace's id (`ct_…`, a UUID): the same in every store.
    pub(crate) id: String,
    /// When it was stored: the store's own date for it (a day folder's
    /// day, an index score, a row's `created_at`), kept by a copy.
    pub(crate) created: DateTime<Utc>,
    /// Its size as listed (0 when the listing does not say).
    pub(crate) size: u64,
    /// The store's own name for it (a key, a path, a row's id), for
    /// messages and to read it back.
    pub(crate) handle: String,
}

impl TraceRef {
    /// The day the trace belongs to.
    pub(crate) fn day(&self) -> NaiveDate {
        self.created.date_naive()
    }
}

/// A page of a listing and where the next one starts (`None`: the end).
#[derive(Debug, Default)]
pub(crate) struct ItemPage {
    pub(crate) traces: Vec<TraceRef>,
    pub(crate) next: Option<String>,
}

/// A trace's bytes as read, and what identifies the copy read (an S3
/// version id or ETag, a hash of a Redis value), so that only that copy is
/// removed.
#[derive(Debug, Clone)]
pub(crate) struct ReadCopy {
    pub(crate) bytes: Vec<u8>,
    pub(crate) version: Option<String>,
}

/// What a destination holds of one day's traces, by id: what `held` would
/// tell of each, from one listing instead of a request a trace.
pub(crate) type DayHeld = std::collections::HashMap<String, Fingerprint>;

/// A held copy's size and, where the listing gives it, its MD5 (hex).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Fingerprint {
    pub(crate) size: u64,
    pub(crate) md5: Option<String>,
}

/// What a destination holds under a trace's id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Held {
    Absent,
    /// The same bytes: nothing to write.
    Same,
    /// Other bytes: never overwritten.
    Different,
}

/// What a write did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Written {
    /// Written and confirmed by the store (its checksum, or a read-back).
    Confirmed,
    /// Not written: the trace is past the destination's own retention (a
    /// Redis key would expire at once).
    PastRetention,
}

/// What removing a source copy did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Removed {
    /// The copy read is gone.
    Removed,
    /// It changed (or went) since it was read: left as it is.
    Changed,
}

/// A store's traces one at a time.
pub(crate) trait TraceItems: Send + Sync + std::fmt::Debug {
    /// Where the traces are, for messages (no credentials in it).
    fn location(&self) -> String;

    /// How the store keeps a trace's bytes.
    fn format(&self) -> Format;

    /// A page of the traces stored before `before` (all when `None`),
    /// from `cursor` (a previous page's `next`).
    fn list(
        &self,
        before: Option<NaiveDate>,
        cursor: Option<String>,
    ) -> LocalBoxFuture<'_, Result<ItemPage>>;

    /// The trace's bytes; `None` when it is gone since it was listed.
    fn read<'a>(&'a self, trace: &'a TraceRef) -> LocalBoxFuture<'a, Result<Option<ReadCopy>>>;

    /// Whether the store holds trace `id` (stored at `created`), and
    /// whether with exactly `bytes`.
    fn held<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Held>>;

    /// Every trace the store holds under `day`, when one listing can tell
    /// (a bucket's day folder); `None`: ask `held` trace by trace.
    fn held_day(&self, _day: NaiveDate) -> LocalBoxFuture<'_, Result<Option<DayHeld>>> {
        futures::future::ready(Ok(None)).boxed_local()
    }

    /// Writes trace `id` in the store's layout, dated `created`, and
    /// confirms it: an error unless the store proves it holds `bytes`.
    fn write<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Written>>;

    /// Removes the copy `read` gave, only if it is unchanged.
    fn remove<'a>(
        &'a self,
        trace: &'a TraceRef,
        read: &'a ReadCopy,
    ) -> LocalBoxFuture<'a, Result<Removed>>;
}

/// Whether two environments name the same traces (the same store and the
/// same place in it), which a copy between them would destroy. From the
/// spec alone: refused before any call.
pub(crate) fn same_place(a: &Environment, b: &Environment) -> bool {
    match (&a.storage, &b.storage) {
        (Storage::Local(x), Storage::Local(y)) => {
            let real = |p: &std::path::Path| std::fs::canonicalize(p).unwrap_or(p.to_path_buf());
            real(&x.path) == real(&y.path)
        }
        (Storage::S3(x), Storage::S3(y)) => {
            x.bucket == y.bucket
                && x.endpoint == y.endpoint
                && overlaps(x.prefix.dir(), y.prefix.dir())
        }
        (Storage::Gcs(x), Storage::Gcs(y)) => x.bucket == y.bucket,
        (Storage::Redis(x), Storage::Redis(y)) => {
            x.url == y.url && (x.key_prefix == y.key_prefix || x.index_key == y.index_key)
        }
        (Storage::Database(x), Storage::Database(y)) => x.url == y.url && x.table == y.table,
        _ => false,
    }
}

/// One key prefix inside the other.
fn overlaps(a: String, b: String) -> bool {
    a.starts_with(&b) || b.starts_with(&a)
}

/// A trace id that can name a key, a file and a row: what the package and
/// the seed write (`ct_…`, UUIDs), nothing that could leave a folder.
pub(crate) fn plain_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 200
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        && !id.starts_with('.')
}

/// When a trace filed under `day` was stored: the Unix time its id ends
/// with (`ct_{random}_{unix time}`, the package's ids) when that falls on
/// `day`, else the day's first second.
pub(crate) fn created_of(id: &str, day: NaiveDate) -> DateTime<Utc> {
    let from_id = id
        .rsplit_once('_')
        .and_then(|(_, tail)| tail.parse::<i64>().ok())
        .and_then(|secs| DateTime::from_timestamp(secs, 0))
        .filter(|at| at.date_naive() == day);
    from_id.unwrap_or_else(|| day.and_time(chrono::NaiveTime::MIN).and_utc())
}

/// `bytes` in lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The MD5 of `bytes` in hex, as an S3 ETag or a listing gives it.
pub(crate) fn md5_hex(bytes: &[u8]) -> String {
    use md5::Digest;
    hex(&md5::Md5::digest(bytes))
}

/// `{id}.zip` in a day folder: the trace id, when it is a plain one.
pub(crate) fn bundle_id(file_name: &str) -> Option<&str> {
    file_name.strip_suffix(".zip").filter(|id| plain_id(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_that_could_leave_a_folder_are_not_plain() {
        assert!(plain_id("ct_abcdefghijklmnop_1764000000"));
        assert!(plain_id("0193a5b0-7c1d-7e2f-8a3b-4c5d6e7f8a9b"));
        for bad in ["", "..", "../x", "a/b", ".hidden", "a b", "a\0b"] {
            assert!(!plain_id(bad), "{bad:?}");
        }
    }

    #[test]
    fn a_package_id_dates_its_trace_within_its_day() {
        let day = NaiveDate::from_ymd_opt(2025, 11, 24).expect("valid in the test");
        // 1764000000 is 2025-11-24 16:00:00 UTC.
        assert_eq!(
            created_of("ct_abcdefghijklmnop_1764000000", day).timestamp(),
            1_764_000_000
        );
        let other = NaiveDate::from_ymd_opt(2025, 11, 25).expect("valid in the test");
        assert_eq!(
            created_of("ct_abcdefghijklmnop_1764000000", other),
            other.and_time(chrono::NaiveTime::MIN).and_utc()
        );
        assert_eq!(bundle_id("ct_a_1.zip"), Some("ct_a_1"));
        assert_eq!(md5_hex(b""), "d41d8cd98f00b204e9800998ecf8427e");
        assert_eq!(bundle_id("../x.zip"), None);
        assert_eq!(bundle_id("x.json"), None);
    }

    #[test]
    fn nested_prefixes_overlap() {
        assert!(overlaps("a/".into(), "a/b/".into()));
        assert!(!overlaps("a/".into(), "ab/".into()));
    }
}
