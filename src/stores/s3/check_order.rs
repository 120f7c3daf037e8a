//! The order of the checks and what depends on what: network first (a dead
//! endpoint skips everything else at once), then identity, MinIO health,
//! the bucket chain (bucket → probe, retention, security) and IAM
//! concurrently. The result order is fixed, whatever finishes first.

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use super::app_identity::key_check::{self as app, AppKey};
use crate::check::{CheckResult, Status};
use crate::render::selfhosted::{MINIO_ALTERNATIVES, MINIO_FROZEN};
use crate::spec::{Environment, Provider, S3Storage};
use crate::stores::s3::admin::minio_health as minio;
use crate::stores::s3::checks::{bucket, iam, identity, probe, retention, security};
use crate::stores::s3::{Clients, Target};
use crate::transport::certificate as tls;
use crate::transport::network::{self, Endpoint};
use crate::transport::proxy::{Proxies, Route};
use crate::transport::timeouts::Timeouts;

/// The ids that need the bucket, skipped together when it is not there.
const BUCKET_DEPENDENT: [&str; 8] = [
    "probe",
    retention::IDS[0],
    retention::IDS[1],
    security::IDS[0],
    security::IDS[1],
    security::IDS[2],
    security::IDS[3],
    security::IDS[4],
];

/// Runs every check of an S3 environment; `connect` yields the run's
/// clients (credentials resolved once per run, shared with other steps).
pub async fn run_s3(
    env: &Environment,
    s3: &S3Storage,
    target: &Target,
    endpoint: &Endpoint,
    connect: impl Future<Output = crate::error::Result<Clients>>,
    app_key: Option<&AppKey>,
) -> Vec<CheckResult> {
    let ca_bundle = target.ca_bundle.as_deref();
    let (mut results, blocked) = reachability(endpoint, ca_bundle, &target.timeouts).await;
    if let Some(reason) = blocked {
        results.extend(crate::check::skip_all(
            &downstream_ids(s3, target.provider),
            reason,
        ));
        return results;
    }
    // MinIO's health endpoints need no credentials: they run either way.
    let started = Instant::now();
    let (health, connected) = tokio::join!(minio_health(target, endpoint), connect);
    let clients = match connected {
        Ok(clients) => clients,
        Err(e) => {
            results.push(CheckResult::from_error("identity", &e).took(started));
            results.extend(health);
            let reason = "no credentials (see identity)";
            results.extend(crate::check::skip_all(&signed_ids(s3), reason));
            return results;
        }
    };
    let simulation = async {
        match &s3.iam {
            Some(spec) => vec![crate::check::timed(iam::check(&clients, s3, spec)).await],
            None => Vec::new(),
        }
    };
    let signed = async {
        tokio::join!(
            crate::check::timed(identity::check(&clients)),
            bucket_chain(&clients, env, s3, app_key),
            simulation,
        )
    };
    // Everything that signs requests finishes within one deadline: a server
    // that accepts connections and never answers must not hang the check.
    let deadline = target.timeouts.check_deadline();
    match tokio::time::timeout(deadline, signed).await {
        Ok((identity, bucket, simulation)) => {
            results.push(identity);
            results.extend(health);
            results.extend(bucket);
            results.extend(simulation);
        }
        Err(_) => {
            let fail = |id: &str| silent(id, endpoint, s3, deadline).took(started);
            results.push(fail("identity"));
            results.extend(health);
            results.extend(signed_ids(s3).into_iter().map(fail));
        }
    }
    results
}

/// The endpoint took the connection but never answered in time.
fn silent(id: &str, endpoint: &Endpoint, s3: &S3Storage, deadline: Duration) -> CheckResult {
    CheckResult::fail(
        id,
        format!(
            "no answer from {} within {}",
            endpoint.url,
            Timeouts::show(deadline)
        ),
    )
    .with_hint(format!(
        "the endpoint accepts connections but does not answer: is it an S3 server, and is it overloaded? (a probe under {}/{}_probe/ may remain; on a slow link raise --timeout)",
        s3.bucket,
        s3.prefix.dir()
    ))
}

