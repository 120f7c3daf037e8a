//! What a run connects with, whatever the store: the command line's
//! overrides (`transport::overrides`), and the S3 clients of each target,
//! built (credentials resolved) once and shared by every step of the run
//! (`report` scans, verifies and checks; `bootstrap` applies, checks,
//! verifies and reports: one connection each). `stores::open` hands each
//! store the part it uses; the runtime they run on is `ops::Session`'s.

use crate::stores::s3::ClientCache;
pub(crate) use crate::transport::overrides::Overrides;

/// The run's overrides and the S3 clients connected so far.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    pub(crate) overrides: Overrides,
    pub(crate) s3_clients: ClientCache,
    /// The tool's own directory beside the spec (`.chronotrace-ops/`,
    /// git-ignored), where the app credentials `apply` writes are found
    /// again by `check`; `None`: `.chronotrace-ops` here.
    pub(crate) state_dir: Option<std::path::PathBuf>,
}

impl Connections {
    pub(crate) fn new(overrides: Overrides) -> Connections {
        Connections {
            overrides,
            ..Connections::default()
        }
    }

    /// The tool's own directory (see `state_dir`).
    pub(crate) fn state_dir(&self) -> std::path::PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| std::path::PathBuf::from(crate::credentials_file::STATE_DIR))
    }
}
