//! The conformance suite (issue 23): one set of behaviours, each a function
//! taking the store under test, run against every store through the real
//! binary, in the style of `object_store`'s `integration.rs`. A store passes
//! the suite or it is not a store; a new store's tests go here.
//!
//! A store kind implements [`StoreUnderTest`] in its own file (`s3.rs`:
//! moto, Garage, SeaweedFS; `gcs.rs`: fake-gcs-server; `local.rs`; `redis.rs`; `hybrid.rs`: a Redis
//! hot tier and a local cold tier; `sql.rs`: PostgreSQL,
//! MariaDB, SQLite): it writes a spec for a namespace of its own on the
//! bench's server (a fresh bucket, directory, key prefix or table per
//! test), seeds traces in the ChronoTrace layout of that store, counts what
//! is left, lists everything around it, and plants foreign items just
//! outside its fence. Then one line, `suite!(...)`, gives it one test per
//! behaviour, named `conformance::<store>::<behaviour>`.
//!
//! Every behaviour runs on every store. Where a store cannot do something
//! (`destroy` on a local directory), its impl says so with the reason, and
//! the suite prints the reason and checks what the tool does instead; where
//! the tool has a known bug on a store, `known_bug` names it and the
//! behaviour is printed as skipped, never silently passed.
//!
//! The figures: retention 15 days (every store's spec), grace 2 (verify's
//! default); a trace of age `a` days is past retention when `a > 15` and
//! stale for verify when `a > 17` (`src/retention.rs`: day-based cutoffs).

/// Its bench helpers are `tests/it/gcs.rs`'s too.
pub mod gcs;
mod hybrid;
mod local;
mod redis;
mod s3;
mod sql;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{Outcome, Run};

/// Retention of every store's spec, in days.
pub const RETENTION: u64 = 15;
/// `cleanup verify`'s default grace, in days.
pub const GRACE: u64 = 2;
/// The traces of most behaviours: 3 a day over the last 20 days (ages 0
/// to 19: four days past retention, two past retention and grace).
const DAYS: u64 = 20;
const PER_DAY: u64 = 3;

/// One seeded day: its age, its date (`YYYY-MM-DD`, UTC), the names of its
/// traces as [`StoreUnderTest::everything`] lists them, and their bytes as
/// the tool counts them.
#[derive(Debug, Clone)]
pub struct Day {
    pub age: u64,
    pub date: String,
    pub items: Vec<String>,
    pub bytes: u64,
}

/// What a store seeded.
#[derive(Debug, Clone, Default)]
pub struct Seeded {
    pub days: Vec<Day>,
}

impl Seeded {
    /// Adds a day of `age` days with its traces (name, bytes).
    pub fn push(&mut self, age: u64, traces: Vec<(String, u64)>) {
        self.days.push(Day {
            age,
            date: crate::cleanup::day(age),
            bytes: traces.iter().map(|(_, b)| b).sum(),
            items: traces.into_iter().map(|(name, _)| name).collect(),
        });
    }

    /// The days older than `days` (all of them: `older_than(None)`).
    fn older_than(&self, days: Option<u64>) -> impl Iterator<Item = &Day> {
        self.days
            .iter()
            .filter(move |d| days.is_none_or(|n| d.age > n))
    }

    /// Per date: (objects, bytes), of the days older than `days`.
    fn tally(&self, days: Option<u64>) -> BTreeMap<String, (u64, u64)> {
        self.older_than(days)
            .map(|d| (d.date.clone(), (d.items.len() as u64, d.bytes)))
            .collect()
    }

    /// (objects, bytes) of the days older than `days`.
    fn total(&self, days: Option<u64>) -> (u64, u64) {
        self.older_than(days)
            .fold((0, 0), |(o, b), d| (o + d.items.len() as u64, b + d.bytes))
    }

    /// The names of the traces of the days older than `days`.
    fn items(&self, days: Option<u64>) -> BTreeSet<String> {
        self.older_than(days)
            .flat_map(|d| d.items.iter().cloned())
            .collect()
    }
}

