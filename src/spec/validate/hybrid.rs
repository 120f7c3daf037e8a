//! A `hybrid` environment (the seed's `HybridTraceStorage`): two other
//! environments of the spec as its hot and cold tiers, the days a trace
//! stays hot, and the seed's rule for a critical trace. Read in two
//! passes: its own keys with the other environments, then (once every
//! environment is read) its tiers, copied into it.

use indexmap::IndexMap;
use serde_saphyr::{Location, Spanned};

use super::{Checker, s3_keys};
use crate::spec::raw::{RawCritical, RawEnvironment};
use crate::spec::{Critical, Environment, HybridStorage, Storage};

/// The seed's `$hotStorageDays`.
pub(crate) const DEFAULT_HOT_DAYS: i64 = 7;

/// A hybrid environment whose tiers are not linked yet.
pub(super) struct PendingHybrid {
    hot: Option<Spanned<String>>,
    cold: Option<Spanned<String>>,
    hot_days: u32,
    critical: Critical,
    /// Where `storage: hybrid` was written.
    at: Location,
}

impl Checker<'_> {
    /// The hybrid's own keys; every other store's key is refused.
    pub(super) fn hybrid(&mut self, env: &RawEnvironment, retention_days: u32) -> PendingHybrid {
        self.store_keys_elsewhere(env, "hybrid");
        let path = ("path", env.path.as_ref().map(|v| v.referenced));
        self.not_applicable(s3_keys(env).into_iter().chain([path]), |key| {
            format!("'{key}' does not apply to storage: hybrid (it belongs to the hot or cold environment)")
        });
        let hot_days = self.days(
            env.hot_days.as_ref(),
            DEFAULT_HOT_DAYS,
            1,
            "hybrid.hot-days",
            "hot_days",
        );
        if retention_days <= hot_days {
            let at = env
                .retention_days
                .as_ref()
                .map_or(env.storage.referenced, |r| r.referenced);
            self.problem(
                &at,
                "hybrid.retention",
                format!("retention_days ({retention_days}) must be longer than hot_days ({hot_days}): traces are archived to the cold tier after hot_days and kept there until retention_days"),
            );
        }
        let critical = env
            .critical
            .as_ref()
            .map(|raw| self.critical(&raw.value))
            .unwrap_or_default();
        PendingHybrid {
            hot: env.hot.clone(),
            cold: env.cold.clone(),
            hot_days,
            critical,
            at: env.storage.referenced,
        }
    }

    fn critical(&mut self, raw: &RawCritical) -> Critical {
        let default = Critical::default();
        let status = match &raw.status_at_least {
            Some(s) if !(100..=599).contains(&s.value) => {
                self.problem(
                    &s.referenced,
                    "hybrid.critical",
                    format!(
                        "status_at_least must be an HTTP status (100 to 599), got {}",
                        s.value
                    ),
                );
                default.status_at_least
            }
            Some(s) => u32::try_from(s.value).unwrap_or(default.status_at_least),
            None => default.status_at_least,
        };
        let duration = match &raw.duration_ms_over {
            Some(d) if d.value < 0 => {
                self.problem(
                    &d.referenced,
                    "hybrid.critical",
                    format!(
                        "duration_ms_over must be 0 or more milliseconds, got {}",
                        d.value
                    ),
                );
                default.duration_ms_over
            }
            Some(d) => u64::try_from(d.value).unwrap_or(default.duration_ms_over),
            None => default.duration_ms_over,
        };
        Critical {
            status_at_least: status,
            duration_ms_over: duration,
        }
    }

    /// The tiers of `pending`, from the environments read (no hybrid
    /// among them); `None` after a problem.
    pub(super) fn link_hybrid(
        &mut self,
        name: &str,
        pending: PendingHybrid,
        environments: &IndexMap<String, Environment>,
        hybrids: &[String],
    ) -> Option<Storage> {
        let mut tier = |raw: &Option<Spanned<String>>, key: &str| -> Option<Box<Environment>> {
            let Some(raw) = raw else {
                self.problem(
                    &pending.at,
                    "hybrid.tiers",
                    format!(
                        "storage: hybrid needs `{key}: ENV`, the environment of its {key} tier"
                    ),
                );
                return None;
            };
            let wanted = raw.value.trim();
            if wanted == name || hybrids.iter().any(|h| h == wanted) {
                self.problem(
                    &raw.referenced,
                    "hybrid.tiers",
                    format!("{key}: '{wanted}' is a hybrid environment: a tier is a store of its own (local, s3, gcs, redis, database)"),
                );
                return None;
            }
            match environments.get(wanted) {
                Some(env) => Some(Box::new(env.clone())),
                None => {
                    let known: Vec<&str> = environments.keys().map(String::as_str).collect();
                    self.problem(
                        &raw.referenced,
                        "hybrid.tiers",
                        format!(
                            "{key}: no environment '{wanted}' in the spec (it has: {})",
                            known.join(", ")
                        ),
                    );
                    None
                }
            }
        };
        let hot = tier(&pending.hot, "hot");
        let cold = tier(&pending.cold, "cold");
        let (hot, cold) = (hot?, cold?);
        if hot.name == cold.name {
            let at = pending.cold.as_ref().map_or(pending.at, |c| c.referenced);
            self.problem(
                &at,
                "hybrid.tiers",
                format!(
                    "hot and cold are both '{}': two different environments make a pair",
                    hot.name
                ),
            );
            return None;
        }
        Some(Storage::Hybrid(HybridStorage {
            hot,
            cold,
            hot_days: pending.hot_days,
            critical: pending.critical,
        }))
    }
}
