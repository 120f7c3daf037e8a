//! A local environment's share (`mount:`): whether the path is the mount
//! point of a mount of the expected kind right now, the marker file that
//! `apply` writes at the share's root (missing: the app writes into the
//! empty mount point on the root disk), the mount's options, and a stale
//! NFS handle. The judgements are pure over the mountinfo text and the
//! devices, so recorded NFS lines test them; `check` feeds them the
//! kernel's.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::plan::{Action, Change, Resource};
use crate::spec::{LocalStorage, NetworkMount};
use crate::stores::local::mountinfo::{self, MountEntry};

/// The ids of the mount checks.
pub(crate) const IDS: [&str; 3] = ["local.mount", "local.mount-marker", "local.mount-options"];
/// The marker `apply` writes at the share's root.
pub(crate) const MARKER: &str = ".chronotrace-ops-mount";

/// What the kernel says about the path now.
#[derive(Debug)]
pub(crate) struct Observed {
    /// The mountinfo lines, parsed.
    pub(crate) mounts: Vec<MountEntry>,
    /// The path (canonical when it exists).
    pub(crate) path: PathBuf,
    /// The path's device is its parent's: nothing is mounted on it.
    pub(crate) same_device_as_parent: bool,
}

impl Observed {
    /// Reads `/proc/self/mountinfo` and the devices of `path` and its parent.
    pub(crate) fn read(path: &Path) -> Result<Observed> {
        let text = std::fs::read_to_string(mountinfo::MOUNTINFO)
            .map_err(|e| Error::io(Path::new(mountinfo::MOUNTINFO), e))?;
        let path = path.canonicalize().unwrap_or_else(|_| path.to_path_buf());
        Ok(Observed {
            mounts: mountinfo::parse(&text),
            same_device_as_parent: same_device_as_parent(&path),
            path,
        })
    }

    /// The mount on the path when it is one of kind `want`.
    pub(crate) fn share(&self, want: &NetworkMount) -> std::result::Result<&MountEntry, String> {
        let on_path = mountinfo::mounted_at(&self.mounts, &self.path);
        match on_path {
            Some(entry) if !self.same_device_as_parent && entry.fstype == want.kind => Ok(entry),
            Some(entry) if !self.same_device_as_parent => Err(format!(
                "{} is a {} mount of {}, not the {} share {}",
                self.path.display(),
                entry.fstype,
                entry.source,
                want.kind,
                want.source
            )),
            _ => {
                let below = mountinfo::holding(&self.mounts, &self.path).map_or_else(
                    || "the disk below".to_string(),
                    |m| format!("{} ({} at {})", m.source, m.fstype, m.point.display()),
                );
                Err(format!(
                    "{} is not mounted: nothing is mounted on it (its device is its parent's), so what is written there goes to {below}",
                    self.path.display()
                ))
            }
        }
    }
}

/// Whether `path` lies on the same device as its parent (true when either
/// cannot be read: no mount can be shown there).
fn same_device_as_parent(path: &Path) -> bool {
    use std::os::unix::fs::MetadataExt;
    let parent = path.parent().unwrap_or(path);
    match (std::fs::metadata(path), std::fs::metadata(parent)) {
        (Ok(here), Ok(above)) => here.dev() == above.dev(),
        _ => true,
    }
}

/// The mount checks of `local`, when it names a share.
pub(crate) fn check(local: &LocalStorage, want: &NetworkMount) -> Vec<CheckResult> {
    let observed = match Observed::read(&local.path) {
        Ok(observed) => observed,
        Err(e) => {
            return crate::check::skip_all(&IDS, &format!("mounts unknown: {e}"));
        }
    };
    vec![
        mounted(&observed, want),
        marker(&observed.path, want),
        options(&observed, want),
    ]
}

/// `local.mount`: the path is the mount point of a share of the kind.
pub(crate) fn mounted(observed: &Observed, want: &NetworkMount) -> CheckResult {
    match observed.share(want) {
        Ok(entry) if entry.source == want.source => CheckResult::pass(
            IDS[0],
            format!(
                "{} mount of {} at {}",
                entry.fstype,
                entry.source,
                observed.path.display()
            ),
        ),
        Ok(entry) => CheckResult::warn(
            IDS[0],
            format!(
                "{} mount at {} comes from {}, the spec says {}",
                entry.fstype,
                observed.path.display(),
                entry.source,
                want.source
            ),
        )
        .with_hint(
            "the same share under another name is fine; otherwise fix mount.source or the mount",
        ),
        Err(message) => CheckResult::fail(IDS[0], message).with_hint(remount_hint(&observed.path)),
    }
}

