//! The proxy of every HTTP client of the tool (the SDK's, the admin APIs',
//! the health probe's) and of `check`'s TCP and TLS probes: the variables
//! curl, the AWS CLI, mc and s5cmd honour (`HTTPS_PROXY`, `HTTP_PROXY`,
//! `ALL_PROXY`, `NO_PROXY`, and lowercase), read by hyper-util's matcher
//! with curl's rules. An https URL goes through an HTTP CONNECT tunnel (TLS
//! stays end to end with the endpoint); a plain http URL is forwarded (the
//! request carries the absolute URL). Only `http://` proxies are spoken to.

use std::error::Error as StdError;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use hyper::Uri;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::{Intercept, Matcher};
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn StdError + Send + Sync>;

/// The proxy rules of the environment, read once.
#[derive(Clone)]
pub struct Proxies(Arc<Matcher>);

impl std::fmt::Debug for Proxies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Proxies")
    }
}

/// The proxy a URL goes through.
#[derive(Debug, Clone)]
pub struct Route {
    intercept: Intercept,
}

impl Route {
    /// The proxy's URL, without its credentials (for messages).
    pub fn shown(&self) -> String {
        let uri = self.intercept.uri();
        format!(
            "{}://{}",
            uri.scheme_str().unwrap_or("http"),
            uri.authority()
                .map_or("", |a| a.as_str().rsplit('@').next().unwrap_or_default())
        )
    }

    /// The proxy's host and port (port 80 unless given).
    pub fn host_port(&self) -> (String, u16) {
        let uri = self.intercept.uri();
        let host = uri.host().unwrap_or_default();
        let host = host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .to_string();
        (host, uri.port_u16().unwrap_or(80))
    }

    /// A tunnel to `dst` through the proxy over `connector`.
    fn tunnel(&self, connector: HttpConnector) -> Tunnel<HttpConnector> {
        let tunnel = Tunnel::new(self.intercept.uri().clone(), connector);
        match self.intercept.basic_auth() {
            Some(auth) => tunnel.with_auth(auth.clone()),
            None => tunnel,
        }
    }

    /// Only plain-http proxies are spoken to.
    fn check_scheme(&self) -> Result<(), BoxError> {
        match self.intercept.uri().scheme_str() {
            Some("http") | None => Ok(()),
            Some(other) => Err(format!(
                "proxy {}: only http:// proxies are supported, not {other}://",
                self.shown()
            )
            .into()),
        }
    }
}

impl Proxies {
    /// The rules of the process's environment.
    pub fn from_env() -> Proxies {
        Proxies(Arc::new(Matcher::from_env()))
    }

    /// The proxy `url` goes through, if any (`NO_PROXY` honoured).
    pub fn route(&self, url: &str) -> Option<Route> {
        let uri: Uri = url.parse().ok()?;
        self.0.intercept(&uri).map(|intercept| Route { intercept })
    }

    /// `tcp`, going through the proxy where the rules say so.
    pub fn connector(&self, mut tcp: HttpConnector) -> ProxyConnector {
        tcp.enforce_http(false);
        ProxyConnector {
            tcp,
            proxies: self.clone(),
        }
    }

    /// A TCP stream to `host:port` for a TLS handshake with it: a CONNECT
    /// tunnel when `route` is a proxy, else a direct connection.
    pub async fn tls_stream(
        route: Option<&Route>,
        host: &str,
        port: u16,
    ) -> std::io::Result<TcpStream> {
        let Some(route) = route else {
            return TcpStream::connect((host, port)).await;
        };
        route.check_scheme().map_err(std::io::Error::other)?;
        let dst: Uri = format!("https://{}:{port}", bracketed(host))
            .parse()
            .map_err(std::io::Error::other)?;
        let io = route
            .tunnel(HttpConnector::new())
            .call(dst)
            .await
            .map_err(|e| std::io::Error::other(format!("proxy {}: {e}", route.shown())))?;
        Ok(io.into_inner())
    }
}

/// An IPv6 address in brackets, as a URL's host.
fn bracketed(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// hyper-util's connector, through the proxy where the rules say so.
#[derive(Clone, Debug)]
pub struct ProxyConnector {
    tcp: HttpConnector,
    proxies: Proxies,
}

type Connecting = Pin<Box<dyn Future<Output = Result<Proxied, BoxError>> + Send>>;

impl Service<Uri> for ProxyConnector {
    type Response = Proxied;
    type Error = BoxError;
    type Future = Connecting;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let route = self
            .proxies
            .0
            .intercept(&dst)
            .map(|intercept| Route { intercept });
        let mut tcp = self.tcp.clone();
        Box::pin(async move {
            let Some(route) = route else {
                let io = tcp.call(dst).await?;
                return Ok(Proxied { io, forward: false });
            };
            route.check_scheme()?;
            if dst.scheme_str() == Some("https") {
                let io = route.tunnel(tcp).call(dst).await?;
                Ok(Proxied { io, forward: false })
            } else {
                let io = tcp.call(route.intercept.uri().clone()).await?;
                Ok(Proxied { io, forward: true })
            }
        })
    }
}

/// A connection, direct, tunnelled, or to a forwarding proxy (`forward`:
/// hyper then sends the absolute URL, as a proxy expects).
#[derive(Debug)]
pub struct Proxied {
    io: TokioIo<TcpStream>,
    forward: bool,
}

impl Connection for Proxied {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forward)
    }
}

impl Read for Proxied {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for Proxied {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rules(proxy: &str, no: &str) -> Proxies {
        Proxies(Arc::new(Matcher::builder().all(proxy).no(no).build()))
    }

    #[test]
    fn no_proxy_bypasses_and_credentials_are_never_shown() {
        let proxies = rules("http://user:s3cr3t@127.0.0.1:3128", "minio.internal,.corp");
        let route = proxies.route("https://s3.example.com");
        let shown = route.as_ref().map(Route::shown).unwrap_or_default();
        assert_eq!(shown, "http://127.0.0.1:3128");
        assert_eq!(
            route.map(|r| r.host_port()),
            Some(("127.0.0.1".to_string(), 3128))
        );
        assert!(proxies.route("http://minio.internal:9000").is_none());
        assert!(proxies.route("https://s3.eu.corp").is_none());
    }
}
