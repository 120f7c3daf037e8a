//! `destroy --yes [--empty]`: remove what `apply` created, for CI
//! environments. Only what carries the tool's tags (or marker) goes; from a
//! bucket others own, only the tool's lifecycle rule and policy statement.
//! A bucket with content is refused unless `--empty`.

use super::apply::{execute_all, finish, show};
use super::plan::{bucket_of, connect, title};
use super::{Context, block_on};
use crate::cli::DestroyArgs;
use crate::cloud::provision::Provisioner;
use crate::error::{Error, ExitStatus, Result};
use crate::plan::desired::Desired;
use crate::plan::{Action, Resource, destroy_plan};
use crate::spec::Storage;

pub fn run(ctx: &Context, args: &DestroyArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
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
    let Some(want) = bucket_of(&desired) else {
        return Err(Error::usage("no bucket in the spec"));
    };
    block_on(async {
        let clients = connect(ctx, env).await?;
        let provisioner = Provisioner::new(&clients, want, &env.name).await?;
        let plan = destroy_plan(&desired, &provisioner.observe().await?);
        let heading = title(ctx, "Destroy", env);
        show(ctx, &plan, &heading)?;
        if !plan.has_changes() {
            return finish(
                ctx,
                &plan,
                false,
                "Nothing to do: nothing of chronotrace-ops's is left.",
            );
        }
        if !args.yes {
            return Err(Error::usage_with_hint(
                "destroy deletes the resources above: nothing was changed without --yes",
                format!(
                    "chronotrace-ops destroy -e {} --yes (add --empty to delete a bucket's content too)",
                    env.name
                ),
            ));
        }
        let bucket_goes = plan
            .changes
            .iter()
            .any(|c| c.resource == Resource::Bucket && c.action == Action::Delete);
        if bucket_goes {
            provisioner.check_deletable(args.empty).await?;
        }
        let done = execute_all(&provisioner, &plan, args.empty).await?;
        finish(ctx, &done, true, "")
    })?
}
