//! The tool's one TLS trust, used by every client (the S3/IAM/STS clients
//! through `https`, and `check`'s own handshake and health requests): the
//! system's roots plus the certificates of `--ca-bundle` / `AWS_CA_BUNDLE`,
//! read by the one loader here.
//!
//! As curl, the aws cli and s5cmd do, a server certificate that is itself in
//! the bundle is trusted (the usual staging MinIO with a certificate made by
//! `openssl req -x509`), its names and dates still checked; webpki alone
//! rejects it with `CaUsedAsEndEntity`. Any other rejection is explained in
//! the user's words with a hint (`explain`).

use std::error::Error as StdError;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{CryptoProvider, WebPkiSupportedAlgorithms};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{
    CertificateError, ClientConfig, DigitallySignedStruct, OtherError, RootCertStore,
    SignatureScheme,
};

/// A CA bundle that cannot be read is a usage error (exit 2) before any
/// request or check runs, not a failed connection.
pub fn usable_bundle(path: Option<&Path>) -> crate::error::Result<()> {
    if let Some(path) = path {
        checked_bundle(path)
            .map_err(|e| crate::error::Error::usage_with_hint(e.to_string(), BUNDLE_HINT))?;
    }
    Ok(())
}

/// How to make the endpoint trusted when it is not.
pub const CA_HINT: &str =
    "pass the CA that signed the endpoint's certificate with --ca-bundle FILE (or AWS_CA_BUNDLE)";
/// What a usable `--ca-bundle` is, when the one given is not.
pub const BUNDLE_HINT: &str =
    "--ca-bundle (or AWS_CA_BUNDLE) must name a PEM file of CA certificates";
/// How to trust a self-signed certificate.
pub const SELF_SIGNED_HINT: &str = "add the endpoint's certificate itself to the PEM file given to --ca-bundle FILE (or AWS_CA_BUNDLE)";

/// Why the tool's trust could not be set up (a bad CA bundle, mostly).
#[derive(Debug, thiserror::Error)]
pub enum TrustError {
    #[error("CA bundle {}: {source}", path.display())]
    Unreadable {
        path: PathBuf,
        #[source]
        source: rustls::pki_types::pem::Error,
    },
    #[error("CA bundle {}: no PEM certificate in it", path.display())]
    Empty { path: PathBuf },
    #[error("CA bundle {}: {ignored} certificate(s) could not be parsed", path.display())]
    Unparsable { path: PathBuf, ignored: usize },
    #[error("TLS roots: {0}")]
    Roots(#[source] rustls::client::VerifierBuilderError),
    #[error("TLS setup: {0}")]
    Setup(#[source] rustls::Error),
}

/// The PEM certificates of a CA bundle: at least one, all readable.
pub fn load_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(Iterator::collect)
        .map_err(|source| TrustError::Unreadable {
            path: path.to_path_buf(),
            source,
        })?;
    if certs.is_empty() {
        return Err(TrustError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(certs)
}

/// The certificates of a CA bundle, every one usable as a trust anchor:
/// what makes a `--ca-bundle` valid, whichever client takes it.
pub fn checked_bundle(path: &Path) -> Result<Vec<CertificateDer<'static>>, TrustError> {
    let bundle = load_bundle(path)?;
    let (_, ignored) = RootCertStore::empty().add_parsable_certificates(bundle.clone());
    if ignored > 0 {
        return Err(TrustError::Unparsable {
            path: path.to_path_buf(),
            ignored,
        });
    }
    Ok(bundle)
}

/// The system's roots plus the certificates of `ca_bundle` (checked).
fn roots_and_bundle(
    ca_bundle: Option<&Path>,
) -> Result<(RootCertStore, Vec<CertificateDer<'static>>), TrustError> {
    let bundle = ca_bundle
        .map(checked_bundle)
        .transpose()?
        .unwrap_or_default();
    let mut roots = RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    roots.add_parsable_certificates(bundle.clone());
    Ok((roots, bundle))
}

/// The tool's trust as PEM text, for a client that takes its roots that
/// way and then trusts nothing else (the Redis client): the system's roots
/// that rustls can use as trust anchors (the rest would fail that client's
/// set-up, and `roots_and_bundle` leaves them out too), then the bundle's
/// certificates. A server certificate that is itself in the bundle is not
/// pinned here: that client verifies by Web PKI alone.
pub fn pem_roots(ca_bundle: &Path) -> Result<Vec<u8>, TrustError> {
    let bundle = checked_bundle(ca_bundle)?;
    let usable = |cert: &CertificateDer<'static>| RootCertStore::empty().add(cert.clone()).is_ok();
    let system = rustls_native_certs::load_native_certs().certs;
    let mut pem = Vec::new();
    for cert in system.iter().filter(|c| usable(c)).chain(&bundle) {
        pem.extend_from_slice(&pem_certificate(cert));
    }
    Ok(pem)
}

/// One certificate as a PEM block (base64 in lines of 64, RFC 7468).
fn pem_certificate(cert: &CertificateDer<'_>) -> Vec<u8> {
    let encoded = aws_smithy_types::base64::encode(cert);
    let mut pem = b"-----BEGIN CERTIFICATE-----\n".to_vec();
    for line in encoded.as_bytes().chunks(64) {
        pem.extend_from_slice(line);
        pem.push(b'\n');
    }
    pem.extend_from_slice(b"-----END CERTIFICATE-----\n");
    pem
}

/// The cryptography of every TLS connection.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// The verifier of the tool's trust.
pub fn verifier(ca_bundle: Option<&Path>) -> Result<Arc<TrustVerifier>, TrustError> {
    let (roots, pinned) = roots_and_bundle(ca_bundle)?;
    let provider = provider();
    // No root at all (a bare container without a bundle): only pinned
    // certificates could pass, and there are none; plain http still works.
    let webpki = if roots.is_empty() {
        None
    } else {
        Some(
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), Arc::clone(&provider))
                .build()
                .map_err(TrustError::Roots)?,
        )
    };
    Ok(Arc::new(TrustVerifier {
        webpki,
        pinned,
        algorithms: provider.signature_verification_algorithms,
    }))
}

