//! `init`: write the commented starter spec; never overwrite without --force.

use std::io::Write;

use serde::Serialize;

use super::Context;
use crate::cli::InitArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::spec::STARTER_SPEC;

#[derive(Serialize)]
struct InitReport {
    path: String,
    overwritten: bool,
}

pub fn run(ctx: &Context, args: &InitArgs) -> Result<ExitStatus> {
    let path = &ctx.spec_path;
    let exists = path.exists();
    if exists && !args.force {
        return Err(Error::usage_with_hint(
            format!("{}: already exists; not overwritten", path.display()),
            "pass --force to replace it with the starter spec",
        ));
    }
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
    }
    crate::render::files::write_atomically(path, STARTER_SPEC, false)?;
    let report = InitReport {
        path: path.display().to_string(),
        overwritten: exists,
    };
    output::emit(ctx.output, &ctx.stamp, &report, |out: &mut dyn Write| {
        writeln!(out, "wrote {}", report.path)?;
        writeln!(
            out,
            "next: edit it, then `chronotrace-ops render` to build the deployment files"
        )
    })?;
    Ok(ExitStatus::Ok)
}
