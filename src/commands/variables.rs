//! The environment variables read beside the global flags: the tool's own,
//! renamed into its namespace (`CHRONOTRACE_OPS_*`; the Laravel package
//! owns `CHRONOTRACE_*`), whose old names still work with a deprecation
//! warning, and the AWS CLI's endpoint variables, with the AWS CLI's
//! precedence: `--endpoint-url`, then `AWS_ENDPOINT_URL_S3`, then
//! `AWS_ENDPOINT_URL`, then the spec's endpoint.
//!
//! The functions take the lookup of a variable as an argument, so the
//! rules are tested without touching the process's environment.

use crate::error::{Error, Result};
use crate::output;
use crate::spec::check_endpoint;

/// A variable of the tool that was renamed; clap reads `new` (its `env =`).
pub(super) struct Renamed {
    pub(super) old: &'static str,
    pub(super) new: &'static str,
}

/// `--env`'s variable.
pub(super) const ENV: Renamed = Renamed {
    old: "CHRONOTRACE_ENV",
    new: "CHRONOTRACE_OPS_ENV",
};

/// `--timeout`'s variable.
pub(super) const TIMEOUT: Renamed = Renamed {
    old: "CHRONOTRACE_TIMEOUT",
    new: "CHRONOTRACE_OPS_TIMEOUT",
};

/// The S3 endpoint variables of the AWS CLI and SDKs, the specific one first.
pub(super) const ENDPOINT_VARIABLES: [&str; 2] = ["AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"];

/// A variable's value, unset when empty (as the AWS CLI treats it).
pub(super) fn from_process(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

impl Renamed {
    /// The value of the flag or the new variable (`given`, from clap), else
    /// the old variable's, parsed by `parse`. The old name, when set, costs
    /// a one-line warning naming the new one, whichever value wins.
    pub(super) fn resolve<T>(
        &self,
        given: Option<T>,
        lookup: impl Fn(&str) -> Option<String>,
        parse: impl Fn(&str) -> std::result::Result<T, String>,
    ) -> Result<Option<T>> {
        let Some(old_value) = lookup(self.old) else {
            return Ok(given);
        };
        if given.is_some() {
            output::warn(&format!(
                "{} is deprecated and ignored here (the flag or {} wins): remove it",
                self.old, self.new
            ));
            return Ok(given);
        }
        output::warn(&format!(
            "{} is deprecated: rename it {}",
            self.old, self.new
        ));
        parse(&old_value)
            .map(Some)
            .map_err(|message| Error::usage(format!("{}: {message}", self.old)))
    }
}

/// The endpoint every S3, IAM and STS client uses and every probe checks:
/// `--endpoint-url`, else the first of `ENDPOINT_VARIABLES` set, validated
/// by the spec's endpoint rules (never credentials in the URL) with the
/// flag or variable named; `None` leaves the spec's endpoint.
pub(super) fn endpoint_url(
    flag: Option<&str>,
    lookup: impl Fn(&str) -> Option<String>,
) -> Result<Option<String>> {
    let chosen = flag
        .map(|url| ("--endpoint-url", url.to_string()))
        .or_else(|| {
            ENDPOINT_VARIABLES
                .iter()
                .find_map(|name| lookup(name).map(|url| (*name, url)))
        });
    let Some((origin, url)) = chosen else {
        return Ok(None);
    };
    let url = check_endpoint(&url)
        .map_err(|(rule, message)| Error::usage(format!("{origin}: {message} [rule: {rule}]")))?;
    tracing::debug!(endpoint = %url, from = origin, "endpoint override");
    Ok(Some(url))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vars(set: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            set.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_string())
        }
    }

    fn ok(text: &str) -> std::result::Result<String, String> {
        Ok(text.to_string())
    }

    #[test]
    fn the_endpoint_follows_the_aws_cli_precedence() {
        let both = vars(&[
            ("AWS_ENDPOINT_URL_S3", "http://127.0.0.1:9001"),
            ("AWS_ENDPOINT_URL", "http://127.0.0.1:9002"),
        ]);
        let flag = endpoint_url(Some("http://127.0.0.1:9000/"), &both);
        assert_eq!(
            flag.ok().flatten().as_deref(),
            Some("http://127.0.0.1:9000")
        );
        let specific = endpoint_url(None, &both);
        assert_eq!(
            specific.ok().flatten().as_deref(),
            Some("http://127.0.0.1:9001")
        );
        let general = endpoint_url(None, vars(&[("AWS_ENDPOINT_URL", "http://127.0.0.1:9002")]));
        assert_eq!(
            general.ok().flatten().as_deref(),
            Some("http://127.0.0.1:9002")
        );
        assert!(matches!(endpoint_url(None, vars(&[])), Ok(None)));
    }

    #[test]
    fn an_endpoint_variable_obeys_the_endpoint_rules_and_is_named() {
        let with_key = vars(&[("AWS_ENDPOINT_URL", "http://AKIA:secret@127.0.0.1:9000")]);
        let message = endpoint_url(None, with_key)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("AWS_ENDPOINT_URL: "), "{message}");
        assert!(message.contains("endpoint.credentials"), "{message}");
        assert!(!message.contains("secret"), "{message}");
    }

    #[test]
    fn the_new_name_wins_and_the_old_one_still_works() {
        let old = vars(&[("CHRONOTRACE_ENV", "staging")]);
        let given = ENV.resolve(Some("production".to_string()), &old, ok);
        assert_eq!(given.ok().flatten().as_deref(), Some("production"));
        let fallback = ENV.resolve(None, &old, ok);
        assert_eq!(fallback.ok().flatten().as_deref(), Some("staging"));
        assert!(matches!(ENV.resolve(None, vars(&[]), ok), Ok(None)));
    }

    #[test]
    fn an_old_value_is_parsed_and_named_when_wrong() {
        let old = vars(&[("CHRONOTRACE_TIMEOUT", "soon")]);
        let message = TIMEOUT
            .resolve(None, old, crate::transport::timeouts::Timeouts::parse)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(message.starts_with("CHRONOTRACE_TIMEOUT: "), "{message}");
    }
}
