//! SDK errors turned into one line that says what failed and where, with a
//! hint when the cause is known (credentials, access, network, region).

use std::error::Error as StdError;
use std::fmt::Debug;
use std::time::{Duration, Instant};

use backon::Retryable;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::{Target, credentials_hint};
use crate::error::Error;

/// An error's whole source chain on one line.
pub fn one_line(err: &dyn StdError) -> String {
    let mut parts = vec![err.to_string()];
    let mut source = err.source();
    while let Some(cause) = source {
        let text = cause.to_string();
        if !parts.iter().any(|p| p.contains(&text)) {
            parts.push(text);
        }
        source = cause.source();
    }
    parts.join(": ").replace('\n', " ")
}

/// The service's error code, if the server answered with one.
pub fn code<E, R>(err: &SdkError<E, R>) -> Option<&str>
where
    E: ProvideErrorMetadata,
{
    err.code()
}

/// The HTTP status of a raw response, read from the response itself.
pub trait RawStatus {
    fn status_code(&self) -> u16;
}

impl RawStatus for HttpResponse {
    fn status_code(&self) -> u16 {
        self.status().as_u16()
    }
}

/// The HTTP status the server answered an error with, if it answered.
pub fn status<E, R: RawStatus>(err: &SdkError<E, R>) -> Option<u16> {
    match err {
        SdkError::ServiceError(e) => Some(e.raw().status_code()),
        SdkError::ResponseError(e) => Some(e.raw().status_code()),
        _ => None,
    }
}

/// True when the server says it does not implement the call (Garage, moto
/// and MinIO each lack some of S3): a capability gap, not a failure.
pub fn is_not_implemented<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: RawStatus,
{
    if matches!(
        err.code(),
        Some("NotImplemented" | "NotImplementedException" | "MethodNotAllowed" | "XNotImplemented")
    ) {
        return true;
    }
    matches!(err, SdkError::ServiceError(_)) && status(err) == Some(501)
}

/// True when the store asks the client to slow down.
pub fn is_throttling<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
{
    err.code().is_some_and(is_throttling_code)
}

/// The one list of error codes by which a store asks the client to slow
/// down (whole calls and per-key results of DeleteObjects alike).
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "RequestLimitExceeded"
            | "ServiceUnavailable"
    )
}

/// Sends again, with the pauses of `retry::rounds`, while the store
/// answers with throttling even after the SDK's own retries: a burst of
/// `503 SlowDown` during a scan is ridden out, while a dead endpoint still
/// fails fast. No new round starts once `budget` (one call's) has passed
/// since the first send, so the whole costs less than two calls' budgets.
pub async fn throttled<T, E, R, F, Fut>(budget: Duration, send: F) -> Result<T, SdkError<E, R>>
where
    E: ProvideErrorMetadata,
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, SdkError<E, R>>>,
{
    let started = Instant::now();
    send.retry(super::retry::rounds())
        .when(|e| is_throttling(e) && started.elapsed() < budget)
        .notify(|_, pause| tracing::debug!(?pause, "throttled by the store; backing off"))
        .await
}

