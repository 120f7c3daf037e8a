//! What the commands do, without the command line: each operation takes
//! the run's `Session`, an environment and plain settings (defaults kept
//! here, once), and returns data for the commands to print. `commands`
//! wires flags to these; `bootstrap` composes the same functions.
//!
//! `apply` executes plans, `check` evaluates the checks, `cleanup`
//! verifies and purges, `report` builds the health report.

pub mod app_key;
pub mod apply;
mod apply_sql;
pub mod check;
pub mod cleanup;
mod proof;
pub mod redis_apply;
pub mod report;
pub mod session;
pub mod source;

pub use session::{Overrides, Session};

use crate::error::Result;
use crate::spec::Storage;
use crate::stores::{self, TraceStore};

/// Days of lifecycle lag allowed when judging retention (verify, report).
pub const DEFAULT_GRACE_DAYS: u32 = 2;
/// Partitions listed (and deleted) at once.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Opens an environment's storage for scanning, through the run's clients.
async fn open_store(
    session: &Session,
    storage: &Storage,
    concurrency: usize,
) -> Result<Box<dyn TraceStore>> {
    let clients = match storage {
        Storage::S3(s3) => Some(session.clients(s3).await?),
        Storage::Local(_) | Storage::Redis(_) | Storage::Database(_) => None,
    };
    stores::open(
        storage,
        clients,
        concurrency,
        session.overrides.timeouts,
        session.overrides.ca_bundle.as_deref(),
    )
    .await
}
