//! Finding the folders of a directory by seeking instead of a delimited
//! listing. A delimited listing returns one line per folder, but some
//! servers (Garage among them) walk every key under the directory to build
//! it: on a bucket of a million traces, finding 30 partitions read a
//! million keys. A seek asks for the first key after a point (`StartAfter`,
//! or the key marker of a version listing): landing in a folder names it,
//! and the next seek starts past everything in it. So finding N folders
//! costs N + 1 one-key requests, whatever they hold, and a healthy `cleanup
//! verify` never reads a trace.
//!
//! Each seek depends on where the previous one landed, so N folders would
//! cost N round trips one after the other. Day partitions are predictable,
//! though: once two consecutive days have been found, the seeks past the
//! following days (up to today) are sent at once, and the walk then follows
//! their answers as if it had sent them in turn. A day that turns out to be
//! missing costs one request that was not needed; anything unexpected (a
//! folder that is not a date, a file between partitions) falls back to
//! seeking in turn, so what the walk finds is exactly what a walk in turn
//! finds.
//!
//! Files directly in the directory are taken as a delimited listing would
//! return them (tallied, and deleted when expired and purging), a growing
//! page of them at a time.
//!
//! A seek whose answer holds a key at or before its starting point shows a
//! server that ignores `StartAfter` (some gateways and older stores answer
//! from the start of the prefix): followed, the walk would land in the same
//! folder for ever. The rest of the directory is then read by a delimited
//! listing instead, with a warning.

use std::collections::HashMap;

use chrono::NaiveDate;
use futures::stream::{self, StreamExt, TryStreamExt};

use super::listing::{self, Page, Token};
use super::{Source, Unit};
use crate::error::Result;
use crate::retention::parse_partition;
use crate::scan::{Entry, Judge, Progress, ScanOutcome};
use crate::stores::s3::delete::Deleter;

/// Keys a seek asks for when it expects to land in a folder: the first one
/// names it, and every further key would be read for nothing (a 50-key seek
/// costs Garage about four times a one-key seek).
const LAND_KEYS: i32 = 1;
/// The most keys a seek asks for in a run of loose files: the page grows
/// tenfold per page of files only, up to a full listing page.
const RUN_KEYS: i32 = 1000;

impl Source {
    /// The folders of `unit`'s directory (in key order), and the outcome of
    /// the files directly in it. `first`, when given, is the answer to the
    /// walk's first seek (`first_seek` of the directory).
    pub(super) async fn seek_walk(
        &self,
        unit: &Unit,
        mut first: Option<Page>,
        judge: &Judge,
        deleter: Option<&Deleter>,
        progress: &Progress,
    ) -> Result<(ScanOutcome, Vec<String>)> {
        let dir = unit.prefix();
        let mut outcome = ScanOutcome::default();
        let mut folders = Vec::new();
        // The first request starts at the directory itself, so a key equal
        // to it (a folder marker object) is seen, as a listing would.
        let mut after: Option<String> = None;
        let mut keys = LAND_KEYS;
        // Seeks already answered, by the point they start after.
        let mut ahead: HashMap<String, Page> = HashMap::new();
        let mut last_day: Option<NaiveDate> = None;
        loop {
            let sent = match &after {
                None => first.take(),
                Some(point) => ahead.remove(point),
            };
            let page = match sent {
                Some(page) => page,
                None => self.seek(dir, after.clone(), keys).await?,
            };
            if let Some(point) = after.as_deref()
                && let Some(key) = behind(point, &page)
            {
                self.warn_seek_ignored(dir, point, key);
                let walked = (outcome, folders);
                return self
                    .plain_walk(unit, point, walked, judge, deleter, progress)
                    .await;
            }
            let (files, landed) = split_at_folder(dir, &page.entries);
            match landed {
                Some(folder) => {
                    // Every file before the folder is complete: a key's
                    // versions come together, before any later key.
                    self.fold(unit, files, judge, deleter, progress, &mut outcome)
                        .await?;
                    let point = past(&folder);
                    let day = day_of(dir, &folder);
                    let in_turn = last_day.and_then(|d| d.succ_opt());
                    if let Some(day) = day.filter(|d| Some(*d) == in_turn)
                        && !ahead.contains_key(&point)
                    {
                        ahead = self.seek_days_ahead(dir, day, judge.today).await?;
                    }
                    last_day = day;
                    after = Some(point);
                    folders.push(folder);
                    keys = LAND_KEYS;
                }
                None if page.next.is_none() => {
                    self.fold(unit, files, judge, deleter, progress, &mut outcome)
                        .await?;
                    return Ok((outcome, folders));
                }
                None => {
                    // A page of files only, and more follow. Unversioned,
                    // each key is one entry: all of them are complete. By
                    // version, the last key's versions may go on.
                    let Some(last) = files.last().map(|e| e.key.clone()) else {
                        return Ok((outcome, folders));
                    };
                    let complete = if self.versioned {
                        files.iter().take_while(|e| e.key != last).count()
                    } else {
                        files.len()
                    };
                    if complete > 0 {
                        let done = &files[..complete];
                        self.fold(unit, done, judge, deleter, progress, &mut outcome)
                            .await?;
                        after = done.last().map(|e| e.key.clone());
                    } else {
                        // The whole page is versions of one key: list that
                        // key alone to its end.
                        let versions = self.versions_of(&last).await?;
                        self.fold(unit, &versions, judge, deleter, progress, &mut outcome)
                            .await?;
                        after = Some(last);
                    }
                    last_day = None;
                    keys = keys.saturating_mul(10).min(RUN_KEYS);
                }
            }
        }
    }

