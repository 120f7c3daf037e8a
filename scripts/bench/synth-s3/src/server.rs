//! The HTTP/1.1 side and the S3 calls: one thread per connection,
//! keep-alive, no TLS, no signature check. Answers, for its one bucket:
//! ListObjectsV2 (prefix, delimiter, start-after, continuation-token,
//! max-keys up to 1000), HeadBucket, GetBucketVersioning (unversioned),
//! GetBucketLocation, GetBucketLifecycleConfiguration (none) and
//! `GET /_stats` (pages and keys served). Anything else is answered
//! `501 NotImplemented` and logged on stderr, so a benchmark notices.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::keys::{Keys, push_dec};

pub struct Server {
    pub bucket: String,
    pub keys: Keys,
    pub pages: AtomicU64,
    pub served: AtomicU64,
    /// Log every request on stderr.
    pub log: bool,
}

pub fn run(listener: TcpListener, server: Arc<Server>) {
    for stream in listener.incoming().flatten() {
        let server = server.clone();
        std::thread::spawn(move || {
            let _ = stream.set_nodelay(true);
            if let Err(e) = connection(stream, &server)
                && e.kind() != std::io::ErrorKind::UnexpectedEof
            {
                eprintln!("synth-s3: connection: {e}");
            }
        });
    }
}

struct Answer {
    status: &'static str,
    body: Vec<u8>,
}

fn connection(stream: TcpStream, server: &Server) -> std::io::Result<()> {
    let mut reader = BufReader::with_capacity(16 * 1024, stream.try_clone()?);
    let mut out = stream;
    let mut line = String::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let mut parts = line.split_whitespace();
        let method = parts.next().unwrap_or("").to_string();
        let target = parts.next().unwrap_or("").to_string();
        let (mut length, mut close) = (0u64, false);
        loop {
            let mut header = String::new();
            if reader.read_line(&mut header)? == 0 {
                return Ok(());
            }
            let header = header.trim_end();
            if header.is_empty() {
                break;
            }
            let (name, value) = header.split_once(':').unwrap_or((header, ""));
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = value.parse().unwrap_or(0);
            } else if name.eq_ignore_ascii_case("connection") {
                close = value.eq_ignore_ascii_case("close");
            }
        }
        std::io::copy(&mut (&mut reader).take(length), &mut std::io::sink())?;
        let answer = route(server, &method, &target);
        let mut head = Vec::with_capacity(160);
        head.extend_from_slice(b"HTTP/1.1 ");
        head.extend_from_slice(answer.status.as_bytes());
        head.extend_from_slice(
            b"\r\nContent-Type: application/xml\r\nx-amz-request-id: synth\r\nx-amz-bucket-region: us-east-1\r\nContent-Length: ",
        );
        push_dec(&mut head, answer.body.len() as u64);
        head.extend_from_slice(b"\r\n\r\n");
        out.write_all(&head)?;
        if method != "HEAD" {
            out.write_all(&answer.body)?;
        }
        if close {
            return Ok(());
        }
    }
}

fn route(server: &Server, method: &str, target: &str) -> Answer {
    if server.log {
        eprintln!("synth-s3: {method} {target}");
    }
    let (path, query) = target.split_once('?').unwrap_or((target, ""));
    let params: Vec<(String, String)> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (decode(k), decode(v))
        })
        .collect();
    let param = |name: &str| {
        params
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let has = |name: &str| param(name).is_some();
    if path == "/_stats" {
        let body = format!(
            "{{\"pages\":{},\"keys\":{}}}",
            server.pages.load(Ordering::Relaxed),
            server.served.load(Ordering::Relaxed)
        );
        return ok(body.into_bytes());
    }
    let bucket = path.trim_start_matches('/').trim_end_matches('/');
    if bucket != server.bucket {
        return error("404 Not Found", "NoSuchBucket", bucket);
    }
    match method {
        "HEAD" if params.is_empty() => ok(Vec::new()),
        "GET" if param("list-type") == Some("2") => ok(list_v2(server, &param)),
        "GET" if has("versioning") => ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><VersioningConfiguration xmlns=\"{NS}\"/>"
        )
        .into_bytes()),
        "GET" if has("location") => ok(format!(
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><LocationConstraint xmlns=\"{NS}\"/>"
        )
        .into_bytes()),
        "GET" if has("lifecycle") => error(
            "404 Not Found",
            "NoSuchLifecycleConfiguration",
            "The lifecycle configuration does not exist",
        ),
        _ => {
            eprintln!("synth-s3: not implemented: {method} {target}");
            error(
                "501 Not Implemented",
                "NotImplemented",
                "synth-s3 lists only",
            )
        }
    }
}

