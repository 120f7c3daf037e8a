//! Table tests of `diff` and `destroy_plan`: no server.

use serde_json::json;

use super::*;
use crate::plan::desired::{ownership_tags, public_access_block, tls_statement};
use crate::plan::observed::{ObservedPolicy, OwnerMark};

fn rule(days: u32) -> Value {
    json!({"ID": "chronotrace-ops:ci:retention", "Status": "Enabled",
           "Filter": {"Prefix": "p/"}, "Expiration": {"Days": days},
           "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}})
}

fn want(versioning: bool, iam: bool) -> Desired {
    let iam = iam.then(|| DesiredIam {
        policy_name: "P".into(),
        policy_document: json!({"Statement": [{"Sid": "a"}]}),
        role_name: "R".into(),
        trust_policy: json!({"Statement": [{"Effect": "Allow"}]}),
        instance_profile: Some("I".into()),
        tags: ownership_tags("ci"),
    });
    Desired {
        env: "ci".into(),
        target: DesiredTarget::Bucket(Box::new(DesiredBucket {
            name: "b".into(),
            region: "us-east-1".into(),
            location_constraint: None,
            tags: ownership_tags("ci"),
            versioning,
            lifecycle_rule: rule(30),
            public_access_block: public_access_block(),
            tls_statement: tls_statement("us-east-1", "b"),
            tls_skipped: None,
            encryption_skipped: None,
            app: None,
            iam,
            inventory: None,
        })),
    }
}

/// A bucket of ours with every setting in place.
fn converged() -> ObservedBucket {
    ObservedBucket {
        bucket: Held::Ours(OwnerMark::Tags),
        versioning: Seen::Present("Enabled".into()),
        lifecycle_rule: Seen::Present(rule(30)),
        peers: Vec::new(),
        public_access_block: Seen::Present(public_access_block()),
        ownership: Seen::Present(OWNERSHIP.into()),
        encryption: Seen::Present(ENCRYPTION.into()),
        tls_statement: Seen::Present(tls_statement("us-east-1", "b")),
        inventory: Seen::Absent,
    }
}

fn iam_converged() -> ObservedIam {
    ObservedIam {
        policy: Held::Ours(ObservedPolicy {
            arn: "arn".into(),
            document: json!({"Statement": [{"Sid": "a"}]}),
        }),
        role: Held::Ours(json!({"Statement": [{"Effect": "Allow"}]})),
        attached: true,
        profile: Held::Ours(vec!["R".into()]),
    }
}

fn observed(bucket: ObservedBucket, iam: Option<ObservedIam>) -> Observed {
    Observed::Bucket {
        bucket: Box::new(bucket),
        iam,
        app: None,
    }
}

/// `(resource, action)` of every change, for compact expectations.
fn actions(plan: &Plan) -> Vec<(&'static str, Action)> {
    plan.changes
        .iter()
        .map(|c| (c.resource.id(), c.action))
        .collect()
}

fn action_of(plan: &Plan, resource: Resource) -> Option<Action> {
    plan.changes
        .iter()
        .find(|c| c.resource == resource)
        .map(|c| c.action)
}

#[test]
fn diff_table() {
    use Action::*;
    type Case = (
        &'static str,
        Desired,
        Observed,
        &'static [(Resource, Action)],
        bool,
    );
    let mut drifted = converged();
    drifted.lifecycle_rule = Seen::Present(rule(5));
    let mut garage = converged();
    garage.bucket = Held::Ours(OwnerMark::MarkerObject);
    garage.versioning = Seen::Absent;
    for unsupported in [&mut garage.public_access_block, &mut garage.tls_statement] {
        *unsupported = Seen::Unsupported("NotImplemented".into());
    }
    garage.ownership = Seen::Unsupported("NotImplemented".into());
    garage.encryption = Seen::Unsupported("NotImplemented".into());
    let mut foreign = converged();
    foreign.bucket = Held::Foreign;
    foreign.public_access_block = Seen::Absent;
    foreign.lifecycle_rule = Seen::Absent;
    let mut kms = converged();
    kms.encryption = Seen::Present("aws:kms".into());
    let mut foreign_iam = iam_converged();
    foreign_iam.role = Held::Foreign;
    foreign_iam.attached = false;
    let mut old_policy = iam_converged();
    old_policy.policy = Held::Ours(ObservedPolicy {
        arn: "arn".into(),
        document: json!({"Statement": []}),
    });
    old_policy.profile = Held::Ours(vec![]);

    let cases: Vec<Case> = vec![
        (
            "empty: everything created",
            want(true, true),
            observed(ObservedBucket::absent(), Some(ObservedIam::absent())),
            &[
                (Resource::Bucket, Create),
                (Resource::Versioning, Create),
                (Resource::Lifecycle, Create),
                (Resource::Policy, Create),
                (Resource::IamPolicy, Create),
                (Resource::IamRole, Create),
                (Resource::IamAttachment, Create),
                (Resource::IamInstanceProfile, Create),
            ],
            true,
        ),
        (
            "converged: nothing",
            want(true, true),
            observed(converged(), Some(iam_converged())),
            &[
                (Resource::Bucket, None),
                (Resource::Lifecycle, None),
                (Resource::IamRole, None),
            ],
            false,
        ),
        (
            "lifecycle drift: update",
            want(true, false),
            observed(drifted, Option::None),
            &[(Resource::Lifecycle, Update)],
            true,
        ),
        (
            "garage: unsupported is not pending",
            want(false, false),
            observed(garage, Option::None),
            &[
                (Resource::PublicAccessBlock, None),
                (Resource::Policy, None),
                (Resource::Encryption, None),
            ],
            false,
        ),
        (
            "foreign bucket: rule merged, settings left",
            want(false, false),
            observed(foreign, Option::None),
            &[
                (Resource::Bucket, None),
                (Resource::Lifecycle, Create),
                (Resource::PublicAccessBlock, None),
            ],
            true,
        ),
        (
            "kms is kept",
            want(false, false),
            observed(kms, Option::None),
            &[(Resource::Encryption, None)],
            false,
        ),
        (
            "foreign role: reported, not attached",
            want(false, true),
            observed(converged(), Some(foreign_iam)),
            &[(Resource::IamRole, None), (Resource::IamAttachment, None)],
            false,
        ),
        (
            "policy and profile drift: update",
            want(false, true),
            observed(converged(), Some(old_policy)),
            &[
                (Resource::IamPolicy, Update),
                (Resource::IamInstanceProfile, Update),
            ],
            true,
        ),
    ];
    for (name, desired, observed, expected, pending) in cases {
        let plan = diff(&desired, &observed);
        for (resource, action) in expected {
            assert_eq!(
                action_of(&plan, *resource),
                Some(*action),
                "{name}: {resource:?} in {:?}",
                actions(&plan)
            );
        }
        assert_eq!(plan.has_changes(), pending, "{name}: {:?}", actions(&plan));
    }
}

#[test]
fn versioning_is_left_alone_when_not_asked() {
    let plan = diff(
        &want(false, false),
        &observed(ObservedBucket::absent(), Option::None),
    );
    assert_eq!(action_of(&plan, Resource::Versioning), Option::None);
}

#[test]
fn update_shows_only_differing_fields() {
    let mut drifted = converged();
    drifted.lifecycle_rule = Seen::Present(rule(5));
    let plan = diff(&want(true, false), &observed(drifted, Option::None));
    let change = plan
        .changes
        .iter()
        .find(|c| c.resource == Resource::Lifecycle)
        .expect("lifecycle");
    assert_eq!(change.before, Some(json!({"Expiration": {"Days": 5}})));
    assert_eq!(change.after, Some(json!({"Expiration": {"Days": 30}})));
}

#[test]
fn differing_table() {
    let cases = [
        (
            json!({"a": 1, "b": 2}),
            json!({"a": 1, "b": 3}),
            json!({"b": 2}),
            json!({"b": 3}),
        ),
        (
            json!({"a": 1}),
            json!({"a": 1, "c": 4}),
            json!({"c": null}),
            json!({"c": 4}),
        ),
        (
            json!({"a": 1, "d": 0}),
            json!({"a": 1}),
            json!({"d": 0}),
            json!({"d": null}),
        ),
        (json!("x"), json!("y"), json!("x"), json!("y")),
    ];
    for (before, after, old, new) in cases {
        assert_eq!(
            differing(&before, &after),
            (old, new),
            "{before} -> {after}"
        );
    }
}

#[test]
fn local_dir_table() {
    let desired = Desired {
        env: "local".into(),
        target: DesiredTarget::Local {
            traces_dir: "s/traces".into(),
        },
    };
    let cases = [
        (ObservedDir::Absent, Action::Create),
        (ObservedDir::Present { mode: 0o750 }, Action::None),
        (ObservedDir::Present { mode: 0o755 }, Action::None),
        (ObservedDir::NotADirectory, Action::None),
    ];
    for (dir, action) in cases {
        let plan = diff(&desired, &Observed::Local(dir));
        assert_eq!(
            actions(&plan),
            vec![("local.traces-dir", action)],
            "{dir:?}"
        );
    }
}

#[test]
fn destroy_table() {
    use Action::*;
    let mut foreign = converged();
    foreign.bucket = Held::Foreign;
    let mut foreign_iam = iam_converged();
    foreign_iam.role = Held::Foreign;
    let mut shared = converged();
    shared.peers = vec!["staging".into()];
    type Case = (&'static str, Observed, &'static [(Resource, Action)]);
    let cases: Vec<Case> = vec![
        (
            "ours: all removed",
            observed(converged(), Some(iam_converged())),
            &[
                (Resource::IamInstanceProfile, Delete),
                (Resource::IamAttachment, Delete),
                (Resource::IamRole, Delete),
                (Resource::IamPolicy, Delete),
                (Resource::Bucket, Delete),
            ],
        ),
        (
            "foreign bucket: only our rule and statement",
            observed(foreign, Option::None),
            &[
                (Resource::Bucket, None),
                (Resource::Lifecycle, Delete),
                (Resource::Policy, Delete),
            ],
        ),
        (
            "foreign role kept, not detached",
            observed(converged(), Some(foreign_iam)),
            &[(Resource::IamRole, None), (Resource::IamPolicy, Delete)],
        ),
        (
            "nothing there",
            observed(ObservedBucket::absent(), Some(ObservedIam::absent())),
            &[(Resource::Bucket, None), (Resource::IamRole, None)],
        ),
    ];
    for (name, observed, expected) in cases {
        let plan = destroy_plan(&want(false, true), &observed);
        assert_eq!(actions(&plan).len(), plan.changes.len());
        for (resource, action) in expected {
            assert_eq!(
                action_of(&plan, *resource),
                Some(*action),
                "{name}: {resource:?} in {:?}",
                actions(&plan)
            );
        }
        if name.starts_with("foreign role") {
            assert_eq!(
                action_of(&plan, Resource::IamAttachment),
                Option::None,
                "{name}"
            );
        }
    }
}
