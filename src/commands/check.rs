//! `check`: runs every check of one environment and prints the report.
//! Exit 0 when nothing failed, 1 when a check failed, 2 when the checks
//! cannot run at all (bad spec, bad flags, unreadable CA bundle).

use crate::check::network::Endpoint;
use crate::check::{Report, local, runner, table, tls};
use crate::cli::CheckArgs;
use crate::commands::{Context, block_on};
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::spec::{Environment, Storage};

/// Runs `check` for the selected environment.
pub fn run(ctx: &Context, _args: &CheckArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let report = evaluate(ctx, env)?;
    output::emit(ctx.output, &report, |out| {
        table::write(out, &report, ctx.color)
    })?;
    Ok(if report.ok {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    })
}

/// Runs every check of `env`; an error only when the checks cannot run.
pub fn evaluate(ctx: &Context, env: &Environment) -> Result<Report> {
    let mut checks = match &env.storage {
        Storage::Local(storage) => local::check(storage),
        Storage::S3(s3) => {
            let target = ctx.target(s3);
            let endpoint = Endpoint::of(&target).map_err(|e| {
                Error::usage_with_hint(
                    e,
                    "an endpoint looks like https://minio.example.com or http://127.0.0.1:9000",
                )
            })?;
            let ca_bundle = ctx.ca_bundle.as_deref();
            if ca_bundle.is_some() {
                tls::root_store(ca_bundle).map_err(|e| {
                    Error::usage_with_hint(
                        e,
                        "--ca-bundle (or AWS_CA_BUNDLE) must name a PEM file of CA certificates",
                    )
                })?;
            }
            block_on(runner::run_s3(env, s3, &target, &endpoint, ca_bundle))?
        }
    };
    // The app's side: traces in the other local root, the app's settings.
    checks.extend(crate::app::env_checks(env));
    Ok(Report::new(&env.name, checks))
}
