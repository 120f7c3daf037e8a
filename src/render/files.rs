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
pub(crate) enum FileStatus {
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
pub(crate) struct FileReport {
    pub(crate) path: PathBuf,
    pub(crate) status: FileStatus,
    pub(crate) sensitive: bool,
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
pub(crate) fn write_all(
    dir: &Path,
    artifacts: &[Artifact],
    force: bool,
) -> Result<Vec<FileReport>> {
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
pub(crate) fn check_all(dir: &Path, artifacts: &[Artifact]) -> Result<Vec<FileReport>> {
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
pub(crate) fn write_atomically(path: &Path, contents: &str, sensitive: bool) -> Result<()> {
    StagedFile::stage(path, contents, sensitive)?.commit()?;
    sync_directory(directory_of(path));
    Ok(())
}

/// A complete new version of a file, written and synced to a temporary file
/// beside its target (`tempfile`, named `.<name>.tmp-<random>`), waiting to
/// be renamed over it. Dropped uncommitted, it removes itself.
///
/// While it exists, the temporary file is held under an exclusive `flock`:
/// that is how another run tells a live run's file from the leftover of a
/// killed one (the kernel drops a dead process's locks), with no process ids
/// and no `/proc`.
struct StagedFile {
    tmp: tempfile::NamedTempFile,
    path: PathBuf,
}

impl StagedFile {
    /// The mode is set when the temporary file is created, never after (a
    /// 0600 file is never briefly world-readable).
    fn stage(path: &Path, contents: &str, sensitive: bool) -> Result<StagedFile> {
        let mut tmp = claimed_temporary(path, sensitive).map_err(|e| Error::io(path, e))?;
        tmp.write_all(contents.as_bytes())
            .and_then(|()| tmp.as_file().sync_all())
            .map_err(|e| Error::io(path, e))?;
        Ok(StagedFile {
            tmp,
            path: path.to_path_buf(),
        })
    }

    fn commit(self) -> Result<()> {
        let path = self.path;
        self.tmp
            .persist(&path)
            .map(drop)
            .map_err(|e| Error::io(&path, e.error))
    }
}

/// A new temporary file beside `path`, locked by this run. A sweeping run
/// could lock and remove a file in the instant between its creation and our
/// lock; we then see it gone (or its lock taken) and make another.
fn claimed_temporary(path: &Path, sensitive: bool) -> std::io::Result<tempfile::NamedTempFile> {
    let prefix = temporary_prefix(path);
    let mut builder = tempfile::Builder::new();
    builder.prefix(&prefix);
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(fs::Permissions::from_mode(if sensitive {
            0o600
        } else {
            0o644
        }));
    }
    #[cfg(not(unix))]
    let _ = sensitive;
    let mut attempts = 0;
    loop {
        let tmp = builder.tempfile_in(directory_of(path))?;
        attempts += 1;
        if lock::try_claim(tmp.as_file(), tmp.path()) || attempts >= 3 {
            return Ok(tmp);
        }
    }
}

/// `.<name>.tmp-`: the start of every temporary file name of `path`
/// (hidden, and recognisable as ours by the sweep).
fn temporary_prefix(path: &Path) -> String {
    let file_name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    format!(".{file_name}.tmp-")
}

/// Removes the temporary files that a killed earlier run left in `dir`
/// beside one of `targets`: those whose lock nobody holds. Only our own
/// naming pattern for these files is touched, and a temporary file of
/// another live run (locked) is left alone. One listing of `dir` serves
/// every target.
fn remove_abandoned_temporaries(dir: &Path, targets: &[&Path]) {
    let prefixes: Vec<String> = targets
        .iter()
        .filter(|path| directory_of(path) == dir)
        .map(|path| temporary_prefix(path))
        .collect();
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if prefixes
            .iter()
            .any(|prefix| name.starts_with(prefix.as_str()))
        {
            lock::remove_if_abandoned(&entry.path());
        }
    }
}

/// The advisory locks that mark a temporary file as in use.
#[cfg(unix)]
mod lock {
    use std::fs::{self, File};
    use std::os::unix::fs::MetadataExt;
    use std::path::Path;

