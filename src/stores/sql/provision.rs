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
use crate::plan::database::{Month, TableSeen, index_name};
use crate::plan::observed::Held;
use crate::secret::Secret;
use crate::spec::database::Dialect;

/// Index builds may take long on a big table: this many statement limits.
const DDL_LIMITS: u32 = 30;

/// What a privilege read is called in errors.
const PRIVILEGES: &str = "reading the connection's privileges";

/// The connection's role, whether it may create roles, whether superuser.
const POSTGRES_ROLE: &str = "SELECT CAST(current_user AS text), CAST(CASE WHEN rolsuper OR rolcreaterole THEN 1 ELSE 0 END AS bigint), CAST(CASE WHEN rolsuper THEN 1 ELSE 0 END AS bigint) FROM pg_roles WHERE rolname = current_user";

/// 1 when the connection may grant the app's three privileges on the table
/// and USAGE on its `id` sequence, which `create_user` grants too (its
/// owner holds them all WITH GRANT OPTION). The sequence is looked up only
/// when the table has an `id` column (`pg_get_serial_sequence` fails
/// otherwise).
const POSTGRES_GRANTS: &str = "SELECT CAST(CASE WHEN has_table_privilege($1, 'SELECT WITH GRANT OPTION') AND has_table_privilege($1, 'INSERT WITH GRANT OPTION') AND has_table_privilege($1, 'DELETE WITH GRANT OPTION') AND COALESCE((SELECT has_sequence_privilege(s, 'USAGE WITH GRANT OPTION') FROM (SELECT pg_get_serial_sequence($1, 'id') AS s WHERE EXISTS (SELECT 1 FROM pg_attribute WHERE attrelid = CAST($1 AS regclass) AND attname = 'id' AND NOT attisdropped)) q WHERE s IS NOT NULL), true) THEN 1 ELSE 0 END AS bigint)";

/// The connection's account as `information_schema` names grantees.
const MYSQL_ME: &str = "SELECT CAST(CONCAT('''', SUBSTRING_INDEX(CURRENT_USER(), '@', 1), '''@''', SUBSTRING_INDEX(CURRENT_USER(), '@', -1), '''') AS CHAR)";

