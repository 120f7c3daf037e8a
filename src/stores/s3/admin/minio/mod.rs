//! MinIO's admin API (`/minio/admin/v3/...`), the part the app's identity
//! needs: canned policies, users, and attaching one to the other. MinIO
//! has no IAM API: this is how `mc admin user add` / `policy create` /
//! `policy attach` do it (madmin-go; minio-py's `MinioAdmin` mirrors it).
//!
//! | call | request | body |
//! |---|---|---|
//! | `ensure_policy` | `PUT add-canned-policy?name=` | the policy JSON, plain |
//! | `add_user` | `PUT add-user?accessKey=` | `{"secretKey","status"}`, encrypted |
//! | `attach_policy` | `POST idp/builtin/policy/attach` | `{"policies":[..],"user"}`, encrypted; answer encrypted |
//! | `policy` | `GET info-canned-policy?name=` | answer: the policy JSON, plain |
//! | `user_info` | `GET user-info?accessKey=` | answer plain JSON |
//! | `list_users` | `GET list-users` | answer encrypted |
//! | `remove_user` | `DELETE remove-user?accessKey=` | none |
//! | `remove_policy` | `DELETE remove-canned-policy?name=` | none |
//!
//! "Encrypted" is `crypto`: the admin secret key is the password, so only
//! the server holding it can read a new user's secret. Every request is
//! SigV4-signed with the admin credentials and bounded by the run's
//! `Timeouts` (`transport`). Nothing here prints or returns a secret: the
//! errors quote the server's code and message, never a request body.

pub(crate) mod crypto;
mod errors;
pub(crate) mod transport;

use std::sync::Arc;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rustls::ClientConfig;
use serde::Deserialize;

use crate::error::{ApiCause, Error, Result};
use crate::secret::Secret;
use crate::transport::timeouts::Timeouts;
use errors::{error_code, parse};
use transport::{Answer, Signer, Transport};

/// RFC 3986 unreserved characters stay; everything else is escaped, as
/// SigV4's canonical query wants it.
const QUERY: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');

/// A client of one MinIO server's admin API, signing as its admin.
pub(crate) struct MinioAdmin {
    /// `scheme://host[:port]`, without a trailing slash.
    base: String,
    signer: Signer,
    transport: Transport,
}

/// What MinIO says about one user (`user-info`, `list-users`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub(crate) struct UserInfo {
    /// The attached policies, comma-separated (MinIO's own shape).
    #[serde(rename = "policyName", default)]
    pub(crate) policy_name: String,
    /// `enabled` or `disabled`.
    #[serde(default)]
    pub(crate) status: String,
}

impl UserInfo {
    /// The attached policies, one per entry.
    pub(crate) fn policies(&self) -> Vec<&str> {
        self.policy_name
            .split(',')
            .map(str::trim)
            .filter(|p| !p.is_empty())
            .collect()
    }
}

/// Whether a call changed anything (for `apply`'s report).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AdminChange {
    Changed,
    Unchanged,
}

impl MinioAdmin {
    /// A client of the server at `endpoint` (`http(s)://host[:port]`),
    /// signing with the admin's keys for `region` (MinIO's default is
    /// `us-east-1`). `tls` is the tool's trust (`transport::trust::client_config`),
    /// needed for an https endpoint. Makes no request.
    pub(crate) fn new(
        endpoint: &str,
        region: &str,
        access_key: &str,
        secret_key: Secret,
        tls: Option<Arc<ClientConfig>>,
        timeouts: &Timeouts,
    ) -> MinioAdmin {
        let base = endpoint.trim_end_matches('/').to_string();
        let https = base.starts_with("https://");
        MinioAdmin {
            transport: Transport::new(https, tls, timeouts),
            base,
            signer: Signer {
                access_key: access_key.to_string(),
                secret_key,
                region: region.to_string(),
            },
        }
    }

    /// Creates or replaces the canned policy `name` (MinIO overwrites a
    /// policy of the same name: the call is idempotent).
    pub(crate) async fn ensure_policy(&self, name: &str, policy_json: &str) -> Result<()> {
        let query = [("name", name)];
        let body = policy_json.as_bytes().to_vec();
        self.expect_ok("add-canned-policy", name, "PUT", &query, body)
            .await
            .map(drop)
    }

