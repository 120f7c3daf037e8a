//! Local storage (`storage: local`, the Laravel disk or an NFS mount): the
//! directory exists and is writable (a probe file, removed), and how much
//! space is free on which filesystem (read from /proc/mounts); with
//! `mount:`, the share's own checks (`mount`) and its modes (`modes`).

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::check::CheckResult;
use crate::report::fmt::bytes;
use crate::spec::LocalStorage;
use crate::stores::local::mountinfo::unescape;

/// The ids of the local checks.
pub const IDS: [&str; 4] = [
    "local.directory",
    "local.writable",
    "local.free-space",
    "local.filesystem",
];
/// Less free space than this (bytes) is a warning.
const LOW_SPACE_BYTES: u64 = 1 << 30;
/// Less free space than this share (percent) is a warning.
const LOW_SPACE_PERCENT: u64 = 5;

/// Runs the local checks in order (each is quick).
pub fn check(local: &LocalStorage) -> Vec<CheckResult> {
    let started = Instant::now();
    let dir = &local.path;
    let directory = directory(dir).took(started);
    if directory.status == crate::check::Status::Fail {
        let mut results = vec![directory];
        results.extend(crate::check::skip_all(
            &IDS[1..],
            "the directory is missing",
        ));
        if local.mount.is_some() {
            results.extend(crate::check::skip_all(
                &super::mount::IDS,
                "the directory is missing",
            ));
        }
        return results;
    }
    let started = Instant::now();
    let writable = writable(dir).took(started);
    let started = Instant::now();
    let space = free_space(dir).took(started);
    let started = Instant::now();
    let filesystem = filesystem(dir, local.mount.is_some()).took(started);
    let mut results = vec![directory, writable, space, filesystem];
    if let Some(want) = &local.mount {
        let started = Instant::now();
        let mount = super::mount::check(local, want);
        results.extend(mount.into_iter().map(|r| r.took(started)));
        let started = Instant::now();
        results.push(super::modes::check(local).took(started));
    }
    results
}

fn directory(dir: &Path) -> CheckResult {
    match std::fs::metadata(dir) {
        Ok(meta) if meta.is_dir() => CheckResult::pass(IDS[0], format!("{} exists", dir.display())),
        Ok(_) => CheckResult::fail(IDS[0], format!("{} is not a directory", dir.display()))
            .with_hint("point the environment's path at the Laravel disk root"),
        Err(e) if super::mount::is_stale(&e) => super::mount::read_failure(IDS[0], dir, &e),
        Err(e) => CheckResult::fail(IDS[0], format!("{}: {e}", dir.display()))
            .with_hint("create it with `chronotrace-ops apply`, or fix the environment's path"),
    }
}

pub(crate) fn writable(dir: &Path) -> CheckResult {
    let probe = dir.join(format!(".chronotrace-ops-{}", crate::check::probe_name()));
    let written = write_probe(&probe);
    // Removed whatever happened: a half-written probe must not stay.
    let removed = std::fs::remove_file(&probe);
    match (written, removed) {
        (Ok(()), Ok(())) => CheckResult::pass(
            IDS[1],
            format!(
                "wrote, read back and removed a probe file in {}",
                dir.display()
            ),
        ),
        (Err(e), _) => CheckResult::fail(IDS[1], format!("cannot write in {}: {e}", dir.display()))
            .with_hint("check the directory's owner and mode (the app's user must write there)"),
        (Ok(()), Err(e)) => CheckResult::fail(
            IDS[1],
            format!("cannot remove the probe {}: {e}", probe.display()),
        ),
    }
}

fn write_probe(probe: &PathBuf) -> std::io::Result<()> {
    let body = b"chronotrace-ops probe\n";
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(probe)?;
    file.write_all(body)?;
    file.sync_all()?;
    if std::fs::read(probe)? != body {
        return Err(std::io::Error::other(
            "read back differs from what was written",
        ));
    }
    Ok(())
}

fn free_space(dir: &Path) -> CheckResult {
    match rustix::fs::statvfs(dir) {
        Ok(stat) => judge_space(
            stat.f_bavail.saturating_mul(stat.f_frsize),
            stat.f_blocks.saturating_mul(stat.f_frsize),
        ),
        Err(e) => CheckResult::skip(IDS[2], format!("free space unknown: {e}")),
    }
}

/// Warn when the free space is low in bytes or share.
pub fn judge_space(free: u64, total: u64) -> CheckResult {
    let percent = free.saturating_mul(100).checked_div(total).unwrap_or(100);
    let message = format!("{} free of {} ({percent}%)", bytes(free), bytes(total));
    if free < LOW_SPACE_BYTES || percent < LOW_SPACE_PERCENT {
        CheckResult::warn(IDS[2], format!("low space: {message}")).with_hint(
            "free space or lower retention_days: traces stop being written when the disk is full",
        )
    } else {
        CheckResult::pass(IDS[2], message)
    }
}

