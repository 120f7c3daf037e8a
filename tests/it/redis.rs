//! The Redis store (issue 13) against the bench's real redis-server
//! (`CT_TEST_REDIS_URL`, password in `CT_TEST_REDIS_PASSWORD`): the seed's
//! defects (index members left by TTL expiry, keys without a TTL) found by
//! `cleanup verify` and `check`, repaired by `cleanup purge --yes`; purges
//! fenced to the prefix, exact, converging after an interruption; reports
//! in every format; spec errors before any connection.
//!
//! Each test writes under its own key prefix and index key, so tests run
//! at once on the one server.

use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::support::{Outcome, Run, tempdir};

const DAY: i64 = 86_400;

/// The bench's Redis: its URL (no password) and password.
pub fn redis_server() -> (String, String) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("CT_TEST_REDIS_URL"), var("CT_TEST_REDIS_PASSWORD")) {
        (Some(url), Some(password)) => {
            assert!(url.starts_with("redis://127.0.0.1:"), "not loopback: {url}");
            (url, password)
        }
        _ => panic!(
            "redis is not running (CT_TEST_REDIS_* variables are not set): \
             run this test through scripts/test.sh, which starts it"
        ),
    }
}

/// A direct connection, to seed and inspect what the tool works on.
pub fn connect() -> redis::Connection {
    let (url, password) = redis_server();
    let info = redis::IntoConnectionInfo::into_connection_info(url.as_str()).expect("url");
    let settings = info.redis_settings().clone().set_password(password);
    redis::Client::open(info.set_redis_settings(settings))
        .and_then(|c| c.get_connection())
        .expect("redis connection")
}

/// The keys matching `pattern` on the server `c` reaches (`SCAN` to its
/// end, never `KEYS`).
pub fn scan_keys(c: &mut redis::Connection, pattern: &str) -> std::collections::BTreeSet<String> {
    let mut found = std::collections::BTreeSet::new();
    let mut cursor = 0u64;
    loop {
        let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(pattern)
            .arg("COUNT")
            .arg(10_000)
            .query(c)
            .expect("scan");
        found.extend(keys);
        if next == 0 {
            return found;
        }
        cursor = next;
    }
}

pub fn now() -> i64 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    i64::try_from(secs).expect("time")
}

/// A namespace of its own for one test: `ct-{name}-{nanos}:`.
pub fn namespace(name: &str) -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .subsec_nanos();
    format!("ct-{name}-{nanos}:")
}

/// A spec with one `cache` environment on the bench's Redis, its keys
/// under `{ns}traces:` and its index `{ns}index`.
pub fn write_spec(dir: &Path, ns: &str) {
    let (url, _) = redis_server();
    write_spec_at(dir, ns, &url);
}

/// The same spec on another URL (the TLS port, another database).
pub fn write_spec_at(dir: &Path, ns: &str, url: &str) {
    write_spec_named(dir, ns, url, "cache");
}

