//! The desired state of one environment, derived from the validated spec
//! alone (pure). The lifecycle rule and the IAM documents are rendered from
//! the same templates as `render`, so what `apply` writes is byte for byte
//! what a reviewer read in `lifecycle-policy.<env>.json` and friends.

use std::path::PathBuf;

use serde::Serialize;
use serde_json::{Value, json};

use super::{ENV_TAG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::error::{Error, Result};
use crate::render::TEMPLATES;
use crate::render::context::{IamPolicy, Lifecycle, TrustPolicy, partition};
use crate::spec::{AppIdentity, Environment, Iam, Provider, S3Storage, Storage};

/// The Sid of the one bucket-policy statement the tool owns.
pub(crate) const TLS_ONLY_SID: &str = "chronotrace-ops-tls-only";
/// The mode of a local traces directory: owner rw, group read, others nothing.
pub(crate) const LOCAL_DIR_MODE: u32 = 0o750;
/// The object ownership setting that disables ACLs.
pub(crate) const OWNERSHIP: &str = "BucketOwnerEnforced";
/// SSE-S3.
pub(crate) const ENCRYPTION: &str = "AES256";

/// What should exist for one environment.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Desired {
    pub(crate) env: String,
    pub(crate) target: DesiredTarget,
}

/// Local disk or a bucket.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DesiredTarget {
    Local { traces_dir: PathBuf },
    Bucket(Box<DesiredBucket>),
    Database(super::database::DesiredDatabase),
}

/// A bucket and everything the tool sets on it.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DesiredBucket {
    pub(crate) name: String,
    pub(crate) region: String,
    /// `None` for us-east-1, which takes no LocationConstraint.
    pub(crate) location_constraint: Option<String>,
    /// `(key, value)` tags marking the bucket as the tool's.
    pub(crate) tags: Vec<(String, String)>,
    /// Only managed when the spec asks for it; otherwise left as found.
    pub(crate) versioning: bool,
    /// The rule with the tool's ID, in the template's JSON shape.
    pub(crate) lifecycle_rule: Value,
    pub(crate) public_access_block: Value,
    pub(crate) tls_statement: Value,
    /// Why the TLS-only statement is not applied, when it is not.
    pub(crate) tls_skipped: Option<String>,
    /// Why default encryption is not planned (the provider's capability row).
    pub(crate) encryption_skipped: Option<String>,
    pub(crate) iam: Option<DesiredIam>,
    /// The app's identity on a self-hosted store (`iam: {user, policy}`).
    pub(crate) app: Option<DesiredApp>,
    /// The S3 Inventory configuration (`plan::inventory`), when asked for.
    pub(crate) inventory: Option<Value>,
}

/// The app's identity on a self-hosted store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DesiredApp {
    pub(crate) kind: AppIdentity,
    pub(crate) user: String,
    pub(crate) policy_name: String,
    /// SeaweedFS: the same prefix-scoped document the AWS role gets;
    /// Garage: the bucket permission (read and write, never owner).
    pub(crate) policy: Value,
    pub(crate) tags: Vec<(String, String)>,
}

/// The IAM identity of the app.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DesiredIam {
    pub(crate) policy_name: String,
    pub(crate) policy_document: Value,
    pub(crate) role_name: String,
    pub(crate) trust_policy: Value,
    pub(crate) instance_profile: Option<String>,
    pub(crate) tags: Vec<(String, String)>,
}

impl Desired {
    /// The desired state of `env`.
    pub(crate) fn from_env(env: &Environment) -> Result<Desired> {
        let target = match &env.storage {
            Storage::Local(local) => DesiredTarget::Local {
                traces_dir: local.traces_dir(),
            },
            Storage::S3(s3) => DesiredTarget::Bucket(Box::new(bucket(env, s3)?)),
            Storage::Redis(_) => {
                return Err(Error::usage(format!(
                    "environment '{}': plan and apply do not provision a Redis store yet",
                    env.name
                )));
            }
            Storage::Database(db) => {
                DesiredTarget::Database(super::database::DesiredDatabase::new(db, &env.name))
            }
        };
        Ok(Desired {
            env: env.name.clone(),
            target,
        })
    }
}

