//! The plan executor: observe an environment, diff it with the spec, and
//! execute exactly the plan's pending changes, saying on stderr what each
//! one did (and, on a failure, what had already been changed). `apply`,
//! `destroy` and `bootstrap` all run it.

use std::io::Write;
use std::path::Path;

use super::Session;
use crate::cloud::provision::{Applied, Provisioner};
use crate::error::{Error, Result};
use crate::output;
use crate::plan::desired::{Desired, DesiredBucket, DesiredTarget, LOCAL_DIR_MODE};
use crate::plan::observed::{Observed, ObservedDir};
use crate::plan::{Action, Change, Plan, Resource, destroy_plan, diff};
use crate::spec::{Environment, Storage};

/// What `apply` did: the plan as executed.
#[derive(Debug)]
pub struct ApplyOutcome {
    pub done: Plan,
    pub had_changes: bool,
}

/// Plans the changes of `env`, asks `confirm` (which shows the plan), and
/// executes them; `None` when `confirm` declined.
pub fn apply(
    session: &Session,
    env: &Environment,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<ApplyOutcome>> {
    let desired = Desired::from_env(env)?;
    if let DesiredTarget::Local { traces_dir } = &desired.target {
        let plan = diff(&desired, &Observed::Local(observe_dir(traces_dir)));
        if !confirm(&plan)? {
            return Ok(None);
        }
        if plan.has_changes() {
            create_dir(traces_dir)?;
        }
        let had_changes = plan.has_changes();
        return Ok(Some(ApplyOutcome {
            done: plan,
            had_changes,
        }));
    }
    let want = bucket_of(&desired)?;
    session.block_on(async {
        let clients = connect(session, env).await?;
        let provisioner = Provisioner::new(&clients, want, &env.name).await?;
        let plan = diff(&desired, &provisioner.observe().await?);
        if !confirm(&plan)? {
            return Ok(None);
        }
        let done = execute_all(&provisioner, &plan, false).await?;
        Ok(Some(ApplyOutcome {
            done,
            had_changes: plan.has_changes(),
        }))
    })?
}

/// What `apply` would change in `env` (reads the live state only).
pub fn plan(session: &Session, env: &Environment) -> Result<Plan> {
    let desired = Desired::from_env(env)?;
    match &desired.target {
        DesiredTarget::Local { traces_dir } => {
            Ok(diff(&desired, &Observed::Local(observe_dir(traces_dir))))
        }
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
        DesiredTarget::Local { .. } => Err(Error::usage("no bucket in the spec")),
    }
}

/// What is at the local traces directory.
fn observe_dir(path: &Path) -> ObservedDir {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => ObservedDir::Present { mode: mode(&meta) },
        Ok(_) => ObservedDir::NotADirectory,
        Err(_) => ObservedDir::Absent,
    }
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode(_: &std::fs::Metadata) -> u32 {
    0
}

/// Executes every pending change in order. On a failure, says on stderr
/// which changes were already made before returning the error.
pub async fn execute_all(provisioner: &Provisioner<'_>, plan: &Plan, empty: bool) -> Result<Plan> {
    let mut result = Plan {
        env: plan.env.clone(),
        changes: Vec::new(),
    };
    for change in &plan.changes {
        if !change.pending() {
            result.changes.push(change.clone());
            continue;
        }
        tracing::debug!(resource = change.resource.id(), action = ?change.action, "executing");
        match provisioner.execute(change, empty).await {
            Ok(applied) => {
                let done = outcome(change, applied);
                progress(&done);
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

/// `{path}/traces/` with mode 0750 (owner rw, group read, others nothing).
fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(LOCAL_DIR_MODE))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
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
    session.block_on(async {
        let clients = connect(session, env).await?;
        let provisioner = Provisioner::new(&clients, want, &env.name).await?;
        let plan = destroy_plan(&desired, &provisioner.observe().await?);
        confirm(&plan)?;
        if !plan.has_changes() {
            return Ok(ApplyOutcome {
                done: plan,
                had_changes: false,
            });
        }
        let bucket_goes = plan
            .changes
            .iter()
            .any(|c| c.resource == Resource::Bucket && c.action == Action::Delete);
        if bucket_goes {
            provisioner.check_deletable(empty).await?;
        }
        let done = execute_all(&provisioner, &plan, empty).await?;
        Ok(ApplyOutcome {
            done,
            had_changes: true,
        })
    })?
}
