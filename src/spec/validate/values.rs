//! Checks of single values that need no location: slugs, endpoint URLs,
//! image references.

/// Lowercase letters, digits and '-', starting with a letter or digit.
pub(super) fn is_slug(value: &str) -> bool {
    value
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_alphanumeric())
        && value
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// An endpoint: http(s), a host, nothing else. Credentials in the URL are
/// refused outright: they would end up in logs, reports and rendered files.
pub(crate) fn check_endpoint(value: &str) -> std::result::Result<String, (&'static str, String)> {
    let url = url::Url::parse(value).map_err(|e| {
        (
            "endpoint.url",
            format!("endpoint '{value}' is not a URL: {e}"),
        )
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err((
            "endpoint.credentials",
            "endpoint must not hold credentials: they come from the environment or a profile"
                .into(),
        ));
    }
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err((
            "endpoint.url",
            format!("endpoint '{value}' must be http:// or https:// with a host"),
        ));
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err((
            "endpoint.url",
            format!(
                "endpoint '{value}' must not have a path, query or fragment (the bucket and prefix have their own keys)"
            ),
        ));
    }
    Ok(url.as_str().trim_end_matches('/').to_string())
}

/// An image reference must carry a tag other than `latest`, or a digest.
pub(super) fn check_image_pinned(image: &str) -> std::result::Result<(), String> {
    if image.contains("@sha256:") {
        return Ok(());
    }
    let name_end = image.rfind('/').map_or(0, |i| i + 1);
    match image[name_end..].split_once(':') {
        Some((_, tag)) if !tag.is_empty() && tag != "latest" => Ok(()),
        _ => Err(format!(
            "minio.image '{image}' must be pinned to a release tag or digest: 'latest' moves (and minio/minio:latest is frozen and unpatched since Oct 2025)"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints() {
        assert_eq!(
            check_endpoint("https://minio.example.com/").ok().as_deref(),
            Some("https://minio.example.com")
        );
        assert_eq!(
            check_endpoint("http://127.0.0.1:9000").ok().as_deref(),
            Some("http://127.0.0.1:9000")
        );
        assert_eq!(
            check_endpoint("https://k:s@minio.example.com")
                .err()
                .map(|e| e.0),
            Some("endpoint.credentials")
        );
        assert!(check_endpoint("ftp://x").is_err());
        assert!(check_endpoint("minio.example.com").is_err());
        assert!(check_endpoint("https://minio.example.com/bucket").is_err());
    }

    #[test]
    fn images() {
        assert!(check_image_pinned("minio/minio:RELEASE.2025-09-07T16-13-09Z").is_ok());
        assert!(check_image_pinned("registry:5000/minio@sha256:abcd").is_ok());
        assert!(check_image_pinned("minio/minio:latest").is_err());
        assert!(check_image_pinned("minio/minio").is_err());
        assert!(check_image_pinned("registry:5000/minio").is_err());
    }
}
