//! MinIO's health endpoints (provider `minio`): liveness, readiness, write
//! quorum and read quorum. The status code is the whole answer.

use std::sync::Arc;
use std::time::Instant;

use futures::future::join_all;
use rustls::ClientConfig;

use crate::check::CheckResult;
use crate::transport::http;
use crate::transport::network::Endpoint;
use crate::transport::timeouts::Timeouts;

/// One MinIO health endpoint and what its failure means.
struct Probe {
    id: &'static str,
    path: &'static str,
    /// What a 200 means.
    healthy: &'static str,
    /// What a 503 means.
    unhealthy: &'static str,
}

const PROBES: [Probe; 4] = [
    Probe {
        id: "minio.live",
        path: "/minio/health/live",
        healthy: "the server process is up",
        unhealthy: "the server process is not live",
    },
    Probe {
        id: "minio.ready",
        path: "/minio/health/ready",
        healthy: "the server can serve requests",
        unhealthy: "the server is not ready to serve requests",
    },
    Probe {
        id: "minio.cluster",
        path: "/minio/health/cluster",
        healthy: "the cluster has write quorum",
        unhealthy: "write quorum lost: the cluster cannot accept writes (too many drives or nodes offline)",
    },
    Probe {
        id: "minio.cluster-read",
        path: "/minio/health/cluster/read",
        healthy: "the cluster has read quorum",
        unhealthy: "read quorum lost: the cluster cannot serve reads (too many drives or nodes offline)",
    },
];

/// The ids of the MinIO checks, for skipping them all at once.
pub const IDS: [&str; 4] = [
    "minio.live",
    "minio.ready",
    "minio.cluster",
    "minio.cluster-read",
];

/// Queries the four health endpoints at once, each within the run's
/// `Timeouts::health` (5 s by default).
pub async fn check(
    endpoint: &Endpoint,
    tls: Option<Arc<ClientConfig>>,
    timeouts: &Timeouts,
) -> Vec<CheckResult> {
    join_all(PROBES.iter().map(|probe| {
        let tls = tls.clone();
        async move {
            let started = Instant::now();
            let status = http::get_status(endpoint, probe.path, tls, timeouts).await;
            judge(probe, status).took(started)
        }
    }))
    .await
}

/// The verdict on one health endpoint's answer.
fn judge(probe: &Probe, status: Result<u16, String>) -> CheckResult {
    match status {
        Ok(200) => CheckResult::pass(probe.id, format!("{}: {}", probe.path, probe.healthy)),
        Ok(503) => CheckResult::fail(
            probe.id,
            format!("{} answered 503: {}", probe.path, probe.unhealthy),
        )
        .with_hint("check `mc admin info` and the state of the drives and nodes"),
        Ok(code) => CheckResult::fail(
            probe.id,
            format!("{} answered HTTP {code}, expected 200", probe.path),
        )
        .with_hint("is this endpoint a MinIO server? (provider: minio in the spec)"),
        Err(e) => CheckResult::fail(probe.id, format!("{}: {e}", probe.path)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    #[test]
    fn answers_are_judged() {
        let cluster = &PROBES[2];
        let cases = [
            (Ok(200), Status::Pass, "write quorum"),
            (Ok(503), Status::Fail, "write quorum lost"),
            (Ok(404), Status::Fail, "HTTP 404"),
            (Err("refused".to_string()), Status::Fail, "refused"),
        ];
        for (answer, status, needle) in cases {
            let result = judge(cluster, answer.clone());
            assert_eq!(result.status, status, "{answer:?}");
            assert!(result.message.contains(needle), "{}", result.message);
        }
    }

    #[test]
    fn ids_match_the_probes() {
        let ids: Vec<&str> = PROBES.iter().map(|p| p.id).collect();
        assert_eq!(ids, IDS);
    }
}
