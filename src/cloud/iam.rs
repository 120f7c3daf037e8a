//! The IAM identity of an AWS environment: reading the managed policy, the
//! role, the attachment and the instance profile (telling the tool's own,
//! tagged ones from others'), and changing them. IAM is eventually
//! consistent: a new role or profile can be invisible for seconds, so the
//! known errors are retried with a deadline and creations are confirmed
//! with a harmless read; there is no fixed sleep.

use std::future::Future;
use std::time::{Duration, Instant};

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::Tag;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use serde_json::Value;

use super::Clients;
use super::errors::api_error;
use super::provision::Applied;
use crate::error::{Error, Result};
use crate::plan::desired::DesiredIam;
use crate::plan::observed::{Held, ObservedIam, ObservedPolicy};
use crate::plan::{ENV_TAG_KEY, MANAGED_BY_KEY, MANAGED_BY_VALUE};
use crate::render::context::partition;

/// How long a new IAM entity may stay invisible before we give up.
const SETTLE: Duration = Duration::from_secs(30);
/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

type IamResult<T, E> = std::result::Result<T, SdkError<E, HttpResponse>>;

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

fn is_ours(tags: &[Tag], env: &str) -> bool {
    let has = |k: &str, v: &str| tags.iter().any(|t| t.key() == k && t.value() == v);
    has(MANAGED_BY_KEY, MANAGED_BY_VALUE) && has(ENV_TAG_KEY, env)
}

fn iam_tags(want: &DesiredIam) -> Result<Vec<Tag>> {
    want.tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::cloud(format!("building IAM tags: {e}")))
}

