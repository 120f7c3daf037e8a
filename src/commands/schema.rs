//! `schema`: the JSON Schema of the spec, so editors validate
//! `chronotrace-ops.yaml` as it is typed (derived from the parser's own
//! types, see `spec::schema`).

use std::io::Write;

use crate::error::{Error, ExitStatus, Result};
use crate::spec::schema_json;

pub fn run() -> Result<ExitStatus> {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(schema_json().as_bytes()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(Error::io("<stdout>", e)),
        _ => Ok(ExitStatus::Ok),
    }
}