/// Maps an SDK error of `action` on `resource` to a one-line error with a hint.
pub fn api_error<E, R>(err: SdkError<E, R>, action: &str, resource: &str, target: &Target) -> Error
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + RawStatus,
{
    let endpoint = target.endpoint_label();
    match &err {
        SdkError::DispatchFailure(failure) => {
            let rejected = failure
                .as_connector_error()
                .and_then(|e| super::tls::explain(e, &endpoint));
            if let Some((text, hint)) = rejected {
                return Error::cloud_with_hint(format!("{action}: {text}"), hint);
            }
            let detail = one_line(&err);
            if failure.is_timeout() || failure.is_io() {
                return Error::cloud_with_hint(
                    format!("{action}: cannot reach {endpoint}: {detail}"),
                    "check the endpoint (--endpoint-url or the spec's endpoint), the network and the TLS setup",
                );
            }
            if detail.contains("credentials") {
                return Error::cloud_with_hint(
                    format!("{action}: no usable credentials for {endpoint}: {detail}"),
                    credentials_hint(target.provider),
                );
            }
            return Error::cloud(format!("{action} on {resource} at {endpoint}: {detail}"));
        }
        SdkError::TimeoutError(_) => return silent(action, &endpoint, target),
        _ => {}
    }
    let code = err.code().unwrap_or("").to_string();
    let message = err.message().unwrap_or("").to_string();
    let said = if message.is_empty() {
        code.clone()
    } else {
        format!("{code}: {message}")
    };
    let (text, hint): (String, Option<String>) = match code.as_str() {
        "InvalidAccessKeyId" | "InvalidClientTokenId" | "UnrecognizedClientException" => (
            format!("{action}: the access key is not known to {endpoint} ({said})"),
            Some(credentials_hint(target.provider)),
        ),
        // Garage says a wrong secret this way ("Forbidden: Invalid signature").
        "AccessDenied" if message.to_ascii_lowercase().contains("invalid signature") => (
            format!(
                "{action}: {endpoint} rejected the credentials' signature: wrong secret key? ({said})"
            ),
            Some(credentials_hint(target.provider)),
        ),
        "SignatureDoesNotMatch" | "IncompleteSignature" => (
            format!(
                "{action}: {endpoint} rejected the credentials' signature: wrong secret key? ({code})"
            ),
            Some(credentials_hint(target.provider)),
        ),
        "ExpiredToken" | "ExpiredTokenException" | "RequestExpired" => (
            format!("{action}: the credentials have expired ({said})"),
            Some("refresh them (aws sso login, or new session credentials)".into()),
        ),
        "AccessDenied" | "AccessDeniedException" | "AllAccessDisabled" => (
            format!("{action} on {resource}: access denied ({said})"),
            Some(format!(
                "the identity needs permission for {action} on {resource}"
            )),
        ),
        "BucketAlreadyExists" => (
            format!("{action} {resource}: the name is taken by another account"),
            Some("bucket names are global on AWS: choose another bucket name in the spec".into()),
        ),
        "PermanentRedirect"
        | "AuthorizationHeaderMalformed"
        | "IllegalLocationConstraintException"
        | "InvalidLocationConstraint" => (
            format!(
                "{action} {resource}: region mismatch with {} ({said})",
                target.region
            ),
            Some("set the environment's region to the bucket's region".into()),
        ),
        // A bare 403 (no body, e.g. a bucket policy's Deny on moto).
        _ if code.is_empty() && is_forbidden(&err) => (
            format!("{action} on {resource}: access denied (HTTP 403)"),
            Some(forbidden_hint(action, resource, target)),
        ),
        _ if code.is_empty() => (
            format!("{action} on {resource} at {endpoint}: {}", one_line(&err)),
            None,
        ),
        _ => (format!("{action} on {resource}: {said}"), None),
    };
    match hint {
        Some(hint) => Error::cloud_with_hint(text, hint),
        None => Error::cloud(text),
    }
}

/// The endpoint took the request and did not answer within the limits.
fn silent(action: &str, endpoint: &str, target: &Target) -> Error {
    Error::cloud_with_hint(
        format!(
            "{action}: {endpoint} did not answer within {}",
            super::timeouts::Timeouts::show(target.timeouts.call)
        ),
        "is the endpoint an S3 server, and is it up? (a hung load balancer or a stopped node accepts connections and never answers); on a slow link raise --timeout SECONDS",
    )
}

/// True when the server answered 403 without an error code.
fn is_forbidden<E, R: RawStatus>(err: &SdkError<E, R>) -> bool {
    matches!(err, SdkError::ServiceError(_)) && status(err) == Some(403)
}

/// Who may deny a request: the identity's permissions, or a TLS-only
/// bucket policy when the endpoint is plain http.
fn forbidden_hint(action: &str, resource: &str, target: &Target) -> String {
    let permission = format!("the identity needs permission for {action} on {resource}");
    if target
        .endpoint
        .as_deref()
        .is_some_and(|e| e.starts_with("http://"))
    {
        format!(
            "{permission}; a TLS-only bucket policy also denies every request over this plain-http endpoint"
        )
    } else {
        permission
    }
}
