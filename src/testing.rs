//! Adapters the integration tests drive directly, without the command line
//! (the `testing` feature, enabled only by the tests' dev-dependency on the
//! crate itself; never in the release binary). Thin wrappers: the logic
//! stays in the adapters, this only makes it reachable from `tests/it/`.
//!
//! - `MinioAdminClient`: `cloud::minio_admin::MinioAdmin` against the
//!   decrypting responder (`tests/it/minio_admin.rs`), since no MinIO server
//!   can run on the bench.
//! - `minio_encrypt` / `minio_decrypt`: the admin-API body encryption, to
//!   cross-check it with MinIO's own Python implementation.

use std::collections::BTreeMap;

use crate::cloud::minio_admin::{MinioAdmin, Outcome, crypto};
use crate::cloud::timeouts::Timeouts;
use crate::error::Result;
use crate::secret::Secret;

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
        Ok(outcome == Outcome::Changed)
    }

    /// `MinioAdmin::attach_policy`: true when it attached it.
    pub async fn attach_policy(&self, user: &str, policy: &str) -> Result<bool> {
        Ok(self.0.attach_policy(user, policy).await? == Outcome::Changed)
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
        Ok(self.0.remove_user(user).await? == Outcome::Changed)
    }

    /// `MinioAdmin::remove_policy`: true when it removed one.
    pub async fn remove_policy(&self, name: &str) -> Result<bool> {
        Ok(self.0.remove_policy(name).await? == Outcome::Changed)
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
