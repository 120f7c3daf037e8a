//! Google's credentials, as Application Default Credentials find them
//! from a file: the file `GOOGLE_APPLICATION_CREDENTIALS` names, else
//! gcloud's well-known `application_default_credentials.json` (in
//! `$CLOUDSDK_CONFIG`, else `~/.config/gcloud/`). Two kinds of file: a
//! service-account key (a JWT signed with its private key, RS256 with
//! aws-lc-rs, exchanged at its `token_uri`) and gcloud's user credentials,
//! `authorized_user` (its refresh token exchanged at its `token_uri`,
//! Google's by default). The token is fetched once and reused until a
//! minute before it expires.
//!
//! The metadata server of a VM is never asked (it is the last resort of
//! Google's own libraries): without a file the tool says so. A token
//! endpoint must be https, or plain http on loopback (the bench's stub).
//! Private keys, client secrets, refresh and access tokens are `Secret`s:
//! no message carries them.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rustls_pki_types::PrivatePkcs8KeyDer;
use rustls_pki_types::pem::PemObject;
use serde::Deserialize;

use crate::error::{ApiCause, ApiFailure, Error, Result};
use crate::secret::Secret;
use crate::transport::network::Endpoint;
use crate::transport::rest::{Request, RestClient};

/// The environment variable naming the key file, as Google's tools read it.
pub(crate) const KEY_FILE_ENV: &str = "GOOGLE_APPLICATION_CREDENTIALS";
/// gcloud's configuration folder when not `~/.config/gcloud`.
const GCLOUD_CONFIG_ENV: &str = "CLOUDSDK_CONFIG";
/// The file `gcloud auth application-default login` writes there.
const WELL_KNOWN_FILE: &str = "application_default_credentials.json";
/// Google's token endpoint, where a file names none.
const GOOGLE_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";
/// The environment variable naming the app's own key file, for `check`'s
/// test of its permissions (optional; never needed by other commands).
pub(crate) const APP_KEY_FILE_ENV: &str = "CHRONOTRACE_OPS_GCS_APP_CREDENTIALS";
/// Read, write, list and delete objects; manage buckets and their IAM.
const SCOPE: &str = "https://www.googleapis.com/auth/devstorage.full_control";
/// A token is asked for this long (Google's maximum).
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// A token this close to its expiry is replaced before use.
const EXPIRY_MARGIN: Duration = Duration::from_secs(60);
/// Hosts of the metadata server: never a token endpoint of this tool.
const METADATA_HOSTS: [&str; 2] = ["metadata.google.internal", "169.254.169.254"];

/// A service-account key file, with its private key ready to sign.
pub(crate) struct ServiceAccount {
    pub(crate) path: PathBuf,
    pub(crate) client_email: String,
    key_id: Option<String>,
    token_uri: Endpoint,
    signer: RsaKeyPair,
}

impl std::fmt::Debug for ServiceAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key.
        f.debug_struct("ServiceAccount")
            .field("path", &self.path)
            .field("client_email", &self.client_email)
            .field("token_uri", &self.token_uri.url)
            .finish_non_exhaustive()
    }
}

/// The key file's fields the tool reads (the rest is ignored).
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: Option<String>,
    client_email: Option<String>,
    private_key: Option<String>,
    private_key_id: Option<String>,
    token_uri: Option<String>,
}

/// The credentials a run uses: a service-account key or gcloud's user
/// credentials.
#[derive(Debug)]
pub(crate) enum Credentials {
    Key(ServiceAccount),
    User(AuthorizedUser),
}

impl Credentials {
    /// The file `GOOGLE_APPLICATION_CREDENTIALS` names, else gcloud's
    /// well-known file; never the metadata server.
    pub(crate) fn from_env() -> Result<Credentials> {
        if let Some(path) = std::env::var_os(KEY_FILE_ENV).filter(|v| !v.is_empty()) {
            return Credentials::from_file(Path::new(&path));
        }
        let folder = match std::env::var_os(GCLOUD_CONFIG_ENV).filter(|v| !v.is_empty()) {
            Some(folder) => Some(PathBuf::from(folder)),
            None => std::env::var_os("HOME")
                .filter(|v| !v.is_empty())
                .map(|home| PathBuf::from(home).join(".config").join("gcloud")),
        };
        match folder
            .map(|f| f.join(WELL_KNOWN_FILE))
            .filter(|f| f.is_file())
        {
            Some(path) => Credentials::from_file(&path),
            None => Err(Error::usage_with_hint(
                format!(
                    "no GCS credentials: {KEY_FILE_ENV} is not set and gcloud's {WELL_KNOWN_FILE} was not found"
                ),
                format!(
                    "set {KEY_FILE_ENV} to a service-account key file, or run `gcloud auth application-default login`; the tool never asks a VM's metadata server"
                ),
            )),
        }
    }