/// Whether a store supports something the suite asks of it.
pub enum Support {
    Yes,
    /// No, and why (printed when the behaviour is skipped).
    No(&'static str),
}

/// A store kind as the suite drives it. One value is one test's namespace:
/// its spec in a fresh directory, its own bucket, directory, key prefix or
/// table on the bench's server.
pub trait StoreUnderTest {
    /// The store's name in messages (`garage`, `postgres`, ...).
    fn name(&self) -> &str;

    /// The binary in the spec's directory, on this store's environment
    /// (`-e ENV`), with the credentials the store needs.
    fn tool(&self, args: &[&str]) -> Run;

    /// Seeds `per_day` traces on each of the last `days` days (ages 0 to
    /// `days - 1`) in the ChronoTrace layout of the store, making the
    /// bucket or table first when it is not there yet.
    fn seed(&mut self, days: u64, per_day: u64) -> Seeded;

    /// The traces left in the store's layout (inside the fence).
    fn count(&self) -> u64;

    /// Every item in and around the namespace, the foreign ones included,
    /// by name (a key, a file's path, `table/trace_id`): what must not
    /// change unless the tool is asked to delete it.
    fn everything(&self) -> BTreeSet<String>;

    /// Plants items just outside the fence (a sibling prefix, a file beside
    /// `traces/`, a key of a similar name, a row of the neighbour table),
    /// old enough to be purged were they inside; returns their names.
    fn plant_foreign(&mut self) -> BTreeSet<String>;

    /// The id of `check`'s write/read/delete probe on this store.
    fn probe_check(&self) -> &'static str;

    /// (days, traces a day) for the interrupted purge: enough that the
    /// purge is surely stopped mid-way by [`StoreUnderTest::hold_purge`].
    fn interrupt_load(&self) -> (u64, u64);

    /// Readies a way to stop the next purge mid-way, after it deleted
    /// something and before it deleted everything (`total` traces seeded,
    /// `young` of them within retention).
    fn hold_purge(&mut self, total: u64, young: u64) -> Box<dyn PurgeHold>;

    /// Changes one thing `apply` made, out of band; returns the plan's
    /// resource id that must show it.
    fn drift(&mut self) -> &'static str;

    /// Whether `destroy` applies to this store.
    fn destroy(&self) -> Support {
        Support::Yes
    }

    /// A behaviour (by its function's name) that fails on this store
    /// because of a bug in the tool, and the bug: the test prints it and
    /// skips that behaviour, so the suite stays green while it is open.
    fn known_bug(&self, _behaviour: &str) -> Option<&'static str> {
        None
    }
}

/// How the interrupted purge is held mid-way.
pub trait PurgeHold {
    /// Returns once the purge `child` runs has deleted something and is
    /// held before the rest.
    fn wait_mid_run(&mut self, child: &mut Child);
    /// After the SIGINT: lets the run go on, so it sees the signal.
    fn resume(&mut self, _child: &Child) {}
}

/// A hold for stores the tests cannot slow down from outside (a directory,
/// Redis, SQL): the process is frozen (SIGSTOP) as soon as `remaining`
/// shows its first deletes, then signalled and thawed. The store's load is
/// sized so that the purge is still far from done when it is frozen; on
/// PostgreSQL and MariaDB a row locked by the test also keeps it from
/// finishing first (`sql.rs`, `BehindALockedRow`).
pub struct StopAtProgress<F: FnMut() -> u64> {
    pub store: String,
    pub remaining: F,
    pub total: u64,
    pub young: u64,
}

