//! Property tests of the merges (issue 7, item 4): whatever the bucket's
//! lifecycle rules or policy statements, merging the tool's item in or out
//! never drops or reorders anyone else's, leaves exactly the tool's item
//! (so a plan made right after is empty), and merging twice changes nothing.

use proptest::prelude::*;
use serde_json::{Value, json};

use super::merge::{merge_by_id, merge_policy, statement_with_sid, statements};

const OURS: &str = "chronotrace-ops:prod:retention";

/// Items with ids from a small alphabet that includes the tool's (so
/// duplicates of ours and of others occur).
fn items() -> impl Strategy<Value = Vec<(String, u8)>> {
    let id = prop::sample::select(vec!["a", "b", "c", OURS, "chronotrace-ops:ci:retention"]);
    prop::collection::vec((id.prop_map(str::to_string), any::<u8>()), 0..8)
}

fn foreign(items: &[(String, u8)]) -> Vec<(String, u8)> {
    items.iter().filter(|(id, _)| id != OURS).cloned().collect()
}

fn merged(items: Vec<(String, u8)>, ours: Option<u8>) -> Vec<(String, u8)> {
    merge_by_id(
        items,
        OURS,
        |(id, _)| Some(id.as_str()),
        ours.map(|v| (OURS.to_string(), v)),
    )
}

/// A policy with foreign statements (some without Sid), maybe ours, and
/// other top-level keys.
fn policy() -> impl Strategy<Value = Value> {
    let sid = prop::option::of(prop::sample::select(vec!["x", "y", OURS]));
    let statement = (sid, any::<u8>()).prop_map(|(sid, n)| match sid {
        Some(sid) => json!({"Sid": sid, "Effect": "Allow", "N": n}),
        None => json!({"Effect": "Deny", "N": n}),
    });
    (prop::collection::vec(statement, 0..6), any::<bool>()).prop_map(|(statements, id)| {
        let mut doc = json!({"Version": "2012-10-17", "Statement": statements});
        if id {
            doc["Id"] = json!("their-policy");
        }
        doc
    })
}

fn foreign_statements(doc: &Value) -> Vec<Value> {
    statements(doc)
        .into_iter()
        .filter(|s| s.get("Sid").and_then(Value::as_str) != Some(OURS))
        .collect()
}

proptest! {
    #[test]
    fn lifecycle_merge_keeps_every_foreign_rule_in_order(
        items in items(),
        ours in prop::option::of(any::<u8>()),
    ) {
        let after = merged(items.clone(), ours);
        prop_assert_eq!(foreign(&after), foreign(&items));
        let mine: Vec<u8> = after.iter().filter(|(id, _)| id == OURS).map(|(_, v)| *v).collect();
        prop_assert_eq!(mine, ours.into_iter().collect::<Vec<u8>>());
    }

    #[test]
    fn lifecycle_merge_is_idempotent(
        items in items(),
        ours in prop::option::of(any::<u8>()),
    ) {
        let once = merged(items, ours);
        prop_assert_eq!(merged(once.clone(), ours), once);
    }

    #[test]
    fn policy_merge_keeps_every_foreign_statement_and_key(
        doc in policy(),
        ours in prop::option::of(any::<u8>()),
    ) {
        let mine = ours.map(|n| json!({"Sid": OURS, "Effect": "Deny", "Mine": n}));
        let after = merge_policy(Some(&doc), OURS, mine.clone());
        match after {
            Some(after) => {
                prop_assert_eq!(foreign_statements(&after), foreign_statements(&doc));
                prop_assert_eq!(&after["Id"], &doc["Id"]);
                prop_assert_eq!(&after["Version"], &doc["Version"]);
                // What a plan reads right after is what was written: no diff.
                prop_assert_eq!(statement_with_sid(&after, OURS), mine.clone());
                // Idempotent.
                prop_assert_eq!(merge_policy(Some(&after), OURS, mine), Some(after));
            }
            None => {
                prop_assert!(mine.is_none());
                prop_assert!(foreign_statements(&doc).is_empty());
            }
        }
    }
}
