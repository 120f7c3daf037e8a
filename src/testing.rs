//! Adapters the integration tests drive directly, without the command line
//! (the `testing` feature, enabled only by the tests' dev-dependency on the
//! crate itself; never in the release binary). Thin wrappers: the logic
//! stays in the adapters, this only makes it reachable from `tests/it/`.
//!
//! - `MinioAdminClient`: `stores::s3::admin::minio::MinioAdmin` against the
//!   decrypting responder (`tests/it/minio_admin.rs`), since no MinIO server
//!   can run on the bench.
//! - `MinioAppIdentity`: the app's identity on MinIO (`stores::s3::app_identity::
//!   minio`, what `apply`/`destroy` drive) against the same responder.
//! - `minio_encrypt` / `minio_decrypt`: the admin-API body encryption, to
//!   cross-check it with MinIO's own Python implementation.
//! - `sdk_http_client`: the HTTP client the tool gives the AWS SDK, for the
//!   tests' own SDK clients (the SDK crates are built without one of
//!   their own).

use std::collections::BTreeMap;

use crate::error::Result;
use crate::secret::Secret;
use crate::stores::s3::admin::minio::{AdminChange, MinioAdmin, crypto};
use crate::stores::s3::app_identity::AppAdmin;
use crate::transport::timeouts::Timeouts;

/// The app's identity on MinIO (`AppAdmin` over the admin client), for
/// the user `user` with the canned policy `policy_name` = `policy`.
pub struct MinioAppIdentity {
    users: crate::stores::s3::app_identity::minio::MinioUsers,
    want: crate::plan::desired::DesiredApp,
}

impl MinioAppIdentity {
    /// Against `endpoint` (plain HTTP), signing as the admin.
    pub fn new(
        endpoint: &str,
        admin_key: &str,
        admin_secret: &str,
        user: &str,
        policy_name: &str,
        policy: serde_json::Value,
    ) -> Self {
        let admin = MinioAdmin::new(
            endpoint,
            "us-east-1",
            admin_key,
            Secret::new(admin_secret),
            None,
            &Timeouts::from_secs_f64(20.0),
        );
        MinioAppIdentity {
            users: crate::stores::s3::app_identity::minio::MinioUsers::with_admin(admin),
            want: crate::plan::desired::DesiredApp {
                kind: crate::spec::AppIdentity::MinioUser,
                user: user.to_string(),
                policy_name: policy_name.to_string(),
                policy,
                tags: Vec::new(),
            },
        }
    }

    /// `observe`: `absent`, `foreign` or `ours`, the stored policy, the key ids.
    pub async fn observe(&self) -> Result<(&'static str, Option<serde_json::Value>, Vec<String>)> {
        use crate::plan::observed::Held;
        let seen = self.users.observe(&self.want).await?;
        let state = match seen.user {
            Held::Absent => "absent",
            Held::Foreign => "foreign",
            Held::Ours(()) => "ours",
        };
        Ok((state, seen.policy, seen.keys))
    }

    /// `create_user` (with its policy attached).
    pub async fn create_user(&self) -> Result<()> {
        self.users.create_user(&self.want).await
    }

    /// `put_policy`.
    pub async fn put_policy(&self) -> Result<()> {
        self.users.put_policy(&self.want).await
    }

    /// `create_key`: the key id and its secret (tests only see it).
    pub async fn create_key(&self) -> Result<(String, String)> {
        let key = self.users.create_key(&self.want).await?;
        Ok((key.id, key.secret.expose().to_string()))
    }

    /// `delete_key`, `delete_policy`, `delete_user`, in destroy's order.
    pub async fn destroy(&self) -> Result<()> {
        let id = self.want.user.clone();
        self.users.delete_key(&self.want, &id).await?;
        self.users.delete_policy(&self.want).await?;
        self.users.delete_user(&self.want).await
    }
}

/// The MinIO admin client, signing as the admin `access_key`/`secret_key`,
/// each call within `timeout_secs`. Plain-HTTP endpoints only (the test
/// responder is on loopback).
pub struct MinioAdminClient(MinioAdmin);

