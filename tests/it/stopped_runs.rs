//! A run that changes a store and is stopped part-way by a server's error
//! still says what it changed (issue 23: one outcome type): a Redis server
//! killed in the middle of `cleanup purge --yes --output json` gives exit 2,
//! one error line, and on stdout the purge's JSON with what the server
//! confirmed deleted until then; a rerun, once the server is back, finishes
//! the job.
//!
//! The server is the test's own redis-server (killed with SIGKILL, so the
//! bench's is never touched), writing every change to its append-only file
//! before answering, so that after the restart the test can count what was
//! really deleted.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::redis::{namespace, now, write_spec_at};
use crate::support::{Outcome, Run, tempdir};

const DAY: i64 = 86_400;
const PASSWORD: &str = "stopped-runs-test-password";
/// Traces past retention (15 days): several of the purge's batches (2,000).
const EXPIRED_PER_DAY: usize = 4_000;
const EXPIRED_DAYS: i64 = 10;
const FRESH: usize = 50;
/// The purge's batch: what the server may have deleted without answering.
const BATCH: u64 = 2_000;

/// The test's own redis-server on a free loopback port, its state in `dir`.
struct Server {
    port: u16,
    child: Child,
}

impl Server {
    fn start(dir: &Path, port: u16) -> Server {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--requirepass", PASSWORD, "--save", ""])
            .args(["--appendonly", "yes", "--appendfsync", "always"])
            .arg("--dir")
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server starts (scripts/bench/install.sh installs it)");
        let server = Server { port, child };
        let start = Instant::now();
        while server.try_connect().is_none() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "redis-server did not come up"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    fn try_connect(&self) -> Option<redis::Connection> {
        let url = format!("redis://:{PASSWORD}@127.0.0.1:{}", self.port);
        let mut c = redis::Client::open(url).ok()?.get_connection().ok()?;
        redis::cmd("PING").query::<String>(&mut c).ok()?;
        Some(c)
    }

    fn connect(&self) -> redis::Connection {
        self.try_connect()
            .expect("connect to the test's redis-server")
    }

    fn kill(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port()
}

/// `EXPIRED_DAYS` days of expired traces and a few fresh ones, in the
/// seed's layout (a key with a TTL, an index member scored by its time).
fn seed(c: &mut redis::Connection, ns: &str) {
    let now = now();
    for day in 0..EXPIRED_DAYS {
        let mut pipe = redis::pipe();
        for i in 0..EXPIRED_PER_DAY {
            let id = format!("old-{day}-{i}");
            let key = format!("{ns}traces:{id}");
            let at = now - (20 + day) * DAY;
            pipe.cmd("SET").arg(&key).arg(r#"{"trace":"x"}"#).ignore();
            pipe.cmd("EXPIRE").arg(&key).arg(60 * DAY).ignore();
            pipe.cmd("ZADD")
                .arg(format!("{ns}index"))
                .arg(at)
                .arg(id)
                .ignore();
        }
        pipe.exec(c).expect("store the expired traces");
    }
    let mut pipe = redis::pipe();
    for i in 0..FRESH {
        let id = format!("fresh-{i}");
        let key = format!("{ns}traces:{id}");
        pipe.cmd("SET").arg(&key).arg(r#"{"trace":"x"}"#).ignore();
        pipe.cmd("EXPIRE").arg(&key).arg(15 * DAY).ignore();
        pipe.cmd("ZADD")
            .arg(format!("{ns}index"))
            .arg(now)
            .arg(id)
            .ignore();
    }
    pipe.exec(c).expect("store the fresh traces");
}

/// The expired traces' keys still there.
fn expired_left(c: &mut redis::Connection, ns: &str) -> u64 {
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}traces:old-*"))
        .query(c)
        .expect("KEYS");
    keys.len() as u64
}

fn purge(dir: &Path) -> Run {
    Run::new(dir).env("REDIS_PASSWORD", PASSWORD).args([
        "--output", "json", "-e", "cache", "cleanup", "purge", "--yes",
    ])
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh (redis-server)"]
fn a_redis_server_killed_mid_purge_leaves_json_that_says_what_was_deleted() {
    let dir = tempdir();
    let data = tempdir();
    let port = free_port();
    let server = Server::start(data.path(), port);
    let ns = namespace("killed");
    write_spec_at(dir.path(), &ns, &server.url());
    let mut c = server.connect();
    seed(&mut c, &ns);
    let total = EXPIRED_PER_DAY as u64 * EXPIRED_DAYS as u64;
    assert_eq!(expired_left(&mut c, &ns), total);

    // The purge runs; once the server has deleted a batch or two, SIGKILL.
    let child = purge(dir.path()).spawn();
    let start = Instant::now();
    loop {
        let left = expired_left(&mut c, &ns);
        if left + 2 * BATCH <= total {
            break;
        }
        assert!(
            left > 0 && start.elapsed() < Duration::from_secs(120),
            "the purge ended before the server could be killed ({left} left)"
        );
        std::thread::sleep(Duration::from_millis(2));
    }
    server.kill();
    let stopped = Outcome::of(child.wait_with_output().expect("the purge ends")).code(2);
    assert!(!stopped.stderr.contains("panicked"), "{}", stopped.stderr);
    let errors: Vec<&str> = stopped
        .stderr
        .lines()
        .filter(|l| l.starts_with("error:"))
        .collect();
    assert_eq!(errors.len(), 1, "{}", stopped.stderr);
    let json = stopped.json();
    let said = json["deleted_objects"].as_u64().expect("deleted_objects");
    assert!(said > 0, "{json}");
    assert_eq!(json["dry_run"], false, "{json}");
    assert!(
        json["stopped_by_error"]
            .as_str()
            .is_some_and(|e| e.contains("redis")),
        "{json}"
    );
    assert!(json.get("interrupted").is_none(), "{json}");
    assert!(json["finished_partitions"].is_array(), "{json}");

    // The server back, from its append-only file: what really went.
    let server = Server::start(data.path(), port);
    let mut c = server.connect();
    let deleted = total - expired_left(&mut c, &ns);
    assert!(
        said <= deleted && deleted <= said + BATCH,
        "the purge said {said}, the server deleted {deleted} (a batch in flight at the kill may \
         have gone unanswered)"
    );

    // The rerun finishes the job: nothing expired left, the fresh kept.
    let rerun = purge(dir.path()).run().code(0);
    let again = rerun.json()["deleted_objects"]
        .as_u64()
        .expect("deleted_objects");
    assert_eq!(again, total - deleted, "{}", rerun.stdout);
    assert_eq!(expired_left(&mut c, &ns), 0);
    let fresh: Vec<String> = redis::cmd("KEYS")
        .arg(format!("{ns}traces:fresh-*"))
        .query(&mut c)
        .expect("KEYS");
    assert_eq!(fresh.len(), FRESH);
}
