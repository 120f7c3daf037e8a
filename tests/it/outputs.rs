//! Outputs for schedules and dashboards (issue 14): `report --format
//! openmetrics` parsed by the Prometheus client's two parsers (OpenMetrics,
//! and the text format the node exporter's textfile collector reads), and
//! `check --format junit` validated against Jenkins' JUnit schema — the
//! real validators from the bench, never a hand-written reader.

use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::cleanup::{garage_fixture, run_with, write_local_fixture};
use crate::servers::server;
use crate::support::{Run, bench_file, tempdir};

/// Parses the exposition file with `prometheus_client`'s OpenMetrics parser
/// and its Prometheus text parser; returns, per parser, the samples as
/// `[name, labels, value]` (the parsers fail loudly on a malformed file).
fn parse_metrics(file: &Path) -> Value {
    let script = r#"
import json, sys
from prometheus_client.openmetrics.parser import text_string_to_metric_families as om
from prometheus_client.parser import text_string_to_metric_families as prom
text = open(sys.argv[1]).read()
out = {}
for name, parse in (("openmetrics", om), ("prometheus", prom)):
    out[name] = [[s.name, s.labels, s.value] for f in parse(text) for s in f.samples]
    out[name + "_types"] = {f.name: f.type for f in parse(text)}
print(json.dumps(out))
"#;
    run_python(script, &[file])
}

/// Validates `file` against junit-10.xsd and returns its test cases as
/// `[name, outcome]` plus the suite's counters.
fn validate_junit(file: &Path) -> Value {
    let script = r#"
import json, sys, xmlschema
import xml.etree.ElementTree as ET
xmlschema.XMLSchema(sys.argv[2]).validate(sys.argv[1])
suite = ET.parse(sys.argv[1]).getroot().find("testsuite")
cases = []
for case in suite.findall("testcase"):
    outcome = "pass"
    for child in ("failure", "skipped"):
        if case.find(child) is not None:
            outcome = child
    cases.append([case.get("name"), outcome])
print(json.dumps({"attrs": suite.attrib, "cases": cases}))
"#;
    run_python(script, &[file, &bench_file("CT_TEST_JUNIT_XSD")])
}

