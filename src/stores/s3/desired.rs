//! What a bucket should look like (`plan`'s desired state of an S3
//! environment), from the validated spec alone: the lifecycle rule and the
//! IAM documents are rendered from the same templates as `render`
//! (`files`), so what `apply` writes is byte for byte what a reviewer read
//! in `lifecycle-policy.<env>.json` and friends.

use serde::Serialize;
use serde_json::{Value, json};

use super::files::{IamPolicy, Lifecycle, TrustPolicy};
use crate::error::{Error, Result};
use crate::plan::desired::{
    Desired, DesiredApp, DesiredBucket, DesiredIam, DesiredTarget, ownership_tags,
    public_access_block, tls_statement,
};
use crate::render::TEMPLATES;
use crate::spec::{AppIdentity, Environment, Iam, Provider, S3Storage};

/// The desired state of S3 environment `env`, whose bucket is `s3`.
pub(crate) fn desired(env: &Environment, s3: &S3Storage) -> Result<Desired> {
    Ok(Desired {
        env: env.name.clone(),
        target: DesiredTarget::Bucket(Box::new(bucket(env, s3)?)),
    })
}

/// The bucket of `env` and everything the tool sets on it.
pub(crate) fn bucket(env: &Environment, s3: &S3Storage) -> Result<DesiredBucket> {
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
        inventory: crate::plan::inventory::desired(s3),
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
    use crate::spec::{Spec, Storage};

    /// `env`'s desired state, as the S3 plugin builds it.
    fn from_env(env: &Environment) -> Result<Desired> {
        match &env.storage {
            Storage::S3(s3) => super::desired(env, s3),
            _ => panic!("an s3 environment"),
        }
    }

    const SPEC: &str = "project: p\nenvironments:\n  prod:\n    storage: s3\n    provider: aws\n    region: eu-west-1\n    bucket: b-prod\n    prefix: prod/traces\n    retention_days: 150\n    versioning: true\n    noncurrent_days: 7\n    transitions:\n      - { days: 30, storage_class: STANDARD_IA }\n      - { days: 60, storage_class: GLACIER }\n    iam:\n      policy: P\n      role: R\n      instance_profile: I\n  ue:\n    storage: s3\n    provider: aws\n    region: us-east-1\n    bucket: b-ue\n    prefix: t\n    retention_days: 15\n";

    fn desired(name: &str) -> DesiredBucket {
        let spec = Spec::parse(SPEC, "t.yaml").expect("valid spec");
        let env = spec.environment(name).expect("env");
        match from_env(env).expect("desired").target {
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
        let skipped = |name: &str| match from_env(spec.environment(name).expect("env"))
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
