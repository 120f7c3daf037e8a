//! The scan of a Redis store, in two passes with flat memory (a batch at a
//! time, tallies bounded by days):
//!
//! 1. the index, by rank (`ZRANGE idx a b WITHSCORES`, batches of
//!    `BATCH`): each member's day is its score's; `PTTL` + `STRLEN` of its
//!    key are pipelined. A member whose key is gone is orphaned (the seed's
//!    purge leaves every trace that expired by TTL in the index). Purging
//!    pipelines `UNLINK key` + `ZREM idx member` past the cutoff and `ZREM`
//!    for orphans; ranks below the batch never move (the app adds members
//!    with today's score, at the end), so the next batch starts at the old
//!    rank plus the batch minus what was removed from it.
//! 2. the keys, by `SCAN MATCH {prefix}* COUNT`, never `KEYS`: `PTTL` +
//!    `ZSCORE` pipelined find keys without an index entry and TTLs longer
//!    than retention.
//!
//! Every key touched is `{prefix}{member}` or a key SCAN matched under the
//! prefix: nothing outside it is ever deleted. Counts of deletions are
//! what `UNLINK`/`ZREM` answered, so they are exact even when an app or a
//! TTL removes something meanwhile, and a rerun after an interruption
//! finds only what is left.

use chrono::{DateTime, NaiveDate};
use redis::RedisResult;

use super::Redis;
use crate::error::Result;
use crate::scan::{Entry, EntryKind, Judge, Outcome, Place, Progress, Selection, Volume};

mod audit;

pub(crate) use audit::Audit;

/// Members (or keys) read and handled per round trip.
pub(crate) const BATCH: usize = 2000;

/// What one walk reads and may delete.
#[derive(Debug)]
pub(crate) struct Walk<'a> {
    pub(crate) redis: &'a Redis,
    pub(crate) prefix: &'a str,
    pub(crate) index: &'a str,
    pub(crate) judge: &'a Judge,
    pub(crate) selection: Selection,
    pub(crate) purge: bool,
    pub(crate) progress: &'a Progress,
}

/// One index member and what its key answered.
struct Member {
    /// Bytes: Redis members and keys need not be UTF-8.
    id: Vec<u8>,
    score: f64,
    day: NaiveDate,
    /// `PTTL`: -2 no key, -1 no TTL, else milliseconds left.
    pttl: i64,
    size: u64,
}

