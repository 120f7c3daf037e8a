//! A fault-injecting HTTP proxy for the hardening tests: sits between the
//! tool and a real server on loopback and, per request, forwards it, answers
//! `503 SlowDown`, delays it, cuts the response part-way, truncates its body
//! (keeping the HTTP framing valid), answers a DeleteObjects with a
//! per-key error for every key, or (in front of moto) drops query
//! parameters a server may ignore, or pages a listing for ever. Faults come
//! from a script (the next requests, in order), from rules matching a
//! request's method and query, or from a storm (a share of all requests,
//! drawn from a seeded generator).
//!
//! Each request gets its own upstream connection and the response is marked
//! `Connection: close`, so requests are counted exactly without having to
//! frame HTTP bodies.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// What to do with one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// Forward it untouched.
    Pass,
    /// Answer `503 SlowDown` without forwarding.
    SlowDown,
    /// Answer this status with an empty body, without forwarding (a load
    /// balancer's bare 503, a gateway's 429).
    Bare(u16),
    /// Answer this status with an S3 error document of this code, without
    /// forwarding (`Throttling`, `RequestLimitExceeded`...).
    Coded(u16, &'static str),
    /// Forward it, then cut the response after this many bytes.
    CutAfter(usize),
    /// Wait, then forward.
    Delay(Duration),
    /// Forward, then wait before answering: the server has acted, the
    /// client does not know yet (widens a read-modify-write window).
    Hold(Duration),
    /// Forward it, then keep only this many bytes of the response body,
    /// with `Content-Length` adjusted: valid HTTP, truncated XML.
    Truncate(usize),
    /// The server dies: the proxy closes its port and drops this request.
    Kill,
    /// Answer an HTML page with this status, without forwarding (a proxy's
    /// error page, a captive portal).
    Html(u16),
    /// Answer a DeleteObjects `200 OK` with an `<Error>` of this code for
    /// every key it names, without forwarding (so nothing is deleted).
    DeleteErrors(&'static str),
    /// Answer a ListObjectsV2 with a made-up page under the request's
    /// prefix, without forwarding.
    Listing(Listing),
    /// Forward it without these query parameters: a server that ignores
    /// them. In front of moto only, which checks no signatures (the query
    /// is signed).
    Ignore(&'static [&'static str]),
    /// Forward a listing without its continuation token or markers, and
    /// answer it as if more followed, with a token never given before: a
    /// server that answers every page from the start again, so a client
    /// that trusts it never ends. In front of moto only, as `Ignore`.
    Endless,
}

/// The parameters that say where a listing page starts.
const PAGE_TOKENS: &[&str] = &["continuation-token", "key-marker", "version-id-marker"];

/// A made-up ListObjectsV2 page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listing {
    /// This many keys (3 bytes each, last modified in 2020) in one page
    /// that says it is complete: far beyond S3's 1000 per page.
    Huge(usize),
    /// One key, `IsTruncated` true, and no token to continue from.
    TruncatedWithoutToken,
    /// One key, `IsTruncated` true, and always the same token, whatever
    /// token the request carried: a listing that would never end.
    RepeatedToken,
}

/// A fault for the requests whose method and query match, `times` times.
#[derive(Debug, Clone)]
struct Rule {
    method: &'static str,
    query: String,
    /// `query` is looked for in the whole request target (path and query).
    whole_target: bool,
    fault: Fault,
    times: usize,
}

/// Faults for a share of every request (after the script and the rules),
/// drawn from a seeded generator so that a failing round can be replayed.
#[derive(Debug, Clone)]
struct Storm {
    percent: u64,
    state: u64,
    faults: Vec<Fault>,
}

impl Storm {
    /// The next draw (xorshift64*): a fault for `percent` of the requests.
    fn next(&mut self) -> Option<Fault> {
        let mut x = self.state;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.state = x;
        let draw = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        let (roll, pick) = (draw % 100, (draw / 100) as usize);
        (roll < self.percent && !self.faults.is_empty())
            .then(|| self.faults[pick % self.faults.len()])
    }
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Fault>>>,
    rules: Arc<Mutex<Vec<Rule>>>,
    storm: Arc<Mutex<Option<Storm>>>,
    pub requests: Arc<AtomicUsize>,
    pub injected: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
}