const NS: &str = "http://s3.amazonaws.com/doc/2006-03-01/";

fn ok(body: Vec<u8>) -> Answer {
    Answer {
        status: "200 OK",
        body,
    }
}

fn error(status: &'static str, code: &str, message: &str) -> Answer {
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>{}</Message><RequestId>synth</RequestId></Error>",
        escape(message)
    );
    Answer {
        status,
        body: body.into_bytes(),
    }
}

/// One ListObjectsV2 page, as S3 builds it: keys and common prefixes
/// (each counting against max-keys) in key order from the continuation
/// token, else from after StartAfter, else from the prefix.
fn list_v2<'a>(server: &Server, param: &impl Fn(&str) -> Option<&'a str>) -> Vec<u8> {
    let keys = &server.keys;
    let prefix = param("prefix").unwrap_or("");
    let delimiter = param("delimiter").filter(|d| !d.is_empty());
    let max = param("max-keys")
        .and_then(|m| m.parse::<u64>().ok())
        .unwrap_or(1000)
        .min(1000);
    let token = param("continuation-token");
    let start_after = param("start-after");
    let from_prefix = keys.lower_bound(prefix.as_bytes());
    let mut i = match (
        token.and_then(|t| t.strip_prefix('t')?.parse().ok()),
        start_after,
    ) {
        (Some(at), _) => at,
        (None, Some(after)) => keys.first_after(after.as_bytes()).max(from_prefix),
        (None, None) => from_prefix,
    };
    let mut contents = Vec::with_capacity(200 * max as usize);
    let mut folders = Vec::new();
    let (mut count, mut key) = (0u64, Vec::with_capacity(96));
    let mut truncated = false;
    while i < keys.total() {
        keys.key(i, &mut key);
        if !key.starts_with(prefix.as_bytes()) {
            break;
        }
        if count == max {
            truncated = true;
            break;
        }
        count += 1;
        let rest = &key[prefix.len()..];
        if let Some(d) = delimiter
            && let Some(at) = find(rest, d.as_bytes())
        {
            let folder = key[..prefix.len() + at + d.len()].to_vec();
            i = keys.past_folder(&folder);
            folders.extend_from_slice(b"<CommonPrefixes><Prefix>");
            folders.extend_from_slice(escape(&String::from_utf8_lossy(&folder)).as_bytes());
            folders.extend_from_slice(b"</Prefix></CommonPrefixes>");
            continue;
        }
        contents.extend_from_slice(b"<Contents><Key>");
        contents.extend_from_slice(&key);
        contents.extend_from_slice(b"</Key><LastModified>");
        contents.extend_from_slice(keys.modified(i).as_bytes());
        contents.extend_from_slice(
            b"</LastModified><ETag>&quot;9bb58f26192e4ba00f01e2e7b136bbd8&quot;</ETag><Size>3072</Size><StorageClass>STANDARD</StorageClass></Contents>",
        );
        i += 1;
    }
    server.pages.fetch_add(1, Ordering::Relaxed);
    server.served.fetch_add(count, Ordering::Relaxed);
    let mut body = Vec::with_capacity(contents.len() + folders.len() + 512);
    body.extend_from_slice(
        b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ListBucketResult xmlns=\"",
    );
    body.extend_from_slice(NS.as_bytes());
    body.extend_from_slice(b"\"><Name>");
    body.extend_from_slice(escape(&server.bucket).as_bytes());
    body.extend_from_slice(b"</Name><Prefix>");
    body.extend_from_slice(escape(prefix).as_bytes());
    body.extend_from_slice(b"</Prefix>");
    if let Some(after) = start_after {
        body.extend_from_slice(format!("<StartAfter>{}</StartAfter>", escape(after)).as_bytes());
    }
    if let Some(t) = token {
        body.extend_from_slice(
            format!("<ContinuationToken>{}</ContinuationToken>", escape(t)).as_bytes(),
        );
    }
    body.extend_from_slice(
        format!("<KeyCount>{count}</KeyCount><MaxKeys>{max}</MaxKeys>").as_bytes(),
    );
    if let Some(d) = delimiter {
        body.extend_from_slice(format!("<Delimiter>{}</Delimiter>", escape(d)).as_bytes());
    }
    body.extend_from_slice(format!("<IsTruncated>{truncated}</IsTruncated>").as_bytes());
    if truncated {
        body.extend_from_slice(
            format!("<NextContinuationToken>t{i}</NextContinuationToken>").as_bytes(),
        );
    }
    body.extend_from_slice(&contents);
    body.extend_from_slice(&folders);
    body.extend_from_slice(b"</ListBucketResult>");
    body
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// Percent-decoding of one query component (`+` stays `+`: the SDKs
/// encode a space as `%20`).
fn decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}
