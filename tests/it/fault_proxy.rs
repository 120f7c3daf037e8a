//! A fault-injecting HTTP proxy for the hardening tests: sits between the
//! tool and a real server on loopback and, per request, forwards it, answers
//! `503 SlowDown`, delays it, or cuts the response part-way.
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
    /// Forward it, then cut the response after this many bytes.
    CutAfter(usize),
    /// Wait, then forward.
    Delay(Duration),
}

/// A running proxy; stops when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    script: Arc<Mutex<VecDeque<Fault>>>,
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
            requests: Arc::new(AtomicUsize::new(0)),
            injected: Arc::new(AtomicUsize::new(0)),
            stop: Arc::new(AtomicBool::new(false)),
        };
        let (script, requests, injected, stop) = (
            proxy.script.clone(),
            proxy.requests.clone(),
            proxy.injected.clone(),
            proxy.stop.clone(),
        );
        thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((client, _)) => {
                        let fault = script.lock().map(|mut s| s.pop_front()).ok().flatten();
                        let fault = fault.unwrap_or(Fault::Pass);
                        requests.fetch_add(1, Ordering::Relaxed);
                        if fault != Fault::Pass {
                            injected.fetch_add(1, Ordering::Relaxed);
                        }
                        thread::spawn(move || serve(client, upstream, fault));
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
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Handles one client connection: one request, one fault.
fn serve(mut client: TcpStream, upstream: SocketAddr, fault: Fault) {
    let _ = client.set_nonblocking(false);
    let _ = client.set_read_timeout(Some(Duration::from_secs(30)));
    let Some(request) = read_request(&mut client) else {
        return;
    };
    match fault {
        Fault::SlowDown => {
            let body = "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
            let response = format!(
                "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = client.write_all(response.as_bytes());
        }
        Fault::Delay(wait) => {
            thread::sleep(wait);
            forward(&mut client, upstream, &request, None);
        }
        Fault::CutAfter(bytes) => forward(&mut client, upstream, &request, Some(bytes)),
        Fault::Pass => forward(&mut client, upstream, &request, None),
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

/// Sends the request upstream and relays the response (marked
/// `Connection: close`), cut after `limit` bytes when given.
fn forward(client: &mut TcpStream, upstream: SocketAddr, request: &[u8], limit: Option<usize>) {
    let Ok(mut server) = TcpStream::connect_timeout(&upstream, Duration::from_secs(5)) else {
        return;
    };
    if server.write_all(request).is_err() {
        return;
    }
    let mut response = Vec::new();
    let _ = server.read_to_end(&mut response);
    let response = mark_close(response);
    let end = limit.map_or(response.len(), |l| l.min(response.len()));
    let _ = client.write_all(&response[..end]);
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
