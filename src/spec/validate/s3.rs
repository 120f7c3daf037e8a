//! An `s3` environment: provider, endpoint, region, bucket, prefix,
//! lifecycle transitions, IAM names and the inventory (`inventory.rs`).

use serde_saphyr::{Location, Spanned};

use super::values::check_endpoint;
use super::{Checker, DEFAULT_PREFIX};
use crate::spec::lifecycle::{self, Culprit, StorageClass, Transition};
use crate::spec::names;
use crate::spec::raw::{RawEnvironment, RawTransition};
use crate::spec::{Prefix, Provider, S3Storage};

impl Checker<'_> {
    pub(super) fn s3(
        &mut self,
        name: &str,
        env: RawEnvironment,
        retention_days: u32,
    ) -> Option<S3Storage> {
        self.store_keys_elsewhere(&env, "s3");
        if let Some(path) = &env.path {
            self.problem(
                &path.referenced,
                "spec.key-not-applicable",
                "'path' applies only to storage: local (use 'prefix' in a bucket)".into(),
            );
        }
        let provider = match &env.provider {
            None => Provider::Aws,
            Some(raw) => match Provider::parse(&raw.value) {
                Some(provider) => provider,
                None => {
                    self.problem(
                        &raw.referenced,
                        "spec.provider",
                        format!(
                            "provider '{}' is not one of: {}",
                            raw.value,
                            Provider::NAMES.join(", ")
                        ),
                    );
                    return None;
                }
            },
        };
        let caps = provider.capabilities();
        let endpoint = self.endpoint(env.endpoint.as_ref(), provider, &env.storage.referenced);
        let region = self.region(env.region.as_ref(), provider, &env.storage.referenced);
        let bucket = self.bucket(env.bucket.as_ref(), &env.storage.referenced);
        let prefix = self.prefix(env.prefix.as_ref());
        let versioning = env.versioning.as_ref().is_some_and(|v| v.value);
        if let (true, Some(raw)) = (versioning && !caps.versioning, &env.versioning) {
            self.problem(
                &raw.referenced,
                "provider.versioning",
                format!("provider {} does not support versioning", provider.name()),
            );
        }
        let noncurrent_days = env.noncurrent_days.as_ref().map(|raw| {
            if !versioning {
                self.problem(
                    &raw.referenced,
                    "lifecycle.noncurrent-needs-versioning",
                    "noncurrent_days applies only with versioning: true (an unversioned bucket has no noncurrent versions)".into(),
                );
            }
            self.days(Some(raw), 1, 1, "lifecycle.noncurrent-minimum", "noncurrent_days")
        });
        if versioning
            && noncurrent_days.is_none()
            && let Some(raw) = &env.versioning
        {
            self.warn(
                    &raw.referenced,
                    "versioning without noncurrent_days: expired traces stay as noncurrent versions and keep costing".into(),
                );
        }
        let transitions =
            self.transitions(env.transitions.as_ref(), provider, retention_days, &env);
        let (iam, app_user) = match env.iam.as_ref() {
            Some(raw) => self.identity(raw, provider),
            None => (None, None),
        };
        let admin_endpoint = self.admin_endpoint(env.admin_endpoint.as_ref(), provider);
        let inventory = match &env.inventory {
            Some(raw) => {
                let listed = super::inventory::Listed {
                    env: name,
                    bucket: bucket.as_deref(),
                    prefix_dir: prefix.as_ref().map(Prefix::dir),
                };
                Some(self.inventory(raw, &listed)?)
            }
            None => None,
        };
        Some(S3Storage {
            provider,
            endpoint,
            region,
            bucket: bucket?,
            prefix: prefix?,
            versioning,
            noncurrent_days,
            transitions: transitions?,
            iam,
            app_user,
            admin_endpoint,
            inventory,
        })
    }

    fn endpoint(
        &mut self,
        raw: Option<&Spanned<String>>,
        provider: Provider,
        env_loc: &Location,
    ) -> Option<String> {
        let Some(raw) = raw else {
            if provider != Provider::Aws {
                self.problem(
                    env_loc,
                    "endpoint.required",
                    format!(
                        "provider {} needs an endpoint (e.g. https://minio.example.com)",
                        provider.name()
                    ),
                );
            }
            return None;
        };
        match check_endpoint(&raw.value) {
            Ok(normalised) => Some(normalised),
            Err((rule, message)) => {
                self.problem(&raw.referenced, rule, message);
                None
            }
        }
    }

    fn region(
        &mut self,
        raw: Option<&Spanned<String>>,
        provider: Provider,
        env_loc: &Location,
    ) -> String {
        match raw {
            None if provider == Provider::Aws => {
                self.problem(
                    env_loc,
                    "region.required",
                    "an aws environment needs a region (e.g. us-east-1)".into(),
                );
                String::new()
            }
            None => "us-east-1".to_string(),
            Some(raw) => {
                let valid = !raw.value.is_empty()
                    && raw
                        .value
                        .chars()
                        .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
                if !valid {
                    self.problem(
                        &raw.referenced,
                        "region.format",
                        format!("region '{}' must be lowercase letters, digits and '-' (e.g. eu-west-1)", raw.value),
                    );
                }
                raw.value.clone()
            }
        }
    }

    fn bucket(&mut self, raw: Option<&Spanned<String>>, env_loc: &Location) -> Option<String> {
        let Some(raw) = raw else {
            self.problem(
                env_loc,
                "bucket.required",
                "an s3 environment needs a bucket".into(),
            );
            return None;
        };
        if let Err((rule, message)) = names::check_bucket(&raw.value) {
            self.problem(&raw.referenced, rule, message);
            return None;
        }
        if raw.value.contains('.') {
            self.warn(
                &raw.referenced,
                format!("bucket name '{}' holds dots: virtual-hosted TLS certificates will not match it", raw.value),
            );
        }
        Some(raw.value.clone())
    }

    fn prefix(&mut self, raw: Option<&Spanned<String>>) -> Option<Prefix> {
        let Some(raw) = raw else {
            return Prefix::parse(DEFAULT_PREFIX);
        };
        let Some(prefix) = Prefix::parse(&raw.value) else {
            self.problem(
                &raw.referenced,
                "prefix.empty",
                "prefix must not be empty: lifecycle rules, IAM policies and purges are all scoped to it".into(),
            );
            return None;
        };
        let bad_segment = prefix
            .as_str()
            .split('/')
            .find(|s| s.is_empty() || *s == "." || *s == "..");
        let bad_char = prefix
            .as_str()
            .chars()
            .find(|c| c.is_control() || "*?\\{}^%`[]\"<>~#|".contains(*c));
        if bad_segment.is_some() || bad_char.is_some() {
            self.problem(
                &raw.referenced,
                "prefix.format",
                format!("prefix '{}' must be plain path segments (no '//', '.', '..' or wildcard characters)", raw.value),
            );
            return None;
        }
        Some(prefix)
    }

    fn transitions(
        &mut self,
        raw: Option<&Spanned<Vec<Spanned<RawTransition>>>>,
        provider: Provider,
        retention_days: u32,
        env: &RawEnvironment,
    ) -> Option<Vec<Transition>> {
        let Some(raw) = raw else {
            return Some(Vec::new());
        };
        if !raw.value.is_empty() && !provider.capabilities().storage_class_transitions {
            self.problem(
                &raw.referenced,
                "provider.transitions",
                format!(
                    "provider {} cannot transition to AWS storage classes (MinIO uses named remote tiers); remove 'transitions'",
                    provider.name()
                ),
            );
            return None;
        }
        let mut transitions = Vec::new();
        for item in &raw.value {
            let t: &RawTransition = &item.value;
            let class = StorageClass::parse(&t.storage_class.value);
            if class.is_none() {
                let names: Vec<&str> = StorageClass::ALL.iter().map(|c| c.name()).collect();
                self.problem(
                    &t.storage_class.referenced,
                    "lifecycle.storage-class",
                    format!(
                        "storage_class '{}' is not one of: {}",
                        t.storage_class.value,
                        names.join(", ")
                    ),
                );
            }
            if !(0..=36_500).contains(&t.days.value) {
                self.problem(
                    &t.days.referenced,
                    "lifecycle.transition-days",
                    format!(
                        "transition days must be between 0 and 36500, got {}",
                        t.days.value
                    ),
                );
            }
            let days = u32::try_from(t.days.value).ok();
            if let (Some(storage_class), Some(days)) = (class, days) {
                transitions.push(Transition {
                    days,
                    storage_class,
                });
            }
        }
        if transitions.len() != raw.value.len() {
            return None;
        }
        let problems = lifecycle::check(&transitions, retention_days);
        for p in &problems {
            let loc = match p.culprit {
                Culprit::TransitionDays(i) => raw.value[i].value.days.referenced,
                Culprit::TransitionClass(i) => raw.value[i].value.storage_class.referenced,
                Culprit::RetentionDays => env
                    .retention_days
                    .as_ref()
                    .map_or(raw.referenced, |r| r.referenced),
            };
            self.problem(&loc, p.rule, p.message.clone());
        }
        for warning in lifecycle::cost_warnings(&transitions, retention_days) {
            self.warn(&raw.referenced, warning);
        }
        problems.is_empty().then_some(transitions)
    }
}