impl Walk<'_> {
    /// Both passes; the outcome carries the tally and the audit's findings.
    pub(crate) async fn run(&self) -> Result<Outcome> {
        let mut out = Outcome::default();
        let mut audit = Audit::default();
        self.index_pass(&mut out, &mut audit).await?;
        self.key_pass(&mut audit).await?;
        out.deleted = audit.deleted;
        out.findings = audit.findings(self.purge);
        Ok(out)
    }

    /// `{prefix}{id}`: the only keys the walk ever deletes.
    fn key(&self, id: &[u8]) -> Vec<u8> {
        [self.prefix.as_bytes(), id].concat()
    }

    /// A key as text, for the outcome (lossy where not UTF-8).
    fn key_text(&self, id: &[u8]) -> String {
        String::from_utf8_lossy(&self.key(id)).into_owned()
    }

    /// The day of an index score (Unix seconds); a score that is no time
    /// counts as today (never judged expired on a guess).
    fn day_of(&self, score: f64) -> NaiveDate {
        if !score.is_finite() {
            return self.judge.today;
        }
        DateTime::from_timestamp(score as i64, 0).map_or(self.judge.today, |t| t.date_naive())
    }

    async fn index_pass(&self, out: &mut Outcome, audit: &mut Audit) -> Result<()> {
        let mut days = std::collections::BTreeSet::new();
        let mut start = 0usize;
        let mut current_day: Option<NaiveDate> = None;
        loop {
            let stop = start + BATCH - 1;
            let cmd = redis::cmd("ZRANGE")
                .arg(self.index)
                .arg(start)
                .arg(stop)
                .arg("WITHSCORES")
                .to_owned();
            let page: Vec<(Vec<u8>, f64)> = self.redis.query("ZRANGE index", &cmd).await?;
            if page.is_empty() {
                break;
            }
            let members = self.read_keys(page).await?;
            for m in &members {
                if days.insert(m.day) {
                    out.partitions_found += 1;
                    if self.judge.selects(self.selection, m.day) {
                        out.partitions_listed += 1;
                    }
                }
                // Ranks come in score order: a new day finishes the last.
                if self.purge && current_day.is_some_and(|d| d < m.day && self.judge.expired(d)) {
                    current_day
                        .into_iter()
                        .for_each(|d| self.progress.finished(d));
                }
                current_day = Some(m.day);
                self.record(out, audit, m);
            }
            let removed = if self.purge {
                self.repair(audit, &members).await?
            } else {
                0
            };
            self.progress.advance(
                members.len() as u64,
                if self.purge { "purged" } else { "scanned" },
            );
            start = start + members.len() - removed;
        }
        if let (true, Some(day)) = (self.purge, current_day.filter(|d| self.judge.expired(*d))) {
            self.progress.finished(day);
        }
        Ok(())
    }

    /// `PTTL` and `STRLEN` of each member's key, pipelined. A key that is
    /// not a string has no length (0 bytes), not an error.
    async fn read_keys(&self, page: Vec<(Vec<u8>, f64)>) -> Result<Vec<Member>> {
        let mut pipe = redis::pipe();
        for (id, _) in &page {
            let key = self.key(id);
            pipe.cmd("PTTL").arg(&key).cmd("STRLEN").arg(&key);
        }
        pipe.ignore_errors();
        let answers: Vec<RedisResult<i64>> = self.redis.pipeline("PTTL/STRLEN keys", &pipe).await?;
        let mut answers = answers.into_iter();
        let mut members = Vec::with_capacity(page.len());
        for (id, score) in page {
            let pttl = answers.next().and_then(|r| r.ok()).unwrap_or(-2);
            let size = answers.next().and_then(|r| r.ok()).unwrap_or(0);
            members.push(Member {
                day: self.day_of(score),
                id,
                score,
                pttl,
                size: u64::try_from(size).unwrap_or(0),
            });
        }
        Ok(members)
    }

    /// Folds one member into the tally and the audit.
    fn record(&self, out: &mut Outcome, audit: &mut Audit, m: &Member) {
        let expired = self.judge.expired(m.day);
        audit.index_past_retention += u64::from(expired);
        if m.pttl == -2 {
            audit.orphaned += 1;
            return;
        }
        if m.pttl == -1 && !expired {
            audit.indexed_without_ttl += 1;
        }
        if expired {
            audit.expired_without_ttl += u64::from(m.pttl == -1);
            if out.sample_expired.is_none() {
                out.sample_expired = Some(self.key_text(&m.id));
            }
        }
        if self.judge.selects(self.selection, m.day) {
            let entry = Entry {
                key: self.key_text(&m.id),
                size: m.size,
                modified: DateTime::from_timestamp(m.score as i64, 0),
                class: None,
                version_id: None,
                kind: EntryKind::Current,
            };
            out.tally.record(&entry, Place::Partition(m.day), expired);
        }
    }

    /// One pipeline for the batch: `UNLINK` + `ZREM` past the cutoff,
    /// `ZREM` of orphans, `EXPIREAT score + retention` on keys without a
    /// TTL (so they leave when the app meant them to). Returns how many
    /// members left the index (to keep the ranks right).
    async fn repair(&self, audit: &mut Audit, members: &[Member]) -> Result<usize> {
        let retention = i64::from(self.judge.rule.retention_days) * 86_400;
        let mut pipe = redis::pipe();
        let mut plan = Vec::new();
        for m in members {
            let expired = self.judge.expired(m.day);
            let key = self.key(&m.id);
            if m.pttl == -2 {
                pipe.cmd("ZREM").arg(self.index).arg(&m.id);
                plan.push(Step::Orphan { expired });
            } else if expired {
                pipe.cmd("UNLINK")
                    .arg(&key)
                    .cmd("ZREM")
                    .arg(self.index)
                    .arg(&m.id);
                plan.push(Step::Delete {
                    day: m.day,
                    size: m.size,
                    no_ttl: m.pttl == -1,
                });
            } else if m.pttl == -1 {
                pipe.cmd("EXPIREAT")
                    .arg(&key)
                    .arg(m.score as i64 + retention);
                plan.push(Step::Expire);
            }
        }
        if plan.is_empty() {
            return Ok(0);
        }
        // Not cancellable once sent: Ctrl-C drops the scan's future, and a
        // pipeline the server ran but the count missed would make an
        // interrupted purge's report inexact. So the batch is awaited to its
        // answer and counted in the same poll (the signal waits for it).
        let answers: Vec<i64> = tokio::task::block_in_place(|| {
            tokio::runtime::Handle::current()
                .block_on(self.redis.pipeline("UNLINK/ZREM/EXPIREAT", &pipe))
        })?;
        let mut answers = answers.into_iter();
        let mut removed = 0usize;
        for step in plan {
            match step {
                Step::Orphan { expired } => {
                    let gone = answers.next().unwrap_or(0) > 0;
                    removed += usize::from(gone);
                    audit.orphans_removed += u64::from(gone);
                    audit.index_past_removed += u64::from(gone && expired);
                }
                Step::Delete { day, size, no_ttl } => {
                    let unlinked = answers.next().unwrap_or(0) > 0;
                    let gone = answers.next().unwrap_or(0) > 0;
                    removed += usize::from(gone);
                    audit.index_past_removed += u64::from(gone);
                    audit.expired_without_ttl_deleted += u64::from(unlinked && no_ttl);
                    if unlinked {
                        let volume = Volume {
                            objects: 1,
                            bytes: size,
                        };
                        audit.deleted.merge(volume);
                        self.progress.deleted(Some(day), volume, 0);
                    }
                }
                Step::Expire => audit.ttl_set += u64::from(answers.next().unwrap_or(0) > 0),
            }
        }
        Ok(removed)
    }

    /// `SCAN MATCH {prefix}*`: keys without an index entry, and TTLs past
    /// retention. A key without TTL nor index entry gets the full
    /// retention from now on a purge (its age is unknown: never deleted
    /// on a guess, but no longer kept forever).
    async fn key_pass(&self, audit: &mut Audit) -> Result<()> {
        let pattern = format!("{}*", self.prefix);
        let retention_ms = i64::from(self.judge.rule.retention_days) * 86_400_000;
        let mut cursor = 0u64;
        loop {
            let cmd = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(BATCH)
                .to_owned();
            let (next, keys): (u64, Vec<Vec<u8>>) = self.redis.query("SCAN keys", &cmd).await?;
            if !keys.is_empty() {
                let mut pipe = redis::pipe();
                for key in &keys {
                    let id = key.get(self.prefix.len()..).unwrap_or_default();
                    pipe.cmd("PTTL")
                        .arg(key)
                        .cmd("ZSCORE")
                        .arg(self.index)
                        .arg(id);
                }
                let answers: Vec<(i64, Option<f64>)> =
                    self.redis.pipeline("PTTL/ZSCORE keys", &pipe).await?;
                let mut expire = redis::pipe();
                let mut to_expire = 0usize;
                for (key, (pttl, score)) in keys.iter().zip(answers) {
                    audit.ttl_beyond_retention += u64::from(pttl > retention_ms);
                    if score.is_none() && pttl != -2 {
                        audit.unindexed += 1;
                        if pttl == -1 {
                            audit.unindexed_without_ttl += 1;
                            expire.cmd("EXPIRE").arg(key).arg(retention_ms / 1000);
                            to_expire += 1;
                        }
                    }
                }
                if self.purge && to_expire > 0 {
                    let set: Vec<i64> = self
                        .redis
                        .pipeline("EXPIRE unindexed keys", &expire)
                        .await?;
                    audit.ttl_set += set.iter().filter(|n| **n > 0).count() as u64;
                }
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }
}

/// What the repair pipeline does to one member, to read its answers.
enum Step {
    Orphan {
        expired: bool,
    },
    Delete {
        day: NaiveDate,
        size: u64,
        no_ttl: bool,
    },
    Expire,
}
