//! A bucket's traces one at a time (`stores::items`): the package's
//! `{prefix}/traces/{day}/{id}.zip`, listed in key order (so in date
//! order). A write sends `Content-MD5` (the server refuses bytes that do
//! not match it) and checks the ETag it answers; a removal deletes only
//! the copy read: its version on a versioned bucket, else the object only
//! while its ETag is still the one read.

#![warn(unreachable_pub)]

use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::ByteStream;
use base64::Engine;
use chrono::{DateTime, NaiveDate, Utc};
use futures::FutureExt;
use futures::future::LocalBoxFuture;
use md5::{Digest, Md5};

use super::Clients;
use super::errors::{api_error, status};
use crate::bundle::Format;
use crate::error::{Error, Result};
use crate::scan::Advance;
use crate::spec::S3Storage;
use crate::stores::items::{
    DayHeld, Fingerprint, Held, ItemPage, ReadCopy, Removed, TraceItems, TraceRef, Written,
    bundle_id, created_of, hex, md5_hex,
};

/// Keys a listing page asks for.
const PAGE_KEYS: i32 = 1000;

/// A bucket's traces under the environment's prefix.
#[derive(Debug)]
pub(crate) struct BucketItems {
    clients: Clients,
    bucket: String,
    /// `{prefix}/traces/`.
    traces_dir: String,
}

/// What identifies the copy read: its version, or its ETag.
const VERSION: &str = "version:";
const ETAG: &str = "etag:";

impl BucketItems {
    pub(crate) fn new(clients: Clients, s3: &S3Storage) -> BucketItems {
        BucketItems {
            clients,
            bucket: s3.bucket.clone(),
            traces_dir: s3.prefix.traces_dir(),
        }
    }

    fn key_of(&self, id: &str, day: NaiveDate) -> String {
        format!("{}{}/{id}.zip", self.traces_dir, day.format("%Y-%m-%d"))
    }

    fn object(&self, key: &str) -> String {
        format!("{}/{key}", self.bucket)
    }

    /// One listing page under `prefix`, from `token`.
    async fn list(&self, prefix: &str, token: Option<String>) -> Result<ListObjectsV2Output> {
        self.clients
            .s3
            .list_objects_v2()
            .bucket(&self.bucket)
            .prefix(prefix)
            .max_keys(PAGE_KEYS)
            .set_continuation_token(token)
            .send()
            .await
            .map_err(|e| {
                api_error(
                    e,
                    "ListObjectsV2",
                    &self.object(prefix),
                    &self.clients.target,
                )
            })
    }

    async fn page(&self, before: Option<NaiveDate>, cursor: Option<String>) -> Result<ItemPage> {
        let answer = self.list(&self.traces_dir, cursor).await?;
        let mut traces = Vec::new();
        let mut past_before = false;
        for object in answer.contents() {
            let Some(key) = object.key() else { continue };
            let Some((day, file)) = key
                .strip_prefix(&self.traces_dir)
                .and_then(|rest| rest.split_once('/'))
            else {
                continue;
            };
            let (Ok(day), Some(id)) = (NaiveDate::parse_from_str(day, "%Y-%m-%d"), bundle_id(file))
            else {
                continue;
            };
            if before.is_some_and(|before| day >= before) {
                // Keys come in order: every later one is as young.
                past_before = true;
                break;
            }
            traces.push(TraceRef {
                id: id.to_string(),
                created: created_of(id, day),
                size: object.size().unwrap_or(0).max(0) as u64,
                handle: key.to_string(),
            });
        }
        let next = answer
            .next_continuation_token()
            .filter(|_| answer.is_truncated() == Some(true) && !past_before)
            .map(str::to_string);
        Ok(ItemPage { traces, next })
    }

