//! How a run that changes a store ends: the one outcome type of `apply`,
//! `destroy` and `cleanup purge`. Either it ran to its end, or it was
//! stopped part-way — by Ctrl-C or SIGTERM, or by a server's error — and
//! then it still says what it had changed by then, so that the command
//! prints that (as text or JSON) before it exits 130 or 2.

use crate::error::{Error, Result};

/// A changing run's end, with what it changed (`T`: the executed plan, the
/// purge's report).
#[derive(Debug)]
pub enum Outcome<T> {
    /// It ran to its end.
    Done(T),
    /// Stopped part-way by `by` (`Error::Interrupted` for Ctrl-C or
    /// SIGTERM, else the server's error); `so_far` is what it had changed.
    Stopped { so_far: T, by: Error },
}

impl<T> Outcome<T> {
    /// What was changed (all of it, or until the stop).
    pub fn value(&self) -> &T {
        match self {
            Outcome::Done(value) | Outcome::Stopped { so_far: value, .. } => value,
        }
    }

    /// What stopped the run, if it was stopped.
    pub fn stopped_by(&self) -> Option<&Error> {
        match self {
            Outcome::Done(_) => None,
            Outcome::Stopped { by, .. } => Some(by),
        }
    }

    /// True when Ctrl-C or SIGTERM stopped the run.
    pub fn interrupted(&self) -> bool {
        matches!(self.stopped_by(), Some(Error::Interrupted))
    }

    /// The command's result once the value is printed: `Ok` when done,
    /// else the error that stopped the run (exit 130 or 2).
    pub fn into_result(self) -> Result<()> {
        match self {
            Outcome::Done(_) => Ok(()),
            Outcome::Stopped { by, .. } => Err(by),
        }
    }
}
