//! The HTTP client of the S3, IAM and STS clients: hyper over the tool's one
//! TLS configuration (`tls::client_config`) and the environment's proxy
//! (`proxy`), so the SDK trusts exactly what
//! `check` trusts, a self-signed certificate of the CA bundle included. The
//! SDK's own client takes a trust store but no certificate verifier, hence
//! this small adapter.
//!
//! It keeps the SDK's semantics: the connect timeout bounds the TCP
//! connection, the read timeout the wait for the answer's first byte
//! (connection and TLS handshake included); failures are classified as the
//! SDK's client does, so its retry strategy treats them alike, except that
//! a rejected certificate is final (retrying cannot make it trusted).

use std::collections::HashMap;
use std::error::Error as StdError;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::result::ConnectorError;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::retry::ErrorKind;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector as TcpConnector;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use rustls::ClientConfig;

use super::proxy::{Proxies, ProxyConnector};

/// Idle pooled connections are closed after this.
const POOL_IDLE: Duration = Duration::from_secs(30);

/// An SDK HTTP client over `config`; connectors are built once per set of
/// timeouts, so requests share their connection pool.
pub fn client(config: Arc<ClientConfig>) -> SharedHttpClient {
    SharedHttpClient::new(TrustingClient {
        config,
        connectors: Mutex::new(HashMap::new()),
    })
}

#[derive(Debug)]
struct TrustingClient {
    config: Arc<ClientConfig>,
    connectors: Mutex<HashMap<Limits, SharedHttpConnector>>,
}

/// A connector's connect and read timeouts.
type Limits = (Option<Duration>, Option<Duration>);

impl HttpClient for TrustingClient {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        let key = (settings.connect_timeout(), settings.read_timeout());
        let build = || SharedHttpConnector::new(Connector::new(&self.config, key.0, key.1));
        match self.connectors.lock() {
            Ok(mut cache) => cache.entry(key).or_insert_with(build).clone(),
            // A poisoned cache only costs the pooling.
            Err(_) => build(),
        }
    }
}

/// One hyper client with its timeouts.
#[derive(Debug)]
struct Connector {
    client: Client<HttpsConnector<ProxyConnector>, SdkBody>,
    read_timeout: Option<Duration>,
}

impl Connector {
    fn new(config: &ClientConfig, connect: Option<Duration>, read: Option<Duration>) -> Self {
        Connector {
            client: pooled_client(config, connect),
            read_timeout: read,
        }
    }
}

impl HttpConnector for Connector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let request = match request.try_into_http1x() {
            Ok(request) => request,
            Err(e) => return HttpConnectorFuture::ready(Err(ConnectorError::user(e.into()))),
        };
        let sent = self.client.request(request);
        let read_timeout = self.read_timeout;
        HttpConnectorFuture::new(async move {
            let answered = match read_timeout {
                Some(limit) => match tokio::time::timeout(limit, sent).await {
                    Ok(answered) => answered,
                    Err(_) => return Err(ConnectorError::timeout(Box::new(NoAnswer(limit)))),
                },
                None => sent.await,
            };
            match answered {
                Ok(response) => HttpResponse::try_from(response.map(SdkBody::from_body_1_x))
                    .map_err(|e| ConnectorError::other(e.into(), None)),
                Err(e) => Err(classify(e)),
            }
        })
    }
}

/// No first byte of an answer within the read timeout.
#[derive(Debug)]
struct NoAnswer(Duration);

impl std::fmt::Display for NoAnswer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "no answer within {}",
            super::timeouts::Timeouts::show(self.0)
        )
    }
}

impl StdError for NoAnswer {}

/// A pooled HTTP/1.1 client over `config` (https, or plain http where the
/// URL says so) through the environment's proxy, with the TCP connect
/// bounded by `connect`: the SDK's and `transport::rest`'s.
pub(super) fn pooled_client<B>(
    config: &ClientConfig,
    connect: Option<Duration>,
) -> Client<HttpsConnector<ProxyConnector>, B>
where
    B: hyper::body::Body + Send + 'static,
    B::Data: Send,
{
    let mut tcp = TcpConnector::new();
    tcp.enforce_http(false);
    tcp.set_nodelay(true);
    tcp.set_connect_timeout(connect);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(config.clone())
        .https_or_http()
        .enable_http1()
        .wrap_connector(Proxies::from_env().connector(tcp));
    Client::builder(TokioExecutor::new())
        .pool_timer(TokioTimer::new())
        .pool_idle_timeout(POOL_IDLE)
        .build(https)
}

/// The SDK client's classification of hyper's errors: timeouts and broken
/// connections are transient, a rejected certificate is not.
fn classify(err: hyper_util::client::legacy::Error) -> ConnectorError {
    let rejected_tls = super::trust::chain(&err).any(|e| e.is::<rustls::Error>());
    let timed_out = super::trust::chain(&err).any(|e| {
        e.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
    });
    let hyper = super::trust::chain(&err).find_map(|e| e.downcast_ref::<hyper::Error>());
    let closed = hyper.is_some_and(|h| h.is_closed() || h.is_canceled());
    let incomplete = hyper.is_some_and(hyper::Error::is_incomplete_message);
    let timed_out = timed_out || hyper.is_some_and(hyper::Error::is_timeout);
    let boxed: Box<dyn StdError + Send + Sync> = Box::new(err);
    if rejected_tls {
        ConnectorError::other(boxed, None)
    } else if timed_out {
        ConnectorError::timeout(boxed)
    } else if incomplete {
        ConnectorError::other(boxed, Some(ErrorKind::TransientError))
    } else if closed || is_connect(&*boxed) {
        ConnectorError::io(boxed)
    } else {
        ConnectorError::other(boxed, None)
    }
}

/// A failure to connect, or an I/O error anywhere in the chain.
fn is_connect(err: &(dyn StdError + Send + Sync + 'static)) -> bool {
    let connect = err
        .downcast_ref::<hyper_util::client::legacy::Error>()
        .is_some_and(hyper_util::client::legacy::Error::is_connect);
    connect || super::trust::chain(err).any(|e| e.is::<std::io::Error>())
}

/// The HTTPS client of the SDK clients, over the tool's one trust (the
/// system's roots plus `ca_bundle`).
pub fn http_client(ca_bundle: Option<&std::path::Path>) -> crate::error::Result<SharedHttpClient> {
    let config = super::trust::client_config(ca_bundle).map_err(|e| {
        crate::error::Error::usage_with_hint(e.to_string(), super::trust::BUNDLE_HINT)
    })?;
    Ok(client(config))
}
