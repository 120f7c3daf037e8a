//! `check --app`: the Laravel app's settings against the spec, one check
//! line each (`app.*`), from its `.env` (or `.env.<env>`), composer.lock and
//! config files read as text. They need no store: they run whatever the
//! store checks found. What the app must say to reach its store (the
//! driver, the store's own settings) is the store's `Contract`.
//!
//! Secrets: a value is shown only for settings that are not secret
//! (driver, bucket, region, endpoint without credentials, prefix); keys are
//! only ever compared, never printed.

use std::path::Path;

use super::contract::{Contract, Driver};
use super::packages;
use super::tree::{Tree, read, shown};
use crate::check::CheckResult;
use crate::spec::Environment;

/// Every app check of `env`, the app being at `dir` and its store
/// expecting `contract`.
pub(crate) fn check(dir: &Path, env: &Environment, contract: &Contract<'_>) -> Vec<CheckResult> {
    let started = std::time::Instant::now();
    let tree = match read(dir, &env.name) {
        Ok(tree) => tree,
        Err((message, hint)) => {
            let mut out = vec![CheckResult::fail("app.laravel", message).with_hint(hint)];
            out.extend(crate::check::skip_all(
                &ids(contract),
                "the app could not be read (see app.laravel)",
            ));
            return out;
        }
    };
    let mut out = vec![
        packages::laravel(&tree),
        packages::package(&tree, env, contract.expiry),
        storage_driver(&tree, env, contract.driver),
    ];
    if let Some(store) = &contract.checks {
        out.extend(store.run(&tree));
    }
    out.push(packages::queue(&tree));
    out.into_iter().map(|r| r.took(started)).collect()
}

/// The ids after `app.laravel`, in report order.
fn ids(contract: &Contract<'_>) -> Vec<&'static str> {
    let mut ids = vec!["app.package", "app.storage_driver"];
    if let Some(store) = &contract.checks {
        ids.extend(store.ids());
    }
    ids.push("app.queue");
    ids
}

/// `app.storage_driver`: the value the store's contract names; the
/// package knows `s3` and `local` and reads anything else as the local disk.
fn storage_driver(tree: &Tree, env: &Environment, driver: Driver) -> CheckResult {
    const ID: &str = "app.storage_driver";
    let (value, origin) = tree.setting("CHRONOTRACE_STORAGE", Some("local"));
    let value = value.unwrap_or_else(|| "local".into());
    let (expected, fix) = match driver {
        Driver::Setting { value, fix } => (value, fix),
        Driver::Skipped(why) => return CheckResult::skip(ID, why),
    };
    if value == expected {
        return CheckResult::pass(ID, format!("CHRONOTRACE_STORAGE={value} ({origin})"));
    }
    if value != "s3" && value != "local" {
        return CheckResult::fail(
            ID,
            format!(
                "CHRONOTRACE_STORAGE={} ({origin}) is not s3 or local: the package falls back to the local disk and stores traces under {}/traces/",
                shown(&value),
                tree.local_root().display()
            ),
        )
        .with_hint(fix);
    }
    CheckResult::fail(
        ID,
        format!(
            "CHRONOTRACE_STORAGE={value} ({origin}) but the spec's '{}' environment is storage: {expected}",
            env.name
        ),
    )
    .with_hint(fix)
}