/// `Ok(None)` for NoSuchEntity, the value otherwise.
fn found<T, E>(
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
fn document(encoded: Option<&str>) -> Value {
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
/// not propagated yet, with growing pauses, until `SETTLE` has passed.
async fn settle<T, E, F, Fut>(mut op: F) -> IamResult<T, E>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: Future<Output = IamResult<T, E>>,
{
    let deadline = Instant::now() + SETTLE;
    let mut pause = Duration::from_millis(200);
    loop {
        match op().await {
            Err(e) if propagating(&e) && Instant::now() + pause < deadline => {
                tokio::time::sleep(pause).await;
                pause = (pause * 2).min(Duration::from_secs(3));
            }
            other => return other,
        }
    }
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

pub async fn create_policy(clients: &Clients, want: &DesiredIam) -> Result<Applied> {
    clients
        .iam
        .create_policy()
        .policy_name(&want.policy_name)
        .policy_document(want.policy_document.to_string())
        .description(
            "ChronoTrace traces: least privilege on the environment's prefix (chronotrace-ops)",
        )
        .set_tags(Some(iam_tags(want)?))
        .send()
        .await
        .map_err(|e| api_error(e, "iam:CreatePolicy", &want.policy_name, &clients.target))?;
    Ok(Applied::Done)
}

/// A new default version; the oldest non-default versions are pruned first
/// so the limit of five is never hit.
pub async fn update_policy(clients: &Clients, want: &DesiredIam, arn: &str) -> Result<Applied> {
    let listed = clients
        .iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:ListPolicyVersions", arn, &clients.target))?;
    let mut old: Vec<_> = listed
        .versions()
        .iter()
        .filter(|v| !v.is_default_version())
        .collect();
    old.sort_by_key(|v| v.create_date().map(|d| d.secs()));
    let excess = (listed.versions().len() + 1).saturating_sub(MAX_POLICY_VERSIONS);
    for version in old.iter().take(excess) {
        let id = version.version_id().unwrap_or_default();
        clients
            .iam
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(id)
            .send()
            .await
            .map_err(|e| api_error(e, "iam:DeletePolicyVersion", arn, &clients.target))?;
    }
    clients
        .iam
        .create_policy_version()
        .policy_arn(arn)
        .policy_document(want.policy_document.to_string())
        .set_as_default(true)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:CreatePolicyVersion", arn, &clients.target))?;
    Ok(Applied::Done)
}

pub async fn create_role(clients: &Clients, want: &DesiredIam) -> Result<Applied> {
    let name = &want.role_name;
    let trust = want.trust_policy.to_string();
    let tags = iam_tags(want)?;
    settle(|| {
        clients
            .iam
            .create_role()
            .role_name(name)
            .assume_role_policy_document(&trust)
            .set_tags(Some(tags.clone()))
            .send()
    })
    .await
    .map_err(|e| api_error(e, "iam:CreateRole", name, &clients.target))?;
    // Confirm with a read before anything refers to the new role.
    settle(|| clients.iam.get_role().role_name(name).send())
        .await
        .map_err(|e| api_error(e, "iam:GetRole", name, &clients.target))?;
    Ok(Applied::Done)
}

pub async fn update_role(clients: &Clients, want: &DesiredIam) -> Result<Applied> {
    clients
        .iam
        .update_assume_role_policy()
        .role_name(&want.role_name)
        .policy_document(want.trust_policy.to_string())
        .send()
        .await
        .map_err(|e| {
            api_error(
                e,
                "iam:UpdateAssumeRolePolicy",
                &want.role_name,
                &clients.target,
            )
        })?;
    Ok(Applied::Done)
}

pub async fn attach(clients: &Clients, role: &str, arn: &str) -> Result<Applied> {
    settle(|| {
        clients
            .iam
            .attach_role_policy()
            .role_name(role)
            .policy_arn(arn)
            .send()
    })
    .await
    .map_err(|e| api_error(e, "iam:AttachRolePolicy", role, &clients.target))?;
    Ok(Applied::Done)
}

pub async fn detach(clients: &Clients, role: &str, arn: &str) -> Result<Applied> {
    match clients
        .iam
        .detach_role_policy()
        .role_name(role)
        .policy_arn(arn)
        .send()
        .await
    {
        Ok(_) => Ok(Applied::Done),
        Err(e) if e.code() == Some("NoSuchEntity") => Ok(Applied::Done),
        Err(e) => Err(api_error(e, "iam:DetachRolePolicy", role, &clients.target)),
    }
}

/// Creates the profile if needed and makes `role` its one role, confirmed by a read.
pub async fn put_profile(
    clients: &Clients,
    want: &DesiredIam,
    name: &str,
    create: bool,
) -> Result<Applied> {
    let iam = &clients.iam;
    if create {
        iam.create_instance_profile()
            .instance_profile_name(name)
            .set_tags(Some(iam_tags(want)?))
            .send()
            .await
            .map_err(|e| api_error(e, "iam:CreateInstanceProfile", name, &clients.target))?;
    }
    let roles = profile_roles(clients, name).await?;
    for other in roles.iter().filter(|r| **r != want.role_name) {
        iam.remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(other)
            .send()
            .await
            .map_err(|e| {
                api_error(
                    e,
                    "iam:RemoveRoleFromInstanceProfile",
                    name,
                    &clients.target,
                )
            })?;
    }
    if !roles.contains(&want.role_name) {
        settle(|| {
            iam.add_role_to_instance_profile()
                .instance_profile_name(name)
                .role_name(&want.role_name)
                .send()
        })
        .await
        .map_err(|e| api_error(e, "iam:AddRoleToInstanceProfile", name, &clients.target))?;
    }
    // A harmless read until the profile shows the role (or the deadline passes).
    let deadline = Instant::now() + SETTLE;
    let mut pause = Duration::from_millis(200);
    while !profile_roles(clients, name)
        .await?
        .contains(&want.role_name)
    {
        if Instant::now() + pause >= deadline {
            return Err(Error::cloud(format!(
                "instance profile {name} does not show role {} after {}s",
                want.role_name,
                SETTLE.as_secs()
            )));
        }
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(3));
    }
    Ok(Applied::Done)
}

async fn profile_roles(clients: &Clients, name: &str) -> Result<Vec<String>> {
    let out = settle(|| {
        clients
            .iam
            .get_instance_profile()
            .instance_profile_name(name)
            .send()
    })
    .await
    .map_err(|e| api_error(e, "iam:GetInstanceProfile", name, &clients.target))?;
    Ok(out
        .instance_profile()
        .map(|p| {
            p.roles()
                .iter()
                .map(|r| r.role_name().to_string())
                .collect()
        })
        .unwrap_or_default())
}

pub async fn delete_profile(clients: &Clients, name: &str) -> Result<Applied> {
    for role in profile_roles(clients, name).await? {
        clients
            .iam
            .remove_role_from_instance_profile()
            .instance_profile_name(name)
            .role_name(&role)
            .send()
            .await
            .map_err(|e| {
                api_error(
                    e,
                    "iam:RemoveRoleFromInstanceProfile",
                    name,
                    &clients.target,
                )
            })?;
    }
    clients
        .iam
        .delete_instance_profile()
        .instance_profile_name(name)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:DeleteInstanceProfile", name, &clients.target))?;
    Ok(Applied::Done)
}

pub async fn delete_role(clients: &Clients, name: &str) -> Result<Applied> {
    clients
        .iam
        .delete_role()
        .role_name(name)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:DeleteRole", name, &clients.target))?;
    Ok(Applied::Done)
}

/// Deletes the non-default versions, then the policy.
pub async fn delete_policy(clients: &Clients, arn: &str) -> Result<Applied> {
    let listed = clients
        .iam
        .list_policy_versions()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:ListPolicyVersions", arn, &clients.target))?;
    for version in listed.versions().iter().filter(|v| !v.is_default_version()) {
        clients
            .iam
            .delete_policy_version()
            .policy_arn(arn)
            .version_id(version.version_id().unwrap_or_default())
            .send()
            .await
            .map_err(|e| api_error(e, "iam:DeletePolicyVersion", arn, &clients.target))?;
    }
    clients
        .iam
        .delete_policy()
        .policy_arn(arn)
        .send()
        .await
        .map_err(|e| api_error(e, "iam:DeletePolicy", arn, &clients.target))?;
    Ok(Applied::Done)
}
