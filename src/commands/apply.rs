//! `apply`: show the plan, confirm (a prompt on a terminal, `--yes`
//! otherwise), execute exactly the plan, and say what was done. Also the
//! executor `destroy` shares.

use std::io::{BufRead, IsTerminal, Write};

use super::plan::{bucket_of, connect, observe_dir, print, title};
use super::{Context, block_on};
use crate::cli::{ApplyArgs, OutputFormat};
use crate::cloud::provision::{Applied, Provisioner};
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::plan::desired::{Desired, DesiredTarget, LOCAL_DIR_MODE};
use crate::plan::observed::Observed;
use crate::plan::{Action, Change, Plan, diff, text};
use crate::spec::Environment;

pub fn run(ctx: &Context, args: &ApplyArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    match execute(ctx, env, args.yes)? {
        None => Ok(ExitStatus::Findings),
        Some(outcome) => finish(
            ctx,
            &outcome.done,
            outcome.had_changes,
            &as_asked(&outcome.done),
        ),
    }
}

/// What `apply` did: the plan as executed.
#[derive(Debug)]
pub struct ApplyOutcome {
    pub done: Plan,
    pub had_changes: bool,
}

/// Plans, confirms and executes the changes of `env`; `None` when the
/// person at the terminal declined.
pub fn execute(ctx: &Context, env: &Environment, yes: bool) -> Result<Option<ApplyOutcome>> {
    let desired = Desired::from_env(env)?;
    let heading = title(ctx, "Plan", env);
    if let DesiredTarget::Local { traces_dir } = &desired.target {
        let plan = diff(&desired, &Observed::Local(observe_dir(traces_dir)));
        if !proceed(ctx, &plan, &heading, yes)? {
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
    let Some(want) = bucket_of(&desired) else {
        return Err(Error::usage("no bucket in the spec"));
    };
    block_on(async {
        let clients = connect(ctx, env).await?;
        let provisioner = Provisioner::new(&clients, want, &env.name).await?;
        let plan = diff(&desired, &provisioner.observe().await?);
        if !proceed(ctx, &plan, &heading, yes)? {
            return Ok(None);
        }
        let done = execute_all(&provisioner, &plan, false).await?;
        Ok(Some(ApplyOutcome {
            done,
            had_changes: plan.has_changes(),
        }))
    })?
}

/// Shows the plan and decides whether to go on: nothing to do, `--yes`, or
/// a `y` on a terminal. Without a terminal and without `--yes`: an error.
pub(crate) fn proceed(ctx: &Context, plan: &Plan, heading: &str, yes: bool) -> Result<bool> {
    show(ctx, plan, heading)?;
    if !plan.has_changes() || yes {
        return Ok(true);
    }
    if !std::io::stdin().is_terminal() {
        return Err(Error::usage_with_hint(
            "changes are pending and there is no terminal to confirm them: nothing was changed",
            "pass --yes to apply without asking (as in CI)",
        ));
    }
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "Apply these changes? [y/N] ");
    let _ = err.flush();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .map_err(|e| Error::io("<stdin>", e))?;
    let go = matches!(answer.trim(), "y" | "Y" | "yes" | "YES" | "Yes");
    if !go {
        output::note("not applied: nothing was changed");
    }
    Ok(go)
}

/// Shows the plan to the person running the command: on stdout in text
/// mode; on stderr with JSON, where stdout carries the result.
pub(crate) fn show(ctx: &Context, plan: &Plan, heading: &str) -> Result<()> {
    match ctx.output {
        OutputFormat::Text => print(ctx.output, plan, heading),
        OutputFormat::Json => {
            let _ = text::write_plan(&mut std::io::stderr().lock(), plan, heading);
            Ok(())
        }
    }
}

/// Executes every pending change in order. On a failure, says on stderr
/// which changes were already made before returning the error.
pub(crate) async fn execute_all(
    provisioner: &Provisioner<'_>,
    plan: &Plan,
    empty: bool,
) -> Result<Plan> {
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
                let made: Vec<&str> = result
                    .changes
                    .iter()
                    .filter(|c| c.pending())
                    .map(|c| c.resource.id())
                    .collect();
                if made.is_empty() {
                    output::warn(&format!(
                        "{} failed; nothing was changed",
                        change.resource.id()
                    ));
                } else {
                    output::warn(&format!(
                        "{} failed after these changes were made: {}",
                        change.resource.id(),
                        made.join(", ")
                    ));
                }
                return Err(e);
            }
        }
    }
    Ok(result)
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

/// The summary (text) or the executed plan (JSON).
/// `nothing` is said when there was nothing to do.
pub(crate) fn finish(
    ctx: &Context,
    done: &Plan,
    had_changes: bool,
    nothing: &str,
) -> Result<ExitStatus> {
    output::emit(ctx.output, done, |out| {
        if !had_changes {
            return writeln!(out, "{nothing}");
        }
        let (create, update, delete) = done.counts();
        let unsupported = done
            .changes
            .iter()
            .filter(|c| {
                c.note
                    .as_deref()
                    .is_some_and(|n| n.starts_with("unsupported"))
            })
            .count();
        write!(
            out,
            "Done: {create} created, {update} updated, {delete} deleted"
        )?;
        if unsupported > 0 {
            write!(
                out,
                "; {unsupported} not supported by the server (see the notes)"
            )?;
        }
        writeln!(out, ".")
    })?;
    Ok(ExitStatus::Ok)
}

/// `{path}/traces/` with mode 0750 (owner rw, group read, others nothing).
fn create_dir(path: &std::path::Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(LOCAL_DIR_MODE))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}

fn as_asked(plan: &Plan) -> String {
    format!(
        "Nothing to do: environment '{}' is as the spec asks.",
        plan.env
    )
}
