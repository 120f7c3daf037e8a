//! `plan`, `apply` and `destroy` on a Redis store: one resource, the app's
//! ACL user (`kv::acl`). `apply` creates it with a generated password
//! written once to `{out}/app-credentials.<env>.env` (0600, never printed,
//! never overwritten: the file is created before the user, and removed if
//! the user cannot be), or rewrites its keys and commands when they
//! drifted (keeping its password). `destroy` deletes only that user. A
//! connection that may not manage ACL users gets a note in the plan, not a
//! change `apply` would be refused; `app_user: false` plans no user at all.

use std::path::Path;

use super::Session;
use super::apply::ApplyOutcome;
use crate::credentials_file;
use crate::error::{Error, Result};
use crate::kv::{Redis, acl};
use crate::plan::{Action, Change, Plan, Resource};
use crate::secret::Secret;
use crate::spec::{Environment, RedisStorage};

/// The change `apply` would make to the ACL user (none with `app_user:
/// false`).
async fn diff(redis: &Redis, spec: &RedisStorage, env: &str) -> Result<Option<Change>> {
    if !spec.app_user {
        return Ok(None);
    }
    let want = acl::desired(spec, env);
    let change = match acl::observe(redis, &acl::user_name(env)).await? {
        acl::Seen::Refused(why) => {
            Change::noted(Resource::RedisAclUser, format!("not planned: {why}"))
        }
        acl::Seen::Absent => Change {
            after: Some(want),
            ..Change::new(Resource::RedisAclUser, Action::Create)
        },
        acl::Seen::Present(seen) if acl::matches(&seen, &want) => {
            Change::new(Resource::RedisAclUser, Action::None)
        }
        acl::Seen::Present(seen) => Change {
            before: Some(seen),
            after: Some(want),
            ..Change::new(Resource::RedisAclUser, Action::Update)
        },
    };
    Ok(Some(change))
}

fn plan_of(env: &Environment, change: Option<Change>) -> Plan {
    Plan {
        env: env.name.clone(),
        changes: change.into_iter().collect(),
    }
}

/// What `apply` would change.
pub fn plan(session: &Session, env: &Environment, spec: &RedisStorage) -> Result<Plan> {
    session.block_on(async {
        let redis = Redis::connect(
            spec,
            session.overrides.timeouts,
            session.overrides.ca_bundle.as_deref(),
        )
        .await?;
        Ok::<_, crate::error::Error>(plan_of(env, diff(&redis, spec, &env.name).await?))
    })?
}

/// Plans, asks `confirm`, and creates or updates the ACL user; the
/// password of a new user goes to `out` only.
pub fn apply(
    session: &Session,
    env: &Environment,
    spec: &RedisStorage,
    out: &Path,
    confirm: &dyn Fn(&Plan) -> Result<bool>,
) -> Result<Option<ApplyOutcome>> {
    session.block_on(async {
        let redis = Redis::connect(
            spec,
            session.overrides.timeouts,
            session.overrides.ca_bundle.as_deref(),
        )
        .await?;
        let change = diff(&redis, spec, &env.name).await?;
        let plan = plan_of(env, change.clone());
        if !confirm(&plan)? {
            return Ok(None);
        }
        let Some(change) = change else {
            return Ok(Some(ApplyOutcome {
                done: plan,
                had_changes: false,
                interrupted: false,
            }));
        };
        let done = match change.action {
            Action::Create => {
                let password = Secret::new(credentials_file::random_hex(32)?);
                let user = acl::user_name(&env.name);
                let entries = [
                    ("REDIS_USERNAME", user.as_str()),
                    ("REDIS_PASSWORD", password.expose()),
                ];
                let file = credentials_file::write_once(out, &env.name, &entries)?;
                if let Err(e) = acl::set_user(&redis, spec, &env.name, Some(&password)).await {
                    credentials_file::discard(&file);
                    return Err(e);
                }
                change.with_note(format!("password written to {}", file.display()))
            }
            Action::Update => {
                acl::set_user(&redis, spec, &env.name, None).await?;
                change.with_note("keys and commands rewritten; the password is kept")
            }
            _ => change,
        };
        let had_changes = done.pending();
        Ok(Some(ApplyOutcome {
            done: plan_of(env, Some(done)),
            had_changes,
            interrupted: false,
        }))
    })?
}

/// Plans the removal of the ACL user, asks `confirm`, deletes it.
pub fn destroy(
    session: &Session,
    env: &Environment,
    spec: &RedisStorage,
    confirm: &dyn Fn(&Plan) -> Result<()>,
) -> Result<ApplyOutcome> {
    session.block_on(async {
        let redis = Redis::connect(
            spec,
            session.overrides.timeouts,
            session.overrides.ca_bundle.as_deref(),
        )
        .await?;
        let user = acl::user_name(&env.name);
        let change = if spec.app_user {
            match acl::observe(&redis, &user).await? {
                // Whether the user is there is unknown: an error, as the
                // refused command was before, rather than a silent success.
                acl::Seen::Refused(why) => {
                    return Err(Error::cloud(format!("destroy of {user}: {why}")));
                }
                acl::Seen::Present(seen) => Change {
                    before: Some(seen),
                    ..Change::new(Resource::RedisAclUser, Action::Delete)
                },
                acl::Seen::Absent => {
                    Change::new(Resource::RedisAclUser, Action::None).with_note("no such user")
                }
            }
        } else {
            Change::noted(
                Resource::RedisAclUser,
                "not managed: app_user: false in the spec",
            )
        };
        let plan = plan_of(env, Some(change.clone()));
        confirm(&plan)?;
        if change.pending() {
            acl::delete_user(&redis, &env.name).await?;
        }
        Ok(ApplyOutcome {
            had_changes: change.pending(),
            done: plan,
            interrupted: false,
        })
    })?
}
