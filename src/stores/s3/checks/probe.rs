//! The write/read/compare/delete probe under `{prefix}/_probe/`. The object
//! is removed whatever step fails, and on a versioned bucket every version
//! and delete marker of that exact key goes too: a probe leaves nothing.

use aws_sdk_s3::primitives::ByteStream;

use crate::check::CheckResult;
use crate::error::Error;
use crate::spec::S3Storage;
use crate::stores::s3::Clients;
use crate::stores::s3::errors::api_error;

const ID: &str = "probe";

/// Writes, reads back, compares and deletes a probe object.
pub async fn check(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let key = format!("{}_probe/{}", s3.prefix.dir(), crate::check::probe_name());
    let body = format!("chronotrace-ops probe {key}\n");
    let outcome = round_trip(clients, s3, &key, body.as_bytes()).await;
    // Removal runs whatever happened above: a half-written probe is removed too.
    let removal = remove(clients, s3, &key).await;
    match (outcome, removal) {
        (Ok(()), Ok(())) => CheckResult::pass(
            ID,
            format!("wrote, read back and deleted {}/{key}", s3.bucket),
        ),
        (Err(e), Ok(())) => CheckResult::from_error(ID, &e.error),
        (Ok(()), Err(e)) => CheckResult::from_error(ID, &e),
        // The write itself failed: nothing to leave behind.
        (Err(e), Err(_)) if !e.written => CheckResult::from_error(ID, &e.error),
        (Err(e), Err(left)) => CheckResult::from_error(ID, &e.error).with_hint(format!(
            "the probe may be left behind ({left}); delete {}/{key} by hand",
            s3.bucket
        )),
    }
}

/// A failed step, and whether the object was written before it.
struct StepError {
    written: bool,
    error: Error,
}

async fn round_trip(
    clients: &Clients,
    s3: &S3Storage,
    key: &str,
    body: &[u8],
) -> Result<(), StepError> {
    let object = format!("{}/{key}", s3.bucket);
    clients
        .s3
        .put_object()
        .bucket(&s3.bucket)
        .key(key)
        .body(ByteStream::from(body.to_vec()))
        .send()
        .await
        .map_err(|e| StepError {
            written: false,
            error: api_error(e, "PutObject", &object, &clients.target),
        })?;
    read_back(clients, s3, key, body)
        .await
        .map_err(|error| StepError {
            written: true,
            error,
        })
}

async fn read_back(clients: &Clients, s3: &S3Storage, key: &str, body: &[u8]) -> Result<(), Error> {
    let object = format!("{}/{key}", s3.bucket);
    let got = clients
        .s3
        .get_object()
        .bucket(&s3.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| api_error(e, "GetObject", &object, &clients.target))?;
    let got = got
        .body
        .collect()
        .await
        .map_err(|e| Error::cloud(format!("GetObject {object}: reading the body: {e}")))?
        .into_bytes();
    if got.as_ref() != body {
        return Err(Error::cloud(format!(
            "{object}: read back {} bytes that differ from the {} written",
            got.len(),
            body.len()
        )));
    }
    Ok(())
}

/// Deletes the probe, then (on a versioned bucket) each of its versions.
async fn remove(clients: &Clients, s3: &S3Storage, key: &str) -> Result<(), Error> {
    let object = format!("{}/{key}", s3.bucket);
    clients
        .s3
        .delete_object()
        .bucket(&s3.bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| api_error(e, "DeleteObject", &object, &clients.target))?;
    match crate::stores::s3::versioning::is_versioned(clients, &s3.bucket).await {
        Ok(true) => remove_versions(clients, s3, key).await?,
        Ok(false) => {}
        // The app's own least-privilege key may not read the bucket's
        // versioning: its probe's noncurrent version is left to the
        // lifecycle rule (noncurrent_days) under the prefix.
        Err(e) if matches!(&e, Error::Api(f) if f.status == Some(403)) => {
            tracing::debug!(error = %e, "versioning unreadable: probe versions left to the lifecycle");
        }
        Err(e) => return Err(e),
    }
    Ok(())
}

async fn remove_versions(clients: &Clients, s3: &S3Storage, key: &str) -> Result<(), Error> {
    let object = format!("{}/{key}", s3.bucket);
    let listed = clients
        .s3
        .list_object_versions()
        .bucket(&s3.bucket)
        .prefix(key)
        .send()
        .await
        .map_err(|e| api_error(e, "ListObjectVersions", &object, &clients.target))?;
    let versions = listed
        .versions()
        .iter()
        .map(|v| (v.key(), v.version_id()))
        .chain(
            listed
                .delete_markers()
                .iter()
                .map(|m| (m.key(), m.version_id())),
        );
    // Only this exact key: the prefix also matches longer keys of others.
    for (_, version) in versions.filter(|(k, _)| *k == Some(key)) {
        let Some(version) = version else { continue };
        clients
            .s3
            .delete_object()
            .bucket(&s3.bucket)
            .key(key)
            .version_id(version)
            .send()
            .await
            .map_err(|e| api_error(e, "DeleteObject (version)", &object, &clients.target))?;
    }
    Ok(())
}
