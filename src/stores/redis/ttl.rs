//! The store's own expiry: the TTL the app puts on each trace key,
//! sampled (one bounded `SCAN` + pipelined `PTTL`) and judged against
//! `retention_days` (the judgement is pure, tested below).

use serde::Serialize;

use futures::future::join_all;

use super::Redis;
use super::cluster::Nodes;
use crate::error::Result;

/// Keys sampled at most.
const SAMPLE: usize = 1000;
/// `SCAN` calls at most (a sparse prefix in a large keyspace).
const MAX_CALLS: usize = 20;

/// The TTLs of a sample of trace keys, judged against the retention.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct TtlStatus {
    pub(crate) retention_days: u32,
    pub(crate) sampled: u64,
    pub(crate) without_ttl: u64,
    /// The longest TTL left, in whole days (rounded up).
    pub(crate) longest_days: Option<u64>,
    /// Every sampled key expires, none later than the retention.
    pub(crate) ok: bool,
}

impl TtlStatus {
    /// Judges the `PTTL`s of sampled keys (-1: no TTL; -2: gone meanwhile).
    pub(crate) fn judge(retention_days: u32, pttls: &[i64]) -> TtlStatus {
        let present: Vec<i64> = pttls.iter().copied().filter(|p| *p != -2).collect();
        let without_ttl = present.iter().filter(|p| **p == -1).count() as u64;
        let longest_ms = present.iter().copied().filter(|p| *p >= 0).max();
        let longest_days = longest_ms.map(|ms| (ms as u64).div_ceil(86_400_000));
        let ok = without_ttl == 0 && longest_days.is_none_or(|d| d <= u64::from(retention_days));
        TtlStatus {
            retention_days,
            sampled: present.len() as u64,
            without_ttl,
            longest_days,
            ok,
        }
    }

    /// One line for people.
    pub(crate) fn message(&self) -> String {
        let longest = self
            .longest_days
            .map_or_else(|| "none".to_string(), |d| format!("{d} days"));
        format!(
            "{} trace keys sampled: {} without a TTL, the longest TTL left {longest} (retention {} days)",
            self.sampled, self.without_ttl, self.retention_days
        )
    }
}

/// Samples the TTLs of up to `SAMPLE` keys under `prefix` on each master
/// (a cluster's keys are spread over them).
pub(crate) async fn sample(nodes: &Nodes, prefix: &str, retention_days: u32) -> Result<TtlStatus> {
    let mut pttls = Vec::new();
    for found in join_all(nodes.masters.iter().map(|m| sample_node(m, prefix))).await {
        pttls.extend(found?);
    }
    Ok(TtlStatus::judge(retention_days, &pttls))
}

/// The `PTTL`s of up to `SAMPLE` keys under `prefix` on one server.
async fn sample_node(redis: &Redis, prefix: &str) -> Result<Vec<i64>> {
    let pattern = format!("{prefix}*");
    let mut keys: Vec<String> = Vec::new();
    let mut cursor = 0u64;
    for _ in 0..MAX_CALLS {
        let cmd = redis::cmd("SCAN")
            .arg(cursor)
            .arg("MATCH")
            .arg(&pattern)
            .arg("COUNT")
            .arg(SAMPLE)
            .to_owned();
        let (next, found): (u64, Vec<String>) = redis.query("SCAN keys", &cmd).await?;
        keys.extend(found);
        if next == 0 || keys.len() >= SAMPLE {
            break;
        }
        cursor = next;
    }
    keys.truncate(SAMPLE);
    let mut pipe = redis::pipe();
    for key in &keys {
        pipe.cmd("PTTL").arg(key);
    }
    let pttls: Vec<i64> = if keys.is_empty() {
        Vec::new()
    } else {
        redis.pipeline("PTTL sample", &pipe).await?
    };
    Ok(pttls)
}

#[cfg(test)]
mod tests {
    use super::TtlStatus;

    const DAY_MS: i64 = 86_400_000;

    #[test]
    fn ttls_within_retention_pass() {
        let status = TtlStatus::judge(15, &[DAY_MS, 15 * DAY_MS, -2]);
        assert!(status.ok);
        assert_eq!((status.sampled, status.longest_days), (2, Some(15)));
    }

    #[test]
    fn a_key_without_ttl_or_with_a_longer_one_fails() {
        assert!(!TtlStatus::judge(15, &[DAY_MS, -1]).ok);
        let long = TtlStatus::judge(15, &[16 * DAY_MS]);
        assert!(!long.ok);
        assert_eq!(long.longest_days, Some(16));
    }

    #[test]
    fn an_empty_store_passes() {
        let status = TtlStatus::judge(15, &[]);
        assert!(status.ok);
        assert_eq!(status.longest_days, None);
    }
}
