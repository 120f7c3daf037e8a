//! The tool's one clock. Every "now" the output depends on (the day
//! retention is judged against, a certificate's days left, a report's
//! `generated_at`) is read here, and nowhere else.
//!
//! Test hook, not a user feature (hidden from `--help` and the docs):
//! `CHRONOTRACE_OPS_TEST_NOW=2026-11-30T12:00:00Z` (RFC 3339) fixes the
//! clock, so the tests can snapshot command output. A value that does not
//! parse is ignored with a warning on stderr: the real clock is used.

#![warn(unreachable_pub)]

use std::sync::OnceLock;

use chrono::{DateTime, Utc};

/// The test hook's variable.
pub(crate) const TEST_NOW: &str = "CHRONOTRACE_OPS_TEST_NOW";

/// The current instant: the fixed one when the test hook is set.
pub(crate) fn now() -> DateTime<Utc> {
    fixed().unwrap_or_else(Utc::now)
}

/// The test hook's instant, read once per process (so one run sees one
/// time, and a bad value is warned about once).
fn fixed() -> Option<DateTime<Utc>> {
    static FIXED: OnceLock<Option<DateTime<Utc>>> = OnceLock::new();
    *FIXED.get_or_init(|| {
        let raw = std::env::var(TEST_NOW).ok()?;
        match parse(&raw) {
            Some(at) => Some(at),
            None => {
                crate::output::warn(&format!(
                    "{TEST_NOW}={raw:?} is not an RFC 3339 time (e.g. 2026-11-30T12:00:00Z); using the real clock"
                ));
                None
            }
        }
    })
}

fn parse(raw: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(raw.trim())
        .ok()
        .map(|at| at.with_timezone(&Utc))
}

#[cfg(test)]
mod tests {
    use super::parse;

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
