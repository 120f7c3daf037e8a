//! The SQL store under the suite: PostgreSQL and MariaDB from the bench,
//! and a SQLite file (no server: run under a plain `cargo test` too, like
//! `sql::every_command_on_sqlite`). A table of its own per test, made with
//! the seed's migration when the test seeds it (else `apply` makes it), and
//! rows as `sql_support` seeds them; the foreign rows are a neighbour
//! table's (`{table}_x`), of the same layout.

use std::collections::BTreeSet;
use std::process::Child;

use sqlx::Row;
use tempfile::TempDir;

use super::{PurgeHold, RETENTION, Seeded, StopAtProgress, StoreUnderTest, suite};
use crate::sql_support::{Db, database, unique_table};
use crate::support::{Run, tempdir};

struct SqlStore {
    dir: TempDir,
    db: Db,
    table: String,
    neighbour: String,
    made: bool,
}

impl SqlStore {
    fn new(name: &'static str) -> SqlStore {
        let dir = tempdir();
        let db = database(name, dir.path());
        let table = unique_table(&format!("cf{}", &name[..2]));
        db.write_spec(dir.path(), &table);
        SqlStore {
            neighbour: format!("{table}_x"),
            dir,
            db,
            table,
            made: false,
        }
    }

    /// `table/trace_id` of every row of `table` (none when it is not there).
    fn rows_of(&self, table: &str) -> Vec<String> {
        let select = format!("SELECT trace_id FROM {}", self.db.quote(table));
        self.db
            .strings(&select)
            .unwrap_or_default()
            .into_iter()
            .map(|id| format!("{table}/{id}"))
            .collect()
    }
}

impl Drop for SqlStore {
    /// The bench's servers are shared: the test's tables go.
    fn drop(&mut self) {
        if self.db.name == "sqlite" {
            return;
        }
        for table in [&self.table, &self.neighbour] {
            let drop = format!("DROP TABLE IF EXISTS {}", self.db.quote(table));
            // Never a second panic while a failed test unwinds.
            let _ =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.db.exec(&[drop])));
        }
    }
}

impl StoreUnderTest for SqlStore {
    fn name(&self) -> &str {
        self.db.name
    }

    fn tool(&self, args: &[&str]) -> Run {
        self.db.tool(self.dir.path(), args)
    }

    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        if !self.made {
            self.db.create_seed_table(&self.table, true);
            self.made = true;
        }
        let mut seeded = Seeded::default();
        for (age, rows) in self.db.seed_days(&self.table, days, per_day) {
            let rows = rows
                .into_iter()
                .map(|(id, bytes)| (format!("{}/{id}", self.table), bytes))
                .collect();
            seeded.push(age, rows);
        }
        seeded
    }

    fn count(&self) -> u64 {
        u64::try_from(self.db.rows(&self.table)).expect("a count")
    }

    fn everything(&self) -> BTreeSet<String> {
        let mut all: BTreeSet<String> = self.rows_of(&self.table).into_iter().collect();
        all.extend(self.rows_of(&self.neighbour));
        all
    }

    /// The neighbour table with the seed's layout: a row a day over 20
    /// days, four of them past retention.
    fn plant_foreign(&mut self) -> BTreeSet<String> {
        self.db.create_seed_table(&self.neighbour, true);
        self.db.seed_days(&self.neighbour, 20, 1);
        self.rows_of(&self.neighbour).into_iter().collect()
    }

    fn probe_check(&self) -> &'static str {
        "sql.probe"
    }

    fn interrupt_load(&self) -> (u64, u64) {
        // Purges delete in batches of 5,000 rows: nine batches past
        // retention (three were done on PostgreSQL before the first could
        // be seen). On the servers the first batch must not reach the row
        // `BehindALockedRow` locks: 39,000 rows are older.
        (30, 3000)
    }

    fn hold_purge(&mut self, total: u64, young: u64) -> Box<dyn PurgeHold> {
        // One connection for the polling: a new one each time (SCRAM, TLS)
        // would be slower than a batch.
        sqlx::any::install_default_drivers();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let pool = rt
            .block_on(sqlx::AnyPool::connect(&self.db.connect_url()))
            .expect("connect");
        let count = format!("SELECT COUNT(*) FROM {}", self.db.quote(&self.table));
        let freeze = Box::new(StopAtProgress {
            store: self.db.name.to_owned(),
            remaining: move || {
                // A busy SQLite file says nothing yet: no progress seen.
                rt.block_on(sqlx::query(&count).fetch_one(&pool))
                    .ok()
                    .and_then(|row| row.try_get::<i64, _>(0).ok())
                    .map_or(u64::MAX, |n| u64::try_from(n).expect("a count"))
            },
            total,
            young,
        });
        // SQLite locks the whole file: the purge's first batch would wait.
        if self.db.name == "sqlite" {
            return freeze;
        }
        Box::new(BehindALockedRow::new(self, freeze))
    }

    fn drift(&mut self) -> &'static str {
        // Someone drops the `created_at` index apply made.
        let index = self.db.quote(&format!("{}_created_at_index", self.table));
        let drop = match self.db.name {
            "mariadb" => format!("DROP INDEX {index} ON {}", self.db.quote(&self.table)),
            _ => format!("DROP INDEX {index}"),
        };
        self.db.exec(&[drop]);
        "sql.index.created_at"
    }
}

