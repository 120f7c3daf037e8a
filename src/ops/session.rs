//! One run's connection to the world: the command-line overrides of where
//! S3 environments connect, one async runtime, and the clients of the
//! environment's target, built (credentials resolved) once and shared by
//! every step of the run (`report` scans, verifies and checks; `bootstrap`
//! applies, checks, verifies and reports: one connection each).

use std::future::Future;
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::cloud::timeouts::Timeouts;
use crate::cloud::{Clients, Target};
use crate::error::{Error, Result};
use crate::spec::S3Storage;

/// `--endpoint-url`, `--region`, `--profile` and the extra CAs
/// (`--ca-bundle` / `AWS_CA_BUNDLE`), already validated.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    pub endpoint_url: Option<String>,
    pub region: Option<String>,
    pub profile: Option<String>,
    pub ca_bundle: Option<PathBuf>,
    /// `--timeout` / `CHRONOTRACE_TIMEOUT`: the limits of every request.
    pub timeouts: Timeouts,
}

/// The run's runtime and clients (see the module doc).
#[derive(Debug, Default)]
pub struct Session {
    pub overrides: Overrides,
    runtime: OnceLock<tokio::runtime::Runtime>,
    /// The clients of each target this run connected to (one, except for
    /// `--env all`, whose environments run at once).
    clients: tokio::sync::Mutex<Vec<Clients>>,
    /// The tool's own directory beside the spec, where the app credentials
    /// `apply` writes are found again (`check`); `None`: `.chronotrace-ops`
    /// here.
    state_dir: Option<PathBuf>,
}

impl Session {
    pub fn new(overrides: Overrides) -> Session {
        Session {
            overrides,
            ..Session::default()
        }
    }

    /// This session, with the tool's own directory at `dir`.
    pub fn with_state_dir(mut self, dir: PathBuf) -> Session {
        self.state_dir = Some(dir);
        self
    }

    /// The tool's own directory (see `state_dir`).
    pub fn state_dir(&self) -> PathBuf {
        self.state_dir
            .clone()
            .unwrap_or_else(|| PathBuf::from(crate::credentials_file::STATE_DIR))
    }

    /// Where an S3 environment connects, with the overrides and extra CAs.
    pub fn target(&self, s3: &S3Storage) -> Target {
        let o = &self.overrides;
        Target {
            ca_bundle: o.ca_bundle.clone(),
            timeouts: o.timeouts,
            ..Target::new(
                s3,
                o.endpoint_url.as_deref(),
                o.region.as_deref(),
                o.profile.as_deref(),
            )
        }
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

    /// The clients of `s3`'s target: connected (credentials resolved) on
    /// the first call, shared afterwards. A failed connection is not kept.
    pub async fn clients(&self, s3: &S3Storage) -> Result<Clients> {
        let target = self.target(s3);
        // Held while connecting: two environments on one target resolve
        // credentials once between them.
        let mut cached = self.clients.lock().await;
        if let Some(clients) = cached.iter().find(|c| c.target == target) {
            return Ok(clients.clone());
        }
        let clients = Clients::connect(&target).await?;
        cached.push(clients.clone());
        Ok(clients)
    }
}

/// The runtime's workers: one a core (as the cgroup allows), from 2 to 8.
/// Listing pages are parsed on the workers (`cloud/scan/listing.rs`), so a
/// scan's CPU spreads over them; the cap keeps a tool that shares its
/// machine (a CI runner, an ops host) from claiming every core.
fn worker_threads() -> usize {
    std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 8))
}
