//! Safe by default (issue 27): without a spec file the embedded starter
//! spec changes nothing but the local disk; the test clock is a test
//! build's only; the app's generated secrets stay out of the committed
//! `deploy/` folder.

use std::path::Path;

use crate::provision::iam_client;
use crate::servers::{s3_client, server};
use crate::support::{Outcome, Run, tempdir};

/// The starter spec's names (src/spec/starter.yaml), which the old code
/// created on `apply -e production`.
const STARTER_BUCKET: &str = "chronotrace-production";
const STARTER_ROLE: &str = "ChronoTraceRole";
const STARTER_POLICY: &str = "ChronoTraceS3Policy";
const STARTER_PROFILE: &str = "ChronoTraceProfile";

/// Asserts the embedded spec's refusal: exit 2, one error line naming it
/// and a hint to run `init`, nothing on stdout.
#[track_caller]
fn refused(out: Outcome, env: &str) -> Outcome {
    let out = out
        .code(2)
        .one_line_error(&format!(
            "environment '{env}' of the embedded starter spec is an example"
        ))
        .stderr_contains("nothing was done")
        .stderr_contains("hint: run `chronotrace-ops init`");
    assert!(
        !out.stderr.contains("note: "),
        "no note before the refusal:\n{}",
        out.stderr
    );
    out
}

/// Only the run's own files: nothing the tool made (no deploy/, no
/// .chronotrace-ops/, no storage/).
#[track_caller]
fn nothing_written(dir: &Path) {
    let left: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert!(left.is_empty(), "the refused run wrote {left:?}");
}

/// Every command that writes to a store, on each example environment of
/// the embedded spec: refused before any connection (the endpoint is a
/// dead port, so a run that got that far would fail differently).
#[test]
fn the_embedded_spec_refuses_every_write_outside_local() {
    let commands: [&[&str]; 7] = [
        &["apply", "--yes"],
        &["destroy", "--yes", "--empty"],
        &["cleanup", "purge", "--yes"],
        &["bootstrap", "--yes"],
        &["check"],
        &["report"],
        &["report", "--format", "html", "--out", "r.html"],
    ];
    for env in ["production", "staging"] {
        for command in commands {
            let dir = tempdir();
            let out = Run::new(dir.path())
                .args(["--endpoint-url", "http://127.0.0.1:9", "-e", env])
                .args(command)
                .env("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
                .env("AWS_SECRET_ACCESS_KEY", "secret-example")
                .run();
            refused(out, env);
            nothing_written(dir.path());
        }
    }
    // `--env all` checks every environment: the examples refuse it whole.
    let dir = tempdir();
    let out = Run::new(dir.path()).args(["-e", "all", "check"]).run();
    refused(out, "staging");
    // The environment from CHRONOTRACE_OPS_ENV is refused alike.
    let out = Run::new(dir.path())
        .env("CHRONOTRACE_OPS_ENV", "production")
        .args(["apply", "--yes"])
        .run();
    refused(out, "production");
    nothing_written(dir.path());
}

/// The README's first command, in an empty directory: the embedded spec's
/// `local` environment is provisioned, checked and reported.
#[test]
fn the_embedded_spec_still_bootstraps_local_in_an_empty_directory() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .args(["bootstrap", "--env", "local", "--yes"])
        .run()
        .code(0)
        .stderr_contains("using the embedded starter spec");
    assert!(out.stdout.contains("ready."), "{}", out.stdout);
    assert!(dir.path().join("storage/app/traces").is_dir());
    // And the read-only commands and a dry run, on the local disk.
    for command in [&["cleanup", "purge"][..], &["check"], &["report"]] {
        Run::new(dir.path()).args(command).run().code(0);
    }
}

/// The case: `apply -e production --yes` in an empty folder against
/// moto (the old code made the bucket, its settings and the IAM policy,
/// role and instance profile there) is exit 2 and moto holds none of them.
#[tokio::test]
#[ignore = "needs the bench: run scripts/test.sh"]
async fn an_empty_folder_provisions_nothing_on_moto() {
    let moto = server("moto");
    let dir = tempdir();
    let tool = |args: &[&str]| {
        Run::new(dir.path())
            .args(["--endpoint-url", moto.url.as_str(), "-e", "production"])
            .args(args)
            .env("AWS_ACCESS_KEY_ID", &moto.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &moto.secret_access_key)
            .run()
    };
    refused(tool(&["apply", "--yes"]), "production");
    refused(tool(&["bootstrap", "--yes"]), "production");
    nothing_written(dir.path());

    let s3 = s3_client(&moto);
    let buckets = s3.list_buckets().send().await.expect("list buckets");
    let names: Vec<&str> = buckets.buckets().iter().filter_map(|b| b.name()).collect();
    assert!(!names.contains(&STARTER_BUCKET), "{names:?}");
    let iam = iam_client(&moto);
    let roles = iam.list_roles().send().await.expect("list roles");
    assert!(
        !roles.roles().iter().any(|r| r.role_name() == STARTER_ROLE),
        "{:?}",
        roles.roles()
    );
    let policies = iam.list_policies().send().await.expect("list policies");
    assert!(
        !policies
            .policies()
            .iter()
            .any(|p| p.policy_name() == Some(STARTER_POLICY)),
        "{:?}",
        policies.policies()
    );
    let profiles = iam
        .list_instance_profiles()
        .send()
        .await
        .expect("list instance profiles");
    assert!(
        !profiles
            .instance_profiles()
            .iter()
            .any(|p| p.instance_profile_name() == STARTER_PROFILE),
        "{:?}",
        profiles.instance_profiles()
    );

    // Read-only still works on the example: the plan is shown, and it is
    // the server that moto is, so the refusal above was not a dead server.
    tool(&["plan"])
        .code(0)
        .stdout_contains("+ bucket")
        .stdout_contains(STARTER_BUCKET);
    assert!(
        !s3.list_buckets()
            .send()
            .await
            .expect("list buckets")
            .buckets()
            .iter()
            .any(|b| b.name() == Some(STARTER_BUCKET)),
        "plan made the bucket"
    );
}

