//! `/proc/self/mountinfo` read as data: which mount a path is the mount
//! point of, its filesystem type, its source and its options (the
//! per-mount ones such as `nosuid`, `noexec` and the filesystem's own such
//! as NFS's `hard`, `vers=4.2`). Pure: the text comes from the caller, so
//! tests feed recorded lines (this kernel has no NFS client).

use std::path::{Path, PathBuf};

/// Where the kernel lists this process's mounts.
pub(crate) const MOUNTINFO: &str = "/proc/self/mountinfo";

/// One line of mountinfo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct MountEntry {
    /// Where it is mounted.
    pub(crate) point: PathBuf,
    /// The filesystem type (`nfs4`, `tmpfs`, `fuse.sshfs`).
    pub(crate) fstype: String,
    /// What is mounted (`server:/exports/chronotrace`).
    pub(crate) source: String,
    /// The per-mount options, then the filesystem's own, in order.
    pub(crate) options: Vec<String>,
}

impl MountEntry {
    /// Whether the option `name` (or `name=...`) is set.
    pub(crate) fn has(&self, name: &str) -> bool {
        self.options
            .iter()
            .any(|o| o == name || o.split_once('=').is_some_and(|(key, _)| key == name))
    }
}

/// Every mount listed in `text`, in order (a later one hides an earlier
/// one on the same point). Lines that are not mountinfo are skipped.
pub(crate) fn parse(text: &str) -> Vec<MountEntry> {
    text.lines().filter_map(parse_line).collect()
}

/// `36 35 98:0 /root /point rw,noatime shared:1 - ext3 /dev/root rw,errors=continue`
fn parse_line(line: &str) -> Option<MountEntry> {
    let (before, after) = line.split_once(" - ")?;
    let mut fields = before.split(' ');
    let point = fields.nth(4)?;
    let mount_options = fields.next()?;
    let mut fs = after.split(' ');
    let (fstype, source) = (fs.next()?, fs.next()?);
    let super_options = fs.next().unwrap_or("");
    let mut options: Vec<String> = Vec::new();
    // `rw` (and the like) appear on both sides: listed once.
    for option in mount_options.split(',').chain(super_options.split(',')) {
        if !option.is_empty() && !options.iter().any(|o| o == option) {
            options.push(option.to_string());
        }
    }
    Some(MountEntry {
        point: PathBuf::from(unescape(point)),
        fstype: fstype.to_string(),
        source: unescape(source),
        options,
    })
}

/// The mount whose mount point is exactly `path` (the last listed wins).
pub(crate) fn mounted_at<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    mounts.iter().rev().find(|m| m.point == path)
}

/// The mount holding `path`: the longest mount point it lies under.
pub(crate) fn holding<'a>(mounts: &'a [MountEntry], path: &Path) -> Option<&'a MountEntry> {
    mounts
        .iter()
        .rev()
        .filter(|m| path.starts_with(&m.point))
        .max_by_key(|m| m.point.components().count())
}

/// mountinfo (and /proc/mounts) write space, tab, newline and backslash
/// as octal escapes.
pub(crate) fn unescape(field: &str) -> String {
    field
        .replace("\\040", " ")
        .replace("\\011", "\t")
        .replace("\\012", "\n")
        .replace("\\134", "\\")
}

#[cfg(test)]
pub(crate) mod recorded {
    //! mountinfo lines recorded on NFS clients (this kernel has none).

    /// The root filesystem of the machine the lines below come from.
    pub(crate) const ROOT: &str =
        "29 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw,errors=remount-ro";
    /// The mount `render` writes: hard, noexec, nosuid, nodev over NFS 4.2.
    pub(crate) const NFS_HARDENED: &str = "412 29 0:52 / /mnt/chronotrace rw,nosuid,nodev,noexec,noatime shared:220 - nfs4 nfs-server:/exports/chronotrace rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,hard,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.12,local_lock=none,addr=10.0.0.5";
    /// The seed's fstab line (`defaults`) on a server that was set up with `soft`.
    pub(crate) const NFS_SOFT: &str = "412 29 0:52 / /mnt/chronotrace rw,relatime shared:220 - nfs4 nfs-server:/exports/chronotrace rw,vers=4.2,rsize=1048576,wsize=1048576,namlen=255,soft,proto=tcp,timeo=600,retrans=2,sec=sys,clientaddr=10.0.0.12,local_lock=none,addr=10.0.0.5";
    /// NFS 3 as an old kernel lists it, with no `hard` written.
    pub(crate) const NFS3_NO_HARD: &str = "95 29 0:44 / /mnt/chronotrace rw,nosuid,noexec,relatime shared:60 - nfs nas:/volume1/traces rw,vers=3,rsize=131072,wsize=131072,namlen=255,proto=tcp,timeo=600,retrans=2,sec=sys,mountaddr=10.0.0.5,mountvers=3,mountport=892,mountproto=udp,local_lock=none,addr=10.0.0.5";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_recorded_nfs_line_is_read_whole() {
        let mounts = parse(&format!("{}\n{}\n", recorded::ROOT, recorded::NFS_HARDENED));
        let nfs = mounted_at(&mounts, Path::new("/mnt/chronotrace")).expect("listed");
        assert_eq!(nfs.fstype, "nfs4");
        assert_eq!(nfs.source, "nfs-server:/exports/chronotrace");
        for option in ["nosuid", "noexec", "hard", "vers", "proto"] {
            assert!(nfs.has(option), "{option}");
        }
        assert!(!nfs.has("soft"));
        assert!(mounted_at(&mounts, Path::new("/mnt")).is_none());
        let holder = holding(&mounts, Path::new("/mnt/chronotrace/traces")).expect("nfs");
        assert_eq!(holder.fstype, "nfs4");
        assert_eq!(
            holding(&mounts, Path::new("/mnt/other")).map(|m| m.fstype.as_str()),
            Some("ext4")
        );
    }

    #[test]
    fn escapes_and_stacked_mounts() {
        let text = "1 0 0:1 / / rw - ext4 /dev/sda1 rw\n\
            2 1 0:2 / /mnt/my\\040share rw - tmpfs none rw\n\
            3 1 0:3 / /mnt/my\\040share rw - nfs4 s:/x rw,hard\n\
            not a mountinfo line\n";
        let mounts = parse(text);
        assert_eq!(mounts.len(), 3);
        let top = mounted_at(&mounts, Path::new("/mnt/my share")).expect("mounted");
        assert_eq!(top.fstype, "nfs4");
    }
}
