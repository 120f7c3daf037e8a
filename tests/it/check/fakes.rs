//! Small fake servers for failure modes a real one cannot be put in here.
//!
//! `start_quorum_lost`: an HTTP responder that behaves like a MinIO which lost write quorum:
//! `/minio/health/live`, `/ready` and `/cluster/read` answer 200,
//! `/minio/health/cluster` answers 503, anything else (S3 calls) 404.
//! Real MinIO cannot be put in that state on one machine, hence the fake
//! (the issue asks for exactly this responder).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};

/// A server that accepts connections and never answers (a hung process);
/// returns its URL.
pub fn start_silent() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        // Held open, never read or answered, until the test process ends.
        let held: Vec<TcpStream> = listener.incoming().flatten().collect();
        drop(held);
    });
    format!("http://127.0.0.1:{port}")
}

/// Starts the quorum-lost responder on a free loopback port; returns its URL. The
/// thread lives as long as the test process.
pub fn start_quorum_lost() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || answer(stream));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn answer(mut stream: TcpStream) {
    let Ok(reader) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(reader);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line).is_err() {
        return;
    }
    // Drain the headers (bodies are not read: every answer closes).
    let mut line = String::new();
    while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
        line.clear();
    }
    let path = request_line.split_whitespace().nth(1).unwrap_or("/");
    let path = path.split('?').next().unwrap_or(path);
    let (status, body) = match path {
        "/minio/health/live" | "/minio/health/ready" | "/minio/health/cluster/read" => {
            ("200 OK", String::new())
        }
        "/minio/health/cluster" => ("503 Service Unavailable", String::new()),
        _ => (
            "404 Not Found",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>NoSuchBucket</Code><Message>The specified bucket does not exist</Message></Error>".to_string(),
        ),
    };
    let response = format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let _ = stream.write_all(response.as_bytes());
}
