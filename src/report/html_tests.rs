//! Unit tests of the HTML page: the day filling, and hostile text staying
//! text (the browser-level proof is `tests/it/report_html.rs`).

use super::*;
use crate::check::{CheckResult, Status};
use crate::report::model::{ClassRow, Finding, Inputs, Severity, StorageSummary};
use crate::retention::RuleStatus;
use crate::scan::{Judge, ScanOutcome, Volume};

#[test]
fn empty_days_are_filled_in() {
    let row = |date: &str, objects| DayRow {
        date: date.into(),
        objects,
        bytes: objects,
    };
    let filled = continuous_days(&[row("2026-02-27", 1), row("2026-03-02", 2)]);
    let dates: Vec<(&str, u64)> = filled
        .iter()
        .map(|r| (r.date.as_str(), r.objects))
        .collect();
    assert_eq!(
        dates,
        [
            ("2026-02-27", 1),
            ("2026-02-28", 0),
            ("2026-03-01", 0),
            ("2026-03-02", 2)
        ]
    );
    assert!(continuous_days(&[]).is_empty());
}

const HOSTILE: &str =
    r#"<script>document.title='pwned'</script>"'</svg><img src=x onerror=alert(1)>&amp;"#;

fn hostile_report() -> Report {
    let judge = Judge::fixture();
    let today = judge.today;
    let mut outcome = ScanOutcome::default();
    outcome.tally.current = Volume {
        objects: 3,
        bytes: 9,
    };
    outcome.tally.by_day.insert(today, outcome.tally.current);
    let mut report = Report::build(Inputs {
        env: HOSTILE,
        generated_at: HOSTILE.into(),
        storage: StorageSummary {
            location: HOSTILE.into(),
            ..StorageSummary::default()
        },
        judge: &judge,
        outcome: &outcome,
        lifecycle: Some(RuleStatus {
            rule_id: HOSTILE.into(),
            supported: true,
            present: true,
            problems: vec![HOSTILE.into()],
            ..RuleStatus::default()
        }),
        noncurrent_expiry: false,
    });
    report.storage_classes.push(ClassRow {
        class: HOSTILE.into(),
        objects: 1,
        bytes: 1,
    });
    report.age_histogram[0].label = HOSTILE.into();
    report.findings.push(Finding {
        severity: Severity::Info,
        id: HOSTILE.into(),
        message: HOSTILE.into(),
    });
    report.with_checks(vec![CheckResult {
        id: HOSTILE.into(),
        status: Status::Fail,
        message: HOSTILE.into(),
        hint: None,
        duration_ms: 0,
    }])
}

#[test]
fn hostile_text_is_escaped_everywhere_it_appears() {
    let html = render(std::slice::from_ref(&hostile_report())).expect("renders");
    for markup in ["<script", "<img", "</svg><img", "onerror=alert(1)>"] {
        assert!(!html.contains(markup), "raw {markup} in\n{html}");
    }
    // Each hostile value shows as text: env (title and heading), location,
    // rule id, class, age label (label and tooltip), findings (the
    // lifecycle problem, ours, the failed check's), the check row (id and
    // message) and the generation time.
    let escaped = "&lt;script&gt;document.title=&#x27;pwned&#x27;&lt;&#x2F;script&gt;";
    assert!(
        html.matches(escaped).count() >= 14,
        "{}: {html}",
        html.matches(escaped).count()
    );
    assert!(html.contains("&amp;amp;"), "an entity stays literal");
    // The document's own markup is intact: two charts, whole.
    assert_eq!(html.matches("<svg ").count(), 2);
    assert_eq!(html.matches("</svg>").count(), 2);
}

#[test]
fn the_page_keeps_its_shape() {
    let html = render(std::slice::from_ref(&hostile_report())).expect("renders");
    assert!(
        html.starts_with("<!DOCTYPE html>\n<html lang=\"en\">"),
        "{html}"
    );
    assert!(html.contains("<table id=\"summary\">"));
    assert!(html.contains("<td id=\"objects\">3 objects, 9 B</td>"));
    assert!(html.contains("<svg id=\"volume-per-day\" class=\"chart\""));
    assert_eq!(html.matches("<rect class=\"bar ").count(), 1 + 8);
    assert!(html.trim_end().ends_with("</body></html>"));
}
