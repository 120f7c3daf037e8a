//! The deployment files of the maintained self-hosted servers, Garage and
//! SeaweedFS (issue 12): MinIO stopped publishing community builds in
//! October 2025, so its images are frozen and unpatched, and these are the
//! alternatives `render` writes for environments with `provider: garage`
//! or `provider: seaweedfs`.
//!
//! Per server: a development compose file (one container, loopback ports),
//! a production compose file (behind nginx with TLS, the same
//! `nginx.conf.tera` as MinIO without the console), and its configuration:
//! Garage's `garage.toml`, SeaweedFS's S3 identities as an example file.
//! Secrets are compose secret files the user creates; no rendered file
//! holds one.

use std::collections::BTreeSet;

use serde::Serialize;

use super::context::{Nginx, host_path};
use super::store::Server;
use crate::spec::Provider;

/// Pinned images: the versions the tests boot (scripts/bench/common.sh).
const GARAGE_IMAGE: &str = "dxflrs/garage:v2.5.0";
const SEAWEEDFS_IMAGE: &str = "chrislusf/seaweedfs:4.48";
/// Where nginx finds the certificate inside its container.
const NGINX_CERT: &str = "/etc/nginx/ssl/s3.crt";
const NGINX_KEY: &str = "/etc/nginx/ssl/s3.key";
/// Garage's ports inside its container: S3, RPC, admin.
const GARAGE_S3_PORT: u16 = 3900;
const GARAGE_RPC_PORT: u16 = 3901;
const GARAGE_ADMIN_PORT: u16 = 3903;
/// SeaweedFS's default ports: master, volume, filer, S3.
const WEED_MASTER_PORT: u16 = 9333;
const WEED_VOLUME_PORT: u16 = 8080;
const WEED_FILER_PORT: u16 = 8888;
const WEED_S3_PORT: u16 = 8333;
/// One copy per object: a single node, the shape these files deploy.
/// Raise it (3) only with three nodes in the layout.
const GARAGE_REPLICATION_FACTOR: u32 = 1;

/// One maintained server and what its templates print.
#[derive(Debug, Serialize)]
pub(crate) struct SelfHosted {
    pub(crate) project: String,
    /// `Garage` or `SeaweedFS`.
    pub(crate) product: &'static str,
    /// The file-name stem: `garage` or `seaweedfs`.
    pub(crate) name: &'static str,
    pub(crate) image: &'static str,
    /// The S3 region the server signs with (the environments' region).
    pub(crate) region: String,
    /// The public names of the S3 API (the environments' endpoint hosts).
    pub(crate) domain: String,
    pub(crate) s3_port: u16,
    pub(crate) rpc_port: u16,
    pub(crate) admin_port: u16,
    pub(crate) master_port: u16,
    pub(crate) volume_port: u16,
    pub(crate) filer_port: u16,
    pub(crate) replication_factor: u32,
    pub(crate) tls_certificate: String,
    pub(crate) tls_key: String,
    pub(crate) nginx_certificate: &'static str,
    pub(crate) nginx_key: &'static str,
}

impl SelfHosted {
    /// The servers the rendered environments' stores live on (`servers`,
    /// in the spec's order), each once, with the region of the first of
    /// its environments and every endpoint host.
    pub(crate) fn from_servers(project: &str, servers: &[&Server]) -> Vec<SelfHosted> {
        [Provider::Garage, Provider::Seaweedfs]
            .into_iter()
            .filter_map(|provider| SelfHosted::for_provider(project, servers, provider))
            .collect()
    }

    fn for_provider(project: &str, servers: &[&Server], provider: Provider) -> Option<SelfHosted> {
        let stores: Vec<_> = servers.iter().filter(|s| s.provider == provider).collect();
        let first = stores.first()?;
        let hosts: BTreeSet<String> = stores
            .iter()
            .filter_map(|s| s.endpoint.as_deref().and_then(endpoint_host))
            .collect();
        let domain = if hosts.is_empty() {
            format!("s3.{project}.example.com")
        } else {
            hosts.into_iter().collect::<Vec<_>>().join(" ")
        };
        let (product, name, image, s3_port) = match provider {
            Provider::Garage => ("Garage", "garage", GARAGE_IMAGE, GARAGE_S3_PORT),
            _ => ("SeaweedFS", "seaweedfs", SEAWEEDFS_IMAGE, WEED_S3_PORT),
        };
        Some(SelfHosted {
            project: project.to_string(),
            product,
            name,
            image,
            region: first.region.clone(),
            domain,
            s3_port,
            rpc_port: GARAGE_RPC_PORT,
            admin_port: GARAGE_ADMIN_PORT,
            master_port: WEED_MASTER_PORT,
            volume_port: WEED_VOLUME_PORT,
            filer_port: WEED_FILER_PORT,
            replication_factor: GARAGE_REPLICATION_FACTOR,
            tls_certificate: host_path(&format!("ssl/{name}.crt")),
            tls_key: host_path(&format!("ssl/{name}.key")),
            nginx_certificate: NGINX_CERT,
            nginx_key: NGINX_KEY,
        })
    }

