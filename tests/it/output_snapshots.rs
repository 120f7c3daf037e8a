//! Snapshots of what the commands print on the local environment, in text
//! and JSON: `plan`/`apply`, `check`, `cleanup verify`, a `cleanup purge`
//! dry run and `report`. The clock is fixed by the test hook
//! `CHRONOTRACE_OPS_TEST_NOW` (src/clock.rs) and the fixture's dates and
//! file times are fixed, so the output is too; insta filters blank what
//! still varies from run to run (the temporary directory, durations, free
//! space, the filesystem type). Each snapshot holds the exit code, stdout
//! and stderr. Review a change with `cargo insta review`.

use std::fs::{File, FileTimes};
use std::path::Path;
use std::time::{Duration, UNIX_EPOCH};

use crate::support::{Outcome, Run, tempdir};

/// The fixed "now" of every run here.
const NOW: &str = "2026-11-30T12:00:00Z";
/// `NOW` in Unix seconds, for the fixture's file times.
const NOW_UNIX: u64 = 1_796_040_000;

/// The partitions of the fixture: (date, days before `NOW`, traces).
const PARTITIONS: [(&str, u64, usize); 5] = [
    ("2026-10-21", 40, 3),
    ("2026-11-10", 20, 2),
    ("2026-11-14", 16, 1),
    ("2026-11-25", 5, 4),
    ("2026-11-30", 0, 1),
];

/// A spec with the local environment `staging` (15 days' retention) and,
/// unless `empty`, its traces: the partitions above and the app's
/// diagnostic file beside them, every file dated.
fn fixture(empty: bool) -> tempfile::TempDir {
    let dir = tempdir();
    let spec = "project: ct\nenvironments:\n  staging:\n    storage: local\n    path: disk\n    retention_days: 15\n";
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");
    if empty {
        return dir;
    }
    let traces = dir.path().join("disk/traces");
    for (date, age, count) in PARTITIONS {
        std::fs::create_dir_all(traces.join(date)).expect("mkdir");
        for i in 0..count {
            write_dated(
                &traces.join(date).join(format!("trace-{i}.zip")),
                b"zip",
                age,
            );
        }
    }
    write_dated(&traces.join("diagnostic-test-6750a1b2c3d4e.txt"), b"ok", 1);
    dir
}

/// Writes `file`, last modified `days` before `NOW`.
fn write_dated(file: &Path, body: &[u8], days: u64) {
    std::fs::write(file, body).expect("write");
    let at = UNIX_EPOCH + Duration::from_secs(NOW_UNIX - days * 86_400);
    let times = FileTimes::new().set_modified(at).set_accessed(at);
    File::options()
        .write(true)
        .open(file)
        .and_then(|f| f.set_times(times))
        .expect("set the file's time");
}

/// The binary on `staging` at the fixed time.
fn run(dir: &Path, args: &[&str]) -> Outcome {
    Run::new(dir)
        .env("CHRONOTRACE_OPS_TEST_NOW", NOW)
        .args(["-e", "staging"])
        .args(args)
        .run()
}

/// Snapshots one run, in text and in JSON, as `name.text` and `name.json`.
#[track_caller]
fn snapshot_both(name: &str, dir: &Path, args: &[&str]) {
    for output in ["text", "json"] {
        let mut all = vec!["--output", output];
        all.extend_from_slice(args);
        snapshot(&format!("{name}.{output}"), dir, &run(dir, &all));
    }
}

/// Snapshots a run's exit code, stdout and stderr, with what varies blanked.
#[track_caller]
fn snapshot(name: &str, dir: &Path, out: &Outcome) {
    let shown = format!(
        "exit code: {}\n--- stdout\n{}--- stderr\n{}",
        out.code, out.stdout, out.stderr
    )
    .replace(&dir.display().to_string(), "[DIR]");
    let shown = FILTERS.iter().fold(shown, |text, (pattern, replacement)| {
        let pattern = regex::Regex::new(pattern).expect("a valid filter");
        pattern.replace_all(&text, *replacement).into_owned()
    });
    insta::assert_snapshot!(name, shown);
}

/// What varies between runs and machines, blanked as uv's `INSTA_FILTERS`
/// do (insta's own `filters` feature needs a crate not in the lock file).
const FILTERS: &[(&str, &str)] = &[
    // Durations: `"duration_ms": 3` and `3 ms` in the text table.
    (r#""duration_ms": \d+"#, r#""duration_ms": [MS]"#),
    (r"\b\d+ ?ms\b", "[MS]"),
    // Free space, and the filesystem of the machine's temporary directory.
    (
        r"[\d.]+ ?[KMGTP]?i?B free of [\d.]+ ?[KMGTP]?i?B \(\d+%\)",
        "[FREE] free of [SIZE] ([PCT])",
    ),
    (
        r#"[\w.-]+ on [^\s"]+ mounted at [^\s"]+"#,
        "[FS] on [DEVICE] mounted at [MOUNT]",
    ),
    // Loopback ports, should an output name one.
    (r"127\.0\.0\.1:\d+", "127.0.0.1:[PORT]"),
    // The tool's version in every JSON document (issue 28).
    (r#""version": "[^"]+""#, r#""version": "[VERSION]""#),
];

#[test]
fn plan_and_apply_on_local() {
    let dir = fixture(true);
    snapshot_both("plan-local-before-apply", dir.path(), &["plan"]);
    snapshot(
        "apply-local.text",
        dir.path(),
        &run(dir.path(), &["apply", "--yes"]),
    );
    snapshot_both("plan-local-after-apply", dir.path(), &["plan"]);
    snapshot(
        "apply-local-again.json",
        dir.path(),
        &run(dir.path(), &["--output", "json", "apply", "--yes"]),
    );
}

#[test]
fn check_on_local() {
    let dir = fixture(false);
    snapshot_both("check-local", dir.path(), &["check"]);
}

#[test]
fn cleanup_verify_and_purge_dry_run_on_local() {
    let dir = fixture(false);
    snapshot_both("cleanup-verify-local", dir.path(), &["cleanup", "verify"]);
    snapshot_both(
        "cleanup-purge-dry-run-local",
        dir.path(),
        &["cleanup", "purge"],
    );
    assert!(
        dir.path()
            .join("disk/traces/2026-10-21/trace-0.zip")
            .is_file(),
        "a dry run deletes nothing"
    );
}

#[test]
fn report_on_local() {
    let dir = fixture(false);
    snapshot_both("report-local", dir.path(), &["report"]);
    snapshot(
        "report-local.markdown",
        dir.path(),
        &run(dir.path(), &["report", "--format", "markdown"]),
    );
}

#[test]
fn the_clock_hook_fixes_the_report_time() {
    let dir = fixture(false);
    let report = run(dir.path(), &["--output", "json", "report", "--no-checks"])
        .code(0)
        .stderr_is_empty()
        .json();
    assert_eq!(report["generated_at"], NOW, "{report:#}");
    assert_eq!(report["newest"], "2026-11-30", "{report:#}");
}
