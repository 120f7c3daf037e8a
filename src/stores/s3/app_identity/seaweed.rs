//! SeaweedFS: the app's user through the IAM API SeaweedFS serves on its S3
//! port (`-s3.iam.readOnly=false`), with the run's IAM client (its endpoint
//! is the S3 endpoint). The user carries the tool's tags (SeaweedFS 4.48
//! keeps TagUser's tags, not CreateUser's); its inline policy is the same
//! prefix-scoped document the AWS role gets, and SeaweedFS enforces it.

use aws_sdk_iam::types::Tag;
use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::{AppAdmin, NewKey};
use crate::error::{Error, Result};
use crate::plan::desired::DesiredApp;
use crate::plan::observed::{Held, ObservedApp};
use crate::secret::Secret;
use crate::stores::s3::Clients;
use crate::stores::s3::errors::api_error;
use crate::stores::s3::iam::{document, found, is_ours};

/// The users of a SeaweedFS S3 gateway.
pub struct IamUsers {
    pub clients: Clients,
    pub env: String,
}

impl IamUsers {
    fn fail<E, R>(
        &self,
        action: &str,
        name: &str,
    ) -> impl FnOnce(aws_sdk_iam::error::SdkError<E, R>) -> Error
    where
        E: aws_sdk_iam::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
        R: crate::stores::s3::errors::RawStatus + std::fmt::Debug + Send + Sync + 'static,
    {
        let target = self.clients.target.clone();
        let (action, name) = (action.to_string(), name.to_string());
        move |e| api_error(e, &action, &name, &target)
    }

    async fn observe_user(&self, want: &DesiredApp) -> Result<ObservedApp> {
        let iam = &self.clients.iam;
        let user = &want.user;
        let got = iam.get_user().user_name(user).send().await;
        if found(got, "iam:GetUser", user, &self.clients)?.is_none() {
            return Ok(ObservedApp {
                user: Held::Absent,
                policy: None,
                keys: Vec::new(),
                refused: None,
            });
        }
        let tags = iam
            .list_user_tags()
            .user_name(user)
            .send()
            .await
            .map_err(self.fail("iam:ListUserTags", user))?;
        if !is_ours(tags.tags(), &self.env) {
            return Ok(ObservedApp {
                user: Held::Foreign,
                policy: None,
                keys: Vec::new(),
                refused: None,
            });
        }
        let names = iam
            .list_user_policies()
            .user_name(user)
            .send()
            .await
            .map_err(self.fail("iam:ListUserPolicies", user))?;
        // GetUserPolicy of a missing name answers a made-up document on
        // SeaweedFS 4.48: only a listed policy is read.
        let policy = if names.policy_names().contains(&want.policy_name) {
            let got = iam
                .get_user_policy()
                .user_name(user)
                .policy_name(&want.policy_name)
                .send()
                .await
                .map_err(self.fail("iam:GetUserPolicy", &want.policy_name))?;
            Some(document(Some(got.policy_document())))
        } else {
            None
        };
        let keys = iam
            .list_access_keys()
            .user_name(user)
            .send()
            .await
            .map_err(self.fail("iam:ListAccessKeys", user))?;
        Ok(ObservedApp {
            user: Held::Ours(()),
            policy,
            keys: keys
                .access_key_metadata()
                .iter()
                .filter_map(|k| k.access_key_id().map(str::to_string))
                .collect(),
            refused: None,
        })
    }

    async fn create(&self, want: &DesiredApp) -> Result<()> {
        let iam = &self.clients.iam;
        iam.create_user()
            .user_name(&want.user)
            .send()
            .await
            .map_err(self.fail("iam:CreateUser", &want.user))?;
        let tags = want
            .tags
            .iter()
            .map(|(k, v)| Tag::builder().key(k).value(v).build())
            .collect::<std::result::Result<Vec<_>, _>>()
            .map_err(|e| Error::cloud(format!("building IAM tags: {e}")))?;
        iam.tag_user()
            .user_name(&want.user)
            .set_tags(Some(tags))
            .send()
            .await
            .map_err(self.fail("iam:TagUser", &want.user))?;
        Ok(())
    }

    async fn key(&self, want: &DesiredApp) -> Result<NewKey> {
        let made = self
            .clients
            .iam
            .create_access_key()
            .user_name(&want.user)
            .send()
            .await
            .map_err(self.fail("iam:CreateAccessKey", &want.user))?;
        let key = made
            .access_key()
            .ok_or_else(|| Error::cloud("iam:CreateAccessKey answered no key"))?;
        Ok(NewKey {
            id: key.access_key_id().to_string(),
            secret: Secret::new(key.secret_access_key()),
        })
    }
}

impl AppAdmin for IamUsers {
    fn observe<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<ObservedApp>> {
        self.observe_user(want).boxed_local()
    }

    fn create_user<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        self.create(want).boxed_local()
    }

    fn put_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.clients
                .iam
                .put_user_policy()
                .user_name(&want.user)
                .policy_name(&want.policy_name)
                .policy_document(want.policy.to_string())
                .send()
                .await
                .map_err(self.fail("iam:PutUserPolicy", &want.policy_name))?;
            Ok(())
        }
        .boxed_local()
    }

    fn create_key<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<NewKey>> {
        self.key(want).boxed_local()
    }

    fn delete_key<'a>(
        &'a self,
        want: &'a DesiredApp,
        id: &'a str,
    ) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.clients
                .iam
                .delete_access_key()
                .user_name(&want.user)
                .access_key_id(id)
                .send()
                .await
                .map_err(self.fail("iam:DeleteAccessKey", id))?;
            Ok(())
        }
        .boxed_local()
    }

    fn delete_policy<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.clients
                .iam
                .delete_user_policy()
                .user_name(&want.user)
                .policy_name(&want.policy_name)
                .send()
                .await
                .map_err(self.fail("iam:DeleteUserPolicy", &want.policy_name))?;
            Ok(())
        }
        .boxed_local()
    }

    fn delete_user<'a>(&'a self, want: &'a DesiredApp) -> LocalBoxFuture<'a, Result<()>> {
        async move {
            self.clients
                .iam
                .delete_user()
                .user_name(&want.user)
                .send()
                .await
                .map_err(self.fail("iam:DeleteUser", &want.user))?;
            Ok(())
        }
        .boxed_local()
    }
}
