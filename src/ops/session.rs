//! One run: its async runtime, and its connections (`stores::connections`:
//! the command line's overrides and the clients built once and shared by
//! every step of the run).

use std::future::Future;
use std::sync::OnceLock;

use crate::error::{Error, Result};
pub(crate) use crate::stores::connections::{Connections, Overrides};

/// The run's runtime and clients (see the module doc).
#[derive(Debug, Default)]
pub struct Session {
    /// The overrides and the clients connected so far (the stores').
    pub connections: Connections,
    runtime: OnceLock<tokio::runtime::Runtime>,
}

impl Session {
    pub fn new(overrides: Overrides) -> Session {
        Session {
            connections: Connections::new(overrides),
            runtime: OnceLock::new(),
        }
    }

    /// This session, with the tool's own directory at `dir`.
    pub fn with_state_dir(mut self, dir: std::path::PathBuf) -> Session {
        self.connections.state_dir = Some(dir);
        self
    }

    /// The tool's own directory beside the spec (where `apply` writes the
    /// app's new secrets, git-ignored).
    pub fn state_dir(&self) -> std::path::PathBuf {
        self.connections.state_dir()
    }

    /// Runs async work (the network layers) to completion on the run's
    /// runtime, built on first use (commands without network build none).
    /// Ctrl-C or SIGTERM stops it where it is (`Error::Interrupted`); the
    /// work records its progress outside the future to report it then.
    pub fn block_on<F: Future>(&self, future: F) -> Result<F::Output> {
        let runtime = match self.runtime.get() {
            Some(runtime) => runtime,
            None => {
                let built = tokio::runtime::Builder::new_multi_thread()
                    .worker_threads(worker_threads())
                    .enable_all()
                    .build()
                    .map_err(|e| Error::io("<tokio runtime>", e))?;
                self.runtime.get_or_init(|| built)
            }
        };
        let _cooperating = crate::interrupt::cooperate();
        runtime.block_on(async {
            tokio::select! {
                // The work first: what it finished is not thrown away.
                biased;
                output = future => Ok(output),
                () = crate::interrupt::wait() => Err(Error::Interrupted),
            }
        })
    }
}

/// The runtime's workers: one a core (as the cgroup allows), from 2 to 8.
/// Listing pages are parsed on the workers (`cloud/scan/listing.rs`), so a
/// scan's CPU spreads over them; the cap keeps a tool that shares its
/// machine (a CI runner, an ops host) from claiming every core.
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}
