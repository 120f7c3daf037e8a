//! Executing the plan's changes to the app's identity (`iam.user`,
//! `iam.user-policy`, `iam.access-key`) through an `AppAdmin`. A new key is
//! proven (write, read, delete under the prefix with the key itself)
//! before its secret is written; a key that fails the proof or cannot be
//! written is deleted again, so no working key exists that nobody holds.
//! Rotation makes, proves and writes the new key before deleting the old.

use serde_json::Value;

use super::{AppAdmin, KeySink, NewKey, prove};
use crate::error::{Error, Result};
use crate::plan::desired::DesiredApp;
use crate::plan::{Action, Change, Resource};
use crate::spec::S3Storage;
use crate::stores::s3::Clients;
use crate::stores::s3::applied::Applied;

/// What the provisioner needs for the app's identity.
pub struct AppSetup<'a> {
    pub admin: Box<dyn AppAdmin>,
    /// Where a new key goes; `None` for runs that make no key (destroy).
    pub keys: Option<&'a dyn KeySink>,
    pub s3: S3Storage,
}

impl AppSetup<'_> {
    /// Executes one change to the app's identity.
    pub async fn execute(
        &self,
        clients: &Clients,
        want: &DesiredApp,
        change: &Change,
    ) -> Result<Applied> {
        let admin = self.admin.as_ref();
        match (change.resource, change.action) {
            (_, Action::None) => Ok(Applied::Done),
            (Resource::IamUser, Action::Delete) => {
                admin.delete_user(want).await.map(|()| Applied::Done)
            }
            (Resource::IamUser, _) => admin.create_user(want).await.map(|()| Applied::Done),
            (Resource::IamUserPolicy, Action::Delete) => {
                admin.delete_policy(want).await.map(|()| Applied::Done)
            }
            (Resource::IamUserPolicy, _) => admin.put_policy(want).await.map(|()| Applied::Done),
            (Resource::IamAccessKey, Action::Delete) => {
                for id in key_ids(change) {
                    admin.delete_key(want, &id).await?;
                }
                Ok(Applied::Done)
            }
            (Resource::IamAccessKey, action) => {
                let rotating = action == Action::Update;
                let written = self.new_key(clients, want, rotating).await?;
                if rotating {
                    for id in key_ids(change) {
                        admin.delete_key(want, &id).await?;
                    }
                    return Ok(Applied::Noted(format!(
                        "new key written to {written}; the old key deleted"
                    )));
                }
                Ok(Applied::Noted(format!(
                    "secret written to {written} (only there)"
                )))
            }
            (resource, _) => Err(Error::usage(format!(
                "{}: not part of the app's identity",
                resource.id()
            ))),
        }
    }

    /// Makes a key, proves it, writes it; deletes it again on any failure.
    async fn new_key(
        &self,
        clients: &Clients,
        want: &DesiredApp,
        rotating: bool,
    ) -> Result<String> {
        let Some(keys) = self.keys else {
            return Err(Error::usage("no place to write a new key in this run"));
        };
        keys.ready(rotating)?;
        let key = self.admin.create_key(want).await?;
        match self.prove_and_write(clients, keys, &key, rotating).await {
            Ok(written) => Ok(written),
            Err(e) => {
                if let Err(left) = self.admin.delete_key(want, &key.id).await {
                    tracing::warn!(key = %key.id, error = %left, "the unproven key could not be deleted");
                }
                Err(e)
            }
        }
    }

    async fn prove_and_write(
        &self,
        clients: &Clients,
        keys: &dyn KeySink,
        key: &NewKey,
        rotating: bool,
    ) -> Result<String> {
        let app = prove::clients_for(&clients.target, &key.id, &key.secret)?;
        let result = prove::new_key_works(&app, &self.s3).await;
        if result.status != crate::check::Status::Pass {
            return Err(Error::cloud(format!(
                "the new key {} does not work under {}/{} (deleted again): {}",
                key.id,
                self.s3.bucket,
                self.s3.prefix.dir(),
                result.message
            )));
        }
        keys.write(key, rotating)
    }
}

/// The key ids a change names (`before.access_key_ids`).
fn key_ids(change: &Change) -> Vec<String> {
    change
        .before
        .as_ref()
        .and_then(|b| b.get("access_key_ids"))
        .and_then(Value::as_array)
        .map(|ids| {
            ids.iter()
                .filter_map(|i| i.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}
