//! The plan executor: observe an environment, diff it with the spec, and
//! execute exactly the plan's pending changes, saying on stderr what each
//! one did (and, on a failure, what had already been changed). `apply`,
//! `destroy` and `bootstrap` all run it.

use std::io::Write;

use futures::executor::block_on;

use super::Session;
use crate::cloud::provision::Provisioner;
use crate::error::{Error, Result};
use crate::output;
use crate::plan::desired::{Desired, DesiredBucket, DesiredTarget};
use crate::plan::{Action, Change, Plan, Resource, destroy_plan, diff};
use crate::spec::{Environment, Storage};
use crate::store::local::LocalDir;
use crate::store::{Applied, Provision};

/// What `apply` did: the plan as executed (up to the interruption, when
/// Ctrl-C or SIGTERM stopped it).
#[derive(Debug)]
pub struct ApplyOutcome {
    pub done: Plan,
    pub had_changes: bool,
    pub interrupted: bool,
}

impl ApplyOutcome {
    /// A plan executed to its end.
    pub(crate) fn finished(done: Plan, planned: &Plan) -> ApplyOutcome {
        ApplyOutcome {
            done,
            had_changes: planned.has_changes(),
            interrupted: false,
        }
    }
}

/// The changes handled so far, kept outside the work's future: when an
/// interruption drops the future mid-request, this still says what was
/// changed.
#[derive(Debug, Default)]
pub struct Log(std::sync::Mutex<Vec<Change>>);

