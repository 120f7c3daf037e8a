//! Reading a Laravel app's tree as text (no PHP): the packages and versions
//! of its `composer.lock`, and the `local` disk root of
//! `config/filesystems.php`, from which the traces directory follows.
//!
//! Laravel 11 moved the `local` disk from `storage/app` to
//! `storage/app/private`; an app upgraded from 10 keeps its old config file,
//! so the config's root wins over the framework version.

use std::path::{Path, PathBuf};

use super::php;

/// The framework's package name in composer.lock.
pub(crate) const FRAMEWORK: &str = "laravel/framework";
/// The local disk root from Laravel 11 on, and before.
pub(crate) const ROOT_11: &str = "storage/app/private";
pub(crate) const ROOT_10: &str = "storage/app";

/// The packages of a `composer.lock`: `(name, version, dev_only)`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Lock {
    packages: Vec<(String, String, bool)>,
}

impl Lock {
    /// Parses composer.lock text; `None` when it is not one.
    pub(crate) fn parse(text: &str) -> Option<Lock> {
        let json: serde_json::Value = serde_json::from_str(text).ok()?;
        let mut packages = Vec::new();
        for (list, dev) in [("packages", false), ("packages-dev", true)] {
            for package in json
                .get(list)
                .and_then(|v| v.as_array())
                .into_iter()
                .flatten()
            {
                let name = package.get("name").and_then(|v| v.as_str());
                let version = package.get("version").and_then(|v| v.as_str());
                if let Some(name) = name {
                    let version = version.unwrap_or("").to_string();
                    packages.push((name.to_ascii_lowercase(), version, dev));
                }
            }
        }
        Some(Lock { packages })
    }

    /// The locked version of `name` and whether it is a dev-only package.
    pub(crate) fn package(&self, name: &str) -> Option<(&str, bool)> {
        self.packages
            .iter()
            .find(|(n, _, _)| n == name)
            .map(|(_, v, dev)| (v.as_str(), *dev))
    }
}

/// Reads `DIR/composer.lock`: `Ok(None)` when absent, `Err` when unreadable
/// or not a lock file.
pub(crate) fn read_lock(dir: &Path) -> Result<Option<Lock>, String> {
    let path = dir.join("composer.lock");
    match std::fs::read_to_string(&path) {
        Ok(text) => Lock::parse(&text)
            .map(Some)
            .ok_or_else(|| format!("{}: not a composer.lock (invalid JSON)", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("{}: {e}", path.display())),
    }
}

/// `major.minor.patch` of a composer version (`v12.3.0`, `0.0.4`); `None`
/// for branches (`dev-main`) and anything else.
pub(crate) fn version(text: &str) -> Option<(u64, u64, u64)> {
    let text = text.trim().trim_start_matches(['v', 'V']);
    let core = text.split(['-', '+']).next()?;
    let mut parts = core.split('.').map(|p| p.parse::<u64>().ok());
    let major = parts.next()??;
    let minor = parts.next().unwrap_or(Some(0))?;
    let patch = parts.next().unwrap_or(Some(0))?;
    Some((major, minor, patch))
}

/// Whether `dir` looks like a Laravel app: an `artisan` file, or the
/// framework in its composer.lock.
pub(crate) fn looks_like_laravel(dir: &Path) -> bool {
    dir.join("artisan").is_file()
        || read_lock(dir)
            .ok()
            .flatten()
            .is_some_and(|lock| lock.package(FRAMEWORK).is_some())
}

/// The `local` disk root of the app, relative to it (or absolute), and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct LocalRoot {
    pub(crate) path: PathBuf,
    pub(crate) origin: String,
}

/// Where the app's `local` disk is: `config/filesystems.php` when its root
/// can be read, else the framework version in composer.lock, else the
/// skeleton's `storage/app/private` directory, else `storage/app`.
/// `env` looks a name up in the app's `.env` (for `env('X', ...)` roots).
pub(crate) fn local_root(dir: &Path, env: &dyn Fn(&str) -> Option<String>) -> LocalRoot {
    let config = dir.join("config/filesystems.php");
    if let Ok(text) = std::fs::read_to_string(&config)
        && let Some(path) = php::disk_root(&text, "local", env)
    {
        return LocalRoot {
            path,
            origin: "the local disk root in config/filesystems.php".into(),
        };
    }
    if let Some((version, _)) = read_lock(dir)
        .ok()
        .flatten()
        .as_ref()
        .and_then(|lock| lock.package(FRAMEWORK).map(|(v, d)| (v.to_string(), d)))
        && let Some((major, _, _)) = self::version(&version)
    {
        let root = if major >= 11 { ROOT_11 } else { ROOT_10 };
        return LocalRoot {
            path: PathBuf::from(root),
            origin: format!("Laravel {version} in composer.lock"),
        };
    }
    if dir.join(ROOT_11).is_dir() {
        return LocalRoot {
            path: PathBuf::from(ROOT_11),
            origin: "the app's storage/app/private directory (Laravel 11+ layout)".into(),
        };
    }
    LocalRoot {
        path: PathBuf::from(ROOT_10),
        origin: "no Laravel version found: the pre-11 default".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions() {
        assert_eq!(version("v12.3.0"), Some((12, 3, 0)));
        assert_eq!(version("0.0.4"), Some((0, 0, 4)));
        assert_eq!(version("v11.0.0-beta1"), Some((11, 0, 0)));
        assert_eq!(version("10"), Some((10, 0, 0)));
        assert_eq!(version("dev-main"), None);
        assert_eq!(version(""), None);
    }

    #[test]
    fn lock_packages_and_dev_packages() {
        let lock = Lock::parse(
            r#"{"packages":[{"name":"laravel/framework","version":"v12.1.0"}],
                "packages-dev":[{"name":"League/Flysystem-AWS-S3-v3","version":"3.0.0"}]}"#,
        )
        .expect("lock");
        assert_eq!(lock.package(FRAMEWORK), Some(("v12.1.0", false)));
        assert_eq!(
            lock.package("league/flysystem-aws-s3-v3"),
            Some(("3.0.0", true))
        );
        assert_eq!(lock.package("grazulex/laravel-chronotrace"), None);
        assert!(Lock::parse("not json").is_none());
    }
}
