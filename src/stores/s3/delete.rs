//! Bulk delete: DeleteObjects in batches of 1000 keys, fenced to the
//! environment's prefix, with `Content-MD5` (S3 clones that predate the
//! SDK's default CRC32 checksums refuse the request without it), retries of
//! throttled keys, and per-key errors collected rather than fatal.

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpRequest;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use backon::BackoffBuilder;
use md5::{Digest, Md5};

use super::Target;
use super::errors::{api_error, is_throttling_code};
use crate::error::{Error, Result};
use crate::scan::{KeyError, Volume};
use crate::transport::retry;

/// DeleteObjects takes at most this many keys.
pub const BATCH: usize = 1000;
/// Per-key error codes worth another attempt: throttling (the one list of
/// `errors::is_throttling_code`) and the server's transient failures.
fn retryable(code: &str) -> bool {
    is_throttling_code(code) || matches!(code, "InternalError" | "RequestTimeout")
}

/// One key (and version, on versioned buckets) to delete, with its size.
#[derive(Debug, Clone)]
pub struct Doomed {
    pub key: String,
    pub version_id: Option<String>,
    pub size: u64,
}

/// What one call to `Deleter::delete` achieved.
#[derive(Debug, Default)]
pub struct Deleted {
    pub volume: Volume,
    pub errors: Vec<KeyError>,
}

/// Deletes keys of one bucket, never outside `fence` (the `{prefix}/`).
#[derive(Debug, Clone)]
pub struct Deleter {
    pub s3: Client,
    pub bucket: String,
    pub fence: String,
    pub target: Target,
}

impl Deleter {
    /// Deletes `doomed` in batches of 1000. Refuses, before any request, a
    /// key outside the fence: that would be a bug, never a user's wish.
    pub async fn delete(&self, doomed: Vec<Doomed>) -> Result<Deleted> {
        for item in &doomed {
            fence_check(&self.fence, &item.key)?;
        }
        let mut outcome = Deleted::default();
        for chunk in doomed.chunks(BATCH) {
            let batch = self.delete_batch(chunk.to_vec()).await?;
            outcome.volume.merge(batch.volume);
            outcome.errors.extend(batch.errors);
        }
        Ok(outcome)
    }

    /// One batch, retrying the keys the server throttled, with the pauses
    /// of `retry::rounds` (at most `retry::ROUNDS` sends of a key).
    async fn delete_batch(&self, mut pending: Vec<Doomed>) -> Result<Deleted> {
        let mut outcome = Deleted::default();
        let mut pauses = retry::rounds().build().peekable();
        loop {
            let failed = self.send(&pending).await?;
            let last = pauses.peek().is_none();
            let (again, fatal): (Vec<KeyError>, Vec<KeyError>) = failed
                .into_iter()
                .partition(|e| !last && retryable(&e.code));
            let bad = |d: &Doomed| {
                again
                    .iter()
                    .chain(&fatal)
                    .any(|e| e.key == d.key && e.version_id == d.version_id)
            };
            for item in pending.iter().filter(|d| !bad(d)) {
                outcome.volume.add(item.size);
            }
            outcome.errors.extend(fatal);
            let (false, Some(pause)) = (again.is_empty(), pauses.next()) else {
                break;
            };
            pending.retain(|d| {
                again
                    .iter()
                    .any(|e| e.key == d.key && e.version_id == d.version_id)
            });
            tokio::time::sleep(pause).await;
        }
        Ok(outcome)
    }

    /// Sends one DeleteObjects (quiet: only errors come back).
    async fn send(&self, batch: &[Doomed]) -> Result<Vec<KeyError>> {
        delete_objects(&self.s3, &self.bucket, &self.target, batch).await
    }
}

