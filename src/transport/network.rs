//! Network reachability of the endpoint: which host and port it names, DNS
//! resolution and a TCP connect, each within the run's probe limit
//! (`Timeouts::probe_connect`, 2 s by default) so a dead endpoint is
//! reported in seconds, and later on a slow link raised with `--timeout`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use tokio::net::TcpStream;

use crate::check::CheckResult;
use crate::transport::timeouts::Timeouts;

/// Why an endpoint URL is not one the probes can use.
#[derive(Debug, thiserror::Error)]
pub enum EndpointError {
    #[error("endpoint {raw}: {source}")]
    NotAUrl {
        raw: String,
        #[source]
        source: url::ParseError,
    },
    #[error("endpoint {raw}: scheme {scheme} is not http or https")]
    Scheme { raw: String, scheme: String },
    #[error("endpoint {raw}: no host")]
    NoHost { raw: String },
}

/// Scheme, host and port of the endpoint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    pub https: bool,
    pub host: String,
    pub port: u16,
    /// The URL as users wrote it (for messages and HTTP requests).
    pub url: String,
}

impl Endpoint {
    /// Parses an `http(s)://host[:port]` URL.
    pub fn parse(raw: &str) -> Result<Endpoint, EndpointError> {
        let url = url::Url::parse(raw).map_err(|source| EndpointError::NotAUrl {
            raw: raw.to_string(),
            source,
        })?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => {
                return Err(EndpointError::Scheme {
                    raw: raw.to_string(),
                    scheme: other.to_string(),
                });
            }
        };
        let host = match url.host() {
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            Some(host) => host.to_string(),
            None => {
                return Err(EndpointError::NoHost {
                    raw: raw.to_string(),
                });
            }
        };
        let port = url
            .port_or_known_default()
            .unwrap_or(if https { 443 } else { 80 });
        Ok(Endpoint {
            https,
            host,
            port,
            url: raw.trim_end_matches('/').to_string(),
        })
    }

    /// True for localhost and loopback addresses (no TLS expected there).
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost"
            || self
                .host
                .parse::<std::net::IpAddr>()
                .is_ok_and(|ip| ip.is_loopback())
    }
}

/// Resolves the endpoint's host; the addresses on success.
pub async fn dns(endpoint: &Endpoint, timeouts: &Timeouts) -> (CheckResult, Vec<SocketAddr>) {
    const ID: &str = "network.dns";
    let started = Instant::now();
    let limit = timeouts.probe_connect();
    let lookup = tokio::net::lookup_host((endpoint.host.as_str(), endpoint.port));
    let result = match tokio::time::timeout(limit, lookup).await {
        Ok(Ok(addrs)) => {
            let addrs: Vec<SocketAddr> = addrs.collect();
            if addrs.is_empty() {
                (no_address(endpoint), addrs)
            } else {
                let shown: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
                let message = format!("{} resolves to {}", endpoint.host, shown.join(", "));
                (CheckResult::pass(ID, message), addrs)
            }
        }
        Ok(Err(e)) => (
            CheckResult::fail(ID, format!("{} does not resolve: {e}", endpoint.host))
                .with_hint("check the endpoint's host name (spec or --endpoint-url) and DNS"),
            Vec::new(),
        ),
        Err(_) => (
            CheckResult::fail(
                ID,
                format!(
                    "{} did not resolve within {}",
                    endpoint.host,
                    Timeouts::show(limit)
                ),
            )
            .with_hint("check the resolver (/etc/resolv.conf) and the network"),
            Vec::new(),
        ),
    };
    (result.0.took(started), result.1)
}

fn no_address(endpoint: &Endpoint) -> CheckResult {
    CheckResult::fail(
        "network.dns",
        format!("{} resolves to no address", endpoint.host),
    )
}

/// Connects to the first addresses in turn (at most two, each within the
/// probe limit); the connected address on success.
pub async fn tcp(
    endpoint: &Endpoint,
    addrs: &[SocketAddr],
    timeouts: &Timeouts,
) -> (CheckResult, Option<SocketAddr>) {
    const ID: &str = "network.tcp";
    let started = Instant::now();
    let limit: Duration = timeouts.probe_connect();
    let mut errors = Vec::new();
    for addr in addrs.iter().take(2) {
        match tokio::time::timeout(limit, TcpStream::connect(addr)).await {
            Ok(Ok(_stream)) => {
                let message = format!("connected to {addr}");
                return (CheckResult::pass(ID, message).took(started), Some(*addr));
            }
            Ok(Err(e)) => errors.push(format!("{addr}: {e}")),
            Err(_) => errors.push(format!(
                "{addr}: no answer within {}",
                Timeouts::show(limit)
            )),
        }
    }
    let message = format!(
        "cannot connect to {}:{} ({})",
        endpoint.host,
        endpoint.port,
        errors.join("; ")
    );
    let hint =
        "is the server running and the port right? check firewalls between here and the endpoint";
    (
        CheckResult::fail(ID, message).with_hint(hint).took(started),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_parse_with_default_ports() {
        let cases = [
            ("http://127.0.0.1:9000", false, "127.0.0.1", 9000),
            ("https://minio.example.com", true, "minio.example.com", 443),
            ("http://localhost/", false, "localhost", 80),
            ("https://[::1]:8443", true, "::1", 8443),
        ];
        for (raw, https, host, port) in cases {
            let e = Endpoint::parse(raw).expect(raw);
            assert_eq!(
                (e.https, e.host.as_str(), e.port),
                (https, host, port),
                "{raw}"
            );
        }
        assert!(Endpoint::parse("ftp://x").is_err());
        assert!(Endpoint::parse("not a url").is_err());
    }

    #[test]
    fn loopback_is_recognised() {
        for (raw, loopback) in [
            ("http://127.0.0.1:1", true),
            ("http://localhost:1", true),
            ("https://[::1]:1", true),
            ("https://minio.example.com", false),
        ] {
            assert_eq!(
                Endpoint::parse(raw).expect(raw).is_loopback(),
                loopback,
                "{raw}"
            );
        }
    }
}
