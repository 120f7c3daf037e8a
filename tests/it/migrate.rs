//! `migrate` (issue 25): traces copied and moved between the bench's real
//! stores — the local disk, Garage (and moto), fake-gcs-server, Redis,
//! PostgreSQL and MariaDB — in each store's own layout and form (the
//! package's zip bundles on disks and S3 buckets, the seed's JSON in GCS,
//! Redis and tables).
//!
//! Every test seeds a set of traces, runs the binary, and accounts for
//! every seeded trace by bytes: it is in the source as seeded, in the
//! destination as the destination keeps it, or in both — never lost, never
//! altered. The faults: SIGINT mid-run, the destination killed mid-run, a
//! destination answering 500 for one key in ten, a source trace changed
//! between its copy and its removal. After each, a rerun converges.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use aws_sdk_s3::Client;
use aws_sdk_s3::primitives::ByteStream;
use chrono::{Days, Utc};
use chronotrace_ops::testing::{bundle_of, manifest_of};
use serde_json::Value;
use tempfile::TempDir;

use crate::fault_proxy::Fault;
use crate::hardening::through_proxy;
use crate::redis::{connect, namespace, redis_server};
use crate::servers::{Endpoint, create_bucket, s3_client, server, unique_bucket};
use crate::sql_support::{Db, database, unique_table};
use crate::support::{Outcome, Run, tempdir};

/// Retention of every environment of the tests' specs.
const RETENTION: u64 = 30;

/// One seeded trace: its id (`ct_{random}_{unix time}`, as the package
/// names them), when it was stored, and its JSON.
#[derive(Debug, Clone)]
pub struct Trace {
    pub id: String,
    pub created: i64,
    pub json: Vec<u8>,
}

impl Trace {
    /// Its bytes as a store of `form` keeps them.
    pub fn bytes(&self, form: Form) -> Vec<u8> {
        match form {
            Form::Bundle => bundle_of(&self.json, self.created),
            Form::Json => self.json.clone(),
        }
    }

    pub fn day(&self) -> String {
        chrono::DateTime::from_timestamp(self.created, 0)
            .expect("a time")
            .date_naive()
            .to_string()
    }
}

/// `per_day` traces on each of the days `ages` days ago (at 10:00 UTC plus
/// a second per trace), each id carrying `tag`.
pub fn traces(tag: &str, ages: std::ops::Range<u64>, per_day: u64) -> Vec<Trace> {
    let today = Utc::now().date_naive();
    let mut out = Vec::new();
    for age in ages {
        let day = today.checked_sub_days(Days::new(age)).expect("a day");
        for i in 0..per_day {
            let created = day
                .and_hms_opt(10, 0, 0)
                .expect("a time")
                .and_utc()
                .timestamp()
                + i as i64;
            let id = format!("ct_{tag}{age:03}x{i:04}_{created}");
            let json = format!(
                r#"{{"trace_id":"{id}","response":{{"status":{},"duration":{}}},"padding":"{}"}}"#,
                200 + (i % 4) * 100,
                i * 37,
                "p".repeat((i % 13) as usize * 40)
            );
            out.push(Trace {
                id,
                created,
                json: json.into_bytes(),
            });
        }
    }
    out
}

/// How a store keeps a trace's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    Bundle,
    Json,
}

/// One side of a migration: a store on the bench, in a namespace of its own.
pub enum Side {
    Local(TempDir),
    Bucket {
        endpoint: Endpoint,
        bucket: String,
        client: Client,
    },
    /// fake-gcs-server: the seed's flat `traces/{id}.json`.
    Gcs {
        host: String,
        bucket: String,
    },
    Redis {
        ns: String,
    },
    Table {
        db: Db,
        table: String,
        _dir: TempDir,
    },
}

impl Side {
    pub fn local() -> Side {
        Side::Local(tempdir())
    }

    pub async fn bucket(name: &str) -> Side {
        let endpoint = server(name);
        let bucket = unique_bucket(&format!("mig-{name}"));
        let client = s3_client(&endpoint);
        create_bucket(&client, &endpoint, &bucket).await;
        Side::Bucket {
            endpoint,
            bucket,
            client,
        }
    }

    pub fn gcs() -> Side {
        let host = crate::conformance::gcs::server();
        // `ct-g-{nanoseconds}`: a bucket name GCS accepts.
        let bucket = format!("mig-{}", namespace("g").trim_end_matches(':'));
        crate::conformance::gcs::make_bucket(&host, &bucket);
        Side::Gcs { host, bucket }
    }

