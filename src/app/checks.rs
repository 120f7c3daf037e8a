//! `check --app`: the Laravel app's settings against the spec, one check
//! line each (`app.*`), from its `.env` (or `.env.<env>`), composer.lock and
//! config files read as text. They need no store: they run whatever the
//! store checks found.
//!
//! Secrets: a value is shown only for settings that are not secret
//! (driver, bucket, region, endpoint without credentials, prefix); keys are
//! only ever compared, never printed.

use std::path::{Path, PathBuf};

use super::dotenv::DotEnv;
use super::laravel::{self, Lock};
use super::{packages, php};
use crate::check::CheckResult;
use crate::spec::{Environment, Prefix, S3Storage, Storage};

/// What was read from the app's tree.
pub(crate) struct Tree {
    pub(crate) dir: PathBuf,
    pub(crate) dotenv: DotEnv,
    pub(crate) lock: Option<Lock>,
    /// `config/chronotrace.php`, when published.
    pub(crate) config: Option<String>,
}

impl Tree {
    /// The app's `local` disk root (relative to the app).
    pub(crate) fn local_root(&self) -> PathBuf {
        let lookup = |name: &str| self.dotenv.get(name).map(str::to_string);
        laravel::local_root(&self.dir, &lookup).path
    }

    /// A setting's value and where it came from: the env file, else the
    /// published config's default, else the package's.
    pub(crate) fn setting(
        &self,
        name: &str,
        package_default: Option<&str>,
    ) -> (Option<String>, String) {
        if let Some(value) = self.dotenv.get(name) {
            return (Some(value.to_string()), self.dotenv.label());
        }
        if let Some(default) = self
            .config
            .as_deref()
            .and_then(|c| php::env_default(c, name))
        {
            return (
                default,
                "unset: the default of config/chronotrace.php".into(),
            );
        }
        (
            package_default.map(str::to_string),
            "unset: the package's default".into(),
        )
    }
}

/// Every app check of `env`, the app being at `dir`.
pub(crate) fn check(dir: &Path, env: &Environment) -> Vec<CheckResult> {
    let started = std::time::Instant::now();
    let tree = match read(dir, &env.name) {
        Ok(tree) => tree,
        Err((message, hint)) => {
            let mut out = vec![CheckResult::fail("app.laravel", message).with_hint(hint)];
            out.extend(crate::check::skip_all(
                &ids(env),
                "the app could not be read (see app.laravel)",
            ));
            return out;
        }
    };
    let mut out = vec![
        packages::laravel(&tree),
        packages::package(&tree, env),
        storage_driver(&tree, env),
    ];
    if let Storage::S3(s3) = &env.storage {
        out.extend(s3_settings(&tree, s3));
        out.push(super::credentials::check(&tree, s3));
        out.push(packages::s3_adapter(&tree));
    }
    out.push(packages::queue(&tree));
    out.into_iter().map(|r| r.took(started)).collect()
}

/// The ids after `app.laravel`, in report order.
fn ids(env: &Environment) -> Vec<&'static str> {
    let mut ids = vec!["app.package", "app.storage_driver"];
    if matches!(env.storage, Storage::S3(_)) {
        ids.extend([
            "app.s3_bucket",
            "app.s3_region",
            "app.s3_endpoint",
            "app.s3_prefix",
            "app.credentials",
            "app.s3_adapter",
        ]);
    }
    ids.push("app.queue");
    ids
}

/// Reads the app's tree; an error (message, hint) when it cannot be read.
fn read(dir: &Path, env: &str) -> Result<Tree, (String, String)> {
    let hint = "give the Laravel app's directory with --app DIR or `app:` in the environment";
    if !dir.is_dir() {
        return Err((format!("{}: not a directory", dir.display()), hint.into()));
    }
    let dotenv = DotEnv::read(dir, env).map_err(|e| (e, hint.to_string()))?;
    let lock = laravel::read_lock(dir).map_err(|e| {
        (
            e,
            "run `composer install` (or `composer update --lock`) in the app".to_string(),
        )
    })?;
    let config = std::fs::read_to_string(dir.join("config/chronotrace.php")).ok();
    Ok(Tree {
        dir: dir.to_path_buf(),
        dotenv,
        lock,
        config,
    })
}

/// A value safe to show: one line, no control characters, bounded.
pub(crate) fn shown(value: &str) -> String {
    let clean: String = value.chars().filter(|c| !c.is_control()).take(80).collect();
    format!("'{clean}'")
}

/// `app.storage_driver`: `s3` or `local` as the spec says; the package
/// reads anything else as the local disk.
fn storage_driver(tree: &Tree, env: &Environment) -> CheckResult {
    const ID: &str = "app.storage_driver";
    let (value, origin) = tree.setting("CHRONOTRACE_STORAGE", Some("local"));
    let value = value.unwrap_or_else(|| "local".into());
    let (expected, fix) = match env.storage {
        Storage::S3(_) => (
            "s3",
            "set CHRONOTRACE_STORAGE=s3 (with CHRONOTRACE_S3_ENDPOINT for MinIO and other S3-compatible stores)",
        ),
        Storage::Local(_) => ("local", "set CHRONOTRACE_STORAGE=local"),
        Storage::Database(_) => (
            "database",
            "set CHRONOTRACE_STORAGE=database (the seed's AppServiceProvider registers DatabaseTraceStorage on it)",
        ),
        // The seed's RedisTraceStorage is a class the app binds itself.
        Storage::Redis(_) => {
            return CheckResult::skip(
                ID,
                "storage: redis is the app's own RedisTraceStorage class, bound in its service provider",
            );
        }
    };
    if value == expected {
        return CheckResult::pass(ID, format!("CHRONOTRACE_STORAGE={value} ({origin})"));
    }
    if value != "s3" && value != "local" {
        return CheckResult::fail(
            ID,
            format!(
                "CHRONOTRACE_STORAGE={} ({origin}) is not s3 or local: the package falls back to the local disk and stores traces under {}/traces/",
                shown(&value),
                tree.local_root().display()
            ),
        )
        .with_hint(fix);
    }
    CheckResult::fail(
        ID,
        format!(
            "CHRONOTRACE_STORAGE={value} ({origin}) but the spec's '{}' environment is storage: {expected}",
            env.name
        ),
    )
    .with_hint(fix)
}

/// Bucket, region, endpoint and prefix equal to the environment's.
fn s3_settings(tree: &Tree, s3: &S3Storage) -> Vec<CheckResult> {
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
