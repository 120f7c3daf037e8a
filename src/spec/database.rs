//! The model of a `storage: database` environment: the seed's
//! `DatabaseTraceStorage` table on PostgreSQL, MySQL/MariaDB or SQLite.
//! The URL never holds a password (validation refuses one): the password
//! comes from the variable `password_env` names when connecting.

use serde::Serialize;

/// Laravel's own variable for the database password.
pub(crate) const DEFAULT_PASSWORD_ENV: &str = "DB_PASSWORD";
/// The seed's migration creates this table.
pub(crate) const DEFAULT_TABLE: &str = "chronotrace_traces";

/// Which SQL server (and so which SQL dialect) a URL names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Dialect {
    Postgres,
    Mysql,
    Sqlite,
}

impl Dialect {
    /// The dialect of a URL scheme (`mariadb` is MySQL's protocol).
    pub(crate) fn from_scheme(scheme: &str) -> Option<Dialect> {
        match scheme {
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            "sqlite" => Some(Dialect::Sqlite),
            _ => None,
        }
    }

    /// The name in messages and reports.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgresql",
            Dialect::Mysql => "mysql",
            Dialect::Sqlite => "sqlite",
        }
    }
}

/// A traces table in a SQL database.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct DatabaseStorage {
    pub(crate) dialect: Dialect,
    /// The URL to connect to, without any password (`mariadb://` written
    /// as `mysql://`, the scheme the driver knows).
    pub(crate) url: String,
    /// A plain SQL identifier (checked): it is written into statements.
    pub(crate) table: String,
    /// The variable holding the password (`DB_PASSWORD` by default).
    pub(crate) password_env: String,
    /// `apply` makes the app's least-privilege user (`app_user:`, default
    /// true; SQLite has no users either way).
    pub(crate) app_user: bool,
    /// `partition: monthly`: `apply` creates the table partitioned by
    /// month of `created_at`, with the months ahead (never on SQLite).
    pub(crate) monthly: bool,
}

impl DatabaseStorage {
    /// The URL without its query (for messages: host, port, database).
    pub(crate) fn location(&self) -> String {
        let base = self.url.split('?').next().unwrap_or_default();
        format!("{base} table {}", self.table)
    }

    /// A SQLite database's file (`sqlite://path` or `sqlite:path`).
    pub(crate) fn sqlite_file(&self) -> Option<std::path::PathBuf> {
        if self.dialect != Dialect::Sqlite {
            return None;
        }
        let rest = self
            .url
            .strip_prefix("sqlite://")
            .or_else(|| self.url.strip_prefix("sqlite:"))?;
        rest.split('?').next().map(std::path::PathBuf::from)
    }
}

/// A plain SQL identifier: a letter or '_', then letters, digits or '_',
/// at most 63 characters (PostgreSQL's limit; MySQL allows 64).
pub(crate) fn is_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}
