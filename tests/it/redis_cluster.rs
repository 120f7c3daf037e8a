//! The Redis store on a Redis Cluster (issue 26), against the bench's
//! three masters with a replica each (`CT_TEST_REDIS_CLUSTER_URL`: one
//! node, `CT_TEST_REDIS_CLUSTER_NODES`: all six; the single server's
//! password). Traces are written by the `redis` crate's own cluster client,
//! as the app's `clusters` connection writes them (each key on its slot's
//! master), so the tool's routing is checked against an independent one.
//!
//! Each test writes under its own key prefix and index key: tests run at
//! once on the one cluster.

use std::collections::BTreeSet;
use std::path::Path;

use crate::redis::{namespace, now, scan_keys};
use crate::support::{Outcome, Run, tempdir};

const DAY: i64 = 86_400;
/// What the seed stores a trace as (13 bytes).
pub const TRACE: &str = r#"{"trace":"x"}"#;

/// The bench's cluster: one node's URL (no password), every node's
/// `host:port`, and the password.
pub fn cluster_server() -> (String, Vec<String>, String) {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (
        var("CT_TEST_REDIS_CLUSTER_URL"),
        var("CT_TEST_REDIS_CLUSTER_NODES"),
        var("CT_TEST_REDIS_PASSWORD"),
    ) {
        (Some(url), Some(nodes), Some(password)) => {
            assert!(url.starts_with("redis://127.0.0.1:"), "not loopback: {url}");
            let nodes: Vec<String> = nodes.split_whitespace().map(str::to_owned).collect();
            assert!(
                nodes.iter().all(|n| n.starts_with("127.0.0.1:")),
                "not loopback: {nodes:?}"
            );
            (url, nodes, password)
        }
        _ => panic!(
            "the redis cluster is not running (CT_TEST_REDIS_CLUSTER_* variables are not set): \
             run this test through scripts/test.sh, which starts it"
        ),
    }
}

/// A cluster client, as the app has one.
pub fn cluster_client() -> redis::cluster::ClusterConnection {
    let (url, _, password) = cluster_server();
    redis::cluster::ClusterClient::builder(vec![url])
        .password(password)
        .build()
        .and_then(|c| c.get_connection())
        .expect("cluster connection")
}

/// A plain connection to one node (`host:port`).
pub fn node(address: &str) -> redis::Connection {
    let (_, _, password) = cluster_server();
    let url = format!("redis://{address}");
    let info = redis::IntoConnectionInfo::into_connection_info(url.as_str()).expect("url");
    let settings = info.redis_settings().clone().set_password(password);
    redis::Client::open(info.set_redis_settings(settings))
        .and_then(|c| c.get_connection())
        .expect("node connection")
}

/// The masters' and the replicas' addresses, as the nodes say (`ROLE`).
pub fn roles() -> (Vec<String>, Vec<String>) {
    let (_, nodes, _) = cluster_server();
    nodes.into_iter().partition(|address| {
        let role: Vec<redis::Value> = redis::cmd("ROLE").query(&mut node(address)).expect("ROLE");
        matches!(role.first(), Some(redis::Value::BulkString(r)) if r == b"master")
    })
}

/// The keys matching `pattern` on every master (`SCAN` each to its end).
pub fn scan_masters(pattern: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    for master in roles().0 {
        found.extend(scan_node(&master, pattern));
    }
    found
}

/// The keys matching `pattern` on one node.
pub fn scan_node(address: &str, pattern: &str) -> BTreeSet<String> {
    scan_keys(&mut node(address), pattern)
}

/// Deletes every key matching `pattern` (a test's namespace), node by node.
pub fn unlink_masters(pattern: &str) {
    for master in roles().0 {
        let keys = scan_node(&master, pattern);
        let mut c = node(&master);
        for key in keys {
            let _: redis::RedisResult<i64> = redis::cmd("UNLINK").arg(key).query(&mut c);
        }
    }
}

/// A trace as the seed stores it: its key, and the commands (SET with its
/// 15-day TTL, ZADD to the index at `stored_at`).
pub fn trace_commands(ns: &str, id: &str, stored_at: i64) -> (String, [redis::Cmd; 2]) {
    let key = format!("{ns}traces:{id}");
    let set = redis::cmd("SET")
        .arg(&key)
        .arg(TRACE)
        .arg("EX")
        .arg(15 * DAY)
        .to_owned();
    let zadd = redis::cmd("ZADD")
        .arg(format!("{ns}index"))
        .arg(stored_at)
        .arg(id)
        .to_owned();
    (key, [set, zadd])
}

