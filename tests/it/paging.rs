//! Paging loops against servers that repeat themselves (issue 27, "a paging
//! loop that never moves spins forever"). Every call of such a server
//! succeeds, so no time limit fires: each loop must see that it did not
//! move past its cursor, and then fall back to a plain walk (the seeks) or
//! stop with one line naming the server's fault. Each run here is bounded
//! (`run_within`): a loop that never ends fails the test, never hangs it.
//!
//! S3: `fault_proxy` in front of the bench's moto (which checks no
//! signatures, so the proxy may drop query parameters) ignores
//! `start-after` or the key marker of the seeks, or pages a listing for
//! ever. Redis: `resp_proxy` in front of the bench's redis-server answers
//! `ZRANGE` from rank 0 or `SCAN` with the same cursor. SQL: a trigger puts
//! every deleted row back, so each purge batch finds rows again.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;

use crate::cleanup::{PREFIX, day, garage_fixture_at, json, versioned_fixture, write_s3_spec};
use crate::fault_proxy::Fault;
use crate::hardening::through_proxy;
use crate::resp_proxy::{self, Repeat};
use crate::servers::{Endpoint, server};
use crate::sql_support::{DAYS, database, unique_table};
use crate::support::{Outcome, Run, tempdir};

/// Long enough for any of these runs on a busy machine; the loops they
/// pin down never end.
const LIMIT: Duration = Duration::from_secs(90);

/// The binary on `staging` against `endpoint`, JSON out, within `LIMIT`.
fn run(dir: &Path, endpoint: &Endpoint, args: &[&str]) -> Outcome {
    Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
        .args(["-e", "staging", "--output", "json"])
        .args(args)
        .run_within(LIMIT)
}

fn pick(value: &Value, fields: &[&str]) -> Value {
    fields
        .iter()
        .map(|f| ((*f).to_string(), value[f].clone()))
        .collect()
}