/// The interrupted purge's hold on PostgreSQL and MariaDB: the freeze of
/// `StopAtProgress`, made certain by a lock rather than left to timing (a
/// purge that outran the freeze on a loaded machine made the test flaky).
/// One row of the youngest day past retention is locked (`FOR UPDATE`) by
/// a transaction of the test's before the purge starts: the purge deletes
/// the older days batch by batch, oldest first, and can never get past
/// that row, so whenever the freeze comes, the purge has deleted something
/// and not everything. SIGINT stops it between batches, or cuts the batch
/// waiting on the row (before its COMMIT: rolled back); the lock goes once
/// the run is over.
struct BehindALockedRow {
    freeze: Box<dyn PurgeHold>,
    rt: tokio::runtime::Runtime,
    /// The test's transaction holding the row.
    lock: Option<sqlx::Transaction<'static, sqlx::Any>>,
}

impl BehindALockedRow {
    fn new(store: &SqlStore, freeze: Box<dyn PurgeHold>) -> BehindALockedRow {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        // `seed_days` names a row `{table}-{age}-{i}`.
        let row = format!("{}-{}-0", store.table, RETENTION + 1);
        let placeholder = if store.db.name == "postgres" {
            "$1"
        } else {
            "?"
        };
        let lock_row = format!(
            "SELECT id FROM {} WHERE trace_id = {placeholder} FOR UPDATE",
            store.db.quote(&store.table)
        );
        let lock = rt.block_on(async {
            let pool = sqlx::AnyPool::connect(&store.db.connect_url())
                .await
                .expect("connect");
            let mut tx = pool.begin().await.expect("a transaction");
            let locked = sqlx::query(&lock_row)
                .bind(&row)
                .fetch_all(&mut *tx)
                .await
                .expect("lock the row");
            assert_eq!(locked.len(), 1, "{row}: one row to lock");
            tx
        });
        BehindALockedRow {
            freeze,
            rt,
            lock: Some(lock),
        }
    }
}

impl PurgeHold for BehindALockedRow {
    fn wait_mid_run(&mut self, child: &mut Child) {
        self.freeze.wait_mid_run(child);
    }

    fn resume(&mut self, child: &Child) {
        self.freeze.resume(child);
    }
}

impl Drop for BehindALockedRow {
    /// The lock goes once the run is over (the test drops the hold then).
    fn drop(&mut self) {
        if let Some(lock) = self.lock.take() {
            let _ = self.rt.block_on(lock.rollback());
        }
    }
}

mod postgres {
    super::suite!(super::SqlStore::new("postgres"), #[ignore = "needs the bench: run scripts/test.sh"]);
}

mod mariadb {
    super::suite!(super::SqlStore::new("mariadb"), #[ignore = "needs the bench: run scripts/test.sh"]);
}

mod sqlite {
    super::suite!(super::SqlStore::new("sqlite"));
}
