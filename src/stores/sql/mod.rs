//! The SQL adapter: the only code that talks to a database (PostgreSQL,
//! MySQL/MariaDB, SQLite) for the seed's `DatabaseTraceStorage` table.
//! One pool of at most two connections per run, through `sqlx`'s `Any`
//! driver (one code path, the SQL text per server in `dialect`); every
//! statement under the run's time limit; the password read from the
//! environment at connect time and scrubbed from every error message.
//!
//! `scan` counts and purges, `inspect` reads the catalog (columns,
//! indexes, privileges, sizes; `partitions` the partition bounds;
//! `past_partitions` drops or detaches those past the cutoff), `check` judges them (`compression`: how
//! `data` is kept at rest), `provision` creates
//! the table, its indexes and the app's role.

pub(crate) mod check;
pub(crate) mod compression;
pub(crate) mod dialect;
pub(crate) mod inspect;
pub(crate) mod items;
pub(crate) mod partitions;
pub(crate) mod past_partitions;
pub(crate) mod plugin;
pub(crate) mod provision;
pub(crate) mod provisioner;
pub(crate) mod scan;
pub(crate) mod store;

use std::future::Future;
use std::time::Duration;

use std::str::FromStr;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions, install_default_drivers};
use sqlx::{AnyPool, ConnectOptions, Row};

use crate::error::{Error, Result};
use crate::spec::DatabaseStorage;
use crate::spec::database::Dialect;
use crate::transport::timeouts::Timeouts;

pub(crate) use dialect::Sql;

/// A connected database and the table the spec names.
#[derive(Debug)]
pub(crate) struct Db {
    pool: AnyPool,
    pub(crate) storage: DatabaseStorage,
    pub(crate) sql: Sql,
    timeouts: Timeouts,
    /// The password, only to scrub it from the driver's messages.
    password: Option<String>,
    /// Whether an index leads with `created_at` (read once, when a count
    /// first asks: `Db::days_statement`).
    created_at_indexed: std::sync::OnceLock<bool>,
}

/// The password from the variable the spec names (`DB_PASSWORD` by
/// default); an unset or empty variable means none.
fn password(storage: &DatabaseStorage) -> Option<String> {
    std::env::var(&storage.password_env)
        .ok()
        .filter(|p| !p.is_empty())
}

/// The URL the driver connects to: the spec's, with the password put in
/// (percent-encoded). It lives only in memory and is never shown.
fn connect_url(storage: &DatabaseStorage, password: Option<&str>, create: bool) -> Result<String> {
    if storage.dialect == Dialect::Sqlite {
        let sep = if storage.url.contains('?') { '&' } else { '?' };
        return Ok(if create && !storage.url.contains("mode=") {
            format!("{}{sep}mode=rwc", storage.url)
        } else {
            storage.url.clone()
        });
    }
    let mut url = url::Url::parse(&storage.url)
        .map_err(|e| Error::usage(format!("{}: {e}", storage.location())))?;
    if let Some(password) = password {
        url.set_password(Some(password)).map_err(|()| {
            Error::usage(format!("{}: cannot hold a password", storage.location()))
        })?;
    }
    Ok(url.to_string())
}

