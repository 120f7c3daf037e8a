//! The databases the SQL store's tests run on (issue 13): the bench's
//! PostgreSQL and MariaDB (`CT_TEST_POSTGRES_*`, `CT_TEST_MARIADB_*`, on
//! loopback only) or a SQLite file; statements run with `sqlx` to seed the
//! seed's table and rows, and the binary run against them.

use std::path::Path;

use chrono::{Days, Utc};
use sqlx::Row;

use crate::support::Run;

/// Days of traces seeded, rows per day; retention 15 days.
pub const DAYS: u64 = 30;
pub const PER_DAY: u64 = 20;

/// A database to test on: its URL for the spec, its admin password.
pub struct Db {
    pub name: &'static str,
    pub url: String,
    pub password: String,
}

/// The bench's server `name` (`postgres`, `mariadb`), or a SQLite file in `dir`.
pub fn database(name: &'static str, dir: &Path) -> Db {
    if name == "sqlite" {
        let url = format!("sqlite://{}/traces.db", dir.display());
        return Db {
            name,
            url,
            password: String::new(),
        };
    }
    let var = |suffix: &str| {
        let key = format!("CT_TEST_{}_{suffix}", name.to_uppercase());
        std::env::var(&key).unwrap_or_else(|_| {
            panic!("{key} is not set: run this test through scripts/test.sh, which starts {name}")
        })
    };
    let url = var("URL");
    assert!(url.contains("@127.0.0.1:"), "{name} is not on loopback");
    Db {
        name,
        url,
        password: var("PASSWORD"),
    }
}

/// A table name no other run uses (several runs may share a server).
pub fn unique_table(tag: &str) -> String {
    let nanos = Utc::now().timestamp_subsec_nanos();
    format!("ct_{tag}_{}_{}", std::process::id(), nanos % 1_000_000)
}

impl Db {
    pub fn connect_url(&self) -> String {
        if self.password.is_empty() {
            return format!("{}?mode=rwc", self.url);
        }
        let mut url = url::Url::parse(&self.url).expect("a URL");
        url.set_password(Some(&self.password)).expect("a password");
        url.to_string()
    }

    /// Runs `statements` in order on a fresh connection.
    pub fn exec(&self, statements: &[String]) {
        let url = self.connect_url();
        block_on(async move {
            let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
            for s in statements {
                sqlx::query(s)
                    .execute(&pool)
                    .await
                    .unwrap_or_else(|e| panic!("{s}: {e}"));
            }
            pool.close().await;
        });
    }

    /// One integer.
    pub fn count(&self, statement: &str) -> i64 {
        let url = self.connect_url();
        block_on(async move {
            let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
            let row = sqlx::query(statement)
                .fetch_one(&pool)
                .await
                .expect(statement);
            let n: i64 = row.try_get(0).expect("an integer");
            pool.close().await;
            n
        })
    }

    /// The first column of every row, as text; `None` when the statement
    /// fails (a table not there).
    pub fn strings(&self, statement: &str) -> Option<Vec<String>> {
        let url = self.connect_url();
        block_on(async move {
            let pool = sqlx::AnyPool::connect(&url).await.expect("connect");
            let rows = sqlx::query(statement).fetch_all(&pool).await.ok();
            pool.close().await;
            rows.map(|rows| {
                rows.iter()
                    .map(|row| row.try_get::<String, _>(0).expect("a text column"))
                    .collect()
            })
        })
    }

    pub fn quote(&self, name: &str) -> String {
        if self.name == "mariadb" {
            format!("`{name}`")
        } else {
            format!("\"{name}\"")
        }
    }

    /// The seed's migration, with or without its `created_at` index.
    pub fn create_seed_table(&self, table: &str, index: bool) {
        let t = self.quote(table);
        let id = match self.name {
            "postgres" => "id bigserial PRIMARY KEY",
            "mariadb" => "id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY",
            _ => "id integer PRIMARY KEY AUTOINCREMENT",
        };
        let data = if self.name == "mariadb" {
            "longtext"
        } else {
            "text"
        };
        let mut s = vec![
            format!(
                "CREATE TABLE {t} ({id}, trace_id varchar(255) NOT NULL, data {data} NOT NULL, created_at timestamp NULL, updated_at timestamp NULL)"
            ),
            format!(
                "CREATE UNIQUE INDEX {} ON {t} (trace_id)",
                self.quote(&format!("{table}_tid"))
            ),
        ];
        if index {
            s.push(format!(
                "CREATE INDEX {} ON {t} (created_at)",
                self.quote(&format!("{table}_cat"))
            ));
        }
        self.exec(&s);
    }

    /// `PER_DAY` rows on each of the last `DAYS` days (at noon UTC), data of
    /// 100 to 106 bytes; returns (rows, bytes) created before `cutoff_back`
    /// days ago.
    pub fn seed_rows(&self, table: &str, cutoff_back: u64) -> (u64, u64) {
        let (mut rows, mut bytes) = (0, 0);
        for (back, day) in self.seed_days(table, DAYS, PER_DAY) {
            if back >= cutoff_back {
                rows += day.len() as u64;
                bytes += day.iter().map(|(_, size)| size).sum::<u64>();
            }
        }
        (rows, bytes)
    }

    /// `per_day` rows on each of the last `days` days (at noon UTC), data
    /// of 100 to 106 bytes; returns each day's age and its rows'
    /// (`trace_id`, bytes).
    pub fn seed_days(
        &self,
        table: &str,
        days: u64,
        per_day: u64,
    ) -> Vec<(u64, Vec<(String, u64)>)> {
        let today = Utc::now().date_naive();
        let mut seeded = Vec::new();
        let mut values = Vec::new();
        for back in 0..days {
            let day = today.checked_sub_days(Days::new(back)).expect("a day");
            let mut rows = Vec::new();
            for i in 0..per_day {
                let size = 100 + (i % 7);
                let trace_id = format!("{table}-{back}-{i}");
                values.push(format!(
                    "('{trace_id}', '{}', '{day} 12:00:00', '{day} 12:00:00')",
                    "x".repeat(size as usize)
                ));
                rows.push((trace_id, size));
            }
            seeded.push((back, rows));
        }
        let statements: Vec<String> = values
            .chunks(200)
            .map(|chunk| {
                format!(
                    "INSERT INTO {} (trace_id, data, created_at, updated_at) VALUES {}",
                    self.quote(table),
                    chunk.join(",")
                )
            })
            .collect();
        self.exec(&statements);
        seeded
    }

    pub fn rows(&self, table: &str) -> i64 {
        self.count(&format!("SELECT COUNT(*) FROM {}", self.quote(table)))
    }

    /// Writes a spec with environment `ci` on `table`.
    pub fn write_spec(&self, dir: &Path, table: &str) {
        let spec = format!(
            "project: ct\nenvironments:\n  ci:\n    storage: database\n    url: {}\n    table: {table}\n    retention_days: 15\n",
            self.url
        );
        std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
    }

    /// The binary on environment `ci`, with the password in `DB_PASSWORD`.
    pub fn tool(&self, dir: &Path, args: &[&str]) -> Run {
        Run::new(dir)
            .env("DB_PASSWORD", &self.password)
            .args(["-e", "ci"])
            .args(args)
    }
}

pub fn block_on<T>(work: impl std::future::Future<Output = T>) -> T {
    sqlx::any::install_default_drivers();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime")
        .block_on(work)
}
