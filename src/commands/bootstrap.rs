//! `bootstrap`: the whole job for one environment — validate the spec,
//! render, apply, check, verify retention, report — stopping at the first
//! step that fails and naming it, with a one-screen summary at the end.
//! On `local` it needs no server, no account and no network.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use super::Context;
use super::ui::{proceed, title};
use crate::cli::BootstrapArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::ops;
use crate::ops::cleanup::VerifySettings;
use crate::ops::report::ReportSettings;
use crate::output;
use crate::render::Renderer;
use crate::render::files::{self, FileStatus};
use crate::report::ReportFormat;
use crate::spec::{Environment, Spec};

/// How one step ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
enum StepStatus {
    Ok,
    /// The world is not as asked (a failed check, traces past retention).
    Failed,
    /// The step could not run (an error: exit 2).
    Error,
    /// Not run: an earlier step stopped the job.
    Skipped,
    /// Ctrl-C or SIGTERM stopped it (its result: what it had done).
    Interrupted,
}

/// One step of the job, with its full result for `--output json`.
#[derive(Debug, Serialize)]
struct Step {
    name: &'static str,
    status: StepStatus,
    summary: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    result: Option<Value>,
}

/// The whole job as JSON.
#[derive(Debug, Serialize)]
struct BootstrapReport {
    env: String,
    ok: bool,
    steps: Vec<Step>,
    next: Vec<String>,
}

/// What a step returns when it ran: whether it passed, a one-line summary,
/// and its result.
type Ran = (bool, String, Value);

/// The steps after `validate`, in order.
#[derive(Debug, Clone, Copy)]
enum Stage {
    Render,
    Apply,
    Check,
    Verify,
    Report,
}

impl Stage {
    const ALL: [Stage; 5] = [
        Stage::Render,
        Stage::Apply,
        Stage::Check,
        Stage::Verify,
        Stage::Report,
    ];

    /// The step's name in the summary and the JSON.
    fn name(self) -> &'static str {
        match self {
            Stage::Render => "render",
            Stage::Apply => "apply",
            Stage::Check => "check",
            Stage::Verify => "cleanup verify",
            Stage::Report => "report",
        }
    }
}

pub async fn run(ctx: &Context, args: &BootstrapArgs) -> Result<ExitStatus> {
    // An invalid spec is "could not do the job": the usual one-line errors.
    let spec = ctx.load_spec_to_change("bootstrap would provision it")?;
    let env = spec.environment(ctx.env_name())?;
    let mut job = Job::default();
    job.record("validate", Ok(validated(&spec)));
    // The check step's report, reused by the report step.
    let mut checks = None;
    for stage in Stage::ALL {
        if job.stopped() {
            job.skip(stage.name());
            continue;
        }
        let outcome = match stage {
            Stage::Render => render(ctx, &spec, env, &args.out),
            Stage::Apply => apply_step(ctx, env, args.yes, &ctx.state_dir()).await,
            Stage::Check => check_step(ctx, env, &mut checks).await,
            Stage::Verify => verify_step(ctx, env).await,
            Stage::Report => report_step(ctx, env, &args.out, &mut checks).await,
        };
        job.record(stage.name(), outcome);
    }
    let status = job.status;
    let report = job.finish(env);
    output::emit(ctx.output, &ctx.stamp, &report, |out| {
        print(out, &report, &spec)
    })?;
    if status == ExitStatus::Interrupted {
        return Err(Error::Interrupted);
    }
    Ok(status)
}

/// The steps so far and the exit status they add up to.
struct Job {
    steps: Vec<Step>,
    status: ExitStatus,
}

impl Default for Job {
    fn default() -> Self {
        Job {
            steps: Vec::new(),
            status: ExitStatus::Ok,
        }
    }
}

impl Job {
    fn stopped(&self) -> bool {
        self.status != ExitStatus::Ok
    }

