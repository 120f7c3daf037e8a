//! The pure heart of provisioning: desired × observed → `Plan` (for `plan`
//! and `apply`), and observed → the removal plan of `destroy`. Table-tested
//! below without a server.

use serde_json::{Map, Value, json};

use super::desired::{
    Desired, DesiredBucket, DesiredIam, DesiredTarget, ENCRYPTION, LOCAL_DIR_MODE, OWNERSHIP,
};
use super::observed::{Held, Observed, ObservedBucket, ObservedDir, ObservedIam, Seen};
use super::{Action, Change, FOREIGN, Plan, Resource, differing};

/// What `apply` must do to turn `observed` into `desired`.
pub(crate) fn diff(desired: &Desired, observed: &Observed) -> Plan {
    let changes = match (&desired.target, observed) {
        (DesiredTarget::Local { traces_dir }, Observed::Local(dir)) => {
            vec![local_dir(traces_dir, *dir)]
        }
        (DesiredTarget::Database(want), Observed::Database(seen)) => {
            super::database::changes(want, seen)
        }
        (DesiredTarget::Bucket(want), Observed::Bucket { bucket, iam, app }) => {
            let mut changes = bucket_changes(want, bucket);
            if let (Some(want), Some(seen)) = (&want.iam, iam) {
                changes.extend(iam_changes(want, seen));
            }
            if let (Some(want), Some(seen)) = (&want.app, app) {
                changes.extend(super::app::changes(want, seen));
            }
            changes
        }
        // The adapters observe what the desired state names: a mismatch is a bug.
        _ => vec![Change::noted(
            Resource::Bucket,
            "observed state does not match the spec's storage",
        )],
    };
    Plan {
        env: desired.env.clone(),
        changes,
    }
}

fn local_dir(path: &std::path::Path, dir: ObservedDir) -> Change {
    let after = json!({"path": path.display().to_string(), "mode": format!("{LOCAL_DIR_MODE:o}")});
    match dir {
        ObservedDir::Absent => Change::new(Resource::LocalDir, Action::Create).with_after(after),
        ObservedDir::Present { mode } => Change::new(Resource::LocalDir, Action::None)
            .with_before(json!({"path": path.display().to_string(), "mode": format!("{mode:o}")})),
        ObservedDir::NotADirectory => Change::noted(
            Resource::LocalDir,
            format!("{} exists and is not a directory", path.display()),
        ),
    }
}

fn bucket_changes(want: &DesiredBucket, seen: &ObservedBucket) -> Vec<Change> {
    let (bucket, ours) = bucket_itself(want, &seen.bucket);
    // Settings of a bucket others own are theirs to choose; the lifecycle
    // rule and the policy statement are merged by ID and shared.
    let owned = |change: Change| {
        if ours || !change.pending() {
            change
        } else {
            Change::noted(
                change.resource,
                "not changed: the bucket was not created by chronotrace-ops",
            )
        }
    };
    let mut changes = vec![bucket];
    if want.versioning {
        let seen = seen.versioning.as_ref().map(|s| json!({"Status": s}));
        changes.push(owned(setting(
            Resource::Versioning,
            json!({"Status": "Enabled"}),
            &seen,
        )));
    }
    changes.push(setting(
        Resource::Lifecycle,
        want.lifecycle_rule.clone(),
        &seen.lifecycle_rule,
    ));
    let pab = setting(
        Resource::PublicAccessBlock,
        want.public_access_block.clone(),
        &seen.public_access_block,
    );
    changes.push(owned(pab));
    let ownership = seen
        .ownership
        .as_ref()
        .map(|o| json!({"ObjectOwnership": o}));
    changes.push(owned(setting(
        Resource::OwnershipControls,
        json!({"ObjectOwnership": OWNERSHIP}),
        &ownership,
    )));
    changes.push(match &want.encryption_skipped {
        Some(reason) => Change::noted(Resource::Encryption, reason.clone()),
        None => owned(encryption(&seen.encryption)),
    });
    if let Some(inventory) = &want.inventory {
        changes.push(super::inventory::change(inventory, &seen.inventory));
    }
    changes.push(match &want.tls_skipped {
        Some(reason) => Change::noted(Resource::Policy, reason.clone()),
        None => setting(
            Resource::Policy,
            want.tls_statement.clone(),
            &seen.tls_statement,
        ),
    });
    changes
}

