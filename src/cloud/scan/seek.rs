//! Finding the folders of a directory by seeking instead of a delimited
//! listing. A delimited listing returns one line per folder, but some
//! servers (Garage among them) walk every key under the directory to build
//! it: on a bucket of a million traces, finding 30 partitions read a
//! million keys. A seek asks for the first keys after a point (`StartAfter`,
//! or the key marker of a version listing): landing in a folder names it,
//! and the next seek starts past everything in it. So finding N folders
//! costs N + 1 small requests, whatever they hold, and a healthy `cleanup
//! verify` never reads a trace.
//!
//! Files directly in the directory are taken as a delimited listing would
//! return them (tallied, and deleted when expired and purging), a page of
//! them at a time.

use super::listing::{Page, Token};
use super::{Source, Unit};
use crate::cloud::delete::Deleter;
use crate::error::Result;
use crate::scan::{Entry, Judge, Outcome, Progress};

impl Source {
    /// The folders of `unit`'s directory (in key order), and the outcome of
    /// the files directly in it.
    pub(super) async fn seek_walk(
        &self,
        unit: &Unit,
        judge: &Judge,
        deleter: Option<&Deleter>,
        progress: &Progress,
    ) -> Result<(Outcome, Vec<String>)> {
        let dir = unit.prefix();
        let mut outcome = Outcome::default();
        let mut folders = Vec::new();
        // The first request starts at the directory itself, so a key equal
        // to it (a folder marker object) is seen, as a listing would.
        let mut after: Option<String> = None;
        loop {
            let page = self.seek(dir, after.clone()).await?;
            let (files, landed) = split_at_folder(dir, &page.entries);
            match landed {
                Some(folder) => {
                    // Every file before the folder is complete: a key's
                    // versions come together, before any later key.
                    self.fold(unit, files, judge, deleter, progress, &mut outcome)
                        .await?;
                    after = Some(past(&folder));
                    folders.push(folder);
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
                }
            }
        }
    }

    /// The first keys of `dir` after `after` (from its start when `None`).
    async fn seek(&self, dir: &str, after: Option<String>) -> Result<Page> {
        let token = Some(Token::After(after.unwrap_or_default()));
        self.page(dir, false, token).await
    }

    /// Every version and delete marker of the one key `key`.
    async fn versions_of(&self, key: &str) -> Result<Vec<Entry>> {
        let mut entries = Vec::new();
        let mut token = None;
        loop {
            let page = self.page(key, false, token).await?;
            entries.extend(page.entries.into_iter().filter(|e| e.key == key));
            match page.next {
                Some(next) => token = Some(next),
                None => return Ok(entries),
            }
        }
    }
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