impl FaultProxy {
    /// Starts a proxy to `upstream` (host:port) on a free loopback port.
    pub fn start(upstream: SocketAddr) -> FaultProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
        let addr = listener.local_addr().expect("local address");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let proxy = FaultProxy {
            addr,
            script: Arc::new(Mutex::new(VecDeque::new())),
            rules: Arc::new(Mutex::new(Vec::new())),
            storm: Arc::new(Mutex::new(None)),
            requests: Arc::new(AtomicUsize::new(0)),
            injected: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (script, rules, storm, requests, injected, stop) = (
            proxy.script.clone(),
            proxy.rules.clone(),
            proxy.storm.clone(),
            proxy.requests.clone(),
            proxy.injected.clone(),
            proxy.stop.clone(),
        );
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let scripted = script.lock().map(|mut s| s.pop_front()).ok().flatten();
                        let stormed = storm
                            .lock()
                            .ok()
                            .and_then(|mut s| s.as_mut().and_then(Storm::next));
                        requests.fetch_add(1, Ordering::Relaxed);
                        let (rules, injected, stop) =
                            (rules.clone(), injected.clone(), stop.clone());
                        thread::spawn(move || {
                            let faults = Faults {
                                scripted,
                                stormed,
                                rules: &rules,
                                injected: &injected,
                                stop: &stop,
                            };
                            serve(client, upstream, &faults);
                        });
                    }
                    Err(_) => thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        proxy
    }

    /// The endpoint URL to give the tool.
    pub fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Faults for the next requests, in order; then requests pass.
    pub fn script(&self, faults: impl IntoIterator<Item = Fault>) {
        if let Ok(mut script) = self.script.lock() {
            script.extend(faults);
        }
    }

    /// `fault` for the next `times` requests with this method whose query
    /// string contains `query` (e.g. `"PUT"`, `"lifecycle"`; `"GET"`,
    /// `"list-type=2"`; `"POST"`, `"delete"`). Scripted faults come first.
    pub fn on(&self, method: &'static str, query: impl Into<String>, fault: Fault, times: usize) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(Rule {
                method,
                query: query.into(),
                whole_target: false,
                fault,
                times,
            });
        }
    }

    /// `fault` for the next `times` requests with this method whose target
    /// (path and query) contains `needle`: the requests for certain keys.
    pub fn on_target(
        &self,
        method: &'static str,
        needle: impl Into<String>,
        fault: Fault,
        times: usize,
    ) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.push(Rule {
                method,
                query: needle.into(),
                whole_target: true,
                fault,
                times,
            });
        }
    }

    /// From now on, one of `faults` (picked at random) for `percent` of
    /// the requests, whatever their method, drawn from `seed`; requests
    /// that a script or a rule faults are not drawn for.
    pub fn storm(&self, percent: u64, seed: u64, faults: &[Fault]) {
        if let Ok(mut storm) = self.storm.lock() {
            *storm = Some(Storm {
                percent,
                // xorshift never leaves 0.
                state: seed | 1,
                faults: faults.to_vec(),
            });
        }
    }

    /// Ends the storm.
    pub fn calm(&self) {
        if let Ok(mut storm) = self.storm.lock() {
            *storm = None;
        }
    }

    /// Drops every rule (a rule not used up would hit the next run).
    pub fn clear_rules(&self) {
        if let Ok(mut rules) = self.rules.lock() {
            rules.clear();
        }
    }

    /// How many requests got a fault so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::Relaxed)
    }
}

/// The fault of the first rule matching the request line, if any left.
fn matching(rules: &Mutex<Vec<Rule>>, request: &[u8]) -> Option<Fault> {
    let line = String::from_utf8_lossy(request.split(|b| *b == b'\r').next()?).into_owned();
    let (method, rest) = line.split_once(' ')?;
    let target = rest.split(' ').next()?;
    let query = target.split_once('?').map_or("", |(_, q)| q);
    let mut rules = rules.lock().ok()?;
    let rule = rules.iter_mut().find(|r| {
        let seen = if r.whole_target { target } else { query };
        r.times > 0 && r.method == method && seen.contains(&r.query)
    })?;
    rule.times -= 1;
    Some(rule.fault)
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Where one connection's fault comes from, and the proxy's switches.
struct Faults<'a> {
    scripted: Option<Fault>,
    stormed: Option<Fault>,
    rules: &'a Mutex<Vec<Rule>>,
    injected: &'a AtomicUsize,
    stop: &'a AtomicBool,
}

