//! TLS of the endpoint: a handshake under the tool's one trust
//! (`transport::trust`: system store plus `--ca-bundle` / `AWS_CA_BUNDLE`) that
//! records the verifier's verdict instead of aborting on it (so an expired
//! or untrusted certificate can still be read and described), and the pure
//! judgement of what was seen.

use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use super::network::Endpoint;
use super::proxy::{Proxies, Route};
use crate::check::CheckResult;
use crate::transport::timeouts::Timeouts;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};

const ID: &str = "network.tls";
/// Fewer days than this before expiry is a warning.
pub const EXPIRY_WARN_DAYS: i64 = 30;

pub use crate::transport::trust::{CA_HINT, TrustError};
use crate::transport::trust::{
    SELF_SIGNED_HINT, TrustVerifier, config_with, is_self_signed_rejection,
};

/// Wraps the real verifier and keeps its verdict on the certificate, but
/// lets the handshake finish so the certificate can be described.
#[derive(Debug)]
struct Recording {
    inner: Arc<TrustVerifier>,
    verdict: Arc<Mutex<Option<Result<(), rustls::Error>>>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = self
            .inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
            .map(|_| ());
        if let Ok(mut slot) = self.verdict.lock() {
            *slot = Some(verdict);
        }
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

/// What the verifier said about the chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    Trusted,
    Expired,
    NotYetValid,
    NameMismatch,
    Untrusted,
    /// Self-signed and not in the CA bundle.
    SelfSigned,
    Other(String),
}

impl Verdict {
    fn from_rustls(result: Option<Result<(), rustls::Error>>) -> Verdict {
        use CertificateError as C;
        match result {
            Some(Ok(())) => Verdict::Trusted,
            Some(Err(rustls::Error::InvalidCertificate(e))) => match e {
                C::Expired | C::ExpiredContext { .. } => Verdict::Expired,
                C::NotValidYet | C::NotValidYetContext { .. } => Verdict::NotYetValid,
                C::NotValidForName | C::NotValidForNameContext { .. } => Verdict::NameMismatch,
                C::UnknownIssuer => Verdict::Untrusted,
                e if is_self_signed_rejection(&e) => Verdict::SelfSigned,
                other => Verdict::Other(format!("{other:?}")),
            },
            Some(Err(e)) => Verdict::Other(e.to_string()),
            None => Verdict::Other("the server sent no certificate".into()),
        }
    }
}

/// The facts about the endpoint's certificate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFacts {
    pub subject: String,
    pub issuer: String,
    /// Unix seconds.
    pub not_after: i64,
    pub verdict: Verdict,
}

/// Handshakes with the endpoint and judges its certificate. `Ok(true)` in
/// the second place when the SDK's requests can go through (a trusted,
/// unexpired, matching certificate). Through the proxy's CONNECT tunnel
/// when `route` is one, as the SDK's requests go.
/// The handshake, connection included, gives up after the run's
/// `Timeouts::handshake` (3 s by default).
pub async fn check(
    endpoint: &Endpoint,
    route: Option<&Route>,
    ca_bundle: Option<&Path>,
    timeouts: &Timeouts,
) -> (CheckResult, bool) {
    let started = Instant::now();
    let result = match inspect(endpoint, route, ca_bundle, timeouts).await {
        Ok(facts) => {
            let now = crate::clock::now().timestamp();
            judge(&facts, now, &endpoint.host)
        }
        Err(result) => result,
    };
    let usable = matches!(
        result.status,
        crate::check::Status::Pass | crate::check::Status::Warn
    );
    (result.took(started), usable)
}

async fn inspect(
    endpoint: &Endpoint,
    route: Option<&Route>,
    ca_bundle: Option<&Path>,
    timeouts: &Timeouts,
) -> Result<CertFacts, CheckResult> {
    let setup = |e: TrustError| CheckResult::fail(ID, e.to_string()).with_hint(CA_HINT);
    let inner = crate::transport::trust::verifier(ca_bundle).map_err(setup)?;
    let verdict = Arc::new(Mutex::new(None));
    let recording = Recording {
        inner,
        verdict: Arc::clone(&verdict),
    };
    let config = config_with(Arc::new(recording)).map_err(setup)?;
    let name = ServerName::try_from(endpoint.host.clone())
        .map_err(|e| CheckResult::fail(ID, format!("{}: {e}", endpoint.host)))?;
    let handshake = async {
        let tcp = Proxies::tls_stream(route, &endpoint.host, endpoint.port).await?;
        tokio_rustls::TlsConnector::from(Arc::new(config))
            .connect(name, tcp)
            .await
    };
    let limit = timeouts.handshake();
    let stream = match tokio::time::timeout(limit, handshake).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => return Err(handshake_failed(endpoint, &e.to_string())),
        Err(_) => {
            let detail = format!("no answer within {}", Timeouts::show(limit));
            return Err(handshake_failed(endpoint, &detail));
        }
    };
    let leaf = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .ok_or_else(|| CheckResult::fail(ID, "the server sent no certificate"))?;
    let verdict = verdict.lock().ok().and_then(|mut v| v.take());
    describe(leaf, Verdict::from_rustls(verdict))
}