    /// A credentials file of either kind, told apart by its `type`.
    pub(crate) fn from_file(path: &Path) -> Result<Credentials> {
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        #[derive(Deserialize)]
        struct Kind {
            #[serde(rename = "type")]
            kind: Option<String>,
        }
        let kind = serde_json::from_slice::<Kind>(&text)
            .ok()
            .and_then(|k| k.kind);
        match kind.as_deref() {
            Some("authorized_user") => AuthorizedUser::from_file(path).map(Credentials::User),
            // Anything else is read as a key, whose errors say what is wrong.
            _ => ServiceAccount::from_file(path).map(Credentials::Key),
        }
    }

    /// Who the calls run as, for messages: the account's e-mail, or the
    /// gcloud user's file.
    pub(crate) fn who(&self) -> String {
        match self {
            Credentials::Key(key) => key.client_email.clone(),
            Credentials::User(user) => format!("the gcloud user of {}", user.path.display()),
        }
    }

    /// A fresh access token.
    pub(crate) async fn exchange(&self, client: &RestClient) -> Result<Token> {
        match self {
            Credentials::Key(key) => key.exchange(client).await,
            Credentials::User(user) => user.exchange(client).await,
        }
    }
}

/// gcloud's user credentials (`gcloud auth application-default login`).
pub(crate) struct AuthorizedUser {
    pub(crate) path: PathBuf,
    client_id: String,
    client_secret: Secret,
    refresh_token: Secret,
    token_uri: Endpoint,
}

impl std::fmt::Debug for AuthorizedUser {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secret or the refresh token.
        f.debug_struct("AuthorizedUser")
            .field("path", &self.path)
            .field("token_uri", &self.token_uri.url)
            .finish_non_exhaustive()
    }
}

impl AuthorizedUser {
    /// Reads and checks the file; errors name the file, never a secret.
    fn from_file(path: &Path) -> Result<AuthorizedUser> {
        let shown = path.display();
        let bad = |why: &str| {
            Error::usage_with_hint(
                format!("{shown}: {why}"),
                "run `gcloud auth application-default login` again, or use a service-account key",
            )
        };
        #[derive(Deserialize)]
        struct UserFile {
            client_id: Option<String>,
            client_secret: Option<String>,
            refresh_token: Option<String>,
            token_uri: Option<String>,
        }
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let file: UserFile = serde_json::from_slice(&text).map_err(|e| {
            bad(&format!(
                "not a JSON credentials file (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        let present = |v: Option<String>, name: &str| {
            v.filter(|v| !v.is_empty())
                .ok_or_else(|| bad(&format!("no {name}")))
        };
        let raw_uri = file.token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URI.into());
        Ok(AuthorizedUser {
            path: path.to_path_buf(),
            client_id: present(file.client_id, "client_id")?,
            client_secret: Secret::new(present(file.client_secret, "client_secret")?),
            refresh_token: Secret::new(present(file.refresh_token, "refresh_token")?),
            token_uri: token_endpoint(&raw_uri).map_err(|why| bad(&why))?,
        })
    }

    /// Exchanges the refresh token for an access token.
    async fn exchange(&self, client: &RestClient) -> Result<Token> {
        let escape = |v: &str| {
            percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
        };
        let form = Secret::new(format!(
            "grant_type=refresh_token&client_id={}&client_secret={}&refresh_token={}",
            escape(&self.client_id),
            escape(self.client_secret.expose()),
            escape(self.refresh_token.expose())
        ));
        let grant = Grant {
            token_uri: &self.token_uri,
            who: format!("the gcloud user of {}", self.path.display()),
            hint: format!(
                "the refresh token of {} was refused or could not be used: run `gcloud auth application-default login` again",
                self.path.display()
            ),
        };
        grant.ask(client, form).await
    }
}

/// One request for an access token at a token endpoint.
struct Grant<'a> {
    token_uri: &'a Endpoint,
    /// Whose token, for messages.
    who: String,
    hint: String,
}

impl Grant<'_> {
    /// POSTs `form` and reads the token out of the answer.
    async fn ask(&self, client: &RestClient, form: Secret) -> Result<Token> {
        let request = Request::new(hyper::Method::POST, &self.token_uri.url).body(
            "application/x-www-form-urlencoded",
            form.expose().to_string(),
        );
        let asked = Instant::now();
        let failure = |cause: ApiCause, status, code, message| {
            Error::Api(Box::new(ApiFailure {
                operation: "token exchange".into(),
                resource: self.who.clone(),
                endpoint: self.token_uri.url.clone(),
                status,
                code,
                message,
                cause,
                hint: Some(self.hint.clone()),
            }))
        };
        let answer = client.send(&request).await.map_err(|f| {
            let cause = f.cause();
            failure(cause, None, None, None)
        })?;
        #[derive(Deserialize)]
        struct Granted {
            access_token: Option<String>,
            expires_in: Option<u64>,
            error: Option<String>,
            error_description: Option<String>,
        }
        let granted: Option<Granted> = serde_json::from_slice(&answer.body).ok();
        match granted {
            Some(Granted {
                access_token: Some(token),
                expires_in,
                ..
            }) if answer.status == 200 && !token.is_empty() => Ok(Token {
                value: Secret::new(token),
                expires: asked
                    + Duration::from_secs(expires_in.unwrap_or(TOKEN_LIFETIME.as_secs())),
            }),
            Some(Granted {
                error,
                error_description,
                ..
            }) => Err(failure(
                ApiCause::Refused,
                Some(answer.status),
                Some(error.unwrap_or_else(|| format!("HTTP {}", answer.status))),
                error_description,
            )),
            None => Err(failure(
                ApiCause::Unexplained(format!("HTTP {}, not a token answer", answer.status)),
                Some(answer.status),
                None,
                None,
            )),
        }
    }
}

