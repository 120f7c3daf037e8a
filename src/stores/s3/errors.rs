//! SDK errors turned into one line that says what failed and where, with a
//! hint when the cause is known (credentials, access, network, region).

use std::error::Error as StdError;
use std::fmt::Debug;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::{Target, credentials_hint};
use crate::error::{ApiCause, ApiFailure, Error};

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

/// True when the store asks the client to slow down: a throttling code,
/// or a 503 or 429 whatever its body (a bare `503 Service Unavailable`
/// from a load balancer, a 429 from a gateway, say nothing else).
pub fn is_throttling<E, R>(err: &SdkError<E, R>) -> bool
where
    E: ProvideErrorMetadata,
    R: RawStatus,
{
    err.code().is_some_and(is_throttling_code) || matches!(status(err), Some(429 | 503))
}

/// The one list of error codes by which a store asks the client to slow
/// down (whole calls and per-key results of DeleteObjects alike).
pub fn is_throttling_code(code: &str) -> bool {
    matches!(
        code,
        "SlowDown"
            | "Throttling"
            | "ThrottlingException"
            | "ThrottledException"
            | "RequestLimitExceeded"
            | "RequestThrottled"
            | "RequestThrottledException"
            | "TooManyRequests"
            | "TooManyRequestsException"
            | "ServiceUnavailable"
    )
}

/// Maps an SDK error of `action` on `resource` to a one-line error with a
/// hint: the failure's context goes into typed fields (`ApiFailure`),
/// which the message is built from.
pub fn api_error<E, R>(err: SdkError<E, R>, action: &str, resource: &str, target: &Target) -> Error
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + RawStatus,
{
    let endpoint = target.endpoint_label();
    let code = err.code().filter(|c| !c.is_empty()).map(str::to_string);
    let (cause, hint) = cause(&err, code.as_deref(), action, resource, target);
    Error::Api(Box::new(ApiFailure {
        operation: action.to_string(),
        resource: resource.to_string(),
        endpoint,
        status: status(&err),
        message: err.message().map(str::to_string),
        code,
        cause,
        hint,
    }))
}

