//! A GCS bucket's traces one at a time (`stores::items`), in the seed's
//! form: JSON at `{prefix}/{traceId}.json`.
//!
//! - **Listing:** the prefix's pages in name order (so not in date order:
//!   every page is read, `before` filters it). Flat traces and the day
//!   folders `{prefix}/{YYYY-MM-DD}/{id}.json` (see `layout`); anything
//!   else (the probe's folder, other files) is not a trace. A trace's date:
//!   the `chronotrace-created` metadata a copy carries, else the time in
//!   its id (a UUIDv7's, a package id's `_{unix time}`), else the day
//!   folder's day, else the object's `timeCreated`.
//! - **Writes** go flat, as the seed's `GcsTraceStorage` writes them, with
//!   `ifGenerationMatch=0` (never over an object that appeared meanwhile)
//!   and the trace's date in `chronotrace-created` (a copy's `timeCreated`
//!   is the day of the copy). Confirmed by the hashes the server computed
//!   on what it received (MD5, else CRC32C), compared with the bytes sent;
//!   a mismatch deletes that generation and is an error.
//! - **Reads** take the object's generation, then that generation's bytes
//!   (checked against its MD5); **removal** deletes that generation only,
//!   for good (`generation`, `ifGenerationMatch`), after reading that it is
//!   still the live one (fake-gcs-server ignores the precondition on a
//!   delete; Google does not).

#![warn(unreachable_pub)]

use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use md5::{Digest, Md5};

use super::client::{CREATED_FIELD, Conditional, Gcs, ListQuery, Object, Upload};
use super::layout::uuid_v7_time;
use crate::bundle::Format;
use crate::error::{Error, Result};
use crate::retention::parse_partition;
use crate::spec::GcsStorage;
use crate::stores::items::{
    Held, ItemPage, ReadCopy, Removed, TraceItems, TraceRef, Written, created_of, plain_id,
};

/// How often a read starts again when the object changed between its
/// resource and its bytes.
const READ_ATTEMPTS: usize = 3;

/// A bucket's traces under the environment's prefix.
#[derive(Debug)]
pub(crate) struct GcsItems {
    gcs: Gcs,
    bucket: String,
    /// `{prefix}/`.
    dir: String,
}

impl GcsItems {
    pub(crate) fn new(gcs: Gcs, spec: &GcsStorage) -> GcsItems {
        GcsItems {
            gcs,
            bucket: spec.bucket.clone(),
            dir: spec.prefix.dir(),
        }
    }

    /// Where the seed keeps trace `id`.
    fn name_of(&self, id: &str) -> String {
        format!("{}{id}.json", self.dir)
    }

    fn object_path(&self, name: &str) -> String {
        format!("gs://{}/{name}", self.bucket)
    }

    async fn page(&self, before: Option<NaiveDate>, cursor: Option<String>) -> Result<ItemPage> {
        let query = ListQuery {
            prefix: self.dir.clone(),
            ..ListQuery::default()
        };
        let page = self
            .gcs
            .list_page(&self.bucket, &query, cursor.as_deref())
            .await?;
        let traces = page
            .items
            .iter()
            .filter_map(|object| trace_of(&self.dir, object))
            .filter(|trace| before.is_none_or(|before| trace.day() < before))
            .collect();
        Ok(ItemPage {
            traces,
            next: page.next_page_token.filter(|t| !t.is_empty()),
        })
    }

    /// The live generation's bytes, with that generation; `None` when the
    /// object is gone.
    async fn get(&self, name: &str) -> Result<Option<ReadCopy>> {
        for _ in 0..READ_ATTEMPTS {
            let Some(object) = self.gcs.object(&self.bucket, name).await? else {
                return Ok(None);
            };
            let Some(generation) = object.generation.clone() else {
                return Err(Error::cloud(format!(
                    "objects.get {}: the answer has no generation",
                    self.object_path(name)
                )));
            };
            // That generation's bytes: none when it was replaced meanwhile
            // (read the resource again).
            let Some(bytes) = self
                .gcs
                .download_generation(&self.bucket, name, Some(&generation))
                .await?
            else {
                continue;
            };
            if let Some(why) = mismatch(&object, &bytes) {
                return Err(Error::cloud(format!(
                    "objects.get {}: the bytes read do not match the object: {why}",
                    self.object_path(name)
                )));
            }
            return Ok(Some(ReadCopy {
                bytes,
                version: Some(generation),
            }));
        }
        Err(Error::cloud(format!(
            "objects.get {}: replaced {READ_ATTEMPTS} times while being read",
            self.object_path(name)
        )))
    }

