//! `plan`: read the live state, print what `apply` would change; with
//! `--exit-code`, exit 1 when changes are pending.

use super::Context;
use super::ui::{print, title};
use crate::cli::PlanArgs;
use crate::error::{ExitStatus, Result};
use crate::ops;

pub async fn run(ctx: &Context, args: &PlanArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let plan = ops::apply::plan(&ctx.session, env).await?;
    print(ctx, &plan, &title(ctx, "Plan", env))?;
    Ok(if args.exit_code && plan.has_changes() {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    })
}