    /// nginx in front of the S3 API (no console: neither server has one
    /// to publish).
    pub(crate) fn nginx(&self) -> Nginx {
        // The service nginx proxies to: SeaweedFS's S3 gateway is its own.
        let service = if self.name == "garage" {
            "garage"
        } else {
            "s3"
        };
        Nginx {
            product: self.product,
            upstream: self.name,
            domain: self.domain.clone(),
            console_domain: String::new(),
            api_servers: vec![format!("{service}:{}", self.s3_port)],
            console_servers: Vec::new(),
            certificate: NGINX_CERT,
            key: NGINX_KEY,
        }
    }

    /// `(template, file name, sensitive)` of every file of this server.
    pub(crate) fn files(&self) -> Vec<(String, String, bool)> {
        let name = self.name;
        let config = if name == "garage" {
            ("garage/garage.toml.tera", "garage.toml", false)
        } else {
            // Placeholders only, but the copy the user fills in holds keys.
            (
                "seaweedfs/s3.example.json.tera",
                "seaweedfs-s3.example.json",
                true,
            )
        };
        vec![
            (
                format!("{name}/docker-compose.yml.tera"),
                format!("docker-compose.{name}.yml"),
                false,
            ),
            (
                format!("{name}/docker-compose.production.yml.tera"),
                format!("docker-compose.{name}.production.yml"),
                false,
            ),
            (config.0.to_string(), config.1.to_string(), config.2),
        ]
    }
}

/// The host of `http(s)://host[:port]`.
fn endpoint_host(endpoint: &str) -> Option<String> {
    url::Url::parse(endpoint)
        .ok()
        .and_then(|u| u.host_str().map(str::to_string))
}

/// What `render` and `check` tell MinIO users: the problem...
pub(crate) const MINIO_FROZEN: &str = "MinIO stopped publishing community builds in October 2025: its images are frozen and unpatched";
/// ...and the way out.
pub(crate) const MINIO_ALTERNATIVES: &str = "maintained alternatives: Garage (provider: garage) or SeaweedFS (provider: seaweedfs), whose compose files `render` writes";

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    /// The servers of `spec`'s S3 environments (`only_env`'s alone when
    /// given), as the S3 store states them.
    fn from_spec(spec: &Spec, only_env: Option<&str>) -> Vec<SelfHosted> {
        let servers: Vec<Server> = spec
            .environments
            .values()
            .filter(|env| only_env.is_none_or(|name| env.name == name))
            .filter_map(|env| env.storage.s3().map(Server::of))
            .collect();
        SelfHosted::from_servers(&spec.project, &servers.iter().collect::<Vec<_>>())
    }

    const SPEC: &str = "project: demo
environments:
  a:
    storage: s3
    provider: garage
    endpoint: https://s3-a.demo.test
    region: garage
    bucket: demo-a
  b:
    storage: s3
    provider: garage
    endpoint: https://s3-b.demo.test:8443
    region: other
    bucket: demo-b
  local:
    storage: local
";

    #[test]
    fn one_garage_serves_every_garage_environment() {
        let spec = Spec::parse(SPEC, "spec.yaml").expect("valid spec");
        let servers = from_spec(&spec, None);
        assert_eq!(servers.len(), 1);
        let garage = &servers[0];
        assert_eq!(garage.name, "garage");
        assert_eq!(garage.region, "garage", "the first environment's region");
        assert_eq!(garage.domain, "s3-a.demo.test s3-b.demo.test");
        assert_eq!(garage.nginx().api_servers, ["garage:3900"]);
        let files: Vec<String> = garage.files().into_iter().map(|f| f.1).collect();
        assert_eq!(
            files,
            [
                "docker-compose.garage.yml",
                "docker-compose.garage.production.yml",
                "garage.toml"
            ]
        );
    }

    #[test]
    fn only_the_selected_environment_counts() {
        let spec = Spec::parse(SPEC, "spec.yaml").expect("valid spec");
        assert!(from_spec(&spec, Some("local")).is_empty());
        let b = from_spec(&spec, Some("b"));
        assert_eq!(b[0].domain, "s3-b.demo.test");
        assert_eq!(b[0].region, "other");
    }
}
