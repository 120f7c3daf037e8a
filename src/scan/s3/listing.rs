//! One page of a bucket listing, as plain entries: ListObjectsV2 for
//! unversioned buckets, ListObjectVersions (versions and delete markers)
//! for versioned ones.

use aws_sdk_s3::primitives::DateTime as SmithyTime;
use chrono::{DateTime, Utc};

use super::Source;
use crate::cloud::errors::{api_error, throttled};
use crate::error::Result;
use crate::scan::{Entry, EntryKind};

/// Where the next page starts.
#[derive(Debug, Clone)]
pub enum Token {
    Continuation(String),
    Versions {
        key: String,
        version_id: Option<String>,
    },
}

/// One page: entries, sub-folders (delimited listings only), the next token.
#[derive(Debug, Default)]
pub struct Page {
    pub entries: Vec<Entry>,
    pub folders: Vec<String>,
    pub next: Option<Token>,
}

/// A page of ListObjectsV2.
pub async fn objects(
    src: &Source,
    prefix: &str,
    delimited: bool,
    token: Option<Token>,
) -> Result<Page> {
    let mut request = src.s3.list_objects_v2().bucket(&src.bucket).prefix(prefix);
    if delimited {
        request = request.delimiter("/");
    }
    if let Some(Token::Continuation(t)) = token {
        request = request.continuation_token(t);
    }
    let out = throttled(|| request.clone().send())
        .await
        .map_err(|e| api_error(e, "ListObjectsV2", &resource(src, prefix), &src.target))?;
    let entries = out
        .contents()
        .iter()
        .filter_map(|o| {
            Some(Entry {
                key: o.key()?.to_string(),
                size: size(o.size()),
                modified: time(o.last_modified()),
                class: o.storage_class().map(|c| c.as_str().to_string()),
                version_id: None,
                kind: EntryKind::Current,
            })
        })
        .collect();
    let next = match (out.is_truncated(), out.next_continuation_token()) {
        (Some(true), Some(t)) => Some(Token::Continuation(t.to_string())),
        _ => None,
    };
    Ok(Page {
        entries,
        folders: folders(out.common_prefixes().iter().filter_map(|p| p.prefix())),
        next,
    })
}

/// A page of ListObjectVersions: versions and delete markers.
pub async fn versions(
    src: &Source,
    prefix: &str,
    delimited: bool,
    token: Option<Token>,
) -> Result<Page> {
    let mut request = src
        .s3
        .list_object_versions()
        .bucket(&src.bucket)
        .prefix(prefix);
    if delimited {
        request = request.delimiter("/");
    }
    if let Some(Token::Versions { key, version_id }) = token {
        request = request.key_marker(key).set_version_id_marker(version_id);
    }
    let out = throttled(|| request.clone().send())
        .await
        .map_err(|e| api_error(e, "ListObjectVersions", &resource(src, prefix), &src.target))?;
    let mut entries: Vec<Entry> = out
        .versions()
        .iter()
        .filter_map(|v| {
            Some(Entry {
                key: v.key()?.to_string(),
                size: size(v.size()),
                modified: time(v.last_modified()),
                class: v.storage_class().map(|c| c.as_str().to_string()),
                version_id: v.version_id().map(str::to_string),
                kind: if v.is_latest().unwrap_or(true) {
                    EntryKind::Current
                } else {
                    EntryKind::Noncurrent
                },
            })
        })
        .collect();
    entries.extend(out.delete_markers().iter().filter_map(|m| {
        Some(Entry {
            key: m.key()?.to_string(),
            size: 0,
            modified: time(m.last_modified()),
            class: None,
            version_id: m.version_id().map(str::to_string),
            kind: EntryKind::DeleteMarker,
        })
    }));
    let next = match (out.is_truncated(), out.next_key_marker()) {
        (Some(true), Some(key)) => Some(Token::Versions {
            key: key.to_string(),
            version_id: out.next_version_id_marker().map(str::to_string),
        }),
        _ => None,
    };
    Ok(Page {
        entries,
        folders: folders(out.common_prefixes().iter().filter_map(|p| p.prefix())),
        next,
    })
}

fn resource(src: &Source, prefix: &str) -> String {
    format!("s3://{}/{prefix}", src.bucket)
}

fn folders<'a>(prefixes: impl Iterator<Item = &'a str>) -> Vec<String> {
    prefixes.map(str::to_string).collect()
}

/// Sizes are never negative; a server that says so is treated as 0.
fn size(value: Option<i64>) -> u64 {
    value.and_then(|v| u64::try_from(v).ok()).unwrap_or(0)
}

fn time(value: Option<&SmithyTime>) -> Option<DateTime<Utc>> {
    let t = value?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}
