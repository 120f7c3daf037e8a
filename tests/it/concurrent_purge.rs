//! Two purges at once (issue 27): the Laravel scheduler runs `cleanup
//! purge --yes` on every web node unless told `onOneServer()`, so two runs
//! on one store at the same time are ordinary. On every store both exit 0
//! (a trace the other run took is done, not an error), nothing past
//! retention is left, nothing within it is touched, and the two counts
//! add up to what was past retention where the store can tell what each
//! run removed (Redis, SQL, local: `"deleted_objects_counted":
//! "removed"`). S3 answers DeleteObjects with "deleted" for a key already
//! gone, so there each run counts the keys it sent (`"requested"`) and
//! says so.
//!
//! The conformance suite runs this behaviour on every store
//! (`conformance::two_purges_at_once_delete_exactly_what_is_past_retention`);
//! this module is its heavy version: one function per store (`redis_store`,
//! `local_store`, `s3_store`, `sql_store`), seeded in bulk (pipelines,
//! `INSERT … SELECT`, concurrent PUTs) with enough traces that the two runs
//! surely overlap (each must have removed some), and each store's own
//! checks (Redis's equal scores and index members, S3's text).

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Instant;

use chrono::{Days, Utc};
use futures::stream::{self, StreamExt};
use serde_json::Value;

use crate::cleanup::{PREFIX, all_keys, day, write_s3_spec};
use crate::servers::{Endpoint, create_bucket, s3_client, server, unique_bucket};
use crate::sql_support::{database, unique_table};
use crate::support::{Outcome, Run, tempdir};

const DAY: i64 = 86_400;

/// Starts two purges (`start` builds each run) back to back and waits for
/// both; says on stderr how long the pair took.
fn at_once(start: impl Fn() -> Run) -> [Outcome; 2] {
    let started = Instant::now();
    let children = [start().spawn(), start().spawn()];
    let runs = children.map(|c| Outcome::of(c.wait_with_output().expect("a purge ends")));
    eprintln!("two purges at once: {:?}", started.elapsed());
    runs
}

/// What both runs must show first: exit 0, no per-key error. Returns
/// their JSON.
fn both_succeed(runs: [Outcome; 2]) -> [Value; 2] {
    runs.map(|run| {
        let json = run.code(0).json();
        assert_eq!(json["dry_run"], false, "{json}");
        assert_eq!(json["error_count"], 0, "{json}");
        json
    })
}

/// Each run's `deleted_objects` and `deleted_bytes`, counted as `counted`.
fn counts_of(runs: &[Value; 2], counted: &str) -> [(u64, u64); 2] {
    runs.clone().map(|json| {
        assert_eq!(json["deleted_objects_counted"], counted, "{json}");
        let field = |name: &str| {
            json[name]
                .as_u64()
                .unwrap_or_else(|| panic!("no {name}: {json}"))
        };
        (field("deleted_objects"), field("deleted_bytes"))
    })
}

/// Where each run removed what it counted: the counts add up exactly to
/// what was past retention (`expired` traces of `size` bytes). With
/// `overlap`, each run must have removed some: otherwise one ran after
/// the other and the test proved nothing.
fn counts_add_up(counts: [(u64, u64); 2], expired: u64, size: u64, overlap: bool) {
    eprintln!("deleted {} + {} of {expired}", counts[0].0, counts[1].0);
    assert_eq!(counts[0].0 + counts[1].0, expired, "{counts:?}");
    assert_eq!(counts[0].1 + counts[1].1, expired * size, "{counts:?}");
    if overlap {
        assert!(
            counts.iter().all(|(n, _)| *n > 0),
            "the two purges did not overlap ({counts:?}): seed more traces"
        );
    }
}

// --- Redis ---------------------------------------------------------------

/// Traces past retention and within it on Redis: the index walk pages
/// through members the other run removes meanwhile.
const REDIS_EXPIRED: u64 = 60_000;
const REDIS_KEPT: u64 = 20_000;
/// The seed's value (13 bytes).
const REDIS_VALUE: &str = r#"{"trace":"x"}"#;

