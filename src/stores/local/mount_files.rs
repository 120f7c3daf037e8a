//! What a share (`mount:`) renders: its fstab line, the same mount as a
//! systemd `.mount` unit (named after its mount point, as systemd wants),
//! and a drop-in that makes the app's services (php-fpm, the queue
//! worker) require it. The options are the safe ones: `hard` (a server
//! hiccup waits, never truncates a trace), `noexec,nosuid,nodev`, and
//! `_netdev` with the unit after `network-online.target`; never `nofail`,
//! so a share that does not mount stops the app instead of letting it
//! write into the empty mount point.

use serde::Serialize;

use crate::error::Result;
use crate::render::store::Template;
use crate::spec::{LocalStorage, NetworkMount};

/// The options of every share: no atime writes, nothing run or honoured.
const SAFE: &str = "noatime,nosuid,nodev,noexec";

/// The context of the three templates.
#[derive(Debug, Serialize)]
struct MountContext {
    env: String,
    source: String,
    point: String,
    kind: String,
    options: String,
    options_why: &'static str,
    /// The `.mount` unit's file name.
    unit: String,
    /// Mounted over the network: after `network-online.target`.
    network: bool,
}

/// The fstab line, the mount unit and the services' drop-in of `local`'s share.
pub(crate) fn files(
    env: &str,
    local: &LocalStorage,
    share: &NetworkMount,
) -> Result<Vec<Template>> {
    let point = local.path.display().to_string();
    let point = point.trim_end_matches('/').to_string();
    let (options, options_why) = options(&share.kind);
    let context = MountContext {
        env: env.to_string(),
        source: share.source.clone(),
        unit: unit_name(&point),
        kind: share.kind.clone(),
        options,
        options_why,
        network: share.kind != "tmpfs",
        point,
    };
    Ok(vec![
        Template::new("mount/fstab.tera", format!("fstab.{env}"), &context, false)?,
        Template::new(
            "mount/share.mount.tera",
            context.unit.clone(),
            &context,
            false,
        )?,
        Template::new(
            "mount/requires-mount.conf.tera",
            format!("chronotrace-mount-{env}.conf"),
            &context,
            false,
        )?,
    ])
}

/// The mount options for a share of `kind`, and why, for the fstab comment.
fn options(kind: &str) -> (String, &'static str) {
    match kind {
        "nfs4" => (
            format!("vers=4.2,hard,proto=tcp,{SAFE},_netdev"),
            "hard: a server hiccup makes writes wait, never truncates a trace; _netdev: mounted once the network is up.",
        ),
        "nfs" => (
            format!("vers=3,hard,proto=tcp,{SAFE},_netdev"),
            "NFS 3 (mount.kind nfs; nfs4 mounts vers=4.2); hard: a server hiccup makes writes wait, never truncates a trace.",
        ),
        "cifs" | "smb3" => (
            format!(
                "vers=3.1.1,hard,{SAFE},_netdev,credentials=/etc/chronotrace-ops/smb-credentials"
            ),
            "The user and password go in a root-owned 0600 credentials file, never in this line.",
        ),
        "tmpfs" => (
            format!("{SAFE},mode=0750"),
            "A tmpfs stands in for a share in tests: it is lost on reboot.",
        ),
        _ => (
            format!("{SAFE},_netdev"),
            "A FUSE filesystem: its own options go after these.",
        ),
    }
}

/// The unit name systemd gives the mount point `point`
/// (`systemd-escape -p --suffix=mount`): `/` becomes `-`, and `-` (and a
/// leading `.`) are written `\xNN`. The spec allows only letters, digits,
/// `/`, `.`, `_` and `-` in it.
fn unit_name(point: &str) -> String {
    let trimmed = point.trim_matches('/');
    if trimmed.is_empty() {
        return "-.mount".into();
    }
    let mut name = String::new();
    for (i, c) in trimmed.chars().enumerate() {
        match c {
            '/' => name.push('-'),
            '.' if i == 0 => name.push_str("\\x2e"),
            c if c.is_ascii_alphanumeric() || c == '_' || c == '.' => name.push(c),
            c => name.push_str(&format!("\\x{:02x}", u32::from(c))),
        }
    }
    name + ".mount"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unit_names_are_systemd_escape_s() {
        assert_eq!(unit_name("/mnt/chronotrace"), "mnt-chronotrace.mount");
        assert_eq!(
            unit_name("/var/www/my-app/storage/app/"),
            "var-www-my\\x2dapp-storage-app.mount"
        );
        assert_eq!(unit_name("/srv/.traces_1"), "srv-.traces_1.mount");
    }

    #[test]
    fn nfs_mounts_hard_and_without_nofail() {
        let (nfs4, _) = options("nfs4");
        assert_eq!(
            nfs4,
            "vers=4.2,hard,proto=tcp,noatime,nosuid,nodev,noexec,_netdev"
        );
        for kind in ["nfs", "nfs4", "cifs", "smb3", "tmpfs", "fuse.sshfs"] {
            let (set, _) = options(kind);
            assert!(!set.contains("nofail") && set.contains("noexec"), "{kind}");
        }
    }
}
