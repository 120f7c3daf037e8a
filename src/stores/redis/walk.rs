//! The scan of a Redis store, in two passes with flat memory (a batch at a
//! time, tallies bounded by days):
//!
//! 1. the index, in its own order (score, then member bytes), a page of
//!    `BATCH` at a time from where the last page ended (`ZRANGEBYSCORE idx
//!    last-score +inf WITHSCORES LIMIT`, the members at or before the last
//!    one dropped): each member's day is its score's; one pipeline asks its
//!    key's `PTTL`, and `STRLEN` only where the tally wants the bytes (every
//!    key for a report, past the cutoff for verify and purge). A member
//!    whose key is gone is orphaned (the seed's purge leaves every trace
//!    that expired by TTL in the index). Purging, the same pipeline goes on
//!    with `UNLINK key` + `ZREM idx member` for members past the cutoff
//!    (commands run in order, so the `PTTL`/`STRLEN` answers describe the
//!    key just before it went: one round trip a batch, not two); a second,
//!    usually empty, pipeline `ZREM`s orphans within retention and sets
//!    TTLs. Pages start after the last member handled, never at a rank:
//!    another purge running at the same time (the scheduler on every web
//!    node) removes members before it, and a rank would then skip as many
//!    members as it removed.
//! 2. the keys, by `SCAN MATCH {prefix}* COUNT`, never `KEYS`: one
//!    `ZMSCORE` a batch finds keys without an index entry, and only those
//!    have their `PTTL` read (the index pass read the others'). Skipped
//!    when `DBSIZE` proves the database holds nothing but the index and
//!    the keys the index pass found: nothing could lack an entry.
//!
//! TTLs longer than retention are counted where each key's `PTTL` is read.
//!
//! Every key touched is `{prefix}{member}` or a key SCAN matched under the
//! prefix: nothing outside it is ever deleted. Counts of deletions are
//! what `UNLINK`/`ZREM` answered, so they are exact even when an app or a
//! TTL removes something meanwhile, and a rerun after an interruption
//! finds only what is left.

use chrono::{DateTime, NaiveDate};

use super::cluster::{Answers, Nodes};
use crate::error::Result;
use crate::scan::{Entry, EntryKind, Judge, Place, Progress, ScanOutcome, Selection, Volume};

mod audit;
mod cursor;
mod moving;

pub(crate) use audit::Audit;
use cursor::{Cursor, score_arg};
use moving::Cursors;

/// Members (or keys) read and handled per round trip.
pub(crate) const BATCH: usize = 2000;

/// What one walk reads and may delete.
#[derive(Debug)]
pub(crate) struct Walk<'a> {
    pub(crate) nodes: &'a Nodes,
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
    /// `STRLEN` where the tally wants bytes, else 0.
    size: u64,
    /// Purging past the cutoff: what the batch's `UNLINK` and `ZREM`
    /// answered (`None`: not deleted in the batch).
    deleted: Option<Removal>,
    /// This walk removed the member from the index (a later page cannot
    /// meet it again).
    left: bool,
}

/// The answers of one member's `UNLINK key` + `ZREM idx member`.
#[derive(Clone, Copy)]
struct Removal {
    unlinked: bool,
    unindexed: bool,
}

/// Where the answers to one member's commands are in its batch (and its
/// score's day).
struct Ask {
    day: NaiveDate,
    pttl: usize,
    strlen: Option<usize>,
    unlink: Option<usize>,
    zrem: Zrem,
}

/// A member's `ZREM` in its batch: none, at an answer's position, or to
/// send once its key's `UNLINK` answered (the index on another master).
enum Zrem {
    None,
    With(usize),
    After(redis::Cmd),
}

