//! Provisioning as data: the desired state derived from the spec, the state
//! observed on the endpoint, and the pure `diff` between them that `plan`
//! prints and `apply` executes. Nothing here talks to the network.
//!
//! `desired` (spec → what should exist) · `observed` (what the adapters in
//! `stores::s3` read) · `diff` (desired × observed → `Plan`) · `merge` (lifecycle
//! rules by ID, policy statements by Sid) · `text` (the human rendering).

#![warn(unreachable_pub)]

pub(crate) mod app;
pub(crate) mod database;
pub(crate) mod desired;
pub(crate) mod diff;
pub(crate) mod inventory;
pub(crate) mod merge;
pub(crate) mod observed;
pub(crate) mod text;

/// Said of a named resource that exists without the tool's tags.
pub(crate) const FOREIGN: &str = "exists but was not created by chronotrace-ops: left alone";

/// Who holds a named resource.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Held<T> {
    Absent,
    /// Exists without the tool's tags: reported, never taken over.
    Foreign,
    /// Created by the tool for this environment, with its current state.
    Ours(T),
}

impl<T> Held<T> {
    /// True when the tool created it.
    pub(crate) fn is_ours(&self) -> bool {
        matches!(self, Held::Ours(_))
    }
}

/// The fields of two JSON objects that differ (a missing field is `null`);
/// whole values when either is not an object.
pub(crate) fn differing(before: &Value, after: &Value) -> (Value, Value) {
    let (Value::Object(b), Value::Object(a)) = (before, after) else {
        return (before.clone(), after.clone());
    };
    let mut keys: Vec<&String> = b.keys().chain(a.keys()).collect();
    keys.dedup();
    let (mut old, mut new) = (Map::new(), Map::new());
    for key in keys {
        let (x, y) = (b.get(key), a.get(key));
        if x != y && !old.contains_key(key) {
            old.insert(key.clone(), x.cloned().unwrap_or(Value::Null));
            new.insert(key.clone(), y.cloned().unwrap_or(Value::Null));
        }
    }
    (Value::Object(old), Value::Object(new))
}

#[cfg(test)]
mod diff_proptests;
#[cfg(test)]
mod merge_proptests;

use serde::Serialize;
use serde_json::{Map, Value};

pub(crate) use diff::{destroy_plan, diff};

/// The tag (and marker) key that says the tool created a resource.
pub(crate) const MANAGED_BY_KEY: &str = "managed-by";
/// The value of `MANAGED_BY_KEY` on what the tool created.
pub(crate) const MANAGED_BY_VALUE: &str = "chronotrace-ops";
/// The tag key naming the environment a resource was created for.
pub(crate) const ENV_TAG_KEY: &str = "chronotrace-ops:env";

/// Every resource the tool provisions, in the order `apply` creates them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub(crate) enum Resource {
    /// The file at a share's root that says it is mounted (`mount:`).
    #[serde(rename = "local.mount-marker")]
    LocalMountMarker,
    #[serde(rename = "local.traces-dir")]
    LocalDir,
    #[serde(rename = "bucket")]
    Bucket,
    #[serde(rename = "bucket.versioning")]
    Versioning,
    #[serde(rename = "bucket.lifecycle")]
    Lifecycle,
    #[serde(rename = "bucket.public-access-block")]
    PublicAccessBlock,
    #[serde(rename = "bucket.ownership-controls")]
    OwnershipControls,
    #[serde(rename = "bucket.encryption")]
    Encryption,
    #[serde(rename = "bucket.policy")]
    Policy,
    /// The daily S3 Inventory configuration with the tool's ID.
    #[serde(rename = "bucket.inventory")]
    Inventory,
    #[serde(rename = "iam.policy")]
    IamPolicy,
    #[serde(rename = "iam.role")]
    IamRole,
    #[serde(rename = "iam.role-policy-attachment")]
    IamAttachment,
    #[serde(rename = "iam.instance-profile")]
    IamInstanceProfile,
    /// The app's user on a self-hosted store (SeaweedFS IAM).
    #[serde(rename = "iam.user")]
    IamUser,
    /// What the app's user may do: its inline policy (SeaweedFS), its
    /// bucket permission (Garage).
    #[serde(rename = "iam.user-policy")]
    IamUserPolicy,
    /// The app's access key (its secret goes to the credentials file only).
    #[serde(rename = "iam.access-key")]
    IamAccessKey,
    #[serde(rename = "redis.acl-user")]
    RedisAclUser,
    #[serde(rename = "sql.table")]
    SqlTable,
    #[serde(rename = "sql.index.created_at")]
    SqlCreatedAtIndex,
    #[serde(rename = "sql.app-user")]
    SqlAppUser,
    /// The monthly partitions ahead of time (`partition: monthly`).
    #[serde(rename = "sql.partitions")]
    SqlPartitions,
    /// A GCS bucket (made with the tool's label, `managed-by`).
    #[serde(rename = "gcs.bucket")]
    GcsBucket,
    /// Its uniform access, public access prevention, versioning, soft
    /// delete and the tool's label.
    #[serde(rename = "gcs.bucket-settings")]
    GcsBucketSettings,
    /// The tool's `Delete` rule on `{prefix}/`, beside the rules others own.
    #[serde(rename = "gcs.lifecycle")]
    GcsLifecycle,
    /// The app's service account bound on the bucket, with a condition on
    /// the prefix.
    #[serde(rename = "gcs.iam-binding")]
    GcsIamBinding,
}

