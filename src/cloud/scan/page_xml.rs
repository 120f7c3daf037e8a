//! A streaming parse of one listing page body (ListObjectsV2 or
//! ListObjectVersions) straight into the scan's entries (pure). The SDK's own deserialiser builds a full
//! `Object` per key (owner, checksums, an owned string per field, a parsed
//! timestamp) that the scan then copies again; on millions of keys that is
//! most of the tool's CPU. This reads the body once with a pull parser
//! borrowing from it, allocating only what an `Entry` keeps.
//!
//! It is a fast path, never a second opinion: whatever it does not fully
//! understand (another root element, an unknown entity, CDATA, a carriage
//! return, an empty or nested leaf, a timestamp in another form, a body
//! that ends early...) makes it answer `None`, and the caller lets the SDK
//! deserialise the page as before, errors included. So on any page it
//! accepts, it gives what the SDK path gives.

use std::borrow::Cow;

use chrono::{DateTime, NaiveDate, Utc};
use quick_xml::Reader;
use quick_xml::events::Event;

use crate::cloud::storage_class;
use crate::scan::{Entry, EntryKind};

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
    parse(body, b"ListBucketResult", |reader, name, page| {
        match name {
            b"Contents" => page.entries.push(entry(reader, Element::Object)?),
            b"NextContinuationToken" => page.next_token = Some(text(reader)?.into_owned()),
            _ => return Some(false),
        }
        Some(true)
    })
}

/// A ListObjectVersions page (versions, then delete markers, as the SDK
/// path lists them), or `None` when the fast path does not understand it.
pub fn versions(body: &[u8]) -> Option<RawPage> {
    let mut markers = Vec::new();
    let mut page = parse(body, b"ListVersionsResult", |reader, name, page| {
        match name {
            b"Version" => page.entries.push(entry(reader, Element::Version)?),
            b"DeleteMarker" => markers.push(entry(reader, Element::DeleteMarker)?),
            b"NextKeyMarker" => page.next_token = Some(text(reader)?.into_owned()),
            b"NextVersionIdMarker" => page.next_version_id = Some(text(reader)?.into_owned()),
            _ => return Some(false),
        }
        Some(true)
    })?;
    page.entries.extend(markers);
    Some(page)
}

/// Elements the fast path reads, in a page or in an entry: present but
/// empty (`<Key/>`), they make the page fall back.
const READ: [&[u8]; 14] = [
    b"Contents",
    b"Version",
    b"DeleteMarker",
    b"CommonPrefixes",
    b"IsTruncated",
    b"NextContinuationToken",
    b"NextKeyMarker",
    b"NextVersionIdMarker",
    b"Key",
    b"Size",
    b"LastModified",
    b"StorageClass",
    b"VersionId",
    b"IsLatest",
];

/// Reads the document around a root named `root`: `child` takes the
/// page's own elements (their start tag read; `Some(false)`: not its), the
/// rest is common to both listings.
fn parse(
    body: &[u8],
    root: &[u8],
    mut child: impl FnMut(&mut Reader<&[u8]>, &[u8], &mut RawPage) -> Option<bool>,
) -> Option<RawPage> {
    let mut reader = Reader::from_reader(body);
    let mut page = RawPage::default();
    // The prologue, then the root element.
    loop {
        match reader.read_event().ok()? {
            Event::Decl(_) | Event::Comment(_) | Event::PI(_) => {}
            Event::Text(t) if blank(&t) => {}
            Event::Start(e) if e.name().as_ref() == root => break,
            _ => return None,
        }
    }
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if plain(&e) => match e.name().as_ref() {
                b"CommonPrefixes" => {
                    if let Some(folder) = common_prefix(&mut reader)? {
                        page.folders.push(folder);
                    }
                }
                b"IsTruncated" => page.truncated = Some(boolean(&text(&mut reader)?)?),
                name => {
                    if !child(&mut reader, name, &mut page)? {
                        skip(&mut reader)?;
                    }
                }
            },
            Event::Empty(e) if plain(&e) && !READ.contains(&e.name().as_ref()) => {}
            Event::End(_) => break, // the root's (quick-xml checks end names)
            Event::Text(t) if blank(&t) => {}
            Event::Comment(_) => {}
            _ => return None,
        }
    }
    // Nothing but white space and comments after the root.
    loop {
        match reader.read_event().ok()? {
            Event::Eof => return Some(page),
            Event::Comment(_) => {}
            Event::Text(t) if blank(&t) => {}
            _ => return None,
        }
    }
}

