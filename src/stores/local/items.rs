//! The local disk's traces one at a time (`stores::items`): the package's
//! `traces/{day}/{id}.zip`, a page per day folder in date order. A write
//! goes to a hidden temporary file beside its place, is flushed to disk
//! and renamed into place (a reader never sees half a trace), then read
//! back; a removal compares the file with the bytes copied first.

#![warn(unreachable_pub)]

use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::bundle::Format;
use crate::error::{Error, Result};
use crate::spec::LocalStorage;
use crate::stores::items::{
    Held, ItemPage, ReadCopy, Removed, TraceItems, TraceRef, Written, bundle_id, created_of,
};

/// The modes the tool writes (what `local.modes` accepts).
const DIR_MODE: u32 = 0o750;
const FILE_MODE: u32 = 0o640;

/// A local disk's traces.
#[derive(Debug)]
pub(crate) struct LocalItems {
    traces_dir: PathBuf,
}

impl LocalItems {
    pub(crate) fn new(local: &LocalStorage) -> LocalItems {
        LocalItems {
            traces_dir: local.traces_dir(),
        }
    }

    fn path_of(&self, id: &str, day: NaiveDate) -> PathBuf {
        self.traces_dir
            .join(day.format("%Y-%m-%d").to_string())
            .join(format!("{id}.zip"))
    }

    /// The day folders, oldest first.
    fn days(&self) -> Result<Vec<NaiveDate>> {
        let entries = match std::fs::read_dir(&self.traces_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(io_error("listing", &self.traces_dir, &e)),
        };
        let mut days: Vec<NaiveDate> = entries
            .filter_map(|entry| entry.ok())
            .filter(|entry| entry.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|entry| {
                NaiveDate::parse_from_str(entry.file_name().to_str()?, "%Y-%m-%d").ok()
            })
            .collect();
        days.sort();
        Ok(days)
    }

    fn page(&self, before: Option<NaiveDate>, cursor: Option<String>) -> Result<ItemPage> {
        let from = cursor
            .as_deref()
            .and_then(|c| NaiveDate::parse_from_str(c, "%Y-%m-%d").ok());
        let days: Vec<NaiveDate> = self
            .days()?
            .into_iter()
            .filter(|d| from.is_none_or(|from| *d >= from))
            .filter(|d| before.is_none_or(|before| *d < before))
            .collect();
        let Some(&day) = days.first() else {
            return Ok(ItemPage::default());
        };
        let dir = self.traces_dir.join(day.format("%Y-%m-%d").to_string());
        let mut traces = Vec::new();
        for entry in std::fs::read_dir(&dir).map_err(|e| io_error("listing", &dir, &e))? {
            let entry = entry.map_err(|e| io_error("listing", &dir, &e))?;
            let name = entry.file_name();
            let Some(id) = name.to_str().and_then(bundle_id) else {
                continue;
            };
            let Ok(meta) = entry.metadata() else { continue };
            if !meta.is_file() {
                continue;
            }
            traces.push(TraceRef {
                id: id.to_string(),
                created: created_of(id, day),
                size: meta.len(),
                handle: entry.path().display().to_string(),
            });
        }
        traces.sort_by(|a, b| a.id.cmp(&b.id));
        Ok(ItemPage {
            traces,
            next: days.get(1).map(|d| d.format("%Y-%m-%d").to_string()),
        })
    }

    fn write_file(&self, id: &str, created: DateTime<Utc>, bytes: &[u8]) -> Result<Written> {
        let path = self.path_of(id, created.date_naive());
        let Some(dir) = path.parent() else {
            return Err(Error::cloud(format!("{}: no folder", path.display())));
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(DIR_MODE)
            .create(dir)
            .map_err(|e| io_error("creating", dir, &e))?;
        let temporary = dir.join(format!(".{id}.zip.migrating-{}", std::process::id()));
        let written = (|| {
            let mut file = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(true)
                .mode(FILE_MODE)
                .open(&temporary)?;
            file.write_all(bytes)?;
            file.sync_all()?;
            std::fs::rename(&temporary, &path)?;
            // The rename is durable once the folder is.
            std::fs::File::open(dir)?.sync_all()
        })();
        if let Err(e) = written {
            let _ = std::fs::remove_file(&temporary);
            return Err(io_error("writing", &path, &e));
        }
        let back = std::fs::read(&path).map_err(|e| io_error("reading back", &path, &e))?;
        if back != bytes {
            return Err(Error::cloud(format!(
                "{}: read back {} bytes that differ from the {} written",
                path.display(),
                back.len(),
                bytes.len()
            )));
        }
        Ok(Written::Confirmed)
    }
}

fn io_error(doing: &str, path: &Path, e: &std::io::Error) -> Error {
    Error::cloud(format!("{doing} {}: {e}", path.display()))
}

/// The file's bytes, `None` when it is not there.
fn read_if_there(path: &Path) -> Result<Option<Vec<u8>>> {
    match std::fs::read(path) {
        Ok(bytes) => Ok(Some(bytes)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(io_error("reading", path, &e)),
    }
}

impl TraceItems for LocalItems {
    fn location(&self) -> String {
        self.traces_dir.display().to_string()
    }

    fn format(&self) -> Format {
        Format::Bundle
    }

    fn list(
        &self,
        before: Option<NaiveDate>,
        cursor: Option<String>,
    ) -> LocalBoxFuture<'_, Result<ItemPage>> {
        futures::future::ready(self.page(before, cursor)).boxed_local()
    }

    fn read<'a>(&'a self, trace: &'a TraceRef) -> LocalBoxFuture<'a, Result<Option<ReadCopy>>> {
        let path = self.path_of(&trace.id, trace.day());
        let read = read_if_there(&path).map(|bytes| {
            bytes.map(|bytes| ReadCopy {
                bytes,
                version: None,
            })
        });
        futures::future::ready(read).boxed_local()
    }

    fn held<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Held>> {
        let held =
            read_if_there(&self.path_of(id, created.date_naive())).map(|found| match found {
                None => Held::Absent,
                Some(found) if found == bytes => Held::Same,
                Some(_) => Held::Different,
            });
        futures::future::ready(held).boxed_local()
    }

    fn write<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Written>> {
        futures::future::ready(self.write_file(id, created, bytes)).boxed_local()
    }

    fn remove<'a>(
        &'a self,
        trace: &'a TraceRef,
        read: &'a ReadCopy,
    ) -> LocalBoxFuture<'a, Result<Removed>> {
        let path = self.path_of(&trace.id, trace.day());
        let removed = match read_if_there(&path) {
            Ok(Some(now)) if now == read.bytes => match std::fs::remove_file(&path) {
                Ok(()) => Ok(Removed::Removed),
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Removed::Changed),
                Err(e) => Err(io_error("removing", &path, &e)),
            },
            Ok(_) => Ok(Removed::Changed),
            Err(e) => Err(e),
        };
        futures::future::ready(removed).boxed_local()
    }
}
