//! A streaming parse of one listing page body (ListObjectsV2 or
//! ListObjectVersions) straight into the scan's entries (pure). The SDK's own deserialiser builds a full
//! `Object` per key (owner, checksums, an owned string per field, a parsed
//! timestamp) that the scan then copies again; on millions of keys that is
//! most of the tool's CPU. This reads the body once (`xml_tokens`, a strict
//! subset of XML) borrowing from it, allocating only what an `Entry` keeps.
//!
//! It is a fast path, never a second opinion: whatever it does not fully
//! understand (another root element, an unknown entity, CDATA, a carriage
//! return, an empty or nested leaf, a timestamp in another form, a body
//! that ends early...) makes it answer `None`, and the caller lets the SDK
//! deserialise the page as before, errors included. So on any page it
//! accepts, it gives what the SDK path gives.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};

use super::xml_tokens::{Token, Tokens, unescape};
use crate::scan::{Entry, EntryKind};
use crate::stores::s3::storage_class;

/// What the scan needs from one listing page.
#[derive(Debug, Default)]
pub struct RawPage {
    /// In the SDK path's order: objects; or versions, then delete markers.
    pub entries: Vec<Entry>,
    pub folders: Vec<String>,
    pub truncated: Option<bool>,
    /// `NextContinuationToken`, or a version listing's `NextKeyMarker`.
    pub next_token: Option<String>,
    /// A version listing's `NextVersionIdMarker`.
    pub next_version_id: Option<String>,
}

/// A ListObjectsV2 page, or `None` when the fast path does not understand it.
pub fn objects_v2(body: &[u8]) -> Option<RawPage> {
    parse(body, "ListBucketResult", |reader, name, page| {
        match name {
            "Contents" => page.entries.push(entry(reader, Element::Object)?),
            "NextContinuationToken" => page.next_token = Some(text(reader)?.into_owned()),
            _ => return Some(false),
        }
        Some(true)
    })
}

/// A ListObjectVersions page (versions, then delete markers, as the SDK
/// path lists them), or `None` when the fast path does not understand it.
pub fn versions(body: &[u8]) -> Option<RawPage> {
    let mut markers = Vec::new();
    let mut page = parse(body, "ListVersionsResult", |reader, name, page| {
        match name {
            "Version" => page.entries.push(entry(reader, Element::Version)?),
            "DeleteMarker" => markers.push(entry(reader, Element::DeleteMarker)?),
            "NextKeyMarker" => page.next_token = Some(text(reader)?.into_owned()),
            "NextVersionIdMarker" => page.next_version_id = Some(text(reader)?.into_owned()),
            _ => return Some(false),
        }
        Some(true)
    })?;
    page.entries.extend(markers);
    Some(page)
}

/// Elements the fast path reads, in a page or in an entry: present but
/// empty (`<Key/>`), they make the page fall back.
const READ: [&str; 14] = [
    "Contents",
    "Version",
    "DeleteMarker",
    "CommonPrefixes",
    "IsTruncated",
    "NextContinuationToken",
    "NextKeyMarker",
    "NextVersionIdMarker",
    "Key",
    "Size",
    "LastModified",
    "StorageClass",
    "VersionId",
    "IsLatest",
];

/// Reads the document around a root named `root`: `child` takes the
/// page's own elements (their start tag read; `Some(false)`: not its), the
/// rest is common to both listings.
fn parse<'a>(
    body: &'a [u8],
    root: &str,
    mut child: impl FnMut(&mut Tokens<'a>, &str, &mut RawPage) -> Option<bool>,
) -> Option<RawPage> {
    let mut reader = Tokens::new(body)?;
    // Room for the page's entries at once (an entry takes 200 bytes or
    // more of XML), rather than growing and copying the vector as it fills.
    let mut page = RawPage {
        entries: Vec::with_capacity(body.len() / 200),
        ..RawPage::default()
    };
    // The prologue, then the root element.
    loop {
        match reader.next_token()? {
            Token::Pi | Token::Comment => {}
            Token::Text(t) if blank(t.raw) => {}
            Token::Start(name) if name == root => break,
            _ => return None,
        }
    }
    loop {
        match reader.next_token()? {
            Token::Start(name) => match name {
                "CommonPrefixes" => {
                    if let Some(folder) = common_prefix(&mut reader)? {
                        page.folders.push(folder);
                    }
                }
                "IsTruncated" => page.truncated = Some(boolean(&text(&mut reader)?)?),
                name => {
                    if !child(&mut reader, name, &mut page)? {
                        skip(&mut reader)?;
                    }
                }
            },
            Token::Empty(name) if !READ.contains(&name) => {}
            Token::End(_) => break, // the root's (the tokens check end names)
            Token::Text(t) if blank(t.raw) => {}
            Token::Comment => {}
            _ => return None,
        }
    }
    // Nothing but white space and comments after the root.
    loop {
        match reader.next_token()? {
            Token::Eof => return Some(page),
            Token::Comment => {}
            Token::Text(t) if blank(t.raw) => {}
            _ => return None,
        }
    }
}

fn blank(text: &str) -> bool {
    text.bytes().all(|b| b.is_ascii_whitespace())
}

/// Which listing element an entry comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Element {
    /// `<Contents>` of ListObjectsV2.
    Object,
    /// `<Version>` of ListObjectVersions.
    Version,
    /// `<DeleteMarker>` of ListObjectVersions.
    DeleteMarker,
}

