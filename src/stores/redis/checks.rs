//! `check` on a Redis store: connect and authenticate, the server's
//! version, a probe key under the prefix with a short TTL (deleted, so
//! nothing stays), the eviction policy judged for traces, persistence,
//! evicted keys, the TTLs of the trace keys, and whether the connecting
//! user's ACL is limited to the prefix. `judge_*` are pure (tested below).

use std::path::Path;
use std::time::Instant;

use super::Redis;
use super::cluster::Nodes;
use crate::check::{CheckResult, Status, timed};
use crate::spec::RedisStorage;
use crate::transport::timeouts::Timeouts;

/// The ids of the Redis checks, in order.
pub(crate) const IDS: [&str; 8] = [
    "redis.connect",
    "redis.version",
    "redis.probe",
    "redis.eviction",
    "redis.persistence",
    "redis.evicted-keys",
    "redis.ttl",
    "redis.acl",
];

/// The check of a cluster's state and nodes (`cluster: true` only).
pub(crate) const CLUSTER_ID: &str = "redis.cluster";

/// Runs every Redis check of `spec` (connection first: without it the
/// others are skipped at once).
pub(crate) async fn check(
    spec: &RedisStorage,
    retention_days: u32,
    timeouts: Timeouts,
    ca_bundle: Option<&Path>,
) -> Vec<CheckResult> {
    let started = Instant::now();
    let redis = match super::cluster::connect_seed(spec, timeouts, ca_bundle).await {
        Ok(redis) => redis,
        Err(e) => {
            let mut results = vec![CheckResult::from_error(IDS[0], &e).took(started)];
            results.extend(crate::check::skip_all(
                &IDS[1..],
                "not connected (see redis.connect)",
            ));
            return results;
        }
    };
    let connected = CheckResult::pass(
        IDS[0],
        format!("connected and authenticated to {}", redis.label),
    )
    .took(started);
    let info = info(&redis).await;
    let mut results = vec![connected];
    let nodes = if spec.cluster {
        let started = Instant::now();
        let (nodes, result) = cluster(&redis, spec, timeouts, ca_bundle).await;
        results.push(result.took(started));
        nodes
    } else {
        Nodes::single(redis.clone())
    };
    results.push(timed(async { version(&info) }).await);
    results.push(timed(probe(&nodes, &spec.key_prefix)).await);
    // Memory, persistence and evictions are each master's own: judged on
    // every one, the worst named (a single server: its own verdicts).
    let started = Instant::now();
    let mut masters = Vec::with_capacity(nodes.masters.len());
    for master in &nodes.masters {
        let info = if master.label == redis.label {
            info.clone()
        } else {
            self::info(master).await
        };
        let persisted = persistence(master, &info).await;
        masters.push((master.label.as_str(), info, persisted));
    }
    let each = |judge: Judge| {
        worst(
            masters
                .iter()
                .map(|(label, info, _)| (*label, judge(info)))
                .collect(),
        )
        .took(started)
    };
    results.push(each(judge_eviction));
    results.push(
        worst(
            masters
                .iter()
                .map(|(label, _, persisted)| (*label, persisted.clone()))
                .collect(),
        )
        .took(started),
    );
    results.push(each(judge_evicted));
    results.push(timed(ttl(&nodes, spec, retention_days)).await);
    results.push(timed(acl(&redis, spec)).await);
    results
}

