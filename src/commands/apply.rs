//! `apply`: show the plan, confirm (a prompt on a terminal, `--yes`
//! otherwise), execute exactly the plan (`ops::apply`), and say what was
//! done.

use super::Context;
use super::ui::{finish, proceed, title};
use crate::cli::ApplyArgs;
use crate::error::{ExitStatus, Result};
use crate::ops;

pub async fn run(ctx: &Context, args: &ApplyArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec_to_change("apply would change it")?;
    let env = spec.environment(ctx.env_name())?;
    let heading = title(ctx, "Plan", env);
    let confirm = |plan: &_| proceed(ctx, plan, &heading, args.yes);
    let keys = ops::KeyOptions {
        out: args.out.clone().unwrap_or_else(|| ctx.state_dir()),
        rotate: args.rotate_app_key,
    };
    match ops::apply::apply_with(&ctx.session, env, &confirm, &keys).await? {
        None => Ok(ExitStatus::Findings),
        Some(outcome) => {
            let nothing = format!(
                "Nothing to do: environment '{}' is as the spec asks.",
                env.name
            );
            finish(ctx, outcome, "apply", &nothing)
        }
    }
}