    /// Every trace under `{prefix}/traces/{day}/`: size and MD5 (its ETag,
    /// when the ETag is one), a listing page per 1,000.
    async fn day_folder(&self, day: NaiveDate) -> Result<DayHeld> {
        let folder = format!("{}{}/", self.traces_dir, day.format("%Y-%m-%d"));
        let mut held = DayHeld::new();
        let mut token = None;
        let mut advance = Advance::by_key();
        loop {
            let answer = self.list(&folder, token.take()).await?;
            let next = answer
                .next_continuation_token()
                .filter(|_| answer.is_truncated() == Some(true))
                .map(str::to_string);
            let keys = answer
                .contents()
                .iter()
                .filter_map(|o| o.key())
                .map(|k| (k, None));
            advance
                .page(keys, std::iter::empty(), next.as_ref())
                .map_err(|stuck| {
                    Error::cloud(format!("listing {}: {stuck}", self.object(&folder)))
                })?;
            for object in answer.contents() {
                let Some(id) = object
                    .key()
                    .and_then(|k| k.strip_prefix(&folder))
                    .and_then(bundle_id)
                else {
                    continue;
                };
                let etag = unquoted(object.e_tag().unwrap_or_default());
                held.insert(
                    id.to_string(),
                    Fingerprint {
                        size: object.size().unwrap_or(0).max(0) as u64,
                        md5: is_md5(&etag).then_some(etag),
                    },
                );
            }
            match next {
                Some(next) => token = Some(next),
                None => return Ok(held),
            }
        }
    }

    /// The object's ETag and size, `None` when there is none.
    async fn head(&self, key: &str) -> Result<Option<(String, u64)>> {
        match self
            .clients
            .s3
            .head_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(head) => Ok(Some((
                unquoted(head.e_tag().unwrap_or_default()),
                head.content_length().unwrap_or(0).max(0) as u64,
            ))),
            Err(e) if status(&e) == Some(404) => Ok(None),
            Err(e) => Err(api_error(
                e,
                "HeadObject",
                &self.object(key),
                &self.clients.target,
            )),
        }
    }

    async fn get(&self, key: &str) -> Result<Option<ReadCopy>> {
        let got = match self
            .clients
            .s3
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
        {
            Ok(got) => got,
            Err(e) if status(&e) == Some(404) => return Ok(None),
            Err(e) => {
                return Err(api_error(
                    e,
                    "GetObject",
                    &self.object(key),
                    &self.clients.target,
                ));
            }
        };
        let version = match got.version_id().filter(|v| *v != "null") {
            Some(v) => format!("{VERSION}{v}"),
            None => format!("{ETAG}{}", unquoted(got.e_tag().unwrap_or_default())),
        };
        // The SDK's time limit ends with the answer's head: the body is
        // read under the call's own.
        let limit = self.clients.target.timeouts.call;
        let bytes = match tokio::time::timeout(limit, got.body.collect()).await {
            Ok(Ok(body)) => body.into_bytes().to_vec(),
            Ok(Err(e)) => {
                return Err(Error::cloud(format!(
                    "GetObject {}: reading the body: {e}",
                    self.object(key)
                )));
            }
            Err(_) => {
                return Err(Error::cloud(format!(
                    "GetObject {}: the body did not arrive within {}",
                    self.object(key),
                    crate::transport::timeouts::Timeouts::show(limit)
                )));
            }
        };
        Ok(Some(ReadCopy {
            bytes,
            version: Some(version),
        }))
    }

    async fn held_at(&self, key: &str, bytes: &[u8]) -> Result<Held> {
        let Some((etag, size)) = self.head(key).await? else {
            return Ok(Held::Absent);
        };
        if size != bytes.len() as u64 {
            return Ok(Held::Different);
        }
        if is_md5(&etag) {
            return Ok(if etag == md5_hex(bytes) {
                Held::Same
            } else {
                Held::Different
            });
        }
        // A multipart or encrypted object's ETag is no MD5: compare bytes.
        Ok(match self.get(key).await? {
            Some(copy) if copy.bytes == bytes => Held::Same,
            Some(_) => Held::Different,
            None => Held::Absent,
        })
    }

    async fn put(&self, key: &str, bytes: &[u8]) -> Result<Written> {
        let digest = Md5::digest(bytes);
        let put = self
            .clients
            .s3
            .put_object()
            .bucket(&self.bucket)
            .key(key)
            .content_type("application/zip")
            .content_md5(base64::engine::general_purpose::STANDARD.encode(digest))
            .body(ByteStream::from(bytes.to_vec()))
            .send()
            .await
            .map_err(|e| api_error(e, "PutObject", &self.object(key), &self.clients.target))?;
        let etag = unquoted(put.e_tag().unwrap_or_default());
        let expected = hex(&digest);
        if is_md5(&etag) && etag != expected {
            return Err(Error::cloud(format!(
                "PutObject {}: the store answered ETag {etag}, not the MD5 {expected} of the bytes sent",
                self.object(key)
            )));
        }
        if !is_md5(&etag) {
            // No MD5 in the answer (encryption with a KMS key): the size
            // read back confirms, with the MD5 the server checked on receipt.
            match self.head(key).await? {
                Some((_, size)) if size == bytes.len() as u64 => {}
                other => {
                    return Err(Error::cloud(format!(
                        "PutObject {}: read back {} instead of {} bytes",
                        self.object(key),
                        other.map_or("nothing".to_string(), |(_, s)| format!("{s} bytes")),
                        bytes.len()
                    )));
                }
            }
        }
        Ok(Written::Confirmed)
    }

    async fn delete(&self, trace: &TraceRef, read: &ReadCopy) -> Result<Removed> {
        let key = &trace.handle;
        let version = read.version.as_deref().unwrap_or_default();
        let mut delete = self
            .clients
            .s3
            .delete_object()
            .bucket(&self.bucket)
            .key(key);
        if let Some(version) = version.strip_prefix(VERSION) {
            // Only the version copied: a newer one (the app wrote the trace
            // again) stays current.
            delete = delete.version_id(version);
        } else {
            let read_etag = version.strip_prefix(ETAG).unwrap_or_default();
            match self.head(key).await? {
                Some((etag, _)) if etag == read_etag => {}
                _ => return Ok(Removed::Changed),
            }
        }
        delete
            .send()
            .await
            .map_err(|e| api_error(e, "DeleteObject", &self.object(key), &self.clients.target))?;
        Ok(Removed::Removed)
    }
}