    /// The canned policy `name` as MinIO stores it, or `None` when it does
    /// not exist (for `plan`: compare it with the desired document).
    pub(crate) async fn policy(&self, name: &str) -> Result<Option<serde_json::Value>> {
        let query = [("name", name)];
        self.lookup(
            "info-canned-policy",
            name,
            &query,
            "XMinioAdminNoSuchPolicy",
        )
        .await
    }

    /// Creates the user `access_key` with `secret_key`, enabled. On an
    /// existing user MinIO replaces the secret (that is how a key is
    /// rotated in place); `ensure_user` leaves an existing user alone.
    pub(crate) async fn add_user(&self, access_key: &str, secret_key: &Secret) -> Result<()> {
        let plain = serde_json::json!({"secretKey": secret_key.expose(), "status": "enabled"});
        let body = self.seal("add-user", access_key, plain.to_string().as_bytes())?;
        let query = [("accessKey", access_key)];
        self.expect_ok("add-user", access_key, "PUT", &query, body)
            .await
            .map(drop)
    }

    // Only the tests reach this (the `testing` feature): the tool itself does not.
    #[cfg(any(test, feature = "testing"))]
    /// Creates the user unless it exists; an existing user's secret and
    /// status are not touched.
    pub(crate) async fn ensure_user(
        &self,
        access_key: &str,
        secret_key: &Secret,
    ) -> Result<AdminChange> {
        if self.user_info(access_key).await?.is_some() {
            return Ok(AdminChange::Unchanged);
        }
        self.add_user(access_key, secret_key).await?;
        Ok(AdminChange::Changed)
    }

    /// Attaches the canned policy to the user. Already attached is not an
    /// error (MinIO says `XMinioAdminPolicyChangeAlreadyApplied`).
    pub(crate) async fn attach_policy(&self, user: &str, policy: &str) -> Result<AdminChange> {
        let plain = serde_json::json!({"policies": [policy], "user": user});
        let op = "idp/builtin/policy/attach";
        let body = self.seal(op, user, plain.to_string().as_bytes())?;
        let answer = self
            .call(op, "POST", &[], body)
            .await
            .map_err(|c| self.fail(op, user, None, c))?;
        match answer.status {
            // Older servers answer 201/204 with no body; newer ones 200 with
            // the encrypted association (nothing in it is needed).
            200 | 201 | 204 => Ok(AdminChange::Changed),
            _ if error_code(&answer) == "XMinioAdminPolicyChangeAlreadyApplied" => {
                Ok(AdminChange::Unchanged)
            }
            _ => Err(self.refused(op, user, &answer)),
        }
    }

    /// The user, or `None` when MinIO does not know it.
    pub(crate) async fn user_info(&self, access_key: &str) -> Result<Option<UserInfo>> {
        let query = [("accessKey", access_key)];
        self.lookup("user-info", access_key, &query, "XMinioAdminNoSuchUser")
            .await
    }

    // Only the tests reach this (the `testing` feature): the tool itself does not.
    #[cfg(any(test, feature = "testing"))]
    /// True when the user exists.
    pub(crate) async fn user_exists(&self, access_key: &str) -> Result<bool> {
        Ok(self.user_info(access_key).await?.is_some())
    }

    // Only the tests reach this (the `testing` feature): the tool itself does not.
    #[cfg(any(test, feature = "testing"))]
    /// Every user of the built-in identity provider, by access key (the
    /// answer is encrypted with the admin secret).
    pub(crate) async fn list_users(&self) -> Result<std::collections::BTreeMap<String, UserInfo>> {
        let op = "list-users";
        let answer = self.expect_ok(op, "users", "GET", &[], Vec::new()).await?;
        let plain =
            crypto::decrypt(self.signer.secret_key.expose(), &answer.body).map_err(|e| {
                self.fail(
                    op,
                    "users",
                    Some(answer.status),
                    ApiCause::Unexplained(e.to_string()),
                )
            })?;
        parse(op, "users", &plain)
    }

