//! `destroy --empty`: deleting every object version and delete marker of a
//! bucket the tool created, in DeleteObjects batches of 1000 (the API's
//! maximum). Stores without ListObjectVersions (Garage) are emptied by key.

use super::Clients;
use super::delete::{self, Doomed};
use super::errors::{api_error, is_not_implemented};
use super::throttle::Gate;
use super::throttle::throttled;
use crate::error::{Error, Result};

/// DeleteObjects takes at most this many keys.
const BATCH: i32 = 1000;

/// Deletes everything in `bucket`; returns how many versions and objects went.
pub async fn empty_bucket(clients: &Clients, bucket: &str) -> Result<u64> {
    let mut deleted = 0;
    let mut previous = Vec::new();
    loop {
        // Always from the start: what was listed has been deleted.
        let request = clients
            .s3
            .list_object_versions()
            .bucket(bucket)
            .max_keys(BATCH);
        let listed = throttled(clients.target.timeouts.call, || request.clone().send()).await;
        let out = match listed {
            Ok(out) => out,
            Err(e) if is_not_implemented(&e) => {
                return Ok(deleted + empty_by_key(clients, bucket).await?);
            }
            Err(e) => return Err(api_error(e, "ListObjectVersions", bucket, &clients.target)),
        };
        let versions = out.versions().iter().map(|v| (v.key(), v.version_id()));
        let markers = out
            .delete_markers()
            .iter()
            .map(|m| (m.key(), m.version_id()));
        let batch: Vec<(String, Option<String>)> = versions
            .chain(markers)
            .filter_map(|(k, v)| k.map(|k| (k.to_string(), v.map(str::to_string))))
            .collect();
        if batch.is_empty() {
            return Ok(deleted);
        }
        ensure_progress(bucket, &mut previous, &batch)?;
        deleted += delete_batch(clients, bucket, batch).await?;
    }
}

/// Each listing starts from the top, so a server that answers "deleted" but
/// keeps listing the same objects would make emptying loop for ever; the
/// same batch twice in a row stops it with an error instead.
fn ensure_progress(
    bucket: &str,
    previous: &mut Vec<(String, Option<String>)>,
    batch: &[(String, Option<String>)],
) -> Result<()> {
    if previous.as_slice() == batch {
        return Err(Error::cloud(format!(
            "emptying s3://{bucket}: the store still lists {} object(s) it reported deleted; stopping rather than looping",
            batch.len()
        )));
    }
    *previous = batch.to_vec();
    Ok(())
}

async fn empty_by_key(clients: &Clients, bucket: &str) -> Result<u64> {
    let mut deleted = 0;
    let mut previous = Vec::new();
    loop {
        let request = clients.s3.list_objects_v2().bucket(bucket).max_keys(BATCH);
        let out = throttled(clients.target.timeouts.call, || request.clone().send())
            .await
            .map_err(|e| api_error(e, "ListObjectsV2", bucket, &clients.target))?;
        let batch: Vec<(String, Option<String>)> = out
            .contents()
            .iter()
            .filter_map(|o| o.key())
            .map(|k| (k.to_string(), None))
            .collect();
        if batch.is_empty() {
            return Ok(deleted);
        }
        ensure_progress(bucket, &mut previous, &batch)?;
        deleted += delete_batch(clients, bucket, batch).await?;
    }
}

/// One batch of DeleteObjects (with Content-MD5 and the rounds of
/// `delete::delete_batch`, one call at a time); any per-key error left
/// fails the whole destroy, so a bucket is never reported empty when it is
/// not.
async fn delete_batch(
    clients: &Clients,
    bucket: &str,
    batch: Vec<(String, Option<String>)>,
) -> Result<u64> {
    let count = batch.len() as u64;
    let doomed: Vec<Doomed> = batch
        .into_iter()
        .map(|(key, version_id)| Doomed {
            key,
            version_id,
            size: 0,
        })
        .collect();
    let gate = Gate::new(1, clients.target.timeouts.call);
    let done = delete::delete_batch(&clients.s3, bucket, &clients.target, &gate, doomed).await?;
    let errors = done.errors;
    if let Some(err) = errors.first() {
        return Err(Error::cloud(format!(
            "DeleteObjects {bucket}/{}: {} {} ({} of {count} keys failed)",
            err.key,
            err.code,
            err.message,
            errors.len()
        )));
    }
    Ok(count)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_batch_twice_in_a_row_stops_the_loop() {
        let batch = |keys: &[&str]| -> Vec<(String, Option<String>)> {
            keys.iter().map(|k| ((*k).to_string(), None)).collect()
        };
        let mut previous = Vec::new();
        assert!(ensure_progress("b", &mut previous, &batch(&["a", "b"])).is_ok());
        assert!(ensure_progress("b", &mut previous, &batch(&["c"])).is_ok());
        assert!(ensure_progress("b", &mut previous, &batch(&["c"])).is_err());
    }
}