/// Stores `per_day` traces on each of the last `days` days through the
/// cluster client, as the seed does: SET with its 15-day TTL, ZADD to the
/// index at the time it was stored. Returns (key, age) of each.
pub fn store_traces(ns: &str, days: i64, per_day: i64) -> Vec<(String, i64)> {
    store_traces_with(&mut cluster_client(), ns, days, per_day)
}

/// The same through the cluster client `c`.
pub fn store_traces_with(
    c: &mut redis::cluster::ClusterConnection,
    ns: &str,
    days: i64,
    per_day: i64,
) -> Vec<(String, i64)> {
    let now = now();
    let mut stored = Vec::new();
    let mut pipe = redis::cluster::cluster_pipe();
    for age in 0..days {
        for i in 0..per_day {
            let id = format!("t{age}-{i}");
            let (key, commands) = trace_commands(ns, &id, now - age * DAY);
            for cmd in commands {
                pipe.add_command(cmd).ignore();
            }
            stored.push((key, age));
            if stored.len() % 2_000 == 0 {
                pipe.exec(c).expect("store traces");
                pipe = redis::cluster::cluster_pipe();
            }
        }
    }
    if stored.len() % 2_000 != 0 {
        pipe.exec(c).expect("store traces");
    }
    stored
}

/// A spec with one `cache` environment on the cluster (`cluster: true`
/// unless `cluster` is false), keys under `{ns}traces:`, index `{ns}index`.
pub fn write_cluster_spec(dir: &Path, ns: &str, env: &str, cluster: bool) {
    let (url, _, _) = cluster_server();
    let setting = if cluster { "\n    cluster: true" } else { "" };
    let spec = format!(
        "project: p
environments:
  {env}:
    storage: redis
    url: {url}{setting}
    key_prefix: '{ns}traces:'
    index_key: '{ns}index'
    retention_days: 15
"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

fn run(dir: &Path, args: &[&str]) -> Outcome {
    run_env(dir, "cache", args)
}

/// One run on the environment `env` with the bench's password.
fn run_env(dir: &Path, env: &str, args: &[&str]) -> Outcome {
    let (_, _, password) = cluster_server();
    Run::new(dir)
        .env("REDIS_PASSWORD", password)
        .args(["-e", env])
        .args(args)
        .run()
}

/// Removes a test's keys however it ends.
struct Cleanup(String);

impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(|| unlink_masters(&format!("{}*", self.0)));
    }
}

