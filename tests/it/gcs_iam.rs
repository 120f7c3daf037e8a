//! `check`'s IAM rows for GCS that no emulator serves (issue 24): the
//! app's project-wide binding, read from the project's IAM policy, and
//! `testIamPermissions` as the app's identity. A loopback stub stands in
//! for Google: it answers the token exchange, the bucket, the probe's
//! writes and these two calls from recorded answers, and records every
//! request, so the tests assert what was asked and the verdicts on what
//! came back. Request-shape only: nothing here shows what Google enforces.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

use crate::support::{Run, tempdir};

const APP: &str = "ct-app@ct-test.iam.gserviceaccount.com";

/// One request as the stub saw it.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    target: String,
    authorization: Option<String>,
    body: String,
}

/// What the stub answers to the two IAM calls.
#[derive(Clone)]
struct Answers {
    /// `projects.getIamPolicy`: status and body.
    project: (u16, String),
    /// `buckets.testIamPermissions` (the whole bucket), as JSON.
    whole_bucket: String,
}

/// The stub on a free loopback port: its `http://127.0.0.1:PORT` and the
/// requests it sees. It serves until the test ends (one thread).
fn stub(answers: Answers) -> (String, Arc<Mutex<Vec<Seen>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("a free port");
    let endpoint = format!("http://{}", listener.local_addr().expect("an address"));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = Arc::clone(&seen);
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(5)));
            let mut reader = BufReader::new(stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut parts = line.split_whitespace();
            let method = parts.next().unwrap_or("").to_owned();
            let target = parts.next().unwrap_or("").to_owned();
            let (mut length, mut authorization) = (0usize, None);
            loop {
                let mut header = String::new();
                if reader.read_line(&mut header).is_err() || header.trim().is_empty() {
                    break;
                }
                if let Some((name, value)) = header.split_once(':') {
                    match name.trim().to_ascii_lowercase().as_str() {
                        "content-length" => length = value.trim().parse().unwrap_or(0),
                        "authorization" => authorization = Some(value.trim().to_owned()),
                        _ => {}
                    }
                }
            }
            let mut body = vec![0; length];
            let _ = reader.read_exact(&mut body);
            let seen = Seen {
                method,
                target,
                authorization,
                body: String::from_utf8_lossy(&body).into_owned(),
            };
            let (status, answer) = answer_to(&seen, &answers);
            if let Ok(mut all) = record.lock() {
                all.push(seen);
            }
            let reply = format!(
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{answer}",
                answer.len()
            );
            let _ = reader.get_mut().write_all(reply.as_bytes());
        }
    });
    (endpoint, seen)
}

