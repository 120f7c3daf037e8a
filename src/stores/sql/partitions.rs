//! How the traces table is partitioned, as the server's catalog says
//! (PostgreSQL declarative partitions, MySQL/MariaDB `PARTITION BY
//! RANGE`): the partition key, each partition's bounds, and the table's
//! bytes over all of them; and `check`'s judgement of it
//! (`sql.partitioning`): a table past `PARTITION_ADVISED_BYTES` that is
//! not partitioned by `created_at` warns, since every purge of it deletes
//! row by row what dropping a partition would remove at once.

use super::Db;
use crate::check::CheckResult;
use crate::error::Result;
use crate::spec::database::Dialect;

/// The check's id.
pub(crate) const PARTITIONING: &str = "sql.partitioning";

/// Past this size (rows and indexes, all partitions), a table not
/// partitioned by `created_at` warns: 10 GiB.
pub(crate) const PARTITION_ADVISED_BYTES: u64 = 10 * 1024 * 1024 * 1024;

/// How many partitions the check names (a monthly layout has dozens).
const NAMED: usize = 4;

/// The table's partitioning.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Layout {
    /// The partition key as the server shows it (`RANGE (created_at)`);
    /// `None`: not partitioned.
    pub(crate) key: Option<String>,
    /// Each partition and its bounds, in the server's order.
    pub(crate) partitions: Vec<Partition>,
    /// Rows and indexes, over all partitions.
    pub(crate) bytes: u64,
}

/// One partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Partition {
    /// PostgreSQL: as `regclass` prints it (quoted where needed, with its
    /// schema when off the search path), ready for a statement.
    pub(crate) name: String,
    /// Its bounds as the server writes them (`FOR VALUES FROM (…) TO (…)`,
    /// `VALUES LESS THAN (…)`).
    pub(crate) bounds: String,
}

impl Layout {
    /// The partitions whose every row is before `cutoff` (the `YYYY-MM-DD
    /// HH:MM:SS` text the purge compares with): their upper bound at or
    /// before it. A bound on the partition function of `created_at`
    /// (MySQL `UNIX_TIMESTAMP(created_at)`, …) is compared with that
    /// function of the cutoff, `cutoff_key`, as the server computed it.
    /// None when the key is not `created_at` alone (nor a function of it
    /// that never decreases), nor for a default partition or one open
    /// above (MAXVALUE); never every partition (MySQL refuses to drop the
    /// last one, and the table would take no row after).
    pub(crate) fn wholly_before(&self, cutoff: &str, cutoff_key: Option<i64>) -> Vec<&Partition> {
        if self.key_kind().is_none() {
            return Vec::new();
        }
        let mut past: Vec<&Partition> = self
            .partitions
            .iter()
            .filter(|p| match upper_bound(&p.bounds) {
                Some(Bound::Text(upper)) => upper <= cutoff,
                Some(Bound::Key(upper)) => cutoff_key.is_some_and(|key| upper <= key),
                None => false,
            })
            .collect();
        if past.len() == self.partitions.len() {
            past.pop();
        }
        past
    }

    /// What the partition key is, when a partition's bound says whether
    /// its rows are all before a time: `created_at` itself (PostgreSQL
    /// `RANGE (created_at)`, MySQL `RANGE COLUMNS (created_at)`), or a
    /// MySQL function of it that never decreases (`RANGE
    /// (UNIX_TIMESTAMP(created_at))`, `TO_DAYS`, `TO_SECONDS`, `YEAR`).
    pub(crate) fn key_kind(&self) -> Option<KeyKind> {
        let key: String = self
            .key
            .as_deref()?
            .chars()
            .filter(|c| !matches!(c, '`' | '"' | ' '))
            .collect::<String>()
            .to_ascii_lowercase();
        match key.as_str() {
            "range(created_at)" | "rangecolumns(created_at)" => Some(KeyKind::CreatedAt),
            _ => MONOTONE_FUNCTIONS
                .iter()
                .find(|f| key == format!("range({}(created_at))", f.to_ascii_lowercase()))
                .map(|f| KeyKind::Function(f)),
        }
    }

    /// Whether the key is on `created_at` (what lets a purge drop
    /// partitions wholly past the cutoff).
    pub(crate) fn by_created_at(&self) -> bool {
        self.key
            .as_deref()
            .is_some_and(|k| k.to_ascii_lowercase().contains("created_at"))
    }
}

/// The MySQL/MariaDB partition functions of `created_at` whose bounds
/// say which rows are before a time: each never decreases as time goes
/// on, so a row under a bound at or below the function of the cutoff is
/// before the cutoff.
const MONOTONE_FUNCTIONS: [&str; 4] = ["UNIX_TIMESTAMP", "TO_DAYS", "TO_SECONDS", "YEAR"];

