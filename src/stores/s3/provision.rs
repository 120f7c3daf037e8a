//! The provisioning adapter: observes everything a desired bucket names and
//! executes one plan change at a time against S3 and IAM.

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use super::app_identity::execute::AppSetup;
pub use super::applied::Applied;
use super::{Clients, bucket, bucket_write, empty, iam, iam_write, lifecycle_write};
use crate::error::{ApiCause, Error, Result};
use crate::plan::desired::{DesiredApp, DesiredBucket};
use crate::plan::observed::{Observed, ObservedApp};
use crate::plan::{Action, Change, Resource};
use crate::spec::ids::lifecycle_rule_id;
use crate::stores::Provision;

/// Executes the changes of one environment's bucket and IAM identity.
pub struct Provisioner<'a> {
    pub clients: &'a Clients,
    pub want: &'a DesiredBucket,
    pub env: &'a str,
    /// The managed policy's ARN, when the spec has `iam`.
    pub policy_arn: Option<String>,
    /// The app's identity on a self-hosted store (`iam.user`).
    pub app: Option<AppSetup<'a>>,
}

impl<'a> Provisioner<'a> {
    /// Connects the pieces; looks up the policy ARN once when needed.
    pub async fn new(
        clients: &'a Clients,
        want: &'a DesiredBucket,
        env: &'a str,
    ) -> Result<Provisioner<'a>> {
        let policy_arn = match &want.iam {
            Some(i) => Some(iam::policy_arn(clients, &i.policy_name).await?),
            None => None,
        };
        Ok(Provisioner {
            clients,
            want,
            env,
            policy_arn,
            app: None,
        })
    }

    /// Adds the app's identity on a self-hosted store.
    pub fn with_app(mut self, app: Option<AppSetup<'a>>) -> Provisioner<'a> {
        self.app = app;
        self
    }

    /// Reads the bucket and, with `iam`, the IAM identity.
    pub async fn observe(&self) -> Result<Observed> {
        let bucket = bucket::observe(self.clients, self.want, self.env).await?;
        let iam = match (&self.want.iam, &self.policy_arn) {
            (Some(want), Some(arn)) => Some(iam::observe(self.clients, want, arn, self.env).await?),
            _ => None,
        };
        let app = match (&self.want.app, &self.app) {
            (Some(want), Some(setup)) => Some(Box::new(match setup.admin.observe(want).await {
                Ok(seen) => seen,
                Err(e) => admin_refused(&e, want).ok_or(e)?,
            })),
            _ => None,
        };
        Ok(Observed::Bucket {
            bucket: Box::new(bucket),
            iam,
            app,
        })
    }

    /// Executes one pending change; `empty` allows deleting a bucket's content.
    pub async fn execute(&self, change: &Change, empty: bool) -> Result<Applied> {
        let (c, b) = (self.clients, self.want.name.as_str());
        let rule_id = lifecycle_rule_id(self.env);
        match (change.resource, change.action) {
            (_, Action::None) => Ok(Applied::Done),
            (Resource::Bucket, Action::Create) => {
                bucket_write::create(c, self.want, self.env).await
            }
            (Resource::Bucket, Action::Delete) => self.delete_bucket(empty).await,
            (Resource::Versioning, _) => bucket_write::versioning(c, b).await,
            (Resource::Lifecycle, Action::Delete) => {
                lifecycle_write::lifecycle(c, b, None, &rule_id).await
            }
            (Resource::Lifecycle, _) => {
                lifecycle_write::lifecycle(c, b, Some(&self.want.lifecycle_rule), &rule_id).await
            }
            (Resource::PublicAccessBlock, _) => bucket_write::public_access_block(c, b).await,
            (Resource::OwnershipControls, _) => bucket_write::ownership_controls(c, b).await,
            (Resource::Encryption, _) => bucket_write::encryption(c, b).await,
            (Resource::Policy, Action::Delete) => bucket_write::policy(c, b, None).await,
            (Resource::Inventory, Action::Delete) => {
                let id = crate::spec::ids::inventory_id(self.env);
                super::inventory::config::delete(c, b, &id).await
            }
            (Resource::Inventory, _) => match &self.want.inventory {
                Some(want) => super::inventory::config::put(c, b, want).await,
                None => Err(Error::usage(
                    "bucket.inventory: the spec asks for no inventory",
                )),
            },
            (Resource::Policy, _) => {
                bucket_write::policy(c, b, Some(&self.want.tls_statement)).await
            }
            (Resource::IamUser | Resource::IamUserPolicy | Resource::IamAccessKey, _) => {
                match (&self.want.app, &self.app) {
                    (Some(want), Some(setup)) => setup.execute(c, want, change).await,
                    _ => Err(Error::usage(format!(
                        "{}: the spec names no app user",
                        change.resource.id()
                    ))),
                }
            }
            (resource, action) => self.execute_iam(resource, action).await,
        }
    }

    async fn execute_iam(&self, resource: Resource, action: Action) -> Result<Applied> {
        let c = self.clients;
        let (Some(want), Some(arn)) = (&self.want.iam, &self.policy_arn) else {
            return Err(Error::usage(format!(
                "{}: the spec has no iam section",
                resource.id()
            )));
        };
        let profile = want.instance_profile.as_deref().unwrap_or_default();
        match (resource, action) {
            (Resource::IamPolicy, Action::Create) => iam_write::create_policy(c, want).await,
            (Resource::IamPolicy, Action::Update) => iam_write::update_policy(c, want, arn).await,
            (Resource::IamPolicy, _) => iam_write::delete_policy(c, arn).await,
            (Resource::IamRole, Action::Create) => iam_write::create_role(c, want).await,
            (Resource::IamRole, Action::Update) => iam_write::update_role(c, want).await,
            (Resource::IamRole, _) => iam_write::delete_role(c, &want.role_name).await,
            (Resource::IamAttachment, Action::Delete) => {
                iam_write::detach(c, &want.role_name, arn).await
            }
            (Resource::IamAttachment, _) => iam_write::attach(c, &want.role_name, arn).await,
            (Resource::IamInstanceProfile, Action::Delete) => {
                iam_write::delete_profile(c, profile).await
            }
            (Resource::IamInstanceProfile, action) => {
                iam_write::put_profile(c, want, profile, action == Action::Create).await
            }
            (resource, _) => Err(Error::usage(format!(
                "{}: not a cloud resource",
                resource.id()
            ))),
        }
    }

    /// Refuses a bucket with content unless `empty`: checked before destroy
    /// changes anything, so a refusal leaves everything as it was.
    pub async fn check_deletable(&self, empty: bool) -> Result<()> {
        let b = self.want.name.as_str();
        if empty || bucket_write::is_empty(self.clients, b).await? {
            return Ok(());
        }
        Err(Error::usage_with_hint(
            format!("bucket {b} is not empty: refusing to delete it (nothing was changed)"),
            "pass --empty to delete every object, version and delete marker first",
        ))
    }

    /// Empties the bucket when asked (and allowed), then deletes it.
    async fn delete_bucket(&self, empty: bool) -> Result<Applied> {
        let (c, b) = (self.clients, self.want.name.as_str());
        let mut note = None;
        if !bucket_write::is_empty(c, b).await? {
            self.check_deletable(empty).await?;
            let count = empty::empty_bucket(c, b).await?;
            note = Some(format!(
                "emptied first: {count} objects, versions and delete markers deleted"
            ));
        } else {
            // Only the tool's marker may be left: it goes with the bucket.
            empty::empty_bucket(c, b).await?;
        }
        bucket_write::delete(c, b).await?;
        Ok(note.map_or(Applied::Done, Applied::Noted))
    }
}

