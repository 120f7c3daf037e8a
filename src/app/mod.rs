//! The Laravel app's side of the truth. The storage can be perfect and the
//! traces still go elsewhere: this module reads the app's tree as text (no
//! PHP) and says where its traces really go.
//!
//! - `locate`: which app an environment serves (`--app`, else `app:`, else
//!   the working directory when it looks like a Laravel app); `laravel`
//!   reads its local disk root (`storage/app/private` from Laravel 11 on,
//!   `storage/app` before), which the local store follows;
//! - `checks`: the app's `.env`, composer.lock and config against the spec,
//!   and against what the store expects of the app (`contract`, which the
//!   store states: this module never tells the kinds of store apart);
//! - `tree`, `dotenv`, `php`, `laravel`: reading the files.

#![warn(unreachable_pub)]

pub(crate) mod checks;
pub(crate) mod contract;
pub(crate) mod dotenv;
pub(crate) mod laravel;
pub(crate) mod packages;
pub(crate) mod php;
pub(crate) mod tree;

use std::path::{Path, PathBuf};

use crate::check::CheckResult;
use crate::spec::Environment;
use contract::Contract;

/// The app directory: `--app`, else the environment's `app:`, else the
/// working directory when it looks like a Laravel app.
pub(crate) fn locate(flag: Option<&Path>, key: Option<&Path>) -> Option<PathBuf> {
    if let Some(dir) = flag.or(key) {
        return Some(dir.to_path_buf());
    }
    laravel::looks_like_laravel(Path::new(".")).then(|| PathBuf::from("."))
}

/// What this module adds to an environment's report: the spec's own purge
/// schedule in the findings that ask for one.
pub(crate) fn amend_report(report: &mut crate::report::Report, env: &Environment) {
    let Some(plan) = &env.schedule else {
        return;
    };
    let forms = crate::render::schedule::Forms::new(&env.name, Some(plan));
    for finding in &mut report.findings {
        if finding.id == "retention.local" || finding.id == "lifecycle.unsupported" {
            finding.message = format!(
                "retention depends on chronotrace-ops here: the spec schedules its purge daily at {:02}:{:02} (`render` writes chronotrace-purge-{}.timer/.service and .cron; install one of them): {}",
                plan.hour,
                plan.minute,
                env.name,
                forms.summary()
            );
        }
    }
}

/// The checks this module adds to an environment's `check`: the app's
/// settings when an app is known, against what its store expects.
pub(crate) fn env_checks(env: &Environment, contract: &Contract<'_>) -> Vec<CheckResult> {
    match &env.app {
        Some(app) => checks::check(app, env, contract),
        None => Vec::new(),
    }
}
