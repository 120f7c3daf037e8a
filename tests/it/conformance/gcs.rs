//! The GCS store under the suite, on the bench's fake-gcs-server (the
//! JSON API, plain HTTP on loopback): a bucket of its own per test,
//! traces in the seed's flat layout `traces/{traceId}.json` with UUIDv7
//! ids carrying the time each trace was made (`age` days ago), and the
//! bench's service-account key file, whose token endpoint is the bench's
//! loopback stub. The test's own calls are plain HTTP/1.1 over a socket:
//! the emulator checks no token.

use std::collections::BTreeSet;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};

use serde_json::Value;
use tempfile::TempDir;

use std::path::PathBuf;
use std::process::Child;
use std::time::Duration;

use super::{PurgeHold, Seeded, StoreUnderTest};
use crate::fault_proxy::{Fault, FaultProxy};
use crate::support::{Run, bench_file, tempdir};

const DAY_MS: i64 = 86_400_000;
/// Longer than any purge of the suite: a batch held this long is never sent.
const STALL: Duration = Duration::from_secs(120);
/// What a trace holds (its bytes as the tool counts them).
const TRACE: &str = r#"{"trace":"gcs"}"#;

/// The bench's fake-gcs-server, `host:port`.
pub fn server() -> String {
    emulator("CT_TEST_GCS_ENDPOINT")
}

/// The bench's emulator whose endpoint `var` holds, `host:port`.
fn emulator(var: &str) -> String {
    let endpoint = std::env::var(var)
        .unwrap_or_else(|_| panic!("{var}: run this test through scripts/test.sh"));
    endpoint.trim_start_matches("http://").to_owned()
}

/// One plain HTTP/1.1 request to the emulator at `host`: (status, body).
pub fn http(host: &str, method: &str, path: &str, body: &[u8]) -> (u16, Vec<u8>) {
    // Uploads are bytes: gcp-storage-emulator parses a media upload typed
    // application/json and fails on it.
    let content_type = if path.starts_with("/upload/") {
        "application/octet-stream"
    } else {
        "application/json"
    };
    http_typed(host, method, path, content_type, body)
}

/// `http` with the body typed `content_type`.
pub fn http_typed(
    host: &str,
    method: &str,
    path: &str,
    content_type: &str,
    body: &[u8],
) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(host).expect("the emulator answers");
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes()).expect("sent");
    stream.write_all(body).expect("sent");
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).expect("read");
    let split = answer
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("an HTTP answer");
    let status_line = String::from_utf8_lossy(&answer[..split]).into_owned();
    let status = status_line
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("a status");
    let mut body = answer[split + 4..].to_vec();
    if status_line
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = unchunk(&body);
    }
    (status, body)
}

/// A chunked body, joined.
fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(String::from_utf8_lossy(&data[..end]).trim(), 16)
            .expect("a chunk size");
        if size == 0 {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[end + 4 + size..];
    }
    out
}

/// `text` escaped as one URL path segment or query value.
pub fn escape(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A UUIDv7 made `millis` after 1970 (its other bits a counter).
pub fn uuid_v7(millis: i64) -> String {
    static COUNTER: AtomicU64 = AtomicU64::new(1);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let t = format!("{millis:012x}");
    format!(
        "{}-{}-7{:03x}-8{:03x}-{:012x}",
        &t[..8],
        &t[8..12],
        n & 0xfff,
        (n >> 12) & 0xfff,
        n
    )
}

pub fn now_millis() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970");
    i64::try_from(since.as_millis()).expect("in range")
}

/// Makes a bucket on the emulator.
pub fn make_bucket(host: &str, bucket: &str) {
    let body = format!(r#"{{"name":"{bucket}"}}"#);
    let (status, answer) = http(
        host,
        "POST",
        "/storage/v1/b?project=ct-test",
        body.as_bytes(),
    );
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&answer));
}

/// Writes one object.
pub fn put(host: &str, bucket: &str, name: &str, body: &str) {
    let path = format!(
        "/upload/storage/v1/b/{bucket}/o?uploadType=media&name={}",
        escape(name)
    );
    let (status, answer) = http(host, "POST", &path, body.as_bytes());
    assert_eq!(status, 200, "{name}: {}", String::from_utf8_lossy(&answer));
}

/// The object `name`'s bytes.
pub fn get(host: &str, bucket: &str, name: &str) -> Vec<u8> {
    let path = format!("/storage/v1/b/{bucket}/o/{}?alt=media", escape(name));
    let (status, body) = http(host, "GET", &path, b"");
    assert_eq!(status, 200, "{name}: {}", String::from_utf8_lossy(&body));
    body
}

/// The object `name`'s resource (its generation, hashes, metadata).
pub fn resource(host: &str, bucket: &str, name: &str) -> Value {
    let path = format!("/storage/v1/b/{bucket}/o/{}", escape(name));
    let (status, body) = http(host, "GET", &path, b"");
    assert_eq!(status, 200, "{name}: {}", String::from_utf8_lossy(&body));
    serde_json::from_slice(&body).expect("an object resource")
}

