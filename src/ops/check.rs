//! The check evaluation: runs every check of one environment (`check`,
//! and the check step of `report` and `bootstrap`) and gathers the report:
//! the store's own checks, then the app's side.

use crate::check::Report;
use crate::error::Result;
use crate::ops::Session;
use crate::ops::session::stoppable;
use crate::spec::Environment;

/// Runs every check of `env`; an error only when the checks cannot run
/// (an endpoint that is no URL, an unreadable CA bundle).
pub async fn evaluate(session: &Session, env: &Environment) -> Result<Report> {
    let store = crate::stores::open(env, &session.connections);
    let mut checks = stoppable(store.checks()).await?;
    // The app's side: the app's settings against the spec and the store.
    checks.extend(crate::app::env_checks(env, &store.app_contract()));
    Ok(Report::new(&env.name, checks))
}
