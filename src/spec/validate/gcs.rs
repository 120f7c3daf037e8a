//! A `gcs` environment: bucket (GCS naming rules), prefix, endpoint,
//! project, location, versioning, soft delete and the app's service
//! account, every one checked before any call.

use serde_saphyr::Spanned;

use super::values::check_endpoint;
use super::{Checker, DEFAULT_PREFIX};
use crate::spec::raw::{RawEnvironment, RawIam};
use crate::spec::{GcsStorage, Prefix};

impl Checker<'_> {
    pub(super) fn gcs(&mut self, env: RawEnvironment) -> Option<GcsStorage> {
        self.store_keys_elsewhere(&env, "gcs");
        let s3_only = [
            ("provider", env.provider.as_ref().map(|v| v.referenced)),
            ("region", env.region.as_ref().map(|v| v.referenced)),
            (
                "noncurrent_days",
                env.noncurrent_days.as_ref().map(|v| v.referenced),
            ),
            (
                "transitions",
                env.transitions.as_ref().map(|v| v.referenced),
            ),
            ("inventory", env.inventory.as_ref().map(|v| v.referenced)),
            (
                "admin_endpoint",
                env.admin_endpoint.as_ref().map(|v| v.referenced),
            ),
            ("path", env.path.as_ref().map(|v| v.referenced)),
        ];
        self.not_applicable(s3_only, |key| {
            let hint = if key == "region" {
                " (use location)"
            } else {
                ""
            };
            format!("'{key}' does not apply to storage: gcs{hint}")
        });
        let before = self.problems.len();
        let bucket = match &env.bucket {
            Some(raw) => {
                if let Err(message) = check_gcs_bucket(&raw.value) {
                    self.problem(&raw.referenced, "gcs.bucket-name", message);
                }
                raw.value.clone()
            }
            None => {
                self.problem(
                    &env.storage.referenced,
                    "gcs.bucket-required",
                    "storage: gcs needs a bucket".into(),
                );
                String::new()
            }
        };
        let prefix = match &env.prefix {
            None => Prefix::parse(DEFAULT_PREFIX),
            Some(raw) => {
                let parsed = Prefix::parse(&raw.value)
                    .filter(|_| !raw.value.chars().any(char::is_control))
                    .filter(|p| !p.dir().split('/').any(|part| part == "." || part == ".."));
                if parsed.is_none() {
                    self.problem(
                        &raw.referenced,
                        "gcs.prefix",
                        format!(
                            "prefix '{}' must name a folder: not empty, no '.' or '..' parts, no control characters",
                            raw.value.escape_debug()
                        ),
                    );
                }
                parsed
            }
        };
        let endpoint = env
            .endpoint
            .as_ref()
            .and_then(|raw| match check_endpoint(&raw.value) {
                Ok(url) => Some(url),
                Err((rule, message)) => {
                    self.problem(&raw.referenced, rule, message);
                    None
                }
            });
        let project = env.project.as_ref().map(|raw| {
            if !is_project_id(&raw.value) {
                self.problem(
                    &raw.referenced,
                    "gcs.project",
                    format!("project '{}' is not a project id (6 to 30 lowercase letters, digits and '-', starting with a letter)", raw.value),
                );
            }
            raw.value.clone()
        });
        let location = env.location.as_ref().map(|raw| {
            let ok = !raw.value.is_empty()
                && raw
                    .value
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-');
            if !ok {
                self.problem(
                    &raw.referenced,
                    "gcs.location",
                    format!(
                        "location '{}' is not a GCS location (e.g. europe-west1, EU, US)",
                        raw.value
                    ),
                );
            }
            raw.value.to_ascii_uppercase()
        });
        let soft_delete_days = env.soft_delete_days.as_ref().map(|raw| {
            if raw.value != 0 && !(7..=90).contains(&raw.value) {
                self.problem(
                    &raw.referenced,
                    "gcs.soft-delete-days",
                    format!(
                        "soft_delete_days must be 0 (off) or 7 to 90, got {}",
                        raw.value
                    ),
                );
            }
            u32::try_from(raw.value).unwrap_or(0)
        });
        let service_account = env.iam.as_ref().and_then(|raw| self.gcs_iam(raw));
        (self.problems.len() == before).then_some(GcsStorage {
            endpoint,
            bucket,
            prefix: prefix?,
            project,
            location,
            versioning: env.versioning.is_some_and(|v| v.value),
            soft_delete_days,
            service_account,
        })
    }

    /// `iam: {service_account: EMAIL}`, and nothing of the other stores.
    fn gcs_iam(&mut self, raw: &Spanned<RawIam>) -> Option<String> {
        let iam = &raw.value;
        let others = [
            ("policy", iam.policy.as_ref().map(|v| v.referenced)),
            ("role", iam.role.as_ref().map(|v| v.referenced)),
            ("user", iam.user.as_ref().map(|v| v.referenced)),
            (
                "trusted_service",
                iam.trusted_service.as_ref().map(|v| v.referenced),
            ),
            (
                "instance_profile",
                iam.instance_profile.as_ref().map(|v| v.referenced),
            ),
        ];
        self.not_applicable(others, |key| {
            format!("'iam.{key}' does not apply to storage: gcs (the app is 'iam.service_account')")
        });
        let Some(account) = &iam.service_account else {
            self.problem(
                &raw.referenced,
                "gcs.service-account",
                "a gcs 'iam' section names the app's service account: add 'service_account' (NAME@PROJECT.iam.gserviceaccount.com)".into(),
            );
            return None;
        };
        if !is_service_account(&account.value) {
            self.problem(
                &account.referenced,
                "gcs.service-account",
                format!(
                    "service_account '{}' is not a service account's e-mail (NAME@PROJECT.iam.gserviceaccount.com)",
                    account.value
                ),
            );
            return None;
        }
        Some(account.value.clone())
    }
}

