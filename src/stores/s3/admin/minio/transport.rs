//! One signed request to MinIO's admin API: SigV4 (service `s3`, the
//! environment's region, `x-amz-content-sha256` as MinIO requires) over
//! hyper-util's client with the tool's one TLS trust and the environment's
//! proxy (`transport::proxy`), within the run's
//! time limit for one call. No retry: the caller decides what is safe to
//! repeat.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use aws_sigv4::http_request::{
    PayloadChecksumKind, SignableBody, SignableRequest, SigningSettings, sign,
};
use aws_sigv4::sign::v4;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnectorBuilder;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::{Connect, HttpConnector};
use hyper_util::rt::TokioExecutor;
use rustls::ClientConfig;

use crate::error::ApiCause;
use crate::secret::Secret;
use crate::transport::proxy::{Proxies, ProxyConnector};
use crate::transport::timeouts::Timeouts;

/// An admin answer is small (a user list is the largest): more is refused.
const MAX_ANSWER: usize = 8 * 1024 * 1024;

/// The status and body of an answer.
#[derive(Debug)]
pub(crate) struct Answer {
    pub(crate) status: u16,
    pub(crate) body: Bytes,
}

/// Who signs, and where the region comes from.
pub(crate) struct Signer {
    pub(crate) access_key: String,
    pub(crate) secret_key: Secret,
    pub(crate) region: String,
}

/// The HTTP side: a client for plain or TLS endpoints, and the limits.
pub(crate) struct Transport {
    send: Sender,
    call: Duration,
}

enum Sender {
    Plain(Client<ProxyConnector, Full<Bytes>>),
    Tls(Client<hyper_rustls::HttpsConnector<ProxyConnector>, Full<Bytes>>),
}

impl Transport {
    /// A client for `https` (with `tls`) or plain HTTP endpoints.
    pub(crate) fn new(https: bool, tls: Option<Arc<ClientConfig>>, timeouts: &Timeouts) -> Self {
        let mut tcp = HttpConnector::new();
        tcp.set_connect_timeout(Some(timeouts.connect()));
        tcp.set_nodelay(true);
        let tcp = Proxies::from_env().connector(tcp);
        let send = match (https, tls) {
            (true, Some(config)) => {
                let connector = HttpsConnectorBuilder::new()
                    .with_tls_config((*config).clone())
                    .https_only()
                    .enable_http1()
                    .wrap_connector(tcp);
                Sender::Tls(client(connector))
            }
            // Without a TLS configuration an https URL fails at connect,
            // which is reported as unreachable.
            _ => Sender::Plain(client(tcp)),
        };
        Transport {
            send,
            call: timeouts.call,
        }
    }

    /// Signs and sends one request; the whole exchange, answer body
    /// included, within the call limit.
    pub(crate) async fn send(
        &self,
        signer: &Signer,
        method: &str,
        uri: &str,
        body: Vec<u8>,
    ) -> Result<Answer, ApiCause> {
        self.exchange(signed(signer, method, uri, body)?).await
    }

    /// Sends one prepared request (Garage's admin API uses this too): the
    /// whole exchange, the answer's body bounded, within the call limit.
    pub(crate) async fn exchange(
        &self,
        request: hyper::Request<Full<Bytes>>,
    ) -> Result<Answer, ApiCause> {
        let exchange = async {
            let response = match &self.send {
                Sender::Plain(c) => c.request(request).await,
                Sender::Tls(c) => c.request(request).await,
            }
            .map_err(|e| unreachable(&e))?;
            let status = response.status().as_u16();
            let body = Limited::new(response.into_body(), MAX_ANSWER)
                .collect()
                .await
                .map_err(|e| ApiCause::Unreachable(format!("reading the answer: {e}")))?
                .to_bytes();
            Ok(Answer { status, body })
        };
        match tokio::time::timeout(self.call, exchange).await {
            Ok(answer) => answer,
            Err(_) => Err(ApiCause::Silent {
                limit: Timeouts::show(self.call),
            }),
        }
    }
}

fn client<C: Connect + Clone + Send + Sync + 'static>(connector: C) -> Client<C, Full<Bytes>> {
    Client::builder(TokioExecutor::new()).build(connector)
}

/// The request with SigV4 headers. `uri` is already percent-encoded.
fn signed(
    signer: &Signer,
    method: &str,
    uri: &str,
    body: Vec<u8>,
) -> Result<hyper::Request<Full<Bytes>>, ApiCause> {
    let not_sent = |e: &dyn std::fmt::Display| ApiCause::NotSent(e.to_string());
    let identity = aws_credential_types::Credentials::new(
        &signer.access_key,
        signer.secret_key.expose(),
        None,
        None,
        "minio-admin",
    )
    .into();
    let mut settings = SigningSettings::default();
    // MinIO checks the payload hash against this header.
    settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(&signer.region)
        .name("s3")
        .time(SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| not_sent(&e))?
        .into();
    let content_type = "application/octet-stream";
    let headers = [("content-type", content_type)];
    let signable =
        SignableRequest::new(method, uri, headers.into_iter(), SignableBody::Bytes(&body))
            .map_err(|e| not_sent(&e))?;
    let instructions = sign(signable, &params)
        .map_err(|e| not_sent(&e))?
        .into_parts()
        .0;
    let mut request = hyper::Request::builder()
        .method(method)
        .uri(uri)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::USER_AGENT, "chronotrace-ops")
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| not_sent(&e))?;
    instructions.apply_to_request_http1x(&mut request);
    Ok(request)
}

/// The innermost cause of a failed connection ("Connection refused", a
/// rejected certificate).
fn unreachable(err: &(dyn std::error::Error + 'static)) -> ApiCause {
    if let Some((text, _hint)) = crate::transport::trust::explain(err, "the endpoint") {
        return ApiCause::TlsRejected(text);
    }
    let detail = crate::transport::trust::chain(err)
        .map(ToString::to_string)
        .last()
        .unwrap_or_else(|| err.to_string());
    ApiCause::Unreachable(detail)
}
