//! The tool's one clock. Every "now" the output depends on (the day
//! retention is judged against, a certificate's days left, a report's
//! `generated_at`) is read here, and nowhere else.
//!
//! Test hook, not a user feature (hidden from `--help` and the docs):
//! `CHRONOTRACE_OPS_TEST_NOW=2026-11-30T12:00:00Z` (RFC 3339) fixes the
//! clock, so the tests can snapshot command output. A value that does not
//! parse is ignored with a warning on stderr: the real clock is used.
//!
//! Only test builds honour it (the `testing` feature, which the crate's
//! dev-dependency on itself turns on for `cargo test`, the binary the
//! integration tests run included): in the release binary a variable left
//! set would move "now" for `cleanup purge` too, and a future date there
//! deletes traces still within retention. Without the feature the variable
//! is not even read.

#![warn(unreachable_pub)]

use std::sync::OnceLock;

use chrono::{DateTime, Utc};

/// The test hook's variable.
pub(crate) const TEST_NOW: &str = "CHRONOTRACE_OPS_TEST_NOW";

/// The current instant: the fixed one when the test hook is set.
pub(crate) fn now() -> DateTime<Utc> {
    fixed().unwrap_or_else(Utc::now)
}

/// Whether this build honours the test hook: test builds only.
const HONOURED: bool = cfg!(feature = "testing");

/// The test hook's instant, read once per process (so one run sees one
/// time, and a bad value is warned about once).
fn fixed() -> Option<DateTime<Utc>> {
    static FIXED: OnceLock<Option<DateTime<Utc>>> = OnceLock::new();
    *FIXED.get_or_init(|| hook(HONOURED, || std::env::var(TEST_NOW).ok()))
}

/// The hook's instant in a build that `honoured` it, from the variable's
/// value (`read`, asked only then).
fn hook(honoured: bool, read: impl FnOnce() -> Option<String>) -> Option<DateTime<Utc>> {
    if !honoured {
        return None;
    }
    let raw = read()?;
    match parse(&raw) {
        Some(at) => Some(at),
        None => {
            crate::output::warn(&format!(
                "{TEST_NOW}={raw:?} is not an RFC 3339 time (e.g. 2026-11-30T12:00:00Z); using the real clock"
            ));
            None
        }
    }
}

fn parse(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::{HONOURED, hook, parse};

    #[test]
    fn a_build_without_the_testing_feature_ignores_the_hook() {
        let set = || Some("2026-11-30T12:00:00Z".to_string());
        assert_eq!(hook(false, set), None);
        // Not even read: a release binary never looks at the variable.
        assert_eq!(hook(false, || panic!("the variable was read")), None);
        let at = hook(true, set).expect("a test build honours it");
        assert_eq!(at.to_rfc3339(), "2026-11-30T12:00:00+00:00");
        assert_eq!(hook(true, || None), None);
    }

    /// The unit tests are built with the `testing` feature (the crate's
    /// dev-dependency on itself), so `HONOURED` is true here; the release
    /// build's side is `cargo_toml_keeps_testing_out_of_plain_builds`.
    #[test]
    fn test_builds_honour_the_hook() {
        let set = || Some("2026-11-30T12:00:00Z".to_string());
        assert!(hook(HONOURED, set).is_some());
    }

    /// A plain `cargo build` (the release binary, the Dockerfile's
    /// `cargo build --release --locked`) has the `testing` feature only if
    /// a default feature or a regular dependency turns it on: neither may.
    #[test]
    fn cargo_toml_keeps_testing_out_of_plain_builds() {
        let manifest = include_str!("../Cargo.toml");
        let section = |name: &str| -> Vec<&str> {
            let header = format!("[{name}]");
            manifest
                .lines()
                .skip_while(|l| l.trim() != header)
                .skip(1)
                .take_while(|l| !l.trim_start().starts_with('['))
                .filter(|l| !l.trim_start().starts_with('#'))
                .collect()
        };
        let default = section("features")
            .into_iter()
            .find(|l| l.trim_start().starts_with("default"))
            .expect("a default feature list");
        assert!(!default.contains("testing"), "{default}");
        for line in section("dependencies") {
            assert!(
                !line.contains("testing"),
                "a regular dependency turns testing on: {line}"
            );
        }
        for line in section("features") {
            let (name, enables) = line.split_once('=').unwrap_or((line, ""));
            if name.trim() != "testing" {
                assert!(
                    !enables.contains("testing"),
                    "feature {line} turns testing on"
                );
            }
        }
        // The one place that turns it on: the dev-dependency on itself.
        let dev = section("dev-dependencies").join("\n");
        assert!(
            dev.contains(
                "chronotrace-ops = { path = \".\", features = [\"fuzzing\", \"testing\"] }"
            ),
            "{dev}"
        );
    }

    #[test]
    fn the_hook_takes_rfc3339_in_any_offset() {
        let at = parse("2026-11-30T12:00:00Z").expect("parses");
        assert_eq!(at.to_rfc3339(), "2026-11-30T12:00:00+00:00");
        let at = parse("2026-11-30T13:00:00+01:00").expect("parses");
        assert_eq!(at.to_rfc3339(), "2026-11-30T12:00:00+00:00");
        assert_eq!(parse("2026-11-30"), None);
        assert_eq!(parse("tomorrow"), None);
    }
}
