//! Counting and purging the traces table: rows and bytes per day in one
//! grouped query (only the days past the cutoff for verify and purge: a
//! range on the `created_at` index), and the purge in short batches, each
//! its own transaction, oldest first. PostgreSQL and MySQL/MariaDB (with a
//! `created_at` index) purge by windows of `created_at`: each window ends
//! where the index says about a batch's rows further on, and goes by one
//! range of the index (PostgreSQL: one statement that also counts what
//! went per day; MySQL: locked and counted, then deleted, through the
//! forced index). SQLite, and MySQL without that index, delete the oldest
//! rows by primary key. Batches are sized by time (`BatchSizer`). Two
//! purges at once each count only the rows they deleted. No lock outlives
//! a batch; an interrupted purge leaves whole batches done, and a rerun
//! carries on from there.

use chrono::NaiveDate;
use sqlx::Row;

use super::Db;
use crate::error::Result;
use crate::scan::Volume;
use crate::spec::database::Dialect;

/// What a failed purge batch was doing, for its error.
const PURGING: &str = "purging a batch of traces";

/// Rows of a purge's first batch: short locks, few round trips. Later
/// batches are sized by time (`BatchSizer`).
pub(crate) const BATCH_ROWS: usize = 5000;

/// What a purge batch (its transaction, so its locks) should take.
const BATCH_TARGET_MS: u64 = 25;
/// A batch slower than this shrinks the next to the target.
const BATCH_SLOW_MS: u64 = 40;
/// A batch faster than this may grow the next toward the target.
const BATCH_FAST_MS: u64 = 20;
/// The bounds of a batch, in rows.
const BATCH_MIN_ROWS: usize = 200;
const BATCH_MAX_ROWS: usize = 100_000;

/// Sizes purge batches by time: a batch slower than `BATCH_SLOW_MS`
/// shrinks the next one to the target time at once (no lock may last);
/// three fast ones in a row (one is noise: a cached page, an idle moment)
/// grow the next, at most twice as big, toward the target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct BatchSizer {
    pub(crate) rows: usize,
    /// Whether it learns at all (a purge of a few batches keeps them whole).
    pub(crate) adapt: bool,
    fast_streak: u32,
}

impl BatchSizer {
    pub(crate) fn new(rows: usize) -> BatchSizer {
        BatchSizer {
            rows,
            adapt: false,
            fast_streak: 0,
        }
    }

    /// Learns from a batch that deleted `rows` rows in `ms`.
    pub(crate) fn learn(&mut self, rows: u64, ms: u64) {
        let rows = usize::try_from(rows).unwrap_or(usize::MAX);
        if rows == 0 || !self.adapt {
            return;
        }
        let ms = ms.max(1);
        let at_target = rows.saturating_mul(BATCH_TARGET_MS as usize) / ms as usize;
        if ms > BATCH_SLOW_MS {
            self.fast_streak = 0;
            self.rows = at_target.min(self.rows);
        } else if ms < BATCH_FAST_MS {
            self.fast_streak += 1;
            if self.fast_streak >= 3 {
                self.fast_streak = 0;
                self.rows = at_target.min(self.rows * 2).max(self.rows);
            }
        } else {
            self.fast_streak = 0;
        }
        self.rows = self.rows.clamp(BATCH_MIN_ROWS, BATCH_MAX_ROWS);
    }
}

/// The most rows a purge deletes: those past the cutoff when it began.
/// The purge goes on until a batch finds nothing, so a table that keeps
/// yielding rows past the cutoff (a trigger that puts deleted rows back,
/// say) would keep it going for ever, each batch a success; once more rows
/// went than were there, it stops instead. New traces are written with
/// today's `created_at`, never past the cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    counted: u64,
    deleted: u64,
}

impl Budget {
    /// The rows counted and not yet deleted.
    pub(crate) fn left(&self) -> u64 {
        self.counted.saturating_sub(self.deleted)
    }

    /// For a purge of the rows `days` counted.
    pub(crate) fn of(days: &[DayCount]) -> Budget {
        Budget {
            counted: days.iter().map(|d| d.volume.objects).sum(),
            deleted: 0,
        }
    }

    /// Records a batch of `rows` deleted; an error (why) once the purge
    /// has deleted more than there were.
    pub(crate) fn spend(&mut self, rows: u64) -> std::result::Result<(), String> {
        self.deleted = self.deleted.saturating_add(rows);
        if self.deleted > self.counted {
            return Err(format!(
                "{} rows deleted, but only {} were past the cutoff when the purge began: the table keeps yielding rows past the cutoff (a trigger that puts deleted rows back?), so the purge would never end",
                self.deleted, self.counted
            ));
        }
        Ok(())
    }
}