    pub fn redis() -> Side {
        Side::Redis {
            ns: namespace("mig"),
        }
    }

    pub fn table(name: &'static str) -> Side {
        let dir = tempdir();
        let db = database(name, dir.path());
        let table = unique_table("mig");
        off_runtime(|| db.create_seed_table(&table, true));
        Side::Table {
            db,
            table,
            _dir: dir,
        }
    }

    pub fn form(&self) -> Form {
        match self {
            Side::Local(_) | Side::Bucket { .. } => Form::Bundle,
            Side::Gcs { .. } | Side::Redis { .. } | Side::Table { .. } => Form::Json,
        }
    }

    /// The environment's block in the spec.
    pub fn yaml(&self, env: &str, endpoint_url: Option<&str>) -> String {
        match self {
            Side::Local(dir) => format!(
                "  {env}:\n    storage: local\n    path: {}\n    retention_days: {RETENTION}\n",
                dir.path().display()
            ),
            Side::Bucket {
                endpoint, bucket, ..
            } => format!(
                "  {env}:\n    storage: s3\n    provider: {}\n    endpoint: {}\n    region: {}\n    bucket: {bucket}\n    prefix: mig/traces\n    retention_days: {RETENTION}\n",
                if endpoint.name == "moto" {
                    "aws"
                } else {
                    "s3-compatible"
                },
                endpoint_url.unwrap_or(&endpoint.url),
                endpoint.region
            ),
            Side::Gcs { host, bucket } => format!(
                "  {env}:\n    storage: gcs\n    endpoint: {}\n    bucket: {bucket}\n    retention_days: {RETENTION}\n",
                endpoint_url.map_or_else(|| format!("http://{host}"), str::to_string)
            ),
            Side::Redis { ns } => format!(
                "  {env}:\n    storage: redis\n    url: {}\n    key_prefix: '{ns}traces:'\n    index_key: '{ns}index'\n    retention_days: {RETENTION}\n",
                redis_server().0
            ),
            Side::Table { db, table, .. } => format!(
                "  {env}:\n    storage: database\n    url: {}\n    table: {table}\n    retention_days: {RETENTION}\n",
                db.url
            ),
        }
    }

    pub fn object_key(trace: &Trace) -> String {
        format!("mig/traces/traces/{}/{}.zip", trace.day(), trace.id)
    }

    /// Stores `traces` as the app (or the seed's store) writes them.
    pub async fn seed(&self, traces: &[Trace]) {
        match self {
            Side::Local(dir) => {
                for t in traces {
                    let folder = dir.path().join("traces").join(t.day());
                    std::fs::create_dir_all(&folder).expect("a day folder");
                    std::fs::write(folder.join(format!("{}.zip", t.id)), t.bytes(Form::Bundle))
                        .expect("a trace");
                }
            }
            Side::Bucket { bucket, client, .. } => {
                for t in traces {
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(Side::object_key(t))
                        .body(ByteStream::from(t.bytes(Form::Bundle)))
                        .send()
                        .await
                        .expect("put a trace");
                }
            }
            Side::Gcs { host, bucket } => {
                for t in traces {
                    let name = format!("traces/{}.json", t.id);
                    crate::conformance::gcs::put(
                        host,
                        bucket,
                        &name,
                        &String::from_utf8_lossy(&t.json),
                    );
                }
            }
            Side::Redis { ns } => {
                let mut c = connect();
                let mut pipe = redis::pipe();
                for t in traces {
                    pipe.cmd("SET")
                        .arg(format!("{ns}traces:{}", t.id))
                        .arg(&t.json)
                        .arg("EXAT")
                        .arg(t.created + RETENTION as i64 * 86_400)
                        .ignore();
                    pipe.cmd("ZADD")
                        .arg(format!("{ns}index"))
                        .arg(t.created)
                        .arg(&t.id)
                        .ignore();
                }
                let () = pipe.query(&mut c).expect("seed redis");
            }
            Side::Table { db, table, .. } => {
                let statements: Vec<String> = traces
                    .chunks(100)
                    .map(|chunk| {
                        let values: Vec<String> = chunk
                            .iter()
                            .map(|t| {
                                let at = chrono::DateTime::from_timestamp(t.created, 0)
                                    .expect("a time")
                                    .format("%Y-%m-%d %H:%M:%S");
                                format!(
                                    "('{}', '{}', '{at}', '{at}')",
                                    t.id,
                                    String::from_utf8_lossy(&t.json)
                                )
                            })
                            .collect();
                        format!(
                            "INSERT INTO {} (trace_id, data, created_at, updated_at) VALUES {}",
                            db.quote(table),
                            values.join(",")
                        )
                    })
                    .collect();
                off_runtime(|| db.exec(&statements));
            }
        }
    }