impl MinioAdminClient {
    /// A client of `endpoint` (`http://127.0.0.1:PORT`).
    pub fn new(endpoint: &str, access_key: &str, secret_key: &str, timeout_secs: f64) -> Self {
        MinioAdminClient(MinioAdmin::new(
            endpoint,
            "us-east-1",
            access_key,
            Secret::new(secret_key),
            None,
            &Timeouts::from_secs_f64(timeout_secs),
        ))
    }

    /// `MinioAdmin::ensure_policy`.
    pub async fn ensure_policy(&self, name: &str, json: &str) -> Result<()> {
        self.0.ensure_policy(name, json).await
    }

    /// `MinioAdmin::policy`: the stored policy document.
    pub async fn policy(&self, name: &str) -> Result<Option<serde_json::Value>> {
        self.0.policy(name).await
    }

    /// `MinioAdmin::ensure_user`: true when it created the user.
    pub async fn ensure_user(&self, access_key: &str, secret_key: &str) -> Result<bool> {
        let outcome = self
            .0
            .ensure_user(access_key, &Secret::new(secret_key))
            .await?;
        Ok(outcome == AdminChange::Changed)
    }

    /// `MinioAdmin::attach_policy`: true when it attached it.
    pub async fn attach_policy(&self, user: &str, policy: &str) -> Result<bool> {
        Ok(self.0.attach_policy(user, policy).await? == AdminChange::Changed)
    }

    /// `MinioAdmin::user_info`: the user's status and attached policies.
    pub async fn user_info(&self, user: &str) -> Result<Option<(String, Vec<String>)>> {
        Ok(self.0.user_info(user).await?.map(|info| {
            let policies = info.policies().into_iter().map(str::to_string).collect();
            (info.status, policies)
        }))
    }

    /// `MinioAdmin::user_exists`.
    pub async fn user_exists(&self, user: &str) -> Result<bool> {
        self.0.user_exists(user).await
    }

    /// `MinioAdmin::list_users`: each user's status.
    pub async fn list_users(&self) -> Result<BTreeMap<String, String>> {
        Ok(self
            .0
            .list_users()
            .await?
            .into_iter()
            .map(|(name, info)| (name, info.status))
            .collect())
    }

    /// `MinioAdmin::remove_user`: true when it removed one.
    pub async fn remove_user(&self, user: &str) -> Result<bool> {
        Ok(self.0.remove_user(user).await? == AdminChange::Changed)
    }

    /// `MinioAdmin::remove_policy`: true when it removed one.
    pub async fn remove_policy(&self, name: &str) -> Result<bool> {
        Ok(self.0.remove_policy(name).await? == AdminChange::Changed)
    }
}

/// Encrypts `plaintext` as MinIO's admin API expects, with `password`.
pub fn minio_encrypt(password: &str, plaintext: &[u8]) -> std::result::Result<Vec<u8>, String> {
    crypto::encrypt(password, plaintext).map_err(|e| e.to_string())
}

/// Decrypts a body MinIO encrypted with `password`.
pub fn minio_decrypt(password: &str, data: &[u8]) -> std::result::Result<Vec<u8>, String> {
    crypto::decrypt(password, data).map_err(|e| e.to_string())
}

/// The HTTP client of the tool's SDK clients (the system's roots, no CA
/// bundle): the AWS crates are built without their default features, so an
/// SDK client the tests build directly needs it.
pub fn sdk_http_client() -> Result<aws_smithy_runtime_api::client::http::SharedHttpClient> {
    crate::transport::https::http_client(None)
}

/// A zip bundle holding `json` as its `manifest.json`, dated `created`
/// (Unix seconds): the bytes `migrate` writes for a JSON trace on a
/// bundle store.
pub fn bundle_of(json: &[u8], created: i64) -> Vec<u8> {
    let created = chrono::DateTime::from_timestamp(created, 0).unwrap_or_default();
    crate::bundle::bundle_of(json, created)
}

/// The `manifest.json` of a bundle that holds nothing else.
pub fn manifest_of(bundle: &[u8]) -> std::result::Result<Vec<u8>, String> {
    crate::bundle::manifest_of(bundle)
}
