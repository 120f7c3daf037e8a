//! A small HTTP client for the JSON APIs the tool speaks without an SDK
//! (Google Cloud Storage and its OAuth token endpoint): hyper over the
//! tool's one TLS trust (`trust::client_config`, as the SDK clients and
//! `check` use), plain HTTP only where the caller allows it (loopback
//! emulators), every request under the run's `Timeouts`.
//!
//! Limits: the TCP connect is bounded by `Timeouts::connect`, one attempt
//! (request sent to the whole answer read) by `Timeouts::attempt`, and all
//! attempts of one call together by `Timeouts::call`. A connection that
//! failed, an attempt that timed out, 429 and 5xx answers are tried again
//! (`retry::sdk_attempts` attempts in all, paced by `retry::rounds`); any
//! other answer is the caller's to read, marked when an earlier attempt's
//! answer was lost (that attempt may have been carried out: a retried
//! delete then finds its objects gone). No redirect is followed.

use std::sync::Arc;

use super::proxy::ProxyConnector;
use backon::BackoffBuilder;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;

use super::timeouts::Timeouts;

/// A request's method, target and body (headers are few and named).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: hyper::Method,
    pub url: String,
    pub headers: Vec<(&'static str, String)>,
    pub body: Bytes,
}

impl Request {
    /// A request without a body.
    pub fn new(method: hyper::Method, url: impl Into<String>) -> Request {
        Request {
            method,
            url: url.into(),
            headers: Vec::new(),
            body: Bytes::new(),
        }
    }

    /// Adds a header.
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Request {
        self.headers.push((name, value.into()));
        self
    }

    /// Sets the body and its content type.
    pub fn body(mut self, content_type: &str, body: impl Into<Bytes>) -> Request {
        self.body = body.into();
        self.header("content-type", content_type.to_string())
    }
}

/// An answer: its status, content type and whole body.
#[derive(Debug, Clone)]
pub struct Response {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: Bytes,
    /// An earlier attempt of this call went out and its answer never came
    /// (it timed out or the connection broke): the server may have acted
    /// on it, so "not found" now may be this call's own doing.
    pub after_lost_answer: bool,
}

/// Why no answer came (the caller names the operation and the endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// Nothing answered within the limit (shown, e.g. "20s").
    Silent(String),
    /// No connection, or it broke: the innermost cause.
    Unreachable(String),
    /// The TLS handshake was refused: why, in words.
    TlsRejected(String),
    /// The request could not be built (a malformed URL).
    NotSent(String),
}

impl Failure {
    /// The failure as an API call's cause (the caller names the call).
    pub fn cause(self) -> crate::error::ApiCause {
        use crate::error::ApiCause;
        match self {
            Failure::Silent(limit) => ApiCause::Silent { limit },
            Failure::Unreachable(detail) => ApiCause::Unreachable(detail),
            Failure::TlsRejected(detail) => ApiCause::TlsRejected(detail),
            Failure::NotSent(detail) => ApiCause::NotSent(detail),
        }
    }
}

/// The client: one connection pool for the run.
#[derive(Debug, Clone)]
pub struct RestClient {
    client: Client<HttpsConnector<ProxyConnector>, Full<Bytes>>,
    timeouts: Timeouts,
}

impl RestClient {
    /// A client over `tls` (the tool's trust) with the run's limits.
    pub fn new(tls: Arc<rustls::ClientConfig>, timeouts: Timeouts) -> RestClient {
        RestClient {
            client: super::https::pooled_client(&tls, Some(timeouts.connect())),
            timeouts,
        }
    }

    /// Sends `request`, trying again what may pass on a second attempt,
    /// all within the call's budget.
    pub async fn send(&self, request: &Request) -> Result<Response, Failure> {
        let limit = self.timeouts.call;
        match tokio::time::timeout(limit, self.attempts(request)).await {
            Ok(answered) => answered,
            Err(_) => Err(Failure::Silent(Timeouts::show(limit))),
        }
    }

