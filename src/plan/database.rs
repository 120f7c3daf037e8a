//! Provisioning a database store as data: the table and indexes of the
//! seed's migration, and a least-privilege user for the app (SELECT,
//! INSERT, DELETE on that table only). An existing table that differs from
//! the migration is reported, never altered; a missing `created_at` index
//! is created; `destroy` removes only what carries the tool's mark. The
//! app's user is planned only when the connection may create it (read
//! before planning): otherwise a note says what is missing, so `apply`
//! never stops half-way on a privilege `plan` could have seen.

use serde_json::json;

use super::{Action, Change, Held, Resource};
use crate::spec::DatabaseStorage;
use crate::spec::database::Dialect;

/// What the spec asks of a database.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct DesiredDatabase {
    pub(crate) storage: DatabaseStorage,
    pub(crate) env: String,
    /// The app's user: `{table}_{env}_app` (none on SQLite, nor with
    /// `app_user: false`).
    pub(crate) app_user: Option<String>,
}

impl DesiredDatabase {
    pub(crate) fn new(storage: &DatabaseStorage, env: &str) -> DesiredDatabase {
        let app_user = (storage.dialect != Dialect::Sqlite && storage.app_user).then(|| {
            let name = format!("{}_{}_app", storage.table, env.replace('-', "_"));
            name.chars().take(63).collect()
        });
        DesiredDatabase {
            storage: storage.clone(),
            env: env.to_string(),
            app_user,
        }
    }

    /// The mark the tool leaves on what it creates (a comment).
    pub(crate) fn mark(&self) -> String {
        format!("managed-by=chronotrace-ops env={}", self.env)
    }
}

/// The traces table as found.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct TableSeen {
    /// The seed's columns it lacks.
    pub(crate) missing_columns: Vec<String>,
    pub(crate) unique_trace_id: bool,
    pub(crate) created_at_index: bool,
    pub(crate) rows: u64,
}

/// Everything observed of a database store.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObservedDatabase {
    pub(crate) table: Held<TableSeen>,
    /// A table without the tool's mark, as found (`table` is `Foreign`).
    pub(crate) foreign_table: Option<TableSeen>,
    pub(crate) app_user: Held<()>,
    /// Why the connection cannot create the app's user (what it lacks and
    /// how to get it); `None` when it can, or when nothing is to be made.
    pub(crate) cannot_create_user: Option<String>,
}

/// What `apply` must do to a database store.
pub(crate) fn changes(want: &DesiredDatabase, seen: &ObservedDatabase) -> Vec<Change> {
    let name = &want.storage.table;
    let mut out = Vec::new();
    let present = match (&seen.table, &seen.foreign_table) {
        (Held::Ours(t), _) | (Held::Foreign, Some(t)) => Some(t),
        _ => None,
    };
    match present {
        None => out.push(
            Change::new(Resource::SqlTable, Action::Create).with_after(json!({
                "table": name,
                "columns": ["id", "trace_id (unique)", "data", "created_at (indexed)", "updated_at"],
            })),
        ),
        Some(table) => {
            let before = json!({"table": name, "rows": table.rows});
            let mut change = Change::new(Resource::SqlTable, Action::None).with_before(before);
            let mut differs = Vec::new();
            if !table.missing_columns.is_empty() {
                differs.push(format!("lacks {}", table.missing_columns.join(", ")));
            }
            if !table.unique_trace_id {
                differs.push("no unique index on trace_id".to_string());
            }
            if !differs.is_empty() {
                change = change.with_note(format!(
                    "differs from the seed's migration ({}): reported, not altered",
                    differs.join("; ")
                ));
            }
            out.push(change);
            out.push(if table.created_at_index {
                Change::new(Resource::SqlCreatedAtIndex, Action::None)
            } else {
                Change::new(Resource::SqlCreatedAtIndex, Action::Create)
                    .with_after(json!({"index": index_name(name), "on": "created_at"}))
                    .with_note("without it every purge, verify and count reads the whole table")
            });
        }
    }
    if let Some(user) = &want.app_user {
        out.push(match &seen.app_user {
            Held::Absent if seen.cannot_create_user.is_some() => Change::noted(
                Resource::SqlAppUser,
                seen.cannot_create_user.clone().unwrap_or_default(),
            ),
            Held::Absent => Change::new(Resource::SqlAppUser, Action::Create).with_after(json!({
                "user": user,
                "grants": format!("SELECT, INSERT, DELETE on {name}"),
            })),
            Held::Ours(()) => {
                Change::new(Resource::SqlAppUser, Action::None).with_before(json!({"user": user}))
            }
            Held::Foreign => Change::noted(
                Resource::SqlAppUser,
                format!("{user} exists but was not created by chronotrace-ops: left alone"),
            ),
        });
    }
    out
}

