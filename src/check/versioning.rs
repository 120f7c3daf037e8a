//! Whether the bucket is (or was) versioned. moto 5.2 answers
//! GetBucketVersioning with a `GetBucketVersioningResponse` root the Rust
//! SDK refuses to parse; the raw body is then read for its `<Status>`.

use aws_sdk_s3::types::BucketVersioningStatus;

use crate::cloud::Clients;
use crate::cloud::errors::api_error;
use crate::error::Error;
use crate::spec::S3Storage;

/// True when versioning is enabled or suspended (suspended buckets keep
/// their old versions).
pub async fn versioned(clients: &Clients, s3: &S3Storage) -> Result<bool, Error> {
    let answer = clients
        .s3
        .get_bucket_versioning()
        .bucket(&s3.bucket)
        .send()
        .await;
    match answer {
        Ok(out) => Ok(matches!(
            out.status(),
            Some(BucketVersioningStatus::Enabled | BucketVersioningStatus::Suspended)
        )),
        // A 200 the SDK could not parse (moto's root element): read it here.
        Err(e) if e.raw_response().is_some_and(|r| r.status().is_success()) => {
            let body = e
                .raw_response()
                .and_then(|r| r.body().bytes())
                .unwrap_or_default();
            Ok(status_in(&String::from_utf8_lossy(body)))
        }
        Err(e) => Err(api_error(
            e,
            "GetBucketVersioning",
            &s3.bucket,
            &clients.target,
        )),
    }
}

/// Reads `<Status>Enabled|Suspended</Status>` from a versioning document.
pub fn status_in(xml: &str) -> bool {
    xml.contains("<Status>Enabled</Status>") || xml.contains("<Status>Suspended</Status>")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_is_read_from_any_root() {
        let cases = [
            (
                "<GetBucketVersioningResponse xmlns=\"x\"><Status>Enabled</Status></GetBucketVersioningResponse>",
                true,
            ),
            (
                "<VersioningConfiguration><Status>Suspended</Status></VersioningConfiguration>",
                true,
            ),
            ("<GetBucketVersioningResponse xmlns=\"x\"/>", false),
            ("", false),
        ];
        for (xml, versioned) in cases {
            assert_eq!(status_in(xml), versioned, "{xml}");
        }
    }
}
