//! Whether the traces' `data` (the seed stores each trace as JSON text)
//! is compressed at rest, the seed's third database defect. PostgreSQL:
//! stored against raw bytes over a sample of rows (`pg_column_size`
//! against `octet_length`: TOAST compresses only values over about 2 KB);
//! MySQL/MariaDB: the table's row format and page compression and the
//! column's own `COMPRESSED` attribute from the catalog; SQLite stores
//! values as written. A warning, never a failure: the app may compress
//! before it stores.

use super::Db;
use crate::check::CheckResult;
use crate::error::Result;
use crate::spec::database::Dialect;

pub(crate) const COMPRESSION: &str = "sql.data-compression";

/// Rows sampled on PostgreSQL: any rows, no ordering (no sort, no index
/// needed), enough for an average.
const SAMPLE_ROWS: u32 = 1000;

/// Stored at most this share of the raw bytes counts as compressed.
const COMPRESSED_AT_MOST: f64 = 0.9;

/// What the server says about the `data` column's storage.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum AtRest {
    /// A sample: rows, raw bytes, bytes as stored.
    Sampled { rows: u64, raw: u64, stored: u64 },
    /// The catalog: compressed or not, and how it says so.
    Declared { compressed: bool, how: String },
    /// SQLite: values as written.
    AsWritten,
}

/// The judgement of the storage (pure).
pub(crate) fn judge(table: &str, at_rest: &AtRest) -> CheckResult {
    const HINT_APP: &str = "compress the JSON before storing it (gzip in the storage class) or keep traces in object storage";
    match at_rest {
        AtRest::Sampled { rows: 0, .. } => {
            CheckResult::pass(COMPRESSION, "no rows yet to judge data's compression")
        }
        AtRest::Sampled { rows, raw, stored } => {
            let share = *stored as f64 / (*raw).max(1) as f64;
            let average = raw / rows;
            if share <= COMPRESSED_AT_MOST {
                CheckResult::pass(
                    COMPRESSION,
                    format!(
                        "data compressed at rest: {:.0}% of its {average} bytes a row (sample of {rows})",
                        share * 100.0
                    ),
                )
            } else {
                CheckResult::warn(
                    COMPRESSION,
                    format!(
                        "data stored as uncompressed JSON text: {average} bytes a row, {:.0}% of it on disk (sample of {rows})",
                        share * 100.0
                    ),
                )
                .with_hint(format!("PostgreSQL compresses only values over about 2 KB; {HINT_APP}; `ALTER TABLE {table} ALTER COLUMN data SET COMPRESSION lz4` for large ones"))
            }
        }
        AtRest::Declared {
            compressed: true,
            how,
        } => CheckResult::pass(COMPRESSION, format!("data compressed at rest ({how})")),
        AtRest::Declared {
            compressed: false,
            how,
        } => CheckResult::warn(
            COMPRESSION,
            format!("data stored as uncompressed JSON text ({how})"),
        )
        .with_hint(format!(
            "`ALTER TABLE {table} ROW_FORMAT=COMPRESSED` (InnoDB), PAGE_COMPRESSED=1 (MariaDB), or {HINT_APP}"
        )),
        AtRest::AsWritten => CheckResult::skip(
            COMPRESSION,
            "SQLite stores data as written: compression is the app's",
        ),
    }
}

/// MySQL/MariaDB: compressed when the row format is, pages are, or the
/// column carries MariaDB's `COMPRESSED` attribute.
pub(crate) fn declared(row_format: &str, create_options: &str, column_type: &str) -> AtRest {
    let options = create_options.to_ascii_lowercase();
    let compressed_rows = row_format.eq_ignore_ascii_case("compressed");
    let compressed_pages = options.contains("page_compressed")
        && !options.contains("page_compressed='off'")
        && !options.contains("page_compressed=0");
    let compressed_column = column_type.to_ascii_lowercase().contains("compressed");
    let mut how = format!("ROW_FORMAT={row_format}");
    if compressed_pages {
        how.push_str(", page compression");
    }
    if compressed_column {
        how.push_str(", a COMPRESSED column");
    }
    AtRest::Declared {
        compressed: compressed_rows || compressed_pages || compressed_column,
        how,
    }
}

