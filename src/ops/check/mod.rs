//! The check evaluation: runs every check of one environment (`check`,
//! and the check step of `report` and `bootstrap`) and gathers the report.

mod app;
mod runner;

use crate::check::Report;
use crate::error::{Error, Result};
use crate::local;
use crate::net::network::Endpoint;
use crate::net::tls;
use crate::ops::Session;
use crate::spec::{Environment, Storage};

/// Runs every check of `env`; an error only when the checks cannot run
/// (an endpoint that is no URL, an unreadable CA bundle).
pub fn evaluate(session: &Session, env: &Environment) -> Result<Report> {
    let mut checks = match &env.storage {
        Storage::Local(storage) => local::check::check(storage),
        Storage::Redis(redis) => {
            if redis.is_tls() {
                usable_bundle(session)?;
            }
            session.block_on(crate::kv::checks::check(
                redis,
                env.retention_days,
                session.overrides.timeouts,
                session.overrides.ca_bundle.as_deref(),
            ))?
        }
        Storage::Database(db) => {
            session.block_on(crate::sql::check::run(db, session.overrides.timeouts))?
        }
        Storage::S3(s3) => {
            let target = session.target(s3);
            let endpoint = Endpoint::of(&target).map_err(|e| {
                Error::usage_with_hint(
                    e.to_string(),
                    "an endpoint looks like https://minio.example.com or http://127.0.0.1:9000",
                )
            })?;
            usable_bundle(session)?;
            let app_key = s3
                .app_user
                .as_ref()
                .and_then(|_| app::read_key(&session.state_dir(), &env.name));
            session.block_on(runner::run_s3(
                env,
                s3,
                &target,
                &endpoint,
                session.clients(s3),
                app_key.as_ref(),
            ))?
        }
    };
    // The app's side: traces in the other local root, the app's settings.
    checks.extend(crate::app::env_checks(env));
    Ok(Report::new(&env.name, checks))
}

/// A CA bundle that cannot be read is a usage error (exit 2) before any
/// check runs, not a failed connection check.
fn usable_bundle(session: &Session) -> Result<()> {
    if let Some(path) = session.overrides.ca_bundle.as_deref() {
        tls::checked_bundle(path)
            .map_err(|e| Error::usage_with_hint(e.to_string(), tls::BUNDLE_HINT))?;
    }
    Ok(())
}
