//! What a bucket renders for its environment (`render`): the `.env` lines
//! of the S3 driver, its lifecycle rule (`lifecycle-policy.<env>.json`, the
//! retention that expires its traces), the app's least-privilege policy
//! (`iam-policy.<env>.json`) and, with an instance role, its trust policy;
//! and the server it lives on, whose deployment files `render` writes.
//! `apply` provisions the same documents from the same templates
//! (`desired`), so what it writes is byte for byte what a reviewer read.

use serde::Serialize;

use crate::error::Result;
use crate::render::store::{Credentials, RetentionBy, Server, StoreFiles, Template};
use crate::spec::ids::{lifecycle_rule_id, partition};
use crate::spec::{Environment, Iam, S3Storage};

/// Abort multipart uploads left behind by crashed writers after this many days.
pub(crate) const ABORT_INCOMPLETE_MULTIPART_DAYS: u32 = 7;

/// What bucket `s3` of `env` renders.
pub(crate) fn files(env: &Environment, s3: &S3Storage) -> Result<StoreFiles> {
    let name = &env.name;
    let mut settings = vec![
        ("CHRONOTRACE_STORAGE", "s3".to_string()),
        ("CHRONOTRACE_S3_BUCKET", s3.bucket.clone()),
        ("CHRONOTRACE_S3_REGION", s3.region.clone()),
    ];
    if let Some(endpoint) = &s3.endpoint {
        settings.push(("CHRONOTRACE_S3_ENDPOINT", endpoint.clone()));
    }
    settings.push(("CHRONOTRACE_S3_PREFIX", s3.prefix.as_str().to_string()));
    settings.push(("AWS_DEFAULT_REGION", s3.region.clone()));
    let mut artifacts = vec![
        Template::new(
            "lifecycle-policy.json.tera",
            format!("lifecycle-policy.{name}.json"),
            &Lifecycle::new(env, s3),
            false,
        )?,
        Template::new(
            "iam-policy.json.tera",
            format!("iam-policy.{name}.json"),
            &IamPolicy::new(s3),
            false,
        )?,
    ];
    if let Some(iam) = &s3.iam {
        artifacts.push(Template::new(
            "trust-policy.json.tera",
            format!("trust-policy.{name}.json"),
            &TrustPolicy::new(iam),
            false,
        )?);
    }
    Ok(StoreFiles {
        settings: settings
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect(),
        credentials: if s3.iam.is_some() {
            Credentials::Role
        } else {
            Credentials::Keys
        },
        local_traces_dir: None,
        retention: RetentionBy::Store(format!(
            "the bucket's lifecycle rule {} (chronotrace-ops apply)",
            lifecycle_rule_id(name)
        )),
        artifacts,
        purge_signs_with_aws: true,
        server: Some(Server::of(s3)),
    })
}

/// `lifecycle-policy.<env>.json`: the one rule the tool owns for an environment.
#[derive(Debug, Serialize)]
pub(crate) struct Lifecycle {
    pub(crate) rule_id: String,
    pub(crate) prefix: String,
    pub(crate) retention_days: u32,
    pub(crate) noncurrent_days: Option<u32>,
    pub(crate) transitions: Vec<crate::spec::Transition>,
    pub(crate) abort_incomplete_multipart_days: u32,
}

impl Lifecycle {
    pub(crate) fn new(env: &Environment, s3: &S3Storage) -> Self {
        Lifecycle {
            rule_id: lifecycle_rule_id(&env.name),
            prefix: s3.prefix.dir(),
            retention_days: env.retention_days,
            noncurrent_days: s3.noncurrent_days,
            transitions: s3.transitions.clone(),
            abort_incomplete_multipart_days: ABORT_INCOMPLETE_MULTIPART_DAYS,
        }
    }
}

/// `iam-policy.<env>.json`: least privilege on the environment's prefix.
#[derive(Debug, Serialize)]
pub(crate) struct IamPolicy {
    pub(crate) bucket_arn: String,
    pub(crate) prefix: String,
}

impl IamPolicy {
    pub(crate) fn new(s3: &S3Storage) -> Self {
        IamPolicy {
            bucket_arn: format!("arn:{}:s3:::{}", partition(&s3.region), s3.bucket),
            prefix: s3.prefix.dir(),
        }
    }
}

/// `trust-policy.<env>.json`: the one service allowed to assume the role.
#[derive(Debug, Serialize)]
pub(crate) struct TrustPolicy {
    pub(crate) service: String,
}

impl TrustPolicy {
    pub(crate) fn new(iam: &Iam) -> Self {
        TrustPolicy {
            service: iam.trusted_service.clone(),
        }
    }
}
