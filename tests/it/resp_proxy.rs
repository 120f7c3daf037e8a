//! A RESP proxy for the Redis paging tests (issue 27): sits between the
//! tool and the bench's real redis-server and makes it repeat itself, as a
//! Redis-compatible server or a proxy that pages wrongly would:
//! `ZRANGEBYSCORE` answered from the index's start whatever score it starts
//! at, or `SCAN` handing back the same cursor for ever. Everything else passes through unchanged.
//!
//! One thread a client connection, one upstream connection each; commands
//! are forwarded one at a time, each answer read whole before the next
//! command is sent, so a pipeline keeps its order.

use std::io::{BufRead, BufReader, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::thread;

/// How the server repeats itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Repeat {
    /// `ZRANGEBYSCORE key min max …` answers from `-inf`, whatever `min`.
    ZrangeFromStart,
    /// `SCAN` starts from cursor 0 and answers cursor 17 every time;
    /// `DBSIZE` is refused, so the walk's keys pass is not skipped.
    ScanCursor,
}

/// A RESP value, kept as its type byte and parts (RESP2 and RESP3).
#[derive(Debug, Clone)]
enum Value {
    /// `+ - : _ , # (`: one line.
    Line(u8, Vec<u8>),
    /// `$ ! =`: a length-prefixed blob (`None`: the null blob).
    Blob(u8, Option<Vec<u8>>),
    /// `* ~ > %`: an aggregate (a map's keys and values in turn).
    Many(u8, Option<Vec<Value>>),
}

/// Starts the proxy to `upstream` on a free loopback port; returns its
/// `redis://` URL. The threads live as long as the test process.
pub fn start(upstream: SocketAddr, repeat: Repeat) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    thread::spawn(move || {
        for client in listener.incoming().flatten() {
            thread::spawn(move || {
                if let Ok(server) = TcpStream::connect(upstream) {
                    let _ = relay(client, server, repeat);
                }
            });
        }
    });
    format!("redis://127.0.0.1:{port}")
}

fn relay(client: TcpStream, server: TcpStream, repeat: Repeat) -> Option<()> {
    let mut to_client = client.try_clone().ok()?;
    let mut to_server = server.try_clone().ok()?;
    let mut from_client = BufReader::new(client);
    let mut from_server = BufReader::new(server);
    loop {
        let command = read(&mut from_client)?;
        let name = command_name(&command);
        let command = rewrite_command(command, repeat);
        to_server.write_all(&encode(&command)).ok()?;
        let answer = read(&mut from_server)?;
        let answer = rewrite_answer(&name, answer, repeat);
        to_client.write_all(&encode(&answer)).ok()?;
    }
}

/// The command's name, upper-cased.
fn command_name(command: &Value) -> String {
    match command {
        Value::Many(_, Some(parts)) => match parts.first() {
            Some(Value::Blob(_, Some(name))) => String::from_utf8_lossy(name).to_uppercase(),
            _ => String::new(),
        },
        _ => String::new(),
    }
}

fn rewrite_command(command: Value, repeat: Repeat) -> Value {
    let Value::Many(kind, Some(mut parts)) = command else {
        return command;
    };
    let blob = |text: String| Value::Blob(b'$', Some(text.into_bytes()));
    match (
        repeat,
        command_name(&Value::Many(kind, Some(parts.clone()))).as_str(),
    ) {
        (Repeat::ZrangeFromStart, "ZRANGEBYSCORE") if parts.len() > 2 => {
            parts[2] = blob("-inf".into());
        }
        (Repeat::ScanCursor, "SCAN") if parts.len() > 1 => parts[1] = blob("0".into()),
        _ => {}
    }
    Value::Many(kind, Some(parts))
}

fn rewrite_answer(name: &str, answer: Value, repeat: Repeat) -> Value {
    match (repeat, name, answer) {
        (Repeat::ScanCursor, "SCAN", Value::Many(kind, Some(mut parts))) if !parts.is_empty() => {
            parts[0] = Value::Blob(b'$', Some(b"17".to_vec()));
            Value::Many(kind, Some(parts))
        }
        (Repeat::ScanCursor, "DBSIZE", _) => {
            Value::Line(b'-', b"ERR DBSIZE refused by the test's proxy".to_vec())
        }
        (_, _, answer) => answer,
    }
}

/// Reads one value; `None` at the end of the stream or on bad input.
fn read(reader: &mut impl BufRead) -> Option<Value> {
    let mut line = Vec::new();
    reader.read_until(b'\n', &mut line).ok()?;
    if line.len() < 3 || !line.ends_with(b"\r\n") {
        return None;
    }
    let kind = line[0];
    let rest = line[1..line.len() - 2].to_vec();
    let count = || String::from_utf8_lossy(&rest).parse::<i64>().ok();
    match kind {
        b'$' | b'!' | b'=' => {
            let n = count()?;
            if n < 0 {
                return Some(Value::Blob(kind, None));
            }
            let mut data = vec![0u8; usize::try_from(n).ok()? + 2];
            reader.read_exact(&mut data).ok()?;
            data.truncate(data.len() - 2);
            Some(Value::Blob(kind, Some(data)))
        }
        b'*' | b'~' | b'>' | b'%' => {
            let n = count()?;
            if n < 0 {
                return Some(Value::Many(kind, None));
            }
            let items = if kind == b'%' { 2 * n } else { n };
            let mut values = Vec::new();
            for _ in 0..items {
                values.push(read(reader)?);
            }
            Some(Value::Many(kind, Some(values)))
        }
        _ => Some(Value::Line(kind, rest)),
    }
}

fn encode(value: &Value) -> Vec<u8> {
    let mut out = Vec::new();
    match value {
        Value::Line(kind, text) => {
            out.push(*kind);
            out.extend_from_slice(text);
            out.extend_from_slice(b"\r\n");
        }
        Value::Blob(kind, None) => out.extend_from_slice(&[*kind, b'-', b'1', b'\r', b'\n']),
        Value::Blob(kind, Some(data)) => {
            out.extend_from_slice(format!("{}{}\r\n", *kind as char, data.len()).as_bytes());
            out.extend_from_slice(data);
            out.extend_from_slice(b"\r\n");
        }
        Value::Many(kind, None) => out.extend_from_slice(&[*kind, b'-', b'1', b'\r', b'\n']),
        Value::Many(kind, Some(values)) => {
            let n = if *kind == b'%' {
                values.len() / 2
            } else {
                values.len()
            };
            out.extend_from_slice(format!("{}{n}\r\n", *kind as char).as_bytes());
            for v in values {
                out.extend_from_slice(&encode(v));
            }
        }
    }
    out
}
