//! The SQL text of every statement the tool runs, per server. The table
//! name is a checked identifier (`spec::database::is_identifier`), quoted
//! here; values are bound, or are integers the tool itself read (primary
//! keys in a purge batch). Dates come back as `YYYY-MM-DD` text and counts
//! as signed 64-bit integers on every server, so one decoder reads all.

use crate::spec::database::Dialect;

/// The statements for one table on one server.
#[derive(Debug, Clone)]
pub(crate) struct Sql {
    pub(crate) dialect: Dialect,
    /// The table name as written in the spec (for the catalog's queries).
    pub(crate) name: String,
    /// The table name quoted for statements.
    pub(crate) table: String,
}

impl Sql {
    pub(crate) fn new(dialect: Dialect, name: &str) -> Sql {
        Sql {
            dialect,
            name: name.to_string(),
            table: quote(dialect, name),
        }
    }

    /// The statements for a relation the catalog named, already quoted
    /// as a statement takes it (a PostgreSQL partition as `regclass`
    /// prints it).
    pub(crate) fn for_relation(dialect: Dialect, relation: &str) -> Sql {
        Sql {
            dialect,
            name: relation.to_string(),
            table: relation.to_string(),
        }
    }

    /// The `?`/`$n` placeholder of bound parameter `n` (1-based).
    pub(crate) fn param(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("${n}"),
            Dialect::Mysql | Dialect::Sqlite => "?".to_string(),
        }
    }

    /// `created_at` compared with a bound `YYYY-MM-DD HH:MM:SS` text.
    fn before(&self, n: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("created_at < CAST(${n} AS timestamp)"),
            Dialect::Mysql | Dialect::Sqlite => "created_at < ?".to_string(),
        }
    }

    /// The day of `created_at` as `YYYY-MM-DD` text.
    fn day(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "to_char(created_at, 'YYYY-MM-DD')",
            Dialect::Mysql => "DATE_FORMAT(created_at, '%Y-%m-%d')",
            Dialect::Sqlite => "strftime('%Y-%m-%d', created_at)",
        }
    }

    /// The stored bytes of `data` (bytes, not characters).
    pub(crate) fn bytes(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "octet_length(data)",
            Dialect::Mysql => "LENGTH(data)",
            Dialect::Sqlite => "length(CAST(data AS BLOB))",
        }
    }

    /// An integer expression as a signed 64-bit integer.
    pub(crate) fn int(&self, expr: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("CAST({expr} AS bigint)"),
            Dialect::Mysql => format!("CAST({expr} AS SIGNED)"),
            Dialect::Sqlite => expr.to_string(),
        }
    }

    /// Rows, bytes per day (NULL: rows without `created_at`); with
    /// `expired_only`, only rows before the bound cutoff (a range scan on
    /// the `created_at` index). One grouped query.
    pub(crate) fn days(&self, expired_only: bool) -> String {
        let filter = if expired_only {
            format!(" WHERE {}", self.before(1))
        } else {
            String::new()
        };
        format!(
            "SELECT {day} AS day, {count}, {sum} FROM {t}{filter} GROUP BY {day} ORDER BY 1",
            day = self.day(),
            count = self.int("COUNT(*)"),
            sum = self.int(&format!("COALESCE(SUM({}), 0)", self.bytes())),
            t = self.table,
        )
    }

    /// PostgreSQL, where an index leads with `created_at`: the same rows,
    /// bytes per day as `days`, counted one day at a time, each day one
    /// range of the index (the days found by a skip scan: the next day is
    /// the first `created_at` past the previous one, so empty stretches
    /// cost one probe). The grouped query is planned from the column's
    /// distinct values (a million timestamps, so a million groups): it
    /// sorts every row, with JIT, three times slower at a million rows.
    pub(crate) fn days_by_index(&self, expired_only: bool) -> String {
        let (before, and_before) = if expired_only {
            let before = self.before(1);
            (format!(" WHERE {before}"), format!(" AND {before}"))
        } else {
            (String::new(), String::new())
        };
        let undated = if expired_only {
            String::new()
        } else {
            format!(
                " UNION ALL SELECT NULL, {count}, {sum} FROM {t} WHERE created_at IS NULL HAVING COUNT(*) > 0",
                count = self.int("COUNT(*)"),
                sum = self.int(&format!("COALESCE(SUM({}), 0)", self.bytes())),
                t = self.table,
            )
        };
        format!(
            "WITH RECURSIVE days(d) AS (\
             SELECT CAST(MIN(created_at) AS date) FROM {t}{before} \
             UNION ALL SELECT (SELECT CAST(MIN(created_at) AS date) FROM {t} WHERE created_at >= d + 1{and_before}) \
             FROM days WHERE d IS NOT NULL) \
             SELECT to_char(d, 'YYYY-MM-DD') AS day, n, s FROM days CROSS JOIN LATERAL (\
             SELECT {count} AS n, {sum} AS s FROM {t} WHERE created_at >= d AND created_at < d + 1{and_before}) c \
             WHERE d IS NOT NULL{undated} ORDER BY 1",
            t = self.table,
            count = self.int("COUNT(*)"),
            sum = self.int(&format!("COALESCE(SUM({}), 0)", self.bytes())),
        )
    }

    /// The primary keys of the next batch past the cutoff, oldest first,
    /// read without a lock: a locking read whose plan scans the table
    /// (the optimizer's choice, not ours) would lock every row it passes,
    /// the newest ones the app still writes beside included.
    pub(crate) fn batch_ids(&self, size: usize) -> String {
        format!(
            "SELECT {id} FROM {t} WHERE {before} ORDER BY created_at LIMIT {size}",
            id = self.int("id"),
            t = self.table,
            before = self.before(1),
        )
    }

    /// Those rows locked by primary key until the batch's transaction
    /// ends: key, day and bytes of each one still there (another purge may
    /// have taken some first). The primary key is forced and bounded: the
    /// optimizer may walk a long `IN` list as a scan of the key (statistics
    /// not yet updated after a bulk insert, or a list past its range
    /// limits), which locks every row it passes; bounded by the batch's
    /// lowest and highest key, it passes no row outside the batch's span.
    pub(crate) fn lock_ids(&self, ids: &[i64]) -> String {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        let low = ids.iter().min().copied().unwrap_or(0);
        let high = ids.iter().max().copied().unwrap_or(0);
        let by_key = match self.dialect {
            Dialect::Mysql => " FORCE INDEX (PRIMARY)",
            Dialect::Postgres | Dialect::Sqlite => "",
        };
        format!(
            "SELECT {id}, {day}, {bytes} FROM {t}{by_key} WHERE id BETWEEN {low} AND {high} AND id IN ({list}) FOR UPDATE",
            id = self.int("id"),
            day = self.day(),
            bytes = self.int(&format!("COALESCE({}, 0)", self.bytes())),
            t = self.table,
            list = list.join(","),
        )
    }

    /// A timestamp as text that keeps its fraction (the purge's window
    /// edges go back to the server as bound text).
    fn stamp(&self, expr: &str) -> String {
        match self.dialect {
            Dialect::Postgres => format!("to_char({expr}, 'YYYY-MM-DD HH24:MI:SS.US')"),
            Dialect::Mysql => format!("DATE_FORMAT({expr}, '%Y-%m-%d %H:%i:%s.%f')"),
            Dialect::Sqlite => expr.to_string(),
        }
    }

    /// `created_at` compared with bound timestamp text `n` by `op`.
    fn at(&self, op: &str, n: usize) -> String {
        match self.dialect {
            Dialect::Postgres => format!("created_at {op} CAST(${n} AS timestamp)"),
            Dialect::Mysql | Dialect::Sqlite => format!("created_at {op} ?"),
        }
    }

    /// The oldest `created_at` before the bound cutoff (`$1`), as text:
    /// where a windowed purge starts (NULL: nothing to purge). With
    /// `floor`, only from `$2` on (a purge's later lane, `Db::lanes`).
    pub(crate) fn first_expired(&self, floor: bool) -> String {
        let from = if floor {
            format!(" AND {}", self.at(">=", 2))
        } else {
            String::new()
        };
        format!(
            "SELECT {} FROM {} WHERE {}{from}",
            self.stamp("MIN(created_at)"),
            self.table,
            self.before(1)
        )
    }

    /// PostgreSQL: the middle in time between the oldest `created_at`
    /// before the cutoff `$1` and the cutoff, as text (NULL: nothing
    /// past it), where a purge's two lanes meet (`Db::lanes`).
    pub(crate) fn lanes_meet(&self) -> String {
        format!(
            "SELECT {} FROM {} WHERE {}",
            self.stamp("MIN(created_at) + (CAST($1 AS timestamp) - MIN(created_at)) / 2"),
            self.table,
            self.before(1)
        )
    }

    /// The end of the next purge window (PostgreSQL: an expression over
    /// `$1` the cutoff and `$2` the window's start; MySQL: the same with
    /// `?`, bound cutoff, start, cutoff, cutoff, start, cutoff):
    /// the `created_at` of the row `size` places past the start (an index
    /// walk of `size` entries, no row read), so the window `[start, end)`
    /// holds about `size` rows; the cutoff when fewer remain. Rows sharing
    /// one timestamp never straddle two windows: when more than `size`
    /// share the start's, the window ends at the next timestamp instead,
    /// so every window moves on.
    fn window_end(&self, size: usize) -> String {
        let (cutoff, page) = match self.dialect {
            Dialect::Postgres => ("CAST($1 AS timestamp)", format!("OFFSET {size} LIMIT 1")),
            Dialect::Mysql | Dialect::Sqlite => {
                ("CAST(? AS DATETIME(6))", format!("LIMIT 1 OFFSET {size}"))
            }
        };
        format!(
            "GREATEST(COALESCE((SELECT created_at FROM {t} WHERE {upto} AND {from} ORDER BY created_at {page}), {cutoff}), \
             COALESCE((SELECT created_at FROM {t} WHERE {upto} AND {after} ORDER BY created_at LIMIT 1), {cutoff}))",
            t = self.table,
            upto = self.before(1),
            from = self.at(">=", 2),
            after = self.at(">", 2),
        )
    }

    /// PostgreSQL's windowed batch in one statement (its own short
    /// transaction): the window from `$2` (inclusive) to about `size` rows
    /// on (`window_end`), deleted by a range of the `created_at` index, as
    /// the seed's single `DELETE` does but a slice at a time; what went
    /// counted per day on the server. Last row: the window's end as text
    /// and whether it reached the cutoff `$1` (day NULL, counts 0).
    ///
    /// The range starts at `$3`, the previous window's start (`$2` for
    /// the first): its index entries, deleted and committed, are passed
    /// again while their pages are in memory, and PostgreSQL marks them
    /// dead in the index as it passes (a scan that finds every version of
    /// a row gone does). The purge's last look from the oldest row, how
    /// rows written behind the windows are seen, then skips them instead
    /// of visiting the table for each one: at a million rows that look
    /// went from 120-230 ms to under 15. A row written behind the
    /// previous window is deleted (and counted) on the way.
    pub(crate) fn delete_window(&self, size: usize) -> String {
        format!(
            "WITH edge AS (SELECT {end} AS stop), \
             gone AS (DELETE FROM {t} WHERE {from} AND created_at < (SELECT stop FROM edge) \
             RETURNING CAST(created_at AS date) AS day, {bytes} AS bytes) \
             SELECT to_char(day, 'YYYY-MM-DD'), {count}, {sum}, NULL, false FROM gone GROUP BY day \
             UNION ALL SELECT NULL, 0, 0, {stop}, stop >= CAST($1 AS timestamp) FROM edge",
            end = self.window_end(size),
            t = self.table,
            from = self.at(">=", 3),
            bytes = self.bytes(),
            count = self.int("COUNT(*)"),
            sum = self.int("COALESCE(SUM(bytes), 0)"),
            stop = self.stamp("stop"),
        )
    }

    /// MySQL/MariaDB: the end of the next window as text (binds: cutoff,
    /// start, cutoff, cutoff, start, cutoff).
    pub(crate) fn window_end_text(&self, size: usize) -> String {
        format!("SELECT {}", self.stamp(&self.window_end(size)))
    }

    /// MySQL/MariaDB: the window's rows (binds: start, end) locked
    /// through the `created_at` index `index` (forced: a plan that scans
    /// the table would lock every row it passes, the app's newest
    /// included), counted per day on the server.
    pub(crate) fn lock_window(&self, index: &str) -> String {
        format!(
            "SELECT {day}, {count}, {sum} FROM {t} FORCE INDEX ({index}) WHERE created_at >= ? AND created_at < ? GROUP BY 1 FOR UPDATE",
            day = self.day(),
            count = self.int("COUNT(*)"),
            sum = self.int(&format!("COALESCE(SUM({}), 0)", self.bytes())),
            t = self.table,
            index = quote_catalog_name(index),
        )
    }

    /// MySQL/MariaDB: deletes the window (binds: start, end) through the
    /// same forced index (the multi-table form takes an index hint).
    pub(crate) fn delete_window_by_index(&self, index: &str) -> String {
        format!(
            "DELETE {t} FROM {t} FORCE INDEX ({index}) WHERE created_at >= ? AND created_at < ?",
            t = self.table,
            index = quote_catalog_name(index),
        )
    }

    /// SQLite's whole batch in one statement: delete the oldest rows past
    /// the cutoff by primary key, returning each one's day and bytes
    /// (SQLite 3.35+; its `RETURNING` cannot feed an aggregate, so the
    /// tool adds them up).
    pub(crate) fn delete_returning(&self, size: usize) -> String {
        format!(
            "DELETE FROM {t} WHERE id IN (SELECT id FROM {t} WHERE {before} ORDER BY created_at LIMIT {size}) \
             RETURNING {day}, {bytes}",
            t = self.table,
            before = self.before(1),
            day = self.day(),
            bytes = self.int(&format!("COALESCE({}, 0)", self.bytes())),
        )
    }

    /// Deletes the rows of one batch, by primary key.
    pub(crate) fn delete_ids(&self, ids: &[i64]) -> String {
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        format!(
            "DELETE FROM {} WHERE id IN ({})",
            self.table,
            list.join(",")
        )
    }

    /// The server's version string.
    pub(crate) fn version(&self) -> &'static str {
        match self.dialect {
            Dialect::Postgres => "SELECT version()",
            Dialect::Mysql => "SELECT CAST(version() AS CHAR)",
            Dialect::Sqlite => "SELECT 'SQLite ' || sqlite_version()",
        }
    }

    /// The probe's insert (trace id bound as 1), as the seed's store writes.
    pub(crate) fn probe_insert(&self) -> String {
        let now = match self.dialect {
            Dialect::Postgres => "LOCALTIMESTAMP(0)",
            Dialect::Mysql => "NOW()",
            Dialect::Sqlite => "datetime('now')",
        };
        format!(
            "INSERT INTO {} (trace_id, data, created_at, updated_at) VALUES ({}, '{{}}', {now}, {now})",
            self.table,
            self.param(1)
        )
    }

    /// Reads the probe back (its bytes).
    pub(crate) fn probe_read(&self) -> String {
        format!(
            "SELECT {} FROM {} WHERE trace_id = {}",
            self.int(self.bytes()),
            self.table,
            self.param(1)
        )
    }

    /// Deletes the probe.
    pub(crate) fn probe_delete(&self) -> String {
        format!(
            "DELETE FROM {} WHERE trace_id = {}",
            self.table,
            self.param(1)
        )
    }
}

