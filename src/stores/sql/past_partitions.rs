//! What a purge does with a partition of the traces table wholly past
//! the cutoff (`partitions::Layout::wholly_before`): drops it, or with
//! `cleanup purge --detach` detaches it and keeps it as a table of its
//! own, for the operator to archive (`pg_dump`, `mysqldump`) and drop
//! later. Either way its rows are counted per day first and leave the
//! traces table at once, whatever their number. A kept table is no
//! longer a partition of the traces table: no later verify, report or
//! purge sees it, so the tool never touches it again.

use super::Db;
use super::partitions::{Layout, Partition};
use super::scan::DayCount;
use crate::error::{Error, Result};
use crate::spec::database::Dialect;

/// What becomes of a partition wholly past the cutoff.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Retire {
    /// Dropped with its rows.
    #[default]
    Drop,
    /// Detached from the table and kept as a table of its own (`--detach`).
    Detach,
}

/// The longest table name MySQL/MariaDB take.
const MYSQL_NAME_MAX: usize = 64;

/// The first MariaDB release with `CONVERT PARTITION … TO TABLE`.
const MARIADB_CONVERTS_SINCE: (u32, u32) = (10, 7);

impl Db {
    /// The name a detached partition keeps as a table of its own.
    /// PostgreSQL's partition already is a table and keeps its name (as
    /// `regclass` prints it); a MySQL/MariaDB partition becomes
    /// `{table}_{partition}`: `chronotrace_traces_p202610` for a month of
    /// the monthly layout, the name PostgreSQL's partition of that month
    /// has.
    pub(crate) fn kept_name(&self, partition: &Partition) -> String {
        match self.sql.dialect {
            Dialect::Mysql => format!("{}_{}", self.sql.name, partition.name),
            Dialect::Postgres | Dialect::Sqlite => partition.name.clone(),
        }
    }

    /// Before a purge with `--detach` changes anything (a dry run too):
    /// the table is partitioned by `created_at` (else it has nothing to
    /// detach), the server can detach (MariaDB 10.7 or later; MySQL has
    /// no `CONVERT PARTITION`), and no table already has the name a
    /// partition in `past` would keep (a table is never overwritten).
    pub(crate) async fn may_detach(
        &self,
        layout: Option<&Layout>,
        past: &[Partition],
    ) -> Result<()> {
        let location = self.storage.location();
        if layout.is_none_or(|l| l.key_kind().is_none()) {
            return Err(Error::usage_with_hint(
                format!(
                    "--detach: table {} on {location} is not partitioned by created_at: it has no partition to detach",
                    self.sql.name
                ),
                "purge it without --detach: its rows are deleted by batches",
            ));
        }
        if self.sql.dialect != Dialect::Mysql {
            return Ok(());
        }
        let version = self.version().await?;
        if !converts_partitions(&version) {
            return Err(Error::usage_with_hint(
                format!(
                    "--detach: {location} runs {version}, which cannot detach a partition (MariaDB 10.7 or later: CONVERT PARTITION … TO TABLE)"
                ),
                "purge without --detach (the partitions past retention are dropped whole), or archive them first",
            ));
        }
        for partition in past {
            self.kept_name_free(partition).await?;
        }
        Ok(())
    }

    /// MySQL/MariaDB: no table has the name `partition` would keep, and
    /// the server takes that name.
    async fn kept_name_free(&self, partition: &Partition) -> Result<()> {
        let kept = self.kept_name(partition);
        let location = self.storage.location();
        if kept.chars().count() > MYSQL_NAME_MAX {
            return Err(Error::usage(format!(
                "--detach: partition {} of {} would be kept as table {kept}, longer than the {MYSQL_NAME_MAX} characters {location} takes",
                partition.name, self.sql.name
            )));
        }
        let taken = self
            .timed(
                "looking for the detached partition's name",
                sqlx::query("SELECT CAST(COUNT(*) AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?")
                    .bind(&kept)
                    .fetch_one(self.pool()),
            )
            .await?;
        let taken: i64 = self.get("looking for the detached partition's name", &taken, 0)?;
        if taken > 0 {
            return Err(Error::usage_with_hint(
                format!(
                    "--detach: partition {} of {} would be kept as table {kept}, which already exists on {location}: never overwritten",
                    partition.name, self.sql.name
                ),
                format!("archive and drop (or rename) table {kept}, then run the purge again"),
            ));
        }
        Ok(())
    }

    /// Takes a partition wholly past the cutoff out of the table at once,
    /// as `how` says, and says what it held, per day.
    pub(crate) async fn retire_partition(
        &self,
        partition: &Partition,
        how: Retire,
    ) -> Result<Vec<DayCount>> {
        match self.sql.dialect {
            Dialect::Mysql => self.retire_mysql_partition(partition, how).await,
            Dialect::Postgres | Dialect::Sqlite => {
                self.retire_postgres_partition(partition, how).await
            }
        }
    }