const REPORT_FIGURES: &[&str] = &[
    "objects",
    "bytes",
    "by_day",
    "oldest",
    "newest",
    "outside_partitions",
    "retention",
    "versions",
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

/// Every stderr line is a warning saying the server ignores `marker`,
/// and there is at least one.
#[track_caller]
fn warned_only(out: &Outcome, marker: &str) {
    let lines: Vec<&str> = out.stderr.lines().collect();
    assert!(!lines.is_empty(), "no warning:\n{}", out.stderr);
    for line in lines {
        assert!(
            line.starts_with("warning: ") && line.contains(&format!("ignores {marker}")),
            "{}",
            out.stderr
        );
    }
}

/// `report` and `cleanup verify` through a server that ignores where a
/// seek starts give the figures they give straight from the server.
async fn seeks_ignored_fall_back(versioned: bool) {
    let moto = server("moto");
    let (proxy, proxied) = through_proxy(&moto);
    let (bucket, dir, provider) = if versioned {
        let (_s3, bucket, _days) = versioned_fixture(&moto).await;
        let dir = tempdir();
        write_s3_spec(dir.path(), &proxied, "aws", &bucket, true);
        (bucket, dir, "aws")
    } else {
        let (_s3, bucket, dir) = garage_fixture_at(&moto, &proxied, "no-seek").await;
        (bucket, dir, "s3-compatible")
    };
    let straight = tempdir();
    write_s3_spec(straight.path(), &moto, provider, &bucket, versioned);
    // Both fixtures hold traces past retention and grace: exit 1.
    let expired = 1;
    let want_verify = json(&run(straight.path(), &moto, &["cleanup", "verify"]).code(expired));
    let want_report = json(&run(straight.path(), &moto, &["report", "--no-checks"]).code(0));

    let (param, marker): (&'static [&'static str], &str) = if versioned {
        (&["key-marker", "version-id-marker"], "KeyMarker")
    } else {
        (&["start-after"], "StartAfter")
    };
    proxy.on("GET", param[0], Fault::Ignore(param), usize::MAX);
    let verify = run(dir.path(), &proxied, &["cleanup", "verify"]).code(expired);
    assert!(proxy.injected() > 0, "the seeks went through the fault");
    warned_only(&verify, marker);
    assert_eq!(
        pick(&json(&verify), VERIFY_FIGURES),
        pick(&want_verify, VERIFY_FIGURES)
    );
    let report = run(dir.path(), &proxied, &["report", "--no-checks"]).code(0);
    warned_only(&report, marker);
    assert_eq!(
        pick(&json(&report), REPORT_FIGURES),
        pick(&want_report, REPORT_FIGURES)
    );
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_server_that_ignores_start_after_gets_the_verdicts_it_gets_straight() {
    seeks_ignored_fall_back(false).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_server_that_ignores_the_key_marker_gets_the_verdicts_it_gets_straight() {
    seeks_ignored_fall_back(true).await;
}

/// The query of the listing of the partition `day` (not the seeks that
/// find the partitions, whose `start-after` names the day too).
fn partition_listing(day: &str) -> String {
    format!("prefix={}%2Ftraces%2F{day}%2F", PREFIX.replace('/', "%2F"))
}

/// One `error:` line on stderr holding every one of `says`, and never a
/// complete result: nothing on stdout, or (a purge that had begun
/// deleting, issue 23) the JSON of what it deleted until then, marked
/// `"stopped_by_error"` with the same error.
#[track_caller]
fn stopped(out: Outcome, says: &[&str]) {
    let out = out.code(2);
    let errors: Vec<&str> = out
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", out.stderr);
    for word in says {
        assert!(errors[0].contains(word), "{word:?}: {}", errors[0]);
    }
    if out.stdout.trim().is_empty() {
        return;
    }
    let json = out.json();
    let by = json["stopped_by_error"]
        .as_str()
        .unwrap_or_else(|| panic!("a complete result: {json:#}"));
    for word in says {
        assert!(by.contains(word), "{word:?}: {by}");
    }
    assert!(json["finished_partitions"].is_array(), "{json:#}");
}

/// A partition's listing (continuation tokens) that answers its first
/// page again under a new token every time.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_listing_that_answers_its_first_page_again_stops_with_one_line() {
    let moto = server("moto");
    let (proxy, proxied) = through_proxy(&moto);
    let (_s3, _bucket, dir) = garage_fixture_at(&moto, &proxied, "endless").await;
    proxy.on(
        "GET",
        partition_listing(&day(40)),
        Fault::Endless,
        usize::MAX,
    );
    let out = run(dir.path(), &proxied, &["cleanup", "verify"]);
    stopped(out, &["ListObjectsV2", "already passed", "never end"]);
}

/// The same by version markers (a versioned bucket).
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_version_listing_that_answers_its_first_page_again_stops_with_one_line() {
    let moto = server("moto");
    let (proxy, proxied) = through_proxy(&moto);
    let (_s3, bucket, (old, _)) = versioned_fixture(&moto).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), &proxied, "aws", &bucket, true);
    proxy.on("GET", partition_listing(&old), Fault::Endless, usize::MAX);
    let out = run(dir.path(), &proxied, &["report", "--no-checks"]);
    stopped(out, &["ListObjectVersions", "already passed", "never end"]);
}

/// The listing of every version of one key (a file directly in a folder
/// the seeks walk, whose versions fill a seek's page: here the first key
/// of the prefix, as moto pages versions by one only from the start)
/// answered again under new markers.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_versions_of_one_key_answered_again_stop_with_one_line() {
    let moto = server("moto");
    let (proxy, proxied) = through_proxy(&moto);
    let (s3, bucket, _days) = versioned_fixture(&moto).await;
    let key = format!("{PREFIX}/a-notes.txt");
    for _ in 0..2 {
        crate::cleanup::put(&s3, &bucket, &key).await;
    }
    let dir = tempdir();
    write_s3_spec(dir.path(), &proxied, "aws", &bucket, true);
    let listing = format!("prefix={}", key.replace('/', "%2F"));
    proxy.on("GET", listing, Fault::Endless, usize::MAX);
    let out = run(dir.path(), &proxied, &["report", "--no-checks"]);
    assert!(proxy.injected() > 0, "the key's versions were listed");
    stopped(out, &["ListObjectVersions", "notes.txt", "never end"]);
}