/// The cluster a `cluster: true` spec names (`redis.cluster`): the seed's
/// `cluster_state:ok`, every slot served (`CLUSTER SLOTS`), and every
/// master and replica answering within the time limit, the first that
/// does not named. Without the cluster's map the other checks run on the
/// seed alone.
async fn cluster(
    seed: &Redis,
    spec: &RedisStorage,
    timeouts: Timeouts,
    ca_bundle: Option<&Path>,
) -> (Nodes, CheckResult) {
    let alone = || Nodes::single(seed.clone());
    let state: String = match seed
        .query(
            "CLUSTER INFO",
            &redis::cmd("CLUSTER").arg("INFO").to_owned(),
        )
        .await
    {
        Ok(text) => text,
        Err(e) => return (alone(), CheckResult::from_error(CLUSTER_ID, &e)),
    };
    let state = state
        .lines()
        .find_map(|l| l.trim().strip_prefix("cluster_state:"))
        .unwrap_or("unknown")
        .to_owned();
    let nodes =
        match Nodes::discover(seed.clone(), spec, &spec.index_key, timeouts, ca_bundle).await {
            Ok(nodes) => nodes,
            Err(e) => return (alone(), CheckResult::from_error(CLUSTER_ID, &e)),
        };
    if state != "ok" {
        return (
            nodes,
            CheckResult::fail(
                CLUSTER_ID,
                format!(
                    "cluster_state:{state} on {}: the cluster refuses commands",
                    seed.label
                ),
            )
            .with_hint("see `redis-cli cluster info` and `redis-cli --cluster check`"),
        );
    }
    let ping = redis::cmd("PING");
    for master in &nodes.masters {
        if let Err(e) = master.query::<String>("PING", &ping).await {
            return (nodes.clone(), CheckResult::from_error(CLUSTER_ID, &e));
        }
    }
    for replica in &nodes.replicas {
        let url = nodes.url_of(spec, replica);
        let answered = match Redis::connect_node(spec, &url, timeouts, ca_bundle).await {
            Ok(node) => node.query::<String>("PING", &ping).await.map(|_| ()),
            Err(e) => Err(e),
        };
        if let Err(e) = answered {
            return (nodes.clone(), CheckResult::from_error(CLUSTER_ID, &e));
        }
    }
    let masters: Vec<&str> = nodes.masters.iter().map(|m| m.label.as_str()).collect();
    let result = CheckResult::pass(
        CLUSTER_ID,
        format!(
            "cluster_state:ok, all {} slots served by {} masters ({}), {} replicas answer",
            super::cluster::SLOTS,
            masters.len(),
            masters.join(", "),
            nodes.replicas.len()
        ),
    );
    (nodes, result)
}

/// A pure judgement of one server's `INFO`.
type Judge = fn(&[(String, String)]) -> CheckResult;

/// One check's verdicts on each master as one result: the worst (fail,
/// then warn, then skip) with its master named, or the pass of the first
/// said of every master. One server's verdict is left as it is.
fn worst(mut verdicts: Vec<(&str, CheckResult)>) -> CheckResult {
    let count = verdicts.len();
    let rank = |s: Status| match s {
        Status::Fail => 3,
        Status::Warn => 2,
        Status::Skip => 1,
        Status::Pass => 0,
    };
    verdicts.sort_by_key(|(_, r)| std::cmp::Reverse(rank(r.status)));
    let Some((label, mut result)) = verdicts.into_iter().next() else {
        return CheckResult::skip(IDS[3], "no master to judge");
    };
    if count > 1 {
        result.message = match result.status {
            Status::Pass => format!("{} (each of {count} masters)", result.message),
            _ => format!("{label}: {}", result.message),
        };
    }
    result
}

/// `INFO` as `(field, value)` lines; empty when refused (the checks that
/// need it then say so).
async fn info(redis: &Redis) -> Vec<(String, String)> {
    let text: String = redis
        .query("INFO", &redis::cmd("INFO"))
        .await
        .unwrap_or_default();
    text.lines()
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.to_string(), v.trim().to_string()))
        .collect()
}

fn field<'a>(info: &'a [(String, String)], name: &str) -> Option<&'a str> {
    info.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

fn version(info: &[(String, String)]) -> CheckResult {
    match field(info, "redis_version") {
        Some(v) => CheckResult::pass(IDS[1], format!("Redis {v}")),
        None => CheckResult::skip(IDS[1], "INFO is not allowed for this user"),
    }
}

/// Writes, reads back and deletes a probe key under the prefix; it has a
/// 60-second TTL, so even an interrupted probe leaves nothing for long.
pub(crate) async fn probe(nodes: &Nodes, prefix: &str) -> CheckResult {
    let key = format!("{prefix}_probe:{}", crate::check::probe_name());
    let redis = nodes.master(nodes.of_key(key.as_bytes()));
    let value = "chronotrace-ops probe";
    let set = redis::cmd("SET")
        .arg(&key)
        .arg(value)
        .arg("PX")
        .arg(60_000)
        .to_owned();
    let written = redis.query::<()>("SET probe", &set).await;
    let read = match &written {
        Ok(()) => {
            redis
                .query::<Option<String>>("GET probe", &redis::cmd("GET").arg(&key).to_owned())
                .await
        }
        Err(_) => Ok(None),
    };
    // Deleted whatever happened: a half-written probe must not stay.
    let deleted = redis
        .query::<i64>("DEL probe", &redis::cmd("DEL").arg(&key).to_owned())
        .await;
    match (written, read, deleted) {
        (Err(e), _, _) | (_, Err(e), _) | (_, _, Err(e)) => CheckResult::from_error(IDS[2], &e),
        (Ok(()), Ok(Some(v)), Ok(_)) if v == value => CheckResult::pass(
            IDS[2],
            format!("wrote, read back and deleted {prefix}_probe:… (TTL 60 s)"),
        ),
        _ => CheckResult::fail(IDS[2], "the probe key read back differently"),
    }
}

