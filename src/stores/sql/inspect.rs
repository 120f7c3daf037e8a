//! Reading the server's catalog about the traces table: does it exist,
//! its columns, its indexes (name, unique, columns in order), what the
//! connecting user may do on it, and its table and index sizes. One
//! query (or two) per question, per server.

use super::Db;
use crate::error::Result;
use crate::spec::database::Dialect;

/// One index of the table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Index {
    pub(crate) name: String,
    pub(crate) unique: bool,
    pub(crate) columns: Vec<String>,
}

impl Index {
    /// Whether this index serves lookups on `column` (its first column).
    pub(crate) fn leads_with(&self, column: &str) -> bool {
        self.columns
            .first()
            .is_some_and(|c| c.eq_ignore_ascii_case(column))
    }
}

/// What the connecting user may do on the table.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Privileges {
    /// Privileges beyond SELECT, INSERT and DELETE (UPDATE, TRUNCATE...).
    pub(crate) extra: Vec<String>,
    /// A superuser (PostgreSQL) or a user with global privileges (MySQL).
    pub(crate) superuser: bool,
}

/// Table and index bytes, from the catalog.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Sizes {
    pub(crate) table_bytes: u64,
    pub(crate) index_bytes: u64,
}

/// Reads `CREATE [UNIQUE] INDEX name ON t USING btree (a, b)` (PostgreSQL's
/// `pg_indexes.indexdef`): unique, and the column list.
fn parse_indexdef(def: &str) -> (bool, Vec<String>) {
    let unique = def.starts_with("CREATE UNIQUE");
    let columns = def
        .rfind('(')
        .and_then(|open| Some(&def[open + 1..open + 1 + def[open + 1..].find(')')?]))
        .map(|list| {
            list.split(',')
                .map(|c| c.trim().trim_matches('"').to_string())
                .collect()
        })
        .unwrap_or_default();
    (unique, columns)
}

fn strings(db: &Db, what: &str, rows: &[sqlx::any::AnyRow]) -> Result<Vec<String>> {
    rows.iter().map(|r| db.get::<String>(what, r, 0)).collect()
}

impl Db {
    /// The server's version line.
    pub(crate) async fn version(&self) -> Result<String> {
        let row = self
            .timed(
                "reading the server version",
                sqlx::query(self.sql.version()).fetch_one(self.pool()),
            )
            .await?;
        self.get("reading the server version", &row, 0)
    }

    /// The table's column names (empty: no such table).
    pub(crate) async fn columns(&self) -> Result<Vec<String>> {
        const WHAT: &str = "reading the table's columns";
        let statement = match self.sql.dialect {
            Dialect::Postgres => {
                "SELECT CAST(column_name AS text) FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 ORDER BY ordinal_position"
            }
            Dialect::Mysql => {
                "SELECT CAST(column_name AS CHAR) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = ? ORDER BY ordinal_position"
            }
            Dialect::Sqlite => "SELECT name FROM pragma_table_info(?) ORDER BY cid",
        };
        let rows = self
            .timed(
                WHAT,
                sqlx::query(statement)
                    .bind(&self.sql.name)
                    .fetch_all(self.pool()),
            )
            .await?;
        strings(self, WHAT, &rows)
    }

    /// The table's indexes (primary key included where the catalog lists it).
    pub(crate) async fn indexes(&self) -> Result<Vec<Index>> {
        const WHAT: &str = "reading the table's indexes";
        let name = &self.sql.name;
        match self.sql.dialect {
            Dialect::Postgres => {
                let rows = self
                    .timed(WHAT, sqlx::query("SELECT CAST(indexname AS text), indexdef FROM pg_indexes WHERE schemaname = current_schema() AND tablename = $1 ORDER BY 1").bind(name).fetch_all(self.pool()))
                    .await?;
                let mut out = Vec::new();
                for row in &rows {
                    let def: String = self.get(WHAT, row, 1)?;
                    let (unique, columns) = parse_indexdef(&def);
                    out.push(Index {
                        name: self.get(WHAT, row, 0)?,
                        unique,
                        columns,
                    });
                }
                Ok(out)
            }
            Dialect::Mysql => {
                let rows = self
                    .timed(WHAT, sqlx::query("SELECT CAST(index_name AS CHAR), CAST(non_unique AS SIGNED), CAST(column_name AS CHAR) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = ? ORDER BY index_name, seq_in_index").bind(name).fetch_all(self.pool()))
                    .await?;
                let mut out: Vec<Index> = Vec::new();
                for row in &rows {
                    let index: String = self.get(WHAT, row, 0)?;
                    let non_unique: i64 = self.get(WHAT, row, 1)?;
                    let column: String = self.get(WHAT, row, 2)?;
                    match out.last_mut().filter(|i| i.name == index) {
                        Some(last) => last.columns.push(column),
                        None => out.push(Index {
                            name: index,
                            unique: non_unique == 0,
                            columns: vec![column],
                        }),
                    }
                }
                Ok(out)
            }
            Dialect::Sqlite => {
                let rows = self
                    .timed(
                        WHAT,
                        sqlx::query("SELECT name, \"unique\" FROM pragma_index_list(?)")
                            .bind(name)
                            .fetch_all(self.pool()),
                    )
                    .await?;
                let mut out = Vec::new();
                for row in &rows {
                    let index: String = self.get(WHAT, row, 0)?;
                    let unique: i64 = self.get(WHAT, row, 1)?;
                    let cols = self
                        .timed(
                            WHAT,
                            sqlx::query("SELECT name FROM pragma_index_info(?) ORDER BY seqno")
                                .bind(&index)
                                .fetch_all(self.pool()),
                        )
                        .await?;
                    out.push(Index {
                        name: index,
                        unique: unique != 0,
                        columns: strings(self, WHAT, &cols)?,
                    });
                }
                Ok(out)
            }
        }
    }

