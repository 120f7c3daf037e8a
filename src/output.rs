//! Data to stdout (as text for people or JSON for scripts); notes and
//! warnings to stderr. A closed pipe (`| head`) is not an error.

#![warn(unreachable_pub)]

use std::io::{self, Write};

use serde::Serialize;
use serde_json::{Map, Value};

use crate::error::{Error, Result};

/// What stdout carries: text for people or JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

/// What every JSON document of a run carries beside its data: the tool's
/// version and the spec it read (a path as given, or the embedded spec's
/// marker), so a stored result says what produced it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stamp {
    spec: String,
}

/// The tool's version, as `--version` says it.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

impl Stamp {
    /// The stamp of a run that read the spec `spec`.
    pub(crate) fn new(spec: String) -> Stamp {
        Stamp { spec }
    }

    /// `value` as JSON, `"version"` and `"spec"` first in it when it is an
    /// object, and in each of its objects when it is an array (`--env
    /// all`): every element stands alone, as one environment's object does.
    pub(crate) fn onto<T: Serialize>(&self, value: &T) -> serde_json::Result<Value> {
        let mut value = serde_json::to_value(value)?;
        match &mut value {
            Value::Object(fields) => self.prepend(fields),
            Value::Array(items) => items
                .iter_mut()
                .filter_map(Value::as_object_mut)
                .for_each(|fields| self.prepend(fields)),
            _ => {}
        }
        Ok(value)
    }

    fn prepend(&self, fields: &mut Map<String, Value>) {
        let mut stamped = Map::new();
        stamped.insert("version".into(), VERSION.into());
        stamped.insert("spec".into(), self.spec.clone().into());
        stamped.append(fields);
        *fields = stamped;
    }

    /// The JSON document of one environment's value (an object) or of
    /// several (an array), stamped, pretty, with a final newline.
    pub(crate) fn document<T: Serialize>(&self, values: &[T]) -> Result<String> {
        let value = match values {
            [one] => self.onto(one),
            many => self.onto(&many),
        };
        let mut text = value
            .and_then(|v| serde_json::to_string_pretty(&v))
            .map_err(|e| Error::usage(format!("the result as JSON: {e}")))?;
        text.push('\n');
        Ok(text)
    }
}

/// Prints `value` as JSON (stamped), or calls `human` to print it as text.
pub(crate) fn emit<T: Serialize>(
    format: OutputFormat,
    stamp: &Stamp,
    value: &T,
    human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    // A first Ctrl-C while the result is printed waits for the end of it:
    // half a JSON document is worse than none.
    let _printing = crate::interrupt::cooperate();
    let mut stdout = io::stdout().lock();
    let result = match format {
        OutputFormat::Json => stamp
            .onto(value)
            .and_then(|value| serde_json::to_writer_pretty(&mut stdout, &value))
            .map_err(io::Error::other)
            .and_then(|()| writeln!(stdout)),
        OutputFormat::Text => human(&mut stdout),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
        Ok(()) => Ok(()),
    }
}

/// A note for people on stderr (never data).
pub(crate) fn note(message: &str) {
    let _ = writeln!(io::stderr().lock(), "note: {message}");
}

/// An error of one part of a run on stderr (the run goes on; the exit
/// status says it failed).
pub(crate) fn error_line(message: &str) {
    let _ = writeln!(io::stderr().lock(), "error: {message}");
}

/// A warning on stderr.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {message}");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stamp_comes_first_in_an_object_and_in_each_object_of_an_array() {
        let stamp = Stamp::new("ops/chronotrace-ops.yaml".into());
        let one = stamp
            .onto(&serde_json::json!({"env": "staging", "ok": true}))
            .unwrap_or_default();
        let keys: Vec<&String> = one
            .as_object()
            .map(|o| o.keys().collect())
            .unwrap_or_default();
        assert_eq!(keys, ["version", "spec", "env", "ok"]);
        assert_eq!(one["version"], VERSION);
        assert_eq!(one["spec"], "ops/chronotrace-ops.yaml");
        let many = stamp
            .onto(&serde_json::json!([{"env": "a"}, {"env": "b"}]))
            .unwrap_or_default();
        for item in many.as_array().into_iter().flatten() {
            assert_eq!(item["version"], VERSION, "{many}");
            assert_eq!(item["spec"], "ops/chronotrace-ops.yaml", "{many}");
        }
        let text = stamp
            .document(&[serde_json::json!({"env": "a"})])
            .unwrap_or_default();
        assert!(
            text.starts_with("{\n  \"version\": ") && text.ends_with("}\n"),
            "{text}"
        );
    }
}
