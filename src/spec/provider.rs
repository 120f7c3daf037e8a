//! What each kind of object store can honour. The spec is checked against
//! this table before any API call, so an apply never fails half-way on a
//! feature the target does not have; `plan` never proposes a setting the
//! table says breaks the store. The `seaweedfs` and `garage` rows were
//! measured on the real servers (SeaweedFS 4.48, the bench's Garage).

use serde::Serialize;

/// The kind of object store behind an `s3` environment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum Provider {
    Aws,
    Minio,
    Seaweedfs,
    Garage,
    /// Any other S3 clone; the table assumes the least.
    S3Compatible,
}

/// How the app gets its own least-privilege identity on a provider.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum AppIdentity {
    /// AWS IAM: managed policy, role, trust, instance profile (`iam: {policy, role}`).
    AwsRole,
    /// The IAM API on the S3 port (SeaweedFS): a user, an access key and an
    /// inline user policy scoped to the prefix (`iam: {user, policy}`).
    IamUser,
    /// Garage's admin API: a key allowed read+write on the bucket (`iam: {user}`).
    GarageKey,
    /// MinIO's admin API: a built-in user (its own access key) with a
    /// canned policy scoped to the prefix (`iam: {user, policy}`).
    MinioUser,
    /// None the tool can provision: `iam` is refused in the spec.
    None,
}

impl Provider {
    /// The spec spellings, for parsing and for messages.
    pub(crate) const NAMES: [&'static str; 5] =
        ["aws", "minio", "seaweedfs", "garage", "s3-compatible"];

    /// Parses a spec value; `None` when unknown.
    pub(crate) fn parse(value: &str) -> Option<Provider> {
        match value {
            "aws" => Some(Provider::Aws),
            "minio" => Some(Provider::Minio),
            "seaweedfs" => Some(Provider::Seaweedfs),
            "garage" => Some(Provider::Garage),
            "s3-compatible" => Some(Provider::S3Compatible),
            _ => None,
        }
    }

    /// The spec spelling.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Provider::Aws => "aws",
            Provider::Minio => "minio",
            Provider::Seaweedfs => "seaweedfs",
            Provider::Garage => "garage",
            Provider::S3Compatible => "s3-compatible",
        }
    }

    /// What this provider is known to support.
    pub(crate) fn capabilities(self) -> Capabilities {
        let none = Capabilities {
            versioning: false,
            storage_class_transitions: false,
            iam_roles: false,
            bucket_policy: false,
            public_access_block: false,
            sts: false,
            default_encryption: None,
            app_identity: AppIdentity::None,
        };
        match self {
            Provider::Aws => Capabilities {
                versioning: true,
                storage_class_transitions: true,
                iam_roles: true,
                bucket_policy: true,
                public_access_block: true,
                sts: true,
                app_identity: AppIdentity::AwsRole,
                ..none
            },
            // MinIO transitions go to named remote tiers, not AWS classes, and
            // its users and policies live behind the MinIO admin API, not IAM.
            Provider::Minio => Capabilities {
                versioning: true,
                bucket_policy: true,
                sts: true,
                app_identity: AppIdentity::MinioUser,
                ..none
            },
            // Measured on SeaweedFS 4.48: versioning, lifecycle expiration
            // (noncurrent too) and bucket policies are accepted, and policies
            // enforced (a TLS-only Deny over http locks out even the admin);
            // transitions and the public access block answer NotImplemented;
            // default encryption is accepted and then every PutObject
            // answers 500 InternalError.
            Provider::Seaweedfs => Capabilities {
                versioning: true,
                bucket_policy: true,
                default_encryption: Some(
                    "SeaweedFS accepts default encryption, then fails every write (500 InternalError) unless s3.sse.kek is set in its security.toml (measured on 4.48)",
                ),
                app_identity: AppIdentity::IamUser,
                ..none
            },
            // Measured on Garage: lifecycle expiration and
            // AbortIncompleteMultipartUpload only; versioning, tagging,
            // bucket policies, public access block, ownership controls and
            // default encryption answer NotImplemented.
            Provider::Garage => Capabilities {
                default_encryption: Some("Garage does not implement default encryption"),
                app_identity: AppIdentity::GarageKey,
                ..none
            },
            // Unknown servers: the least is assumed, and what the server
            // answers NotImplemented is noted at apply time.
            Provider::S3Compatible => none,
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
    /// Why default encryption is never planned here (`None`: it is).
    pub(crate) default_encryption: Option<&'static str>,
    /// How the app's own identity is provisioned.
    pub(crate) app_identity: AppIdentity,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The rows measured on the real servers (docs/providers.md's capability table).
    #[test]
    fn measured_rows_of_the_self_hosted_providers() {
        let weed = Provider::Seaweedfs.capabilities();
        assert!(weed.versioning && weed.bucket_policy);
        assert!(!weed.storage_class_transitions && !weed.public_access_block && !weed.sts);
        assert!(
            weed.default_encryption.is_some(),
            "breaks writes: never planned"
        );
        assert_eq!(weed.app_identity, AppIdentity::IamUser);
        let garage = Provider::Garage.capabilities();
        assert!(!garage.versioning && !garage.bucket_policy);
        assert!(garage.default_encryption.is_some());
        assert_eq!(garage.app_identity, AppIdentity::GarageKey);
        assert_eq!(Provider::Aws.capabilities().default_encryption, None);
        for name in Provider::NAMES {
            let provider = Provider::parse(name).expect("a known name");
            assert_eq!(provider.name(), name);
        }
    }
}
