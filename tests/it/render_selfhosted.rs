//! `render` for the maintained self-hosted servers (issue 12, item 4):
//! Garage and SeaweedFS compose files, `garage.toml`, nginx in front. Beyond
//! `docker-compose config` and `nginx -t`, the rendered configurations boot
//! the bench's real binaries on loopback: the test (never the template)
//! rewrites ports, directories and secret paths, then proves S3 answers.

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::render::{assert_compose_accepts, assert_images_pinned, assert_nginx_accepts};
use crate::servers::{Endpoint, s3_client};
use crate::support::{Run, tempdir, tool};

const SPEC: &str = "project: demo
environments:
  staging:
    storage: s3
    provider: garage
    endpoint: https://s3.demo.test
    region: garage
    bucket: demo-staging
    prefix: staging/traces
    retention_days: 30
  weed:
    storage: s3
    provider: seaweedfs
    endpoint: https://weed.demo.test
    bucket: demo-weed
    prefix: weed/traces
    retention_days: 30
";

const COMPOSE_FILES: [&str; 4] = [
    "docker-compose.garage.yml",
    "docker-compose.garage.production.yml",
    "docker-compose.seaweedfs.yml",
    "docker-compose.seaweedfs.production.yml",
];

/// Renders `SPEC` into `dir/deploy`; returns that folder.
fn render(dir: &Path) -> PathBuf {
    write_spec(dir);
    Run::new(dir)
        .args(["render", "--out", "deploy"])
        .run()
        .code(0)
        .stderr_is_empty();
    dir.join("deploy")
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn garage_and_seaweedfs_files_are_rendered_with_no_secret() {
    let dir = tempdir();
    let deploy = render(dir.path());
    let garage = read(&deploy.join("garage.toml"));
    for needle in [
        "replication_factor = 1",
        "rpc_secret_file = \"/run/secrets/garage_rpc_secret\"",
        "admin_token_file = \"/run/secrets/garage_admin_token\"",
        "metadata_dir = \"/var/lib/garage/meta\"",
        "s3_region = \"garage\"",
    ] {
        assert!(
            garage.contains(needle),
            "garage.toml lacks {needle}:\n{garage}"
        );
    }
    assert!(!garage.contains("rpc_secret ="), "{garage}");
    assert!(!garage.contains("admin_token ="), "{garage}");
    let weed = read(&deploy.join("docker-compose.seaweedfs.yml"));
    for needle in [
        "-master.telemetry=false",
        "-s3.iam.readOnly=false",
        "-filer",
        "-s3",
    ] {
        assert!(weed.contains(needle), "{needle}:\n{weed}");
    }
    let weed_production = read(&deploy.join("docker-compose.seaweedfs.production.yml"));
    for service in ["master:", "volume:", "filer:", "s3:", "nginx:"] {
        assert!(weed_production.contains(service), "{service}");
    }
    assert!(weed_production.contains("-telemetry=false"));
    for file in COMPOSE_FILES {
        let text = read(&deploy.join(file));
        assert_images_pinned(file, &text);
        // The admin API is never published beyond the host's loopback.
        for port in ["3903:", "9333:", "8888:"] {
            for line in text.lines().filter(|l| l.contains(port)) {
                assert!(line.contains("127.0.0.1:"), "{file}: {line}");
            }
        }
    }
    let nginx = read(&deploy.join("nginx.garage.conf"));
    assert!(nginx.contains("server garage:3900;"), "{nginx}");
    assert!(nginx.contains("server_name s3.demo.test;"), "{nginx}");
    assert!(!nginx.contains("console"), "{nginx}");
    assert!(read(&deploy.join("nginx.seaweedfs.conf")).contains("server s3:8333;"));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let meta = std::fs::metadata(deploy.join("seaweedfs-s3.example.json")).expect("stat");
        assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    }
}

#[test]
fn every_selfhosted_file_is_snapshotted() {
    let dir = tempdir();
    let deploy = render(dir.path());
    for name in [
        "docker-compose.garage.yml",
        "docker-compose.garage.production.yml",
        "garage.toml",
        "nginx.garage.conf",
        "docker-compose.seaweedfs.yml",
        "docker-compose.seaweedfs.production.yml",
        "seaweedfs-s3.example.json",
        "nginx.seaweedfs.conf",
    ] {
        insta::assert_snapshot!(name, read(&deploy.join(name)));
    }
}

