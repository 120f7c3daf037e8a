//! `docs/spec.md`, the spec reference, is rendered from the JSON Schema that
//! `chronotrace-ops schema` prints (itself derived from the parser's types),
//! so the reference cannot drift from what the tool accepts: this test
//! renders it again and fails when the committed file differs.
//!
//! Rewrite the file after changing the spec's types or their doc comments:
//! `CT_UPDATE_DOCS=1 cargo test --test it spec_reference`.

use serde_json::Value;

use crate::support::{Run, tempdir};

/// Where the reference lives, from the repository root.
const REFERENCE: &str = "docs/spec.md";
/// Set to rewrite the reference instead of comparing it.
const UPDATE: &str = "CT_UPDATE_DOCS";

#[test]
fn docs_spec_md_is_the_schema_rendered() {
    let dir = tempdir();
    let schema = Run::new(dir.path())
        .args(["schema"])
        .run()
        .code(0)
        .stderr_is_empty()
        .stdout;
    let schema: Value = serde_json::from_str(&schema).expect("schema prints JSON");
    Run::new(dir.path()).args(["init"]).run().code(0);
    let starter =
        std::fs::read_to_string(dir.path().join("chronotrace-ops.yaml")).expect("init wrote it");
    let rendered = render(&schema, &starter);

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(REFERENCE);
    if std::env::var_os(UPDATE).is_some() {
        std::fs::write(&path, &rendered).expect("write docs/spec.md");
        return;
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == rendered,
        "{REFERENCE} differs from the schema: rewrite it with \
         `{UPDATE}=1 cargo test --test it spec_reference` and commit it\n\
         first differing line: {:?}",
        first_difference(&committed, &rendered)
    );
}

/// The schema's key tables, one section per object, then the starter spec.
fn render(schema: &Value, starter: &str) -> String {
    let defs = schema.get("$defs").cloned().unwrap_or(Value::Null);
    let mut out = format!(
        "# The spec reference: `{title}`\n\n\
         <!-- Generated from `chronotrace-ops schema` by tests/it/spec_reference.rs: do not edit.\n     \
         Rewrite it with `{UPDATE}=1 cargo test --test it spec_reference`. -->\n\n\
         {description}\n\n\
         Every key of the spec, as `chronotrace-ops schema` prints it (a JSON Schema for editors:\n\
         point the YAML language server at its output). Validation goes further than the schema:\n\
         the rules that involve several keys (a provider's capabilities, transitions in order, a\n\
         destination outside the prefix) are checked when the spec is loaded, each problem one\n\
         line with its file, line, column and rule. Where the spec is found, and what the\n\
         embedded starter spec allows, is in the README's [Concepts](../README.md#concepts).\n",
        title = text(schema, "title"),
        description = text(schema, "description"),
    );
    section(&mut out, "Top level", schema, &defs);
    out.push_str(
        "\n## Example: the starter spec\n\n\
         What `chronotrace-ops init` writes (and what commands use when no spec is found):\n\n\
         ```yaml\n",
    );
    out.push_str(starter.trim_end());
    out.push_str("\n```\n");
    out
}

/// One object's table, followed by the sections of the objects it holds
/// (depth first, so a key's own keys come right after it).
fn section(out: &mut String, name: &str, object: &Value, defs: &Value) {
    out.push_str(&format!("\n## {name}\n\n"));
    if let Some(description) = object.get("description").filter(|_| name != "Top level") {
        out.push_str(&format!(
            "{}\n\n",
            prose(description.as_str().unwrap_or_default())
        ));
    }
    out.push_str("| key | type | required | default | accepted values | description |\n");
    out.push_str("|---|---|---|---|---|---|\n");
    let required = names(object.get("required"));
    let mut nested = Vec::new();
    for (key, property) in object
        .get("properties")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let property = resolve(property, defs);
        out.push_str(&row(key, &property, required.contains(key), defs));
        if let Some(inner) = nested_object(&property, defs) {
            nested.push((child_path(name, key, &property), inner));
        }
    }
    for (path, inner) in nested {
        section(out, &path, &inner, defs);
    }
}

/// One key's row; every cell escapes `|` so the table keeps its columns.
fn row(key: &str, property: &Value, required: bool, defs: &Value) -> String {
    let cells = [
        format!("`{key}`"),
        type_of(property, defs),
        if required { "yes" } else { "" }.to_owned(),
        property
            .get("default")
            .map(|value| {
                format!(
                    "`{}`",
                    value.as_str().map_or(value.to_string(), str::to_owned)
                )
            })
            .unwrap_or_default(),
        accepted(property),
        prose(&text(property, "description")),
    ];
    let cells: Vec<String> = cells.iter().map(|cell| cell.replace('|', "\\|")).collect();
    format!("| {} |\n", cells.join(" | "))
}

/// The section title of a key that holds an object of its own.
fn child_path(parent: &str, key: &str, property: &Value) -> String {
    let parent = if parent == "Top level" {
        String::new()
    } else {
        format!("{}.", parent.trim_matches('`'))
    };
    let suffix = match property.get("additionalProperties") {
        Some(Value::Object(_)) => ".<name>",
        _ if is_array(property) => "[]",
        _ => "",
    };
    format!("`{parent}{key}{suffix}`")
}

