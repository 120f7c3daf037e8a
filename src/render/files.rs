//! Writing rendered artifacts to a directory, or comparing them with it.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::Artifact;
use crate::error::{Error, Result};

/// What happened to (or would happen to) one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    Created,
    Updated,
    Unchanged,
    /// `--check`: the file differs from a fresh render.
    Drifted,
    /// `--check`: the file does not exist.
    Missing,
}

/// One line of the render report.
#[derive(Debug, Clone, Serialize)]
pub struct FileReport {
    pub path: PathBuf,
    pub status: FileStatus,
    pub sensitive: bool,
}

/// Writes every artifact under `dir`. Sensitive files are created 0600 and
/// never overwritten when they differ unless `force`: all such refusals are
/// found before the first write, so nothing is left half-done.
pub fn write_all(dir: &Path, artifacts: &[Artifact], force: bool) -> Result<Vec<FileReport>> {
    let mut plan = Vec::new();
    for artifact in artifacts {
        let path = dir.join(&artifact.path);
        let status = compare(&path, &artifact.contents)?;
        if artifact.sensitive && status == FileStatus::Drifted && !force {
            return Err(Error::usage_with_hint(
                format!(
                    "{}: exists and differs; it may hold secrets added by hand, so it is not overwritten",
                    path.display()
                ),
                "pass --force to overwrite it, or move it away first",
            ));
        }
        plan.push((artifact, path, status));
    }
    fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    let mut reports = Vec::new();
    for (artifact, path, status) in plan {
        let status = match status {
            FileStatus::Missing => {
                write_atomically(&path, &artifact.contents, artifact.sensitive)?;
                FileStatus::Created
            }
            FileStatus::Drifted => {
                write_atomically(&path, &artifact.contents, artifact.sensitive)?;
                FileStatus::Updated
            }
            other => other,
        };
        reports.push(FileReport {
            path,
            status,
            sensitive: artifact.sensitive,
        });
    }
    Ok(reports)
}

/// Compares every artifact with the file under `dir`; writes nothing.
pub fn check_all(dir: &Path, artifacts: &[Artifact]) -> Result<Vec<FileReport>> {
    artifacts
        .iter()
        .map(|artifact| {
            let path = dir.join(&artifact.path);
            let status = compare(&path, &artifact.contents)?;
            Ok(FileReport {
                path,
                status,
                sensitive: artifact.sensitive,
            })
        })
        .collect()
}

/// Unchanged, Drifted or Missing.
fn compare(path: &Path, contents: &str) -> Result<FileStatus> {
    match fs::read(path) {
        Ok(existing) if existing == contents.as_bytes() => Ok(FileStatus::Unchanged),
        Ok(_) => Ok(FileStatus::Drifted),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(FileStatus::Missing),
        Err(e) => Err(Error::io(path, e)),
    }
}

/// Writes through a temporary file in the same directory, then renames, so a
/// reader never sees half a file. The mode is set when the file is created,
/// never after (a 0600 file is never briefly world-readable).
pub fn write_atomically(path: &Path, contents: &str, sensitive: bool) -> Result<()> {
    let dir = path.parent().unwrap_or_else(|| Path::new("."));
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{file_name}.tmp-{}", std::process::id()));
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(if sensitive { 0o600 } else { 0o644 });
    }
    let result = options
        .open(&tmp)
        .and_then(|mut file| {
            file.write_all(contents.as_bytes())?;
            file.sync_all()
        })
        .and_then(|()| fs::rename(&tmp, path));
    if let Err(e) = result {
        let _ = fs::remove_file(&tmp);
        return Err(Error::io(path, e));
    }
    Ok(())
}
