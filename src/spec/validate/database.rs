//! A `database` environment: the URL (a known scheme, a host, never a
//! password, TLS settings the driver knows), the table name (an identifier:
//! it is written into statements) and the password variable; the keys of
//! the other stores are refused, and the database keys refused on them.

use serde_saphyr::Spanned;

use super::Checker;
use crate::spec::DatabaseStorage;
use crate::spec::database::{DEFAULT_PASSWORD_ENV, DEFAULT_TABLE, Dialect, is_identifier};
use crate::spec::raw::RawEnvironment;

/// The longest table name `partition: monthly` takes: 63 characters less
/// its partitions' `_default` / `_p202612`.
const MONTHLY_TABLE_MAX: usize = 55;

/// What is wrong with a URL: the rule and the message.
type UrlProblem = (&'static str, String);

impl Checker<'_> {
    pub(super) fn database(&mut self, env: RawEnvironment) -> Option<DatabaseStorage> {
        self.store_keys_elsewhere(&env, "database");
        let path = [("path", env.path.as_ref().map(|v| v.referenced))];
        let foreign = super::s3_keys(&env).into_iter().chain(path);
        for (key, loc) in foreign.filter_map(|(k, l)| Some((k, l?))) {
            self.problem(
                &loc,
                "spec.key-not-applicable",
                format!("'{key}' does not apply to storage: database"),
            );
        }
        let url = match &env.url {
            Some(raw) => self.checked(raw, check_database_url),
            None => {
                self.problem(
                    &env.storage.referenced,
                    "database.url",
                    "storage: database needs url: (postgres://, mysql:// or sqlite://)".into(),
                );
                None
            }
        };
        let table = self.identifier(env.table.as_ref(), DEFAULT_TABLE, "database.table");
        let password_env = match &env.password_env {
            None => Some(DEFAULT_PASSWORD_ENV.to_string()),
            Some(raw) => self.checked(raw, check_variable_name),
        };
        let (dialect, url) = url?;
        let monthly = self.partition(env.partition.as_ref(), dialect, table.as_deref());
        Some(DatabaseStorage {
            dialect,
            url,
            table: table?,
            password_env: password_env?,
            app_user: env.app_user.is_none_or(|v| v.value),
            monthly: monthly?,
        })
    }

    /// `partition:`: `monthly` (the only layout), on a server that
    /// partitions (not SQLite), for a table whose partitions' names fit
    /// PostgreSQL's 63 characters (`{table}_p202612`, `{table}_default`):
    /// a longer one would be cut short, and never found again by `plan`.
    fn partition(
        &mut self,
        raw: Option<&Spanned<String>>,
        dialect: Dialect,
        table: Option<&str>,
    ) -> Option<bool> {
        let Some(raw) = raw else {
            return Some(false);
        };
        let problem = if raw.value != "monthly" {
            format!("partition '{}': the only layout is monthly", raw.value)
        } else if dialect == Dialect::Sqlite {
            "partition: monthly needs PostgreSQL or MySQL/MariaDB: SQLite has no partitions".into()
        } else if table.is_some_and(|t| t.len() > MONTHLY_TABLE_MAX) {
            format!(
                "partition: monthly needs a table name of at most {MONTHLY_TABLE_MAX} characters: its partitions are named {{table}}_pYYYYMM"
            )
        } else {
            return Some(true);
        };
        self.problem(&raw.referenced, "database.partition", problem);
        None
    }

    /// A value through `check`, its problem recorded at its line.
    fn checked<T>(
        &mut self,
        raw: &Spanned<String>,
        check: impl Fn(&str) -> Result<T, UrlProblem>,
    ) -> Option<T> {
        match check(&raw.value) {
            Ok(value) => Some(value),
            Err((rule, message)) => {
                self.problem(&raw.referenced, rule, message);
                None
            }
        }
    }

    fn identifier(
        &mut self,
        raw: Option<&Spanned<String>>,
        default: &str,
        rule: &'static str,
    ) -> Option<String> {
        let Some(raw) = raw else {
            return Some(default.to_string());
        };
        if is_identifier(&raw.value) {
            return Some(raw.value.clone());
        }
        self.problem(
            &raw.referenced,
            rule,
            format!(
                "table '{}' must be a plain SQL identifier: a letter or '_', then letters, digits or '_' (at most 63)",
                raw.value
            ),
        );
        None
    }
}

