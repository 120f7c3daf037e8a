//! The app's credentials file: `{out}/app-credentials.<env>.env` (`out`:
//! `--out`, else `.chronotrace-ops/` beside the spec, git-ignored), holding
//! the new key as `AWS_ACCESS_KEY_ID` / `AWS_SECRET_ACCESS_KEY` (the names
//! the Laravel package reads). Created with mode 0600 at open time and
//! never overwritten; `--rotate-app-key` replaces it atomically (a 0600
//! temporary file renamed over it) once the new key is proven, since the
//! old key is deleted right after. The secret goes nowhere else.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::stores::s3::app_identity::{KeySink, NewKey};

/// The file of `env`'s app key under `out` (`credentials_file::path`).
pub(crate) fn credentials_path(out: &Path, env: &str) -> PathBuf {
    crate::credentials_file::path(out, env)
}

/// Writes keys to the credentials file of one environment.
#[derive(Debug)]
pub(crate) struct CredentialsFile {
    pub(crate) path: PathBuf,
    pub(crate) env: String,
    pub(crate) user: String,
}

impl CredentialsFile {
    fn body(&self, key: &NewKey) -> String {
        format!(
            "# chronotrace-ops: the app's own key for environment '{}' (user {}).\n# Secret: give it to the app only (its .env or secret store); never commit it.\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
            self.env,
            self.user,
            key.id,
            key.secret.expose()
        )
    }

    fn open_new(path: &Path) -> Result<std::fs::File> {
        crate::credentials_file::create_new_0600(path).map_err(|e| Error::io(path, e))
    }
}

impl KeySink for CredentialsFile {
    fn ready(&self, rotating: bool) -> Result<()> {
        if !rotating && self.path.exists() {
            return Err(Error::usage_with_hint(
                format!(
                    "{} exists: refusing to overwrite it with a new key (nothing was created)",
                    self.path.display()
                ),
                "move it away if its key is gone, or pass --rotate-app-key to replace the key",
            ));
        }
        match self.path.parent() {
            Some(dir) => crate::credentials_file::prepare_dir(dir),
            None => Ok(()),
        }
    }

    fn write(&self, key: &NewKey, rotating: bool) -> Result<String> {
        let target = if rotating {
            self.path.with_extension("env.new")
        } else {
            self.path.clone()
        };
        let mut file = CredentialsFile::open_new(&target)?;
        let written = file
            .write_all(self.body(key).as_bytes())
            .and_then(|()| file.sync_all());
        if let Err(e) = written {
            let _ = std::fs::remove_file(&target);
            return Err(Error::io(&target, e));
        }
        if rotating {
            std::fs::rename(&target, &self.path).map_err(|e| Error::io(&self.path, e))?;
        }
        Ok(self.path.display().to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::Secret;
    use std::os::unix::fs::PermissionsExt;

    fn key(id: &str) -> NewKey {
        NewKey {
            id: id.into(),
            secret: Secret::new("s3cr3t-value"),
        }
    }

    #[test]
    fn the_file_is_0600_never_overwritten_and_rotation_replaces_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let sink = CredentialsFile {
            path: credentials_path(&dir.path().join("deploy"), "ci"),
            env: "ci".into(),
            user: "app".into(),
        };
        sink.ready(false).expect("ready");
        sink.write(&key("AK1"), false).expect("written");
        let mode = std::fs::metadata(&sink.path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        let text = std::fs::read_to_string(&sink.path).expect("read");
        assert!(text.contains("AWS_ACCESS_KEY_ID=AK1\nAWS_SECRET_ACCESS_KEY=s3cr3t-value\n"));
        assert!(sink.ready(false).is_err(), "never overwritten");
        assert!(sink.write(&key("AK2"), false).is_err(), "never overwritten");
        sink.ready(true).expect("rotation may replace it");
        sink.write(&key("AK3"), true).expect("rotated");
        let text = std::fs::read_to_string(&sink.path).expect("read");
        assert!(text.contains("AWS_ACCESS_KEY_ID=AK3\n"));
        let mode = std::fs::metadata(&sink.path)
            .expect("meta")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
