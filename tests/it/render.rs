//! `render`: every artifact, validated by the real tools (nginx -t,
//! docker-compose config), parsed back and compared with the spec, and
//! snapshotted.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};

use crate::support::{Run, tempdir, tool};

/// Renders the starter spec into `dir/deploy`.
fn render_starter(dir: &Path) {
    Run::new(dir).args(["init"]).run().code(0);
    Run::new(dir)
        .args(["render", "--out", "deploy"])
        .run()
        .code(0);
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&read(path)).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

#[test]
fn every_artifact_is_rendered_and_snapshotted() {
    let dir = tempdir();
    render_starter(dir.path());
    let deploy = dir.path().join("deploy");
    let expected = [
        "docker-compose.yml",
        "docker-compose.production.yml",
        "nginx.conf",
        "lifecycle-policy.staging.json",
        "lifecycle-policy.production.json",
        "iam-policy.staging.json",
        "iam-policy.production.json",
        "trust-policy.production.json",
        ".env.local",
        ".env.staging",
        ".env.production",
        "minio.env.example",
    ];
    for name in expected {
        let contents = read(&deploy.join(name));
        insta::assert_snapshot!(name.trim_start_matches('.'), contents);
    }
    // No lifecycle or IAM file for the local disk, no trust policy without `iam`.
    assert!(!deploy.join("lifecycle-policy.local.json").exists());
    assert!(!deploy.join("trust-policy.staging.json").exists());
}

#[test]
fn files_that_may_hold_secrets_are_0600() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir();
    render_starter(dir.path());
    let mode = |name: &str| {
        std::fs::metadata(dir.path().join("deploy").join(name))
            .expect("rendered")
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode(".env.production"), 0o600);
    assert_eq!(mode("minio.env.example"), 0o600);
    assert_eq!(mode("nginx.conf"), 0o644);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn nginx_accepts_the_rendered_config() {
    let dir = tempdir();
    render_starter(dir.path());
    assert_nginx_accepts(dir.path(), &dir.path().join("deploy/nginx.conf"));
}

