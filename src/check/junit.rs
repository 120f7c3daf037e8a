//! The check report as JUnit XML (`check --format junit`), for the test
//! report panels of CI systems (Jenkins, GitLab, GitHub actions that read
//! JUnit). One test case per check: a failed check is a `<failure>`, a
//! skipped one `<skipped>`, a warning passes with its message in
//! `<system-out>` (a warning never fails `check`, so it never fails the
//! CI panel either). The shape follows Jenkins' `junit-10.xsd`, the schema
//! the bench validates it against.

use std::fmt::Write as _;

use super::{Report, Status};

/// Renders `reports` (one per environment) as one JUnit `<testsuites>`
/// document with a `<testsuite>` each.
pub(crate) fn render(reports: &[Report], timestamp: &str) -> String {
    let tests: usize = reports.iter().map(|r| r.checks.len()).sum();
    let failures: usize = reports.iter().map(|r| r.count(Status::Fail)).sum();
    let seconds: f64 = reports.iter().map(seconds).sum();
    let mut xml = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n");
    let _ = writeln!(
        xml,
        "<testsuites name=\"chronotrace-ops check\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" time=\"{seconds:.3}\">"
    );
    for report in reports {
        suite(&mut xml, report, timestamp);
    }
    xml.push_str("</testsuites>\n");
    xml
}

fn seconds(report: &Report) -> f64 {
    report
        .checks
        .iter()
        .map(|c| c.duration_ms as f64 / 1000.0)
        .sum()
}

/// One environment's `<testsuite>`.
fn suite(xml: &mut String, report: &Report, timestamp: &str) {
    let tests = report.checks.len();
    let failures = report.count(Status::Fail);
    let skipped = report.count(Status::Skip);
    let seconds = seconds(report);
    let suite = format!("chronotrace-ops check {}", report.env);
    let classname = format!("chronotrace-ops.{}", report.env);
    let _ = writeln!(
        xml,
        "  <testsuite name=\"{}\" tests=\"{tests}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{seconds:.3}\" timestamp=\"{}\">",
        escape(&suite),
        escape(timestamp)
    );
    for check in &report.checks {
        let _ = write!(
            xml,
            "    <testcase classname=\"{}\" name=\"{}\" time=\"{:.3}\"",
            escape(&classname),
            escape(&check.id),
            check.duration_ms as f64 / 1000.0
        );
        let detail = match &check.hint {
            Some(hint) => format!("{}\nhint: {hint}", check.message),
            None => check.message.clone(),
        };
        match check.status {
            Status::Pass => xml.push_str("/>\n"),
            Status::Warn => {
                let _ = writeln!(
                    xml,
                    ">\n      <system-out>warning: {}</system-out>\n    </testcase>",
                    escape(&detail)
                );
            }
            Status::Fail => {
                let _ = writeln!(
                    xml,
                    ">\n      <failure message=\"{}\" type=\"fail\">{}</failure>\n    </testcase>",
                    escape(&check.message),
                    escape(&detail)
                );
            }
            Status::Skip => {
                let _ = writeln!(
                    xml,
                    ">\n      <skipped message=\"{}\"/>\n    </testcase>",
                    escape(&check.message)
                );
            }
        }
    }
    xml.push_str("  </testsuite>\n");
}

/// Text for an XML attribute or element: the five markup characters as
/// entities, and characters XML 1.0 cannot hold (most control characters,
/// which a server's error message may carry) as U+FFFD.
fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if (c as u32) < 0x20 || c == '\u{FFFE}' || c == '\u{FFFF}' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::CheckResult;

    fn result(id: &str, status: Status, message: &str) -> CheckResult {
        CheckResult {
            id: id.to_string(),
            status,
            message: message.to_string(),
            hint: None,
            duration_ms: 1500,
        }
    }

    #[test]
    fn one_case_per_check_with_failures_and_skips_counted() {
        let mut failed = result("bucket.exists", Status::Fail, "no <bucket> & \"x\"");
        failed.hint = Some("run apply".into());
        let report = Report::new(
            "prod",
            vec![
                result("dns", Status::Pass, "ok"),
                result("tls", Status::Warn, "expires in 20 days"),
                failed,
                result("probe", Status::Skip, "bucket missing"),
            ],
        );
        let xml = render(&[report], "2026-12-01T00:00:00Z");
        assert!(xml.contains(
            "<testsuite name=\"chronotrace-ops check prod\" tests=\"4\" failures=\"1\" errors=\"0\" skipped=\"1\" time=\"6.000\""
        ));
        assert!(xml.contains(
            "<testcase classname=\"chronotrace-ops.prod\" name=\"dns\" time=\"1.500\"/>"
        ));
        assert!(xml.contains("<system-out>warning: expires in 20 days</system-out>"));
        assert!(xml.contains(
            "<failure message=\"no &lt;bucket&gt; &amp; &quot;x&quot;\" type=\"fail\">no &lt;bucket&gt; &amp; &quot;x&quot;\nhint: run apply</failure>"
        ));
        assert!(xml.contains("<skipped message=\"bucket missing\"/>"));
    }

    #[test]
    fn characters_xml_cannot_hold_are_replaced() {
        assert_eq!(escape("a\u{1}b\tc'"), "a\u{FFFD}b\tc&apos;");
    }
}
