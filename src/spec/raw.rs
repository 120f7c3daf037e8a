//! The spec exactly as written in YAML, with the source location of every
//! value, before any rule is checked. `validate` turns it into the model.
//!
//! These types are also the source of the spec's JSON Schema (`schema`
//! command, see `super::schema`): the keys the schema lists are the keys
//! this parser accepts, by construction. Each `schemars(with = ...)` names
//! the plain type a `Spanned` value has in YAML; the `///` docs become the
//! schema's descriptions, so write them for the person editing the spec.

use std::collections::BTreeMap;

use indexmap::IndexMap;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_saphyr::Spanned;

/// Where ChronoTrace keeps its traces, per environment. Credentials never live here.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "chronotrace-ops.yaml")]
pub(crate) struct RawSpec {
    /// Lowercase letters, digits and '-': names containers and resources.
    #[schemars(with = "String", regex(pattern = r"^[a-z0-9][a-z0-9-]*$"))]
    pub(crate) project: Spanned<String>,
    /// Environments by name (lowercase, digits, '-' or '_').
    #[schemars(
        with = "BTreeMap<String, RawEnvironment>",
        extend("minProperties" = 1, "propertyNames" = { "pattern": "^[a-z0-9][a-z0-9_-]*$" })
    )]
    pub(crate) environments: Spanned<IndexMap<String, Spanned<RawEnvironment>>>,
    /// What `render` builds to self-host MinIO behind nginx.
    #[serde(default)]
    #[schemars(with = "Option<RawMinio>")]
    pub(crate) minio: Option<Spanned<RawMinio>>,
}

