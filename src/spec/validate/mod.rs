//! Every rule of the spec, checked before anything else happens. Problems
//! are collected (one line each, with file, line and rule) rather than
//! stopping at the first, so a user fixes them in one pass.

use std::path::PathBuf;

use indexmap::IndexMap;
use serde_saphyr::{Location, Spanned};

mod database;
mod gcs;
mod hybrid;
mod identity;
mod inventory;
mod minio;
mod mount;
mod redis;
mod s3;
mod schedule;
mod values;

pub(crate) use values::check_endpoint;
use values::is_slug;

use super::names;
use super::raw::{RawEnvironment, RawSpec};
use super::{Environment, LocalStorage, Spec, Storage};
use crate::error::{Error, Result, SourceLocation, SpecProblem};

/// The package's default retention (`CHRONOTRACE_RETENTION_DAYS`).
const DEFAULT_RETENTION_DAYS: i64 = 15;
/// The package's default disk root in the bucket (`CHRONOTRACE_S3_PREFIX`).
const DEFAULT_PREFIX: &str = "traces";
/// Laravel's local disk root before Laravel 11, relative to the app: the
/// placeholder until `stores::resolve` reads the app (Laravel 11 and later keep
/// it at `storage/app/private`).
const DEFAULT_LOCAL_PATH: &str = "storage/app";

/// Checks `raw` against every rule and builds the model.
pub(crate) fn validate(raw: RawSpec, file: &str) -> Result<Spec> {
    let mut checker = Checker {
        file,
        problems: Vec::new(),
        warnings: Vec::new(),
    };
    let spec = checker.spec(raw);
    if checker.problems.is_empty() {
        Ok(Spec {
            warnings: checker.warnings,
            ..spec
        })
    } else {
        Err(Error::Spec(checker.problems))
    }
}

/// Collects problems while walking the raw spec.
struct Checker<'a> {
    file: &'a str,
    problems: Vec<SpecProblem>,
    warnings: Vec<String>,
}