/// The object a key holds (directly, as each entry of a map or of a list).
fn nested_object(property: &Value, defs: &Value) -> Option<Value> {
    let candidate = match property.get("additionalProperties") {
        Some(Value::Object(_)) => property.get("additionalProperties"),
        _ if is_array(property) => property.get("items"),
        _ => Some(property),
    }?;
    let candidate = resolve(candidate, defs);
    candidate.get("properties").is_some().then_some(candidate)
}

/// A `$ref`, or an `anyOf` of a `$ref` and null (an optional object),
/// replaced by what it points at.
fn resolve(value: &Value, defs: &Value) -> Value {
    if let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        let name = reference.trim_start_matches("#/$defs/");
        return resolve(defs.get(name).unwrap_or(&Value::Null), defs);
    }
    if let Some(Value::Array(options)) = value.get("anyOf")
        && let Some(object) = options.iter().find(|option| option.get("$ref").is_some())
    {
        let mut resolved = resolve(object, defs);
        if let (Some(map), Some(description)) = (resolved.as_object_mut(), value.get("description"))
        {
            map.insert("description".to_owned(), description.clone());
        }
        return resolved;
    }
    value.clone()
}

fn type_of(property: &Value, defs: &Value) -> String {
    let types: Vec<&str> = match property.get("type") {
        Some(Value::String(one)) => vec![one.as_str()],
        Some(Value::Array(many)) => many.iter().filter_map(Value::as_str).collect(),
        _ => vec![],
    };
    let types: Vec<&str> = types.into_iter().filter(|t| *t != "null").collect();
    let base = types.join(" or ");
    if property
        .get("additionalProperties")
        .is_some_and(Value::is_object)
    {
        return "map of name → object".to_owned();
    }
    if is_array(property) {
        let items = property.get("items").map(|items| resolve(items, defs));
        return match items {
            Some(items) if items.get("properties").is_some() => "list of objects".to_owned(),
            Some(items) => format!("list of {}", type_of(&items, defs)),
            None => "list".to_owned(),
        };
    }
    if base.is_empty() {
        "object".to_owned()
    } else {
        base
    }
}

fn is_array(property: &Value) -> bool {
    match property.get("type") {
        Some(Value::String(one)) => one == "array",
        Some(Value::Array(many)) => many.iter().any(|t| t == "array"),
        _ => false,
    }
}

/// Enumerations, patterns, bounds and formats, as written in the schema.
fn accepted(property: &Value) -> String {
    let mut parts = Vec::new();
    if let Some(Value::Array(values)) = property.get("enum") {
        let values: Vec<String> = values
            .iter()
            .filter(|value| !value.is_null())
            .map(|value| {
                format!(
                    "`{}`",
                    value.as_str().map_or(value.to_string(), str::to_owned)
                )
            })
            .collect();
        parts.push(values.join(", "));
    }
    let bounds: &[(&str, &str)] = &[
        ("minimum", "≥"),
        ("maximum", "≤"),
        ("minLength", "length ≥"),
        ("maxLength", "length ≤"),
        ("minProperties", "entries ≥"),
    ];
    for (key, word) in bounds {
        if let Some(bound) = property.get(*key) {
            parts.push(format!("{word} {bound}"));
        }
    }
    if let Some(pattern) = property.get("pattern").and_then(Value::as_str) {
        parts.push(format!("matches `{pattern}`"));
    }
    if let Some(pattern) = property
        .get("propertyNames")
        .and_then(|names| names.get("pattern"))
        .and_then(Value::as_str)
    {
        parts.push(format!("names match `{pattern}`"));
    }
    if let Some(format) = property.get("format").and_then(Value::as_str)
        && format != "int64"
    {
        parts.push(format!("a {format}"));
    }
    parts.join("; ")
}

/// A description as Markdown text: outside code spans, `<` starts no tag
/// (`console.<domain>` stays visible).
fn prose(text: &str) -> String {
    let mut in_code = false;
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '`' => {
                in_code = !in_code;
                out.push(ch);
            }
            '<' if !in_code => out.push_str("&lt;"),
            _ => out.push(ch),
        }
    }
    out
}

fn names(value: Option<&Value>) -> Vec<String> {
    value
        .and_then(Value::as_array)
        .map(|names| {
            names
                .iter()
                .filter_map(Value::as_str)
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

fn text(value: &Value, key: &str) -> String {
    value
        .get(key)
        .and_then(Value::as_str)
        .unwrap_or_default()
        .replace('\n', " ")
}

/// The first line (1-based) where the two differ: (line, committed, rendered).
fn first_difference(committed: &str, rendered: &str) -> Option<(usize, String, String)> {
    let mut committed = committed.lines();
    let mut rendered = rendered.lines();
    for number in 1.. {
        match (committed.next(), rendered.next()) {
            (None, None) => return None,
            (a, b) if a != b => {
                return Some((
                    number,
                    a.unwrap_or("<end>").to_owned(),
                    b.unwrap_or("<end>").to_owned(),
                ));
            }
            _ => {}
        }
    }
    None
}
