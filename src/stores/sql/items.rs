//! The seed's table rows one at a time (`stores::items`): listed by
//! primary key (a keyset page: rows deleted meanwhile never shift it),
//! dated by `created_at`. A write inserts the row as the seed's store does
//! and reads `data` back; a removal deletes the row by primary key only
//! while its `data` is still, byte for byte, what was copied (one
//! statement: its own transaction).

#![warn(unreachable_pub)]

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::Db;
use crate::bundle::Format;
use crate::error::{Error, Result};
use crate::spec::database::Dialect;
use crate::stores::items::{Held, ItemPage, ReadCopy, Removed, TraceItems, TraceRef, Written};

/// Rows a page reads.
const PAGE_ROWS: usize = 500;

/// The text form every server reads and writes `created_at` in (UTC).
const STAMP: &str = "%Y-%m-%d %H:%M:%S";

/// A table's traces.
#[derive(Debug)]
pub(crate) struct TableItems {
    db: Db,
}

impl TableItems {
    pub(crate) fn new(db: Db) -> TableItems {
        TableItems { db }
    }

    fn dialect(&self) -> Dialect {
        self.db.sql.dialect
    }

    fn p(&self, n: usize) -> String {
        self.db.sql.param(n)
    }

    /// `created_at` as `YYYY-MM-DD HH:MM:SS` text.
    fn stamp(&self) -> &'static str {
        match self.dialect() {
            Dialect::Postgres => "to_char(created_at, 'YYYY-MM-DD HH24:MI:SS')",
            Dialect::Mysql => "DATE_FORMAT(created_at, '%Y-%m-%d %H:%i:%s')",
            Dialect::Sqlite => "strftime('%Y-%m-%d %H:%M:%S', created_at)",
        }
    }

    /// A bound stamp as a timestamp value.
    fn timestamp(&self, n: usize) -> String {
        match self.dialect() {
            Dialect::Postgres => format!("CAST(${n} AS timestamp)"),
            Dialect::Mysql | Dialect::Sqlite => "?".to_string(),
        }
    }

    /// `data` compared byte for byte with bound parameter `n` (MySQL's
    /// text comparison ignores case and trailing spaces).
    fn data_is(&self, n: usize) -> String {
        match self.dialect() {
            Dialect::Mysql => "CAST(data AS BINARY) = CAST(? AS BINARY)".to_string(),
            Dialect::Postgres | Dialect::Sqlite => format!("data = {}", self.p(n)),
        }
    }

    async fn page(&self, before: Option<NaiveDate>, cursor: Option<String>) -> Result<ItemPage> {
        const WHAT: &str = "listing rows";
        let after: i64 = cursor.as_deref().and_then(|c| c.parse().ok()).unwrap_or(0);
        let filter = if before.is_some() {
            format!(" AND created_at < {}", self.timestamp(2))
        } else {
            String::new()
        };
        let statement = format!(
            "SELECT {id}, trace_id, {stamp}, {bytes} FROM {t} WHERE id > {p1}{filter} AND created_at IS NOT NULL ORDER BY id LIMIT {PAGE_ROWS}",
            id = self.db.sql.int("id"),
            stamp = self.stamp(),
            bytes = self
                .db
                .sql
                .int(&format!("COALESCE({}, 0)", self.db.sql.bytes())),
            t = self.db.sql.table,
            p1 = self.p(1),
        );
        let mut query = sqlx::query(&statement).bind(after);
        if let Some(before) = before {
            query = query.bind(format!("{before} 00:00:00"));
        }
        let rows = self.db.timed(WHAT, query.fetch_all(self.db.pool())).await?;
        let mut traces = Vec::with_capacity(rows.len());
        let mut last = None;
        for row in &rows {
            let id: i64 = self.db.get(WHAT, row, 0)?;
            last = Some(id);
            let trace_id: String = self.db.get(WHAT, row, 1)?;
            let stamp: String = self.db.get(WHAT, row, 2)?;
            let size: i64 = self.db.get(WHAT, row, 3)?;
            let Ok(created) = NaiveDateTime::parse_from_str(&stamp, STAMP) else {
                continue;
            };
            traces.push(TraceRef {
                id: trace_id,
                created: created.and_utc(),
                size: size.max(0) as u64,
                handle: id.to_string(),
            });
        }
        Ok(ItemPage {
            traces,
            next: (rows.len() == PAGE_ROWS)
                .then_some(last)
                .flatten()
                .map(|l| l.to_string()),
        })
    }

    /// `data` of the row whose `column` is the bound value.
    async fn data_where(&self, column: &str, value: String) -> Result<Option<Vec<u8>>> {
        const WHAT: &str = "reading a row";
        let statement = format!(
            "SELECT data FROM {} WHERE {column} = {}",
            self.db.sql.table,
            self.p(1)
        );
        let query = if column == "id" {
            let id: i64 = value
                .parse()
                .map_err(|_| Error::cloud(format!("row id {value} is not a number")))?;
            sqlx::query(&statement).bind(id)
        } else {
            sqlx::query(&statement).bind(value)
        };
        let row = self
            .db
            .timed(WHAT, query.fetch_optional(self.db.pool()))
            .await?;
        let Some(row) = row else { return Ok(None) };
        // MySQL hands a LONGTEXT over as bytes (the driver types it BLOB).
        if self.dialect() == Dialect::Mysql {
            return self.db.get(WHAT, &row, 0);
        }
        let data: Option<String> = self.db.get(WHAT, &row, 0)?;
        Ok(data.map(String::into_bytes))
    }

    async fn insert(&self, id: &str, created: DateTime<Utc>, bytes: &[u8]) -> Result<Written> {
        const WHAT: &str = "inserting a row";
        let text = std::str::from_utf8(bytes).map_err(|_| {
            Error::cloud(format!(
                "{id}: the trace is not text, and the seed's `data` column holds JSON text"
            ))
        })?;
        let stamp = created.format(STAMP).to_string();
        let statement = format!(
            "INSERT INTO {} (trace_id, data, created_at, updated_at) VALUES ({}, {}, {}, {})",
            self.db.sql.table,
            self.p(1),
            self.p(2),
            self.timestamp(3),
            self.timestamp(4),
        );
        self.db
            .timed(
                WHAT,
                sqlx::query(&statement)
                    .bind(id)
                    .bind(text)
                    .bind(stamp.clone())
                    .bind(stamp)
                    .execute(self.db.pool()),
            )
            .await?;
        match self.data_where("trace_id", id.to_string()).await? {
            Some(back) if back == bytes => Ok(Written::Confirmed),
            back => Err(Error::cloud(format!(
                "{}: row {id} read back {} instead of the {} bytes written",
                self.db.storage.location(),
                back.map_or("missing".to_string(), |b| format!(
                    "{} bytes that differ",
                    b.len()
                )),
                bytes.len()
            ))),
        }
    }

    async fn delete(&self, trace: &TraceRef, read: &ReadCopy) -> Result<Removed> {
        const WHAT: &str = "deleting a row";
        let Ok(id) = trace.handle.parse::<i64>() else {
            return Ok(Removed::Changed);
        };
        let Ok(text) = std::str::from_utf8(&read.bytes) else {
            return Ok(Removed::Changed);
        };
        let statement = format!(
            "DELETE FROM {} WHERE id = {} AND {}",
            self.db.sql.table,
            self.p(1),
            self.data_is(2)
        );
        let done = self
            .db
            .timed(
                WHAT,
                sqlx::query(&statement)
                    .bind(id)
                    .bind(text)
                    .execute(self.db.pool()),
            )
            .await?;
        Ok(if done.rows_affected() == 1 {
            Removed::Removed
        } else {
            Removed::Changed
        })
    }
}

impl TraceItems for TableItems {
    fn location(&self) -> String {
        self.db.storage.location()
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
            Ok(self
                .data_where("id", trace.handle.clone())
                .await?
                .map(|bytes| ReadCopy {
                    bytes,
                    version: None,
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
            Ok(match self.data_where("trace_id", id.to_string()).await? {
                None => Held::Absent,
                Some(found) if found == bytes => Held::Same,
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
        self.insert(id, created, bytes).boxed_local()
    }

    fn remove<'a>(
        &'a self,
        trace: &'a TraceRef,
        read: &'a ReadCopy,
    ) -> LocalBoxFuture<'a, Result<Removed>> {
        self.delete(trace, read).boxed_local()
    }
}