    /// What the connecting user may do on the table beyond the app's
    /// SELECT, INSERT, DELETE (`None`: SQLite has no users).
    pub(crate) async fn privileges(&self) -> Result<Option<Privileges>> {
        const WHAT: &str = "reading the user's privileges";
        match self.sql.dialect {
            Dialect::Sqlite => Ok(None),
            Dialect::Postgres => {
                let mut privileges = Privileges::default();
                for p in ["UPDATE", "TRUNCATE", "REFERENCES", "TRIGGER"] {
                    let row = self
                        .timed(
                            WHAT,
                            sqlx::query("SELECT has_table_privilege($1, $2)")
                                .bind(&self.sql.table)
                                .bind(p)
                                .fetch_one(self.pool()),
                        )
                        .await?;
                    if self.get::<bool>(WHAT, &row, 0)? {
                        privileges.extra.push(p.to_string());
                    }
                }
                let row = self
                    .timed(WHAT, sqlx::query("SELECT rolsuper OR rolcreaterole FROM pg_roles WHERE rolname = current_user").fetch_one(self.pool()))
                    .await?;
                privileges.superuser = self.get(WHAT, &row, 0)?;
                let owner = self
                    .timed(WHAT, sqlx::query("SELECT CAST(COUNT(*) AS bigint) FROM pg_tables WHERE schemaname = current_schema() AND tablename = $1 AND tableowner = current_user").bind(&self.sql.name).fetch_one(self.pool()))
                    .await?;
                if self.get::<i64>(WHAT, &owner, 0)? > 0 {
                    privileges.extra.push("OWNER (ALTER, DROP)".into());
                }
                Ok(Some(privileges))
            }
            Dialect::Mysql => {
                // GRANTEE reads 'user'@'host'; CURRENT_USER() reads user@host.
                let grantee = "CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''')";
                let statement = format!(
                    "SELECT CAST(privilege_type AS CHAR), 'global' FROM information_schema.user_privileges WHERE grantee = {grantee} \
                     UNION ALL SELECT CAST(privilege_type AS CHAR), 'schema' FROM information_schema.schema_privileges WHERE grantee = {grantee} AND table_schema = DATABASE() \
                     UNION ALL SELECT CAST(privilege_type AS CHAR), 'table' FROM information_schema.table_privileges WHERE grantee = {grantee} AND table_schema = DATABASE() AND table_name = ?"
                );
                let rows = self
                    .timed(
                        WHAT,
                        sqlx::query(&statement)
                            .bind(&self.sql.name)
                            .fetch_all(self.pool()),
                    )
                    .await?;
                let mut privileges = Privileges::default();
                for row in &rows {
                    let p: String = self.get(WHAT, row, 0)?;
                    let scope: String = self.get(WHAT, row, 1)?;
                    if matches!(p.as_str(), "SELECT" | "INSERT" | "DELETE" | "USAGE") {
                        continue;
                    }
                    if scope == "global" {
                        privileges.superuser = true;
                    }
                    let shown = format!("{p} ({scope})");
                    if !privileges.extra.contains(&shown) {
                        privileges.extra.push(shown);
                    }
                }
                Ok(Some(privileges))
            }
        }
    }

    /// Table and index bytes (`None` where the server cannot say).
    pub(crate) async fn sizes(&self) -> Result<Option<Sizes>> {
        const WHAT: &str = "reading the table's size";
        let row = match self.sql.dialect {
            Dialect::Postgres => {
                self.timed(WHAT, sqlx::query("SELECT CAST(pg_table_size(CAST($1 AS regclass)) AS bigint), CAST(pg_indexes_size(CAST($1 AS regclass)) AS bigint)").bind(&self.sql.table).fetch_optional(self.pool())).await?
            }
            Dialect::Mysql => {
                self.timed(WHAT, sqlx::query("SELECT CAST(data_length AS SIGNED), CAST(index_length AS SIGNED) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?").bind(&self.sql.name).fetch_optional(self.pool())).await?
            }
            // dbstat is compiled into the bundled SQLite; elsewhere, no sizes.
            Dialect::Sqlite => self
                .timed(WHAT, sqlx::query("SELECT COALESCE(SUM(CASE WHEN name = ?1 THEN pgsize END), 0), COALESCE(SUM(CASE WHEN name <> ?1 THEN pgsize END), 0) FROM dbstat WHERE name = ?1 OR name IN (SELECT name FROM pragma_index_list(?1))")
                .bind(&self.sql.name)
                .fetch_optional(self.pool()))
                .await
                .ok()
                .flatten(),
        };
        let Some(row) = row else { return Ok(None) };
        let table: i64 = self.get(WHAT, &row, 0)?;
        let index: i64 = self.get(WHAT, &row, 1)?;
        Ok(Some(Sizes {
            table_bytes: u64::try_from(table).unwrap_or(0),
            index_bytes: u64::try_from(index).unwrap_or(0),
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn index_definitions_give_uniqueness_and_columns() {
        let (unique, columns) = parse_indexdef(
            "CREATE UNIQUE INDEX t_trace_id_unique ON public.t USING btree (trace_id)",
        );
        assert!(unique);
        assert_eq!(columns, ["trace_id"]);
        let (unique, columns) =
            parse_indexdef("CREATE INDEX x ON public.t USING btree (created_at, \"id\")");
        assert!(!unique);
        assert_eq!(columns, ["created_at", "id"]);
    }
}
