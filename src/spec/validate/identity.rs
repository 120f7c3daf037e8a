//! The app's identity in an `s3` environment (`iam:`): an AWS role with its
//! managed policy, or a user of a self-hosted store with its policy, as the
//! provider's capability row allows; and Garage's `admin_endpoint:`.

use serde_saphyr::Spanned;

use super::Checker;
use super::values::check_endpoint;
use crate::spec::names;
use crate::spec::raw::RawIam;
use crate::spec::{AppIdentity, AppUser, Iam, Provider};

impl Checker<'_> {
    /// The AWS role (`aws`) or the app's user (`seaweedfs`, `garage`).
    pub(super) fn identity(
        &mut self,
        raw: &Spanned<RawIam>,
        provider: Provider,
    ) -> (Option<Iam>, Option<AppUser>) {
        match provider.capabilities().app_identity {
            AppIdentity::AwsRole => (self.role(raw), None),
            AppIdentity::IamUser | AppIdentity::GarageKey | AppIdentity::MinioUser => {
                (None, self.app_user(raw, provider))
            }
            AppIdentity::None => {
                self.problem(
                    &raw.referenced,
                    "provider.iam",
                    format!(
                        "provider {} has no identity the tool can provision; remove 'iam'",
                        provider.name()
                    ),
                );
                (None, None)
            }
        }
    }

    fn role(&mut self, raw: &Spanned<RawIam>) -> Option<Iam> {
        let iam = &raw.value;
        let before = self.problems.len();
        if let Some(user) = &iam.user {
            self.problem(
                &user.referenced,
                "spec.key-not-applicable",
                "'iam.user' applies to self-hosted providers (seaweedfs, garage); on aws the app runs as 'role'".into(),
            );
        }
        let Some(role) = &iam.role else {
            self.problem(
                &raw.referenced,
                "iam.role-required",
                "an aws 'iam' section needs 'role' (the app's role)".into(),
            );
            return None;
        };
        self.not_on_s3(raw);
        let policy = self.required_policy(raw)?;
        self.name_check(role, |n| names::check_iam_name("role", n, 64));
        if let Some(profile) = &iam.instance_profile {
            self.name_check(profile, |n| {
                names::check_iam_name("instance profile", n, 128)
            });
        }
        if let Some(service) = &iam.trusted_service {
            self.name_check(service, names::check_service_principal);
        }
        (self.problems.len() == before).then(|| Iam {
            policy,
            role: role.value.clone(),
            trusted_service: iam
                .trusted_service
                .as_ref()
                .map_or_else(|| "ec2.amazonaws.com".to_string(), |s| s.value.clone()),
            instance_profile: iam.instance_profile.as_ref().map(|p| p.value.clone()),
        })
    }

    fn app_user(&mut self, raw: &Spanned<RawIam>, provider: Provider) -> Option<AppUser> {
        let iam = &raw.value;
        let before = self.problems.len();
        let aws_only = [
            ("role", iam.role.as_ref().map(|r| r.referenced)),
            (
                "trusted_service",
                iam.trusted_service.as_ref().map(|r| r.referenced),
            ),
            (
                "instance_profile",
                iam.instance_profile.as_ref().map(|r| r.referenced),
            ),
        ];
        for (key, at) in aws_only {
            if let Some(at) = at {
                self.problem(
                    &at,
                    "spec.key-not-applicable",
                    format!(
                        "'iam.{key}' applies to aws only; on {} the app runs as 'iam.user'",
                        provider.name()
                    ),
                );
            }
        }
        let Some(user) = &iam.user else {
            self.problem(
                &raw.referenced,
                "iam.user-required",
                format!(
                    "on {} 'iam' names the app's user: add 'user' (e.g. user: chronotrace-app)",
                    provider.name()
                ),
            );
            return None;
        };
        self.name_check(user, |n| names::check_iam_name("user", n, 64));
        self.not_on_s3(raw);
        let policy = self.required_policy(raw)?;
        (self.problems.len() == before).then(|| AppUser {
            user: user.value.clone(),
            policy,
        })
    }

    /// `iam.policy`, which a bucket's identity needs, checked.
    fn required_policy(&mut self, raw: &Spanned<RawIam>) -> Option<String> {
        let Some(policy) = &raw.value.policy else {
            self.problem(
                &raw.referenced,
                "iam.policy-required",
                "an s3 'iam' section needs 'policy' (the app's policy name)".into(),
            );
            return None;
        };
        self.name_check(policy, |n| names::check_iam_name("policy", n, 64));
        Some(policy.value.clone())
    }

    /// `iam.service_account` is GCS's.
    fn not_on_s3(&mut self, raw: &Spanned<RawIam>) {
        if let Some(account) = &raw.value.service_account {
            self.problem(
                &account.referenced,
                "spec.key-not-applicable",
                "'iam.service_account' applies to storage: gcs only".into(),
            );
        }
    }

    /// `admin_endpoint:` (garage only), normalised.
    pub(super) fn admin_endpoint(
        &mut self,
        raw: Option<&Spanned<String>>,
        provider: Provider,
    ) -> Option<String> {
        let raw = raw?;
        if provider != Provider::Garage {
            self.problem(
                &raw.referenced,
                "spec.key-not-applicable",
                "'admin_endpoint' applies to provider garage only".into(),
            );
            return None;
        }
        match check_endpoint(&raw.value) {
            Ok(normalised) => Some(normalised),
            Err((rule, message)) => {
                self.problem(&raw.referenced, rule, message);
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::spec::{AppUser, Spec, Storage};

    fn env(provider: &str, extra: &str) -> String {
        format!(
            "project: p\nenvironments:\n  e:\n    storage: s3\n    provider: {provider}\n    endpoint: http://127.0.0.1:3900\n    bucket: b-e\n{extra}"
        )
    }

    /// The rule ids of a spec that fails.
    fn rules(text: &str) -> Vec<&'static str> {
        match Spec::parse(text, "t.yaml") {
            Err(Error::Spec(problems)) => problems.iter().map(|p| p.rule).collect(),
            other => panic!("expected spec problems, got {other:?}"),
        }
    }

    #[test]
    fn self_hosted_providers_name_the_apps_user() {
        for provider in ["seaweedfs", "garage"] {
            let spec = Spec::parse(
                &env(
                    provider,
                    "    iam: {user: chronotrace-app, policy: chronotrace-traces}\n",
                ),
                "t.yaml",
            )
            .expect("valid");
            let Storage::S3(s3) = &spec.environment("e").expect("env").storage else {
                panic!("s3");
            };
            assert!(s3.iam.is_none());
            assert_eq!(
                s3.app_user,
                Some(AppUser {
                    user: "chronotrace-app".into(),
                    policy: "chronotrace-traces".into()
                })
            );
        }
    }

    #[test]
    fn each_provider_refuses_the_other_shape() {
        assert_eq!(
            rules(&env("seaweedfs", "    iam: {policy: p}\n")),
            ["iam.user-required"]
        );
        assert_eq!(
            rules(&env("garage", "    iam: {user: u, policy: p, role: r}\n")),
            ["spec.key-not-applicable"]
        );
        assert_eq!(
            rules(&env("s3-compatible", "    iam: {user: u, policy: p}\n")),
            ["provider.iam"]
        );
        assert_eq!(
            rules(&env(
                "seaweedfs",
                "    admin_endpoint: http://127.0.0.1:3903\n"
            )),
            ["spec.key-not-applicable"]
        );
        let aws = "project: p\nenvironments:\n  e:\n    storage: s3\n    region: us-east-1\n    bucket: b-e\n    iam: {user: u, policy: p}\n";
        assert_eq!(rules(aws), ["spec.key-not-applicable", "iam.role-required"]);
    }
}
