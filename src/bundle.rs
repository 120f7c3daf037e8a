//! A trace's bytes as each kind of store keeps them, and the conversion
//! between the two forms (what `migrate` does between stores of either).
//!
//! - **Bundle:** the Laravel package writes a trace as a zip bundle holding
//!   `manifest.json` (the trace) and, for a response body over 1 MiB,
//!   `response_content.blob` — on the local disk and on S3-compatible
//!   stores (`traces/{day}/{id}.zip`).
//! - **JSON:** the seed's Redis, database and GCS stores keep the trace as
//!   the JSON text `json_encode($data)` gives.
//!
//! Bundle → JSON is the bundle's `manifest.json`, byte for byte; a bundle
//! with any other entry cannot become JSON without losing it, so it is
//! refused (the trace stays where it is). JSON → bundle is a zip with one
//! stored `manifest.json`, dated by the trace, so the same trace always
//! gives the same bytes (a rerun finds its copy identical).
//!
//! The zip reader reads what the package writes (stored or deflated
//! entries, no ZIP64, no encryption) and refuses the rest with a reason;
//! it never trusts a size it reads (a deflated entry is inflated up to the
//! size its header states, and that is capped).

use std::io::Read;

use chrono::{DateTime, Datelike, Timelike, Utc};

/// How a store keeps a trace's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub(crate) enum Format {
    /// The package's zip bundle (`{id}.zip`).
    Bundle,
    /// The seed's JSON text.
    Json,
}

/// The entry of a bundle that holds the trace.
pub(crate) const MANIFEST: &str = "manifest.json";

/// The largest entry the reader inflates (a trace's manifest is far
/// smaller; the cap keeps a hostile archive from filling memory).
const MAX_ENTRY: u64 = 256 * 1024 * 1024;

/// `bytes`, kept as `from`, in the form `to` keeps them; `created` dates a
/// new bundle's entry. An error says why the trace cannot be converted.
pub(crate) fn convert(
    bytes: Vec<u8>,
    from: Format,
    to: Format,
    created: DateTime<Utc>,
) -> Result<Vec<u8>, String> {
    match (from, to) {
        (Format::Bundle, Format::Bundle) | (Format::Json, Format::Json) => Ok(bytes),
        (Format::Bundle, Format::Json) => manifest_of(&bytes),
        (Format::Json, Format::Bundle) => Ok(bundle_of(&bytes, created)),
    }
}

/// The `manifest.json` of a bundle that holds nothing else.
pub(crate) fn manifest_of(bundle: &[u8]) -> Result<Vec<u8>, String> {
    let entries = entries(bundle)?;
    if let Some(other) = entries.iter().find(|e| e.name != MANIFEST) {
        return Err(format!(
            "the bundle holds {} besides {MANIFEST}: a JSON store cannot keep it",
            other.name
        ));
    }
    let Some(manifest) = entries.first() else {
        return Err(format!("the bundle holds no {MANIFEST}"));
    };
    manifest.read(bundle)
}

/// A bundle holding `json` as its one stored `manifest.json`.
pub(crate) fn bundle_of(json: &[u8], created: DateTime<Utc>) -> Vec<u8> {
    let (time, date) = dos_time(created);
    let crc = {
        let mut crc = flate2::Crc::new();
        crc.update(json);
        crc.sum()
    };
    let size = u32::try_from(json.len()).unwrap_or(u32::MAX);
    let name = MANIFEST.as_bytes();
    let name_len = name.len() as u16;
    let mut out = Vec::with_capacity(json.len() + 128);
    // Local file header.
    put32(&mut out, 0x0403_4b50);
    for v in [20u16, 0, 0, time, date] {
        put16(&mut out, v);
    }
    for v in [crc, size, size] {
        put32(&mut out, v);
    }
    put16(&mut out, name_len);
    put16(&mut out, 0);
    out.extend_from_slice(name);
    out.extend_from_slice(json);
    // Central directory.
    let directory_at = u32::try_from(out.len()).unwrap_or(u32::MAX);
    put32(&mut out, 0x0201_4b50);
    for v in [20u16, 20, 0, 0, time, date] {
        put16(&mut out, v);
    }
    for v in [crc, size, size] {
        put32(&mut out, v);
    }
    for v in [name_len, 0, 0, 0, 0] {
        put16(&mut out, v);
    }
    put32(&mut out, 0o100_644 << 16);
    put32(&mut out, 0);
    out.extend_from_slice(name);
    let directory_size = u32::try_from(out.len()).unwrap_or(u32::MAX) - directory_at;
    // End of central directory.
    put32(&mut out, 0x0605_4b50);
    for v in [0u16, 0, 1, 1] {
        put16(&mut out, v);
    }
    put32(&mut out, directory_size);
    put32(&mut out, directory_at);
    put16(&mut out, 0);
    out
}

