//! The seed's Redis traces one at a time (`stores::items`): the index, read
//! in order from the last member read (a keyset that members removed
//! meanwhile never shift), gives each id and the Unix time it was stored,
//! so pages follow the days; the value is the key
//! `{key_prefix}{id}`. A write sets the value with the expiry the seed's
//! TTL gives (stored time + retention), adds it to the index, and reads
//! both back. A removal is a script on the key's server that deletes the
//! key only while its SHA-1 is still the one read, then the index entry
//! (in the same script on one server; after it on a cluster, where the
//! two keys live on different masters).

#![warn(unreachable_pub)]

use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::cluster::Nodes;
use crate::bundle::Format;
use crate::error::{Error, Result};
use crate::spec::RedisStorage;
use crate::stores::items::{Held, ItemPage, ReadCopy, Removed, TraceItems, TraceRef, Written};

/// Index members a page asks for.
const PAGE_MEMBERS: usize = 1000;

/// Deletes KEYS[1] only while its value's SHA-1 is ARGV[1]; with a second
/// key (one server), removes member ARGV[2] from that index too.
const REMOVE_IF_UNCHANGED: &str = r"
local value = redis.call('GET', KEYS[1])
if value and redis.sha1hex(value) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if KEYS[2] then redis.call('ZREM', KEYS[2], ARGV[2]) end
  return 1
end
return 0
";

/// A Redis store's traces.
#[derive(Debug)]
pub(crate) struct RedisItems {
    nodes: Nodes,
    spec: RedisStorage,
    retention_days: u32,
}

impl RedisItems {
    pub(crate) fn new(nodes: Nodes, spec: &RedisStorage, retention_days: u32) -> RedisItems {
        RedisItems {
            nodes,
            spec: spec.clone(),
            retention_days,
        }
    }

    fn key_of(&self, id: &str) -> String {
        format!("{}{id}", self.spec.key_prefix)
    }

    async fn value(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let node = self.nodes.master(self.nodes.of_key(key.as_bytes()));
        node.query("GET", redis::cmd("GET").arg(key)).await
    }

    async fn indexed(&self, id: &str) -> Result<bool> {
        let score: Option<f64> = self
            .nodes
            .index()
            .query(
                "ZSCORE",
                redis::cmd("ZSCORE").arg(&self.spec.index_key).arg(id),
            )
            .await?;
        Ok(score.is_some())
    }

    async fn page(&self, before: Option<NaiveDate>, cursor: Option<String>) -> Result<ItemPage> {
        // The index in order (score, then member, as Redis orders it),
        // from the last member read: a keyset that members removed
        // meanwhile (a move) never shift, and pages that follow the days.
        let after = cursor.as_deref().and_then(|c| c.split_once('\n'));
        let min = after.map_or("-inf", |(score, _)| score);
        let max = before.map_or("+inf".to_string(), |d| {
            format!(
                "({}",
                d.and_time(chrono::NaiveTime::MIN).and_utc().timestamp()
            )
        });
        let mut want = PAGE_MEMBERS;
        let (fresh, full) = loop {
            let flat: Vec<String> = self
                .nodes
                .index()
                .query(
                    "ZRANGEBYSCORE index",
                    redis::cmd("ZRANGEBYSCORE")
                        .arg(&self.spec.index_key)
                        .arg(min)
                        .arg(&max)
                        .arg("WITHSCORES")
                        .arg("LIMIT")
                        .arg(0)
                        .arg(want),
                )
                .await?;
            let fetched = flat.len() / 2;
            let fresh: Vec<(String, String)> = flat
                .chunks_exact(2)
                .map(|pair| (pair[0].clone(), pair[1].clone()))
                .filter(|(member, score)| {
                    after.is_none_or(|(last_score, last_member)| {
                        score != last_score || member.as_str() > last_member
                    })
                })
                .collect();
            // A page of nothing but members tied with the last one read:
            // ask for more at once.
            if fresh.is_empty() && fetched == want {
                want *= 2;
                continue;
            }
            break (fresh, fetched == want);
        };
        let next = fresh
            .last()
            .filter(|_| full)
            .map(|(member, score)| format!("{score}\n{member}"));
        let mut traces = Vec::with_capacity(fresh.len());
        for (id, score) in fresh {
            let Some(created) = score
                .parse::<f64>()
                .ok()
                .and_then(|s| DateTime::from_timestamp(s as i64, 0))
            else {
                continue;
            };
            traces.push(TraceRef {
                handle: self.key_of(&id),
                id,
                created,
                size: 0,
            });
        }
        // The sizes, for the dry run's bytes: one pipeline a node.
        let lengths = traces
            .iter()
            .map(|t| {
                let node = self.nodes.of_key(t.handle.as_bytes());
                let mut strlen = redis::cmd("STRLEN");
                strlen.arg(&t.handle);
                (node, strlen)
            })
            .collect();
        let answers = self.nodes.run("STRLEN", lengths).await;
        if let Some(failed) = answers.failed {
            return Err(failed);
        }
        for (trace, answer) in traces.iter_mut().zip(answers.answers) {
            if let Some(Ok(length)) = answer {
                trace.size = length.max(0) as u64;
            }
        }
        Ok(ItemPage { traces, next })
    }

