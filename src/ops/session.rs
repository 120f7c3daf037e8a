//! One run: its connections (`stores::connections`: the command line's
//! overrides and the clients built once and shared by every step of the
//! run), and `stoppable`, the section a Ctrl-C stops where it is.
//!
//! The run's one async runtime is started by `main_entry` (`lib.rs`);
//! every command and operation is async on it.

use std::future::Future;

use crate::error::{Error, Result};
pub(crate) use crate::stores::connections::{Connections, Overrides};

/// The run's connections (see the module doc).
#[derive(Debug, Default)]
pub struct Session {
    /// The overrides and the clients connected so far (the stores').
    pub connections: Connections,
}

impl Session {
    pub fn new(overrides: Overrides) -> Session {
        Session {
            connections: Connections::new(overrides),
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
}

/// Runs `work` (a store's network work) as a cooperative section: Ctrl-C
/// or SIGTERM stops it where it is (`Error::Interrupted`), and the work
/// records its progress outside the future (a purge's `Progress`, the
/// executor's `Log`) so that the caller can say what was done by then.
/// Outside such a section a signal ends the process at once (`interrupt`).
pub async fn stoppable<T>(work: impl Future<Output = Result<T>>) -> Result<T> {
    let _cooperating = crate::interrupt::cooperate();
    tokio::select! {
        // The work first: what it finished is not thrown away.
        biased;
        output = work => output,
        () = crate::interrupt::wait() => Err(Error::Interrupted),
    }
}

/// The runtime's workers: one a core (as the cgroup allows), from 2 to 8.
/// A store's listing pages are parsed on the workers,
/// so a scan's CPU spreads over them; the cap keeps a tool that shares its
/// machine (a CI runner, an ops host) from claiming every core.
pub fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}
