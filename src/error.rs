//! Errors and exit codes: the one place that decides what a failure prints
//! and which exit status it maps to (0 ok, 1 findings, 2 error, 130 interrupted).

use std::fmt;
use std::path::PathBuf;

/// The process exit status, following the grep/diff convention.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Everything is as asked.
    Ok = 0,
    /// The world is not as asked: a failed check, drifted files, pending changes.
    Findings = 1,
    /// The job could not be done: bad usage, invalid spec, I/O or API error.
    Error = 2,
    /// Ctrl-C or SIGTERM stopped the run (128 + SIGINT, as shells say).
    Interrupted = 130,
}

impl From<ExitStatus> for std::process::ExitCode {
    fn from(status: ExitStatus) -> Self {
        std::process::ExitCode::from(status as u8)
    }
}

/// Where in a file something applies: file, 1-based line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceLocation {
    pub file: String,
    pub line: u64,
    pub column: u64,
}

impl fmt::Display for SourceLocation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}", self.file)
        } else {
            write!(f, "{}:{}:{}", self.file, self.line, self.column)
        }
    }
}

/// One broken rule of the spec, with where it applies.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SpecProblem {
    pub at: SourceLocation,
    /// A stable rule id such as `lifecycle.ia-minimum-days`.
    pub rule: &'static str,
    pub message: String,
}

impl fmt::Display for SpecProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let message = escape_controls(&self.message);
        write!(f, "{}: {message} [rule: {}]", self.at, self.rule)
    }
}

/// `text` with control characters escaped (`\n`), so that a value quoted
/// from the spec (a YAML string may hold a newline) keeps a problem on one
/// line.
fn escape_controls(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_control() {
                c.escape_default().to_string()
            } else {
                c.to_string()
            }
        })
        .collect()
}

fn join_lines(problems: &[SpecProblem]) -> String {
    let lines: Vec<String> = problems.iter().map(ToString::to_string).collect();
    lines.join("\n")
}

/// Every failure the tool reports. Each variant renders as one line.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The spec is not valid YAML or breaks rules: one line per problem.
    #[error("{}", join_lines(.0))]
    Spec(Vec<SpecProblem>),
    /// The command line asks for something impossible.
    #[error("{message}")]
    Usage {
        message: String,
        hint: Option<String>,
    },
    /// A file or directory could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The object store or an AWS API refused or could not be reached.
    #[error("{message}")]
    Cloud {
        message: String,
        hint: Option<String>,
    },
    /// A template failed to parse or render.
    #[error("template {name}: {message}")]
    Template { name: String, message: String },
    /// Ctrl-C or SIGTERM: the work stopped where it was (what it had done
    /// is reported by the command before this line).
    #[error("{}", crate::interrupt::MESSAGE)]
    Interrupted,
    /// A call to a store's or an identity service's API failed.
    #[error("{0}")]
    Api(Box<ApiFailure>),
}

/// A failed API call with its context: what was asked of whom, and what
/// came back. The one-line message is built from these fields.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiFailure {
    /// The API action, e.g. `ListObjectsV2`, `iam:CreateRole`.
    pub operation: String,
    /// What it was asked about: a bucket, `bucket/prefix`, a key, an IAM name.
    pub resource: String,
    /// The endpoint URL, or `AWS (region)`.
    pub endpoint: String,
    /// The HTTP status of the answer, read from the raw response (none
    /// when no answer came).
    pub status: Option<u16>,
    /// The service's error code and message, when it sent them.
    pub code: Option<String>,
    pub message: Option<String>,
    pub cause: ApiCause,
    /// How to fix it, when the cause is known.
    pub hint: Option<String>,
}

/// Why an API call failed, as far as the tool can tell.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiCause {
    /// The TLS handshake was refused: why, in words.
    TlsRejected(String),
    /// No connection, or it broke: the transport's one-line detail.
    Unreachable(String),
    /// The credentials could not be resolved: the provider's detail.
    NoCredentials(String),
    /// The request could not be sent for another reason.
    NotSent(String),
    /// The endpoint took the request and did not answer within `limit`
    /// (shown, e.g. "20s").
    Silent {
        limit: String,
    },
    /// The access key is unknown to the endpoint.
    UnknownKey,
    /// The signature was rejected (a wrong secret key); `quote_message`
    /// when the server's message is what says so (Garage).
    BadSignature {
        quote_message: bool,
    },
    ExpiredCredentials,
    AccessDenied,
    /// A bucket name taken by another account.
    NameTaken,
    /// The bucket lives in another region than `region`.
    RegionMismatch {
        region: String,
    },
    /// A bare 403 without an error code.
    Forbidden,
    /// No error code: the SDK's one-line detail.
    Unexplained(String),
    /// Any other error code the server sent.
    Refused,
}

impl ApiFailure {
    /// `Code: message`, or just the code.
    fn said(&self) -> String {
        let code = self.code.as_deref().unwrap_or("");
        match self.message.as_deref() {
            Some(m) if !m.is_empty() => format!("{code}: {m}"),
            _ => code.to_string(),
        }
    }
}