    /// Removes the user; `Unchanged` when it did not exist.
    pub(crate) async fn remove_user(&self, access_key: &str) -> Result<AdminChange> {
        let query = [("accessKey", access_key)];
        self.remove("remove-user", access_key, &query, "XMinioAdminNoSuchUser")
            .await
    }

    /// Removes the canned policy; `Unchanged` when it did not exist.
    pub(crate) async fn remove_policy(&self, name: &str) -> Result<AdminChange> {
        let query = [("name", name)];
        self.remove(
            "remove-canned-policy",
            name,
            &query,
            "XMinioAdminNoSuchPolicy",
        )
        .await
    }

    /// A GET answering plain JSON, or `None` when MinIO answers `missing`.
    async fn lookup<T: serde::de::DeserializeOwned>(
        &self,
        op: &str,
        resource: &str,
        query: &[(&str, &str)],
        missing: &str,
    ) -> Result<Option<T>> {
        let answer = self
            .call(op, "GET", query, Vec::new())
            .await
            .map_err(|c| self.fail(op, resource, None, c))?;
        match answer.status {
            200 => parse(op, resource, &answer.body).map(Some),
            _ if error_code(&answer) == missing => Ok(None),
            _ => Err(self.refused(op, resource, &answer)),
        }
    }

    async fn remove(
        &self,
        op: &str,
        resource: &str,
        query: &[(&str, &str)],
        missing: &str,
    ) -> Result<AdminChange> {
        let answer = self
            .call(op, "DELETE", query, Vec::new())
            .await
            .map_err(|c| self.fail(op, resource, None, c))?;
        match answer.status {
            200 | 204 => Ok(AdminChange::Changed),
            _ if error_code(&answer) == missing => Ok(AdminChange::Unchanged),
            _ => Err(self.refused(op, resource, &answer)),
        }
    }

    /// One call that must answer 200 (or 204).
    async fn expect_ok(
        &self,
        op: &str,
        resource: &str,
        method: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> Result<Answer> {
        let answer = self
            .call(op, method, query, body)
            .await
            .map_err(|c| self.fail(op, resource, None, c))?;
        match answer.status {
            200 | 204 => Ok(answer),
            _ => Err(self.refused(op, resource, &answer)),
        }
    }

    async fn call(
        &self,
        command: &str,
        method: &str,
        query: &[(&str, &str)],
        body: Vec<u8>,
    ) -> std::result::Result<Answer, ApiCause> {
        let uri = format!(
            "{}/minio/admin/v3/{command}{}",
            self.base,
            query_string(query)
        );
        self.transport.send(&self.signer, method, &uri, body).await
    }

    fn refused(&self, op: &str, resource: &str, answer: &Answer) -> Error {
        errors::refused(&self.base, op, resource, answer)
    }

    fn fail(&self, op: &str, resource: &str, status: Option<u16>, cause: ApiCause) -> Error {
        errors::fail(&self.base, op, resource, status, cause)
    }

    /// Encrypts a body for the server with the admin secret.
    fn seal(&self, op: &str, resource: &str, plain: &[u8]) -> Result<Vec<u8>> {
        crypto::encrypt(self.signer.secret_key.expose(), plain)
            .map_err(|e| self.fail(op, resource, None, ApiCause::NotSent(e.to_string())))
    }
}

/// `?a=1&b=2`, percent-encoded, or nothing.
fn query_string(query: &[(&str, &str)]) -> String {
    let pairs: Vec<String> = query
        .iter()
        .map(|(k, v)| format!("{k}={}", utf8_percent_encode(v, QUERY)))
        .collect();
    if pairs.is_empty() {
        String::new()
    } else {
        format!("?{}", pairs.join("&"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queries_are_encoded_for_sigv4() {
        assert_eq!(query_string(&[]), "");
        assert_eq!(
            query_string(&[("accessKey", "app user+1/é")]),
            "?accessKey=app%20user%2B1%2F%C3%A9"
        );
    }

    #[test]
    fn attached_policies_are_split() {
        let info = UserInfo {
            policy_name: "a, b,,c".to_string(),
            status: "enabled".to_string(),
        };
        assert_eq!(info.policies(), ["a", "b", "c"]);
    }
}
