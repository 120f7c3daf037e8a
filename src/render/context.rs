//! One typed context per template. Everything a template prints is decided
//! here, from the validated spec, so templates stay plain layout.

use serde::Serialize;

use super::store::{RetentionBy, StoreFiles};
use crate::spec::{Environment, Minio, MinioMode};

/// Ports MinIO listens on inside its containers.
const API_PORT: u16 = 9000;
const CONSOLE_PORT: u16 = 9001;
/// Where nginx finds the certificate inside its container.
const NGINX_CERT: &str = "/etc/nginx/ssl/minio.crt";
const NGINX_KEY: &str = "/etc/nginx/ssl/minio.key";

/// `docker-compose.yml`: a single MinIO for development.
#[derive(Debug, Serialize)]
pub(crate) struct DevCompose {
    pub(crate) project: String,
    pub(crate) image: String,
    pub(crate) api_port: u16,
    pub(crate) console_port: u16,
}

impl DevCompose {
    pub(crate) fn new(project: &str, minio: Option<&Minio>) -> Self {
        DevCompose {
            project: project.to_string(),
            image: minio.map_or_else(
                || crate::spec::DEFAULT_MINIO_IMAGE.to_string(),
                |m| m.image.clone(),
            ),
            api_port: API_PORT,
            console_port: CONSOLE_PORT,
        }
    }
}

/// One MinIO container of the production deployment.
#[derive(Debug, Serialize)]
pub(crate) struct MinioNode {
    pub(crate) name: String,
    /// `(volume name, mount point)` per drive.
    pub(crate) drives: Vec<(String, String)>,
}

/// `docker-compose.production.yml`: MinIO single or distributed behind nginx.
#[derive(Debug, Serialize)]
pub(crate) struct ProductionCompose {
    pub(crate) project: String,
    pub(crate) image: String,
    pub(crate) distributed: bool,
    pub(crate) nodes: Vec<MinioNode>,
    /// The drive arguments of `minio server`, e.g. `http://minio{1...4}/data{1...2}`.
    pub(crate) server_args: String,
    pub(crate) api_port: u16,
    pub(crate) console_port: u16,
    pub(crate) domain: String,
    pub(crate) console_domain: String,
    pub(crate) tls_certificate: String,
    pub(crate) tls_key: String,
    pub(crate) nginx_certificate: &'static str,
    pub(crate) nginx_key: &'static str,
}

impl ProductionCompose {
    pub(crate) fn new(project: &str, minio: &Minio) -> Self {
        let distributed = minio.mode == MinioMode::Distributed;
        let node_names: Vec<String> = if distributed {
            (1..=minio.nodes).map(|i| format!("minio{i}")).collect()
        } else {
            vec!["minio".to_string()]
        };
        let drive_dirs = drive_dirs(minio.drives_per_node);
        let nodes = node_names
            .iter()
            .map(|name| MinioNode {
                name: name.clone(),
                drives: drive_dirs
                    .iter()
                    .map(|dir| {
                        (
                            format!("{name}-{}", dir.trim_start_matches('/')),
                            dir.clone(),
                        )
                    })
                    .collect(),
            })
            .collect();
        let drives = ellipsis("/data", minio.drives_per_node);
        let server_args = if distributed {
            format!("http://{}{drives}", ellipsis("minio", minio.nodes))
        } else {
            drives
        };
        ProductionCompose {
            project: project.to_string(),
            image: minio.image.clone(),
            distributed,
            nodes,
            server_args,
            api_port: API_PORT,
            console_port: CONSOLE_PORT,
            domain: minio.domain.clone(),
            console_domain: minio.console_domain.clone(),
            tls_certificate: host_path(&minio.tls_certificate),
            tls_key: host_path(&minio.tls_key),
            nginx_certificate: NGINX_CERT,
            nginx_key: NGINX_KEY,
        }
    }
}

/// A host path for a compose bind mount: compose reads `ssl/x.crt` as a
/// named volume, so relative paths get an explicit `./`.
pub(crate) fn host_path(path: &str) -> String {
    if path.starts_with('/')
        || path.starts_with("./")
        || path.starts_with("../")
        || path.starts_with('~')
    {
        path.to_string()
    } else {
        format!("./{path}")
    }
}

/// `/data` for one drive, `/data1 … /dataN` for several.
fn drive_dirs(count: u32) -> Vec<String> {
    if count == 1 {
        vec!["/data".to_string()]
    } else {
        (1..=count).map(|i| format!("/data{i}")).collect()
    }
}