/// One environment; which keys apply depends on `storage`.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "environment")]
pub(crate) struct RawEnvironment {
    /// local: the Laravel local disk (or NFS); s3: a bucket; gcs: a Google Cloud Storage bucket (the seed's GcsTraceStorage); redis: the seed's RedisTraceStorage; database: a SQL table (PostgreSQL, MySQL/MariaDB, SQLite); hybrid: a hot/cold pair of two other environments (the seed's HybridTraceStorage).
    #[schemars(with = "String", extend("enum" = ["local", "s3", "gcs", "redis", "database", "hybrid"]))]
    pub(crate) storage: Spanned<String>,
    /// storage: s3 only.
    #[schemars(
        with = "Option<String>",
        extend("enum" = ["aws", "minio", "seaweedfs", "garage", "s3-compatible"], "default" = "aws")
    )]
    pub(crate) provider: Option<Spanned<String>>,
    /// http(s)://host[:port], no path, no credentials. Required for minio and s3-compatible; for gcs an emulator or private endpoint (default Google's).
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub(crate) endpoint: Option<Spanned<String>>,
    /// Required for aws; default us-east-1 elsewhere.
    #[schemars(with = "Option<String>", regex(pattern = r"^[a-z0-9-]+$"))]
    pub(crate) region: Option<Spanned<String>>,
    /// The bucket's name (S3 and GCS naming rules: 3 to 63 lowercase letters, digits, '.' and '-'; GCS also '_').
    #[schemars(
        with = "Option<String>",
        length(min = 3, max = 63),
        regex(pattern = r"^[a-z0-9][a-z0-9._-]*[a-z0-9]$")
    )]
    pub(crate) bucket: Option<Spanned<String>>,
    /// CHRONOTRACE_S3_PREFIX: the app's disk root in the bucket. Never empty.
    #[schemars(with = "Option<String>", extend("default" = "traces"))]
    pub(crate) prefix: Option<Spanned<String>>,
    /// storage: gcs only. The Google Cloud project that owns the bucket (6 to 30 lowercase letters, digits and '-').
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]$")
    )]
    pub(crate) project: Option<Spanned<String>>,
    /// storage: gcs only. The bucket's location (a region such as europe-west1, or a multi-region such as EU).
    #[schemars(with = "Option<String>", regex(pattern = r"^[A-Za-z0-9-]+$"))]
    pub(crate) location: Option<Spanned<String>>,
    /// storage: gcs only. Days a deleted object stays recoverable (and billed): the bucket's soft-delete policy; 0 turns it off.
    #[schemars(with = "Option<i64>", range(min = 0, max = 90))]
    pub(crate) soft_delete_days: Option<Spanned<i64>>,
    /// storage: local only. Traces live under {path}/traces/. Default: the app's local disk root (storage/app/private from Laravel 11, storage/app before; read from config/filesystems.php and composer.lock).
    #[schemars(with = "Option<String>")]
    pub(crate) path: Option<Spanned<String>>,
    /// storage: local only. The share mounted at `path` (an absolute path, the mount point): `check` fails when it is not mounted there, `apply` marks its root, `render` writes its fstab line and systemd mount unit.
    #[schemars(with = "Option<RawMount>")]
    pub(crate) mount: Option<Spanned<RawMount>>,
    /// Days a trace is kept before it expires.
    #[schemars(
        with = "Option<i64>",
        range(min = 1, max = 36500),
        extend("default" = 15)
    )]
    pub(crate) retention_days: Option<Spanned<i64>>,
    /// Keep noncurrent versions of overwritten or deleted traces (storage: s3).
    #[schemars(with = "Option<bool>", extend("default" = false))]
    pub(crate) versioning: Option<Spanned<bool>>,
    /// Expiration of noncurrent versions; needs versioning: true.
    #[schemars(with = "Option<i64>", range(min = 1, max = 36500))]
    pub(crate) noncurrent_days: Option<Spanned<i64>>,
    /// STANDARD_IA/ONEZONE_IA need >= 30 days; classes in waterfall order with increasing days; retention_days after the last.
    #[schemars(with = "Option<Vec<RawTransition>>")]
    pub(crate) transitions: Option<Spanned<Vec<Spanned<RawTransition>>>>,
    /// The app's own identity: on aws its managed policy, role, trust and instance profile; on seaweedfs, garage and minio its user, policy and access key.
    #[schemars(with = "Option<RawIam>")]
    pub(crate) iam: Option<Spanned<RawIam>>,
    /// garage only: its admin API (http(s)://host:port). Default: the S3 endpoint's host, port 3903. The token comes from GARAGE_ADMIN_TOKEN.
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub(crate) admin_endpoint: Option<Spanned<String>>,
    /// storage: redis and database only, never with a password (it comes from the environment). redis: redis://host[:port][/db] or rediss:// (TLS), a username may be in it. database: postgres://, mysql:// (or mariadb://) or sqlite://, TLS as the URL asks (e.g. ?sslmode=require).
    #[schemars(with = "Option<String>", extend("format" = "uri"))]
    pub(crate) url: Option<Spanned<String>>,
    /// storage: redis only. true: the server is a Redis Cluster (ElastiCache or Memorystore cluster mode, a self-managed cluster); `url` names any one node, the others are read from it (CLUSTER SLOTS), and every master is walked. Database 0 only.
    #[schemars(with = "Option<bool>", extend("default" = false))]
    pub(crate) cluster: Option<Spanned<bool>>,
    /// storage: redis with cluster: true only, instead of url: several seed nodes of the cluster, tried in order until one answers (each as url would be; the same scheme for all).
    #[schemars(with = "Option<Vec<String>>")]
    pub(crate) urls: Option<Spanned<Vec<Spanned<String>>>>,
    /// storage: redis only. The trace keys' prefix (the seed's `chronotrace:traces:`); no glob characters.
    #[schemars(with = "Option<String>", extend("default" = "chronotrace:traces:"))]
    pub(crate) key_prefix: Option<Spanned<String>>,
    /// storage: redis only. The sorted set indexing trace ids by the Unix time they were stored.
    #[schemars(with = "Option<String>", extend("default" = "chronotrace:index"))]
    pub(crate) index_key: Option<Spanned<String>>,
    /// storage: redis and database only. The environment variable holding the password: Laravel's own by default (REDIS_PASSWORD, DB_PASSWORD).
    #[schemars(with = "Option<String>", regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]*$"))]
    pub(crate) password_env: Option<Spanned<String>>,
    /// The Laravel app's directory (--app overrides it; default: the current directory when it is a Laravel app). `check` reads its .env, composer.lock and config.
    #[schemars(with = "Option<String>")]
    pub(crate) app: Option<Spanned<String>>,
    /// storage: redis and database only. false: `apply` makes no user for the app (an admin makes it, or the app keeps connecting as its own user); true asks for the least-privilege user, which needs a connection allowed to create users.
    #[schemars(with = "Option<bool>", extend("default" = true))]
    pub(crate) app_user: Option<Spanned<bool>>,
    /// storage: database only. The traces table (the seed's migration creates chronotrace_traces).
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[A-Za-z_][A-Za-z0-9_]{0,62}$"),
        extend("default" = "chronotrace_traces")
    )]
    pub(crate) table: Option<Spanned<String>>,
    /// storage: database only, PostgreSQL or MySQL/MariaDB. monthly: `apply` creates a new table partitioned by month of created_at (PostgreSQL range partitions, MySQL/MariaDB PARTITION BY RANGE), the current month's partition and the next two ahead of time, each marked as the tool's; a later `apply` adds the months that come due. An existing table that is not partitioned is never rewritten (the plan says how to migrate it). The table name is then at most 55 characters (its partitions are named {table}_pYYYYMM).
    #[schemars(with = "Option<String>", extend("enum" = ["monthly"]))]
    pub(crate) partition: Option<Spanned<String>>,
    /// A daily `cleanup purge --yes`: `render` writes a systemd timer and service and a cron file.
    #[schemars(with = "Option<RawSchedule>")]
    pub(crate) schedule: Option<Spanned<RawSchedule>>,
    /// storage: hybrid only. The environment holding recent traces (the seed's Redis tier); not itself hybrid.
    #[schemars(with = "Option<String>")]
    pub(crate) hot: Option<Spanned<String>>,
    /// storage: hybrid only. The environment traces are archived to after hot_days (the seed's S3 tier); not itself hybrid.
    #[schemars(with = "Option<String>")]
    pub(crate) cold: Option<Spanned<String>>,
    /// storage: hybrid only. Days a trace stays in the hot tier before `cleanup purge` archives it to the cold one.
    #[schemars(with = "Option<i64>", extend("default" = 7, "minimum" = 1))]
    pub(crate) hot_days: Option<Spanned<i64>>,
    /// storage: hybrid only. Which traces the app also writes to the cold tier at once (the seed's isCriticalTrace): `cleanup verify` fails on one that is only in the hot tier.
    #[schemars(with = "Option<RawCritical>")]
    pub(crate) critical: Option<Spanned<RawCritical>>,
    /// storage: s3 only. A daily S3 Inventory of the prefix that `apply` sets up; `report` and `cleanup verify` read it with `--source inventory` (or `auto`) instead of listing.
    #[schemars(with = "Option<RawInventory>")]
    pub(crate) inventory: Option<Spanned<RawInventory>>,
}