fn finding(report: &serde_json::Value, id: &str) -> (u64, u64) {
    let found = report["store_findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["id"] == id))
        .unwrap_or_else(|| panic!("no finding {id}: {report:#}"));
    (
        found["count"].as_u64().expect("count"),
        found["repaired"].as_u64().unwrap_or(0),
    )
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_cluster_node_without_cluster_true_is_one_line_naming_the_setting() {
    let dir = tempdir();
    let ns = namespace("cl-moved");
    let _cleanup = Cleanup(ns.clone());
    let stored = store_traces(&ns, 20, 3);
    write_cluster_spec(dir.path(), &ns, "cache", false);
    let before = scan_masters(&format!("{ns}*"));
    for args in [
        &["report", "--no-checks"][..],
        &["cleanup", "verify"],
        &["cleanup", "purge", "--yes"],
    ] {
        let out = run(dir.path(), args)
            .code(2)
            .one_line_error("cluster_enabled:1")
            .stderr_contains("cluster: true");
        assert!(!out.stderr.contains("Moved"), "{args:?}: {}", out.stderr);
    }
    assert_eq!(scan_masters(&format!("{ns}*")), before, "nothing changed");
    assert_eq!(before.len(), stored.len() + 1, "the traces and the index");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn cluster_true_on_a_single_server_is_one_line() {
    let dir = tempdir();
    let (url, _) = crate::redis::redis_server();
    let (_, _, password) = cluster_server();
    let spec = format!(
        "project: p\nenvironments:\n  cache:\n    storage: redis\n    url: {url}\n    cluster: true\n    retention_days: 15\n"
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");
    Run::new(dir.path())
        .env("REDIS_PASSWORD", password)
        .args(["-e", "cache", "cleanup", "verify"])
        .run()
        .code(2)
        .one_line_error("cluster_enabled:0");
}

/// 600 traces over 20 days written by a cluster client, spread over the
/// three masters, with the seed's defects on several nodes: report and
/// verify count exactly; the purge deletes exactly what is past retention,
/// repairs the defects and touches nothing outside the prefix; the
/// replicas (which hold a copy of every key) are not walked a second time.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn six_hundred_traces_on_three_masters_are_reported_verified_and_purged_exactly() {
    let dir = tempdir();
    let ns = namespace("cl-600");
    let _cleanup = Cleanup(ns.clone());
    let stored = store_traces(&ns, 20, 30);
    assert_eq!(stored.len(), 600);
    write_cluster_spec(dir.path(), &ns, "cache", true);
    let (masters, replicas) = roles();
    assert_eq!(
        (masters.len(), replicas.len()),
        (3, 3),
        "the bench's cluster"
    );
    for master in &masters {
        let here = scan_node(master, &format!("{ns}traces:*")).len();
        assert!(here > 100, "{master} holds {here} traces: not spread");
    }
    let mut c = cluster_client();
    // The seed's defects, on whichever masters their keys fall: three
    // traces within retention whose keys expired (their members stay),
    // two written without EXPIRE, five keys without an index entry (nor
    // TTL); and keys of similar names outside the prefix.
    for id in ["t1-0", "t2-0", "t3-0"] {
        let _: i64 = redis::cmd("DEL")
            .arg(format!("{ns}traces:{id}"))
            .query(&mut c)
            .expect("del");
    }
    for id in ["t4-0", "t5-0"] {
        let _: i64 = redis::cmd("PERSIST")
            .arg(format!("{ns}traces:{id}"))
            .query(&mut c)
            .expect("persist");
    }
    let unindexed: Vec<String> = (0..5).map(|i| format!("{ns}traces:lost{i}")).collect();
    let foreign: Vec<String> = ["traces", "tracesX:a", "other:traces:a", "index2"]
        .iter()
        .map(|k| format!("{ns}{k}"))
        .collect();
    for key in unindexed.iter().chain(&foreign) {
        let _: () = redis::cmd("SET")
            .arg(key)
            .arg("x")
            .query(&mut c)
            .expect("set");
    }
    let nodes_of = |keys: &[String]| {
        masters
            .iter()
            .filter(|m| {
                let here = scan_node(m, &format!("{ns}*"));
                keys.iter().any(|k| here.contains(k))
            })
            .count()
    };
    assert!(
        nodes_of(&unindexed) >= 2,
        "the unindexed keys on one master"
    );
    let bytes = TRACE.len() as u64;

    let report = run(dir.path(), &["--output", "json", "report", "--no-checks"])
        .code(0)
        .json();
    assert_eq!(report["objects"], 597, "{report:#}");
    assert_eq!(report["bytes"], 597 * bytes, "{report:#}");
    let days = report["by_day"].as_array().expect("by_day");
    assert_eq!(days.len(), 20, "{report:#}");

    let verify = run(
        dir.path(),
        &["--output", "json", "cleanup", "verify", "--grace", "0"],
    )
    .code(1)
    .json();
    assert_eq!(verify["expired_objects"], 120, "{verify:#}");
    assert_eq!(verify["expired_bytes"], 120 * bytes, "{verify:#}");
    assert_eq!(finding(&verify, "redis.orphaned-index-members").0, 3);
    assert_eq!(finding(&verify, "redis.index-past-retention").0, 120);
    assert_eq!(finding(&verify, "redis.keys-without-ttl").0, 2 + 5);
    // Five, not ten: the replicas' copies are not walked.
    assert_eq!(finding(&verify, "redis.keys-without-index").0, 5);

    let before = scan_masters(&format!("{ns}*"));
    let dry = run(dir.path(), &["--output", "json", "cleanup", "purge"])
        .code(0)
        .json();
    assert_eq!(dry["deleted_objects"], 120, "{dry:#}");
    assert_eq!(
        scan_masters(&format!("{ns}*")),
        before,
        "a dry run deletes nothing"
    );

    let purge = run(
        dir.path(),
        &["--output", "json", "cleanup", "purge", "--yes"],
    )
    .code(0)
    .json();
    assert_eq!(purge["deleted_objects"], 120, "{purge:#}");
    assert_eq!(purge["deleted_bytes"], 120 * bytes, "{purge:#}");
    assert_eq!(finding(&purge, "redis.index-past-retention"), (120, 120));
    assert_eq!(finding(&purge, "redis.orphaned-index-members"), (3, 3));
    assert_eq!(finding(&purge, "redis.keys-without-ttl"), (7, 7));
    let expired: BTreeSet<String> = stored
        .iter()
        .filter(|(_, age)| *age > 15)
        .map(|(k, _)| k.clone())
        .collect();
    let orphans: BTreeSet<String> = ["t1-0", "t2-0", "t3-0"]
        .iter()
        .map(|id| format!("{ns}traces:{id}"))
        .collect();
    let expected: BTreeSet<String> = before.difference(&expired).cloned().collect();
    assert_eq!(scan_masters(&format!("{ns}*")), expected);
    assert!(orphans.is_disjoint(&expected));
    let index: u64 = redis::cmd("ZCARD")
        .arg(format!("{ns}index"))
        .query(&mut c)
        .expect("zcard");
    assert_eq!(
        index,
        600 - 120 - 3,
        "the expired and the orphaned members left"
    );
    for key in &foreign {
        let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut c).expect("ttl");
        assert_eq!(ttl, -1, "{key}: untouched outside the prefix");
    }
    for key in &unindexed {
        let ttl: i64 = redis::cmd("TTL").arg(key).query(&mut c).expect("ttl");
        assert!(ttl > 0, "{key}: given the retention as TTL");
    }
    let after = run(
        dir.path(),
        &["--output", "json", "cleanup", "verify", "--grace", "0"],
    )
    .code(0)
    .json();
    assert_eq!(after["expired_objects"], 0, "{after:#}");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn check_names_the_cluster_state_the_slots_and_the_masters() {
    let dir = tempdir();
    let ns = namespace("cl-check");
    let _cleanup = Cleanup(ns.clone());
    store_traces(&ns, 3, 10);
    write_cluster_spec(dir.path(), &ns, "cache", true);
    let out = run(dir.path(), &["--output", "json", "check"]);
    let report = out.json();
    let check = |id: &str| {
        report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == id))
            .cloned()
            .unwrap_or_else(|| panic!("no check {id}: {report:#}"))
    };
    let cluster = check("redis.cluster");
    assert_eq!(cluster["status"], "pass", "{cluster:#}");
    let message = cluster["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("cluster_state:ok")
            && message.contains("16384 slots")
            && message.contains("3 masters")
            && message.contains("3 replicas"),
        "{message}"
    );
    assert_eq!(check("redis.probe")["status"], "pass");
    // Each master's memory and persistence judged: the bench's keep none.
    let eviction = check("redis.eviction");
    assert!(
        eviction["message"]
            .as_str()
            .is_some_and(|m| m.ends_with("(each of 3 masters)")),
        "{eviction:#}"
    );
    let persistence = check("redis.persistence");
    assert_eq!(persistence["status"], "warn", "{persistence:#}");
    assert!(
        persistence["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("redis://127.0.0.1:")),
        "the master named: {persistence:#}"
    );
    assert_eq!(check("redis.ttl")["status"], "pass", "{report:#}");
    assert_eq!(
        scan_masters(&format!("{ns}*")).len(),
        31,
        "the probe left nothing"
    );
}

/// The users of every node (`ACL USERS`), node by node.
fn users_on_every_node() -> Vec<(String, Vec<String>)> {
    let (masters, replicas) = roles();
    masters
        .iter()
        .chain(&replicas)
        .map(|n| {
            let users: Vec<String> = redis::cmd("ACL")
                .arg("USERS")
                .query(&mut node(n))
                .expect("users");
            (n.clone(), users)
        })
        .collect()
}

/// ACL users are per node in a cluster: `apply` makes the app's user on
/// all six nodes with one password, with which the app's own cluster
/// client writes a trace (it may read the slot map); a node that lost the
/// user is planned as an update and gets the same password back; `destroy`
/// removes it from every node.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn the_apps_acl_user_is_made_and_removed_on_every_node() {
    let dir = tempdir();
    let ns = namespace("cl-acl");
    let _cleanup = Cleanup(ns.clone());
    let env = format!("cl{}", &ns[10..ns.len() - 1]);
    let user = format!("chronotrace-{env}");
    write_cluster_spec(dir.path(), &ns, &env, true);
    let (url, _, _) = cluster_server();
    let tool = |args: &[&str]| run_env(dir.path(), &env, args);
    let drop_user = |address: &str| {
        let _: redis::RedisResult<i64> = redis::cmd("ACL")
            .arg("DELUSER")
            .arg(&user)
            .query(&mut node(address));
    };
    struct DropUser<F: Fn(&str)>(F);
    impl<F: Fn(&str)> Drop for DropUser<F> {
        fn drop(&mut self) {
            let (masters, replicas) = roles();
            masters.iter().chain(&replicas).for_each(|n| (self.0)(n));
        }
    }
    let _users = DropUser(drop_user);

    tool(&["plan", "--exit-code"])
        .code(1)
        .stdout_contains("redis.acl-user");
    tool(&["apply", "--yes", "--out", "creds"]).code(0);
    let everywhere = users_on_every_node();
    assert_eq!(everywhere.len(), 6);
    for (address, users) in &everywhere {
        assert!(users.contains(&user), "{address}: {users:?}");
    }
    tool(&["plan", "--exit-code"]).code(0);
    let file = dir.path().join(format!("creds/app-credentials.{env}.env"));
    let text = std::fs::read_to_string(&file).expect("credentials written");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
        .expect("a password")
        .to_owned();
    let app_writes = |id: &str| {
        let address = url.trim_start_matches("redis://");
        redis::cluster::ClusterClient::new(vec![format!("redis://{user}:{secret}@{address}")])
            .and_then(|c| c.get_connection())
            .and_then(|mut app| {
                redis::cmd("SET")
                    .arg(format!("{ns}traces:{id}"))
                    .arg(TRACE)
                    .arg("EX")
                    .arg(60)
                    .query::<()>(&mut app)
            })
    };
    app_writes("a").expect("the app writes a trace");

    // A node loses the user (a replaced node, a restore): an update.
    let (_, replicas) = roles();
    let lost = replicas.first().expect("a replica").clone();
    let _: i64 = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&user)
        .query(&mut node(&lost))
        .expect("deluser");
    tool(&["plan", "--exit-code"])
        .code(1)
        .stdout_contains(&format!("missing on redis://{lost}"));
    tool(&["apply", "--yes", "--out", "creds"]).code(0);
    tool(&["plan", "--exit-code"]).code(0);
    // The same password on the node that lost it.
    let mut again = redis::Client::open(format!("redis://{user}:{secret}@{lost}"))
        .and_then(|c| c.get_connection())
        .expect("the app's user on the restored node");
    let _: String = redis::cmd("PING").query(&mut again).expect("ping");
    assert_eq!(
        std::fs::read_to_string(&file).expect("again"),
        text,
        "the file is kept"
    );

    tool(&["destroy", "--yes"]).code(0);
    for (address, users) in users_on_every_node() {
        assert!(!users.contains(&user), "{address}: {users:?}");
        assert!(users.contains(&"default".to_string()), "{address}");
    }
    assert!(app_writes("b").is_err(), "the user is gone");
}

