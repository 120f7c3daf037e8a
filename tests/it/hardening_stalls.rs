//! Issue 11, item 7: a server that accepts connections and never answers
//! (a hung load balancer, a stopped node), or that sends the headers of an
//! answer and then stalls its body, ends every command that talks to a
//! server with a one-line error naming the endpoint, within the limits of
//! `--timeout` (or `CHRONOTRACE_OPS_TIMEOUT`), and within 30 s by default.
//! `check`'s own probes (the TLS handshake, MinIO's health requests) have
//! limits that scale with `--timeout` too.
//!
//! Nothing real can be put in these states on demand, hence the two small
//! in-process servers below (they answer nothing a real server would
//! check; the commands stop at their first call).

use std::io::{BufRead, BufReader, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::{Outcome, Run, tempdir};

/// What the stalled server does with a connection.
#[derive(Debug, Clone, Copy)]
enum Stall {
    /// Accepts it, never reads, never answers.
    Silent,
    /// Reads the request, sends `200 OK` headers promising a body, sends
    /// the first bytes of it, then nothing.
    MidBody,
}

/// Starts a stalled server on a free loopback port; returns its URL. Its
/// threads hold the connections open until the test process ends.
fn start(stall: Stall) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    let port = listener.local_addr().expect("local address").port();
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || hold(stream, stall));
        }
    });
    format!("http://127.0.0.1:{port}")
}

fn hold(mut stream: TcpStream, stall: Stall) {
    if let Stall::MidBody = stall {
        let Ok(reader) = stream.try_clone() else {
            return;
        };
        let mut reader = BufReader::new(reader);
        let mut line = String::new();
        while reader.read_line(&mut line).is_ok_and(|n| n > 2) {
            line.clear();
        }
        let head = "HTTP/1.1 200 OK\r\nContent-Type: application/xml\r\nContent-Length: 100000\r\n\r\n<?xml version=\"1.0\" encoding=\"UTF-8\"?><ListBucketResult>";
        let _ = stream.write_all(head.as_bytes());
        let _ = stream.flush();
    }
    // Held open, never answered further.
    std::thread::sleep(Duration::from_secs(600));
    drop(stream);
}

/// Every command that talks to a server, with the flags it needs to get
/// there without a terminal, and the exit code it owes: `check` reports a
/// failed check (exit 1, its contract), every other one an error (exit 2).
const COMMANDS: [(&[&str], i32); 8] = [
    (&["plan"], 2),
    (&["apply", "--yes"], 2),
    (&["destroy", "--yes"], 2),
    (&["check"], 1),
    (&["cleanup", "verify"], 2),
    (&["cleanup", "purge", "--yes"], 2),
    (&["report"], 2),
    (&["bootstrap", "--yes"], 2),
];

/// A spec whose environment `e` is the stalled server.
fn spec(dir: &Path, endpoint: &str) {
    spec_of(dir, endpoint, "s3-compatible");
}

