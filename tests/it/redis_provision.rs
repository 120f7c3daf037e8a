//! The Redis store's `check` and provisioning (issue 13) against the
//! bench's real redis-server: the probe leaves nothing, a wrong password is
//! one failed check and one error line, and `apply` makes the app's ACL
//! user (fenced to the prefix and the index, its password written once to
//! a 0600 file and never printed) that `destroy` alone removes.

use crate::redis::{connect, namespace, redis_server, run, write_spec};
use crate::support::{Run, tempdir};

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn check_probes_under_the_prefix_and_leaves_nothing() {
    let dir = tempdir();
    let ns = namespace("check");
    write_spec(dir.path(), &ns);
    let out = run(dir.path(), &["--output", "json", "check"]).code(0);
    let checks = out.json()["checks"].clone();
    let status = |id: &str| {
        checks
            .as_array()
            .and_then(|a| a.iter().find(|c| c["id"] == id))
            .map(|c| c["status"].as_str().unwrap_or("").to_string())
            .unwrap_or_default()
    };
    assert_eq!(status("redis.connect"), "pass");
    assert_eq!(status("redis.probe"), "pass");
    assert_eq!(status("redis.eviction"), "pass");
    assert_eq!(
        status("redis.acl"),
        "warn",
        "the bench's default user reaches ~*"
    );
    let mut c = connect();
    let (_, keys): (u64, Vec<String>) = redis::cmd("SCAN")
        .arg(0)
        .arg("MATCH")
        .arg(format!("{ns}*"))
        .arg("COUNT")
        .arg(100_000)
        .query(&mut c)
        .expect("scan");
    assert!(keys.is_empty(), "the probe left {keys:?}");
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn a_wrong_password_is_one_failed_check_and_one_error_line() {
    let dir = tempdir();
    let ns = namespace("auth");
    write_spec(dir.path(), &ns);
    let canary = "CANARYredisPw7Xq2Zr9";
    let check = Run::new(dir.path())
        .env("REDIS_PASSWORD", canary)
        .args(["-e", "cache", "check"])
        .run()
        .code(1)
        .stdout_contains("redis.connect");
    assert!(!check.stdout.contains(canary) && !check.stderr.contains(canary));
    let verify = Run::new(dir.path())
        .env("REDIS_PASSWORD", canary)
        .args(["-e", "cache", "cleanup", "verify"])
        .run()
        .code(2)
        .one_line_error("authentication failed");
    assert!(!verify.stderr.contains(canary));
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn apply_makes_an_acl_user_fenced_to_the_prefix_and_destroy_removes_only_it() {
    let dir = tempdir();
    let ns = namespace("acl");
    write_spec(dir.path(), &ns);
    // The environment's name is `cache` on every test's spec: this test
    // uses its own spec name so its user is its own.
    let spec = std::fs::read_to_string(dir.path().join("chronotrace-ops.yaml")).expect("spec");
    let env = format!("acl{}", &ns[7..ns.len() - 1]);
    std::fs::write(
        dir.path().join("chronotrace-ops.yaml"),
        spec.replace("  cache:", &format!("  {env}:")),
    )
    .expect("spec");
    let (_, password) = redis_server();
    let tool = |args: &[&str]| {
        Run::new(dir.path())
            .env("REDIS_PASSWORD", &password)
            .args(["-e", env.as_str()])
            .args(args)
            .run()
    };
    let mut c = connect();
    let bystander = format!("{ns}bystander");
    let _: () = redis::cmd("ACL")
        .arg("SETUSER")
        .arg(&bystander)
        .arg("on")
        .query(&mut c)
        .expect("bystander");

    tool(&["plan", "--exit-code"])
        .code(1)
        .stdout_contains("redis.acl-user");
    let applied = tool(&["apply", "--yes", "--out", "creds"]).code(0);
    let file = dir.path().join(format!("creds/app-credentials.{env}.env"));
    let text = std::fs::read_to_string(&file).expect("credentials written");
    let secret = text
        .lines()
        .find_map(|l| l.strip_prefix("REDIS_PASSWORD="))
        .expect("a password");
    assert!(secret.len() >= 32);
    assert!(!applied.stdout.contains(secret) && !applied.stderr.contains(secret));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
    }
    tool(&["plan", "--exit-code"]).code(0);
    // A second apply changes nothing and keeps the file as it was.
    tool(&["apply", "--yes", "--out", "creds"]).code(0);
    assert_eq!(std::fs::read_to_string(&file).expect("again"), text);

    // The app's user reaches the traces and the index, nothing else.
    let (url, _) = redis_server();
    let info = redis::IntoConnectionInfo::into_connection_info(url.as_str()).expect("url");
    let settings = info
        .redis_settings()
        .clone()
        .set_username(format!("chronotrace-{env}"))
        .set_password(secret);
    let mut app = redis::Client::open(info.set_redis_settings(settings))
        .and_then(|c| c.get_connection())
        .expect("the app's user connects");
    let ok: redis::RedisResult<()> = redis::cmd("SET")
        .arg(format!("{ns}traces:t1"))
        .arg("x")
        .query(&mut app);
    assert!(ok.is_ok(), "{ok:?}");
    let denied: redis::RedisResult<()> = redis::cmd("SET")
        .arg(format!("{ns}other"))
        .arg("x")
        .query(&mut app);
    assert!(denied.is_err(), "a key outside the prefix was writable");
    let flush: redis::RedisResult<()> = redis::cmd("FLUSHALL").query(&mut app);
    assert!(flush.is_err(), "FLUSHALL was allowed");

    tool(&["destroy", "--yes"]).code(0);
    let users: Vec<String> = redis::cmd("ACL").arg("USERS").query(&mut c).expect("users");
    assert!(!users.contains(&format!("chronotrace-{env}")), "{users:?}");
    assert!(users.contains(&bystander), "destroy removed another user");
    let _: i64 = redis::cmd("ACL")
        .arg("DELUSER")
        .arg(&bystander)
        .query(&mut c)
        .expect("cleanup");
}
