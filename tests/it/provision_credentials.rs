//! Where the credentials come from besides `AWS_ACCESS_KEY_ID` (issue 28:
//! the AWS crates are built without their default features, so these
//! prove the providers the tool keeps still resolve, through the tool's own
//! HTTP client where they call out): a named profile's keys, a profile's
//! `credential_process`, and STS web identity (moto's
//! AssumeRoleWithWebIdentity). Each run has no other source: `Run` clears
//! every `AWS_*` variable and points the shared files at absent paths.

use std::path::Path;

use super::{spec, unique};
use crate::servers::server;
use crate::support::{Run, tempdir};

/// `plan` on the spec's `ci` environment; exit 0 means the credentials
/// resolved and moto answered the calls signed with them.
fn plan(dir: &Path) -> Run {
    Run::new(dir).args(["-e", "ci", "plan"])
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_named_profiles_keys_are_used() {
    let moto = server("moto");
    let dir = tempdir();
    spec(dir.path(), &moto, "aws", &unique("profile"), "");
    let credentials = dir.path().join("aws-credentials");
    std::fs::write(
        &credentials,
        format!(
            "[ct-test]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            moto.access_key_id, moto.secret_access_key
        ),
    )
    .expect("credentials file written");
    plan(dir.path())
        .args(["--profile", "ct-test"])
        .env("AWS_SHARED_CREDENTIALS_FILE", &credentials)
        .run()
        .code(0);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_profiles_credential_process_is_run() {
    let moto = server("moto");
    let dir = tempdir();
    spec(dir.path(), &moto, "aws", &unique("process"), "");
    let script = dir.path().join("credentials.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nprintf '%s' '{{\"Version\": 1, \"AccessKeyId\": \"{}\", \"SecretAccessKey\": \"{}\"}}'\n",
            moto.access_key_id, moto.secret_access_key
        ),
    )
    .expect("script written");
    make_executable(&script);
    let config = dir.path().join("aws-config");
    std::fs::write(
        &config,
        format!(
            "[profile ct-process]\ncredential_process = {}\n",
            script.display()
        ),
    )
    .expect("config file written");
    plan(dir.path())
        .env("AWS_PROFILE", "ct-process")
        .env("AWS_CONFIG_FILE", &config)
        .run()
        .code(0);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn web_identity_is_exchanged_at_sts() {
    let moto = server("moto");
    let dir = tempdir();
    spec(dir.path(), &moto, "aws", &unique("webid"), "");
    let token = dir.path().join("token");
    std::fs::write(&token, "a-web-identity-token").expect("token written");
    plan(dir.path())
        .env("AWS_WEB_IDENTITY_TOKEN_FILE", &token)
        .env(
            "AWS_ROLE_ARN",
            "arn:aws:iam::123456789012:role/ct-web-identity",
        )
        .env("AWS_ROLE_SESSION_NAME", "chronotrace-ops-test")
        // The provider's own STS client finds moto through the SDK's
        // service endpoint variable.
        .env("AWS_ENDPOINT_URL_STS", &moto.url)
        .run()
        .code(0);
}

fn make_executable(path: &Path) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755))
        .expect("script made executable");
}
