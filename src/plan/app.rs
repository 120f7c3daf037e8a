//! The app's own identity on a self-hosted store, as plan changes (pure):
//! `iam.user` (SeaweedFS), `iam.user-policy` (its inline policy, or
//! Garage's bucket permission) and `iam.access-key`. Only what the tool
//! created is changed or removed; a user of the same name that is not the
//! tool's is reported and left alone. The key's secret never appears in a
//! change: `apply` writes it to the credentials file only.

use serde_json::json;

use super::desired::DesiredApp;
use super::observed::{Held, ObservedApp};
use super::{Action, Change, FOREIGN, Resource};
use crate::spec::AppIdentity;

/// What `apply` does to the app's identity, in creation order: on
/// SeaweedFS user, policy, key (the key works as soon as it exists); on
/// Garage key, then its bucket permission (the key is the identity).
pub(crate) fn changes(want: &DesiredApp, seen: &ObservedApp) -> Vec<Change> {
    if let Some(refusal) = &seen.refused {
        // One note, on the resource apply would make first.
        let first = match want.kind {
            AppIdentity::GarageKey => Resource::IamAccessKey,
            _ => Resource::IamUser,
        };
        return vec![Change::noted(first, refusal.note())];
    }
    let user = match &seen.user {
        Held::Absent => {
            Change::new(Resource::IamUser, Action::Create).with_after(json!({"name": want.user}))
        }
        Held::Foreign => {
            let note = format!("{} {FOREIGN}", want.user);
            let mut out = vec![Change::noted(Resource::IamUser, note)];
            for resource in [Resource::IamUserPolicy, Resource::IamAccessKey] {
                out.push(Change::noted(
                    resource,
                    format!("not changed: user {} is not chronotrace-ops's", want.user),
                ));
            }
            return out;
        }
        Held::Ours(()) => Change::new(Resource::IamUser, Action::None),
    };
    let policy = match &seen.policy {
        None => Change::new(Resource::IamUserPolicy, Action::Create)
            .with_after(json!({"name": want.policy_name, "document": want.policy})),
        Some(have) if *have == want.policy => Change::new(Resource::IamUserPolicy, Action::None),
        Some(have) => Change::new(Resource::IamUserPolicy, Action::Update)
            .with_before(json!({"document": have}))
            .with_after(json!({"document": want.policy})),
    };
    let key = if seen.keys.is_empty() {
        Change::new(Resource::IamAccessKey, Action::Create)
            .with_note("its secret is written once to the app's credentials file, never printed")
    } else {
        Change::new(Resource::IamAccessKey, Action::None)
            .with_before(json!({"access_key_ids": seen.keys}))
    };
    match want.kind {
        AppIdentity::GarageKey => vec![key, policy],
        _ => vec![user, policy, key],
    }
}

/// What `destroy` removes: the keys, the policy and the user, when the
/// user is the tool's; nothing of anyone else's.
pub(crate) fn removals(want: &DesiredApp, seen: &ObservedApp) -> Vec<Change> {
    match &seen.user {
        Held::Absent => vec![Change::noted(
            Resource::IamUser,
            format!("{} does not exist", want.user),
        )],
        Held::Foreign => vec![Change::noted(
            Resource::IamUser,
            format!("{} {FOREIGN}", want.user),
        )],
        Held::Ours(()) if want.kind == AppIdentity::GarageKey => {
            // The key is the identity; its bucket permission goes with it.
            vec![
                Change::new(Resource::IamAccessKey, Action::Delete)
                    .with_before(json!({"access_key_ids": seen.keys})),
            ]
        }
        Held::Ours(()) => {
            let mut out = Vec::new();
            if !seen.keys.is_empty() {
                out.push(
                    Change::new(Resource::IamAccessKey, Action::Delete)
                        .with_before(json!({"access_key_ids": seen.keys})),
                );
            }
            if seen.policy.is_some() {
                out.push(
                    Change::new(Resource::IamUserPolicy, Action::Delete)
                        .with_before(json!({"name": want.policy_name})),
                );
            }
            out.push(
                Change::new(Resource::IamUser, Action::Delete)
                    .with_before(json!({"name": want.user})),
            );
            out
        }
    }
}