/// `local.mount-marker`: the file `apply` wrote at the share's root.
pub(crate) fn marker(path: &Path, want: &NetworkMount) -> CheckResult {
    let marker = path.join(MARKER);
    match std::fs::read(&marker) {
        Ok(_) => CheckResult::pass(
            IDS[1],
            format!("{} is there: the share is mounted", marker.display()),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => CheckResult::fail(
            IDS[1],
            format!(
                "{} is missing: {} is the empty mount point on the disk below, not the share {}",
                marker.display(),
                path.display(),
                want.source
            ),
        )
        .with_hint(format!(
            "{}; on a share mounted for the first time, `chronotrace-ops apply` writes the marker",
            remount_hint(path)
        )),
        Err(e) => read_failure(IDS[1], &marker, &e),
    }
}

/// A failed read: a stale NFS handle says how to recover.
pub(crate) fn read_failure(id: &str, path: &Path, e: &std::io::Error) -> CheckResult {
    let result = CheckResult::fail(id, format!("{}: {e}", path.display()));
    if is_stale(e) {
        result.with_hint(format!(
            "a stale file handle: the NFS server restarted or the export changed; remount: `umount -l {p} && mount {p}` (or restart its mount unit), then rerun check",
            p = mount_point_of(path).display()
        ))
    } else {
        result
    }
}

/// `ESTALE`: the server no longer knows the handle the client holds.
pub(crate) fn is_stale(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(rustix::io::Errno::STALE.raw_os_error())
}

/// The directory holding a marker (the mount point itself otherwise).
fn mount_point_of(path: &Path) -> &Path {
    if path.file_name().is_some_and(|n| n == MARKER) {
        path.parent().unwrap_or(path)
    } else {
        path
    }
}

fn remount_hint(path: &Path) -> String {
    format!(
        "mount the share (`mount {p}`, or the mount unit `render` writes), move anything written into the empty mount point onto it, then rerun check",
        p = path.display()
    )
}

/// What `apply` does at the share's root: write the marker when it is
/// missing. A path that is not the share's mount point is refused (the
/// marker would land in the empty mount point, and the traces with it).
pub(crate) fn marker_change(
    path: &Path,
    want: &NetworkMount,
) -> std::result::Result<Change, Error> {
    let observed = Observed::read(path)?;
    if let Err(message) = observed.share(want) {
        return Err(Error::usage_with_hint(
            format!("{message}: nothing is applied there until the share is mounted"),
            format!(
                "mount the share first (`render` writes its fstab line and mount unit), then rerun apply; {}",
                "apply writes the marker at its root and creates traces/ on it"
            ),
        ));
    }
    let marker = observed.path.join(MARKER);
    let at = json!({ "path": marker.display().to_string() });
    Ok(if marker.exists() {
        Change::new(Resource::LocalMountMarker, Action::None).with_before(at)
    } else {
        Change::new(Resource::LocalMountMarker, Action::Create).with_after(at)
    })
}

/// Writes the marker at `path` (the share's root), mode 0640; never over
/// an existing file.
pub(crate) fn write_marker(path: &Path, want: &NetworkMount) -> Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let marker = path.join(MARKER);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o640)
        .open(&marker)
        .map_err(|e| Error::io(&marker, e))?;
    let body = format!(
        "Written by chronotrace-ops apply at the root of the share {} ({}).\n\
         `chronotrace-ops check` fails when this file is missing: the share is not mounted.\n",
        want.source, want.kind
    );
    file.write_all(body.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(&marker, e))
}

/// `local.mount-options`: `hard`, `noexec`, `nosuid`, never `soft`.
pub(crate) fn options(observed: &Observed, want: &NetworkMount) -> CheckResult {
    match observed.share(want) {
        Ok(entry) => judge_options(entry),
        Err(_) => CheckResult::skip(IDS[2], "the share is not mounted"),
    }
}

