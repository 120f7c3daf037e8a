//! The adapter for S3-compatible stores (AWS S3, MinIO, Garage, ...): the
//! S3, IAM and STS clients built once per run from the environment's target
//! (`Clients`), and everything done with them — the scan (`scan`) and bulk
//! deletes (`delete`), provisioning (`provision`, `*_write`), the signed
//! checks (`checks`), the lifecycle judgement (`retention_rule`) — plus the
//! mapping of SDK errors to one-line errors with hints (`errors`); what a
//! bucket should look like (`desired`), what it renders (`files`) and what
//! it expects of the Laravel app (`laravel`). With
//! `transport` (raw DNS/TCP/TLS/HTTP probes), the only code that talks to the
//! network; `stores::s3::store` plugs it into the seam.

pub mod admin;
pub mod app_identity;
pub mod applied;
pub mod bucket;
pub mod bucket_write;
pub(crate) mod check_order;
pub mod checks;
pub mod complete_xml;
pub mod confirmed_write;
pub mod delete;
pub(crate) mod desired;
pub mod empty;
pub mod errors;
pub(crate) mod files;
pub mod iam;
pub mod iam_write;
pub mod inventory;
pub(crate) mod items;
pub(crate) mod laravel;
pub mod lifecycle_write;
pub(crate) mod plugin;
pub mod policy_write;
pub(crate) mod proof;
pub mod provision;
pub mod retention_rule;
pub mod scan;
pub(crate) mod store;
pub mod throttle;
pub mod versioning;

use std::borrow::Cow;
use std::time::Duration;

use aws_config::BehaviorVersion;
use aws_config::provider_config::ProviderConfig;
use aws_credential_types::provider::ProvideCredentials;
use aws_sdk_s3::config::{RequestChecksumCalculation, ResponseChecksumValidation};
use aws_types::region::Region;

use crate::error::{Error, Result};
use crate::spec::{Provider, S3Storage};
use crate::transport::retry;
use crate::transport::timeouts::Timeouts;

/// Where to connect: the spec's environment with the command-line overrides applied.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    pub provider: Provider,
    /// `None`: AWS's own endpoints.
    pub endpoint: Option<String>,
    pub region: String,
    /// Why `region` is the one used: `--region`, else the spec's.
    pub region_from: RegionFrom,
    pub profile: Option<String>,
    /// Extra CAs to trust (`--ca-bundle`, `AWS_CA_BUNDLE`), on top of the system's.
    pub ca_bundle: Option<std::path::PathBuf>,
    /// The limits of every request (`--timeout`).
    pub timeouts: Timeouts,
}

impl Target {
    /// The spec's values, overridden by `--endpoint-url`, `--region`, `--profile`.
    pub fn new(
        s3: &S3Storage,
        endpoint_url: Option<&str>,
        region: Option<&str>,
        profile: Option<&str>,
    ) -> Target {
        Target {
            provider: s3.provider,
            endpoint: endpoint_url
                .map(|e| e.trim_end_matches('/').to_string())
                .or_else(|| s3.endpoint.clone()),
            region: region.map_or_else(|| s3.region.clone(), str::to_string),
            region_from: if region.is_some() {
                RegionFrom::Flag
            } else {
                RegionFrom::Spec
            },
            profile: profile.map(str::to_string),
            ca_bundle: None,
            timeouts: Timeouts::default(),
        }
    }

    /// What to call the endpoint in messages.
    pub fn endpoint_label(&self) -> String {
        self.endpoint
            .clone()
            .unwrap_or_else(|| format!("AWS ({})", self.region))
    }

    /// Path-style addressing whenever the endpoint is not AWS's own.
    pub fn path_style(&self) -> bool {
        self.endpoint.is_some() || self.provider != Provider::Aws
    }
}

/// Where a target's region comes from. `AWS_REGION`, `AWS_DEFAULT_REGION`
/// and a profile's `region` never decide it: the spec names the bucket's
/// region, and a region from the shell would sign for another one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegionFrom {
    /// `--region`.
    Flag,
    /// The environment's `region:` (or its default, `us-east-1`, off AWS).
    Spec,
}

impl Target {
    /// Says under `-v` which region is used and why, naming the shell's
    /// region variables it overrides.
    fn log_region(&self) {
        let from = match self.region_from {
            RegionFrom::Flag => "--region",
            RegionFrom::Spec => "the spec's region (--region overrides it)",
        };
        let overridden: Vec<String> = ["AWS_REGION", "AWS_DEFAULT_REGION"]
            .iter()
            .filter_map(|name| {
                let value = std::env::var(name).ok()?;
                (!value.is_empty() && value != self.region).then(|| format!("{name}={value}"))
            })
            .collect();
        tracing::debug!(
            region = %self.region,
            from,
            not_used = %overridden.join(" "),
            "region"
        );
    }
}

