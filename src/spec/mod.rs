//! The spec (`chronotrace-ops.yaml`): finding it, parsing it strictly, and
//! validating every rule before anything else happens.
//!
//! `raw` mirrors the YAML with source locations, `validate` checks the rules
//! and builds the model below; nothing outside this module sees raw YAML.

#![warn(unreachable_pub)]

pub(crate) mod database;
pub(crate) mod ids;
pub(crate) mod inventory;
mod lifecycle;
mod names;
mod parse_error;
mod provider;
mod raw;
mod schema;
mod validate;

#[cfg(test)]
mod proptests;

use std::path::{Path, PathBuf};

use indexmap::IndexMap;
use serde::Serialize;

use crate::error::{Error, Result};

pub(crate) use database::DatabaseStorage;
pub(crate) use lifecycle::Transition;
pub(crate) use provider::{AppIdentity, Provider};
pub(crate) use schema::schema_json;
pub(crate) use validate::check_endpoint;

/// The file name looked for in the working directory.
pub(crate) const DEFAULT_SPEC_FILE: &str = "chronotrace-ops.yaml";

/// The commented starter spec that `init` writes and that commands fall
/// back to when no spec file exists (the embedded default).
pub(crate) const STARTER_SPEC: &str = include_str!("starter.yaml");

/// A spec that passed every rule.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Spec {
    pub(crate) project: String,
    pub(crate) environments: IndexMap<String, Environment>,
    pub(crate) minio: Option<Minio>,
    /// Where the spec came from, for messages.
    #[serde(skip)]
    pub(crate) source: String,
    /// Accepted but worth a look (cost, portability): printed on stderr.
    #[serde(skip)]
    pub(crate) warnings: Vec<String>,
}

/// One environment of the spec.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Environment {
    pub(crate) name: String,
    /// Days a trace is kept (expiration of current objects).
    pub(crate) retention_days: u32,
    pub(crate) storage: Storage,
    /// The Laravel app this environment serves (`app:`), as written.
    pub(crate) app: Option<PathBuf>,
    /// A daily `cleanup purge --yes` for `render` to write as timer and cron files.
    pub(crate) schedule: Option<Schedule>,
}

/// When and how the tool's purge runs (`schedule:`); every value was
/// checked to be safe inside a systemd unit and a cron line.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Schedule {
    pub(crate) hour: u8,
    pub(crate) minute: u8,
    /// Where the purge runs: the directory of the spec (and of the app).
    pub(crate) directory: String,
    /// The user that owns the traces.
    pub(crate) user: String,
    /// The absolute path of chronotrace-ops.
    pub(crate) binary: String,
}

/// Where the traces of an environment live.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "storage", rename_all = "lowercase")]
// A spec holds a handful of environments: boxing would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Storage {
    Local(LocalStorage),
    S3(S3Storage),
    Gcs(GcsStorage),
    Redis(RedisStorage),
    Database(DatabaseStorage),
    Hybrid(HybridStorage),
}

impl Storage {
    /// The bucket's settings, for tests that build one from a spec text.
    #[cfg(test)]
    pub(crate) fn s3(&self) -> Option<&S3Storage> {
        match self {
            Storage::S3(s3) => Some(s3),
            Storage::Local(_)
            | Storage::Gcs(_)
            | Storage::Redis(_)
            | Storage::Database(_)
            | Storage::Hybrid(_) => None,
        }
    }

    /// True for the local disk: the one store the embedded starter spec
    /// may write to (its other environments are examples).
    pub(crate) fn is_local_disk(&self) -> bool {
        matches!(self, Storage::Local(_))
    }

    /// Days a noncurrent version is kept, where the store keeps versions
    /// and the spec expires them.
    pub(crate) fn noncurrent_days(&self) -> Option<u32> {
        match self {
            Storage::S3(s3) => s3.noncurrent_days,
            Storage::Local(_)
            | Storage::Gcs(_)
            | Storage::Redis(_)
            | Storage::Database(_)
            | Storage::Hybrid(_) => None,
        }
    }
}