/// Seeds `ns` as the seed's store writes (SET with a TTL, ZADD), in
/// pipelines of 10,000: expired traces 16 to 20 days old, kept ones 0 to
/// 4 days old, a dozen sharing each score (a page often ends inside a
/// group of equal scores), and a burst of 5,000 expired ones written in
/// one second (more members at one score than a page holds). Returns the
/// ids of both.
fn seed_redis(c: &mut redis::Connection, ns: &str) -> (Vec<String>, Vec<String>) {
    let now = crate::redis::now();
    let expired: Vec<(String, i64)> = (0..REDIS_EXPIRED)
        .map(|i| {
            let back = if i < 5_000 {
                0
            } else {
                (i % 5_000) as i64 * 60
            };
            (format!("old{i}"), now - 16 * DAY - back)
        })
        .collect();
    let kept: Vec<(String, i64)> = (0..REDIS_KEPT)
        .map(|i| (format!("new{i}"), now - (i % 5_000) as i64 * 60))
        .collect();
    let all: Vec<&(String, i64)> = expired.iter().chain(&kept).collect();
    for chunk in all.chunks(10_000) {
        let mut pipe = redis::pipe();
        let mut zadd = redis::cmd("ZADD");
        zadd.arg(format!("{ns}index"));
        for (id, score) in chunk {
            pipe.cmd("SET")
                .arg(format!("{ns}traces:{id}"))
                .arg(REDIS_VALUE)
                .arg("EX")
                .arg(15 * DAY)
                .ignore();
            zadd.arg(*score).arg(id);
        }
        pipe.add_command(zadd).ignore();
        pipe.exec(c).expect("seed the traces");
    }
    let ids = |v: Vec<(String, i64)>| v.into_iter().map(|(id, _)| id).collect();
    (ids(expired), ids(kept))
}

/// How many of `ids`' keys exist (`EXISTS k1 k2 …`, 10,000 at a time).
fn existing(c: &mut redis::Connection, ns: &str, ids: &[String]) -> u64 {
    ids.chunks(10_000)
        .map(|chunk| {
            let mut cmd = redis::cmd("EXISTS");
            for id in chunk {
                cmd.arg(format!("{ns}traces:{id}"));
            }
            cmd.query::<u64>(c).expect("exists")
        })
        .sum()
}

