//! The Laravel app's side of the truth. The storage can be perfect and the
//! traces still go elsewhere: this module reads the app's tree as text (no
//! PHP) and says where its traces really go.
//!
//! - `resolve`: which app an environment serves (`--app`, else `app:`, else
//!   the working directory when it looks like a Laravel app), and the
//!   `local` path default that follows it (`storage/app/private` from
//!   Laravel 11 on, `storage/app` before: `laravel`);
//! - `stray`: traces one directory away from the path the tool reads;
//! - `checks`: the app's `.env`, composer.lock and config against the spec;
//! - `dotenv`, `php`, `laravel`: reading the files.

#![warn(unreachable_pub)]

pub(crate) mod checks;
pub(crate) mod credentials;
pub(crate) mod dotenv;
pub(crate) mod laravel;
pub(crate) mod packages;
pub(crate) mod php;

use std::path::{Path, PathBuf};

use crate::check::CheckResult;
use crate::spec::{Environment, Spec, Storage};

/// Settles every environment of `spec` against its app: `env.app` becomes
/// the app directory in use (or `None`), and a `local` path not written in
/// the spec follows the app's Laravel version. `flag` is `--app`.
pub(crate) fn resolve(spec: &mut Spec, flag: Option<&Path>) {
    for env in spec.environments.values_mut() {
        env.app = locate(flag, env.app.as_deref());
        let Storage::Local(local) = &mut env.storage else {
            continue;
        };
        let app = env.app.clone();
        let base = app.clone().unwrap_or_else(|| PathBuf::from("."));
        if local.explicit {
            // A relative path written in the spec is the app's.
            if let Some(app) = app.filter(|a| a != Path::new(".")) {
                if local.path.is_relative() {
                    local.path = app.join(&local.path);
                }
            }
            continue;
        }
        let root = if app.is_some() {
            // A root written as env('X', ...) reads the app's env file.
            let dotenv = dotenv::DotEnv::read(&base, &env.name).unwrap_or_default();
            let lookup = |name: &str| dotenv.get(name).map(str::to_string);
            laravel::local_root(&base, &lookup)
        } else {
            laravel::LocalRoot {
                path: PathBuf::from(laravel::ROOT_10),
                origin: "the default: no Laravel app here (give one with --app or app:)".into(),
            }
        };
        local.path = match app {
            Some(app) if app != Path::new(".") && root.path.is_relative() => app.join(&root.path),
            _ => root.path,
        };
        local.origin = root.origin;
    }
}

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
/// settings when an app is known.
pub(crate) fn env_checks(env: &Environment) -> Vec<CheckResult> {
    match &env.app {
        Some(app) => checks::check(app, env),
        None => Vec::new(),
    }
}
