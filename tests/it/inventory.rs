//! `report` and `cleanup verify` reading an S3 Inventory (issue 14, item 2)
//! on the bench's Garage: inventories written by an independent writer
//! (`scripts/bench/write_inventory.py`: it lists the bucket itself and
//! writes Parquet with pyarrow, or gzipped CSV, in AWS's layout). The
//! figures equal the listing's on the same objects; `auto` picks a fresh
//! inventory and lists past 48 hours; a corrupt manifest, or one naming
//! another bucket, is a one-line error. Reading row group by row group and
//! line by line (bounded memory) is proved for correctness only: the
//! writer's row groups hold 3 rows and its rows span 2 files, so a reader
//! that did not go group by group and file by file would miscount.

use std::path::Path;
use std::process::Command;

use chrono::{Duration, SecondsFormat, Utc};
use serde_json::Value;

use crate::cleanup::{PREFIX, RETENTION, create_bucket, garage_fixture, json, run_with};
use crate::servers::{Endpoint, s3_client, server, unique_bucket};
use crate::support::{Run, tempdir};

/// The spec's inventory configuration ID (`chronotrace-ops-{env}`).
const CONFIG_ID: &str = "chronotrace-ops-staging";

/// The Garage fixture of `cleanup` with an inventory destination bucket,
/// and the spec naming it.
async fn fixture(
    garage: &Endpoint,
    tag: &str,
    format: &str,
) -> (String, String, tempfile::TempDir) {
    let (_s3, bucket, dir) = garage_fixture(garage, tag).await;
    let dest = unique_bucket(&format!("{tag}-inv"));
    create_bucket(&s3_client(garage), garage, &dest).await;
    let spec_file = dir.path().join("chronotrace-ops.yaml");
    let mut spec = std::fs::read_to_string(&spec_file).expect("the spec");
    spec.push_str(&format!(
        "    inventory: {{ destination: s3://{dest}/inventories, format: {format} }}\n"
    ));
    std::fs::write(&spec_file, spec).expect("write the spec");
    (bucket, dest, dir)
}

