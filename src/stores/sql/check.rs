//! `check` on a database: connect and authenticate (with the server's
//! version), a write/read/delete probe inside a transaction that is rolled
//! back (nothing is left behind, whatever happens), the table and the
//! seed's columns, the unique `trace_id` and the `created_at` indexes
//! (without the latter every purge and count reads the whole table),
//! whether `data` is compressed at rest (`compression`), how the table is
//! partitioned (`partitions`), and what the
//! connecting user may do beyond SELECT, INSERT and DELETE.

use std::time::Instant;

use super::Db;
use super::compression::{self, COMPRESSION};
use super::inspect::Index;
use super::partitions::{self, PARTITIONING};
use crate::check::{CheckResult, skip_all, timed};
use crate::error::Result;
use crate::spec::DatabaseStorage;
use crate::transport::timeouts::Timeouts;

/// The columns the seed's migration creates.
pub(crate) const SEED_COLUMNS: [&str; 5] = ["id", "trace_id", "data", "created_at", "updated_at"];

const CONNECT: &str = "sql.connect";
const PROBE: &str = "sql.probe";
const TABLE: &str = "sql.table";
const UNIQUE: &str = "sql.index.trace_id";
const CREATED_AT: &str = "sql.index.created_at";
const PRIVILEGES: &str = "sql.privileges";

/// Every check of a database environment, in order.
pub(crate) async fn run(storage: &DatabaseStorage, timeouts: Timeouts) -> Vec<CheckResult> {
    let started = Instant::now();
    let db = match Db::connect(storage, timeouts, false).await {
        Ok(db) => db,
        Err(e) => {
            let mut out = vec![CheckResult::from_error(CONNECT, &e).took(started)];
            out.extend(skip_all(
                &[
                    TABLE,
                    UNIQUE,
                    CREATED_AT,
                    PROBE,
                    COMPRESSION,
                    PARTITIONING,
                    PRIVILEGES,
                ],
                "no connection",
            ));
            return out;
        }
    };
    let connect = match db.version().await {
        Ok(version) => CheckResult::pass(
            CONNECT,
            format!(
                "connected to {}: {}",
                storage.location(),
                first_words(&version)
            ),
        ),
        Err(e) => CheckResult::from_error(CONNECT, &e),
    }
    .took(started);
    let mut out = vec![connect];
    let table = timed(table(&db)).await;
    let present = table.status != crate::check::Status::Fail;
    out.push(table);
    if present {
        let started = Instant::now();
        match db.indexes().await {
            Ok(indexes) => {
                out.push(unique_index(&indexes).took(started));
                out.push(created_at_index(&indexes).took(started));
            }
            Err(e) => {
                out.push(CheckResult::from_error(UNIQUE, &e));
                out.push(CheckResult::from_error(CREATED_AT, &e));
            }
        }
        out.push(timed(probe(&db)).await);
        out.push(timed(data_at_rest(&db)).await);
        out.push(timed(partitioning(&db)).await);
    } else {
        out.extend(skip_all(
            &[UNIQUE, CREATED_AT, PROBE, COMPRESSION, PARTITIONING],
            "no table",
        ));
    }
    out.push(timed(privileges(&db)).await);
    db.close().await;
    out
}

/// "PostgreSQL 15.18 (Debian ...) on x86_64..." → its first two words.
fn first_words(version: &str) -> String {
    version
        .split_whitespace()
        .take(2)
        .collect::<Vec<_>>()
        .join(" ")
}

async fn table(db: &Db) -> CheckResult {
    let columns = match db.columns().await {
        Ok(columns) => columns,
        Err(e) => return CheckResult::from_error(TABLE, &e),
    };
    if columns.is_empty() {
        return CheckResult::fail(TABLE, format!("no table {}", db.sql.name))
            .with_hint("`chronotrace-ops apply` creates it as the seed's migration does");
    }
    let missing: Vec<&str> = SEED_COLUMNS
        .iter()
        .copied()
        .filter(|c| !columns.iter().any(|have| have.eq_ignore_ascii_case(c)))
        .collect();
    if missing.is_empty() {
        CheckResult::pass(
            TABLE,
            format!("table {} with the seed's columns", db.sql.name),
        )
    } else {
        CheckResult::fail(
            TABLE,
            format!(
                "table {} lacks the column(s) {}",
                db.sql.name,
                missing.join(", ")
            ),
        )
        .with_hint(
            "the seed's migration: id, trace_id (unique), data, created_at (indexed), updated_at",
        )
    }
}

