//! MinIO admin-API answers as the tool's errors: MinIO's JSON error
//! (`{"Code", "Message"}`) becomes an `ApiFailure` with its cause (a wrong
//! secret, an unknown key, no admin rights) and a hint, on one line.

use serde::Deserialize;

use super::transport::Answer;
use crate::error::{ApiCause, ApiFailure, Error, Result};

/// A non-success answer as an error, with MinIO's code and message.
pub(super) fn refused(endpoint: &str, op: &str, resource: &str, answer: &Answer) -> Error {
    let said: ErrorAnswer = serde_json::from_slice(&answer.body).unwrap_or_default();
    let cause = match (answer.status, said.code.as_str()) {
        (_, "SignatureDoesNotMatch") => ApiCause::BadSignature {
            quote_message: false,
        },
        (_, "InvalidAccessKeyId") => ApiCause::UnknownKey,
        (_, "AccessDenied") => ApiCause::AccessDenied,
        (403, "") => ApiCause::Forbidden,
        (status, "") => ApiCause::Unexplained(format!("HTTP {status}")),
        _ => ApiCause::Refused,
    };
    let mut error = failure(endpoint, op, resource, Some(answer.status), cause);
    error.code = Some(said.code).filter(|c| !c.is_empty());
    error.message = Some(one_line(&said.message)).filter(|m| !m.is_empty());
    Error::Api(Box::new(error))
}

/// A call that got no usable answer (or could not be made).
pub(super) fn fail(
    endpoint: &str,
    op: &str,
    resource: &str,
    status: Option<u16>,
    cause: ApiCause,
) -> Error {
    Error::Api(Box::new(failure(endpoint, op, resource, status, cause)))
}

fn failure(
    endpoint: &str,
    op: &str,
    resource: &str,
    status: Option<u16>,
    cause: ApiCause,
) -> ApiFailure {
    let hint = match cause {
        ApiCause::BadSignature { .. } | ApiCause::UnknownKey => {
            Some("the MinIO admin credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY")
        }
        ApiCause::AccessDenied | ApiCause::Forbidden => {
            Some("these credentials are not a MinIO admin (they need the admin:* actions)")
        }
        _ => None,
    };
    ApiFailure {
        operation: format!("MinIO admin {op}"),
        resource: resource.to_string(),
        endpoint: endpoint.to_string(),
        status,
        code: None,
        message: None,
        cause,
        hint: hint.map(str::to_string),
    }
}

/// MinIO's error answer: `{"Code": ..., "Message": ...}`.
#[derive(Debug, Default, Deserialize)]
struct ErrorAnswer {
    #[serde(rename = "Code", default)]
    code: String,
    #[serde(rename = "Message", default)]
    message: String,
}

/// The `Code` of an error answer, or "".
pub(super) fn error_code(answer: &Answer) -> String {
    serde_json::from_slice::<ErrorAnswer>(&answer.body)
        .map(|e| e.code)
        .unwrap_or_default()
}

/// A JSON answer of `op`, or a one-line error.
pub(super) fn parse<T: serde::de::DeserializeOwned>(
    op: &str,
    resource: &str,
    body: &[u8],
) -> Result<T> {
    serde_json::from_slice(body).map_err(|e| {
        Error::cloud(format!(
            "MinIO admin {op} {resource}: unexpected answer: {e}"
        ))
    })
}

/// A server's message on one line (it is quoted in a one-line error).
fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, body: &str) -> Answer {
        Answer {
            status,
            body: body.as_bytes().to_vec().into(),
        }
    }

    #[test]
    fn minio_errors_become_one_line_with_their_cause() {
        let cases = [
            (
                403,
                r#"{"Code":"SignatureDoesNotMatch","Message":"The request\nsignature ..."}"#,
                "rejected the credentials' signature: wrong secret key? (SignatureDoesNotMatch)",
            ),
            (
                404,
                r#"{"Code":"XMinioAdminNoSuchUser","Message":"The specified user does not exist."}"#,
                "MinIO admin user-info on app: XMinioAdminNoSuchUser: The specified user does not exist.",
            ),
            (
                403,
                "",
                "MinIO admin user-info on app: access denied (HTTP 403)",
            ),
            (502, "<html>", "HTTP 502"),
        ];
        for (status, body, says) in cases {
            let shown =
                refused("http://m:9000", "user-info", "app", &answer(status, body)).to_string();
            assert!(shown.contains(says), "{shown}");
            assert!(!shown.contains('\n'), "{shown}");
        }
    }

    #[test]
    fn a_wrong_secret_has_a_hint() {
        let error = refused(
            "http://m:9000",
            "add-user",
            "app",
            &answer(403, r#"{"Code":"SignatureDoesNotMatch"}"#),
        );
        assert!(
            error
                .hint()
                .is_some_and(|h| h.contains("AWS_SECRET_ACCESS_KEY"))
        );
    }
}
