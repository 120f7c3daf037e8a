//! Unit tests of the ListObjectsV2 fast path: what it reads, and every
//! shape it must leave to the SDK (`None`).

use proptest::prelude::*;

use super::*;

const HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">"#;

fn page(inner: &str) -> String {
    format!("{HEAD}{inner}</ListBucketResult>")
}

fn contents(key: &str) -> String {
    format!(
        "<Contents><Key>{key}</Key><LastModified>2026-11-03T10:20:30.500Z</LastModified><ETag>&quot;e&quot;</ETag><Size>3072</Size><Owner><ID>x</ID></Owner><StorageClass>STANDARD</StorageClass></Contents>"
    )
}

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .unwrap_or_default()
}

#[test]
fn a_full_page_reads_keys_sizes_times_classes_and_the_token() {
    let body = page(&format!(
        "<Name>b</Name><Prefix>p/</Prefix><KeyCount>2</KeyCount><MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated><NextContinuationToken>tok/+=</NextContinuationToken>{}{}",
        contents("p/a.zip"),
        contents("p/b.zip")
    ));
    let parsed = objects_v2(body.as_bytes()).expect("understood");
    assert_eq!(parsed.truncated, Some(true));
    assert_eq!(parsed.next_token.as_deref(), Some("tok/+="));
    assert_eq!(parsed.entries.len(), 2);
    let first = &parsed.entries[0];
    assert_eq!(first.key, "p/a.zip");
    assert_eq!(first.size, 3072);
    assert_eq!(first.modified, Some(at("2026-11-03T10:20:30.5Z")));
    assert_eq!(first.class.as_deref(), Some("STANDARD"));
    assert_eq!(
        (first.version_id.clone(), first.kind),
        (None, EntryKind::Current)
    );
    assert!(parsed.folders.is_empty());
}

#[test]
fn entities_and_character_references_in_keys_are_resolved() {
    let body = page(&contents(
        "a&amp;b &lt;c&gt; &quot;d&quot; &apos;e&apos; &#x41;&#66;",
    ));
    let parsed = objects_v2(body.as_bytes()).expect("understood");
    assert_eq!(parsed.entries[0].key, "a&b <c> \"d\" 'e' AB");
}

#[test]
fn an_empty_page_and_empty_elements_it_does_not_read() {
    let body = page(
        "<Name>b</Name><Prefix/><StartAfter/><KeyCount>0</KeyCount><IsTruncated>false</IsTruncated>",
    );
    let parsed = objects_v2(body.as_bytes()).expect("understood");
    assert_eq!(parsed.truncated, Some(false));
    assert!(parsed.entries.is_empty() && parsed.folders.is_empty() && parsed.next_token.is_none());
    let bare = objects_v2(page("").as_bytes()).expect("understood");
    assert_eq!(bare.truncated, None);
}

#[test]
fn missing_fields_read_as_the_sdk_path_reads_them() {
    let body =
        page("<Contents><Key>k</Key></Contents><Contents><Key>n</Key><Size>-5</Size></Contents>");
    let parsed = objects_v2(body.as_bytes()).expect("understood");
    assert_eq!(parsed.entries[0].size, 0);
    assert_eq!(parsed.entries[0].modified, None);
    assert_eq!(parsed.entries[0].class, None);
    assert_eq!(parsed.entries[1].size, 0, "a negative size counts as 0");
}

#[test]
fn common_prefixes_are_folders() {
    let body = page(
        "<Delimiter>/</Delimiter><CommonPrefixes><Prefix>p/traces/</Prefix></CommonPrefixes>\n  <CommonPrefixes>\n <Prefix>p/x&amp;y/</Prefix>\n</CommonPrefixes>",
    );
    let parsed = objects_v2(body.as_bytes()).expect("understood");
    assert_eq!(parsed.folders, vec!["p/traces/", "p/x&y/"]);
}