    /// Every trace the store holds: id → bytes.
    pub async fn contents(&self) -> BTreeMap<String, Vec<u8>> {
        let mut out = BTreeMap::new();
        match self {
            Side::Local(dir) => {
                let root = dir.path().join("traces");
                for day in std::fs::read_dir(&root).into_iter().flatten().flatten() {
                    for file in std::fs::read_dir(day.path()).expect("a day").flatten() {
                        let name = file.file_name().to_string_lossy().into_owned();
                        if let Some(id) = name.strip_suffix(".zip") {
                            out.insert(id.to_string(), std::fs::read(file.path()).expect("read"));
                        } else {
                            panic!("a stray file in the local store: {name}");
                        }
                    }
                }
            }
            Side::Bucket { bucket, client, .. } => {
                for key in crate::cleanup::all_keys(client, bucket).await {
                    let id = key
                        .rsplit('/')
                        .next()
                        .and_then(|f| f.strip_suffix(".zip"))
                        .expect("a trace key")
                        .to_string();
                    let body = client
                        .get_object()
                        .bucket(bucket)
                        .key(&key)
                        .send()
                        .await
                        .expect("get")
                        .body
                        .collect()
                        .await
                        .expect("body")
                        .into_bytes()
                        .to_vec();
                    out.insert(id, body);
                }
            }
            Side::Gcs { host, bucket } => {
                for name in crate::conformance::gcs::names(host, bucket, "") {
                    let id = name
                        .strip_prefix("traces/")
                        .and_then(|f| f.strip_suffix(".json"))
                        .unwrap_or_else(|| panic!("a stray object in the bucket: {name}"));
                    let body = crate::conformance::gcs::get(host, bucket, &name);
                    out.insert(id.to_string(), body);
                }
            }
            Side::Redis { ns } => {
                let mut c = connect();
                let keys = crate::redis::scan_keys(&mut c, &format!("{ns}traces:*"));
                for key in keys {
                    let value: Vec<u8> = redis::cmd("GET").arg(&key).query(&mut c).expect("get");
                    let id = key.trim_start_matches(&format!("{ns}traces:")).to_string();
                    let score: Option<f64> = redis::cmd("ZSCORE")
                        .arg(format!("{ns}index"))
                        .arg(&id)
                        .query(&mut c)
                        .expect("zscore");
                    assert!(score.is_some(), "{id} has a key but no index entry");
                    out.insert(id, value);
                }
                let members: i64 = redis::cmd("ZCARD")
                    .arg(format!("{ns}index"))
                    .query(&mut c)
                    .expect("zcard");
                assert_eq!(members as usize, out.len(), "index entries without keys");
            }
            Side::Table { db, table, .. } => {
                let q = db.quote(table);
                let ids = off_runtime(|| {
                    db.strings(&format!("SELECT trace_id FROM {q} ORDER BY trace_id"))
                })
                .expect("the table");
                // As hex, and short enough to be a VARCHAR: MariaDB's driver types
                // a LONGTEXT (and a long CHAR) as bytes.
                let data = off_runtime(|| {
                    let hex = if db.name == "postgres" {
                        "encode(convert_to(data, 'UTF8'), 'hex')"
                    } else {
                        "CAST(HEX(data) AS CHAR(8000))"
                    };
                    db.strings(&format!("SELECT {hex} FROM {q} ORDER BY trace_id"))
                })
                .expect("the table");
                for (id, hex) in ids.into_iter().zip(data) {
                    let bytes = (0..hex.len())
                        .step_by(2)
                        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex"))
                        .collect();
                    out.insert(id, bytes);
                }
            }
        }
        out
    }

    /// Changes one trace's bytes in place (the app writing it again).
    async fn change(&self, id: &str) {
        match self {
            Side::Redis { ns } => {
                let mut c = connect();
                let () = redis::cmd("SET")
                    .arg(format!("{ns}traces:{id}"))
                    .arg(r#"{"changed":true}"#)
                    .arg("KEEPTTL")
                    .query(&mut c)
                    .expect("set");
            }
            Side::Local(dir) => {
                let file = walk(&dir.path().join("traces"))
                    .into_iter()
                    .find(|p| p.ends_with(format!("{id}.zip")))
                    .expect("the trace's file");
                std::fs::write(file, b"changed").expect("write");
            }
            Side::Gcs { host, bucket } => {
                let name = format!("traces/{id}.json");
                crate::conformance::gcs::put(host, bucket, &name, r#"{"changed":true}"#);
            }
            _ => unimplemented!("the tests change traces on Redis, GCS and the local disk"),
        }
    }
}

/// Runs `work` (which starts a runtime of its own, as `sql_support`'s
/// helpers do) on a thread outside the test's runtime.
fn off_runtime<T: Send>(work: impl FnOnce() -> T + Send) -> T {
    std::thread::scope(|s| s.spawn(work).join().expect("the SQL helper ran"))
}

fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.path().is_dir() {
            out.extend(walk(&entry.path()));
        } else {
            out.push(entry.path());
        }
    }
    out
}

