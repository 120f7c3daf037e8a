//! A small HTTP proxy on loopback, as a company's proxy would be: an
//! `https://` request arrives as `CONNECT host:port` and is tunnelled
//! byte for byte; a plain `http://` one arrives with its absolute URL and
//! is forwarded in origin form, marked `Connection: close` so each request
//! is one connection. It counts what went through it, so a test proves
//! that the tool used it (or, with `NO_PROXY`, did not).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

/// A running proxy (its threads end with the test process).
pub struct ConnectProxy {
    pub port: u16,
    tunnels: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
}

impl ConnectProxy {
    /// Listens on a free loopback port.
    pub fn start() -> ConnectProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        let port = listener.local_addr().expect("proxy address").port();
        let tunnels = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let counts = (Arc::clone(&tunnels), Arc::clone(&forwarded));
        thread::spawn(move || {
            for client in listener.incoming().flatten() {
                let counts = (Arc::clone(&counts.0), Arc::clone(&counts.1));
                thread::spawn(move || {
                    let _ = serve(client, &counts.0, &counts.1);
                });
            }
        });
        ConnectProxy {
            port,
            tunnels,
            forwarded,
        }
    }

    /// The proxy's URL, for `HTTPS_PROXY` / `HTTP_PROXY`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// CONNECT tunnels opened so far.
    pub fn tunnels(&self) -> usize {
        self.tunnels.load(Ordering::SeqCst)
    }

    /// Plain requests forwarded so far.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

/// One client connection: its request head decides tunnel or forward.
fn serve(client: TcpStream, tunnels: &AtomicUsize, forwarded: &AtomicUsize) -> std::io::Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut head = Vec::new();
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            return Ok(());
        }
        let end = line == "\r\n";
        head.push(line);
        if end {
            break;
        }
    }
    let request_line = head[0].trim_end().to_string();
    let mut parts = request_line.split(' ');
    let (method, target) = (parts.next().unwrap_or(""), parts.next().unwrap_or(""));
    let mut client = client;
    if method == "CONNECT" {
        let upstream = TcpStream::connect(target)?;
        tunnels.fetch_add(1, Ordering::SeqCst);
        client.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")?;
        return pipe(reader, client, upstream);
    }
    // Forward: `GET http://host:port/path HTTP/1.1` → `GET /path HTTP/1.1`.
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut upstream = TcpStream::connect(authority)?;
    forwarded.fetch_add(1, Ordering::SeqCst);
    let version = parts.next().unwrap_or("HTTP/1.1");
    let mut forwarded_head = format!("{method} {path} {version}\r\n");
    for line in &head[1..head.len() - 1] {
        let name = line.split(':').next().unwrap_or("").to_ascii_lowercase();
        if name != "connection" && name != "proxy-connection" {
            forwarded_head.push_str(line);
        }
    }
    forwarded_head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(forwarded_head.as_bytes())?;
    pipe(reader, client, upstream)
}

/// Copies both ways until either side closes.
fn pipe(
    mut from_client: BufReader<TcpStream>,
    mut to_client: TcpStream,
    upstream: TcpStream,
) -> std::io::Result<()> {
    let mut to_upstream = upstream.try_clone()?;
    let mut from_upstream = upstream;
    let up = thread::spawn(move || {
        let _ = std::io::copy(&mut from_client, &mut to_upstream);
        let _ = to_upstream.shutdown(Shutdown::Write);
    });
    let mut buf = [0u8; 16 * 1024];
    loop {
        let n = from_upstream.read(&mut buf)?;
        if n == 0 {
            break;
        }
        to_client.write_all(&buf[..n])?;
    }
    let _ = to_client.shutdown(Shutdown::Both);
    let _ = up.join();
    Ok(())
}