/// GCS bucket naming rules (names without dots): 3 to 63 lowercase
/// letters, digits, '-' and '_', starting and ending with a letter or
/// digit; not starting with "goog", not containing "google" (nor a
/// look-alike), not an IP address.
pub(crate) fn check_gcs_bucket(name: &str) -> Result<(), String> {
    let allowed = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || "-_.".contains(c);
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    let why = if !(3..=63).contains(&name.len()) {
        "must be 3 to 63 characters long"
    } else if !name.chars().all(allowed) {
        "may hold only lowercase letters, digits, '-', '_' and '.'"
    } else if !edge(name.chars().next()) || !edge(name.chars().last()) {
        "must start and end with a letter or digit"
    } else if name.starts_with("goog") || name.contains("google") || name.contains("g00gle") {
        "must not start with 'goog' nor contain 'google'"
    } else if name.parse::<std::net::Ipv4Addr>().is_ok() {
        "must not be an IP address"
    } else {
        return Ok(());
    };
    Err(format!("bucket name '{name}' {why} (GCS naming rules)"))
}

/// A Google Cloud project id.
fn is_project_id(id: &str) -> bool {
    (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase())
        && !id.ends_with('-')
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// A service account's e-mail: a 6 to 30 character account id at a
/// `gserviceaccount.com` domain.
fn is_service_account(email: &str) -> bool {
    let Some((id, domain)) = email.split_once('@') else {
        return false;
    };
    let id_ok = (6..=30).contains(&id.len())
        && id.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    let domain_ok = domain.ends_with(".gserviceaccount.com")
        && domain
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.');
    id_ok && domain_ok
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn gcs_bucket_names_follow_gcs_rules() {
        for good in ["ct-traces", "my_bucket_1", "a.b.c"] {
            assert_eq!(check_gcs_bucket(good), Ok(()), "{good}");
        }
        for bad in [
            "ab",
            "Traces",
            "-x-y",
            "x-y-",
            "google-traces",
            "goog1",
            "10.0.0.1",
            "a b",
        ] {
            assert!(check_gcs_bucket(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn service_accounts_and_projects_are_checked() {
        assert!(is_service_account(
            "chronotrace-storage@my-project.iam.gserviceaccount.com"
        ));
        assert!(is_service_account(
            "123456789-compute@developer.gserviceaccount.com"
        ));
        assert!(!is_service_account("someone@example.com"));
        assert!(!is_service_account("ab@p.iam.gserviceaccount.com"));
        assert!(is_project_id("my-project-1"));
        assert!(!is_project_id("1project"));
        assert!(!is_project_id("short"));
    }
}
