//! The plan executor: observe an environment, diff it with the spec, and
//! execute exactly the plan's pending changes, saying on stderr what each
//! one did (and, on a failure, what had already been changed). `apply`,
//! `destroy` and `bootstrap` all run it; `apply` ends with the proof that
//! the store still takes writes (each store proves it in its own way).

use std::io::Write;

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::Session;
use crate::error::{Error, Result};
use crate::output;
use crate::plan::{Action, Change, Plan};
use crate::spec::Environment;
use crate::stores::{self, Applied, Intent, KeyOptions, Provision, Provisioned, Steps};

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

    /// A provisioning's outcome: as it ran (`None`: not confirmed), or as
    /// far as it got when Ctrl-C or SIGTERM stopped it.
    pub(crate) fn outcome(
        &self,
        env: &str,
        ran: Result<Result<Option<Provisioned>>>,
    ) -> Result<Option<ApplyOutcome>> {
        match ran.and_then(|r| r) {
            Ok(provisioned) => Ok(provisioned.map(|p| ApplyOutcome::finished(p.done, &p.planned))),
            Err(Error::Interrupted) => {
                let done = Plan {
                    env: env.to_string(),
                    changes: self.changes().clone(),
                };
                Ok(Some(ApplyOutcome {
                    had_changes: done.has_changes(),
                    done,
                    interrupted: true,
                }))
            }
            Err(e) => Err(e),
        }
    }
}

/// Plans the changes of `env`, asks `confirm` (which shows the plan), and
/// executes them; `None` when `confirm` declined.
/// `out`: where an app's new credentials file goes.
pub fn apply(
    session: &Session,
    env: &Environment,
    out: &std::path::Path,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<ApplyOutcome>> {
    let keys = KeyOptions {
        out: out.to_path_buf(),
        ..KeyOptions::default()
    };
    apply_with(session, env, confirm, &keys)
}

/// `apply`, with where a new secret goes (the app's key or its user's
/// password, whatever the store issues) and whether to rotate an app key.
pub fn apply_with(
    session: &Session,
    env: &Environment,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
    keys: &KeyOptions,
) -> Result<Option<ApplyOutcome>> {
    let log = Log::default();
    let store = stores::open(env, &session.connections);
    let intent = Intent::Apply(keys.clone());
    let steps = Executor { confirm, log: &log };
    let ran = session.block_on(store.provision(&intent, &steps));
    log.outcome(&env.name, ran)
}

/// What `apply` would change in `env` (reads the live state only).
pub fn plan(session: &Session, env: &Environment) -> Result<Plan> {
    let log = Log::default();
    let store = stores::open(env, &session.connections);
    let steps = Executor {
        confirm: &|_| Ok(false),
        log: &log,
    };
    match session.block_on(store.provision(&Intent::Plan, &steps))?? {
        Some(planned) => Ok(planned.planned),
        None => Err(Error::usage("no plan")),
    }
}

/// Plans the removal of what `apply` created in `env`, passes the plan to
/// `confirm` (which shows it and refuses without consent), and executes it.
/// A bucket (or table) with content is refused unless `empty`.
pub fn destroy(
    session: &Session,
    env: &Environment,
    empty: bool,
    confirm: &dyn Fn(&Plan) -> Result<()>,
) -> Result<ApplyOutcome> {
    let log = Log::default();
    let store = stores::open(env, &session.connections);
    let consent = |plan: &Plan| confirm(plan).map(|()| true);
    let steps = Executor {
        confirm: &consent,
        log: &log,
    };
    let ran = session.block_on(store.provision(&Intent::Destroy { empty }, &steps));
    match log.outcome(&env.name, ran)? {
        Some(outcome) => Ok(outcome),
        None => Err(Error::usage("destroy was not confirmed")),
    }
}

/// The executor's side of a store's provisioning: the caller's consent,
/// then `execute_all` recording into the run's log.
struct Executor<'a> {
    confirm: &'a dyn Fn(&Plan) -> Result<bool>,
    log: &'a Log,
}

impl Steps for Executor<'_> {
    fn confirm(&self, plan: &Plan) -> Result<bool> {
        (self.confirm)(plan)
    }

    fn execute<'a>(
        &'a self,
        provision: &'a dyn Provision,
        plan: &'a Plan,
        empty: bool,
    ) -> LocalBoxFuture<'a, Result<Plan>> {
        execute_all(provision, plan, empty, self.log).boxed_local()
    }
}

/// Executes every pending change in order, recording each in `log` as it
/// is made. On a failure, says on stderr which changes were already made
/// before returning the error.
pub(crate) async fn execute_all(
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

/// One line on stderr per change made, with its note (where a new secret
/// went, never the secret).
pub(crate) fn progress(change: &Change) {
    let id = change.resource.id();
    let line = match (&change.action, &change.note) {
        (Action::None, Some(note)) => format!("  = {id}: {note}"),
        (action, Some(note)) => format!("  {} {id}: done ({note})", action.sign()),
        (action, None) => format!("  {} {id}: done", action.sign()),
    };
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}