/// `--rotate-app-key`: the key of a user the tool owns is replaced (a new
/// key, proven, written; then the old ones deleted).
pub(crate) fn rotation(plan_key: &Change, seen: &ObservedApp) -> Option<Change> {
    (plan_key.resource == Resource::IamAccessKey
        && plan_key.action == Action::None
        && seen.user.is_ours()
        && !seen.keys.is_empty())
    .then(|| {
        Change::new(Resource::IamAccessKey, Action::Update)
            .with_before(json!({"access_key_ids": seen.keys}))
            .with_note("rotate: a new key, proven, written to the credentials file; then the old one deleted")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn want(kind: AppIdentity) -> DesiredApp {
        DesiredApp {
            kind,
            user: "app".into(),
            policy_name: "traces".into(),
            policy: json!({"Statement": []}),
            tags: Vec::new(),
        }
    }

    fn seen(user: Held<()>, policy: Option<Value>, keys: &[&str]) -> ObservedApp {
        ObservedApp {
            user,
            policy,
            keys: keys.iter().map(|k| (*k).to_string()).collect(),
            refused: None,
        }
    }

    fn actions(changes: &[Change]) -> Vec<(&'static str, Action)> {
        changes
            .iter()
            .map(|c| (c.resource.id(), c.action))
            .collect()
    }

    #[test]
    fn nothing_yet_creates_user_policy_and_key_in_order() {
        let got = changes(&want(AppIdentity::IamUser), &seen(Held::Absent, None, &[]));
        assert_eq!(
            actions(&got),
            [
                ("iam.user", Action::Create),
                ("iam.user-policy", Action::Create),
                ("iam.access-key", Action::Create)
            ]
        );
        let garage = changes(
            &want(AppIdentity::GarageKey),
            &seen(Held::Absent, None, &[]),
        );
        assert_eq!(
            actions(&garage),
            [
                ("iam.access-key", Action::Create),
                ("iam.user-policy", Action::Create)
            ]
        );
    }

    #[test]
    fn converged_identity_plans_nothing_and_drift_updates_the_policy() {
        let w = want(AppIdentity::IamUser);
        let ours = seen(Held::Ours(()), Some(w.policy.clone()), &["AK1"]);
        assert!(changes(&w, &ours).iter().all(|c| !c.pending()));
        let drifted = seen(Held::Ours(()), Some(json!({"Statement": ["*"]})), &["AK1"]);
        assert_eq!(
            actions(&changes(&w, &drifted))[1],
            ("iam.user-policy", Action::Update)
        );
    }

    #[test]
    fn an_admin_identity_that_may_not_manage_users_plans_a_note_only() {
        let refused = ObservedApp::refused("GARAGE_ADMIN_TOKEN is not set", "export it");
        let got = changes(&want(AppIdentity::GarageKey), &refused);
        assert_eq!(actions(&got), [("iam.access-key", Action::None)]);
        assert_eq!(
            got[0].note.as_deref(),
            Some(
                "not planned: GARAGE_ADMIN_TOKEN is not set; to have it made, export it, or remove `iam:` from the spec to stop planning it"
            )
        );
        let got = changes(&want(AppIdentity::IamUser), &refused);
        assert_eq!(actions(&got), [("iam.user", Action::None)]);
    }

    #[test]
    fn a_foreign_user_is_never_changed_nor_removed() {
        let w = want(AppIdentity::IamUser);
        let foreign = seen(Held::Foreign, None, &["AK9"]);
        assert!(changes(&w, &foreign).iter().all(|c| !c.pending()));
        assert!(removals(&w, &foreign).iter().all(|c| !c.pending()));
    }

    #[test]
    fn destroy_removes_keys_policy_then_user_and_rotation_needs_a_key() {
        let w = want(AppIdentity::IamUser);
        let ours = seen(Held::Ours(()), Some(w.policy.clone()), &["AK1"]);
        assert_eq!(
            actions(&removals(&w, &ours)),
            [
                ("iam.access-key", Action::Delete),
                ("iam.user-policy", Action::Delete),
                ("iam.user", Action::Delete)
            ]
        );
        let key = Change::new(Resource::IamAccessKey, Action::None);
        assert!(rotation(&key, &ours).is_some());
        assert!(rotation(&key, &seen(Held::Ours(()), None, &[])).is_none());
    }
}