/// Handles one client connection: one request, one fault (the scripted
/// one, else a matching rule's, else the storm's, else none).
fn serve(mut client: TcpStream, upstream: SocketAddr, faults: &Faults<'_>) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(request) = read_request(&mut client) else {
        return;
    };
    let fault = faults
        .scripted
        .or_else(|| matching(faults.rules, &request))
        .or(faults.stormed)
        .unwrap_or(Fault::Pass);
    if fault != Fault::Pass {
        faults.injected.fetch_add(1, Ordering::Relaxed);
    }
    match fault {
        Fault::SlowDown => {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let response = format!(
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes());
        }
        Fault::Bare(status) => {
            let response = format!(
                "HTTP/1.1 {status} Refused\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
            let _ = client.write_all(response.as_bytes());
        }
        Fault::Coded(status, code) => {
            let body = format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>{code}</Code><Message>injected by the fault proxy</Message></Error>"
            );
            let response = format!(
                "HTTP/1.1 {status} Refused\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes());
        }
        Fault::Delay(wait) => {
            thread::sleep(wait);
            if let Some(response) = exchange(upstream, &request) {
                let _ = client.write_all(&response);
            }
        }
        Fault::Hold(wait) => {
            if let Some(response) = exchange(upstream, &request) {
                thread::sleep(wait);
                let _ = client.write_all(&response);
            }
        }
        Fault::CutAfter(bytes) => {
            if let Some(response) = exchange(upstream, &request) {
                let _ = client.write_all(&response[..bytes.min(response.len())]);
            }
        }
        Fault::Truncate(bytes) => {
            if let Some(response) = exchange(upstream, &request) {
                let _ = client.write_all(&truncate_body(&response, bytes));
            }
        }
        // The port closes (the accept loop stops) before this connection does.
        Fault::Kill => faults.stop.store(true, Ordering::Relaxed),
        Fault::Html(status) => {
            let body = "<!DOCTYPE html>\n<html><head><title>Bad Gateway</title></head><body><h1>502 Bad Gateway</h1><hr>nginx</body></html>\n";
            let response = format!(
                "HTTP/1.1 {status} Proxy Says\r\nContent-Type: text/html\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes());
        }
        Fault::DeleteErrors(code) => {
            let _ = client.write_all(delete_errors(&request, code).as_bytes());
        }
        Fault::Listing(kind) => {
            let _ = client.write_all(listing(&request, kind).as_bytes());
        }
        Fault::Ignore(params) => {
            if let Some(response) = exchange(upstream, &without_params(&request, params)) {
                let _ = client.write_all(&response);
            }
        }
        Fault::Endless => {
            if let Some(response) = exchange(upstream, &without_params(&request, PAGE_TOKENS)) {
                let _ = client.write_all(&endless(&response));
            }
        }
        Fault::Pass => {
            if let Some(response) = exchange(upstream, &request) {
                let _ = client.write_all(&response);
            }
        }
    }
    let _ = client.shutdown(Shutdown::Both);
}

/// Reads one request (head and Content-Length body); `None` on EOF or error.
/// Its `Connection` header is replaced by `Connection: close`.
fn read_request(client: &mut TcpStream) -> Option<Vec<u8>> {
    let mut data = Vec::new();
    let mut buf = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(pos) = find(&data, b"\r\n\r\n") {
            break pos + 4;
        }
        let n = client.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    };
    let head = String::from_utf8_lossy(&data[..head_end]).into_owned();
    let length = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
        .unwrap_or(0);
    while data.len() < head_end + length {
        let n = client.read(&mut buf).ok()?;
        if n == 0 {
            return None;
        }
        data.extend_from_slice(&buf[..n]);
    }
    let mut out = Vec::new();
    for line in head.split("\r\n").filter(|l| !l.is_empty()) {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&data[head_end..]);
    Some(out)
}

/// Sends the request upstream and returns the whole response (marked
/// `Connection: close`); `None` when the server cannot be reached.
fn exchange(upstream: SocketAddr, request: &[u8]) -> Option<Vec<u8>> {
    let mut server = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)).ok()?;
    server.write_all(request).ok()?;
    let mut response = Vec::new();
    let _ = server.read_to_end(&mut response);
    Some(mark_close(response))
}

