//! The SDK's HTTPS client with the extra CAs of `--ca-bundle` /
//! `AWS_CA_BUNDLE` trusted on top of the system roots (a private CA in
//! front of MinIO), so S3/IAM/STS calls trust what `check` trusts.

use std::path::Path;

use aws_smithy_http_client::tls::{self, TlsContext, TrustStore};
use aws_smithy_runtime_api::client::http::SharedHttpClient;

use crate::error::{Error, Result};

/// An HTTPS client trusting `ca_bundle` too; `None` keeps the SDK default.
pub fn http_client(ca_bundle: Option<&Path>) -> Result<Option<SharedHttpClient>> {
    let Some(path) = ca_bundle else {
        return Ok(None);
    };
    let pem = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let context = TlsContext::builder()
        .with_trust_store(TrustStore::default().with_pem_certificate(pem))
        .build()
        .map_err(|e| {
            Error::usage_with_hint(
                format!("CA bundle {}: {e}", path.display()),
                "--ca-bundle (or AWS_CA_BUNDLE) must name a PEM file of CA certificates",
            )
        })?;
    let client = aws_smithy_http_client::Builder::new()
        .tls_provider(tls::Provider::Rustls(
            tls::rustls_provider::CryptoMode::AwsLc,
        ))
        .tls_context(context)
        .build_https();
    Ok(Some(client))
}
