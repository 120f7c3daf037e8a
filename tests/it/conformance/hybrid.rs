//! The hybrid pair under the suite, in its steady state: the traces of the
//! last `hot_days` (7) in the hot tier, the bench's Redis (the seed's
//! layout, a namespace of its own), the older ones archived in the cold
//! tier, a local directory (`cold/traces/{date}/{id}.zip`). The suite runs
//! on the pair's environment: its reports count both tiers, its purge
//! archives (nothing is old enough to move here) then purges the cold
//! tier, its `apply` provisions each tier, and `destroy` is each tier's
//! own (refused on the pair).

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use tempfile::TempDir;

use super::{PurgeHold, RETENTION, Seeded, StopAtProgress, StoreUnderTest, Support, suite};
use crate::cleanup::day;
use crate::redis::{connect, namespace, now, redis_server, scan_keys};
use crate::redis_cluster::{TRACE, trace_commands};
use crate::support::{Run, tempdir};

const DAY: i64 = 86_400;
/// The pair's `hot_days`: younger traces live in the hot tier.
const HOT_DAYS: u64 = 7;

struct HybridStore {
    dir: TempDir,
    ns: String,
    /// The pair's environment, and its hot tier's (the app's ACL user,
    /// `chronotrace-{hot}`, is server-wide: named for the test).
    pair: String,
    hot: String,
}

impl HybridStore {
    fn new() -> HybridStore {
        let dir = tempdir();
        let ns = namespace("confh");
        let suffix = &ns[9..ns.len() - 1];
        let (pair, hot) = (format!("p{suffix}"), format!("h{suffix}"));
        let (url, _) = redis_server();
        let spec = format!(
            "project: p
environments:
  {hot}:
    storage: redis
    url: {url}
    key_prefix: '{ns}traces:'
    index_key: '{ns}index'
    retention_days: {RETENTION}
  cold:
    storage: local
    path: cold
    retention_days: {RETENTION}
  {pair}:
    storage: hybrid
    hot: {hot}
    cold: cold
    hot_days: {HOT_DAYS}
    retention_days: {RETENTION}
"
        );
        std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write spec");
        HybridStore { dir, ns, pair, hot }
    }

    fn cold(&self) -> PathBuf {
        self.dir.path().join("cold")
    }

    fn write(&self, name: &str, body: &[u8]) {
        let path = self.cold().join(name);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(&path, body).expect("write");
    }

    fn hot_keys(&self) -> BTreeSet<String> {
        scan_keys(&mut connect(), &format!("{}*", self.ns))
    }
}

/// Every file under `root`, by its path relative to `root`.
fn files(root: &Path) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut dirs = vec![root.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
            } else if let Ok(relative) = path.strip_prefix(root) {
                found.insert(format!("cold/{}", relative.display()));
            }
        }
    }
    found
}

impl Drop for HybridStore {
    /// The bench's server is shared: the test's keys and user go.
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let mut c = connect();
            let mut pipe = redis::pipe();
            for key in self.hot_keys() {
                pipe.cmd("UNLINK").arg(key).ignore();
            }
            pipe.cmd("ACL")
                .arg("DELUSER")
                .arg(format!("chronotrace-{}", self.hot))
                .ignore();
            let _: redis::RedisResult<()> = pipe.exec(&mut c);
        }));
    }
}

impl StoreUnderTest for HybridStore {
    fn name(&self) -> &str {
        "hybrid"
    }

    fn tool(&self, args: &[&str]) -> Run {
        let (_, password) = redis_server();
        Run::new(self.dir.path())
            .env("REDIS_PASSWORD", password)
            .args(["-e", &self.pair])
            .args(args)
    }

    /// The young days as the seed's Redis store writes them, the older
    /// ones archived as the package's bundles on the cold disk.
    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        let mut c = connect();
        let now = now();
        let mut seeded = Seeded::default();
        let mut pipe = redis::pipe();
        for age in 0..days {
            let mut traces = Vec::new();
            for i in 0..per_day {
                if age < HOT_DAYS {
                    let stored = now - i64::try_from(age).expect("an age") * DAY;
                    let (key, commands) = trace_commands(&self.ns, &format!("t{age}-{i}"), stored);
                    for cmd in commands {
                        pipe.add_command(cmd).ignore();
                    }
                    traces.push((key, TRACE.len() as u64));
                } else {
                    let name = format!("traces/{}/trace-{age}-{i}.zip", day(age));
                    self.write(&name, b"zip");
                    traces.push((format!("cold/{name}"), 3));
                }
            }
            seeded.push(age, traces);
        }
        pipe.exec(&mut c).expect("seed");
        seeded
    }

    fn count(&self) -> u64 {
        let hot = scan_keys(&mut connect(), &format!("{}traces:*", self.ns)).len();
        (hot + files(&self.cold().join("traces")).len()) as u64
    }

    fn everything(&self) -> BTreeSet<String> {
        let mut all = self.hot_keys();
        all.extend(files(&self.cold()));
        all
    }

    fn plant_foreign(&mut self) -> BTreeSet<String> {
        let mut planted = BTreeSet::new();
        let key = format!("{}tracesX:a", self.ns);
        let mut c = connect();
        let _: () = redis::cmd("SET")
            .arg(&key)
            .arg("keep")
            .query(&mut c)
            .expect("set");
        planted.insert(key);
        let name = format!("traces-archive/{}/a.zip", day(40));
        self.write(&name, b"zip");
        planted.insert(format!("cold/{name}"));
        planted
    }

    fn probe_check(&self) -> &'static str {
        "redis.probe"
    }

    fn interrupt_load(&self) -> (u64, u64) {
        (30, 1000)
    }

    fn hold_purge(&mut self, total: u64, young: u64) -> Box<dyn PurgeHold> {
        let (ns, cold) = (self.ns.clone(), self.cold().join("traces"));
        Box::new(StopAtProgress {
            store: "hybrid".to_owned(),
            remaining: move || {
                let hot = scan_keys(&mut connect(), &format!("{ns}traces:*")).len();
                (hot + files(&cold).len()) as u64
            },
            total,
            young,
        })
    }

    fn drift(&mut self) -> &'static str {
        // The cold tier's one made thing: its directory, removed.
        std::fs::remove_dir(self.cold().join("traces")).expect("remove traces/");
        "local.traces-dir"
    }

    fn destroy(&self) -> Support {
        Support::No(
            "a pair's tiers may serve other environments: each is destroyed on its own (`destroy -e TIER`)",
        )
    }
}

suite!(HybridStore::new(), #[ignore = "needs the bench: run scripts/test.sh"]);
