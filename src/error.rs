//! Errors and exit codes: the one place that decides what a failure prints
//! and which exit status it maps to (product.md: 0 ok, 1 findings, 2 error, 130 interrupted).

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
    use super::{SourceLocation, SpecProblem};

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
