//! Bulk delete: DeleteObjects in batches of 1000 keys, fenced to the
//! environment's prefix, with `Content-MD5` (S3 clones that predate the
//! SDK's default CRC32 checksums refuse the request without it), paced by
//! the run's `throttle::Gate`, with the keys that did not go sent again
//! (throttled ones within the call's budget, whether the whole call or
//! keys inside its answer were throttled), and per-key errors collected
//! rather than fatal.

use std::collections::HashSet;

use aws_sdk_s3::Client;
use aws_sdk_s3::config::http::HttpRequest;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::delete_objects::DeleteObjectsError;
use aws_sdk_s3::types::{Delete, ObjectIdentifier};
use aws_smithy_runtime_api::http::Response as HttpResponse;
use backon::BackoffBuilder;
use md5::{Digest, Md5};

use super::Target;
use super::errors::{api_error, is_throttling, is_throttling_code, status};
use super::throttle::{Budget, Gate};
use crate::error::{Error, Result};
use crate::scan::{KeyError, Volume};
use crate::transport::retry;
use crate::transport::timeouts::Timeouts;

/// DeleteObjects takes at most this many keys.
pub const BATCH: usize = 1000;
/// Per-key error codes of the server's transient failures: sent again, at
/// most `retry::ROUNDS` times (throttled keys have their own budget).
fn transient(code: &str) -> bool {
    matches!(code, "InternalError" | "RequestTimeout")
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
    /// The run's pace (shared with its listings).
    pub gate: Gate,
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
            let batch = delete_batch(
                &self.s3,
                &self.bucket,
                &self.target,
                &self.gate,
                chunk.to_vec(),
            )
            .await?;
            outcome.volume.merge(batch.volume);
            outcome.errors.extend(batch.errors);
        }
        Ok(outcome)
    }
}

/// Identifies a key (and version) among a batch's.
fn id(key: &str, version_id: Option<&str>) -> (String, Option<String>) {
    (key.to_string(), version_id.map(str::to_string))
}

/// Deletes at most 1000 keys, in turn of `gate`: one DeleteObjects, then
/// again for the keys that did not go, while worth it. Throttled keys (the
/// whole call refused with `SlowDown`, a bare 503 or a 429, or keys
/// throttled in its answer) go again while the call's budget lasts; keys
/// the server failed transiently, up to `retry::ROUNDS` sends. A key that
/// still fails is a per-key error, never counted deleted; only a call
/// failing otherwise (refused, unreachable) is an error. Callers fence the
/// keys: this deletes what it is given.
pub async fn delete_batch(
    s3: &Client,
    bucket: &str,
    target: &Target,
    gate: &Gate,
    mut pending: Vec<Doomed>,
) -> Result<Deleted> {
    let mut outcome = Deleted::default();
    let mut budget = Budget::new(gate.budget());
    let mut transient_pauses = retry::rounds().build();
    loop {
        let turn = budget.wait_for(gate).await;
        let failed = match send(s3, bucket, &pending).await? {
            Ok(errors) => {
                if errors.iter().any(|e| is_throttling_code(&e.code)) {
                    turn.throttled();
                } else {
                    turn.succeeded();
                }
                errors
            }
            Err(e) if is_throttling(&e) => {
                turn.throttled();
                whole_call_throttled(&e, &pending)
            }
            Err(e) => return Err(api_error(e, "DeleteObjects", bucket, target)),
        };
        let (throttled, rest): (Vec<KeyError>, Vec<KeyError>) = failed
            .into_iter()
            .partition(|e| is_throttling_code(&e.code));
        let (passing, mut given_up): (Vec<KeyError>, Vec<KeyError>) =
            rest.into_iter().partition(|e| transient(&e.code));
        let throttled_pause = match throttled.is_empty() {
            true => None,
            false => budget.next_pause(),
        };
        let transient_pause = match passing.is_empty() {
            true => None,
            false => transient_pauses.next(),
        };
        let mut again = Vec::new();
        match throttled_pause {
            Some(_) => again.extend(throttled),
            None => given_up.extend(throttled.into_iter().map(|e| past_budget(e, &budget))),
        }
        match transient_pause {
            Some(_) => again.extend(passing),
            None => given_up.extend(passing),
        }
        let not_gone: HashSet<_> = again
            .iter()
            .chain(&given_up)
            .map(|e| id(&e.key, e.version_id.as_deref()))
            .collect();
        for item in pending
            .iter()
            .filter(|d| !not_gone.contains(&id(&d.key, d.version_id.as_deref())))
        {
            outcome.volume.add(item.size);
        }
        outcome.errors.extend(given_up);
        let Some(pause) = throttled_pause.max(transient_pause) else {
            return Ok(outcome);
        };
        let again: HashSet<_> = again
            .iter()
            .map(|e| id(&e.key, e.version_id.as_deref()))
            .collect();
        pending.retain(|d| again.contains(&id(&d.key, d.version_id.as_deref())));
        tracing::debug!(
            keys = pending.len(),
            ?pause,
            "DeleteObjects: sending keys again"
        );
        tokio::time::sleep(pause).await;
    }
}

/// Every key of a DeleteObjects the store throttled whole, as a per-key
/// error with the store's code (none was deleted: a throttled request is
/// refused before it is carried out).
fn whole_call_throttled(
    err: &SdkError<DeleteObjectsError, HttpResponse>,
    batch: &[Doomed],
) -> Vec<KeyError> {
    // A throttling code whatever the store said (a bare 503 has none), so
    // that the keys go again as throttled ones.
    let code = match (err.code(), status(err)) {
        (Some(code), _) if is_throttling_code(code) => code,
        (_, Some(429)) => "TooManyRequests",
        _ => "ServiceUnavailable",
    };
    let message = err
        .message()
        .filter(|m| !m.is_empty())
        .unwrap_or("the store throttled the whole DeleteObjects call");
    batch
        .iter()
        .map(|d| KeyError {
            key: d.key.clone(),
            version_id: d.version_id.clone(),
            code: code.to_string(),
            message: message.to_string(),
        })
        .collect()
}

/// A throttled key given up: its message says how long it was tried.
fn past_budget(mut error: KeyError, budget: &Budget) -> KeyError {
    error.message = format!(
        "{} (still throttled after {}, the call's budget; the key was not deleted)",
        error.message.trim_end_matches('.'),
        Timeouts::show(budget.spent())
    );
    error
}

/// One DeleteObjects call for at most 1000 keys, with `Content-MD5`
/// (quiet: only errors come back): the per-key errors, or the call's
/// error. The outer error is a request that could not be built.
async fn send(
    s3: &Client,
    bucket: &str,
    batch: &[Doomed],
) -> Result<std::result::Result<Vec<KeyError>, SdkError<DeleteObjectsError, HttpResponse>>> {
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
        .await;
    Ok(out.map(|out| {
        out.errors()
            .iter()
            .map(|e| KeyError {
                key: e.key().unwrap_or_default().to_string(),
                version_id: e.version_id().map(str::to_string),
                code: e.code().unwrap_or("Unknown").to_string(),
                message: e.message().unwrap_or_default().to_string(),
            })
            .collect()
    }))
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