/// The binary the integration tests run is a test build: it honours the
/// test clock (the snapshot tests depend on it). A release build ignores
/// it: `clock::tests` in the crate.
#[test]
fn the_test_binary_honours_the_test_clock() {
    let dir = tempdir();
    let out = Run::new(dir.path())
        .env("CHRONOTRACE_OPS_TEST_NOW", "2031-05-06T07:08:09Z")
        .args(["--output", "json", "report", "--no-checks"])
        .run()
        .code(0);
    assert_eq!(out.json()["generated_at"], "2031-05-06T07:08:09Z");
}

/// `apply` writes the app's generated secret to `.chronotrace-ops/` beside
/// the spec (0700, a `.gitignore` of `*`: git never takes it in), says
/// where, never what; `deploy/` gets none, and `render --check` passes.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn the_app_secret_goes_to_the_git_ignored_state_directory() {
    use std::os::unix::fs::PermissionsExt;
    let git = crate::support::tool("git");
    let root = tempdir();
    let ns = crate::redis::namespace("state");
    // The spec in a subfolder, given with --config: the state directory is
    // beside it, not in the working directory.
    let project = root.path().join("ops");
    std::fs::create_dir(&project).expect("project dir");
    crate::redis::write_spec(&project, &ns);
    let spec = std::fs::read_to_string(project.join("chronotrace-ops.yaml")).expect("spec");
    let env = format!(
        "st{}",
        ns.trim_start_matches("ct-state-").trim_end_matches(':')
    );
    std::fs::write(
        project.join("chronotrace-ops.yaml"),
        spec.replace("  cache:", &format!("  {env}:")),
    )
    .expect("spec");
    let (_, password) = crate::redis::redis_server();
    let tool = |args: &[&str]| {
        Run::new(root.path())
            .env("REDIS_PASSWORD", &password)
            .args(["--config", "ops/chronotrace-ops.yaml", "-e", env.as_str()])
            .args(args)
            .run()
    };
    tool(&["render", "--out", "ops/deploy"]).code(0);
    let applied = tool(&["apply", "--yes"]).code(0);
    let shown = format!("ops/.chronotrace-ops/app-credentials.{env}.env");
    assert!(
        applied.stdout.contains(&shown) || applied.stderr.contains(&shown),
        "apply says where the secret went ({shown}):\n{}\n{}",
        applied.stdout,
        applied.stderr
    );
    let state = project.join(".chronotrace-ops");
    let file = state.join(format!("app-credentials.{env}.env"));
    let text = std::fs::read_to_string(&file).expect("the credentials file");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
        .expect("a password");
    assert!(!applied.stdout.contains(secret) && !applied.stderr.contains(secret));
    let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
    assert_eq!(mode(&file), 0o600);
    assert_eq!(mode(&state), 0o700);
    assert_eq!(
        std::fs::read_to_string(state.join(".gitignore"))
            .expect(".gitignore")
            .lines()
            .filter(|l| !l.starts_with('#'))
            .collect::<Vec<_>>(),
        ["*"]
    );
    for place in [root.path().join("deploy"), project.join("deploy")] {
        assert!(
            !place.join(format!("app-credentials.{env}.env")).exists(),
            "a secret in {}",
            place.display()
        );
    }
    // The rendered files are as rendered: the secret is no drift.
    tool(&["render", "--out", "ops/deploy", "--check"]).code(0);
    // git, asked to take everything, takes no secret.
    let git_run = |args: &[&str]| {
        let out = std::process::Command::new(&git)
            .current_dir(root.path())
            .env("HOME", root.path())
            .env("GIT_CONFIG_NOSYSTEM", "1")
            .args(args)
            .output()
            .expect("git runs");
        assert!(out.status.success(), "git {args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    git_run(&["init", "-q"]);
    git_run(&["add", "-A"]);
    let staged = git_run(&["diff", "--cached", "--name-only"]);
    assert!(staged.contains("ops/chronotrace-ops.yaml"), "{staged}");
    assert!(
        !staged.contains(".chronotrace-ops"),
        "git took the secrets: {staged}"
    );
    // A second apply finds the user in place and leaves the file alone.
    tool(&["apply", "--yes"]).code(0);
    assert_eq!(std::fs::read_to_string(&file).expect("again"), text);
    tool(&["destroy", "--yes"]).code(0);
}