/// The MinIO health checks (provider `minio` only).
async fn minio_health(target: &Target, endpoint: &Endpoint) -> Vec<CheckResult> {
    if target.provider != Provider::Minio {
        return Vec::new();
    }
    let tls_config = if endpoint.https {
        crate::transport::trust::client_config(target.ca_bundle.as_deref()).ok()
    } else {
        None
    };
    let mut results = minio::check(endpoint, tls_config, &target.timeouts).await;
    results.push(
        CheckResult::warn("minio.community-builds", MINIO_FROZEN).with_hint(MINIO_ALTERNATIVES),
    );
    results
}

/// DNS, TCP and TLS; the reason to skip the rest when the endpoint cannot be used.
async fn reachability(
    endpoint: &Endpoint,
    ca_bundle: Option<&Path>,
    timeouts: &Timeouts,
) -> (Vec<CheckResult>, Option<&'static str>) {
    let route = Proxies::from_env().route(&endpoint.url);
    let (mut results, blocked) =
        reachability_of(endpoint, route.as_ref(), ca_bundle, timeouts).await;
    if let Some(route) = &route {
        for result in &mut results {
            result.message = format!(
                "{} (through the proxy {} for {}:{}, from HTTPS_PROXY / HTTP_PROXY)",
                result.message,
                route.shown(),
                endpoint.host,
                endpoint.port
            );
        }
    }
    (results, blocked)
}

/// DNS and TCP of the first hop (the proxy's, when `route` is one: it
/// resolves and connects to the endpoint itself), then TLS with the
/// endpoint, through the proxy's tunnel when there is one.
async fn reachability_of(
    endpoint: &Endpoint,
    route: Option<&Route>,
    ca_bundle: Option<&Path>,
    timeouts: &Timeouts,
) -> (Vec<CheckResult>, Option<&'static str>) {
    const UNREACHABLE: &str = "endpoint unreachable";
    let hop = match route {
        Some(route) => {
            let (host, port) = route.host_port();
            Endpoint {
                https: false,
                host,
                port,
                url: route.shown(),
            }
        }
        None => endpoint.clone(),
    };
    let (dns, addrs) = network::dns(&hop, timeouts).await;
    if dns.status == Status::Fail {
        return (
            vec![
                dns,
                CheckResult::skip("network.tcp", UNREACHABLE),
                CheckResult::skip("network.tls", UNREACHABLE),
            ],
            Some(UNREACHABLE),
        );
    }
    let (tcp, connected) = network::tcp(&hop, &addrs, timeouts).await;
    if connected.is_none() {
        return (
            vec![dns, tcp, CheckResult::skip("network.tls", UNREACHABLE)],
            Some(UNREACHABLE),
        );
    }
    if !endpoint.https {
        return (vec![dns, tcp, plain_http(endpoint)], None);
    }
    let (tls, usable) = tls::check(endpoint, route, ca_bundle, timeouts).await;
    let blocked = (!usable).then_some("TLS to the endpoint failed (see network.tls)");
    (vec![dns, tcp, tls], blocked)
}

/// Plain http is fine on loopback (a test or a tunnel), a warning elsewhere.
fn plain_http(endpoint: &Endpoint) -> CheckResult {
    if endpoint.is_loopback() {
        CheckResult::skip("network.tls", "plain http on loopback: no TLS to check")
    } else {
        CheckResult::warn(
            "network.tls",
            format!(
                "{} is plain http: requests and traces cross the network unencrypted",
                endpoint.url
            ),
        )
        .with_hint(
            "put the store behind TLS (see the rendered nginx.conf) and use an https endpoint",
        )
    }
}

