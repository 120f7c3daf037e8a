//! synth-s3: a synthetic S3 listing server for `scripts/bench/synthetic.sh`,
//! and the bare client that measures its page rate.
//!
//! `synth-s3 serve --bucket B --prefix P --keys N [--days 30] [--port 0]`
//! answers listings of N made-up keys in the ChronoTrace client's layout
//! (`keys.rs`) on 127.0.0.1, storing nothing; it prints `port NNN` once
//! listening.
//!
//! `synth-s3 walk --endpoint HOST:PORT --bucket B --prefix P [--threads K]`
//! fetches every page of the prefix with no XML parsing (one keep-alive
//! connection per thread; with K > 1, the day folders are found first and
//! listed K at a time, as the tool lists its partitions), and prints
//! `pages N keys N bytes N seconds S`: the server's page rate as a client
//! that does nothing with the pages sees it.

mod client;
mod keys;
mod server;

use std::collections::HashMap;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(command) = args.first() else {
        fail("usage: synth-s3 serve|walk --flag value...");
    };
    let flags: HashMap<&str, &str> = args[1..]
        .chunks(2)
        .filter_map(|p| Some((p[0].trim_start_matches("--"), p.get(1)?.as_str())))
        .collect();
    let get = |name: &str, default: &str| flags.get(name).copied().unwrap_or(default).to_string();
    let number = |name: &str, default: u64| {
        get(name, &default.to_string())
            .parse::<u64>()
            .unwrap_or_else(|_| fail(&format!("--{name}: not a number")))
    };
    let (bucket, prefix) = (get("bucket", "synth"), get("prefix", "bench/traces/"));
    match command.as_str() {
        "serve" => {
            let today = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| (d.as_secs() / 86_400) as i64)
                .unwrap_or(0);
            let keys = keys::Keys::new(
                &prefix,
                number("keys", 1_000_000),
                number("days", 30) as u32,
                today,
            );
            let listener = TcpListener::bind(("127.0.0.1", number("port", 0) as u16))
                .unwrap_or_else(|e| fail(&format!("bind: {e}")));
            let port = listener.local_addr().map(|a| a.port()).unwrap_or(0);
            println!("port {port}");
            let server = server::Server {
                bucket,
                keys,
                pages: AtomicU64::new(0),
                served: AtomicU64::new(0),
                log: number("log", 0) == 1,
            };
            server::run(listener, Arc::new(server));
        }
        "walk" => {
            let endpoint = get("endpoint", "127.0.0.1:9000");
            let threads = number("threads", 1) as usize;
            match client::walk(&endpoint, &bucket, &prefix, threads) {
                Ok(done) => println!(
                    "pages {} keys {} bytes {} seconds {:.3}",
                    done.pages, done.keys, done.bytes, done.seconds
                ),
                Err(e) => fail(&format!("walk: {e}")),
            }
        }
        other => fail(&format!("unknown command {other}")),
    }
}

fn fail(message: &str) -> ! {
    eprintln!("synth-s3: {message}");
    std::process::exit(2)
}
