//! `report` against real stores (issue 5): its counts agree with the
//! bucket, and the HTML report is one self-contained file that a headless
//! Chromium renders with its SVG charts.

use crate::cleanup::{PREFIX, all_keys, day, garage_fixture, json, run_with, write_local_fixture};
use crate::report_html::rendered_dom;
use crate::servers::server;
use crate::support::{Run, tempdir};

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn garage_report_agrees_with_the_bucket() {
    let garage = server("garage");
    let (s3, bucket, dir) = garage_fixture(&garage, "report").await;

    let report = json(&run_with(dir.path(), &garage, &["report"]).code(0));
    let ours = all_keys(&s3, &bucket)
        .await
        .into_iter()
        .filter(|k| k.starts_with(&format!("{PREFIX}/")))
        .count() as u64;
    assert_eq!(report["objects"], ours, "{report}");
    assert_eq!(report["bytes"], ours * 3);
    assert_eq!(
        report["outside_partitions"]["objects"], 1,
        "the diagnostic file"
    );
    let by_day = report["by_day"].as_array().expect("by_day");
    let summed: u64 = by_day.iter().filter_map(|d| d["objects"].as_u64()).sum();
    assert_eq!(summed + 1, ours);
    assert_eq!(by_day.len(), 5);
    assert_eq!(by_day[0]["date"], day(40));
    assert_eq!(report["oldest"], day(40));
    assert_eq!(report["newest"], day(0));
    // The environment is reachable: the check results come with the report.
    let checks = report["checks"].as_array().expect("checks");
    let status_of = |id: &str| {
        checks
            .iter()
            .find(|c| c["id"] == id)
            .map(|c| c["status"].clone())
    };
    assert_eq!(status_of("bucket.exists"), Some(serde_json::json!("pass")));
    assert_eq!(
        status_of("retention.lifecycle"),
        Some(serde_json::json!("fail"))
    );
    assert_eq!(report["retention"]["expired_objects"], 5);
    assert_eq!(report["storage"]["bucket"], bucket.as_str());
    let ids: Vec<&str> = report["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter_map(|f| f["id"].as_str())
        .collect();
    assert!(ids.contains(&"retention.expired"), "{ids:?}");
    assert!(ids.contains(&"lifecycle.missing"), "{ids:?}");
    assert!(
        !report.to_string().contains(&garage.secret_access_key),
        "no secret in the report"
    );
}

/// Issue 11: one session per run. `report` scans, reads the lifecycle rule
/// and runs the checks with one set of clients: credentials resolve once.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn report_resolves_credentials_once() {
    let garage = server("garage");
    let (_s3, _bucket, dir) = garage_fixture(&garage, "session").await;
    let out = run_with(dir.path(), &garage, &["-v", "report"]).code(0);
    let resolved = out.stderr.matches("credentials resolved").count();
    assert_eq!(resolved, 1, "{}", out.stderr);
    let _ = json(&out);
}

#[test]
fn markdown_report_fits_a_job_summary() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let out = Run::new(dir.path())
        .args(["-e", "staging", "report", "--format", "markdown"])
        .run()
        .code(0);
    assert!(
        out.stdout
            .starts_with("## ChronoTrace storage report: `staging`"),
        "{}",
        out.stdout
    );
    assert!(
        out.stdout.contains("| Traces | 12 objects, 36 B |"),
        "{}",
        out.stdout
    );
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn html_report_is_self_contained_and_renders_in_chromium() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let file = dir.path().join("report.html");
    Run::new(dir.path())
        .args(["-e", "staging", "report", "--format", "html", "--out"])
        .args([&file])
        .run()
        .code(0);
    let html = std::fs::read_to_string(&file).expect("the report file");
    assert!(html.contains("<svg id=\"volume-per-day\""));
    assert!(html.contains("<svg id=\"age-histogram\""));
    for external in ["<script", "src=", "<link", "url(", "@import"] {
        assert!(
            !html.contains(external),
            "external asset or script: {external}"
        );
    }

    let dom = rendered_dom(&file);
    assert!(
        dom.contains("<svg id=\"volume-per-day\""),
        "rendered DOM lacks the chart:\n{dom}"
    );
    assert!(dom.contains("12 objects"), "rendered DOM lacks the summary");
    assert_eq!(
        dom.matches("<rect class=\"bar ").count(),
        41 + 8,
        "one bar per day from 40 days ago to today, and per age bucket"
    );
}