    use rustix::fs::{FlockOperation, flock};

    /// Locks `file` for this run; true when the lock is ours and `path`
    /// still names this very file. Where the file system has no locks,
    /// true as well (nothing then sweeps it, see `remove_if_abandoned`).
    pub(super) fn try_claim(file: &File, path: &Path) -> bool {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => same_file(file, path),
            Err(e) => e != rustix::io::Errno::WOULDBLOCK,
        }
    }

    /// Removes `path` when no live run holds its lock. The lock is taken
    /// first and held during the removal, so a run cannot claim the file
    /// meanwhile; a file that cannot be locked at all is left alone
    /// (leaving a stray file beats removing a live one).
    pub(super) fn remove_if_abandoned(path: &Path) {
        let Ok(file) = File::open(path) else {
            return;
        };
        if flock(&file, FlockOperation::NonBlockingLockExclusive).is_ok() && same_file(&file, path)
        {
            let _ = fs::remove_file(path);
        }
    }

    /// `path` still names the file `file` has open (not removed, not
    /// renamed away and replaced).
    fn same_file(file: &File, path: &Path) -> bool {
        match (file.metadata(), fs::symlink_metadata(path)) {
            (Ok(open), Ok(named)) => open.dev() == named.dev() && open.ino() == named.ino(),
            _ => false,
        }
    }
}

/// Without `flock`, no temporary file can be told abandoned: none is swept.
#[cfg(not(unix))]
mod lock {
    use std::fs::File;
    use std::path::Path;

    pub(super) fn try_claim(_: &File, _: &Path) -> bool {
        true
    }

    pub(super) fn remove_if_abandoned(_: &Path) {}
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

    /// A temporary file of `target` as a run would leave it: named like
    /// ours, with `contents`.
    fn temporary(target: &Path, suffix: &str) -> PathBuf {
        let path = directory_of(target).join(format!("{}{suffix}", temporary_prefix(target)));
        fs::write(&path, "partial").expect("write");
        path
    }

    #[test]
    fn temporaries_of_dead_runs_are_removed_and_live_ones_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join("nginx.conf");
        // Nobody holds its lock: the run that wrote it is gone.
        let dead = temporary(&target, "dead01");
        // Another live run: its file is open and locked.
        let live = temporary(&target, "live01");
        let held = fs::File::open(&live).expect("open");
        rustix::fs::flock(&held, rustix::fs::FlockOperation::NonBlockingLockExclusive)
            .expect("lock");
        let other_file = temporary(&dir.path().join("other.conf"), "dead02");
        write_all(dir.path(), &[artifact("nginx.conf", "new")], false).expect("render");
        assert!(!dead.exists());
        assert!(live.exists());
        assert!(
            other_file.exists(),
            "only this file's temporaries are swept"
        );
        assert_eq!(fs::read_to_string(&target).expect("read"), "new");
        // Once that run ends (its lock released), the next render sweeps it.
        drop(held);
        write_all(dir.path(), &[artifact("nginx.conf", "new")], false).expect("render");
        assert!(!live.exists());
    }

    #[test]
    fn a_staged_file_is_locked_until_committed_and_has_its_mode() {
        let dir = tempfile::tempdir().expect("tempdir");
        let target = dir.path().join(".env.production");
        let staged = StagedFile::stage(&target, "SECRET=\n", true).expect("stage");
        let tmp = staged.tmp.path().to_path_buf();
        assert!(
            tmp.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("..env.production.tmp-"))
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&tmp).expect("stat").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        // A concurrent run's sweep leaves it alone.
        remove_abandoned_temporaries(dir.path(), &[target.as_path()]);
        assert!(tmp.exists());
        staged.commit().expect("commit");
        assert!(!tmp.exists());
        assert_eq!(fs::read_to_string(&target).expect("read"), "SECRET=\n");
    }
}