fn run_python(script: &str, args: &[&Path]) -> Value {
    let out = Command::new(bench_file("CT_TEST_PYTOOLS_PYTHON"))
        .arg("-c")
        .arg(script)
        .args(args)
        .output()
        .expect("run the validator");
    assert!(
        out.status.success(),
        "the validator rejected the file:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("the validator's JSON")
}

/// The value of the sample `name` with `labels` (a subset) in `samples`.
fn sample(samples: &Value, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    samples.as_array()?.iter().find_map(|s| {
        let matches = s[0] == name && labels.iter().all(|(k, v)| s[1][*k] == *v);
        matches.then(|| s[2].as_f64()).flatten()
    })
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn openmetrics_report_parses_in_both_prometheus_formats() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let file = dir.path().join("chronotrace.prom");
    Run::new(dir.path())
        .args([
            "-e",
            "staging",
            "report",
            "--format",
            "openmetrics",
            "--out",
        ])
        .args([&file])
        .run()
        .code(0);
    let text = std::fs::read_to_string(&file).expect("the metrics file");
    assert!(text.ends_with("# EOF\n"), "{text}");

    let parsed = parse_metrics(&file);
    for parser in ["openmetrics", "prometheus"] {
        let samples = &parsed[parser];
        let env = [("env", "staging"), ("store", "local")];
        assert_eq!(
            sample(samples, "chronotrace_objects", &env),
            Some(12.0),
            "{parser}: {text}"
        );
        assert_eq!(
            sample(samples, "chronotrace_bytes", &env),
            Some(36.0),
            "{parser}"
        );
        assert!(
            sample(samples, "chronotrace_expired_objects", &env).is_some_and(|n| n > 0.0),
            "{parser}: the fixture has traces past retention"
        );
        assert_eq!(
            sample(samples, "chronotrace_retention_ok", &env),
            Some(0.0),
            "{parser}"
        );
        assert!(
            sample(samples, "chronotrace_oldest_age_seconds", &env)
                .is_some_and(|s| s > 40.0 * 86400.0),
            "{parser}: the oldest partition is 40 days old"
        );
        let days: f64 = samples
            .as_array()
            .expect("samples")
            .iter()
            .filter(|s| s[0] == "chronotrace_day_objects")
            .filter_map(|s| s[2].as_f64())
            .sum();
        let outside = sample(samples, "chronotrace_outside_partitions_objects", &env);
        assert_eq!(outside, Some(1.0), "{parser}: the diagnostic file");
        assert_eq!(days + 1.0, 12.0, "{parser}: per-day counts add up");
        // The local checks ran: each has exactly one state at 1.
        let states: Vec<&Value> = samples
            .as_array()
            .expect("samples")
            .iter()
            .filter(|s| s[0] == "chronotrace_check_status" && s[2] == 1.0)
            .collect();
        assert!(!states.is_empty(), "{parser}: check states");
    }
    assert_eq!(parsed["openmetrics_types"]["chronotrace_bytes"], "gauge");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn junit_check_of_a_healthy_local_store_is_valid_and_passes() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let file = dir.path().join("check.xml");
    Run::new(dir.path())
        .args(["-e", "staging", "check", "--format", "junit", "--out"])
        .args([&file])
        .run()
        .code(0)
        .stdout_is_empty();
    let junit = validate_junit(&file);
    assert_eq!(junit["attrs"]["failures"], "0", "{junit}");
    let cases = junit["cases"].as_array().expect("cases");
    assert!(cases.iter().any(|c| c[0] == "local.directory"), "{junit}");
    assert!(cases.iter().all(|c| c[1] != "failure"), "{junit}");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn junit_check_reports_a_failing_check_as_a_failure_on_garage() {
    let garage = server("garage");
    let (_s3, _bucket, dir) = garage_fixture(&garage, "junit").await;
    let file = dir.path().join("check.xml");
    let out = run_with(
        dir.path(),
        &garage,
        &[
            "check",
            "--format",
            "junit",
            "--out",
            &file.to_string_lossy(),
        ],
    )
    .code(1);
    assert!(
        out.stdout.is_empty(),
        "the XML went to the file: {}",
        out.stdout
    );
    let junit = validate_junit(&file);
    let cases = junit["cases"].as_array().expect("cases");
    let outcome = |id: &str| cases.iter().find(|c| c[0] == id).map(|c| c[1].clone());
    assert_eq!(
        outcome("retention.lifecycle"),
        Some("failure".into()),
        "{junit}"
    );
    assert_eq!(outcome("bucket.exists"), Some("pass".into()), "{junit}");
    let failures: usize = junit["attrs"]["failures"]
        .as_str()
        .and_then(|n| n.parse().ok())
        .expect("failures");
    assert!(failures >= 1);
    let xml = std::fs::read_to_string(&file).expect("xml");
    assert!(
        !xml.contains(&garage.secret_access_key),
        "no secret in the XML"
    );
}

#[test]
fn junit_goes_to_stdout_without_out() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    let out = Run::new(dir.path())
        .args(["-e", "staging", "check", "--format", "junit"])
        .run()
        .code(0);
    assert!(
        out.stdout
            .starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.ends_with("</testsuites>\n"));
}

// --- every environment at once (`--env all`) ------------------------------

/// The local fixture's spec plus `clean` (an empty traces directory) and
/// `broken` (its path is a file: `local.directory` fails).
fn three_local_environments(root: &Path) {
    write_local_fixture(root);
    add_clean_environment(root);
    std::fs::write(root.join("not-a-dir"), b"x").expect("write");
    add_environment(root, "broken", "not-a-dir");
}

/// Adds `clean`, a local environment with an empty traces directory, to
/// the spec in `root`.
fn add_clean_environment(root: &Path) {
    std::fs::create_dir_all(root.join("clean/traces")).expect("mkdir");
    add_environment(root, "clean", "clean");
}

fn add_environment(root: &Path, name: &str, path: &str) {
    let spec = root.join("chronotrace-ops.yaml");
    let mut text = std::fs::read_to_string(&spec).expect("spec");
    text.push_str(&format!(
        "  {name}:\n    storage: local\n    path: {path}\n    retention_days: 15\n"
    ));
    std::fs::write(&spec, text).expect("write spec");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn env_all_checks_every_environment_with_the_worst_exit_code() {
    let dir = tempdir();
    three_local_environments(dir.path());
    let out = Run::new(dir.path())
        .args(["--env", "all", "--output", "json", "check"])
        .run()
        .code(1);
    let reports: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let envs: Vec<&str> = reports
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|r| r["env"].as_str())
        .collect();
    assert_eq!(envs, ["staging", "clean", "broken"]);
    let ok: Vec<bool> = reports
        .as_array()
        .expect("an array")
        .iter()
        .filter_map(|r| r["ok"].as_bool())
        .collect();
    assert_eq!(ok, [true, true, false]);

    let file = dir.path().join("all.xml");
    Run::new(dir.path())
        .args(["--env", "all", "check", "--format", "junit", "--out"])
        .args([&file])
        .run()
        .code(1);
    validate_junit(&file);
    let xml = std::fs::read_to_string(&file).expect("xml");
    assert_eq!(xml.matches("<testsuite ").count(), 3, "{xml}");
    assert!(xml.contains("name=\"chronotrace-ops check broken\""));
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn env_all_report_is_one_document_in_every_format() {
    // `broken` cannot be scanned: its error is one line on stderr, the
    // document holds the others, and the exit code is the worst (2).
    let dir = tempdir();
    three_local_environments(dir.path());
    let report = |format: &str| {
        Run::new(dir.path())
            .args(["--env", "all", "report", "--no-checks", "--format", format])
            .run()
            .code(2)
            .stderr_contains("error: env broken: ")
            .stdout
    };
    let file = dir.path().join("all.prom");
    std::fs::write(&file, report("openmetrics")).expect("write");
    let parsed = parse_metrics(&file);
    for parser in ["openmetrics", "prometheus"] {
        let samples = &parsed[parser];
        let objects = |env: &str| sample(samples, "chronotrace_objects", &[("env", env)]);
        assert_eq!(objects("staging"), Some(12.0), "{parser}: {parsed}");
        assert_eq!(objects("clean"), Some(0.0), "{parser}");
        assert_eq!(objects("broken"), None, "{parser}");
    }

    let html = report("html");
    assert_eq!(html.matches("<section id=\"env-").count(), 2, "{html}");
    assert!(html.contains("<svg id=\"volume-per-day-clean\""));
    assert_eq!(html.matches("<html").count(), 1);

    let reports: Value = serde_json::from_str(&report("json")).expect("JSON");
    assert_eq!(reports.as_array().map(Vec::len), Some(2));

    let markdown = report("markdown");
    assert_eq!(
        markdown.matches("## ChronoTrace storage report: ").count(),
        2
    );
}

#[test]
fn env_all_verify_exits_one_when_any_environment_keeps_expired_traces() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    add_clean_environment(dir.path());
    let out = Run::new(dir.path())
        .args(["--env", "all", "--output", "json", "cleanup", "verify"])
        .run()
        .code(1);
    let reports: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let ok: Vec<(String, bool)> = reports
        .as_array()
        .expect("an array")
        .iter()
        .map(|r| (r["env"].as_str().unwrap_or("").to_string(), r["ok"] == true))
        .collect();
    assert_eq!(
        ok,
        [("staging".to_string(), false), ("clean".to_string(), true)]
    );
}

#[test]
fn env_all_is_refused_by_single_environment_commands_and_reserved_in_the_spec() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    Run::new(dir.path())
        .args(["--env", "all", "plan"])
        .run()
        .code(2)
        .one_line_error("--env all: this command works on one environment");

    std::fs::write(
        dir.path().join("chronotrace-ops.yaml"),
        "project: ct\nenvironments:\n  all:\n    storage: local\n    path: disk\n    retention_days: 15\n",
    )
    .expect("write spec");
    Run::new(dir.path())
        .args(["--env", "all", "check"])
        .run()
        .code(2)
        .one_line_error("rule: spec.environment-name");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn env_all_runs_an_s3_and_a_local_environment_together() {
    let garage = server("garage");
    let (_s3, bucket, dir) = garage_fixture(&garage, "envall").await;
    add_clean_environment(dir.path());
    let out = Run::new(dir.path())
        .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
        .args(["--env", "all", "--output", "json", "report"])
        .run()
        .code(0);
    let reports: Value = serde_json::from_str(&out.stdout).expect("JSON");
    let reports = reports.as_array().expect("an array");
    assert_eq!(reports.len(), 2);
    assert_eq!(reports[0]["storage"]["bucket"], bucket.as_str());
    assert!(reports[0]["objects"].as_u64().is_some_and(|n| n > 0));
    assert_eq!(reports[1]["env"], "clean");
    assert_eq!(reports[1]["objects"], 0);
}

// --- what every JSON document carries (issue 28) --------------------------

/// Asserts that `document` (an object, or an array of them) names the
/// tool's version and `spec`.
#[track_caller]
fn assert_stamped(document: &Value, spec: &str, what: &str) {
    let objects: Vec<&Value> = match document.as_array() {
        Some(items) => items.iter().collect(),
        None => vec![document],
    };
    assert!(!objects.is_empty(), "{what}: {document}");
    for object in objects {
        assert_eq!(
            object["version"],
            env!("CARGO_PKG_VERSION"),
            "{what}: {object}"
        );
        assert_eq!(object["spec"], spec, "{what}: {object}");
    }
}

/// Issue 28: `--output json` of every command says which version of the
/// tool produced it from which spec; with `--env all`, every element of
/// the array does.
#[test]
fn issue_28_every_json_document_carries_the_version_and_the_spec() {
    let dir = tempdir();
    write_local_fixture(dir.path());
    add_clean_environment(dir.path());
    let json = |args: &[&str]| {
        let out = Run::new(dir.path())
            .args(["--output", "json"])
            .args(args)
            .run();
        serde_json::from_str::<Value>(&out.stdout)
            .unwrap_or_else(|e| panic!("{args:?}: not JSON ({e})\n{}\n{}", out.stdout, out.stderr))
    };
    let commands: [&[&str]; 8] = [
        &["-e", "staging", "render", "--out", "deploy"],
        &["-e", "staging", "plan"],
        &["-e", "staging", "apply", "--yes"],
        &["-e", "staging", "check"],
        &["-e", "staging", "cleanup", "verify"],
        &["-e", "staging", "cleanup", "purge"],
        &["-e", "staging", "report", "--no-checks"],
        &["-e", "all", "cleanup", "verify"],
    ];
    for args in commands {
        assert_stamped(&json(args), "chronotrace-ops.yaml", &args.join(" "));
    }
    let all = json(&["-e", "all", "report", "--no-checks"]);
    assert_eq!(all.as_array().map(Vec::len), Some(2), "{all}");
    assert_stamped(&all, "chronotrace-ops.yaml", "--env all report");
    // --config names the file as given; the report written with --out too.
    std::fs::rename(
        dir.path().join("chronotrace-ops.yaml"),
        dir.path().join("ops.yaml"),
    )
    .expect("rename");
    let args = [
        "--config",
        "ops.yaml",
        "-e",
        "staging",
        "report",
        "--no-checks",
    ];
    assert_stamped(&json(&args), "ops.yaml", "--config");
    Run::new(dir.path())
        .args(args)
        .args(["--format", "json", "--out", "report.json"])
        .run()
        .code(0);
    let file = std::fs::read_to_string(dir.path().join("report.json")).expect("report.json");
    let file: Value = serde_json::from_str(&file).expect("JSON");
    assert_stamped(&file, "ops.yaml", "report --out");

    // Without a spec file: the embedded starter spec's marker; init's own
    // document names the file it wrote.
    let empty = tempdir();
    let out = Run::new(empty.path())
        .args(["--output", "json", "-e", "local", "plan"])
        .run()
        .code(0);
    assert_stamped(&out.json(), "<embedded starter spec>", "embedded");
    let out = Run::new(empty.path())
        .args(["--output", "json", "init"])
        .run()
        .code(0);
    assert_eq!(
        out.json()["version"],
        env!("CARGO_PKG_VERSION"),
        "{}",
        out.stdout
    );
}