/// The same spec with the environment named `env` (the app's ACL user,
/// `chronotrace-{env}`, is server-wide: a test that provisions names its own).
pub fn write_spec_named(dir: &Path, ns: &str, url: &str, env: &str) {
    let spec = format!(
        "project: p
environments:
  {env}:
    storage: redis
    url: {url}
    key_prefix: '{ns}traces:'
    index_key: '{ns}index'
    retention_days: 15
"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

/// One run on the `cache` environment with the bench's password.
pub fn run(dir: &Path, args: &[&str]) -> Outcome {
    let (_, password) = redis_server();
    Run::new(dir)
        .env("REDIS_PASSWORD", password)
        .args(["-e", "cache"])
        .args(args)
        .run()
}

/// Stores a trace as the seed does: SET, EXPIRE (when `ttl`), ZADD.
pub fn store(c: &mut redis::Connection, ns: &str, id: &str, stored_at: i64, ttl: bool) {
    let key = format!("{ns}traces:{id}");
    let mut pipe = redis::pipe();
    pipe.cmd("SET").arg(&key).arg(r#"{"trace":"x"}"#).ignore();
    if ttl {
        pipe.cmd("EXPIRE").arg(&key).arg(15 * DAY).ignore();
    }
    pipe.cmd("ZADD")
        .arg(format!("{ns}index"))
        .arg(stored_at)
        .arg(id)
        .ignore();
    pipe.exec(c).expect("store a trace");
}

/// The seed's defects: 4 fresh traces with a TTL; 3 old traces written
/// without EXPIRE (past retention: they never left); 2 index members whose
/// keys expired by TTL (the seed's purge keeps them forever); 1 key
/// without TTL nor index entry.
fn seed_defects(ns: &str) {
    let mut c = connect();
    let now = now();
    for i in 0..4 {
        store(&mut c, ns, &format!("fresh{i}"), now - i * DAY, true);
    }
    for i in 0..3 {
        store(&mut c, ns, &format!("old{i}"), now - 20 * DAY, false);
    }
    let index = format!("{ns}index");
    let _: i64 = redis::cmd("ZADD")
        .arg(&index)
        .arg(now - 30 * DAY)
        .arg("expired-by-ttl-1")
        .arg(now - 2 * DAY)
        .arg("expired-by-ttl-2")
        .query(&mut c)
        .expect("zadd");
    let _: () = redis::cmd("SET")
        .arg(format!("{ns}traces:loose"))
        .arg("x")
        .query(&mut c)
        .expect("set");
}

pub fn finding(json: &serde_json::Value, id: &str) -> (u64, u64) {
    let f = json["store_findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id} in {json}"));
    (
        f["count"].as_u64().unwrap_or(u64::MAX),
        f["repaired"].as_u64().unwrap_or(u64::MAX),
    )
}

fn exists(c: &mut redis::Connection, key: &str) -> bool {
    redis::cmd("EXISTS")
        .arg(key)
        .query::<i64>(c)
        .expect("exists")
        == 1
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn verify_finds_the_seeds_defects_and_purge_repairs_them() {
    let dir = tempdir();
    let ns = namespace("defects");
    write_spec(dir.path(), &ns);
    seed_defects(&ns);

    let verify = run(dir.path(), &["--output", "json", "cleanup", "verify"]).code(1);
    let v = verify.json();
    assert_eq!(v["ok"], false);
    assert_eq!(v["expired_objects"], 3);
    assert_eq!(finding(&v, "redis.orphaned-index-members"), (2, 0));
    assert_eq!(finding(&v, "redis.keys-without-ttl"), (4, 0));
    assert_eq!(finding(&v, "redis.keys-without-index"), (1, 0));
    run(dir.path(), &["check"])
        .code(0)
        .stdout_contains("redis.ttl")
        .stdout_contains("without a TTL");

    // The dry run deletes nothing and says what would go.
    let dry = run(dir.path(), &["--output", "json", "cleanup", "purge"]).code(0);
    assert_eq!(dry.json()["deleted_objects"], 3);
    let mut c = connect();
    assert!(exists(&mut c, &format!("{ns}traces:old0")));

    let purge = run(
        dir.path(),
        &["--output", "json", "cleanup", "purge", "--yes"],
    )
    .code(0);
    let p = purge.json();
    assert_eq!(p["deleted_objects"], 3);
    assert_eq!(p["deleted_bytes"], 3 * 13);
    assert_eq!(finding(&p, "redis.orphaned-index-members"), (2, 2));
    assert_eq!(finding(&p, "redis.keys-without-ttl"), (4, 4));

    let after = run(dir.path(), &["--output", "json", "cleanup", "verify"]).code(0);
    assert_eq!(after.json()["ok"], true);
    let index: Vec<String> = redis::cmd("ZRANGE")
        .arg(format!("{ns}index"))
        .arg(0)
        .arg(-1)
        .query(&mut c)
        .expect("zrange");
    assert_eq!(index, ["fresh3", "fresh2", "fresh1", "fresh0"]);
    // The key without an index entry got the full retention as its TTL.
    let ttl: i64 = redis::cmd("TTL")
        .arg(format!("{ns}traces:loose"))
        .query(&mut c)
        .expect("ttl");
    assert!(ttl > 14 * DAY && ttl <= 15 * DAY, "{ttl}");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn purge_never_touches_a_key_outside_the_prefix() {
    let dir = tempdir();
    let ns = namespace("fence");
    write_spec(dir.path(), &ns);
    let mut c = connect();
    let old = now() - 40 * DAY;
    store(&mut c, &ns, "a", old, false);
    // Keys with similar names, old and without TTL, outside the prefix.
    let foreign = [
        format!("{ns}traces"),
        format!("{ns}tracesX:a"),
        format!("{ns}Traces:a"),
        format!("{ns}other:traces:a"),
    ];
    for key in &foreign {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("keep")
            .query(&mut c)
            .expect("set");
    }
    let p = run(
        dir.path(),
        &["--output", "json", "cleanup", "purge", "--yes"],
    )
    .code(0);
    assert_eq!(p.json()["deleted_objects"], 1);
    assert!(!exists(&mut c, &format!("{ns}traces:a")));
    for key in &foreign {
        assert!(exists(&mut c, key), "{key} was touched");
        let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut c).expect("ttl");
        assert_eq!(ttl, -1, "{key} got a TTL");
    }
}

/// Traces of the interrupted purge: enough to stop it half-way.
const TRACES: u64 = 50_000;

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn an_interrupted_purge_converges_when_rerun() {
    let dir = tempdir();
    let ns = namespace("rerun");
    write_spec(dir.path(), &ns);
    let mut c = connect();
    let old = now() - 30 * DAY;
    let mut pipe = redis::pipe();
    for i in 0..TRACES {
        let id = format!("t{i}");
        pipe.cmd("SET")
            .arg(format!("{ns}traces:{id}"))
            .arg("x")
            .ignore();
        pipe.cmd("ZADD")
            .arg(format!("{ns}index"))
            .arg(old)
            .arg(id)
            .ignore();
    }
    // What a purge stopped between its UNLINK and its ZREM leaves behind:
    // keys gone with their index members still there.
    for i in 0..100 {
        pipe.cmd("DEL").arg(format!("{ns}traces:t{i}")).ignore();
    }
    pipe.exec(&mut c).expect("seed");
    // And a real interruption: SIGINT while the purge runs.
    let (_, password) = redis_server();
    let child = Run::new(dir.path())
        .env("REDIS_PASSWORD", password)
        .args([
            "-e", "cache", "--output", "json", "cleanup", "purge", "--yes",
        ])
        .spawn();
    std::thread::sleep(std::time::Duration::from_millis(150));
    let _ = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status();
    let first = Outcome::of(child.wait_with_output().expect("wait"));
    eprintln!("first purge: exit {}", first.code);
    let deleted_first = match first.code {
        0 | 130 => first.json()["deleted_objects"].as_u64().unwrap_or(0),
        code => panic!("purge exited {code}: {}", first.stderr),
    };
    let rerun = run(
        dir.path(),
        &["--output", "json", "cleanup", "purge", "--yes"],
    )
    .code(0);
    let deleted_rerun = rerun.json()["deleted_objects"].as_u64().unwrap_or(0);
    assert_eq!(
        deleted_first + deleted_rerun,
        TRACES - 100,
        "exact over both runs"
    );
    run(dir.path(), &["cleanup", "verify"]).code(0);
    let left: i64 = redis::cmd("ZCARD")
        .arg(format!("{ns}index"))
        .query(&mut c)
        .expect("zcard");
    assert_eq!(left, 0);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn the_report_counts_bytes_and_days_in_every_format() {
    let dir = tempdir();
    let ns = namespace("report");
    write_spec(dir.path(), &ns);
    let mut c = connect();
    let now = now();
    for i in 0..3 {
        store(&mut c, &ns, &format!("d{i}"), now - 2 * DAY, true);
    }
    store(&mut c, &ns, "today", now, true);
    let r = run(dir.path(), &["report", "--format", "json"]).code(0);
    let j = r.json();
    assert_eq!(j["objects"], 4);
    assert_eq!(j["bytes"], 4 * 13);
    assert_eq!(j["storage"]["kind"], "redis");
    let days = j["by_day"].as_array().expect("by_day");
    assert_eq!(days.len(), 2);
    assert_eq!(days[0]["objects"], 3);
    for format in ["text", "markdown", "html"] {
        let out = run(dir.path(), &["report", "--format", format]).code(0);
        assert!(
            out.stdout.contains(&format!("{ns}traces:")),
            "{format}: {}",
            out.stdout
        );
    }
}

#[test]
fn a_password_in_the_url_is_refused_before_any_connection() {
    let dir = tempdir();
    let one = "project: p\nenvironments:\n  cache:\n    storage: redis\n    url: redis://:hunter2secret@127.0.0.1:1\n";
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), one).expect("write");
    let out = Run::new(dir.path())
        .args(["-e", "cache", "check"])
        .run()
        .code(2)
        .one_line_error("chronotrace-ops.yaml:5");
    assert!(out.stderr.contains("redis.url-password"), "{}", out.stderr);
    assert!(!out.stderr.contains("hunter2secret"), "{}", out.stderr);
    // Every problem at once, each on its line.
    let spec = "project: p
environments:
  cache:
    storage: redis
    url: redis://:hunter2secret@127.0.0.1:1
    key_prefix: 'bad*'
";
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write");
    let out = Run::new(dir.path())
        .args(["-e", "cache", "cleanup", "verify"])
        .run()
        .code(2);
    assert!(!out.stderr.contains("hunter2secret"), "{}", out.stderr);
    assert!(
        out.stderr.contains("chronotrace-ops.yaml:5"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("redis.url-password"), "{}", out.stderr);
    assert!(out.stderr.contains("redis.key-prefix"), "{}", out.stderr);
    assert!(out.stdout.is_empty());
}