    /// The seeks past the day folders of `dir` from `from` up to `today`
    /// (at least `from`'s, at most `concurrency` of them), sent at once;
    /// by the point each starts after.
    async fn seek_days_ahead(
        &self,
        dir: &str,
        from: NaiveDate,
        today: NaiveDate,
    ) -> Result<HashMap<String, Page>> {
        let width = self.concurrency.max(1);
        let points: Vec<String> = from
            .iter_days()
            .take(width)
            .take_while(|day| *day == from || *day <= today)
            .map(|day| past(&format!("{dir}{day}/")))
            .collect();
        stream::iter(points)
            .map(|point| async move {
                let page = self.seek(dir, Some(point.clone()), LAND_KEYS).await?;
                Ok::<_, crate::error::Error>((point, page))
            })
            .buffer_unordered(width)
            .try_collect()
            .await
    }

    /// The rest of `unit`'s directory past `after` (where a seek walk
    /// stopped, `walked` what it had found), by a delimited listing from
    /// the directory's start that goes on by continuation tokens: for a
    /// server that ignores where a seek starts. Slower where the server
    /// walks every key of the directory to roll folders up, but it ends
    /// (its pages are checked to move on like any listing's).
    async fn plain_walk(
        &self,
        unit: &Unit,
        after: &str,
        walked: (ScanOutcome, Vec<String>),
        judge: &Judge,
        deleter: Option<&Deleter>,
        progress: &Progress,
    ) -> Result<(ScanOutcome, Vec<String>)> {
        let dir = unit.prefix();
        let (mut outcome, mut folders) = walked;
        let mut advance = listing::advance(self);
        let mut token = None;
        loop {
            let page = self.page(dir, true, token).await?;
            listing::moved_on(self, &mut advance, dir, &page)?;
            // Everything up to `after` was taken by the seeks already.
            let files: Vec<Entry> = page
                .entries
                .into_iter()
                .filter(|e| e.key.as_str() > after)
                .collect();
            self.fold(unit, &files, judge, deleter, progress, &mut outcome)
                .await?;
            folders.extend(page.folders.into_iter().filter(|f| f.as_str() > after));
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok((outcome, folders)),
            }
        }
    }

    /// Says once per directory that its seeks could not be used.
    fn warn_seek_ignored(&self, dir: &str, point: &str, key: &str) {
        let marker = if self.versioned {
            "KeyMarker"
        } else {
            "StartAfter"
        };
        // The point past a folder ends with a character of the tool's own.
        let asked = match point.strip_suffix('\u{10FFFF}') {
            Some(folder) => format!("past the folder {folder:?}"),
            None => format!("after {point:?}"),
        };
        crate::output::warn(&format!(
            "s3://{}/{dir}: the server ignores {marker} (asked for the keys {asked}, it answered {key:?}); listing the directory from its start instead, which is slower",
            self.bucket
        ));
    }

    /// The first seek of a walk of `dir`: its first key.
    pub(super) async fn first_seek(&self, dir: &str) -> Result<Page> {
        self.seek(dir, None, LAND_KEYS).await
    }

    /// The first `keys` keys of `dir` after `after` (from its start when
    /// `None`).
    async fn seek(&self, dir: &str, after: Option<String>, keys: i32) -> Result<Page> {
        let token = Some(Token::After {
            key: after.unwrap_or_default(),
            keys,
        });
        self.page(dir, false, token).await
    }

    /// Every version and delete marker of the one key `key`.
    async fn versions_of(&self, key: &str) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut token = None;
        let mut advance = listing::advance(self);
        loop {
            let page = self.page(key, false, token).await?;
            listing::moved_on(self, &mut advance, key, &page)?;
            entries.extend(page.entries.into_iter().filter(|e| e.key == key));
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(entries),
            }
        }
    }
}

