//! Reading a bucket's state for `plan`: existence and region, whose it is
//! (tags, or a marker object where the store has no bucket tagging), and
//! every setting the tool manages, each as `Seen` (absent, present, or
//! unsupported by the server).

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde_json::{Map, Value, json};

use super::Clients;
use super::applied::{seen, status};
use super::errors::api_error;
use crate::error::{Error, Result};
use crate::plan::desired::{DesiredBucket, TLS_ONLY_SID};
use crate::plan::merge::statement_with_sid;
use crate::plan::observed::{Held, ObservedBucket, OwnerMark, Seen};
use crate::plan::{ENV_TAG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::spec::Provider;
use crate::spec::ids::lifecycle_rule_id;

/// The marker object that records ownership on stores without bucket tagging.
pub const MARKER_KEY: &str = ".chronotrace-ops/managed-by.json";

/// The marker's content for `env`.
pub fn marker_body(env: &str) -> String {
    json!({MANAGED_BY_KEY: MANAGED_BY_VALUE, "env": env}).to_string()
}

/// Reads everything the tool manages on the bucket of `want`.
pub async fn observe(clients: &Clients, want: &DesiredBucket, env: &str) -> Result<ObservedBucket> {
    if !exists(clients, want).await? {
        return Ok(ObservedBucket::absent());
    }
    let s3 = &clients.s3;
    let b = want.name.as_str();
    let (owner, versioning, lifecycle, pab, ownership, encryption, policy) = futures::join!(
        owner(clients, b, env),
        super::versioning::get(s3, b),
        s3.get_bucket_lifecycle_configuration().bucket(b).send(),
        s3.get_public_access_block().bucket(b).send(),
        s3.get_bucket_ownership_controls().bucket(b).send(),
        s3.get_bucket_encryption().bucket(b).send(),
        s3.get_bucket_policy().bucket(b).send(),
    );
    let rule_id = lifecycle_rule_id(env);
    // Only when the spec asks for one: other specs send no extra request.
    let inventory = match want.inventory.as_ref().and_then(|w| w["Id"].as_str()) {
        Some(id) => super::inventory::config::read(clients, b, id).await?,
        None => Seen::Absent,
    };
    let read = |action: &'static str| (action, clients, b);
    let lifecycle = seen_at(
        lifecycle,
        &["NoSuchLifecycleConfiguration"],
        read("GetBucketLifecycleConfiguration"),
    )?;
    let rules = match &lifecycle {
        Seen::Present(out) => out.rules(),
        _ => &[],
    };
    let peers = rules
        .iter()
        .filter_map(|r| peer_env(r.id()?, env))
        .collect();
    Ok(ObservedBucket {
        bucket: owner?,
        versioning: versioning_status(seen_at(versioning, &[], read("GetBucketVersioning"))?),
        lifecycle_rule: lifecycle
            .as_ref()
            .map(|out| {
                out.rules()
                    .iter()
                    .find(|r| r.id() == Some(rule_id.as_str()))
                    .map(rule_json)
            })
            .flatten_option(),
        peers,
        public_access_block: seen_at(
            pab,
            &["NoSuchPublicAccessBlockConfiguration"],
            read("GetPublicAccessBlock"),
        )?
        .map(|out| out.public_access_block_configuration().map(pab_json))
        .flatten_option(),
        ownership: seen_at(
            ownership,
            &["OwnershipControlsNotFoundError"],
            read("GetBucketOwnershipControls"),
        )?
        .map(|out| {
            let rule = out.ownership_controls().and_then(|c| c.rules().first());
            rule.map(|r| r.object_ownership().as_str().to_string())
        })
        .flatten_option(),
        encryption: seen_at(
            encryption,
            &["ServerSideEncryptionConfigurationNotFoundError"],
            read("GetBucketEncryption"),
        )?
        .map(|out| {
            let rule = out
                .server_side_encryption_configuration()
                .and_then(|c| c.rules().first());
            let default = rule.and_then(|r| r.apply_server_side_encryption_by_default());
            default.map(|d| d.sse_algorithm().as_str().to_string())
        })
        .flatten_option(),
        tls_statement: seen_at(policy, &["NoSuchBucketPolicy"], read("GetBucketPolicy"))?
            .map(|out| {
                let doc = out
                    .policy()
                    .and_then(|p| serde_json::from_str::<Value>(p).ok());
                doc.and_then(|p| statement_with_sid(&p, TLS_ONLY_SID))
            })
            .flatten_option(),
        inventory,
    })
}

/// The environment of another chronotrace-ops rule (`chronotrace-ops:<env>:retention`).
fn peer_env(id: &str, env: &str) -> Option<String> {
    let other = id
        .strip_prefix("chronotrace-ops:")?
        .strip_suffix(":retention")?;
    (other != env).then(|| other.to_string())
}

/// `seen` with the action, clients and bucket bundled.
fn seen_at<T, E>(
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    absent: &[&str],
    (action, clients, bucket): (&str, &Clients, &str),
) -> Result<Seen<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    seen(result, absent, action, clients, bucket)
}

