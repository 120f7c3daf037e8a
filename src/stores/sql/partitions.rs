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
    /// PostgreSQL: the partitions whose every row is before `cutoff` (the
    /// `YYYY-MM-DD HH:MM:SS` text the purge compares with): their upper
    /// bound at or before it. None when the key is not `created_at`
    /// alone, nor for a default partition or one open above (MAXVALUE).
    pub(crate) fn wholly_before(&self, cutoff: &str) -> Vec<&Partition> {
        let key_is_created_at = self
            .key
            .as_deref()
            .is_some_and(|k| k.eq_ignore_ascii_case("RANGE (created_at)"));
        if !key_is_created_at {
            return Vec::new();
        }
        self.partitions
            .iter()
            .filter(|p| upper_bound(&p.bounds).is_some_and(|upper| upper <= cutoff))
            .collect()
    }

    /// Whether the key is on `created_at` (what lets a purge drop
    /// partitions wholly past the cutoff).
    pub(crate) fn by_created_at(&self) -> bool {
        self.key
            .as_deref()
            .is_some_and(|k| k.to_ascii_lowercase().contains("created_at"))
    }
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

/// A PostgreSQL range partition's upper bound as text
/// (`FOR VALUES FROM (…) TO ('2026-11-01 00:00:00')` → `2026-11-01
/// 00:00:00`); None for MAXVALUE, a default partition or anything else.
fn upper_bound(bounds: &str) -> Option<&str> {
    let (_, to) = bounds.split_once(" TO ('")?;
    let (upper, rest) = to.split_once("')")?;
    // Only a whole bound: `…')` and nothing but its closing after.
    (rest.is_empty() && upper.len() >= 10).then_some(upper)
}

impl Db {
    /// PostgreSQL: removes a partition wholly past the cutoff at once and
    /// says what it held, per day. In one transaction: the partition
    /// locked (the app writes today's rows, never into it), its rows
    /// counted (a read of the partition, far cheaper than deleting them),
    /// detached from the table and dropped; the table itself is locked
    /// only from the DETACH to the COMMIT.
    pub(crate) async fn drop_partition(
        &self,
        partition: &Partition,
    ) -> Result<Vec<super::scan::DayCount>> {
        const WHAT: &str = "dropping a partition past retention";
        let mut tx = self.timed(WHAT, self.pool().begin()).await?;
        let name = &partition.name;
        let lock = format!("LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE");
        self.timed(WHAT, sqlx::query(&lock).execute(&mut *tx))
            .await?;
        let count = super::Sql::for_relation(self.sql.dialect, name).days(false);
        let rows = self
            .timed(WHAT, sqlx::query(&count).fetch_all(&mut *tx))
            .await?;
        let days = self.day_counts(WHAT, &rows)?;
        for statement in [
            format!("ALTER TABLE {} DETACH PARTITION {name}", self.sql.table),
            format!("DROP TABLE {name}"),
        ] {
            self.timed(WHAT, sqlx::query(&statement).execute(&mut *tx))
                .await?;
        }
        self.commit(tx).await?;
        Ok(days)
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
            .wholly_before("2026-11-01 00:00:00")
            .iter()
            .map(|p| p.bounds.as_str())
            .collect();
        assert_eq!(past.len(), 2, "{past:?}");
        assert!(past[1].ends_with("TO ('2026-11-01 00:00:00')"));
        let by_two = Layout {
            key: Some("RANGE (created_at, id)".into()),
            ..layout
        };
        assert!(by_two.wholly_before("2027-01-01 00:00:00").is_empty());
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