/// A spec whose environment `e` is the stalled server of `provider`.
fn spec_of(dir: &Path, endpoint: &str, provider: &str) {
    let spec = format!(
        "project: chronotrace\nenvironments:\n  e:\n    storage: s3\n    provider: {provider}\n    endpoint: {endpoint}\n    region: garage\n    bucket: stalled\n    prefix: app/traces\n    retention_days: 30\n"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

fn run(dir: &Path, args: &[&str], extra: &[&str]) -> (Outcome, Duration) {
    let started = Instant::now();
    let out = Run::new(dir)
        .args(args)
        .args(["-e", "e"])
        .args(extra)
        .env("AWS_ACCESS_KEY_ID", "GKstalledkey")
        .env("AWS_SECRET_ACCESS_KEY", "stalled-secret")
        .run();
    (out, started.elapsed())
}

/// Exit `code`, and the error named the endpoint on one line (plus a
/// hint), or for `check` its failed check did.
#[track_caller]
fn assert_named(out: &Outcome, args: &[&str], code: i32, endpoint: &str) {
    let what = args.join(" ");
    assert_eq!(
        out.code, code,
        "{what}\n--- stdout\n{}\n--- stderr\n{}",
        out.stdout, out.stderr
    );
    assert!(!out.stderr.contains("panicked"), "{what}: {}", out.stderr);
    if code == 1 {
        assert!(
            out.stdout.contains("no answer from") && out.stdout.contains(endpoint),
            "{what}: {}",
            out.stdout
        );
        return;
    }
    // `bootstrap` names the failed step in its summary on stdout.
    let (errors, output): (Vec<&str>, &str) = if args[0] == "bootstrap" {
        let steps = out.stdout.lines().filter(|l| l.contains("ERROR"));
        (steps.collect(), &out.stdout)
    } else {
        let lines = out.stderr.lines().filter(|l| l.starts_with("error"));
        (lines.collect(), &out.stderr)
    };
    assert_eq!(errors.len(), 1, "{what}: one error line\n{output}");
    let host = endpoint.trim_start_matches("http://");
    assert!(
        errors[0].contains(host),
        "{what}: the error names the endpoint\n{output}"
    );
}

/// Every command against `stall` with a 2 s budget per call, all at once.
fn every_command_gives_up(stall: Stall) {
    let endpoint = start(stall);
    std::thread::scope(|scope| {
        for (args, code) in COMMANDS {
            let endpoint = &endpoint;
            scope.spawn(move || {
                let dir = tempdir();
                spec(dir.path(), endpoint);
                let (out, took) = run(dir.path(), args, &["--timeout", "2"]);
                assert_named(&out, args, code, endpoint);
                // One call's budget (2 s), startup and the check's own
                // probes: far under this, even on a loaded machine.
                assert!(took < Duration::from_secs(12), "{args:?} took {took:?}");
            });
        }
    });
}

#[test]
fn a_server_that_never_answers_ends_every_command_within_the_timeout() {
    every_command_gives_up(Stall::Silent);
}

#[test]
fn a_server_that_stalls_mid_body_ends_every_command_within_the_timeout() {
    every_command_gives_up(Stall::MidBody);
}

#[test]
fn without_a_timeout_flag_a_stalled_server_is_reported_within_30_seconds() {
    let endpoint = start(Stall::Silent);
    let dir = tempdir();
    spec(dir.path(), &endpoint);
    let (out, took) = run(dir.path(), &["cleanup", "verify"], &[]);
    assert_named(&out, &["cleanup", "verify"], 2, &endpoint);
    assert!(out.stderr.contains("within 20s"), "{}", out.stderr);
    assert!(took < Duration::from_secs(30), "took {took:?}");
}

#[test]
fn the_timeout_comes_from_the_environment_too_and_is_validated() {
    let endpoint = start(Stall::Silent);
    let dir = tempdir();
    spec(dir.path(), &endpoint);
    let started = Instant::now();
    let out = Run::new(dir.path())
        .args(["plan", "-e", "e"])
        .env("CHRONOTRACE_OPS_TIMEOUT", "1.5")
        .env("AWS_ACCESS_KEY_ID", "GKstalledkey")
        .env("AWS_SECRET_ACCESS_KEY", "stalled-secret")
        .run();
    assert_named(&out, &["plan"], 2, &endpoint);
    assert!(out.stderr.contains("within 1.5s"), "{}", out.stderr);
    assert!(started.elapsed() < Duration::from_secs(10));

    let out = Run::new(dir.path())
        .args(["plan", "-e", "e", "--timeout", "0"])
        .run()
        .code(2);
    assert!(out.stderr.contains("--timeout"), "{}", out.stderr);
    assert!(!out.stderr.contains("GKstalledkey"));
}

/// `check --output json` against the stalled server with `--timeout`;
/// the report and how long the run took.
fn check_json(dir: &Path, timeout: &str) -> (serde_json::Value, Duration) {
    let (out, took) = run(dir, &["check"], &["--output", "json", "--timeout", timeout]);
    let out = out.code(1).stderr_is_empty();
    (out.json(), took)
}

/// The message of check `id` in a JSON report.
fn message(report: &serde_json::Value, id: &str) -> String {
    let checks = report["checks"].as_array().cloned().unwrap_or_default();
    let check = checks.iter().find(|c| c["id"] == id);
    let check = check.unwrap_or_else(|| panic!("no check {id} in {report:#}"));
    assert_eq!(check["status"], "fail", "{id}: {check:#}");
    check["message"].as_str().unwrap_or_default().to_string()
}

/// `check`'s own TLS probe: a server that takes the connection and never
/// answers the handshake fails `network.tls` within 15% of `--timeout`
/// (3 s by default), and a raised `--timeout` waits longer.
#[test]
fn checks_tls_handshake_with_a_stalled_server_scales_with_the_timeout() {
    let endpoint = start(Stall::Silent).replace("http://", "https://");
    let dir = tempdir();
    spec(dir.path(), &endpoint);

    let (report, took) = check_json(dir.path(), "2");
    let says = message(&report, "network.tls");
    assert!(says.contains("no answer within 0.3s"), "{says}");
    assert!(took < Duration::from_secs(8), "took {took:?}");

    let (report, took) = check_json(dir.path(), "10");
    let says = message(&report, "network.tls");
    assert!(says.contains("no answer within 1.5s"), "{says}");
    assert!(took >= Duration::from_millis(1500), "took {took:?}");
    assert!(took < Duration::from_secs(10), "took {took:?}");
}

/// `check`'s MinIO health requests: a server that never answers them
/// fails each within 25% of `--timeout` (5 s by default), and a raised
/// `--timeout` raises their limit.
#[test]
fn checks_minio_health_requests_to_a_stalled_server_scale_with_the_timeout() {
    let endpoint = start(Stall::Silent);
    let dir = tempdir();
    spec_of(dir.path(), &endpoint, "minio");

    let (report, took) = check_json(dir.path(), "2");
    for id in [
        "minio.live",
        "minio.ready",
        "minio.cluster",
        "minio.cluster-read",
    ] {
        let says = message(&report, id);
        assert!(says.contains("no answer within 0.5s"), "{id}: {says}");
    }
    // The health requests run beside the signed checks (1.5 s deadline).
    assert!(took < Duration::from_secs(8), "took {took:?}");

    let (report, took) = check_json(dir.path(), "4");
    let says = message(&report, "minio.cluster");
    assert!(says.contains("no answer within 1s"), "{says}");
    assert!(took >= Duration::from_secs(1), "took {took:?}");
}
