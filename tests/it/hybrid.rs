//! `storage: hybrid` (issue 25): a hot/cold pair of two environments, as
//! the seed's `HybridTraceStorage` keeps traces (Redis hot, an S3 bucket
//! cold). The seed's defects, each seeded on the bench's Redis and Garage
//! and each found: traces past `hot_days` never archived (the archive
//! failed and the hot purge went on), traces about to expire from the hot
//! tier unarchived (its TTL), a critical trace only in the hot tier, a
//! critical trace written to cold twice; and the purge that archives (each
//! move confirmed) before it purges, saying apart what it archived and
//! what it deleted.

use aws_sdk_s3::primitives::ByteStream;
use chrono::Utc;
use serde_json::Value;

use crate::migrate::{Form, Side, Trace};
use crate::redis::redis_server;
use crate::support::{Run, tempdir};

/// A trace stored `hours` ago with this response status.
fn trace(tag: &str, i: u32, hours: i64, status: u32) -> Trace {
    let created = Utc::now().timestamp() - hours * 3600;
    let id = format!("ct_{tag}{i:04}x_{created}");
    let json = format!(r#"{{"trace_id":"{id}","response":{{"status":{status},"duration":120}}}}"#);
    Trace {
        id,
        created,
        json: json.into_bytes(),
    }
}

/// A spec with `hot` (retention `hot_keeps` days), `cold` (30) and the
/// pair `pair` (hot_days 7, retention 30).
fn write_pair_spec(dir: &std::path::Path, hot: &Side, cold: &Side, hot_keeps: u32) {
    write_pair_spec_through(dir, hot, cold, hot_keeps, None);
}

/// The same, the cold bucket's requests sent to `cold_endpoint` (a proxy).
fn write_pair_spec_through(
    dir: &std::path::Path,
    hot: &Side,
    cold: &Side,
    hot_keeps: u32,
    cold_endpoint: Option<&str>,
) {
    let hot_block = hot.yaml("hot", None).replace(
        "retention_days: 30",
        &format!("retention_days: {hot_keeps}"),
    );
    let spec = format!(
        "project: mig\nenvironments:\n{hot_block}{}  pair:\n    storage: hybrid\n    hot: hot\n    cold: cold\n    hot_days: 7\n    retention_days: 30\n",
        cold.yaml("cold", cold_endpoint)
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("spec");
}

fn finding(report: &Value, id: &str) -> u64 {
    report["store_findings"]
        .as_array()
        .and_then(|all| all.iter().find(|f| f["id"] == id))
        .and_then(|f| f["count"].as_u64())
        .unwrap_or_else(|| panic!("no finding {id}: {report:#}"))
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_seeds_defects_are_found_and_the_purge_archives_before_it_deletes() {
    let hot = Side::redis();
    let cold = Side::bucket("garage").await;
    let dir = tempdir();
    write_pair_spec(dir.path(), &hot, &cold, 15);
    let young: Vec<Trace> = (0..5).map(|i| trace("yg", i, 24, 200)).collect();
    let critical_hot_only = trace("cr", 0, 48, 503);
    let critical_archived = trace("ca", 0, 50, 500);
    let lagging: Vec<Trace> = (0..3).map(|i| trace("lg", i, 240, 200)).collect();
    let at_risk: Vec<Trace> = (0..2).map(|i| trace("rk", i, 14 * 24 + 12, 200)).collect();
    let mut in_hot = young.clone();
    in_hot.extend([critical_hot_only.clone(), critical_archived.clone()]);
    in_hot.extend(lagging.iter().cloned());
    in_hot.extend(at_risk.iter().cloned());
    hot.seed(&in_hot).await;
    let archived: Vec<Trace> = (0..4).map(|i| trace("ar", i, 20 * 24, 200)).collect();
    let expired: Vec<Trace> = (0..2).map(|i| trace("ex", i, 40 * 24, 200)).collect();
    let mut in_cold = archived.clone();
    in_cold.extend(expired.iter().cloned());
    in_cold.push(critical_archived.clone());
    cold.seed(&in_cold).await;
    // The seed writes a critical trace to cold at once, and again when it
    // archives it, dated the day of the archive: the same id twice.
    if let Side::Bucket { bucket, client, .. } = &cold {
        let again = Utc::now().date_naive().to_string();
        client
            .put_object()
            .bucket(bucket)
            .key(format!(
                "mig/traces/traces/{again}/{}.zip",
                critical_archived.id
            ))
            .body(ByteStream::from(critical_archived.bytes(Form::Bundle)))
            .send()
            .await
            .expect("put");
    }
    let tool = |args: &[&str]| {
        let (_, password) = redis_server();
        let Side::Bucket { endpoint, .. } = &cold else {
            unreachable!("the cold tier is a bucket")
        };
        Run::new(dir.path())
            .env("REDIS_PASSWORD", password)
            .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
            .args(["--output", "json", "-e", "pair"])
            .args(args)
    };

    let verify = tool(&["cleanup", "verify"]).run().code(1).json();
    assert_eq!(finding(&verify, "hybrid.archive-lag"), 5, "{verify:#}");
    assert_eq!(finding(&verify, "hybrid.at-risk"), 2, "{verify:#}");
    assert_eq!(
        finding(&verify, "hybrid.critical-hot-only"),
        1,
        "{verify:#}"
    );
    assert_eq!(finding(&verify, "hybrid.cold-duplicates"), 1, "{verify:#}");
    // Hot 12, cold 8 listed (7 ids), 1 in both: 18 unique traces.
    assert_eq!(finding(&verify, "hybrid.tiers"), 18, "{verify:#}");
    assert_eq!(verify["expired_objects"], 2, "{verify:#}");

    let dry = tool(&["cleanup", "purge"]).run().code(0).json();
    assert_eq!(dry["archive"]["listed"], 5, "{dry:#}");
    assert_eq!(dry["archive"]["copied"], 0, "{dry:#}");

    let purge = tool(&["cleanup", "purge", "--yes"]).run().code(0).json();
    assert_eq!(purge["archive"]["copied"], 5, "{purge:#}");
    assert_eq!(purge["archive"]["removed_from_source"], 5, "{purge:#}");
    assert_eq!(purge["archive"]["failed"], 0, "{purge:#}");
    assert_eq!(
        purge["deleted_objects"], 2,
        "apart from the archive: {purge:#}"
    );

    // Each archived trace is in the cold tier, byte for byte, dated as it was.
    let cold_now = cold.contents().await;
    for t in lagging.iter().chain(&at_risk) {
        assert_eq!(
            cold_now.get(&t.id),
            Some(&t.bytes(Form::Bundle)),
            "{}",
            t.id
        );
    }
    let hot_now = hot.contents().await;
    assert_eq!(hot_now.len(), 7, "the young traces stay hot");

    let after = tool(&["cleanup", "verify"]).run().code(1).json();
    assert_eq!(finding(&after, "hybrid.archive-lag"), 0, "{after:#}");
    assert_eq!(finding(&after, "hybrid.at-risk"), 0, "{after:#}");
    assert_eq!(finding(&after, "hybrid.critical-hot-only"), 1, "{after:#}");
    assert_eq!(after["expired_objects"], 0, "{after:#}");
}

/// The pair on two local directories (no server): `check`'s own lines.
fn local_pair(hot_keeps: u32) -> (tempfile::TempDir, Side, Side) {
    let (hot, cold) = (Side::local(), Side::local());
    let dir = tempdir();
    write_pair_spec(dir.path(), &hot, &cold, hot_keeps);
    (dir, hot, cold)
}

fn check_status(dir: &std::path::Path, id: &str) -> String {
    let out = Run::new(dir)
        .args(["--output", "json", "-e", "pair", "check"])
        .run();
    let report = out.json();
    report["checks"]
        .as_array()
        .and_then(|all| all.iter().find(|c| c["id"] == id))
        .and_then(|c| c["status"].as_str().map(str::to_string))
        .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
}

#[test]
fn check_fails_a_hot_tier_that_expires_traces_before_the_archive() {
    let (dir, _hot, _cold) = local_pair(8);
    assert_eq!(check_status(dir.path(), "hybrid.hot-ttl"), "fail");
    let (dir, _hot, _cold) = local_pair(15);
    assert_eq!(check_status(dir.path(), "hybrid.hot-ttl"), "pass");
    assert_eq!(check_status(dir.path(), "hybrid.cold-retention"), "pass");
    assert_eq!(check_status(dir.path(), "hybrid.schedule"), "warn");
}

#[test]
fn a_pair_spec_is_checked_before_any_call() {
    let cases = [
        (
            "  pair:\n    storage: hybrid\n    hot: a\n    retention_days: 30\n",
            "hybrid.tiers",
        ),
        (
            "  pair:\n    storage: hybrid\n    hot: a\n    cold: nowhere\n    retention_days: 30\n",
            "hybrid.tiers",
        ),
        (
            "  pair:\n    storage: hybrid\n    hot: a\n    cold: a\n    retention_days: 30\n",
            "hybrid.tiers",
        ),
        (
            "  pair:\n    storage: hybrid\n    hot: a\n    cold: b\n    hot_days: 30\n    retention_days: 30\n",
            "hybrid.retention",
        ),
        (
            "  pair:\n    storage: hybrid\n    hot: a\n    cold: b\n    critical: {status_at_least: 50}\n",
            "hybrid.critical",
        ),
        (
            "  pair:\n    storage: hybrid\n    hot: a\n    cold: b\n    bucket: x\n",
            "spec.key-not-applicable",
        ),
        (
            "  c:\n    storage: local\n    path: /srv/c\n    hot_days: 3\n",
            "spec.key-not-applicable",
        ),
    ];
    for (block, rule) in cases {
        let dir = tempdir();
        let spec = format!(
            "project: p\nenvironments:\n  a:\n    storage: local\n    path: /srv/a\n  b:\n    storage: local\n    path: /srv/b\n{block}"
        );
        std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
        let out = Run::new(dir.path())
            .args(["-e", "a", "cleanup", "verify"])
            .run()
            .code(2);
        assert!(out.stderr.contains(rule), "{rule}: {}", out.stderr);
    }
}

#[test]
fn render_gives_the_archive_its_schedule() {
    let (dir, hot, cold) = (tempdir(), Side::local(), Side::local());
    write_pair_spec(dir.path(), &hot, &cold, 15);
    let mut spec = std::fs::read_to_string(dir.path().join("chronotrace-ops.yaml")).expect("spec");
    spec.push_str("    schedule:\n      at: \"03:30\"\n      directory: /srv/app\n");
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0);
    let deploy = dir.path().join("deploy");
    let service = std::fs::read_to_string(deploy.join("chronotrace-purge-pair.service"))
        .expect("the pair's service");
    // The pair's purge is the archive, then the cold tier's purge.
    assert!(
        service.contains("ExecStart=/usr/local/bin/chronotrace-ops --env pair cleanup purge --yes"),
        "{service}"
    );
    let cron = std::fs::read_to_string(deploy.join("chronotrace-purge-pair.cron")).expect("cron");
    assert!(cron.contains("30 3 * * *"), "{cron}");
    assert!(deploy.join("chronotrace-purge-pair.timer").exists());
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_interrupted_archive_says_what_it_moved_and_a_rerun_finishes_it() {
    let garage = crate::servers::server("garage");
    let (proxy, proxied) = crate::hardening::through_proxy(&garage);
    let (hot, cold) = (Side::local(), Side::bucket("garage").await);
    let dir = tempdir();
    write_pair_spec_through(dir.path(), &hot, &cold, 15, Some(&proxied.url));
    let old: Vec<Trace> = (0..150).map(|i| trace("ia", i, 10 * 24, 200)).collect();
    hot.seed(&old).await;
    // Every request to the cold tier slowed: the archive is still going
    // when the signal comes.
    proxy.storm(
        100,
        11,
        &[crate::fault_proxy::Fault::Delay(
            std::time::Duration::from_millis(150),
        )],
    );
    let Side::Bucket { endpoint, .. } = &cold else {
        unreachable!("the cold tier is a bucket")
    };
    let tool = |args: &[&str]| {
        Run::new(dir.path())
            .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
            .args(["--output", "json", "-e", "pair"])
            .args(args)
    };
    let child = tool(&["cleanup", "purge", "--yes", "--concurrency", "4"]).spawn();
    let start = std::time::Instant::now();
    while proxy.injected() < 30 {
        assert!(
            start.elapsed() < std::time::Duration::from_secs(90),
            "no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    crate::conformance::signal(&child, "INT");
    let out = crate::interrupts::interrupted(crate::support::Outcome::of(
        child.wait_with_output().expect("the binary ends"),
    ));
    let report = out.json();
    assert_eq!(report["interrupted"], true, "{report:#}");
    let moved = report["archive"]["removed_from_source"]
        .as_u64()
        .unwrap_or_else(|| panic!("the archive's counts: {report:#}"));
    // What it says it moved is what left the hot tier, each in the cold
    // tier byte for byte.
    let hot_now = hot.contents().await;
    assert_eq!(hot_now.len() as u64, 150 - moved, "{report:#}");
    assert!(moved > 0 && moved < 150, "stopped part-way: {moved} moved");
    let cold_now = cold.contents().await;
    for t in &old {
        let here = hot_now
            .get(&t.id)
            .is_some_and(|b| *b == t.bytes(Form::Bundle));
        let there = cold_now
            .get(&t.id)
            .is_some_and(|b| *b == t.bytes(Form::Bundle));
        assert!(here || there, "{} is lost", t.id);
    }
    proxy.calm();
    let rerun = tool(&["cleanup", "purge", "--yes"]).run().code(0).json();
    assert_eq!(rerun["archive"]["failed"], 0, "{rerun:#}");
    assert!(
        hot.contents().await.is_empty(),
        "the rerun archives the rest"
    );
    assert_eq!(cold.contents().await.len(), 150);
}