impl fmt::Display for ApiFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (op, res, at) = (&self.operation, &self.resource, &self.endpoint);
        let said = self.said();
        match &self.cause {
            ApiCause::TlsRejected(text) => write!(f, "{op}: {text}"),
            ApiCause::Unreachable(detail) => write!(f, "{op}: cannot reach {at}: {detail}"),
            ApiCause::NoCredentials(detail) => {
                write!(f, "{op}: no usable credentials for {at}: {detail}")
            }
            ApiCause::NotSent(detail) | ApiCause::Unexplained(detail) => {
                write!(f, "{op} on {res} at {at}: {detail}")
            }
            ApiCause::Silent { limit } => write!(f, "{op}: {at} did not answer within {limit}"),
            ApiCause::UnknownKey => write!(f, "{op}: the access key is not known to {at} ({said})"),
            ApiCause::BadSignature { quote_message } => {
                let shown = if *quote_message {
                    said
                } else {
                    self.code.clone().unwrap_or_default()
                };
                write!(
                    f,
                    "{op}: {at} rejected the credentials' signature: wrong secret key? ({shown})"
                )
            }
            ApiCause::ExpiredCredentials => {
                write!(f, "{op}: the credentials have expired ({said})")
            }
            ApiCause::AccessDenied => write!(f, "{op} on {res}: access denied ({said})"),
            ApiCause::NameTaken => write!(f, "{op} {res}: the name is taken by another account"),
            ApiCause::RegionMismatch { region } => {
                write!(f, "{op} {res}: region mismatch with {region} ({said})")
            }
            ApiCause::Forbidden => write!(f, "{op} on {res}: access denied (HTTP 403)"),
            ApiCause::Refused => write!(f, "{op} on {res}: {said}"),
        }
    }
}

impl Error {
    /// A usage error without a hint.
    pub fn usage(message: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: None,
        }
    }

    /// A usage error with a hint saying how to fix it.
    pub fn usage_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Usage {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// A cloud error without a hint.
    pub fn cloud(message: impl Into<String>) -> Self {
        Error::Cloud {
            message: message.into(),
            hint: None,
        }
    }

    /// A cloud error with a hint saying how to fix it.
    pub fn cloud_with_hint(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Error::Cloud {
            message: message.into(),
            hint: Some(hint.into()),
        }
    }

    /// An I/O error on `path`.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// A hint for causes the tool knows how to fix, printed under the error.
    pub fn hint(&self) -> Option<String> {
        match self {
            Error::Usage { hint, .. } | Error::Cloud { hint, .. } => hint.clone(),
            Error::Api(failure) => failure.hint.clone(),
            Error::Io { source, .. } if source.kind() == std::io::ErrorKind::PermissionDenied => {
                Some("check the file's owner and mode, or choose another path".into())
            }
            _ => None,
        }
    }

    /// Every error is "could not do the job", but an interruption.
    pub fn exit_status(&self) -> ExitStatus {
        match self {
            Error::Interrupted => ExitStatus::Interrupted,
            _ => ExitStatus::Error,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::{ApiCause, ApiFailure, Error, SourceLocation, SpecProblem};

    fn failure(code: Option<&str>, message: Option<&str>, cause: ApiCause) -> Error {
        Error::Api(Box::new(ApiFailure {
            operation: "DeleteObjects".into(),
            resource: "traces".into(),
            endpoint: "http://127.0.0.1:9000".into(),
            status: Some(403),
            code: code.map(str::to_string),
            message: message.map(str::to_string),
            cause,
            hint: Some("the hint".into()),
        }))
    }

    /// The one-line message is built from the typed fields, as before.
    #[test]
    fn an_api_failure_says_what_whom_and_why_on_one_line() {
        let denied = failure(Some("AccessDenied"), Some("no"), ApiCause::AccessDenied);
        assert_eq!(
            denied.to_string(),
            "DeleteObjects on traces: access denied (AccessDenied: no)"
        );
        assert_eq!(denied.hint().as_deref(), Some("the hint"));
        let signature = |quote_message| {
            failure(
                Some("SignatureDoesNotMatch"),
                Some("long text"),
                ApiCause::BadSignature { quote_message },
            )
            .to_string()
        };
        assert!(signature(false).ends_with("wrong secret key? (SignatureDoesNotMatch)"));
        assert!(signature(true).ends_with("(SignatureDoesNotMatch: long text)"));
        assert_eq!(
            failure(None, None, ApiCause::Forbidden).to_string(),
            "DeleteObjects on traces: access denied (HTTP 403)"
        );
        assert_eq!(
            failure(
                None,
                None,
                ApiCause::Silent {
                    limit: "20s".into()
                }
            )
            .to_string(),
            "DeleteObjects: http://127.0.0.1:9000 did not answer within 20s"
        );
    }

    /// Found by the `spec` fuzz target: a storage class written as a YAML
    /// string holding a newline printed the problem on two lines.
    #[test]
    fn a_quoted_newline_keeps_a_problem_on_one_line() {
        let problem = SpecProblem {
            at: SourceLocation {
                file: "s.yaml".into(),
                line: 3,
                column: 7,
            },
            rule: "lifecycle.storage-class",
            message: "storage_class 'STANDAR\nD_IA\t' is not one of: GLACIER".into(),
        };
        assert_eq!(
            problem.to_string(),
            "s.yaml:3:7: storage_class 'STANDAR\\nD_IA\\t' is not one of: GLACIER [rule: lifecycle.storage-class]"
        );
    }
}