/// The fallback of the seeks is itself a listing that must move on: a
/// server that ignores `start-after` and pages its delimited listing from
/// the start every time ends in one line too.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_fallback_listing_of_a_server_that_repeats_itself_stops_too() {
    let moto = server("moto");
    let (proxy, proxied) = through_proxy(&moto);
    let (_s3, _bucket, dir) = garage_fixture_at(&moto, &proxied, "fallback").await;
    proxy.on(
        "GET",
        "start-after",
        Fault::Ignore(&["start-after"]),
        usize::MAX,
    );
    proxy.on("GET", "delimiter", Fault::Endless, usize::MAX);
    let out = run(dir.path(), &proxied, &["cleanup", "verify"]);
    assert!(out.stderr.contains("ignores StartAfter"), "{}", out.stderr);
    stopped(out, &["ListObjectsV2", "already passed"]);
}

/// The inventory's dated folders are a delimited listing too.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_inventory_listing_that_repeats_itself_stops_with_one_line() {
    let moto = server("moto");
    let (proxy, proxied) = through_proxy(&moto);
    let (_s3, bucket, dir) = garage_fixture_at(&moto, &proxied, "inv-endless").await;
    let dest = crate::servers::unique_bucket("inv-endless-dest");
    let s3 = crate::servers::s3_client(&moto);
    crate::servers::create_bucket(&s3, &moto, &dest).await;
    // A dated folder of reports, where the tool looks for the newest.
    let folder = format!("inventories/{bucket}/chronotrace-ops-staging/2026-01-01T01-00Z");
    crate::cleanup::put(&s3, &dest, &format!("{folder}/manifest.json")).await;
    let spec_file = dir.path().join("chronotrace-ops.yaml");
    let mut spec = std::fs::read_to_string(&spec_file).expect("the spec");
    spec.push_str(&format!(
        "    inventory: {{ destination: s3://{dest}/inventories, format: csv }}\n"
    ));
    std::fs::write(&spec_file, spec).expect("write the spec");
    proxy.on("GET", "prefix=inventories", Fault::Endless, usize::MAX);
    let out = run(
        dir.path(),
        &proxied,
        &["report", "--no-checks", "--source", "inventory"],
    );
    assert!(
        proxy.injected() > 0,
        "the inventory was listed through the fault"
    );
    stopped(out, &["ListObjectsV2", "inventories", "already passed"]);
}

/// The bench's Redis host and port, for a proxy in front of it.
fn redis_upstream() -> (std::net::SocketAddr, String) {
    let (url, password) = crate::redis::redis_server();
    let addr = url
        .trim_start_matches("redis://")
        .split('/')
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or_else(|| panic!("a host:port in {url}"));
    (addr, password)
}

/// `report` and `cleanup verify` of a Redis whose answers repeat (`repeat`)
/// stop with one line holding `says`.
fn redis_walk_stops(repeat: Repeat, says: &str) {
    let (upstream, password) = redis_upstream();
    let dir = tempdir();
    let ns = crate::redis::namespace("repeats");
    let mut c = crate::redis::connect();
    let now = crate::redis::now();
    for i in 0..3 {
        crate::redis::store(&mut c, &ns, &format!("t{i}"), now - i * 86_400, true);
    }
    crate::redis::write_spec_at(dir.path(), &ns, &resp_proxy::start(upstream, repeat));
    for args in [
        &["report", "--no-checks", "--format", "json"][..],
        &["cleanup", "verify"],
    ] {
        let out = Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["-e", "cache"])
            .args(args)
            .run_within(LIMIT);
        stopped(out, &[says, "would never end"]);
    }
}