/// The recorded answer to `seen`.
fn answer_to(seen: &Seen, answers: &Answers) -> (u16, String) {
    let path = seen.target.split('?').next().unwrap_or("");
    match (seen.method.as_str(), path) {
        ("POST", "/token") => (
            200,
            r#"{"access_token":"stub-token","expires_in":3600,"token_type":"Bearer"}"#.into(),
        ),
        ("POST", "/v1/projects/ct-test:getIamPolicy") => answers.project.clone(),
        ("GET", p) if p.ends_with("/iam/testPermissions") && p.contains("/o/") => (
            200,
            r#"{"kind":"storage#testIamPermissionsResponse","permissions":["storage.objects.create","storage.objects.get","storage.objects.delete"]}"#.into(),
        ),
        ("GET", p) if p.ends_with("/iam/testPermissions") => (200, answers.whole_bucket.clone()),
        ("GET", p) if p.ends_with("/iam") => (404, "{}".into()),
        ("GET", p) if p.starts_with("/storage/v1/b/") && !p.contains("/o") => {
            (200, r#"{"name":"ct-iam","location":"EU"}"#.into())
        }
        ("POST", "/upload/storage/v1/b/ct-iam/o") => (200, r#"{"name":"x"}"#.into()),
        ("DELETE", _) => (204, String::new()),
        _ => (404, r#"{"error":{"code":404,"message":"not in the stub"}}"#.into()),
    }
}

/// A fresh RSA private key, PEM PKCS#8 (openssl).
pub fn new_rsa_pem() -> String {
    let made = std::process::Command::new("openssl")
        .args([
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
        ])
        .output()
        .expect("openssl");
    String::from_utf8(made.stdout).expect("PEM")
}

/// A service-account key of the app whose token endpoint is the stub.
fn key_file(dir: &std::path::Path, endpoint: &str) -> std::path::PathBuf {
    let key = serde_json::json!({
        "type": "service_account",
        "project_id": "ct-test",
        "private_key_id": "0",
        "private_key": new_rsa_pem(),
        "client_email": APP,
        "token_uri": format!("{endpoint}/token"),
    });
    let path = dir.join("app-key.json");
    std::fs::write(&path, key.to_string()).expect("written");
    path
}

/// `check` against the stub, the app's key given: (the JSON report, what
/// the stub saw).
fn check(answers: Answers) -> (serde_json::Value, Vec<Seen>) {
    let (endpoint, seen) = stub(answers);
    let dir = tempdir();
    let key = key_file(dir.path(), &endpoint);
    let text = format!(
        "project: p\nenvironments:\n  g:\n    storage: gcs\n    endpoint: {endpoint}\n    bucket: ct-iam\n    project: ct-test\n    iam: {{service_account: {APP}}}\n"
    );
    std::fs::write(dir.path().join("chronotrace-ops.yaml"), text).expect("write spec");
    let out = Run::new(dir.path())
        .env("GOOGLE_APPLICATION_CREDENTIALS", &key)
        .env("CHRONOTRACE_OPS_GCS_APP_CREDENTIALS", &key)
        .args(["--output", "json", "--timeout", "5", "-e", "g", "check"])
        .run();
    assert!(matches!(out.code, 0 | 1), "{out:?}");
    assert!(!out.stdout.contains("PRIVATE KEY"), "{}", out.stdout);
    let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
    (out.json(), seen)
}

fn row<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no {id}: {report:#}"))
}

/// The seed's binding: `roles/storage.objectAdmin` for the app on the
/// whole project. The policy is asked for at version 3 with the token;
/// the check fails and its hint is the bucket-level binding.
#[test]
fn the_seeds_project_wide_object_admin_fails_with_the_bucket_binding_as_hint() {
    let seed = serde_json::json!({"version": 1, "etag": "BwYx", "bindings": [
        {"role": "roles/owner", "members": ["user:ops@example.com"]},
        {"role": "roles/storage.objectAdmin", "members": [format!("serviceAccount:{APP}")]}
    ]});
    let (report, seen) = check(Answers {
        project: (200, seed.to_string()),
        whole_bucket: r#"{"kind":"storage#testIamPermissionsResponse"}"#.into(),
    });
    let asked: Vec<&Seen> = seen
        .iter()
        .filter(|s| s.target.starts_with("/v1/projects/"))
        .collect();
    assert_eq!(asked.len(), 1, "{seen:#?}");
    assert_eq!(asked[0].method, "POST");
    assert_eq!(asked[0].target, "/v1/projects/ct-test:getIamPolicy");
    assert_eq!(asked[0].authorization.as_deref(), Some("Bearer stub-token"));
    let body: serde_json::Value = serde_json::from_str(&asked[0].body).expect("JSON");
    assert_eq!(body["options"]["requestedPolicyVersion"], 3, "{body}");

    let verdict = row(&report, "gcs.project-binding");
    assert_eq!(verdict["status"], "fail", "{verdict:#}");
    let hint = verdict["hint"].as_str().unwrap_or("");
    for part in [
        "gcloud storage buckets add-iam-policy-binding gs://ct-iam",
        "--role=roles/storage.objectUser",
        "resource.name.startsWith(\"projects/_/buckets/ct-iam/objects/traces/\")",
        "gcloud projects remove-iam-policy-binding ct-test",
        "--role=roles/storage.objectAdmin",
    ] {
        assert!(hint.contains(part), "{part}: {hint}");
    }

    // As the app: allowed on an object under the prefix, nothing on the
    // whole bucket.
    let tested: Vec<&str> = seen
        .iter()
        .filter(|s| s.target.contains("/iam/testPermissions"))
        .map(|s| s.target.as_str())
        .collect();
    let permissions = "permissions=storage.objects.create&permissions=storage.objects.get&permissions=storage.objects.delete";
    assert_eq!(tested.len(), 2, "{tested:?}");
    assert!(
        tested[0].starts_with("/storage/v1/b/ct-iam/o/traces%2F_probe%2Fiam-")
            && tested[0].ends_with(&format!("/iam/testPermissions?{permissions}")),
        "{tested:?}"
    );
    assert_eq!(
        tested[1],
        format!("/storage/v1/b/ct-iam/iam/testPermissions?{permissions}")
    );
    assert_eq!(row(&report, "gcs.app-permissions")["status"], "pass");
    // The object tested was the tool's, written and deleted under the prefix.
    let deleted: Vec<&Seen> = seen.iter().filter(|s| s.method == "DELETE").collect();
    assert!(
        deleted
            .iter()
            .any(|s| s.target.contains("/o/traces%2F_probe%2Fiam-")),
        "{seen:#?}"
    );
}

/// A caller who may not read the project's policy (403) gets a note, not
/// a failure; an app that holds object permissions on the whole bucket
/// fails `gcs.app-permissions`.
#[test]
fn a_policy_the_caller_may_not_read_is_a_note_and_a_whole_bucket_grant_fails() {
    let (report, _) = check(Answers {
        project: (
            403,
            r#"{"error":{"code":403,"message":"The caller does not have permission","status":"PERMISSION_DENIED"}}"#.into(),
        ),
        whole_bucket: r#"{"permissions":["storage.objects.get","storage.objects.delete"]}"#.into(),
    });
    let verdict = row(&report, "gcs.project-binding");
    assert_eq!(verdict["status"], "skip", "{verdict:#}");
    assert!(
        verdict["message"]
            .as_str()
            .unwrap_or("")
            .contains("could not be read (The caller does not have permission)"),
        "{verdict:#}"
    );
    let app = row(&report, "gcs.app-permissions");
    assert_eq!(app["status"], "fail", "{app:#}");
}

/// gcloud's user credentials (`authorized_user`), as
/// `gcloud auth application-default login` writes them, with the stub as
/// their token endpoint.
fn user_credentials(endpoint: &str) -> String {
    serde_json::json!({
        "type": "authorized_user",
        "client_id": "ct-client.apps.googleusercontent.com",
        "client_secret": "ct-client-secret-never-shown",
        "refresh_token": "1//ct-refresh-never-shown",
        "token_uri": format!("{endpoint}/token"),
    })
    .to_string()
}

/// `check` in `dir` (its HOME) against the stub: the JSON report and what
/// the stub saw. `credentials` is the file GOOGLE_APPLICATION_CREDENTIALS
/// names, if any.
fn check_with(
    dir: &std::path::Path,
    endpoint: &str,
    credentials: Option<&std::path::Path>,
) -> crate::support::Outcome {
    let text = format!(
        "project: p\nenvironments:\n  g:\n    storage: gcs\n    endpoint: {endpoint}\n    bucket: ct-iam\n"
    );
    std::fs::write(dir.join("chronotrace-ops.yaml"), text).expect("write spec");
    let mut run = Run::new(dir);
    if let Some(path) = credentials {
        run = run.env("GOOGLE_APPLICATION_CREDENTIALS", path);
    }
    run.args(["--output", "json", "--timeout", "5", "-e", "g", "check"])
        .run()
}

/// Application Default Credentials beyond a key file: gcloud's user
/// credentials, named by GOOGLE_APPLICATION_CREDENTIALS or found in the
/// well-known file under HOME, are exchanged at their token_uri with the
/// refresh-token grant; neither secret is ever printed.
#[test]
fn gcloud_user_credentials_are_refreshed_at_their_token_uri() {
    for from_home in [false, true] {
        let (endpoint, seen) = stub(Answers {
            project: (404, "{}".into()),
            whole_bucket: "{}".into(),
        });
        let dir = tempdir();
        let path = if from_home {
            let folder = dir.path().join(".config/gcloud");
            std::fs::create_dir_all(&folder).expect("made");
            folder.join("application_default_credentials.json")
        } else {
            dir.path().join("adc.json")
        };
        std::fs::write(&path, user_credentials(&endpoint)).expect("written");
        let out = check_with(
            dir.path(),
            &endpoint,
            (!from_home).then_some(path.as_path()),
        );
        assert!(matches!(out.code, 0 | 1), "{out:?}");
        let report = out.json();
        let token = row(&report, "gcs.token");
        assert_eq!(token["status"], "pass", "{token:#}");
        assert!(
            token["message"]
                .as_str()
                .unwrap_or("")
                .contains("the gcloud user of"),
            "{token:#}"
        );
        let seen = seen.lock().map(|s| s.clone()).unwrap_or_default();
        let exchange = seen
            .iter()
            .find(|s| s.target == "/token")
            .unwrap_or_else(|| panic!("no token request: {seen:#?}"));
        for field in [
            "grant_type=refresh_token",
            "client_id=ct%2Dclient%2Eapps%2Egoogleusercontent%2Ecom",
            "refresh_token=1%2F%2Fct%2Drefresh%2Dnever%2Dshown",
        ] {
            assert!(exchange.body.contains(field), "{field}: {}", exchange.body);
        }
        // The bucket calls carry the token the stub granted.
        assert!(
            seen.iter()
                .filter(|s| s.target.starts_with("/storage/"))
                .all(|s| s.authorization.as_deref() == Some("Bearer stub-token")),
            "{seen:#?}"
        );
        for secret in ["ct-client-secret-never-shown", "ct-refresh-never-shown"] {
            assert!(
                !out.stdout.contains(secret) && !out.stderr.contains(secret),
                "{out:?}"
            );
        }
    }
}

/// Without GOOGLE_APPLICATION_CREDENTIALS and without gcloud's file, one
/// line says both were looked for (and nothing asks a metadata server: the
/// endpoint is the discard port, never reached).
#[test]
fn without_any_credentials_file_the_tool_names_both_places() {
    let dir = tempdir();
    check_with(dir.path(), "http://127.0.0.1:9", None)
        .code(2)
        .one_line_error("application_default_credentials.json was not found");
}
