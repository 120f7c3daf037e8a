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
    /// `partition: monthly`: the months whose partitions must exist
    /// (this one and the next `MONTHS_AHEAD`); empty otherwise.
    pub(crate) months: Vec<Month>,
}

/// How many months after the current one `apply` partitions ahead of time.
pub(crate) const MONTHS_AHEAD: u32 = 2;

/// One monthly partition: its name's suffix and its bounds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Month {
    /// `p202612`: the partition `p202612` of a MySQL table, the table
    /// `{table}_p202612` on PostgreSQL.
    pub(crate) suffix: String,
    /// `2026-12-01 00:00:00`.
    pub(crate) from: String,
    /// `2027-01-01 00:00:00`.
    pub(crate) to: String,
}

/// The month of `today` and the `MONTHS_AHEAD` after it.
pub(crate) fn months_from(today: chrono::NaiveDate) -> Vec<Month> {
    use chrono::Datelike;
    let first = |year: i32, month: u32| {
        let (year, month) = (year + (month as i32 - 1) / 12, (month - 1) % 12 + 1);
        (year, month)
    };
    (0..=MONTHS_AHEAD)
        .map(|n| {
            let (year, month) = first(today.year(), today.month() + n);
            let (next_year, next_month) = first(today.year(), today.month() + n + 1);
            Month {
                suffix: format!("p{year:04}{month:02}"),
                from: format!("{year:04}-{month:02}-01 00:00:00"),
                to: format!("{next_year:04}-{next_month:02}-01 00:00:00"),
            }
        })
        .collect()
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
            months: if storage.monthly {
                months_from(crate::retention::today())
            } else {
                Vec::new()
            },
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
    /// Partitioned by range of `created_at` (or a MySQL function of it).
    pub(crate) partitioned: bool,
    /// Its partitions' names (PostgreSQL: the tables', unquoted).
    pub(crate) partitions: Vec<String>,
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
        None if !want.months.is_empty() => out.push(
            Change::new(Resource::SqlTable, Action::Create).with_after(json!({
                "table": name,
                "columns": ["id", "trace_id (unique with created_at)", "data", "created_at (indexed, not null)", "updated_at"],
                "partition": "monthly, by range of created_at",
                "partitions": want.months.iter().map(|m| partition_name(want, m)).collect::<Vec<_>>(),
            })),
        ),
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
            // A partitioned table's unique keys hold the partition key.
            if !table.unique_trace_id && !table.partitioned {
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
            if !want.months.is_empty() {
                out.push(monthly_partitions(want, &seen.table, table));
            }
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

/// The name of `month`'s partition: the table `{table}_p202612` on
/// PostgreSQL, the partition `p202612` on MySQL/MariaDB.
pub(crate) fn partition_name(want: &DesiredDatabase, month: &Month) -> String {
    match want.storage.dialect {
        Dialect::Postgres => format!("{}_{}", want.storage.table, month.suffix),
        Dialect::Mysql | Dialect::Sqlite => month.suffix.clone(),
    }
}

/// `partition: monthly` on a table that exists: the months missing
/// ahead of time created on the tool's own table; a table not
/// partitioned is never rewritten (a note says how to migrate it), nor is
/// someone else's partitioned table changed.
fn monthly_partitions(want: &DesiredDatabase, held: &Held<TableSeen>, table: &TableSeen) -> Change {
    let name = &want.storage.table;
    if !table.partitioned {
        return Change::noted(
            Resource::SqlPartitions,
            format!(
                "{name} exists and is not partitioned: never rewritten. To migrate, create the partitioned table under another name (apply with that table:), copy the rows within retention into it, then swap the names in one transaction (docs/sql.md, \"Partitioned tables\")"
            ),
        );
    }
    if !matches!(held, Held::Ours(_)) {
        return Change::noted(
            Resource::SqlPartitions,
            format!("{name} was not created by chronotrace-ops: its partitions are left alone"),
        );
    }
    let missing: Vec<String> = want
        .months
        .iter()
        .map(|m| partition_name(want, m))
        .filter(|p| !table.partitions.contains(p))
        .collect();
    if missing.is_empty() {
        Change::new(Resource::SqlPartitions, Action::None)
            .with_before(json!({"table": name, "partitions": table.partitions}))
    } else {
        Change::new(Resource::SqlPartitions, Action::Create)
            .with_after(json!({"table": name, "partitions": missing}))
    }
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
                monthly: false,
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
            ..TableSeen::default()
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

    #[test]
    fn monthly_partitions_are_planned_ahead_on_the_tools_table_only() {
        let mut monthly = want(Dialect::Postgres);
        monthly.months = months_from(chrono::NaiveDate::from_ymd_opt(2026, 11, 15).expect("a day"));
        let suffixes: Vec<&str> = monthly.months.iter().map(|m| m.suffix.as_str()).collect();
        assert_eq!(suffixes, ["p202611", "p202612", "p202701"]);
        assert_eq!(monthly.months[2].to, "2027-02-01 00:00:00");
        let seen = |table: Held<TableSeen>, foreign: Option<TableSeen>| ObservedDatabase {
            table,
            foreign_table: foreign,
            app_user: Held::Ours(()),
            cannot_create_user: None,
        };
        let partitions = |table: &TableSeen| {
            let plan = changes(&monthly, &seen(Held::Ours(table.clone()), None));
            plan.into_iter()
                .find(|c| c.resource == Resource::SqlPartitions)
                .expect("a partitions change")
        };
        let partitioned = TableSeen {
            unique_trace_id: false,
            created_at_index: true,
            partitioned: true,
            partitions: vec![
                "chronotrace_traces_p202611".into(),
                "chronotrace_traces_default".into(),
            ],
            ..TableSeen::default()
        };
        let change = partitions(&partitioned);
        assert_eq!(change.action, Action::Create);
        let table = changes(&monthly, &seen(Held::Ours(partitioned.clone()), None));
        assert!(
            table[0].note.is_none(),
            "a partitioned table's unique key holds created_at: {table:?}"
        );
        let all = TableSeen {
            partitions: monthly
                .months
                .iter()
                .map(|m| partition_name(&monthly, m))
                .collect(),
            ..partitioned.clone()
        };
        assert_eq!(partitions(&all).action, Action::None);
        let plain = TableSeen {
            unique_trace_id: true,
            created_at_index: true,
            ..TableSeen::default()
        };
        let note = partitions(&plain);
        assert_eq!(note.action, Action::None);
        assert!(
            note.note
                .as_deref()
                .unwrap_or_default()
                .contains("never rewritten"),
            "{note:?}"
        );
        let foreign = changes(&monthly, &seen(Held::Foreign, Some(partitioned)));
        assert!(
            foreign.iter().all(|c| c.action != Action::Create),
            "{foreign:?}"
        );
    }
}