#[test]
fn anything_it_does_not_fully_understand_falls_back() {
    let full = page(&contents("k"));
    let fall_back = [
        // A body cut anywhere before the root's end.
        full[..full.len() - 10].to_string(),
        full[..full.len() / 2].to_string(),
        String::new(),
        // Not a listing: an error document in a 200, another root.
        "<Error><Code>InternalError</Code></Error>".to_string(),
        "<ListVersionsResult></ListVersionsResult>".to_string(),
        // Shapes left to the SDK.
        page(&contents("a&nbsp;b")),
        page(&contents("<![CDATA[k]]>")),
        page(&contents("a\r\nb")),
        page("<Contents><Key></Key></Contents>"),
        page("<Contents><Key/></Contents>"),
        page("<Contents><Key>k</Key><Size>big</Size></Contents>"),
        page(
            "<Contents><Key>k</Key><LastModified>Tue, 03 Nov 2026 10:00:00 GMT</LastModified></Contents>",
        ),
        page("<Contents><Key>k</Key><LastModified>2026-11-03T10:00:60Z</LastModified></Contents>"),
        page(
            "<Contents><Key>k</Key><LastModified>2026-11-03T10:00:00+01:00</LastModified></Contents>",
        ),
        page("<Contents><Size>1</Size></Contents>"),
        page("<IsTruncated>yes</IsTruncated>"),
        page("<s3:Contents><Key>k</Key></s3:Contents>"),
        page("<Contents><s3:Key>k</s3:Key></Contents>"),
        format!("{full}<Extra/>"),
        page("<Contents><Key>k</Key></Contents").replace("</ListBucketResult>", ""),
    ];
    for body in fall_back {
        assert!(objects_v2(body.as_bytes()).is_none(), "{body}");
    }
}

/// The truncation check (`CompleteXml`) skips the pages this parse read
/// (`ReadWhole`): sound only because no cut of a page parses, whichever
/// byte it is cut at.
#[test]
fn no_cut_of_a_page_parses() {
    let objects = page(&format!(
        "<IsTruncated>true</IsTruncated><NextContinuationToken>t</NextContinuationToken>{}{}<!-- c -->",
        contents("a"),
        contents("b&amp;c")
    ));
    let versioned = r#"<ListVersionsResult><IsTruncated>false</IsTruncated><Version><Key>k</Key><VersionId>v</VersionId><Size>1</Size></Version><DeleteMarker><Key>k</Key><VersionId>w</VersionId></DeleteMarker></ListVersionsResult>"#;
    for (full, parse) in [
        (objects.as_str(), objects_v2 as fn(&[u8]) -> Option<RawPage>),
        (versioned, versions),
    ] {
        assert!(parse(full.as_bytes()).is_some(), "{full}");
        for cut in 0..full.len() {
            let part = &full.as_bytes()[..cut];
            assert!(parse(part).is_none(), "{}", String::from_utf8_lossy(part));
        }
    }
}

