//! The Redis store under the suite, on the bench's redis-server and on its
//! Redis Cluster (three masters with a replica each, `cluster: true`, the
//! traces written by a cluster client): a namespace of its own per test
//! (`ct-conf-{nanos}:`), traces at `{ns}traces:{id}` with the seed's TTL and
//! the index `{ns}index` scored by the time each trace was stored, and an
//! environment named for the test (the app's ACL user, `chronotrace-{env}`,
//! is server-wide; on a cluster, node by node).

use std::collections::BTreeSet;

use tempfile::TempDir;

use super::{PurgeHold, Seeded, StopAtProgress, StoreUnderTest, suite};
use crate::redis::{connect, namespace, now, redis_server, scan_keys, write_spec_named};
use crate::redis_cluster::{
    TRACE, cluster_client, cluster_server, roles, scan_masters, store_traces, trace_commands,
    unlink_masters, write_cluster_spec,
};
use crate::support::{Run, tempdir};

const DAY: i64 = 86_400;

struct RedisStore {
    dir: TempDir,
    ns: String,
    env: String,
    /// On the bench's cluster rather than its single server.
    cluster: bool,
}

impl RedisStore {
    fn new() -> RedisStore {
        let dir = tempdir();
        let ns = namespace("conf");
        let env = format!("c{}", &ns[8..ns.len() - 1]);
        let (url, _) = redis_server();
        write_spec_named(dir.path(), &ns, &url, &env);
        RedisStore {
            dir,
            ns,
            env,
            cluster: false,
        }
    }

    /// The same on the bench's Redis Cluster (`cluster: true`).
    fn cluster() -> RedisStore {
        let dir = tempdir();
        let ns = namespace("confc");
        let env = format!("k{}", &ns[9..ns.len() - 1]);
        write_cluster_spec(dir.path(), &ns, &env, true);
        RedisStore {
            dir,
            ns,
            env,
            cluster: true,
        }
    }

    /// The keys matching `pattern` (`SCAN`, never `KEYS`; every master of
    /// a cluster).
    fn scan(&self, pattern: &str) -> BTreeSet<String> {
        if self.cluster {
            scan_masters(pattern)
        } else {
            scan_keys(&mut connect(), pattern)
        }
    }

    /// A connection that reaches any key (a cluster client on a cluster).
    fn client(&self) -> Box<dyn redis::ConnectionLike> {
        if self.cluster {
            Box::new(cluster_client())
        } else {
            Box::new(connect())
        }
    }

    /// Every server the app's ACL user lives on (a cluster: each node).
    fn servers(&self) -> Vec<redis::Connection> {
        if self.cluster {
            let (masters, replicas) = roles();
            masters
                .iter()
                .chain(&replicas)
                .map(|n| crate::redis_cluster::node(n))
                .collect()
        } else {
            vec![connect()]
        }
    }
}

impl Drop for RedisStore {
    /// The bench's server is shared: the test's keys and user go.
    fn drop(&mut self) {
        // Never a second panic while a failed test unwinds.
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let pattern = format!("{}*", self.ns);
            let mut pipe = redis::pipe();
            if self.cluster {
                unlink_masters(&pattern);
            } else {
                for key in self.scan(&pattern) {
                    pipe.cmd("UNLINK").arg(key).ignore();
                }
            }
            pipe.cmd("ACL")
                .arg("DELUSER")
                .arg(format!("chronotrace-{}", self.env))
                .ignore();
            for mut server in self.servers() {
                let _: redis::RedisResult<()> = pipe.exec(&mut server);
            }
        }));
    }
}

impl StoreUnderTest for RedisStore {
    fn name(&self) -> &str {
        if self.cluster {
            "redis-cluster"
        } else {
            "redis"
        }
    }

    fn tool(&self, args: &[&str]) -> Run {
        let (_, password) = redis_server();
        if self.cluster {
            assert_eq!(cluster_server().2, password, "one password for both");
        }
        Run::new(self.dir.path())
            .env("REDIS_PASSWORD", password)
            .args(["-e", &self.env])
            .args(args)
    }

    /// As the seed stores a trace: SET with its 15-day TTL, ZADD to the
    /// index at the time it was stored (`age` days ago).
    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        if self.cluster {
            let days = i64::try_from(days).expect("days");
            let per_day = i64::try_from(per_day).expect("traces a day");
            let stored = store_traces(&self.ns, days, per_day);
            let mut seeded = Seeded::default();
            for age in 0..days {
                let traces = stored
                    .iter()
                    .filter(|(_, a)| *a == age)
                    .map(|(key, _)| (key.clone(), TRACE.len() as u64))
                    .collect();
                seeded.push(u64::try_from(age).expect("an age"), traces);
            }
            return seeded;
        }
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
                let (key, commands) = trace_commands(&self.ns, &id, stored);
                for cmd in commands {
                    pipe.add_command(cmd).ignore();
                }
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
        let mut c = self.client();
        for key in &keys {
            let _: () = redis::cmd("SET")
                .arg(key)
                .arg("keep")
                .query(c.as_mut())
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
        let mut c = self.client();
        let index = format!("{}index", self.ns);
        Box::new(StopAtProgress {
            store: "redis".to_owned(),
            remaining: move || {
                redis::cmd("ZCARD")
                    .arg(&index)
                    .query::<u64>(c.as_mut())
                    .expect("zcard")
            },
            total,
            young,
        })
    }

    fn drift(&mut self) -> &'static str {
        // Someone widens the app's user to every key (on a cluster, on
        // one node: ACLs are per node).
        let mut servers = self.servers();
        let _: () = redis::cmd("ACL")
            .arg("SETUSER")
            .arg(format!("chronotrace-{}", self.env))
            .arg("~*")
            .query(servers.last_mut().expect("a server"))
            .expect("acl setuser");
        "redis.acl-user"
    }
}

suite!(RedisStore::new(), #[ignore = "needs the bench: run scripts/test.sh"]);

/// The same suite on the bench's Redis Cluster.
mod cluster {
    use super::RedisStore;
    use crate::conformance::suite;

    suite!(RedisStore::cluster(), #[ignore = "needs the bench: run scripts/test.sh"]);
}
