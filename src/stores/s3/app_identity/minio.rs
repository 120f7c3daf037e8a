//! The app's identity on MinIO, through its admin API
//! (`stores::s3::admin::minio`: signed, bodies encrypted as MinIO does).
//!
//! MinIO's built-in users *are* access keys: the user `iam.user` is the
//! app's access key id, and its one key is the user's own secret. So
//! `create_user` makes the user with a throwaway secret nobody sees and
//! attaches the tool's canned policy at once (the attachment is how the
//! tool knows the user as its own: MinIO users carry no tags, and a user of
//! that name without the tool's policy is someone else's, never changed);
//! `create_key` sets a fresh secret on it (MinIO replaces a user's secret in
//! place), which `apply` proves and writes to the credentials file.
//! Rotation is therefore in place too: the old secret stops working when
//! the new one is set, and `delete_key` of the old key has nothing left to
//! do. The admin signs with the run's own credentials (for MinIO, the
//! standard AWS variables), resolved once.

use aws_credential_types::provider::ProvideCredentials;
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use tokio::sync::OnceCell;

use super::{AppAdmin, NewKey};
use crate::error::{Error, Result};
use crate::plan::desired::DesiredApp;
use crate::plan::observed::{Held, ObservedApp};
use crate::secret::Secret;
use crate::stores::s3::Clients;
use crate::stores::s3::admin::minio::MinioAdmin;

/// The app's user on one MinIO server.
pub struct MinioUsers {
    clients: Option<Clients>,
    admin: OnceCell<MinioAdmin>,
}

impl MinioUsers {
    /// Through the run's clients: the admin client is made on first use,
    /// signing with the credentials the clients resolved.
    pub fn new(clients: &Clients) -> MinioUsers {
        MinioUsers {
            clients: Some(clients.clone()),
            admin: OnceCell::new(),
        }
    }

    // Only the tests reach this (the `testing` feature): the tool itself does not.
    #[cfg(any(test, feature = "testing"))]
    /// With an admin client made elsewhere (the tests' responder).
    pub fn with_admin(admin: MinioAdmin) -> MinioUsers {
        MinioUsers {
            clients: None,
            admin: OnceCell::new_with(Some(admin)),
        }
    }

    async fn admin(&self) -> Result<&MinioAdmin> {
        self.admin.get_or_try_init(|| self.connect()).await
    }

    async fn connect(&self) -> Result<MinioAdmin> {
        let clients = self
            .clients
            .as_ref()
            .ok_or_else(|| Error::usage("MinIO's admin client needs the run's clients"))?;
        let target = &clients.target;
        let endpoint = target
            .endpoint
            .clone()
            .ok_or_else(|| Error::usage("MinIO's admin API needs the environment's endpoint"))?;
        let provider = clients.credentials.as_ref().ok_or_else(|| {
            Error::cloud(
                "no credentials for MinIO's admin API (AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY)",
            )
        })?;
        let limit = target.timeouts.credentials();
        let credentials = tokio::time::timeout(limit, provider.provide_credentials())
            .await
            .map_err(|_| Error::cloud("no credentials for MinIO's admin API in time"))?
            .map_err(|e| Error::cloud(format!("no credentials for MinIO's admin API: {e}")))?;
        let tls = if endpoint.starts_with("https://") {
            Some(
                crate::transport::trust::client_config(target.ca_bundle.as_deref())
                    .map_err(|e| Error::usage(e.to_string()))?,
            )
        } else {
            None
        };
        Ok(MinioAdmin::new(
            &endpoint,
            &target.region,
            credentials.access_key_id(),
            Secret::new(credentials.secret_access_key()),
            tls,
            &target.timeouts,
        ))
    }

    async fn observe_user(&self, want: &DesiredApp) -> Result<ObservedApp> {
        let admin = self.admin().await?;
        let Some(info) = admin.user_info(&want.user).await? else {
            return Ok(ObservedApp {
                user: Held::Absent,
                policy: None,
                keys: Vec::new(),
                refused: None,
            });
        };
        if !info.policies().contains(&want.policy_name.as_str()) {
            return Ok(ObservedApp {
                user: Held::Foreign,
                policy: None,
                keys: Vec::new(),
                refused: None,
            });
        }
        Ok(ObservedApp {
            user: Held::Ours(()),
            policy: admin.policy(&want.policy_name).await?,
            // The user is its own access key.
            keys: vec![want.user.clone()],
            refused: None,
        })
    }

    /// Creates (or replaces) the canned policy and attaches it to the user.
    async fn policy(&self, want: &DesiredApp) -> Result<()> {
        let admin = self.admin().await?;
        admin
            .ensure_policy(&want.policy_name, &want.policy.to_string())
            .await?;
        admin.attach_policy(&want.user, &want.policy_name).await?;
        Ok(())
    }

    async fn create(&self, want: &DesiredApp) -> Result<()> {
        // A secret nobody sees: `create_key` sets the one the app gets.
        let throwaway = Secret::new(&fresh_secret()?);
        self.admin().await?.add_user(&want.user, &throwaway).await?;
        self.policy(want).await
    }

    async fn key(&self, want: &DesiredApp) -> Result<NewKey> {
        let secret = Secret::new(&fresh_secret()?);
        self.admin().await?.add_user(&want.user, &secret).await?;
        Ok(NewKey {
            id: want.user.clone(),
            secret,
        })
    }

    async fn remove_user(&self, want: &DesiredApp) -> Result<()> {
        self.admin().await?.remove_user(&want.user).await?;
        Ok(())
    }
}

impl AppAdmin for MinioUsers {
    fn observe<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<ObservedApp>> {
        self.observe_user(want).boxed_local()
    }

    fn create_user<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        self.create(want).boxed_local()
    }

    fn put_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        self.policy(want).boxed_local()
    }

    fn create_key<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<NewKey>> {
        self.key(want).boxed_local()
    }

    fn delete_key<'a>(
        &'a self,
        want: &'a DesiredApp,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<()>> {
        // The user's one key is the user itself: a rotation already
        // replaced its secret, and `delete_user` removes it.
        let _ = (want, id);
        futures::future::ready(Ok(())).boxed_local()
    }

    fn delete_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            // The user goes first: MinIO may refuse to remove a policy that
            // is still attached, and removing the user drops the mapping.
            self.remove_user(want).await?;
            self.admin().await?.remove_policy(&want.policy_name).await?;
            Ok(())
        }
        .boxed_local()
    }

    fn delete_user<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        self.remove_user(want).boxed_local()
    }
}

/// A fresh secret: 40 hex characters (160 bits), `credentials_file`'s
/// one generator (MinIO takes 8 to 40 characters).
fn fresh_secret() -> Result<String> {
    crate::credentials_file::random_hex(20)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fresh_secrets_are_forty_characters_and_differ() {
        let (a, b) = (fresh_secret().expect("a"), fresh_secret().expect("b"));
        assert_eq!(a.len(), 40);
        assert!(a.chars().all(|c| c.is_ascii_alphanumeric()));
        assert_ne!(a, b);
    }
}
