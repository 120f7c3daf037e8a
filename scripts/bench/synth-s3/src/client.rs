//! The bare client: fetches listing pages over keep-alive HTTP/1.1 and
//! reads only what it needs to go on (`KeyCount`, `NextContinuationToken`,
//! the folders of one delimited listing), so its rate is the server's and
//! the transport's, not a parser's.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Mutex;
use std::time::Instant;

#[derive(Default)]
pub struct Walked {
    pub pages: u64,
    pub keys: u64,
    pub bytes: u64,
    pub seconds: f64,
}

struct Conn {
    reader: BufReader<TcpStream>,
    body: Vec<u8>,
}

impl Conn {
    fn open(endpoint: &str) -> std::io::Result<Conn> {
        let stream = TcpStream::connect(endpoint)?;
        stream.set_nodelay(true)?;
        Ok(Conn {
            reader: BufReader::with_capacity(64 * 1024, stream),
            body: Vec::new(),
        })
    }

    /// One GET; the body lands in `self.body`.
    fn get(&mut self, path: &str) -> std::io::Result<()> {
        let request = format!("GET {path} HTTP/1.1\r\nHost: synth\r\n\r\n");
        self.reader.get_mut().write_all(request.as_bytes())?;
        let mut length = 0usize;
        let mut line = String::new();
        loop {
            line.clear();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':')
                && name.eq_ignore_ascii_case("content-length")
            {
                length = value.trim().parse().unwrap_or(0);
            }
        }
        self.body.resize(length, 0);
        self.reader.read_exact(&mut self.body)
    }
}

/// The text between `<tag>` and `</tag>`, first occurrence.
fn element<'a>(body: &'a [u8], tag: &str) -> Option<&'a str> {
    let open = format!("<{tag}>");
    let start = find(body, open.as_bytes())? + open.len();
    let end = start + find(&body[start..], b"</")?;
    std::str::from_utf8(&body[start..end]).ok()
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn encode(text: &str) -> String {
    let mut out = String::new();
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Lists `prefix` to its end (delimited: also collects the folders).
fn list(
    conn: &mut Conn,
    bucket: &str,
    prefix: &str,
    delimited: bool,
    walked: &mut Walked,
) -> std::io::Result<Vec<String>> {
    let mut token: Option<String> = None;
    let mut folders = Vec::new();
    loop {
        let mut path = format!("/{bucket}?list-type=2&prefix={}", encode(prefix));
        if delimited {
            path.push_str("&delimiter=%2F");
        }
        if let Some(t) = &token {
            path.push_str(&format!("&continuation-token={}", encode(t)));
        }
        conn.get(&path)?;
        walked.pages += 1;
        walked.bytes += conn.body.len() as u64;
        walked.keys += element(&conn.body, "KeyCount")
            .and_then(|c| c.parse::<u64>().ok())
            .unwrap_or(0);
        if delimited {
            let mut rest = &conn.body[..];
            while let Some(at) = find(rest, b"<CommonPrefixes><Prefix>") {
                rest = &rest[at..];
                if let Some(p) = element(rest, "Prefix") {
                    folders.push(p.to_string());
                }
                rest = &rest[1..];
            }
        }
        token = element(&conn.body, "NextContinuationToken").map(str::to_string);
        if token.is_none() {
            return Ok(folders);
        }
    }
}

/// Walks `prefix`: one sequential listing with one thread; with more, the
/// folders of `{prefix}traces/` listed `threads` at a time.
pub fn walk(endpoint: &str, bucket: &str, prefix: &str, threads: usize) -> std::io::Result<Walked> {
    let started = Instant::now();
    let mut total = Walked::default();
    let mut conn = Conn::open(endpoint)?;
    if threads <= 1 {
        list(&mut conn, bucket, prefix, false, &mut total)?;
    } else {
        let traces = format!("{prefix}traces/");
        let folders = list(&mut conn, bucket, &traces, true, &mut total)?;
        let queue = Mutex::new(folders);
        let results: Vec<std::io::Result<Walked>> = std::thread::scope(|s| {
            let workers: Vec<_> = (0..threads)
                .map(|_| {
                    s.spawn(|| {
                        let mut mine = Walked::default();
                        let mut conn = Conn::open(endpoint)?;
                        loop {
                            let next = queue.lock().ok().and_then(|mut q| q.pop());
                            let Some(folder) = next else { return Ok(mine) };
                            list(&mut conn, bucket, &folder, false, &mut mine)?;
                        }
                    })
                })
                .collect();
            workers
                .into_iter()
                .map(|w| {
                    w.join()
                        .unwrap_or_else(|_| Err(std::io::ErrorKind::Other.into()))
                })
                .collect()
        });
        for r in results {
            let r = r?;
            total.pages += r.pages;
            total.keys += r.keys;
            total.bytes += r.bytes;
        }
    }
    total.seconds = started.elapsed().as_secs_f64();
    Ok(total)
}
