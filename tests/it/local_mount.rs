//! Local storage on a share (`mount:`, issue 26): real mounts in a private
//! mount namespace (`unshare -m`, as root), a tmpfs standing in for the NFS
//! share. Each run mounts, applies and checks inside its own namespace;
//! the mounts vanish with it. NFS's own options (`soft`, `hard`) are judged
//! from recorded mountinfo lines in the unit tests of
//! `stores::local::mount`: this kernel has no NFS client.

use std::path::Path;

use serde_json::Value;

use crate::support::{Outcome, Run, tempdir};

/// A spec whose environment `e` keeps its traces on the share at `point`.
fn write_spec(dir: &Path, point: &Path) {
    let spec = format!(
        "project: p\nenvironments:\n  e:\n    storage: local\n    path: {}\n    mount: {{ kind: tmpfs, source: chronotrace-share }}\n",
        point.display()
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write the spec");
}

/// `check --output json` run after `setup` in a mount namespace of its own.
fn check_after(dir: &Path, setup: &str) -> (Outcome, Value) {
    let out = Run::in_mount_namespace(dir, &format!("set -e; {setup}"))
        .args(["check", "-e", "e", "--output", "json"])
        .run();
    let report = serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr));
    (out, report)
}

/// The status and message of check `id`.
fn check<'a>(report: &'a Value, id: &str) -> (&'a str, &'a str) {
    let found = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"));
    (
        found["status"].as_str().unwrap_or_default(),
        found["message"].as_str().unwrap_or_default(),
    )
}

/// Mounts the stand-in share on `point` (`options` as `mount -o` takes them).
fn mount(point: &Path, options: &str) -> String {
    format!(
        "mount -t tmpfs -o {options} chronotrace-share {p}",
        p = point.display()
    )
}

/// Runs `apply --yes` from the setup, its output kept in `apply.out`.
const APPLY: &str = "\"$0\" apply -e e --yes >apply.out 2>&1";

#[test]
#[ignore = "needs root and unshare -m: run scripts/test.sh"]
fn a_mounted_share_with_its_marker_passes() {
    let dir = tempdir();
    let point = dir.path().join("share");
    std::fs::create_dir(&point).expect("mkdir");
    write_spec(dir.path(), &point);
    let setup = format!(
        "{}; {APPLY}",
        mount(&point, "nosuid,nodev,noexec,mode=0750")
    );
    let (out, report) = check_after(dir.path(), &setup);
    out.code(0);
    for id in [
        "local.mount",
        "local.mount-marker",
        "local.mount-options",
        "local.modes",
    ] {
        assert_eq!(check(&report, id).0, "pass", "{id}: {report:#}");
    }
    assert!(
        check(&report, "local.mount")
            .1
            .contains("tmpfs mount of chronotrace-share")
    );
}

#[test]
#[ignore = "needs root and unshare -m: run scripts/test.sh"]
fn a_dropped_mount_fails_while_the_app_writes_to_the_root_disk() {
    let dir = tempdir();
    let point = dir.path().join("share");
    std::fs::create_dir(&point).expect("mkdir");
    write_spec(dir.path(), &point);
    // Mounted and applied, then the mount drops and the app writes on.
    let setup = format!(
        "{}; {APPLY}; umount {p}; mkdir -p {p}/traces/2026-12-07; echo '{{}}' > {p}/traces/2026-12-07/t.json",
        mount(&point, "nosuid,nodev,noexec,mode=0750"),
        p = point.display()
    );
    let (out, report) = check_after(dir.path(), &setup);
    out.code(1);
    let (status, message) = check(&report, "local.mount");
    assert_eq!(status, "fail", "{report:#}");
    assert!(message.contains("is not mounted"), "{message}");
    let (status, message) = check(&report, "local.mount-marker");
    assert_eq!(status, "fail", "{report:#}");
    assert!(message.contains("empty mount point"), "{message}");
    assert_eq!(check(&report, "local.mount-options").0, "skip");
    // The directory the app wrote into still passes the plain checks.
    assert_eq!(check(&report, "local.writable").0, "pass");
}

#[test]
#[ignore = "needs root and unshare -m: run scripts/test.sh"]
fn missing_options_and_wide_modes_warn_naming_the_owner() {
    let dir = tempdir();
    let point = dir.path().join("share");
    std::fs::create_dir(&point).expect("mkdir");
    write_spec(dir.path(), &point);
    // The seed's way: mounted with defaults, then chmod 755 on everything.
    let setup = format!(
        "{}; {APPLY}; mkdir {p}/traces/2026-12-07; echo '{{}}' > {p}/traces/2026-12-07/t.json; chmod 755 {p}/traces {p}/traces/2026-12-07; chmod 644 {p}/traces/2026-12-07/t.json",
        mount(&point, "mode=0750"),
        p = point.display()
    );
    let (out, report) = check_after(dir.path(), &setup);
    out.code(0);
    let (status, message) = check(&report, "local.mount-options");
    assert_eq!(status, "warn", "{report:#}");
    assert!(
        message.contains("no noexec") && message.contains("no nosuid"),
        "{message}"
    );
    let (status, message) = check(&report, "local.modes");
    assert_eq!(status, "warn", "{report:#}");
    assert!(message.contains("3 of"), "{message}");
    assert!(message.contains("is 755 (owner root, uid 0)"), "{message}");
    assert!(message.contains("t.json is 644"), "{message}");
}

#[test]
fn apply_refuses_a_share_that_is_not_mounted() {
    let dir = tempdir();
    let point = dir.path().join("share");
    std::fs::create_dir(&point).expect("mkdir");
    write_spec(dir.path(), &point);
    Run::new(dir.path())
        .args(["apply", "-e", "e", "--yes"])
        .run()
        .code(2)
        .one_line_error("is not mounted");
    // Nothing written into the empty mount point.
    let left: Vec<_> = std::fs::read_dir(&point).expect("read").collect();
    assert!(left.is_empty(), "{left:?}");
}