impl Provision for Provisioner<'_> {
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>> {
        Provisioner::execute(self, change, empty).boxed_local()
    }
}

/// Why an admin identity the store refuses to let manage users
/// (SeaweedFS's IAM API, MinIO's admin API: the run's own credentials) may
/// not, and how to fix it; `None` for any other failure, which stays an
/// error.
fn admin_refused(e: &Error, want: &DesiredApp) -> Option<ObservedApp> {
    let Error::Api(failure) = e else {
        return None;
    };
    matches!(failure.cause, ApiCause::AccessDenied | ApiCause::Forbidden).then(|| {
        ObservedApp::refused(
            format!(
                "{e}: the run's credentials may not manage the app's user {}",
                want.user
            ),
            "run apply with an admin's credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY)",
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ApiFailure;
    use crate::spec::AppIdentity;

    fn failure(status: u16, cause: ApiCause) -> Error {
        Error::Api(Box::new(ApiFailure {
            operation: "iam:GetUser".into(),
            resource: "app".into(),
            endpoint: "http://127.0.0.1:8333".into(),
            status: Some(status),
            code: None,
            message: None,
            cause,
            hint: None,
        }))
    }

    /// SeaweedFS answers a non-admin key's IAM call with a bare 403: a
    /// note in the plan; anything else stays the error it was.
    #[test]
    fn only_a_denied_admin_call_becomes_a_note() {
        let want = DesiredApp {
            kind: AppIdentity::IamUser,
            user: "app".into(),
            policy_name: "p".into(),
            policy: serde_json::json!({}),
            tags: Vec::new(),
        };
        let seen = admin_refused(&failure(403, ApiCause::Forbidden), &want);
        let note = seen
            .and_then(|s| s.refused)
            .map(|r| r.note())
            .unwrap_or_default();
        assert!(
            note.starts_with("not planned: iam:GetUser on app: access denied (HTTP 403): the run's credentials may not manage the app's user app;"),
            "{note}"
        );
        assert!(note.contains("remove `iam:` from the spec"), "{note}");
        let silent = ApiCause::Silent {
            limit: "20s".into(),
        };
        assert!(admin_refused(&failure(0, silent), &want).is_none());
        assert!(admin_refused(&Error::cloud("boom"), &want).is_none());
    }
}
