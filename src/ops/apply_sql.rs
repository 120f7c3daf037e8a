//! `plan`, `apply` and `destroy` on a database store: connect (SQLite may
//! create its file on apply), observe, diff with the spec, and execute the
//! plan through the shared executor (`apply::execute_all`), so the output
//! and the interruption handling are the buckets'.

use std::path::Path;

use super::Session;
use super::apply::{ApplyOutcome, Log, execute_all};
use crate::error::{Error, Result};
use crate::plan::database::{DesiredDatabase, ObservedDatabase};
use crate::plan::desired::Desired;
use crate::plan::observed::{Held, Observed};
use crate::plan::{Action, Plan, Resource, destroy_plan, diff};
use crate::spec::{DatabaseStorage, Environment};
use crate::sql::Db;
use crate::store::Provision;
use crate::store::sql_provision::SqlProvisioner;

async fn provisioner(
    session: &Session,
    env: &Environment,
    db: &DatabaseStorage,
    out: &Path,
    create: bool,
) -> Result<SqlProvisioner> {
    Ok(SqlProvisioner {
        db: Db::connect(db, session.overrides.timeouts, create).await?,
        want: DesiredDatabase::new(db, &env.name),
        out: out.to_path_buf(),
    })
}

/// What `apply` would change (reads the live state only).
pub(crate) fn plan(session: &Session, env: &Environment, db: &DatabaseStorage) -> Result<Plan> {
    let desired = Desired::from_env(env)?;
    if db.sqlite_file().is_some_and(|f| !f.exists()) {
        // Nothing to connect to yet (apply creates the file): all absent.
        let nothing = ObservedDatabase {
            table: Held::Absent,
            foreign_table: None,
            app_user: Held::Absent,
            cannot_create_user: None,
        };
        return Ok(diff(&desired, &Observed::Database(nothing)));
    }
    session.block_on(async {
        let p = provisioner(session, env, db, Path::new("."), false).await?;
        let plan = diff(&desired, &p.observe().await?);
        p.db.close().await;
        Ok(plan)
    })?
}

/// Plans, asks `confirm`, executes; `None` when `confirm` declined.
pub(crate) fn apply(
    session: &Session,
    env: &Environment,
    db: &DatabaseStorage,
    out: &Path,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<ApplyOutcome>> {
    let desired = Desired::from_env(env)?;
    let log = Log::default();
    let ran = session.block_on(async {
        let p = provisioner(session, env, db, out, true).await?;
        let plan = diff(&desired, &p.observe().await?);
        if !confirm(&plan)? {
            return Ok(None);
        }
        let done = execute_all(&p, &plan, false, &log).await?;
        p.db.close().await;
        Ok(Some(ApplyOutcome::finished(done, &plan)))
    });
    log.apply_outcome(&env.name, ran)
}

/// Removes the app's user and the table, when the tool made them; a table
/// with traces only with `empty`.
pub(crate) fn destroy(
    session: &Session,
    env: &Environment,
    db: &DatabaseStorage,
    empty: bool,
    confirm: &dyn Fn(&Plan) -> Result<()>,
) -> Result<ApplyOutcome> {
    let desired = Desired::from_env(env)?;
    let log = Log::default();
    let ran = session.block_on(async {
        let p = provisioner(session, env, db, Path::new("."), false).await?;
        let plan = destroy_plan(&desired, &p.observe().await?);
        confirm(&plan)?;
        refuse_traces(&plan, &db.table, empty)?;
        let had_changes = plan.has_changes();
        let done = execute_all(&p, &plan, empty, &log).await?;
        p.db.close().await;
        Ok(ApplyOutcome {
            done,
            had_changes,
            interrupted: false,
        })
    });
    log.interrupted(&env.name, ran.and_then(|r| r))
        .or_else(|stopped| stopped)
}

/// A table with traces goes only with `--empty`: refused before anything
/// (the app's user included) is removed.
fn refuse_traces(plan: &Plan, table: &str, empty: bool) -> Result<()> {
    let rows = plan
        .changes
        .iter()
        .filter(|c| c.resource == Resource::SqlTable && c.action == Action::Delete)
        .filter_map(|c| c.before.as_ref()?.get("rows")?.as_u64())
        .next()
        .unwrap_or(0);
    if rows > 0 && !empty {
        return Err(Error::usage_with_hint(
            format!("table {table} holds {rows} traces: nothing was removed"),
            "destroy --empty drops it with its traces",
        ));
    }
    Ok(())
}
