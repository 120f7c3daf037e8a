//! Creating and removing what `apply` provisions in a database: the
//! seed's table (columns, unique `trace_id`, `created_at` index) with the
//! tool's mark in its comment, a missing `created_at` index (PostgreSQL:
//! built CONCURRENTLY, so writes go on), and the app's user with SELECT,
//! INSERT and DELETE on that table only. Reading the marks back is how
//! `destroy` knows what is the tool's. Statements that carry a password
//! are never logged (statement logging is off in `Db::connect`).

use sqlx::Row;

use super::Db;
use super::check::{SEED_COLUMNS, has_created_at_index, has_unique_trace_id};
use super::dialect::quote;
use crate::error::Result;
use crate::plan::database::{TableSeen, index_name};
use crate::plan::observed::Held;
use crate::secret::Secret;
use crate::spec::database::Dialect;

/// Index builds may take long on a big table: this many statement limits.
const DDL_LIMITS: u32 = 30;

impl Db {
    /// Runs one statement (no result rows).
    async fn exec(&self, what: &str, statement: &str) -> Result<()> {
        self.timed(what, sqlx::query(statement).execute(self.pool()))
            .await
            .map(|_| ())
    }

    /// One optional text from a query with one bound text.
    async fn text(&self, what: &str, statement: &str, arg: &str) -> Result<Option<String>> {
        let row = self
            .timed(
                what,
                sqlx::query(statement).bind(arg).fetch_optional(self.pool()),
            )
            .await?;
        row.map(|r| {
            r.try_get::<Option<String>, _>(0)
                .map_err(|e| self.error(what, &e))
        })
        .transpose()
        .map(Option::flatten)
    }

    /// The table as found, and whether it carries `mark`.
    pub(crate) async fn observe_table(
        &self,
        mark: &str,
    ) -> Result<(Held<TableSeen>, Option<TableSeen>)> {
        const WHAT: &str = "reading the table";
        let columns = self.columns().await?;
        if columns.is_empty() {
            return Ok((Held::Absent, None));
        }
        let indexes = self.indexes().await?;
        let rows = self
            .scalar_i64(WHAT, &format!("SELECT COUNT(*) FROM {}", self.sql.table))
            .await?;
        let seen = TableSeen {
            missing_columns: SEED_COLUMNS
                .iter()
                .filter(|c| !columns.iter().any(|have| have.eq_ignore_ascii_case(c)))
                .map(|c| c.to_string())
                .collect(),
            unique_trace_id: has_unique_trace_id(&indexes),
            created_at_index: has_created_at_index(&indexes),
            rows: u64::try_from(rows).unwrap_or(0),
        };
        let comment = match self.sql.dialect {
            Dialect::Postgres => self.text(WHAT, "SELECT obj_description(CAST($1 AS regclass), 'pg_class')", &self.sql.table).await?,
            Dialect::Mysql => self.text(WHAT, "SELECT CAST(table_comment AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = ?", &self.sql.name).await?,
            Dialect::Sqlite => self.text(WHAT, "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?", &self.sql.name).await?,
        };
        if comment.is_some_and(|c| c.contains(mark)) {
            Ok((Held::Ours(seen), None))
        } else {
            Ok((Held::Foreign, Some(seen)))
        }
    }

    /// Creates the seed's table with its indexes and `mark`, in one
    /// transaction where the server has transactional DDL.
    pub(crate) async fn create_table(&self, mark: &str) -> Result<()> {
        const WHAT: &str = "creating the table";
        let (t, name) = (&self.sql.table, &self.sql.name);
        let unique = quote(self.sql.dialect, &format!("{name}_trace_id_unique"));
        let index = quote(self.sql.dialect, &index_name(name));
        let statements = match self.sql.dialect {
            Dialect::Postgres => vec![
                format!(
                    "CREATE TABLE {t} (id bigserial PRIMARY KEY, trace_id varchar(255) NOT NULL, data text NOT NULL, created_at timestamp(0) without time zone NULL, updated_at timestamp(0) without time zone NULL)"
                ),
                format!("ALTER TABLE {t} ADD CONSTRAINT {unique} UNIQUE (trace_id)"),
                format!("CREATE INDEX {index} ON {t} (created_at)"),
                format!("COMMENT ON TABLE {t} IS '{mark}'"),
            ],
            Dialect::Mysql => vec![format!(
                "CREATE TABLE {t} (id bigint unsigned NOT NULL AUTO_INCREMENT PRIMARY KEY, trace_id varchar(255) NOT NULL, data longtext NOT NULL, created_at timestamp NULL, updated_at timestamp NULL, UNIQUE KEY {unique} (trace_id), KEY {index} (created_at)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='{mark}'"
            )],
            Dialect::Sqlite => vec![
                format!(
                    "CREATE TABLE {t} (/* {mark} */ id integer PRIMARY KEY AUTOINCREMENT NOT NULL, trace_id varchar NOT NULL, data text NOT NULL, created_at datetime, updated_at datetime)"
                ),
                format!("CREATE UNIQUE INDEX {unique} ON {t} (trace_id)"),
                format!("CREATE INDEX {index} ON {t} (created_at)"),
            ],
        };
        let mut tx = self.timed(WHAT, self.pool().begin()).await?;
        for statement in &statements {
            self.timed(WHAT, sqlx::query(statement).execute(&mut *tx))
                .await?;
        }
        self.timed(WHAT, tx.commit()).await
    }

