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
///
/// The write is two-phase so that an interrupted render (a full disk, a
/// killed process) leaves the previous files as they were: every new file is
/// first staged complete in a temporary file beside its target, and only when
/// all of them are staged are they renamed into place. A failure while staging
/// removes the staged files and changes nothing.
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
    let targets: Vec<&Path> = plan.iter().map(|(_, path, _)| path.as_path()).collect();
    remove_abandoned_temporaries(dir, &targets);
    let mut staged = Vec::new();
    for (artifact, path, status) in &plan {
        if matches!(status, FileStatus::Missing | FileStatus::Drifted) {
            staged.push(StagedFile::stage(
                path,
                &artifact.contents,
                artifact.sensitive,
            )?);
        }
    }
    for file in staged {
        file.commit()?;
    }
    sync_directory(dir);
    Ok(plan
        .into_iter()
        .map(|(artifact, path, status)| FileReport {
            path,
            status: match status {
                FileStatus::Missing => FileStatus::Created,
                FileStatus::Drifted => FileStatus::Updated,
                other => other,
            },
            sensitive: artifact.sensitive,
        })
        .collect())
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
/// reader never sees half a file.
pub fn write_atomically(path: &Path, contents: &str, sensitive: bool) -> Result<()> {
    StagedFile::stage(path, contents, sensitive)?.commit()?;
    sync_directory(directory_of(path));
    Ok(())
}

/// A complete new version of a file, written and synced to a temporary file
/// beside its target, waiting to be renamed over it. Dropped uncommitted, it
/// removes itself.
struct StagedFile {
    tmp: PathBuf,
    path: PathBuf,
    committed: bool,
}

impl StagedFile {
    /// The mode is set when the temporary file is created, never after (a
    /// 0600 file is never briefly world-readable).
    fn stage(path: &Path, contents: &str, sensitive: bool) -> Result<StagedFile> {
        let tmp = temporary_path(path, std::process::id());
        let mut options = fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        {
            use std::os::unix::fs::OpenOptionsExt;
            options.mode(if sensitive { 0o600 } else { 0o644 });
        }
        let mut file = options.open(&tmp).map_err(|e| Error::io(path, e))?;
        // From here on, dropping `staged` removes the temporary file.
        let staged = StagedFile {
            tmp,
            path: path.to_path_buf(),
            committed: false,
        };
        file.write_all(contents.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(path, e))?;
        Ok(staged)
    }

    fn commit(mut self) -> Result<()> {
        fs::rename(&self.tmp, &self.path).map_err(|e| Error::io(&self.path, e))?;
        self.committed = true;
        Ok(())
    }
}

impl Drop for StagedFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = fs::remove_file(&self.tmp);
        }
    }
}

/// `.<name>.tmp-<pid>` beside `path`: hidden, and named after the process
/// that wrote it so an abandoned one can be recognised.
fn temporary_path(path: &Path, pid: u32) -> PathBuf {
    let dir = directory_of(path);
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    dir.join(format!(".{file_name}.tmp-{pid}"))
}

/// Removes the temporary files that a killed earlier run left in `dir`
/// beside one of `targets` (its process no longer exists, or its id is now
/// ours, which this run has not staged yet). Only our own naming pattern for
/// these files is touched, and a temporary file of another live run is left
/// alone. One listing of `dir` serves every target.
fn remove_abandoned_temporaries(dir: &Path, targets: &[&Path]) {
    let prefixes: Vec<String> = targets
        .iter()
        .filter(|path| directory_of(path) == dir)
        .filter_map(|path| path.file_name())
        .map(|name| format!(".{}.tmp-", name.to_string_lossy()))
        .collect();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let entry_name = entry.file_name().to_string_lossy().into_owned();
        let Some(pid) = prefixes
            .iter()
            .find_map(|prefix| entry_name.strip_prefix(prefix.as_str()))
            .and_then(|pid| pid.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == std::process::id() || !process_is_alive(pid) {
            let _ = fs::remove_file(entry.path());
        }
    }
}

/// Whether a process with this id exists. Where that cannot be known (no
/// /proc), assume it does: leaving a stray file beats removing a live one.
fn process_is_alive(pid: u32) -> bool {
    let proc = Path::new("/proc");
    !proc.is_dir() || proc.join(pid.to_string()).exists()
}

/// The directory holding `path` (`.` for a bare file name).
fn directory_of(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Makes the renames durable across a power cut. Best effort: not every
/// platform or filesystem can sync a directory, and the files are already
/// complete either way.
fn sync_directory(dir: &Path) {
    #[cfg(unix)]
    if let Ok(handle) = fs::File::open(dir) {
        let _ = handle.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn artifact(path: &str, contents: &str) -> Artifact {
        Artifact {
            path: path.to_string(),
            contents: contents.to_string(),
            sensitive: false,
        }
    }

    fn names_in(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = fs::read_dir(dir)
            .expect("read dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn a_failure_while_staging_changes_no_file_and_leaves_no_temporary() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join("a.conf"), "old a").expect("write");
        // `b/` is a plain file, so staging `b/c.conf` fails after `a.conf`
        // was staged.
        fs::write(dir.path().join("b"), "not a directory").expect("write");
        let artifacts = [artifact("a.conf", "new a"), artifact("b/c.conf", "new c")];
        assert!(write_all(dir.path(), &artifacts, false).is_err());
        assert_eq!(
            fs::read_to_string(dir.path().join("a.conf")).expect("read"),
            "old a"
        );
        assert_eq!(names_in(dir.path()), ["a.conf", "b"]);
    }

    #[test]
    fn temporaries_of_dead_runs_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("nginx.conf");
        // Far above any pid_max: no such process.
        let dead = temporary_path(&target, 999_999_999);
        let live = temporary_path(&target, 1); // init is always alive
        let other_file = temporary_path(&dir.path().join("other.conf"), 999_999_999);
        for path in [&dead, &live, &other_file] {
            fs::write(path, "partial").expect("write");
        }
        write_all(dir.path(), &[artifact("nginx.conf", "new")], false).expect("render");
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(
            other_file.exists(),
            "only this file's temporaries are swept"
        );
        assert_eq!(fs::read_to_string(&target).expect("read"), "new");
    }
}