/// The verifying client configuration every client uses.
pub fn client_config(ca_bundle: Option<&Path>) -> Result<Arc<ClientConfig>, TrustError> {
    Ok(Arc::new(config_with(verifier(ca_bundle)?)?))
}

/// A client configuration around `verifier` (the trust, or `check`'s
/// recording wrapper of it).
pub fn config_with(verifier: Arc<dyn ServerCertVerifier>) -> Result<ClientConfig, TrustError> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .map_err(TrustError::Setup)?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth())
}

/// Web PKI verification, plus the server certificates of the bundle
/// trusted as themselves (names and dates still checked).
#[derive(Debug)]
pub struct TrustVerifier {
    webpki: Option<Arc<WebPkiServerVerifier>>,
    /// The bundle's certificates: a server presenting one is trusted as it.
    pinned: Vec<CertificateDer<'static>>,
    algorithms: WebPkiSupportedAlgorithms,
}

impl TrustVerifier {
    fn verify_pinned(
        &self,
        end_entity: &CertificateDer<'_>,
        server_name: &ServerName<'_>,
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let bad = || rustls::Error::InvalidCertificate(CertificateError::BadEncoding);
        let (_, cert) =
            x509_parser::parse_x509_certificate(end_entity.as_ref()).map_err(|_| bad())?;
        let now = i64::try_from(now.as_secs()).map_err(|_| bad())?;
        let validity = cert.validity();
        if now > validity.not_after.timestamp() {
            return Err(CertificateError::Expired.into());
        }
        if now < validity.not_before.timestamp() {
            return Err(CertificateError::NotValidYet.into());
        }
        let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
        rustls::client::verify_server_name(&parsed, server_name)?;
        Ok(ServerCertVerified::assertion())
    }
}

impl ServerCertVerifier for TrustVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let verdict = match &self.webpki {
            Some(webpki) => webpki.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
            None => Err(CertificateError::UnknownIssuer.into()),
        };
        match verdict {
            Ok(verified) => Ok(verified),
            Err(_)
                if self
                    .pinned
                    .iter()
                    .any(|c| c.as_ref() == end_entity.as_ref()) =>
            {
                self.verify_pinned(end_entity, server_name, now)
            }
            // webpki says `CaUsedAsEndEntity` (an `Other`) for openssl's
            // CA:TRUE certificates, `UnknownIssuer` for the others.
            Err(rustls::Error::InvalidCertificate(
                CertificateError::UnknownIssuer | CertificateError::Other(_),
            )) if self_signed(end_entity) => {
                Err(CertificateError::Other(OtherError(Arc::new(SelfSignedNotTrusted))).into())
            }
            Err(e) => Err(e),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.algorithms)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.algorithms)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.algorithms.supported_schemes()
    }
}

/// Issued by itself.
fn self_signed(cert: &CertificateDer<'_>) -> bool {
    x509_parser::parse_x509_certificate(cert.as_ref())
        .is_ok_and(|(_, c)| c.subject().as_raw() == c.issuer().as_raw())
}

/// A self-signed server certificate that is not in the bundle.
#[derive(Debug)]
pub struct SelfSignedNotTrusted;

impl std::fmt::Display for SelfSignedNotTrusted {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("the certificate is self-signed and not in the trusted CA bundle")
    }
}