/// Runs `nginx -t` on a copy of the rendered `conf` made testable in
/// `work`: nginx -t resolves upstream names, so the copy points them at
/// loopback, and the certificate paths at a fresh self-signed pair.
pub fn assert_nginx_accepts(work: &Path, conf: &Path) {
    let nginx = tool("nginx");
    let openssl = tool("openssl");
    let status = Command::new(openssl)
        .args([
            "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        ])
        .args([
            "-subj",
            "/CN=minio.example.com",
            "-keyout",
            "key.pem",
            "-out",
            "cert.pem",
        ])
        .current_dir(work)
        .output()
        .expect("openssl runs");
    assert!(
        status.status.success(),
        "{}",
        String::from_utf8_lossy(&status.stderr)
    );
    let conf = read(conf);
    let mut copy = String::new();
    for line in conf.lines() {
        let trimmed = line.trim();
        let upstream = trimmed
            .strip_prefix("server ")
            .filter(|rest| rest.ends_with(';') && rest.contains(':'));
        let line = match (upstream, trimmed.split_once(' ')) {
            (Some(rest), _) => format!(
                "        server 127.0.0.1:{}",
                rest.split_once(':').map_or("9000;", |(_, p)| p)
            ),
            (None, Some(("ssl_certificate", _))) => format!(
                "        ssl_certificate {};",
                work.join("cert.pem").display()
            ),
            (None, Some(("ssl_certificate_key", _))) => format!(
                "        ssl_certificate_key {};",
                work.join("key.pem").display()
            ),
            _ => line.to_string(),
        };
        copy.push_str(&line);
        copy.push('\n');
    }
    let conf_path = work.join("nginx-test.conf");
    std::fs::write(&conf_path, copy).expect("write copy");
    let globals = format!(
        "pid {0}/nginx.pid; error_log {0}/error.log;",
        work.display()
    );
    let out = Command::new(nginx)
        .arg("-t")
        .arg("-p")
        .arg(work)
        .arg("-c")
        .arg(&conf_path)
        .args(["-g", &globals])
        .output()
        .expect("nginx runs");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "nginx -t failed:\n{stderr}");
    assert!(stderr.contains("test is successful"), "{stderr}");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn docker_compose_accepts_both_compose_files() {
    let dir = tempdir();
    render_starter(dir.path());
    assert_compose_accepts(
        &dir.path().join("deploy"),
        &["docker-compose.yml", "docker-compose.production.yml"],
    );
}

/// `docker-compose config` accepts each of `files` in `deploy`.
pub fn assert_compose_accepts(deploy: &Path, files: &[&str]) {
    let compose = tool("docker-compose");
    for file in files {
        let out = Command::new(&compose)
            .args(["-f", file, "config", "-q"])
            .current_dir(deploy)
            .output()
            .expect("docker-compose runs");
        assert!(
            out.status.success(),
            "docker-compose config {file}:\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// Every `image:` of a compose file is pinned (a tag, never `latest`).
pub fn assert_images_pinned(file: &str, text: &str) {
    for image in text
        .lines()
        .filter(|l| l.trim_start().starts_with("image:"))
    {
        assert!(
            !image.ends_with(":latest") && image.contains(':'),
            "{file}: unpinned {image}"
        );
    }
}

#[test]
fn compose_files_keep_the_rules_the_seed_broke() {
    let dir = tempdir();
    render_starter(dir.path());
    for file in ["docker-compose.yml", "docker-compose.production.yml"] {
        let text = read(&dir.path().join("deploy").join(file));
        assert_images_pinned(file, &text);
        assert!(!text.contains("\"curl\""), "{file} healthcheck needs curl");
        assert!(
            text.contains("[\"CMD\", \"mc\", \"ready\", \"local\"]"),
            "{file}: no mc healthcheck"
        );
        assert!(
            text.contains("MINIO_ROOT_PASSWORD_FILE"),
            "{file} has no secret file"
        );
        assert!(
            !text.contains("MINIO_ROOT_PASSWORD:"),
            "{file} has a literal password"
        );
    }
    let production = read(&dir.path().join("deploy/docker-compose.production.yml"));
    assert!(
        production.contains("http://minio{1...4}/data{1...2}"),
        "{production}"
    );
    for node in 1..=4 {
        assert!(
            production.contains(&format!("  minio{node}:\n")),
            "minio{node} missing"
        );
    }
    let nginx = read(&dir.path().join("deploy/nginx.conf"));
    for required in [
        "proxy_set_header Host $http_host;",
        "client_max_body_size 0;",
        "proxy_buffering off;",
        "proxy_request_buffering off;",
        "proxy_set_header Connection \"\";",
        "proxy_set_header Upgrade $http_upgrade;",
        "ssl_protocols TLSv1.2 TLSv1.3;",
        "max-age=63072000\" always",
        "return 444;",
        "return 301 https://",
        "server minio4:9000;",
    ] {
        assert!(nginx.contains(required), "nginx.conf lacks {required}");
    }
    assert!(!nginx.contains("Host $host;"));
}

#[test]
fn json_artifacts_match_the_spec() {
    let dir = tempdir();
    render_starter(dir.path());
    let deploy = dir.path().join("deploy");

    let lifecycle = read_json(&deploy.join("lifecycle-policy.production.json"));
    assert_eq!(
        lifecycle,
        json!({"Rules": [{
            "ID": "chronotrace-ops:production:retention",
            "Status": "Enabled",
            "Filter": {"Prefix": "production/traces/"},
            "Transitions": [
                {"Days": 30, "StorageClass": "STANDARD_IA"},
                {"Days": 60, "StorageClass": "GLACIER"}
            ],
            "Expiration": {"Days": 150},
            "NoncurrentVersionExpiration": {"NoncurrentDays": 7},
            "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": 7}
        }]})
    );
    let staging = read_json(&deploy.join("lifecycle-policy.staging.json"));
    assert_eq!(staging["Rules"][0]["Filter"]["Prefix"], "staging/traces/");
    assert_eq!(staging["Rules"][0]["Expiration"]["Days"], 30);
    assert!(
        staging["Rules"][0]
            .get("NoncurrentVersionExpiration")
            .is_none()
    );
    assert!(staging["Rules"][0].get("Transitions").is_none());

    let iam = read_json(&deploy.join("iam-policy.production.json"));
    let statements = iam["Statement"].as_array().expect("statements");
    assert_eq!(statements[0]["Action"], "s3:ListBucket");
    assert_eq!(
        statements[0]["Resource"],
        "arn:aws:s3:::chronotrace-production"
    );
    assert_eq!(
        statements[0]["Condition"]["StringLike"]["s3:prefix"],
        json!(["production/traces/", "production/traces/*"])
    );
    assert_eq!(
        statements[1]["Resource"],
        "arn:aws:s3:::chronotrace-production/production/traces/*"
    );
    let text = iam.to_string();
    assert!(
        !text.contains("\"*\"") && !text.contains("s3:*"),
        "wildcard grant in {text}"
    );

    let trust = read_json(&deploy.join("trust-policy.production.json"));
    assert_eq!(
        trust["Statement"][0]["Principal"],
        json!({"Service": "ec2.amazonaws.com"})
    );
    assert_eq!(trust["Statement"][0]["Action"], "sts:AssumeRole");
}

#[test]
fn dotenv_files_carry_the_package_settings_and_no_secret() {
    let dir = tempdir();
    render_starter(dir.path());
    let staging = read(&dir.path().join("deploy/.env.staging"));
    for line in [
        "CHRONOTRACE_STORAGE=s3",
        "CHRONOTRACE_S3_BUCKET=chronotrace-staging",
        "CHRONOTRACE_S3_ENDPOINT=https://minio-staging.example.com",
        "CHRONOTRACE_S3_PREFIX=staging/traces",
        "CHRONOTRACE_RETENTION_DAYS=30",
    ] {
        assert!(
            staging.lines().any(|l| l == line),
            "{line} missing from\n{staging}"
        );
    }
    for file in [
        ".env.local",
        ".env.staging",
        ".env.production",
        "minio.env.example",
    ] {
        let text = read(&dir.path().join("deploy").join(file));
        for line in text.lines().filter(|l| !l.starts_with('#')) {
            if let Some((key, value)) = line.split_once('=')
                && (key.contains("SECRET") || key.contains("PASSWORD") || key.ends_with("KEY_ID"))
            {
                assert!(value.is_empty() || value.starts_with('<'), "{file}: {line}");
            }
        }
    }
}

#[test]
fn check_reports_drifted_and_missing_files_with_exit_1() {
    let dir = tempdir();
    render_starter(dir.path());
    let clean = Run::new(dir.path())
        .args(["render", "--out", "deploy", "--check"])
        .run()
        .code(0);
    assert!(clean.stdout.contains("unchanged"), "{}", clean.stdout);

    std::fs::write(dir.path().join("deploy/nginx.conf"), "edited by hand\n").expect("edit");
    std::fs::remove_file(dir.path().join("deploy/iam-policy.staging.json")).expect("remove");
    let out = Run::new(dir.path())
        .args(["--output", "json", "render", "--out", "deploy", "--check"])
        .run()
        .code(1)
        .stderr_is_empty();
    let report: Value = serde_json::from_str(&out.stdout).expect("json");
    assert_eq!(report["ok"], false);
    let status_of = |name: &str| {
        report["files"]
            .as_array()
            .and_then(|files| {
                files
                    .iter()
                    .find(|f| f["path"].as_str().is_some_and(|p| p.ends_with(name)))
            })
            .map(|f| f["status"].clone())
    };
    assert_eq!(status_of("nginx.conf"), Some(json!("drifted")));
    assert_eq!(status_of("iam-policy.staging.json"), Some(json!("missing")));
    assert_eq!(status_of("docker-compose.yml"), Some(json!("unchanged")));
    // --check wrote nothing.
    assert_eq!(
        read(&dir.path().join("deploy/nginx.conf")),
        "edited by hand\n"
    );
}

#[test]
fn an_edited_env_file_is_not_overwritten_without_force() {
    let dir = tempdir();
    render_starter(dir.path());
    let env_file = dir.path().join("deploy/.env.staging");
    std::fs::write(&env_file, "AWS_SECRET_ACCESS_KEY=hand-added\n").expect("edit");
    std::fs::remove_file(dir.path().join("deploy/nginx.conf")).expect("remove");
    let out = Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(2)
        .one_line_error(".env.staging");
    assert!(out.stderr.contains(".env.staging"), "{}", out.stderr);
    assert!(out.stderr.contains("--force"), "{}", out.stderr);
    // Nothing half-done: the refusal came before any write.
    assert!(!dir.path().join("deploy/nginx.conf").exists());
    assert_eq!(read(&env_file), "AWS_SECRET_ACCESS_KEY=hand-added\n");

    Run::new(dir.path())
        .args(["render", "--out", "deploy", "--force"])
        .run()
        .code(0);
    assert!(read(&env_file).contains("CHRONOTRACE_S3_BUCKET"));
}

/// Every file under `dir` with its contents and mode.
fn snapshot_dir(dir: &Path) -> Vec<(String, String, u32)> {
    use std::os::unix::fs::PermissionsExt;
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|entry| {
            let entry = entry.expect("entry");
            let mode = entry.metadata().expect("metadata").permissions().mode() & 0o777;
            let name = entry.file_name().to_string_lossy().into_owned();
            (name, read(&entry.path()), mode)
        })
        .collect();
    files.sort();
    files
}

#[test]
fn a_render_killed_part_way_leaves_the_previous_files_intact() {
    let dir = tempdir();
    render_starter(dir.path());
    let deploy = dir.path().join("deploy");
    let before = snapshot_dir(&deploy);

    // A new project name and domain change the compose files, nginx.conf
    // and the .env files (--force lets those be replaced too).
    let spec_path = dir.path().join("chronotrace-ops.yaml");
    let spec = read(&spec_path)
        .replace("project: chronotrace", "project: renamed")
        .replace("domain: minio.example.com", "domain: s3.renamed.example");
    std::fs::write(&spec_path, spec).expect("edit spec");

    // A 3 KiB file-size limit: the kernel kills the process (SIGXFSZ) while
    // it writes nginx.conf, after the smaller compose files were written.
    let killed = Run::after_shell(dir.path(), "ulimit -f 3")
        .args(["render", "--out", "deploy", "--force"])
        .run();
    assert_eq!(killed.code, -1, "killed by a signal: {killed:?}");
    let after_kill: Vec<_> = snapshot_dir(&deploy)
        .into_iter()
        .filter(|(name, _, _)| !name.contains(".tmp-"))
        .collect();
    assert_eq!(after_kill, before, "no file changed, none half-written");

    // The next run completes and sweeps the killed run's temporary file.
    Run::new(dir.path())
        .args(["render", "--out", "deploy", "--force"])
        .run()
        .code(0);
    let after = snapshot_dir(&deploy);
    assert!(
        after.iter().all(|(name, _, _)| !name.contains(".tmp-")),
        "{after:?}"
    );
    assert!(read(&deploy.join("nginx.conf")).contains("s3.renamed.example"));
    assert_eq!(
        after.iter().map(|(n, _, m)| (n, m)).collect::<Vec<_>>(),
        before.iter().map(|(n, _, m)| (n, m)).collect::<Vec<_>>(),
        "same files, same modes"
    );
}

#[test]
fn templates_can_be_overridden_by_name() {
    let dir = tempdir();
    Run::new(dir.path()).args(["init"]).run().code(0);
    std::fs::create_dir(dir.path().join("mine")).expect("mkdir");
    std::fs::write(
        dir.path().join("mine/trust-policy.json.tera"),
        "{\"custom\": {{ service | json_encode() }}}\n",
    )
    .expect("write");
    Run::new(dir.path())
        .args(["render", "--out", "deploy", "--templates", "mine"])
        .run()
        .code(0);
    assert_eq!(
        read(&dir.path().join("deploy/trust-policy.production.json")),
        "{\"custom\": \"ec2.amazonaws.com\"}\n"
    );
    // The others still come from the embedded set.
    assert!(read(&dir.path().join("deploy/nginx.conf")).contains("minio_api"));
}

#[test]
fn a_broken_template_is_a_one_line_error() {
    let dir = tempdir();
    std::fs::create_dir(dir.path().join("mine")).expect("mkdir");
    std::fs::write(dir.path().join("mine/nginx.conf.tera"), "{% if %}\n").expect("write");
    let out = Run::new(dir.path())
        .args(["render", "--out", "deploy", "--templates", "mine"])
        .run()
        .code(2)
        .one_line_error("nginx.conf.tera");
    assert!(out.stderr.contains("nginx.conf.tera"), "{}", out.stderr);
    assert_eq!(
        out.stderr
            .lines()
            .filter(|l| l.starts_with("error:"))
            .count(),
        1,
        "{}",
        out.stderr
    );
    assert!(!dir.path().join("deploy").exists());
}

#[test]
fn single_node_minio_renders_one_service() {
    let dir = tempdir();
    let spec = "project: demo\nenvironments:\n  dev:\n    storage: s3\n    provider: minio\n    endpoint: http://127.0.0.1:9000\n    bucket: demo-traces\nminio:\n  mode: single\n  domain: s3.demo.test\n  tls: { certificate: /etc/ssl/demo.crt, key: /etc/ssl/demo.key }\n";
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), spec).expect("write");
    Run::new(dir.path())
        .args(["render", "--out", "deploy"])
        .run()
        .code(0);
    let production = read(&dir.path().join("deploy/docker-compose.production.yml"));
    assert!(production.contains("  minio:\n"), "{production}");
    assert!(
        production.contains("--console-address \":9001\" /data\n"),
        "{production}"
    );
    assert!(
        production.contains("/etc/ssl/demo.crt:/etc/nginx/ssl/minio.crt:ro"),
        "{production}"
    );
    let nginx = read(&dir.path().join("deploy/nginx.conf"));
    assert!(
        nginx.contains("server minio:9000;") && nginx.contains("server_name s3.demo.test;"),
        "{nginx}"
    );
    // The default prefix is the package's own: `traces`.
    let lifecycle = read_json(&dir.path().join("deploy/lifecycle-policy.dev.json"));
    assert_eq!(lifecycle["Rules"][0]["Filter"]["Prefix"], "traces/");
}
