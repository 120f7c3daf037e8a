//! Secrets never leak (issue 7, item 5): every command, with `-v`,
//! `--output json`, every report format and its error paths, against the
//! real Garage of the bench. Success paths sign with Garage's real secret;
//! error paths with a recognisable wrong one (and a canary session token).
//! Neither may appear in any stdout, stderr, report or rendered file.

use std::path::Path;

use crate::cleanup::{unique_bucket, write_s3_spec};
use crate::servers::{Endpoint, server};
use crate::support::{Outcome, Run, tempdir};

/// A wrong secret nobody could mistake for anything else.
const CANARY_SECRET: &str = "CANARYsecretXq7Zr2Vw9Lp4Kd8Nm3Ht6Yb1Jc5Fg0Sa";
/// A session token sent alongside the wrong secret.
const CANARY_TOKEN: &str = "CANARYtokenFh2Mx8Qw4Rz6Tv0Pk3Ly7Bn9Cd1Ej5Gs";

/// The variants every command runs in.
const VARIANTS: [&[&str]; 4] = [&[], &["-v"], &["-vv"], &["--output", "json"]];

/// Every command line of the product (after `-e staging` and a variant).
fn commands() -> Vec<Vec<&'static str>> {
    let lines: [&[&str]; 18] = [
        &["render", "--out", "deploy"],
        &["render", "--out", "deploy", "--check"],
        &["plan"],
        &["plan", "--exit-code"],
        &["apply", "--yes"],
        &["check"],
        &["cleanup", "verify"],
        &["cleanup", "purge"],
        &["cleanup", "purge", "--yes"],
        &["report"],
        &["report", "--format", "text", "--out", "r.txt"],
        &["report", "--format", "json", "--out", "r.json"],
        &["report", "--format", "markdown", "--out", "r.md"],
        &["report", "--format", "html", "--out", "r.html"],
        &["report", "--format", "markdown"],
        &["report", "--format", "html"],
        &["bootstrap", "--yes", "--out", "boot"],
        &["destroy", "--yes", "--empty"],
    ];
    lines.iter().map(|l| l.to_vec()).collect()
}

/// One run signed with `secret` (and `token`, when given).
fn run(dir: &Path, garage: &Endpoint, secret: &str, token: Option<&str>, args: &[&str]) -> Outcome {
    let mut run = Run::new(dir)
        .env("AWS_ACCESS_KEY_ID", &garage.access_key_id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .args(args);
    if let Some(token) = token {
        run = run.env("AWS_SESSION_TOKEN", token);
    }
    run.run()
}

/// Every file under `dir`, with its text (lossy: a secret is ASCII).
fn files(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read dir").flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let text =
                    String::from_utf8_lossy(&std::fs::read(&path).expect("read")).into_owned();
                out.push((path.display().to_string(), text));
            }
        }
    }
    out
}

/// Asserts no `secrets` in the run's output.
#[track_caller]
fn assert_clean(what: &str, out: &Outcome, secrets: &[&str]) {
    for secret in secrets {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{what}: a secret leaked\n--- stdout\n{}\n--- stderr\n{}",
            out.stdout,
            out.stderr
        );
    }
}

