//! The first minutes of a user: completions and the spec's JSON Schema.

use serde_json::Value;

use crate::support::{Run, tempdir};

#[test]
fn completions_are_produced_for_common_shells() {
    let dir = tempdir();
    for shell in ["bash", "zsh", "fish"] {
        let out = Run::new(dir.path())
            .args(["completions", shell])
            .run()
            .code(0)
            .stderr_is_empty();
        assert!(
            out.stdout.contains("chronotrace-ops"),
            "{shell}: {}",
            out.stdout
        );
        assert!(out.stdout.contains("render"), "{shell}");
    }
}

/// The keys the parser accepts at one level, read from its own
/// "unknown field" message, which lists every expected key.
fn parser_keys(spec: &str) -> Vec<String> {
    let dir = tempdir();
    std::fs::write(dir.path().join("s.yaml"), spec).expect("write");
    let out = Run::new(dir.path())
        .args(["--config", "s.yaml", "render"])
        .run()
        .code(2)
        .one_line_error("expected one of ");
    let list = out
        .stderr
        .split("expected one of ")
        .nth(1)
        .unwrap_or_else(|| panic!("no key list in {}", out.stderr));
    let list = list.split(" [rule").next().unwrap_or(list);
    let mut keys: Vec<String> = list
        .split(", ")
        .map(|k| k.trim().trim_matches('`').to_string())
        .collect();
    keys.sort();
    keys
}

fn schema_keys(schema: &Value, pointer: &str) -> Vec<String> {
    let mut keys: Vec<String> = schema
        .pointer(pointer)
        .and_then(Value::as_object)
        .unwrap_or_else(|| panic!("{pointer} missing"))
        .keys()
        .cloned()
        .collect();
    keys.sort();
    keys
}

#[test]
fn the_schema_knows_exactly_the_keys_the_parser_accepts() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["schema"])
        .run()
        .code(0)
        .stderr_is_empty();
    let schema: Value = serde_json::from_str(&out.stdout).expect("the schema is JSON");
    let cases = [
        ("project: p\nenvironments: {}\nbogus: 1\n", "/properties"),
        (
            "project: p\nenvironments:\n  a:\n    bogus: 1\n",
            "/$defs/environment/properties",
        ),
        (
            "project: p\nenvironments:\n  a:\n    storage: s3\n    transitions:\n      - { bogus: 1 }\n",
            "/$defs/environment/properties/transitions/items/properties",
        ),
        (
            "project: p\nenvironments:\n  a:\n    storage: s3\n    iam: { bogus: 1 }\n",
            "/$defs/environment/properties/iam/properties",
        ),
        (
            "project: p\nenvironments:\n  a:\n    storage: local\n    schedule: { bogus: 1 }\n",
            "/$defs/environment/properties/schedule/properties",
        ),
        (
            "project: p\nenvironments: {}\nminio: { bogus: 1 }\n",
            "/$defs/minio/properties",
        ),
        (
            "project: p\nenvironments: {}\nminio: { tls: { bogus: 1 } }\n",
            "/$defs/minio/properties/tls/properties",
        ),
    ];
    for (spec, pointer) in cases {
        assert_eq!(
            parser_keys(spec),
            schema_keys(&schema, pointer),
            "{pointer}"
        );
    }
}