/// What the partition key is (see `Layout::key_kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum KeyKind {
    /// `created_at` itself: bounds are times, compared as text.
    CreatedAt,
    /// A MySQL function of it: bounds are integers, compared with the
    /// function of the cutoff.
    Function(&'static str),
}

/// A partition's upper bound.
#[derive(Debug, PartialEq, Eq)]
enum Bound<'a> {
    /// A time as text (`2026-11-01 00:00:00`).
    Text(&'a str),
    /// A MySQL partition function's value.
    Key(i64),
}

impl Db {
    /// The table's partitioning (`None`: SQLite, which has none).
    pub(crate) async fn layout(&self) -> Result<Option<Layout>> {
        const WHAT: &str = "reading the table's partitions";
        match self.sql.dialect {
            Dialect::Sqlite => Ok(None),
            Dialect::Postgres => {
                // to_regclass: NULL (no rows) for a table that is not there.
                let table = &self.sql.table;
                let key = self
                    .timed(
                        WHAT,
                        sqlx::query("SELECT pg_get_partkeydef(c.oid) FROM pg_class c WHERE c.oid = to_regclass($1)")
                            .bind(table)
                            .fetch_optional(self.pool()),
                    )
                    .await?;
                let key: Option<String> = match key {
                    Some(row) => self.get(WHAT, &row, 0)?,
                    None => None,
                };
                let rows = self
                    .timed(
                        WHAT,
                        sqlx::query("SELECT CAST(CAST(c.oid AS regclass) AS text), pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = to_regclass($1) ORDER BY 2")
                            .bind(table)
                            .fetch_all(self.pool()),
                    )
                    .await?;
                let mut partitions = Vec::with_capacity(rows.len());
                for row in &rows {
                    partitions.push(Partition {
                        name: self.get(WHAT, row, 0)?,
                        bounds: self.get(WHAT, row, 1)?,
                    });
                }
                let bytes = self
                    .timed(
                        WHAT,
                        sqlx::query("SELECT CAST(COALESCE(SUM(pg_total_relation_size(relid)), 0) AS bigint) FROM pg_partition_tree(to_regclass($1))")
                            .bind(table)
                            .fetch_one(self.pool()),
                    )
                    .await?;
                let bytes: i64 = self.get(WHAT, &bytes, 0)?;
                Ok(Some(Layout {
                    key,
                    partitions,
                    bytes: u64::try_from(bytes).unwrap_or(0),
                }))
            }
            Dialect::Mysql => {
                // One row, its partition NULL, for a table not partitioned.
                let rows = self
                    .timed(
                        WHAT,
                        sqlx::query("SELECT CAST(partition_name AS CHAR), CAST(CONCAT(partition_method, ' (', partition_expression, ')') AS CHAR(512)), CAST(partition_description AS CHAR(512)), CAST(COALESCE(data_length, 0) + COALESCE(index_length, 0) AS SIGNED) FROM information_schema.partitions WHERE table_schema = DATABASE() AND table_name = ? ORDER BY partition_ordinal_position")
                            .bind(&self.sql.name)
                            .fetch_all(self.pool()),
                    )
                    .await?;
                let mut layout = Layout::default();
                for row in &rows {
                    let bytes: i64 = self.get(WHAT, row, 3)?;
                    layout.bytes += u64::try_from(bytes).unwrap_or(0);
                    let Some(name) = self.get::<Option<String>>(WHAT, row, 0)? else {
                        continue;
                    };
                    layout.key = self.get(WHAT, row, 1)?;
                    let below: Option<String> = self.get(WHAT, row, 2)?;
                    layout.partitions.push(Partition {
                        name,
                        bounds: format!("VALUES LESS THAN ({})", below.unwrap_or_default()),
                    });
                }
                Ok(Some(layout))
            }
        }
    }
}

/// A range partition's upper bound: PostgreSQL's `FOR VALUES FROM (…)
/// TO ('2026-11-01 00:00:00')` → that time; MySQL's `VALUES LESS THAN
/// ('2026-11-01 00:00:00')` → that time, `VALUES LESS THAN (1793491200)`
/// → that number. None for MAXVALUE, a default partition or anything
/// else.
fn upper_bound(bounds: &str) -> Option<Bound<'_>> {
    if let Some((_, to)) = bounds.split_once(" TO ('") {
        let (upper, rest) = to.split_once("')")?;
        // Only a whole bound: `…')` and nothing but its closing after.
        return (rest.is_empty() && upper.len() >= 10).then_some(Bound::Text(upper));
    }
    let below = bounds
        .strip_prefix("VALUES LESS THAN (")?
        .strip_suffix(')')?;
    match below.strip_prefix('\'') {
        Some(quoted) => {
            let upper = quoted.strip_suffix('\'')?;
            (upper.len() >= 10 && !upper.contains('\'')).then_some(Bound::Text(upper))
        }
        None => below.parse().ok().map(Bound::Key),
    }
}