/// The seed's rule for a critical trace (`critical:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawCritical {
    /// A response status at least this (the seed's 500).
    #[schemars(with = "Option<i64>", extend("default" = 500))]
    pub(crate) status_at_least: Option<Spanned<i64>>,
    /// A duration over this many milliseconds (the seed's 5000).
    #[schemars(with = "Option<i64>", extend("default" = 5000))]
    pub(crate) duration_ms_over: Option<Spanned<i64>>,
}

/// The network share a local environment's path is mounted from (`mount:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawMount {
    /// The filesystem type as /proc/self/mountinfo names it: nfs, nfs4, cifs, smb3, fuse.NAME (tmpfs stands in for a share in tests).
    #[schemars(
        with = "String",
        regex(pattern = r"^(nfs|nfs4|cifs|smb3|tmpfs|fuse\.[A-Za-z0-9._-]+)$")
    )]
    pub(crate) kind: Spanned<String>,
    /// What is mounted: server:/export for NFS, //server/share for SMB. No spaces, no credentials.
    #[schemars(with = "String", regex(pattern = r"^[^\s%@#]+$"))]
    pub(crate) source: Spanned<String>,
}

/// A daily S3 Inventory of the environment's prefix (`inventory:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawInventory {
    /// Where the inventory files go: s3://bucket[/prefix], outside the traces prefix.
    #[schemars(
        with = "String",
        regex(pattern = r"^s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9](/.*)?$")
    )]
    pub(crate) destination: Spanned<String>,
    /// The files' format: Parquet (smaller, typed) or gzipped CSV.
    #[schemars(
        with = "Option<String>",
        extend("enum" = ["parquet", "csv"], "default" = "parquet")
    )]
    pub(crate) format: Option<Spanned<String>>,
    /// How often S3 writes it: daily (`--source auto` trusts an inventory up to 48 hours old).
    #[schemars(
        with = "Option<String>",
        extend("enum" = ["daily"], "default" = "daily")
    )]
    pub(crate) schedule: Option<Spanned<String>>,
}

