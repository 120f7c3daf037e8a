//! The spec's JSON Schema (`chronotrace-ops schema`), derived with
//! `schemars` from the very types the parser reads (`raw`), so the two
//! cannot drift: a key added to the parser is in the schema, with the
//! `///` doc of its field as its description.

use schemars::generate::SchemaSettings;
use serde_json::Value;

use super::raw::RawSpec;

/// The schema's stable id, for editors that cache it.
const ID: &str = "https://chronotrace-ops.invalid/chronotrace-ops.schema.json";

/// The JSON Schema (draft 2020-12) of `chronotrace-ops.yaml`, pretty-printed.
pub(crate) fn schema_json() -> String {
    let mut text = serde_json::to_string_pretty(&schema()).unwrap_or_default();
    text.push('\n');
    text
}

/// The schema as a JSON value.
fn schema() -> Value {
    // Optional keys also allow `null` (`key: ~`), as the parser does.
    let mut schema = SchemaSettings::draft2020_12()
        .into_generator()
        .into_root_schema_for::<RawSpec>()
        .to_value();
    if let Some(root) = schema.as_object_mut() {
        root.insert("$id".into(), Value::from(ID));
    }
    schema
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every object schema in `value`, with its JSON pointer.
    fn objects<'a>(value: &'a Value, at: String, out: &mut Vec<(String, &'a Value)>) {
        match value {
            Value::Object(map) => {
                if map.contains_key("properties") {
                    out.push((at.clone(), value));
                }
                for (key, child) in map {
                    objects(child, format!("{at}/{key}"), out);
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    objects(child, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    #[test]
    fn the_schema_is_draft_2020_12_json_with_its_id() {
        let schema: Value = serde_json::from_str(&schema_json()).expect("JSON");
        assert_eq!(
            schema["$schema"],
            "https://json-schema.org/draft/2020-12/schema"
        );
        assert_eq!(schema["$id"], ID);
        assert_eq!(schema["title"], "chronotrace-ops.yaml");
        assert_eq!(
            schema["required"],
            serde_json::json!(["project", "environments"])
        );
    }

    #[test]
    fn every_key_is_described_and_closed() {
        let schema = schema();
        let mut found = Vec::new();
        objects(&schema, String::new(), &mut found);
        // The top level, environment, mount, transition, iam, schedule,
        // critical, inventory, minio, tls.
        assert_eq!(found.len(), 10, "{found:?}");
        for (at, object) in found {
            assert_eq!(object["additionalProperties"], false, "{at}");
            let properties = object["properties"].as_object().expect("properties");
            for (key, property) in properties {
                let described = property["description"].as_str().unwrap_or("");
                assert!(!described.is_empty(), "{at}/{key} has no description");
            }
        }
    }

    #[test]
    fn every_reference_resolves() {
        let schema = schema();
        let text = schema.to_string();
        for reference in text.split("\"$ref\":\"").skip(1) {
            let pointer = reference.split('"').next().unwrap_or("");
            let pointer = pointer.strip_prefix('#').unwrap_or(pointer);
            assert!(schema.pointer(pointer).is_some(), "{pointer} dangles");
        }
    }

    #[test]
    fn the_rules_an_editor_can_check_are_kept() {
        let schema = schema();
        let env = &schema["$defs"]["environment"]["properties"];
        assert_eq!(
            env["storage"]["enum"],
            serde_json::json!(["local", "s3", "gcs", "redis", "database", "hybrid"])
        );
        assert_eq!(env["table"]["default"], "chronotrace_traces");
        assert!(
            env["password_env"]["description"]
                .as_str()
                .is_some_and(|d| d.contains("REDIS_PASSWORD") && d.contains("DB_PASSWORD"))
        );
        assert_eq!(env["bucket"]["maxLength"], 63);
        assert_eq!(env["retention_days"]["minimum"], 1);
        assert_eq!(env["endpoint"]["format"], "uri");
        assert_eq!(
            env["transitions"]["items"]["properties"]["storage_class"]["enum"][0],
            "STANDARD_IA"
        );
        assert_eq!(
            schema["properties"]["environments"]["propertyNames"]["pattern"],
            "^[a-z0-9][a-z0-9_-]*$"
        );
        assert_eq!(
            schema["$defs"]["minio"]["properties"]["tls"]["required"],
            serde_json::json!(["certificate", "key"])
        );
    }
}
