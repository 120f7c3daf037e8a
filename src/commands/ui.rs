//! What the commands that change things share with the person running
//! them: the plan's heading, the plan on screen, the confirmation prompt
//! and the closing summary.

use std::io::{BufRead, IsTerminal, Write};

use serde::Serialize;

use super::Context;
use crate::error::{Error, ExitStatus, Result};
use crate::ops::Outcome;
use crate::ops::apply::Executed;
use crate::output::{self, OutputFormat};
use crate::plan::{Plan, text};
use crate::spec::Environment;

/// The heading of a plan: what it is, for which environment and where.
pub(crate) fn title(ctx: &Context, what: &str, env: &Environment) -> String {
    let location = crate::ops::location(&ctx.session, env);
    format!("{what} for environment '{}' ({location}):", env.name)
}

/// A plan on stdout: text for people, JSON for scripts.
pub(crate) fn print(ctx: &Context, plan: &Plan, title: &str) -> Result<()> {
    output::emit(ctx.output, &ctx.stamp, plan, |out| {
        text::write_plan(out, plan, title)
    })
}

/// Shows the plan to the person running the command: on stdout in text
/// mode; on stderr with JSON, where stdout carries the result.
pub(crate) fn show(ctx: &Context, plan: &Plan, heading: &str) -> Result<()> {
    match ctx.output {
        OutputFormat::Text => print(ctx, plan, heading),
        OutputFormat::Json => {
            let _ = text::write_plan(&mut std::io::stderr().lock(), plan, heading);
            Ok(())
        }
    }
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
    // Nothing is changed yet: Ctrl-C at the prompt ends the run at once.
    let _prompt = crate::interrupt::at_prompt();
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

/// The executed plan as JSON, with `"interrupted": true` when Ctrl-C or
/// SIGTERM stopped it, or `"stopped_by_error"` (the error, one line) when a
/// server's error did (each field absent otherwise).
#[derive(Serialize)]
struct ExecutedJson<'a> {
    #[serde(flatten)]
    plan: &'a Plan,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    interrupted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stopped_by_error: Option<String>,
}

/// The summary (text) or the executed plan (JSON). `nothing` is said when
/// there was nothing to do; `command` (`apply`, `destroy`) is what to run
/// again after an interruption, which ends in `Error::Interrupted`. A run
/// a server's error stopped ends in that error (its line on stderr, after
/// the executor's line saying what was already changed); its JSON still
/// carries the changes made.
pub(crate) fn finish(
    ctx: &Context,
    outcome: Outcome<Executed>,
    command: &str,
    nothing: &str,
) -> Result<ExitStatus> {
    let executed = outcome.value();
    let done = &executed.done;
    let interrupted = outcome.interrupted();
    let stopped_by_error = outcome
        .stopped_by()
        .filter(|_| !interrupted)
        .map(|e| e.to_string().replace('\n', " "));
    let json = ExecutedJson {
        plan: done,
        interrupted,
        stopped_by_error: stopped_by_error.clone(),
    };
    output::emit(ctx.output, &ctx.stamp, &json, |out| {
        if interrupted {
            return interrupted_summary(out, done, command);
        }
        if stopped_by_error.is_some() {
            // Said on stderr already, change by change.
            return Ok(());
        }
        if !executed.had_changes {
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
    outcome.into_result()?;
    Ok(ExitStatus::Ok)
}

/// What an interrupted run had changed, and that a rerun converges.
fn interrupted_summary(out: &mut dyn Write, done: &Plan, command: &str) -> std::io::Result<()> {
    let (create, update, delete) = done.counts();
    let made: Vec<String> = done
        .changes
        .iter()
        .filter(|c| c.pending())
        .map(|c| format!("{} {}", c.action.sign(), c.resource.id()))
        .collect();
    writeln!(
        out,
        "Interrupted: {create} created, {update} updated, {delete} deleted before the stop; the rest was not done."
    )?;
    if made.is_empty() {
        writeln!(out, "  nothing was changed")?;
    } else {
        writeln!(out, "  changed: {}", made.join(", "))?;
    }
    writeln!(
        out,
        "Run `{command}` again: it plans from what is there now and converges."
    )
}
