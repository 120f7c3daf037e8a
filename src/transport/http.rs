//! The GET of MinIO's health endpoints (`minio`): hyper-util's client over
//! the tool's one TLS trust (`transport::trust::client_config`, the same as the
//! SDK's and the handshake probe's) and the environment's proxy, returning the answer's status code,
//! which is the whole answer of a health endpoint.
//!
//! Limits come from the run's `Timeouts`: the TCP connect is bounded by the
//! probes' connect limit, the whole request by the health limit. Redirects
//! are not followed (hyper follows none): a 3xx is reported as the status
//! it is, never silently taken for the health of another URL.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Bytes;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use super::network::Endpoint;
use super::proxy::Proxies;
use crate::transport::timeouts::Timeouts;

/// The request body: a GET sends none.
type Empty = http_body_util::Empty<Bytes>;

/// GETs `path` on the endpoint and returns the response's status code.
pub async fn get_status(
    endpoint: &Endpoint,
    path: &str,
    tls: Option<Arc<ClientConfig>>,
    timeouts: &Timeouts,
) -> Result<u16, String> {
    let uri = format!("{}{path}", endpoint.url);
    let mut tcp = HttpConnector::new();
    tcp.set_connect_timeout(Some(timeouts.probe_connect()));
    tcp.set_nodelay(true);
    let limit = timeouts.health();
    let tcp = Proxies::from_env().connector(tcp);
    match (endpoint.https, tls) {
        (true, Some(config)) => {
            let https = HttpsConnectorBuilder::new()
                .with_tls_config((*config).clone())
                .https_only()
                .enable_http1()
                .wrap_connector(tcp);
            status(https, &uri, limit).await
        }
        (true, None) => Err("no TLS configuration for an https endpoint".into()),
        (false, _) => status(tcp, &uri, limit).await,
    }
}

/// One GET through `connector`, within `limit` from connect to status line.
async fn status<C>(connector: C, uri: &str, limit: Duration) -> Result<u16, String>
where
    C: Connect + Clone + Send + Sync + 'static,
{
    let request = hyper::Request::get(uri)
        .header(hyper::header::USER_AGENT, "chronotrace-ops")
        .body(Empty::new())
        .map_err(|e| format!("{uri}: {e}"))?;
    let client: Client<C, Empty> = Client::builder(TokioExecutor::new())
        // One request per run: nothing to keep alive for.
        .pool_max_idle_per_host(0)
        .build(connector);
    match tokio::time::timeout(limit, client.request(request)).await {
        Ok(Ok(response)) => Ok(response.status().as_u16()),
        Ok(Err(e)) => Err(describe(&e)),
        Err(_) => Err(format!("no answer within {}", Timeouts::show(limit))),
    }
}

/// The innermost cause of a failed request, which is what a user can act
/// on ("Connection refused", a rejected certificate), rather than hyper's
/// outer "client error (Connect)".
fn describe(err: &(dyn std::error::Error + 'static)) -> String {
    if let Some((text, _hint)) = crate::transport::trust::explain(err, "the endpoint") {
        return text;
    }
    let causes: Vec<String> = crate::transport::trust::chain(err)
        .map(ToString::to_string)
        .collect();
    causes.last().cloned().unwrap_or_else(|| err.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_innermost_cause_is_reported() {
        let inner = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused here");
        let outer = std::io::Error::other(inner);
        assert_eq!(describe(&outer), "refused here");
    }

    #[tokio::test]
    async fn a_closed_port_fails_at_once() {
        // Bind then drop: a loopback port nothing listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let endpoint = Endpoint::parse(&format!("http://127.0.0.1:{port}")).expect("url");
        let err = get_status(&endpoint, "/minio/health/live", None, &Timeouts::default())
            .await
            .expect_err("nothing listens");
        assert!(err.to_lowercase().contains("refused"), "{err}");
    }
}
