//! The app's own credentials at work: clients signed with one static key
//! (a key just made, or the app's key from the environment or its
//! credentials file), and the proof that a new key can write, read and
//! delete under the prefix. A new key may take a moment to be honoured by
//! the store (SeaweedFS reloads its identities), so the proof retries until
//! a deadline, never with a fixed sleep.

use std::time::{Duration, Instant};

use aws_config::BehaviorVersion;
use aws_credential_types::Credentials;
use aws_types::region::Region;

use crate::check::{CheckResult, Status};
use crate::error::Result;
use crate::secret::Secret;
use crate::spec::S3Storage;
use crate::stores::s3::checks::probe;
use crate::stores::s3::{Clients, Target};
use crate::transport::retry;

/// How long a new key may take before the store honours it.
const SETTLE: Duration = Duration::from_secs(20);

/// Clients that sign with `id` / `secret` only (no chain, no profile).
pub fn clients_for(target: &Target, id: &str, secret: &Secret) -> Result<Clients> {
    let credentials = Credentials::new(id, secret.expose(), None, None, "chronotrace-ops-app");
    let mut loader = aws_config::SdkConfig::builder()
        .behavior_version(BehaviorVersion::latest())
        .region(Region::new(target.region.clone()))
        .retry_config(retry::sdk())
        .timeout_config(target.timeouts.sdk())
        .http_client(crate::transport::https::http_client(
            target.ca_bundle.as_deref(),
        )?)
        .credentials_provider(
            aws_credential_types::provider::SharedCredentialsProvider::new(credentials),
        );
    if let Some(endpoint) = &target.endpoint {
        loader = loader.endpoint_url(endpoint);
    }
    Ok(Clients::from_shared(&loader.build(), target))
}

/// Writes, reads and deletes under the prefix with the new key, retrying
/// while the store has not taken the key in yet; the last result.
pub async fn new_key_works(clients: &Clients, s3: &S3Storage) -> CheckResult {
    let started = Instant::now();
    let mut pause = Duration::from_millis(250);
    loop {
        let result = probe::check(clients, s3).await;
        if result.status == Status::Pass || started.elapsed() + pause > SETTLE {
            return result;
        }
        tracing::debug!(message = %result.message, ?pause, "new key not honoured yet");
        tokio::time::sleep(pause).await;
        pause = (pause * 2).min(Duration::from_secs(4));
    }
}
