//! One page of a bucket listing, as plain entries: ListObjectsV2 for
//! unversioned buckets, ListObjectVersions (versions and delete markers)
//! for versioned ones. The SDK sends the request (signing, retries, time
//! limits); the page's body is read by the streaming parse (`fast_path`,
//! `page_xml`), or by the SDK when that declines it.

use std::future::Future;

use aws_sdk_s3::error::{ProvideErrorMetadata, SdkError};
use aws_sdk_s3::operation::list_object_versions::ListObjectVersionsOutput;
use aws_sdk_s3::operation::list_objects_v2::ListObjectsV2Output;
use aws_sdk_s3::primitives::DateTime as SmithyTime;
use aws_smithy_runtime_api::http::Response as HttpResponse;
use chrono::{DateTime, Utc};

use super::Source;
use super::fast_path::{FastListing, Listing, Slot};
use super::page_xml::RawPage;
use crate::error::{Error, Result};
use crate::scan::Advance;
use crate::scan::{Entry, EntryKind};
use crate::stores::s3::errors::api_error;
use crate::stores::s3::storage_class;

/// Where the next page starts.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Token {
    Continuation(String),
    Versions {
        key: String,
        version_id: Option<String>,
    },
    /// The first `keys` keys after `key` (a seek: `StartAfter`, or the key
    /// marker of a version listing; from the prefix's start when `key` is
    /// empty).
    After {
        key: String,
        keys: i32,
    },
}

/// One page: entries, sub-folders (delimited listings only), the next token.
#[derive(Debug, Clone, Default)]
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
    match &token {
        Some(Token::Continuation(t)) => request = request.continuation_token(t),
        Some(Token::After { key, keys }) => {
            // From the start of the prefix when empty (no empty StartAfter).
            request = request
                .set_start_after(Some(key.clone()).filter(|k| !k.is_empty()))
                .max_keys(*keys);
        }
        _ => {}
    }
    // The page's body goes to the streaming parse (`fast_path`); the SDK's
    // output is read only when that declined the page.
    let send = move |fast| request.clone().customize().interceptor(fast).send();
    let raw = fetch(src, Listing::ObjectsV2, send, sdk_page)
        .await?
        .map_err(|e| api_error(e, "ListObjectsV2", &resource(src, prefix), &src.target))?;
    let offered = raw.next_token.map(Token::Continuation);
    let next = next_page(raw.truncated, offered, token.as_ref())
        .map_err(|why| broken_listing("ListObjectsV2", src, prefix, why))?;
    Ok(Page {
        entries: raw.entries,
        folders: raw.folders,
        next,
    })
}

/// One listing request (`send`, given the fast path's interceptor), sent
/// in turn of the run's gate and again while throttled (`Gate::call`), on
/// a task of its own (`on_a_worker`): the page the streaming parse read,
/// or the SDK's output (`sdk`) when that declined it. The outer error is
/// the task's, the inner the request's.
async fn fetch<O, E, F, Fut>(
    src: &Source,
    listing: Listing,
    send: F,
    sdk: fn(&O) -> RawPage,
) -> Result<std::result::Result<RawPage, SdkError<E, HttpResponse>>>
where
    F: Fn(FastListing) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = std::result::Result<O, SdkError<E, HttpResponse>>> + Send,
    O: Send + 'static,
    E: ProvideErrorMetadata + Send + 'static,
{
    let gate = src.gate.clone();
    on_a_worker(async move {
        let slot = Slot::default();
        let out = gate.call(|| send(FastListing::new(listing, &slot))).await?;
        Ok(slot.take().unwrap_or_else(|| sdk(&out)))
    })
    .await
}

