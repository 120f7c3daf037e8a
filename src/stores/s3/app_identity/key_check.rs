//! The app's side of an S3 check (spec with `iam.user`): which key is the
//! app's — the one `apply` wrote to `.chronotrace-ops/app-credentials.<env>.env`, or
//! the run's own credentials when they are least-privilege (the app's key
//! from the environment) — and the privilege checks run with it.

use std::path::Path;

use crate::check::CheckResult;
use crate::secret::Secret;
use crate::spec::S3Storage;
use crate::stores::s3::Clients;
use crate::stores::s3::app_identity::key_file::credentials_path;
use crate::stores::s3::app_identity::prove::clients_for;
use crate::stores::s3::checks::privilege;

/// The app's key as read from its credentials file.
#[derive(Debug, Clone)]
pub struct AppKey {
    pub id: String,
    pub secret: Secret,
}

/// Where `apply` wrote the app's key before it kept secrets in the tool's
/// own directory: still read, so a key written then is found.
const LEGACY_DIR: &str = "deploy";

/// The key in `{state_dir}/app-credentials.<env>.env` (else in the old
/// `deploy/` one), when that file exists and holds both variables.
pub fn read_key(state_dir: &Path, env: &str) -> Option<AppKey> {
    let text = std::fs::read_to_string(credentials_path(state_dir, env))
        .or_else(|_| std::fs::read_to_string(credentials_path(Path::new(LEGACY_DIR), env)))
        .ok()?;
    let value = |name: &str| {
        text.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))
            .map(|v| v.trim().to_string())
    };
    Some(AppKey {
        id: value("AWS_ACCESS_KEY_ID")?,
        secret: Secret::new(value("AWS_SECRET_ACCESS_KEY")?),
    })
}

/// The ids the app's checks report, when the spec names an app user.
pub fn ids(s3: &S3Storage) -> Vec<&'static str> {
    if s3.app_user.is_some() {
        privilege::IDS.to_vec()
    } else {
        Vec::new()
    }
}

/// True when these credentials may not read the bucket's lifecycle
/// configuration (an admin-only read): they are least-privilege.
pub async fn settings_denied(clients: &Clients, s3: &S3Storage) -> bool {
    let read = clients
        .s3
        .get_bucket_lifecycle_configuration()
        .bucket(&s3.bucket)
        .send()
        .await;
    matches!(read, Err(e) if crate::stores::s3::errors::status(&e) == Some(403))
}

/// The privilege checks with the app's key; `least` says the run's own
/// credentials are least-privilege (then they are the app's).
pub async fn privilege(
    admin: &Clients,
    s3: &S3Storage,
    key: Option<&AppKey>,
    least: bool,
) -> Vec<CheckResult> {
    if s3.app_user.is_none() {
        return Vec::new();
    }
    let app = match key {
        Some(key) => match clients_for(&admin.target, &key.id, &key.secret) {
            Ok(app) => app,
            Err(e) => {
                return crate::check::skip_all(&privilege::IDS, &e.to_string());
            }
        },
        None if least => admin.clone(),
        None => {
            return crate::check::skip_all(
                &privilege::IDS,
                "no app key: `chronotrace-ops apply` writes it to .chronotrace-ops/app-credentials.<env>.env beside the spec, or run check with the app's key",
            );
        }
    };
    privilege::check(&app, admin, s3).await
}
