//! What the YAML parser and serde refuse, said in the words of someone
//! editing the spec: one line, with the file, line and column, under the
//! rule `spec.syntax`. The parser's own texts name its internals (its
//! options, Rust types such as `i64` or `struct RawEnvironment`); each kind
//! of error a spec can hit gets its own message here, and only the rare
//! rest falls back to the parser's user-facing wording.

use serde_saphyr::{Error as YamlError, MessageFormatter, UserMessageFormatter};

use crate::error::{Error, SourceLocation, SpecProblem};

/// The rule every parse error is reported under.
const RULE: &str = "spec.syntax";

/// Turns a YAML or shape error into one problem with file, line and column.
pub(super) fn yaml_error(err: &YamlError, file: &str) -> Error {
    let (line, column) = err
        .location()
        .map(|loc| (loc.line(), loc.column()))
        .unwrap_or((0, 0));
    Error::Spec(vec![SpecProblem {
        at: SourceLocation {
            file: file.to_string(),
            line,
            column,
        },
        rule: RULE,
        message: message(err),
    }])
}

/// The message for `err`, without location (printed once, in front).
fn message(err: &YamlError) -> String {
    match err {
        YamlError::WithSnippet { error, .. } | YamlError::AliasError { error, .. } => {
            message(error)
        }
        YamlError::DuplicateMappingKey { key, .. } => match key {
            Some(key) => format!(
                "`{key}` is written twice in the same block: keep one (YAML does not merge them)"
            ),
            None => "a key is written twice in the same block: keep one".into(),
        },
        YamlError::SerdeUnknownField {
            field, expected, ..
        } => unknown_key(field, expected),
        YamlError::SerdeMissingField { field, .. } => {
            format!("`{field}` is missing here: this block needs it")
        }
        YamlError::SerdeInvalidType {
            unexpected,
            expected,
            ..
        }
        | YamlError::SerdeInvalidValue {
            unexpected,
            expected,
            ..
        } => format!(
            "expected {}, found {}",
            kind_of_value(expected),
            found(unexpected)
        ),
        YamlError::SerdeInvalidLength { expected, .. } => {
            format!("expected {}", kind_of_value(expected))
        }
        YamlError::SerdeUnknownVariant {
            variant, expected, ..
        } => format!(
            "unknown value `{variant}`: expected one of {}",
            ticked(expected)
        ),
        YamlError::InvalidScalar { ty, .. } => format!("expected {}", kind_of_value(ty)),
        YamlError::InvalidBooleanStrict { .. } => "expected true or false".into(),
        YamlError::NullIntoString { .. } => {
            "this value is empty: write one, or remove the key".into()
        }
        YamlError::Unexpected { expected, .. } => {
            format!("expected {} here", kind_of_value(expected))
        }
        YamlError::Eof { .. } => {
            "the file ends in the middle of a value: is a bracket or a quote left open?".into()
        }
        YamlError::MultipleDocuments { .. } => {
            "the file holds several YAML documents (a second `---`): keep the spec in one".into()
        }
        YamlError::InvalidUtf8Input => "the file is not UTF-8 text".into(),
        YamlError::UnknownAnchor { .. } => {
            "this alias (`*name`) refers to no anchor (`&name`) written before it".into()
        }
        YamlError::AliasReplayCounterOverflow { .. }
        | YamlError::AliasReplayLimitExceeded { .. }
        | YamlError::AliasExpansionLimitExceeded { .. }
        | YamlError::AliasReplayStackDepthExceeded { .. }
        | YamlError::Budget { .. } => {
            "the YAML is too large or repeats its aliases too often to be a spec".into()
        }
        YamlError::ExternalMessage { msg, .. } => {
            format!("this is not valid YAML: {}", first_line(msg))
        }
        other => first_line(&UserMessageFormatter.format_message(other)),
    }
}

/// `unknown key ...: expected one of ...`, with the likely intended key
/// when one is close. The list comes last (a test reads the keys from it).
fn unknown_key(field: &str, expected: &[&str]) -> String {
    if expected.is_empty() {
        return format!("unknown key `{field}`: this block takes no keys");
    }
    let guess = expected
        .iter()
        .map(|key| (edit_distance(field, key), key))
        .filter(|(distance, key)| {
            *distance <= 2 || (field.len() >= 4 && (key.contains(field) || field.contains(*key)))
        })
        .min_by_key(|(distance, _)| *distance)
        .map(|(_, key)| format!(" (did you mean `{key}`?)"))
        .unwrap_or_default();
    format!(
        "unknown key `{field}`{guess}: expected one of {}",
        ticked(expected)
    )
}

