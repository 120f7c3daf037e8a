//! The network probes of `check` that are not S3 calls: DNS and TCP to the
//! endpoint (`network`), the TLS handshake and certificate (`tls`), and a
//! GET over hyper-util's client (`http`) for MinIO's health endpoints
//! (`minio`). The only code besides the SDK clients of `cloud` that opens
//! a socket; every limit comes from the run's `cloud::timeouts::Timeouts`.

pub mod garage;
pub mod http;
pub mod minio;
pub mod network;
pub mod tls;
