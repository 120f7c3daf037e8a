//! The desired state of one environment, derived from the validated spec
//! alone (pure): what `plan::diff` compares with the observed state. Each
//! store's plugin builds its own (`stores::*::plugin`; a bucket's from the
//! same templates as `render`, in `stores::s3::desired`); the shared
//! pieces of a bucket's (the ownership tags, the public access block, the
//! TLS-only statement) are here, beside the types.

use std::path::PathBuf;

use serde_json::{Value, json};

use super::{ENV_TAG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::spec::AppIdentity;
use crate::spec::ids::partition;

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

/// The tags the tool puts on what it creates for `env`.
pub(crate) fn ownership_tags(env: &str) -> Vec<(String, String)> {
    vec![
        (MANAGED_BY_KEY.to_string(), MANAGED_BY_VALUE.to_string()),
        (ENV_TAG_KEY.to_string(), env.to_string()),
    ]
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