    async fn attempts(&self, request: &Request) -> Result<Response, Failure> {
        let mut pauses = super::retry::rounds()
            .with_max_times(super::retry::sdk_attempts().saturating_sub(1) as usize)
            .build();
        let mut lost_an_answer = false;
        loop {
            let mut outcome = self.attempt(request).await;
            if let Ok(answer) = outcome.as_mut() {
                answer.after_lost_answer = lost_an_answer;
            }
            let again = match &outcome {
                Ok(answer) => answer.status == 429 || answer.status >= 500,
                Err(Failure::Silent(_) | Failure::Unreachable(_)) => true,
                Err(Failure::TlsRejected(_) | Failure::NotSent(_)) => false,
            };
            lost_an_answer |= matches!(outcome, Err(Failure::Silent(_) | Failure::Unreachable(_)));
            match pauses.next() {
                Some(pause) if again => tokio::time::sleep(pause).await,
                _ => return outcome,
            }
        }
    }

    async fn attempt(&self, request: &Request) -> Result<Response, Failure> {
        let mut builder = hyper::Request::builder()
            .method(request.method.clone())
            .uri(&request.url)
            .header("user-agent", "chronotrace-ops");
        for (name, value) in &request.headers {
            builder = builder.header(*name, value);
        }
        let built = builder
            .body(Full::new(request.body.clone()))
            .map_err(|e| Failure::NotSent(e.to_string()))?;
        let limit = self.timeouts.attempt();
        let answered = tokio::time::timeout(limit, async {
            let response = self.client.request(built).await.map_err(|e| describe(&e))?;
            let status = response.status().as_u16();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .map(str::to_string);
            let body = response
                .into_body()
                .collect()
                .await
                .map_err(|e| Failure::Unreachable(e.to_string()))?
                .to_bytes();
            Ok(Response {
                status,
                content_type,
                body,
                after_lost_answer: false,
            })
        })
        .await;
        answered.unwrap_or_else(|_| Err(Failure::Silent(Timeouts::show(limit))))
    }
}

/// What a user can act on: a rejected certificate, else the innermost
/// cause ("Connection refused") rather than hyper's "client error (Connect)".
fn describe(err: &hyper_util::client::legacy::Error) -> Failure {
    if super::trust::chain(err).any(|e| e.is::<rustls::Error>()) {
        let text = super::trust::explain(err, "the endpoint")
            .map_or_else(|| err.to_string(), |(text, _hint)| text);
        return Failure::TlsRejected(text);
    }
    let innermost = super::trust::chain(err)
        .map(ToString::to_string)
        .last()
        .unwrap_or_else(|| err.to_string());
    Failure::Unreachable(innermost)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn client(seconds: f64) -> RestClient {
        let tls = super::super::trust::client_config(None).expect("the system roots");
        RestClient::new(tls, Timeouts::from_secs_f64(seconds))
    }

    #[tokio::test]
    async fn a_closed_port_is_unreachable() {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free port")
            .port();
        let request = Request::new(hyper::Method::GET, format!("http://127.0.0.1:{port}/"));
        let failure = client(2.0)
            .send(&request)
            .await
            .expect_err("nothing listens");
        assert!(
            matches!(&failure, Failure::Unreachable(text) if text.to_lowercase().contains("refused")),
            "{failure:?}"
        );
    }

    #[tokio::test]
    async fn a_server_that_never_answers_costs_one_call_budget() {
        // Accepts connections and never answers.
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
        let port = listener.local_addr().expect("an address").port();
        let start = std::time::Instant::now();
        let request = Request::new(hyper::Method::GET, format!("http://127.0.0.1:{port}/"));
        let failure = client(1.0).send(&request).await.expect_err("silent");
        assert_eq!(failure, Failure::Silent("1s".into()));
        assert!(
            start.elapsed() < std::time::Duration::from_secs(3),
            "{:?}",
            start.elapsed()
        );
        drop(listener);
    }
}
