//! Property test of convergence (issue 7, item 4): from any observed state
//! of a bucket, applying the plan (modelled: each pending change puts the
//! desired value in place) leaves nothing to do, so a second `plan` is
//! empty; and a plan never proposes to change a bucket others own beyond
//! the shared lifecycle rule and policy statement.

use proptest::prelude::*;
use serde_json::json;

use super::desired::{
    Desired, DesiredBucket, DesiredTarget, ENCRYPTION, OWNERSHIP, ownership_tags,
    public_access_block, tls_statement,
};
use super::diff::diff;
use super::observed::{Held, Observed, ObservedBucket, OwnerMark, Seen};
use super::{Change, Resource};

fn want(versioning: bool, tls_skipped: bool) -> DesiredBucket {
    DesiredBucket {
        name: "b".into(),
        region: "us-east-1".into(),
        location_constraint: None,
        tags: ownership_tags("ci"),
        versioning,
        lifecycle_rule: json!({"ID": "chronotrace-ops:ci:retention", "Status": "Enabled",
            "Filter": {"Prefix": "p/"}, "Expiration": {"Days": 30}}),
        public_access_block: public_access_block(),
        tls_statement: tls_statement("us-east-1", "b"),
        tls_skipped: tls_skipped.then(|| "no policy support".to_string()),
        encryption_skipped: None,
        app: None,
        iam: None,
        inventory: Some(json!({"Id": "chronotrace-ops-ci", "Format": "Parquet"})),
    }
}

/// A setting as a server might show it: absent, unsupported, the desired
/// value, or something else.
fn seen<T: Clone + std::fmt::Debug + 'static>(
    desired: T,
    other: T,
) -> impl Strategy<Value = Seen<T>> {
    prop_oneof![
        Just(Seen::Absent),
        Just(Seen::Unsupported("NotImplemented".into())),
        Just(Seen::Present(desired)),
        Just(Seen::Present(other)),
    ]
}

fn observed(want: DesiredBucket) -> impl Strategy<Value = ObservedBucket> {
    let held = prop_oneof![
        Just(Held::Absent),
        Just(Held::Foreign),
        Just(Held::Ours(OwnerMark::Tags)),
        Just(Held::Ours(OwnerMark::MarkerObject)),
    ];
    (
        held,
        seen("Enabled".to_string(), "Suspended".to_string()),
        seen(want.lifecycle_rule.clone(), json!({"ID": "x", "Days": 1})),
        seen(
            want.public_access_block.clone(),
            json!({"BlockPublicAcls": false}),
        ),
        seen(OWNERSHIP.to_string(), "ObjectWriter".to_string()),
        seen(ENCRYPTION.to_string(), "aws:kms".to_string()),
        seen(want.tls_statement.clone(), json!({"Sid": "other"})),
        seen(
            want.inventory.clone().unwrap_or_default(),
            json!({"Id": "chronotrace-ops-ci", "Format": "CSV"}),
        ),
    )
        .prop_map(
            |(bucket, versioning, rule, pab, ownership, encryption, tls, inventory)| {
                let mut o = ObservedBucket {
                    bucket,
                    versioning,
                    lifecycle_rule: rule,
                    peers: Vec::new(),
                    public_access_block: pab,
                    ownership,
                    encryption,
                    tls_statement: tls,
                    inventory,
                };
                if o.bucket == Held::Absent {
                    o = ObservedBucket::absent();
                }
                o
            },
        )
}

/// What `apply` does to the observed state, change by change.
fn apply(want: &DesiredBucket, mut o: ObservedBucket, changes: &[Change]) -> ObservedBucket {
    for change in changes.iter().filter(|c| c.pending()) {
        match change.resource {
            Resource::Bucket => o.bucket = Held::Ours(OwnerMark::Tags),
            Resource::Versioning => o.versioning = Seen::Present("Enabled".into()),
            Resource::Lifecycle => o.lifecycle_rule = Seen::Present(want.lifecycle_rule.clone()),
            Resource::PublicAccessBlock => {
                o.public_access_block = Seen::Present(want.public_access_block.clone());
            }
            Resource::OwnershipControls => o.ownership = Seen::Present(OWNERSHIP.into()),
            Resource::Encryption => o.encryption = Seen::Present(ENCRYPTION.into()),
            Resource::Policy => o.tls_statement = Seen::Present(want.tls_statement.clone()),
            Resource::Inventory => {
                o.inventory = Seen::Present(want.inventory.clone().unwrap_or_default())
            }
            _ => {}
        }
    }
    o
}

fn plan(want: &DesiredBucket, o: &ObservedBucket) -> Vec<Change> {
    let desired = Desired {
        env: "ci".into(),
        target: DesiredTarget::Bucket(Box::new(want.clone())),
    };
    let observed = Observed::Bucket {
        bucket: Box::new(o.clone()),
        iam: None,
        app: None,
    };
    diff(&desired, &observed).changes
}

fn case() -> impl Strategy<Value = (DesiredBucket, ObservedBucket)> {
    (any::<bool>(), any::<bool>())
        .prop_map(|(v, t)| want(v, t))
        .prop_flat_map(|w| (Just(w.clone()), observed(w)))
}

proptest! {
    #[test]
    fn a_plan_applied_leaves_an_empty_plan((want, seen) in case()) {
        let first = plan(&want, &seen);
        let after = apply(&want, seen, &first);
        let second = plan(&want, &after);
        let pending: Vec<&Change> = second.iter().filter(|c| c.pending()).collect();
        prop_assert!(pending.is_empty(), "{:?}\nthen {:?}", first, pending);
    }

    #[test]
    fn a_foreign_bucket_only_gets_the_shared_items((want, mut seen) in case()) {
        seen.bucket = Held::Foreign;
        // The items the tool owns by ID inside a bucket: its lifecycle rule,
        // its policy statement, its inventory configuration.
        for change in plan(&want, &seen).iter().filter(|c| c.pending()) {
            prop_assert!(
                matches!(change.resource, Resource::Lifecycle | Resource::Policy | Resource::Inventory),
                "{change:?}"
            );
        }
    }
}
