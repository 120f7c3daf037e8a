//! Counting and purging the traces table: rows and bytes per day in one
//! grouped query (only the days past the cutoff for verify and purge: a
//! range on the `created_at` index), and the purge in short batches: each
//! a transaction that locks a few thousand rows past the cutoff, oldest
//! first, deletes them by primary key and commits (PostgreSQL: one
//! statement that also counts what went per day; SQLite: one statement
//! that returns each row's day and bytes; MySQL: select, delete, commit).
//! Two purges at once each count only the rows they deleted. No lock
//! outlives a
//! batch; an interrupted purge leaves whole batches done, and a rerun
//! carries on from there.

use chrono::NaiveDate;
use sqlx::Row;

use super::Db;
use crate::error::Result;
use crate::scan::Volume;
use crate::spec::database::Dialect;

/// What a failed purge batch was doing, for its error.
const PURGING: &str = "purging a batch of traces";

/// Rows deleted per transaction: short locks, few round trips.
pub(crate) const BATCH_ROWS: usize = 5000;

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

/// The traces of one day (`None`: rows without `created_at`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct DayCount {
    pub(crate) day: Option<NaiveDate>,
    pub(crate) volume: Volume,
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
        let statement = self.sql.days(before.is_some());
        let mut query = sqlx::query(&statement);
        if let Some(before) = before {
            query = query.bind(before);
        }
        let rows = self.timed(WHAT, query.fetch_all(self.pool())).await?;
        self.day_counts(WHAT, &rows)
    }

    /// Rows of (day, count, bytes) as day counts.
    fn day_counts(&self, what: &str, rows: &[sqlx::any::AnyRow]) -> Result<Vec<DayCount>> {
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

    /// Deletes one batch of at most `size` rows created before `before`,
    /// in its own transaction; returns what went, per day (empty: done).
    /// `resume` carries where the previous batch ended (PostgreSQL).
    pub(crate) async fn purge_batch(
        &self,
        before: &str,
        size: usize,
        resume: &mut Option<String>,
    ) -> Result<Vec<DayCount>> {
        match self.sql.dialect {
            Dialect::Postgres => self.batch_postgres(before, size, resume).await,
            Dialect::Sqlite => self.batch_sqlite(before, size).await,
            Dialect::Mysql => self.batch_locked(before, size).await,
        }
    }

    /// One statement: the counts come back per day. In an explicit
    /// transaction all the same: a batch the server is still running when
    /// the tool is interrupted then rolls back (no COMMIT comes) instead of
    /// deleting rows the interrupted run did not count.
    async fn batch_postgres(
        &self,
        before: &str,
        size: usize,
        resume: &mut Option<String>,
    ) -> Result<Vec<DayCount>> {
        let statement = self.sql.delete_batch(size, resume.is_some());
        let mut query = sqlx::query(&statement).bind(before);
        if let Some(after) = resume.as_deref() {
            query = query.bind(after);
        }
        let mut tx = self.timed(PURGING, self.pool().begin()).await?;
        let rows = self.timed(PURGING, query.fetch_all(&mut *tx)).await?;
        self.commit(tx).await?;
        for row in &rows {
            let newest: Option<String> = row.try_get(3).map_err(|e| self.error(PURGING, &e))?;
            if newest > *resume {
                *resume = newest;
            }
        }
        self.day_counts(PURGING, &rows)
    }

    /// One statement that deletes and says what went, in a transaction
    /// for the same reason as PostgreSQL's. A SELECT first would take a
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
    async fn commit(&self, tx: sqlx::Transaction<'_, sqlx::Any>) -> Result<()> {
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