impl Db {
    /// The table's layout and, of its partitions, those wholly before
    /// `before` (the purge's cutoff text); none on SQLite or for a table
    /// not partitioned by `created_at`.
    pub(crate) async fn wholly_past(
        &self,
        before: &str,
    ) -> Result<(Option<Layout>, Vec<Partition>)> {
        let Some(layout) = self.layout().await? else {
            return Ok((None, Vec::new()));
        };
        let cutoff_key = match layout.key_kind() {
            Some(KeyKind::Function(function)) => {
                Some(self.partition_key_of(function, before).await?)
            }
            _ => None,
        };
        let past = layout
            .wholly_before(before, cutoff_key)
            .into_iter()
            .cloned()
            .collect();
        Ok((Some(layout), past))
    }

    /// MySQL: the partition function `function` (one of
    /// `MONOTONE_FUNCTIONS`) of the cutoff, as the server computes it in
    /// this session (`UNIX_TIMESTAMP` reads the session's time zone, as
    /// the purge's `created_at < ?` does).
    async fn partition_key_of(&self, function: &str, before: &str) -> Result<i64> {
        const WHAT: &str = "reading the cutoff's partition key";
        let query = format!("SELECT CAST({function}(CAST(? AS DATETIME)) AS SIGNED)");
        let row = self
            .timed(
                WHAT,
                sqlx::query(&query).bind(before).fetch_one(self.pool()),
            )
            .await?;
        self.get(WHAT, &row, 0)
    }

    /// The relation that reads one partition alone, ready for a
    /// statement: PostgreSQL's partition is a table; MySQL's is the table
    /// with `PARTITION (name)`.
    fn partition_relation(&self, partition: &Partition) -> String {
        match self.sql.dialect {
            Dialect::Mysql => format!(
                "{} PARTITION ({})",
                self.sql.table,
                super::dialect::quote_catalog_name(&partition.name)
            ),
            Dialect::Postgres | Dialect::Sqlite => partition.name.clone(),
        }
    }

    /// Rows and bytes per day of one partition; with `before`, only its
    /// rows before that cutoff.
    pub(crate) async fn partition_days(
        &self,
        partition: &Partition,
        before: Option<&str>,
    ) -> Result<Vec<super::scan::DayCount>> {
        const WHAT: &str = "counting a partition's rows";
        let relation = self.partition_relation(partition);
        let query = super::Sql::for_relation(self.sql.dialect, &relation).days(before.is_some());
        let mut statement = sqlx::query(&query);
        if let Some(before) = before {
            statement = statement.bind(before);
        }
        let rows = self.timed(WHAT, statement.fetch_all(self.pool())).await?;
        self.day_counts(WHAT, &rows)
    }
}

/// `check`'s verdict on the layout (`None`: SQLite).
pub(crate) fn judge(layout: Option<&Layout>) -> CheckResult {
    let Some(layout) = layout else {
        return CheckResult::skip(PARTITIONING, "SQLite has no partitions");
    };
    let size = crate::report::fmt::bytes(layout.bytes);
    let advised = crate::report::fmt::bytes(PARTITION_ADVISED_BYTES);
    match &layout.key {
        Some(key) if layout.by_created_at() => CheckResult::pass(
            PARTITIONING,
            format!(
                "partitioned by {key}, {} partition(s), {size}: {}",
                layout.partitions.len(),
                named(&layout.partitions)
            ),
        ),
        Some(key) => CheckResult::warn(
            PARTITIONING,
            format!("partitioned by {key}, not by created_at ({size}): a purge deletes its rows one by one"),
        )
        .with_hint("partition by range of created_at so that old partitions can be dropped whole"),
        None if layout.bytes > PARTITION_ADVISED_BYTES => CheckResult::warn(
            PARTITIONING,
            format!("not partitioned, and {size} (over {advised}): every purge deletes its rows one by one"),
        )
        .with_hint("partition the table by range of created_at (docs/sql.md, \"Partitioned tables\")"),
        None => CheckResult::pass(
            PARTITIONING,
            format!("not partitioned ({size}; partitions by created_at are advised past {advised})"),
        ),
    }
}