impl<F: FnMut() -> u64> PurgeHold for StopAtProgress<F> {
    fn wait_mid_run(&mut self, child: &mut Child) {
        let start = Instant::now();
        while (self.remaining)() >= self.total {
            if let Ok(Some(status)) = child.try_wait() {
                panic!(
                    "{}: the purge ended ({status}) before deleting anything:\n{}",
                    self.store,
                    stderr_of(child)
                );
            }
            assert!(
                start.elapsed() < Duration::from_secs(90),
                "{}: no sign of progress",
                self.store
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        signal(child, "STOP");
        // What the server was already sent completes meanwhile.
        std::thread::sleep(Duration::from_millis(300));
        let left = (self.remaining)();
        assert!(
            left > self.young,
            "{}: the purge was done ({left} traces left) before it could be frozen mid-way: raise interrupt_load",
            self.store
        );
    }

    fn resume(&mut self, child: &Child) {
        signal(child, "CONT");
    }
}

/// For the holds that run the purge through `fault_proxy` with its first
/// delete delayed and the next ones stalled: returns once the second
/// delete reached the proxy (the first is done and answered, the second
/// never sent), failing if the purge ended or made no progress.
pub fn wait_for_the_second_delete(proxy: &crate::fault_proxy::FaultProxy, child: &mut Child) {
    let start = Instant::now();
    while proxy.injected() < 2 {
        if let Ok(Some(status)) = child.try_wait() {
            panic!("the purge ended ({status}) before its second delete");
        }
        assert!(
            start.elapsed() < Duration::from_secs(90),
            "no sign of progress: {} faults injected",
            proxy.injected()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Sends `kill -SIG` to `child`.
pub fn signal(child: &Child, sig: &str) {
    let sent = Command::new("kill")
        .args([format!("-{sig}"), child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(sent.success(), "kill -{sig} failed");
}

fn stderr_of(child: &mut Child) -> String {
    let mut text = String::new();
    if let Some(mut err) = child.stderr.take() {
        let _ = err.read_to_string(&mut text);
    }
    text
}

/// Says on the terminal, past the test harness's capture, that `store`
/// skips `behaviour` and why: a skip is never silent.
pub fn skipped(store: &str, behaviour: &str, why: &str) {
    let _ = writeln!(
        std::io::stderr(),
        "conformance: {store}: {behaviour} skipped: {why}"
    );
}

/// The binary on the store with `--output json`.
fn json_run(store: &dyn StoreUnderTest, args: &[&str]) -> Outcome {
    store.tool(&["--output", "json"]).args(args).run()
}

fn u64_of(value: &Value, field: &str) -> u64 {
    value[field]
        .as_u64()
        .unwrap_or_else(|| panic!("no integer {field} in {value:#}"))
}

/// A JSON list of `{date, objects, bytes}` as a map.
fn per_day(value: &Value, field: &str) -> BTreeMap<String, (u64, u64)> {
    value[field]
        .as_array()
        .unwrap_or_else(|| panic!("no list {field} in {value:#}"))
        .iter()
        .map(|d| {
            let date = d["date"].as_str().expect("a date").to_owned();
            (date, (u64_of(d, "objects"), u64_of(d, "bytes")))
        })
        .collect()
}

/// Exactly the traces past retention are gone from what was `before`:
/// the young traces and the foreign items are all still there.
#[track_caller]
fn assert_only_expired_gone(
    store: &dyn StoreUnderTest,
    before: &BTreeSet<String>,
    seeded: &Seeded,
) {
    let expected: BTreeSet<String> = before
        .difference(&seeded.items(Some(RETENTION)))
        .cloned()
        .collect();
    let now = store.everything();
    // Thousands of names: show what differs, not the sets.
    let missing: Vec<&String> = expected.difference(&now).take(5).collect();
    let left: Vec<&String> = now.difference(&expected).take(5).collect();
    assert!(
        missing.is_empty() && left.is_empty(),
        "{}: not exactly the traces past retention are gone: missing {missing:?}, left {left:?}",
        store.name()
    );
}

/// One `#[test]` a behaviour for the store `$make` builds, each on a store
/// of its own; attributes after it (the bench's `#[ignore]`) go on every
/// test: `suite!(S3Store::new("garage", "garage"), #[ignore = "..."]);`.
macro_rules! suite {
    (@one $behaviour:ident, $make:expr $(, #[$attr:meta])*) => {
        #[test]
        $(#[$attr])*
        fn $behaviour() {
            let mut store = $make;
            let store: &mut dyn $crate::conformance::StoreUnderTest = &mut store;
            match store.known_bug(stringify!($behaviour)) {
                Some(bug) => $crate::conformance::skipped(
                    store.name(),
                    stringify!($behaviour),
                    &format!("known bug: {bug}"),
                ),
                None => $crate::conformance::$behaviour(store),
            }
        }
    };
    ($make:expr $(, #[$attr:meta])*) => {
        $crate::conformance::suite!(@one partitions_and_tallies_are_exact, $make $(, #[$attr])*);
        $crate::conformance::suite!(@one verify_gives_its_verdict_and_counts, $make $(, #[$attr])*);
        $crate::conformance::suite!(@one purge_is_a_dry_run_then_deletes_only_what_is_past_retention, $make $(, #[$attr])*);
        $crate::conformance::suite!(@one an_interrupted_purge_is_finished_by_a_rerun, $make $(, #[$attr])*);
        $crate::conformance::suite!(@one the_probe_passes_and_leaves_nothing, $make $(, #[$attr])*);
        $crate::conformance::suite!(@one provisioning_converges_repairs_drift_and_destroys_only_its_own, $make $(, #[$attr])*);
        $crate::conformance::suite!(@one two_purges_at_once_delete_exactly_what_is_past_retention, $make $(, #[$attr])*);
    };
}
use suite;

/// `report`'s partitions and tallies are exactly what was seeded: per day
/// (objects, bytes), in total, the oldest and newest day; foreign items
/// are not counted.
pub fn partitions_and_tallies_are_exact(store: &mut dyn StoreUnderTest) {
    let name = store.name().to_owned();
    let seeded = store.seed(DAYS, PER_DAY);
    store.plant_foreign();
    let report = json_run(store, &["report", "--no-checks"]).code(0).json();
    let (objects, bytes) = seeded.total(None);
    assert_eq!(u64_of(&report, "objects"), objects, "{name}: {report:#}");
    assert_eq!(u64_of(&report, "bytes"), bytes, "{name}: {report:#}");
    assert_eq!(
        per_day(&report, "by_day"),
        seeded.tally(None),
        "{name}: {report:#}"
    );
    let (oldest, newest) = (crate::cleanup::day(DAYS - 1), crate::cleanup::day(0));
    for (field, date) in [("oldest", oldest), ("newest", newest)] {
        assert!(
            report[field].as_str().is_some_and(|d| d.starts_with(&date)),
            "{name}: {field} is not {date}: {report:#}"
        );
    }
}

/// `cleanup verify`: exit 1 while traces past retention and grace remain,
/// with their exact counts per day; `--grace 0` counts from retention;
/// exit 0 when nothing is stale.
pub fn verify_gives_its_verdict_and_counts(store: &mut dyn StoreUnderTest) {
    let name = store.name().to_owned();
    let seeded = store.seed(DAYS, PER_DAY);
    store.plant_foreign();

    let stale = json_run(store, &["cleanup", "verify"]).code(1).json();
    let (objects, bytes) = seeded.total(Some(RETENTION + GRACE));
    assert_eq!(stale["ok"], false, "{name}: {stale:#}");
    assert_eq!(u64_of(&stale, "retention_days"), RETENTION, "{name}");
    assert_eq!(u64_of(&stale, "grace_days"), GRACE, "{name}");
    assert_eq!(
        u64_of(&stale, "expired_objects"),
        objects,
        "{name}: {stale:#}"
    );
    assert_eq!(u64_of(&stale, "expired_bytes"), bytes, "{name}: {stale:#}");
    assert_eq!(
        per_day(&stale, "expired_partitions"),
        seeded.tally(Some(RETENTION + GRACE)),
        "{name}: {stale:#}"
    );
    let oldest = crate::cleanup::day(DAYS - 1);
    assert!(
        stale["oldest"]
            .as_str()
            .is_some_and(|d| d.starts_with(&oldest)),
        "{name}: oldest is not {oldest}: {stale:#}"
    );

    let no_grace = json_run(store, &["cleanup", "verify", "--grace", "0"])
        .code(1)
        .json();
    let (objects, bytes) = seeded.total(Some(RETENTION));
    assert_eq!(
        u64_of(&no_grace, "expired_objects"),
        objects,
        "{name}: {no_grace:#}"
    );
    assert_eq!(
        u64_of(&no_grace, "expired_bytes"),
        bytes,
        "{name}: {no_grace:#}"
    );

    // A retention the oldest trace is within: nothing is stale.
    let days = (DAYS - GRACE).to_string();
    let fresh = json_run(store, &["cleanup", "verify", "--days", &days])
        .code(0)
        .json();
    assert_eq!(fresh["ok"], true, "{name}: {fresh:#}");
    assert_eq!(u64_of(&fresh, "expired_objects"), 0, "{name}: {fresh:#}");
}

/// `cleanup purge` without `--yes` counts what would go and deletes
/// nothing; with it, it deletes exactly the traces past retention, and
/// nothing outside the fence (the foreign items survive).
pub fn purge_is_a_dry_run_then_deletes_only_what_is_past_retention(store: &mut dyn StoreUnderTest) {
    let name = store.name().to_owned();
    let seeded = store.seed(DAYS, PER_DAY);
    let foreign = store.plant_foreign();
    let before = store.everything();
    assert!(before.is_superset(&foreign), "{name}: {before:?}");
    let (objects, bytes) = seeded.total(Some(RETENTION));
    let partitions = seeded.tally(Some(RETENTION));

    let dry = json_run(store, &["cleanup", "purge"]).code(0).json();
    assert_eq!(dry["dry_run"], true, "{name}: {dry:#}");
    assert_eq!(u64_of(&dry, "deleted_objects"), objects, "{name}: {dry:#}");
    assert_eq!(u64_of(&dry, "deleted_bytes"), bytes, "{name}: {dry:#}");
    assert_eq!(per_day(&dry, "partitions"), partitions, "{name}: {dry:#}");
    assert_eq!(
        store.everything(),
        before,
        "{name}: a dry run deletes nothing"
    );

    let purge = json_run(store, &["cleanup", "purge", "--yes"])
        .code(0)
        .json();
    assert_eq!(purge["dry_run"], false, "{name}: {purge:#}");
    assert_eq!(
        u64_of(&purge, "deleted_objects"),
        objects,
        "{name}: {purge:#}"
    );
    assert_eq!(u64_of(&purge, "deleted_bytes"), bytes, "{name}: {purge:#}");
    assert_eq!(purge["errors"], serde_json::json!([]), "{name}: {purge:#}");
    assert_eq!(
        per_day(&purge, "partitions"),
        partitions,
        "{name}: {purge:#}"
    );
    assert_only_expired_gone(store, &before, &seeded);
    assert_eq!(store.count(), seeded.total(None).0 - objects, "{name}");

    let after = json_run(store, &["cleanup", "verify", "--grace", "0"])
        .code(0)
        .json();
    assert_eq!(u64_of(&after, "expired_objects"), 0, "{name}: {after:#}");
    let again = json_run(store, &["cleanup", "purge", "--yes"])
        .code(0)
        .json();
    assert_eq!(u64_of(&again, "deleted_objects"), 0, "{name}: {again:#}");
}

/// A purge stopped by SIGINT mid-way exits 130 saying exactly what it
/// deleted (the store agrees); a rerun deletes exactly the rest; nothing
/// within retention or outside the fence is touched.
pub fn an_interrupted_purge_is_finished_by_a_rerun(store: &mut dyn StoreUnderTest) {
    let name = store.name().to_owned();
    let (days, per_day_load) = store.interrupt_load();
    let seeded = store.seed(days, per_day_load);
    store.plant_foreign();
    let before = store.everything();
    let (total, total_bytes) = seeded.total(None);
    let (expired, expired_bytes) = seeded.total(Some(RETENTION));

    let mut hold = store.hold_purge(total, total - expired);
    let purge = ["--output", "json", "cleanup", "purge", "--yes"];
    let mut child = store.tool(&purge).args(["--concurrency", "1"]).spawn();
    hold.wait_mid_run(&mut child);
    signal(&child, "INT");
    hold.resume(&child);
    let first = Outcome::of(child.wait_with_output().expect("the binary ends"));
    drop(hold);
    let first = crate::interrupts::interrupted(first).json();
    assert_eq!(first["interrupted"], true, "{name}: {first:#}");
    let deleted = u64_of(&first, "deleted_objects");
    assert!(
        (1..expired).contains(&deleted),
        "{name}: a partial count of {expired}: {first:#}"
    );
    assert_eq!(
        store.count(),
        total - deleted,
        "{name}: the store agrees with what the run said it deleted"
    );

    let rerun = json_run(store, &["cleanup", "purge", "--yes"])
        .code(0)
        .json();
    assert_eq!(
        u64_of(&rerun, "deleted_objects"),
        expired - deleted,
        "{name}: the rerun deletes exactly the rest: {rerun:#}"
    );
    assert_eq!(
        u64_of(&first, "deleted_bytes") + u64_of(&rerun, "deleted_bytes"),
        expired_bytes,
        "{name}: bytes over both runs"
    );
    assert_only_expired_gone(store, &before, &seeded);
    let report = json_run(store, &["report", "--no-checks"]).code(0).json();
    assert_eq!(
        u64_of(&report, "bytes"),
        total_bytes - expired_bytes,
        "{name}: {report:#}"
    );
    assert_eq!(
        per_day(&report, "by_day"),
        seeded
            .tally(None)
            .into_iter()
            .filter(|(date, _)| !seeded.tally(Some(RETENTION)).contains_key(date))
            .collect(),
        "{name}: the days within retention are whole"
    );
}

/// Two purges at once — the Laravel scheduler runs `cleanup purge --yes`
/// on every web node unless told `onOneServer()` — both exit 0 (a trace
/// the other run took is done, not an error), and together delete exactly
/// what is past retention, nothing within it and nothing outside the
/// fence. Where the store can tell what each run removed
/// (`"deleted_objects_counted": "removed"`) the two counts add up to it;
/// where it cannot (`"requested"`: S3 answers "deleted" for a key already
/// gone) each run counts the keys it sent: each at most the total, both
/// together at least it. The load is the interrupted purge's, long enough
/// for the runs to overlap; `concurrent_purge.rs` adds heavier loads and
/// each store's own checks (equal Redis scores, index members, the text).
pub fn two_purges_at_once_delete_exactly_what_is_past_retention(store: &mut dyn StoreUnderTest) {
    let name = store.name().to_owned();
    let (days, per_day_load) = store.interrupt_load();
    let seeded = store.seed(days, per_day_load);
    store.plant_foreign();
    let before = store.everything();
    let (total, _) = seeded.total(None);
    let (expired, expired_bytes) = seeded.total(Some(RETENTION));

    let purge = ["--output", "json", "cleanup", "purge", "--yes"];
    let children = [store.tool(&purge).spawn(), store.tool(&purge).spawn()];
    let runs = children.map(|child| {
        let json = Outcome::of(child.wait_with_output().expect("a purge ends"))
            .code(0)
            .json();
        assert_eq!(json["dry_run"], false, "{name}: {json:#}");
        assert_eq!(json["error_count"], 0, "{name}: {json:#}");
        json
    });
    assert_only_expired_gone(store, &before, &seeded);
    assert_eq!(store.count(), total - expired, "{name}: traces left");

    let counted = &runs[0]["deleted_objects_counted"];
    assert_eq!(counted, &runs[1]["deleted_objects_counted"], "{name}");
    let objects = runs.each_ref().map(|json| u64_of(json, "deleted_objects"));
    let bytes = runs.each_ref().map(|json| u64_of(json, "deleted_bytes"));
    eprintln!(
        "{name}: two purges at once deleted {} + {} of {expired} ({counted})",
        objects[0], objects[1]
    );
    match counted.as_str() {
        Some("removed") => {
            assert_eq!(objects[0] + objects[1], expired, "{name}: {objects:?}");
            assert_eq!(bytes[0] + bytes[1], expired_bytes, "{name}: {bytes:?}");
        }
        Some("requested") => {
            assert!(objects.iter().all(|n| *n <= expired), "{name}: {objects:?}");
            assert!(objects[0] + objects[1] >= expired, "{name}: {objects:?}");
        }
        other => panic!("{name}: deleted_objects_counted is {other:?}"),
    }
}

/// `check`'s write/read/delete probe passes and leaves nothing behind.
pub fn the_probe_passes_and_leaves_nothing(store: &mut dyn StoreUnderTest) {
    let name = store.name().to_owned();
    store.seed(3, 2);
    store.plant_foreign();
    let before = store.everything();
    let out = json_run(store, &["check"]);
    // Other checks may fail on a store nobody provisioned (no lifecycle
    // rule): that is exit 1, never 2.
    assert!(matches!(out.code, 0 | 1), "{name}: {out:?}");
    let report = out.json();
    let probe = store.probe_check();
    let status = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == probe))
        .map(|c| c["status"].clone());
    assert_eq!(
        status,
        Some(Value::from("pass")),
        "{name}: {probe}: {report:#}"
    );
    assert_eq!(
        store.everything(),
        before,
        "{name}: the probe left something"
    );
}

/// `apply` twice (the second a no-op), drift made out of band shown by
/// `plan` and repaired by `apply`, and `destroy` removing only what the
/// tool made (the foreign items, and every trace, survive).
pub fn provisioning_converges_repairs_drift_and_destroys_only_its_own(
    store: &mut dyn StoreUnderTest,
) {
    let name = store.name().to_owned();
    let foreign = store.plant_foreign();
    let apply = ["--output", "json", "apply", "--yes", "--out", "creds"];
    store.tool(&apply).run().code(0).json();
    assert_eq!(store.everything(), foreign, "{name}: apply leaves no data");
    store.tool(&["plan", "--exit-code"]).run().code(0);
    let again = store.tool(&apply).run().code(0).json();
    let changes = again["changes"].as_array().expect("changes");
    assert!(
        changes.iter().all(|c| c["action"] == "none"),
        "{name}: a second apply changes nothing: {again:#}"
    );
    store.tool(&["plan", "--exit-code"]).run().code(0);

    let resource = store.drift();
    store
        .tool(&["plan", "--exit-code"])
        .run()
        .code(1)
        .stdout_contains(resource);
    store.tool(&apply).run().code(0);
    store.tool(&["plan", "--exit-code"]).run().code(0);

    let before = store.everything();
    match store.destroy() {
        Support::Yes => {
            store
                .tool(&["--output", "json", "destroy", "--yes"])
                .run()
                .code(0);
            assert_eq!(
                store.everything(),
                before,
                "{name}: destroy removes only what apply made"
            );
            // What apply made is gone: it would make it again.
            store.tool(&["plan", "--exit-code"]).run().code(1);
        }
        Support::No(why) => {
            skipped(&name, "destroy", why);
            // The refusal changes nothing.
            store.tool(&["destroy", "--yes"]).run().code(2);
            assert_eq!(store.everything(), before, "{name}");
            store.tool(&["plan", "--exit-code"]).run().code(0);
        }
    }
}

// Two purges at once (the Laravel scheduler on every web node runs one):
// the behaviour is written in tests/it/concurrent_purge.rs and is folded in
// here, a function beside those above taking `&mut dyn StoreUnderTest`,
// and its line in `suite!`.
