//! An S3 Inventory's `manifest.json` (AWS's documented fields:
//! `sourceBucket`, `destinationBucket`, `version`, `creationTimestamp`,
//! `fileFormat`, `fileSchema`, `files[{key, size, MD5checksum}]`), checked
//! against its `manifest.checksum` (the MD5 of the manifest's bytes) and
//! against the bucket it must describe. Pure: the reads are `super`'s.

use chrono::{DateTime, NaiveDateTime, Utc};
use md5::{Digest, Md5};
use serde::Deserialize;

use crate::error::{Error, Result};

/// A manifest as AWS writes it (fields the tool does not use are ignored).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Manifest {
    pub(crate) source_bucket: String,
    /// Milliseconds since the epoch, as a string.
    pub(crate) creation_timestamp: String,
    /// `CSV`, `Parquet` or `ORC`.
    pub(crate) file_format: String,
    /// CSV: the column names, comma-separated; Parquet: the message type.
    #[serde(default)]
    pub(crate) file_schema: String,
    pub(crate) files: Vec<DataFile>,
}

/// One data file of an inventory.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct DataFile {
    pub(crate) key: String,
    pub(crate) size: u64,
    #[serde(rename = "MD5checksum")]
    pub(crate) md5: String,
}

/// The formats the tool reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FileFormat {
    Csv,
    Parquet,
}

/// The name of a dated report folder (`2016-11-06T21-32Z`): the time the
/// inventory's scan started.
pub(crate) fn folder_time(name: &str) -> Option<DateTime<Utc>> {
    NaiveDateTime::parse_from_str(name, "%Y-%m-%dT%H-%MZ")
        .ok()
        .map(|t| t.and_utc())
}

/// Checks the manifest's bytes against `manifest.checksum` (its MD5 in hex,
/// perhaps followed by a newline) and parses it; `place` names it in errors.
pub(crate) fn verified(json: &[u8], checksum: &str, place: &str) -> Result<Manifest> {
    let actual = hex(&Md5::digest(json));
    let expected = checksum.trim().to_ascii_lowercase();
    if actual != expected {
        return Err(Error::cloud_with_hint(
            format!(
                "inventory manifest {place}: its MD5 is {actual}, manifest.checksum says {expected:.32}: the manifest is corrupt"
            ),
            "S3 Inventory writes both files together: wait for the next inventory, or read by listing (--source listing)",
        ));
    }
    serde_json::from_slice(json).map_err(|e| {
        Error::cloud(format!(
            "inventory manifest {place} is not an S3 Inventory manifest: {e}"
        ))
    })
}

impl Manifest {
    /// Refuses a manifest of another bucket (a destination shared by
    /// several buckets, a copied manifest): its counts would be another's.
    pub(crate) fn check_source(&self, bucket: &str, place: &str) -> Result<()> {
        if self.source_bucket == bucket {
            return Ok(());
        }
        Err(Error::cloud_with_hint(
            format!(
                "inventory manifest {place} lists bucket '{}', not '{bucket}': refused",
                self.source_bucket
            ),
            "the spec's inventory destination holds another bucket's inventory under this bucket's path",
        ))
    }

    /// When the inventory's scan started (`creationTimestamp`).
    pub(crate) fn created(&self) -> Option<DateTime<Utc>> {
        let millis: i64 = self.creation_timestamp.trim().parse().ok()?;
        DateTime::from_timestamp_millis(millis)
    }

    /// The data files' format, or why the tool cannot read it.
    pub(crate) fn format(&self, place: &str) -> Result<FileFormat> {
        match self.file_format.as_str() {
            "CSV" => Ok(FileFormat::Csv),
            "Parquet" => Ok(FileFormat::Parquet),
            other => Err(Error::cloud(format!(
                "inventory manifest {place}: file format '{other}' is not read by chronotrace-ops (CSV and Parquet are)"
            ))),
        }
    }

    /// The CSV columns in order (`fileSchema`: "Bucket, Key, Size, ...").
    pub(crate) fn csv_columns(&self) -> Vec<String> {
        self.file_schema
            .split(',')
            .map(|c| c.trim().to_string())
            .collect()
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// An MD5 in lowercase hex (data files' `MD5checksum`).
pub(crate) fn md5_hex(digest: &[u8]) -> String {
    hex(digest)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MANIFEST: &str = r#"{
      "sourceBucket": "traces-b",
      "destinationBucket": "arn:aws:s3:::inv-b",
      "version": "2016-11-30",
      "creationTimestamp": "1764633600000",
      "fileFormat": "CSV",
      "fileSchema": "Bucket, Key, Size, LastModifiedDate, StorageClass",
      "files": [{"key": "inv/traces-b/id/data/a.csv.gz", "size": 12, "MD5checksum": "0123"}]
    }"#;

    fn md5_of(text: &str) -> String {
        hex(&Md5::digest(text.as_bytes()))
    }

    #[test]
    fn a_manifest_matching_its_checksum_is_read() {
        let m =
            verified(MANIFEST.as_bytes(), &format!("{}\n", md5_of(MANIFEST)), "m").expect("valid");
        assert_eq!(m.source_bucket, "traces-b");
        assert_eq!(m.format("m").expect("csv"), FileFormat::Csv);
        assert_eq!(m.csv_columns()[2], "Size");
        assert_eq!(m.files[0].size, 12);
        assert_eq!(
            m.created().map(|t| t.to_rfc3339()),
            Some("2025-12-02T00:00:00+00:00".to_string())
        );
        assert!(m.check_source("traces-b", "m").is_ok());
    }

    #[test]
    fn a_wrong_checksum_or_another_bucket_is_one_line_refused() {
        let err = verified(
            MANIFEST.as_bytes(),
            "00000000000000000000000000000000",
            "s3://x/m",
        )
        .expect_err("corrupt")
        .to_string();
        assert!(err.contains("corrupt") && err.contains("s3://x/m"), "{err}");
        assert_eq!(err.lines().count(), 1);
        let m = verified(MANIFEST.as_bytes(), &md5_of(MANIFEST), "m").expect("valid");
        let err = m
            .check_source("other-b", "m")
            .expect_err("refused")
            .to_string();
        assert!(err.contains("'traces-b', not 'other-b'"), "{err}");
        let orc = MANIFEST.replace("\"CSV\"", "\"ORC\"");
        let m = verified(orc.as_bytes(), &md5_of(&orc), "m").expect("valid");
        assert!(m.format("m").is_err());
    }

    #[test]
    fn report_folders_are_dated_as_aws_names_them() {
        let t = folder_time("2016-11-06T21-32Z").expect("a folder time");
        assert_eq!(t.to_rfc3339(), "2016-11-06T21:32:00+00:00");
        assert!(folder_time("hive").is_none());
        assert!(folder_time("data").is_none());
    }
}