fn unquoted(etag: &str) -> String {
    etag.trim_matches('"').to_string()
}

fn is_md5(etag: &str) -> bool {
    etag.len() == 32 && etag.bytes().all(|b| b.is_ascii_hexdigit())
}

impl TraceItems for BucketItems {
    fn location(&self) -> String {
        format!("s3://{}/{}", self.bucket, self.traces_dir)
    }

    fn format(&self) -> Format {
        Format::Bundle
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
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Held>> {
        async move {
            let key = self.key_of(id, created.date_naive());
            self.held_at(&key, bytes).await
        }
        .boxed_local()
    }

    fn held_day(&self, day: NaiveDate) -> LocalBoxFuture<'_, Result<Option<DayHeld>>> {
        async move { self.day_folder(day).await.map(Some) }.boxed_local()
    }

    fn write<'a>(
        &'a self,
        id: &'a str,
        created: DateTime<Utc>,
        bytes: &'a [u8],
    ) -> LocalBoxFuture<'a, Result<Written>> {
        async move {
            let key = self.key_of(id, created.date_naive());
            self.put(&key, bytes).await
        }
        .boxed_local()
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

    #[test]
    fn only_plain_md5_etags_are_compared_as_digests() {
        assert!(is_md5("9e107d9d372bb6826bd81d3542a419d6"));
        assert!(!is_md5("9e107d9d372bb6826bd81d3542a419d6-2"));
        assert_eq!(unquoted("\"abc\""), "abc");
    }
}