/// Asserts no `secrets` in any file under `dir`; returns how many files were read.
#[track_caller]
fn assert_files_clean(dir: &Path, secrets: &[&str]) -> usize {
    let all = files(dir);
    for (path, text) in &all {
        for secret in secrets {
            assert!(!text.contains(secret), "{path} holds a secret");
        }
    }
    all.len()
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn no_command_shows_the_secret_on_success_or_failure() {
    let garage = server("garage");
    let real = garage.secret_access_key.as_str();
    let secrets = [real, CANARY_SECRET, CANARY_TOKEN];
    let dir = tempdir();
    let init = run(dir.path(), &garage, real, None, &["init"]).code(0);
    assert_clean("init", &init, &secrets);
    let bucket = unique_bucket("secret");
    write_s3_spec(dir.path(), &garage, "s3-compatible", &bucket, false);

    let mut codes = Vec::new();
    // The wrong secret first (nothing exists yet), then the real one, then
    // the wrong one again against what the real one built.
    for (pass, (secret, token)) in [
        (CANARY_SECRET, Some(CANARY_TOKEN)),
        (real, None),
        (CANARY_SECRET, None),
    ]
    .into_iter()
    .enumerate()
    {
        for command in commands() {
            if pass == 2 && command[0] == "destroy" {
                continue;
            }
            for variant in VARIANTS {
                let mut args = vec!["-e", "staging"];
                args.extend_from_slice(variant);
                args.extend_from_slice(&command);
                let out = run(dir.path(), &garage, secret, token, &args);
                assert_clean(&format!("pass {pass}: {}", args.join(" ")), &out, &secrets);
                codes.push((
                    pass,
                    args.join(" "),
                    out.code,
                    out.stderr.lines().next().unwrap_or_default().to_string(),
                ));
            }
        }
        if pass == 1 {
            // The real secret built and tore down; build again so the wrong
            // secret meets an existing bucket too.
            run(
                dir.path(),
                &garage,
                real,
                None,
                &["-e", "staging", "apply", "--yes"],
            )
            .code(0);
        }
    }
    // The error paths were really taken (the wrong secret fails every
    // command that talks to the server: exit 2, or 1 for check's failed
    // checks), and the real one really succeeded.
    let wrong: Vec<_> = codes
        .iter()
        .filter(|(pass, line, code, _)| *pass != 1 && !line.contains("render") && *code == 0)
        .collect();
    assert!(wrong.is_empty(), "the wrong secret succeeded: {wrong:#?}");
    let failed: Vec<_> = codes
        .iter()
        .filter(|(pass, line, code, _)| *pass == 1 && *code == 2 && !line.contains("--check"))
        .collect();
    assert!(failed.is_empty(), "the real secret failed: {failed:#?}");
    for report in ["r.txt", "r.json", "r.md", "r.html"] {
        assert!(dir.path().join(report).is_file(), "{report} written");
    }
    let read = assert_files_clean(dir.path(), &secrets);
    assert!(read >= 10, "only {read} files were written");
    run(
        dir.path(),
        &garage,
        real,
        None,
        &["-e", "staging", "destroy", "--yes", "--empty"],
    )
    .code(0);
}

/// The app's new secret key (issue 12) appears in its credentials file and
/// nowhere else: not in any output of apply, rotation, plan, check, report
/// or destroy (every variant), on SeaweedFS and Garage, nor in any other
/// file they write.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn the_app_key_secret_is_only_in_its_credentials_file() {
    use crate::selfhosted_identity::{admin_run, app_key, unique_user, write_identity_spec};
    for (name, provider) in [("seaweedfs", "seaweedfs"), ("garage", "garage")] {
        let endpoint = server(name);
        let dir = tempdir();
        let (bucket, user) = (unique_bucket("appsecret"), unique_user("secret"));
        write_identity_spec(dir.path(), &endpoint, provider, &bucket, &user);
        if provider == "garage" {
            let admin = std::env::var("CT_TEST_GARAGE_ADMIN_ENDPOINT").expect("admin endpoint");
            let path = dir.path().join("chronotrace-ops.yaml");
            let spec = std::fs::read_to_string(&path).expect("spec");
            std::fs::write(path, format!("{spec}    admin_endpoint: {admin}\n")).expect("spec");
        }
        let file = dir
            .path()
            .join(".chronotrace-ops/app-credentials.staging.env");
        let mut outputs =
            vec![admin_run(dir.path(), &endpoint, &["-vv", "apply", "--yes"]).code(0)];
        let mut secrets = vec![app_key(&file).1];
        outputs.push(
            admin_run(
                dir.path(),
                &endpoint,
                &[
                    "apply",
                    "--yes",
                    "--rotate-app-key",
                    "-vv",
                    "--output",
                    "json",
                ],
            )
            .code(0),
        );
        secrets.push(app_key(&file).1);
        for variant in VARIANTS {
            for command in [
                &["plan"][..],
                &["check"],
                &["report", "--format", "html", "--out", "r.html"],
            ] {
                let mut args = variant.to_vec();
                args.extend_from_slice(command);
                outputs.push(admin_run(dir.path(), &endpoint, &args));
            }
        }
        let saved = std::fs::read_to_string(&file).expect("the credentials file");
        std::fs::remove_file(&file).expect("set the file aside");
        let secret_refs: Vec<&str> = secrets.iter().map(String::as_str).collect();
        assert_files_clean(dir.path(), &secret_refs);
        std::fs::write(&file, saved).expect("the file back");
        outputs.push(
            admin_run(
                dir.path(),
                &endpoint,
                &["-vv", "destroy", "--yes", "--empty"],
            )
            .code(0),
        );
        for out in &outputs {
            assert_clean(&format!("{name}: app key"), out, &secret_refs);
        }
    }
}

