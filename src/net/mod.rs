//! The network probes of `check` that are not S3 calls: DNS and TCP to the
//! endpoint (`network`), the TLS handshake and certificate (`tls`), and a
//! small HTTP/1.1 GET (`http`) for MinIO's health endpoints (`minio`).
//! The only code besides the SDK clients of `cloud` that opens a socket.

pub mod http;
pub mod minio;
pub mod network;
pub mod tls;
