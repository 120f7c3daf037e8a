//! S3 Inventory, the bucket side: finding the newest complete inventory in
//! AWS's documented layout
//! (`{destination prefix}/{source bucket}/{config id}/{YYYY-MM-DDTHH-MMZ}/`
//! holding `manifest.json` and `manifest.checksum`, data files under
//! `…/{config id}/data/`), checking it (the checksum, the source bucket),
//! and streaming its data files into a `KeyedFold`: each file is downloaded
//! to a temporary file (its MD5 and size checked against the manifest) and
//! read line by line or row group by row group (`rows`), so memory stays
//! bounded whatever the inventory's size. `config` sets the inventory up.

pub mod config;
mod manifest;
mod rows;
pub(crate) mod store;

use std::io::{Seek, Write};

use aws_sdk_s3::Client;
use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use chrono::{DateTime, Utc};
use md5::{Digest, Md5};

use super::Target;
use super::errors::{api_error, status};
use super::throttle::throttled;
use crate::error::{Error, Result};
use crate::scan::Advance;
use crate::scan::KeyedFold;
use crate::spec::inventory::Inventory;

use manifest::{FileFormat, Manifest, folder_time};

/// A `manifest.json` larger than this is not an inventory manifest (one
/// lists a few hundred files at most).
const MANIFEST_LIMIT: usize = 16 << 20;
/// Dated folders tried, newest first, for one with both manifest files.
const FOLDERS_TRIED: usize = 7;

/// The newest complete inventory of a bucket, checked.
#[derive(Debug, Clone)]
pub struct Snapshot {
    /// `s3://destination/…/manifest.json`.
    pub manifest_url: String,
    /// When S3 started the inventory's scan: the data is as of then.
    pub created: DateTime<Utc>,
    destination: String,
    manifest: Manifest,
    format: FileFormat,
}

/// Reads one configuration's inventories of one bucket.
#[derive(Debug, Clone)]
pub struct Reader {
    pub s3: Client,
    pub target: Target,
    pub inventory: Inventory,
    /// The bucket the inventory lists (the environment's).
    pub source_bucket: String,
}

impl Reader {
    /// The newest inventory with both manifest files, checked; `None` when
    /// there is none yet. A manifest whose checksum does not match, or
    /// that lists another bucket, is an error (never skipped silently).
    pub async fn newest(&self) -> Result<Option<Snapshot>> {
        let dir = self.inventory.reports_dir(&self.source_bucket);
        let mut folders = self.dated_folders(&dir).await?;
        folders.sort_by_key(|f| std::cmp::Reverse(f.0));
        for (time, folder) in folders.into_iter().take(FOLDERS_TRIED) {
            let dest = &self.inventory.bucket;
            let Some(checksum) = self.small(&format!("{folder}manifest.checksum")).await? else {
                tracing::debug!(%folder, "no manifest.checksum yet: an inventory being written");
                continue;
            };
            let key = format!("{folder}manifest.json");
            let Some(json) = self.small(&key).await? else {
                continue;
            };
            let url = format!("s3://{dest}/{key}");
            let checksum = String::from_utf8_lossy(&checksum);
            let manifest = manifest::verified(&json, &checksum, &url)?;
            manifest.check_source(&self.source_bucket, &url)?;
            let format = manifest.format(&url)?;
            return Ok(Some(Snapshot {
                created: manifest.created().unwrap_or(time),
                manifest_url: url,
                destination: dest.clone(),
                manifest,
                format,
            }));
        }
        Ok(None)
    }

    /// The dated report folders under `dir`, with their times.
    async fn dated_folders(&self, dir: &str) -> Result<Vec<(DateTime<Utc>, String)>> {
        let mut found = Vec::new();
        let mut token: Option<String> = None;
        let mut advance = Advance::by_key();
        loop {
            let request = self
                .s3
                .list_objects_v2()
                .bucket(&self.inventory.bucket)
                .prefix(dir)
                .delimiter("/")
                .set_continuation_token(token.clone());
            let out = throttled(self.target.timeouts.call, || request.clone().send())
                .await
                .map_err(|e| self.failed(e, "ListObjectsV2", dir))?;
            let keys = out.contents().iter().filter_map(|o| Some((o.key()?, None)));
            let folders = out.common_prefixes().iter().filter_map(|p| p.prefix());
            let next = out
                .next_continuation_token()
                .filter(|_| out.is_truncated() == Some(true))
                .map(str::to_string);
            advance.page(keys, folders, next.as_ref()).map_err(|why| {
                Error::cloud(format!(
                    "ListObjectsV2 s3://{}/{dir}: {why}; stopping rather than loop",
                    self.inventory.bucket
                ))
            })?;
            for folder in out.common_prefixes().iter().filter_map(|p| p.prefix()) {
                let name = folder.get(dir.len()..).unwrap_or("").trim_end_matches('/');
                if let Some(time) = folder_time(name) {
                    found.push((time, folder.to_string()));
                }
            }
            if next.is_none() {
                return Ok(found);
            }
            token = next;
        }
    }