/// The bucket checks, then everything that needs the bucket, concurrently;
/// with a least-privilege key, the admin-only checks are skipped with the
/// reason. Then the app's privilege checks (spec with `iam.user`).
async fn bucket_chain(
    clients: &Clients,
    env: &Environment,
    s3: &S3Storage,
    app_key: Option<&AppKey>,
) -> Vec<CheckResult> {
    let (mut results, reach) = bucket::check(clients, s3).await;
    if !reach.usable {
        let mut ids = BUCKET_DEPENDENT.to_vec();
        ids.extend(app::ids(s3));
        results.extend(crate::check::skip_all(
            &ids,
            "the bucket is not usable (see bucket.exists)",
        ));
        return results;
    }
    // A key allowed on the bucket but not its settings (Garage's
    // read+write key) is least-privilege too.
    let least = reach.least || (s3.app_user.is_some() && app::settings_denied(clients, s3).await);
    if least {
        results.push(crate::check::timed(probe::check(clients, s3)).await);
        results.extend(crate::check::skip_all(
            &BUCKET_DEPENDENT[1..],
            bucket::LEAST,
        ));
    } else {
        results.extend(admin_chain(clients, env, s3).await);
    }
    let started = Instant::now();
    let privilege = app::privilege(clients, s3, app_key, least).await;
    results.extend(privilege.into_iter().map(|r| r.took(started)));
    results
}

/// Probe, retention and security, concurrently (admin credentials).
async fn admin_chain(clients: &Clients, env: &Environment, s3: &S3Storage) -> Vec<CheckResult> {
    let mut results = Vec::new();
    let (probe, retention, security) = tokio::join!(
        crate::check::timed(probe::check(clients, s3)),
        timed_group(retention::check(clients, env, s3)),
        timed_group(security::check(clients, s3)),
    );
    results.push(probe);
    results.extend(retention);
    results.extend(security);
    results
}

/// Stamps a group's elapsed time on the results that ran together.
async fn timed_group<F: Future<Output = Vec<CheckResult>>>(group: F) -> Vec<CheckResult> {
    let started = Instant::now();
    group.await.into_iter().map(|r| r.took(started)).collect()
}

/// Every check id after the network ones, in report order.
fn downstream_ids(s3: &S3Storage, provider: Provider) -> Vec<&'static str> {
    let mut ids = vec!["identity"];
    if provider == Provider::Minio {
        ids.extend(minio::IDS);
    }
    ids.extend(signed_ids(s3));
    ids
}

/// The checks that need signed requests to the bucket or IAM.
fn signed_ids(s3: &S3Storage) -> Vec<&'static str> {
    let mut ids = bucket::IDS.to_vec();
    ids.extend(BUCKET_DEPENDENT);
    ids.extend(app::ids(s3));
    if s3.iam.is_some() {
        ids.push("iam.simulate");
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_http_is_fine_on_loopback_only() {
        let local = Endpoint::parse("http://127.0.0.1:9000").expect("url");
        assert_eq!(plain_http(&local).status, Status::Skip);
        let remote = Endpoint::parse("http://minio.internal:9000").expect("url");
        let result = plain_http(&remote);
        assert_eq!(result.status, Status::Warn);
        assert!(result.hint.is_some());
    }

    #[test]
    fn skipped_ids_follow_report_order() {
        let spec = crate::spec::Spec::parse(crate::spec::STARTER_SPEC, "starter").expect("spec");
        let s3 = spec
            .environments
            .values()
            .find_map(|e| match &e.storage {
                crate::spec::Storage::S3(s3) if s3.iam.is_some() => Some(s3.clone()),
                _ => None,
            })
            .expect("an s3 environment with iam");
        let ids = downstream_ids(&s3, Provider::Minio);
        assert_eq!(ids.first(), Some(&"identity"));
        assert_eq!(ids.get(1), Some(&"minio.live"));
        assert_eq!(ids.last(), Some(&"iam.simulate"));
        assert!(!downstream_ids(&s3, Provider::Aws).contains(&"minio.live"));
    }
}
