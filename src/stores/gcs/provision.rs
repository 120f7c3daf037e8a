//! `plan`, `apply` and `destroy` of a GCS bucket: the bucket (made with
//! the tool's label `managed-by: chronotrace-ops`, its location), its
//! settings (uniform bucket-level access, public access prevention
//! enforced, versioning and soft delete as the spec says), and the tool's
//! lifecycle rule (`Delete` at `age: retention_days` with `matchesPrefix:
//! [prefix/]`) merged with the rules others own. Every write is read back:
//! a server that answers 200 and keeps nothing (fake-gcs-server drops
//! lifecycle rules) fails the change. `destroy` removes the tool's rule,
//! and the bucket only when it carries the tool's label and is empty.
//! The app's IAM binding is not built yet.

use futures::FutureExt;
use futures::future::LocalBoxFuture;
use serde_json::{Value, json};

use super::client::Gcs;
use crate::error::{Error, Result};
use crate::plan::{Action, Change, Plan, Resource};
use crate::spec::GcsStorage;
use crate::stores::{Applied, Provision};

/// The tool's mark on what it made.
const LABEL_KEY: &str = "managed-by";
const LABEL_VALUE: &str = "chronotrace-ops";

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