    /// MySQL/MariaDB: its rows counted, then `ALTER TABLE … DROP
    /// PARTITION` (or `CONVERT PARTITION … TO TABLE`, which refuses a
    /// name already taken). The DDL commits on its own (no transaction
    /// holds the count and the change together), so the count is read
    /// just before: the app writes today's rows, never into a partition
    /// wholly past the cutoff; only another purge at the same time
    /// changes it.
    async fn retire_mysql_partition(
        &self,
        partition: &Partition,
        how: Retire,
    ) -> Result<Vec<DayCount>> {
        let days = self.partition_days(partition, None).await?;
        let name = super::dialect::quote_catalog_name(&partition.name);
        let (what, statement) = match how {
            Retire::Drop => (
                "dropping a partition past retention",
                format!("ALTER TABLE {} DROP PARTITION {name}", self.sql.table),
            ),
            Retire::Detach => (
                "detaching a partition past retention",
                format!(
                    "ALTER TABLE {} CONVERT PARTITION {name} TO TABLE {}",
                    self.sql.table,
                    super::dialect::quote_catalog_name(&self.kept_name(partition))
                ),
            ),
        };
        self.timed(what, sqlx::query(&statement).execute(self.pool()))
            .await?;
        Ok(days)
    }

    /// PostgreSQL, in one transaction: the partition locked (the app
    /// writes today's rows, never into it), its rows counted (a read of
    /// the partition, far cheaper than deleting them), detached from the
    /// table and, unless it is kept, dropped; the table itself is locked
    /// only from the DETACH to the COMMIT. A kept one is made standalone
    /// (`standalone_statements`).
    async fn retire_postgres_partition(
        &self,
        partition: &Partition,
        how: Retire,
    ) -> Result<Vec<DayCount>> {
        let what = match how {
            Retire::Drop => "dropping a partition past retention",
            Retire::Detach => "detaching a partition past retention",
        };
        let mut tx = self.timed(what, self.pool().begin()).await?;
        let name = &partition.name;
        let lock = format!("LOCK TABLE {name} IN ACCESS EXCLUSIVE MODE");
        self.timed(what, sqlx::query(&lock).execute(&mut *tx))
            .await?;
        let count = super::Sql::for_relation(self.sql.dialect, name).days(false);
        let rows = self
            .timed(what, sqlx::query(&count).fetch_all(&mut *tx))
            .await?;
        let days = self.day_counts(what, &rows)?;
        let mut statements = vec![format!(
            "ALTER TABLE {} DETACH PARTITION {name}",
            self.sql.table
        )];
        match how {
            Retire::Drop => statements.push(format!("DROP TABLE {name}")),
            Retire::Detach => statements.extend(self.standalone_statements(&mut tx, name).await?),
        }
        for statement in statements {
            self.timed(what, sqlx::query(&statement).execute(&mut *tx))
                .await?;
        }
        self.commit(tx).await?;
        Ok(days)
    }
}

impl Db {
    /// PostgreSQL: what makes a detached partition depend on nothing of
    /// the traces table. Its `id` still takes its default from the
    /// table's sequence (`bigserial`, owned by the table's column): the
    /// table could no longer be dropped (`destroy`) while the kept one
    /// is there. The kept table holds past rows and takes no new ones, so
    /// each default drawing from a sequence is dropped.
    async fn standalone_statements(
        &self,
        tx: &mut sqlx::Transaction<'_, sqlx::Any>,
        name: &str,
    ) -> Result<Vec<String>> {
        const WHAT: &str = "reading the detached partition's column defaults";
        let rows = self
            .timed(
                WHAT,
                sqlx::query("SELECT CAST(quote_ident(a.attname) AS text) FROM pg_attrdef d JOIN pg_attribute a ON a.attrelid = d.adrelid AND a.attnum = d.adnum WHERE d.adrelid = to_regclass($1) AND pg_get_expr(d.adbin, d.adrelid) LIKE 'nextval(%' ORDER BY a.attnum")
                    .bind(name)
                    .fetch_all(&mut **tx),
            )
            .await?;
        let mut statements = Vec::with_capacity(rows.len());
        for row in &rows {
            let column: String = self.get(WHAT, row, 0)?;
            statements.push(format!(
                "ALTER TABLE {name} ALTER COLUMN {column} DROP DEFAULT"
            ));
        }
        Ok(statements)
    }
}

/// Whether a server's version line (`SELECT version()`) is MariaDB 10.7
/// or later, which converts a partition to a table.
fn converts_partitions(version: &str) -> bool {
    if !version.contains("MariaDB") {
        return false;
    }
    let mut numbers = version
        .split(|c: char| !c.is_ascii_digit())
        .map(str::parse::<u32>);
    match (numbers.next(), numbers.next()) {
        (Some(Ok(major)), Some(Ok(minor))) => (major, minor) >= MARIADB_CONVERTS_SINCE,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_mariadb_10_7_and_later_converts_a_partition_to_a_table() {
        assert!(converts_partitions("10.11.6-MariaDB"));
        assert!(converts_partitions("10.7.1-MariaDB-1:10.7.1+maria~focal"));
        assert!(converts_partitions("11.4.2-MariaDB-log"));
        assert!(!converts_partitions("10.6.16-MariaDB"));
        assert!(!converts_partitions("8.0.36"));
        assert!(!converts_partitions("8.4.0-MySQL Community Server"));
        assert!(!converts_partitions("MariaDB"));
    }
}