/// One DeleteObjects call for at most 1000 keys, with `Content-MD5`; returns
/// the per-key errors. Callers fence the keys: this deletes what it is given.
pub async fn delete_objects(
    s3: &Client,
    bucket: &str,
    target: &Target,
    batch: &[Doomed],
) -> Result<Vec<KeyError>> {
    let objects = batch
        .iter()
        .map(|d| {
            ObjectIdentifier::builder()
                .key(&d.key)
                .set_version_id(d.version_id.clone())
                .build()
                .map_err(|e| Error::cloud(format!("delete {}: {e}", d.key)))
        })
        .collect::<Result<Vec<_>>>()?;
    let delete = Delete::builder()
        .set_objects(Some(objects))
        .quiet(true)
        .build()
        .map_err(|e| Error::cloud(format!("DeleteObjects on {bucket}: {e}")))?;
    let out = s3
        .delete_objects()
        .bucket(bucket)
        .delete(delete)
        .customize()
        .mutate_request(content_md5)
        .send()
        .await
        .map_err(|e| api_error(e, "DeleteObjects", bucket, target))?;
    Ok(out
        .errors()
        .iter()
        .map(|e| KeyError {
            key: e.key().unwrap_or_default().to_string(),
            version_id: e.version_id().map(str::to_string),
            code: e.code().unwrap_or("Unknown").to_string(),
            message: e.message().unwrap_or_default().to_string(),
        })
        .collect())
}

/// Refuses a key outside `fence` (the `{prefix}/`), or the fence itself.
pub fn fence_check(fence: &str, key: &str) -> Result<()> {
    if fence.ends_with('/') && key.len() > fence.len() && key.starts_with(fence) {
        Ok(())
    } else {
        Err(Error::cloud(format!(
            "refusing to delete '{key}': it is outside the environment's prefix '{fence}'"
        )))
    }
}

/// Sends the body's MD5 as `Content-MD5` instead of the SDK's default CRC32
/// (the fix the SDK maintainers give in awslabs/aws-sdk-rust#1240): every
/// S3 implementation accepts MD5 for DeleteObjects, not all accept CRC32.
/// Runs before signing, so the header is signed with the request.
fn content_md5(request: &mut HttpRequest) {
    let Some(body) = request.body().bytes() else {
        return;
    };
    let digest = aws_smithy_types::base64::encode(Md5::digest(body));
    let headers = request.headers_mut();
    let checksums: Vec<String> = headers
        .iter()
        .map(|(name, _)| name.to_string())
        .filter(|name| {
            name.starts_with("x-amz-checksum-") || name == "x-amz-sdk-checksum-algorithm"
        })
        .collect();
    for name in checksums {
        headers.remove(name);
    }
    headers.insert("Content-MD5", digest);
}

#[cfg(test)]
mod tests {
    use aws_smithy_types::body::SdkBody;

    use super::*;

    #[test]
    fn content_md5_replaces_the_default_checksum() {
        let body = "<Delete><Object><Key>p/a.zip</Key></Object><Quiet>true</Quiet></Delete>";
        let mut request = HttpRequest::new(SdkBody::from(body));
        request
            .headers_mut()
            .insert("x-amz-checksum-crc32", "AAAAAA==");
        request
            .headers_mut()
            .insert("x-amz-sdk-checksum-algorithm", "CRC32");
        content_md5(&mut request);
        let headers = request.headers();
        assert_eq!(headers.get("x-amz-checksum-crc32"), None);
        assert_eq!(headers.get("x-amz-sdk-checksum-algorithm"), None);
        let want = aws_smithy_types::base64::encode(Md5::digest(body.as_bytes()));
        assert_eq!(headers.get("content-md5"), Some(want.as_str()));
    }

    #[test]
    fn fence_admits_only_keys_under_the_prefix() {
        let fence = "staging/traces/";
        for key in [
            "staging/traces/traces/2026-01-01/a.zip",
            "staging/traces/traces/diagnostic-test-1.txt",
            "staging/traces/_probe/x",
        ] {
            assert!(fence_check(fence, key).is_ok(), "{key}");
        }
        for key in [
            "staging/traces",
            "staging/traces/",
            "staging/traces-archive/traces/2026-01-01/a.zip",
            "other/staging/traces/a.zip",
            "",
        ] {
            assert!(fence_check(fence, key).is_err(), "{key}");
        }
        assert!(fence_check("no-slash", "no-slash/x").is_err());
    }
}