/// One entry element (its start tag read), read as the SDK path reads it:
/// an object has no version; a version is current unless `IsLatest` says
/// otherwise; a delete marker has no size or class. One without a key is
/// odd enough to leave to the SDK path (`None`).
fn entry(reader: &mut Tokens<'_>, element: Element) -> Option<Entry> {
    let (mut key, mut size, mut modified, mut class) = (None, 0, None, None);
    let (mut version_id, mut latest) = (None, None);
    let versioned = element != Element::Object;
    loop {
        match reader.next_token()? {
            Token::Start(name) => match name {
                "Key" => key = Some(text(reader)?.into_owned()),
                // Sizes are never negative; a server that says so is
                // treated as 0 (as `listing::size` does).
                "Size" => size = u64::try_from(text(reader)?.parse::<i64>().ok()?).unwrap_or(0),
                "LastModified" => modified = Some(timestamp(&text(reader)?)?),
                "StorageClass" => class = Some(storage_class(&text(reader)?)),
                "VersionId" if versioned => version_id = Some(text(reader)?.into_owned()),
                "IsLatest" if versioned => latest = Some(boolean(&text(reader)?)?),
                _ => skip(reader)?,
            },
            Token::Empty(name) if !READ.contains(&name) => {}
            Token::End(_) => break,
            Token::Text(t) if blank(t.raw) => {}
            _ => return None,
        }
    }
    let kind = match element {
        Element::Object => EntryKind::Current,
        Element::Version if latest.unwrap_or(true) => EntryKind::Current,
        Element::Version => EntryKind::Noncurrent,
        Element::DeleteMarker => {
            (size, class) = (0, None);
            EntryKind::DeleteMarker
        }
    };
    Some(Entry {
        key: key?,
        size,
        modified,
        class,
        version_id,
        kind,
    })
}

/// One `<CommonPrefixes>`: its `<Prefix>` (`Ok(None)` without one).
fn common_prefix(reader: &mut Tokens<'_>) -> Option<Option<String>> {
    let mut prefix = None;
    loop {
        match reader.next_token()? {
            Token::Start("Prefix") => prefix = Some(text(reader)?.into_owned()),
            Token::Start(_) => skip(reader)?,
            Token::Empty(name) if name != "Prefix" => {}
            Token::End(_) => return Some(prefix),
            Token::Text(t) if blank(t.raw) => {}
            _ => return None,
        }
    }
}

/// The text of a leaf element (its start tag read) up to its end tag,
/// entities resolved. Empty, nested, commented or with carriage returns:
/// `None`. Borrowed from the body unless it holds an entity (nearly
/// never): only what an `Entry` keeps is copied, not every size and date.
fn text<'a>(reader: &mut Tokens<'a>) -> Option<Cow<'a, str>> {
    let Token::Text(text) = reader.next_token()? else {
        return None;
    };
    let Token::End(_) = reader.next_token()? else {
        return None;
    };
    if text.plain {
        return Some(Cow::Borrowed(text.raw));
    }
    if text.raw.contains('\r') {
        return None;
    }
    unescape(text.raw)
}

/// Skips an element we do not read (its start tag read) to its end.
fn skip(reader: &mut Tokens<'_>) -> Option<()> {
    let mut depth = 0usize;
    loop {
        match reader.next_token()? {
            Token::Start(_) => depth += 1,
            Token::End(_) if depth == 0 => return Some(()),
            Token::End(_) => depth -= 1,
            Token::Eof => return None,
            _ => {}
        }
    }
}

fn boolean(text: &str) -> Option<bool> {
    match text {
        "true" => Some(true),
        "false" => Some(false),
        _ => None,
    }
}

/// `YYYY-MM-DDTHH:MM:SS[.f{1,9}]Z`, the form S3 and its clones send;
/// any other form falls back to the SDK's parser.
fn timestamp(text: &str) -> Option<DateTime<Utc>> {
    let b = text.as_bytes();
    if b.len() < 20
        || b[4] != b'-'
        || b[7] != b'-'
        || b[10] != b'T'
        || b[13] != b':'
        || b[16] != b':'
    {
        return None;
    }
    let num = |range: std::ops::Range<usize>| -> Option<u32> {
        let digits = b.get(range)?;
        digits.iter().try_fold(0u32, |n, d| {
            d.is_ascii_digit().then(|| n * 10 + u32::from(d - b'0'))
        })
    };
    let nanos = match &b[19..] {
        [b'Z'] => 0,
        [b'.', frac @ .., b'Z'] if (1..=9).contains(&frac.len()) => {
            let n = num(20..20 + frac.len())?;
            n * 10u32.pow(9 - frac.len() as u32)
        }
        _ => return None,
    };
    let (second, minute, hour) = (num(17..19)?, num(14..16)?, num(11..13)?);
    let date = NaiveDate::from_ymd_opt(i32::try_from(num(0..4)?).ok()?, num(5..7)?, num(8..10)?)?;
    // No leap seconds: the SDK's parser decides on those.
    if second > 59 {
        return None;
    }
    Some(
        date.and_hms_nano_opt(hour, minute, second, nanos)?
            .and_utc(),
    )
}

#[cfg(test)]
#[path = "page_xml_tests.rs"]
mod tests;
