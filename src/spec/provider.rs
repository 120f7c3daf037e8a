//! What each kind of object store can honour. The spec is checked against
//! this table before any API call, so an apply never fails half-way on a
//! feature the target does not have.

use serde::Serialize;

/// The kind of object store behind an `s3` environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Provider {
    Aws,
    Minio,
    /// Any other S3 clone; the table assumes the least (Garage is the measured example).
    S3Compatible,
    /// SeaweedFS's S3 gateway (`render` writes its compose files).
    Seaweedfs,
    /// Garage (`render` writes its compose files and `garage.toml`).
    Garage,
}

impl Provider {
    /// The spec spellings, for parsing and for messages.
    pub(crate) const NAMES: [&'static str; 5] =
        ["aws", "minio", "s3-compatible", "seaweedfs", "garage"];

    /// Parses a spec value; `None` when unknown.
    pub(crate) fn parse(value: &str) -> Option<Provider> {
        match value {
            "aws" => Some(Provider::Aws),
            "minio" => Some(Provider::Minio),
            "s3-compatible" => Some(Provider::S3Compatible),
            "seaweedfs" => Some(Provider::Seaweedfs),
            "garage" => Some(Provider::Garage),
            _ => None,
        }
    }

    /// The spec spelling.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Minio => "minio",
            Provider::S3Compatible => "s3-compatible",
            Provider::Seaweedfs => "seaweedfs",
            Provider::Garage => "garage",
        }
    }

    /// What this provider is known to support.
    pub(crate) fn capabilities(self) -> Capabilities {
        match self {
            Provider::Aws => Capabilities {
                versioning: true,
                storage_class_transitions: true,
                iam_roles: true,
                bucket_policy: true,
                public_access_block: true,
                sts: true,
            },
            // MinIO transitions go to named remote tiers, not AWS classes, and
            // its users and policies live behind the MinIO admin API, not IAM.
            Provider::Minio => Capabilities {
                versioning: true,
                storage_class_transitions: false,
                iam_roles: false,
                bucket_policy: true,
                public_access_block: false,
                sts: true,
            },
            // Garage: Expiration and AbortIncompleteMultipartUpload only,
            // no versioning, no bucket policies.
            Provider::S3Compatible | Provider::Seaweedfs | Provider::Garage => Capabilities {
                versioning: false,
                storage_class_transitions: false,
                iam_roles: false,
                bucket_policy: false,
                public_access_block: false,
                sts: false,
            },
        }
    }
}

/// Features a provider can honour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) struct Capabilities {
    pub(crate) versioning: bool,
    /// Lifecycle transitions to AWS storage classes (STANDARD_IA, GLACIER, ...).
    pub(crate) storage_class_transitions: bool,
    /// AWS IAM roles, managed policies and instance profiles.
    pub(crate) iam_roles: bool,
    pub(crate) bucket_policy: bool,
    pub(crate) public_access_block: bool,
    pub(crate) sts: bool,
}