    /// Creates the missing `created_at` index (PostgreSQL: CONCURRENTLY,
    /// so the app's writes are not blocked while it builds).
    pub(crate) async fn create_created_at_index(&self) -> Result<()> {
        const WHAT: &str = "creating the created_at index";
        let index = quote(self.sql.dialect, &index_name(&self.sql.name));
        let t = &self.sql.table;
        let statement = match self.sql.dialect {
            Dialect::Postgres => format!("CREATE INDEX CONCURRENTLY {index} ON {t} (created_at)"),
            Dialect::Mysql | Dialect::Sqlite => format!("CREATE INDEX {index} ON {t} (created_at)"),
        };
        let limit = self.limit() * DDL_LIMITS;
        match tokio::time::timeout(limit, sqlx::query(&statement).execute(self.pool())).await {
            Ok(done) => done.map(|_| ()).map_err(|e| self.error(WHAT, &e)),
            Err(_) => Err(crate::error::Error::cloud(format!(
                "{WHAT} on {}: not done within {}",
                self.storage.location(),
                crate::transport::timeouts::Timeouts::show(limit)
            ))),
        }
    }

    /// The app's user as found: absent, the tool's (marked, or on MySQL
    /// holding exactly the grants the tool gives), or someone else's.
    pub(crate) async fn observe_user(&self, user: &str, mark: &str) -> Result<Held<()>> {
        const WHAT: &str = "reading the app's user";
        match self.sql.dialect {
            Dialect::Sqlite => Ok(Held::Absent),
            Dialect::Postgres => {
                let row = self
                    .timed(WHAT, sqlx::query("SELECT COALESCE(shobj_description(oid, 'pg_authid'), '') FROM pg_roles WHERE rolname = $1").bind(user).fetch_optional(self.pool()))
                    .await?;
                Ok(match row {
                    None => Held::Absent,
                    Some(row) if self.get::<String>(WHAT, &row, 0)?.contains(mark) => {
                        Held::Ours(())
                    }
                    Some(_) => Held::Foreign,
                })
            }
            Dialect::Mysql => {
                let exists = self
                    .timed(WHAT, sqlx::query("SELECT CAST(COUNT(*) AS SIGNED) FROM mysql.user WHERE user = ? AND host = '%'").bind(user).fetch_one(self.pool()))
                    .await?;
                if self.get::<i64>(WHAT, &exists, 0)? == 0 {
                    return Ok(Held::Absent);
                }
                let grantee = format!("'{user}'@'%'");
                let rows = self
                    .timed(WHAT, sqlx::query("SELECT CAST(privilege_type AS CHAR), CAST(COALESCE(table_name, '') AS CHAR) FROM information_schema.table_privileges WHERE grantee = ? AND table_schema = DATABASE() UNION ALL SELECT CAST(privilege_type AS CHAR), '*' FROM information_schema.schema_privileges WHERE grantee = ? UNION ALL SELECT CAST(privilege_type AS CHAR), '**' FROM information_schema.user_privileges WHERE grantee = ? AND privilege_type <> 'USAGE'").bind(&grantee).bind(&grantee).bind(&grantee).fetch_all(self.pool()))
                    .await?;
                let mut grants = Vec::new();
                for row in &rows {
                    let p: String = self.get(WHAT, row, 0)?;
                    let on: String = self.get(WHAT, row, 1)?;
                    grants.push(format!("{p} {on}"));
                }
                grants.sort();
                let ours: Vec<String> = ["DELETE", "INSERT", "SELECT"]
                    .iter()
                    .map(|p| format!("{p} {}", self.sql.name))
                    .collect();
                Ok(if grants == ours {
                    Held::Ours(())
                } else {
                    Held::Foreign
                })
            }
        }
    }

    /// Creates the app's user with `password` and its three grants.
    pub(crate) async fn create_user(
        &self,
        user: &str,
        password: &Secret,
        mark: &str,
    ) -> Result<()> {
        const WHAT: &str = "creating the app's user";
        let t = &self.sql.table;
        let pw = password.expose();
        let statements = match self.sql.dialect {
            Dialect::Sqlite => return Ok(()),
            Dialect::Postgres => {
                let u = quote(Dialect::Postgres, user);
                let sequence = self
                    .text(WHAT, "SELECT pg_get_serial_sequence($1, 'id')", t)
                    .await?;
                let mut s = vec![
                    format!("CREATE ROLE {u} LOGIN PASSWORD '{pw}'"),
                    format!("COMMENT ON ROLE {u} IS '{mark}'"),
                    format!("GRANT SELECT, INSERT, DELETE ON {t} TO {u}"),
                ];
                // The seed's insert takes its id from the sequence.
                if let Some(sequence) = sequence {
                    s.push(format!("GRANT USAGE ON SEQUENCE {sequence} TO {u}"));
                }
                s
            }
            Dialect::Mysql => vec![
                format!("CREATE USER '{user}'@'%' IDENTIFIED BY '{pw}'"),
                format!("GRANT SELECT, INSERT, DELETE ON {t} TO '{user}'@'%'"),
            ],
        };
        for statement in &statements {
            self.exec(WHAT, statement).await?;
        }
        Ok(())
    }

    /// Drops the app's user and everything granted to it.
    pub(crate) async fn drop_user(&self, user: &str) -> Result<()> {
        const WHAT: &str = "dropping the app's user";
        match self.sql.dialect {
            Dialect::Sqlite => Ok(()),
            Dialect::Postgres => {
                let u = quote(Dialect::Postgres, user);
                self.exec(WHAT, &format!("DROP OWNED BY {u}")).await?;
                self.exec(WHAT, &format!("DROP ROLE {u}")).await
            }
            Dialect::Mysql => self.exec(WHAT, &format!("DROP USER '{user}'@'%'")).await,
        }
    }

    /// Drops the table (its indexes go with it).
    pub(crate) async fn drop_table(&self) -> Result<()> {
        self.exec(
            "dropping the table",
            &format!("DROP TABLE {}", self.sql.table),
        )
        .await
    }
}
