//! Names the tool derives from the spec and every layer shares: the ID of
//! the lifecycle rule it owns, the AWS partition of a region (for ARNs).
//! Pure; here so that the adapters need not reach into `render`.

/// The ID of the lifecycle rule the tool owns; rules with other IDs belong to others.
pub(crate) fn lifecycle_rule_id(env: &str) -> String {
    format!("chronotrace-ops:{env}:retention")
}

/// The AWS partition of a region (ARNs differ in China and GovCloud).
pub(crate) fn partition(region: &str) -> &'static str {
    if region.starts_with("cn-") {
        "aws-cn"
    } else if region.starts_with("us-gov-") {
        "aws-us-gov"
    } else {
        "aws"
    }
}

/// The ID of the S3 Inventory configuration the tool owns on the bucket
/// (letters, digits, '-', '_' only: AWS refuses ':' in inventory IDs); the
/// inventory's files land under `{destination}/{bucket}/{this id}/`.
pub(crate) fn inventory_id(env: &str) -> String {
    format!("chronotrace-ops-{env}")
}