fn filesystem(dir: &Path, declared: bool) -> CheckResult {
    let canonical = match dir.canonicalize() {
        Ok(path) => path,
        Err(e) => return CheckResult::skip(IDS[3], format!("{}: {e}", dir.display())),
    };
    let mounts = match std::fs::read_to_string("/proc/mounts") {
        Ok(text) => text,
        Err(e) => {
            return CheckResult::skip(IDS[3], format!("filesystem unknown (/proc/mounts: {e})"));
        }
    };
    match mount_of(&mounts, &canonical) {
        Some(mount) if is_network(&mount.fstype) && !declared => {
            CheckResult::warn(IDS[3], format!("{}, and the spec names no mount:", describe(&mount)))
                .with_hint("add mount: {kind, source} to the environment so check fails when the share drops (docs/network-mount.md)")
        }
        Some(mount) => CheckResult::pass(IDS[3], describe(&mount)),
        None => CheckResult::skip(IDS[3], "no mount point found in /proc/mounts"),
    }
}

/// One line of /proc/mounts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    pub device: String,
    pub point: PathBuf,
    pub fstype: String,
}

/// The mount holding `path`: the longest mount point it lies under.
pub fn mount_of(mounts: &str, path: &Path) -> Option<Mount> {
    mounts
        .lines()
        .filter_map(|line| {
            let mut fields = line.split_whitespace();
            let (device, point, fstype) = (fields.next()?, fields.next()?, fields.next()?);
            Some(Mount {
                device: unescape(device),
                point: PathBuf::from(unescape(point)),
                fstype: fstype.to_string(),
            })
        })
        .filter(|m| path.starts_with(&m.point))
        .max_by_key(|m| m.point.components().count())
}

/// A filesystem served over the network (or by a user-space daemon).
fn is_network(fstype: &str) -> bool {
    fstype.starts_with("nfs") || fstype.starts_with("fuse.") || matches!(fstype, "cifs" | "smb3")
}

fn describe(mount: &Mount) -> String {
    let kind = match mount.fstype.as_str() {
        t if t.starts_with("nfs") => {
            " (NFS: a network filesystem, shared with the other app servers)"
        }
        "cifs" | "smb3" => " (SMB: a network filesystem)",
        t if t.starts_with("fuse.") => " (FUSE)",
        _ => "",
    };
    format!(
        "{}{kind} on {} mounted at {}",
        mount.fstype,
        mount.device,
        mount.point.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    const MOUNTS: &str = "overlay / overlay rw 0 0\n\
        proc /proc proc rw 0 0\n\
        nas:/export/traces /var/www/storage nfs4 rw,vers=4.2 0 0\n\
        /dev/sdb1 /mnt/my\\040disk ext4 rw 0 0\n";

    #[test]
    fn the_longest_mount_point_wins() {
        let cases = [
            ("/var/www/storage/app", "nfs4"),
            ("/var/www/html", "overlay"),
            ("/mnt/my disk/app", "ext4"),
            ("/var/www/storagex", "overlay"),
        ];
        for (path, fstype) in cases {
            let mount = mount_of(MOUNTS, Path::new(path)).expect(path);
            assert_eq!(mount.fstype, fstype, "{path}");
        }
    }

    #[test]
    fn network_filesystems() {
        for network in ["nfs", "nfs4", "cifs", "smb3", "fuse.sshfs"] {
            assert!(is_network(network), "{network}");
        }
        for local in ["ext4", "xfs", "overlay", "tmpfs", "fuseblk"] {
            assert!(!is_network(local), "{local}");
        }
    }

    #[test]
    fn nfs_is_named() {
        let mount = mount_of(MOUNTS, Path::new("/var/www/storage/app")).expect("nfs");
        let text = describe(&mount);
        assert!(
            text.contains("NFS") && text.contains("nas:/export/traces"),
            "{text}"
        );
    }

    #[test]
    fn low_space_warns() {
        let gib = 1u64 << 30;
        let cases = [
            (50 * gib, 100 * gib, Status::Pass),
            (gib / 2, 100 * gib, Status::Warn),
            (4 * gib, 100 * gib, Status::Warn),
            (2 * gib, 10 * gib, Status::Pass),
        ];
        for (free, total, status) in cases {
            assert_eq!(judge_space(free, total).status, status, "{free} {total}");
        }
        assert_eq!(bytes(1536), "1.5 KiB");
        assert_eq!(bytes(12), "12 B");
    }
}
