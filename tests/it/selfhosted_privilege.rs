//! `check` proves the app's least privilege by behaviour (issue 12, item
//! 3), on SeaweedFS (which enforces the prefix-scoped policy) and Garage
//! (which scopes keys to buckets: a warning, never a pass): the app's own
//! key passes, run with that key alone `check` passes with the admin-only
//! checks skipped, and an over-broad key (the store's admin key, allowed on
//! the whole bucket and on other buckets) fails.

use std::path::Path;

use serde_json::Value;

use crate::selfhosted_identity::{admin_run, app_key, unique_user, write_identity_spec};
use crate::servers::{Endpoint, create_bucket, s3_client, server, unique_bucket};
use crate::support::{Outcome, Run, tempdir};

/// The status of check `id`.
fn status(report: &Value, id: &str) -> String {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .and_then(|c| c["status"].as_str())
        .unwrap_or("absent")
        .to_string()
}

/// `check` signed with `(id, secret)` only (no admin key, no Garage token).
fn check_as(dir: &Path, (id, secret): &(String, String)) -> Outcome {
    Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args(["-e", "staging", "--output", "json", "check"])
        .run()
}

/// Replaces the app's key in the credentials file with `(id, secret)`.
fn plant_key(dir: &Path, (id, secret): (&str, &str)) {
    let file = dir.join(".chronotrace-ops/app-credentials.staging.env");
    std::fs::write(
        file,
        format!("AWS_ACCESS_KEY_ID={id}\nAWS_SECRET_ACCESS_KEY={secret}\n"),
    )
    .expect("plant a key");
}

/// The whole story on one store: apply, the app's key passes (with the
/// admin's credentials, and alone), the admin key as the app's fails.
async fn least_privilege_is_proven(endpoint: &Endpoint, provider: &str, scope: &str) {
    let dir = tempdir();
    let (bucket, user) = (unique_bucket("priv"), unique_user("priv"));
    write_identity_spec(dir.path(), endpoint, provider, &bucket, &user);
    if provider == "garage" {
        let admin = std::env::var("CT_TEST_GARAGE_ADMIN_ENDPOINT").expect("admin endpoint");
        let path = dir.path().join("chronotrace-ops.yaml");
        let spec = std::fs::read_to_string(&path).expect("spec");
        std::fs::write(path, format!("{spec}    admin_endpoint: {admin}\n")).expect("spec");
    }
    // Another bucket the admin key may use: an over-broad key reaches it.
    create_bucket(&s3_client(endpoint), endpoint, &unique_bucket("priv-other")).await;
    admin_run(dir.path(), endpoint, &["apply", "--yes"]).code(0);

    let report = admin_run(dir.path(), endpoint, &["--output", "json", "check"])
        .code(0)
        .json();
    assert_eq!(status(&report, "app.access"), "pass", "{report:#}");
    assert_eq!(status(&report, "app.least-privilege"), "pass", "{report:#}");
    assert_eq!(status(&report, "app.scope"), scope, "{report:#}");

    // The app's key alone, from the environment: admin-only checks skip.
    let key = app_key(
        &dir.path()
            .join(".chronotrace-ops/app-credentials.staging.env"),
    );
    let alone = tempdir();
    std::fs::copy(
        dir.path().join("chronotrace-ops.yaml"),
        alone.path().join("chronotrace-ops.yaml"),
    )
    .expect("spec copy");
    let report = check_as(alone.path(), &key).code(0).json();
    for id in ["retention.lifecycle", "security.ownership"] {
        assert_eq!(status(&report, id), "skip", "{id}: {report:#}");
    }
    assert_eq!(status(&report, "app.least-privilege"), "pass", "{report:#}");

    // An over-broad key as the app's: a granted denial fails the check.
    plant_key(
        dir.path(),
        (&endpoint.access_key_id, &endpoint.secret_access_key),
    );
    let report = admin_run(dir.path(), endpoint, &["--output", "json", "check"])
        .code(1)
        .json();
    assert_eq!(status(&report, "app.least-privilege"), "fail", "{report:#}");
    admin_run(dir.path(), endpoint, &["destroy", "--yes", "--empty"]).code(0);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn seaweedfs_check_proves_the_app_key_least_privilege() {
    least_privilege_is_proven(&server("seaweedfs"), "seaweedfs", "pass").await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_check_proves_the_app_key_bucket_scope_and_warns_about_prefixes() {
    least_privilege_is_proven(&server("garage"), "garage", "warn").await;
}
