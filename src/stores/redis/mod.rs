//! The Redis adapter (the seed's `RedisTraceStorage`): one multiplexed
//! connection per run, authenticated with the password from the variable
//! the spec names, every call bounded by the run's `Timeouts`. `walk` reads
//! (and purges) the index and the keys, `checks` judges the server, `acl`
//! provisions the app's ACL user. The only code that talks to Redis.

pub(crate) mod acl;
pub(crate) mod checks;
pub(crate) mod cluster;
pub(crate) mod items;
pub(crate) mod plugin;
pub(crate) mod store;
pub(crate) mod ttl;
pub(crate) mod walk;

use std::path::Path;

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, Cmd, FromRedisValue, IntoConnectionInfo, Pipeline};

use crate::error::{Error, Result};
use crate::secret::Secret;
use crate::spec::RedisStorage;
use crate::transport::timeouts::Timeouts;

/// An authenticated connection to the environment's Redis server.
#[derive(Clone)]
pub(crate) struct Redis {
    conn: MultiplexedConnection,
    timeouts: Timeouts,
    /// `redis://host:port/db` for messages (the spec's URL: no password).
    pub(crate) label: String,
}

impl std::fmt::Debug for Redis {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Redis").field("label", &self.label).finish()
    }
}

/// The password of `spec`, from its variable (`REDIS_PASSWORD`); none when
/// unset or empty (a server without `requirepass`).
fn password(spec: &RedisStorage) -> Option<Secret> {
    std::env::var(&spec.password_env)
        .ok()
        .map(Secret::new)
        .filter(|p| !p.is_empty())
}

impl Redis {
    /// Connects and authenticates (AUTH runs as part of the handshake).
    /// Over `rediss://`, the server's certificate is checked against the
    /// system's roots, plus `ca_bundle`'s certificates when one is given
    /// (`--ca-bundle` / `AWS_CA_BUNDLE`: the tool's one trust). Then
    /// `INFO cluster` tells whether the server is a cluster node, which
    /// must agree with the spec's `cluster:` (before any other command).
    pub(crate) async fn connect(
        spec: &RedisStorage,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<Redis> {
        let redis = Redis::connect_as(spec, None, timeouts, ca_bundle).await?;
        redis.agrees_with(spec).await?;
        Ok(redis)
    }

    /// Connects to one node of the spec's cluster (`url`: the node's),
    /// with the spec's credentials and trust.
    pub(crate) async fn connect_node(
        spec: &RedisStorage,
        url: &str,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<Redis> {
        let node = RedisStorage {
            url: url.to_owned(),
            ..spec.clone()
        };
        Redis::connect_as(&node, None, timeouts, ca_bundle).await
    }

    /// Whether the server's mode (`cluster_enabled` in `INFO cluster`)
    /// is the spec's: a cluster node without `cluster: true` answers
    /// `MOVED` for most keys, and a single server with it has no slots.
    /// A server that refuses `INFO` is taken at the spec's word (a
    /// `MOVED` answer later still names the setting).
    async fn agrees_with(&self, spec: &RedisStorage) -> Result<()> {
        let cmd = redis::cmd("INFO").arg("cluster").to_owned();
        let Ok(Ok(text)) = self.attempt::<String>("INFO cluster", &cmd).await else {
            return Ok(());
        };
        let enabled = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("cluster_enabled:"))
            .is_some_and(|v| v.trim() == "1");
        match (enabled, spec.cluster) {
            (true, false) => Err(Error::usage_with_hint(
                format!(
                    "redis {}: the server is a Redis Cluster node (cluster_enabled:1 in INFO), and the spec does not say `cluster: true`",
                    self.label
                ),
                CLUSTER_HINT,
            )),
            (false, true) => Err(Error::usage_with_hint(
                format!(
                    "redis {}: the spec says `cluster: true`, and the server is not in cluster mode (cluster_enabled:0 in INFO)",
                    self.label
                ),
                "remove `cluster: true` from the environment (or point url at a cluster node)",
            )),
            _ => Ok(()),
        }
    }

    /// Connects as `user` (username and password) instead of the spec's
    /// own credentials: `check` proves the app's ACL user this way.
    pub(crate) async fn connect_as(
        spec: &RedisStorage,
        user: Option<(&str, &str)>,
        timeouts: Timeouts,
        ca_bundle: Option<&Path>,
    ) -> Result<Redis> {
        let label = spec.url.clone();
        let info = spec
            .url
            .as_str()
            .into_connection_info()
            .map_err(|e| Error::usage(format!("redis url {label}: {e}")))?;
        let mut settings = info.redis_settings().clone();
        match user {
            Some((name, secret)) => settings = settings.set_username(name).set_password(secret),
            None => {
                if let Some(secret) = password(spec) {
                    settings = settings.set_password(secret.expose());
                }
            }
        }
        let info = info.set_redis_settings(settings);
        let tls = spec.is_tls();
        if tls {
            // The crate's rustls needs a process-wide provider: the tool's.
            let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
        }
        let client = match ca_bundle.filter(|_| tls) {
            // Without a bundle the crate reads the system's roots itself.
            None => redis::Client::open(info),
            Some(bundle) => {
                let roots = crate::transport::trust::pem_roots(bundle).map_err(|e| {
                    Error::usage_with_hint(e.to_string(), crate::transport::trust::BUNDLE_HINT)
                })?;
                let certificates = redis::TlsCertificates {
                    client_tls: None,
                    root_cert: Some(roots),
                };
                redis::Client::build_with_tls(info, certificates)
            }
        }
        .map_err(|e| failure(&label, "connect", &e))?;
        let config = AsyncConnectionConfig::new()
            .set_connection_timeout(Some(timeouts.connect()))
            .set_response_timeout(Some(timeouts.attempt()));
        let connecting = client.get_multiplexed_async_connection_with_config(&config);
        let conn = tokio::time::timeout(timeouts.call, connecting)
            .await
            .map_err(|_| timed_out(&label, "connect", timeouts))?
            .map_err(|e| failure(&label, "connect", &e))?;
        Ok(Redis {
            conn,
            timeouts,
            label,
        })
    }

    /// Runs one command within the call's time limit.
    pub(crate) async fn query<T: FromRedisValue>(&self, what: &str, cmd: &Cmd) -> Result<T> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeouts.call, cmd.query_async(&mut conn))
            .await
            .map_err(|_| timed_out(&self.label, what, self.timeouts))?
            .map_err(|e| failure(&self.label, what, &e))
    }

    /// Runs one command within the call's time limit; `None` when the
    /// connection's ACL refuses it (`NOPERM`), which callers turn into a
    /// plan note rather than an error.
    pub(crate) async fn permitted<T: FromRedisValue>(
        &self,
        what: &str,
        cmd: &Cmd,
    ) -> Result<Option<T>> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeouts.call, cmd.query_async(&mut conn))
            .await
            .map_err(|_| timed_out(&self.label, what, self.timeouts))?
        {
            Ok(value) => Ok(Some(value)),
            Err(e) if e.code() == Some("NOPERM") => Ok(None),
            Err(e) => Err(failure(&self.label, what, &e)),
        }
    }

    /// Runs one command within the call's time limit; the server's error
    /// reply is returned as is, for a probe that reads it (no answer, or
    /// a broken connection, is still an error).
    pub(crate) async fn attempt<T: FromRedisValue>(
        &self,
        what: &str,
        cmd: &Cmd,
    ) -> Result<std::result::Result<T, redis::RedisError>> {
        let mut conn = self.conn.clone();
        match tokio::time::timeout(self.timeouts.call, cmd.query_async(&mut conn))
            .await
            .map_err(|_| timed_out(&self.label, what, self.timeouts))?
        {
            Err(e) if e.code().is_none() => Err(failure(&self.label, what, &e)),
            answer => Ok(answer),
        }
    }

    /// Runs a pipeline (one round trip) within the call's time limit.
    pub(crate) async fn pipeline<T: FromRedisValue>(
        &self,
        what: &str,
        pipe: &Pipeline,
    ) -> Result<T> {
        let mut conn = self.conn.clone();
        tokio::time::timeout(self.timeouts.call, pipe.query_async(&mut conn))
            .await
            .map_err(|_| timed_out(&self.label, what, self.timeouts))?
            .map_err(|e| failure(&self.label, what, &e))
    }

    /// One command's error out of a pipeline run with `ignore_errors`, as
    /// the one-line error `query` would give.
    pub(crate) fn refused(&self, what: &str, e: &redis::RedisError) -> Error {
        failure(&self.label, what, e)
    }
}

