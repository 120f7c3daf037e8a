//! What every store's client shares and no store owns: the command line's
//! overrides (`overrides`), the time limits of a call (`timeouts`), the tool's one TLS trust (`trust`: the system roots
//! plus `--ca-bundle`), the HTTP client the AWS SDK clients run on
//! (`https`), the environment's proxy of every HTTP client and probe (`proxy`), the retry policy (`retry`), the JSON client of the stores
//! without an SDK (`rest`: GCS), and `check`'s raw probes of an
//! endpoint: DNS and TCP (`network`), the TLS handshake and certificate
//! (`certificate`), a plain GET (`http`).
//!
//! Layering: the stores import this module; it imports no store.

pub mod certificate;
pub mod http;
pub mod https;
pub mod network;
pub mod overrides;
pub mod proxy;
pub mod rest;
pub mod retry;
pub mod timeouts;
pub mod trust;
