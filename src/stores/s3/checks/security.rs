//! Security posture, by AWS Security Hub's S3 controls: public access block
//! (S3.8), no anonymous access by policy or ACL (S3.2/S3.3, `mc
//! anonymous`), TLS-only policy
//! (S3.5), default encryption, ACLs disabled by BucketOwnerEnforced (S3.12).
//! Anonymous access and a missing public access block fail; a missing
//! TLS-only policy, encryption or ownership setting warns; whatever the
//! store does not implement is a skip with the reason.

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::types::{Grant, ObjectOwnership, PublicAccessBlockConfiguration};

use super::policy::{self, PolicyFacts};
use crate::check::CheckResult;
use crate::spec::S3Storage;
use crate::stores::s3::Clients;
use crate::stores::s3::errors::{api_error, is_not_implemented};

const PAB: &str = "security.public-access-block";
const ANONYMOUS: &str = "security.anonymous-access";
const TLS_ONLY: &str = "security.tls-only";
const ENCRYPTION: &str = "security.encryption";
const OWNERSHIP: &str = "security.ownership";
const APPLY_HINT: &str = "run `chronotrace-ops apply` to set it";

/// The ids of the security checks, in report order.
pub const IDS: [&str; 5] = [PAB, ANONYMOUS, TLS_ONLY, ENCRYPTION, OWNERSHIP];

/// What one read of a bucket setting gave.
enum Fetched<T> {
    Found(T),
    /// The bucket has no such configuration.
    Absent,
    /// The store does not implement the call: the reason for the skip.
    Missing(String),
    Failed(CheckResult),
}

impl<T> Fetched<T> {
    fn map<U>(self, f: impl FnOnce(T) -> U) -> Fetched<U> {
        match self {
            Fetched::Found(value) => Fetched::Found(f(value)),
            Fetched::Absent => Fetched::Absent,
            Fetched::Missing(why) => Fetched::Missing(why),
            Fetched::Failed(result) => Fetched::Failed(result),
        }
    }
}

/// Sorts the answer to one read: found, absent, not implemented, failed.
fn fetched<T, E, R>(
    id: &str,
    answer: Result<T, SdkError<E, R>>,
    absent: &str,
    action: &str,
    clients: &Clients,
    bucket: &str,
) -> Fetched<T>
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + crate::stores::s3::errors::RawStatus,
{
    match answer {
        Ok(value) => Fetched::Found(value),
        Err(e) if e.code() == Some(absent) => Fetched::Absent,
        Err(e) if is_not_implemented(&e) => Fetched::Missing(format!(
            "{} does not implement {action}",
            clients.target.endpoint_label()
        )),
        Err(e) => Fetched::Failed(CheckResult::from_error(
            id,
            &api_error(e, action, bucket, &clients.target),
        )),
    }
}

/// Reads every setting at once and judges each.
pub async fn check(clients: &Clients, s3: &S3Storage) -> Vec<CheckResult> {
    let (pab, policy, acl, encryption, ownership) = tokio::join!(
        public_access_block(clients, s3),
        bucket_policy(clients, s3),
        acl(clients, s3),
        encryption(clients, s3),
        ownership(clients, s3),
    );
    let (anonymous, tls) = judge_policy(policy, acl);
    vec![pab, anonymous, tls, encryption, ownership]
}

async fn public_access_block(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let provider = clients.target.provider;
    if !provider.capabilities().public_access_block {
        return CheckResult::skip(
            PAB,
            format!(
                "provider {} has no public access block: anonymous access is checked from the bucket policy",
                provider.name()
            ),
        );
    }
    let answer = clients
        .s3
        .get_public_access_block()
        .bucket(&s3.bucket)
        .send()
        .await;
    match fetched(
        PAB,
        answer,
        "NoSuchPublicAccessBlockConfiguration",
        "GetPublicAccessBlock",
        clients,
        &s3.bucket,
    ) {
        Fetched::Found(out) => judge_pab(out.public_access_block_configuration()),
        Fetched::Absent => judge_pab(None),
        Fetched::Missing(why) => CheckResult::skip(PAB, why),
        Fetched::Failed(result) => result,
    }
}