/// Writes an inventory of `bucket` into `dest` with the independent
/// writer; `extra`: its options (`--created`, faults).
fn write_inventory(garage: &Endpoint, bucket: &str, dest: &str, format: &str, extra: &[&str]) {
    let script = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/scripts/bench/write_inventory.py"
    );
    let out = Command::new(crate::support::bench_file("CT_TEST_PYTOOLS_PYTHON"))
        .arg(script)
        .args(["--endpoint", &garage.url, "--region", &garage.region])
        .args(["--bucket", bucket, "--dest-bucket", dest])
        .args(["--dest-prefix", "inventories", "--config-id", CONFIG_ID])
        .args(["--format", format])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
        .output()
        .expect("run the inventory writer");
    assert!(
        out.status.success(),
        "write_inventory.py failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// RFC 3339 of `hours` ago.
fn hours_ago(hours: i64) -> String {
    (Utc::now() - Duration::hours(hours)).to_rfc3339_opts(SecondsFormat::Secs, true)
}

fn report(dir: &Path, garage: &Endpoint, source: &str) -> Value {
    json(&run_with(dir, garage, &["report", "--no-checks", "--source", source]).code(0))
}

fn verify(dir: &Path, garage: &Endpoint, source: &str) -> Value {
    // 5 traces are past retention plus grace in the fixture: exit 1.
    json(&run_with(dir, garage, &["cleanup", "verify", "--source", source]).code(1))
}

/// The fields of `value` named in `fields`.
fn pick(value: &Value, fields: &[&str]) -> Value {
    fields
        .iter()
        .map(|f| ((*f).to_string(), value[f].clone()))
        .collect()
}

/// The figures both sources must agree on: the report's, and verify's.
const REPORT_FIGURES: &[&str] = &[
    "objects",
    "bytes",
    "by_day",
    "oldest",
    "newest",
    "outside_partitions",
    "retention",
];
const VERIFY_FIGURES: &[&str] = &[
    "ok",
    "scanned_objects",
    "expired_objects",
    "expired_bytes",
    "oldest",
    "partitions_found",
    "partitions_listed",
    "expired_partitions",
];

async fn same_counts_as_the_listing(format: &str) {
    let garage = server("garage");
    let (bucket, dest, dir) = fixture(&garage, &format!("inv-{format}"), format).await;
    write_inventory(&garage, &bucket, &dest, format, &[]);

    // Listed, then read from the inventory: the same figures.
    let both = |run: fn(&Path, &Endpoint, &str) -> Value, fields: &[&str]| {
        let listed = run(dir.path(), &garage, "listing");
        let read = run(dir.path(), &garage, "inventory");
        assert_eq!(pick(&read, fields), pick(&listed, fields), "{read:#}");
        (listed, read)
    };
    let (listed, read) = both(report, REPORT_FIGURES);
    assert_eq!(
        listed["objects"], 12,
        "the fixture's traces and diagnostic file"
    );
    assert!(
        listed["storage"].get("source").is_none(),
        "listing: no new field"
    );
    let source = &read["storage"]["source"];
    assert_eq!(source["kind"], "inventory", "{source}");
    assert!(
        source["age_hours"].as_f64().is_some_and(|h| h < 1.0),
        "{source}"
    );
    assert!(
        source["manifest"].as_str().is_some_and(
            |m| m.starts_with(&format!("s3://{dest}/inventories/{bucket}/{CONFIG_ID}/"))
        ),
        "{source}"
    );

    let (listed, read) = both(verify, VERIFY_FIGURES);
    assert_eq!(listed["expired_objects"], 5);
    assert_eq!(read["source"]["kind"], "inventory");

    // Every human format says how old the figures are.
    let report_as = |format: &str| {
        let mut args = vec!["report", "--no-checks", "--source", "inventory"];
        args.extend(
            ["--format", format]
                .iter()
                .copied()
                .filter(|_| format != "text"),
        );
        args.into_iter().map(str::to_string).collect::<Vec<_>>()
    };
    let verify_args = ["cleanup", "verify", "--source", "inventory"].map(str::to_string);
    for (args, says) in [
        (report_as("text"), "source      S3 Inventory as of"),
        (report_as("markdown"), "| Source | S3 Inventory as of"),
        (report_as("html"), "<th>Source</th><td>S3 Inventory as of"),
        (verify_args.to_vec(), "  source: S3 Inventory as of"),
        (report_as("openmetrics"), "chronotrace_data_age_seconds{"),
    ] {
        let out = Run::new(dir.path())
            .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &garage.secret_access_key)
            .args(["-e", "staging"])
            .args(&args)
            .run();
        assert!(out.stdout.contains(says), "{args:?}: {}", out.stdout);
        let metrics = args.iter().any(|a| a == "openmetrics");
        assert!(
            metrics || out.stdout.contains("hours old"),
            "{args:?}: {}",
            out.stdout
        );
    }
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_parquet_inventory_gives_the_listing_s_counts() {
    same_counts_as_the_listing("parquet").await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_csv_inventory_gives_the_listing_s_counts() {
    same_counts_as_the_listing("csv").await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn auto_reads_a_fresh_inventory_and_lists_past_48_hours() {
    let garage = server("garage");
    let (bucket, dest, dir) = fixture(&garage, "inv-auto", "parquet").await;

    // No inventory yet: auto lists and says why; inventory refuses.
    let read = report(dir.path(), &garage, "auto");
    assert_eq!(read["storage"]["source"]["kind"], "listing", "{read:#}");
    run_with(dir.path(), &garage, &["report", "--source", "inventory"])
        .code(2)
        .one_line_error("no complete S3 Inventory");

    // Three days old: still read on request, but auto lists.
    write_inventory(
        &garage,
        &bucket,
        &dest,
        "parquet",
        &["--created", &hours_ago(72)],
    );
    let read = report(dir.path(), &garage, "auto");
    let source = &read["storage"]["source"];
    assert_eq!(source["kind"], "listing", "{source}");
    assert!(
        source["note"]
            .as_str()
            .is_some_and(|n| n.contains("more than 48")),
        "{source}"
    );
    let old = report(dir.path(), &garage, "inventory");
    assert!(
        old["storage"]["source"]["age_hours"]
            .as_f64()
            .is_some_and(|h| h > 71.0)
    );

    // A fresh one is picked; one still being written (no checksum) is not.
    write_inventory(
        &garage,
        &bucket,
        &dest,
        "parquet",
        &["--created", &hours_ago(2)],
    );
    write_inventory(&garage, &bucket, &dest, "parquet", &["--no-checksum"]);
    let read = verify(dir.path(), &garage, "auto");
    let source = &read["source"];
    assert_eq!(source["kind"], "inventory", "{source}");
    let age = source["age_hours"].as_f64().unwrap_or_default();
    assert!((1.5..3.0).contains(&age), "the 2-hour-old one: {source}");
    assert_eq!(read["expired_objects"], 5);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_corrupt_or_foreign_manifest_is_a_one_line_error() {
    let garage = server("garage");
    let (bucket, dest, dir) = fixture(&garage, "inv-bad", "csv").await;
    write_inventory(&garage, &bucket, &dest, "csv", &["--corrupt-checksum"]);
    for args in [
        &["report", "--source", "inventory"][..],
        &["cleanup", "verify", "--source", "auto"][..],
    ] {
        run_with(dir.path(), &garage, args)
            .code(2)
            .one_line_error("the manifest is corrupt");
    }

    let (bucket, dest, dir) = fixture(&garage, "inv-foreign", "csv").await;
    write_inventory(
        &garage,
        &bucket,
        &dest,
        "csv",
        &["--source-name", "someone-elses-bucket"],
    );
    run_with(
        dir.path(),
        &garage,
        &["cleanup", "verify", "--source", "inventory"],
    )
    .code(2)
    .one_line_error("lists bucket 'someone-elses-bucket'");
}

/// Versions and delete markers (`IncludedObjectVersions: All`) on moto's
/// versioned bucket: the inventory's version fields give the listing's
/// counts of noncurrent versions and markers.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_versioned_inventory_counts_versions_and_markers_as_the_listing() {
    let moto = server("moto");
    let (s3, bucket, _) = crate::cleanup::versioned_fixture(&moto).await;
    let dest = unique_bucket("inv-versions");
    create_bucket(&s3, &moto, &dest).await;
    let dir = tempdir();
    crate::cleanup::write_s3_spec(dir.path(), &moto, "aws", &bucket, true);
    let spec_file = dir.path().join("chronotrace-ops.yaml");
    let mut spec = std::fs::read_to_string(&spec_file).expect("the spec");
    spec.push_str(&format!(
        "    inventory: {{ destination: s3://{dest}/inventories }}\n"
    ));
    std::fs::write(&spec_file, spec).expect("write the spec");
    for format in ["parquet", "csv"] {
        write_inventory(&moto, &bucket, &dest, format, &["--versions"]);
        let listed = report(dir.path(), &moto, "listing");
        let read = report(dir.path(), &moto, "inventory");
        let fields = ["objects", "bytes", "by_day", "versions", "retention"];
        assert_eq!(
            pick(&read, &fields),
            pick(&listed, &fields),
            "{format}: {read:#}"
        );
        assert_eq!(read["versions"]["noncurrent_versions"], 4, "{read:#}");
        assert_eq!(read["versions"]["delete_markers"], 2, "{read:#}");
        let listed = verify(dir.path(), &moto, "listing");
        let read = verify(dir.path(), &moto, "inventory");
        assert_eq!(
            pick(&read, VERIFY_FIGURES),
            pick(&listed, VERIFY_FIGURES),
            "{format}"
        );
        assert_eq!(read["expired_objects"], 4, "{read:#}");
    }
}

#[test]
fn inventory_source_needs_an_inventory_in_the_spec() {
    let dir = tempdir();
    let spec = format!(
        "project: ct\nenvironments:\n  staging:\n    storage: s3\n    provider: s3-compatible\n    endpoint: http://127.0.0.1:9\n    bucket: b-e\n    prefix: {PREFIX}\n    retention_days: {RETENTION}\n"
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");
    for args in [
        &["report", "--source", "inventory"][..],
        &["cleanup", "verify", "--source", "inventory"][..],
    ] {
        Run::new(dir.path())
            .args(["-e", "staging"])
            .args(args)
            .run()
            .code(2)
            .one_line_error("has no inventory");
    }
}

#[test]
fn purge_has_no_source_flag() {
    // An inventory lags by up to a day: deleting from it would be wrong.
    let dir = tempdir();
    Run::new(dir.path())
        .args(["cleanup", "purge", "--source", "inventory"])
        .run()
        .code(2);
}