/// The index walk by score, answered from the index's start whatever
/// score a page starts at: the walk drops what it has passed, so it ends,
/// with the figures of a server that pages right.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_redis_index_answered_from_the_start_ends_with_the_same_figures() {
    let (upstream, password) = redis_upstream();
    let ns = crate::redis::namespace("restart");
    let mut c = crate::redis::connect();
    let now = crate::redis::now();
    for i in 0..30 {
        crate::redis::store(&mut c, &ns, &format!("t{i}"), now - i * 86_400, true);
    }
    let figures = |url: &str| {
        let dir = tempdir();
        crate::redis::write_spec_at(dir.path(), &ns, url);
        let report = Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["-e", "cache", "report", "--no-checks", "--format", "json"])
            .run_within(LIMIT)
            .code(0);
        let report: Value = serde_json::from_str(&report.stdout).expect("report JSON");
        let verify = Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["-e", "cache", "--output", "json", "cleanup", "verify"])
            .run_within(LIMIT);
        let verdict: Value = serde_json::from_str(&verify.stdout).expect("verify JSON");
        (
            pick(&report, &["objects", "bytes", "by_day"]),
            pick(&verdict, &["ok", "scanned_objects", "expired_objects"]),
        )
    };
    let straight = figures(&format!("redis://{upstream}"));
    let repeated = figures(&resp_proxy::start(upstream, Repeat::ZrangeFromStart));
    assert_eq!(repeated, straight);
    assert_eq!(straight.0["objects"], 30, "{:?}", straight.0);
}

/// The keys by a `SCAN` cursor that never reaches 0.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_redis_scan_cursor_handed_back_stops_the_walk_with_one_line() {
    redis_walk_stops(Repeat::ScanCursor, "SCAN keys");
}

/// A purge through a table that puts every deleted row back (an
/// `AFTER DELETE` trigger): each batch finds rows again. MariaDB forbids a
/// trigger to write the table its statement deletes from, so PostgreSQL
/// and SQLite.
fn purge_of_a_table_that_refills(name: &'static str) {
    let dir = tempdir();
    let db = database(name, dir.path());
    let table = unique_table("refill");
    let t = db.quote(&table);
    db.create_seed_table(&table, true);
    let (expired, _) = db.seed_rows(&table, 15);
    assert!(expired > 0 && expired < DAYS * 20);
    let put_back = format!(
        "INSERT INTO {t} (trace_id, data, created_at, updated_at) VALUES (OLD.trace_id, OLD.data, OLD.created_at, OLD.updated_at)"
    );
    let trigger = db.quote(&format!("{table}_back"));
    let statements = if name == "postgres" {
        let function = db.quote(&format!("{table}_fn"));
        vec![
            format!(
                "CREATE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN {put_back}; RETURN NULL; END $$"
            ),
            format!(
                "CREATE TRIGGER {trigger} AFTER DELETE ON {t} FOR EACH ROW EXECUTE FUNCTION {function}()"
            ),
        ]
    } else {
        vec![format!(
            "CREATE TRIGGER {trigger} AFTER DELETE ON {t} BEGIN {put_back}; END"
        )]
    };
    db.exec(&statements);
    db.write_spec(dir.path(), &table);
    let out = db
        .tool(
            dir.path(),
            &["--output", "json", "cleanup", "purge", "--yes"],
        )
        .run_within(LIMIT);
    stopped(out, &["rows deleted", "would never end"]);
    if name == "postgres" {
        db.exec(&[
            format!("DROP TABLE {t}"),
            format!("DROP FUNCTION {}()", db.quote(&format!("{table}_fn"))),
        ]);
    }
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_postgres_table_that_refills_stops_the_purge_with_one_line() {
    purge_of_a_table_that_refills("postgres");
}

/// SQLite needs no server: it runs under plain `cargo test`.
#[test]
fn a_sqlite_table_that_refills_stops_the_purge_with_one_line() {
    purge_of_a_table_that_refills("sqlite");
}