/// `` `a`, `b`, `c` ``.
fn ticked(names: &[&str]) -> String {
    let ticked: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
    ticked.join(", ")
}

/// What serde expected, in YAML terms rather than Rust types.
fn kind_of_value(expected: &str) -> String {
    let plain = expected.trim();
    let words = match plain {
        "i8" | "i16" | "i32" | "i64" | "i128" | "u8" | "u16" | "u32" | "u64" | "u128"
        | "an integer" | "integer" => "a whole number",
        "f32" | "f64" | "a float" => "a number",
        "bool" | "a boolean" | "boolean" => "true or false",
        "str" | "string" | "a string" | "a borrowed string" | "char" | "a character" => "text",
        "string scalar" | "scalar" => "a single value (text), not a list or a block",
        "a sequence" | "sequence" | "sequence start" => "a list",
        "a map" | "map" | "mapping" | "mapping start" => "a block of `key: value` lines",
        _ if plain.starts_with("struct ") || plain.starts_with("a map") => {
            "a block of `key: value` lines"
        }
        _ if plain.starts_with("a sequence") || plain.starts_with("an array") => "a list",
        _ => return plain.to_string(),
    };
    words.to_string()
}

/// serde's description of what was found (`string "x"`, `integer `5``,
/// `map`), in the same terms.
fn found(unexpected: &str) -> String {
    let unexpected = unexpected.trim();
    let quoted = |rest: &str| rest.trim().to_string();
    if let Some(rest) = unexpected.strip_prefix("string ") {
        return format!("the text {}", quoted(rest));
    }
    for (prefix, what) in [
        ("integer ", "the number "),
        ("floating point ", "the number "),
        ("boolean ", ""),
    ] {
        if let Some(rest) = unexpected.strip_prefix(prefix) {
            return format!("{what}{}", quoted(rest).trim_matches('`'));
        }
    }
    match unexpected {
        "map" => "a block of keys".into(),
        "sequence" => "a list".into(),
        "unit value" | "null" => "nothing (an empty value)".into(),
        other => other.to_string(),
    }
}

/// The number of single-character edits from `a` to `b` (Levenshtein).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut previous: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut current = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let substitute = previous[j] + usize::from(ca != *cb);
            current.push(substitute.min(previous[j + 1] + 1).min(current[j] + 1));
        }
        previous = current;
    }
    previous[b.len()]
}

/// The message of a parser error without its rendered snippet or the
/// location it repeats (the caller prints the location once, in front).
fn first_line(message: &str) -> String {
    let line = message.lines().next().unwrap_or(message).trim();
    let line = line.strip_prefix("error: ").unwrap_or(line);
    let line = match line.find(" at line ") {
        Some(idx) => &line[..idx],
        None => line,
    };
    strip_location_prefix(line).to_string()
}

/// Drops a leading `line N column M: `.
fn strip_location_prefix(line: &str) -> &str {
    let Some(rest) = line.strip_prefix("line ") else {
        return line;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    let Some(rest) = rest.strip_prefix(" column ") else {
        return line;
    };
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    rest.strip_prefix(": ").unwrap_or(line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_close_key_is_suggested() {
        assert_eq!(edit_distance("retention", "retention_days"), 5);
        assert_eq!(edit_distance("regoin", "region"), 2);
        let message = unknown_key("retention", &["storage", "retention_days"]);
        assert!(
            message.contains("did you mean `retention_days`?"),
            "{message}"
        );
        assert!(message.ends_with("expected one of `storage`, `retention_days`"));
        assert!(!unknown_key("zzz", &["storage"]).contains("did you mean"));
    }

    #[test]
    fn rust_types_become_yaml_words() {
        assert_eq!(kind_of_value("i64"), "a whole number");
        assert_eq!(
            kind_of_value("struct RawEnvironment"),
            "a block of `key: value` lines"
        );
        assert_eq!(found("string \"fifteen\""), "the text \"fifteen\"");
        assert_eq!(found("integer `5`"), "the number 5");
        assert_eq!(found("sequence"), "a list");
    }
}