    async fn set(&self, id: &str, created: DateTime<Utc>, bytes: &[u8]) -> Result<Written> {
        // The seed's TTL runs from the moment a trace was stored.
        let expires = created.timestamp() + i64::from(self.retention_days) * 86_400;
        if expires <= crate::clock::now().timestamp() + 60 {
            return Ok(Written::PastRetention);
        }
        let key = self.key_of(id);
        let node = self.nodes.master(self.nodes.of_key(key.as_bytes()));
        let _: () = node
            .query(
                "SET",
                redis::cmd("SET")
                    .arg(&key)
                    .arg(bytes)
                    .arg("EXAT")
                    .arg(expires),
            )
            .await?;
        let _: i64 = self
            .nodes
            .index()
            .query(
                "ZADD index",
                redis::cmd("ZADD")
                    .arg(&self.spec.index_key)
                    .arg(created.timestamp())
                    .arg(id),
            )
            .await?;
        match self.value(&key).await? {
            Some(back) if back == bytes => {}
            back => {
                return Err(Error::cloud(format!(
                    "{key}: read back {} instead of the {} bytes written",
                    back.map_or("nothing".to_string(), |b| format!(
                        "{} bytes that differ",
                        b.len()
                    )),
                    bytes.len()
                )));
            }
        }
        if !self.indexed(id).await? {
            return Err(Error::cloud(format!(
                "{}: {id} is not in the index after ZADD",
                self.spec.index_key
            )));
        }
        Ok(Written::Confirmed)
    }

    async fn unlink(&self, trace: &TraceRef, read: &ReadCopy) -> Result<Removed> {
        let Some(sha1) = read.version.as_deref() else {
            return Ok(Removed::Changed);
        };
        let key = &trace.handle;
        let node_of_key = self.nodes.of_key(key.as_bytes());
        // One script for both keys on a single server; a cluster refuses
        // a script whose keys hash to different slots, even on one node.
        let one_server = !self.spec.cluster && node_of_key == self.nodes.index_node();
        let mut script = redis::cmd("EVAL");
        script.arg(REMOVE_IF_UNCHANGED);
        if one_server {
            script.arg(2).arg(key).arg(&self.spec.index_key);
        } else {
            script.arg(1).arg(key);
        }
        script.arg(sha1).arg(&trace.id);
        let removed: i64 = self
            .nodes
            .master(node_of_key)
            .query("remove if unchanged", &script)
            .await?;
        if removed == 0 {
            return Ok(Removed::Changed);
        }
        if !one_server {
            let _: i64 = self
                .nodes
                .index()
                .query(
                    "ZREM index",
                    redis::cmd("ZREM").arg(&self.spec.index_key).arg(&trace.id),
                )
                .await?;
        }
        Ok(Removed::Removed)
    }
}

/// The SHA-1 of `bytes` in hex, as Lua's `redis.sha1hex` gives it.
fn sha1_hex(bytes: &[u8]) -> String {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, bytes);
    crate::stores::items::hex(digest.as_ref())
}

impl TraceItems for RedisItems {
    fn location(&self) -> String {
        format!("{}* at {}", self.spec.key_prefix, self.spec.url)
    }

    fn format(&self) -> Format {
        Format::Json
    }

    fn list(
        &self,
        before: Option<NaiveDate>,
        cursor: Option<String>,
    ) -> LocalBoxFuture<'_, Result<ItemPage>> {
        self.page(before, cursor).boxed_local()
    }

    fn read<'a>(&'a self, trace: &'a TraceRef) -> LocalBoxFuture<'a, Result<Option<ReadCopy>>> {
        async move {
            Ok(self.value(&trace.handle).await?.map(|bytes| ReadCopy {
                version: Some(sha1_hex(&bytes)),
                bytes,
            }))
        }
        .boxed_local()
    }

    fn held<'a>(
        &'a self,
        id: &'a str,
        _created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Held>> {
        async move {
            Ok(match self.value(&self.key_of(id)).await? {
                None => Held::Absent,
                // Without its index entry the app cannot list it: write again.
                Some(found) if found == bytes && self.indexed(id).await? => Held::Same,
                Some(found) if found == bytes => Held::Absent,
                Some(_) => Held::Different,
            })
        }
        .boxed_local()
    }

    fn write<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Written>> {
        self.set(id, created, bytes).boxed_local()
    }

    fn remove<'a>(
        &'a self,
        trace: &'a TraceRef,
        read: &'a ReadCopy,
    ) -> LocalBoxFuture<'a, Result<Removed>> {
        self.unlink(trace, read).boxed_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_sha1_matches_what_lua_computes() {
        // redis-cli EVAL "return redis.sha1hex('abc')" 0
        assert_eq!(sha1_hex(b"abc"), "a9993e364706816aba3e25717850c26c9cd0d89d");
    }
}