impl StdError for SelfSignedNotTrusted {}

/// True when `err` is the self-signed rejection of `TrustVerifier`.
pub fn is_self_signed_rejection(err: &CertificateError) -> bool {
    matches!(err, CertificateError::Other(other) if other.0.is::<SelfSignedNotTrusted>())
}

/// A rejected TLS connection to `endpoint`, in the user's words with a
/// hint; `None` when `err` holds no TLS failure.
pub fn explain(err: &(dyn StdError + 'static), endpoint: &str) -> Option<(String, String)> {
    use CertificateError as C;
    let tls = chain(err).find_map(|e| e.downcast_ref::<rustls::Error>())?;
    let (what, hint) = match tls {
        rustls::Error::InvalidCertificate(e) => match e {
            C::Expired | C::ExpiredContext { .. } => (
                "has expired".to_string(),
                "renew the endpoint's certificate",
            ),
            C::NotValidYet | C::NotValidYetContext { .. } => (
                "is not valid yet".to_string(),
                "check the certificate's dates and this machine's clock",
            ),
            C::NotValidForName | C::NotValidForNameContext { .. } => (
                "does not name this host".to_string(),
                "use the host name the certificate was issued for, or reissue it with this name",
            ),
            C::UnknownIssuer => ("is signed by an untrusted CA".to_string(), CA_HINT),
            e if is_self_signed_rejection(e) => (
                "is self-signed and not in the trusted CA bundle".to_string(),
                SELF_SIGNED_HINT,
            ),
            other => (format!("was rejected ({other:?})"), CA_HINT),
        },
        other => {
            return Some((
                format!("TLS with {endpoint} failed: {other}"),
                "is the endpoint really https (not plain http) on this port?".to_string(),
            ));
        }
    };
    Some((
        format!("the TLS certificate of {endpoint} {what}"),
        hint.to_string(),
    ))
}

/// `err` and its sources; an `io::Error`'s payload counts as its source
/// (hyper-rustls wraps the rustls error in `io::Error`s).
pub fn chain<'a>(
    err: &'a (dyn StdError + 'static),
) -> impl Iterator<Item = &'a (dyn StdError + 'static)> {
    std::iter::successors(Some(err), |&e| match e.downcast_ref::<std::io::Error>() {
        Some(io) => io.get_ref().map(|inner| inner as &(dyn StdError + 'static)),
        None => e.source(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A rustls error as hyper-rustls hands it over: inside an `io::Error`.
    fn wrapped(e: rustls::Error) -> std::io::Error {
        std::io::Error::other(e)
    }

    #[test]
    fn rejections_are_explained_in_the_users_words() {
        let self_signed = CertificateError::Other(OtherError(Arc::new(SelfSignedNotTrusted)));
        let cases = [
            (CertificateError::Expired, "has expired", "renew"),
            (CertificateError::NotValidYet, "not valid yet", "clock"),
            (
                CertificateError::NotValidForName,
                "does not name",
                "host name",
            ),
            (
                CertificateError::UnknownIssuer,
                "untrusted CA",
                "--ca-bundle",
            ),
            (self_signed, "self-signed", "certificate itself"),
        ];
        for (error, says, hint) in cases {
            let io = wrapped(rustls::Error::InvalidCertificate(error));
            let (text, why) = explain(&io, "https://s3.example:9000").expect("a TLS failure");
            assert!(
                text.contains(says) && text.contains("s3.example:9000"),
                "{text}"
            );
            assert!(why.contains(hint), "{why}");
        }
        let plain = std::io::Error::other("connection refused");
        assert!(explain(&plain, "x").is_none());
    }

    #[test]
    fn a_bundle_without_certificates_is_refused() {
        let dir = std::env::temp_dir().join(format!("ct-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("dir");
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").expect("write");
        let err = load_bundle(&empty).expect_err("no certificate");
        assert!(err.to_string().contains("no PEM certificate"), "{err}");
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn pem_blocks_read_back_as_the_same_certificates() {
        // Lengths around the 48 bytes of one 64-character line.
        let ders: Vec<CertificateDer<'static>> = [1usize, 47, 48, 49, 200, 1500]
            .iter()
            .map(|&n| CertificateDer::from((0..n).map(|i| (i * 7 % 256) as u8).collect::<Vec<_>>()))
            .collect();
        let pem: Vec<u8> = ders.iter().flat_map(|d| pem_certificate(d)).collect();
        let text = String::from_utf8(pem.clone()).expect("ascii");
        assert!(text.lines().all(|l| l.len() <= 64), "{text}");
        let back: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
            .collect::<Result<_, _>>()
            .expect("parses");
        assert_eq!(back, ders);
    }
}