/// The seed's layout on a local server (unit tests).
#[cfg(test)]
pub(crate) fn seed_layout() -> RedisStorage {
    RedisStorage {
        url: "redis://127.0.0.1:6379".into(),
        key_prefix: "chronotrace:traces:".into(),
        index_key: "chronotrace:index".into(),
        password_env: "REDIS_PASSWORD".into(),
        app_user: true,
        cluster: false,
        more_seeds: Vec::new(),
    }
}

/// What to do about a cluster node the spec does not call one.
const CLUSTER_HINT: &str = "add `cluster: true` to the environment in the spec: the tool then reads every master from that node";

fn timed_out(label: &str, what: &str, timeouts: Timeouts) -> Error {
    Error::cloud_with_hint(
        format!(
            "redis {label}: {what}: no answer within {}",
            Timeouts::show(timeouts.call)
        ),
        "is the server overloaded or the address wrong? --timeout raises the limit",
    )
}

/// A failed call as one line, with a hint for the causes the tool knows.
/// Redis's errors never carry the password (AUTH's arguments are not
/// echoed), and the label is the spec's URL, which has none.
fn failure(label: &str, what: &str, e: &redis::RedisError) -> Error {
    let message = format!("redis {label}: {what}: {e}");
    let code = e.code().unwrap_or_default();
    let auth = e.kind() == redis::ErrorKind::AuthenticationFailed;
    let hint = match code {
        "NOAUTH" | "WRONGPASS" => Some(
            "set the password in REDIS_PASSWORD (or the variable the spec's password_env names)",
        ),
        _ if auth => Some(
            "set the password in REDIS_PASSWORD (or the variable the spec's password_env names)",
        ),
        "NOPERM" => Some("the connecting user's ACL does not allow this: see `ACL GETUSER`"),
        // Only a cluster node answers these: to a single-server client (no
        // `cluster: true`), or to a walk whose slot map moved meanwhile.
        "MOVED" | "ASK" | "CLUSTERDOWN" => Some(
            "a Redis Cluster node: the spec needs `cluster: true` (if it says so already, the cluster's slots moved during the run: run it again)",
        ),
        _ if e.is_connection_refusal() => Some("is redis-server running at that address?"),
        _ => None,
    };
    match hint {
        Some(hint) => Error::cloud_with_hint(message, hint),
        None => Error::cloud(message),
    }
}
