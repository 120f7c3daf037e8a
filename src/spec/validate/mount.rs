//! `mount:` on a local environment: the share its path is mounted from.
//! The kind is a filesystem type as /proc/self/mountinfo names it, the
//! source has the shape that kind mounts, and the path is the mount point:
//! absolute, written in the spec, and plain enough to go unquoted into an
//! fstab line and a systemd unit's `Where=`.

use serde_saphyr::{Location, Spanned};

use super::Checker;
use crate::spec::NetworkMount;
use crate::spec::raw::RawMount;

/// The filesystem types `mount.kind` accepts besides `fuse.NAME`.
const KINDS: [&str; 5] = ["nfs", "nfs4", "cifs", "smb3", "tmpfs"];

impl Checker<'_> {
    /// `mount:` with the environment's `path:` (its mount point).
    pub(super) fn mount(
        &mut self,
        raw: &Spanned<RawMount>,
        path: Option<&Spanned<String>>,
    ) -> Option<NetworkMount> {
        let kind = &raw.value.kind;
        let kind_ok = is_kind(&kind.value);
        if !kind_ok {
            self.problem(
                &kind.referenced,
                "mount.kind",
                format!(
                    "mount.kind '{}' must be a filesystem type as /proc/self/mountinfo names it: {}, or fuse.NAME",
                    kind.value.escape_debug(),
                    KINDS.join(", ")
                ),
            );
        }
        let source = &raw.value.source;
        let source_problem = source_problem(&kind.value, &source.value);
        if let Some(message) = &source_problem {
            self.problem(&source.referenced, "mount.source", message.clone());
        }
        let point_ok = self.mount_point(path, &raw.referenced);
        (kind_ok && source_problem.is_none() && point_ok).then(|| NetworkMount {
            kind: kind.value.clone(),
            source: source.value.clone(),
        })
    }

    /// The path, as a mount point: written, absolute, plain.
    fn mount_point(&mut self, path: Option<&Spanned<String>>, mount: &Location) -> bool {
        let Some(path) = path else {
            self.problem(
                mount,
                "mount.path",
                "mount: needs path: (the absolute mount point the share is mounted on)".into(),
            );
            return false;
        };
        if is_mount_point(&path.value) {
            return true;
        }
        self.problem(
            &path.referenced,
            "mount.path",
            format!(
                "path '{}' is the mount point of mount: it must be an absolute path other than / of letters, digits, '/', '.', '_' and '-' (it goes into fstab and a systemd unit)",
                path.value.escape_debug()
            ),
        );
        false
    }
}

/// A filesystem type the tool knows how to check.
fn is_kind(kind: &str) -> bool {
    KINDS.contains(&kind)
        || kind.strip_prefix("fuse.").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        })
}

/// What is wrong with `source` for a mount of `kind`, if anything.
fn source_problem(kind: &str, source: &str) -> Option<String> {
    let shown = source.escape_debug();
    if source.is_empty() || source.chars().any(|c| c.is_whitespace() || c.is_control()) {
        return Some(format!(
            "mount.source '{shown}' must be one word: no spaces (it goes into fstab and a systemd unit)"
        ));
    }
    if source.contains(['%', '#', '@', '\\']) {
        return Some(format!(
            "mount.source '{shown}' must not hold '%', '#', '@' or '\\' (credentials go in a credentials file, never in the source)"
        ));
    }
    let shaped = match kind {
        "nfs" | "nfs4" => source
            .split_once(':')
            .is_some_and(|(host, export)| !host.is_empty() && export.starts_with('/')),
        "cifs" | "smb3" => source
            .strip_prefix("//")
            .and_then(|rest| rest.split_once('/'))
            .is_some_and(|(host, share)| !host.is_empty() && !share.is_empty()),
        _ => true,
    };
    (!shaped).then(|| {
        let expected = if kind.starts_with("nfs") {
            "server:/export"
        } else {
            "//server/share"
        };
        format!("mount.source '{shown}' must be {expected} for a {kind} mount")
    })
}

/// An absolute path other than `/`, free of `..` and of anything fstab or
/// a unit file would need quoted.
fn is_mount_point(path: &str) -> bool {
    let trimmed = path.trim_end_matches('/');
    trimmed.starts_with('/')
        && trimmed
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-".contains(c))
        && !trimmed.split('/').any(|part| part == "..")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds() {
        for good in [
            "nfs",
            "nfs4",
            "cifs",
            "smb3",
            "tmpfs",
            "fuse.sshfs",
            "fuse.s3fs",
        ] {
            assert!(is_kind(good), "{good}");
        }
        for bad in ["", "ext4", "NFS", "fuse.", "fuse", "fuse.a b", "nfs4 "] {
            assert!(!is_kind(bad), "{bad}");
        }
    }

    #[test]
    fn sources() {
        let good = [
            ("nfs4", "nfs-server:/exports/chronotrace"),
            ("nfs", "10.0.0.5:/srv"),
            ("cifs", "//nas/traces"),
            ("tmpfs", "none"),
            ("fuse.sshfs", "backup:/traces"),
        ];
        for (kind, source) in good {
            assert_eq!(source_problem(kind, source), None, "{kind} {source}");
        }
        let bad = [
            ("nfs4", "nfs-server/exports"),
            ("nfs4", ":/exports"),
            ("nfs4", "server:exports"),
            ("cifs", "nas/traces"),
            ("cifs", "//nas"),
            ("nfs4", "server:/a b"),
            ("cifs", "//user:pw@nas/traces"),
            ("nfs4", "server:/a%b"),
            ("tmpfs", ""),
        ];
        for (kind, source) in bad {
            assert!(source_problem(kind, source).is_some(), "{kind} {source}");
        }
    }

    #[test]
    fn mount_points() {
        assert!(is_mount_point("/mnt/chronotrace"));
        assert!(is_mount_point("/var/www/app/storage/app/"));
        for bad in ["/", "mnt/x", "/mnt/a b", "/mnt/../etc", "/mnt/%i", ""] {
            assert!(!is_mount_point(bad), "{bad}");
        }
    }
}