/// A three-master cluster of the test's own (the bench's is shared by the
/// tests running at once: one that stops a node cannot use it), on free
/// loopback ports in a temporary folder, with an append-only file synced
/// at every write, so a node stopped and started again has its keys back.
/// Its nodes are stopped when it is dropped.
struct OwnCluster {
    dir: tempfile::TempDir,
    ports: Vec<u16>,
    /// Each node's TLS port (`OwnCluster::with_tls`), else empty.
    tls_ports: Vec<u16>,
    servers: Vec<Option<std::process::Child>>,
}

impl OwnCluster {
    fn start() -> OwnCluster {
        OwnCluster::start_with(false)
    }

    /// The same with TLS besides (`tls-port`, and TLS on the cluster bus:
    /// `tls-cluster yes`), the certificate the bench's single server has
    /// (for 127.0.0.1, signed by `CT_TEST_REDIS_TLS_CA`).
    fn with_tls() -> OwnCluster {
        OwnCluster::start_with(true)
    }

    fn start_with(tls: bool) -> OwnCluster {
        let (_, _, password) = cluster_server();
        let dir = tempdir();
        let ports = free_ports(9);
        let mut cluster = OwnCluster {
            dir,
            ports: ports[..3].to_vec(),
            tls_ports: if tls { ports[6..].to_vec() } else { Vec::new() },
            servers: Vec::new(),
        };
        let certs = crate::support::bench_file("CT_TEST_REDIS_TLS_CA")
            .parent()
            .expect("the bench's TLS folder")
            .to_path_buf();
        for (n, port) in cluster.ports.clone().iter().enumerate() {
            let folder = cluster.dir.path().join(format!("node{n}"));
            std::fs::create_dir(&folder).expect("node folder");
            let mut conf = format!(
                "bind 127.0.0.1\nport {port}\ncluster-enabled yes\ncluster-port {}\n\
                 cluster-config-file nodes.conf\ncluster-node-timeout 15000\ndir {}\n\
                 save \"\"\nappendonly yes\nappendfsync always\nrequirepass {password}\n",
                ports[n + 3],
                folder.display()
            );
            if let Some(tls_port) = cluster.tls_ports.get(n) {
                conf.push_str(&format!(
                    "tls-port {tls_port}\ntls-cluster yes\ntls-auth-clients no\n\
                     tls-cert-file {0}/server.pem\ntls-key-file {0}/server.key\n\
                     tls-ca-cert-file {0}/ca.pem\n",
                    certs.display()
                ));
            }
            std::fs::write(folder.join("redis.conf"), conf).expect("conf");
            cluster.servers.push(None);
            cluster.start_node(n);
        }
        let addresses: Vec<String> = cluster
            .ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect();
        let created = std::process::Command::new("redis-cli")
            .env("REDISCLI_AUTH", &password)
            .args(["--cluster", "create"])
            .args(&addresses)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .output()
            .expect("redis-cli runs");
        assert!(created.status.success(), "{created:?}");
        cluster.wait_ok();
        cluster
    }

