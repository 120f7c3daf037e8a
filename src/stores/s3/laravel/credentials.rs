//! `app.credentials`: the keys the app signs with, for a key-based store:
//! present, and not the store's root or admin user (MinIO's root user from
//! the environment, the app's env file or the rendered compose secret file,
//! MinIO's factory default, or the key chronotrace-ops itself runs with).
//! With an instance role (`iam:`), keys in the env file are the mistake.
//!
//! Only key *ids* are compared; no value read here is ever printed.

use std::path::Path;

use crate::app::tree::Tree;
use crate::check::CheckResult;
use crate::spec::{Provider, S3Storage};

const ID: &str = "app.credentials";
/// MinIO's built-in root user when none is configured.
const MINIO_FACTORY_ROOT: &str = "minioadmin";

/// Runs the check.
pub(crate) fn check(tree: &Tree, s3: &S3Storage) -> CheckResult {
    let key = tree.dotenv.get("AWS_ACCESS_KEY_ID");
    let secret = tree.dotenv.get("AWS_SECRET_ACCESS_KEY");
    let file = tree.dotenv.label();
    if s3.iam.is_some() {
        return match key {
            Some(_) => CheckResult::warn(
                ID,
                format!("{file} sets AWS_ACCESS_KEY_ID although the spec gives the app an instance role: the keys win over the role"),
            )
            .with_hint("remove AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY from the app's env file"),
            None => CheckResult::pass(ID, format!("no access keys in {file}: the app uses the instance role")),
        };
    }
    let (Some(key), Some(_)) = (key, secret) else {
        let missing: Vec<&str> = [
            ("AWS_ACCESS_KEY_ID", key),
            ("AWS_SECRET_ACCESS_KEY", secret),
        ]
        .iter()
        .filter(|(_, v)| v.is_none())
        .map(|(n, _)| *n)
        .collect();
        return CheckResult::fail(
            ID,
            format!("{} not set in {file}: the app cannot sign its writes", missing.join(" and ")),
        )
        .with_hint("set the app's own access key (a per-app user limited to the prefix, see minio.env.example and iam-policy.<env>.json); if the server's environment sets them, this check cannot see it");
    };
    if let Some(whose) = admin_key(tree, s3, key) {
        return CheckResult::fail(
            ID,
            format!("the app's AWS_ACCESS_KEY_ID in {file} is {whose}: a leak of the app's env file gives away the whole store"),
        )
        .with_hint("create a per-app user with only iam-policy.<env>.json (see minio.env.example) and put its keys in the app's env file");
    }
    CheckResult::pass(
        ID,
        format!("access key set in {file}, not the store's root or the tool's own key"),
    )
}

/// Whose key `key` is, when it is a root or admin key.
fn admin_key(tree: &Tree, s3: &S3Storage, key: &str) -> Option<&'static str> {
    let root_users = [
        std::env::var("MINIO_ROOT_USER").ok(),
        tree.dotenv.get("MINIO_ROOT_USER").map(str::to_string),
        secret_file(Path::new("secrets/minio_root_user")),
        secret_file(Path::new("deploy/secrets/minio_root_user")),
    ];
    if root_users.iter().flatten().any(|u| u.trim() == key) {
        return Some("the MinIO root user");
    }
    if s3.provider == Provider::Minio && key == MINIO_FACTORY_ROOT {
        return Some("MinIO's factory root user");
    }
    if std::env::var("AWS_ACCESS_KEY_ID").is_ok_and(|k| !k.is_empty() && k == key) {
        return Some("the key chronotrace-ops itself runs with (an admin key)");
    }
    None
}

/// The rendered compose's secret file, when present.
fn secret_file(path: &Path) -> Option<String> {
    std::fs::read_to_string(path).ok()
}