/// `maxmemory` and its policy, judged for traces: an `allkeys-*` policy
/// evicts traces silently; `noeviction` with a limit makes the app's
/// writes fail when memory is full.
pub(crate) fn judge_eviction(info: &[(String, String)]) -> CheckResult {
    let (Some(max), Some(policy)) = (field(info, "maxmemory"), field(info, "maxmemory_policy"))
    else {
        return CheckResult::skip(IDS[3], "INFO memory is not allowed for this user");
    };
    let limited = max != "0";
    let what = format!("maxmemory {max}, policy {policy}");
    if policy.starts_with("allkeys-") {
        CheckResult::fail(IDS[3], format!("{what}: under memory pressure Redis silently drops traces"))
            .with_hint("use volatile-ttl (expire the oldest traces first) or a dedicated instance with noeviction and enough memory")
    } else if policy == "noeviction" && limited {
        CheckResult::warn(IDS[3], format!("{what}: when memory is full the app's writes fail (traces are lost then)"))
            .with_hint("size maxmemory for retention_days of traces; `chronotrace-ops report` shows the volume")
    } else {
        CheckResult::pass(IDS[3], what)
    }
}

/// RDB snapshots or AOF: without either, a restart loses every trace.
async fn persistence(redis: &Redis, info: &[(String, String)]) -> CheckResult {
    let aof = field(info, "aof_enabled") == Some("1");
    let save: Option<Vec<String>> = redis
        .query(
            "CONFIG GET save",
            &redis::cmd("CONFIG").arg("GET").arg("save").to_owned(),
        )
        .await
        .ok();
    let rdb = save
        .as_ref()
        .and_then(|s| s.get(1))
        .map(|s| !s.trim().is_empty());
    match (aof, rdb) {
        (true, _) => CheckResult::pass(IDS[4], "AOF on"),
        (false, Some(true)) => CheckResult::pass(IDS[4], "RDB snapshots on"),
        (false, Some(false)) => CheckResult::warn(
            IDS[4],
            "persistence off (no RDB snapshots, no AOF): a restart loses every trace",
        )
        .with_hint("fine for throwaway traces; otherwise set `save` or `appendonly yes`"),
        (false, None) => {
            CheckResult::skip(IDS[4], "CONFIG GET is not allowed for this user (AOF off)")
        }
    }
}

pub(crate) fn judge_evicted(info: &[(String, String)]) -> CheckResult {
    match field(info, "evicted_keys").and_then(|v| v.parse::<u64>().ok()) {
        None => CheckResult::skip(IDS[5], "INFO stats is not allowed for this user"),
        Some(0) => CheckResult::pass(IDS[5], "no key evicted since the server started"),
        Some(n) => CheckResult::warn(
            IDS[5],
            format!("{n} keys evicted since the server started (traces may be among them)"),
        )
        .with_hint("raise maxmemory or lower retention_days"),
    }
}

async fn ttl(nodes: &Nodes, spec: &RedisStorage, retention_days: u32) -> CheckResult {
    match super::ttl::sample(nodes, &spec.key_prefix, retention_days).await {
        Ok(status) if status.ok => CheckResult::pass(IDS[6], status.message()),
        Ok(status) => CheckResult::warn(IDS[6], status.message()).with_hint(
            "keys without a TTL never leave: `chronotrace-ops cleanup purge --yes` gives them one",
        ),
        Err(e) => CheckResult::from_error(IDS[6], &e),
    }
}

/// The connecting user's key patterns (`ACL GETUSER` of `ACL WHOAMI`).
async fn acl(redis: &Redis, spec: &RedisStorage) -> CheckResult {
    let who: Result<String, _> = redis
        .query("ACL WHOAMI", &redis::cmd("ACL").arg("WHOAMI").to_owned())
        .await;
    let Ok(user) = who else {
        return CheckResult::skip(IDS[7], "ACL WHOAMI is not allowed for this user");
    };
    let getuser = redis::cmd("ACL").arg("GETUSER").arg(&user).to_owned();
    let Ok(fields) = redis.query::<redis::Value>("ACL GETUSER", &getuser).await else {
        return CheckResult::pass(
            IDS[7],
            format!("user '{user}' may not read its own ACL (so it is limited)"),
        );
    };
    let keys = acl_field(&fields, "keys");
    judge_acl(&user, &keys, spec)
}