/// A MySQL/MariaDB name read from the catalog (an index's), quoted: it
/// was not checked, so a backtick in it is doubled.
pub(crate) fn quote_catalog_name(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// `name` quoted as an identifier (it holds no quote: it was checked).
pub(crate) fn quote(dialect: Dialect, name: &str) -> String {
    match dialect {
        Dialect::Mysql => format!("`{name}`"),
        Dialect::Postgres | Dialect::Sqlite => format!("\"{name}\""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_day_query_filters_on_created_at_only_when_asked() {
        let pg = Sql::new(Dialect::Postgres, "chronotrace_traces");
        assert!(
            pg.days(true)
                .contains("WHERE created_at < CAST($1 AS timestamp)")
        );
        assert!(!pg.days(false).contains("WHERE"));
        let my = Sql::new(Dialect::Mysql, "t");
        assert!(my.days(true).contains("FROM `t` WHERE created_at < ?"));
    }

    #[test]
    fn purge_batches_are_fenced_to_the_table_by_primary_key() {
        let lite = Sql::new(Dialect::Sqlite, "traces");
        assert_eq!(
            lite.delete_ids(&[3, 1, 2]),
            "DELETE FROM \"traces\" WHERE id IN (3,1,2)"
        );
        assert!(lite.batch_ids(5000).ends_with("LIMIT 5000"));
        // MySQL: the batch is found without a lock, then locked by key.
        let my = Sql::new(Dialect::Mysql, "t");
        assert!(my.batch_ids(10).ends_with("ORDER BY created_at LIMIT 10"));
        assert!(!my.batch_ids(10).contains("FOR UPDATE"));
        assert!(my.lock_ids(&[1, 2]).ends_with(
            "FROM `t` FORCE INDEX (PRIMARY) WHERE id BETWEEN 1 AND 2 AND id IN (1,2) FOR UPDATE"
        ));
        // A window: locked and deleted through the created_at index, forced.
        assert!(
            my.lock_window("t_created_at")
                .contains("FROM `t` FORCE INDEX (`t_created_at`) WHERE created_at >= ? AND created_at < ? GROUP BY 1 FOR UPDATE")
        );
        assert_eq!(
            my.delete_window_by_index("odd`name"),
            "DELETE `t` FROM `t` FORCE INDEX (`odd``name`) WHERE created_at >= ? AND created_at < ?"
        );
        // PostgreSQL: the window starts at $2 and ends before the cutoff
        // $1; its delete sweeps from the previous window's start, $3.
        let pg = Sql::new(Dialect::Postgres, "t");
        let window = pg.delete_window(5000);
        assert!(window.contains("OFFSET 5000 LIMIT 1"), "{window}");
        assert!(
            window.contains("created_at >= CAST($2 AS timestamp) ORDER BY created_at OFFSET"),
            "{window}"
        );
        assert!(window.contains("DELETE FROM \"t\" WHERE created_at >= CAST($3 AS timestamp) AND created_at < (SELECT stop FROM edge)"), "{window}");
    }
}
