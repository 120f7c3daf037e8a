//! `local.modes`: who may read the traces on a share. The seed's
//! `chmod -R 755` makes every trace world-readable; directories wider than
//! 0750 and trace files wider than 0640 warn, naming the owner and uid so
//! the fix is clear. The walk stops after a bounded number of entries: a
//! share of a million traces is judged by its first ones.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::check::CheckResult;
use crate::spec::LocalStorage;

/// The check's id.
pub(crate) const ID: &str = "local.modes";
/// The widest mode a directory may have.
const DIR_MODE: u32 = 0o750;
/// The widest mode a trace may have.
const FILE_MODE: u32 = 0o640;
/// Entries looked at, at most.
const WALK_LIMIT: usize = 10_000;

/// An entry wider than its kind allows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TooWide {
    pub(crate) path: PathBuf,
    pub(crate) mode: u32,
    pub(crate) uid: u32,
    pub(crate) is_dir: bool,
}

/// Whether `mode` gives more than a directory (or a file) may have.
pub(crate) fn too_wide(mode: u32, is_dir: bool) -> bool {
    let allowed = if is_dir { DIR_MODE } else { FILE_MODE };
    mode & 0o7777 & !allowed != 0
}

/// `local.modes` over the path and its traces.
pub(crate) fn check(local: &LocalStorage) -> CheckResult {
    let (seen, wide) = walk(&local.path, &local.traces_dir());
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    judge(seen, &wide, &passwd)
}

/// The path itself, then the traces tree breadth-first, up to the limit.
fn walk(path: &Path, traces: &Path) -> (usize, Vec<TooWide>) {
    let mut wide = Vec::new();
    let mut seen = 0;
    let mut queue = std::collections::VecDeque::from([path.to_path_buf(), traces.to_path_buf()]);
    let mut first = true;
    while let Some(entry) = queue.pop_front() {
        if seen >= WALK_LIMIT {
            break;
        }
        let Ok(meta) = std::fs::symlink_metadata(&entry) else {
            continue;
        };
        seen += 1;
        let is_dir = meta.is_dir();
        if too_wide(meta.mode(), is_dir) {
            wide.push(TooWide {
                path: entry.clone(),
                mode: meta.mode() & 0o7777,
                uid: meta.uid(),
                is_dir,
            });
        }
        // The path's own children other than traces/ are the app's.
        if is_dir
            && !std::mem::take(&mut first)
            && let Ok(children) = std::fs::read_dir(&entry)
        {
            queue.extend(children.flatten().map(|c| c.path()));
        }
    }
    (seen, wide)
}

/// Pass, or warn naming the first entries too wide with their owner.
pub(crate) fn judge(seen: usize, wide: &[TooWide], passwd: &str) -> CheckResult {
    if wide.is_empty() {
        return CheckResult::pass(
            ID,
            format!("{seen} entries looked at: directories at most 0750, traces at most 0640"),
        );
    }
    let named: Vec<String> = wide
        .iter()
        .take(3)
        .map(|w| {
            format!(
                "{} {} is {:o} (owner {}, uid {})",
                if w.is_dir { "directory" } else { "trace" },
                w.path.display(),
                w.mode,
                user_name(passwd, w.uid).unwrap_or("unknown"),
                w.uid
            )
        })
        .collect();
    CheckResult::warn(
        ID,
        format!(
            "{} of {seen} entries are wider than 0750 (directories) / 0640 (traces): {}",
            wide.len(),
            named.join("; ")
        ),
    )
    .with_hint("others must not read traces: narrow the modes (chmod o-rwx, g-w) and give the app's user a umask of 027")
}

/// The user name of `uid` in an /etc/passwd text.
fn user_name(passwd: &str, uid: u32) -> Option<&str> {
    passwd.lines().find_map(|line| {
        let mut fields = line.split(':');
        let name = fields.next()?;
        let id: u32 = fields.nth(1)?.parse().ok()?;
        (id == uid).then_some(name)
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn modes() {
        assert!(!too_wide(0o40750, true));
        assert!(!too_wide(0o40700, true));
        assert!(too_wide(0o40755, true));
        assert!(too_wide(0o40770, true));
        assert!(!too_wide(0o100640, false));
        assert!(too_wide(0o100644, false));
        assert!(too_wide(0o100750, false));
    }

    #[test]
    fn owners_are_named() {
        let passwd = "root:x:0:0:root:/root:/bin/bash\nwww-data:x:33:33:www-data:/var/www:/usr/sbin/nologin\n";
        let wide = [TooWide {
            path: PathBuf::from("/mnt/chronotrace/traces/2026-12-07/a.json"),
            mode: 0o644,
            uid: 33,
            is_dir: false,
        }];
        let result = judge(12, &wide, passwd);
        assert_eq!(result.status, Status::Warn);
        assert!(
            result.message.contains("644 (owner www-data, uid 33)"),
            "{}",
            result.message
        );
        assert_eq!(user_name(passwd, 1000), None);
        assert_eq!(judge(12, &[], passwd).status, Status::Pass);
    }
}
