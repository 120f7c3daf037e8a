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
        .stderr_contains("fail after apply's last change (+ bucket.encryption)")
        .stdout_is_empty();
    assert!(out.stderr.contains("hint: "), "{}", out.stderr);

    // The bucket check no longer fails on SeaweedFS's GetBucketLocation
    // answer (HeadBucket proves the bucket); the probe shows the damage.
    let report = run_with(dir.path(), &weed, &["check"]).code(1).json();
    assert_eq!(status(&report, "bucket.exists"), "pass", "{report:#}");
    assert_eq!(status(&report, "bucket.list"), "pass", "{report:#}");
    assert_eq!(status(&report, "probe"), "fail", "{report:#}");
    run_with(dir.path(), &weed, &["destroy", "--yes", "--empty"]).code(0);
}
