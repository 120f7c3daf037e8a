//! The scan over a local directory (the Laravel local disk or an NFS
//! mount): partitions are `{path}/traces/{YYYY-MM-DD}/`, anything else
//! under `{path}/traces/` is judged by its modification time. Purging
//! removes expired files, then partition folders left empty. Nothing
//! outside `{path}/traces/` is read or touched; symbolic links are neither
//! followed nor removed.
//!
//! Another purge may run at the same time (the Laravel scheduler on every
//! web node): a file or folder that vanishes between the listing and its
//! turn was taken by that run. It is done, not an error, and counted by
//! the run that removed it, never by this one.

use std::fs;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};
use crate::retention::parse_partition;
use crate::scan::{Entry, EntryKind, Judge, Place, Progress, ScanOutcome, Selection};

/// Scans `traces_dir`; with `purge`, removes what is past retention.
pub fn scan(
    traces_dir: &Path,
    judge: &Judge,
    selection: Selection,
    purge: bool,
    progress: &Progress,
) -> Result<ScanOutcome> {
    let mut outcome = ScanOutcome::default();
    let children = match fs::read_dir(traces_dir) {
        Ok(children) => children,
        // No traces yet: nothing to count, nothing past retention.
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(outcome),
        Err(e) => return Err(Error::io(traces_dir, e)),
    };
    for child in children {
        let child = child.map_err(|e| Error::io(traces_dir, e))?;
        let path = child.path();
        let kind = match child.file_type() {
            Ok(kind) => kind,
            // (A filesystem without entry types asks the inode itself.)
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(Error::io(&path, e)),
        };
        let name = child.file_name().to_string_lossy().into_owned();
        let walk = Walk {
            root: traces_dir,
            judge,
            purge,
            progress,
        };
        match (kind.is_dir(), parse_partition(&name)) {
            (true, Some(day)) => {
                outcome.partitions_found += 1;
                if judge.selects(selection, day) {
                    outcome.partitions_listed += 1;
                    walk.tree(&path, Some(day), &mut outcome)?;
                    if purge && judge.expired(day) {
                        remove_if_empty(&path)?;
                        progress.finished(day);
                    }
                }
            }
            (true, None) => walk.tree(&path, None, &mut outcome)?,
            (false, _) if kind.is_file() => walk.file(&path, None, &mut outcome)?,
            _ => {} // a symbolic link or a special file: not ours to judge
        }
    }
    progress.finish();
    Ok(outcome)
}

/// One walk's settings.
struct Walk<'a> {
    root: &'a Path,
    judge: &'a Judge,
    purge: bool,
    progress: &'a Progress,
}

impl Walk<'_> {
    /// Every file under `dir`; `day` is the partition's, if in one.
    fn tree(
        &self,
        dir: &Path,
        day: Option<chrono::NaiveDate>,
        out: &mut ScanOutcome,
    ) -> Result<()> {
        let mut stack = vec![dir.to_path_buf()];
        while let Some(dir) = stack.pop() {
            let children = match fs::read_dir(&dir) {
                Ok(children) => children,
                // Emptied and removed by another purge meanwhile.
                Err(e) if gone(&e) => continue,
                Err(e) => return Err(Error::io(&dir, e)),
            };
            for child in children {
                let child = child.map_err(|e| Error::io(&dir, e))?;
                let path = child.path();
                let kind = match child.file_type() {
                    Ok(kind) => kind,
                    Err(e) if gone(&e) => continue,
                    Err(e) => return Err(Error::io(&path, e)),
                };
                if kind.is_dir() {
                    stack.push(path);
                } else if kind.is_file() {
                    self.file(&path, day, out)?;
                }
            }
        }
        Ok(())
    }

    /// Counts one file and removes it when purging and expired.
    fn file(
        &self,
        path: &Path,
        day: Option<chrono::NaiveDate>,
        out: &mut ScanOutcome,
    ) -> Result<()> {
        let meta = match fs::symlink_metadata(path) {
            Ok(meta) => meta,
            // Removed by another purge since the folder was listed.
            Err(e) if gone(&e) => return Ok(()),
            Err(e) => return Err(Error::io(path, e)),
        };
        let modified = meta.modified().ok().map(DateTime::<Utc>::from);
        let place = match day {
            Some(day) => Place::Partition(day),
            None => Place::Loose(self.judge.loose_day(modified)),
        };
        let expired = self.judge.expired(place.day());
        let entry = Entry {
            key: relative(self.root, path),
            size: meta.len(),
            modified,
            class: None,
            version_id: None,
            kind: EntryKind::Current,
        };
        out.tally.record(&entry, place, expired);
        if self.purge && expired {
            // Ctrl-C: stop between two files; the progress holds the counts.
            if crate::interrupt::requested() {
                return Err(Error::Interrupted);
            }
            // The walk never leaves the traces folder; say so in code too.
            if !path.starts_with(self.root) {
                return Err(Error::usage(format!(
                    "refusing to delete {}: outside {}",
                    path.display(),
                    self.root.display()
                )));
            }
            match fs::remove_file(path) {
                Ok(()) => {
                    out.deleted.add(entry.size);
                    let mut one = crate::scan::Volume::default();
                    one.add(entry.size);
                    self.progress.deleted(day, one, 0);
                }
                // Another purge removed it first: done, and its count.
                Err(e) if gone(&e) => {}
                Err(e) => {
                    self.progress
                        .deleted(day, crate::scan::Volume::default(), 1);
                    out.error_count += 1;
                    out.keep_errors(vec![crate::scan::KeyError {
                        key: entry.key,
                        version_id: None,
                        code: format!("{:?}", e.kind()),
                        message: e.to_string(),
                    }]);
                }
            }
            self.progress.advance(1, "purged");
        }
        Ok(())
    }
}

/// Removes a partition folder and its sub-folders once they hold nothing.
fn remove_if_empty(dir: &Path) -> Result<()> {
    let mut dirs: Vec<PathBuf> = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        let children = match fs::read_dir(&d) {
            Ok(children) => children,
            // Another purge removed it already.
            Err(e) if gone(&e) => continue,
            Err(e) => return Err(Error::io(&d, e)),
        };
        for child in children.flatten() {
            if child.file_type().is_ok_and(|t| t.is_dir()) {
                stack.push(child.path());
            }
        }
        dirs.push(d);
    }
    // Deepest first; a folder that still holds something stays.
    for d in dirs.iter().rev() {
        let _ = fs::remove_dir(d);
    }
    Ok(())
}

/// Whether an I/O error says the path is no longer there.
fn gone(e: &std::io::Error) -> bool {
    e.kind() == std::io::ErrorKind::NotFound
}

/// `path` relative to the traces folder, with `/` separators, for messages.
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    let parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    format!("traces/{}", parts.join("/"))
}
