//! `spec`: any text through the parser and validator. A rejected spec is
//! one line per problem, each naming the file; an accepted one yields a
//! desired state and renders, and its lifecycle rule is one `apply` can
//! send, scoped to the prefix, with the tool's ID.

use std::sync::OnceLock;

use crate::error::Error;
use crate::render::Renderer;
use crate::spec::ids::lifecycle_rule_id;
use crate::spec::{Spec, Storage};
use crate::stores::s3::lifecycle_write::rule_from_json;

/// The file name the fuzzed text is parsed under.
const FILE: &str = "fuzz.yaml";

/// The check of the `spec` target: bytes that are not UTF-8 are skipped
/// (the tool reads specs as text and refuses other bytes before parsing).
pub fn spec(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    match Spec::parse(text, FILE) {
        Ok(spec) => accepted(&spec),
        Err(err) => rejected(&err),
    }
}

fn one_line(text: &str) -> bool {
    !text.contains(['\n', '\r'])
}

fn rejected(err: &Error) {
    if let Error::Spec(problems) = err {
        assert!(!problems.is_empty(), "a spec error without a problem");
        for problem in problems {
            let line = problem.to_string();
            assert!(one_line(&line), "a problem on several lines: {line:?}");
            assert!(
                line.starts_with(FILE),
                "a problem not naming the file: {line:?}"
            );
        }
    } else {
        let line = err.to_string();
        assert!(one_line(&line), "an error on several lines: {line:?}");
        assert!(
            line.contains(FILE),
            "an error not naming the file: {line:?}"
        );
    }
    if let Some(hint) = err.hint() {
        assert!(one_line(&hint), "a hint on several lines: {hint:?}");
    }
}

fn accepted(spec: &Spec) {
    for warning in &spec.warnings {
        assert!(one_line(warning), "a warning on several lines: {warning:?}");
    }
    for env in spec.environments.values() {
        // Only a bucket's desired state can fail (its documents come from
        // the templates); the other stores' are the spec's values.
        if let Storage::S3(s3) = &env.storage {
            let bucket = match crate::stores::s3::desired::bucket(env, s3) {
                Ok(bucket) => bucket,
                Err(e) => panic!("a valid spec has no desired state for {}: {e}", env.name),
            };
            let rule = bucket.lifecycle_rule.clone();
            let sdk_rule = rule_from_json(&rule)
                .unwrap_or_else(|e| panic!("the desired rule is not an SDK rule: {e}"));
            assert_eq!(sdk_rule.id(), Some(lifecycle_rule_id(&env.name).as_str()));
            let scope = rule["Filter"]["Prefix"].as_str().unwrap_or_default();
            assert!(
                scope.starts_with(&s3.prefix.dir()),
                "the rule's prefix {scope:?} is outside {:?}",
                s3.prefix.dir()
            );
        }
    }
    if let Some(renderer) = renderer() {
        let artifacts = renderer
            .render_spec(spec, None, &crate::stores::files)
            .unwrap_or_else(|e| panic!("a valid spec does not render: {e}"));
        for artifact in artifacts.iter().filter(|a| a.path.ends_with(".json")) {
            if let Err(e) = serde_json::from_str::<serde_json::Value>(&artifact.contents) {
                panic!("{} is not JSON: {e}", artifact.path);
            }
        }
    }
}

/// The embedded templates, loaded once.
fn renderer() -> Option<&'static Renderer> {
    static RENDERER: OnceLock<Option<Renderer>> = OnceLock::new();
    RENDERER.get_or_init(|| Renderer::new(None).ok()).as_ref()
}
