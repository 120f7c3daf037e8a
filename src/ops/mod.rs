//! What the commands do, without the command line: each operation takes
//! the run's `Session`, an environment and plain settings (defaults kept
//! here, once), and returns data for the commands to print. `commands`
//! wires flags to these; `bootstrap` composes the same functions.
//!
//! `apply` executes plans, `check` evaluates the checks, `cleanup`
//! verifies and purges, `report` builds the health report. Every operation
//! is async (the run's one runtime is started in `main_entry`); those that
//! change a store end in an `Outcome`: done, or stopped with what they
//! changed.

pub mod apply;
pub mod check;
pub mod cleanup;
pub mod migrate;
pub mod outcome;
pub mod report;
pub mod session;

pub(crate) use outcome::Outcome;
pub(crate) use session::{Overrides, Session};

pub(crate) use crate::stores::{KeyOptions, ScanSource};

/// Days of lifecycle lag allowed when judging retention (verify, report).
pub const DEFAULT_GRACE_DAYS: u32 = 2;
/// Partitions listed (and deleted) at once.
pub const DEFAULT_CONCURRENCY: usize = 16;

/// Where `env`'s store is, as plans and messages name it (the command
/// line's overrides applied).
pub fn location(session: &Session, env: &crate::spec::Environment) -> String {
    crate::stores::open(env, &session.connections).location()
}
