//! Property tests of the spec's invariants: parsing never panics on any
//! input, and every lifecycle proposal the tool makes is itself valid.

use proptest::prelude::*;

use super::Spec;
use super::lifecycle::{StorageClass, Transition, check, cost_warnings, propose};

fn storage_class() -> impl Strategy<Value = StorageClass> {
    prop::sample::select(StorageClass::ALL.to_vec())
}

fn transitions() -> impl Strategy<Value = Vec<Transition>> {
    prop::collection::vec(
        (0u32..400, storage_class()).prop_map(|(days, storage_class)| Transition {
            days,
            storage_class,
        }),
        0..5,
    )
}

/// Reads a proposal such as `STANDARD_IA 30 → GLACIER 60 → expire >= 150` back.
fn parse_proposal(text: &str) -> (Vec<Transition>, u32) {
    let mut steps = Vec::new();
    let mut expire = 0;
    for step in text.split(" → ") {
        let (name, days) = step.rsplit_once(' ').unwrap_or((step, "0"));
        let days = days.parse().unwrap_or(0);
        match StorageClass::parse(name) {
            Some(storage_class) => steps.push(Transition {
                days,
                storage_class,
            }),
            None => expire = days,
        }
    }
    (steps, expire)
}

proptest! {
    #[test]
    fn parsing_never_panics_on_arbitrary_text(text in "\\PC{0,400}") {
        let _ = Spec::parse(&text, "fuzz.yaml");
    }

    #[test]
    fn parsing_never_panics_on_spec_shaped_text(
        storage in prop::sample::select(vec!["local", "s3", "minio", ""]),
        provider in prop::sample::select(vec!["aws", "minio", "s3-compatible", "x"]),
        bucket in "[a-zA-Z0-9.\\-_]{0,70}",
        prefix in "[a-z/.*]{0,12}",
        days in -5i64..40_000,
        versioning in any::<bool>(),
        transitions in transitions(),
    ) {
        let mut yaml = format!(
            "project: p\nenvironments:\n  e:\n    storage: {storage}\n    provider: {provider}\n    endpoint: http://127.0.0.1:9000\n    region: us-east-1\n    bucket: '{bucket}'\n    prefix: '{prefix}'\n    retention_days: {days}\n    versioning: {versioning}\n    transitions:\n"
        );
        for t in &transitions {
            yaml.push_str(&format!("      - {{ days: {}, storage_class: {} }}\n", t.days, t.storage_class));
        }
        let _ = Spec::parse(&yaml, "fuzz.yaml");
    }

    #[test]
    fn every_proposal_is_accepted_and_costs_nothing_extra(
        transitions in transitions(),
        retention in 1u32..500,
    ) {
        let (repaired, expire) = parse_proposal(&propose(&transitions, retention));
        prop_assert!(check(&repaired, expire).is_empty(), "{:?} expire {}", repaired, expire);
        prop_assert!(cost_warnings(&repaired, expire).is_empty());
    }

    #[test]
    fn accepted_lifecycles_are_strictly_increasing(
        transitions in transitions(),
        retention in 1u32..500,
    ) {
        if check(&transitions, retention).is_empty() {
            for pair in transitions.windows(2) {
                prop_assert!(pair[0].days < pair[1].days);
            }
            prop_assert!(transitions.iter().all(|t| t.days < retention));
        }
    }
}