/// A hot/cold pair (the seed's `HybridTraceStorage`): the app writes every
/// trace to the hot tier (and a critical one to the cold tier at once);
/// `cleanup purge` archives what is older than `hot_days` to the cold tier,
/// then purges the cold tier past `retention_days`. The tiers are two other
/// environments of the spec, copied in here when the spec is read.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct HybridStorage {
    #[serde(serialize_with = "environment_name")]
    pub(crate) hot: Box<Environment>,
    #[serde(serialize_with = "environment_name")]
    pub(crate) cold: Box<Environment>,
    pub(crate) hot_days: u32,
    pub(crate) critical: Critical,
}

/// The seed's `isCriticalTrace`: a status at least `status_at_least`, or a
/// duration over `duration_ms_over` milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Critical {
    pub(crate) status_at_least: u32,
    pub(crate) duration_ms_over: u64,
}

impl Default for Critical {
    fn default() -> Self {
        Critical {
            status_at_least: 500,
            duration_ms_over: 5000,
        }
    }
}

impl Critical {
    /// Whether a trace (its JSON) is critical; `None` when the trace does
    /// not say its status or duration.
    pub(crate) fn judge(&self, trace: &serde_json::Value) -> Option<bool> {
        let response = trace.get("response")?;
        let status = response.get("status").and_then(serde_json::Value::as_u64);
        let duration = response.get("duration").and_then(serde_json::Value::as_f64);
        if status.is_none() && duration.is_none() {
            return None;
        }
        Some(
            status.is_some_and(|s| s >= u64::from(self.status_at_least))
                || duration.is_some_and(|d| d > self.duration_ms_over as f64),
        )
    }
}

/// A tier environment, serialised as its name.
fn environment_name<S: serde::Serializer>(
    env: &Environment,
    out: S,
) -> std::result::Result<S::Ok, S::Error> {
    out.serialize_str(&env.name)
}

/// A Google Cloud Storage bucket (the seed's `GcsTraceStorage`): traces
/// at `{prefix}/{traceId}.json` (or in day folders `{prefix}/{YYYY-MM-DD}/`).
/// Credentials never here: a service-account key file named by
/// `GOOGLE_APPLICATION_CREDENTIALS`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct GcsStorage {
    /// An emulator or private endpoint; `None` is Google's.
    pub(crate) endpoint: Option<String>,
    pub(crate) bucket: String,
    pub(crate) prefix: Prefix,
    pub(crate) project: Option<String>,
    /// Uppercase, as GCS reports it.
    pub(crate) location: Option<String>,
    pub(crate) versioning: bool,
    pub(crate) soft_delete_days: Option<u32>,
    /// The app's service account (`iam: {service_account}`).
    pub(crate) service_account: Option<String>,
}

/// The seed's `RedisTraceStorage`: a string key `{key_prefix}{traceId}` per
/// trace with a TTL, and a sorted set `index_key` of trace ids scored by
/// the Unix time they were stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct RedisStorage {
    /// `redis://` or `rediss://` (TLS), host, port, database: never a
    /// password (that comes from `password_env`).
    pub(crate) url: String,
    pub(crate) key_prefix: String,
    pub(crate) index_key: String,
    /// The environment variable holding the password (`REDIS_PASSWORD`).
    pub(crate) password_env: String,
    /// `apply` makes the app's ACL user (`app_user:`, default true).
    pub(crate) app_user: bool,
    /// A Redis Cluster (`cluster: true`): `url` is one node, a seed the
    /// others are discovered from.
    pub(crate) cluster: bool,
    /// More seed nodes of the cluster, tried after `url` (`urls:` gives
    /// `url` and these).
    pub(crate) more_seeds: Vec<String>,
}

impl RedisStorage {
    /// Over TLS (`rediss://`).
    pub(crate) fn is_tls(&self) -> bool {
        self.url.starts_with("rediss://")
    }
}