/// Where a purge is between batches.
#[derive(Debug, Default)]
pub(crate) struct Cursor {
    /// The next window's start (`created_at` as text); None: look up the
    /// oldest row past the cutoff.
    start: Option<String>,
    /// The previous window's start, where PostgreSQL's next delete sweeps
    /// from (`Sql::delete_window`); None at a pass's first window.
    previous: Option<String>,
    /// How this table is purged (decided at the first batch).
    plan: Option<Plan>,
    /// Passes begun from the oldest row past the cutoff.
    passes: u32,
    /// Where this lane's looks for the oldest row begin (`Lane::floor`).
    floor: Option<String>,
}

/// How a table's purge batches go.
#[derive(Debug, Clone)]
enum Plan {
    /// PostgreSQL: windows of `created_at`, one statement each.
    Windows,
    /// MySQL/MariaDB: windows of `created_at` through this index, forced.
    WindowsByIndex(String),
    /// The oldest rows by primary key, a batch at a time (SQLite; MySQL
    /// without an index on `created_at`).
    OldestFirst,
}

impl Cursor {
    /// A cursor for one lane of a purge.
    pub(crate) fn of(lane: &Lane) -> Cursor {
        Cursor {
            floor: lane.floor.clone(),
            ..Cursor::default()
        }
    }

    /// Whether the next batch looks again from the oldest row past the
    /// cutoff after a pass (not the purge's first look).
    pub(crate) fn starts_a_pass_again(&self) -> bool {
        self.start.is_none() && self.passes > 0
    }
}

/// A stretch of `created_at` a purge goes through on its own: from
/// `floor` (None: from the oldest row) up to `ceiling` (excluded), window
/// after window, then a last look over the same stretch. PostgreSQL
/// purges in two lanes at once (`Db::lanes`): the server deletes on two
/// connections, and each lane's last look passes only its own half.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Lane {
    pub(crate) floor: Option<String>,
    pub(crate) ceiling: String,
}

/// What one purge batch deleted, per day, and whether nothing is left.
#[derive(Debug)]
pub(crate) struct Batch {
    pub(crate) days: Vec<DayCount>,
    pub(crate) done: bool,
}

impl Batch {
    /// A batch of the oldest rows: an empty one means nothing is left.
    fn ends_when_empty(days: Vec<DayCount>) -> Batch {
        let done = days.is_empty();
        Batch { days, done }
    }
}

/// The traces of one day (`None`: rows without `created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayCount {
    pub(crate) day: Option<NaiveDate>,
    pub(crate) volume: Volume,
}

/// Adds `more` into `into`, day by day (a day in both adds up), oldest
/// day first.
pub(crate) fn merge_days(into: &mut Vec<DayCount>, more: &[DayCount]) {
    for count in more {
        match into.iter_mut().find(|d| d.day == count.day) {
            Some(d) => d.volume.merge(count.volume),
            None => into.push(*count),
        }
    }
    into.sort_by_key(|d| d.day);
}

/// The cutoff as the timestamp text `created_at` is compared with.
pub(crate) fn cutoff_text(cutoff: NaiveDate) -> String {
    format!("{} 00:00:00", cutoff.format("%Y-%m-%d"))
}

fn parse_day(text: Option<String>) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(text?.as_str(), "%Y-%m-%d").ok()
}

