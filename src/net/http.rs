//! A minimal HTTP/1.1 GET that returns the status code: all the MinIO
//! health endpoints need (they answer with a status and no body).

use std::sync::Arc;
use std::time::Duration;

use rustls::ClientConfig;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

use super::network::Endpoint;

/// One request gives up after this long.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(5);

/// GETs `path` on the endpoint and returns the response's status code.
pub async fn get_status(
    endpoint: &Endpoint,
    path: &str,
    tls: Option<Arc<ClientConfig>>,
) -> Result<u16, String> {
    match tokio::time::timeout(REQUEST_TIMEOUT, request(endpoint, path, tls)).await {
        Ok(result) => result,
        Err(_) => Err(format!("no answer within {}s", REQUEST_TIMEOUT.as_secs())),
    }
}

async fn request(
    endpoint: &Endpoint,
    path: &str,
    tls: Option<Arc<ClientConfig>>,
) -> Result<u16, String> {
    let tcp = TcpStream::connect((endpoint.host.as_str(), endpoint.port))
        .await
        .map_err(|e| e.to_string())?;
    let host_header = host_header(endpoint);
    match (endpoint.https, tls) {
        (true, Some(config)) => {
            let name = ServerName::try_from(endpoint.host.clone()).map_err(|e| e.to_string())?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .map_err(|e| format!("TLS: {e}"))?;
            exchange(stream, &host_header, path).await
        }
        (true, None) => Err("no TLS configuration for an https endpoint".into()),
        (false, _) => exchange(tcp, &host_header, path).await,
    }
}

fn host_header(endpoint: &Endpoint) -> String {
    let host = if endpoint.host.contains(':') {
        format!("[{}]", endpoint.host)
    } else {
        endpoint.host.clone()
    };
    let default_port = if endpoint.https { 443 } else { 80 };
    if endpoint.port == default_port {
        host
    } else {
        format!("{host}:{}", endpoint.port)
    }
}

async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    host: &str,
    path: &str,
) -> Result<u16, String> {
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: chronotrace-ops\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| e.to_string())?;
    // The status line fits in the first read of any sane server; read a
    // little more only if it came in pieces.
    let mut head = Vec::with_capacity(256);
    let mut buf = [0u8; 256];
    while !head.windows(2).any(|w| w == b"\r\n") && head.len() < 4096 {
        let n = stream.read(&mut buf).await.map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        head.extend_from_slice(&buf[..n]);
    }
    parse_status(&head)
}

/// The status code of an HTTP/1.x response head.
pub fn parse_status(head: &[u8]) -> Result<u16, String> {
    let text = String::from_utf8_lossy(head);
    let line = text.lines().next().unwrap_or_default();
    let mut parts = line.split_whitespace();
    match (parts.next(), parts.next().map(str::parse::<u16>)) {
        (Some(version), Some(Ok(code))) if version.starts_with("HTTP/") => Ok(code),
        _ => Err(format!(
            "not an HTTP response: {:?}",
            line.chars().take(60).collect::<String>()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_lines_parse() {
        let cases: [(&[u8], Option<u16>); 5] = [
            (b"HTTP/1.1 200 OK\r\n", Some(200)),
            (b"HTTP/1.0 503 Service Unavailable\r\nX: y\r\n", Some(503)),
            (b"HTTP/1.1 404\r\n", Some(404)),
            (b"SSH-2.0-OpenSSH\r\n", None),
            (b"", None),
        ];
        for (head, expected) in cases {
            assert_eq!(parse_status(head).ok(), expected, "{head:?}");
        }
    }

    #[test]
    fn host_header_omits_default_ports() {
        let e = Endpoint::parse("https://minio.example.com").expect("url");
        assert_eq!(host_header(&e), "minio.example.com");
        let e = Endpoint::parse("http://127.0.0.1:9000").expect("url");
        assert_eq!(host_header(&e), "127.0.0.1:9000");
    }
}