/// The tags the tool puts on what it creates for `env`.
pub(crate) fn ownership_tags(env: &str) -> Vec<(String, String)> {
    vec![
        (MANAGED_BY_KEY.to_string(), MANAGED_BY_VALUE.to_string()),
        (ENV_TAG_KEY.to_string(), env.to_string()),
    ]
}

fn bucket(env: &Environment, s3: &S3Storage) -> Result<DesiredBucket> {
    let lifecycle = render_json("lifecycle-policy.json.tera", &Lifecycle::new(env, s3))?;
    let lifecycle_rule = lifecycle
        .get("Rules")
        .and_then(|rules| rules.get(0))
        .cloned()
        .ok_or_else(|| template_shape("lifecycle-policy.json.tera", "no Rules[0]"))?;
    let iam = match &s3.iam {
        Some(iam) => Some(iam_state(env, s3, iam)?),
        None => None,
    };
    Ok(DesiredBucket {
        name: s3.bucket.clone(),
        region: s3.region.clone(),
        location_constraint: (s3.region != "us-east-1").then(|| s3.region.clone()),
        tags: ownership_tags(&env.name),
        versioning: s3.versioning,
        lifecycle_rule,
        public_access_block: public_access_block(),
        tls_statement: tls_statement(&s3.region, &s3.bucket),
        app: app_state(env, s3)?,
        tls_skipped: tls_skipped(s3),
        encryption_skipped: s3
            .provider
            .capabilities()
            .default_encryption
            .map(|why| format!("not planned: {why}")),
        iam,
        inventory: super::inventory::desired(s3),
    })
}

fn iam_state(env: &Environment, s3: &S3Storage, iam: &Iam) -> Result<DesiredIam> {
    Ok(DesiredIam {
        policy_name: iam.policy.clone(),
        policy_document: render_json("iam-policy.json.tera", &IamPolicy::new(s3))?,
        role_name: iam.role.clone(),
        trust_policy: render_json("trust-policy.json.tera", &TrustPolicy::new(iam))?,
        instance_profile: iam.instance_profile.clone(),
        tags: ownership_tags(&env.name),
    })
}

fn app_state(env: &Environment, s3: &S3Storage) -> Result<Option<DesiredApp>> {
    let Some(app) = &s3.app_user else {
        return Ok(None);
    };
    let kind = s3.provider.capabilities().app_identity;
    let policy = match kind {
        AppIdentity::GarageKey => {
            json!({"bucket": s3.bucket, "read": true, "write": true, "owner": false})
        }
        _ => render_json("iam-policy.json.tera", &IamPolicy::new(s3))?,
    };
    Ok(Some(DesiredApp {
        kind,
        user: app.user.clone(),
        policy_name: app.policy.clone(),
        policy,
        tags: ownership_tags(&env.name),
    }))
}

/// All four flags on (Security Hub S3.8).
pub(crate) fn public_access_block() -> Value {
    json!({
        "BlockPublicAcls": true,
        "IgnorePublicAcls": true,
        "BlockPublicPolicy": true,
        "RestrictPublicBuckets": true,
    })
}

/// Deny every S3 action over plain HTTP, on the bucket and its objects (S3.5).
pub(crate) fn tls_statement(region: &str, bucket: &str) -> Value {
    let arn = format!("arn:{}:s3:::{bucket}", partition(region));
    json!({
        "Sid": TLS_ONLY_SID,
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn.clone(), format!("{arn}/*")],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    })
}

/// A self-hosted store reached over plain http would deny every request,
/// the app's included, under a TLS-only statement: it is left out there.
/// (On AWS the endpoint is https; an http one is a test double.)
fn tls_skipped(s3: &S3Storage) -> Option<String> {
    let plain = s3
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"));
    (plain && s3.provider != Provider::Aws).then(|| {
        "not applied: the endpoint is plain http, where a TLS-only statement would deny every request".to_string()
    })
}