/// An environment variable's name: upper case, digits and '_'.
fn check_variable_name(value: &str) -> Result<String, UrlProblem> {
    let ok = value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase() || c == '_')
        && value
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_');
    if ok {
        Ok(value.to_string())
    } else {
        Err((
            "database.password-env",
            format!("password_env '{value}' must be an environment variable name (A-Z, 0-9, '_')"),
        ))
    }
}

/// The TLS modes each driver knows, by its query key.
const TLS_MODES: [(&str, &[&str]); 2] = [
    (
        "sslmode",
        &[
            "disable",
            "allow",
            "prefer",
            "require",
            "verify-ca",
            "verify-full",
        ],
    ),
    (
        "ssl-mode",
        &[
            "DISABLED",
            "PREFERRED",
            "REQUIRED",
            "VERIFY_CA",
            "VERIFY_IDENTITY",
        ],
    ),
];

/// A database URL: a known scheme, a host (a path for SQLite), no
/// password anywhere, known TLS modes. Returns the dialect and the URL the
/// driver reads (`mariadb://` becomes `mysql://`).
pub(crate) fn check_database_url(value: &str) -> Result<(Dialect, String), UrlProblem> {
    let url = url::Url::parse(value).map_err(|e| {
        (
            "database.url",
            format!("url '{}' is not a URL: {e}", redact(value)),
        )
    })?;
    let Some(dialect) = Dialect::from_scheme(url.scheme()) else {
        return Err((
            "database.url",
            format!(
                "url scheme '{}' is not one of: postgres, mysql, mariadb, sqlite",
                url.scheme()
            ),
        ));
    };
    let password_in_query = url
        .query_pairs()
        .any(|(k, _)| matches!(k.as_ref(), "password" | "pass" | "passwd"));
    if url.password().is_some() || password_in_query {
        return Err((
            "database.credentials",
            "url must not hold a password: set it in DB_PASSWORD (or the variable password_env names)".into(),
        ));
    }
    for (key, mode) in url.query_pairs() {
        if let Some((_, known)) = TLS_MODES.iter().find(|(k, _)| *k == key)
            && !known.contains(&mode.as_ref())
        {
            return Err((
                "database.tls",
                format!("{key}={mode} is not one of: {}", known.join(", ")),
            ));
        }
    }
    let driver_url = match dialect {
        Dialect::Sqlite => sqlite_url(value)?,
        _ if url.host_str().is_none_or(str::is_empty) => {
            return Err((
                "database.url",
                format!("url '{value}' needs a host (and a database name in its path)"),
            ));
        }
        Dialect::Mysql => value.replacen("mariadb://", "mysql://", 1),
        Dialect::Postgres => value.to_string(),
    };
    Ok((dialect, driver_url))
}

/// `sqlite://path` or `sqlite:path`: a file (an in-memory database holds
/// no traces to check).
fn sqlite_url(value: &str) -> Result<String, UrlProblem> {
    let rest = value
        .strip_prefix("sqlite://")
        .or_else(|| value.strip_prefix("sqlite:"))
        .unwrap_or_default();
    let path = rest.split('?').next().unwrap_or_default();
    if path.is_empty() || path.contains(":memory:") {
        return Err((
            "database.url",
            format!("url '{value}' must name a SQLite file (sqlite://path/to/file.db)"),
        ));
    }
    Ok(value.to_string())
}

