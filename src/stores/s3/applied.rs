//! What one write did (done, done with a note, not implemented by the
//! server), shared by `provision` and the `*_write` modules, which
//! `provision` calls: here so that they do not depend on each other.

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::Clients;
use super::bucket::unsupported_reason;
use super::errors::{api_error, is_not_implemented};
use crate::error::Result;

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
