//! Changing the IAM identity: the managed policy (a change is a new default
//! version, old ones pruned before the limit of five), the role and its
//! trust policy, the attachment, the instance profile. IAM is eventually
//! consistent: a new role or profile can be invisible for seconds, so the
//! known errors are retried with a deadline (`iam::settle`) and creations
//! are confirmed with a harmless read; there is no fixed sleep.

use aws_sdk_iam::error::ProvideErrorMetadata;
use aws_sdk_iam::types::Tag;
use backon::BackoffBuilder;

use super::Clients;
use super::applied::Applied;
use super::errors::api_error;
use super::iam::{SETTLE, settle};
use crate::error::{Error, Result};
use crate::plan::desired::DesiredIam;
use crate::transport::retry;

/// IAM keeps at most five versions of a managed policy.
const MAX_POLICY_VERSIONS: usize = 5;

fn iam_tags(want: &DesiredIam) -> Result<Vec<Tag>> {
    want.tags
        .iter()
        .map(|(k, v)| Tag::builder().key(k).value(v).build())
        .collect::<std::result::Result<_, _>>()
        .map_err(|e| Error::cloud(format!("building IAM tags: {e}")))
}

/// Creates the managed policy, tagged as the tool's.
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

/// Creates the role with its trust policy, tagged, and waits until a read sees it.
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

/// Replaces the role's trust policy.
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

/// Attaches the policy to the role, riding out a role not yet visible.
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

/// Detaches the policy from the role; already detached is fine.
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
        remove_role(clients, name, other).await?;
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
    // A harmless read until the profile shows the role (or the pauses of
    // `retry::settling` run out).
    let mut pauses = retry::settling(SETTLE).build();
    while !profile_roles(clients, name)
        .await?
        .contains(&want.role_name)
    {
        let Some(pause) = pauses.next() else {
            return Err(Error::cloud(format!(
                "instance profile {name} does not show role {} after {}s",
                want.role_name,
                SETTLE.as_secs()
            )));
        };
        tokio::time::sleep(pause).await;
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

/// Empties the instance profile of its roles, then deletes it.
pub async fn delete_profile(clients: &Clients, name: &str) -> Result<Applied> {
    for role in profile_roles(clients, name).await? {
        remove_role(clients, name, &role).await?;
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

/// Deletes the role (its policy is detached first by the plan's order).
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

async fn remove_role(clients: &Clients, profile: &str, role: &str) -> Result<()> {
    clients
        .iam
        .remove_role_from_instance_profile()
        .instance_profile_name(profile)
        .role_name(role)
        .send()
        .await
        .map_err(|e| {
            api_error(
                e,
                "iam:RemoveRoleFromInstanceProfile",
                profile,
                &clients.target,
            )
        })?;
    Ok(())
}
