//! The IAM identity of an AWS environment: reading the managed policy, the
//! role, the attachment and the instance profile (telling the tool's own,
//! tagged ones from others'), and the retry that rides out IAM's eventual
//! consistency (`iam_write` makes the changes).

use std::future::Future;
use std::time::{Duration, Instant};

use backon::Retryable;

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde_json::Value;

use super::Clients;
use super::errors::api_error;
use crate::error::Result;
use crate::plan::desired::DesiredIam;
use crate::plan::observed::{Held, ObservedIam, ObservedPolicy};
use crate::plan::{ENV_TAG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::spec::ids::partition;
use crate::transport::retry;

/// How long a new IAM entity may stay invisible before we give up.
pub(super) const SETTLE: Duration = Duration::from_secs(30);

pub(super) type IamResult<T, E> = std::result::Result<T, SdkError<E, HttpResponse>>;

/// The ARN of the managed policy `name` in the caller's account.
pub async fn policy_arn(clients: &Clients, name: &str) -> Result<String> {
    let me = clients
        .sts
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| api_error(e, "sts:GetCallerIdentity", "the caller", &clients.target))?;
    let account = me.account().unwrap_or_default();
    Ok(format!(
        "arn:{}:iam::{account}:policy/{name}",
        partition(&clients.target.region)
    ))
}

pub(super) fn is_ours(tags: &[Tag], env: &str) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == k && t.value() == v);
    has(MANAGED_BY_KEY, MANAGED_BY_VALUE) && has(ENV_TAG_KEY, env)
}

/// `Ok(None)` for NoSuchEntity, the value otherwise.
pub(super) fn found<T, E>(
    result: IamResult<T, E>,
    action: &str,
    name: &str,
    clients: &Clients,
) -> Result<Option<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(v) => Ok(Some(v)),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(None),
        Err(e) => Err(api_error(e, action, name, &clients.target)),
    }
}

/// IAM returns documents URL-encoded.
pub(super) fn document(encoded: Option<&str>) -> Value {
    let text =
        percent_encoding::percent_decode_str(encoded.unwrap_or_default()).decode_utf8_lossy();
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// Reads the policy, role, attachment and profile of `want`.
pub async fn observe(
    clients: &Clients,
    want: &DesiredIam,
    arn: &str,
    env: &str,
) -> Result<ObservedIam> {
    let iam = &clients.iam;
    // GetPolicy, GetRole and GetInstanceProfile carry the tags (moto 5.2
    // fails ListInstanceProfileTags).
    let got = found(
        iam.get_policy().policy_arn(arn).send().await,
        "iam:GetPolicy",
        arn,
        clients,
    )?;
    let policy = match got.as_ref().and_then(|g| g.policy()) {
        None => Held::Absent,
        Some(p) if !is_ours(p.tags(), env) => Held::Foreign,
        Some(p) => {
            let version = p.default_version_id().unwrap_or("v1");
            let doc = iam
                .get_policy_version()
                .policy_arn(arn)
                .version_id(version)
                .send()
                .await
                .map_err(|e| api_error(e, "iam:GetPolicyVersion", arn, &clients.target))?;
            let document = document(doc.policy_version().and_then(|v| v.document()));
            Held::Ours(ObservedPolicy {
                arn: arn.to_string(),
                document,
            })
        }
    };
    let name = &want.role_name;
    let got = found(
        iam.get_role().role_name(name).send().await,
        "iam:GetRole",
        name,
        clients,
    )?;
    let role = match got.as_ref().and_then(|g| g.role()) {
        None => Held::Absent,
        Some(r) if !is_ours(r.tags(), env) => Held::Foreign,
        Some(r) => Held::Ours(document(r.assume_role_policy_document())),
    };
    let attached = match &role {
        Held::Absent => false,
        _ => attached(clients, name, arn).await?,
    };
    let profile = match &want.instance_profile {
        Some(name) => observe_profile(clients, name, env).await?,
        None => Held::Absent,
    };
    Ok(ObservedIam {
        policy,
        role,
        attached,
        profile,
    })
}

async fn attached(clients: &Clients, role: &str, arn: &str) -> Result<bool> {
    let out = clients
        .iam
        .list_attached_role_policies()
        .role_name(role)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:ListAttachedRolePolicies", role, &clients.target))?;
    Ok(out
        .attached_policies()
        .iter()
        .any(|p| p.policy_arn() == Some(arn)))
}

async fn observe_profile(clients: &Clients, name: &str, env: &str) -> Result<Held<Vec<String>>> {
    let got = clients
        .iam
        .get_instance_profile()
        .instance_profile_name(name)
        .send()
        .await;
    let got = found(got, "iam:GetInstanceProfile", name, clients)?;
    Ok(match got.as_ref().and_then(|g| g.instance_profile()) {
        None => Held::Absent,
        Some(p) if !is_ours(p.tags(), env) => Held::Foreign,
        Some(p) => Held::Ours(
            p.roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect(),
        ),
    })
}

/// Retries `op` while IAM answers one of the errors of a change that has
/// not propagated yet, with the pauses of `retry::settling`, until `SETTLE`
/// has passed since the first call.
pub(super) async fn settle<T, E, F, Fut>(op: F) -> IamResult<T, E>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = IamResult<T, E>>,
{
    let started = Instant::now();
    op.retry(retry::settling(SETTLE))
        .when(|e| propagating(e) && started.elapsed() < SETTLE)
        .await
}

/// The errors IAM gives for an entity created moments ago.
fn propagating<E: ProvideErrorMetadata>(err: &SdkError<E, HttpResponse>) -> bool {
    matches!(
        err.code(),
        Some(
            "NoSuchEntity"
                | "ConcurrentModification"
                | "InvalidParameterValue"
                | "MalformedPolicyDocument"
        )
    )
}
