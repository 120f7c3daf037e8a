//! The `inventory:` setting of an S3 environment, validated: where S3
//! Inventory writes the daily list of the prefix's objects, and in which
//! format. `apply` configures it; `report` and `cleanup verify` read it
//! with `--source inventory|auto` (see `stores::s3::inventory`).

use serde::Serialize;

/// The file format S3 Inventory writes (ORC is never asked for).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub(crate) enum InventoryFormat {
    Parquet,
    Csv,
}

impl InventoryFormat {
    /// The value as written in the spec.
    pub(crate) fn parse(raw: &str) -> Option<InventoryFormat> {
        match raw {
            "parquet" => Some(InventoryFormat::Parquet),
            "csv" => Some(InventoryFormat::Csv),
            _ => None,
        }
    }
}

/// A daily inventory of `{prefix}/` written to `s3://{bucket}/{prefix}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub(crate) struct Inventory {
    /// The destination bucket.
    pub(crate) bucket: String,
    /// The destination prefix, without slashes at either end; may be empty.
    pub(crate) prefix: String,
    pub(crate) format: InventoryFormat,
    /// The configuration's ID (`ids::inventory_id`).
    pub(crate) id: String,
}

impl Inventory {
    /// `{prefix}/{source bucket}/{id}/`: where the dated manifests of this
    /// configuration are (AWS's documented layout).
    pub(crate) fn reports_dir(&self, source_bucket: &str) -> String {
        let lead = if self.prefix.is_empty() {
            String::new()
        } else {
            format!("{}/", self.prefix)
        };
        format!("{lead}{source_bucket}/{}/", self.id)
    }

    /// `s3://bucket/prefix`, for messages.
    pub(crate) fn destination(&self) -> String {
        if self.prefix.is_empty() {
            format!("s3://{}", self.bucket)
        } else {
            format!("s3://{}/{}", self.bucket, self.prefix)
        }
    }
}