/// The Laravel local disk (or an NFS mount): traces under `{path}/traces/`.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct LocalStorage {
    pub(crate) path: PathBuf,
    /// `path:` was written in the spec (otherwise it follows the app).
    #[serde(skip)]
    pub(crate) explicit: bool,
    /// Why this path, for messages: "set in the spec", "the default", or
    /// what `stores::resolve` read in the app.
    #[serde(skip)]
    pub(crate) origin: String,
    /// The share mounted at `path` (`mount:`), when the disk is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) mount: Option<NetworkMount>,
}

/// A share mounted at a local environment's path (`mount:`): `path` is its
/// mount point, checked to be absolute and safe in an fstab line and a
/// systemd unit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct NetworkMount {
    /// The filesystem type as /proc/self/mountinfo names it (`nfs4`).
    pub(crate) kind: String,
    /// What is mounted (`server:/exports/chronotrace`).
    pub(crate) source: String,
}

impl LocalStorage {
    /// The directory holding the date partitions.
    pub(crate) fn traces_dir(&self) -> PathBuf {
        self.path.join("traces")
    }
}

/// A bucket on AWS S3, MinIO or another S3-compatible store.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct S3Storage {
    pub(crate) provider: Provider,
    /// Explicit endpoint (always for MinIO and other stores); `None` is AWS's own.
    pub(crate) endpoint: Option<String>,
    pub(crate) region: String,
    pub(crate) bucket: String,
    pub(crate) prefix: Prefix,
    pub(crate) versioning: bool,
    pub(crate) noncurrent_days: Option<u32>,
    pub(crate) transitions: Vec<Transition>,
    pub(crate) iam: Option<Iam>,
    /// The app's own user on a self-hosted store (`iam: {user, policy}`).
    pub(crate) app_user: Option<AppUser>,
    /// Garage's admin API (`admin_endpoint:`, normalised), when written.
    pub(crate) admin_endpoint: Option<String>,
    /// The daily S3 Inventory of the prefix (`inventory:`), when asked for.
    pub(crate) inventory: Option<inventory::Inventory>,
}

/// The app's identity on a self-hosted store: a user (a key name on
/// Garage) and its policy, provisioned the way the provider allows
/// (`Provider::capabilities().app_identity`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct AppUser {
    pub(crate) user: String,
    pub(crate) policy: String,
}

/// The app's disk root in the bucket (`CHRONOTRACE_S3_PREFIX`), normalised:
/// never empty, no leading or trailing `/`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub(crate) struct Prefix(String);

impl Prefix {
    /// Normalises a prefix as written; `None` when nothing is left.
    pub(crate) fn parse(raw: &str) -> Option<Prefix> {
        let trimmed = raw.trim().trim_matches('/');
        if trimmed.is_empty() {
            None
        } else {
            Some(Prefix(trimmed.to_string()))
        }
    }

    /// The prefix as the app's setting, without slashes at either end.
    pub(crate) fn as_str(&self) -> &str {
        &self.0
    }

    /// `{prefix}/`: the key prefix that scopes every rule, policy and purge.
    pub(crate) fn dir(&self) -> String {
        format!("{}/", self.0)
    }

    /// `{prefix}/traces/`: where the package writes its date partitions.
    pub(crate) fn traces_dir(&self) -> String {
        format!("{}/traces/", self.0)
    }
}

/// The IAM identity of the app on AWS.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Iam {
    pub(crate) policy: String,
    pub(crate) role: String,
    pub(crate) trusted_service: String,
    pub(crate) instance_profile: Option<String>,
}

/// MinIO deployment topology.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum MinioMode {
    Single,
    Distributed,
}