    async fn held_at(&self, name: &str, bytes: &[u8]) -> Result<Held> {
        let Some(object) = self.gcs.object(&self.bucket, name).await? else {
            return Ok(Held::Absent);
        };
        if object.bytes() != bytes.len() as u64 {
            return Ok(Held::Different);
        }
        if object.md5_hash.is_some() || object.crc32c.is_some() {
            return Ok(match mismatch(&object, bytes) {
                None => Held::Same,
                Some(_) => Held::Different,
            });
        }
        // No hash in the resource: compare the bytes.
        Ok(match self.gcs.download(&self.bucket, name).await? {
            Some(held) if held == bytes => Held::Same,
            Some(_) => Held::Different,
            None => Held::Absent,
        })
    }

    async fn put(&self, id: &str, created: DateTime<Utc>, bytes: &[u8]) -> Result<Written> {
        let name = self.name_of(id);
        let metadata = [(CREATED_FIELD, created.to_rfc3339())];
        let upload = self
            .gcs
            .upload_new(&self.bucket, &name, "application/json", &metadata, bytes)
            .await?;
        let object = match upload {
            Upload::Created(object) => object,
            // There already (an earlier attempt of this call whose answer
            // was lost, or another writer): confirmed only if the same.
            Upload::Exists => {
                return match self.held_at(&name, bytes).await? {
                    Held::Same => Ok(Written::Confirmed),
                    _ => Err(Error::cloud(format!(
                        "objects.insert {}: another object of that name appeared meanwhile: left alone",
                        self.object_path(&name)
                    ))),
                };
            }
        };
        let why = match (&object.md5_hash, &object.crc32c) {
            (None, None) => Some("the server answered no MD5 or CRC32C".to_string()),
            _ => mismatch(&object, bytes),
        };
        let Some(why) = why else {
            return Ok(Written::Confirmed);
        };
        // What the server holds is not what was sent: that generation goes.
        if let Some(generation) = &object.generation {
            self.gcs
                .delete_if_generation(&self.bucket, &name, generation)
                .await?;
        }
        Err(Error::cloud(format!(
            "objects.insert {}: not confirmed ({why}); the object written was deleted",
            self.object_path(&name)
        )))
    }

    async fn delete(&self, trace: &TraceRef, read: &ReadCopy) -> Result<Removed> {
        let name = &trace.handle;
        let Some(generation) = read.version.as_deref() else {
            return Ok(Removed::Changed);
        };
        // fake-gcs-server deletes whatever `ifGenerationMatch` says (see
        // docs/gcs.md): the live generation is read first, and the
        // precondition closes the window on Google.
        match self.gcs.object(&self.bucket, name).await? {
            Some(live) if live.generation.as_deref() == Some(generation) => {}
            _ => return Ok(Removed::Changed),
        }
        Ok(
            match self
                .gcs
                .delete_if_generation(&self.bucket, name, generation)
                .await?
            {
                Conditional::Deleted => Removed::Removed,
                Conditional::Changed => Removed::Changed,
            },
        )
    }
}

/// A listed object as a trace: a flat `{dir}{id}.json` or a day folder's
/// `{dir}{YYYY-MM-DD}/{id}.json`; `None` for anything else.
fn trace_of(dir: &str, object: &Object) -> Option<TraceRef> {
    let rest = object.name.strip_prefix(dir)?;
    let (day, file) = match rest.split_once('/') {
        Some((folder, file)) => (Some(parse_partition(folder)?), file),
        None => (None, rest),
    };
    let id = file.strip_suffix(".json").filter(|id| plain_id(id))?;
    let kept = object
        .metadata
        .as_ref()
        .and_then(|m| m.get(CREATED_FIELD))
        .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        .map(|t| t.with_timezone(&Utc));
    let created = match (kept, day) {
        (Some(kept), _) => kept,
        (None, Some(day)) => created_of(id, day),
        (None, None) => id_time(id).or_else(|| object.created())?,
    };
    Some(TraceRef {
        id: id.to_string(),
        created,
        size: object.bytes(),
        handle: object.name.clone(),
    })
}

/// The time a trace id carries: a UUIDv7's, or the Unix time a package id
/// (`ct_{random}_{unix time}`) ends with.
fn id_time(id: &str) -> Option<DateTime<Utc>> {
    uuid_v7_time(id).or_else(|| {
        id.strip_prefix("ct_")
            .and_then(|rest| rest.rsplit_once('_'))
            .and_then(|(_, tail)| tail.parse::<i64>().ok())
            .and_then(|secs| DateTime::from_timestamp(secs, 0))
    })
}

