//! The app's own identity on a self-hosted store: one `AppAdmin` per way a
//! provider provisions it (`spec::AppIdentity`), behind one small trait so
//! the provisioner does not care which: SeaweedFS's IAM API on the S3 port
//! (`seaweed`), MinIO's admin API (`minio`, over `stores::s3::admin::minio`) and
//! Garage's admin API v2 (`garage`: plain HTTP, so it lives with the
//! other raw HTTP clients). `stores::s3::app_identity::adapters` picks one per provider.
//!
//! # Adding a provider
//!
//! Implement `AppAdmin` in a new file (observe the user, its policy and
//! keys; create the user; put the policy; create a key; delete each), add an
//! `AppIdentity` variant in `spec::provider` and return it from the
//! provider's capability row, and add its arm to `stores::s3::app_identity::adapters::admin`.
//! Planning, the credentials file, rotation and the privilege probe need no
//! change.
//!
//! A new key's secret lives in a `Secret` (it prints `[redacted]`) from the
//! answer that carries it to the credentials file (`KeySink`, written by
//! `ops`), and nowhere else.

pub(crate) mod adapters;
pub mod execute;
pub mod garage;
pub(crate) mod key_check;
pub(crate) mod key_file;
pub mod minio;
pub mod prove;
pub mod seaweed;

use futures::future::LocalBoxFuture;

use crate::error::Result;
use crate::plan::desired::DesiredApp;
use crate::plan::observed::ObservedApp;
use crate::secret::Secret;

/// A key just made: its id, and the secret that leaves only through `KeySink`.
#[derive(Debug, Clone)]
pub struct NewKey {
    pub id: String,
    pub secret: Secret,
}

/// Provisions the app's identity on one kind of store.
pub trait AppAdmin: Send + Sync {
    /// The user (the tool's or not), its policy and its key ids.
    fn observe<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<ObservedApp>>;
    /// Creates the user, marked as the tool's.
    fn create_user<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>>;
    /// Sets what the user may do (creates or replaces).
    fn put_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>>;
    /// Makes a new access key for the user, allowed what its policy says.
    fn create_key<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<NewKey>>;
    /// Deletes one of the user's keys.
    fn delete_key<'a>(
        &'a self,
        want: &'a DesiredApp,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<()>>;
    /// Removes the user's policy.
    fn delete_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>>;
    /// Deletes the user (its keys and policy are gone already).
    fn delete_user<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>>;
}

/// Where a new key's secret goes (the credentials file, written by `ops`).
pub trait KeySink: Send + Sync {
    /// Refuses before any key is made when it could not be written.
    fn ready(&self, rotating: bool) -> Result<()>;
    /// Writes the key; says where, for the user (never the secret).
    fn write(&self, key: &NewKey, rotating: bool) -> Result<String>;
}