/// The clients of one target. Built once per command; cheap to clone.
#[derive(Debug, Clone)]
pub struct Clients {
    pub target: Target,
    pub s3: aws_sdk_s3::Client,
    pub iam: aws_sdk_iam::Client,
    pub sts: aws_sdk_sts::Client,
    /// The run's credentials, for the admin APIs that sign their own
    /// requests (MinIO's); never logged.
    pub credentials: Option<aws_credential_types::provider::SharedCredentialsProvider>,
}

impl Clients {
    /// Loads the shared AWS configuration and proves that credentials
    /// resolve, so a missing key is reported now, in seconds, with a hint.
    pub async fn connect(target: &Target) -> Result<Clients> {
        Clients::connect_with(target, target.ca_bundle.as_deref()).await
    }

    /// As `connect`, trusting the PEM CAs of `ca_bundle` on top of the system's.
    pub async fn connect_with(
        target: &Target,
        ca_bundle: Option<&std::path::Path>,
    ) -> Result<Clients> {
        tracing::debug!(
            provider = target.provider.name(),
            endpoint = %target.endpoint_label(),
            region = %target.region,
            path_style = target.path_style(),
            profile = target.profile.as_deref().unwrap_or("-"),
            ca_bundle = ?ca_bundle,
            timeout = ?target.timeouts.call,
            "connecting"
        );
        target.log_region();
        // One TLS trust and one set of time limits for every client,
        // the credential providers' own (STS, SSO) included.
        let http_client = crate::transport::https::http_client(ca_bundle)?;
        let mut loader = aws_config::defaults(BehaviorVersion::latest())
            .region(Region::new(target.region.clone()))
            .retry_config(retry::sdk())
            .timeout_config(target.timeouts.sdk())
            .http_client(http_client.clone());
        if let Some(endpoint) = &target.endpoint {
            loader = loader.endpoint_url(endpoint);
        }
        if let Some(profile) = &target.profile {
            loader = loader.profile_name(profile);
        }
        loader = loader.credentials_provider(credentials_chain(target, http_client).await);
        let shared = loader.load().await;
        check_credentials(&shared, target).await?;

        Ok(Clients::from_shared(&shared, target))
    }

    /// The clients of a loaded configuration (credentials already chosen).
    /// Each client's endpoint is set here, to the target's: the SDK's
    /// loader would otherwise let `AWS_ENDPOINT_URL_<SERVICE>` or a
    /// profile's `endpoint_url` win over it, and the clients would talk to
    /// another server than the one the tool probes, plans for and names.
    pub fn from_shared(shared: &aws_types::SdkConfig, target: &Target) -> Clients {
        let endpoint = target.endpoint.clone();
        let mut s3_config = aws_sdk_s3::config::Builder::from(shared);
        s3_config.set_endpoint_url(endpoint.clone());
        let s3_config = s3_config
            .force_path_style(target.path_style())
            // S3 clones reject the SDK's newer default checksums; send them
            // only where the API requires one.
            .request_checksum_calculation(RequestChecksumCalculation::WhenRequired)
            .response_checksum_validation(ResponseChecksumValidation::WhenRequired)
            // A cut XML answer is an error, never a shorter listing.
            .interceptor(complete_xml::CompleteXml)
            .build();
        let mut iam_config = aws_sdk_iam::config::Builder::from(shared);
        iam_config.set_endpoint_url(endpoint.clone());
        let mut sts_config = aws_sdk_sts::config::Builder::from(shared);
        sts_config.set_endpoint_url(endpoint);
        Clients {
            target: target.clone(),
            s3: aws_sdk_s3::Client::from_conf(s3_config),
            iam: aws_sdk_iam::Client::from_conf(iam_config.build()),
            sts: aws_sdk_sts::Client::from_conf(sts_config.build()),
            credentials: shared.credentials_provider(),
        }
    }
}

/// The standard chain (env, profile, SSO, web identity, containers, instance
/// metadata), with instance metadata kept short: off EC2 it must not cost
/// seconds. `AWS_EC2_METADATA_DISABLED=true` turns it off entirely.
async fn credentials_chain(
    target: &Target,
    http_client: aws_smithy_runtime_api::client::http::SharedHttpClient,
) -> aws_config::default_provider::credentials::DefaultCredentialsChain {
    let providers = ProviderConfig::without_region()
        .with_http_client(http_client)
        .with_timeout_config(target.timeouts.sdk());
    // The SDK has no HTTP client of its own (its default features are off):
    // instance metadata goes through the tool's too.
    let imds = aws_config::imds::Client::builder()
        .configure(&providers)
        .connect_timeout(Duration::from_secs(1))
        .read_timeout(Duration::from_secs(1))
        .max_attempts(1)
        .build();
    let mut chain = aws_config::default_provider::credentials::DefaultCredentialsChain::builder()
        .region(Region::new(target.region.clone()))
        .configure(providers)
        .imds_client(imds);
    if let Some(profile) = &target.profile {
        chain = chain.profile_name(profile);
    }
    chain.build().await
}