/// A URL for a message, with any password replaced (the URL failed to
/// parse: it may still hold one).
fn redact(value: &str) -> String {
    match (value.find("://"), value.rfind('@')) {
        (Some(start), Some(at)) if at > start => {
            let userinfo = &value[start + 3..at];
            let user = userinfo.split(':').next().unwrap_or_default();
            format!("{}{user}:***{}", &value[..start + 3], &value[at..])
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_urls() {
        let ok = |v: &str| check_database_url(v).ok();
        assert_eq!(
            ok("postgres://app@db:5432/traces?sslmode=require"),
            Some((
                Dialect::Postgres,
                "postgres://app@db:5432/traces?sslmode=require".into()
            ))
        );
        assert_eq!(
            ok("mariadb://app@db/traces"),
            Some((Dialect::Mysql, "mysql://app@db/traces".into()))
        );
        assert_eq!(
            ok("sqlite:///var/lib/traces.db").map(|x| x.0),
            Some(Dialect::Sqlite)
        );
        let rule = |v: &str| check_database_url(v).err().map(|e| e.0);
        assert_eq!(
            rule("postgres://app:s3cret@db/t"),
            Some("database.credentials")
        );
        assert_eq!(
            rule("mysql://db/t?password=x"),
            Some("database.credentials")
        );
        assert_eq!(rule("postgres://db/t?sslmode=always"), Some("database.tls"));
        assert_eq!(rule("oracle://db/t"), Some("database.url"));
        assert_eq!(rule("sqlite::memory:"), Some("database.url"));
        assert_eq!(rule("postgres:///t"), Some("database.url"));
    }

    #[test]
    fn unparsable_urls_never_echo_a_password() {
        let message = check_database_url("postgres://app:s3cret@[bad/t")
            .err()
            .map(|e| e.1)
            .unwrap_or_default();
        assert!(!message.contains("s3cret"), "{message}");
    }

    #[test]
    fn variable_names() {
        assert!(check_variable_name("CT_DB_PASSWORD").is_ok());
        assert!(check_variable_name("db-password").is_err());
        assert!(check_variable_name("").is_err());
    }
}

#[cfg(test)]
mod app_user_tests {
    use crate::error::Error;
    use crate::spec::{Spec, Storage};

    const DB: &str =
        "project: p\nenvironments:\n  d:\n    storage: database\n    url: postgres://app@db/app\n";

    #[test]
    fn app_user_defaults_to_true_and_false_opts_out_on_databases_and_redis() {
        let app_user = |extra: &str| {
            let spec = Spec::parse(&format!("{DB}{extra}"), "t.yaml").expect("valid spec");
            match &spec.environment("d").expect("env").storage {
                Storage::Database(db) => db.app_user,
                _ => panic!("a database"),
            }
        };
        assert!(app_user(""));
        assert!(!app_user("    app_user: false\n"));
        let redis = "project: p\nenvironments:\n  r:\n    storage: redis\n    url: redis://127.0.0.1:6379\n    app_user: false\n";
        let spec = Spec::parse(redis, "t.yaml").expect("valid spec");
        assert!(matches!(
            &spec.environment("r").expect("env").storage,
            Storage::Redis(r) if !r.app_user
        ));
    }

    #[test]
    fn app_user_elsewhere_or_not_a_boolean_is_refused_at_its_line() {
        let s3 = "project: p\nenvironments:\n  s:\n    storage: s3\n    provider: aws\n    region: eu-west-1\n    bucket: b-s\n    app_user: false\n";
        match Spec::parse(s3, "t.yaml") {
            Err(Error::Spec(problems)) => {
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert_eq!(problems[0].rule, "spec.key-not-applicable");
                assert_eq!(problems[0].at.line, 8);
                assert!(
                    problems[0]
                        .message
                        .contains("'app_user' applies only to storage: redis or database")
                );
            }
            other => panic!("refused: {other:?}"),
        }
        assert!(Spec::parse(&format!("{DB}    app_user: maybe\n"), "t.yaml").is_err());
    }

    #[test]
    fn partition_monthly_only_on_postgres_or_mysql_and_refused_elsewhere_at_its_line() {
        let monthly = |spec: &str| match &Spec::parse(spec, "t.yaml")
            .expect("valid spec")
            .environment("d")
            .expect("env")
            .storage
        {
            Storage::Database(db) => db.monthly,
            _ => panic!("a database"),
        };
        assert!(!monthly(DB));
        assert!(monthly(&format!("{DB}    partition: monthly\n")));
        let refused = |spec: &str, rule: &str, says: &str| match Spec::parse(spec, "t.yaml") {
            Err(Error::Spec(problems)) => {
                assert_eq!(problems.len(), 1, "{problems:?}");
                assert_eq!(problems[0].rule, rule, "{problems:?}");
                assert!(problems[0].message.contains(says), "{problems:?}");
                problems[0].at.line
            }
            other => panic!("refused: {other:?}"),
        };
        let table = |name: String| format!("{DB}    table: {name}\n    partition: monthly\n");
        assert!(monthly(&table("t".repeat(55))));
        refused(
            &table("t".repeat(56)),
            "database.partition",
            "at most 55 characters",
        );
        let line = refused(
            &format!("{DB}    partition: weekly\n"),
            "database.partition",
            "only layout is monthly",
        );
        assert!(line > 1);
        let sqlite = "project: p\nenvironments:\n  d:\n    storage: database\n    url: sqlite:///tmp/t.db\n    partition: monthly\n";
        assert_eq!(
            refused(sqlite, "database.partition", "SQLite has no partitions"),
            6
        );
        let s3 = "project: p\nenvironments:\n  s:\n    storage: s3\n    provider: aws\n    region: eu-west-1\n    bucket: b-s\n    partition: monthly\n";
        assert_eq!(
            refused(
                s3,
                "spec.key-not-applicable",
                "'partition' applies only to storage: database"
            ),
            8
        );
    }
}