    /// A cluster client of this cluster (plain ports).
    fn client(&self) -> redis::cluster::ClusterConnection {
        let urls: Vec<String> = self
            .addresses()
            .iter()
            .map(|a| format!("redis://{a}"))
            .collect();
        redis::cluster::ClusterClient::builder(urls)
            .password(cluster_server().2)
            .build()
            .and_then(|c| c.get_connection())
            .expect("cluster connection")
    }

    fn addresses(&self) -> Vec<String> {
        self.ports
            .iter()
            .map(|p| format!("127.0.0.1:{p}"))
            .collect()
    }

    /// Starts node `n` (again), and waits for its answer.
    fn start_node(&mut self, n: usize) {
        let folder = self.dir.path().join(format!("node{n}"));
        let child = std::process::Command::new("redis-server")
            .arg(folder.join("redis.conf"))
            .current_dir(&folder)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("redis-server runs");
        self.servers[n] = Some(child);
        let address = format!("127.0.0.1:{}", self.ports[n]);
        self.wait(|_| {
            redis::Client::open(format!("redis://:{}@{address}", cluster_server().2))
                .and_then(|c| c.get_connection())
                .and_then(|mut c| redis::cmd("PING").query::<String>(&mut c))
                .is_ok()
        });
    }

    /// Sends `kill -SIG` to node `n` (STOP: a node that hangs, CONT).
    fn signal_node(&self, n: usize, sig: &str) {
        if let Some(child) = &self.servers[n] {
            crate::conformance::signal(child, sig);
        }
    }