impl ServiceAccount {
    /// Reads and checks a key file; errors name the file, never the key.
    pub(crate) fn from_file(path: &Path) -> Result<ServiceAccount> {
        let shown = path.display();
        let text = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let bad = |why: &str| {
            Error::usage_with_hint(
                format!("{KEY_FILE_ENV} {shown}: {why}"),
                "download a JSON key of the service account (IAM > Service accounts > Keys)",
            )
        };
        // serde_json's own message could quote the file: say where only.
        let file: KeyFile = serde_json::from_slice(&text).map_err(|e| {
            bad(&format!(
                "not a JSON key file (line {}, column {})",
                e.line(),
                e.column()
            ))
        })?;
        if file.kind.as_deref() != Some("service_account") {
            return Err(bad(
                "not a service-account key (\"type\" is not \"service_account\")",
            ));
        }
        let client_email = file
            .client_email
            .filter(|e| e.contains('@'))
            .ok_or_else(|| bad("no client_email"))?;
        let pem = Secret::new(file.private_key.ok_or_else(|| bad("no private_key"))?);
        let der = PrivatePkcs8KeyDer::from_pem_slice(pem.expose().as_bytes())
            .map_err(|_| bad("private_key is not a PEM PKCS#8 key"))?;
        let signer = RsaKeyPair::from_pkcs8(der.secret_pkcs8_der())
            .map_err(|_| bad("private_key is not an RSA key"))?;
        let raw_uri = file.token_uri.unwrap_or_else(|| GOOGLE_TOKEN_URI.into());
        let token_uri = token_endpoint(&raw_uri).map_err(|why| bad(&why))?;
        Ok(ServiceAccount {
            path: path.to_path_buf(),
            client_email,
            key_id: file.private_key_id,
            token_uri,
            signer,
        })
    }

    /// The signed JWT asking for a token of `SCOPE`, issued at `now`.
    fn assertion(&self, now: u64) -> Result<Secret> {
        let mut header = serde_json::json!({"alg": "RS256", "typ": "JWT"});
        if let Some(kid) = &self.key_id {
            header["kid"] = kid.clone().into();
        }
        let claims = serde_json::json!({
            "iss": self.client_email,
            "scope": SCOPE,
            "aud": self.token_uri.url,
            "iat": now,
            "exp": now + TOKEN_LIFETIME.as_secs(),
        });
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let mut signature = vec![0; self.signer.public_modulus_len()];
        self.signer
            .sign(
                &RSA_PKCS1_SHA256,
                &SystemRandom::new(),
                signing_input.as_bytes(),
                &mut signature,
            )
            .map_err(|_| {
                Error::cloud(format!(
                    "{}: could not sign the token request",
                    self.path.display()
                ))
            })?;
        Ok(Secret::new(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(signature)
        )))
    }

    /// Exchanges a fresh assertion for an access token.
    pub(crate) async fn exchange(&self, client: &RestClient) -> Result<Token> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        let assertion = self.assertion(now)?;
        let form = Secret::new(format!(
            "grant_type={}&assertion={}",
            "urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Ajwt-bearer",
            assertion.expose()
        ));
        let grant = Grant {
            token_uri: &self.token_uri,
            who: self.client_email.clone(),
            hint: format!(
                "check the key file {} (is the key still active?) and that the token endpoint answers",
                self.path.display()
            ),
        };
        grant.ask(client, form).await
    }
}