/// Runs one page's request, and with it the parse of the page's body (the
/// parse runs where the request is polled), as a task of its own. The
/// scan's future runs on the one thread that waits for it, so its pages
/// would all be parsed there; as tasks, the runtime's workers parse them
/// side by side (BENCHMARKS.md, "The tool's own cost"). A scan dropped
/// midway (an error elsewhere, Ctrl-C) aborts its requests in flight.
async fn on_a_worker<T: Send + 'static>(
    work: impl Future<Output = T> + Send + 'static,
) -> Result<T> {
    /// Aborts the task when dropped before it ended.
    struct Running<T>(tokio::task::JoinHandle<T>);
    impl<T> Drop for Running<T> {
        fn drop(&mut self) {
            self.0.abort();
        }
    }
    let mut running = Running(tokio::spawn(work));
    (&mut running.0)
        .await
        .map_err(|e| Error::cloud(format!("a listing request ended without an answer: {e}")))
}

/// A ListObjectsV2 page as the SDK deserialised it (the fast path declined).
fn sdk_page(out: &ListObjectsV2Output) -> RawPage {
    let entries = out
        .contents()
        .iter()
        .filter_map(|o| {
            Some(Entry {
                key: o.key()?.to_string(),
                size: size(o.size()),
                modified: time(o.last_modified()),
                class: o.storage_class().map(|c| storage_class(c.as_str())),
                version_id: None,
                kind: EntryKind::Current,
            })
        })
        .collect();
    RawPage {
        entries,
        folders: folders(out.common_prefixes().iter().filter_map(|p| p.prefix())),
        truncated: out.is_truncated(),
        next_token: out.next_continuation_token().map(str::to_string),
        next_version_id: None,
    }
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
    match &token {
        Some(Token::Versions { key, version_id }) => {
            request = request
                .key_marker(key)
                .set_version_id_marker(version_id.clone());
        }
        Some(Token::After { key, keys }) => {
            request = request
                .set_key_marker(Some(key.clone()).filter(|k| !k.is_empty()))
                .max_keys(*keys);
        }
        _ => {}
    }
    let send = move |fast| request.clone().customize().interceptor(fast).send();
    let raw = fetch(src, Listing::Versions, send, sdk_versions_page)
        .await?
        .map_err(|e| api_error(e, "ListObjectVersions", &resource(src, prefix), &src.target))?;
    let offered = raw.next_token.map(|key| Token::Versions {
        key,
        version_id: raw.next_version_id,
    });
    let next = next_page(raw.truncated, offered, token.as_ref())
        .map_err(|why| broken_listing("ListObjectVersions", src, prefix, why))?;
    Ok(Page {
        entries: raw.entries,
        folders: raw.folders,
        next,
    })
}

