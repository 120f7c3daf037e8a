//! `plan`, `apply` and `destroy` of a GCS bucket: the bucket (made with
//! the tool's label `managed-by: chronotrace-ops`, its location), its
//! settings (uniform bucket-level access, public access prevention
//! enforced, versioning and soft delete as the spec says), and the tool's
//! lifecycle rule (`Delete` at `age: retention_days` with `matchesPrefix:
//! [prefix/]`) merged with the rules others own. Every write is read back:
//! a server that answers 200 and keeps nothing (fake-gcs-server drops
//! lifecycle rules) fails the change. `destroy` removes the tool's rule,
//! and the bucket only when it carries the tool's label and is empty.
//! The app's binding (`iam: {service_account}`) is on the bucket, never
//! the project: `roles/storage.objectUser` (read, write, list and delete
//! objects, no IAM) with an IAM Condition on the prefix (the objects under
//! it, and listings of it: `checks::prefix_condition`), written with the
//! policy's etag (a concurrent change is read again and redone).

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use serde_json::{Value, json};

use super::checks::{APP_ROLE, prefix_condition};
use super::client::Gcs;
use crate::error::{Error, Result};
use crate::plan::{Action, Change, Plan, Resource};
use crate::spec::GcsStorage;
use crate::stores::{Applied, Provision};

/// The tool's mark on what it made.
const LABEL_KEY: &str = "managed-by";
const LABEL_VALUE: &str = "chronotrace-ops";
/// The title of the tool's binding's condition: how it recognises its own.
const BINDING_TITLE: &str = "chronotrace-ops traces";

/// What the spec wants of one bucket, and the connection to it.
pub(crate) struct Provisioner<'a> {
    pub(crate) gcs: Gcs,
    pub(crate) spec: &'a GcsStorage,
    pub(crate) retention_days: u32,
}

