//! The app's tree as the checks read it: its env file (`.env` or
//! `.env.<env>`), composer.lock and published `config/chronotrace.php`,
//! as text, and where each setting comes from.

use std::path::{Path, PathBuf};

use super::dotenv::DotEnv;
use super::laravel::{self, Lock};
use super::php;

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

/// Reads the app's tree; an error (message, hint) when it cannot be read.
pub(crate) fn read(dir: &Path, env: &str) -> Result<Tree, (String, String)> {
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