impl Drop for Side {
    /// The bench's servers are shared: the test's keys go.
    fn drop(&mut self) {
        if let Side::Redis { ns } = self {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let mut c = connect();
                for key in crate::redis::scan_keys(&mut c, &format!("{ns}*")) {
                    let _: redis::RedisResult<()> = redis::cmd("UNLINK").arg(key).query(&mut c);
                }
            }));
        }
    }
}

/// A spec with environments `from` and `to`, and the binary run there.
struct Pair {
    dir: TempDir,
    from: Side,
    to: Side,
}

impl Pair {
    fn new(from: Side, to: Side) -> Pair {
        let pair = Pair {
            dir: tempdir(),
            from,
            to,
        };
        pair.write_spec(None);
        pair
    }

    /// Writes the spec; `to_endpoint` points the destination bucket's
    /// requests elsewhere (a fault proxy).
    fn write_spec(&self, to_endpoint: Option<&str>) {
        let spec = format!(
            "project: mig\nenvironments:\n{}{}",
            self.from.yaml("hot", None),
            self.to.yaml("cold", to_endpoint)
        );
        std::fs::write(self.dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
    }

    fn tool(&self, args: &[&str]) -> Run {
        let mut run = Run::new(self.dir.path())
            .args([
                "--output", "json", "migrate", "--from", "hot", "--to", "cold",
            ])
            .args(args);
        for side in [&self.from, &self.to] {
            match side {
                Side::Bucket { endpoint, .. } => {
                    run = run
                        .env("AWS_ACCESS_KEY_ID", &endpoint.access_key_id)
                        .env("AWS_SECRET_ACCESS_KEY", &endpoint.secret_access_key);
                }
                Side::Redis { .. } => run = run.env("REDIS_PASSWORD", redis_server().1),
                Side::Table { db, .. } => run = run.env("DB_PASSWORD", &db.password),
                Side::Gcs { .. } => {
                    run = run.env(
                        "GOOGLE_APPLICATION_CREDENTIALS",
                        crate::support::bench_file("CT_TEST_GCS_KEY_FILE"),
                    )
                }
                Side::Local(_) => {}
            }
        }
        run
    }

    /// Every seeded trace is in the source as seeded or in the destination
    /// as the destination keeps it (or both), and nothing else is in
    /// either; returns (in the source, in the destination).
    async fn accounted(&self, seeded: &[Trace]) -> (usize, usize) {
        let source = self.from.contents().await;
        let destination = self.to.contents().await;
        let by_id: BTreeMap<&str, &Trace> = seeded.iter().map(|t| (t.id.as_str(), t)).collect();
        for id in source.keys().chain(destination.keys()) {
            assert!(by_id.contains_key(id.as_str()), "{id} was never seeded");
        }
        for t in seeded {
            let here = source.get(&t.id);
            let there = destination.get(&t.id);
            assert!(here.is_some() || there.is_some(), "{} is lost", t.id);
            if let Some(bytes) = here {
                assert_eq!(
                    bytes,
                    &t.bytes(self.from.form()),
                    "{} changed in the source",
                    t.id
                );
            }
            if let Some(bytes) = there {
                assert_eq!(
                    bytes,
                    &t.bytes(self.to.form()),
                    "{} differs in the destination",
                    t.id
                );
            }
        }
        (source.len(), destination.len())
    }
}

fn json(out: &Outcome) -> Value {
    serde_json::from_str(&out.stdout)
        .unwrap_or_else(|e| panic!("stdout is not JSON ({e}):\n{}\n{}", out.stdout, out.stderr))
}

/// A dry run lists, a real one moves, a rerun finds nothing left: on the
/// pair `from` → `to`, with `traces` seeded.
async fn move_converges(pair: &Pair, seeded: &[Trace]) {
    pair.from.seed(seeded).await;
    let dry = pair.tool(&["--move"]).run().code(0);
    let report = json(&dry);
    assert_eq!(report["dry_run"], true);
    assert_eq!(report["listed"], seeded.len());
    assert_eq!(report["copied"], 0);
    let days: u64 = report["days"]
        .as_array()
        .expect("days")
        .iter()
        .map(|d| d["objects"].as_u64().expect("objects"))
        .sum();
    assert_eq!(days, seeded.len() as u64);
    assert_eq!(
        pair.accounted(seeded).await,
        (seeded.len(), 0),
        "a dry run wrote"
    );

    let moved = pair.tool(&["--move", "--yes"]).run().code(0);
    let report = json(&moved);
    assert_eq!(report["copied"], seeded.len(), "{}", moved.stdout);
    assert_eq!(report["removed_from_source"], seeded.len());
    assert_eq!(report["failed"], 0);
    assert_eq!(pair.accounted(seeded).await, (0, seeded.len()));

    let again = pair.tool(&["--move", "--yes"]).run().code(0);
    assert_eq!(json(&again)["listed"], 0, "{}", again.stdout);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn local_to_garage_moves_every_trace_in_the_package_layout() {
    let pair = Pair::new(Side::local(), Side::bucket("garage").await);
    move_converges(&pair, &traces("lg", 0..6, 12)).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn redis_to_postgres_keeps_the_json_byte_for_byte() {
    let pair = Pair::new(Side::redis(), Side::table("postgres"));
    move_converges(&pair, &traces("rp", 0..5, 10)).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn local_to_mariadb_unpacks_each_bundle_into_its_manifest() {
    let pair = Pair::new(Side::local(), Side::table("mariadb"));
    move_converges(&pair, &traces("lm", 0..4, 10)).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn redis_to_garage_and_back_gives_the_same_json() {
    let seeded = traces("rg", 0..4, 8);
    let there = Pair::new(Side::redis(), Side::bucket("garage").await);
    move_converges(&there, &seeded).await;
    // Garage's bundles, back into a fresh Redis namespace: the JSON again.
    let Pair { from, to, dir } = there;
    drop(from);
    let back = Pair {
        dir,
        from: to,
        to: Side::redis(),
    };
    back.write_spec(None);
    let out = back.tool(&["--move", "--yes"]).run().code(0);
    assert_eq!(json(&out)["copied"], seeded.len());
    assert_eq!(back.accounted(&seeded).await, (0, seeded.len()));
    for (id, bytes) in back.to.contents().await {
        let trace = seeded.iter().find(|t| t.id == id).expect("seeded");
        assert_eq!(bytes, trace.json);
    }
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn older_than_moves_only_the_old_days_and_copying_keeps_the_source() {
    let pair = Pair::new(Side::redis(), Side::table("postgres"));
    let seeded = traces("ot", 0..10, 5);
    pair.from.seed(&seeded).await;
    // A copy (no --move) of what is older than 6 days: days 7, 8, 9.
    let out = pair.tool(&["--older-than", "6", "--yes"]).run().code(0);
    let report = json(&out);
    assert_eq!(report["copied"], 15, "{}", out.stdout);
    assert_eq!(report["removed_from_source"], 0);
    assert_eq!(pair.accounted(&seeded).await, (50, 15));
    // Again with --move: the 15 are already there (not written again),
    // and only now leave the source.
    let out = pair
        .tool(&["--older-than", "6", "--move", "--yes"])
        .run()
        .code(0);
    let report = json(&out);
    assert_eq!(report["copied"], 0, "{}", out.stdout);
    assert_eq!(report["already_there"], 15);
    assert_eq!(report["removed_from_source"], 15);
    assert_eq!(pair.accounted(&seeded).await, (35, 15));
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_trace_different_in_the_destination_is_never_overwritten() {
    let pair = Pair::new(Side::local(), Side::redis());
    let seeded = traces("df", 1..3, 4);
    pair.from.seed(&seeded).await;
    // The destination already holds another trace under one of the ids.
    let clash = &seeded[2];
    if let Side::Redis { ns } = &pair.to {
        let mut c = connect();
        let () = redis::cmd("SET")
            .arg(format!("{ns}traces:{}", clash.id))
            .arg("{\"someone\":\"else\"}")
            .query(&mut c)
            .expect("set");
    }
    let out = pair.tool(&["--move", "--yes"]).run().code(1);
    let report = json(&out);
    assert_eq!(report["failed"], 1, "{}", out.stdout);
    assert_eq!(report["errors"][0]["trace"], clash.id.as_str());
    assert!(
        report["errors"][0]["message"]
            .as_str()
            .is_some_and(|m| m.contains("another trace")),
        "{}",
        out.stdout
    );
    // The clash stays in the source; the other seven moved.
    let source = pair.from.contents().await;
    assert_eq!(source.keys().collect::<Vec<_>>(), vec![&clash.id]);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_interrupted_migration_loses_nothing_and_a_rerun_finishes_it() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let pair = Pair::new(Side::local(), Side::bucket("garage").await);
    pair.write_spec(Some(&proxied.url));
    let seeded = traces("ir", 0..8, 25);
    pair.from.seed(&seeded).await;
    // Every request slowed: the run is still going when the signal comes.
    proxy.storm(100, 7, &[Fault::Delay(Duration::from_millis(150))]);
    let child = pair
        .tool(&["--move", "--yes", "--concurrency", "4"])
        .spawn();
    let start = Instant::now();
    while proxy.injected() < 40 {
        assert!(start.elapsed() < Duration::from_secs(90), "no progress");
        std::thread::sleep(Duration::from_millis(50));
    }
    let killed = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let out = crate::interrupts::interrupted(Outcome::of(
        child.wait_with_output().expect("the binary ends"),
    ));
    let report = json(&out);
    assert_eq!(report["interrupted"], true);
    let (left, there) = pair.accounted(&seeded).await;
    assert!(
        there > 0 && left > 0,
        "stopped part-way: {left} left, {there} there"
    );
    // What the report says matches what happened.
    assert_eq!(
        report["removed_from_source"].as_u64(),
        Some((seeded.len() - left) as u64),
        "{}",
        out.stdout
    );
    proxy.calm();
    let rerun = pair.tool(&["--move", "--yes"]).run().code(0);
    let report = json(&rerun);
    assert_eq!(report["failed"], 0, "{}", rerun.stdout);
    assert_eq!(pair.accounted(&seeded).await, (0, seeded.len()));
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_destination_that_dies_stops_the_run_and_a_rerun_finishes_it() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let pair = Pair::new(Side::redis(), Side::bucket("garage").await);
    pair.write_spec(Some(&proxied.url));
    let seeded = traces("dd", 0..6, 20);
    pair.from.seed(&seeded).await;
    // The 30th request to Garage kills it: the port closes.
    proxy.script(std::iter::repeat_n(Fault::Pass, 29).chain([Fault::Kill]));
    let out = pair
        .tool(&["--move", "--yes", "--concurrency", "2"])
        .run_within(Duration::from_secs(120))
        .code(2);
    let report = json(&out);
    assert_eq!(report["interrupted"], false);
    assert!(
        report["stopped_by_error"]
            .as_str()
            .is_some_and(|e| e.contains("in a row failed")),
        "{}",
        out.stdout
    );
    let (left, there) = pair.accounted(&seeded).await;
    assert!(left > 0, "the run went on after the destination died");
    assert!(there > 0, "nothing was copied before the kill");
    drop(proxy);
    pair.write_spec(None);
    pair.tool(&["--move", "--yes"]).run().code(0);
    assert_eq!(pair.accounted(&seeded).await, (0, seeded.len()));
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_destination_refusing_one_key_in_ten_keeps_those_in_the_source() {
    let garage = server("garage");
    let (proxy, proxied) = through_proxy(&garage);
    let pair = Pair::new(Side::local(), Side::bucket("garage").await);
    pair.write_spec(Some(&proxied.url));
    let seeded = traces("te", 0..5, 10);
    pair.from.seed(&seeded).await;
    // Every PUT of a trace numbered ...x0003 (one in ten) answers 500.
    proxy.on_target("PUT", "x0003_", Fault::Bare(500), usize::MAX);
    let out = pair.tool(&["--move", "--yes"]).run().code(1);
    let report = json(&out);
    assert_eq!(report["failed"], 5, "{}", out.stdout);
    assert_eq!(report["removed_from_source"], 45);
    let (left, there) = pair.accounted(&seeded).await;
    assert_eq!((left, there), (5, 45));
    proxy.clear_rules();
    pair.tool(&["--move", "--yes"]).run().code(0);
    assert_eq!(pair.accounted(&seeded).await, (0, seeded.len()));
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_source_trace_changed_after_its_copy_is_not_removed() {
    let pair = Pair::new(Side::redis(), Side::table("postgres"));
    changed_after_its_copy_is_kept(&pair, &traces("ch", 0..3, 4)).await;
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_gcs_source_trace_changed_after_its_copy_is_not_removed() {
    let pair = Pair::new(Side::gcs(), Side::table("postgres"));
    changed_after_its_copy_is_kept(&pair, &traces("gc", 0..3, 4)).await;
}

/// The first trace's removal waits at the test gate while the app writes
/// that trace again: the changed trace stays in the source, as changed,
/// and the destination holds the copy read before.
async fn changed_after_its_copy_is_kept(pair: &Pair, seeded: &[Trace]) {
    pair.from.seed(seeded).await;
    let gate = pair.dir.path().join("gate");
    std::fs::write(&gate, "").expect("gate");
    let child = pair
        .tool(&["--move", "--yes", "--concurrency", "1"])
        .env("CHRONOTRACE_OPS_TEST_MIGRATE_GATE", &gate)
        .spawn();
    let paused = pair.dir.path().join("gate.paused");
    let start = Instant::now();
    while !paused.exists() {
        assert!(start.elapsed() < Duration::from_secs(60), "never paused");
        std::thread::sleep(Duration::from_millis(20));
    }
    let id = std::fs::read_to_string(&paused).expect("the paused trace");
    // The app writes that trace again between its copy and its removal.
    pair.from.change(&id).await;
    std::fs::remove_file(&gate).expect("open the gate");
    let out = Outcome::of(child.wait_with_output().expect("the binary ends")).code(1);
    let report = json(&out);
    assert_eq!(report["failed"], 1, "{}", out.stdout);
    assert_eq!(report["errors"][0]["trace"], id.as_str());
    assert_eq!(report["removed_from_source"], seeded.len() - 1);
    // The changed trace is still in the source, as changed; the
    // destination holds the copy read before.
    let source = pair.from.contents().await;
    assert_eq!(source.len(), 1);
    assert_eq!(source[&id], br#"{"changed":true}"#);
    let destination = pair.to.contents().await;
    let original = seeded.iter().find(|t| t.id == id).expect("seeded");
    assert_eq!(destination[&id], original.json);
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn local_to_gcs_writes_the_seeds_json_flat_and_keeps_each_date() {
    let pair = Pair::new(Side::local(), Side::gcs());
    let seeded = traces("lq", 0..5, 8);
    move_converges(&pair, &seeded).await;
    // Flat, as the seed writes, and dated by the trace, not by the copy.
    let Side::Gcs { host, bucket } = &pair.to else {
        unreachable!("the destination is GCS")
    };
    for t in &seeded {
        let resource =
            crate::conformance::gcs::resource(host, bucket, &format!("traces/{}.json", t.id));
        let kept = resource["metadata"]["chronotrace-created"]
            .as_str()
            .and_then(|at| chrono::DateTime::parse_from_rfc3339(at).ok())
            .map(|at| at.timestamp());
        assert_eq!(kept, Some(t.created), "{resource:#}");
    }
    // The report ages the copies by that date too (their `timeCreated`
    // is today): the oldest is the oldest seeded day.
    let report = Run::new(pair.dir.path())
        .env(
            "GOOGLE_APPLICATION_CREDENTIALS",
            crate::support::bench_file("CT_TEST_GCS_KEY_FILE"),
        )
        .args(["--output", "json", "-e", "cold", "report", "--no-checks"])
        .run()
        .code(0)
        .json();
    let oldest = seeded.iter().map(Trace::day).min();
    assert_eq!(report["oldest"].as_str(), oldest.as_deref(), "{report:#}");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn a_gcs_destination_losing_an_answer_and_refusing_one_key_in_ten_loses_nothing() {
    let pair = Pair::new(Side::local(), Side::gcs());
    let Side::Gcs { host, .. } = &pair.to else {
        unreachable!("the destination is GCS")
    };
    let proxy = crate::fault_proxy::FaultProxy::start(host.parse().expect("ip:port"));
    pair.write_spec(Some(&proxy.endpoint()));
    let seeded = traces("gf", 0..5, 10);
    pair.from.seed(&seeded).await;
    // The first upload is carried out and its answer held past the attempt
    // limit (40% of --timeout 10): the retry finds the object there (412)
    // and confirms it by its hashes. Every lookup of a trace numbered
    // ...x0003 (one in ten) answers 500: those stay in the source.
    proxy.on("POST", "", Fault::Hold(Duration::from_secs(6)), 1);
    proxy.on_target("GET", "x0003_", Fault::Bare(500), usize::MAX);
    let out = pair
        .tool(&["--move", "--yes", "--concurrency", "1", "--timeout", "10"])
        .run()
        .code(1);
    let report = json(&out);
    assert_eq!(report["failed"], 5, "{}", out.stdout);
    assert_eq!(report["copied"], 45, "{}", out.stdout);
    assert_eq!(report["removed_from_source"], 45);
    assert_eq!(pair.accounted(&seeded).await, (5, 45));
    proxy.clear_rules();
    pair.tool(&["--move", "--yes"]).run().code(0);
    assert_eq!(pair.accounted(&seeded).await, (0, seeded.len()));
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn gcs_to_redis_moves_the_json_with_its_date_and_a_rerun_converges() {
    let pair = Pair::new(Side::gcs(), Side::redis());
    let seeded = traces("gr", 0..5, 8);
    move_converges(&pair, &seeded).await;
    // Each index entry scored by the time the trace was stored.
    let Side::Redis { ns } = &pair.to else {
        unreachable!("the destination is Redis")
    };
    let mut c = connect();
    for t in &seeded {
        let score: Option<i64> = redis::cmd("ZSCORE")
            .arg(format!("{ns}index"))
            .arg(&t.id)
            .query(&mut c)
            .expect("zscore");
        assert_eq!(score, Some(t.created), "{}", t.id);
    }
}

#[test]
fn the_same_store_on_both_sides_is_refused_before_any_call() {
    let dir = tempdir();
    std::fs::write(
        dir.path().join("chronotrace-ops.yaml"),
        "project: p\nenvironments:\n  a:\n    storage: local\n    path: /srv/traces\n  b:\n    storage: local\n    path: /srv/traces/\n",
    )
    .expect("spec");
    Run::new(dir.path())
        .args(["migrate", "--from", "a", "--to", "b", "--yes"])
        .run()
        .code(2)
        .one_line_error("the same store and place");
}

#[test]
fn a_bundle_from_the_package_unpacks_to_its_manifest() {
    // What `local_to_mariadb` relies on, checked on the testing seam.
    let bundle = bundle_of(b"{\"a\":1}", 1_764_000_000);
    assert_eq!(manifest_of(&bundle).expect("a bundle"), b"{\"a\":1}");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn redis_traces_stored_in_the_same_second_are_each_moved_once() {
    // 2,500 traces with one score: every page is a run of ties, read from
    // the last member read (pages of 1,000).
    let at = Utc::now().timestamp() - 3 * 86_400;
    let seeded: Vec<Trace> = (0..2500)
        .map(|i| {
            let id = format!("ct_same{i:05}_{at}");
            Trace {
                json: format!(r#"{{"trace_id":"{id}"}}"#).into_bytes(),
                id,
                created: at,
            }
        })
        .collect();
    let pair = Pair::new(Side::redis(), Side::table("postgres"));
    pair.from.seed(&seeded).await;
    let out = pair.tool(&["--move", "--yes"]).run().code(0);
    let report = json(&out);
    assert_eq!(report["listed"], 2500, "{}", out.stdout);
    assert_eq!(report["copied"], 2500);
    assert_eq!(pair.accounted(&seeded).await, (0, 2500));
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_redis_cluster_moves_to_a_local_disk_node_by_node() {
    use crate::redis_cluster::{TRACE, cluster_server, scan_masters, store_traces, unlink_masters};
    let ns = namespace("migc");
    let stored = store_traces(&ns, 4, 25);
    let dir = tempdir();
    let disk = tempdir();
    let (url, _, password) = cluster_server();
    let spec = format!(
        "project: p\nenvironments:\n  hot:\n    storage: redis\n    url: {url}\n    cluster: true\n    key_prefix: '{ns}traces:'\n    index_key: '{ns}index'\n    retention_days: 15\n  disk:\n    storage: local\n    path: {}\n",
        disk.path().display()
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
    let out = Run::new(dir.path())
        .env("REDIS_PASSWORD", &password)
        .args([
            "--output", "json", "migrate", "--from", "hot", "--to", "disk",
        ])
        .args(["--move", "--yes"])
        .run();
    let left = scan_masters(&format!("{ns}traces:*"));
    unlink_masters(&format!("{ns}*"));
    let out = out.code(0);
    let report = json(&out);
    assert_eq!(report["copied"], stored.len(), "{}", out.stdout);
    assert_eq!(report["removed_from_source"], stored.len());
    assert!(left.is_empty(), "left on the cluster: {left:?}");
    let files = walk(&disk.path().join("traces"));
    assert_eq!(files.len(), stored.len());
    for file in files {
        let bundle = std::fs::read(&file).expect("a bundle");
        assert_eq!(manifest_of(&bundle).expect("a bundle"), TRACE.as_bytes());
    }
}