impl Resource {
    /// The resource's id as printed (the same as in JSON).
    pub(crate) fn id(self) -> &'static str {
        match self {
            Resource::LocalMountMarker => "local.mount-marker",
            Resource::LocalDir => "local.traces-dir",
            Resource::Bucket => "bucket",
            Resource::Versioning => "bucket.versioning",
            Resource::Lifecycle => "bucket.lifecycle",
            Resource::PublicAccessBlock => "bucket.public-access-block",
            Resource::OwnershipControls => "bucket.ownership-controls",
            Resource::Encryption => "bucket.encryption",
            Resource::Policy => "bucket.policy",
            Resource::Inventory => "bucket.inventory",
            Resource::IamPolicy => "iam.policy",
            Resource::IamRole => "iam.role",
            Resource::IamAttachment => "iam.role-policy-attachment",
            Resource::IamInstanceProfile => "iam.instance-profile",
            Resource::IamUser => "iam.user",
            Resource::IamUserPolicy => "iam.user-policy",
            Resource::IamAccessKey => "iam.access-key",
            Resource::RedisAclUser => "redis.acl-user",
            Resource::SqlTable => "sql.table",
            Resource::SqlCreatedAtIndex => "sql.index.created_at",
            Resource::SqlAppUser => "sql.app-user",
            Resource::SqlPartitions => "sql.partitions",
            Resource::GcsBucket => "gcs.bucket",
            Resource::GcsBucketSettings => "gcs.bucket-settings",
            Resource::GcsLifecycle => "gcs.lifecycle",
            Resource::GcsIamBinding => "gcs.iam-binding",
        }
    }
}

/// What `apply` does to a resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Action {
    Create,
    Update,
    Delete,
    /// Nothing to do: in place, unsupported by the server, or not ours.
    None,
}

impl Action {
    /// The diff sign of the text rendering.
    pub(crate) fn sign(self) -> char {
        match self {
            Action::Create => '+',
            Action::Update => '~',
            Action::Delete => '-',
            Action::None => '=',
        }
    }
}

/// One line of a plan (its JSON: `{"resource","action","before"?,"after"?}`).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Change {
    pub(crate) resource: Resource,
    pub(crate) action: Action,
    /// The differing fields as they are (update, delete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) before: Option<Value>,
    /// The differing fields as they will be (create, update).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) after: Option<Value>,
    /// Why nothing happens (unsupported, not ours), or what else to know.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub(crate) note: Option<String>,
}

impl Change {
    /// A change with an action and nothing else.
    pub(crate) fn new(resource: Resource, action: Action) -> Change {
        Change {
            resource,
            action,
            before: None,
            after: None,
            note: None,
        }
    }

    /// Nothing to do, for the reason given.
    pub(crate) fn noted(resource: Resource, note: impl Into<String>) -> Change {
        Change::new(resource, Action::None).with_note(note)
    }

    /// Sets what the differing fields are now.
    pub(crate) fn with_before(mut self, before: Value) -> Change {
        self.before = Some(before);
        self
    }

    /// Sets what the differing fields will be.
    pub(crate) fn with_after(mut self, after: Value) -> Change {
        self.after = Some(after);
        self
    }

    /// Adds a note for people.
    pub(crate) fn with_note(mut self, note: impl Into<String>) -> Change {
        self.note = Some(note.into());
        self
    }

    /// True when `apply` has something to do.
    pub(crate) fn pending(&self) -> bool {
        self.action != Action::None
    }
}

/// What `apply` would do (or did) to one environment.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub(crate) struct Plan {
    pub(crate) env: String,
    pub(crate) changes: Vec<Change>,
}

impl Plan {
    /// True when at least one change is pending.
    pub(crate) fn has_changes(&self) -> bool {
        self.changes.iter().any(Change::pending)
    }

    /// The number of creates, updates and deletes.
    pub(crate) fn counts(&self) -> (usize, usize, usize) {
        let count = |a: Action| self.changes.iter().filter(|c| c.action == a).count();
        (
            count(Action::Create),
            count(Action::Update),
            count(Action::Delete),
        )
    }
}