#[test]
fn render_points_minio_users_at_the_maintained_alternatives() {
    let dir = tempdir();
    Run::new(dir.path()).args(["init"]).run().code(0);
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0)
        .stderr_is_empty()
        .stdout_contains("note: MinIO stopped publishing community builds in October 2025")
        .stdout_contains("Garage (provider: garage) or SeaweedFS (provider: seaweedfs)");
    let out = Run::new(dir.path())
        .args(["--output", "json", "render", "--out", "deploy"])
        .run()
        .code(0);
    let notes = out.json()["notes"].to_string();
    assert!(notes.contains("frozen and unpatched"), "{notes}");
    // Without MinIO, no note.
    let other = tempdir();
    let out = Run::new(other.path())
        .args(["--output", "json", "render", "--out", "deploy"])
        .env("CHRONOTRACE_OPS_CONFIG", write_spec(other.path()))
        .run()
        .code(0);
    assert!(out.json().get("notes").is_none(), "{}", out.stdout);
}

fn write_spec(dir: &Path) -> PathBuf {
    let path = dir.join("chronotrace-ops.yaml");
    std::fs::write(&path, SPEC).expect("write spec");
    path
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn docker_compose_and_nginx_accept_the_selfhosted_files() {
    let dir = tempdir();
    let deploy = render(dir.path());
    assert_compose_accepts(&deploy, &COMPOSE_FILES);
    for conf in ["nginx.garage.conf", "nginx.seaweedfs.conf"] {
        let work = tempdir();
        assert_nginx_accepts(work.path(), &deploy.join(conf));
    }
}

/// A free loopback port (bound then released).
fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// A bench binary announced by `scripts/bench/servers/tools.sh`.
/// A server process of this test, killed when dropped.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Retries `probe` until it succeeds or 60 s pass.
fn wait_for(what: &str, mut probe: impl FnMut() -> bool) {
    let started = Instant::now();
    while !probe() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "{what} never came up"
        );
        std::thread::sleep(Duration::from_millis(250));
    }
}

/// A bucket and object round trip through the SDK: the server serves S3.
async fn serves_s3(endpoint: &Endpoint, bucket: &str) {
    let s3 = s3_client(endpoint);
    crate::servers::create_bucket(&s3, endpoint, bucket).await;
    s3.put_object()
        .bucket(bucket)
        .key("staging/traces/probe.zip")
        .body(b"trace".to_vec().into())
        .send()
        .await
        .expect("put");
    let got = s3
        .get_object()
        .bucket(bucket)
        .key("staging/traces/probe.zip")
        .send()
        .await
        .expect("get")
        .body
        .collect()
        .await
        .expect("body")
        .into_bytes();
    assert_eq!(&got[..], b"trace");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_rendered_garage_toml_boots_garage_and_serves_s3() {
    let garage = crate::support::bench_file("CT_TEST_GARAGE_BIN");
    let dir = tempdir();
    let deploy = render(dir.path());
    let work = dir.path();
    // The secret files compose would mount under /run/secrets.
    for (name, value) in [
        ("garage_rpc_secret", "5f".repeat(32)),
        ("garage_admin_token", "test-admin-token".to_string()),
    ] {
        std::fs::write(work.join(name), value).expect("secret");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::Permissions::from_mode(0o600);
            std::fs::set_permissions(work.join(name), mode).expect("chmod");
        }
    }
    let (s3_port, rpc_port, admin_port) = (free_port(), free_port(), free_port());
    let conf = read(&deploy.join("garage.toml"))
        .replace(
            "/var/lib/garage",
            &work.join("garage").display().to_string(),
        )
        .replace("/run/secrets", &work.display().to_string())
        .replace("[::]:3900", &format!("127.0.0.1:{s3_port}"))
        .replace("[::]:3901", &format!("127.0.0.1:{rpc_port}"))
        .replace("[::]:3903", &format!("127.0.0.1:{admin_port}"));
    let conf_path = work.join("garage.toml");
    std::fs::write(&conf_path, conf).expect("write conf");
    let log = std::fs::File::create(work.join("garage.log")).expect("log");
    let _server = Server(
        Command::new(&garage)
            .arg("-c")
            .arg(&conf_path)
            .arg("server")
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("garage starts"),
    );
    let cli = |args: &[&str]| -> Option<String> {
        let out = Command::new(&garage)
            .arg("-c")
            .arg(&conf_path)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).trim().to_string())
    };
    wait_for("garage RPC", || cli(&["status"]).is_some());
    let node = cli(&["node", "id", "-q"]).expect("node id");
    let node = node.split('@').next().unwrap_or_default().to_string();
    cli(&["layout", "assign", "-z", "dc1", "-c", "1G", &node]).expect("assign");
    cli(&["layout", "apply", "--version", "1"]).expect("apply layout");
    wait_for("garage health", || cli(&["health", "-q"]).is_some());
    cli(&["key", "create", "ct-render"]).expect("key");
    cli(&["key", "allow", "--create-bucket", "ct-render"]).expect("allow");
    let endpoint = Endpoint {
        name: "garage-rendered".to_string(),
        url: format!("http://127.0.0.1:{s3_port}"),
        region: "garage".to_string(),
        access_key_id: cli(&["key", "info", "--key-id", "ct-render"]).expect("id"),
        secret_access_key: cli(&["key", "info", "--secret-key", "ct-render"]).expect("secret"),
    };
    serves_s3(&endpoint, "rendered-garage").await;
    // The admin API answers on its (loopback) port with the token file's token.
    let health = Command::new(tool("curl"))
        .args(["-s", "-o", "/dev/null", "-w", "%{http_code}"])
        .args(["-H", "Authorization: Bearer test-admin-token"])
        .arg(format!("http://127.0.0.1:{admin_port}/v2/GetClusterHealth"))
        .output()
        .expect("curl");
    assert_eq!(String::from_utf8_lossy(&health.stdout), "200");
}