pub(crate) fn has_unique_trace_id(indexes: &[Index]) -> bool {
    indexes
        .iter()
        .any(|i| i.unique && i.columns.len() == 1 && i.leads_with("trace_id"))
}

pub(crate) fn has_created_at_index(indexes: &[Index]) -> bool {
    indexes.iter().any(|i| i.leads_with("created_at"))
}

fn unique_index(indexes: &[Index]) -> CheckResult {
    if has_unique_trace_id(indexes) {
        CheckResult::pass(UNIQUE, "trace_id is unique")
    } else {
        CheckResult::warn(
            UNIQUE,
            "no unique index on trace_id: a trace id can be stored twice",
        )
        .with_hint("the seed's migration declares trace_id unique; add the index in a migration")
    }
}

fn created_at_index(indexes: &[Index]) -> CheckResult {
    match indexes.iter().find(|i| i.leads_with("created_at")) {
        Some(index) => CheckResult::pass(
            CREATED_AT,
            format!("created_at is indexed ({})", index.name),
        ),
        None => CheckResult::fail(
            CREATED_AT,
            "no index on created_at: every purge, verify and count reads the whole table",
        )
        .with_hint("`chronotrace-ops apply` creates it (the seed's migration declares it)"),
    }
}

/// Inserts, reads back and deletes a probe row inside a transaction, then
/// rolls it back: the table is as before even if a step fails.
async fn probe(db: &Db) -> CheckResult {
    match probe_steps(db).await {
        Ok(bytes) => CheckResult::pass(
            PROBE,
            format!("insert, read ({bytes} bytes) and delete in a transaction, rolled back"),
        ),
        Err(e) => CheckResult::from_error(PROBE, &e),
    }
}

async fn probe_steps(db: &Db) -> Result<i64> {
    const WHAT: &str = "the write probe";
    let id = format!("chronotrace-ops-probe-{}", std::process::id());
    let mut tx = db.timed(WHAT, db.pool().begin()).await?;
    let insert = db.sql.probe_insert();
    db.timed(WHAT, sqlx::query(&insert).bind(&id).execute(&mut *tx))
        .await?;
    let read = db.sql.probe_read();
    let row = db
        .timed(WHAT, sqlx::query(&read).bind(&id).fetch_one(&mut *tx))
        .await?;
    let bytes: i64 = db.get(WHAT, &row, 0)?;
    let delete = db.sql.probe_delete();
    db.timed(WHAT, sqlx::query(&delete).bind(&id).execute(&mut *tx))
        .await?;
    db.timed(WHAT, tx.rollback()).await?;
    Ok(bytes)
}

async fn data_at_rest(db: &Db) -> CheckResult {
    match db.data_at_rest().await {
        Ok(at_rest) => compression::judge(&db.sql.table, &at_rest),
        Err(e) => CheckResult::from_error(COMPRESSION, &e),
    }
}

async fn partitioning(db: &Db) -> CheckResult {
    match db.layout().await {
        Ok(layout) => partitions::judge(layout.as_ref()),
        Err(e) => CheckResult::from_error(PARTITIONING, &e),
    }
}

async fn privileges(db: &Db) -> CheckResult {
    match db.privileges().await {
        Ok(None) => CheckResult::skip(PRIVILEGES, "SQLite has no users: the file's permissions decide"),
        Ok(Some(p)) if p.superuser => CheckResult::warn(
            PRIVILEGES,
            format!(
                "the connecting user is a superuser or has global privileges ({})",
                listed(&p.extra)
            ),
        )
        .with_hint("the app needs SELECT, INSERT and DELETE on the table only: `apply` creates such a user"),
        Ok(Some(p)) if !p.extra.is_empty() => CheckResult::warn(
            PRIVILEGES,
            format!(
                "the connecting user may do more than SELECT, INSERT, DELETE: {}",
                listed(&p.extra)
            ),
        )
        .with_hint("the app needs SELECT, INSERT and DELETE on the table only: `apply` creates such a user"),
        Ok(Some(_)) => CheckResult::pass(PRIVILEGES, "SELECT, INSERT, DELETE only"),
        Err(e) => CheckResult::from_error(PRIVILEGES, &e),
    }
}

/// The first few privileges, and how many more (a superuser has dozens).
fn listed(privileges: &[String]) -> String {
    const SHOWN: usize = 5;
    let mut text = privileges
        .iter()
        .take(SHOWN)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if privileges.len() > SHOWN {
        text.push_str(&format!(" and {} more", privileges.len() - SHOWN));
    }
    text
}