/// MinIO's expansion syntax: `name{1...n}`, or `name` alone for one.
fn ellipsis(name: &str, count: u32) -> String {
    if count == 1 {
        name.to_string()
    } else {
        format!("{name}{{1...{count}}}")
    }
}

/// `nginx.conf`: TLS termination in front of the MinIO API and console,
/// or (`render::selfhosted`) of another server's S3 API alone.
#[derive(Debug, Serialize)]
pub(crate) struct Nginx {
    /// The server's name in the header comment.
    pub(crate) product: &'static str,
    /// The upstreams' name prefix (`minio` gives `minio_api`).
    pub(crate) upstream: &'static str,
    pub(crate) domain: String,
    pub(crate) console_domain: String,
    pub(crate) api_servers: Vec<String>,
    pub(crate) console_servers: Vec<String>,
    pub(crate) certificate: &'static str,
    pub(crate) key: &'static str,
}

impl Nginx {
    pub(crate) fn new(compose: &ProductionCompose) -> Self {
        let servers = |port: u16| -> Vec<String> {
            compose
                .nodes
                .iter()
                .map(|n| format!("{}:{port}", n.name))
                .collect()
        };
        Nginx {
            product: "MinIO",
            upstream: "minio",
            domain: compose.domain.clone(),
            console_domain: compose.console_domain.clone(),
            api_servers: servers(compose.api_port),
            console_servers: servers(compose.console_port),
            certificate: NGINX_CERT,
            key: NGINX_KEY,
        }
    }
}

/// `.env.<env>`: the settings the Laravel package reads; never a secret.
#[derive(Debug, Serialize)]
pub(crate) struct DotEnv {
    pub(crate) project: String,
    pub(crate) env: String,
    /// `(name, value)` pairs, values already quoted for dotenv.
    pub(crate) settings: Vec<(String, String)>,
    pub(crate) local_traces_dir: Option<String>,
    /// How the app authenticates: `none` (local disk), `role` (AWS instance
    /// role) or `keys` (access keys from a secret store).
    pub(crate) credentials: &'static str,
    /// `CHRONOTRACE_RETENTION_DAYS`, written under a comment saying the
    /// package reads it nowhere (v0.0.4), and what really expires traces.
    pub(crate) retention_days: u32,
    pub(crate) retention_by: String,
}

impl DotEnv {
    /// `env`'s `.env`, with what its store renders.
    pub(crate) fn new(project: &str, env: &Environment, store: &StoreFiles) -> Self {
        let settings = [("CHRONOTRACE_ENABLED".to_string(), "true".to_string())]
            .into_iter()
            .chain(store.settings.iter().cloned());
        // The package reads neither retention_days nor auto_purge, and its
        // purge deletes nothing: say what really expires the traces.
        let retention_by = match &store.retention {
            RetentionBy::Store(by) => by.clone(),
            RetentionBy::Purge => format!(
                "chronotrace-ops --env {} cleanup purge --yes, scheduled (schedule: in the spec)",
                env.name
            ),
        };
        DotEnv {
            retention_days: env.retention_days,
            retention_by,
            project: project.to_string(),
            env: env.name.clone(),
            settings: settings.map(|(k, v)| (k, dotenv_quote(&v))).collect(),
            local_traces_dir: store.local_traces_dir.clone(),
            credentials: store.credentials.as_str(),
        }
    }
}

/// Quotes a value for dotenv when it holds anything but plain characters.
fn dotenv_quote(value: &str) -> String {
    let plain = value
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_-./:".contains(c));
    if plain && !value.is_empty() {
        value.to_string()
    } else {
        format!(
            "\"{}\"",
            value
                .replace('\\', "\\\\")
                .replace('"', "\\\"")
                .replace('$', "\\$")
        )
    }
}

/// `minio.env.example`: placeholders for the MinIO side; never a value.
#[derive(Debug, Serialize)]
pub(crate) struct MinioEnvExample {
    pub(crate) domain: String,
    pub(crate) console_domain: String,
    pub(crate) buckets: Vec<MinioApp>,
}

/// The app user of one MinIO environment.
#[derive(Debug, Serialize)]
pub(crate) struct MinioApp {
    pub(crate) env: String,
    /// The environment's name as part of a variable name (`-` becomes `_`).
    pub(crate) env_var: String,
    pub(crate) bucket: String,
    pub(crate) prefix: String,
}
