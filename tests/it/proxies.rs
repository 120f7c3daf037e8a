//! Issue 28: `HTTPS_PROXY` / `HTTP_PROXY` / `NO_PROXY` (and lowercase) are
//! honoured by the tool's HTTP clients and `check`'s probes, proven through
//! a real proxy on loopback (`connect_proxy`) that counts what it carried:
//! plain http to moto is forwarded, https (nginx with a test CA in front
//! of moto) is tunnelled with CONNECT, and `NO_PROXY` bypasses the proxy.

use serde_json::Value;
use time::Duration;

use crate::aws_variables::{run_on_e, spec};
use crate::check::tls_proxy::{Proxy, TestCa};
use crate::connect_proxy::ConnectProxy;
use crate::servers::server;
use crate::support::{tempdir, tool};

/// The message of check `id`, asserted to have `status`.
#[track_caller]
fn message(report: &Value, id: &str, status: &str) -> String {
    let found = report["checks"]
        .as_array()
        .and_then(|checks| checks.iter().find(|c| c["id"] == id))
        .unwrap_or_else(|| panic!("no check {id} in {report}"));
    assert_eq!(found["status"], status, "{id}: {found}");
    found["message"].as_str().unwrap_or_default().to_string()
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn issue_28_plain_http_goes_through_http_proxy_unless_no_proxy_says_otherwise() {
    let moto = server("moto");
    let proxy = ConnectProxy::start();
    let dir = tempdir();
    spec(dir.path(), &moto.url, &moto.region);
    let through = [("HTTP_PROXY", proxy.url())];
    let vars: Vec<(&str, &str)> = through.iter().map(|(n, v)| (*n, v.as_str())).collect();
    run_on_e(dir.path(), &moto, &["plan"], &vars).code(0);
    let after_plan = proxy.forwarded();
    assert!(after_plan > 0, "plan sent nothing through the proxy");

    let out = run_on_e(dir.path(), &moto, &["check", "--output", "json"], &vars);
    let report = out.json();
    let shown = format!("through the proxy {}", proxy.url());
    for id in ["network.dns", "network.tcp"] {
        let said = message(&report, id, "pass");
        assert!(said.contains(&shown), "{id}: {said}");
    }
    message(&report, "identity", "pass");
    assert!(proxy.forwarded() > after_plan);

    // NO_PROXY (lowercase, as curl also reads it) bypasses it.
    let before = proxy.forwarded();
    let mut bypass = vars.clone();
    bypass.push(("no_proxy", "127.0.0.1"));
    let out = run_on_e(dir.path(), &moto, &["check", "--output", "json"], &bypass);
    let said = message(&out.json(), "network.tcp", "pass");
    assert!(!said.contains("proxy"), "{said}");
    run_on_e(dir.path(), &moto, &["plan"], &bypass).code(0);
    assert_eq!(
        proxy.forwarded(),
        before,
        "NO_PROXY did not bypass the proxy"
    );
    assert_eq!(proxy.tunnels(), 0);
}

#[test]
#[ignore = "needs the bench: run scripts/test.sh"]
fn issue_28_https_is_tunnelled_through_https_proxy_and_tls_is_checked_through_it() {
    let moto = server("moto");
    let dir = tempdir();
    let nginx_dir = tempdir();
    let ca = TestCa::new();
    let now = time::OffsetDateTime::now_utc();
    let (cert, key) = ca.issue(
        "localhost",
        now - Duration::days(1),
        now + Duration::days(90),
    );
    let upstream = moto.url.trim_start_matches("http://").to_string();
    let tls = Proxy::start(&tool("nginx"), nginx_dir.path(), &upstream, &cert, &key);
    let bundle = ca.write_bundle(dir.path());
    spec(dir.path(), &tls.url(), &moto.region);
    let proxy = ConnectProxy::start();
    let url = proxy.url();
    let bundle = bundle.display().to_string();
    let vars = [
        ("https_proxy", url.as_str()),
        ("AWS_CA_BUNDLE", bundle.as_str()),
    ];

    run_on_e(dir.path(), &moto, &["plan"], &vars).code(0);
    let after_plan = proxy.tunnels();
    assert!(after_plan > 0, "plan opened no tunnel through the proxy");
    let report = run_on_e(dir.path(), &moto, &["check", "--output", "json"], &vars).json();
    let said = message(&report, "network.tls", "pass");
    assert!(said.contains(&format!("through the proxy {url}")), "{said}");
    message(&report, "identity", "pass");
    assert!(
        proxy.tunnels() > after_plan + 1,
        "check's TLS probe and requests"
    );
    assert_eq!(proxy.forwarded(), 0);

    let before = proxy.tunnels();
    let mut bypass = vars.to_vec();
    bypass.push(("NO_PROXY", "localhost"));
    run_on_e(dir.path(), &moto, &["plan"], &bypass).code(0);
    assert_eq!(proxy.tunnels(), before, "NO_PROXY did not bypass the proxy");
}
