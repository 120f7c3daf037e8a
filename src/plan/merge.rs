//! Merging the tool's one item into a whole configuration others share: a
//! lifecycle PUT and a bucket-policy PUT replace everything, so the tool
//! reads, swaps (or removes) only the item with its own ID, and writes back
//! every other item untouched and in order.

use serde_json::{Value, json};

/// `items` with the item whose id is `id` replaced by `ours` (appended when
/// missing), or removed when `ours` is `None`. Every other item is kept as is.
pub(crate) fn merge_by_id<T>(
    items: Vec<T>,
    id: &str,
    id_of: impl Fn(&T) -> Option<&str>,
    ours: Option<T>,
) -> Vec<T> {
    let mut merged = Vec::with_capacity(items.len() + 1);
    let mut ours = ours;
    for item in items {
        if id_of(&item) == Some(id) {
            // Replaced in place, so the order others see does not change.
            if let Some(mine) = ours.take() {
                merged.push(mine);
            }
        } else {
            merged.push(item);
        }
    }
    if let Some(mine) = ours {
        merged.push(mine);
    }
    merged
}

/// The statements of a policy document. A lone statement object counts as
/// one, and so does any other value there: what the tool cannot read is
/// someone else's, and is written back rather than dropped.
pub(crate) fn statements(policy: &Value) -> Vec<Value> {
    match policy.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(single) => vec![single.clone()],
    }
}

/// The statement with Sid `sid`, if any.
pub(crate) fn statement_with_sid(policy: &Value, sid: &str) -> Option<Value> {
    statements(policy)
        .into_iter()
        .find(|s| s.get("Sid").and_then(Value::as_str) == Some(sid))
}

/// `policy` with the statement `sid` replaced by `ours`, or removed; `None`
/// when no statement is left (the policy should then be deleted).
pub(crate) fn merge_policy(
    policy: Option<&Value>,
    sid: &str,
    ours: Option<Value>,
) -> Option<Value> {
    let existing = policy.map(statements).unwrap_or_default();
    let merged = merge_by_id(
        existing,
        sid,
        |s| s.get("Sid").and_then(Value::as_str),
        ours,
    );
    if merged.is_empty() {
        return None;
    }
    let mut doc = policy
        .filter(|p| p.is_object())
        .cloned()
        .unwrap_or_else(|| json!({"Version": "2012-10-17"}));
    doc["Statement"] = Value::Array(merged);
    Some(doc)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids(items: &[(&'static str, u32)]) -> Vec<(&'static str, u32)> {
        items.to_vec()
    }

    #[test]
    fn merge_by_id_table() {
        type Case = (
            &'static [(&'static str, u32)],
            Option<(&'static str, u32)>,
            &'static [(&'static str, u32)],
        );
        let cases: &[Case] = &[
            // nothing there: ours is added
            (&[], Some(("me", 2)), &[("me", 2)]),
            // others' items kept, ours appended
            (
                &[("a", 1), ("b", 1)],
                Some(("me", 2)),
                &[("a", 1), ("b", 1), ("me", 2)],
            ),
            // ours replaced in place
            (
                &[("a", 1), ("me", 1), ("b", 1)],
                Some(("me", 2)),
                &[("a", 1), ("me", 2), ("b", 1)],
            ),
            // ours removed, others kept
            (&[("a", 1), ("me", 1)], None, &[("a", 1)]),
            // removing what is not there changes nothing
            (&[("a", 1)], None, &[("a", 1)]),
            // a duplicate of ours is collapsed into one
            (&[("me", 1), ("me", 3)], Some(("me", 2)), &[("me", 2)]),
        ];
        for (before, ours, expected) in cases {
            let got = merge_by_id(ids(before), "me", |(id, _)| Some(*id), *ours);
            assert_eq!(got, expected.to_vec(), "{before:?} + {ours:?}");
        }
    }

    #[test]
    fn policy_merge_keeps_foreign_statements() {
        let foreign = json!({"Sid": "theirs", "Effect": "Allow"});
        let mine = json!({"Sid": "mine", "Effect": "Deny"});
        let policy = json!({"Version": "2012-10-17", "Id": "x", "Statement": [foreign.clone()]});

        let merged = merge_policy(Some(&policy), "mine", Some(mine.clone())).expect("a policy");
        assert_eq!(merged["Statement"], json!([foreign.clone(), mine.clone()]));
        assert_eq!(merged["Id"], "x");
        assert_eq!(statement_with_sid(&merged, "mine"), Some(mine.clone()));

        let removed = merge_policy(Some(&merged), "mine", None).expect("a policy");
        assert_eq!(removed["Statement"], json!([foreign]));

        let only_mine = merge_policy(None, "mine", Some(mine.clone())).expect("a policy");
        assert_eq!(merge_policy(Some(&only_mine), "mine", None), None);
    }

    #[test]
    fn a_lone_statement_object_counts() {
        let policy = json!({"Statement": {"Sid": "theirs"}});
        assert_eq!(statements(&policy).len(), 1);
        assert_eq!(statements(&json!({})).len(), 0);
        assert_eq!(statements(&json!({"Statement": null})).len(), 0);
    }

    /// Found by the `policy_merge` fuzz target: a Statement that is neither
    /// a list nor an object was dropped by the merge (and the policy
    /// deleted when the tool removed its own statement).
    #[test]
    fn a_statement_of_another_shape_is_kept() {
        let mine = json!({"Sid": "mine"});
        let odd = json!({"Id": "x", "Statement": "not a statement"});
        let merged = merge_policy(Some(&odd), "mine", Some(mine.clone())).expect("a policy");
        assert_eq!(merged["Statement"], json!(["not a statement", mine]));
        let removed = merge_policy(Some(&odd), "mine", None).expect("a policy");
        assert_eq!(removed["Statement"], json!(["not a statement"]));
    }
}