/// The bucket's own change, and whether its settings are the tool's to set.
fn bucket_itself(want: &DesiredBucket, held: &Held<super::observed::OwnerMark>) -> (Change, bool) {
    match held {
        Held::Absent => {
            let tags: Map<String, Value> = want
                .tags
                .iter()
                .map(|(k, v)| (k.clone(), Value::String(v.clone())))
                .collect();
            let after = json!({"name": want.name, "region": want.region, "tags": tags});
            (
                Change::new(Resource::Bucket, Action::Create).with_after(after),
                true,
            )
        }
        Held::Foreign => {
            let note = format!(
                "{} {FOREIGN}; only the tool's lifecycle rule and policy statement are merged in",
                want.name
            );
            (Change::noted(Resource::Bucket, note), false)
        }
        Held::Ours(_) => (Change::new(Resource::Bucket, Action::None), true),
    }
}

/// SSE-KMS already in place is stronger than SSE-S3: kept, never downgraded.
fn encryption(seen: &Seen<String>) -> Change {
    if let Seen::Present(algorithm) = seen
        && algorithm.starts_with("aws:kms")
    {
        return Change::noted(
            Resource::Encryption,
            format!("{algorithm} kept (stronger than SSE-S3)"),
        );
    }
    let seen = seen.as_ref().map(|a| json!({"SSEAlgorithm": a}));
    setting(
        Resource::Encryption,
        json!({"SSEAlgorithm": ENCRYPTION}),
        &seen,
    )
}

/// One setting: create when absent, update when it differs, nothing when
/// equal or when the server does not implement it.
fn setting(resource: Resource, want: Value, seen: &Seen<Value>) -> Change {
    match seen {
        Seen::Absent => Change::new(resource, Action::Create).with_after(want),
        Seen::Unsupported(reason) => Change::noted(resource, format!("unsupported: {reason}")),
        Seen::Present(have) if *have == want => Change::new(resource, Action::None),
        Seen::Present(have) => {
            let (before, after) = differing(have, &want);
            Change::new(resource, Action::Update)
                .with_before(before)
                .with_after(after)
        }
    }
}

fn iam_changes(want: &DesiredIam, seen: &ObservedIam) -> Vec<Change> {
    let policy_doc = match &seen.policy {
        Held::Ours(p) => Held::Ours(p.document.clone()),
        Held::Foreign => Held::Foreign,
        Held::Absent => Held::Absent,
    };
    let mut changes = vec![
        named(
            Resource::IamPolicy,
            &want.policy_name,
            "document",
            &want.policy_document,
            &policy_doc,
        ),
        named(
            Resource::IamRole,
            &want.role_name,
            "trust_policy",
            &want.trust_policy,
            &seen.role,
        ),
    ];
    let attachable = !matches!(seen.policy, Held::Foreign) && !matches!(seen.role, Held::Foreign);
    let attachment = json!({"role": want.role_name, "policy": want.policy_name});
    changes.push(if seen.attached {
        Change::new(Resource::IamAttachment, Action::None)
    } else if attachable {
        Change::new(Resource::IamAttachment, Action::Create).with_after(attachment)
    } else {
        Change::noted(
            Resource::IamAttachment,
            "not attached: the role or the policy is not chronotrace-ops's",
        )
    });
    if let Some(profile) = &want.instance_profile {
        changes.push(instance_profile(profile, &want.role_name, &seen.profile));
    }
    changes
}

/// A named IAM resource holding one JSON document.
fn named(resource: Resource, name: &str, field: &str, want: &Value, seen: &Held<Value>) -> Change {
    match seen {
        Held::Absent => {
            Change::new(resource, Action::Create).with_after(json!({"name": name, field: want}))
        }
        Held::Foreign => Change::noted(resource, format!("{name} {FOREIGN}")),
        Held::Ours(have) if have == want => Change::new(resource, Action::None),
        Held::Ours(have) => Change::new(resource, Action::Update)
            .with_before(json!({field: have}))
            .with_after(json!({field: want})),
    }
}