/// The first partitions and their bounds, and how many more.
fn named(partitions: &[Partition]) -> String {
    let mut text = partitions
        .iter()
        .take(NAMED)
        .map(|p| format!("{} {}", p.name, p.bounds))
        .collect::<Vec<_>>()
        .join("; ");
    if partitions.len() > NAMED {
        text.push_str(&format!("; and {} more", partitions.len() - NAMED));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    fn part(name: &str) -> Partition {
        Partition {
            name: name.into(),
            bounds: "FOR VALUES FROM ('2026-01-01 00:00:00') TO ('2026-02-01 00:00:00')".into(),
        }
    }

    #[test]
    fn only_partitions_bounded_at_or_before_the_cutoff_are_wholly_past_it() {
        let bounds = |from: &str, to: &str| Partition {
            name: format!("p{to}"),
            bounds: format!("FOR VALUES FROM ({from}) TO ({to})"),
        };
        let layout = Layout {
            key: Some("RANGE (created_at)".into()),
            partitions: vec![
                bounds("MINVALUE", "'2026-10-01 00:00:00'"),
                bounds("'2026-10-01 00:00:00'", "'2026-11-01 00:00:00'"),
                bounds("'2026-11-01 00:00:00'", "'2026-12-01 00:00:00'"),
                bounds("'2026-12-01 00:00:00'", "MAXVALUE"),
                Partition {
                    name: "pdefault".into(),
                    bounds: "DEFAULT".into(),
                },
            ],
            bytes: 0,
        };
        let past: Vec<&str> = layout
            .wholly_before("2026-11-01 00:00:00", None)
            .iter()
            .map(|p| p.bounds.as_str())
            .collect();
        assert_eq!(past.len(), 2, "{past:?}");
        assert!(past[1].ends_with("TO ('2026-11-01 00:00:00')"));
        let by_two = Layout {
            key: Some("RANGE (created_at, id)".into()),
            ..layout
        };
        assert!(by_two.wholly_before("2027-01-01 00:00:00", None).is_empty());
    }

    #[test]
    fn mysql_bounds_compare_as_times_or_as_the_key_of_the_cutoff() {
        let less_than = |name: &str, below: &str| Partition {
            name: name.into(),
            bounds: format!("VALUES LESS THAN ({below})"),
        };
        let by_seconds = Layout {
            key: Some("RANGE (unix_timestamp(`created_at`))".into()),
            partitions: vec![
                less_than("p1", "1000"),
                less_than("p2", "2000"),
                less_than("p3", "MAXVALUE"),
            ],
            bytes: 0,
        };
        assert_eq!(
            by_seconds.key_kind(),
            Some(KeyKind::Function("UNIX_TIMESTAMP"))
        );
        let names = |past: Vec<&Partition>| past.iter().map(|p| p.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(by_seconds.wholly_before("x", Some(1999))), ["p1"]);
        assert_eq!(
            names(by_seconds.wholly_before("x", Some(2000))),
            ["p1", "p2"]
        );
        assert!(by_seconds.wholly_before("x", None).is_empty());
        let by_columns = Layout {
            key: Some("RANGE COLUMNS (`created_at`)".into()),
            partitions: vec![
                less_than("p1", "'2026-10-01 00:00:00'"),
                less_than("p2", "'2026-11-01'"),
            ],
            bytes: 0,
        };
        // Never every partition: the last one stays.
        assert_eq!(
            names(by_columns.wholly_before("2026-12-01 00:00:00", None)),
            ["p1"]
        );
        let by_id = Layout {
            key: Some("RANGE (`id`)".into()),
            ..by_seconds
        };
        assert!(by_id.wholly_before("x", Some(i64::MAX)).is_empty());
    }

    #[test]
    fn a_big_table_without_partitions_warns_and_a_small_one_passes() {
        let big = Layout {
            key: None,
            partitions: Vec::new(),
            bytes: PARTITION_ADVISED_BYTES + 1,
        };
        assert_eq!(judge(Some(&big)).status, Status::Warn);
        let small = Layout { bytes: 1024, ..big };
        assert_eq!(judge(Some(&small)).status, Status::Pass);
        assert_eq!(judge(None).status, Status::Skip);
    }

    #[test]
    fn partitions_by_created_at_pass_with_their_bounds_named() {
        let layout = Layout {
            key: Some("RANGE (created_at)".into()),
            partitions: (1..=6).map(|n| part(&format!("p{n}"))).collect(),
            bytes: 2048,
        };
        let result = judge(Some(&layout));
        assert_eq!(result.status, Status::Pass);
        assert!(
            result.message.contains("6 partition(s)"),
            "{}",
            result.message
        );
        assert!(
            result.message.contains("p1 FOR VALUES FROM"),
            "{}",
            result.message
        );
        assert!(result.message.ends_with("and 2 more"), "{}", result.message);
        let by_id = Layout {
            key: Some("RANGE (id)".into()),
            ..layout
        };
        assert_eq!(judge(Some(&by_id)).status, Status::Warn);
    }
}
