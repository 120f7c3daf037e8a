//! What a store renders for one environment, as the store states it
//! (`stores::Store::files`): the `.env` lines that select and configure it,
//! how the app authenticates to it, what enforces its retention, its own
//! files (an S3 bucket's lifecycle rule and IAM documents) and the server
//! it lives on when `render` deploys that server (MinIO, Garage,
//! SeaweedFS). `render` adds what every environment gets (the `.env` file
//! around these lines, the purge schedule) and never tells the kinds of
//! store apart: a new store fills one of these in.

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::spec::{Provider, S3Storage};

/// One environment's store, as `render` writes it.
#[derive(Debug, Clone, Default)]
pub(crate) struct StoreFiles {
    /// The `.env` settings after `CHRONOTRACE_ENABLED`, in order, unquoted
    /// (`CHRONOTRACE_STORAGE` first); never a secret.
    pub(crate) settings: Vec<(String, String)>,
    /// How the app authenticates (the `.env` header says where keys go).
    pub(crate) credentials: Credentials,
    /// The traces directory, for a store on the Laravel local disk.
    pub(crate) local_traces_dir: Option<String>,
    /// What really expires the traces (the `.env` comment names it).
    pub(crate) retention: RetentionBy,
    /// The store's own files, written before the environment's `.env`.
    pub(crate) artifacts: Vec<Template>,
    /// The scheduled purge signs with the AWS credential chain over the
    /// network: its systemd unit waits for the network and says where the
    /// keys go.
    pub(crate) purge_signs_with_aws: bool,
    /// The S3 server the store lives on, for the deployment files `render`
    /// writes per server.
    pub(crate) server: Option<Server>,
}

/// How the app authenticates to its store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) enum Credentials {
    /// Nothing to sign with (the local disk, a server the app's own
    /// connection reaches).
    #[default]
    None,
    /// An AWS instance role.
    Role,
    /// Access keys from a secret store.
    Keys,
}

impl Credentials {
    /// The templates' name for it.
    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Credentials::None => "none",
            Credentials::Role => "role",
            Credentials::Keys => "keys",
        }
    }
}

/// What expires a store's traces.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) enum RetentionBy {
    /// The store's own mechanism, as the `.env` comment names it.
    Store(String),
    /// `cleanup purge`, scheduled (`schedule:` in the spec).
    #[default]
    Purge,
}

/// One file of a store: its template, where it goes and what it prints.
#[derive(Debug, Clone)]
pub(crate) struct Template {
    pub(crate) template: &'static str,
    pub(crate) path: String,
    /// The template's context, as Tera reads it (a JSON object).
    pub(crate) context: Value,
    pub(crate) sensitive: bool,
}

impl Template {
    /// `template` rendered with `context` to `path`.
    pub(crate) fn new<C: Serialize>(
        template: &'static str,
        path: String,
        context: &C,
        sensitive: bool,
    ) -> Result<Template> {
        let context = serde_json::to_value(context).map_err(|e| Error::Template {
            name: template.to_string(),
            message: e.to_string(),
        })?;
        Ok(Template {
            template,
            path,
            context,
            sensitive,
        })
    }
}

/// The S3 server a store lives on, as the per-server deployment files
/// (`selfhosted`, `minio.env.example`) need it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Server {
    pub(crate) provider: Provider,
    pub(crate) region: String,
    pub(crate) endpoint: Option<String>,
    pub(crate) bucket: String,
    /// The prefix as a directory (`traces/`).
    pub(crate) prefix_dir: String,
}

impl Server {
    /// The server of bucket `s3`.
    pub(crate) fn of(s3: &S3Storage) -> Server {
        Server {
            provider: s3.provider,
            region: s3.region.clone(),
            endpoint: s3.endpoint.clone(),
            bucket: s3.bucket.clone(),
            prefix_dir: s3.prefix.dir(),
        }
    }
}