    fn record(&mut self, name: &'static str, outcome: Result<Ran>) {
        // A signal during the step: what it returned is partial.
        if crate::interrupt::requested() {
            self.status = ExitStatus::Interrupted;
            let (summary, result) = match outcome {
                Ok((_, summary, result)) => (summary, Some(result)),
                Err(e) => (e.to_string().replace('\n', "; "), None),
            };
            self.steps.push(Step {
                name,
                status: StepStatus::Interrupted,
                summary,
                hint: None,
                result,
            });
            return;
        }
        let step = match outcome {
            Ok((passed, summary, result)) => {
                if !passed {
                    self.status = ExitStatus::Findings;
                }
                Step {
                    name,
                    status: if passed {
                        StepStatus::Ok
                    } else {
                        StepStatus::Failed
                    },
                    summary,
                    hint: None,
                    result: Some(result),
                }
            }
            Err(e) => {
                self.status = ExitStatus::Error;
                Step {
                    name,
                    status: StepStatus::Error,
                    summary: e.to_string().replace('\n', "; "),
                    hint: e.hint(),
                    result: None,
                }
            }
        };
        self.steps.push(step);
    }

    fn skip(&mut self, name: &'static str) {
        self.steps.push(Step {
            name,
            status: StepStatus::Skipped,
            summary: "not run: an earlier step stopped the job".into(),
            hint: None,
            result: None,
        });
    }

    fn finish(self, env: &Environment) -> BootstrapReport {
        let failed = self.steps.iter().find(|s| {
            matches!(
                s.status,
                StepStatus::Failed | StepStatus::Error | StepStatus::Interrupted
            )
        });
        let ok = failed.is_none();
        let name = &env.name;
        let next = match failed {
            None => vec![
                format!(
                    "in CI: `chronotrace-ops check -e {name}` and `chronotrace-ops plan -e {name} --exit-code`"
                ),
                format!(
                    "nightly: `chronotrace-ops cleanup verify -e {name}` and `chronotrace-ops report -e {name} --format markdown`"
                ),
            ],
            Some(step) if step.status == StepStatus::Interrupted => vec![format!(
                "the '{}' step was interrupted: run bootstrap again, it converges",
                step.name
            )],
            Some(step) => {
                let mut next = vec![format!(
                    "fix the '{}' step, then run bootstrap again",
                    step.name
                )];
                next.extend(step.hint.clone());
                next
            }
        };
        BootstrapReport {
            env: name.clone(),
            ok,
            next,
            steps: self.steps,
        }
    }
}

fn validated(spec: &Spec) -> Ran {
    let summary = format!(
        "{} is valid: {} environment(s), {} warning(s)",
        spec.source,
        spec.environments.len(),
        spec.warnings.len()
    );
    (true, summary, Value::Null)
}

fn render(_ctx: &Context, spec: &Spec, env: &Environment, out: &Path) -> Result<Ran> {
    let artifacts =
        Renderer::new(None)?.render_spec(spec, Some(&env.name), &crate::stores::files)?;
    let reports = files::write_all(out, &artifacts, false)?;
    let written = reports
        .iter()
        .filter(|r| matches!(r.status, FileStatus::Created | FileStatus::Updated))
        .count();
    let summary = format!(
        "{} files in {} ({written} written, {} unchanged)",
        reports.len(),
        out.display(),
        reports.len() - written
    );
    Ok((true, summary, to_json(&reports)))
}

async fn apply_step(
    ctx: &Context,
    env: &Environment,
    yes: bool,
    out: &std::path::Path,
) -> Result<Ran> {
    let heading = title(ctx, "Plan", env);
    let confirm = |plan: &_| proceed(ctx, plan, &heading, yes);
    let Some(outcome) = ops::apply::apply(&ctx.session, env, out, &confirm).await? else {
        return Ok((
            false,
            "not applied: the changes were declined".into(),
            Value::Null,
        ));
    };
    let interrupted = outcome.interrupted();
    let executed = match outcome {
        // A server's error: the step's error (the executor said on stderr
        // what was already changed).
        ops::Outcome::Stopped { by, .. } if !interrupted => return Err(by),
        ops::Outcome::Stopped { so_far, .. } | ops::Outcome::Done(so_far) => so_far,
    };
    let (create, update, delete) = executed.done.counts();
    let summary = if interrupted {
        format!(
            "interrupted: {create} created, {update} updated, {delete} deleted before the stop; a rerun converges"
        )
    } else if executed.had_changes {
        format!("{create} created, {update} updated, {delete} deleted")
    } else {
        "nothing to do: as the spec asks".into()
    };
    let mut json = to_json(&executed.done);
    if let (true, Value::Object(fields)) = (interrupted, &mut json) {
        fields.insert("interrupted".into(), Value::Bool(true));
    }
    Ok((!interrupted, summary, json))
}