/// All four settings on, or a failure naming those that are off.
fn judge_pab(config: Option<&PublicAccessBlockConfiguration>) -> CheckResult {
    let Some(c) = config else {
        return CheckResult::fail(PAB, "no public access block on the bucket")
            .with_hint(APPLY_HINT);
    };
    let flags = [
        ("BlockPublicAcls", c.block_public_acls()),
        ("IgnorePublicAcls", c.ignore_public_acls()),
        ("BlockPublicPolicy", c.block_public_policy()),
        ("RestrictPublicBuckets", c.restrict_public_buckets()),
    ];
    let off: Vec<&str> = flags
        .iter()
        .filter(|(_, on)| *on != Some(true))
        .map(|(n, _)| *n)
        .collect();
    if off.is_empty() {
        CheckResult::pass(PAB, "all four public access block settings are on")
    } else {
        CheckResult::fail(
            PAB,
            format!("public access block incomplete: {} off", off.join(", ")),
        )
        .with_hint(APPLY_HINT)
    }
}

async fn bucket_policy(clients: &Clients, s3: &S3Storage) -> Fetched<Result<PolicyFacts, String>> {
    let answer = clients
        .s3
        .get_bucket_policy()
        .bucket(&s3.bucket)
        .send()
        .await;
    let absent = "NoSuchBucketPolicy";
    fetched(
        ANONYMOUS,
        answer,
        absent,
        "GetBucketPolicy",
        clients,
        &s3.bucket,
    )
    .map(|out| policy::analyse(out.policy().unwrap_or("{}"), &s3.bucket))
}

async fn acl(clients: &Clients, s3: &S3Storage) -> Fetched<Vec<Grant>> {
    let answer = clients.s3.get_bucket_acl().bucket(&s3.bucket).send().await;
    // A bucket always has an ACL: no "absent" code.
    fetched(ANONYMOUS, answer, "", "GetBucketAcl", clients, &s3.bucket)
        .map(|out| out.grants().to_vec())
}

/// The anonymous-access and TLS-only verdicts from the policy and the ACL.
fn judge_policy(
    policy: Fetched<Result<PolicyFacts, String>>,
    acl: Fetched<Vec<Grant>>,
) -> (CheckResult, CheckResult) {
    let acl_public = match &acl {
        Fetched::Found(grants) => policy::public_grants(grants),
        _ => Vec::new(),
    };
    match policy {
        Fetched::Found(Ok(facts)) => (judge_anonymous(&facts, &acl_public), judge_tls(&facts)),
        Fetched::Found(Err(why)) => (
            CheckResult::fail(ANONYMOUS, why.clone()),
            CheckResult::fail(TLS_ONLY, why),
        ),
        Fetched::Absent => (
            judge_anonymous(&PolicyFacts::default(), &acl_public),
            judge_tls(&PolicyFacts::default()),
        ),
        Fetched::Missing(why) => {
            let anonymous = match acl {
                Fetched::Found(_) => judge_anonymous(&PolicyFacts::default(), &acl_public),
                _ => CheckResult::skip(ANONYMOUS, why.clone()),
            };
            (anonymous, CheckResult::skip(TLS_ONLY, why))
        }
        Fetched::Failed(result) => (
            result.clone(),
            CheckResult {
                id: TLS_ONLY.into(),
                ..result
            },
        ),
    }
}

fn judge_anonymous(facts: &PolicyFacts, acl_public: &[String]) -> CheckResult {
    let hint = "remove the anonymous statements from the bucket policy (on MinIO: `mc anonymous set none ALIAS/BUCKET`) and the public ACL grants";
    if !facts.public.is_empty() || !acl_public.is_empty() {
        let mut what: Vec<String> = facts.public.iter().map(|s| format!("policy {s}")).collect();
        what.extend(acl_public.iter().map(|g| format!("ACL {g}")));
        return CheckResult::fail(
            ANONYMOUS,
            format!("anyone on the internet has access: {}", what.join("; ")),
        )
        .with_hint(hint);
    }
    if !facts.conditional.is_empty() {
        return CheckResult::warn(
            ANONYMOUS,
            format!(
                "anonymous access under conditions: {}",
                facts.conditional.join("; ")
            ),
        )
        .with_hint(hint);
    }
    CheckResult::pass(ANONYMOUS, "no anonymous access by policy or ACL")
}

fn judge_tls(facts: &PolicyFacts) -> CheckResult {
    if facts.tls_only {
        CheckResult::pass(TLS_ONLY, "the bucket policy denies requests without TLS")
    } else {
        CheckResult::warn(
            TLS_ONLY,
            "no TLS-only policy (Deny s3:* when aws:SecureTransport is false)",
        )
        .with_hint(APPLY_HINT)
    }
}

/// Default encryption where the provider honours it; where its capability
/// row says it breaks the store, a rule in place is a failure.
async fn encryption(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let judged = default_encryption(clients, s3).await;
    let Some(why) = clients.target.provider.capabilities().default_encryption else {
        return judged;
    };
    if judged.status == crate::check::Status::Pass {
        CheckResult::fail(ENCRYPTION, format!("{}: {why}", judged.message)).with_hint(format!(
            "remove it: aws s3api delete-bucket-encryption --bucket {} (with --endpoint-url)",
            s3.bucket
        ))
    } else {
        CheckResult::skip(ENCRYPTION, why)
    }
}