/// Renders an embedded template and parses it as JSON.
fn render_json<C: Serialize>(template: &str, context: &C) -> Result<Value> {
    let text = TEMPLATES
        .iter()
        .find(|(name, _)| *name == template)
        .map(|(_, text)| *text)
        .ok_or_else(|| template_shape(template, "not embedded"))?;
    let ctx = tera::Context::from_serialize(context)
        .map_err(|e| template_shape(template, &e.to_string()))?;
    let rendered = tera::Tera::one_off(text, &ctx, false)
        .map_err(|e| template_shape(template, &e.to_string()))?;
    serde_json::from_str(&rendered).map_err(|e| template_shape(template, &e.to_string()))
}

fn template_shape(name: &str, message: &str) -> Error {
    Error::Template {
        name: name.to_string(),
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::spec::Spec;

    const SPEC: &str = "project: p\nenvironments:\n  prod:\n    storage: s3\n    provider: aws\n    region: eu-west-1\n    bucket: b-prod\n    prefix: prod/traces\n    retention_days: 150\n    versioning: true\n    noncurrent_days: 7\n    transitions:\n      - { days: 30, storage_class: STANDARD_IA }\n      - { days: 60, storage_class: GLACIER }\n    iam:\n      policy: P\n      role: R\n      instance_profile: I\n  ue:\n    storage: s3\n    provider: aws\n    region: us-east-1\n    bucket: b-ue\n    prefix: t\n    retention_days: 15\n";

    fn desired(name: &str) -> DesiredBucket {
        let spec = Spec::parse(SPEC, "t.yaml").expect("valid spec");
        let env = spec.environment(name).expect("env");
        match Desired::from_env(env).expect("desired").target {
            DesiredTarget::Bucket(b) => *b,
            DesiredTarget::Local { .. } | DesiredTarget::Database(_) => panic!("a bucket"),
        }
    }

    #[test]
    fn lifecycle_rule_is_the_rendered_template() {
        let b = desired("prod");
        assert_eq!(b.lifecycle_rule["ID"], "chronotrace-ops:prod:retention");
        assert_eq!(b.lifecycle_rule["Filter"]["Prefix"], "prod/traces/");
        assert_eq!(b.lifecycle_rule["Expiration"]["Days"], 150);
        assert_eq!(
            b.lifecycle_rule["NoncurrentVersionExpiration"]["NoncurrentDays"],
            7
        );
        assert_eq!(
            b.lifecycle_rule["Transitions"][1]["StorageClass"],
            "GLACIER"
        );
        assert_eq!(
            b.lifecycle_rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"],
            7
        );
        assert_eq!(b.location_constraint.as_deref(), Some("eu-west-1"));
        let iam = b.iam.expect("iam");
        assert_eq!(
            iam.trust_policy["Statement"][0]["Principal"]["Service"],
            "ec2.amazonaws.com"
        );
    }

    #[test]
    fn us_east_1_has_no_location_constraint() {
        let b = desired("ue");
        assert_eq!(b.location_constraint, None);
        assert!(b.iam.is_none());
        assert_eq!(b.tls_statement["Resource"][1], "arn:aws:s3:::b-ue/*");
    }

    #[test]
    fn tls_only_is_left_out_on_plain_http_self_hosted_stores() {
        let spec = "project: p\nenvironments:\n  m:\n    storage: s3\n    provider: minio\n    endpoint: http://127.0.0.1:9000\n    region: us-east-1\n    bucket: b-m\n    prefix: t\n    retention_days: 15\n  a:\n    storage: s3\n    provider: aws\n    endpoint: http://127.0.0.1:5000\n    region: us-east-1\n    bucket: b-a\n    prefix: t\n    retention_days: 15\n";
        let spec = Spec::parse(spec, "t.yaml").expect("valid spec");
        let skipped = |name: &str| match Desired::from_env(spec.environment(name).expect("env"))
            .expect("desired")
            .target
        {
            DesiredTarget::Bucket(b) => b.tls_skipped.is_some(),
            DesiredTarget::Local { .. } | DesiredTarget::Database(_) => panic!("a bucket"),
        };
        assert!(skipped("m"));
        assert!(!skipped("a"));
    }
}
