//! The seam for a local directory (the Laravel local disk or an NFS
//! mount): the scan of `stores::local::scan`, the write probe of `stores::local::check`,
//! no retention mechanism of its own (`cleanup purge` is it), and the one
//! thing provisioning does there: create `{path}/traces/` with mode 0750.

#![warn(unreachable_pub)]

use std::path::{Path, PathBuf};

use futures::FutureExt;
use futures::future::LocalBoxFuture;

use crate::check::CheckResult;
use crate::error::{Error, Result};
use crate::plan::desired::LOCAL_DIR_MODE;
use crate::plan::observed::{Observed, ObservedDir};
use crate::plan::{Action, Change, Resource};
use crate::report::model::StorageSummary;
use crate::scan::{Judge, Progress, ScanOutcome, Selection};
use crate::spec::{LocalStorage, NetworkMount};
use crate::stores::{Applied, Provision, Retention, RetentionWant, TraceStore};

/// A local directory of traces.
#[derive(Debug)]
pub(crate) struct LocalStore {
    path: PathBuf,
    traces_dir: PathBuf,
}

impl LocalStore {
    pub(crate) fn new(local: &LocalStorage) -> LocalStore {
        LocalStore {
            path: local.path.clone(),
            traces_dir: local.traces_dir(),
        }
    }
}

impl TraceStore for LocalStore {
    fn location(&self) -> String {
        self.traces_dir.display().to_string()
    }

    fn describe(&self, summary: &mut StorageSummary) {
        summary.path = Some(self.path.display().to_string());
    }

    fn scan<'a>(
        &'a self,
        judge: &'a Judge,
        selection: Selection,
        purge: bool,
        progress: &'a Progress,
    ) -> LocalBoxFuture<'a, Result<ScanOutcome>> {
        let outcome =
            crate::stores::local::scan::scan(&self.traces_dir, judge, selection, purge, progress);
        futures::future::ready(outcome).boxed_local()
    }

    fn probe(&self) -> LocalBoxFuture<'_, CheckResult> {
        futures::future::ready(crate::stores::local::check::writable(&self.path)).boxed_local()
    }

    fn retention<'a>(
        &'a self,
        _want: &'a RetentionWant,
        _sample: Option<&'a str>,
    ) -> LocalBoxFuture<'a, Result<Retention>> {
        futures::future::ready(Ok(Retention::None)).boxed_local()
    }
}

/// The traces directory an environment on local disk needs (and, on a
/// share, the marker at the share's root).
#[derive(Debug)]
pub(crate) struct LocalDir {
    pub(crate) traces_dir: PathBuf,
    /// The share mounted at `path`, and `path` (`mount:`).
    pub(crate) share: Option<(PathBuf, NetworkMount)>,
}

impl LocalDir {
    /// What is at the traces directory now.
    pub(crate) fn observe(&self) -> Observed {
        Observed::Local(observe_dir(&self.traces_dir))
    }
}

impl Provision for LocalDir {
    fn execute<'a>(
        &'a self,
        change: &'a Change,
        _empty: bool,
    ) -> LocalBoxFuture<'a, Result<Applied>> {
        let done = match (change.resource, change.action) {
            (Resource::LocalDir, Action::Create) => {
                create_dir(&self.traces_dir).map(|()| Applied::Done)
            }
            (Resource::LocalMountMarker, Action::Create) => match &self.share {
                Some((path, want)) => {
                    super::mount::write_marker(path, want).map(|()| Applied::Done)
                }
                None => Ok(Applied::Unsupported("no mount: in the spec".into())),
            },
            _ => Ok(Applied::Unsupported(format!(
                "{} on local disk",
                change.resource.id()
            ))),
        };
        futures::future::ready(done).boxed_local()
    }
}

/// What is at the local traces directory.
fn observe_dir(path: &Path) -> ObservedDir {
    match std::fs::metadata(path) {
        Ok(meta) if meta.is_dir() => ObservedDir::Present { mode: mode(&meta) },
        Ok(_) => ObservedDir::NotADirectory,
        Err(_) => ObservedDir::Absent,
    }
}

#[cfg(unix)]
fn mode(meta: &std::fs::Metadata) -> u32 {
    std::os::unix::fs::PermissionsExt::mode(&meta.permissions()) & 0o7777
}

#[cfg(not(unix))]
fn mode(_: &std::fs::Metadata) -> u32 {
    0
}

/// `{path}/traces/` with mode 0750 (owner rw, group read, others nothing):
/// only the directories missing are made, and only the last one's mode is
/// set (never a recursive chown or chmod: a `root_squash` export refuses
/// them, and the app's files are not the tool's).
fn create_dir(path: &Path) -> Result<()> {
    std::fs::create_dir_all(path).map_err(|e| Error::io(path, e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(LOCAL_DIR_MODE))
            .map_err(|e| Error::io(path, e))?;
    }
    Ok(())
}
