//! `app.s3_bucket`, `app.s3_region`, `app.s3_endpoint`, `app.s3_prefix`:
//! the bucket settings in the app's env file (or its published config, or
//! the package's defaults) equal to the environment's. Endpoints are shown
//! without whatever credentials someone put in their URL.

use crate::app::tree::{Tree, shown};
use crate::check::CheckResult;
use crate::spec::{Prefix, S3Storage};

/// Bucket, region, endpoint and prefix equal to the environment's.
pub(super) fn s3_settings(tree: &Tree, s3: &S3Storage) -> Vec<CheckResult> {
    let same = |id: &str,
                name: &str,
                default: Option<&str>,
                want: Option<&str>,
                norm: &dyn Fn(&str) -> String| {
        let (value, origin) = tree.setting(name, default);
        let got = value.as_deref().map(norm);
        let want_n = want.map(norm);
        let label = |v: Option<&str>| v.map_or_else(|| "unset".to_string(), shown);
        if got == want_n {
            CheckResult::pass(id, format!("{name}={} ({origin})", label(got.as_deref())))
        } else {
            CheckResult::fail(
                id,
                format!(
                    "{name}={} ({origin}) but the spec says {}",
                    label(got.as_deref()),
                    label(want_n.as_deref())
                ),
            )
            .with_hint(match want_n {
                Some(v) => format!("set {name}={v} in the app's {}", tree.dotenv.label()),
                None => format!("remove {name} from the app's env file"),
            })
        }
    };
    let plain = |v: &str| v.trim().to_string();
    let endpoint = |v: &str| safe_endpoint(v.trim().trim_end_matches('/'));
    let prefix = |v: &str| Prefix::parse(v).map_or_else(String::new, |p| p.as_str().to_string());
    vec![
        same(
            "app.s3_bucket",
            "CHRONOTRACE_S3_BUCKET",
            Some("chronotrace"),
            Some(s3.bucket.as_str()),
            &plain,
        ),
        same(
            "app.s3_region",
            "CHRONOTRACE_S3_REGION",
            Some("us-east-1"),
            Some(s3.region.as_str()),
            &plain,
        ),
        same(
            "app.s3_endpoint",
            "CHRONOTRACE_S3_ENDPOINT",
            None,
            s3.endpoint.as_deref(),
            &endpoint,
        ),
        same(
            "app.s3_prefix",
            "CHRONOTRACE_S3_PREFIX",
            Some("traces"),
            Some(s3.prefix.as_str()),
            &prefix,
        ),
    ]
}

/// An endpoint without whatever credentials someone put in its URL.
fn safe_endpoint(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut url) if !url.username().is_empty() || url.password().is_some() => {
            let _ = url.set_username("");
            let _ = url.set_password(None);
            format!(
                "{} (credentials in the URL removed)",
                url.as_str().trim_end_matches('/')
            )
        }
        _ => value.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoints_never_show_credentials() {
        let shown = safe_endpoint("https://key:s3cret@minio.example.com");
        assert!(
            !shown.contains("s3cret") && !shown.contains("key"),
            "{shown}"
        );
        assert_eq!(
            safe_endpoint("http://127.0.0.1:9000"),
            "http://127.0.0.1:9000"
        );
    }
}