fn blank(text: &[u8]) -> bool {
    text.iter().all(u8::is_ascii_whitespace)
}

/// An element name without a namespace prefix: a prefixed one (which the
/// SDK may read differently) makes the whole page fall back.
fn plain(e: &quick_xml::events::BytesStart<'_>) -> bool {
    !e.name().as_ref().contains(&b':')
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
fn entry(reader: &mut Reader<&[u8]>, element: Element) -> Option<Entry> {
    let (mut key, mut size, mut modified, mut class) = (None, 0, None, None);
    let (mut version_id, mut latest) = (None, None);
    let versioned = element != Element::Object;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if plain(&e) => match e.name().as_ref() {
                b"Key" => key = Some(text(reader)?.into_owned()),
                // Sizes are never negative; a server that says so is
                // treated as 0 (as `listing::size` does).
                b"Size" => size = u64::try_from(text(reader)?.parse::<i64>().ok()?).unwrap_or(0),
                b"LastModified" => modified = Some(timestamp(&text(reader)?)?),
                b"StorageClass" => class = Some(storage_class(&text(reader)?)),
                b"VersionId" if versioned => version_id = Some(text(reader)?.into_owned()),
                b"IsLatest" if versioned => latest = Some(boolean(&text(reader)?)?),
                _ => skip(reader)?,
            },
            Event::Empty(e) if plain(&e) && !READ.contains(&e.name().as_ref()) => {}
            Event::End(_) => break,
            Event::Text(t) if blank(&t) => {}
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
fn common_prefix(reader: &mut Reader<&[u8]>) -> Option<Option<String>> {
    let mut prefix = None;
    loop {
        match reader.read_event().ok()? {
            Event::Start(e) if e.name().as_ref() == b"Prefix" => {
                prefix = Some(text(reader)?.into_owned());
            }
            Event::Start(e) if plain(&e) => skip(reader)?,
            Event::Empty(e) if plain(&e) && e.name().as_ref() != b"Prefix" => {}
            Event::End(_) => return Some(prefix),
            Event::Text(t) if blank(&t) => {}
            _ => return None,
        }
    }
}

/// The text of a leaf element (its start tag read) up to its end tag,
/// entities resolved. Empty, nested, CDATA or carriage returns: `None`.
/// Borrowed from the body when it is one plain run of text (nearly always):
/// only what an `Entry` keeps is copied, not every size and date.
fn text<'a>(reader: &mut Reader<&'a [u8]>) -> Option<Cow<'a, str>> {
    let mut out = Cow::Borrowed("");
    loop {
        match reader.read_event().ok()? {
            Event::Text(t) => {
                let chunk = match t.into_inner() {
                    Cow::Borrowed(b) => Cow::Borrowed(std::str::from_utf8(b).ok()?),
                    Cow::Owned(b) => Cow::Owned(String::from_utf8(b).ok()?),
                };
                if chunk.as_bytes().contains(&b'\r') {
                    return None;
                }
                if out.is_empty() {
                    out = chunk;
                } else {
                    out.to_mut().push_str(&chunk);
                }
            }
            Event::GeneralRef(r) => out.to_mut().push(entity(&r)?),
            Event::End(_) if !out.is_empty() => return Some(out),
            _ => return None,
        }
    }
}

/// `&name;` or `&#n;` as one character: the five XML entities and
/// character references; anything else falls back.
fn entity(r: &[u8]) -> Option<char> {
    Some(match r {
        b"amp" => '&',
        b"lt" => '<',
        b"gt" => '>',
        b"quot" => '"',
        b"apos" => '\'',
        [b'#', b'x', hex @ ..] => {
            char::from_u32(u32::from_str_radix(std::str::from_utf8(hex).ok()?, 16).ok()?)?
        }
        [b'#', dec @ ..] => char::from_u32(std::str::from_utf8(dec).ok()?.parse().ok()?)?,
        _ => return None,
    })
    .filter(|c| *c != '\0')
}

/// Skips an element we do not read (its start tag read) to its end.
fn skip(reader: &mut Reader<&[u8]>) -> Option<()> {
    let mut depth = 0usize;
    loop {
        match reader.read_event().ok()? {
            Event::Start(_) => depth += 1,
            Event::End(_) if depth == 0 => return Some(()),
            Event::End(_) => depth -= 1,
            Event::Eof => return None,
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