#[test]
fn timestamps_in_s3s_form_with_any_fraction() {
    for (text, want) in [
        ("2026-11-03T10:20:30Z", "2026-11-03T10:20:30Z"),
        ("2026-11-03T10:20:30.1Z", "2026-11-03T10:20:30.1Z"),
        (
            "2026-11-03T10:20:30.123456789Z",
            "2026-11-03T10:20:30.123456789Z",
        ),
    ] {
        assert_eq!(timestamp(text), Some(at(want)), "{text}");
    }
    for bad in [
        "2026-02-30T10:20:30Z",
        "2026-11-03T24:00:00Z",
        "2026-11-03T10:20:30.Z",
        "2026-11-03T10:20:30.1234567890Z",
        "2026-11-03 10:20:30Z",
    ] {
        assert_eq!(timestamp(bad), None, "{bad}");
    }
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

proptest! {
    /// Any keys (any characters but carriage returns and NUL, escaped as a
    /// server escapes them), sizes and classes come back as written.
    #[test]
    fn what_a_server_writes_is_what_the_page_reads(
        objects in proptest::collection::vec(("[^\r\u{0}]{1,40}", 0u64..u64::from(u32::MAX), proptest::option::of("[A-Z_]{1,12}")), 0..20),
        folders in proptest::collection::vec("[^\r\u{0}]{1,20}", 0..5),
        token in proptest::option::of("[!-~]{1,30}"),
    ) {
        let mut inner = String::from("<Name>b</Name>");
        if let Some(t) = &token {
            inner.push_str(&format!("<IsTruncated>true</IsTruncated><NextContinuationToken>{}</NextContinuationToken>", escape(t)));
        }
        for (key, size, class) in &objects {
            inner.push_str(&format!("<Contents><Key>{}</Key><LastModified>2026-11-03T00:00:00.000Z</LastModified><Size>{size}</Size>", escape(key)));
            if let Some(c) = class {
                inner.push_str(&format!("<StorageClass>{c}</StorageClass>"));
            }
            inner.push_str("</Contents>");
        }
        for f in &folders {
            inner.push_str(&format!("<CommonPrefixes><Prefix>{}</Prefix></CommonPrefixes>", escape(f)));
        }
        let parsed = objects_v2(page(&inner).as_bytes());
        prop_assert!(parsed.is_some());
        let parsed = parsed.unwrap_or_default();
        prop_assert_eq!(parsed.next_token, token.clone());
        prop_assert_eq!(parsed.truncated, token.map(|_| true));
        prop_assert_eq!(&parsed.folders, &folders);
        let read: Vec<(String, u64, Option<String>)> = parsed.entries.into_iter().map(|e| (e.key, e.size, e.class.map(Cow::into_owned))).collect();
        prop_assert_eq!(read, objects);
    }
}

#[test]
fn a_version_page_lists_versions_then_delete_markers_as_the_sdk_path_does() {
    let body = r#"<?xml version="1.0" encoding="UTF-8"?>
<ListVersionsResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <Name>b</Name><Prefix>p/</Prefix><KeyMarker/><VersionIdMarker/>
  <NextKeyMarker>p/b&amp;.zip</NextKeyMarker><NextVersionIdMarker>v3</NextVersionIdMarker>
  <MaxKeys>1000</MaxKeys><IsTruncated>true</IsTruncated>
  <Version><Key>p/a.zip</Key><VersionId>v1</VersionId><IsLatest>true</IsLatest><LastModified>2026-11-03T00:00:00.000Z</LastModified><ETag>"e"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Version>
  <DeleteMarker><Key>p/b&amp;.zip</Key><VersionId>v2</VersionId><IsLatest>true</IsLatest><LastModified>2026-11-04T00:00:00.000Z</LastModified></DeleteMarker>
  <Version><Key>p/b&amp;.zip</Key><VersionId>v3</VersionId><IsLatest>false</IsLatest><LastModified>2026-11-02T00:00:00Z</LastModified><Size>7</Size></Version>
  <Version><Key>p/c.zip</Key><VersionId>null</VersionId><Size>1</Size></Version>
</ListVersionsResult>"#;
    let parsed = versions(body.as_bytes()).expect("understood");
    let seen: Vec<(&str, Option<&str>, u64, EntryKind)> = parsed
        .entries
        .iter()
        .map(|e| (e.key.as_str(), e.version_id.as_deref(), e.size, e.kind))
        .collect();
    assert_eq!(
        seen,
        vec![
            ("p/a.zip", Some("v1"), 3, EntryKind::Current),
            ("p/b&.zip", Some("v3"), 7, EntryKind::Noncurrent),
            ("p/c.zip", Some("null"), 1, EntryKind::Current),
            ("p/b&.zip", Some("v2"), 0, EntryKind::DeleteMarker),
        ]
    );
    assert_eq!(parsed.entries[3].modified, Some(at("2026-11-04T00:00:00Z")));
    assert_eq!(parsed.entries[3].class, None);
    assert_eq!(parsed.truncated, Some(true));
    assert_eq!(parsed.next_token.as_deref(), Some("p/b&.zip"));
    assert_eq!(parsed.next_version_id.as_deref(), Some("v3"));
    // The other listing's root, or a field it reads left empty: the SDK's.
    assert!(objects_v2(body.as_bytes()).is_none());
    assert!(versions(page(&contents("k")).as_bytes()).is_none());
    let empty_version = body.replace("<VersionId>v1</VersionId>", "<VersionId/>");
    assert!(versions(empty_version.as_bytes()).is_none());
    let bad_latest = body.replace("<IsLatest>false</IsLatest>", "<IsLatest>no</IsLatest>");
    assert!(versions(bad_latest.as_bytes()).is_none());
}