/// Warns on `soft` and on missing `hard` (NFS), `noexec` and `nosuid`.
pub(crate) fn judge_options(entry: &MountEntry) -> CheckResult {
    let nfs = entry.fstype.starts_with("nfs");
    let mut problems = Vec::new();
    if nfs && entry.has("soft") {
        problems.push("soft (a server hiccup returns an error mid-write: a truncated trace)");
    } else if nfs && !entry.has("hard") {
        problems.push("no hard (writes must wait for the server, not fail)");
    }
    if !entry.has("noexec") {
        problems.push("no noexec (nothing on the share should run)");
    }
    if !entry.has("nosuid") {
        problems.push("no nosuid (set-uid files on the share would be honoured)");
    }
    if problems.is_empty() {
        return CheckResult::pass(
            IDS[2],
            format!("{}: {}", entry.point.display(), entry.options.join(",")),
        );
    }
    CheckResult::warn(
        IDS[2],
        format!("{} is mounted with {}", entry.point.display(), problems.join("; ")),
    )
    .with_hint("mount it with the options `render` writes (vers=4.2,hard,proto=tcp,noatime,nosuid,nodev,noexec,_netdev)")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;
    use crate::stores::local::mountinfo::recorded;

    fn nfs() -> NetworkMount {
        NetworkMount {
            kind: "nfs4".into(),
            source: "nfs-server:/exports/chronotrace".into(),
        }
    }

    fn observed(lines: &[&str], same_device_as_parent: bool) -> Observed {
        Observed {
            mounts: mountinfo::parse(&lines.join("\n")),
            path: PathBuf::from("/mnt/chronotrace"),
            same_device_as_parent,
        }
    }

    #[test]
    fn the_hardened_mount_passes() {
        let seen = observed(&[recorded::ROOT, recorded::NFS_HARDENED], false);
        assert_eq!(mounted(&seen, &nfs()).status, Status::Pass);
        assert_eq!(options(&seen, &nfs()).status, Status::Pass);
    }

    #[test]
    fn soft_and_missing_options_warn() {
        let soft = options(
            &observed(&[recorded::ROOT, recorded::NFS_SOFT], false),
            &nfs(),
        );
        assert_eq!(soft.status, Status::Warn);
        for word in ["soft", "noexec", "nosuid"] {
            assert!(soft.message.contains(word), "{word}: {}", soft.message);
        }
        let nfs3 = NetworkMount {
            kind: "nfs".into(),
            source: "nas:/volume1/traces".into(),
        };
        let no_hard = options(
            &observed(&[recorded::ROOT, recorded::NFS3_NO_HARD], false),
            &nfs3,
        );
        assert_eq!(no_hard.status, Status::Warn);
        assert!(no_hard.message.contains("no hard"), "{}", no_hard.message);
        assert!(!no_hard.message.contains("noexec"), "{}", no_hard.message);
    }

    #[test]
    fn a_dropped_mount_fails() {
        // Unmounted: the path is a plain directory of the root disk.
        let dropped = mounted(&observed(&[recorded::ROOT], true), &nfs());
        assert_eq!(dropped.status, Status::Fail);
        assert!(
            dropped.message.contains("not mounted") && dropped.message.contains("ext4"),
            "{}",
            dropped.message
        );
        // Listed but the devices say otherwise (a lazily detached mount).
        let listed = observed(&[recorded::ROOT, recorded::NFS_HARDENED], true);
        assert_eq!(mounted(&listed, &nfs()).status, Status::Fail);
        assert_eq!(options(&listed, &nfs()).status, Status::Skip);
    }

    #[test]
    fn another_filesystem_fails_and_another_source_warns() {
        let tmpfs = "500 29 0:60 / /mnt/chronotrace rw,nosuid,noexec - tmpfs none rw";
        let other = mounted(&observed(&[recorded::ROOT, tmpfs], false), &nfs());
        assert_eq!(other.status, Status::Fail);
        assert!(other.message.contains("tmpfs"), "{}", other.message);
        let elsewhere = NetworkMount {
            kind: "nfs4".into(),
            source: "10.0.0.5:/exports/chronotrace".into(),
        };
        let seen = observed(&[recorded::ROOT, recorded::NFS_HARDENED], false);
        assert_eq!(mounted(&seen, &elsewhere).status, Status::Warn);
    }

    #[test]
    fn estale_is_named_with_a_remount_hint() {
        let stale = std::io::Error::from_raw_os_error(rustix::io::Errno::STALE.raw_os_error());
        let result = read_failure(IDS[1], &Path::new("/mnt/chronotrace").join(MARKER), &stale);
        assert_eq!(result.status, Status::Fail);
        let hint = result.hint.unwrap_or_default();
        assert!(
            hint.contains("umount -l /mnt/chronotrace && mount /mnt/chronotrace"),
            "{hint}"
        );
    }
}