/// What `destroy` removes: the app's user and the table, when the tool's.
pub(crate) fn removals(want: &DesiredDatabase, seen: &ObservedDatabase) -> Vec<Change> {
    let mut out = Vec::new();
    if let Some(user) = &want.app_user {
        out.push(match &seen.app_user {
            Held::Ours(()) => {
                Change::new(Resource::SqlAppUser, Action::Delete).with_before(json!({"user": user}))
            }
            Held::Foreign => Change::noted(
                Resource::SqlAppUser,
                format!("{user} was not created by chronotrace-ops: left alone"),
            ),
            Held::Absent => Change::noted(Resource::SqlAppUser, format!("{user} does not exist")),
        });
    }
    let name = &want.storage.table;
    out.push(match &seen.table {
        Held::Ours(t) => Change::new(Resource::SqlTable, Action::Delete)
            .with_before(json!({"table": name, "rows": t.rows})),
        Held::Foreign => Change::noted(
            Resource::SqlTable,
            format!("{name} was not created by chronotrace-ops: left alone"),
        ),
        Held::Absent => Change::noted(Resource::SqlTable, format!("{name} does not exist")),
    });
    out
}

/// Laravel's name for the index: `{table}_created_at_index`.
pub(crate) fn index_name(table: &str) -> String {
    format!("{table}_created_at_index")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want(dialect: Dialect) -> DesiredDatabase {
        DesiredDatabase::new(
            &DatabaseStorage {
                dialect,
                url: "postgres://db/app".into(),
                table: "chronotrace_traces".into(),
                password_env: "DB_PASSWORD".into(),
                app_user: true,
            },
            "ci-1",
        )
    }

    fn actions(changes: &[Change]) -> Vec<(Resource, Action)> {
        changes.iter().map(|c| (c.resource, c.action)).collect()
    }

    #[test]
    fn an_empty_database_gets_the_table_and_the_app_user() {
        let seen = ObservedDatabase {
            table: Held::Absent,
            foreign_table: None,
            app_user: Held::Absent,
            cannot_create_user: None,
        };
        let plan = changes(&want(Dialect::Postgres), &seen);
        assert_eq!(
            actions(&plan),
            [
                (Resource::SqlTable, Action::Create),
                (Resource::SqlAppUser, Action::Create)
            ]
        );
        assert_eq!(
            want(Dialect::Postgres).app_user.as_deref(),
            Some("chronotrace_traces_ci_1_app")
        );
    }

    #[test]
    fn a_connection_that_cannot_create_users_gets_a_note_instead_of_the_user() {
        let why = "the connection's role app lacks CREATEROLE: connect as an admin, or write app_user: false";
        let seen = ObservedDatabase {
            table: Held::Absent,
            foreign_table: None,
            app_user: Held::Absent,
            cannot_create_user: Some(why.into()),
        };
        let plan = changes(&want(Dialect::Postgres), &seen);
        assert_eq!(
            actions(&plan),
            [
                (Resource::SqlTable, Action::Create),
                (Resource::SqlAppUser, Action::None)
            ]
        );
        assert_eq!(plan[1].note.as_deref(), Some(why));
        // A user already made (by an admin, earlier) needs no privilege.
        let made = ObservedDatabase {
            app_user: Held::Ours(()),
            ..seen
        };
        let plan = changes(&want(Dialect::Postgres), &made);
        assert!(plan[1].note.is_none() && !plan[1].pending());
    }

    #[test]
    fn app_user_false_plans_no_user_and_destroys_none() {
        let mut storage = want(Dialect::Mysql).storage;
        storage.app_user = false;
        let want = DesiredDatabase::new(&storage, "ci-1");
        assert_eq!(want.app_user, None);
        let seen = ObservedDatabase {
            table: Held::Absent,
            foreign_table: None,
            app_user: Held::Absent,
            cannot_create_user: None,
        };
        assert_eq!(
            actions(&changes(&want, &seen)),
            [(Resource::SqlTable, Action::Create)]
        );
        assert!(
            removals(&want, &seen)
                .iter()
                .all(|c| c.resource == Resource::SqlTable)
        );
    }

    #[test]
    fn a_foreign_table_without_the_index_gets_the_index_and_is_never_altered() {
        let table = TableSeen {
            missing_columns: vec!["updated_at".into()],
            unique_trace_id: true,
            created_at_index: false,
            rows: 3,
        };
        let seen = ObservedDatabase {
            table: Held::Foreign,
            foreign_table: Some(table),
            app_user: Held::Foreign,
            cannot_create_user: None,
        };
        let plan = changes(&want(Dialect::Sqlite), &seen);
        assert_eq!(
            actions(&plan),
            [
                (Resource::SqlTable, Action::None),
                (Resource::SqlCreatedAtIndex, Action::Create)
            ]
        );
        assert!(
            plan[0]
                .note
                .as_deref()
                .unwrap_or_default()
                .contains("lacks updated_at")
        );
        // destroy leaves what is not ours.
        let gone = removals(&want(Dialect::Postgres), &seen);
        assert!(gone.iter().all(|c| c.action == Action::None));
    }
}
