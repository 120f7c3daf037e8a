//! The command line's say over where and how every client connects:
//! `--endpoint-url`, `--region`, `--profile`, the extra CAs of
//! `--ca-bundle` / `AWS_CA_BUNDLE`, the time limits of `--timeout`.

use std::path::{Path, PathBuf};

use super::timeouts::Timeouts;

/// `--endpoint-url`, `--region`, `--profile` and the extra CAs
/// (`--ca-bundle` / `AWS_CA_BUNDLE`), already validated.
#[derive(Debug, Clone, Default)]
pub(crate) struct Overrides {
    pub(crate) endpoint_url: Option<String>,
    pub(crate) region: Option<String>,
    pub(crate) profile: Option<String>,
    pub(crate) ca_bundle: Option<PathBuf>,
    /// `--timeout` / `CHRONOTRACE_OPS_TIMEOUT`: the limits of every request.
    pub(crate) timeouts: Timeouts,
}

impl Overrides {
    /// The limits of every request.
    pub(crate) fn timeouts(&self) -> Timeouts {
        self.timeouts
    }

    /// The extra CAs every client trusts on top of the system's.
    pub(crate) fn ca_bundle(&self) -> Option<&Path> {
        self.ca_bundle.as_deref()
    }
}
