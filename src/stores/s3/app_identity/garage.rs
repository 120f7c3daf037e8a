//! Garage's admin API v2 (`admin_endpoint:`, token from
//! `GARAGE_ADMIN_TOKEN`): the app's identity on Garage is an access key
//! named `{user}@chronotrace-ops:{env}` (the name is the tool's mark: Garage
//! keys carry no tags), allowed read and write on the bucket, never owner.
//! Garage scopes keys to buckets, not prefixes: `check` says so.
//!
//! Requests go through hyper-util's client, each within the run's call
//! limit; the token is sent as a bearer header and never shown.

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use http_body_util::Full;
use hyper::body::Bytes;
use serde_json::{Value, json};

use crate::error::ApiCause;
use crate::error::{Error, Result};
use crate::plan::desired::DesiredApp;
use crate::plan::observed::{Held, ObservedApp};
use crate::secret::Secret;
use crate::stores::s3::admin::minio::transport::Transport;
use crate::stores::s3::app_identity::{AppAdmin, NewKey};
use crate::transport::timeouts::Timeouts;

/// The variable holding the admin token.
pub const TOKEN_VAR: &str = "GARAGE_ADMIN_TOKEN";

/// The keys of one Garage cluster, through its admin API.
pub struct GarageKeys {
    /// `http://host:port`, no trailing slash.
    pub endpoint: String,
    /// `None` when the variable is not set: `plan` says so in a note, and
    /// every other call is the error it always was.
    pub token: Option<Secret>,
    pub bucket: String,
    pub env: String,
    /// One HTTP client for every call of the run (the MinIO admin
    /// client's transport: connect and call limits, a bounded answer).
    transport: Transport,
}

impl GarageKeys {
    /// Reads the token from the environment (it may be unset: see `token`).
    pub fn from_env(endpoint: &str, bucket: &str, env: &str, timeouts: &Timeouts) -> Result<Self> {
        let token = std::env::var(TOKEN_VAR)
            .ok()
            .filter(|t| !t.is_empty())
            .map(Secret::new);
        if !endpoint.starts_with("http://") {
            return Err(Error::usage(format!(
                "admin_endpoint {endpoint}: only http (loopback or a private network) is supported for Garage's admin API"
            )));
        }
        Ok(GarageKeys {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token,
            bucket: bucket.to_string(),
            env: env.to_string(),
            transport: Transport::new(false, None, timeouts),
        })
    }

    /// The key name that marks a key as the tool's for this environment.
    pub fn key_name(&self, user: &str) -> String {
        format!("{user}@chronotrace-ops:{}", self.env)
    }

    /// Why a call cannot be made without the token, and how to fix it.
    fn no_token(&self) -> (String, String) {
        (
            format!(
                "{TOKEN_VAR} is not set: the app's key on Garage is made through its admin API ({})",
                self.endpoint
            ),
            format!("export {TOKEN_VAR} (the admin_token of garage.toml)"),
        )
    }

    /// One admin call: `POST` with a body, `GET` without; the JSON answer.
    async fn call(&self, op: &str, query: &str, body: Option<Value>) -> Result<Value> {
        let (status, value) = self.exchange(op, query, body).await?;
        if (200..300).contains(&status) {
            return Ok(value);
        }
        let said = value["message"]
            .as_str()
            .unwrap_or("no message")
            .to_string();
        Err(match status {
            401 | 403 => Error::cloud_with_hint(
                format!("Garage admin {op}: token refused (HTTP {status})"),
                format!("{TOKEN_VAR} must be the admin_token of garage.toml"),
            ),
            _ => Error::cloud(format!(
                "Garage admin {op} at {}: HTTP {status}: {said}",
                self.endpoint
            )),
        })
    }

