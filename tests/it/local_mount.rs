//! Local storage on a share (`mount:`, issue 26): real mounts in a private
//! mount namespace (`unshare -m`, as root), a tmpfs standing in for the NFS
//! share. Each run mounts, applies and checks inside its own namespace;
//! the mounts vanish with it. NFS's own options (`soft`, `hard`) are judged
//! from recorded mountinfo lines in the unit tests of
//! `stores::local::mount`: this kernel has no NFS client.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::support::{Outcome, Run, tempdir, tool};

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
    assert!(
        !out.stderr.contains("unshare:"),
        "a private mount namespace needs root (unshare -m):\n{}",
        out.stderr
    );
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

/// `render` for a share on NFS: the fstab line, the `.mount` unit and the
/// services' drop-in, checked by the real `findmnt --verify` and
/// `systemd-analyze verify`.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn render_writes_an_fstab_line_a_mount_unit_and_a_drop_in_that_verify() {
    let dir = tempdir();
    let point = dir.path().join("share");
    std::fs::create_dir(&point).expect("mkdir");
    let spec = format!(
        "project: p\nenvironments:\n  e:\n    storage: local\n    path: {}\n    mount: {{ kind: nfs4, source: \"nfs-server:/exports/chronotrace\" }}\n",
        point.display()
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write the spec");
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0);
    let deploy = dir.path().join("deploy");
    let options = "vers=4.2,hard,proto=tcp,noatime,nosuid,nodev,noexec,_netdev";

    let fstab = deploy.join("fstab.e");
    let line = format!(
        "nfs-server:/exports/chronotrace {} nfs4 {options} 0 0",
        point.display()
    );
    let text = read(&fstab);
    assert!(text.lines().any(|l| l == line), "{text}");
    assert!(
        !text
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("nofail")),
        "{text}"
    );
    let out = Command::new(tool("findmnt"))
        .args(["--verify", "--verbose", "--tab-file"])
        .arg(&fstab)
        .output()
        .expect("findmnt runs");
    let said =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && said.contains("no errors or warnings"),
        "findmnt --verify:\n{said}"
    );

    let unit_name = systemd_escape_mount(&point);
    let unit = read(&deploy.join(&unit_name));
    for expected in [
        "Wants=network-online.target".to_string(),
        "After=network-online.target".to_string(),
        format!("Where={}", point.display()),
        "Type=nfs4".to_string(),
        format!("Options={options}"),
    ] {
        assert!(unit.lines().any(|l| l == expected), "{expected}:\n{unit}");
    }
    assert!(
        !unit
            .lines()
            .any(|l| !l.starts_with('#') && l.contains("nofail")),
        "{unit}"
    );
    let drop_in = read(&deploy.join("chronotrace-mount-e.conf"));
    assert!(
        drop_in
            .lines()
            .any(|l| l == format!("RequiresMountsFor={}", point.display())),
        "{drop_in}"
    );

    // The unit as systemd would load it, and the drop-in on the app's
    // services (a stand-in php-fpm and queue worker).
    let units = dir.path().join("units");
    std::fs::create_dir(&units).expect("mkdir");
    std::fs::copy(deploy.join(&unit_name), units.join(&unit_name)).expect("copy the unit");
    let mut verify = vec![units.join(&unit_name)];
    for service in ["php8.3-fpm.service", "laravel-queue.service"] {
        std::fs::write(units.join(service), "[Service]\nExecStart=/bin/true\n").expect("service");
        let dropins = units.join(format!("{service}.d"));
        std::fs::create_dir(&dropins).expect("mkdir");
        std::fs::write(dropins.join("chronotrace-mount-e.conf"), &drop_in).expect("drop-in");
        verify.push(units.join(service));
    }
    let out = Command::new(tool("systemd-analyze"))
        .args(["verify", "--man=no"])
        .args(&verify)
        .output()
        .expect("systemd-analyze runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    let relevant: Vec<&str> = stderr
        .lines()
        .filter(|l| {
            l.contains("chronotrace-mount")
                || l.contains(".mount")
                || l.contains("fpm")
                || l.contains("queue")
        })
        .collect();
    assert!(
        out.status.success() && relevant.is_empty(),
        "systemd-analyze verify:\n{stderr}"
    );
}

/// The unit name systemd gives a mount point, from `systemd-escape` itself.
fn systemd_escape_mount(point: &Path) -> String {
    let out = Command::new(tool("systemd-escape"))
        .args(["--path", "--suffix=mount"])
        .arg(point)
        .output()
        .expect("systemd-escape runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A share whose server forgot the client's handles: every read answers
/// `ESTALE` (a FUSE filesystem, `stale_share.py`, stands in for NFS).
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_stale_handle_fails_with_a_remount_hint() {
    let python = crate::support::bench_file("CT_TEST_FUSE_PYTHON");
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/it/stale_share.py");
    let dir = tempdir();
    let point = dir.path().join("share");
    std::fs::create_dir(&point).expect("mkdir");
    let spec = format!(
        "project: p\nenvironments:\n  e:\n    storage: local\n    path: {}\n    mount: {{ kind: fuse.stale, source: stale-share }}\n",
        point.display()
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write the spec");
    // The share dies with the run (setpriv --pdeathsig), and its mount
    // with the namespace.
    let setup = format!(
        "setpriv --pdeathsig TERM -- {py} {script} {p} & for _ in $(seq 100); do mountpoint -q {p} && break; sleep 0.1; done; mountpoint -q {p}",
        py = python.display(),
        p = point.display()
    );
    let (out, report) = check_after(dir.path(), &setup);
    out.code(1);
    assert_eq!(check(&report, "local.mount").0, "pass", "{report:#}");
    let (status, message) = check(&report, "local.mount-marker");
    assert_eq!(status, "fail", "{report:#}");
    assert!(message.contains("Stale file handle"), "{message}");
    let marker = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == "local.mount-marker"))
        .map(|c| c["hint"].as_str().unwrap_or_default().to_string())
        .unwrap_or_default();
    assert!(
        marker.contains(&format!("umount -l {p} && mount {p}", p = point.display())),
        "{marker}"
    );
    assert_eq!(check(&report, "local.writable").0, "fail", "{report:#}");
}
