//! What the adapters in `stores::s3` read from the endpoint, as plain data that
//! the pure `diff` compares with the desired state. Values use the same JSON
//! shapes as the desired state, so equal means "in place".

pub(crate) use super::Held;
use serde_json::Value;

/// One setting as read from the server.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Seen<T> {
    /// Not configured.
    Absent,
    Present(T),
    /// The server answered NotImplemented (or similar): the reason.
    Unsupported(String),
}

impl<T> Seen<T> {
    /// Maps the present value.
    pub(crate) fn as_ref(&self) -> Seen<&T> {
        match self {
            Seen::Absent => Seen::Absent,
            Seen::Present(v) => Seen::Present(v),
            Seen::Unsupported(r) => Seen::Unsupported(r.clone()),
        }
    }

    /// Maps the present value.
    pub(crate) fn map<U>(self, f: impl FnOnce(T) -> U) -> Seen<U> {
        match self {
            Seen::Absent => Seen::Absent,
            Seen::Present(v) => Seen::Present(f(v)),
            Seen::Unsupported(r) => Seen::Unsupported(r),
        }
    }
}

/// How a bucket carries the tool's ownership mark.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OwnerMark {
    /// Bucket tags (AWS, MinIO, moto).
    Tags,
    /// A marker object, on stores without bucket tagging (Garage).
    MarkerObject,
}

/// The bucket's settings as read. When the bucket is absent every setting
/// is `Absent`.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObservedBucket {
    pub(crate) bucket: Held<OwnerMark>,
    /// `Enabled`, `Suspended`; `Absent` when never enabled.
    pub(crate) versioning: Seen<String>,
    /// The rule with the tool's ID, in the template's JSON shape.
    pub(crate) lifecycle_rule: Seen<Value>,
    /// Other environments whose chronotrace-ops rule is on the bucket (a
    /// bucket shared by prefixes): destroy keeps the bucket for them.
    pub(crate) peers: Vec<String>,
    pub(crate) public_access_block: Seen<Value>,
    /// The ObjectOwnership value.
    pub(crate) ownership: Seen<String>,
    /// The default encryption algorithm (`AES256`, `aws:kms`, ...).
    pub(crate) encryption: Seen<String>,
    /// The statement with the tool's Sid.
    pub(crate) tls_statement: Seen<Value>,
    /// The inventory configuration with the tool's ID (read only when the
    /// spec asks for one: `Absent` otherwise).
    pub(crate) inventory: Seen<Value>,
}

impl ObservedBucket {
    /// A bucket that does not exist.
    pub(crate) fn absent() -> ObservedBucket {
        ObservedBucket {
            bucket: Held::Absent,
            versioning: Seen::Absent,
            lifecycle_rule: Seen::Absent,
            peers: Vec::new(),
            public_access_block: Seen::Absent,
            ownership: Seen::Absent,
            encryption: Seen::Absent,
            tls_statement: Seen::Absent,
            inventory: Seen::Absent,
        }
    }
}

/// The managed policy as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObservedPolicy {
    pub(crate) arn: String,
    pub(crate) document: Value,
}

/// The IAM identity as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObservedIam {
    pub(crate) policy: Held<ObservedPolicy>,
    /// The role's trust policy.
    pub(crate) role: Held<Value>,
    /// The policy is attached to the role.
    pub(crate) attached: bool,
    /// The roles in the instance profile.
    pub(crate) profile: Held<Vec<String>>,
}

impl ObservedIam {
    /// Nothing exists (the plan tests start from it).
    #[cfg(test)]
    pub(crate) fn absent() -> ObservedIam {
        ObservedIam {
            policy: Held::Absent,
            role: Held::Absent,
            attached: false,
            profile: Held::Absent,
        }
    }
}

/// The app's identity on a self-hosted store as read.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ObservedApp {
    /// The user (SeaweedFS: tagged as the tool's); on Garage, the key.
    pub(crate) user: Held<()>,
    /// Its policy (SeaweedFS inline policy, Garage bucket permission), as
    /// the desired state's JSON; `None` when absent.
    pub(crate) policy: Option<Value>,
    /// The ids of its access keys.
    pub(crate) keys: Vec<String>,
    /// The run's admin identity may not manage the app's identity
    /// (credentials missing or refused). The rest is then unknown, and
    /// nothing is planned on it.
    pub(crate) refused: Option<Refusal>,
}

impl ObservedApp {
    /// Nothing could be read: the admin identity may not.
    pub(crate) fn refused(why: impl Into<String>, fix: impl Into<String>) -> ObservedApp {
        ObservedApp {
            user: Held::Absent,
            policy: None,
            keys: Vec::new(),
            refused: Some(Refusal {
                why: why.into(),
                fix: fix.into(),
            }),
        }
    }
}

/// Why the run may not manage the app's identity, and how to get it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Refusal {
    /// What is missing or refused, e.g. "GARAGE_ADMIN_TOKEN is not set".
    pub(crate) why: String,
    /// What to do, e.g. "export GARAGE_ADMIN_TOKEN".
    pub(crate) fix: String,
}

impl Refusal {
    /// The plan's note: nothing planned, what is missing, the two ways out.
    pub(crate) fn note(&self) -> String {
        format!(
            "not planned: {}; to have it made, {}, or remove `iam:` from the spec to stop planning it",
            self.why, self.fix
        )
    }

    /// The error of a run that must read the identity (destroy, rotation).
    pub(crate) fn error(&self) -> crate::error::Error {
        crate::error::Error::usage_with_hint(self.why.clone(), self.fix.clone())
    }
}

/// A local traces directory as found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ObservedDir {
    Absent,
    /// Exists, with its permission bits.
    Present {
        mode: u32,
    },
    /// The path exists but is not a directory.
    NotADirectory,
}

/// Everything observed for one environment.
#[derive(Debug, Clone, PartialEq)]
// One value per run: boxing the IAM half too would buy nothing.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Observed {
    Local(ObservedDir),
    Bucket {
        bucket: Box<ObservedBucket>,
        iam: Option<ObservedIam>,
        /// The app's identity on a self-hosted store (spec with `iam.user`).
        app: Option<Box<ObservedApp>>,
    },
    Database(super::database::ObservedDatabase),
}