/// An access token and when it stops being good.
#[derive(Debug, Clone)]
pub(crate) struct Token {
    pub(crate) value: Secret,
    expires: Instant,
}

impl Token {
    /// Still good for more than the margin.
    pub(crate) fn fresh(&self) -> bool {
        Instant::now() + EXPIRY_MARGIN < self.expires
    }
}

/// The token endpoint a key file may name: https anywhere, plain http on
/// loopback only, never the metadata server.
fn token_endpoint(raw: &str) -> std::result::Result<Endpoint, String> {
    let endpoint = Endpoint::parse(raw).map_err(|e| format!("token_uri: {e}"))?;
    if METADATA_HOSTS.contains(&endpoint.host.as_str()) {
        return Err(format!(
            "token_uri {raw} is the metadata server, which this tool never asks"
        ));
    }
    if !endpoint.https && !endpoint.is_loopback() {
        return Err(format!(
            "token_uri {raw}: plain http is allowed on loopback only"
        ));
    }
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_endpoints_are_https_or_loopback_and_never_the_metadata_server() {
        assert!(token_endpoint("https://oauth2.googleapis.com/token").is_ok());
        assert!(token_endpoint("http://127.0.0.1:8080/token").is_ok());
        for bad in [
            "http://oauth2.googleapis.com/token",
            "http://169.254.169.254/computeMetadata/v1/instance/service-accounts/default/token",
            "https://metadata.google.internal/token",
            "ftp://127.0.0.1/token",
        ] {
            assert!(token_endpoint(bad).is_err(), "{bad}");
        }
    }

    fn key_file(dir: &Path, fields: serde_json::Value) -> PathBuf {
        let path = dir.join("key.json");
        std::fs::write(&path, fields.to_string()).expect("written");
        path
    }

    #[test]
    fn a_malformed_key_file_is_one_line_naming_the_file_never_the_key() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let secret = "-----BEGIN PRIVATE KEY-----\nc2VjcmV0IGtleSBtYXRlcmlhbA==\n-----END PRIVATE KEY-----\n";
        for (fields, why) in [
            (
                serde_json::json!({"type": "authorized_user"}),
                "not a service-account key",
            ),
            (
                serde_json::json!({"type": "service_account", "private_key": secret}),
                "no client_email",
            ),
            (
                serde_json::json!({"type": "service_account", "client_email": "a@b.iam.gserviceaccount.com", "private_key": secret}),
                "not an RSA key",
            ),
        ] {
            let path = key_file(dir.path(), fields);
            let err = ServiceAccount::from_file(&path).expect_err("refused");
            let text = err.to_string();
            assert!(text.contains(why), "{text}");
            assert!(text.contains("key.json"), "{text}");
            assert!(
                !text.contains("c2VjcmV0") && !text.contains(secret),
                "{text}"
            );
            assert!(!text.contains('\n'), "{text}");
        }
        std::fs::write(dir.path().join("key.json"), "{\"private_key\": \"c2VjcmV0")
            .expect("written");
        let text = ServiceAccount::from_file(&dir.path().join("key.json"))
            .expect_err("not JSON")
            .to_string();
        assert!(
            text.contains("not a JSON key file") && !text.contains("c2VjcmV0"),
            "{text}"
        );
    }

    #[test]
    fn gcloud_user_credentials_are_read_by_their_type_and_checked_without_showing_secrets() {
        let dir = tempfile::tempdir().expect("a temporary directory");
        let user = serde_json::json!({"type": "authorized_user", "client_id": "id",
            "client_secret": "shh-client", "refresh_token": "shh-refresh"});
        let path = key_file(dir.path(), user.clone());
        let read = Credentials::from_file(&path).expect("user credentials");
        assert!(matches!(&read, Credentials::User(u) if u.token_uri.url == GOOGLE_TOKEN_URI));
        assert!(!format!("{read:?}").contains("shh"), "{read:?}");
        let mut broken = user;
        broken["refresh_token"] = "".into();
        broken["token_uri"] = "http://169.254.169.254/token".into();
        let path = key_file(dir.path(), broken);
        let text = Credentials::from_file(&path)
            .expect_err("no refresh token")
            .to_string();
        assert!(
            text.contains("no refresh_token") && text.contains("key.json"),
            "{text}"
        );
        assert!(!text.contains("shh"), "{text}");
    }
}