/// One entry of a bundle's central directory.
#[derive(Debug)]
struct Entry {
    name: String,
    method: u16,
    flags: u16,
    crc: u32,
    compressed: u64,
    size: u64,
    header_at: usize,
}

impl Entry {
    /// The entry's bytes, inflated and checked against its CRC-32.
    fn read(&self, zip: &[u8]) -> Result<Vec<u8>, String> {
        if self.flags & 1 != 0 {
            return Err(format!("{} is encrypted", self.name));
        }
        if self.size > MAX_ENTRY {
            return Err(format!(
                "{} is {} bytes, over the {} bytes read",
                self.name, self.size, MAX_ENTRY
            ));
        }
        let header = zip
            .get(self.header_at..self.header_at + 30)
            .filter(|h| u32_at(h, 0) == Some(0x0403_4b50))
            .ok_or_else(|| format!("{}: no local header where the directory says", self.name))?;
        let skip = 30
            + usize::from(u16_at(header, 26).unwrap_or(0))
            + usize::from(u16_at(header, 28).unwrap_or(0));
        let start = self.header_at + skip;
        let data = usize::try_from(self.compressed)
            .ok()
            .and_then(|len| zip.get(start..start.checked_add(len)?))
            .ok_or_else(|| format!("{}: the archive ends inside it", self.name))?;
        let bytes = match self.method {
            0 => data.to_vec(),
            8 => {
                let mut out = Vec::new();
                flate2::read::DeflateDecoder::new(data)
                    .take(self.size + 1)
                    .read_to_end(&mut out)
                    .map_err(|e| format!("{}: {e}", self.name))?;
                out
            }
            other => {
                return Err(format!(
                    "{}: compression method {other} (the package writes 0 or 8)",
                    self.name
                ));
            }
        };
        let mut crc = flate2::Crc::new();
        crc.update(&bytes);
        if bytes.len() as u64 != self.size || crc.sum() != self.crc {
            return Err(format!(
                "{}: its size or CRC-32 does not match the directory (a damaged bundle)",
                self.name
            ));
        }
        Ok(bytes)
    }
}

/// The central directory's entries.
fn entries(zip: &[u8]) -> Result<Vec<Entry>, String> {
    let not_zip = || "not a zip bundle (no end of central directory)".to_string();
    // The end record is 22 bytes plus a comment of at most 65,535.
    let lowest = zip.len().saturating_sub(22 + 65_535);
    let end = (lowest..=zip.len().saturating_sub(22))
        .rev()
        .find(|&at| u32_at(zip, at) == Some(0x0605_4b50))
        .ok_or_else(not_zip)?;
    let count = u16_at(zip, end + 10).ok_or_else(not_zip)?;
    let mut at = u32_at(zip, end + 16).ok_or_else(not_zip)? as usize;
    if count == u16::MAX || at == u32::MAX as usize {
        return Err("a ZIP64 archive (the package writes plain zip)".into());
    }
    let mut out = Vec::with_capacity(usize::from(count));
    for _ in 0..count {
        let damaged = || "the central directory is damaged".to_string();
        if u32_at(zip, at) != Some(0x0201_4b50) {
            return Err(damaged());
        }
        let field16 = |offset: usize| u16_at(zip, at + offset).ok_or_else(damaged);
        let field32 = |offset: usize| u32_at(zip, at + offset).ok_or_else(damaged);
        let name_len = usize::from(field16(28)?);
        let skip = name_len + usize::from(field16(30)?) + usize::from(field16(32)?);
        let name = zip.get(at + 46..at + 46 + name_len).ok_or_else(damaged)?;
        out.push(Entry {
            name: String::from_utf8_lossy(name).into_owned(),
            flags: field16(8)?,
            method: field16(10)?,
            crc: field32(16)?,
            compressed: u64::from(field32(20)?),
            size: u64::from(field32(24)?),
            header_at: field32(42)? as usize,
        });
        at += 46 + skip;
    }
    // Directories are not entries of the trace.
    out.retain(|e| !e.name.ends_with('/'));
    Ok(out)
}