/// The response with its body cut to `keep` bytes and `Content-Length`
/// saying so (a chunked body is left as is: Garage sends lengths).
fn truncate_body(response: &[u8], keep: usize) -> Vec<u8> {
    let Some(head_end) = find(response, b"\r\n\r\n") else {
        return response.to_vec();
    };
    let body = &response[head_end + 4..];
    let body = &body[..keep.min(body.len())];
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let mut out = Vec::with_capacity(head_end + body.len() + 4);
    for line in head.split("\r\n") {
        if line.to_ascii_lowercase().starts_with("content-length:") {
            out.extend_from_slice(format!("Content-Length: {}", body.len()).as_bytes());
        } else {
            out.extend_from_slice(line.as_bytes());
        }
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A DeleteObjects `200 OK` whose result holds an `<Error>` with `code`
/// for every `<Key>` of the request.
fn delete_errors(request: &[u8], code: &str) -> String {
    let text = String::from_utf8_lossy(request);
    let mut errors = String::new();
    for part in text.split("<Key>").skip(1) {
        if let Some((key, _)) = part.split_once("</Key>") {
            errors.push_str(&format!(
                "<Error><Key>{key}</Key><Code>{code}</Code><Message>injected by the fault proxy</Message></Error>"
            ));
        }
    }
    let body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><DeleteResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">{errors}</DeleteResult>"
    );
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A ListObjectsV2 `200 OK` of the `kind` asked for, its keys under the
/// request's `prefix`.
fn listing(request: &[u8], kind: Listing) -> String {
    let prefix = query_param(request, "prefix").unwrap_or_default();
    let entry = |i: usize| {
        format!(
            "<Contents><Key>{prefix}made-up-{i:07}.zip</Key><LastModified>2020-01-01T00:00:00.000Z</LastModified><ETag>\"e\"</ETag><Size>3</Size><StorageClass>STANDARD</StorageClass></Contents>"
        )
    };
    let (count, tail) = match kind {
        Listing::Huge(count) => (count, "<IsTruncated>false</IsTruncated>".to_string()),
        Listing::TruncatedWithoutToken => (1, "<IsTruncated>true</IsTruncated>".to_string()),
        Listing::RepeatedToken => (
            1,
            "<IsTruncated>true</IsTruncated><NextContinuationToken>again</NextContinuationToken>"
                .to_string(),
        ),
    };
    let mut body = format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\"><Name>made-up</Name><Prefix>{prefix}</Prefix><KeyCount>{count}</KeyCount><MaxKeys>1000</MaxKeys>{tail}"
    );
    for i in 0..count {
        body.push_str(&entry(i));
    }
    body.push_str("</ListBucketResult>");
    format!(
        "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    )
}

/// The request with `params` taken out of its query string.
fn without_params(request: &[u8], params: &[&str]) -> Vec<u8> {
    let Some(line_end) = find(request, b"\r\n") else {
        return request.to_vec();
    };
    let line = String::from_utf8_lossy(&request[..line_end]).into_owned();
    let mut parts = line.splitn(3, ' ');
    let (Some(method), Some(target), Some(version)) = (parts.next(), parts.next(), parts.next())
    else {
        return request.to_vec();
    };
    let target = match target.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query
                .split('&')
                .filter(|pair| !params.contains(&pair.split('=').next().unwrap_or_default()))
                .collect();
            format!("{path}?{}", kept.join("&"))
        }
        None => target.to_string(),
    };
    let mut out = format!("{method} {target} {version}").into_bytes();
    out.extend_from_slice(&request[line_end..]);
    out
}

/// Fresh tokens for `Endless`, never the same twice in a test run.
static ENDLESS: AtomicUsize = AtomicUsize::new(0);

/// A listing response said to be truncated, with a continuation token (or
/// version markers) never given before. The page must have been complete
/// (`<IsTruncated>false`): the bench's fixtures are one page.
fn endless(response: &[u8]) -> Vec<u8> {
    let Some(head_end) = find(response, b"\r\n\r\n") else {
        return response.to_vec();
    };
    let body = String::from_utf8_lossy(&response[head_end + 4..]).into_owned();
    let n = ENDLESS.fetch_add(1, Ordering::Relaxed);
    let next = if body.contains("<ListVersionsResult") {
        format!(
            "<NextKeyMarker>endless-{n}</NextKeyMarker><NextVersionIdMarker>endless-{n}</NextVersionIdMarker>"
        )
    } else {
        format!("<NextContinuationToken>endless-{n}</NextContinuationToken>")
    };
    let body = body.replacen(
        "<IsTruncated>false</IsTruncated>",
        &format!("<IsTruncated>true</IsTruncated>{next}"),
        1,
    );
    let mut out = response[..head_end + 4].to_vec();
    out.extend_from_slice(body.as_bytes());
    truncate_body(&out, body.len())
}

/// A query parameter of the request line, percent-decoded.
fn query_param(request: &[u8], name: &str) -> Option<String> {
    let line = String::from_utf8_lossy(request.split(|b| *b == b'\r').next()?).into_owned();
    let target = line.split(' ').nth(1)?;
    let (_, query) = target.split_once('?')?;
    let value = query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)?
        .1;
    let bytes = value.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes
            .get(i + 1..i + 3)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(byte)) => {
                out.push(byte);
                i += 3;
            }
            (byte, _) => {
                out.push(byte);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

/// Puts `Connection: close` in a response head so the client opens a new
/// connection (and so meets the proxy again) for its next request.
fn mark_close(response: Vec<u8>) -> Vec<u8> {
    let Some(head_end) = find(&response, b"\r\n\r\n") else {
        return response;
    };
    let head = String::from_utf8_lossy(&response[..head_end]).into_owned();
    let mut out = Vec::with_capacity(response.len() + 20);
    for line in head.split("\r\n") {
        if !line.to_ascii_lowercase().starts_with("connection:") {
            out.extend_from_slice(line.as_bytes());
            out.extend_from_slice(b"\r\n");
        }
    }
    out.extend_from_slice(b"Connection: close\r\n\r\n");
    out.extend_from_slice(&response[head_end + 4..]);
    out
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}
