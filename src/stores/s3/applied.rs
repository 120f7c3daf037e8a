//! What one read or write of a bucket's settings did: a read seen (present,
//! absent, not implemented by the server), a write done (done, done with a
//! note, not implemented), shared by `bucket`, `provision`, `inventory` and
//! the `*_write` modules: here so that they do not depend on each other.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::Clients;
use super::errors::{api_error, is_not_implemented};
use crate::error::Result;
use crate::plan::observed::Seen;

/// What executing one change did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Applied {
    Done,
    /// Done, with something worth saying.
    Noted(String),
    /// The server does not implement it: the reason.
    Unsupported(String),
}

/// A write's result: done, unsupported (NotImplemented), or an error.
pub fn done<T, E>(
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    action: &str,
    clients: &Clients,
    resource: &str,
) -> Result<Applied>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(_) => Ok(Applied::Done),
        Err(e) if is_not_implemented(&e) => {
            Ok(Applied::Unsupported(unsupported_reason(&e, action)))
        }
        Err(e) => Err(api_error(e, action, resource, &clients.target)),
    }
}

/// Why a server does not do `action`, in its own words when it gave some.
pub fn unsupported_reason<E: ProvideErrorMetadata, R>(
    err: &SdkError<E, R>,
    action: &str,
) -> String {
    format!(
        "the server answers {} to {action}",
        err.code().unwrap_or("NotImplemented")
    )
}

/// The HTTP status of a service error, if the server answered.
pub fn status<E>(err: &SdkError<E, HttpResponse>) -> Option<u16> {
    err.raw_response().map(|r| r.status().as_u16())
}

/// Turns a read into `Seen`: the `absent` codes mean "not configured",
/// NotImplemented means unsupported, anything else is an error.
pub fn seen<T, E>(
    result: std::result::Result<T, SdkError<E, HttpResponse>>,
    absent: &[&str],
    action: &str,
    clients: &Clients,
    bucket: &str,
) -> Result<Seen<T>>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    match result {
        Ok(value) => Ok(Seen::Present(value)),
        Err(e) if e.code().is_some_and(|c| absent.contains(&c)) => Ok(Seen::Absent),
        Err(e) if is_not_implemented(&e) => Ok(Seen::Unsupported(unsupported_reason(&e, action))),
        Err(e) => Err(api_error(e, action, bucket, &clients.target)),
    }
}
