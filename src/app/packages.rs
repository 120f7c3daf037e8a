//! The app checks read from composer.lock and the queue settings: the
//! Laravel version and local root (`app.laravel`), the package and its
//! known defects (`app.package`), and a worker for async storage
//! (`app.queue`). A store's own packages (the S3 adapter) are its checks.

use super::contract::Expiry;
use super::laravel::{self, FRAMEWORK};
use super::tree::{Tree, shown};
use crate::check::CheckResult;
use crate::spec::Environment;

/// The package's composer name.
pub(crate) const PACKAGE: &str = "grazulex/laravel-chronotrace";
/// The last version whose `chronotrace:purge` deletes nothing (its
/// `delete()` rebuilds the key with today's date).
const PURGE_BROKEN_UP_TO: (u64, u64, u64) = (0, 0, 4);

/// `app.laravel`: which app, which Laravel, which local root, which env file.
pub(crate) fn laravel(tree: &Tree) -> CheckResult {
    const ID: &str = "app.laravel";
    let root = tree.local_root();
    let env_file = tree.dotenv.label();
    let Some(lock) = &tree.lock else {
        return CheckResult::warn(
            ID,
            format!(
                "{}: no composer.lock (settings from {env_file}; local disk root {})",
                tree.dir.display(),
                root.display()
            ),
        )
        .with_hint(
            "run `composer install` in the app, or point --app at the Laravel app's directory",
        );
    };
    match lock.package(FRAMEWORK) {
        Some((version, _)) => CheckResult::pass(
            ID,
            format!(
                "Laravel {} at {} (settings from {env_file}; local disk root {})",
                shown(version),
                tree.dir.display(),
                root.display()
            ),
        ),
        None => CheckResult::fail(
            ID,
            format!(
                "{}: composer.lock has no laravel/framework",
                tree.dir.display()
            ),
        )
        .with_hint("point --app (or `app:`) at the Laravel app's directory"),
    }
}

/// `app.package`: installed, and its purge defect where retention relies
/// on it (`expiry`: what the store says expires its traces).
pub(crate) fn package(tree: &Tree, env: &Environment, expiry: Expiry) -> CheckResult {
    const ID: &str = "app.package";
    let Some((version, dev)) = tree.lock.as_ref().and_then(|l| l.package(PACKAGE)) else {
        return CheckResult::fail(
            ID,
            format!("{PACKAGE} is not in composer.lock: nothing writes traces"),
        )
        .with_hint(format!("composer require {PACKAGE}"));
    };
    if dev {
        return CheckResult::fail(
            ID,
            format!("{PACKAGE} {} is only in require-dev: a production install (--no-dev) has no tracing", shown(version)),
        )
        .with_hint(format!("composer require {PACKAGE} (not --dev)"));
    }
    let broken = laravel::version(version).is_none_or(|v| v <= PURGE_BROKEN_UP_TO);
    let what = if laravel::version(version).is_some() {
        format!("{PACKAGE} {}", shown(version))
    } else {
        format!(
            "{PACKAGE} {} (a branch: judged as the last tag, v0.0.4)",
            shown(version)
        )
    };
    if !broken {
        return CheckResult::pass(ID, what);
    }
    let defect = "its chronotrace:purge deletes nothing (delete() rebuilds the key with today's date) and CHRONOTRACE_RETENTION_DAYS / CHRONOTRACE_AUTO_PURGE are read nowhere";
    match expiry {
        Expiry::Purge => CheckResult::warn(ID, format!("{what}: {defect}"))
            .with_hint(format!(
                "schedule `chronotrace-ops --env {} cleanup purge --yes` (see `schedule:` in the spec; `render` writes a systemd timer and a cron file)",
                env.name
            )),
        Expiry::Store(by) => CheckResult::pass(ID, format!("{what} ({defect}: {by})")),
    }
}

/// `app.queue`: with async storage on (the default), a queue worker for
/// the package's queue writes the traces; without one they never arrive.
pub(crate) fn queue(tree: &Tree) -> CheckResult {
    const ID: &str = "app.queue";
    let (async_on, async_origin) = async_storage(tree);
    if !async_on {
        return CheckResult::pass(
            ID,
            format!("async storage off ({async_origin}): traces are written during the request"),
        );
    }
    let (queue, _) = tree.setting("CHRONOTRACE_QUEUE", Some("chronotrace"));
    let queue = queue.unwrap_or_else(|| "chronotrace".into());
    let connection = connection(tree);
    if connection == "sync" {
        return CheckResult::pass(
            ID,
            "async storage on, queue connection sync: traces are written during the request",
        );
    }
    let worker = ["config/horizon.php", "Procfile", "supervisord.conf"]
        .iter()
        .find(|f| {
            std::fs::read_to_string(tree.dir.join(f)).is_ok_and(|text| {
                text.contains(&format!("'{queue}'"))
                    || text.contains(&format!("\"{queue}\""))
                    || text.contains(&format!("={queue}"))
                    || text.contains(&format!(",{queue}"))
            })
        });
    match worker {
        Some(file) => CheckResult::pass(
            ID,
            format!("async storage on: queue {} on connection {} is worked ({file} names it)", shown(&queue), shown(&connection)),
        ),
        None => CheckResult::warn(
            ID,
            format!(
                "async storage on ({async_origin}): traces wait on queue {} (connection {}) and no worker for it is configured in the app (config/horizon.php, Procfile): without one they never reach the store",
                shown(&queue),
                shown(&connection)
            ),
        )
        .with_hint(format!(
            "run `php artisan queue:work {} --queue={}` under a supervisor (or add the queue to Horizon), or set CHRONOTRACE_ASYNC_STORAGE=false",
            connection.chars().filter(|c| c.is_ascii_alphanumeric() || "_-".contains(*c)).collect::<String>(),
            queue.chars().filter(|c| c.is_ascii_alphanumeric() || "_-,".contains(*c)).collect::<String>()
        )),
    }
}

/// Whether async storage is on, and where that came from. A published
/// config that hard-codes it wins over the env file.
fn async_storage(tree: &Tree) -> (bool, String) {
    let config = tree.config.as_deref().map(super::php::strip_comments);
    if let Some(expr) = config
        .as_deref()
        .and_then(|c| super::php::value_of(c, "async_storage"))
        && let Some(literal) = super::php::literal(expr)
    {
        return (
            literal == "true",
            "hard-coded in config/chronotrace.php".into(),
        );
    }
    let (value, origin) = tree.setting("CHRONOTRACE_ASYNC_STORAGE", Some("true"));
    let on = !matches!(
        value.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("false" | "0" | "off" | "no" | "(false)")
    );
    (on, format!("CHRONOTRACE_ASYNC_STORAGE {origin}"))
}

/// The queue connection the package dispatches on: its own setting, else
/// the app's default (`QUEUE_CONNECTION`, whose default is `database` from
/// Laravel 11 and `sync` before).
fn connection(tree: &Tree) -> String {
    let (value, _) = tree.setting("CHRONOTRACE_QUEUE_CONNECTION", Some("default"));
    match value.as_deref() {
        Some(v) if v != "default" => v.to_string(),
        _ => tree.dotenv.get("QUEUE_CONNECTION").map_or_else(
            || {
                let major = tree
                    .lock
                    .as_ref()
                    .and_then(|l| l.package(FRAMEWORK))
                    .and_then(|(v, _)| laravel::version(v))
                    .map_or(11, |v| v.0);
                if major >= 11 { "database" } else { "sync" }.to_string()
            },
            str::to_string,
        ),
    }
}
