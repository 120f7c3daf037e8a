//! The rows of an inventory's data files as listing entries: gzipped CSV
//! read line by line (columns in the manifest's `fileSchema` order, keys
//! URL-encoded as AWS writes them), Parquet read row group by row group
//! (columns by name: `key`, `size`, `last_modified_date`, ...). Each entry
//! goes to `sink` and is forgotten: memory stays bounded by one line or one
//! page, whatever the file's size. Local files only; the downloads are
//! `super`'s.

use std::fs::File;
use std::io::{BufRead, BufReader};

use chrono::{DateTime, Utc};
#[cfg(feature = "parquet")]
use parquet::file::reader::{FileReader, SerializedFileReader};
#[cfg(feature = "parquet")]
use parquet::record::{Field, Row};

use crate::error::{Error, Result};
use crate::scan::{Entry, EntryKind};
use crate::stores::s3::storage_class;

/// Where each field sits in a row (`None`: the inventory does not have it).
#[derive(Debug, Clone, Copy, Default)]
struct Columns {
    bucket: Option<usize>,
    key: usize,
    size: Option<usize>,
    modified: Option<usize>,
    class: Option<usize>,
    is_latest: Option<usize>,
    delete_marker: Option<usize>,
}

impl Columns {
    /// The positions of the fields among `names`, matched by `canonical`.
    fn find(names: &[String], place: &str) -> Result<Columns> {
        let at = |want: &str| names.iter().position(|n| canonical(n) == want);
        let key = at("key").ok_or_else(|| {
            Error::cloud(format!("inventory {place}: no Key column in {names:?}"))
        })?;
        Ok(Columns {
            bucket: at("bucket"),
            key,
            size: at("size"),
            modified: at("lastmodifieddate"),
            class: at("storageclass"),
            is_latest: at("islatest"),
            delete_marker: at("isdeletemarker"),
        })
    }
}

