//! The human rendering of a plan: `+` create, `~` update with the fields
//! that differ, `-` delete, `=` a note on something left as is.

use std::io::{self, Write};

use serde_json::Value;

use super::{Action, Plan};

/// Writes `plan` for people; `title` names what it is about.
pub(crate) fn write_plan(out: &mut dyn Write, plan: &Plan, title: &str) -> io::Result<()> {
    writeln!(out, "{title}")?;
    let mut shown = 0;
    for change in &plan.changes {
        if change.action == Action::None && change.note.is_none() {
            continue;
        }
        shown += 1;
        let id = change.resource.id();
        match (change.action, &change.note) {
            (Action::None, Some(note)) => writeln!(out, "  = {id}: {note}")?,
            (action, note) => {
                let summary = match action {
                    Action::Create => change.after.as_ref().map(compact),
                    Action::Delete => change.before.as_ref().map(compact),
                    _ => None,
                };
                match summary {
                    Some(s) => writeln!(out, "  {} {id} {s}", action.sign())?,
                    None => writeln!(out, "  {} {id}", action.sign())?,
                }
                if action == Action::Update {
                    write_fields(out, change.before.as_ref(), change.after.as_ref())?;
                }
                if let Some(note) = note {
                    writeln!(out, "      ({note})")?;
                }
            }
        }
    }
    if shown == 0 {
        writeln!(out, "  (everything in place)")?;
    }
    let (create, update, delete) = plan.counts();
    writeln!(
        out,
        "{create} to create, {update} to update, {delete} to delete."
    )
}

/// `field: before -> after` for each differing field of an update.
fn write_fields(
    out: &mut dyn Write,
    before: Option<&Value>,
    after: Option<&Value>,
) -> io::Result<()> {
    match (before, after) {
        (Some(Value::Object(b)), Some(Value::Object(a))) => {
            for (key, new) in a {
                let old = b.get(key).unwrap_or(&Value::Null);
                writeln!(out, "      {key}: {} -> {}", compact(old), compact(new))?;
            }
            Ok(())
        }
        (b, a) => writeln!(
            out,
            "      {} -> {}",
            b.map_or_else(|| "null".to_string(), compact),
            a.map_or_else(|| "null".to_string(), compact)
        ),
    }
}

/// One-line JSON.
fn compact(value: &Value) -> String {
    value.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::{Change, Resource};

    #[test]
    fn renders_signs_and_differing_fields() {
        let plan = Plan {
            env: "ci".into(),
            changes: vec![
                Change::new(Resource::Bucket, Action::Create).with_after(json!({"name": "b"})),
                Change::new(Resource::Lifecycle, Action::Update)
                    .with_before(json!({"Expiration": {"Days": 5}}))
                    .with_after(json!({"Expiration": {"Days": 30}})),
                Change::noted(Resource::Policy, "unsupported: NotImplemented"),
                Change::new(Resource::Encryption, Action::None),
                Change::new(Resource::IamRole, Action::Delete).with_before(json!({"name": "R"})),
            ],
        };
        let mut out = Vec::new();
        write_plan(&mut out, &plan, "Plan:").expect("written");
        let text = String::from_utf8(out).expect("utf-8");
        let expected = "Plan:\n  + bucket {\"name\":\"b\"}\n  ~ bucket.lifecycle\n      Expiration: {\"Days\":5} -> {\"Days\":30}\n  = bucket.policy: unsupported: NotImplemented\n  - iam.role {\"name\":\"R\"}\n1 to create, 1 to update, 1 to delete.\n";
        assert_eq!(text, expected);
    }
}