async fn default_encryption(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let answer = clients
        .s3
        .get_bucket_encryption()
        .bucket(&s3.bucket)
        .send()
        .await;
    let absent = "ServerSideEncryptionConfigurationNotFoundError";
    match fetched(
        ENCRYPTION,
        answer,
        absent,
        "GetBucketEncryption",
        clients,
        &s3.bucket,
    ) {
        Fetched::Found(out) => {
            let algorithms: Vec<&str> = out
                .server_side_encryption_configuration()
                .map(|c| c.rules())
                .unwrap_or_default()
                .iter()
                .filter_map(|r| r.apply_server_side_encryption_by_default())
                .map(|d| d.sse_algorithm().as_str())
                .collect();
            if algorithms.is_empty() {
                CheckResult::warn(ENCRYPTION, "no default encryption rule").with_hint(APPLY_HINT)
            } else {
                CheckResult::pass(
                    ENCRYPTION,
                    format!("default encryption {}", algorithms.join(", ")),
                )
            }
        }
        Fetched::Absent => {
            CheckResult::warn(ENCRYPTION, "no default encryption configured").with_hint(APPLY_HINT)
        }
        Fetched::Missing(why) => CheckResult::skip(ENCRYPTION, why),
        Fetched::Failed(result) => result,
    }
}

async fn ownership(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let answer = clients
        .s3
        .get_bucket_ownership_controls()
        .bucket(&s3.bucket)
        .send()
        .await;
    let absent = "OwnershipControlsNotFoundError";
    match fetched(
        OWNERSHIP,
        answer,
        absent,
        "GetBucketOwnershipControls",
        clients,
        &s3.bucket,
    ) {
        Fetched::Found(out) => {
            let enforced = out.ownership_controls().is_some_and(|c| {
                c.rules()
                    .iter()
                    .any(|r| *r.object_ownership() == ObjectOwnership::BucketOwnerEnforced)
            });
            if enforced {
                CheckResult::pass(OWNERSHIP, "ACLs disabled (BucketOwnerEnforced)")
            } else {
                CheckResult::warn(
                    OWNERSHIP,
                    "ACLs are enabled: object ownership is not BucketOwnerEnforced",
                )
                .with_hint(APPLY_HINT)
            }
        }
        Fetched::Absent => CheckResult::warn(OWNERSHIP, "no ownership controls: ACLs are enabled")
            .with_hint(APPLY_HINT),
        Fetched::Missing(why) => CheckResult::skip(OWNERSHIP, why),
        Fetched::Failed(result) => result,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn public_access_block_needs_all_four() {
        assert_eq!(judge_pab(None).status, Status::Fail);
        let all = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(true)
            .build();
        assert_eq!(judge_pab(Some(&all)).status, Status::Pass);
        let partial = PublicAccessBlockConfiguration::builder()
            .block_public_acls(true)
            .ignore_public_acls(true)
            .block_public_policy(true)
            .restrict_public_buckets(false)
            .build();
        let result = judge_pab(Some(&partial));
        assert_eq!(result.status, Status::Fail);
        assert!(
            result.message.contains("RestrictPublicBuckets"),
            "{}",
            result.message
        );
    }

    #[test]
    fn anonymous_access_fails_and_conditions_warn() {
        let public = PolicyFacts {
            public: vec!["s: s3:GetObject".into()],
            ..PolicyFacts::default()
        };
        let conditional = PolicyFacts {
            conditional: vec!["c".into()],
            ..PolicyFacts::default()
        };
        let cases = [
            (PolicyFacts::default(), vec![], Status::Pass),
            (public, vec![], Status::Fail),
            (
                PolicyFacts::default(),
                vec!["AllUsers: READ".to_string()],
                Status::Fail,
            ),
            (conditional, vec![], Status::Warn),
        ];
        for (facts, acl, status) in cases {
            assert_eq!(
                judge_anonymous(&facts, &acl).status,
                status,
                "{facts:?} {acl:?}"
            );
        }
    }

    #[test]
    fn a_store_without_policies_skips_tls_only() {
        let (anonymous, tls) = judge_policy(Fetched::Missing("no".into()), Fetched::Found(vec![]));
        assert_eq!((anonymous.status, tls.status), (Status::Pass, Status::Skip));
        let (anonymous, _) =
            judge_policy(Fetched::Missing("no".into()), Fetched::Missing("no".into()));
        assert_eq!(anonymous.status, Status::Skip);
    }
}