/// Resolves credentials once, with a deadline; the secret is never kept or shown.
async fn check_credentials(shared: &aws_types::SdkConfig, target: &Target) -> Result<()> {
    let no_credentials = |detail: String| {
        Error::cloud_with_hint(
            format!("no credentials for {}: {detail}", target.endpoint_label()),
            credentials_hint(target.provider),
        )
    };
    let Some(provider) = shared.credentials_provider() else {
        return Err(no_credentials("no credential provider configured".into()));
    };
    let limit = target.timeouts.credentials();
    match tokio::time::timeout(limit, provider.provide_credentials()).await {
        Ok(Ok(credentials)) => {
            // The access key id identifies; the secret is never logged.
            tracing::debug!(
                access_key_id = credentials.access_key_id(),
                "credentials resolved"
            );
            Ok(())
        }
        Ok(Err(e)) => {
            let detail = errors::one_line(&e);
            tracing::debug!(%detail, "credential chain");
            Err(no_credentials(match e {
                // The chain's own text lists every provider over several
                // lines; one line says the same.
                aws_credential_types::provider::error::CredentialsError::CredentialsNotLoaded(_) => {
                    "none found (environment, profile, SSO, web identity, container, instance metadata)".into()
                }
                _ => detail,
            }))
        }
        Err(_) => Err(no_credentials(format!(
            "none found within {}",
            Timeouts::show(limit)
        ))),
    }
}

/// How to give the tool credentials, per provider.
pub fn credentials_hint(provider: Provider) -> String {
    match provider {
        Provider::Aws => "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or pass --profile (SSO and instance roles work too)".into(),
        _ => "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY to an access key of the store (for MinIO, a user with admin rights on the bucket)".into(),
    }
}

/// A storage class as an entry keeps it: one of the classes the SDK knows
/// as a shared static, anything else copied.
pub fn storage_class(name: &str) -> Cow<'static, str> {
    aws_sdk_s3::types::ObjectStorageClass::values()
        .iter()
        .find(|known| **known == name)
        .map_or_else(
            || Cow::Owned(name.to_string()),
            |known| Cow::Borrowed(*known),
        )
}

impl Target {
    /// The endpoint `check` probes: the target's URL, or AWS's regional S3
    /// endpoint.
    pub fn probe_endpoint(
        &self,
    ) -> std::result::Result<
        crate::transport::network::Endpoint,
        crate::transport::network::EndpointError,
    > {
        let url = self
            .endpoint
            .clone()
            .unwrap_or_else(|| format!("https://s3.{}.amazonaws.com", self.region));
        crate::transport::network::Endpoint::parse(&url)
    }
}

impl Target {
    /// Where an S3 environment connects: the spec's values with the
    /// command line's overrides and extra CAs.
    pub fn with_overrides(s3: &S3Storage, o: &crate::transport::overrides::Overrides) -> Target {
        Target {
            ca_bundle: o.ca_bundle.clone(),
            timeouts: o.timeouts,
            ..Target::new(
                s3,
                o.endpoint_url.as_deref(),
                o.region.as_deref(),
                o.profile.as_deref(),
            )
        }
    }
}

/// The clients of each target a run connected to (one, except for `--env
/// all`, whose environments run at once), built on first use.
#[derive(Debug, Default)]
pub(crate) struct ClientCache(tokio::sync::Mutex<Vec<Clients>>);

impl ClientCache {
    /// The clients of `target`: connected (credentials resolved) on the
    /// first call, shared afterwards. A failed connection is not kept.
    pub(crate) async fn get(&self, target: Target) -> Result<Clients> {
        // Held while connecting: two environments on one target resolve
        // credentials once between them.
        let mut cached = self.0.lock().await;
        if let Some(clients) = cached.iter().find(|c| c.target == target) {
            return Ok(clients.clone());
        }
        let clients = Clients::connect(&target).await?;
        cached.push(clients.clone());
        Ok(clients)
    }
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::storage_class;

    #[test]
    fn storage_classes_s3_names_are_shared_and_others_copied() {
        for name in ["STANDARD", "GLACIER_IR", "DEEP_ARCHIVE"] {
            assert!(matches!(storage_class(name), Cow::Borrowed(n) if n == name));
        }
        for name in ["standard", "WARM", ""] {
            assert!(matches!(storage_class(name), Cow::Owned(n) if n == name));
        }
    }
}