/// `Enabled` or `Suspended`; a bucket never versioned answers without a status.
fn versioning_status(
    seen: Seen<aws_sdk_s3::operation::get_bucket_versioning::GetBucketVersioningOutput>,
) -> Seen<String> {
    match seen {
        Seen::Present(out) => out
            .status()
            .map_or(Seen::Absent, |s| Seen::Present(s.as_str().to_string())),
        Seen::Absent => Seen::Absent,
        Seen::Unsupported(reason) => Seen::Unsupported(reason),
    }
}

impl<T> Seen<Option<T>> {
    /// `Present(None)` is `Absent`.
    pub(crate) fn flatten_option(self) -> Seen<T> {
        match self {
            Seen::Present(Some(v)) => Seen::Present(v),
            Seen::Present(None) | Seen::Absent => Seen::Absent,
            Seen::Unsupported(r) => Seen::Unsupported(r),
        }
    }
}

/// HeadBucket: true when it exists and is reachable with these credentials.
async fn exists(clients: &Clients, want: &DesiredBucket) -> Result<bool> {
    let target = &clients.target;
    match clients.s3.head_bucket().bucket(&want.name).send().await {
        Ok(out) => {
            let region = out.bucket_region().unwrap_or(&target.region);
            if target.provider == Provider::Aws && region != target.region {
                return Err(region_mismatch(&want.name, region, &target.region));
            }
            Ok(true)
        }
        Err(e) => match status(&e) {
            Some(404) => Ok(false),
            Some(301) => {
                let region = e
                    .raw_response()
                    .and_then(|r| r.headers().get("x-amz-bucket-region"))
                    .unwrap_or("another region")
                    .to_string();
                Err(region_mismatch(&want.name, &region, &target.region))
            }
            Some(403) => Err(forbidden(clients, &want.name).await),
            Some(400) => Err(bad_request(clients, &want.name, e).await),
            _ => Err(api_error(e, "HeadBucket", &want.name, target)),
        },
    }
}

/// HeadBucket answers 400 without a body: a call that has one says why
/// (Garage: a signing region other than its own, i.e. a region mismatch).
async fn bad_request(
    clients: &Clients,
    bucket: &str,
    head: SdkError<aws_sdk_s3::operation::head_bucket::HeadBucketError, HttpResponse>,
) -> Error {
    match clients.s3.list_buckets().max_buckets(1).send().await {
        Err(e) if e.code().is_some() => api_error(e, "ListBuckets", bucket, &clients.target),
        _ => api_error(head, "HeadBucket", bucket, &clients.target),
    }
}

/// HeadBucket answers 403 without a body: a second call that has one tells
/// wrong credentials from a bucket that belongs to someone else.
async fn forbidden(clients: &Clients, bucket: &str) -> Error {
    let probe = clients.s3.get_bucket_location().bucket(bucket).send().await;
    // Garage says AccessDenied for bad keys too, with the cause in the message.
    let said = probe
        .as_ref()
        .err()
        .and_then(|e| e.message())
        .unwrap_or_default()
        .to_lowercase();
    let endpoint = clients.target.endpoint_label();
    let hint = super::credentials_hint(clients.target.provider);
    if said.contains("signature") {
        return Error::cloud_with_hint(
            format!("{endpoint} rejected the credentials' signature: wrong secret key?"),
            hint,
        );
    }
    if said.contains("no such key") || said.contains("access key") {
        return Error::cloud_with_hint(format!("the access key is not known to {endpoint}"), hint);
    }
    match probe {
        Err(e) if !matches!(e.code(), Some("AccessDenied") | None) => {
            api_error(e, "GetBucketLocation", bucket, &clients.target)
        }
        _ => Error::cloud_with_hint(
            format!(
                "bucket {bucket}: access denied: the name exists but these credentials may not use it (taken by another account?)"
            ),
            "choose another bucket name in the spec, or use credentials of the bucket's owner (s3:ListBucket on it)",
        ),
    }
}

fn region_mismatch(bucket: &str, actual: &str, configured: &str) -> Error {
    Error::cloud_with_hint(
        format!("bucket {bucket} is in region {actual}, not {configured}: region mismatch"),
        format!("set the environment's region to {actual} in the spec (or pass --region {actual})"),
    )
}