fn handshake_failed(endpoint: &Endpoint, detail: &str) -> CheckResult {
    CheckResult::fail(
        ID,
        format!(
            "TLS handshake with {}:{} failed: {detail}",
            endpoint.host, endpoint.port
        ),
    )
    .with_hint("is the endpoint really https (not plain http) on this port?")
}

fn describe(leaf: &CertificateDer<'_>, verdict: Verdict) -> Result<CertFacts, CheckResult> {
    let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).map_err(|e| {
        CheckResult::fail(ID, format!("the server's certificate is unreadable: {e}"))
    })?;
    Ok(CertFacts {
        subject: cert.subject().to_string(),
        issuer: cert.issuer().to_string(),
        not_after: cert.validity().not_after.timestamp(),
        verdict,
    })
}

fn date(unix: i64) -> String {
    chrono::DateTime::from_timestamp(unix, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M UTC").to_string())
        .unwrap_or_else(|| unix.to_string())
}

/// The verdict on a certificate seen at `now` (unix seconds) for `host`.
pub fn judge(facts: &CertFacts, now: i64, host: &str) -> CheckResult {
    let until = date(facts.not_after);
    if facts.not_after < now || facts.verdict == Verdict::Expired {
        return CheckResult::fail(ID, format!("certificate of {host} expired on {until}"))
            .with_hint("renew the endpoint's certificate");
    }
    match &facts.verdict {
        // Expired was answered above, whatever the date said.
        Verdict::Trusted | Verdict::Expired => {}
        Verdict::NotYetValid => {
            return CheckResult::fail(ID, format!("certificate of {host} is not valid yet"))
                .with_hint("check the certificate's dates and this machine's clock");
        }
        Verdict::NameMismatch => {
            return CheckResult::fail(
                ID,
                format!("certificate ({}) does not name {host}", facts.subject),
            )
            .with_hint(
                "use the host name the certificate was issued for, or reissue it with this name",
            );
        }
        Verdict::Untrusted => {
            return CheckResult::fail(
                ID,
                format!(
                    "certificate of {host} is signed by an untrusted CA ({})",
                    facts.issuer
                ),
            )
            .with_hint(CA_HINT);
        }
        Verdict::SelfSigned => {
            return CheckResult::fail(
                ID,
                format!(
                    "certificate of {host} is self-signed and not in the trusted CA bundle ({})",
                    facts.subject
                ),
            )
            .with_hint(SELF_SIGNED_HINT);
        }
        Verdict::Other(why) => {
            return CheckResult::fail(ID, format!("certificate of {host} rejected: {why}"));
        }
    }
    let days_left = (facts.not_after - now) / 86_400;
    if days_left < EXPIRY_WARN_DAYS {
        return CheckResult::warn(
            ID,
            format!("certificate of {host} expires on {until} ({days_left} days left)"),
        )
        .with_hint("renew the endpoint's certificate soon");
    }
    CheckResult::pass(
        ID,
        format!(
            "certificate valid until {until} ({days_left} days left), issued by {}",
            facts.issuer
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Status;

    const NOW: i64 = 1_800_000_000;
    const DAY: i64 = 86_400;

    fn facts(days_left: i64, verdict: Verdict) -> CertFacts {
        CertFacts {
            subject: "CN=localhost".into(),
            issuer: "CN=Test CA".into(),
            not_after: NOW + days_left * DAY,
            verdict,
        }
    }

    #[test]
    fn certificates_are_judged_by_verdict_then_expiry() {
        let cases = [
            (365, Verdict::Trusted, Status::Pass, "valid until"),
            (10, Verdict::Trusted, Status::Warn, "10 days left"),
            (29, Verdict::Trusted, Status::Warn, "29 days left"),
            (30, Verdict::Trusted, Status::Pass, "30 days left"),
            (-3, Verdict::Expired, Status::Fail, "expired on"),
            // An expired certificate from an unknown CA is reported as expired.
            (-3, Verdict::Untrusted, Status::Fail, "expired on"),
            (365, Verdict::Untrusted, Status::Fail, "untrusted CA"),
            (
                365,
                Verdict::NameMismatch,
                Status::Fail,
                "does not name localhost",
            ),
            (365, Verdict::NotYetValid, Status::Fail, "not valid yet"),
            (365, Verdict::SelfSigned, Status::Fail, "self-signed"),
        ];
        for (days, verdict, status, needle) in cases {
            let result = judge(&facts(days, verdict.clone()), NOW, "localhost");
            assert_eq!(
                result.status, status,
                "{days} {verdict:?}: {}",
                result.message
            );
            assert!(result.message.contains(needle), "{}", result.message);
        }
    }

    #[test]
    fn an_untrusted_chain_hints_at_the_ca_bundle() {
        let result = judge(&facts(365, Verdict::Untrusted), NOW, "localhost");
        assert!(
            result
                .hint
                .as_deref()
                .is_some_and(|h| h.contains("--ca-bundle"))
        );
    }

    #[test]
    fn the_expiry_date_is_shown() {
        let expired = CertFacts {
            not_after: 1_577_836_800, // 2020-01-01 00:00 UTC
            ..facts(0, Verdict::Expired)
        };
        let result = judge(&expired, NOW, "h");
        assert!(result.message.contains("2020-01-01"), "{}", result.message);
    }
}
