//! `Secret`: the one type for a secret value the tool holds itself. Its
//! `Debug` and `Display` print `[redacted]`, so a secret that reaches a log
//! line, an error message or a `{:?}` dump shows nothing; the value is read
//! only through the explicit `expose`.
//!
//! Credentials stay inside the AWS SDK (which redacts them too) and the
//! rendered files refer to secret files instead of holding values. What the
//! tool holds itself uses this type: the secret of an app key it just made
//! (written only to the app's credentials file), Garage's admin token, the
//! Redis password (read from `REDIS_PASSWORD`) and the app's generated ACL
//! password.

#![warn(unreachable_pub)]

use std::fmt;

/// What a secret prints as.
pub(crate) const REDACTED: &str = "[redacted]";

/// A secret value; printing it, in any format, shows `[redacted]`.
#[derive(Clone, PartialEq, Eq)]
pub(crate) struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub(crate) fn new(value: impl Into<String>) -> Secret {
        Secret(value.into())
    }

    /// The value itself, for the one place that must send it (a signer,
    /// a request header). Never format it.
    pub(crate) fn expose(&self) -> &str {
        &self.0
    }

    /// True when the value is empty (an unset variable, usually).
    #[cfg_attr(
        not(test),
        allow(
            dead_code,
            reason = "for passwords from the environment (Redis, SQL stores)"
        )
    )]
    pub(crate) fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Secret({REDACTED})")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(REDACTED)
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Secret {
        Secret(value)
    }
}

#[cfg(test)]
mod tests {
    use super::{REDACTED, Secret};

    const CANARY: &str = "CANARY-s3cr3t-7f1d";

    #[test]
    fn no_format_shows_the_value() {
        let secret = Secret::new(CANARY);
        #[derive(Debug)]
        #[allow(dead_code)] // read only through Debug
        struct Holder {
            key: Secret,
        }
        let holder = Holder {
            key: secret.clone(),
        };
        for shown in [
            format!("{secret}"),
            format!("{secret:?}"),
            format!("{secret:#?}"),
            format!("{secret:>40}"),
            format!("{holder:?}"),
            format!("{holder:#?}"),
            secret.to_string(),
        ] {
            assert!(!shown.contains(CANARY), "{shown}");
            assert!(shown.contains(REDACTED), "{shown}");
        }
    }

    #[test]
    fn the_value_is_there_for_who_must_send_it() {
        let secret = Secret::from(CANARY.to_string());
        assert_eq!(secret.expose(), CANARY);
        assert!(!secret.is_empty());
        assert!(Secret::new("").is_empty());
    }
}
