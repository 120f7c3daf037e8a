//! `lifecycle_merge` and `policy_merge`: the two read-modify-write merges
//! `apply` and `destroy` use, on configurations others share, built from
//! the fuzzer's bytes with `arbitrary` (duplicates of the tool's ID, rules
//! without an ID, statements without a Sid or that are not objects, a lone
//! statement object, odd top-level keys). Every foreign item survives
//! unchanged and in order, the tool's is there exactly once (or not at
//! all when removed), and merging again changes nothing.

use arbitrary::{Arbitrary, Unstructured};
use aws_sdk_s3::types::{
    BucketLifecycleConfiguration, ExpirationStatus, LifecycleExpiration, LifecycleRule,
    LifecycleRuleFilter, Transition, TransitionStorageClass,
};
use serde_json::{Map, Value, json};

use crate::plan::desired::TLS_ONLY_SID;
use crate::plan::merge::{merge_by_id, merge_policy, statement_with_sid, statements};
use crate::spec::ids::lifecycle_rule_id;
use crate::stores::s3::confirmed_write::{ReadBack, judge};
use crate::stores::s3::lifecycle_write::rule_from_json;

/// An ID or Sid: the tool's, a near miss, or anything.
#[derive(Debug, Arbitrary)]
enum Name {
    Ours,
    OtherEnv,
    NearMiss,
    Any(String),
}

impl Name {
    fn text(&self, ours: &str) -> String {
        match self {
            Name::Ours => ours.to_string(),
            Name::OtherEnv => lifecycle_rule_id("ci"),
            Name::NearMiss => format!("{ours} "),
            Name::Any(text) => text.clone(),
        }
    }
}

/// A lifecycle rule as another team (or the tool) may have written it.
#[derive(Debug, Arbitrary)]
struct Rule {
    id: Option<Name>,
    prefix: Option<String>,
    enabled: bool,
    expiration: Option<i32>,
    transitions: Vec<(Option<i32>, String)>,
}

impl Rule {
    fn sdk(&self, ours: &str) -> Option<LifecycleRule> {
        let status = if self.enabled {
            ExpirationStatus::Enabled
        } else {
            ExpirationStatus::Disabled
        };
        let mut b = LifecycleRule::builder()
            .set_id(self.id.as_ref().map(|n| n.text(ours)))
            .status(status)
            .filter(
                LifecycleRuleFilter::builder()
                    .set_prefix(self.prefix.clone())
                    .build(),
            );
        for (days, class) in &self.transitions {
            b = b.transitions(
                Transition::builder()
                    .set_days(*days)
                    .storage_class(TransitionStorageClass::from(class.as_str()))
                    .build(),
            );
        }
        if let Some(days) = self.expiration {
            b = b.expiration(LifecycleExpiration::builder().days(days).build());
        }
        b.build().ok()
    }
}

/// The tool's rule in the template's JSON shape (what `apply` holds).
#[derive(Debug, Arbitrary)]
struct OurRule {
    prefix: String,
    expiration: u16,
    noncurrent: Option<u16>,
    transitions: Vec<(u16, String)>,
}

impl OurRule {
    fn json(&self, id: &str) -> Value {
        let transitions: Vec<Value> = self
            .transitions
            .iter()
            .map(|(days, class)| json!({"Days": days, "StorageClass": class}))
            .collect();
        let mut rule = json!({
            "ID": id, "Status": "Enabled", "Filter": {"Prefix": self.prefix},
            "Expiration": {"Days": self.expiration},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7},
        });
        if !transitions.is_empty() {
            rule["Transitions"] = Value::Array(transitions);
        }
        if let Some(days) = self.noncurrent {
            rule["NoncurrentVersionExpiration"] = json!({"NoncurrentDays": days});
        }
        rule
    }
}

#[derive(Debug, Arbitrary)]
struct LifecycleCase {
    env: String,
    rules: Vec<Rule>,
    ours: Option<OurRule>,
    /// Any JSON as the tool's rule: converting it may fail, never panic.
    odd_rule: Junk,
}

/// The check of the `lifecycle_merge` target.
pub fn lifecycle_merge(data: &[u8]) {
    let Ok(case) = LifecycleCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let _ = rule_from_json(&case.odd_rule.0);
    let id = lifecycle_rule_id(&case.env);
    let before: Vec<LifecycleRule> = case.rules.iter().filter_map(|r| r.sdk(&id)).collect();
    let ours_json = case.ours.as_ref().map(|r| r.json(&id));
    let ours = match ours_json.as_ref().map(rule_from_json).transpose() {
        Ok(ours) => ours,
        Err(e) => panic!("the tool's rule is not an SDK rule: {e}"),
    };
    let foreign = |rules: &[LifecycleRule]| -> Vec<LifecycleRule> {
        rules
            .iter()
            .filter(|r| r.id() != Some(id.as_str()))
            .cloned()
            .collect()
    };
    let after = merge_by_id(before.clone(), &id, LifecycleRule::id, ours.clone());
    assert_eq!(foreign(&after), foreign(&before), "a foreign rule changed");
    let mine: Vec<&LifecycleRule> = after.iter().filter(|r| r.id() == Some(&id)).collect();
    assert_eq!(
        mine,
        ours.iter().collect::<Vec<_>>(),
        "not exactly the tool's rule"
    );
    let again = merge_by_id(after.clone(), &id, LifecycleRule::id, ours.clone());
    assert_eq!(again, after, "merging twice changed the rules");

    // What `apply` then does with the result: send it (when not empty) and
    // judge the read-back of exactly what it sent as confirmed.
    let carried: Vec<String> = foreign(&before)
        .iter()
        .filter_map(|r| r.id().map(str::to_string))
        .collect();
    let after_ids: Vec<String> = after
        .iter()
        .filter_map(|r| r.id().map(str::to_string))
        .collect();
    let verdict = judge(&after_ids, &id, ours_json.is_some(), &carried);
    assert_eq!(verdict, ReadBack::Confirmed { gone: Vec::new() });
    if !after.is_empty() {
        let config = BucketLifecycleConfiguration::builder()
            .set_rules(Some(after))
            .build();
        assert!(config.is_ok(), "the merged rules make no configuration");
    }
}

