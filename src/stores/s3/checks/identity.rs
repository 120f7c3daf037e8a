//! Who the credentials belong to: STS GetCallerIdentity where the store has
//! STS. Shows the account and ARN; the secret is never read, let alone shown.

use aws_sdk_s3::error::ProvideErrorMetadata;

use crate::check::CheckResult;
use crate::stores::s3::Clients;
use crate::stores::s3::errors::{api_error, is_not_implemented};

const ID: &str = "identity";

/// Account and ARN of the caller, as STS reports them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub account: String,
    pub arn: String,
}

/// Calls STS GetCallerIdentity.
pub async fn caller(clients: &Clients) -> Result<Caller, CheckResult> {
    let target = &clients.target;
    match clients.sts.get_caller_identity().send().await {
        Ok(out) => Ok(Caller {
            account: out.account().unwrap_or("?").to_string(),
            arn: out.arn().unwrap_or("?").to_string(),
        }),
        Err(e) if is_not_implemented(&e) || lacks_call(&e, target) => Err(CheckResult::skip(
            ID,
            format!(
                "{} does not implement STS GetCallerIdentity ({})",
                target.endpoint_label(),
                e.code().unwrap_or("no error code")
            ),
        )),
        Err(e) => Err(CheckResult::from_error(
            ID,
            &api_error(e, "GetCallerIdentity", "STS", target),
        )),
    }
}

/// On a store that is not AWS (MinIO's STS only knows the AssumeRole
/// family), a service error that is not about the credentials means the
/// call is missing, not that something is wrong.
fn lacks_call<E: ProvideErrorMetadata, R>(
    err: &aws_sdk_sts::error::SdkError<E, R>,
    target: &crate::stores::s3::Target,
) -> bool {
    const AUTH: [&str; 7] = [
        "InvalidAccessKeyId",
        "InvalidClientTokenId",
        "SignatureDoesNotMatch",
        "AccessDenied",
        "ExpiredToken",
        "ExpiredTokenException",
        "UnrecognizedClientException",
    ];
    let service = matches!(err, aws_sdk_sts::error::SdkError::ServiceError(_));
    service && target.endpoint.is_some() && !err.code().is_some_and(|c| AUTH.contains(&c))
}

/// The identity check: skipped where the provider has no STS.
pub async fn check(clients: &Clients) -> CheckResult {
    let provider = clients.target.provider;
    if !provider.capabilities().sts {
        return CheckResult::skip(
            ID,
            format!(
                "provider {} has no STS: the credentials are proven by the bucket checks",
                provider.name()
            ),
        );
    }
    match caller(clients).await {
        Ok(caller) => CheckResult::pass(ID, format!("account {}, {}", caller.account, caller.arn)),
        Err(result) => result,
    }
}
