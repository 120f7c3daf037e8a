//! The checks of a hybrid pair itself (each tier's own checks are its
//! store's): from the spec alone, what makes the seed's pair lose traces.
//! - `hybrid.hot-ttl`: the hot tier must keep a trace longer than
//!   `hot_days` plus a day (the daily archive), or the seed's TTL expires
//!   traces before any archive ran;
//! - `hybrid.cold-retention`: the cold tier must keep traces at least the
//!   pair's `retention_days`;
//! - `hybrid.schedule`: without a schedule, nothing archives.

use crate::check::CheckResult;
use crate::spec::{Environment, HybridStorage};

pub(crate) const HOT_TTL: &str = "hybrid.hot-ttl";
pub(crate) const COLD_RETENTION: &str = "hybrid.cold-retention";
pub(crate) const SCHEDULE: &str = "hybrid.schedule";

/// The pair's checks, in report order.
pub(crate) fn pair_checks(env: &Environment, hybrid: &HybridStorage) -> Vec<CheckResult> {
    let (hot, cold) = (&hybrid.hot, &hybrid.cold);
    let needed = hybrid.hot_days + 1;
    let hot_ttl = if hot.retention_days > needed {
        CheckResult::pass(
            HOT_TTL,
            format!(
                "the hot tier '{}' keeps traces {} days, past hot_days ({}) and a daily archive",
                hot.name, hot.retention_days, hybrid.hot_days
            ),
        )
    } else {
        CheckResult::fail(
            HOT_TTL,
            format!(
                "the hot tier '{}' keeps traces {} days (its retention_days, the TTL the seed's store sets): not longer than hot_days ({}) plus a daily archive, so traces expire before they are archived",
                hot.name, hot.retention_days, hybrid.hot_days
            ),
        )
        .with_hint(format!(
            "set retention_days of '{}' to at least {} (or lower hot_days)",
            hot.name,
            needed + 1
        ))
    };
    let cold_retention = if cold.retention_days >= env.retention_days {
        CheckResult::pass(
            COLD_RETENTION,
            format!(
                "the cold tier '{}' keeps traces {} days, the pair promises {}",
                cold.name, cold.retention_days, env.retention_days
            ),
        )
    } else {
        CheckResult::fail(
            COLD_RETENTION,
            format!(
                "the cold tier '{}' keeps traces {} days, fewer than the pair's retention_days ({})",
                cold.name, cold.retention_days, env.retention_days
            ),
        )
        .with_hint(format!(
            "set retention_days of '{}' to {}",
            cold.name, env.retention_days
        ))
    };
    let schedule = match &env.schedule {
        Some(s) => CheckResult::pass(
            SCHEDULE,
            format!(
                "the archive (`cleanup purge --yes -e {}`) runs daily at {:02}:{:02}",
                env.name, s.hour, s.minute
            ),
        ),
        None => CheckResult::warn(
            SCHEDULE,
            format!(
                "no schedule: traces leave the hot tier only when `cleanup purge --yes -e {}` runs",
                env.name
            ),
        )
        .with_hint("add a `schedule:` to the environment (docs/spec.md) and run `render` for its systemd timer and cron line"),
    };
    vec![hot_ttl, cold_retention, schedule]
}