/// What `render` builds for self-hosting MinIO behind nginx.
#[derive(Debug, Clone, Serialize)]
pub(crate) struct Minio {
    pub(crate) mode: MinioMode,
    pub(crate) nodes: u32,
    pub(crate) drives_per_node: u32,
    pub(crate) domain: String,
    pub(crate) console_domain: String,
    pub(crate) image: String,
    pub(crate) tls_certificate: String,
    pub(crate) tls_key: String,
}

/// The MinIO image used when the spec names none. MinIO stopped publishing
/// community images in October 2025 (`latest` is frozen and unpatched), so the
/// tool pins the last published release and lets `minio.image` override it.
pub(crate) const DEFAULT_MINIO_IMAGE: &str = "minio/minio:RELEASE.2025-09-07T16-13-09Z";

impl Spec {
    /// Parses and validates spec text; `file` names it in messages.
    pub(crate) fn parse(text: &str, file: &str) -> Result<Spec> {
        let raw: raw::RawSpec =
            serde_saphyr::from_str(text).map_err(|e| parse_error::yaml_error(&e, file))?;
        validate::validate(raw, file)
    }

    /// Reads, parses and validates the spec at `path`.
    pub(crate) fn load(path: &Path) -> Result<Spec> {
        let text = std::fs::read_to_string(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => Error::usage_with_hint(
                format!("{}: spec file not found", path.display()),
                "write a starter spec with `chronotrace-ops init`, or point --config at yours",
            ),
            _ => Error::io(path, e),
        })?;
        Spec::parse(&text, &path.display().to_string())
    }

    /// The environment named `name`, or a usage error listing the names.
    pub(crate) fn environment(&self, name: &str) -> Result<&Environment> {
        if name == ALL_ENVIRONMENTS {
            return Err(Error::usage_with_hint(
                "--env all: this command works on one environment",
                "`--env all` runs check, cleanup verify and report; name one environment here",
            ));
        }
        self.environments.get(name).ok_or_else(|| {
            let known: Vec<&str> = self.environments.keys().map(String::as_str).collect();
            Error::usage_with_hint(
                format!("{}: no environment named '{name}'", self.source),
                format!("the spec defines: {}", known.join(", ")),
            )
        })
    }
}

/// The `--env` value that selects every environment of the spec (check,
/// cleanup verify, report); no environment may have this name.
pub(crate) const ALL_ENVIRONMENTS: &str = "all";

/// Where the spec comes from, in order of precedence.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SpecSource {
    /// `--config FILE` or `CHRONOTRACE_OPS_CONFIG`: must exist.
    Explicit(PathBuf),
    /// `./chronotrace-ops.yaml` exists.
    WorkingDir(PathBuf),
    /// Nothing found: the embedded starter spec.
    Embedded,
}

impl SpecSource {
    /// Decides where the spec comes from (flag or env var, else the working dir).
    pub(crate) fn discover(explicit: Option<&Path>) -> SpecSource {
        match explicit {
            Some(path) => SpecSource::Explicit(path.to_path_buf()),
            None if Path::new(DEFAULT_SPEC_FILE).is_file() => {
                SpecSource::WorkingDir(PathBuf::from(DEFAULT_SPEC_FILE))
            }
            None => SpecSource::Embedded,
        }
    }

    /// Loads the spec from this source.
    pub(crate) fn load(&self) -> Result<Spec> {
        match self {
            SpecSource::Explicit(path) | SpecSource::WorkingDir(path) => Spec::load(path),
            SpecSource::Embedded => Spec::parse(STARTER_SPEC, EMBEDDED_SPEC),
        }
    }

    /// The spec's name in messages and JSON: its path as given, or the
    /// embedded spec's marker.
    pub(crate) fn label(&self) -> String {
        match self {
            SpecSource::Explicit(path) | SpecSource::WorkingDir(path) => path.display().to_string(),
            SpecSource::Embedded => EMBEDDED_SPEC.to_string(),
        }
    }
}

/// The name of the embedded starter spec, where a spec's path would be.
pub(crate) const EMBEDDED_SPEC: &str = "<embedded starter spec>";
