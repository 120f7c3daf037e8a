//! The Redis store under the suite, on the bench's redis-server: a
//! namespace of its own per test (`ct-conf-{nanos}:`), traces at
//! `{ns}traces:{id}` with the seed's TTL and the index `{ns}index` scored
//! by the time each trace was stored, and an environment named for the test
//! (the app's ACL user, `chronotrace-{env}`, is server-wide).

use std::collections::BTreeSet;

use tempfile::TempDir;

use super::{PurgeHold, Seeded, StopAtProgress, StoreUnderTest, suite};
use crate::redis::{connect, namespace, now, redis_server, write_spec_named};
use crate::support::{Run, tempdir};

const DAY: i64 = 86_400;
/// What the seed stores a trace as (13 bytes, as `redis::store` does).
const TRACE: &str = r#"{"trace":"x"}"#;

struct RedisStore {
    dir: TempDir,
    ns: String,
    env: String,
}

impl RedisStore {
    fn new() -> RedisStore {
        let dir = tempdir();
        let ns = namespace("conf");
        let env = format!("c{}", &ns[8..ns.len() - 1]);
        let (url, _) = redis_server();
        write_spec_named(dir.path(), &ns, &url, &env);
        RedisStore { dir, ns, env }
    }

    /// The keys matching `pattern` (`SCAN`, never `KEYS`).
    fn scan(&self, pattern: &str) -> BTreeSet<String> {
        let mut c = connect();
        let mut found = BTreeSet::new();
        let mut cursor = 0u64;
        loop {
            let (next, keys): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(pattern)
                .arg("COUNT")
                .arg(10_000)
                .query(&mut c)
                .expect("scan");
            found.extend(keys);
            if next == 0 {
                return found;
            }
            cursor = next;
        }
    }
}

impl Drop for RedisStore {
    /// The bench's server is shared: the test's keys and user go.
    fn drop(&mut self) {
        // Never a second panic while a failed test unwinds.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let keys = self.scan(&format!("{}*", self.ns));
            let mut pipe = redis::pipe();
            for key in keys {
                pipe.cmd("UNLINK").arg(key).ignore();
            }
            pipe.cmd("ACL")
                .arg("DELUSER")
                .arg(format!("chronotrace-{}", self.env))
                .ignore();
            let _: redis::RedisResult<()> = pipe.exec(&mut connect());
        }));
    }
}

impl StoreUnderTest for RedisStore {
    fn name(&self) -> &str {
        "redis"
    }

    fn tool(&self, args: &[&str]) -> Run {
        let (_, password) = redis_server();
        Run::new(self.dir.path())
            .env("REDIS_PASSWORD", password)
            .args(["-e", &self.env])
            .args(args)
    }

    /// As the seed stores a trace: SET with its 15-day TTL, ZADD to the
    /// index at the time it was stored (`age` days ago).
    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        let mut c = connect();
        let now = now();
        let mut seeded = Seeded::default();
        let mut pipe = redis::pipe();
        let mut queued = 0;
        for age in 0..days {
            let stored = now - i64::try_from(age).expect("an age") * DAY;
            let mut traces = Vec::new();
            for i in 0..per_day {
                let id = format!("t{age}-{i}");
                let key = format!("{}traces:{id}", self.ns);
                pipe.cmd("SET")
                    .arg(&key)
                    .arg(TRACE)
                    .arg("EX")
                    .arg(15 * DAY)
                    .ignore();
                pipe.cmd("ZADD")
                    .arg(format!("{}index", self.ns))
                    .arg(stored)
                    .arg(id)
                    .ignore();
                traces.push((key, TRACE.len() as u64));
                queued += 1;
                if queued == 5_000 {
                    pipe.exec(&mut c).expect("seed");
                    (pipe, queued) = (redis::pipe(), 0);
                }
            }
            seeded.push(age, traces);
        }
        if queued > 0 {
            pipe.exec(&mut c).expect("seed");
        }
        seeded
    }

    fn count(&self) -> u64 {
        self.scan(&format!("{}traces:*", self.ns)).len() as u64
    }

    fn everything(&self) -> BTreeSet<String> {
        self.scan(&format!("{}*", self.ns))
    }

    /// Keys of similar names, without a TTL (they never leave by
    /// themselves), outside the prefix `{ns}traces:`.
    fn plant_foreign(&mut self) -> BTreeSet<String> {
        let ns = &self.ns;
        let keys = [
            format!("{ns}traces"),
            format!("{ns}tracesX:a"),
            format!("{ns}Traces:a"),
            format!("{ns}other:traces:a"),
        ];
        let mut c = connect();
        for key in &keys {
            let _: () = redis::cmd("SET")
                .arg(key)
                .arg("keep")
                .query(&mut c)
                .expect("set");
        }
        keys.into_iter().collect()
    }

    fn probe_check(&self) -> &'static str {
        "redis.probe"
    }

    fn interrupt_load(&self) -> (u64, u64) {
        // 28,000 traces past retention: 14 pipelines of 2,000.
        (30, 2000)
    }

    fn hold_purge(&mut self, total: u64, young: u64) -> Box<dyn PurgeHold> {
        let mut c = connect();
        let index = format!("{}index", self.ns);
        Box::new(StopAtProgress {
            store: "redis".to_owned(),
            remaining: move || {
                redis::cmd("ZCARD")
                    .arg(&index)
                    .query::<u64>(&mut c)
                    .expect("zcard")
            },
            total,
            young,
        })
    }

    fn drift(&mut self) -> &'static str {
        // Someone widens the app's user to every key.
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(format!("chronotrace-{}", self.env))
            .arg("~*")
            .query(&mut connect())
            .expect("acl setuser");
        "redis.acl-user"
    }
}

suite!(RedisStore::new(), #[ignore = "needs the bench: run scripts/test.sh"]);
