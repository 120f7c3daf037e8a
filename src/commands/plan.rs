//! `plan`: read the live state, print what `apply` would change; with
//! `--exit-code`, exit 1 when changes are pending. Also the wiring `apply`
//! and `destroy` share: loading the environment, connecting, observing.

use std::path::Path;

use super::{Context, block_on};
use crate::cli::{OutputFormat, PlanArgs};
use crate::cloud::Clients;
use crate::cloud::provision::Provisioner;
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::plan::desired::{Desired, DesiredBucket, DesiredTarget};
use crate::plan::observed::{Observed, ObservedDir};
use crate::plan::{Plan, diff, text};
use crate::spec::{Environment, Storage};

pub fn run(ctx: &Context, args: &PlanArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let desired = Desired::from_env(env)?;
    let plan = match &desired.target {
        DesiredTarget::Local { traces_dir } => {
            diff(&desired, &Observed::Local(observe_dir(traces_dir)))
        }
        DesiredTarget::Bucket(want) => block_on(async {
            let clients = connect(ctx, env).await?;
            let provisioner = Provisioner::new(&clients, want, &env.name).await?;
            Ok::<_, Error>(diff(&desired, &provisioner.observe().await?))
        })??,
    };
    print(ctx.output, &plan, &title(ctx, "Plan", env))?;
    Ok(if args.exit_code && plan.has_changes() {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    })
}

/// Connects to the environment's endpoint (S3 environments only).
pub(crate) async fn connect(ctx: &Context, env: &Environment) -> Result<Clients> {
    let Storage::S3(s3) = &env.storage else {
        return Err(Error::usage(format!(
            "environment '{}' is not an S3 environment",
            env.name
        )));
    };
    Clients::connect(&ctx.target(s3)).await
}

/// The bucket of an S3 environment's desired state.
pub(crate) fn bucket_of(desired: &Desired) -> Option<&DesiredBucket> {
    match &desired.target {
        DesiredTarget::Bucket(b) => Some(b),
        DesiredTarget::Local { .. } => None,
    }
}

/// What is at the local traces directory.
pub(crate) fn observe_dir(path: &Path) -> ObservedDir {
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

/// The heading of a plan: what it is, for which environment and where.
pub(crate) fn title(ctx: &Context, what: &str, env: &Environment) -> String {
    match &env.storage {
        Storage::Local(local) => format!(
            "{what} for environment '{}' (local disk {}):",
            env.name,
            local.path.display()
        ),
        Storage::S3(s3) => {
            // With the command-line overrides: where the requests really go.
            let target = ctx.target(s3);
            format!(
                "{what} for environment '{}' (bucket {} in {} at {}):",
                env.name,
                s3.bucket,
                target.region,
                target.endpoint_label()
            )
        }
    }
}

/// A plan on stdout: text for people, JSON for scripts.
pub(crate) fn print(format: OutputFormat, plan: &Plan, title: &str) -> Result<()> {
    output::emit(format, plan, |out| text::write_plan(out, plan, title))
}