fn instance_profile(name: &str, role: &str, seen: &Held<Vec<String>>) -> Change {
    let resource = Resource::IamInstanceProfile;
    match seen {
        Held::Absent => {
            Change::new(resource, Action::Create).with_after(json!({"name": name, "roles": [role]}))
        }
        Held::Foreign => Change::noted(resource, format!("{name} {FOREIGN}")),
        Held::Ours(roles) if roles.len() == 1 && roles[0] == role => {
            Change::new(resource, Action::None)
        }
        Held::Ours(roles) => Change::new(resource, Action::Update)
            .with_before(json!({"roles": roles}))
            .with_after(json!({"roles": [role]})),
    }
}

/// What `destroy` removes: only what the tool created; from a bucket others
/// own, only the tool's lifecycle rule and policy statement.
pub(crate) fn destroy_plan(desired: &Desired, observed: &Observed) -> Plan {
    let mut changes = Vec::new();
    if let (DesiredTarget::Database(want), Observed::Database(seen)) = (&desired.target, observed) {
        changes.extend(super::database::removals(want, seen));
    }
    if let (DesiredTarget::Bucket(want), Observed::Bucket { bucket, iam, app }) =
        (&desired.target, observed)
    {
        if let (Some(want), Some(seen)) = (&want.app, app) {
            changes.extend(super::app::removals(want, seen));
        }
        if let (Some(want), Some(seen)) = (&want.iam, iam) {
            changes.extend(iam_removals(want, seen));
        }
        changes.extend(bucket_removals(&want.name, bucket));
    }
    Plan {
        env: desired.env.clone(),
        changes,
    }
}

fn removal<T>(resource: Resource, name: &str, held: &Held<T>) -> Change {
    match held {
        Held::Ours(_) => Change::new(resource, Action::Delete).with_before(json!({"name": name})),
        Held::Foreign => Change::noted(resource, format!("{name} {FOREIGN}")),
        Held::Absent => Change::noted(resource, format!("{name} does not exist")),
    }
}

fn iam_removals(want: &DesiredIam, seen: &ObservedIam) -> Vec<Change> {
    let mut changes = Vec::new();
    if let Some(profile) = &want.instance_profile {
        changes.push(removal(
            Resource::IamInstanceProfile,
            profile,
            &seen.profile,
        ));
    }
    // Only the tool attaches, and only to its own role.
    if seen.attached && seen.role.is_ours() {
        changes.push(
            Change::new(Resource::IamAttachment, Action::Delete)
                .with_before(json!({"role": want.role_name, "policy": want.policy_name})),
        );
    }
    changes.push(removal(Resource::IamRole, &want.role_name, &seen.role));
    changes.push(removal(
        Resource::IamPolicy,
        &want.policy_name,
        &seen.policy,
    ));
    changes
}

fn bucket_removals(name: &str, seen: &ObservedBucket) -> Vec<Change> {
    let shared = !seen.peers.is_empty();
    match &seen.bucket {
        Held::Ours(_) if !shared => {
            vec![Change::new(Resource::Bucket, Action::Delete).with_before(json!({"name": name}))]
        }
        Held::Absent => vec![Change::noted(
            Resource::Bucket,
            format!("{name} does not exist"),
        )],
        held => {
            let why = if held.is_ours() {
                format!(
                    "{name} kept: environments {} of chronotrace-ops still use it",
                    seen.peers.join(", ")
                )
            } else {
                format!("{name} {FOREIGN}")
            };
            let mut changes = vec![Change::noted(Resource::Bucket, why)];
            if let Seen::Present(rule) = &seen.lifecycle_rule {
                changes.push(
                    Change::new(Resource::Lifecycle, Action::Delete).with_before(rule.clone()),
                );
            }
            changes.extend(super::inventory::removal(&seen.inventory));
            // The TLS-only statement is bucket-wide: other environments on the bucket rely on it.
            match (&seen.tls_statement, shared) {
                (Seen::Present(_), true) => changes.push(Change::noted(
                    Resource::Policy,
                    "TLS-only statement kept for the other environments",
                )),
                (Seen::Present(statement), false) => {
                    changes.push(
                        Change::new(Resource::Policy, Action::Delete)
                            .with_before(statement.clone()),
                    );
                }
                _ => {}
            }
            changes
        }
    }
}

#[cfg(test)]
#[path = "diff_tests.rs"]
mod tests;
