//! The app's credentials file: `{out}/app-credentials.<env>.env`, written
//! once (never overwritten: a second `apply` finds it and leaves it), mode
//! 0600 from its creation (never readable by others, not even briefly),
//! `KEY=value` lines as Laravel's `.env` reads them. The values are
//! secrets: they go to this file and nowhere else (never printed).

#![warn(unreachable_pub)]

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::secret::Secret;

/// The file's path for `env` under `out`.
pub(crate) fn path(out: &Path, env: &str) -> PathBuf {
    out.join(format!("app-credentials.{env}.env"))
}

/// Creates the file with `lines` (a `(key, value)` each); an error if it
/// already exists (the caller decides before generating a secret).
pub(crate) fn write_once(path: &Path, lines: &[(&str, &Secret)]) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(|e| Error::io(path, e))?;
    let mut text =
        String::from("# Written once by chronotrace-ops apply: the app's own credentials.\n");
    for (key, value) in lines {
        text.push_str(&format!("{key}={}\n", value.expose()));
    }
    file.write_all(text.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|e| Error::io(path, e))
}

/// A random password: 32 lowercase hex characters (128 bits) from the
/// TLS library's system random source; safe in any SQL string or URL.
pub(crate) fn generate_password() -> Result<Secret> {
    let mut bytes = [0u8; 16];
    rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes)
        .map_err(|_| Error::cloud("no system random source for the app's password"))?;
    Ok(Secret::new(
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_once_with_mode_0600() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = path(dir.path(), "ci");
        let secret = Secret::new("s3cr3t");
        write_once(&path, &[("DB_PASSWORD", &secret)]).expect("first write");
        let text = std::fs::read_to_string(&path).expect("read back");
        assert!(text.contains("DB_PASSWORD=s3cr3t\n"));
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        assert!(write_once(&path, &[("DB_PASSWORD", &Secret::new("other"))]).is_err());
        assert!(
            std::fs::read_to_string(&path)
                .expect("still")
                .contains("s3cr3t")
        );
    }

    #[test]
    fn passwords_are_random_hex() {
        let a = generate_password().expect("random");
        let b = generate_password().expect("random");
        assert_eq!(a.expose().len(), 32);
        assert!(a.expose().chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