/// One field of an `ACL GETUSER` answer (RESP2 flat array or map), as
/// text (`keys`, `commands`).
pub(crate) fn acl_field(value: &redis::Value, name: &str) -> String {
    use redis::Value;
    let pairs: Vec<(&Value, &Value)> = match value {
        Value::Array(items) => items
            .chunks(2)
            .filter_map(|c| Some((c.first()?, c.get(1)?)))
            .collect(),
        Value::Map(items) => items.iter().map(|(k, v)| (k, v)).collect(),
        _ => Vec::new(),
    };
    pairs
        .into_iter()
        .find(|(k, _)| redis::from_redis_value_ref::<String>(k).is_ok_and(|k| k == name))
        .and_then(|(_, v)| redis::from_redis_value_ref::<String>(v).ok())
        .unwrap_or_default()
}

/// Whether `keys` (e.g. `~chronotrace:traces:* ~chronotrace:index`)
/// reaches only the prefix and the index.
pub(crate) fn judge_acl(user: &str, keys: &str, spec: &RedisStorage) -> CheckResult {
    let patterns: Vec<&str> = keys.split_whitespace().collect();
    let fenced = !patterns.is_empty()
        && patterns.iter().all(|p| {
            let p = p
                .trim_start_matches('%')
                .trim_start_matches(['R', 'W'])
                .trim_start_matches('~');
            p == spec.index_key
                || (p.starts_with(&spec.key_prefix)
                    && !p[spec.key_prefix.len()..].contains(['?', '[']))
        });
    if fenced {
        CheckResult::pass(
            IDS[7],
            format!(
                "user '{user}' reaches only {}* and {} ({keys})",
                spec.key_prefix, spec.index_key
            ),
        )
    } else {
        let reach = if keys.is_empty() {
            "no key pattern".to_string()
        } else {
            keys.to_string()
        };
        CheckResult::warn(IDS[7], format!("user '{user}' is not limited to the traces' keys ({reach})"))
            .with_hint("`chronotrace-ops apply` creates an ACL user for the app limited to the prefix and the index")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn info(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn spec() -> RedisStorage {
        crate::stores::redis::seed_layout()
    }

    #[test]
    fn allkeys_policies_fail_and_noeviction_with_a_limit_warns() {
        let judge = |max, policy| {
            judge_eviction(&info(&[("maxmemory", max), ("maxmemory_policy", policy)])).status
        };
        assert_eq!(judge("1000000", "allkeys-lru"), Status::Fail);
        assert_eq!(judge("0", "allkeys-random"), Status::Fail);
        assert_eq!(judge("1000000", "noeviction"), Status::Warn);
        assert_eq!(judge("0", "noeviction"), Status::Pass);
        assert_eq!(judge("1000000", "volatile-ttl"), Status::Pass);
        assert_eq!(judge_eviction(&[]).status, Status::Skip);
    }

    #[test]
    fn the_worst_master_is_named_and_a_pass_is_said_of_every_one() {
        let pass = || CheckResult::pass(IDS[3], "maxmemory 0, policy noeviction");
        let all = worst(vec![("redis://a:1", pass()), ("redis://b:2", pass())]);
        assert_eq!(all.status, Status::Pass);
        assert!(
            all.message.ends_with("(each of 2 masters)"),
            "{}",
            all.message
        );
        let one = worst(vec![
            ("redis://a:1", pass()),
            ("redis://b:2", CheckResult::fail(IDS[3], "allkeys-lru")),
            (
                "redis://c:3",
                CheckResult::warn(IDS[3], "noeviction with a limit"),
            ),
        ]);
        assert_eq!(one.status, Status::Fail);
        assert_eq!(one.message, "redis://b:2: allkeys-lru");
        assert_eq!(
            worst(vec![("redis://a:1", pass())]),
            pass(),
            "one server: as is"
        );
    }

    #[test]
    fn evicted_keys_warn() {
        assert_eq!(
            judge_evicted(&info(&[("evicted_keys", "0")])).status,
            Status::Pass
        );
        assert_eq!(
            judge_evicted(&info(&[("evicted_keys", "12")])).status,
            Status::Warn
        );
    }

    #[test]
    fn an_acl_is_limited_only_to_the_prefix_and_the_index() {
        let s = spec();
        let judge = |keys| judge_acl("app", keys, &s).status;
        assert_eq!(
            judge("~chronotrace:traces:* ~chronotrace:index"),
            Status::Pass
        );
        assert_eq!(judge("%RW~chronotrace:traces:*"), Status::Pass);
        assert_eq!(judge("~*"), Status::Warn);
        assert_eq!(judge("~chronotrace:*"), Status::Warn);
        assert_eq!(judge(""), Status::Warn);
    }
}