/// Every object name in the bucket under `prefix`, every page.
pub fn names(host: &str, bucket: &str, prefix: &str) -> BTreeSet<String> {
    let mut found = BTreeSet::new();
    let mut token = String::new();
    loop {
        let path = format!(
            "/storage/v1/b/{bucket}/o?prefix={}&pageToken={}",
            escape(prefix),
            escape(&token)
        );
        let (status, body) = http(host, "GET", &path, b"");
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        let page: Value = serde_json::from_slice(&body).expect("a listing");
        for item in page["items"].as_array().into_iter().flatten() {
            found.insert(item["name"].as_str().expect("a name").to_owned());
        }
        match page["nextPageToken"].as_str() {
            Some(next) if !next.is_empty() => token = next.to_owned(),
            _ => return found,
        }
    }
}

struct GcsStore {
    /// `fake-gcs-server` or `gcp-storage-emulator`.
    name: &'static str,
    /// The emulator, `host:port`.
    host: String,
    dir: TempDir,
    bucket: String,
}

/// The spec of a store's environment, its endpoint `host:port`.
fn write_spec(dir: &std::path::Path, endpoint: &str, bucket: &str) {
    let spec = format!(
        "project: p
environments:
  conf:
    storage: gcs
    endpoint: http://{endpoint}
    bucket: {bucket}
    project: ct-test
    retention_days: 15
"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), spec).expect("write spec");
}

impl GcsStore {
    fn new(name: &'static str, var: &str) -> GcsStore {
        let host = emulator(var);
        let dir = tempdir();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after 1970")
            .as_nanos();
        let bucket = format!("ct-conf-{nanos}");
        write_spec(dir.path(), &host, &bucket);
        GcsStore {
            name,
            host,
            dir,
            bucket,
        }
    }
}

impl StoreUnderTest for GcsStore {
    fn name(&self) -> &str {
        self.name
    }

    fn tool(&self, args: &[&str]) -> Run {
        Run::new(self.dir.path())
            .env(
                "GOOGLE_APPLICATION_CREDENTIALS",
                bench_file("CT_TEST_GCS_KEY_FILE"),
            )
            .args(["-e", "conf"])
            .args(args)
    }

    /// As the seed's GcsTraceStorage writes them: `traces/{traceId}.json`,
    /// the id a UUIDv7 of the time the trace was made.
    fn seed(&mut self, days: u64, per_day: u64) -> Seeded {
        if !self.bucket_exists() {
            make_bucket(&self.host, &self.bucket);
        }
        let now = now_millis();
        let mut seeded = Seeded::default();
        for age in 0..days {
            let made = now - i64::try_from(age).expect("an age") * DAY_MS;
            let traces = (0..per_day)
                .map(|_| {
                    let name = format!("traces/{}.json", uuid_v7(made));
                    put(&self.host, &self.bucket, &name, TRACE);
                    (name, TRACE.len() as u64)
                })
                .collect();
            seeded.push(age, traces);
        }
        seeded
    }

    fn count(&self) -> u64 {
        names(&self.host, &self.bucket, "traces/").len() as u64
    }

    fn everything(&self) -> BTreeSet<String> {
        if !self.bucket_exists() {
            return BTreeSet::new();
        }
        names(&self.host, &self.bucket, "")
    }

    /// Old traces just outside `traces/`: a sibling prefix, a name that
    /// starts like it, the bucket's root, another folder.
    fn plant_foreign(&mut self) -> BTreeSet<String> {
        if !self.bucket_exists() {
            make_bucket(&self.host, &self.bucket);
        }
        let old = now_millis() - 40 * DAY_MS;
        let foreign = [
            format!("tracesX/{}.json", uuid_v7(old)),
            format!("traces-{}.json", uuid_v7(old)),
            format!("{}.json", uuid_v7(old)),
            format!("other/traces/{}.json", uuid_v7(old)),
        ];
        for name in &foreign {
            put(&self.host, &self.bucket, name, "keep");
        }
        foreign.into_iter().collect()
    }

    fn probe_check(&self) -> &'static str {
        "gcs.probe"
    }

    fn interrupt_load(&self) -> (u64, u64) {
        // 1,400 traces past retention: 14 batches of 100.
        (30, 100)
    }

    /// The tool talks to the emulator through a proxy that delays the
    /// first batch and stalls the next ones: the purge is interrupted
    /// while the second batch is held, never sent, so the emulator has
    /// deleted exactly what the run read the answer of. (Freezing the
    /// process instead loses a batch the emulator already deleted to the
    /// SIGINT before the tool reads its answer.)
    fn hold_purge(&mut self, _total: u64, _young: u64) -> Box<dyn PurgeHold> {
        let upstream = self.host.parse().expect("the bench endpoint is ip:port");
        let proxy = FaultProxy::start(upstream);
        let proxied = proxy.endpoint().trim_start_matches("http://").to_owned();
        write_spec(self.dir.path(), &proxied, &self.bucket);
        // Every POST to the proxy during the purge is a batch delete.
        proxy.on("POST", "", Fault::Delay(Duration::from_millis(500)), 1);
        proxy.on("POST", "", Fault::Delay(STALL), 10);
        Box::new(ProxyHold {
            proxy,
            dir: self.dir.path().to_path_buf(),
            host: self.host.clone(),
            bucket: self.bucket.clone(),
        })
    }

    /// Another client shortens the tool's lifecycle rule to 5 days.
    fn drift(&mut self) -> &'static str {
        let rule = serde_json::json!({"lifecycle": {"rule": [
            {"action": {"type": "Delete"}, "condition": {"age": 5, "matchesPrefix": ["traces/"]}}
        ]}});
        let (status, body) = http(
            &self.host,
            "PATCH",
            &format!("/storage/v1/b/{}", self.bucket),
            rule.to_string().as_bytes(),
        );
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        "gcs.lifecycle"
    }

    fn known_bug(&self, behaviour: &str) -> Option<&'static str> {
        match behaviour {
            // `apply` fails there by design: the rule's read-back finds
            // nothing (tests/it/gcs.rs shows the failure).
            "provisioning_converges_repairs_drift_and_destroys_only_its_own"
                if self.name == "fake-gcs-server" =>
            {
                Some(
                    "fake-gcs-server answers 200 to a bucket PATCH and keeps neither the settings nor the lifecycle rule: apply's read-back fails there, as it must; gcp-storage-emulator's row runs it",
                )
            }
            // Measured on fake-gcs-server 0.1.1's binary, without the tool:
            // two clients deleting the same 400 objects at once (single
            // DELETEs or batches) got 447 and 442 successes; Cloud Storage
            // answers 404 to a delete of an object already gone.
            "two_purges_at_once_delete_exactly_what_is_past_retention"
                if self.name == "fake-gcs-server" =>
            {
                Some(
                    "fake-gcs-server answers success to both of two concurrent deletes of one object (447 successes for 400 objects, measured without the tool), so two purges' counts cannot add up there; the traces deleted are exact",
                )
            }
            // Measured: 300 uploads took 46.7 s (6.4 a second), so the
            // 3,000 traces of these behaviours take about 8 minutes to
            // seed; and it ignores maxResults (one page, no token).
            "an_interrupted_purge_is_finished_by_a_rerun"
            | "two_purges_at_once_delete_exactly_what_is_past_retention"
                if self.name == "gcp-storage-emulator" =>
            {
                Some(
                    "gcp-storage-emulator takes uploads at 6.4 a second (measured): seeding the 3,000 traces of this behaviour outlasts the test; fake-gcs-server's row runs it",
                )
            }
            _ => None,
        }
    }
}