async fn check_step(
    ctx: &Context,
    env: &Environment,
    checks: &mut Option<crate::check::Report>,
) -> Result<Ran> {
    use crate::check::Status;
    let report = ops::check::evaluate(&ctx.session, env).await?;
    let count = |status: Status| report.checks.iter().filter(|c| c.status == status).count();
    let mut summary = format!(
        "{} pass, {} warn, {} skip, {} fail",
        count(Status::Pass),
        count(Status::Warn),
        count(Status::Skip),
        count(Status::Fail)
    );
    if let Some(first) = report.checks.iter().find(|c| c.status == Status::Fail) {
        summary.push_str(&format!(" (first: {}: {})", first.id, first.message));
    }
    let result = (report.ok, summary, to_json(&report));
    *checks = Some(report);
    Ok(result)
}

async fn verify_step(ctx: &Context, env: &Environment) -> Result<Ran> {
    let report = ops::cleanup::verify(&ctx.session, env, VerifySettings::default()).await?;
    let summary = if let Some(stray) = &report.elsewhere {
        stray.message()
    } else if report.ok {
        format!(
            "nothing past retention ({} days + {} grace), {} objects scanned",
            report.retention_days, report.grace_days, report.scanned_objects
        )
    } else {
        format!(
            "{} objects ({} bytes) past retention remain: run `chronotrace-ops cleanup purge -e {}`",
            report.expired_objects, report.expired_bytes, env.name
        )
    };
    Ok((report.ok, summary, to_json(&report)))
}

async fn report_step(
    ctx: &Context,
    env: &Environment,
    out: &Path,
    checks: &mut Option<crate::check::Report>,
) -> Result<Ran> {
    let mut built = ops::report::build(&ctx.session, env, ReportSettings::default()).await?;
    if let Some(checks) = checks.take() {
        built = built.with_checks(checks.checks);
    }
    let path = out.join(format!("report.{}.html", env.name));
    let html = crate::report::render(&built, ReportFormat::Html, &ctx.stamp)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    crate::render::files::write_atomically(&path, &html, false)?;
    let summary = format!(
        "{}: {} objects, {} bytes, {} finding(s)",
        path.display(),
        built.objects,
        built.bytes,
        built.findings.len()
    );
    Ok((true, summary, to_json(&built)))
}

fn to_json<T: Serialize>(value: &T) -> Value {
    serde_json::to_value(value).unwrap_or(Value::Null)
}

fn print(out: &mut dyn Write, report: &BootstrapReport, spec: &Spec) -> std::io::Result<()> {
    writeln!(
        out,
        "bootstrap of environment '{}' ({})",
        report.env, spec.source
    )?;
    for step in &report.steps {
        let mark = match step.status {
            StepStatus::Ok => "ok     ",
            StepStatus::Failed => "FAILED ",
            StepStatus::Error => "ERROR  ",
            StepStatus::Skipped => "skipped",
            StepStatus::Interrupted => "STOPPED",
        };
        writeln!(out, "  {mark}  {:<15} {}", step.name, step.summary)?;
        if let Some(hint) = &step.hint {
            writeln!(out, "  {:<7}  {:<15} hint: {hint}", "", "")?;
        }
    }
    let verdict = if report.ok { "ready" } else { "stopped" };
    writeln!(out, "{verdict}. next:")?;
    for line in &report.next {
        writeln!(out, "  - {line}")?;
    }
    Ok(())
}