/// The MS-DOS time and date a zip entry is dated with (two-second steps,
/// years 1980 to 2107).
fn dos_time(at: DateTime<Utc>) -> (u16, u16) {
    let year = at.year().clamp(1980, 2107) as u16;
    let time = (at.hour() as u16) << 11 | (at.minute() as u16) << 5 | (at.second() as u16 / 2);
    let date = (year - 1980) << 9 | (at.month() as u16) << 5 | at.day() as u16;
    (time, date)
}

fn put16(out: &mut Vec<u8>, v: u16) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(bytes.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(bytes.get(at..at + 4)?.try_into().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn when() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 3, 14, 5, 30)
            .single()
            .expect("valid in the test")
    }

    #[test]
    fn json_wrapped_in_a_bundle_comes_back_byte_for_byte() {
        let json = br#"{"trace_id":"ct_abc","response":{"status":500}}"#;
        let bundle = bundle_of(json, when());
        assert_eq!(manifest_of(&bundle).expect("valid in the test"), json);
        // The same trace gives the same bytes (a rerun finds it identical).
        assert_eq!(bundle, bundle_of(json, when()));
    }

    #[test]
    fn a_deflated_manifest_is_read() {
        use std::io::Write;
        let json = br#"{"trace_id":"ct_deflated","padding":"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"}"#;
        let mut encoder =
            flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(json).expect("valid in the test");
        let deflated = encoder.finish().expect("valid in the test");
        // Rewrite the stored bundle's entry as deflated.
        let stored = bundle_of(json, when());
        let mut zip = Vec::new();
        zip.extend_from_slice(&stored[..8]);
        zip.extend_from_slice(&8u16.to_le_bytes());
        zip.extend_from_slice(&stored[10..18]);
        zip.extend_from_slice(&(deflated.len() as u32).to_le_bytes());
        zip.extend_from_slice(&stored[22..30 + MANIFEST.len()]);
        zip.extend_from_slice(&deflated);
        let directory_at = zip.len() as u32;
        let old_directory = 30 + MANIFEST.len() + json.len();
        let mut directory = stored[old_directory..stored.len() - 22].to_vec();
        directory[10..12].copy_from_slice(&8u16.to_le_bytes());
        directory[20..24].copy_from_slice(&(deflated.len() as u32).to_le_bytes());
        zip.extend_from_slice(&directory);
        let mut end = stored[stored.len() - 22..].to_vec();
        end[16..20].copy_from_slice(&directory_at.to_le_bytes());
        zip.extend_from_slice(&end);
        assert_eq!(manifest_of(&zip).expect("valid in the test"), json);
    }

    #[test]
    fn a_bundle_with_a_large_payload_is_refused_for_json() {
        let mut bundle = bundle_of(b"{}", when());
        // Rename the entry: a bundle whose entry is not the manifest.
        let at = bundle
            .windows(MANIFEST.len())
            .rposition(|w| w == MANIFEST.as_bytes())
            .expect("valid in the test");
        bundle[at..at + MANIFEST.len()].copy_from_slice(b"response.blob");
        let why = manifest_of(&bundle).expect_err("refused");
        assert!(why.contains("response.blob"), "{why}");
    }

    #[test]
    fn damaged_or_foreign_bytes_are_refused_never_a_panic() {
        assert!(manifest_of(b"").is_err());
        assert!(manifest_of(b"{\"json\": true}").is_err());
        let bundle = bundle_of(b"{\"a\":1}", when());
        for cut in 0..bundle.len() {
            let _ = manifest_of(&bundle[..cut]);
        }
        let mut flipped = bundle.clone();
        flipped[30 + MANIFEST.len() + 2] ^= 0xff;
        assert!(manifest_of(&flipped).is_err());
    }

    #[test]
    fn same_form_passes_through_untouched() {
        let bytes = b"not even a zip".to_vec();
        assert_eq!(
            convert(bytes.clone(), Format::Bundle, Format::Bundle, when())
                .expect("valid in the test"),
            bytes
        );
    }
}