/// The connection's privileges (and its enabled roles': MariaDB names a
/// role's grantee `'role'`) at every level that reaches the table, as
/// `(level, privilege, grantable)`; binds: the account three times, the
/// table. A database-level grant's name may hold wildcards: LIKE, as the
/// server matches it.
const MYSQL_PRIVILEGES: &str = "SELECT 'global', CAST(privilege_type AS CHAR), CAST(is_grantable AS CHAR) FROM information_schema.user_privileges WHERE grantee = ? OR grantee IN (SELECT CONCAT('''', role_name, '''') FROM information_schema.enabled_roles) \
UNION ALL SELECT CASE WHEN table_schema = 'mysql' THEN 'mysql' ELSE 'db' END, CAST(privilege_type AS CHAR), CAST(is_grantable AS CHAR) FROM information_schema.schema_privileges WHERE (grantee = ? OR grantee IN (SELECT CONCAT('''', role_name, '''') FROM information_schema.enabled_roles)) AND (DATABASE() LIKE table_schema OR table_schema = 'mysql') \
UNION ALL SELECT 'table', CAST(privilege_type AS CHAR), CAST(is_grantable AS CHAR) FROM information_schema.table_privileges WHERE (grantee = ? OR grantee IN (SELECT CONCAT('''', role_name, '''') FROM information_schema.enabled_roles)) AND table_schema = DATABASE() AND table_name = ?";

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
            partitioned: false,
            partitions: Vec::new(),
        };
        let seen = match self.layout().await? {
            Some(layout) if layout.key_kind().is_some() => TableSeen {
                partitioned: true,
                partitions: layout
                    .partitions
                    .iter()
                    .map(|p| p.name.trim_matches('"').to_string())
                    .collect(),
                ..seen
            },
            _ => seen,
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
    pub(crate) async fn create_table(&self, mark: &str, months: &[Month]) -> Result<()> {
        const WHAT: &str = "creating the table";
        if !months.is_empty() {
            return self.create_partitioned_table(mark, months).await;
        }
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
        self.in_one_transaction(WHAT, &statements).await
    }

    /// `partition: monthly`: the table partitioned by range of
    /// `created_at` (its primary and unique keys hold it, as a partitioned
    /// table's must; `created_at` is NOT NULL), its `months`, and a
    /// catch-all for rows past the last month (PostgreSQL's DEFAULT
    /// partition, MySQL's `pmax` below MAXVALUE), all marked.
    async fn create_partitioned_table(&self, mark: &str, months: &[Month]) -> Result<()> {
        const WHAT: &str = "creating the partitioned table";
        let (t, name) = (&self.sql.table, &self.sql.name);
        let unique = quote(self.sql.dialect, &format!("{name}_trace_id_unique"));
        let index = quote(self.sql.dialect, &index_name(name));
        let statements = match self.sql.dialect {
            Dialect::Postgres => {
                let default = quote(self.sql.dialect, &format!("{name}_default"));
                let mut statements = vec![
                    format!(
                        "CREATE TABLE {t} (id bigserial, trace_id varchar(255) NOT NULL, data text NOT NULL, created_at timestamp(0) without time zone NOT NULL, updated_at timestamp(0) without time zone NULL, PRIMARY KEY (id, created_at)) PARTITION BY RANGE (created_at)"
                    ),
                    format!(
                        "ALTER TABLE {t} ADD CONSTRAINT {unique} UNIQUE (trace_id, created_at)"
                    ),
                    format!("CREATE INDEX {index} ON {t} (created_at)"),
                    format!("COMMENT ON TABLE {t} IS '{mark}'"),
                    format!("CREATE TABLE {default} PARTITION OF {t} DEFAULT"),
                    format!("COMMENT ON TABLE {default} IS '{mark}'"),
                ];
                statements.extend(self.month_statements(mark, months));
                statements
            }
            Dialect::Mysql | Dialect::Sqlite => {
                vec![format!(
                    "CREATE TABLE {t} (id bigint unsigned NOT NULL AUTO_INCREMENT, trace_id varchar(255) NOT NULL, data longtext NOT NULL, created_at timestamp NOT NULL DEFAULT CURRENT_TIMESTAMP, updated_at timestamp NULL, PRIMARY KEY (id, created_at), UNIQUE KEY {unique} (trace_id, created_at), KEY {index} (created_at)) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_unicode_ci COMMENT='{mark}' PARTITION BY RANGE (UNIX_TIMESTAMP(created_at)) ({})",
                    mysql_months(months, mark)
                )]
            }
        };
        self.in_one_transaction(WHAT, &statements).await
    }

    /// `statements` in one transaction (MySQL commits each DDL on its
    /// own: there the transaction holds the order, not the atomicity).
    async fn in_one_transaction(&self, what: &str, statements: &[String]) -> Result<()> {
        let mut tx = self.timed(what, self.pool().begin()).await?;
        for statement in statements {
            self.timed(what, sqlx::query(statement).execute(&mut *tx))
                .await?;
        }
        self.timed(what, tx.commit()).await
    }

    /// PostgreSQL: each month's partition created and marked.
    fn month_statements(&self, mark: &str, months: &[Month]) -> Vec<String> {
        let t = &self.sql.table;
        months
            .iter()
            .flat_map(|m| {
                let part = quote(self.sql.dialect, &format!("{}_{}", self.sql.name, m.suffix));
                [
                    format!(
                        "CREATE TABLE {part} PARTITION OF {t} FOR VALUES FROM ('{}') TO ('{}')",
                        m.from, m.to
                    ),
                    format!("COMMENT ON TABLE {part} IS '{mark}'"),
                ]
            })
            .collect()
    }

    /// The missing `months` of the tool's partitioned table, ahead of
    /// time: PostgreSQL, new partitions (one transaction; it fails if the
    /// DEFAULT partition already holds rows of such a month); MySQL, split
    /// off `pmax` (`REORGANIZE PARTITION`, rows already there moved).
    pub(crate) async fn create_partitions(&self, mark: &str, months: &[Month]) -> Result<()> {
        const WHAT: &str = "creating the partitions ahead of time";
        let statements = match self.sql.dialect {
            Dialect::Postgres => self.month_statements(mark, months),
            Dialect::Mysql | Dialect::Sqlite => {
                vec![format!(
                    "ALTER TABLE {} REORGANIZE PARTITION pmax INTO ({})",
                    self.sql.table,
                    mysql_months(months, mark)
                )]
            }
        };
        self.in_one_transaction(WHAT, &statements).await
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

    /// Why this connection cannot make the app's `user` with its grants:
    /// what it lacks and how to get it; `None` when it can. Read from the
    /// catalog (PostgreSQL: `rolsuper`/`rolcreaterole` of `current_user`
    /// and the table's grant options; MySQL/MariaDB: `CREATE USER` and
    /// `GRANT OPTION` from `information_schema`), never by trying: a tried
    /// CREATE USER commits on MySQL. `table_present`: the table exists
    /// already (else `apply` creates it and, on PostgreSQL, owns it).
    pub(crate) async fn cannot_create_user(
        &self,
        user: &str,
        table_present: bool,
    ) -> Result<Option<String>> {
        let missing = match self.sql.dialect {
            Dialect::Sqlite => return Ok(None),
            Dialect::Postgres => self.postgres_missing(user, table_present).await?,
            Dialect::Mysql => {
                let row = self
                    .timed(PRIVILEGES, sqlx::query(MYSQL_ME).fetch_one(self.pool()))
                    .await?;
                let me: String = self.get(PRIVILEGES, &row, 0)?;
                let rows = self
                    .timed(
                        PRIVILEGES,
                        sqlx::query(MYSQL_PRIVILEGES)
                            .bind(&me)
                            .bind(&me)
                            .bind(&me)
                            .bind(&self.sql.name)
                            .fetch_all(self.pool()),
                    )
                    .await?;
                let mut held = Vec::new();
                for row in &rows {
                    let level: String = self.get(PRIVILEGES, row, 0)?;
                    let privilege: String = self.get(PRIVILEGES, row, 1)?;
                    let grantable: String = self.get(PRIVILEGES, row, 2)?;
                    held.push((level, privilege, grantable == "YES"));
                }
                mysql_missing(&me, user, &self.sql.name, &held)
            }
        };
        Ok(missing.map(|m| {
            format!("not planned: {m}, or write `app_user: false` in the spec to stop planning it")
        }))
    }

    async fn postgres_missing(&self, user: &str, table_present: bool) -> Result<Option<String>> {
        let row = self
            .timed(
                PRIVILEGES,
                sqlx::query(POSTGRES_ROLE).fetch_one(self.pool()),
            )
            .await?;
        let me: String = self.get(PRIVILEGES, &row, 0)?;
        let creates: i64 = self.get(PRIVILEGES, &row, 1)?;
        let superuser: i64 = self.get(PRIVILEGES, &row, 2)?;
        let table = &self.sql.name;
        if creates == 0 {
            return Ok(Some(format!(
                "{me} (the connection's role) has neither CREATEROLE nor SUPERUSER, so it cannot create {user}; to have it made, run apply connected as a role with CREATEROLE"
            )));
        }
        // A table `apply` creates is the connection's own: it may grant on it.
        if superuser == 1 || !table_present {
            return Ok(None);
        }
        let row = self
            .timed(
                PRIVILEGES,
                sqlx::query(POSTGRES_GRANTS)
                    .bind(&self.sql.table)
                    .fetch_one(self.pool()),
            )
            .await?;
        let grants: i64 = self.get(PRIVILEGES, &row, 0)?;
        Ok((grants == 0).then(|| format!(
            "{me} (the connection's role) neither owns {table} nor holds SELECT, INSERT and DELETE on it (and USAGE on its id sequence) WITH GRANT OPTION, so it cannot give {user} its grants; to have it made, run apply connected as the table's owner or a superuser"
        )))
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

/// What a MySQL/MariaDB connection lacks to create the app's user and
/// grant it SELECT, INSERT and DELETE on `table`, from its privileges as
/// `(level, privilege, grantable)`: level `global`, `mysql` (the system
/// schema: INSERT there creates users too), `db` or `table`. Reading the
/// user list (`mysql.user`, for whether the user exists) needs SELECT on
/// the system schema.
fn mysql_missing(
    me: &str,
    user: &str,
    table: &str,
    held: &[(String, String, bool)],
) -> Option<String> {
    let has = |levels: &[&str], privilege: &str, grantable: bool| {
        held.iter().any(|(l, p, g)| {
            levels.contains(&l.as_str()) && p.eq_ignore_ascii_case(privilege) && (*g || !grantable)
        })
    };
    let creates =
        has(&["global"], "CREATE USER", false) || has(&["global", "mysql"], "INSERT", false);
    let grants = ["SELECT", "INSERT", "DELETE"]
        .iter()
        .all(|p| has(&["global", "db", "table"], p, true));
    let reads = has(&["global", "mysql"], "SELECT", false);
    if !creates {
        Some(format!(
            "{me} (the connection's user) lacks the CREATE USER privilege, so it cannot create {user}; to have it made, run apply connected as a user with CREATE USER and GRANT OPTION (the server's admin)"
        ))
    } else if !grants {
        Some(format!(
            "{me} (the connection's user) may not grant SELECT, INSERT and DELETE on {table} (no GRANT OPTION), so it cannot give {user} its grants; to have it made, run apply connected as a user holding them WITH GRANT OPTION (the server's admin)"
        ))
    } else if !reads {
        Some(format!(
            "{me} (the connection's user) may not read mysql.user (no SELECT on the mysql schema), so it cannot tell whether {user} exists; to have it made, run apply connected as a user who may (the server's admin)"
        ))
    } else {
        None
    }
}

/// MySQL: the partitions of `months` and `pmax` above them, marked.
fn mysql_months(months: &[Month], mark: &str) -> String {
    let mut partitions: Vec<String> = months
        .iter()
        .map(|m| {
            format!(
                "PARTITION {} VALUES LESS THAN (UNIX_TIMESTAMP('{}')) COMMENT = '{mark}'",
                m.suffix, m.to
            )
        })
        .collect();
    partitions.push(format!(
        "PARTITION pmax VALUES LESS THAN MAXVALUE COMMENT = '{mark}'"
    ));
    partitions.join(", ")
}

#[cfg(test)]
mod tests {
    use super::mysql_missing;

    fn held(rows: &[(&str, &str, bool)]) -> Vec<(String, String, bool)> {
        rows.iter()
            .map(|(l, p, g)| (l.to_string(), p.to_string(), *g))
            .collect()
    }

    #[test]
    fn a_database_owner_without_create_user_cannot_make_the_app_user() {
        // GRANT ALL ON app.* TO app: everything on its database, no user.
        let owner = held(&[
            ("global", "USAGE", false),
            ("db", "SELECT", false),
            ("db", "INSERT", false),
            ("db", "DELETE", false),
            ("db", "CREATE", false),
        ]);
        let why = mysql_missing("'app'@'%'", "t_ci_app", "t", &owner).unwrap_or_default();
        assert!(why.contains("lacks the CREATE USER privilege"), "{why}");
    }

    #[test]
    fn create_user_without_grant_option_cannot_give_the_grants() {
        let no_option = held(&[
            ("global", "CREATE USER", false),
            ("db", "SELECT", false),
            ("db", "INSERT", false),
            ("db", "DELETE", false),
        ]);
        let why = mysql_missing("'ops'@'%'", "t_ci_app", "t", &no_option).unwrap_or_default();
        assert!(why.contains("no GRANT OPTION"), "{why}");
    }

    #[test]
    fn an_admin_or_a_mysql_schema_writer_with_grant_option_can() {
        let admin = held(&[
            ("global", "CREATE USER", true),
            ("global", "SELECT", true),
            ("global", "INSERT", true),
            ("global", "DELETE", true),
        ]);
        assert_eq!(mysql_missing("'admin'@'%'", "u", "t", &admin), None);
        let scoped = held(&[
            ("mysql", "INSERT", false),
            ("mysql", "SELECT", false),
            ("table", "SELECT", true),
            ("db", "INSERT", true),
            ("table", "DELETE", true),
        ]);
        assert_eq!(mysql_missing("'ops'@'%'", "u", "t", &scoped), None);
    }

    #[test]
    fn a_user_who_may_not_read_the_user_list_cannot_tell_whether_it_exists() {
        let blind = held(&[
            ("global", "CREATE USER", false),
            ("db", "SELECT", true),
            ("db", "INSERT", true),
            ("db", "DELETE", true),
        ]);
        let why = mysql_missing("'ops'@'%'", "u", "t", &blind).unwrap_or_default();
        assert!(why.contains("may not read mysql.user"), "{why}");
    }
}
