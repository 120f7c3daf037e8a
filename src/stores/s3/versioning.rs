//! GetBucketVersioning, read the same way by `plan`, `check` and the scans.
//! moto 5.2 answers with a `GetBucketVersioningResponse` root element that
//! the SDK's strict parser refuses; such a successful answer is read for its
//! `<Status>` here, once, instead of failing.

use aws_sdk_s3::Client;
use aws_sdk_s3::error::SdkError;
use aws_sdk_s3::operation::get_bucket_versioning::{
    GetBucketVersioningError, GetBucketVersioningOutput,
};
use aws_sdk_s3::types::BucketVersioningStatus;
use aws_smithy_runtime_api::http::Response as HttpResponse;

use super::Clients;
use super::complete_xml::{incomplete, root_element};
use super::errors::{api_error, is_not_implemented};
use super::throttle::throttled;
use crate::error::Result;

/// The SDK's own result of GetBucketVersioning.
pub type VersioningResult = std::result::Result<
    GetBucketVersioningOutput,
    SdkError<GetBucketVersioningError, HttpResponse>,
>;

/// GetBucketVersioning, with a successful answer the SDK could not parse
/// read from its body.
pub async fn get(s3: &Client, bucket: &str) -> VersioningResult {
    let result = s3.get_bucket_versioning().bucket(bucket).send().await;
    let Err(e) = &result else {
        return result;
    };
    match e.raw_response() {
        Some(raw) if raw.status().is_success() => {
            let body = raw
                .body()
                .bytes()
                .map(String::from_utf8_lossy)
                .unwrap_or_default();
            match read_answer(&body) {
                Some(status) => Ok(GetBucketVersioningOutput::builder()
                    .set_status(status)
                    .build()),
                // Not a versioning document (an HTML page, a cut answer):
                // the SDK's error stands.
                None => result,
            }
        }
        _ => result,
    }
}

/// Whether the bucket keeps versions (enabled now, or once: suspended
/// buckets still hold their old versions). A store without the API is not.
pub async fn is_versioned(clients: &Clients, bucket: &str) -> Result<bool> {
    // The first call of every scan: a storm that the scan's own calls ride
    // out must not end it here.
    let budget = clients.target.timeouts.call;
    match throttled(budget, || get(&clients.s3, bucket)).await {
        Ok(out) => Ok(matches!(
            out.status(),
            Some(BucketVersioningStatus::Enabled | BucketVersioningStatus::Suspended)
        )),
        Err(e) if is_not_implemented(&e) => Ok(false),
        Err(e) => Err(api_error(e, "GetBucketVersioning", bucket, &clients.target)),
    }
}

/// The status in a successful answer the SDK could not parse, when it is a
/// complete versioning document under either root element name (`None`
/// for anything else, such as a proxy's HTML page); the inner `None` is a
/// bucket that never had versioning.
pub fn read_answer(body: &str) -> Option<Option<BucketVersioningStatus>> {
    let root = root_element(body.trim())?;
    let versioning = ["VersioningConfiguration", "GetBucketVersioningResponse"].contains(&root);
    (versioning && incomplete(body.as_bytes()).is_none()).then(|| status_in(body))
}

/// The `<Status>` of a versioning document, whatever its root element.
fn status_in(xml: &str) -> Option<BucketVersioningStatus> {
    ["Enabled", "Suspended"]
        .into_iter()
        .find(|s| xml.contains(&format!("<Status>{s}</Status>")))
        .map(BucketVersioningStatus::from)
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
            assert_eq!(status_in(xml).is_some(), versioned, "{xml}");
        }
    }

    #[test]
    fn only_a_complete_versioning_document_is_read() {
        let enabled = Some(Some(BucketVersioningStatus::Enabled));
        let cases = [
            (
                "<GetBucketVersioningResponse xmlns=\"x\"><Status>Enabled</Status></GetBucketVersioningResponse>",
                enabled.clone(),
            ),
            (
                "<?xml version=\"1.0\"?>\n<VersioningConfiguration/>",
                Some(None),
            ),
            // A proxy's page answered 200 is not "never versioned".
            ("<!DOCTYPE html><html><body>Bad Gateway</body></html>", None),
            ("<html><Status>Enabled</Status></html>", None),
            ("<VersioningConfiguration><Status>Enabled</Status>", None),
            ("", None),
        ];
        for (body, expected) in cases {
            assert_eq!(read_answer(body), expected, "{body}");
        }
    }
}