/// Two purges of one Redis store at once.
pub fn redis_store() {
    let dir = tempdir();
    let ns = crate::redis::namespace("race");
    crate::redis::write_spec(dir.path(), &ns);
    let mut c = crate::redis::connect();
    let (expired, kept) = seed_redis(&mut c, &ns);
    let (_, password) = crate::redis::redis_server();
    // Alone, the walk finds every member, equal scores included.
    let verify = crate::redis::run(
        dir.path(),
        &["--output", "json", "cleanup", "verify", "--grace", "0"],
    )
    .code(1);
    assert_eq!(verify.json()["expired_objects"], REDIS_EXPIRED);
    let runs = at_once(|| {
        Run::new(dir.path()).env("REDIS_PASSWORD", &password).args([
            "-e", "cache", "--output", "json", "cleanup", "purge", "--yes",
        ])
    });
    let runs = both_succeed(runs);

    assert_eq!(existing(&mut c, &ns, &expired), 0, "expired keys left");
    assert_eq!(existing(&mut c, &ns, &kept), REDIS_KEPT, "kept keys lost");
    let index = format!("{ns}index");
    let past: u64 = redis::cmd("ZCOUNT")
        .arg(&index)
        .arg("-inf")
        .arg(format!("({}", crate::redis::now() - 15 * DAY))
        .query(&mut c)
        .expect("zcount");
    assert_eq!(past, 0, "index members past retention left");
    let members: u64 = redis::cmd("ZCARD")
        .arg(&index)
        .query(&mut c)
        .expect("zcard");
    assert_eq!(members, REDIS_KEPT, "index members within retention");
    let counts = counts_of(&runs, "removed");
    counts_add_up(counts, REDIS_EXPIRED, REDIS_VALUE.len() as u64, true);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn two_purges_at_once_on_redis() {
    redis_store();
}

// --- local disk ----------------------------------------------------------

/// Expired partitions (16 to 25 days old) and kept ones (0 to 4), and
/// the files in each.
const LOCAL_EXPIRED_DAYS: std::ops::RangeInclusive<u64> = 16..=25;
const LOCAL_KEPT_DAYS: std::ops::RangeInclusive<u64> = 0..=4;
const LOCAL_PER_EXPIRED_DAY: u64 = 3_000;
const LOCAL_PER_KEPT_DAY: u64 = 1_000;

/// Files directly in `dir` (0 when it is gone).
fn files_in(dir: &Path) -> u64 {
    std::fs::read_dir(dir).map_or(0, |d| d.count() as u64)
}

/// Two purges of one local directory at once: both walk the same
/// partitions in the same order, so nearly every file is a race.
pub fn local_store() {
    let dir = tempdir();
    let traces = dir.path().join("disk/traces");
    let seed = |days: std::ops::RangeInclusive<u64>, per_day: u64| {
        for age in days {
            let partition = traces.join(day(age));
            std::fs::create_dir_all(&partition).expect("mkdir");
            for i in 0..per_day {
                std::fs::write(partition.join(format!("t{i}.zip")), b"zip").expect("write");
            }
        }
    };
    seed(LOCAL_EXPIRED_DAYS, LOCAL_PER_EXPIRED_DAY);
    seed(LOCAL_KEPT_DAYS, LOCAL_PER_KEPT_DAY);
    let spec = "project: ct\nenvironments:\n  staging:\n    storage: local\n    path: disk\n    retention_days: 15\n";
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");

    let runs = at_once(|| {
        Run::new(dir.path()).args([
            "-e", "staging", "--output", "json", "cleanup", "purge", "--yes",
        ])
    });
    let runs = both_succeed(runs);

    for age in LOCAL_EXPIRED_DAYS {
        assert!(!traces.join(day(age)).exists(), "partition {age} left");
    }
    for age in LOCAL_KEPT_DAYS {
        assert_eq!(
            files_in(&traces.join(day(age))),
            LOCAL_PER_KEPT_DAY,
            "{age}"
        );
    }
    let expired = LOCAL_PER_EXPIRED_DAY * LOCAL_EXPIRED_DAYS.count() as u64;
    counts_add_up(counts_of(&runs, "removed"), expired, 3, true);
}

#[test]
fn two_purges_at_once_on_local_disk() {
    local_store();
}

// --- S3 (Garage) ---------------------------------------------------------

/// Expired partitions (16 to 18 days old) of 1,000 traces, kept ones
/// (0 and 1 day old) of 250.
const S3_EXPIRED_DAYS: [u64; 3] = [16, 17, 18];
const S3_KEPT_DAYS: [u64; 2] = [0, 1];
const S3_PER_EXPIRED_DAY: usize = 1_000;
const S3_PER_KEPT_DAY: usize = 250;

fn s3_keys(days: &[u64], per_day: usize) -> Vec<String> {
    days.iter()
        .flat_map(|age| {
            (0..per_day).map(move |i| format!("{PREFIX}/traces/{}/t{i:04}.zip", day(*age)))
        })
        .collect()
}

/// Writes `keys` (3 bytes each), 32 at a time.
async fn put_all(s3: &aws_sdk_s3::Client, bucket: &str, keys: &[String]) {
    stream::iter(keys)
        .for_each_concurrent(32, |key| async move {
            crate::cleanup::put(s3, bucket, key).await;
        })
        .await;
}

fn s3_run(dir: &Path, endpoint: &Endpoint, output: &str) -> Run {
    Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key)
        .args([
            "-e", "staging", "--output", output, "cleanup", "purge", "--yes",
        ])
}