/// Any JSON value, nested a little.
#[derive(Debug)]
struct Junk(Value);

impl<'a> Arbitrary<'a> for Junk {
    fn arbitrary(u: &mut Unstructured<'a>) -> arbitrary::Result<Self> {
        junk(u, 3).map(Junk)
    }
}

fn junk(u: &mut Unstructured<'_>, depth: u32) -> arbitrary::Result<Value> {
    let kind = if depth == 0 {
        u.int_in_range(0..=3)?
    } else {
        u.int_in_range(0..=5)?
    };
    Ok(match kind {
        0 => Value::Null,
        1 => Value::Bool(u.arbitrary()?),
        2 => json!(u.arbitrary::<i64>()?),
        3 => Value::String(u.arbitrary()?),
        4 => {
            let n = u.int_in_range(0..=3)?;
            Value::Array(
                (0..n)
                    .map(|_| junk(u, depth - 1))
                    .collect::<Result<_, _>>()?,
            )
        }
        _ => {
            let mut map = Map::new();
            for _ in 0..u.int_in_range(0..=3)? {
                map.insert(u.arbitrary()?, junk(u, depth - 1)?);
            }
            Value::Object(map)
        }
    })
}

/// One entry of a policy's Statement list.
#[derive(Debug, Arbitrary)]
enum Statement {
    WithSid(Name, u8),
    /// A Sid that is not a string.
    OddSid(Junk),
    NoSid(u8),
    NotAnObject(Junk),
}

impl Statement {
    fn json(&self) -> Value {
        match self {
            Statement::WithSid(sid, n) => {
                json!({"Sid": sid.text(TLS_ONLY_SID), "Effect": "Allow", "N": n})
            }
            Statement::OddSid(sid) => json!({"Sid": sid.0, "Effect": "Deny"}),
            Statement::NoSid(n) => json!({"Effect": "Deny", "N": n}),
            Statement::NotAnObject(value) => value.0.clone(),
        }
    }
}

/// How a policy holds its statements.
#[derive(Debug, Arbitrary)]
enum Shape {
    List(Vec<Statement>),
    Lone(Statement),
    Missing,
    Odd(Junk),
}

#[derive(Debug, Arbitrary)]
struct PolicyCase {
    shape: Shape,
    keys: Vec<(String, Junk)>,
    /// Whether there is a policy at all (GetBucketPolicy's NoSuchBucketPolicy).
    exists: bool,
    ours: Option<u8>,
}

impl PolicyCase {
    fn policy(&self) -> Value {
        let mut doc = Map::new();
        for (key, value) in &self.keys {
            doc.insert(key.clone(), value.0.clone());
        }
        match &self.shape {
            Shape::List(items) => {
                let items = items.iter().map(Statement::json).collect();
                doc.insert("Statement".into(), Value::Array(items));
            }
            Shape::Lone(item) => {
                doc.insert("Statement".into(), item.json());
            }
            Shape::Missing => {
                doc.remove("Statement");
            }
            Shape::Odd(value) => {
                doc.insert("Statement".into(), value.0.clone());
            }
        }
        Value::Object(doc)
    }
}

fn is_ours(statement: &Value) -> bool {
    statement.get("Sid").and_then(Value::as_str) == Some(TLS_ONLY_SID)
}

/// What a policy holds besides the tool's statement, read here on its own
/// terms rather than through the merge's `statements`: every value under
/// Statement (the list's items, or the lone value) that is not the tool's.
fn foreign_statements(doc: &Value) -> Vec<Value> {
    let held = match doc.get("Statement") {
        Some(Value::Array(items)) => items.clone(),
        None | Some(Value::Null) => Vec::new(),
        Some(other) => vec![other.clone()],
    };
    held.into_iter().filter(|s| !is_ours(s)).collect()
}

/// The check of the `policy_merge` target.
pub fn policy_merge(data: &[u8]) {
    let Ok(case) = PolicyCase::arbitrary_take_rest(Unstructured::new(data)) else {
        return;
    };
    let doc = case.exists.then(|| case.policy());
    let mine = case
        .ours
        .map(|n| json!({"Sid": TLS_ONLY_SID, "Effect": "Deny", "N": n}));
    let before = doc.as_ref().map(foreign_statements).unwrap_or_default();
    let Some(after) = merge_policy(doc.as_ref(), TLS_ONLY_SID, mine.clone()) else {
        assert!(mine.is_none(), "the tool's statement was not written");
        assert!(
            before.is_empty(),
            "a policy with foreign statements deleted"
        );
        return;
    };
    assert_eq!(
        foreign_statements(&after),
        before,
        "a foreign statement changed"
    );
    let count = statements(&after).iter().filter(|s| is_ours(s)).count();
    assert_eq!(
        count,
        usize::from(mine.is_some()),
        "not exactly the tool's statement"
    );
    assert_eq!(statement_with_sid(&after, TLS_ONLY_SID), mine);
    if let Some(Value::Object(keys)) = &doc {
        for (key, value) in keys.iter().filter(|(k, _)| *k != "Statement") {
            assert_eq!(after.get(key), Some(value), "the policy's {key:?} changed");
        }
    }
    let again = merge_policy(Some(&after), TLS_ONLY_SID, mine);
    assert_eq!(
        again.as_ref(),
        Some(&after),
        "merging twice changed the policy"
    );
}