impl Provisioner<'_> {
    /// The settings the tool keeps, as the JSON API writes them.
    fn settings(&self) -> Value {
        let mut settings = json!({
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": true},
                "publicAccessPrevention": "enforced"
            },
            "versioning": {"enabled": self.spec.versioning},
            "labels": {LABEL_KEY: LABEL_VALUE},
        });
        if let Some(days) = self.spec.soft_delete_days {
            settings["softDeletePolicy"] =
                json!({"retentionDurationSeconds": (u64::from(days) * 86_400).to_string()});
        }
        settings
    }

    /// The settings of `bucket` that differ from the wanted ones: (found, wanted).
    fn settings_drift(&self, bucket: &Value) -> Option<(Value, Value)> {
        let want = self.settings();
        let found = json!({
            "iamConfiguration": {
                "uniformBucketLevelAccess": {"enabled": bucket["iamConfiguration"]["uniformBucketLevelAccess"]["enabled"] == true},
                "publicAccessPrevention": bucket["iamConfiguration"]["publicAccessPrevention"].clone()
            },
            "versioning": {"enabled": bucket["versioning"]["enabled"] == true},
            "labels": {LABEL_KEY: bucket["labels"][LABEL_KEY].clone()},
        });
        let mut found = found;
        if want.get("softDeletePolicy").is_some() {
            let seconds = &bucket["softDeletePolicy"]["retentionDurationSeconds"];
            let seconds = seconds
                .as_str()
                .map(str::to_string)
                .or_else(|| seconds.as_u64().map(|n| n.to_string()));
            found["softDeletePolicy"] = json!({"retentionDurationSeconds": seconds});
        }
        (found != want).then_some((found, want))
    }

    /// The tool's rule.
    fn rule(&self) -> Value {
        json!({
            "action": {"type": "Delete"},
            "condition": {"age": self.retention_days, "matchesPrefix": [self.spec.prefix.dir()]}
        })
    }

    /// Whether `rule` is the tool's (whatever its age): a `Delete` on
    /// exactly `[prefix/]`.
    fn is_ours(&self, rule: &Value) -> bool {
        rule["action"]["type"] == "Delete"
            && rule["condition"]["matchesPrefix"] == json!([self.spec.prefix.dir()])
    }

    /// The app's binding, when the spec names its service account.
    fn binding(&self) -> Option<Value> {
        let account = self.spec.service_account.as_ref()?;
        Some(json!({
            "role": APP_ROLE,
            "members": [format!("serviceAccount:{account}")],
            "condition": {
                "title": BINDING_TITLE,
                "description": "the ChronoTrace app's traces only",
                "expression": prefix_condition(self.spec),
            }
        }))
    }

    /// Whether `binding` is the tool's (by its condition's title).
    fn is_our_binding(binding: &Value) -> bool {
        binding["condition"]["title"] == BINDING_TITLE
    }

    fn bindings(policy: &Value) -> Vec<Value> {
        policy["bindings"].as_array().cloned().unwrap_or_default()
    }

    /// The binding's line of a plan, from the policy as read.
    async fn binding_change(&self, destroy: bool) -> Result<Option<Change>> {
        let Some(want) = self.binding() else {
            return Ok(None);
        };
        let policy = self
            .gcs
            .iam_policy(&self.spec.bucket)
            .await?
            .unwrap_or_default();
        let ours = Self::bindings(&policy)
            .into_iter()
            .find(Self::is_our_binding);
        Ok(Some(match (ours, destroy) {
            (Some(found), true) => {
                Change::new(Resource::GcsIamBinding, Action::Delete).with_before(found)
            }
            (None, true) => {
                Change::noted(Resource::GcsIamBinding, "the tool's binding is not there")
            }
            (None, false) => Change::new(Resource::GcsIamBinding, Action::Create).with_after(want),
            (Some(found), false) if found == want => {
                Change::new(Resource::GcsIamBinding, Action::None)
            }
            (Some(found), false) => Change::new(Resource::GcsIamBinding, Action::Update)
                .with_before(found)
                .with_after(want),
        }))
    }

    /// Writes the policy with the tool's binding (or without it), others'
    /// bindings kept, with the etag it was read with; a 412 is read again
    /// and redone (`retry::contended`); then read back.
    async fn write_binding(&self, keep: bool) -> Result<Applied> {
        let want = self.binding();
        let mut pauses = backon::BackoffBuilder::build(crate::transport::retry::contended());
        loop {
            let policy = self
                .gcs
                .iam_policy(&self.spec.bucket)
                .await?
                .unwrap_or_default();
            let mut bindings: Vec<Value> = Self::bindings(&policy)
                .into_iter()
                .filter(|b| !Self::is_our_binding(b))
                .collect();
            if keep {
                bindings.extend(want.clone());
            }
            let written = json!({
                "version": 3,
                "etag": policy["etag"].clone(),
                "bindings": bindings,
            });
            if self.gcs.set_iam_policy(&self.spec.bucket, &written).await? {
                break;
            }
            match pauses.next() {
                Some(pause) => tokio::time::sleep(pause).await,
                None => {
                    return Err(Error::cloud(format!(
                        "bucket {}: its IAM policy kept changing under the tool (412 at every round): run the command again",
                        self.spec.bucket
                    )));
                }
            }
        }
        let back = self
            .gcs
            .iam_policy(&self.spec.bucket)
            .await?
            .unwrap_or_default();
        let found = Self::bindings(&back).into_iter().find(Self::is_our_binding);
        if (found.is_some() && found == want) == keep {
            Ok(Applied::Done)
        } else {
            Err(Error::cloud(format!(
                "bucket {}: the server accepted the IAM policy but {} the app's binding (read back)",
                self.spec.bucket,
                if keep { "did not keep" } else { "still has" }
            )))
        }
    }

    fn rules(bucket: &Value) -> Vec<Value> {
        bucket["lifecycle"]["rule"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// What `apply` would change.
    pub(crate) async fn plan(&self, env: &str) -> Result<Plan> {
        let mut changes = Vec::new();
        match self.gcs.bucket(&self.spec.bucket).await? {
            None => {
                let mut bucket = json!({"name": self.spec.bucket});
                if let Some(location) = &self.spec.location {
                    bucket["location"] = location.clone().into();
                }
                changes.push(Change::new(Resource::GcsBucket, Action::Create).with_after(bucket));
                changes.push(
                    Change::new(Resource::GcsBucketSettings, Action::Update)
                        .with_after(self.settings()),
                );
                changes.push(
                    Change::new(Resource::GcsLifecycle, Action::Create).with_after(self.rule()),
                );
                if let Some(binding) = self.binding() {
                    changes.push(
                        Change::new(Resource::GcsIamBinding, Action::Create).with_after(binding),
                    );
                }
            }
            Some(bucket) => {
                changes.push(Change::new(Resource::GcsBucket, Action::None));
                changes.push(match self.settings_drift(&bucket) {
                    Some((found, want)) => Change::new(Resource::GcsBucketSettings, Action::Update)
                        .with_before(found)
                        .with_after(want),
                    None => Change::new(Resource::GcsBucketSettings, Action::None),
                });
                let ours = Self::rules(&bucket).into_iter().find(|r| self.is_ours(r));
                changes.push(match ours {
                    None => {
                        Change::new(Resource::GcsLifecycle, Action::Create).with_after(self.rule())
                    }
                    Some(rule) if rule == self.rule() => {
                        Change::new(Resource::GcsLifecycle, Action::None)
                    }
                    Some(rule) => Change::new(Resource::GcsLifecycle, Action::Update)
                        .with_before(rule)
                        .with_after(self.rule()),
                });
                changes.extend(self.binding_change(false).await?);
            }
        }
        Ok(Plan {
            env: env.to_string(),
            changes,
        })
    }

    /// What `destroy` would remove.
    pub(crate) async fn removal(&self, env: &str) -> Result<Plan> {
        let mut changes = Vec::new();
        if let Some(bucket) = self.gcs.bucket(&self.spec.bucket).await? {
            let ours = Self::rules(&bucket).into_iter().find(|r| self.is_ours(r));
            changes.push(match ours {
                Some(rule) => Change::new(Resource::GcsLifecycle, Action::Delete).with_before(rule),
                None => Change::noted(Resource::GcsLifecycle, "the tool's rule is not there"),
            });
            changes.extend(self.binding_change(true).await?);
            let marked = bucket["labels"][LABEL_KEY] == LABEL_VALUE;
            let empty = self
                .gcs
                .list(&self.spec.bucket, "", true, None)
                .await?
                .items
                .is_empty();
            changes.push(match (marked, empty) {
                (true, true) => Change::new(Resource::GcsBucket, Action::Delete)
                    .with_before(json!({"name": self.spec.bucket})),
                (false, _) => Change::noted(
                    Resource::GcsBucket,
                    "not made by the tool (no managed-by: chronotrace-ops label): kept",
                ),
                (true, false) => Change::noted(
                    Resource::GcsBucket,
                    "holds objects: kept (the tool never deletes what it did not write)",
                ),
            });
        }
        Ok(Plan {
            env: env.to_string(),
            changes,
        })
    }

    async fn fresh(&self) -> Result<Value> {
        self.gcs
            .bucket(&self.spec.bucket)
            .await?
            .ok_or_else(|| Error::cloud(format!("bucket {} is gone", self.spec.bucket)))
    }

    /// Writes the lifecycle rules `change` asks for (others' kept), then
    /// reads them back.
    async fn write_lifecycle(&self, keep_ours: bool) -> Result<Applied> {
        let bucket = self.fresh().await?;
        let mut rules: Vec<Value> = Self::rules(&bucket)
            .into_iter()
            .filter(|r| !self.is_ours(r))
            .collect();
        if keep_ours {
            rules.push(self.rule());
        }
        let metageneration = bucket["metageneration"].as_str().map(str::to_string);
        self.gcs
            .patch_bucket(
                &self.spec.bucket,
                &json!({"lifecycle": {"rule": rules}}),
                metageneration.as_deref(),
            )
            .await?;
        let back = Self::rules(&self.fresh().await?);
        let kept = back.iter().any(|r| *r == self.rule());
        if kept == keep_ours {
            Ok(Applied::Done)
        } else {
            Err(Error::cloud_with_hint(
                format!(
                    "bucket {}: the server answered the lifecycle PATCH with 200 but {} the tool's rule (read back)",
                    self.spec.bucket,
                    if keep_ours {
                        "did not keep"
                    } else {
                        "still has"
                    }
                ),
                "this server does not store lifecycle rules (fake-gcs-server drops them): schedule `cleanup purge` instead",
            ))
        }
    }

    async fn execute_one(&self, change: &Change) -> Result<Applied> {
        match (change.resource, change.action) {
            (Resource::GcsBucket, Action::Create) => {
                let Some(project) = &self.spec.project else {
                    return Err(Error::usage(format!(
                        "bucket {} does not exist and the spec names no project to make it in: add project:",
                        self.spec.bucket
                    )));
                };
                let body = change
                    .after
                    .clone()
                    .unwrap_or_else(|| json!({"name": self.spec.bucket}));
                self.gcs.create_bucket(project, &body).await?;
                Ok(Applied::Done)
            }
            (Resource::GcsBucketSettings, Action::Update) => {
                let bucket = self.fresh().await?;
                let metageneration = bucket["metageneration"].as_str().map(str::to_string);
                self.gcs
                    .patch_bucket(
                        &self.spec.bucket,
                        &self.settings(),
                        metageneration.as_deref(),
                    )
                    .await?;
                match self.settings_drift(&self.fresh().await?) {
                    None => Ok(Applied::Done),
                    Some((found, _)) => Err(Error::cloud(format!(
                        "bucket {}: the server answered the settings PATCH with 200 but kept {found}",
                        self.spec.bucket
                    ))),
                }
            }
            (Resource::GcsLifecycle, Action::Create | Action::Update) => {
                self.write_lifecycle(true).await
            }
            (Resource::GcsLifecycle, Action::Delete) => self.write_lifecycle(false).await,
            (Resource::GcsIamBinding, Action::Create | Action::Update) => {
                self.write_binding(true).await
            }
            (Resource::GcsIamBinding, Action::Delete) => self.write_binding(false).await,
            (Resource::GcsBucket, Action::Delete) => {
                self.gcs.delete_bucket(&self.spec.bucket).await?;
                Ok(Applied::Done)
            }
            _ => Ok(Applied::Unsupported(format!(
                "{} {:?} on GCS",
                change.resource.id(),
                change.action
            ))),
        }
    }
}

impl Provision for Provisioner<'_> {
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        _empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>> {
        self.execute_one(change).boxed_local()
    }
}
