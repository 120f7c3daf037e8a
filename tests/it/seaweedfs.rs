//! SeaweedFS (the bench's real `weed`) as a store: what a new user met
//! with `provider: s3-compatible` (issue 12), and the `seaweedfs` provider
//! whose capability row leaves out what breaks the server.

use serde_json::Value;

use crate::cleanup::{run_with, write_s3_spec};
use crate::servers::{server, unique_bucket};
use crate::support::tempdir;

/// The status of check `id` in a `check` report.
fn status<'a>(report: &'a Value, id: &str) -> &'a Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .map_or(&Value::Null, |c| &c["status"])
}

/// Regression (issue 12): SeaweedFS 4.48 accepts default encryption and
/// then answers every PutObject with 500. `apply` no longer says "done":
/// its closing probe fails and names the change made last.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn apply_as_s3_compatible_on_seaweedfs_fails_naming_the_change_that_broke_writes() {
    let weed = server("seaweedfs");
    let dir = tempdir();
    let bucket = unique_bucket("sw-sse");
    write_s3_spec(dir.path(), &weed, "s3-compatible", &bucket, false);
    let out = run_with(dir.path(), &weed, &["apply", "--yes"])
        .code(2)
        .stderr_contains("fail after apply's last change (+ bucket.encryption)");
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);
    // Stopped by the error (issue 23): the JSON is the plan as executed,
    // never a "done", marked with the error.
    let stopped = out.json();
    assert!(
        stopped["stopped_by_error"]
            .as_str()
            .is_some_and(|e| e.contains("fail after apply's last change")),
        "{stopped:#}"
    );
    assert!(
        stopped["changes"]
            .as_array()
            .is_some_and(|c| c.iter().any(|c| c["resource"] == "bucket.encryption")),
        "{stopped:#}"
    );

    // The bucket check no longer fails on SeaweedFS's GetBucketLocation
    // answer (HeadBucket proves the bucket); the probe shows the damage.
    let report = run_with(dir.path(), &weed, &["check"]).code(1).json();
    assert_eq!(status(&report, "bucket.exists"), "pass", "{report:#}");
    assert_eq!(status(&report, "bucket.list"), "pass", "{report:#}");
    assert_eq!(status(&report, "probe"), "fail", "{report:#}");
    run_with(dir.path(), &weed, &["destroy", "--yes", "--empty"]).code(0);
}

/// `provider: seaweedfs`: versioning with noncurrent expiration, lifecycle
/// and ownership controls are applied, default encryption is never planned
/// (its capability row says why), the closing probe passes, the plan then
/// converges, `check` passes, and destroy removes the bucket.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn seaweedfs_provider_applies_what_the_server_honours_and_converges() {
    let weed = server("seaweedfs");
    let dir = tempdir();
    let bucket = unique_bucket("sw-prov");
    write_s3_spec(dir.path(), &weed, "seaweedfs", &bucket, true);
    let applied = run_with(dir.path(), &weed, &["apply", "--yes"])
        .code(0)
        .stderr_contains("proved: wrote, read back and deleted")
        .json();
    let change = |id: &str| {
        applied["changes"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["resource"] == id))
            .cloned()
            .unwrap_or(Value::Null)
    };
    assert_eq!(
        change("bucket.versioning")["action"],
        "create",
        "{applied:#}"
    );
    assert_eq!(
        change("bucket.lifecycle")["action"],
        "create",
        "{applied:#}"
    );
    let encryption = change("bucket.encryption");
    assert_eq!(encryption["action"], "none", "{applied:#}");
    assert!(
        encryption["note"]
            .as_str()
            .is_some_and(|n| n.contains("500 InternalError")),
        "{applied:#}"
    );
    run_with(dir.path(), &weed, &["plan", "--exit-code"]).code(0);
    let report = run_with(dir.path(), &weed, &["check"]).code(0).json();
    for (id, want) in [
        ("bucket.exists", "pass"),
        ("probe", "pass"),
        ("retention.lifecycle", "pass"),
        ("retention.noncurrent", "pass"),
        ("security.encryption", "skip"),
    ] {
        assert_eq!(status(&report, id), want, "{id}: {report:#}");
    }
    run_with(dir.path(), &weed, &["destroy", "--yes", "--empty"]).code(0);
}

/// `provider: garage`: the same round trip on Garage (lifecycle only).
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn garage_provider_applies_what_the_server_honours_and_converges() {
    let garage = server("garage");
    let dir = tempdir();
    let bucket = unique_bucket("ga-prov");
    write_s3_spec(dir.path(), &garage, "garage", &bucket, false);
    run_with(dir.path(), &garage, &["apply", "--yes"])
        .code(0)
        .stderr_contains("proved: wrote, read back and deleted");
    run_with(dir.path(), &garage, &["plan", "--exit-code"]).code(0);
    let report = run_with(dir.path(), &garage, &["check"]).code(0).json();
    assert_eq!(status(&report, "probe"), "pass", "{report:#}");
    assert_eq!(status(&report, "security.encryption"), "skip", "{report:#}");
    run_with(dir.path(), &garage, &["destroy", "--yes", "--empty"]).code(0);
}