impl Db {
    /// How `data` is kept at rest.
    pub(crate) async fn data_at_rest(&self) -> Result<AtRest> {
        const WHAT: &str = "reading how data is stored";
        let table = &self.sql.table;
        match self.sql.dialect {
            Dialect::Postgres => {
                let statement = format!(
                    "SELECT CAST(COUNT(*) AS bigint), CAST(COALESCE(SUM(octet_length(data)), 0) AS bigint), CAST(COALESCE(SUM(pg_column_size(data)), 0) AS bigint) FROM (SELECT data FROM {table} LIMIT {SAMPLE_ROWS}) s"
                );
                let row = self
                    .timed(WHAT, sqlx::query(&statement).fetch_one(self.pool()))
                    .await?;
                let n = |i| -> Result<u64> {
                    Ok(u64::try_from(self.get::<i64>(WHAT, &row, i)?).unwrap_or(0))
                };
                Ok(AtRest::Sampled {
                    rows: n(0)?,
                    raw: n(1)?,
                    stored: n(2)?,
                })
            }
            Dialect::Mysql => {
                let statement = "SELECT CAST(COALESCE(t.ROW_FORMAT, '') AS CHAR), CAST(COALESCE(t.CREATE_OPTIONS, '') AS CHAR), CAST(COALESCE(c.COLUMN_TYPE, '') AS CHAR(255)) FROM information_schema.TABLES t LEFT JOIN information_schema.COLUMNS c ON c.TABLE_SCHEMA = t.TABLE_SCHEMA AND c.TABLE_NAME = t.TABLE_NAME AND c.COLUMN_NAME = 'data' WHERE t.TABLE_SCHEMA = DATABASE() AND t.TABLE_NAME = ?";
                let row = self
                    .timed(
                        WHAT,
                        sqlx::query(statement)
                            .bind(&self.sql.name)
                            .fetch_one(self.pool()),
                    )
                    .await?;
                Ok(declared(
                    &self.get::<String>(WHAT, &row, 0)?,
                    &self.get::<String>(WHAT, &row, 1)?,
                    &self.get::<String>(WHAT, &row, 2)?,
                ))
            }
            Dialect::Sqlite => Ok(AtRest::AsWritten),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    /// The judgement of a PostgreSQL sample.
    fn sampled(rows: u64, raw: u64, stored: u64) -> CheckResult {
        judge("t", &AtRest::Sampled { rows, raw, stored })
    }

    #[test]
    fn small_json_rows_stored_as_written_are_a_warning() {
        let result = sampled(1000, 200_000, 201_000);
        assert_eq!(result.status, Status::Warn);
        assert!(
            result.message.contains("200 bytes a row"),
            "{}",
            result.message
        );
    }

    #[test]
    fn toasted_rows_pass_with_their_share() {
        let result = sampled(10, 100_000, 12_000);
        assert_eq!(result.status, Status::Pass);
        assert!(result.message.contains("12%"), "{}", result.message);
    }

    #[test]
    fn an_empty_table_passes() {
        assert_eq!(sampled(0, 0, 0).status, Status::Pass);
    }

    #[test]
    fn mysql_compression_is_read_from_the_row_format_pages_or_column() {
        let plain = declared("Dynamic", "", "longtext");
        assert_eq!(judge("t", &plain).status, Status::Warn);
        for compressed in [
            declared("Compressed", "row_format=COMPRESSED", "longtext"),
            declared("Dynamic", "`PAGE_COMPRESSED`=1", "longtext"),
            declared("Dynamic", "", "longtext /*M!100301 COMPRESSED*/"),
        ] {
            assert_eq!(
                judge("t", &compressed).status,
                Status::Pass,
                "{compressed:?}"
            );
        }
        let off = declared("Dynamic", "page_compressed='OFF'", "longtext");
        assert_eq!(judge("t", &off).status, Status::Warn);
    }

    #[test]
    fn sqlite_is_skipped_not_judged() {
        assert_eq!(judge("t", &AtRest::AsWritten).status, Status::Skip);
    }
}