    /// A small object of the destination (`None`: it does not exist).
    async fn small(&self, key: &str) -> Result<Option<Vec<u8>>> {
        let mut file = match self.download(key).await? {
            Some((file, _, size)) if size as usize > MANIFEST_LIMIT => {
                drop(file);
                return Err(Error::cloud(format!(
                    "s3://{}/{key} is {size} bytes: too large for an inventory manifest",
                    self.inventory.bucket
                )));
            }
            Some((file, _, _)) => file,
            None => return Ok(None),
        };
        let mut bytes = Vec::new();
        std::io::Read::read_to_end(&mut file, &mut bytes)
            .map_err(|e| Error::io("a temporary file", e))?;
        Ok(Some(bytes))
    }

    /// Streams an object of the destination into a temporary file, chunk by
    /// chunk (each within the attempt's time limit); returns the file
    /// (rewound), its MD5 in hex and its size. `None`: no such key.
    async fn download(&self, key: &str) -> Result<Option<(std::fs::File, String, u64)>> {
        let request = self.s3.get_object().bucket(&self.inventory.bucket).key(key);
        let out = match throttled(self.target.timeouts.call, || request.clone().send()).await {
            Ok(out) => out,
            Err(e) if e.code() == Some("NoSuchKey") || status(&e) == Some(404) => return Ok(None),
            Err(e) => return Err(self.failed(e, "GetObject", key)),
        };
        let place = format!("s3://{}/{key}", self.inventory.bucket);
        let io = |e: std::io::Error| Error::io("a temporary file", e);
        let mut file = tempfile::tempfile().map_err(io)?;
        let (mut md5, mut size) = (Md5::new(), 0u64);
        let mut body = out.body;
        loop {
            let chunk = tokio::time::timeout(self.target.timeouts.attempt(), body.next())
                .await
                .map_err(|_| {
                    Error::cloud(format!("GetObject {place}: the server stopped sending"))
                })?;
            match chunk {
                None => break,
                Some(Ok(bytes)) => {
                    md5.update(&bytes);
                    size += bytes.len() as u64;
                    file.write_all(&bytes).map_err(io)?;
                }
                Some(Err(e)) => {
                    return Err(Error::cloud(format!(
                        "GetObject {place}: the download broke off: {}",
                        super::errors::one_line(&e)
                    )));
                }
            }
        }
        file.rewind().map_err(io)?;
        Ok(Some((file, manifest::md5_hex(&md5.finalize()), size)))
    }

    /// Streams every data file of `snapshot` into `fold`.
    pub async fn scan(&self, snapshot: &Snapshot, fold: &mut KeyedFold<'_>) -> Result<()> {
        let columns = snapshot.manifest.csv_columns();
        for data in &snapshot.manifest.files {
            let place = format!("s3://{}/{}", snapshot.destination, data.key);
            let Some((file, md5, size)) = self.download(&data.key).await? else {
                return Err(Error::cloud(format!(
                    "inventory {}: its data file {place} is missing",
                    snapshot.manifest_url
                )));
            };
            if size != data.size || (!data.md5.is_empty() && !md5.eq_ignore_ascii_case(&data.md5)) {
                return Err(Error::cloud(format!(
                    "inventory data file {place}: {size} bytes with MD5 {md5}, the manifest says {} bytes with MD5 {:.32}: corrupt",
                    data.size, data.md5
                )));
            }
            let bucket = &self.source_bucket;
            let mut sink = |entry: crate::scan::Entry| fold.record(&entry);
            match snapshot.format {
                FileFormat::Csv => rows::csv_gz(file, &columns, bucket, &place, &mut sink)?,
                FileFormat::Parquet => rows::parquet(file, bucket, &place, &mut sink)?,
            }
        }
        Ok(())
    }

    fn failed<E, R>(&self, e: SdkError<E, R>, action: &str, key: &str) -> Error
    where
        E: ProvideErrorMetadata + std::error::Error + 'static,
        R: std::fmt::Debug + super::errors::RawStatus,
    {
        let resource = format!("s3://{}/{key}", self.inventory.bucket);
        api_error(e, action, &resource, &self.target)
    }
}