impl Walk<'_> {
    /// Both passes; the outcome carries the tally and the audit's findings.
    pub(crate) async fn run(&self) -> Result<ScanOutcome> {
        let mut out = ScanOutcome::default();
        let mut audit = Audit::default();
        self.index_pass(&mut out, &mut audit).await?;
        if !self.nothing_but_indexed_keys(&audit).await {
            self.key_pass(&mut audit).await?;
        }
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

    async fn index_pass(&self, out: &mut ScanOutcome, audit: &mut Audit) -> Result<()> {
        let mut days = std::collections::BTreeSet::new();
        let mut cursor: Option<Cursor> = None;
        let mut current_day: Option<NaiveDate> = None;
        loop {
            let page = self.next_page(cursor.as_ref()).await?;
            if page.is_empty() {
                break;
            }
            let mut members = self.read_batch(page).await?;
            for m in &members {
                if days.insert(m.day) {
                    out.partitions_found += 1;
                    if self.judge.selects(self.selection, m.day) {
                        out.partitions_listed += 1;
                    }
                }
                // Pages come in score order: a new day finishes the last.
                if self.purge && current_day.is_some_and(|d| d < m.day && self.judge.expired(d)) {
                    current_day
                        .into_iter()
                        .for_each(|d| self.progress.finished(d));
                }
                current_day = Some(m.day);
                self.record(out, audit, m);
            }
            if self.purge {
                self.count_removals(audit, &members);
                self.repair(audit, &mut members).await?;
            }
            self.progress.advance(
                members.len() as u64,
                if self.purge { "purged" } else { "scanned" },
            );
            cursor = Cursor::after(cursor, &members);
        }
        if let (true, Some(day)) = (self.purge, current_day.filter(|d| self.judge.expired(*d))) {
            self.progress.finished(day);
        }
        Ok(())
    }

    /// The next page of the index after `cursor` (from its start without
    /// one): at most `BATCH` members, in the index's order. Members sharing
    /// the cursor's score come back with the page (a score range cannot
    /// start after a member), so the page asks for as many more as the
    /// cursor may still find there, and drops those at or before it;
    /// should every member read be such a one, it reads further. The
    /// filter is the walk's own: a page always moves past its cursor, and
    /// the walk ends, whatever the server answers.
    async fn next_page(&self, cursor: Option<&Cursor>) -> Result<Vec<(Vec<u8>, f64)>> {
        let (min, mut count) = match cursor {
            None => ("-inf".to_string(), BATCH),
            Some(c) => (score_arg(c.score), BATCH.saturating_add(c.ties)),
        };
        loop {
            let cmd = redis::cmd("ZRANGEBYSCORE")
                .arg(self.index)
                .arg(&min)
                .arg("+inf")
                .arg("WITHSCORES")
                .arg("LIMIT")
                .arg(0)
                .arg(count)
                .to_owned();
            let read: Vec<(Vec<u8>, f64)> = self
                .nodes
                .index()
                .query("ZRANGEBYSCORE index", &cmd)
                .await?;
            let full = read.len() >= count;
            let mut page: Vec<(Vec<u8>, f64)> = read
                .into_iter()
                .filter(|(id, score)| cursor.is_none_or(|c| c.before(id, *score)))
                .collect();
            if !page.is_empty() || !full {
                page.truncate(BATCH);
                return Ok(page);
            }
            count = count.saturating_mul(2);
        }
    }

    /// One pipeline for a batch of index members (one a master on a
    /// cluster, in parallel): `PTTL` of each key, `STRLEN` where the tally
    /// wants bytes (a key that is not a string has 0 bytes, not an error),
    /// and, purging, `UNLINK` + `ZREM` past the cutoff. Where the index
    /// lives on another master than the key, its `ZREM` follows once the
    /// `UNLINK` answered: a node lost in between leaves an index member
    /// without its key (an orphan the rerun removes), never a key without
    /// its member (which no purge would find by its date). Any other
    /// refused command (an ACL without `PTTL`, say) is an error: a key
    /// whose TTL could not be read is never taken for gone.
    async fn read_batch(&self, page: Vec<(Vec<u8>, f64)>) -> Result<Vec<Member>> {
        let index_node = self.nodes.index_node();
        let mut commands = Vec::with_capacity(page.len() * 2);
        let mut asks = Vec::with_capacity(page.len());
        for (id, score) in &page {
            let day = self.day_of(*score);
            let key = self.key(id);
            let node = self.nodes.of_key(&key);
            let deletes = self.purge && self.judge.expired(day);
            let mut ask = Ask {
                day,
                pttl: commands.len(),
                strlen: None,
                unlink: None,
                zrem: Zrem::None,
            };
            commands.push((node, redis::cmd("PTTL").arg(&key).to_owned()));
            if self.judge.selects(self.selection, day) {
                ask.strlen = Some(commands.len());
                commands.push((node, redis::cmd("STRLEN").arg(&key).to_owned()));
            }
            if deletes {
                ask.unlink = Some(commands.len());
                commands.push((node, redis::cmd("UNLINK").arg(&key).to_owned()));
                let zrem = redis::cmd("ZREM").arg(self.index).arg(id).to_owned();
                if node == index_node {
                    ask.zrem = Zrem::With(commands.len());
                    commands.push((node, zrem));
                } else {
                    ask.zrem = Zrem::After(zrem);
                }
            }
            asks.push(ask);
        }
        let what = "PTTL/STRLEN/UNLINK/ZREM index members";
        let deletes = asks.iter().any(|a| a.unlink.is_some());
        let mut batch = self.send(what, commands, deletes).await;
        // The `ZREM`s of keys on other masters, for those `UNLINK` answered.
        let mut later = Vec::new();
        for ask in &mut asks {
            let unlinked = ask
                .unlink
                .and_then(|at| batch.answers.get(at))
                .is_some_and(|a| matches!(a, Some(Ok(_))));
            if !matches!(ask.zrem, Zrem::After(_)) {
                continue;
            }
            if let Zrem::After(cmd) = std::mem::replace(&mut ask.zrem, Zrem::None)
                && unlinked
            {
                ask.zrem = Zrem::With(batch.answers.len() + later.len());
                later.push((index_node, cmd));
            }
        }
        if !later.is_empty() && batch.failed.is_none() {
            let removed = self.send("ZREM index members", later, true).await;
            batch.extend(removed);
        }
        let answer = |at: Option<usize>, tolerant: bool| -> Result<i64> {
            match at.and_then(|at| batch.answers.get(at)) {
                None | Some(None) => Ok(0),
                Some(Some(Ok(n))) => Ok(*n),
                Some(Some(Err(_))) if tolerant => Ok(0),
                Some(Some(Err(e))) => Err(self.refused(&batch, at, what, e)),
            }
        };
        let mut members = Vec::with_capacity(page.len());
        for ((id, score), ask) in page.into_iter().zip(asks) {
            let unlinked = answer(ask.unlink, false)?;
            let deleted = ask.unlink.map(|_| Removal {
                unlinked: unlinked > 0,
                unindexed: matches!(ask.zrem, Zrem::With(at) if answer(Some(at), false).is_ok_and(|n| n > 0)),
            });
            members.push(Member {
                day: ask.day,
                id,
                score,
                pttl: answer(Some(ask.pttl), false)?,
                size: u64::try_from(answer(ask.strlen, true)?).unwrap_or(0),
                left: deleted.is_some_and(|d| d.unindexed),
                deleted,
            });
        }
        if let Some(failed) = batch.failed {
            // What the other masters deleted in this batch is counted
            // before the run stops, so its report is exact.
            let mut audit = Audit::default();
            self.count_removals(&mut audit, &members);
            return Err(self.stopped(failed));
        }
        Ok(members)
    }

    /// Runs a batch's commands on their nodes. One that deletes is not
    /// cancellable once sent: Ctrl-C drops the scan's future, and a batch
    /// the servers ran but the count missed would make an interrupted
    /// purge's report inexact. So it is awaited to its answers and counted
    /// in the same poll (the signal waits for it).
    async fn send(&self, what: &str, commands: Vec<(usize, redis::Cmd)>, deletes: bool) -> Answers {
        if deletes {
            tokio::task::block_in_place(|| {
                tokio::runtime::Handle::current().block_on(self.nodes.run(what, commands))
            })
        } else {
            self.nodes.run(what, commands).await
        }
    }

    /// A command a master refused, as one line naming that master.
    fn refused(
        &self,
        batch: &Answers,
        at: Option<usize>,
        what: &str,
        e: &redis::RedisError,
    ) -> crate::error::Error {
        let node = at.and_then(|at| batch.from.get(at)).copied().unwrap_or(0);
        self.nodes.master(node).refused(what, e)
    }

    /// A node's failure during a purge, with what the run deleted before
    /// it (the tally is lost with the run; the progress keeps it).
    fn stopped(&self, failed: crate::error::Error) -> crate::error::Error {
        if !self.purge {
            return failed;
        }
        let deleted = self.progress.purged().deleted;
        crate::error::Error::cloud_with_hint(
            format!(
                "{failed}; before it stopped, this run deleted {} trace keys ({} bytes)",
                deleted.objects, deleted.bytes
            ),
            "run the purge again once the node answers: it finds only what is left",
        )
    }

    /// Folds one member into the tally and the audit.
    fn record(&self, out: &mut ScanOutcome, audit: &mut Audit, m: &Member) {
        // Key and member both gone when this batch's `UNLINK`/`ZREM` came:
        // another purge took the trace after the page was read. Not there
        // for this walk: neither a trace nor a defect of the store.
        if m.deleted.is_some_and(|d| !d.unlinked && !d.unindexed) {
            return;
        }
        let expired = self.judge.expired(m.day);
        audit.index_past_retention += u64::from(expired);
        if m.pttl == -2 {
            audit.orphaned += 1;
            return;
        }
        if m.pttl == -1 && !expired {
            audit.indexed_without_ttl += 1;
        }
        if !m.deleted.is_some_and(|d| d.unlinked) {
            audit.indexed_keys_left += 1;
            audit.ttl_beyond_retention += u64::from(m.pttl > self.retention_ms());
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

    /// Counts what the batch's `UNLINK`/`ZREM` did: a member whose key was
    /// already gone is an orphan removed; otherwise the key's bytes (read
    /// just before) were deleted. Only what this walk's own commands
    /// answered counts: a key another purge took first is its count.
    fn count_removals(&self, audit: &mut Audit, members: &[Member]) {
        for m in members {
            let Some(Removal {
                unlinked,
                unindexed,
            }) = m.deleted
            else {
                continue;
            };
            audit.index_past_removed += u64::from(unindexed);
            if m.pttl == -2 {
                audit.orphans_removed += u64::from(unindexed);
                continue;
            }
            audit.expired_without_ttl_deleted += u64::from(unlinked && m.pttl == -1);
            if unlinked {
                let volume = Volume {
                    objects: 1,
                    bytes: m.size,
                };
                audit.deleted.merge(volume);
                self.progress.deleted(Some(m.day), volume, 0);
            }
        }
    }

    /// The repairs within retention, in one pipeline when there are any:
    /// `ZREM` of orphans, `EXPIREAT score + retention` on keys without a
    /// TTL (so they leave when the app meant them to). Marks the members
    /// that left the index.
    async fn repair(&self, audit: &mut Audit, members: &mut [Member]) -> Result<()> {
        let retention = i64::from(self.judge.rule.retention_days) * 86_400;
        let mut commands = Vec::new();
        let mut plan = Vec::new();
        for (i, m) in members.iter().enumerate() {
            if m.deleted.is_some() {
                continue;
            }
            if m.pttl == -2 {
                let zrem = redis::cmd("ZREM").arg(self.index).arg(&m.id).to_owned();
                commands.push((self.nodes.index_node(), zrem));
                plan.push((
                    i,
                    Step::Orphan {
                        expired: self.judge.expired(m.day),
                    },
                ));
            } else if m.pttl == -1 && !self.judge.expired(m.day) {
                let key = self.key(&m.id);
                let expire = redis::cmd("EXPIREAT")
                    .arg(&key)
                    .arg(m.score as i64 + retention)
                    .to_owned();
                commands.push((self.nodes.of_key(&key), expire));
                plan.push((i, Step::Expire));
            }
        }
        if plan.is_empty() {
            return Ok(());
        }
        // Awaited to its answers for the same reason as a deleting batch.
        let what = "ZREM/EXPIREAT";
        let batch = self.send(what, commands, true).await;
        for (at, (i, step)) in plan.into_iter().enumerate() {
            let done = match batch.answers.get(at) {
                Some(Some(Ok(n))) => *n > 0,
                Some(Some(Err(e))) => return Err(self.refused(&batch, Some(at), what, e)),
                _ => false,
            };
            match step {
                Step::Orphan { expired } => {
                    if let Some(m) = members.get_mut(i) {
                        m.left |= done;
                    }
                    audit.orphans_removed += u64::from(done);
                    audit.index_past_removed += u64::from(done && expired);
                }
                Step::Expire => audit.ttl_set += u64::from(done),
            }
        }
        match batch.failed {
            Some(failed) => Err(self.stopped(failed)),
            None => Ok(()),
        }
    }

    /// A loop that would not end, as one line naming the server's fault.
    fn stuck(&self, label: &str, what: &str, why: &str) -> crate::error::Error {
        crate::error::Error::cloud_with_hint(
            format!("redis {label}: {what}: {why}; the walk stops rather than loop"),
            "the server (or a proxy in front of it) pages incorrectly; check what sits in front of Redis",
        )
    }

    fn retention_ms(&self) -> i64 {
        i64::from(self.judge.rule.retention_days) * 86_400_000
    }

    /// Whether the database holds nothing but the index and the keys the
    /// index pass found (`DBSIZE` = those keys + the index; on a cluster,
    /// `DBSIZE` of every master added up): then no key can lack an index
    /// entry, and the keys pass has nothing to find — the common case of a
    /// database of its own, where that pass would cost as much as the
    /// index's. A count that differs (a shared database, a trace written
    /// or expired meanwhile) or a server that refuses `DBSIZE` means the
    /// pass runs.
    async fn nothing_but_indexed_keys(&self, audit: &Audit) -> bool {
        let mut commands: Vec<(usize, redis::Cmd)> = (0..self.nodes.masters.len())
            .map(|node| (node, redis::cmd("DBSIZE")))
            .collect();
        commands.push((
            self.nodes.index_node(),
            redis::cmd("EXISTS").arg(self.index).to_owned(),
        ));
        let batch = self.nodes.run("DBSIZE/EXISTS index", commands).await;
        let Some(counts) = batch
            .answers
            .into_iter()
            .map(|a| a.and_then(|a| a.ok()).and_then(|n| u64::try_from(n).ok()))
            .collect::<Option<Vec<u64>>>()
        else {
            return false;
        };
        let (index, keys) = counts
            .split_last()
            .map_or((0, 0), |(i, k)| (*i, k.iter().sum::<u64>()));
        if keys == audit.indexed_keys_left + index {
            tracing::debug!(
                keys,
                "keys pass skipped: the database holds the index and its keys only"
            );
            true
        } else {
            tracing::debug!(
                keys,
                indexed = audit.indexed_keys_left,
                "keys pass: the database holds other keys"
            );
            false
        }
    }

    /// `SCAN MATCH {prefix}*` on every master (in parallel, each to the end
    /// of its own cursor; a replica's keys are its master's): keys without
    /// an index entry (their TTLs; indexed keys had theirs read by the
    /// index pass). A key without TTL nor index entry gets the full
    /// retention from now on a purge (its age is unknown: never deleted on
    /// a guess, but no longer kept forever).
    async fn key_pass(&self, audit: &mut Audit) -> Result<()> {
        let walks = (0..self.nodes.masters.len()).map(|node| self.key_pass_on(node));
        for found in futures::future::join_all(walks).await {
            audit.add_keys_pass(&found?);
        }
        Ok(())
    }

    /// The keys pass on one master: what it found there.
    async fn key_pass_on(&self, node: usize) -> Result<Audit> {
        let redis = self.nodes.master(node);
        let mut audit = Audit::default();
        let pattern = format!("{}*", self.prefix);
        let retention_ms = self.retention_ms();
        let mut cursor = 0u64;
        // `ZMSCORE` (Redis 6.2+) answers a whole batch in one command; an
        // older server gets one `ZSCORE` a key.
        let mut one_command = true;
        let mut cursors = Cursors::default();
        loop {
            let cmd = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&pattern)
                .arg("COUNT")
                .arg(BATCH)
                .to_owned();
            let (next, keys): (u64, Vec<Vec<u8>>) = redis.query("SCAN keys", &cmd).await?;
            let scores = if keys.is_empty() {
                Vec::new()
            } else {
                self.scores(&keys, &mut one_command).await?
            };
            let unindexed: Vec<&Vec<u8>> = keys
                .iter()
                .zip(scores)
                .filter_map(|(key, score)| score.is_none().then_some(key))
                .collect();
            if !unindexed.is_empty() {
                let mut pipe = redis::pipe();
                for key in &unindexed {
                    pipe.cmd("PTTL").arg(*key);
                }
                let pttls: Vec<i64> = redis.pipeline("PTTL unindexed keys", &pipe).await?;
                let mut expire = redis::pipe();
                let mut to_expire = 0usize;
                for (key, pttl) in unindexed.iter().zip(pttls) {
                    if pttl == -2 {
                        continue; // gone since SCAN saw it
                    }
                    audit.ttl_beyond_retention += u64::from(pttl > retention_ms);
                    audit.unindexed += 1;
                    if pttl == -1 {
                        audit.unindexed_without_ttl += 1;
                        expire.cmd("EXPIRE").arg(*key).arg(retention_ms / 1000);
                        to_expire += 1;
                    }
                }
                if self.purge && to_expire > 0 {
                    let set: Vec<i64> = redis.pipeline("EXPIRE unindexed keys", &expire).await?;
                    audit.ttl_set += set.iter().filter(|n| **n > 0).count() as u64;
                }
            }
            match cursors.next(next) {
                Ok(Some(next)) => cursor = next,
                Ok(None) => return Ok(audit),
                Err(why) => return Err(self.stuck(&redis.label, "SCAN keys", &why)),
            }
        }
    }

    /// The index score of each key's member, in one command (`ZMSCORE`),
    /// or (`one_command` cleared when the server does not know it) a
    /// pipelined `ZSCORE` a key.
    async fn scores(&self, keys: &[Vec<u8>], one_command: &mut bool) -> Result<Vec<Option<f64>>> {
        let id = |key: &[u8]| key.get(self.prefix.len()..).unwrap_or_default().to_vec();
        let index = self.nodes.index();
        if *one_command {
            let mut cmd = redis::cmd("ZMSCORE");
            cmd.arg(self.index);
            for key in keys {
                cmd.arg(id(key));
            }
            match index.query::<Vec<Option<f64>>>("ZMSCORE keys", &cmd).await {
                Ok(scores) => return Ok(scores),
                Err(e) if e.to_string().contains("unknown command") => *one_command = false,
                Err(e) => return Err(e),
            }
        }
        let mut pipe = redis::pipe();
        for key in keys {
            pipe.cmd("ZSCORE").arg(self.index).arg(id(key));
        }
        index.pipeline("ZSCORE keys", &pipe).await
    }
}

/// What the repair pipeline does to one member, to read its answers.
enum Step {
    Orphan { expired: bool },
    Expire,
}
