//! The one file an app secret the tool generates is written to:
//! `{dir}/app-credentials.<env>.env`, `KEY=value` lines, mode 0600 from
//! its creation, created exclusively: never overwritten (a second run
//! refuses rather than lose the secret in use) and never printed. Generic
//! on purpose: every store's app credentials (a Redis ACL user, an S3 key)
//! go through it.
//!
//! By default that `{dir}` is the tool's own directory `.chronotrace-ops/`
//! beside the spec, never `deploy/` (the rendered files a team commits):
//! made 0700, with a `.gitignore` of `*` so git never takes a secret in.

use std::io::Write;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The tool's own directory (beside the spec) for what must never be
/// committed: the default home of the credentials files.
pub(crate) const STATE_DIR: &str = ".chronotrace-ops";

/// The `.gitignore` of the tool's own directory: everything in it.
const STATE_GITIGNORE: &str =
    "# chronotrace-ops: app secrets live here; never commit this directory.\n*\n";

/// Makes `dir` ready to take a credentials file. The tool's own directory
/// (named `STATE_DIR`, the default or given so) is made 0700 and gets its
/// `.gitignore` (an existing one is left as is); any other directory was
/// the user's choice (`--out`) and is only created.
pub(crate) fn prepare_dir(dir: &Path) -> Result<()> {
    if dir.as_os_str().is_empty() {
        return Ok(());
    }
    if dir.file_name() != Some(std::ffi::OsStr::new(STATE_DIR)) {
        return std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e));
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(dir).map_err(|e| Error::io(dir, e))?;
    let ignore = dir.join(".gitignore");
    match create_new_0600(&ignore) {
        Ok(mut file) => file
            .write_all(STATE_GITIGNORE.as_bytes())
            .and_then(|()| file.sync_all())
            .map_err(|e| Error::io(&ignore, e)),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(&ignore, e)),
    }
}

/// Where `env`'s app credentials go under `dir`.
pub(crate) fn path(dir: &Path, env: &str) -> PathBuf {
    dir.join(format!("app-credentials.{env}.env"))
}

/// Creates `file`, mode 0600 from the start, failing if it exists.
pub(crate) fn create_new_0600(file: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(file)
}

/// Writes `entries` to `path(dir, env)`, refusing an existing file.
pub(crate) fn write_once(dir: &Path, env: &str, entries: &[(&str, &str)]) -> Result<PathBuf> {
    let file = path(dir, env);
    prepare_dir(dir)?;
    let mut out = create_new_0600(&file).map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Error::usage_with_hint(
            format!(
                "{}: exists, and app credentials are never overwritten",
                file.display()
            ),
            "the app uses the secret in it: keep it, or move it away to make a new one",
        ),
        _ => Error::io(&file, e),
    })?;
    let text: String = entries.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
    out.write_all(text.as_bytes())
        .and_then(|()| out.sync_all())
        .map_err(|e| Error::io(&file, e))?;
    Ok(file)
}

/// Removes a file `write_once` wrote, when what it was for failed.
pub(crate) fn discard(file: &Path) {
    let _ = std::fs::remove_file(file);
}

/// A random secret: `bytes` from the operating system's CSPRNG, as hex.
pub(crate) fn random_hex(bytes: usize) -> Result<String> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf).map_err(|e| Error::cloud(format!("no random bytes: {e}")))?;
    Ok(buf.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn written_once_with_mode_0600_and_never_overwritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = write_once(
            dir.path(),
            "prod",
            &[("REDIS_USERNAME", "u"), ("REDIS_PASSWORD", "p")],
        )
        .expect("first write");
        assert_eq!(
            std::fs::read_to_string(&file).expect("read"),
            "REDIS_USERNAME=u\nREDIS_PASSWORD=p\n"
        );
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&file).expect("meta").permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let again = write_once(dir.path(), "prod", &[("REDIS_PASSWORD", "other")]);
        assert!(matches!(again, Err(Error::Usage { .. })));
        assert!(
            std::fs::read_to_string(&file)
                .expect("read")
                .contains("=p\n")
        );
    }

    #[test]
    fn the_state_directory_is_private_and_git_ignored() {
        use std::os::unix::fs::PermissionsExt;
        let root = tempfile::tempdir().expect("tempdir");
        let state = root.path().join("spec-dir").join(STATE_DIR);
        let file = write_once(&state, "ci", &[("K", "v")]).expect("written");
        assert_eq!(file, state.join("app-credentials.ci.env"));
        let mode = |p: &Path| std::fs::metadata(p).expect("meta").permissions().mode() & 0o777;
        assert_eq!(mode(&state), 0o700);
        assert_eq!(mode(&file), 0o600);
        let ignore = std::fs::read_to_string(state.join(".gitignore")).expect("gitignore");
        assert!(ignore.lines().any(|l| l == "*"), "{ignore}");
        // A team's own .gitignore there is kept.
        std::fs::write(state.join(".gitignore"), "*\n!README\n").expect("edit");
        write_once(&state, "prod", &[("K", "v")]).expect("second env");
        let kept = std::fs::read_to_string(state.join(".gitignore")).expect("gitignore");
        assert_eq!(kept, "*\n!README\n");
        // A directory given with --out is only created.
        let out = root.path().join("creds");
        write_once(&out, "ci", &[("K", "v")]).expect("written");
        assert!(!out.join(".gitignore").exists());
    }

    #[test]
    fn random_secrets_differ() {
        let (a, b) = (random_hex(24).expect("a"), random_hex(24).expect("b"));
        assert_eq!(a.len(), 48);
        assert_ne!(a, b);
    }
}