impl Db {
    /// Connects and authenticates (one round trip: `SELECT 1`); `create`
    /// lets SQLite create a missing file (apply).
    pub(crate) async fn connect(
        storage: &DatabaseStorage,
        timeouts: Timeouts,
        create: bool,
    ) -> Result<Db> {
        install_default_drivers();
        let password = password(storage);
        let url = connect_url(storage, password.as_deref(), create)?;
        // No statement in any log: some carry a generated password.
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| Error::usage(scrub(&e.to_string(), password.as_deref())))?
            .log_statements(log::LevelFilter::Off)
            .log_slow_statements(log::LevelFilter::Off, Duration::ZERO);
        // Three at most: a PostgreSQL purge counts on one while its two
        // lanes delete on the others (`Db::lanes`).
        let db = Db {
            pool: AnyPoolOptions::new()
                .max_connections(3)
                .acquire_timeout(timeouts.attempt())
                .connect_lazy_with(options),
            sql: Sql::new(storage.dialect, &storage.table),
            storage: storage.clone(),
            timeouts,
            password,
            created_at_indexed: std::sync::OnceLock::new(),
        };
        db.scalar_i64("connect", "SELECT 1").await?;
        Ok(db)
    }

    /// The pool, for a transaction.
    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// The run's time limits.
    pub(crate) fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The limit of one statement (the run's budget of one call).
    pub(crate) fn limit(&self) -> Duration {
        self.timeouts.call
    }

    /// Runs one statement's future under the time limit; `what` names it
    /// in the error (never the password).
    pub(crate) async fn timed<T>(
        &self,
        what: &str,
        work: impl Future<Output = std::result::Result<T, sqlx::Error>>,
    ) -> Result<T> {
        match tokio::time::timeout(self.limit(), work).await {
            Ok(Ok(value)) => Ok(value),
            Ok(Err(e)) => Err(self.error(what, &e)),
            Err(_) => Err(Error::cloud_with_hint(
                format!(
                    "{what} on {}: no answer within {}",
                    self.storage.location(),
                    Timeouts::show(self.limit())
                ),
                "a slow database: raise --timeout, or look for a lock held on the table",
            )),
        }
    }

    /// A driver error as one line, with a hint where the cause is known.
    pub(crate) fn error(&self, what: &str, e: &sqlx::Error) -> Error {
        let detail = scrub(&e.to_string(), self.password.as_deref());
        let message = format!("{what} on {}: {detail}", self.storage.location());
        let lower = detail.to_lowercase();
        let hint = if lower.contains("password") || lower.contains("access denied") {
            Some(format!(
                "the password comes from {} (never from the spec)",
                self.storage.password_env
            ))
        } else if lower.contains("connection refused") || lower.contains("timed out") {
            Some("is the database server running and listening there?".to_string())
        } else {
            None
        };
        match hint {
            Some(hint) => Error::cloud_with_hint(message, hint),
            None => Error::cloud(message),
        }
    }

    /// One integer from one row (`SELECT COUNT(*)`...).
    pub(crate) async fn scalar_i64(&self, what: &str, statement: &str) -> Result<i64> {
        let row = self
            .timed(what, sqlx::query(statement).fetch_one(&self.pool))
            .await?;
        self.get(what, &row, 0)
    }

    /// Column `index` of a row, a decoding problem as an error.
    pub(crate) fn get<'r, T>(
        &self,
        what: &str,
        row: &'r sqlx::any::AnyRow,
        index: usize,
    ) -> Result<T>
    where
        T: sqlx::Decode<'r, sqlx::Any> + sqlx::Type<sqlx::Any>,
    {
        row.try_get(index).map_err(|e| self.error(what, &e))
    }

    /// Closes the connections (the server sees a clean goodbye).
    pub(crate) async fn close(&self) {
        self.pool.close().await;
    }
}

/// `text` with every occurrence of the password (and its URL-encoded
/// form) replaced.
pub(crate) fn scrub(text: &str, password: Option<&str>) -> String {
    let Some(password) = password.filter(|p| !p.is_empty()) else {
        return text.to_string();
    };
    // The forms a URL may carry it in: as the userinfo holds it, and as a
    // query value.
    let in_userinfo = url::Url::parse("postgres://u@h/").ok().and_then(|mut u| {
        u.set_password(Some(password)).ok()?;
        u.password().map(str::to_string)
    });
    let in_query: String = url::form_urlencoded::byte_serialize(password.as_bytes()).collect();
    let mut out = text.replace(password, "***");
    for form in in_userinfo.iter().chain([&in_query]) {
        out = out.replace(form.as_str(), "***");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scrub_hides_the_password_plain_and_encoded() {
        assert_eq!(
            scrub("bad p@ss! and p%40ss%21", Some("p@ss!")),
            "bad *** and ***"
        );
        assert_eq!(scrub("nothing", None), "nothing");
    }
}
