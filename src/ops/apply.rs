//! The plan executor: observe an environment, diff it with the spec, and
//! execute exactly the plan's pending changes, saying on stderr what each
//! one did (and, on a failure, what had already been changed). `apply`,
//! `destroy` and `bootstrap` all run it; `apply` ends with the proof that
//! the store still takes writes (each store proves it in its own way).

use std::io::Write;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::session::stoppable;
use super::{Outcome, Session};
use crate::error::{Error, Result};
use crate::output;
use crate::plan::{Action, Change, Plan};
use crate::spec::Environment;
use crate::stores::{self, Applied, Intent, KeyOptions, Provision, Provisioned, Steps};

/// A plan as executed: every change done (to the end, or until the stop
/// when the `Outcome` says the run was stopped).
#[derive(Debug)]
pub struct Executed {
    pub done: Plan,
    /// The plan had changes to make (else "nothing to do").
    pub had_changes: bool,
}

/// The changes handled so far, kept outside the work's future: when an
/// interruption drops the future mid-request, or a server's error ends it,
/// this still says what was changed.
#[derive(Debug, Default)]
pub struct Log {
    changes: std::sync::Mutex<Vec<Change>>,
    /// The plan was confirmed and its execution began: an error from here
    /// on leaves changes behind, so it is a stop, not a failure to start.
    executing: AtomicBool,
}

impl Log {
    fn push(&self, change: Change) {
        self.changes().push(change);
    }

    fn changes(&self) -> std::sync::MutexGuard<'_, Vec<Change>> {
        self.changes.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A provisioning's outcome: as it ran (`None`: not confirmed), or as
    /// far as it got when Ctrl-C, SIGTERM or a server's error stopped it
    /// (an error before the execution began changed nothing: it is the
    /// error alone).
    pub(crate) fn outcome(
        &self,
        env: &str,
        ran: Result<Option<Provisioned>>,
    ) -> Result<Option<Outcome<Executed>>> {
        match ran {
            Ok(provisioned) => Ok(provisioned.map(|p| {
                Outcome::Done(Executed {
                    had_changes: p.planned.has_changes(),
                    done: p.done,
                })
            })),
            Err(by)
                if matches!(by, Error::Interrupted) || self.executing.load(Ordering::SeqCst) =>
            {
                let done = Plan {
                    env: env.to_string(),
                    changes: self.changes().clone(),
                };
                let so_far = Executed {
                    had_changes: done.has_changes(),
                    done,
                };
                Ok(Some(Outcome::Stopped { so_far, by }))
            }
            Err(e) => Err(e),
        }
    }
}

/// Plans the changes of `env`, asks `confirm` (which shows the plan), and
/// executes them; `None` when `confirm` declined.
/// `out`: where an app's new credentials file goes.
pub async fn apply(
    session: &Session,
    env: &Environment,
    out: &std::path::Path,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<Outcome<Executed>>> {
    let keys = KeyOptions {
        out: out.to_path_buf(),
        ..KeyOptions::default()
    };
    apply_with(session, env, confirm, &keys).await
}

/// `apply`, with where a new secret goes (the app's key or its user's
/// password, whatever the store issues) and whether to rotate an app key.
pub async fn apply_with(
    session: &Session,
    env: &Environment,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
    keys: &KeyOptions,
) -> Result<Option<Outcome<Executed>>> {
    let log = Log::default();
    let store = stores::open(env, &session.connections);
    let intent = Intent::Apply(keys.clone());
    let steps = Executor { confirm, log: &log };
    let ran = stoppable(store.provision(&intent, &steps)).await;
    log.outcome(&env.name, ran)
}

/// What `apply` would change in `env` (reads the live state only).
pub async fn plan(session: &Session, env: &Environment) -> Result<Plan> {
    let log = Log::default();
    let store = stores::open(env, &session.connections);
    let steps = Executor {
        confirm: &|_| Ok(false),
        log: &log,
    };
    match stoppable(store.provision(&Intent::Plan, &steps)).await? {
        Some(planned) => Ok(planned.planned),
        None => Err(Error::usage("no plan")),
    }
}

/// Plans the removal of what `apply` created in `env`, passes the plan to
/// `confirm` (which shows it and refuses without consent), and executes it.
/// A bucket (or table) with content is refused unless `empty`.
pub async fn destroy(
    session: &Session,
    env: &Environment,
    empty: bool,
    confirm: &dyn Fn(&Plan) -> Result<()>,
) -> Result<Outcome<Executed>> {
    let log = Log::default();
    let store = stores::open(env, &session.connections);
    let consent = |plan: &Plan| confirm(plan).map(|()| true);
    let steps = Executor {
        confirm: &consent,
        log: &log,
    };
    let ran = stoppable(store.provision(&Intent::Destroy { empty }, &steps)).await;
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
        self.log.executing.store(true, Ordering::SeqCst);
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