impl Checker<'_> {
    fn location(&self, loc: &Location) -> SourceLocation {
        SourceLocation {
            file: self.file.to_string(),
            line: loc.line(),
            column: loc.column(),
        }
    }

    fn problem(&mut self, loc: &Location, rule: &'static str, message: String) {
        let at = self.location(loc);
        self.problems.push(SpecProblem { at, rule, message });
    }

    fn warn(&mut self, loc: &Location, message: String) {
        let at = self.location(loc);
        self.warnings.push(format!("{at}: {message}"));
    }

    fn spec(&mut self, raw: RawSpec) -> Spec {
        let project = raw.project.value.trim().to_string();
        if !is_slug(&project) {
            self.problem(
                &raw.project.referenced,
                "spec.project",
                format!("project '{project}' must be lowercase letters, digits and '-' (it names containers and resources)"),
            );
        }
        if raw.environments.value.is_empty() {
            self.problem(
                &raw.environments.referenced,
                "spec.environments",
                "environments must name at least one environment".into(),
            );
        }
        let mut environments = IndexMap::new();
        // Hybrid pairs are linked to their tiers once every other
        // environment is read; the spec's order is kept.
        let mut order = Vec::new();
        let mut hybrids = Vec::new();
        for (name, env) in raw.environments.value {
            order.push(name.clone());
            if !is_slug(&name) && !name.contains('_') {
                self.problem(
                    &env.referenced,
                    "spec.environment-name",
                    format!("environment name '{name}' must be lowercase letters, digits, '-' or '_' (it names files)"),
                );
            }
            if name == crate::spec::ALL_ENVIRONMENTS {
                self.problem(
                    &env.referenced,
                    "spec.environment-name",
                    "environment name 'all' is reserved: `--env all` means every environment"
                        .into(),
                );
            }
            if env.value.storage.value == "hybrid" {
                hybrids.push((name, env));
                continue;
            }
            if let Some(environment) = self.environment(&name, env) {
                environments.insert(name, environment);
            }
        }
        let hybrid_names: Vec<String> = hybrids.iter().map(|(n, _)| n.clone()).collect();
        let mut linked = Vec::new();
        for (name, raw) in hybrids {
            let mut env = raw.value;
            let (app, schedule, retention_days) = self.every_storage(&mut env);
            let pending = self.hybrid(&env, retention_days);
            if let Some(storage) = self.link_hybrid(&name, pending, &environments, &hybrid_names) {
                linked.push(Environment {
                    name: name.clone(),
                    retention_days,
                    storage,
                    app,
                    schedule,
                });
            }
        }
        for env in linked {
            environments.insert(env.name.clone(), env);
        }
        environments.sort_by_cached_key(|name, _| order.iter().position(|n| n == name));
        let minio = raw.minio.and_then(|m| self.minio(m));
        Spec {
            project,
            environments,
            minio,
            source: self.file.to_string(),
            warnings: Vec::new(),
        }
    }

    fn environment(&mut self, name: &str, raw: Spanned<RawEnvironment>) -> Option<Environment> {
        let here = raw.referenced;
        let mut env = raw.value;
        let (app, schedule, retention_days) = self.every_storage(&mut env);
        let storage = match env.storage.value.as_str() {
            "local" => self.local(env).map(Storage::Local),
            "s3" => self.s3(name, env, retention_days).map(Storage::S3),
            "gcs" => self.gcs(env).map(Storage::Gcs),
            "redis" => self.redis(env).map(Storage::Redis),
            "database" => self.database(env).map(Storage::Database),
            other => {
                let hint = if other == "minio" {
                    " (for MinIO write storage: s3 and provider: minio)"
                } else {
                    ""
                };
                self.problem(
                    &env.storage.referenced,
                    "spec.storage",
                    format!(
                        "storage '{other}' is not one of: local, s3, gcs, redis, database, hybrid{hint}"
                    ),
                );
                None
            }
        };
        let _ = here;
        Some(Environment {
            name: name.to_string(),
            retention_days,
            storage: storage?,
            app,
            schedule,
        })
    }

    /// The keys of every storage kind: the app, the purge's schedule, the
    /// retention.
    fn every_storage(
        &mut self,
        env: &mut RawEnvironment,
    ) -> (Option<PathBuf>, Option<crate::spec::Schedule>, u32) {
        let app = env.app.take().and_then(|raw| self.app_dir(&raw));
        let schedule = env.schedule.take().and_then(|raw| self.schedule(&raw));
        let retention_days = self.days(
            env.retention_days.as_ref(),
            DEFAULT_RETENTION_DAYS,
            1,
            "retention.minimum",
            "retention_days",
        );
        (app, schedule, retention_days)
    }

    /// A day count: `default` when absent, at least `minimum`.
    fn days(
        &mut self,
        raw: Option<&Spanned<i64>>,
        default: i64,
        minimum: i64,
        rule: &'static str,
        key: &str,
    ) -> u32 {
        let Some(raw) = raw else {
            return u32::try_from(default).unwrap_or(1);
        };
        if raw.value < minimum || raw.value > 36_500 {
            self.problem(
                &raw.referenced,
                rule,
                format!(
                    "{key} must be between {minimum} and 36500, got {}",
                    raw.value
                ),
            );
            return u32::try_from(minimum).unwrap_or(1);
        }
        u32::try_from(raw.value).unwrap_or(1)
    }

    fn local(&mut self, env: RawEnvironment) -> Option<LocalStorage> {
        self.store_keys_elsewhere(&env, "local");
        self.not_applicable(s3_keys(&env), |key| {
            format!("'{key}' applies only to storage: s3")
        });
        let mount = env
            .mount
            .as_ref()
            .and_then(|raw| self.mount(raw, env.path.as_ref()));
        let explicit = env.path.is_some();
        let path = env
            .path
            .map(|p| p.value)
            .unwrap_or_else(|| DEFAULT_LOCAL_PATH.to_string());
        Some(LocalStorage {
            path: PathBuf::from(path),
            explicit,
            origin: if explicit {
                "set in the spec"
            } else {
                "the default"
            }
            .into(),
            mount,
        })
    }

    /// One problem per key written where it does not apply.
    /// The Redis, SQL and local stores' own keys written in an environment of another
    /// `storage` kind (each store's own keys are checked by its validator).
    pub(super) fn store_keys_elsewhere(&mut self, env: &RawEnvironment, storage: &str) {
        let at = |v: &Option<Spanned<String>>| v.as_ref().map(|v| v.referenced);
        let keys = [
            ("url", at(&env.url), "redis or database"),
            ("password_env", at(&env.password_env), "redis or database"),
            ("key_prefix", at(&env.key_prefix), "redis"),
            ("index_key", at(&env.index_key), "redis"),
            (
                "cluster",
                env.cluster.as_ref().map(|v| v.referenced),
                "redis",
            ),
            ("urls", env.urls.as_ref().map(|v| v.referenced), "redis"),
            ("table", at(&env.table), "database"),
            ("partition", at(&env.partition), "database"),
            ("project", at(&env.project), "gcs"),
            ("location", at(&env.location), "gcs"),
            (
                "soft_delete_days",
                env.soft_delete_days.as_ref().map(|v| v.referenced),
                "gcs",
            ),
            (
                "app_user",
                env.app_user.as_ref().map(|v| v.referenced),
                "redis or database",
            ),
            ("mount", env.mount.as_ref().map(|v| v.referenced), "local"),
            ("hot", at(&env.hot), "hybrid"),
            ("cold", at(&env.cold), "hybrid"),
            (
                "hot_days",
                env.hot_days.as_ref().map(|v| v.referenced),
                "hybrid",
            ),
            (
                "critical",
                env.critical.as_ref().map(|v| v.referenced),
                "hybrid",
            ),
        ];
        for (key, loc, owners) in keys {
            if let Some(loc) = loc.filter(|_| !owners.split(" or ").any(|o| o == storage)) {
                self.problem(
                    &loc,
                    "spec.key-not-applicable",
                    format!("'{key}' applies only to storage: {owners}, not {storage}"),
                );
            }
        }
    }

    fn not_applicable<'k>(
        &mut self,
        keys: impl IntoIterator<Item = (&'k str, Option<Location>)>,
        message: impl Fn(&str) -> String,
    ) {
        for (key, loc) in keys {
            if let Some(loc) = loc {
                self.problem(&loc, "spec.key-not-applicable", message(key));
            }
        }
    }

    fn name_check(
        &mut self,
        raw: &Spanned<String>,
        check: impl Fn(&str) -> std::result::Result<(), names::NameProblem>,
    ) {
        if let Err((rule, message)) = check(&raw.value) {
            self.problem(&raw.referenced, rule, message);
        }
    }
}

/// The keys only a bucket has, with where each was written.
fn s3_keys(env: &RawEnvironment) -> [(&'static str, Option<Location>); 10] {
    [
        ("provider", env.provider.as_ref().map(|v| v.referenced)),
        ("endpoint", env.endpoint.as_ref().map(|v| v.referenced)),
        ("region", env.region.as_ref().map(|v| v.referenced)),
        ("bucket", env.bucket.as_ref().map(|v| v.referenced)),
        ("prefix", env.prefix.as_ref().map(|v| v.referenced)),
        ("versioning", env.versioning.as_ref().map(|v| v.referenced)),
        (
            "noncurrent_days",
            env.noncurrent_days.as_ref().map(|v| v.referenced),
        ),
        (
            "transitions",
            env.transitions.as_ref().map(|v| v.referenced),
        ),
        ("iam", env.iam.as_ref().map(|v| v.referenced)),
        ("inventory", env.inventory.as_ref().map(|v| v.referenced)),
    ]
}