/// `LastModifiedDate` and `last_modified_date` alike: lowercase, no '_'.
fn canonical(name: &str) -> String {
    name.chars()
        .filter(|c| *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

/// The kind of a row from its version fields (absent: a current object).
fn kind(is_latest: Option<bool>, delete_marker: Option<bool>) -> EntryKind {
    match (delete_marker, is_latest) {
        (Some(true), _) => EntryKind::DeleteMarker,
        (_, Some(false)) => EntryKind::Noncurrent,
        _ => EntryKind::Current,
    }
}

/// Reads a gzipped CSV data file whose columns are `schema`; every row
/// must belong to `bucket`.
pub(crate) fn csv_gz(
    file: File,
    schema: &[String],
    bucket: &str,
    place: &str,
    sink: &mut dyn FnMut(Entry),
) -> Result<()> {
    let cols = Columns::find(schema, place)?;
    let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    let mut lines = BufReader::new(gz);
    let mut line = String::new();
    let mut number = 0u64;
    loop {
        line.clear();
        let read = lines
            .read_line(&mut line)
            .map_err(|e| Error::cloud(format!("inventory {place}: not a gzipped CSV file: {e}")))?;
        if read == 0 {
            return Ok(());
        }
        number += 1;
        let text = line.trim_end_matches(['\r', '\n']);
        if text.is_empty() {
            continue;
        }
        let fields = split_csv(text);
        let entry = csv_entry(&fields, &cols, bucket)
            .map_err(|why| Error::cloud(format!("inventory {place}, line {number}: {why}")))?;
        sink(entry);
    }
}

/// One CSV row as an entry.
fn csv_entry(
    fields: &[String],
    cols: &Columns,
    bucket: &str,
) -> std::result::Result<Entry, String> {
    let get = |i: Option<usize>| i.and_then(|i| fields.get(i)).filter(|v| !v.is_empty());
    if let Some(b) = get(cols.bucket).filter(|b| *b != bucket) {
        return Err(format!("a row of bucket '{b}', not '{bucket}'"));
    }
    let raw_key = get(Some(cols.key)).ok_or("no key")?;
    let key =
        url_decode(raw_key).ok_or_else(|| format!("key '{raw_key}' is not URL-encoded UTF-8"))?;
    let size = match get(cols.size) {
        Some(s) => s
            .parse()
            .map_err(|_| format!("size '{s}' is not a number"))?,
        None => 0,
    };
    let modified = match get(cols.modified) {
        Some(t) => Some(
            DateTime::parse_from_rfc3339(t)
                .map_err(|_| format!("LastModifiedDate '{t}' is not a date"))?
                .with_timezone(&Utc),
        ),
        None => None,
    };
    let flag = |i| get(i).map(|v: &String| v.eq_ignore_ascii_case("true"));
    Ok(Entry {
        key,
        size,
        modified,
        class: get(cols.class).map(|c| storage_class(c)),
        version_id: None,
        kind: kind(flag(cols.is_latest), flag(cols.delete_marker)),
    })
}

/// Splits one CSV line: fields may be double-quoted, `""` inside quotes is
/// one quote (AWS quotes every field).
fn split_csv(line: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut field = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match (c, quoted) {
            ('"', true) if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            ('"', _) => quoted = !quoted,
            (',', false) => fields.push(std::mem::take(&mut field)),
            _ => field.push(c),
        }
    }
    fields.push(field);
    fields
}

/// AWS URL-encodes CSV keys (form encoding: '+' is a space).
fn url_decode(raw: &str) -> Option<String> {
    let spaced = raw.replace('+', " ");
    percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()
        .map(|k| k.into_owned())
}

/// Reads a Parquet data file row group by row group.
#[cfg(feature = "parquet")]
pub(crate) fn parquet(
    file: File,
    bucket: &str,
    place: &str,
    sink: &mut dyn FnMut(Entry),
) -> Result<()> {
    let bad = |e: parquet::errors::ParquetError| {
        Error::cloud(format!(
            "inventory {place}: not a readable Parquet file: {e}"
        ))
    };
    let reader = SerializedFileReader::new(file).map_err(bad)?;
    let names: Vec<String> = reader
        .metadata()
        .file_metadata()
        .schema()
        .get_fields()
        .iter()
        .map(|f| f.name().to_string())
        .collect();
    let cols = Columns::find(&names, place)?;
    for group in 0..reader.num_row_groups() {
        let rows = reader.get_row_group(group).map_err(bad)?;
        for row in rows.get_row_iter(None).map_err(bad)? {
            let entry = parquet_entry(&row.map_err(bad)?, &cols, bucket).map_err(|why| {
                Error::cloud(format!("inventory {place}, row group {group}: {why}"))
            })?;
            sink(entry);
        }
    }
    Ok(())
}

/// A build without the `parquet` feature (the fuzz build) reads CSV only.
#[cfg(not(feature = "parquet"))]
pub(crate) fn parquet(
    _file: File,
    _bucket: &str,
    place: &str,
    _sink: &mut dyn FnMut(Entry),
) -> Result<()> {
    Err(Error::usage(format!(
        "inventory {place}: this build reads CSV inventories only (built without the `parquet` feature)"
    )))
}

/// One Parquet row as an entry.
#[cfg(feature = "parquet")]
fn parquet_entry(row: &Row, cols: &Columns, bucket: &str) -> std::result::Result<Entry, String> {
    let field = |i: Option<usize>| {
        i.and_then(|i| row.get_column_iter().nth(i))
            .map(|(_, f)| f)
            .filter(|f| !matches!(f, Field::Null))
    };
    let text = |i| match field(i) {
        Some(Field::Str(s)) => Some(s.clone()),
        Some(Field::Bytes(b)) => b.as_utf8().ok().map(str::to_string),
        _ => None,
    };
    if let Some(b) = text(cols.bucket).filter(|b| b != bucket) {
        return Err(format!("a row of bucket '{b}', not '{bucket}'"));
    }
    let key = text(Some(cols.key)).ok_or("a row without a key")?;
    let size = match field(cols.size) {
        Some(Field::Long(n)) => u64::try_from(*n).map_err(|_| format!("size {n} of '{key}'"))?,
        Some(Field::Int(n)) => u64::try_from(*n).map_err(|_| format!("size {n} of '{key}'"))?,
        _ => 0,
    };
    let modified = match field(cols.modified) {
        Some(Field::TimestampMillis(ms)) => DateTime::from_timestamp_millis(*ms),
        Some(Field::TimestampMicros(us)) => DateTime::from_timestamp_micros(*us),
        _ => None,
    };
    let flag = |i| match field(i) {
        Some(Field::Bool(b)) => Some(*b),
        _ => None,
    };
    Ok(Entry {
        key,
        size,
        modified,
        class: text(cols.class).map(|c| storage_class(&c)),
        version_id: None,
        kind: kind(flag(cols.is_latest), flag(cols.delete_marker)),
    })
}

#[cfg(test)]
mod tests {
    use std::io::Write;

    use super::*;

    fn gz(text: &str) -> File {
        let mut file = tempfile::tempfile().expect("temp file");
        let mut enc = flate2::write::GzEncoder::new(&mut file, flate2::Compression::fast());
        enc.write_all(text.as_bytes()).expect("write");
        enc.finish().expect("finish");
        std::io::Seek::rewind(&mut file).expect("rewind");
        file
    }

    fn schema(s: &str) -> Vec<String> {
        s.split(',').map(|c| c.trim().to_string()).collect()
    }

    #[test]
    fn csv_rows_become_entries_with_their_version_fields() {
        let text = "\"b\",\"p%2Ftraces%2F2026-11-01%2Fa+b.zip\",\"v1\",\"true\",\"false\",\"3\",\"2026-11-01T10:00:00.000Z\",\"STANDARD\"\n\
                    \"b\",\"p/x\",\"v0\",\"false\",\"false\",\"5\",\"2026-10-01T10:00:00.000Z\",\"GLACIER\"\n\
                    \"b\",\"p/y\",\"v2\",\"true\",\"true\",\"\",\"2026-10-02T10:00:00.000Z\",\"\"\n";
        let cols = schema(
            "Bucket, Key, VersionId, IsLatest, IsDeleteMarker, Size, LastModifiedDate, StorageClass",
        );
        let mut seen = Vec::new();
        csv_gz(gz(text), &cols, "b", "f", &mut |e| seen.push(e)).expect("read");
        assert_eq!(seen.len(), 3);
        assert_eq!(seen[0].key, "p/traces/2026-11-01/a b.zip");
        assert_eq!((seen[0].size, seen[0].kind), (3, EntryKind::Current));
        assert_eq!(seen[1].kind, EntryKind::Noncurrent);
        assert_eq!(seen[1].class.as_deref(), Some("GLACIER"));
        assert_eq!((seen[2].size, seen[2].kind), (0, EntryKind::DeleteMarker));
        assert_eq!(
            seen[0].modified.map(|t| t.to_rfc3339()),
            Some("2026-11-01T10:00:00+00:00".into())
        );
    }

    #[test]
    fn csv_rows_of_another_bucket_or_broken_fields_are_one_line_errors() {
        let cols = schema("Bucket, Key, Size");
        for (text, says) in [
            ("\"other\",\"k\",\"1\"\n", "bucket 'other'"),
            ("\"b\",\"k\",\"x\"\n", "size 'x'"),
        ] {
            let err = csv_gz(gz(text), &cols, "b", "f", &mut |_| {})
                .expect_err(says)
                .to_string();
            assert!(err.contains(says) && err.contains("line 1"), "{err}");
        }
        let err =
            csv_gz(gz("x"), &schema("Bucket, Size"), "b", "f", &mut |_| {}).expect_err("no key");
        assert!(err.to_string().contains("no Key column"));
        let mut plain = tempfile::tempfile().expect("temp");
        plain.write_all(b"\"b\",\"k\",\"1\"\n").expect("write");
        std::io::Seek::rewind(&mut plain).expect("rewind");
        let err = csv_gz(plain, &cols, "b", "f", &mut |_| {}).expect_err("not gzipped");
        assert!(err.to_string().contains("not a gzipped CSV file"), "{err}");
    }

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        assert_eq!(split_csv(r#""a,b","c""d",e"#), vec!["a,b", "c\"d", "e"]);
        assert_eq!(split_csv(""), vec![""]);
    }
}