/// Why `bytes` are not the object's content by its MD5 (else its CRC32C),
/// `None` when they are (or the resource gives neither).
fn mismatch(object: &Object, bytes: &[u8]) -> Option<String> {
    let base64 = base64::engine::general_purpose::STANDARD;
    if let Some(md5) = &object.md5_hash {
        let ours = base64.encode(Md5::digest(bytes));
        return (*md5 != ours).then(|| format!("MD5 {md5}, the bytes' {ours}"));
    }
    if let Some(crc) = &object.crc32c {
        let ours = base64.encode(crc32c(bytes).to_be_bytes());
        return (*crc != ours).then(|| format!("CRC32C {crc}, the bytes' {ours}"));
    }
    None
}

/// CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), as the JSON API
/// gives it. Bitwise: traces are small, and no crate is needed.
fn crc32c(bytes: &[u8]) -> u32 {
    let mut crc = !0u32;
    for &byte in bytes {
        crc ^= u32::from(byte);
        for _ in 0..8 {
            let low_bit = crc & 1;
            crc = (crc >> 1) ^ (0x82F6_3B78 & low_bit.wrapping_neg());
        }
    }
    !crc
}

impl TraceItems for GcsItems {
    fn location(&self) -> String {
        format!("gs://{}/{} at {}", self.bucket, self.dir, self.gcs.endpoint)
    }

    fn format(&self) -> Format {
        Format::Json
    }

    fn list(
        &self,
        before: Option<NaiveDate>,
        cursor: Option<String>,
    ) -> LocalBoxFuture<'_, Result<ItemPage>> {
        self.page(before, cursor).boxed_local()
    }

    fn read<'a>(&'a self, trace: &'a TraceRef) -> LocalBoxFuture<'a, Result<Option<ReadCopy>>> {
        self.get(&trace.handle).boxed_local()
    }

    fn held<'a>(
        &'a self,
        id: &'a str,
        _created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Held>> {
        async move { self.held_at(&self.name_of(id), bytes).await }.boxed_local()
    }

    fn write<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Written>> {
        self.put(id, created, bytes).boxed_local()
    }

    fn remove<'a>(
        &'a self,
        trace: &'a TraceRef,
        read: &'a ReadCopy,
    ) -> LocalBoxFuture<'a, Result<Removed>> {
        self.delete(trace, read).boxed_local()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn object(name: &str, metadata: Option<&str>) -> Object {
        Object {
            name: name.to_string(),
            size: Some("7".into()),
            time_created: Some("2026-12-08T01:00:00Z".into()),
            storage_class: None,
            generation: Some("1".into()),
            md5_hash: None,
            crc32c: None,
            metadata: metadata.map(|at| [(CREATED_FIELD.to_string(), at.to_string())].into()),
        }
    }

    #[test]
    fn crc32c_is_castagnoli_as_the_json_api_gives_it() {
        assert_eq!(crc32c(b"123456789"), 0xE306_9283);
        // fake-gcs-server's answer for these bytes.
        let mut held = object("traces/a.json", None);
        held.crc32c = Some("vaPQhA==".into());
        assert_eq!(mismatch(&held, br#"{"x":1}"#), None);
        assert!(mismatch(&held, br#"{"x":2}"#).is_some());
        held.md5_hash = Some("rD70jKoI+j7V4CXaae3GRQ==".into());
        assert_eq!(mismatch(&held, br#"{"x":1}"#), None);
    }

    #[test]
    fn a_trace_is_dated_by_its_copy_then_its_id_then_its_folder_then_the_object() {
        let at = |o: &Object| trace_of("traces/", o).map(|t| t.created.to_rfc3339());
        assert_eq!(
            at(&object(
                "traces/ct_a_1764000000.json",
                Some("2025-01-02T03:04:05+00:00")
            )),
            Some("2025-01-02T03:04:05+00:00".into())
        );
        assert_eq!(
            at(&object("traces/ct_a_1764000000.json", None)),
            Some("2025-11-24T16:00:00+00:00".into())
        );
        assert_eq!(
            at(&object("traces/2025-11-03/plain.json", None)),
            Some("2025-11-03T00:00:00+00:00".into())
        );
        assert_eq!(
            at(&object("traces/plain.json", None)),
            Some("2026-12-08T01:00:00+00:00".into())
        );
        for not_a_trace in [
            "traces/_probe/1.json",
            "traces/a.zip",
            "other/a.json",
            "traces/.json",
        ] {
            assert_eq!(at(&object(not_a_trace, None)), None, "{not_a_trace}");
        }
    }
}
