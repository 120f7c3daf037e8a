//! Garage's admin API v2 (`admin_endpoint:`, token from
//! `GARAGE_ADMIN_TOKEN`): the app's identity on Garage is an access key
//! named `{user}@chronotrace-ops:{env}` (the name is the tool's mark: Garage
//! keys carry no tags), allowed read and write on the bucket, never owner.
//! Garage scopes keys to buckets, not prefixes: `check` says so.
//!
//! Requests go through hyper-util's client, each within the run's call
//! limit; the token is sent as a bearer header and never shown.

use std::time::Duration;

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use serde_json::{Value, json};

use crate::cloud::app_identity::{AppAdmin, NewKey};
use crate::cloud::timeouts::Timeouts;
use crate::error::{Error, Result};
use crate::plan::desired::DesiredApp;
use crate::plan::observed::{Held, ObservedApp};
use crate::secret::Secret;

/// The variable holding the admin token.
pub const TOKEN_VAR: &str = "GARAGE_ADMIN_TOKEN";

/// The keys of one Garage cluster, through its admin API.
pub struct GarageKeys {
    /// `http://host:port`, no trailing slash.
    pub endpoint: String,
    pub token: Secret,
    pub bucket: String,
    pub env: String,
    pub limit: Duration,
}

impl GarageKeys {
    /// Reads the token from the environment; an error when it is not set.
    pub fn from_env(endpoint: &str, bucket: &str, env: &str, timeouts: &Timeouts) -> Result<Self> {
        let token = std::env::var(TOKEN_VAR)
            .ok()
            .filter(|t| !t.is_empty())
            .ok_or_else(|| {
                Error::usage_with_hint(
                    format!("{TOKEN_VAR} is not set: the app's key on Garage is made through its admin API ({endpoint})"),
                    format!("export {TOKEN_VAR} (the admin_token of garage.toml)"),
                )
            })?;
        if !endpoint.starts_with("http://") {
            return Err(Error::usage(format!(
                "admin_endpoint {endpoint}: only http (loopback or a private network) is supported for Garage's admin API"
            )));
        }
        Ok(GarageKeys {
            endpoint: endpoint.trim_end_matches('/').to_string(),
            token: Secret::new(token),
            bucket: bucket.to_string(),
            env: env.to_string(),
            limit: timeouts.call,
        })
    }

    /// The key name that marks a key as the tool's for this environment.
    pub fn key_name(&self, user: &str) -> String {
        format!("{user}@chronotrace-ops:{}", self.env)
    }

    /// One admin call: `POST` with a body, `GET` without; the JSON answer.
    async fn call(&self, op: &str, query: &str, body: Option<Value>) -> Result<Value> {
        let uri = format!("{}/v2/{op}{query}", self.endpoint);
        let fail =
            |what: String| Error::cloud(format!("Garage admin {op} at {}: {what}", self.endpoint));
        let builder = hyper::Request::builder()
            .method(if body.is_some() { "POST" } else { "GET" })
            .uri(&uri)
            .header("authorization", format!("Bearer {}", self.token.expose()))
            .header("content-type", "application/json");
        let payload = body.map_or_else(Bytes::new, |b| Bytes::from(b.to_string()));
        let request = builder
            .body(Full::new(payload))
            .map_err(|e| fail(e.to_string()))?;
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(self.limit));
        let client: Client<HttpConnector, Full<Bytes>> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(0)
            .build(tcp);
        let exchange = async {
            let response = client
                .request(request)
                .await
                .map_err(|e| fail(e.to_string()))?;
            let status = response.status().as_u16();
            let bytes = response
                .into_body()
                .collect()
                .await
                .map_err(|e| fail(e.to_string()))?
                .to_bytes();
            Ok::<_, Error>((status, bytes))
        };
        let (status, bytes) = tokio::time::timeout(self.limit, exchange)
            .await
            .map_err(|_| fail(format!("no answer within {}", Timeouts::show(self.limit))))??;
        let value: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
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
            _ => fail(format!("HTTP {status}: {said}")),
        })
    }

    /// The id of the tool's key for `user`, if it exists.
    async fn find(&self, user: &str) -> Result<Option<String>> {
        let name = self.key_name(user);
        let keys = self.call("ListKeys", "", None).await?;
        Ok(keys
            .as_array()
            .into_iter()
            .flatten()
            .find(|k| k["name"] == name.as_str())
            .and_then(|k| k["id"].as_str().map(str::to_string)))
    }

    async fn bucket_id(&self) -> Result<String> {
        let info = self
            .call(
                "GetBucketInfo",
                &format!("?globalAlias={}", self.bucket),
                None,
            )
            .await?;
        info["id"].as_str().map(str::to_string).ok_or_else(|| {
            Error::cloud(format!(
                "Garage admin GetBucketInfo: no id for bucket {}",
                self.bucket
            ))
        })
    }

    async fn observe_key(&self, want: &DesiredApp) -> Result<ObservedApp> {
        let Some(id) = self.find(&want.user).await? else {
            return Ok(ObservedApp {
                user: Held::Absent,
                policy: None,
                keys: Vec::new(),
            });
        };
        let info = self.call("GetKeyInfo", &format!("?id={id}"), None).await?;
        let grant = info["buckets"].as_array().into_iter().flatten().find(|b| {
            b["globalAliases"]
                .as_array()
                .is_some_and(|a| a.iter().any(|n| n == self.bucket.as_str()))
        });
        let policy = grant.map(|b| {
            let p = &b["permissions"];
            json!({"bucket": self.bucket, "read": p["read"] == true, "write": p["write"] == true, "owner": p["owner"] == true})
        });
        Ok(ObservedApp {
            user: Held::Ours(()),
            policy,
            keys: vec![id],
        })
    }

    /// Read and write on the bucket, never owner (owner may change bucket settings).
    async fn allow(&self, key_id: &str) -> Result<()> {
        let bucket_id = self.bucket_id().await?;
        let perms = |on: bool| json!({"read": on, "write": on, "owner": false});
        self.call(
            "AllowBucketKey",
            "",
            Some(json!({"bucketId": bucket_id, "accessKeyId": key_id, "permissions": perms(true)})),
        )
        .await?;
        // A key the tool once made owner (by hand) loses it: DenyBucketKey on owner only.
        self.call("DenyBucketKey", "", Some(json!({"bucketId": bucket_id, "accessKeyId": key_id, "permissions": {"read": false, "write": false, "owner": true}})))
            .await?;
        Ok(())
    }

    async fn create(&self, want: &DesiredApp) -> Result<NewKey> {
        let made = self
            .call(
                "CreateKey",
                "",
                Some(json!({"name": self.key_name(&want.user)})),
            )
            .await?;
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
        self.allow(&key.id).await?;
        Ok(key)
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
            let id = self.find(&want.user).await?.ok_or_else(|| {
                Error::cloud(format!(
                    "Garage: no key {} to allow",
                    self.key_name(&want.user)
                ))
            })?;
            self.allow(&id).await
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
        async move {
            self.call("DeleteKey", &format!("?id={id}"), Some(json!({})))
                .await?;
            Ok(())
        }
        .boxed_local()
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
