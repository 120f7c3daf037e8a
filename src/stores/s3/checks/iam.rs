//! IAM policy simulation (spec with `iam`): SimulatePrincipalPolicy for the
//! app's role over exactly what it needs (allowed) and what it must not
//! have (denied). The role ARN is derived from the caller's identity
//! (SimulatePrincipalPolicy rejects assumed-role ARNs). Emulators that lack
//! the call give a skip with the reason.

use aws_sdk_iam::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_iam::types::{ContextEntry, ContextKeyTypeEnum, PolicyEvaluationDecisionType};
use futures::future::join_all;

use super::identity;
use crate::check::CheckResult;
use crate::spec::{Iam, S3Storage};
use crate::stores::s3::Clients;
use crate::stores::s3::errors::api_error;

const ID: &str = "iam.simulate";

/// One simulated request and the decision it must get.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Case {
    pub action: &'static str,
    pub resource: String,
    /// The `s3:prefix` a ListBucket asks for.
    pub list_prefix: Option<String>,
    pub allowed: bool,
}

/// The requests to simulate: the app's own, then others it must not make.
pub fn cases(partition: &str, s3: &S3Storage) -> Vec<Case> {
    let bucket_arn = format!("arn:{partition}:s3:::{}", s3.bucket);
    let dir = s3.prefix.dir();
    let object = format!(
        "{bucket_arn}/{}2026-01-01/probe.zip",
        s3.prefix.traces_dir()
    );
    let foreign = format!("{bucket_arn}/not-{dir}probe.zip");
    let case = |action, resource: &str, list_prefix: Option<&str>, allowed| Case {
        action,
        resource: resource.to_string(),
        list_prefix: list_prefix.map(str::to_string),
        allowed,
    };
    vec![
        case("s3:ListBucket", &bucket_arn, Some(&dir), true),
        case("s3:GetObject", &object, None, true),
        case("s3:PutObject", &object, None, true),
        case("s3:DeleteObject", &object, None, true),
        case("s3:ListBucket", &bucket_arn, Some(""), false),
        case("s3:GetObject", &foreign, None, false),
        case("s3:PutObject", &foreign, None, false),
        case("s3:DeleteBucket", &bucket_arn, None, false),
    ]
}