impl GcsStore {
    fn bucket_exists(&self) -> bool {
        http(
            &self.host,
            "GET",
            &format!("/storage/v1/b/{}", self.bucket),
            b"",
        )
        .0 == 200
    }
}

impl Drop for GcsStore {
    /// The bench's emulator is shared: the test's objects and bucket go.
    fn drop(&mut self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            for name in names(&self.host, &self.bucket, "") {
                http(
                    &self.host,
                    "DELETE",
                    &format!("/storage/v1/b/{}/o/{}", self.bucket, escape(&name)),
                    b"",
                );
            }
            http(
                &self.host,
                "DELETE",
                &format!("/storage/v1/b/{}", self.bucket),
                b"",
            );
        }));
    }
}

/// The interrupted purge's hold (see `hold_purge`).
struct ProxyHold {
    proxy: FaultProxy,
    dir: PathBuf,
    host: String,
    bucket: String,
}

impl PurgeHold for ProxyHold {
    fn wait_mid_run(&mut self, child: &mut Child) {
        super::wait_for_the_second_delete(&self.proxy, child);
    }
}

impl Drop for ProxyHold {
    /// Later runs talk to the emulator directly.
    fn drop(&mut self) {
        self.proxy.clear_rules();
        write_spec(&self.dir, &self.host, &self.bucket);
    }
}

mod fake_gcs_server {
    use super::GcsStore;
    use crate::conformance::suite;

    suite!(
        GcsStore::new("fake-gcs-server", "CT_TEST_GCS_ENDPOINT"),
        #[ignore = "needs the bench: run scripts/test.sh"]
    );
}

mod gcp_storage_emulator {
    use super::GcsStore;
    use crate::conformance::suite;

    suite!(
        GcsStore::new("gcp-storage-emulator", "CT_TEST_GCS_EMULATOR_ENDPOINT"),
        #[ignore = "needs the bench: run scripts/test.sh"]
    );
}
