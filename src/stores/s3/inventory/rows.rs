//! The rows of an inventory's data files as listing entries: gzipped CSV
//! read row by row (columns in the manifest's `fileSchema` order, keys
//! URL-encoded as AWS writes them), Parquet read row group by row group
//! (columns by name: `key`, `size`, `last_modified_date`, ...). Each entry
//! goes to `sink` and is forgotten: memory stays bounded by one row or one
//! page, whatever the file's size. Local files only; the downloads are
//! `super`'s.

use std::fs::File;
use std::io::BufReader;

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
/// must belong to `bucket`. The `csv` crate reads it: a quoted field may
/// hold commas, doubled quotes and line breaks (a key with a newline is a
/// valid S3 key, and AWS quotes every field).
pub(crate) fn csv_gz(
    file: File,
    schema: &[String],
    bucket: &str,
    place: &str,
    sink: &mut dyn FnMut(Entry),
) -> Result<()> {
    let cols = Columns::find(schema, place)?;
    let gz = flate2::read::MultiGzDecoder::new(BufReader::new(file));
    let mut rows = csv_reader(gz);
    let mut row = csv::StringRecord::new();
    loop {
        let more = rows.read_record(&mut row).map_err(|e| {
            let line = e.position().map_or(0, csv::Position::line);
            match e.kind() {
                csv::ErrorKind::Io(e) => {
                    Error::cloud(format!("inventory {place}: not a gzipped CSV file: {e}"))
                }
                csv::ErrorKind::Utf8 { .. } => {
                    Error::cloud(format!("inventory {place}, line {line}: not UTF-8 text"))
                }
                _ => Error::cloud(format!("inventory {place}, line {line}: {e}")),
            }
        })?;
        if !more {
            return Ok(());
        }
        // The line the row starts on (a quoted line break spans lines).
        let line = row.position().map_or(0, csv::Position::line);
        let entry = csv_entry(&row, &cols, bucket)
            .map_err(|why| Error::cloud(format!("inventory {place}, line {line}: {why}")))?;
        sink(entry);
    }
}

/// The reader of an inventory's CSV: no header row (the manifest names the
/// columns), rows of any length (a missing column is an absent field),
/// blank lines skipped.
fn csv_reader<R: std::io::Read>(input: R) -> csv::Reader<R> {
    csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .from_reader(input)
}

/// One CSV row as an entry.
fn csv_entry(
    fields: &csv::StringRecord,
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
    let flag = |i| get(i).map(|v: &str| v.eq_ignore_ascii_case("true"));
    Ok(Entry {
        key,
        size,
        modified,
        class: get(cols.class).map(storage_class),
        version_id: None,
        kind: kind(flag(cols.is_latest), flag(cols.delete_marker)),
    })
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

    /// The fields of each row of `text`, as `csv_gz` reads them.
    fn rows(text: &str) -> Vec<Vec<String>> {
        csv_reader(text.as_bytes())
            .records()
            .map(|row| {
                let row = row.expect("a CSV row");
                row.iter().map(str::to_string).collect()
            })
            .collect()
    }

    #[test]
    fn quoted_fields_keep_commas_and_quotes() {
        assert_eq!(rows(r#""a,b","c""d",e"#), vec![vec!["a,b", "c\"d", "e"]]);
        // A blank line is no row (the hand splitter gave one empty field,
        // which the reader then skipped).
        assert_eq!(rows(""), Vec::<Vec<String>>::new());
        assert_eq!(rows("\n\r\n"), Vec::<Vec<String>>::new());
    }

    /// A key may hold a line break; AWS quotes it, and the row goes on.
    #[test]
    fn a_quoted_line_break_stays_in_its_field() {
        assert_eq!(
            rows("\"b\",\"p/a\nb\",\"1\"\r\n\"b\",\"p/c\",\"2\"\n"),
            vec![vec!["b", "p/a\nb", "1"], vec!["b", "p/c", "2"]]
        );
        let text = "\"b\",\"p%2Fline\none.zip\",\"3\"\n\"b\",\"p%2Ftwo.zip\",\"x\"\n";
        let cols = schema("Bucket, Key, Size");
        let mut seen = Vec::new();
        let err = csv_gz(gz(text), &cols, "b", "f", &mut |e| seen.push(e))
            .expect_err("the second row's size")
            .to_string();
        assert_eq!(seen.len(), 1);
        assert_eq!((seen[0].key.as_str(), seen[0].size), ("p/line\none.zip", 3));
        // The second row starts on the file's third line.
        assert!(err.contains("line 3") && err.contains("size 'x'"), "{err}");
    }
}
