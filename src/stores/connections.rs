//! What a run connects with, whatever the store: the command line's
//! overrides (`--endpoint-url`, `--region`, `--profile`, the extra CAs of
//! `--ca-bundle` / `AWS_CA_BUNDLE`, the time limits of `--timeout`), and the
//! S3 clients of each target, built (credentials resolved) once and shared
//! by every step of the run (`report` scans, verifies and checks;
//! `bootstrap` applies, checks, verifies and reports: one connection each).
//!
//! The stores read their settings from here; the runtime they run on is
//! `ops::Session`'s.

use std::path::PathBuf;

use crate::error::Result;
use crate::spec::S3Storage;
use crate::stores::s3::{Clients, Target};
use crate::transport::timeouts::Timeouts;

/// `--endpoint-url`, `--region`, `--profile` and the extra CAs
/// (`--ca-bundle` / `AWS_CA_BUNDLE`), already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) endpoint_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) ca_bundle: Option<PathBuf>,
    /// `--timeout` / `CHRONOTRACE_TIMEOUT`: the limits of every request.
    pub(crate) timeouts: Timeouts,
}

/// The run's overrides and the S3 clients connected so far.
#[derive(Debug, Default)]
pub(crate) struct Connections {
    pub(crate) overrides: Overrides,
    /// The clients of each target this run connected to (one, except for
    /// `--env all`, whose environments run at once).
    s3_clients: tokio::sync::Mutex<Vec<Clients>>,
}

impl Connections {
    pub(crate) fn new(overrides: Overrides) -> Connections {
        Connections {
            overrides,
            ..Connections::default()
        }
    }

    /// The limits of every request.
    pub(crate) fn timeouts(&self) -> Timeouts {
        self.overrides.timeouts
    }

    /// The extra CAs every client trusts on top of the system's.
    pub(crate) fn ca_bundle(&self) -> Option<&std::path::Path> {
        self.overrides.ca_bundle.as_deref()
    }

    /// Where an S3 environment connects, with the overrides and extra CAs.
    pub(crate) fn target(&self, s3: &S3Storage) -> Target {
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

    /// The clients of `s3`'s target: connected (credentials resolved) on
    /// the first call, shared afterwards. A failed connection is not kept.
    pub(crate) async fn s3_clients(&self, s3: &S3Storage) -> Result<Clients> {
        let target = self.target(s3);
        // Held while connecting: two environments on one target resolve
        // credentials once between them.
        let mut cached = self.s3_clients.lock().await;
        if let Some(clients) = cached.iter().find(|c| c.target == target) {
            return Ok(clients.clone());
        }
        let clients = Clients::connect(&target).await?;
        cached.push(clients.clone());
        Ok(clients)
    }
}
