//! Data to stdout (as text for people or JSON for scripts); notes and
//! warnings to stderr. A closed pipe (`| head`) is not an error.

#![warn(unreachable_pub)]

use std::io::{self, Write};

use serde::Serialize;

use crate::error::{Error, Result};

/// What stdout carries: text for people or JSON for scripts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum OutputFormat {
    Text,
    Json,
}

/// Prints `value` as JSON, or calls `human` to print it as text.
pub(crate) fn emit<T: Serialize>(
    format: OutputFormat,
    value: &T,
    human: impl FnOnce(&mut dyn Write) -> io::Result<()>,
) -> Result<()> {
    // A first Ctrl-C while the result is printed waits for the end of it:
    // half a JSON document is worse than none.
    let _printing = crate::interrupt::cooperate();
    let mut stdout = io::stdout().lock();
    let result = match format {
        OutputFormat::Json => serde_json::to_writer_pretty(&mut stdout, value)
            .map_err(io::Error::other)
            .and_then(|()| writeln!(stdout)),
        OutputFormat::Text => human(&mut stdout),
    };
    match result {
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Error::io("<stdout>", e)),
        Ok(()) => Ok(()),
    }
}

/// A note for people on stderr (never data).
pub(crate) fn note(message: &str) {
    let _ = writeln!(io::stderr().lock(), "note: {message}");
}

/// An error of one part of a run on stderr (the run goes on; the exit
/// status says it failed).
pub(crate) fn error_line(message: &str) {
    let _ = writeln!(io::stderr().lock(), "error: {message}");
}

/// A warning on stderr.
pub(crate) fn warn(message: &str) {
    let _ = writeln!(io::stderr().lock(), "warning: {message}");
}