    /// Kills node `n` (SIGKILL: a crash, not a shutdown).
    fn kill_node(&mut self, n: usize) {
        if let Some(mut child) = self.servers[n].take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Waits until every node says `cluster_state:ok`.
    fn wait_ok(&self) {
        self.wait(|c| {
            c.addresses().iter().all(|a| {
                redis::cmd("CLUSTER")
                    .arg("INFO")
                    .query::<String>(&mut node(a))
                    .is_ok_and(|i| i.contains("cluster_state:ok"))
            })
        });
    }

    fn wait(&self, ready: impl Fn(&OwnCluster) -> bool) {
        let start = std::time::Instant::now();
        while !ready(self) {
            assert!(
                start.elapsed() < std::time::Duration::from_secs(30),
                "the test's cluster did not come up"
            );
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for OwnCluster {
    fn drop(&mut self) {
        for n in 0..self.servers.len() {
            self.kill_node(n);
        }
    }
}

/// `n` free loopback ports (all bound at once, so they differ).
fn free_ports(n: usize) -> Vec<u16> {
    let sockets: Vec<std::net::TcpListener> = (0..n)
        .map(|_| std::net::TcpListener::bind("127.0.0.1:0").expect("a free port"))
        .collect();
    sockets
        .iter()
        .map(|s| s.local_addr().expect("an address").port())
        .collect()
}

/// A master killed mid-purge: the run stops with one line naming that
/// node and saying how many traces it deleted (the store agrees); once
/// the node is back, a rerun deletes exactly the rest.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_master_killed_mid_purge_is_named_and_a_rerun_finishes_the_job() {
    let mut cluster = OwnCluster::start();
    let addresses = cluster.addresses();
    let (_, _, password) = cluster_server();
    let ns = "ct-cl-kill:";
    // 30 days of 1,000 traces through a cluster client of this cluster.
    let mut c = cluster.client();
    store_traces_with(&mut c, ns, 30, 1000);
    let (total, expired) = (30_000u64, 14_000u64);
    let index = format!("{ns}index");
    let keyslot: u16 = redis::cmd("CLUSTER")
        .arg("KEYSLOT")
        .arg(&index)
        .query(&mut c)
        .expect("keyslot");
    // A master that does not hold the index (the walk goes on reading it),
    // nor is the spec's seed node.
    let victim = (1..3)
        .find(|n| {
            let slots: Vec<(u16, u16)> = {
                let v: Vec<Vec<redis::Value>> = redis::cmd("CLUSTER")
                    .arg("SLOTS")
                    .query(&mut node(&addresses[*n]))
                    .expect("slots");
                v.iter()
                    .filter(|r| {
                        matches!(r.get(2), Some(redis::Value::Array(m))
                            if matches!(m.get(1), Some(redis::Value::Int(p)) if *p == i64::from(cluster.ports[*n])))
                    })
                    .filter_map(|r| match (r.first(), r.get(1)) {
                        (Some(redis::Value::Int(a)), Some(redis::Value::Int(b))) => {
                            Some((u16::try_from(*a).ok()?, u16::try_from(*b).ok()?))
                        }
                        _ => None,
                    })
                    .collect()
            };
            !slots.iter().any(|(a, b)| (*a..=*b).contains(&keyslot))
        })
        .expect("a master without the index");
    let victim_address = addresses[victim].clone();

    let dir = tempdir();
    let spec = format!(
        "project: p\nenvironments:\n  cache:\n    storage: redis\n    url: redis://{}\n    cluster: true\n    key_prefix: '{ns}traces:'\n    index_key: '{index}'\n    retention_days: 15\n",
        addresses[0]
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
    let tool = |args: &[&str]| {
        Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["-e", "cache", "--output", "json"])
            .args(args)
    };
    let remaining = |c: &mut redis::cluster::ClusterConnection| -> u64 {
        redis::cmd("ZCARD").arg(&index).query(c).expect("zcard")
    };
    let traces_left = || -> u64 {
        addresses
            .iter()
            .map(|a| scan_node(a, &format!("{ns}traces:*")).len() as u64)
            .sum()
    };

    // A master that hangs: check names it (and the run stays short).
    let check = |run: Outcome| -> serde_json::Value {
        let report = run.json();
        report["checks"]
            .as_array()
            .and_then(|c| c.iter().find(|c| c["id"] == "redis.cluster"))
            .cloned()
            .unwrap_or_else(|| panic!("no redis.cluster: {report:#}"))
    };
    assert_eq!(check(tool(&["check"]).run())["status"], "pass");
    cluster.signal_node(victim, "STOP");
    let hung = check(tool(&["--timeout", "2", "check"]).run());
    cluster.signal_node(victim, "CONT");
    assert_eq!(hung["status"], "fail", "{hung:#}");
    let message = hung["message"].as_str().unwrap_or_default();
    assert!(message.contains(&victim_address), "{hung:#}");

    let mut child = tool(&["cleanup", "purge", "--yes"]).spawn();
    let start = std::time::Instant::now();
    while remaining(&mut c) >= total {
        assert!(
            child.try_wait().ok().flatten().is_none(),
            "the purge ended before deleting"
        );
        assert!(
            start.elapsed() < std::time::Duration::from_secs(60),
            "no progress"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    crate::conformance::signal(&child, "STOP");
    std::thread::sleep(std::time::Duration::from_millis(300));
    assert!(
        remaining(&mut c) > total - expired,
        "the purge was done before it was frozen"
    );
    cluster.kill_node(victim);
    crate::conformance::signal(&child, "CONT");
    let first = Outcome::of(child.wait_with_output().expect("the binary ends")).code(2);
    let said = first
        .stderr
        .lines()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_default()
        .to_owned();
    assert!(
        said.contains(&victim_address),
        "names the node: {}",
        first.stderr
    );
    let deleted: u64 = said
        .split("this run deleted ")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("says what it deleted: {}", first.stderr));
    assert!((1..expired).contains(&deleted), "{said}");

    // The dead master, named by check.
    let dead = check(tool(&["check"]).run());
    assert_eq!(dead["status"], "fail", "{dead:#}");
    assert!(
        dead["message"]
            .as_str()
            .is_some_and(|m| m.contains(&victim_address)),
        "{dead:#}"
    );

    cluster.start_node(victim);
    cluster.wait_ok();
    assert_eq!(
        traces_left(),
        total - deleted,
        "the store agrees with the run"
    );
    let rerun = tool(&["cleanup", "purge", "--yes"]).run().code(0).json();
    assert_eq!(rerun["deleted_objects"], expired - deleted, "{rerun:#}");
    assert_eq!(traces_left(), total - expired);
    tool(&["cleanup", "verify", "--grace", "0"]).run().code(0);
}

/// `rediss://` on a cluster as on a single server: the seed node over TLS,
/// the other masters at the TLS ports the cluster gives a TLS connection,
/// the bench's CA trusted through `--ca-bundle`.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_cluster_over_tls_is_walked_and_checked_like_a_single_server() {
    let cluster = OwnCluster::with_tls();
    let (_, _, password) = cluster_server();
    let ns = "ct-cl-tls:";
    store_traces_with(&mut cluster.client(), ns, 20, 10);

    let dir = tempdir();
    let spec = format!(
        "project: p\nenvironments:\n  cache:\n    storage: redis\n    url: rediss://127.0.0.1:{}\n    cluster: true\n    key_prefix: '{ns}traces:'\n    index_key: '{ns}index'\n    retention_days: 15\n",
        cluster.tls_ports[0]
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
    let ca = crate::support::bench_file("CT_TEST_REDIS_TLS_CA");
    let tool = |args: &[&str]| {
        Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["--ca-bundle", ca.to_str().expect("a UTF-8 path")])
            .args(["-e", "cache", "--output", "json"])
            .args(args)
            .run()
    };
    let report = tool(&["report", "--no-checks"]).code(0).json();
    assert_eq!(report["objects"], 200, "{report:#}");
    let verify = tool(&["cleanup", "verify", "--grace", "0"]).code(1).json();
    assert_eq!(verify["expired_objects"], 40, "{verify:#}");
    let checked = tool(&["check"]).json();
    let cluster_check = checked["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["id"] == "redis.cluster"))
        .cloned()
        .unwrap_or_default();
    assert_eq!(cluster_check["status"], "pass", "{checked:#}");
    for tls_port in &cluster.tls_ports {
        assert!(
            cluster_check["message"]
                .as_str()
                .is_some_and(|m| m.contains(&format!("rediss://127.0.0.1:{tls_port}"))),
            "every master over TLS: {cluster_check:#}"
        );
    }
    let purge = tool(&["cleanup", "purge", "--yes"]).code(0).json();
    assert_eq!(purge["deleted_objects"], 40, "{purge:#}");
    // Without the CA, one line before the password is sent.
    Run::new(dir.path())
        .env("REDIS_PASSWORD", &password)
        .args(["-e", "cache", "cleanup", "verify"])
        .run()
        .code(2);
}

/// `urls:` lists several seed nodes: one that is down is passed over for
/// the next, and the walk is the same; when none answers, the first one's
/// error is the one line.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_seed_node_that_is_down_is_passed_over_for_the_next() {
    let dir = tempdir();
    let ns = namespace("cl-seeds");
    let _cleanup = Cleanup(ns.clone());
    store_traces(&ns, 20, 3);
    let (url, nodes, _) = cluster_server();
    let closed = format!("redis://127.0.0.1:{}", free_ports(1)[0]);
    let write = |urls: &str| {
        let spec = format!(
            "project: p\nenvironments:\n  cache:\n    storage: redis\n    urls: {urls}\n    cluster: true\n    key_prefix: '{ns}traces:'\n    index_key: '{ns}index'\n    retention_days: 15\n"
        );
        std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("spec");
    };
    write(&format!("[{closed}, {url}, redis://{}]", nodes[1]));
    let verify = run(
        dir.path(),
        &["--output", "json", "cleanup", "verify", "--grace", "0"],
    )
    .code(1)
    .json();
    assert_eq!(verify["expired_objects"], 12, "{verify:#}");
    write(&format!("[{closed}]"));
    run(dir.path(), &["cleanup", "verify"])
        .code(2)
        .one_line_error(&closed);
}