/// Why `err` happened, and how to fix it when the tool knows.
fn cause<E, R>(
    err: &SdkError<E, R>,
    code: Option<&str>,
    action: &str,
    resource: &str,
    target: &Target,
) -> (ApiCause, Option<String>)
where
    E: ProvideErrorMetadata + StdError + 'static,
    R: Debug + RawStatus,
{
    let endpoint = target.endpoint_label();
    let credentials = || Some(credentials_hint(target.provider));
    match err {
        SdkError::DispatchFailure(failure) => {
            let rejected = failure
                .as_connector_error()
                .and_then(|e| crate::transport::trust::explain(e, &endpoint));
            if let Some((text, hint)) = rejected {
                return (ApiCause::TlsRejected(text), Some(hint));
            }
            let detail = one_line(err);
            if failure.is_timeout() || failure.is_io() {
                return (
                    ApiCause::Unreachable(detail),
                    Some("check the endpoint (--endpoint-url or the spec's endpoint), the network and the TLS setup".into()),
                );
            }
            if detail.contains("credentials") {
                return (ApiCause::NoCredentials(detail), credentials());
            }
            return (ApiCause::NotSent(detail), None);
        }
        SdkError::TimeoutError(_) => {
            return (
                ApiCause::Silent {
                    limit: crate::transport::timeouts::Timeouts::show(target.timeouts.call),
                },
                Some("is the endpoint an S3 server, and is it up? (a hung load balancer or a stopped node accepts connections and never answers); on a slow link raise --timeout SECONDS".into()),
            );
        }
        _ => {}
    }
    let message = err.message().unwrap_or("");
    match code {
        Some("InvalidAccessKeyId" | "InvalidClientTokenId" | "UnrecognizedClientException") => {
            (ApiCause::UnknownKey, credentials())
        }
        // Garage says a wrong secret this way ("Forbidden: Invalid signature").
        Some("AccessDenied") if message.to_ascii_lowercase().contains("invalid signature") => (
            ApiCause::BadSignature {
                quote_message: true,
            },
            credentials(),
        ),
        Some("SignatureDoesNotMatch" | "IncompleteSignature") => (
            ApiCause::BadSignature {
                quote_message: false,
            },
            credentials(),
        ),
        Some("ExpiredToken" | "ExpiredTokenException" | "RequestExpired") => (
            ApiCause::ExpiredCredentials,
            Some("refresh them (aws sso login, or new session credentials)".into()),
        ),
        Some("AccessDenied" | "AccessDeniedException" | "AllAccessDisabled") => (
            ApiCause::AccessDenied,
            Some(format!(
                "the identity needs permission for {action} on {resource}"
            )),
        ),
        Some("BucketAlreadyExists") => (
            ApiCause::NameTaken,
            Some("bucket names are global on AWS: choose another bucket name in the spec".into()),
        ),
        Some(
            "PermanentRedirect"
            | "AuthorizationHeaderMalformed"
            | "IllegalLocationConstraintException"
            | "InvalidLocationConstraint",
        ) => (
            ApiCause::RegionMismatch {
                region: target.region.clone(),
            },
            Some("set the environment's region to the bucket's region".into()),
        ),
        // A bare 403 (no body, e.g. a bucket policy's Deny on moto).
        None if is_forbidden(err) => (
            ApiCause::Forbidden,
            Some(forbidden_hint(action, resource, target)),
        ),
        None => (ApiCause::Unexplained(one_line(err)), None),
        Some(_) => (ApiCause::Refused, None),
    }
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

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use crate::stores::s3::throttle::throttled;
    use std::time::{Duration, Instant};

    use aws_sdk_s3::operation::delete_objects::DeleteObjectsError;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;
    use aws_smithy_types::error::ErrorMetadata;

    use super::*;

    type Answer = SdkError<DeleteObjectsError, HttpResponse>;

    fn answer(status: u16, code: Option<&str>) -> Answer {
        let mut meta = ErrorMetadata::builder();
        if let Some(code) = code {
            meta = meta.code(code);
        }
        let status = StatusCode::try_from(status).expect("a status");
        let raw = HttpResponse::new(status, SdkBody::empty());
        SdkError::service_error(DeleteObjectsError::generic(meta.build()), raw)
    }

    #[test]
    fn every_way_a_store_says_slow_down_is_throttling() {
        for (status, code) in [
            (503, Some("SlowDown")),
            (503, None),
            (429, None),
            (400, Some("Throttling")),
            (400, Some("ThrottlingException")),
            (503, Some("RequestLimitExceeded")),
            (429, Some("TooManyRequests")),
        ] {
            assert!(is_throttling(&answer(status, code)), "{status} {code:?}");
        }
        for (status, code) in [
            (500, None),
            (502, None),
            (500, Some("InternalError")),
            (403, Some("AccessDenied")),
            (404, Some("NoSuchKey")),
            (400, Some("InvalidRequest")),
        ] {
            assert!(!is_throttling(&answer(status, code)), "{status} {code:?}");
        }
    }

    #[tokio::test]
    async fn a_throttled_call_is_sent_again_until_it_goes_through() {
        let sent = AtomicUsize::new(0);
        let out = throttled(Duration::from_secs(20), || async {
            match sent.fetch_add(1, Ordering::SeqCst) {
                0 => Err(answer(503, None)),
                1 => Err(answer(429, None)),
                2 => Err(answer(503, Some("SlowDown"))),
                _ => Ok(()),
            }
        })
        .await;
        assert!(out.is_ok());
        assert_eq!(
            sent.load(Ordering::SeqCst),
            4,
            "more rounds than the old three"
        );
    }

    #[tokio::test]
    async fn a_refusal_is_not_sent_again_and_a_storm_ends_with_the_budget() {
        let sent = AtomicUsize::new(0);
        let out = throttled(Duration::from_secs(20), || async {
            sent.fetch_add(1, Ordering::SeqCst);
            Err::<(), _>(answer(403, Some("AccessDenied")))
        })
        .await;
        assert!(out.is_err());
        assert_eq!(sent.load(Ordering::SeqCst), 1);

        let started = Instant::now();
        let out = throttled(Duration::from_millis(600), || async {
            Err::<(), _>(answer(503, Some("SlowDown")))
        })
        .await;
        assert!(out.is_err_and(|e| is_throttling(&e)));
        // Rounds for the whole budget, none past it.
        let took = started.elapsed();
        assert!(took >= Duration::from_millis(600), "{took:?}");
        assert!(took < Duration::from_millis(1200), "{took:?}");
    }
}