impl Log {
    fn push(&self, change: Change) {
        self.changes().push(change);
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, Vec<Change>> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An apply's outcome: as it ran, or as far as it got when Ctrl-C or
    /// SIGTERM stopped it.
    pub(crate) fn apply_outcome(
        &self,
        env: &str,
        ran: Result<Result<Option<ApplyOutcome>>>,
    ) -> Result<Option<ApplyOutcome>> {
        match self.interrupted(env, ran.and_then(|r| r)) {
            Ok(outcome) => Ok(outcome),
            Err(stopped) => stopped.map(Some),
        }
    }

    /// The outcome of a run stopped by Ctrl-C or SIGTERM, or the error.
    pub(crate) fn interrupted<T>(
        &self,
        env: &str,
        ran: Result<T>,
    ) -> Result<T, Result<ApplyOutcome>> {
        match ran {
            Ok(value) => Ok(value),
            Err(Error::Interrupted) => {
                let done = Plan {
                    env: env.to_string(),
                    changes: self.changes().clone(),
                };
                Err(Ok(ApplyOutcome {
                    had_changes: done.has_changes(),
                    done,
                    interrupted: true,
                }))
            }
            Err(e) => Err(Err(e)),
        }
    }
}

/// Plans the changes of `env`, asks `confirm` (which shows the plan), and
/// executes them; `None` when `confirm` declined.
/// `out`: where an app's new credentials file goes (database stores).
pub fn apply(
    session: &Session,
    env: &Environment,
    out: &std::path::Path,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<ApplyOutcome>> {
    if let Storage::Database(db) = &env.storage {
        return super::apply_sql::apply(session, env, db, out, confirm);
    }
    let desired = Desired::from_env(env)?;
    if let DesiredTarget::Local { traces_dir } = &desired.target {
        // No network, no runtime: the local provisioner's futures are ready.
        let dir = LocalDir {
            traces_dir: traces_dir.clone(),
        };
        let plan = diff(&desired, &block_on(dir.observe())?);
        if !confirm(&plan)? {
            return Ok(None);
        }
        for change in plan.changes.iter().filter(|c| c.pending()) {
            block_on(dir.execute(change, false))?;
        }
        let had_changes = plan.has_changes();
        return Ok(Some(ApplyOutcome {
            done: plan,
            had_changes,
            interrupted: false,
        }));
    }
    let want = bucket_of(&desired)?;
    let log = Log::default();
    let ran = session.block_on(async {
        let clients = connect(session, env).await?;
        let provisioner = Provisioner::new(&clients, want, &env.name).await?;
        let plan = diff(&desired, &provisioner.observe().await?);
        if !confirm(&plan)? {
            return Ok(None);
        }
        let done = execute_all(&provisioner, &plan, false, &log).await?;
        Ok(Some(ApplyOutcome::finished(done, &plan)))
    });
    log.apply_outcome(&env.name, ran)
}

/// What `apply` would change in `env` (reads the live state only).
pub fn plan(session: &Session, env: &Environment) -> Result<Plan> {
    if let Storage::Database(db) = &env.storage {
        return super::apply_sql::plan(session, env, db);
    }
    let desired = Desired::from_env(env)?;
    match &desired.target {
        DesiredTarget::Local { traces_dir } => {
            let dir = LocalDir {
                traces_dir: traces_dir.clone(),
            };
            Ok(diff(&desired, &block_on(dir.observe())?))
        }
        DesiredTarget::Database(_) => Err(Error::usage("a database is planned by apply_sql")),
        DesiredTarget::Bucket(want) => session.block_on(async {
            let clients = connect(session, env).await?;
            let provisioner = Provisioner::new(&clients, want, &env.name).await?;
            Ok::<_, Error>(diff(&desired, &provisioner.observe().await?))
        })?,
    }
}

/// Connects to the environment's endpoint (S3 environments only).
pub(crate) async fn connect(session: &Session, env: &Environment) -> Result<crate::cloud::Clients> {
    let Storage::S3(s3) = &env.storage else {
        return Err(Error::usage(format!(
            "environment '{}' is not an S3 environment",
            env.name
        )));
    };
    session.clients(s3).await
}

/// The bucket of an S3 environment's desired state.
pub(crate) fn bucket_of(desired: &Desired) -> Result<&DesiredBucket> {
    match &desired.target {
        DesiredTarget::Bucket(b) => Ok(b),
        DesiredTarget::Local { .. } | DesiredTarget::Database(_) => {
            Err(Error::usage("no bucket in the spec"))
        }
    }
}

/// Executes every pending change in order, recording each in `log` as it
/// is made. On a failure, says on stderr which changes were already made
/// before returning the error.
pub async fn execute_all(
    provisioner: &dyn Provision,
    plan: &Plan,
    empty: bool,
    log: &Log,
) -> Result<Plan> {
    let mut result = Plan {
        env: plan.env.clone(),
        changes: Vec::new(),
    };
    for change in &plan.changes {
        if !change.pending() {
            result.changes.push(change.clone());
            log.push(change.clone());
            continue;
        }
        tracing::debug!(resource = change.resource.id(), action = ?change.action, "executing");
        match provisioner.execute(change, empty).await {
            Ok(applied) => {
                let done = outcome(change, applied);
                progress(&done);
                log.push(done.clone());
                result.changes.push(done);
            }
            Err(e) => {
                output::warn(&failure(change, &result));
                return Err(e);
            }
        }
    }
    Ok(result)
}

/// Which change failed and what the changes before it had made.
fn failure(change: &Change, result: &Plan) -> String {
    let made: Vec<&str> = result
        .changes
        .iter()
        .filter(|c| c.pending())
        .map(|c| c.resource.id())
        .collect();
    let id = change.resource.id();
    if made.is_empty() {
        format!("{id} failed; nothing was changed")
    } else {
        format!(
            "{id} failed after these changes were made: {}",
            made.join(", ")
        )
    }
}

/// The change as done: unsupported becomes `none` with the reason.
fn outcome(change: &Change, applied: Applied) -> Change {
    match applied {
        Applied::Done => change.clone(),
        Applied::Noted(note) => change.clone().with_note(note),
        Applied::Unsupported(reason) => Change {
            action: Action::None,
            ..change.clone()
        }
        .with_note(format!("unsupported: {reason}")),
    }
}

fn progress(change: &Change) {
    let id = change.resource.id();
    let line = match (&change.action, &change.note) {
        (Action::None, Some(note)) => format!("  = {id}: {note}"),
        (action, Some(note)) => format!("  {} {id}: done ({note})", action.sign()),
        (action, None) => format!("  {} {id}: done", action.sign()),
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

/// Plans the removal of what `apply` created in `env`, passes the plan to
/// `confirm` (which shows it and refuses without consent), and executes it.
/// A bucket with content is refused unless `empty`.
pub fn destroy(
    session: &Session,
    env: &Environment,
    empty: bool,
    confirm: &dyn Fn(&Plan) -> Result<()>,
) -> Result<ApplyOutcome> {
    if let Storage::Database(db) = &env.storage {
        return super::apply_sql::destroy(session, env, db, empty, confirm);
    }
    if let Storage::Local(local) = &env.storage {
        return Err(Error::usage_with_hint(
            format!(
                "environment '{}' keeps traces on local disk ({}): destroy removes only cloud resources",
                env.name,
                local.path.display()
            ),
            "delete the directory yourself if you mean to; `cleanup purge` removes old traces",
        ));
    }
    let desired = Desired::from_env(env)?;
    let want = bucket_of(&desired)?;
    let log = Log::default();
    let ran = session.block_on(async {
        let clients = connect(session, env).await?;
        let provisioner = Provisioner::new(&clients, want, &env.name).await?;
        let plan = destroy_plan(&desired, &provisioner.observe().await?);
        confirm(&plan)?;
        if !plan.has_changes() {
            return Ok(ApplyOutcome {
                done: plan,
                had_changes: false,
                interrupted: false,
            });
        }
        let bucket_goes = plan
            .changes
            .iter()
            .any(|c| c.resource == Resource::Bucket && c.action == Action::Delete);
        if bucket_goes {
            provisioner.check_deletable(empty).await?;
        }
        let done = execute_all(&provisioner, &plan, empty, &log).await?;
        Ok(ApplyOutcome {
            done,
            had_changes: true,
            interrupted: false,
        })
    });
    log.interrupted(&env.name, ran.and_then(|r| r))
        .or_else(|stopped| stopped)
}