/// `arn:P:iam::A:role/R` from any ARN of account A in partition P.
pub fn role_arn(caller_arn: &str, role: &str) -> Option<String> {
    let mut parts = caller_arn.splitn(6, ':');
    let (Some("arn"), Some(partition), _, _, Some(account)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    (!partition.is_empty() && !account.is_empty())
        .then(|| format!("arn:{partition}:iam::{account}:role/{role}"))
}

/// The role behind an assumed-role identity
/// (`arn:P:sts::A:assumed-role/R/session` → `arn:P:iam::A:role/R`).
pub fn assumed_role(caller_arn: &str) -> Option<String> {
    let resource = caller_arn.splitn(6, ':').nth(5)?;
    let role = resource.strip_prefix("assumed-role/")?.split('/').next()?;
    role_arn(caller_arn, role)
}

/// Runs the simulation for the spec's role.
pub async fn check(clients: &Clients, s3: &S3Storage, iam: &Iam) -> CheckResult {
    let caller = match identity::caller(clients).await {
        Ok(caller) => caller,
        Err(result) => {
            return CheckResult::skip(ID, format!("no caller identity: {}", result.message));
        }
    };
    // SimulatePrincipalPolicy rejects assumed-role ARNs: running as the app's
    // role (an instance profile), the role ARN is derived from the session;
    // otherwise it is the spec's role in the caller's account and partition.
    let own = assumed_role(&caller.arn).filter(|arn| arn.ends_with(&format!("/{}", iam.role)));
    let Some(role) = own.or_else(|| role_arn(&caller.arn, &iam.role)) else {
        return CheckResult::fail(
            ID,
            format!("cannot derive the role ARN from {}", caller.arn),
        );
    };
    let partition = caller.arn.split(':').nth(1).unwrap_or("aws");
    let cases = cases(partition, s3);
    let answers = join_all(cases.iter().map(|case| simulate(clients, &role, case))).await;
    let mut wrong = Vec::new();
    for (case, answer) in cases.iter().zip(answers) {
        match answer {
            Ok(allowed) if allowed == case.allowed => {}
            Ok(allowed) => wrong.push(describe(case, allowed)),
            Err(result) => return result,
        }
    }
    if wrong.is_empty() {
        CheckResult::pass(
            ID,
            format!(
                "{role}: the app's {} requests allowed, {} others denied",
                4,
                cases.len() - 4
            ),
        )
    } else {
        CheckResult::fail(ID, format!("{role}: {}", wrong.join("; ")))
            .with_hint("run `chronotrace-ops apply` to put the least-privilege policy in place")
    }
}

fn describe(case: &Case, allowed: bool) -> String {
    let on = match &case.list_prefix {
        Some(prefix) => format!("{} (prefix '{prefix}')", case.resource),
        None => case.resource.clone(),
    };
    if allowed {
        format!("{} on {on} is allowed but must not be", case.action)
    } else {
        format!("{} on {on} is denied but the app needs it", case.action)
    }
}

/// True when the simulated request is allowed.
async fn simulate(clients: &Clients, role: &str, case: &Case) -> Result<bool, CheckResult> {
    let mut request = clients
        .iam
        .simulate_principal_policy()
        .policy_source_arn(role)
        .action_names(case.action)
        .resource_arns(&case.resource);
    if let Some(prefix) = &case.list_prefix {
        request = request.context_entries(
            ContextEntry::builder()
                .context_key_name("s3:prefix")
                .context_key_values(prefix)
                .context_key_type(ContextKeyTypeEnum::String)
                .build(),
        );
    }
    // Emulators answer a missing call with a 500 the SDK would retry with
    // backoff: one attempt there, the standard retries on AWS.
    let attempts = if clients.target.endpoint.is_some() {
        aws_sdk_iam::config::retry::RetryConfig::disabled()
    } else {
        aws_sdk_iam::config::retry::RetryConfig::standard()
    };
    let answer = request
        .customize()
        .config_override(aws_sdk_iam::config::Builder::default().retry_config(attempts))
        .send()
        .await;
    match answer {
        Ok(out) => Ok(out
            .evaluation_results()
            .iter()
            .all(|r| *r.eval_decision() == PolicyEvaluationDecisionType::Allowed)
            && !out.evaluation_results().is_empty()),
        Err(e) if unsupported(&e, clients) => Err(CheckResult::skip(
            ID,
            format!(
                "{} does not implement IAM SimulatePrincipalPolicy",
                clients.target.endpoint_label()
            ),
        )),
        Err(e) if e.code() == Some("NoSuchEntity") => {
            Err(CheckResult::fail(ID, format!("role {role} does not exist"))
                .with_hint("create it with `chronotrace-ops apply`"))
        }
        Err(e) => Err(CheckResult::from_error(
            ID,
            &api_error(e, "SimulatePrincipalPolicy", role, &clients.target),
        )),
    }
}

/// Emulators answer a missing call with 501, or (moto) a 500 HTML page.
fn unsupported<E, R>(err: &SdkError<E, R>, clients: &Clients) -> bool
where
    E: ProvideErrorMetadata,
    R: std::fmt::Debug + crate::stores::s3::errors::RawStatus,
{
    if crate::stores::s3::errors::is_not_implemented(err) {
        return true;
    }
    let emulated = clients.target.endpoint.is_some();
    let garbled = matches!(err, SdkError::ResponseError(_))
        || matches!(
            err.code(),
            None | Some("InternalError" | "InternalFailure" | "Unknown")
        );
    emulated
        && garbled
        && !matches!(
            err,
            SdkError::DispatchFailure(_) | SdkError::TimeoutError(_)
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_are_derived_from_the_caller() {
        let cases = [
            (
                "arn:aws:sts::123456789012:assumed-role/ChronoTraceRole/i-0abc",
                Some("arn:aws:iam::123456789012:role/ChronoTraceRole"),
            ),
            (
                "arn:aws-cn:sts::111122223333:assumed-role/R/s",
                Some("arn:aws-cn:iam::111122223333:role/R"),
            ),
            ("arn:aws:iam::123456789012:user/alice", None),
            ("not an arn", None),
        ];
        for (caller, expected) in cases {
            assert_eq!(assumed_role(caller).as_deref(), expected, "{caller}");
        }
        assert_eq!(
            role_arn("arn:aws:iam::123456789012:user/alice", "App").as_deref(),
            Some("arn:aws:iam::123456789012:role/App")
        );
        assert_eq!(role_arn("arn:aws:iam:::user/x", "App"), None);
    }

    #[test]
    fn the_cases_cover_the_prefix_and_what_lies_outside() {
        let spec =
            crate::spec::Spec::parse(crate::spec::STARTER_SPEC, "starter").expect("starter spec");
        let s3 = spec
            .environments
            .values()
            .find_map(|e| match &e.storage {
                crate::spec::Storage::S3(s3) => Some(s3.clone()),
                _ => None,
            })
            .expect("an s3 environment");
        let cases = cases("aws", &s3);
        let dir = s3.prefix.dir();
        assert_eq!(cases.iter().filter(|c| c.allowed).count(), 4);
        assert!(
            cases
                .iter()
                .any(|c| c.action == "s3:DeleteBucket" && !c.allowed)
        );
        for case in cases
            .iter()
            .filter(|c| c.allowed && c.action != "s3:ListBucket")
        {
            assert!(
                case.resource.contains(&format!(":::{}/{dir}", s3.bucket)),
                "{case:?}"
            );
        }
    }
}
