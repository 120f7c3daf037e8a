//! Where the local disk is when the spec does not say: the Laravel app's
//! `local` disk root (`storage/app/private` from Laravel 11 on,
//! `storage/app` before, or a root written as `env('X', ...)` read from the
//! app's env file), and a relative path written in the spec is the app's.
//! `stores::resolve` settles every local environment with it when the spec
//! is loaded, before anything reads the path.

use std::path::{Path, PathBuf};

use crate::app::{dotenv, laravel};
use crate::spec::LocalStorage;

/// Settles `local` against `app`, the app directory environment `env`
/// serves (or `None`): its path follows the app's Laravel version unless
/// the spec wrote one.
pub(crate) fn settle(local: &mut LocalStorage, app: Option<&Path>, env: &str) {
    let app = app.map(Path::to_path_buf);
    let base = app.clone().unwrap_or_else(|| PathBuf::from("."));
    if local.explicit {
        // A relative path written in the spec is the app's.
        if let Some(app) = app.filter(|a| a != Path::new("."))
            && local.path.is_relative()
        {
            local.path = app.join(&local.path);
        }
        return;
    }
    let root = if app.is_some() {
        // A root written as env('X', ...) reads the app's env file.
        let dotenv = dotenv::DotEnv::read(&base, env).unwrap_or_default();
        let lookup = |name: &str| dotenv.get(name).map(str::to_string);
        laravel::local_root(&base, &lookup)
    } else {
        laravel::LocalRoot {
            path: PathBuf::from(laravel::ROOT_10),
            origin: "the default: no Laravel app here (give one with --app or app:)".into(),
        }
    };
    local.path = match app {
        Some(app) if app != Path::new(".") && root.path.is_relative() => app.join(&root.path),
        _ => root.path,
    };
    local.origin = root.origin;
}
