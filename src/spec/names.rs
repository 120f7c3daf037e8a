//! Naming rules for buckets, IAM entities and host names (as S3 and IAM
//! document them).
//! Each check returns the broken rule's id and a message, or `Ok`.

/// A broken naming rule: (rule id, message).
pub(crate) type NameProblem = (&'static str, String);

/// AWS bucket naming rules, applied to every provider so specs stay portable.
pub(crate) fn check_bucket(name: &str) -> Result<(), NameProblem> {
    let rule = "bucket.name";
    if !(3..=63).contains(&name.len()) {
        return Err((
            rule,
            format!("bucket name '{name}' must be 3 to 63 characters long"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '.' || *c == '-'))
    {
        return Err((
            rule,
            format!("bucket name '{name}' may hold only a-z, 0-9, '.' and '-' (found '{c}')"),
        ));
    }
    let alnum = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric());
    if !alnum(name.chars().next()) || !alnum(name.chars().last()) {
        return Err((
            rule,
            format!("bucket name '{name}' must start and end with a letter or digit"),
        ));
    }
    if name.contains("..") {
        return Err((rule, format!("bucket name '{name}' must not contain '..'")));
    }
    if name.parse::<std::net::Ipv4Addr>().is_ok() {
        return Err((
            rule,
            format!("bucket name '{name}' must not be an IP address"),
        ));
    }
    for prefix in ["xn--", "sthree-", "amzn-s3-demo-"] {
        if name.starts_with(prefix) {
            return Err((
                rule,
                format!("bucket name '{name}' must not start with '{prefix}'"),
            ));
        }
    }
    for suffix in ["-s3alias", "--ol-s3", ".mrap", "--x-s3"] {
        if name.ends_with(suffix) {
            return Err((
                rule,
                format!("bucket name '{name}' must not end with '{suffix}'"),
            ));
        }
    }
    Ok(())
}

/// IAM role and managed policy names: `[\w+=,.@-]`, 1 to 64 characters.
pub(crate) fn check_iam_name(kind: &str, name: &str, max_len: usize) -> Result<(), NameProblem> {
    let rule = "iam.name";
    if name.is_empty() || name.len() > max_len {
        return Err((
            rule,
            format!("{kind} name '{name}' must be 1 to {max_len} characters long"),
        ));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || "_+=,.@-".contains(*c)))
    {
        return Err((
            rule,
            format!("{kind} name '{name}' may hold only letters, digits and _+=,.@- (found '{c}')"),
        ));
    }
    Ok(())
}

/// A service principal such as `ec2.amazonaws.com`: the one service trusted to assume the role.
pub(crate) fn check_service_principal(name: &str) -> Result<(), NameProblem> {
    let valid_host = is_hostname(name);
    if valid_host && (name.ends_with(".amazonaws.com") || name.ends_with(".amazonaws.com.cn")) {
        Ok(())
    } else {
        Err((
            "iam.trusted-service",
            format!(
                "trusted_service '{name}' must be one AWS service principal such as ec2.amazonaws.com"
            ),
        ))
    }
}

/// A DNS host name: labels of a-z, 0-9 and '-', not starting or ending with '-'.
pub(crate) fn is_hostname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 253
        && name.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && !label.starts_with('-')
                && !label.ends_with('-')
                && label.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bucket_names() {
        let ok = ["chronotrace-production", "abc", "a.b-c.1"];
        for name in ok {
            assert!(check_bucket(name).is_ok(), "{name}");
        }
        let bad = [
            "ab",
            "Chronotrace",
            "under_score",
            "-start",
            "end-",
            "a..b",
            "192.168.1.1",
            "xn--bucket",
            "sthree-bucket",
            "amzn-s3-demo-bucket",
            "bucket-s3alias",
            "bucket--ol-s3",
            "bucket.mrap",
            "bucket--x-s3",
        ];
        for name in bad {
            assert!(check_bucket(name).is_err(), "{name}");
        }
        assert!(check_bucket(&"a".repeat(64)).is_err());
    }

    #[test]
    fn iam_names() {
        assert!(check_iam_name("role", "ChronoTraceRole", 64).is_ok());
        assert!(check_iam_name("role", "a+b=c,d.e@f_g-h", 64).is_ok());
        assert!(check_iam_name("role", "has space", 64).is_err());
        assert!(check_iam_name("role", "", 64).is_err());
        assert!(check_iam_name("role", &"r".repeat(65), 64).is_err());
        assert!(check_service_principal("ec2.amazonaws.com").is_ok());
        assert!(check_service_principal("*").is_err());
        assert!(check_service_principal("evil.example.com").is_err());
    }
}
