//! `check`: runs every check of one environment (`ops::check`) and prints
//! the report. Exit 0 when nothing failed, 1 when a check failed, 2 when
//! the checks cannot run at all (bad spec, bad flags, unreadable CA bundle).

use super::Context;
use crate::check::table;
use crate::cli::CheckArgs;
use crate::error::{ExitStatus, Result};
use crate::{ops, output};

/// Runs `check` for the selected environment.
pub fn run(ctx: &Context, _args: &CheckArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let report = ops::check::evaluate(&ctx.session, env)?;
    output::emit(ctx.output, &report, |out| {
        table::write(out, &report, ctx.color)
    })?;
    Ok(if report.ok {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    })
}