/// A ListObjectVersions page as the SDK deserialised it (the fast path
/// declined): versions, then delete markers.
fn sdk_versions_page(out: &ListObjectVersionsOutput) -> RawPage {
    let mut entries: Vec<Entry> = out
        .versions()
        .iter()
        .filter_map(|v| {
            Some(Entry {
                key: v.key()?.to_string(),
                size: size(v.size()),
                modified: time(v.last_modified()),
                class: v.storage_class().map(|c| storage_class(c.as_str())),
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
    RawPage {
        entries,
        folders: folders(out.common_prefixes().iter().filter_map(|p| p.prefix())),
        truncated: out.is_truncated(),
        next_token: out.next_key_marker().map(str::to_string),
        next_version_id: out.next_version_id_marker().map(str::to_string),
    }
}

/// Where the listing goes on, from a page's truncation flag and the token it
/// offers (pure). A page that says more follows but offers no way on, or
/// offers the very token it was asked with, is an error: stopping would
/// report part of the listing as all of it, and following would never end.
fn next_page(
    truncated: Option<bool>,
    offered: Option<Token>,
    asked: Option<&Token>,
) -> std::result::Result<Option<Token>, &'static str> {
    if truncated != Some(true) {
        return Ok(None);
    }
    match offered {
        None => Err("the page says the listing is truncated but gives no token to continue from"),
        Some(next) if Some(&next) == asked => Err(
            "the page repeats the continuation token it was asked with, so the listing would never end",
        ),
        Some(next) => Ok(Some(next)),
    }
}

fn broken_listing(action: &str, src: &Source, prefix: &str, why: &str) -> Error {
    Error::cloud_with_hint(
        format!(
            "{action} {}: {why}; the scan stops rather than count part of it",
            resource(src, prefix)
        ),
        "the endpoint (or a proxy in front of it) answers listings incorrectly; rerun, or check what sits in front of the store",
    )
}

/// The progress guard of one paged listing of `src` (`advance`).
pub(super) fn advance(src: &Source) -> Advance<Token> {
    if src.versioned {
        Advance::by_version()
    } else {
        Advance::by_key()
    }
}

/// Checks that `page`, the next page of a listing of `prefix`, moved on
/// from the pages before it; an error naming the server's fault if not.
pub(super) fn moved_on(
    src: &Source,
    advance: &mut Advance<Token>,
    prefix: &str,
    page: &Page,
) -> Result<()> {
    let entries = page
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.version_id.as_deref()));
    let folders = page.folders.iter().map(String::as_str);
    advance
        .page(entries, folders, page.next.as_ref())
        .map_err(|why| {
            let action = if src.versioned {
                "ListObjectVersions"
            } else {
                "ListObjectsV2"
            };
            Error::cloud_with_hint(
                format!(
                    "{action} {}: {why}; the scan stops rather than loop",
                    resource(src, prefix)
                ),
                "the endpoint (or a proxy in front of it) pages listings incorrectly; check what sits in front of the store",
            )
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

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};
    use std::time::Duration;

    use super::*;

    #[tokio::test]
    async fn a_listing_task_that_panics_is_a_one_line_error_not_a_crash() {
        let answer = on_a_worker::<()>(async { panic!("a parse bug") }).await;
        let message = answer
            .expect_err("a panicked task has no answer")
            .to_string();
        assert!(
            message.contains("a listing request ended without an answer"),
            "{message}"
        );
        assert!(!message.contains('\n'), "{message}");
    }

    #[tokio::test]
    async fn a_dropped_listing_aborts_its_task() {
        let finished = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&finished);
        let slow = on_a_worker(async move {
            tokio::time::sleep(Duration::from_millis(300)).await;
            flag.store(true, Ordering::SeqCst);
        });
        // Given up on (as when another unit fails or Ctrl-C ends the scan).
        let gave_up = tokio::time::timeout(Duration::from_millis(20), slow).await;
        assert!(gave_up.is_err(), "the task cannot have ended yet");
        tokio::time::sleep(Duration::from_millis(600)).await;
        assert!(
            !finished.load(Ordering::SeqCst),
            "the task ran on after its scan dropped it"
        );
    }

    fn token(t: &str) -> Token {
        Token::Continuation(t.to_string())
    }

    #[test]
    fn a_complete_page_ends_the_listing_whatever_token_it_carries() {
        for truncated in [None, Some(false)] {
            assert_eq!(next_page(truncated, Some(token("x")), None), Ok(None));
            assert_eq!(next_page(truncated, None, Some(&token("x"))), Ok(None));
        }
    }

    #[test]
    fn a_truncated_page_continues_from_a_new_token() {
        assert_eq!(
            next_page(Some(true), Some(token("b")), Some(&token("a"))),
            Ok(Some(token("b")))
        );
        assert_eq!(
            next_page(Some(true), Some(token("a")), None),
            Ok(Some(token("a")))
        );
    }

    #[test]
    fn a_truncated_page_without_a_token_or_repeating_it_is_an_error() {
        assert!(next_page(Some(true), None, None).is_err());
        assert!(next_page(Some(true), Some(token("a")), Some(&token("a"))).is_err());
        let marker = |v: Option<&str>| Token::Versions {
            key: "k".to_string(),
            version_id: v.map(str::to_string),
        };
        assert!(
            next_page(
                Some(true),
                Some(marker(Some("1"))),
                Some(&marker(Some("1")))
            )
            .is_err()
        );
        assert!(
            next_page(
                Some(true),
                Some(marker(Some("2"))),
                Some(&marker(Some("1")))
            )
            .is_ok()
        );
    }
}