/// Every command on a Redis environment (after `-e cache` and a variant).
const REDIS_COMMANDS: [&[&str]; 13] = [
    &["render", "--out", "deploy"],
    &["plan"],
    &["apply", "--yes", "--out", "creds"],
    &["check"],
    &["cleanup", "verify"],
    &["cleanup", "purge"],
    &["cleanup", "purge", "--yes"],
    &["report"],
    &["report", "--format", "json", "--out", "r.json"],
    &["report", "--format", "markdown", "--out", "r.md"],
    &["report", "--format", "html", "--out", "r.html"],
    &["plan", "--exit-code"],
    &["destroy", "--yes"],
];

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn no_redis_command_shows_the_password() {
    let (_, real) = crate::redis::redis_server();
    let secrets = [real.as_str(), CANARY_SECRET];
    let dir = tempdir();
    let ns = crate::redis::namespace("secret");
    crate::redis::write_spec(dir.path(), &ns);
    // A user left by an earlier run would make apply a no-op.
    let _: i64 = ::redis::cmd("ACL")
        .arg("DELUSER")
        .arg("chronotrace-cache")
        .query(&mut crate::redis::connect())
        .expect("deluser");
    let mut outputs = Vec::new();
    // The wrong password, the real one, the wrong one again.
    for (pass, password) in [CANARY_SECRET, real.as_str(), CANARY_SECRET]
        .into_iter()
        .enumerate()
    {
        for command in REDIS_COMMANDS {
            for variant in VARIANTS {
                let mut args = vec!["-e", "cache"];
                args.extend_from_slice(variant);
                args.extend_from_slice(command);
                let out = Run::new(dir.path())
                    .env("REDIS_PASSWORD", password)
                    .args(&args)
                    .run();
                let line = format!("pass {pass}: {}", args.join(" "));
                assert_clean(&line, &out, &secrets);
                let talks = !command.contains(&"render");
                assert!(
                    !(pass != 1 && talks && out.code == 0),
                    "{line}: the wrong password succeeded"
                );
                assert!(!(pass == 1 && out.code == 2), "{line}: {}", out.stderr);
                outputs.push(out);
            }
        }
    }
    // The app's own password, written to its file, is never printed either.
    let creds = std::fs::read_to_string(dir.path().join("creds/app-credentials.cache.env"))
        .expect("apply wrote the app's credentials");
    let app = creds
        .lines()
        .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
        .expect("app password");
    for out in &outputs {
        assert_clean("the app's password", out, &[app]);
    }
    let read = assert_files_clean(dir.path(), &secrets);
    assert!(read >= 5, "only {read} files were written");
}

/// The database store (issue 13): no command shows the admin's password
/// (right or wrong) nor the app's generated one, in any output or file
/// (the app's own credentials file aside), against the bench's PostgreSQL.
#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn no_database_command_shows_a_password() {
    const CANARY: &str = "CANARYdbPasswordQ7w2Zr9Lp4";
    let dir = tempdir();
    let db = crate::sql_support::database("postgres", dir.path());
    let real = db.password.clone();
    let table = crate::sql_support::unique_table("secret");
    db.write_spec(dir.path(), &table);
    let mut app_password = String::new();
    for (pass, password) in [CANARY, real.as_str(), CANARY].into_iter().enumerate() {
        for command in commands() {
            for variant in VARIANTS {
                let mut args = vec!["-e", "ci"];
                args.extend_from_slice(variant);
                args.extend_from_slice(&command);
                let out = Run::new(dir.path())
                    .env("DB_PASSWORD", password)
                    .args(&args)
                    .run();
                let mut secrets = vec![real.as_str(), CANARY];
                if !app_password.is_empty() {
                    secrets.push(&app_password);
                }
                assert_clean(&format!("pass {pass}: {}", args.join(" ")), &out, &secrets);
                if pass != 1 && !args.contains(&"render") {
                    assert_ne!(out.code, 0, "the wrong password succeeded: {args:?}");
                }
            }
            if app_password.is_empty() {
                app_password = credentials_password(dir.path());
            }
        }
    }
    assert!(
        !app_password.is_empty(),
        "apply wrote the app's credentials"
    );
    for (path, text) in files(dir.path()) {
        assert!(
            !text.contains(&real) && !text.contains(CANARY),
            "{path} holds a password"
        );
        if !path.contains("app-credentials.") {
            assert!(
                !text.contains(&app_password),
                "{path} holds the app's password"
            );
        }
    }
    let _ = Run::new(dir.path())
        .env("DB_PASSWORD", &real)
        .args(["-e", "ci", "destroy", "--yes", "--empty"])
        .run();
}

/// The app's password from any credentials file under `dir` (empty: none yet).
fn credentials_password(dir: &Path) -> String {
    files(dir)
        .into_iter()
        .filter(|(path, _)| path.contains("app-credentials."))
        .flat_map(|(_, text)| {
            text.lines()
                .filter_map(|l| l.strip_prefix("DB_PASSWORD=").map(str::to_string))
                .collect::<Vec<_>>()
        })
        .next()
        .unwrap_or_default()
}