/// A daily purge of traces past retention (`schedule:`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawSchedule {
    /// Time of day, server-local (HH:MM).
    #[schemars(with = "String", regex(pattern = r"^([01][0-9]|2[0-3]):[0-5][0-9]$"))]
    pub(crate) at: Spanned<String>,
    /// Where the purge runs (the spec's and the app's directory).
    #[schemars(with = "String", regex(pattern = r"^/[A-Za-z0-9/._-]*$"))]
    pub(crate) directory: Spanned<String>,
    /// The user the purge runs as.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[a-z_][a-z0-9_-]{0,31}$"),
        extend("default" = "www-data")
    )]
    pub(crate) user: Option<Spanned<String>>,
    /// The chronotrace-ops binary the timer and cron line run.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^/[A-Za-z0-9/._-]*$"),
        extend("default" = "/usr/local/bin/chronotrace-ops")
    )]
    pub(crate) binary: Option<Spanned<String>>,
}

/// A lifecycle transition of current objects.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawTransition {
    /// Days after creation.
    #[schemars(with = "i64", range(min = 0, max = 36500))]
    pub(crate) days: Spanned<i64>,
    /// The storage class the traces move to.
    #[schemars(
        with = "String",
        extend("enum" = ["STANDARD_IA", "INTELLIGENT_TIERING", "ONEZONE_IA", "GLACIER_IR", "GLACIER", "DEEP_ARCHIVE"])
    )]
    pub(crate) storage_class: Spanned<String>,
}

/// The identity the app runs as: on AWS a role (`policy`, `role`); on
/// seaweedfs and garage a user of the store (`user`, `policy`); on GCS a
/// service account (`service_account`).
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawIam {
    /// The policy's name: AWS managed policy, or the user's inline policy (seaweedfs). Required for s3.
    #[schemars(with = "Option<String>", regex(pattern = r"^[\w+=,.@-]{1,64}$"))]
    pub(crate) policy: Option<Spanned<String>>,
    /// storage: gcs only. The app's service account (its e-mail): bound on the bucket, never the project.
    #[schemars(
        with = "Option<String>",
        regex(pattern = r"^[a-z][a-z0-9-]{4,28}[a-z0-9]@[a-z0-9.-]+$")
    )]
    pub(crate) service_account: Option<Spanned<String>>,
    /// The role's name (aws only, required there).
    #[schemars(with = "Option<String>", regex(pattern = r"^[\w+=,.@-]{1,64}$"))]
    pub(crate) role: Option<Spanned<String>>,
    /// The app's user on a self-hosted store (seaweedfs, garage: required there).
    #[schemars(with = "Option<String>", regex(pattern = r"^[\w+=,.@-]{1,64}$"))]
    pub(crate) user: Option<Spanned<String>>,
    /// The one AWS service principal trusted to assume the role.
    #[schemars(with = "Option<String>", extend("default" = "ec2.amazonaws.com"))]
    pub(crate) trusted_service: Option<Spanned<String>>,
    /// An instance profile holding the role (EC2).
    #[schemars(with = "Option<String>", regex(pattern = r"^[\w+=,.@-]{1,128}$"))]
    pub(crate) instance_profile: Option<Spanned<String>>,
}

/// What `render` builds to self-host MinIO behind nginx.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(rename = "minio")]
pub(crate) struct RawMinio {
    /// One node, or several nodes with several drives each.
    #[schemars(
        with = "Option<String>",
        extend("enum" = ["single", "distributed"], "default" = "single")
    )]
    pub(crate) mode: Option<Spanned<String>>,
    /// Nodes of a distributed deployment.
    #[schemars(with = "Option<i64>", range(min = 1, max = 64))]
    pub(crate) nodes: Option<Spanned<i64>>,
    /// Drives on each node.
    #[schemars(with = "Option<i64>", range(min = 1, max = 64), extend("default" = 1))]
    pub(crate) drives_per_node: Option<Spanned<i64>>,
    /// Host name of the S3 API.
    #[schemars(with = "String")]
    pub(crate) domain: Spanned<String>,
    /// Host name of the console; default console.<domain>.
    #[schemars(with = "Option<String>")]
    pub(crate) console_domain: Option<Spanned<String>>,
    /// A pinned tag or digest, never latest.
    #[schemars(with = "Option<String>")]
    pub(crate) image: Option<Spanned<String>>,
    /// Certificate and key files on the host, mounted into nginx.
    #[schemars(with = "RawTls")]
    pub(crate) tls: Spanned<RawTls>,
}

/// Certificate and key files on the host, mounted into nginx.
#[derive(Debug, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline)]
pub(crate) struct RawTls {
    /// Path of the PEM certificate (chain) on the host.
    #[schemars(with = "String")]
    pub(crate) certificate: Spanned<String>,
    /// Path of the PEM private key on the host.
    #[schemars(with = "String")]
    pub(crate) key: Spanned<String>,
}