    /// One admin call's HTTP status and JSON answer (`Null` when not JSON).
    async fn exchange(&self, op: &str, query: &str, body: Option<Value>) -> Result<(u16, Value)> {
        let token = self.token.as_ref().ok_or_else(|| {
            let (why, fix) = self.no_token();
            Error::usage_with_hint(why, fix)
        })?;
        let uri = format!("{}/v2/{op}{query}", self.endpoint);
        let fail =
            |what: String| Error::cloud(format!("Garage admin {op} at {}: {what}", self.endpoint));
        let builder = hyper::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(&uri)
            .header("authorization", format!("Bearer {}", token.expose()))
            .header("content-type", "application/json");
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| fail(e.to_string()))?;
        let answer = self.transport.exchange(request).await.map_err(|cause| {
            fail(match cause {
                ApiCause::Unreachable(detail) => format!("cannot reach it: {detail}"),
                ApiCause::Silent { limit } => format!("no answer within {limit}"),
                other => format!("{other:?}"),
            })
        })?;
        let value: Value = serde_json::from_slice(&answer.body).unwrap_or(Value::Null);
        Ok((answer.status, value))
    }

    /// Why the app's key cannot be managed: no token, or the token
    /// refused; `None` when the admin API takes it.
    async fn refusal(&self) -> Result<Option<(String, String)>> {
        if self.token.is_none() {
            return Ok(Some(self.no_token()));
        }
        Ok(match self.exchange("ListKeys", "", None).await?.0 {
            status @ (401 | 403) => Some((
                format!(
                    "Garage's admin API ({}) refused {TOKEN_VAR} (HTTP {status})",
                    self.endpoint
                ),
                format!("export the admin_token of garage.toml as {TOKEN_VAR}"),
            )),
            _ => None,
        })
    }

    /// The ids of the tool's keys for `user` (one, but for a rotation cut short).
    async fn find(&self, user: &str) -> Result<Vec<String>> {
        let name = self.key_name(user);
        let keys = self.call("ListKeys", "", None).await?;
        Ok(keys
            .as_array()
            .into_iter()
            .flatten()
            .filter(|k| k["name"] == name.as_str())
            .filter_map(|k| k["id"].as_str().map(str::to_string))
            .collect())
    }

    /// The bucket's id, and whether its name is a global alias. A bucket
    /// made through S3 by a key may only have that key's local alias: the
    /// app's key then gets a local alias of the same name to address it.
    async fn bucket_id(&self) -> Result<(String, bool)> {
        let buckets = self.call("ListBuckets", "", None).await?;
        let all: Vec<&Value> = buckets.as_array().into_iter().flatten().collect();
        if let Some(b) = all.iter().find(|b| self.aliased(b, "globalAliases")) {
            return Ok((b["id"].as_str().unwrap_or_default().to_string(), true));
        }
        let local: Vec<&&Value> = all
            .iter()
            .filter(|b| self.aliased(b, "localAliases"))
            .collect();
        match local.as_slice() {
            [b] => Ok((b["id"].as_str().unwrap_or_default().to_string(), false)),
            [] => Err(Error::cloud(format!(
                "Garage: no bucket named {}",
                self.bucket
            ))),
            _ => Err(Error::cloud(format!(
                "Garage: several buckets have a local alias {}: give it a global alias",
                self.bucket
            ))),
        }
    }

    /// True when `field` (global aliases: names; local: `{alias}`) names the bucket.
    fn aliased(&self, value: &Value, field: &str) -> bool {
        value[field].as_array().is_some_and(|aliases| {
            aliases
                .iter()
                .any(|a| a == self.bucket.as_str() || a["alias"] == self.bucket.as_str())
        })
    }

    async fn observe_key(&self, want: &DesiredApp) -> Result<ObservedApp> {
        if let Some((why, fix)) = self.refusal().await? {
            return Ok(ObservedApp::refused(why, fix));
        }
        let keys = self.find(&want.user).await?;
        let Some(id) = keys.first() else {
            return Ok(ObservedApp {
                user: Held::Absent,
                policy: None,
                keys,
                refused: None,
            });
        };
        let info = self.call("GetKeyInfo", &format!("?id={id}"), None).await?;
        let grant = info["buckets"]
            .as_array()
            .into_iter()
            .flatten()
            .find(|b| self.aliased(b, "globalAliases") || self.aliased(b, "localAliases"));
        let policy = grant.map(|b| {
            let p = &b["permissions"];
            json!({"bucket": self.bucket, "read": p["read"] == true, "write": p["write"] == true, "owner": p["owner"] == true})
        });
        Ok(ObservedApp {
            user: Held::Ours(()),
            policy,
            keys,
            refused: None,
        })
    }

    /// Read and write on the bucket, never owner (owner may change bucket
    /// settings), and the bucket's name as a local alias when it has no
    /// global one.
    async fn allow(&self, key_id: &str) -> Result<()> {
        let (bucket_id, global) = self.bucket_id().await?;
        let grant = |read: bool, owner: bool| {
            json!({"bucketId": bucket_id, "accessKeyId": key_id,
                   "permissions": {"read": read, "write": read, "owner": owner}})
        };
        self.call("AllowBucketKey", "", Some(grant(true, false)))
            .await?;
        // A key made owner by hand loses it: DenyBucketKey on owner only.
        self.call("DenyBucketKey", "", Some(grant(false, true)))
            .await?;
        if !global && !self.has_alias(key_id).await? {
            let alias =
                json!({"bucketId": bucket_id, "accessKeyId": key_id, "localAlias": self.bucket});
            self.call("AddBucketAlias", "", Some(alias)).await?;
        }
        Ok(())
    }

    /// True when the key already addresses the bucket by its name.
    async fn has_alias(&self, key_id: &str) -> Result<bool> {
        let info = self
            .call("GetKeyInfo", &format!("?id={key_id}"), None)
            .await?;
        Ok(info["buckets"].as_array().into_iter().flatten().any(|b| {
            b["localAliases"]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n == self.bucket.as_str()))
        }))
    }

    async fn create(&self, want: &DesiredApp) -> Result<NewKey> {
        let name = json!({"name": self.key_name(&want.user)});
        let made = self.call("CreateKey", "", Some(name)).await?;
        let (Some(id), Some(secret)) = (
            made["accessKeyId"].as_str(),
            made["secretAccessKey"].as_str(),
        ) else {
            return Err(Error::cloud("Garage admin CreateKey answered no key"));
        };
        let key = NewKey {
            id: id.to_string(),
            secret: Secret::new(secret),
        };
        if let Err(e) = self.allow(&key.id).await {
            // No key the app cannot use is left behind.
            let _ = self.delete(&key.id).await;
            return Err(e);
        }
        Ok(key)
    }

    async fn delete(&self, id: &str) -> Result<()> {
        self.call("DeleteKey", &format!("?id={id}"), Some(json!({})))
            .await
            .map(|_| ())
    }
}

impl AppAdmin for GarageKeys {
    fn observe<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<ObservedApp>> {
        self.observe_key(want).boxed_local()
    }

    /// The key is the identity: nothing to create before it.
    fn create_user<'a>(&'a self, _want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        futures::future::ready(Ok(())).boxed_local()
    }

    fn put_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            let keys = self.find(&want.user).await?;
            let Some(id) = keys.first() else {
                let name = self.key_name(&want.user);
                return Err(Error::cloud(format!("Garage: no key {name} to allow")));
            };
            self.allow(id).await
        }
        .boxed_local()
    }

    fn create_key<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<NewKey>> {
        self.create(want).boxed_local()
    }

    fn delete_key<'a>(
        &'a self,
        _want: &'a DesiredApp,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<()>> {
        self.delete(id).boxed_local()
    }

    /// The permission goes with the key.
    fn delete_policy<'a>(&'a self, _want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        futures::future::ready(Ok(())).boxed_local()
    }

    /// The key is the identity: deleted with `delete_key`.
    fn delete_user<'a>(&'a self, _want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        futures::future::ready(Ok(())).boxed_local()
    }
}