#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn the_rendered_seaweedfs_command_line_boots_weed_and_serves_s3() {
    let weed = crate::support::bench_file("CT_TEST_WEED_BIN");
    let dir = tempdir();
    let deploy = render(dir.path());
    let work = dir.path();
    // The identities file from the rendered example, keys filled in.
    let (key, secret) = ("AKRENDEREDWEED01", "rendered-weed-secret-0123456789");
    let identities = read(&deploy.join("seaweedfs-s3.example.json"))
        .replace("<admin-access-key-id>", key)
        .replace("<admin-secret-access-key>", secret);
    std::fs::write(work.join("s3.json"), identities).expect("s3.json");
    std::fs::create_dir(work.join("data")).expect("data dir");
    // The rendered command line, from the development compose file.
    let compose: serde_json::Value =
        serde_saphyr::from_str(&read(&deploy.join("docker-compose.seaweedfs.yml")))
            .expect("compose YAML");
    let command: Vec<String> = compose["services"]["seaweedfs"]["command"]
        .as_array()
        .expect("a command list")
        .iter()
        .filter_map(|a| a.as_str().map(str::to_string))
        .collect();
    assert_eq!(command.first().map(String::as_str), Some("server"));
    let s3_port = free_port();
    let mut args: Vec<String> = command
        .iter()
        .map(|arg| match arg.split_once('=') {
            Some(("-dir", _)) => format!("-dir={}", work.join("data").display()),
            Some(("-ip.bind", _)) => "-ip.bind=127.0.0.1".to_string(),
            Some(("-s3.config", _)) => format!("-s3.config={}", work.join("s3.json").display()),
            Some(("-s3.port", _)) => format!("-s3.port={s3_port}"),
            Some((flag, _)) if flag.ends_with(".port") => format!("{flag}={}", free_port()),
            _ => arg.clone(),
        })
        .collect();
    // Loopback only, and free ports for what the template leaves at defaults.
    args.push("-ip=127.0.0.1".to_string());
    for flag in ["master", "volume", "filer", "s3"] {
        args.push(format!("-{flag}.port.grpc={}", free_port()));
    }
    args.extend(["-s3.port.iceberg=0", "-s3.port.lance=0"].map(String::from));
    args.extend(["-master.volumeSizeLimitMB=64", "-volume.max=16"].map(String::from));
    let log = std::fs::File::create(work.join("weed.log")).expect("log");
    let _server = Server(
        Command::new(&weed)
            .args(&args)
            .current_dir(work)
            .stdout(log.try_clone().expect("log"))
            .stderr(log)
            .spawn()
            .expect("weed starts"),
    );
    let endpoint = Endpoint {
        name: "seaweedfs-rendered".to_string(),
        url: format!("http://127.0.0.1:{s3_port}"),
        region: "us-east-1".to_string(),
        access_key_id: key.to_string(),
        secret_access_key: secret.to_string(),
    };
    wait_for("weed S3", || {
        std::net::TcpStream::connect(("127.0.0.1", s3_port)).is_ok()
    });
    // The filer and volume server may still be joining: retry the first
    // bucket creation through the SDK until the cluster accepts writes.
    let s3 = s3_client(&endpoint);
    let started = Instant::now();
    while s3.list_buckets().send().await.is_err() {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "weed S3 never answered"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    serves_s3(&endpoint, "rendered-weed").await;
}