/// The first key of a seek's answer at or before the point it was asked
/// to start after, if any (pure): a server that ignores `StartAfter` (or
/// the key marker) answers from the start of the directory again, and a
/// walk that followed it would land in the same folder for ever.
fn behind<'a>(point: &str, page: &'a Page) -> Option<&'a str> {
    page.entries
        .iter()
        .map(|e| e.key.as_str())
        .find(|key| *key <= point)
}

/// The day a folder of `dir` is the partition of, if its name is a date.
fn day_of(dir: &str, folder: &str) -> Option<NaiveDate> {
    let name = folder.strip_prefix(dir)?.strip_suffix('/')?;
    parse_partition(name)
}

/// The files at the start of `entries` that sit directly in `dir`, and the
/// folder of the first entry that does not (pure).
fn split_at_folder<'a>(dir: &str, entries: &'a [Entry]) -> (&'a [Entry], Option<String>) {
    for (i, entry) in entries.iter().enumerate() {
        let rest = entry.key.strip_prefix(dir).unwrap_or(&entry.key);
        if let Some(slash) = rest.find('/') {
            return (&entries[..i], Some(format!("{dir}{}", &rest[..=slash])));
        }
    }
    (entries, None)
}

/// A seek point past every key in `folder` (which ends with `/`): the
/// highest code point, so any key of the folder sorts before it and the
/// first key after the folder sorts after it (S3 orders keys by their
/// UTF-8 bytes, and so does this).
fn past(folder: &str) -> String {
    format!("{folder}\u{10FFFF}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::EntryKind;

    fn entry(key: &str) -> Entry {
        Entry {
            key: key.to_string(),
            size: 1,
            modified: None,
            class: None,
            version_id: None,
            kind: EntryKind::Current,
        }
    }

    #[test]
    fn files_before_the_first_folder_are_taken_and_the_folder_named() {
        let entries = [
            entry("p/a.txt"),
            entry("p/b"),
            entry("p/traces/x/y"),
            entry("p/z"),
        ];
        let (files, folder) = split_at_folder("p/", &entries);
        assert_eq!(files.len(), 2);
        assert_eq!(folder.as_deref(), Some("p/traces/"));
        let (files, folder) = split_at_folder("p/", &entries[..2]);
        assert_eq!((files.len(), folder), (2, None));
        // An empty segment is a folder too, as a delimiter would say.
        let (_, folder) = split_at_folder("p/", &[entry("p//x")]);
        assert_eq!(folder.as_deref(), Some("p//"));
    }

    #[test]
    fn only_a_folder_named_as_a_date_is_a_day() {
        let day = chrono::NaiveDate::from_ymd_opt(2026, 11, 1);
        assert_eq!(day_of("p/traces/", "p/traces/2026-11-01/"), day);
        for other in [
            "p/traces/2026-11-01-old/",
            "p/traces/2026-11-01",
            "p/traces/misc/",
            "q/traces/2026-11-01/",
        ] {
            assert_eq!(day_of("p/traces/", other), None, "{other}");
        }
    }

    #[test]
    fn the_seek_point_sorts_after_every_key_of_the_folder_and_before_the_next() {
        let point = past("p/traces/2026-11-01/");
        for inside in [
            "p/traces/2026-11-01/",
            "p/traces/2026-11-01/zzz",
            "p/traces/2026-11-01/\u{FFFF}x",
            "p/traces/2026-11-01/😀",
        ] {
            assert!(inside.as_bytes() < point.as_bytes(), "{inside}");
        }
        for after in [
            "p/traces/2026-11-010",
            "p/traces/2026-11-02/",
            "p/traces/misc/",
        ] {
            assert!(after.as_bytes() > point.as_bytes(), "{after}");
        }
    }
}