/// Two purges of one S3 prefix at once: exactly the expired keys go, and
/// each run says its count is of keys requested (S3 cannot tell which run
/// removed a key).
pub async fn s3_store(endpoint: &Endpoint) {
    let s3 = s3_client(endpoint);
    let bucket = unique_bucket("race");
    create_bucket(&s3, endpoint, &bucket).await;
    let expired = s3_keys(&S3_EXPIRED_DAYS, S3_PER_EXPIRED_DAY);
    let kept = s3_keys(&S3_KEPT_DAYS, S3_PER_KEPT_DAY);
    put_all(&s3, &bucket, &expired).await;
    put_all(&s3, &bucket, &kept).await;
    let dir = tempdir();
    write_s3_spec(dir.path(), endpoint, "s3-compatible", &bucket, false);

    let runs = tokio::task::block_in_place(|| at_once(|| s3_run(dir.path(), endpoint, "json")));
    let runs = both_succeed(runs);
    let kept: BTreeSet<String> = kept.into_iter().collect();
    assert_eq!(
        all_keys(&s3, &bucket).await,
        kept,
        "exactly the expired keys are gone"
    );
    let counts = counts_of(&runs, "requested");
    let total = expired.len() as u64;
    eprintln!("requested {} + {} of {total}", counts[0].0, counts[1].0);
    for (objects, bytes) in counts {
        assert!(objects <= total, "{counts:?}");
        assert_eq!(bytes, objects * 3, "{counts:?}");
    }
    assert!(
        counts[0].0 + counts[1].0 >= total,
        "every expired key was sent by one run at least: {counts:?}"
    );

    // The text says what the count is.
    let more = s3_keys(&[20], 3);
    put_all(&s3, &bucket, &more).await;
    let text = tokio::task::block_in_place(|| s3_run(dir.path(), endpoint, "text").run());
    text.code(0)
        .stdout_contains("requested the deletion of 3 objects")
        .stdout_contains("the count is of keys sent");
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn two_purges_at_once_on_garage() {
    s3_store(&server("garage")).await;
}

// --- SQL -----------------------------------------------------------------

/// Expired days (16 to 25 days old) of 6,000 rows, kept days (0 to 4) of
/// 1,000; `data` of 3 bytes.
const SQL_EXPIRED_DAYS: std::ops::RangeInclusive<u64> = 16..=25;
const SQL_KEPT_DAYS: std::ops::RangeInclusive<u64> = 0..=4;
const SQL_PER_EXPIRED_DAY: u64 = 6_000;
const SQL_PER_KEPT_DAY: u64 = 1_000;

/// One day's rows in one `INSERT … SELECT` from the server's own row
/// generator, trace ids `{tag}-{age}-{n}`.
fn insert_day(name: &str, q: &str, tag: &str, age: u64, rows: u64) -> String {
    let day = Utc::now()
        .date_naive()
        .checked_sub_days(Days::new(age))
        .expect("a day");
    let columns = "(trace_id, data, created_at, updated_at)";
    let at = format!("'{day} 12:00:00'");
    match name {
        "postgres" => format!(
            "INSERT INTO {q} {columns} SELECT '{tag}-{age}-' || g, 'abc', {at}, {at} FROM generate_series(1, {rows}) g"
        ),
        "mariadb" => format!(
            "INSERT INTO {q} {columns} SELECT CONCAT('{tag}-{age}-', seq), 'abc', {at}, {at} FROM seq_1_to_{rows}"
        ),
        _ => format!(
            "WITH RECURSIVE s(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM s WHERE n < {rows}) \
             INSERT INTO {q} {columns} SELECT '{tag}-{age}-' || n, 'abc', {at}, {at} FROM s"
        ),
    }
}

/// Two purges of one table at once on `name` (`postgres`, `mariadb`,
/// `sqlite`).
pub fn sql_store(name: &'static str) {
    let dir = tempdir();
    let db = database(name, dir.path());
    let table = unique_table("race");
    let q = db.quote(&table);
    db.create_seed_table(&table, true);
    let mut statements: Vec<String> = SQL_EXPIRED_DAYS
        .map(|age| insert_day(name, &q, "old", age, SQL_PER_EXPIRED_DAY))
        .collect();
    statements.extend(SQL_KEPT_DAYS.map(|age| insert_day(name, &q, "new", age, SQL_PER_KEPT_DAY)));
    db.exec(&statements);
    db.write_spec(dir.path(), &table);

    let runs = at_once(|| {
        db.tool(
            dir.path(),
            &["--output", "json", "cleanup", "purge", "--yes"],
        )
    });
    let runs = both_succeed(runs);

    let kept = SQL_PER_KEPT_DAY * SQL_KEPT_DAYS.count() as u64;
    assert_eq!(db.rows(&table), kept as i64, "rows left");
    let new = db.count(&format!(
        "SELECT COUNT(*) FROM {q} WHERE trace_id LIKE 'new-%'"
    ));
    assert_eq!(new, kept as i64, "rows within retention");
    // PostgreSQL's batch that finds its rows taken by the other run ends
    // that run (the other goes on to the end): one count may be 0.
    let expired = SQL_PER_EXPIRED_DAY * SQL_EXPIRED_DAYS.count() as u64;
    counts_add_up(counts_of(&runs, "removed"), expired, 3, false);
    db.exec(&[format!("DROP TABLE {q}")]);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn two_purges_at_once_on_postgres() {
    sql_store("postgres");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn two_purges_at_once_on_mariadb() {
    sql_store("mariadb");
}

#[test]
fn two_purges_at_once_on_sqlite() {
    sql_store("sqlite");
}
