//! The plan executor: observe an environment, diff it with the spec, and
//! execute exactly the plan's pending changes, saying on stderr what each
//! one did (and, on a failure, what had already been changed). `apply`,
//! `destroy` and `bootstrap` all run it; `apply` ends with the proof that
//! the bucket still takes writes (`proof`).

use std::io::Write;

use futures::executor::block_on;

use super::Session;
use super::app_key::{AppKeyOptions, CredentialsFile, credentials_path};
use crate::cloud::app_identity::KeySink;
use crate::cloud::app_identity::execute::AppSetup;
use crate::cloud::provision::Provisioner;
use crate::error::{Error, Result};
use crate::output;
use crate::plan::desired::{Desired, DesiredBucket, DesiredTarget};
use crate::plan::observed::Observed;
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
/// `out`: where an app's new credentials file goes.
pub fn apply(
    session: &Session,
    env: &Environment,
    out: &std::path::Path,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<ApplyOutcome>> {
    let keys = AppKeyOptions {
        out: out.to_path_buf(),
        ..AppKeyOptions::default()
    };
    apply_with(session, env, confirm, &keys)
}

/// `apply`, with where a new app secret goes (an S3 app key, the Redis ACL
/// user's password) and whether to rotate an app key.
pub fn apply_with(
    session: &Session,
    env: &Environment,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
    keys: &AppKeyOptions,
) -> Result<Option<ApplyOutcome>> {
    if let Storage::Redis(redis) = &env.storage {
        return super::redis_apply::apply(session, env, redis, &keys.out, confirm);
    }
    if let Storage::Database(db) = &env.storage {
        return super::apply_sql::apply(session, env, db, &keys.out, confirm);
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
        let sink = credentials_file(env, keys);
        let sink = sink.as_ref().map(|s| s as &dyn KeySink);
        let provisioner = Provisioner::new(&clients, want, &env.name)
            .await?
            .with_app(app_setup(&clients, env, sink)?);
        let observed = provisioner.observe().await?;
        let mut plan = diff(&desired, &observed);
        if keys.rotate {
            rotate_key(&mut plan, &observed)?;
        }
        if !confirm(&plan)? {
            return Ok(None);
        }
        let done = execute_all(&provisioner, &plan, false, &log).await?;
        if let Storage::S3(s3) = &env.storage {
            let tls_only = want.tls_skipped.is_none();
            super::proof::writes_still_work(&clients, s3, &done, tls_only).await?;
        }
        Ok(Some(ApplyOutcome::finished(done, &plan)))
    });
    log.apply_outcome(&env.name, ran)
}

/// What `apply` would change in `env` (reads the live state only).
pub fn plan(session: &Session, env: &Environment) -> Result<Plan> {
    if let Storage::Redis(redis) = &env.storage {
        return super::redis_apply::plan(session, env, redis);
    }
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
            let provisioner = Provisioner::new(&clients, want, &env.name)
                .await?
                .with_app(app_setup(&clients, env, None)?);
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

/// The app identity's adapter and key sink, when the spec names an app user.
fn app_setup<'a>(
    clients: &crate::cloud::Clients,
    env: &Environment,
    keys: Option<&'a dyn KeySink>,
) -> Result<Option<AppSetup<'a>>> {
    let Storage::S3(s3) = &env.storage else {
        return Ok(None);
    };
    Ok(
        crate::store::app_identity::admin(clients, s3, &env.name)?.map(|admin| AppSetup {
            admin,
            keys,
            s3: s3.clone(),
        }),
    )
}

/// The credentials file a new app key goes to (an app user in the spec).
fn credentials_file(env: &Environment, keys: &AppKeyOptions) -> Option<CredentialsFile> {
    let Storage::S3(s3) = &env.storage else {
        return None;
    };
    s3.app_user.as_ref().map(|app| CredentialsFile {
        path: credentials_path(&keys.out, &env.name),
        env: env.name.clone(),
        user: app.user.clone(),
    })
}

/// `--rotate-app-key`: the key change becomes a rotation; refused when
/// there is no key of the tool's to rotate.
fn rotate_key(plan: &mut Plan, observed: &Observed) -> Result<()> {
    if let Some(refusal) = app_refused(observed) {
        return Err(refusal.error());
    }
    let Observed::Bucket {
        app: Some(seen), ..
    } = observed
    else {
        return Err(Error::usage(
            "--rotate-app-key: the spec names no app user (iam: {user, policy}) for this environment",
        ));
    };
    for change in &mut plan.changes {
        if change.resource == Resource::IamAccessKey && change.action == Action::Create {
            return Ok(());
        }
        if let Some(rotation) = crate::plan::app::rotation(change, seen) {
            *change = rotation;
            return Ok(());
        }
    }
    Err(Error::usage(
        "--rotate-app-key: the app user is not chronotrace-ops's, or has no key to rotate",
    ))
}

/// Why the run may not manage the app's identity, when it may not.
fn app_refused(observed: &Observed) -> Option<&crate::plan::observed::Refusal> {
    match observed {
        Observed::Bucket {
            app: Some(seen), ..
        } => seen.refused.as_ref(),
        _ => None,
    }
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
    if let Storage::Redis(redis) = &env.storage {
        return super::redis_apply::destroy(session, env, redis, confirm);
    }
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
        let provisioner = Provisioner::new(&clients, want, &env.name)
            .await?
            .with_app(app_setup(&clients, env, None)?);
        let observed = provisioner.observe().await?;
        // Destroy must know the app's identity to remove it: refused, it
        // stops before anything, as it did when the observation failed.
        if let Some(refusal) = app_refused(&observed) {
            return Err(refusal.error());
        }
        let plan = destroy_plan(&desired, &observed);
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
