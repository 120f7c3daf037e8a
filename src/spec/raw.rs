//! The spec exactly as written in YAML, with the source location of every
//! value, before any rule is checked. `validate` turns it into the model.

use indexmap::IndexMap;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// Top level of `chronotrace-ops.yaml`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSpec {
    pub project: Spanned<String>,
    pub environments: Spanned<IndexMap<String, Spanned<RawEnvironment>>>,
    #[serde(default)]
    pub minio: Option<Spanned<RawMinio>>,
}

/// One environment; which keys apply depends on `storage`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawEnvironment {
    pub storage: Spanned<String>,
    pub provider: Option<Spanned<String>>,
    pub endpoint: Option<Spanned<String>>,
    pub region: Option<Spanned<String>>,
    pub bucket: Option<Spanned<String>>,
    pub prefix: Option<Spanned<String>>,
    pub path: Option<Spanned<String>>,
    pub retention_days: Option<Spanned<i64>>,
    pub versioning: Option<Spanned<bool>>,
    pub noncurrent_days: Option<Spanned<i64>>,
    pub transitions: Option<Spanned<Vec<Spanned<RawTransition>>>>,
    pub iam: Option<Spanned<RawIam>>,
    /// The Laravel app this environment serves (its directory).
    pub app: Option<Spanned<String>>,
    /// When `cleanup purge --yes` runs, for the timer and cron files `render` writes.
    pub schedule: Option<Spanned<RawSchedule>>,
}

/// A daily purge of traces past retention (`schedule:`).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawSchedule {
    pub at: Spanned<String>,
    pub directory: Spanned<String>,
    pub user: Option<Spanned<String>>,
    pub binary: Option<Spanned<String>>,
}

/// A lifecycle transition of current objects.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTransition {
    pub days: Spanned<i64>,
    pub storage_class: Spanned<String>,
}

/// The IAM identity the app runs as (AWS only).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawIam {
    pub policy: Spanned<String>,
    pub role: Spanned<String>,
    pub trusted_service: Option<Spanned<String>>,
    pub instance_profile: Option<Spanned<String>>,
}

/// What `render` builds for self-hosting MinIO.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawMinio {
    pub mode: Option<Spanned<String>>,
    pub nodes: Option<Spanned<i64>>,
    pub drives_per_node: Option<Spanned<i64>>,
    pub domain: Spanned<String>,
    pub console_domain: Option<Spanned<String>>,
    pub image: Option<Spanned<String>>,
    pub tls: Spanned<RawTls>,
}

/// Certificate and key files on the host, mounted into nginx.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RawTls {
    pub certificate: Spanned<String>,
    pub key: Spanned<String>,
}