/// Counts one deleted row of `bytes` into its day.
fn add_row(by_day: &mut Vec<DayCount>, day: Option<NaiveDate>, bytes: u64) {
    match by_day.iter_mut().find(|d| d.day == day) {
        Some(d) => d.volume.add(bytes),
        None => {
            let mut volume = Volume::default();
            volume.add(bytes);
            by_day.push(DayCount { day, volume });
        }
    }
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

impl Db {
    /// Rows and bytes per day: every day, or (with `before`) only the rows
    /// created before that timestamp text.
    pub(crate) async fn days(&self, before: Option<&str>) -> Result<Vec<DayCount>> {
        const WHAT: &str = "counting the traces per day";
        let statement = self.days_statement(before.is_some()).await?;
        let mut query = sqlx::query(&statement);
        if let Some(before) = before {
            query = query.bind(before);
        }
        let rows = self.timed(WHAT, query.fetch_all(self.pool())).await?;
        self.day_counts(WHAT, &rows)
    }

    /// The per-day count's statement: on PostgreSQL with an index leading
    /// with `created_at`, a day at a time through it (`Sql::days_by_index`);
    /// otherwise one grouped query. The catalog is read once; call this
    /// before a snapshot takes the pool's other connection.
    pub(crate) async fn days_statement(&self, expired_only: bool) -> Result<String> {
        if self.sql.dialect != Dialect::Postgres {
            return Ok(self.sql.days(expired_only));
        }
        let indexed = match self.created_at_indexed.get() {
            Some(indexed) => *indexed,
            None => {
                let indexed = self
                    .indexes()
                    .await?
                    .iter()
                    .any(|i| i.leads_with("created_at"));
                *self.created_at_indexed.get_or_init(|| indexed)
            }
        };
        Ok(if indexed {
            self.sql.days_by_index(expired_only)
        } else {
            self.sql.days(expired_only)
        })
    }

    /// A connection of its own in a read-only transaction whose snapshot
    /// is taken now (PostgreSQL: `REPEATABLE READ` takes it at the first
    /// statement): what `days_in` counts later is what was there now.
    pub(crate) async fn snapshot(&self) -> Result<sqlx::pool::PoolConnection<sqlx::Any>> {
        const WHAT: &str = "taking a snapshot to count the traces in";
        let mut conn = self.timed(WHAT, self.pool().acquire()).await?;
        for statement in [
            "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
            "SELECT 1",
        ] {
            self.timed(WHAT, sqlx::query(statement).execute(&mut *conn))
                .await?;
        }
        Ok(conn)
    }

    /// Rows and bytes per day created before `before`, counted in the
    /// snapshot (`snapshot`) by `statement` (`days_statement`), and the
    /// snapshot ends.
    pub(crate) async fn days_in(
        &self,
        mut snapshot: sqlx::pool::PoolConnection<sqlx::Any>,
        statement: &str,
        before: &str,
    ) -> Result<Vec<DayCount>> {
        const WHAT: &str = "counting the traces per day";
        let rows = self
            .timed(
                WHAT,
                sqlx::query(statement)
                    .bind(before)
                    .fetch_all(&mut *snapshot),
            )
            .await?;
        self.timed(WHAT, sqlx::query("COMMIT").execute(&mut *snapshot))
            .await?;
        self.day_counts(WHAT, &rows)
    }

    /// Rows of (day, count, bytes) as day counts.
    pub(crate) fn day_counts(
        &self,
        what: &str,
        rows: &[sqlx::any::AnyRow],
    ) -> Result<Vec<DayCount>> {
        let mut days = Vec::with_capacity(rows.len());
        for row in rows {
            let day: Option<String> = row.try_get(0).map_err(|e| self.error(what, &e))?;
            days.push(DayCount {
                day: parse_day(day),
                volume: Volume {
                    objects: unsigned(self.get(what, row, 1)?),
                    bytes: unsigned(self.get(what, row, 2)?),
                },
            });
        }
        Ok(days)
    }

    /// Deletes one batch of about `size` rows created before `before`, in
    /// its own transaction; returns what went, per day, and whether the
    /// purge is done. `cursor` carries where the previous batch ended.
    pub(crate) async fn purge_batch(
        &self,
        before: &str,
        size: usize,
        cursor: &mut Cursor,
    ) -> Result<Batch> {
        let plan = match &cursor.plan {
            Some(plan) => plan.clone(),
            None => {
                let plan = self.plan().await?;
                cursor.plan = Some(plan.clone());
                plan
            }
        };
        let index = match plan {
            Plan::OldestFirst => {
                let days = match self.sql.dialect {
                    Dialect::Sqlite => self.batch_sqlite(before, size).await?,
                    Dialect::Postgres | Dialect::Mysql => self.batch_locked(before, size).await?,
                };
                return Ok(Batch::ends_when_empty(days));
            }
            Plan::Windows => None,
            Plan::WindowsByIndex(index) => Some(index),
        };
        // A window purge: from the oldest row past the cutoff, window
        // after window, up to the cutoff; then from the oldest again, so
        // rows that came back behind the windows are seen (and the budget
        // stops a table that keeps refilling).
        let start = match cursor.start.take() {
            Some(start) => start,
            None => match self.first_expired(before, cursor.floor.as_deref()).await? {
                Some(start) => {
                    cursor.passes += 1;
                    start
                }
                None => {
                    return Ok(Batch {
                        days: Vec::new(),
                        done: true,
                    });
                }
            },
        };
        let sweep = cursor.previous.take().unwrap_or_else(|| start.clone());
        let (days, end, reached) = match index {
            None => self.window_postgres(before, &start, &sweep, size).await?,
            Some(index) => self.window_mysql(before, &start, size, &index).await?,
        };
        if !reached {
            cursor.start = Some(end);
            cursor.previous = Some(start);
        }
        Ok(Batch { days, done: false })
    }

    /// The oldest `created_at` before the cutoff (from `floor` when
    /// given), as text (None: none).
    async fn first_expired(&self, before: &str, floor: Option<&str>) -> Result<Option<String>> {
        let statement = self.sql.first_expired(floor.is_some());
        let mut query = sqlx::query(&statement).bind(before);
        if let Some(floor) = floor {
            query = query.bind(floor);
        }
        let row = self.timed(PURGING, query.fetch_one(self.pool())).await?;
        row.try_get(0).map_err(|e| self.error(PURGING, &e))
    }

    /// The lanes of a purge of what is before `before`. PostgreSQL: two,
    /// meeting halfway in time between the oldest row past the cutoff
    /// and the cutoff (rows are written in time, so about half the rows
    /// each), purged at once on two connections: the server deletes on
    /// two cores, with each batch as short as ever. MySQL/MariaDB: one
    /// (two ranges deleted at once would lock each other at the edge
    /// through InnoDB's gap locks), SQLite: one (one writer at a time).
    pub(crate) async fn lanes(&self, before: &str) -> Result<Vec<Lane>> {
        let whole = Lane {
            floor: None,
            ceiling: before.to_string(),
        };
        if self.sql.dialect != Dialect::Postgres {
            return Ok(vec![whole]);
        }
        let statement = self.sql.lanes_meet();
        let row = self
            .timed(
                PURGING,
                sqlx::query(&statement).bind(before).fetch_one(self.pool()),
            )
            .await?;
        let meet: Option<String> = row.try_get(0).map_err(|e| self.error(PURGING, &e))?;
        Ok(match meet {
            Some(meet) if meet.as_str() < before => vec![
                Lane {
                    floor: None,
                    ceiling: meet.clone(),
                },
                Lane {
                    floor: Some(meet),
                    ceiling: before.to_string(),
                },
            ],
            _ => vec![whole],
        })
    }

    /// How this table's purge goes: windows of `created_at` where an
    /// index leads with it (PostgreSQL's planner takes a range on it by
    /// itself; MySQL is told which), the oldest rows by key otherwise.
    async fn plan(&self) -> Result<Plan> {
        match self.sql.dialect {
            Dialect::Sqlite => Ok(Plan::OldestFirst),
            Dialect::Postgres => Ok(Plan::Windows),
            Dialect::Mysql => {
                let indexes = self.indexes().await?;
                Ok(indexes
                    .into_iter()
                    .find(|i| i.leads_with("created_at"))
                    .map_or(Plan::OldestFirst, |i| Plan::WindowsByIndex(i.name)))
            }
        }
    }

    /// One statement finds the window's end, deletes the window and
    /// counts what went per day. In an explicit transaction all the same:
    /// a batch the server is still running when the tool is interrupted
    /// then rolls back (no COMMIT comes) instead of deleting rows the
    /// interrupted run did not count. Rows another purge deleted first
    /// are not returned, so not counted.
    async fn window_postgres(
        &self,
        before: &str,
        start: &str,
        sweep: &str,
        size: usize,
    ) -> Result<(Vec<DayCount>, String, bool)> {
        let statement = self.sql.delete_window(size);
        let query = sqlx::query(&statement).bind(before).bind(start).bind(sweep);
        let mut tx = self.timed(PURGING, self.pool().begin()).await?;
        let rows = self.timed(PURGING, query.fetch_all(&mut *tx)).await?;
        self.commit(tx).await?;
        let (edge, deleted): (Vec<_>, Vec<_>) = rows
            .iter()
            .partition(|row| row.try_get::<Option<String>, _>(0).ok().flatten().is_none());
        let Some(edge) = edge.first() else {
            return Err(crate::error::Error::cloud(format!(
                "{PURGING} on {}: the batch did not say where its window ended",
                self.storage.location()
            )));
        };
        let end: String = self.get(PURGING, edge, 3)?;
        let reached: bool = self.get(PURGING, edge, 4)?;
        let deleted: Vec<sqlx::any::AnyRow> = deleted.into_iter().cloned().collect();
        Ok((self.day_counts(PURGING, &deleted)?, end, reached))
    }

    /// MySQL/MariaDB: the window's end (a plain read of the `created_at`
    /// index), then in one transaction the window's rows locked and
    /// counted per day, and deleted by the same range; a different count
    /// means something else deleted rows meanwhile: rolled back rather
    /// than miscounted.
    async fn window_mysql(
        &self,
        before: &str,
        start: &str,
        size: usize,
        index: &str,
    ) -> Result<(Vec<DayCount>, String, bool)> {
        let edge = self.sql.window_end_text(size);
        let row = self
            .timed(
                PURGING,
                sqlx::query(&edge)
                    .bind(before)
                    .bind(start)
                    .bind(before)
                    .bind(before)
                    .bind(start)
                    .bind(before)
                    .fetch_one(self.pool()),
            )
            .await?;
        let end: Option<String> = row.try_get(0).map_err(|e| self.error(PURGING, &e))?;
        let end = end.unwrap_or_else(|| before.to_string());
        let reached = end.as_str() >= before;
        let mut tx = self.timed(PURGING, self.pool().begin()).await?;
        let lock = self.sql.lock_window(index);
        let rows = self
            .timed(
                PURGING,
                sqlx::query(&lock)
                    .bind(start)
                    .bind(end.as_str())
                    .fetch_all(&mut *tx),
            )
            .await?;
        let days = self.day_counts(PURGING, &rows)?;
        let locked: u64 = days.iter().map(|d| d.volume.objects).sum();
        let delete = self.sql.delete_window_by_index(index);
        let done = self
            .timed(
                PURGING,
                sqlx::query(&delete)
                    .bind(start)
                    .bind(end.as_str())
                    .execute(&mut *tx),
            )
            .await?
            .rows_affected();
        if done != locked {
            self.timed(PURGING, tx.rollback()).await?;
            return Err(crate::error::Error::cloud(format!(
                "{PURGING} on {}: {done} rows deleted of {locked} locked; rolled back",
                self.storage.location()
            )));
        }
        self.commit(tx).await?;
        Ok((days, end, reached))
    }

    /// SQLite: one statement that deletes and says what went, in a
    /// transaction for the same reason as PostgreSQL's. A SELECT first would take a
    /// read lock that SQLite cannot raise to a write lock while another
    /// purge writes (it answers "database is locked" at once); a
    /// transaction that starts by writing waits its turn. Rows another
    /// purge took first are not there to delete, nor counted.
    async fn batch_sqlite(&self, before: &str, size: usize) -> Result<Vec<DayCount>> {
        let statement = self.sql.delete_returning(size);
        let mut tx = self.timed(PURGING, self.pool().begin()).await?;
        let rows = self
            .timed(
                PURGING,
                sqlx::query(&statement).bind(before).fetch_all(&mut *tx),
            )
            .await?;
        self.commit(tx).await?;
        let mut by_day = Vec::new();
        for row in &rows {
            let day = parse_day(row.try_get(0).map_err(|e| self.error(PURGING, &e))?);
            add_row(&mut by_day, day, unsigned(self.get(PURGING, row, 1)?));
        }
        Ok(by_day)
    }

    /// Commits a purge batch, uncut by a first Ctrl-C: once COMMIT may be
    /// on its way the server commits whether or not the tool waits, so the
    /// tool waits (within the time limit) and counts the batch; the purge
    /// stops after it (`interrupt::uncut`). Before the COMMIT a batch is cut
    /// as any request is, and its transaction rolls back.
    pub(crate) async fn commit(&self, tx: sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
        let _uncut = crate::interrupt::uncut();
        self.timed(PURGING, tx.commit()).await
    }

    /// MySQL and MariaDB: find the batch's rows (a plain read), lock them
    /// by primary key (`FOR UPDATE`), delete them by primary key, commit.
    /// Another purge at the same time waits on the locks and then finds
    /// those rows gone; a batch whose every row went that way looks again.
    async fn batch_locked(&self, before: &str, size: usize) -> Result<Vec<DayCount>> {
        const WHAT: &str = PURGING;
        // Each empty round means another purge took the rows first; a
        // server that keeps showing rows it never lets lock would not move.
        let mut rounds = 0;
        let (mut tx, rows) = loop {
            rounds += 1;
            if rounds > 100 {
                return Err(crate::error::Error::cloud(format!(
                    "{WHAT} on {}: 100 batches in a row were gone once locked: the server shows rows it does not hold, so the purge would never end",
                    self.storage.location()
                )));
            }
            let found = self
                .timed(
                    WHAT,
                    sqlx::query(&self.sql.batch_ids(size))
                        .bind(before)
                        .fetch_all(self.pool()),
                )
                .await?;
            let mut candidates = Vec::with_capacity(found.len());
            for row in &found {
                candidates.push(self.get::<i64>(WHAT, row, 0)?);
            }
            if candidates.is_empty() {
                return Ok(Vec::new());
            }
            let mut tx = self.timed(WHAT, self.pool().begin()).await?;
            let rows = self
                .timed(
                    WHAT,
                    sqlx::query(&self.sql.lock_ids(&candidates)).fetch_all(&mut *tx),
                )
                .await?;
            if !rows.is_empty() {
                break (tx, rows);
            }
            self.timed(WHAT, tx.rollback()).await?;
        };
        let mut ids = Vec::with_capacity(rows.len());
        let mut by_day: Vec<DayCount> = Vec::new();
        for row in &rows {
            ids.push(self.get::<i64>(WHAT, row, 0)?);
            let day = parse_day(row.try_get(1).map_err(|e| self.error(WHAT, &e))?);
            add_row(&mut by_day, day, unsigned(self.get(WHAT, row, 2)?));
        }
        if ids.is_empty() {
            self.timed(WHAT, tx.rollback()).await?;
            return Ok(by_day);
        }
        let done = self
            .timed(
                WHAT,
                sqlx::query(&self.sql.delete_ids(&ids)).execute(&mut *tx),
            )
            .await?
            .rows_affected();
        if done != ids.len() as u64 {
            // The rows were locked: a different count means something else
            // deleted them; give up this batch rather than miscount.
            self.timed(WHAT, tx.rollback()).await?;
            return Err(crate::error::Error::cloud(format!(
                "{WHAT} on {}: {done} rows deleted of {} locked; rolled back",
                self.storage.location(),
                ids.len()
            )));
        }
        self.commit(tx).await?;
        Ok(by_day)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A table of `rows` past the cutoff whose every deleted row comes
    /// back (`returns`): how many batches of `size` the purge loop runs,
    /// or the error that stopped it.
    fn purge(rows: u64, size: u64, returns: bool) -> Result<u64, String> {
        let counted = DayCount {
            day: NaiveDate::from_ymd_opt(2026, 1, 1),
            volume: Volume {
                objects: rows,
                bytes: 0,
            },
        };
        let mut budget = Budget::of(&[counted]);
        let (mut left, mut batches) = (rows, 0);
        loop {
            batches += 1;
            assert!(batches < 10_000, "the purge did not stop");
            let deleted = left.min(size);
            if deleted == 0 {
                return Ok(batches);
            }
            budget.spend(deleted)?;
            if !returns {
                left -= deleted;
            }
        }
    }

    #[test]
    fn batches_shrink_at_once_and_grow_after_three_fast_ones() {
        let mut sizer = BatchSizer::new(5_000);
        sizer.learn(5_000, 100);
        assert_eq!(sizer.rows, 5_000, "a short purge keeps its batches");
        sizer.adapt = true;
        sizer.learn(5_000, 100);
        assert_eq!(sizer.rows, 1_250, "a 100 ms batch shrinks to 25 ms");
        sizer.learn(1_250, 5);
        sizer.learn(1_250, 5);
        assert_eq!(sizer.rows, 1_250, "two fast batches may be noise");
        sizer.learn(1_250, 5);
        assert_eq!(sizer.rows, 2_500, "at most twice as big");
        sizer.learn(2_500, 25);
        sizer.learn(2_500, 5);
        sizer.learn(2_500, 5);
        assert_eq!(sizer.rows, 2_500, "a batch on target ends the streak");
        sizer.learn(0, 500);
        assert_eq!(sizer.rows, 2_500, "an empty window teaches nothing");
        sizer.learn(2_500, 10_000);
        assert_eq!(sizer.rows, 200, "never below the floor");
    }

    #[test]
    fn a_purge_of_what_was_counted_ends() {
        assert_eq!(purge(12_000, 5_000, false), Ok(4));
        assert_eq!(purge(0, 5_000, false), Ok(1));
    }

    #[test]
    fn a_table_that_puts_deleted_rows_back_stops_the_purge() {
        let why = purge(300, 5_000, true).expect_err("stops");
        assert!(
            why.contains("600 rows deleted") && why.contains("only 300"),
            "{why}"
        );
        assert!(purge(12_000, 5_000, true).is_err());
    }
}
