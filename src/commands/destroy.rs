//! `destroy --yes [--empty]`: remove what `apply` created, for CI
//! environments. Only what carries the tool's tags (or marker) goes; from a
//! bucket others own, only the tool's lifecycle rule and policy statement.
//! A bucket with content is refused unless `--empty` (`ops::apply::destroy`).

use super::Context;
use super::ui::{finish, show, title};
use crate::cli::DestroyArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::ops;
use crate::plan::Plan;

pub async fn run(ctx: &Context, args: &DestroyArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec_to_change("destroy would delete from it")?;
    let env = spec.environment(ctx.env_name())?;
    let heading = title(ctx, "Destroy", env);
    let confirm = |plan: &Plan| {
        show(ctx, plan, &heading)?;
        if plan.has_changes() && !args.yes {
            return Err(Error::usage_with_hint(
                "destroy deletes the resources above: nothing was changed without --yes",
                format!(
                    "chronotrace-ops destroy -e {} --yes (add --empty to delete a bucket's content too)",
                    env.name
                ),
            ));
        }
        Ok(())
    };
    let outcome = ops::apply::destroy(&ctx.session, env, args.empty, &confirm).await?;
    finish(
        ctx,
        outcome,
        "destroy",
        "Nothing to do: nothing of chronotrace-ops's is left.",
    )
}