/// Whose bucket it is: the tool's tags for this env, else the marker object
/// on stores without bucket tagging, else someone else's.
async fn owner(clients: &Clients, bucket: &str, env: &str) -> Result<Held<OwnerMark>> {
    let tags = clients.s3.get_bucket_tagging().bucket(bucket).send().await;
    match seen(tags, &["NoSuchTagSet"], "GetBucketTagging", clients, bucket)? {
        Seen::Present(out) => {
            let has =
                |k: &str, v: &str| out.tag_set().iter().any(|t| t.key() == k && t.value() == v);
            Ok(
                if has(MANAGED_BY_KEY, MANAGED_BY_VALUE) && has(ENV_TAG_KEY, env) {
                    Held::Ours(OwnerMark::Tags)
                } else {
                    Held::Foreign
                },
            )
        }
        Seen::Absent => Ok(Held::Foreign),
        Seen::Unsupported(_) => marker_owner(clients, bucket, env).await,
    }
}

async fn marker_owner(clients: &Clients, bucket: &str, env: &str) -> Result<Held<OwnerMark>> {
    let got = clients
        .s3
        .get_object()
        .bucket(bucket)
        .key(MARKER_KEY)
        .send()
        .await;
    let out = match got {
        Ok(out) => out,
        Err(e) if e.code() == Some("NoSuchKey") || status(&e) == Some(404) => {
            return Ok(Held::Foreign);
        }
        Err(e) => {
            return Err(api_error(
                e,
                "GetObject",
                &format!("{bucket}/{MARKER_KEY}"),
                &clients.target,
            ));
        }
    };
    let body = out
        .body
        .collect()
        .await
        .map(|b| b.into_bytes())
        .unwrap_or_default();
    let marker: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let ours = marker.get(MANAGED_BY_KEY).and_then(Value::as_str) == Some(MANAGED_BY_VALUE)
        && marker.get("env").and_then(Value::as_str) == Some(env);
    Ok(if ours {
        Held::Ours(OwnerMark::MarkerObject)
    } else {
        Held::Foreign
    })
}

fn pab_json(c: &aws_sdk_s3::types::PublicAccessBlockConfiguration) -> Value {
    json!({
        "BlockPublicAcls": c.block_public_acls().unwrap_or(false),
        "IgnorePublicAcls": c.ignore_public_acls().unwrap_or(false),
        "BlockPublicPolicy": c.block_public_policy().unwrap_or(false),
        "RestrictPublicBuckets": c.restrict_public_buckets().unwrap_or(false),
    })
}

/// A lifecycle rule in the JSON shape of `lifecycle-policy.json.tera`.
// Rules written by older tools carry the deprecated top-level Prefix: shown as is.
#[allow(deprecated)]
pub fn rule_json(rule: &aws_sdk_s3::types::LifecycleRule) -> Value {
    let mut m = Map::new();
    m.insert("ID".into(), json!(rule.id()));
    m.insert("Status".into(), json!(rule.status().as_str()));
    match (rule.filter(), rule.prefix()) {
        (Some(f), _) if f.prefix().is_some() => {
            m.insert("Filter".into(), json!({"Prefix": f.prefix()}))
        }
        // Another filter shape than the tool writes: shown, never equal.
        (Some(f), _) => m.insert("Filter".into(), json!(format!("{f:?}"))),
        (None, Some(p)) => m.insert("Prefix".into(), json!(p)),
        (None, None) => None,
    };
    if !rule.transitions().is_empty() {
        let t: Vec<Value> = rule
            .transitions()
            .iter()
            .map(|t| json!({"Days": t.days(), "StorageClass": t.storage_class().map(|c| c.as_str())}))
            .collect();
        m.insert("Transitions".into(), Value::Array(t));
    }
    if let Some(e) = rule.expiration() {
        let mut exp = Map::new();
        if let Some(d) = e.days() {
            exp.insert("Days".into(), json!(d));
        }
        if let Some(d) = e.date() {
            exp.insert("Date".into(), json!(d.to_string()));
        }
        if e.expired_object_delete_marker() == Some(true) {
            exp.insert("ExpiredObjectDeleteMarker".into(), json!(true));
        }
        m.insert("Expiration".into(), Value::Object(exp));
    }
    if let Some(n) = rule.noncurrent_version_expiration() {
        m.insert(
            "NoncurrentVersionExpiration".into(),
            json!({"NoncurrentDays": n.noncurrent_days()}),
        );
    }
    if let Some(a) = rule.abort_incomplete_multipart_upload() {
        m.insert(
            "AbortIncompleteMultipartUpload".into(),
            json!({"DaysAfterInitiation": a.days_after_initiation()}),
        );
    }
    Value::Object(m)
}
