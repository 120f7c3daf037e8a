//! `render`: build every artifact from the templates into a directory, or
//! with --check compare the directory with a fresh render.

use std::io::Write;

use serde::Serialize;

use super::Context;
use crate::cli::RenderArgs;
use crate::error::{ExitStatus, Result};
use crate::output;
use crate::render::Renderer;
use crate::render::files::{self, FileReport, FileStatus};
use crate::render::selfhosted::{MINIO_ALTERNATIVES, MINIO_FROZEN};
use crate::spec::{Provider, Spec};

#[derive(Serialize)]
struct RenderReport {
    out: String,
    check: bool,
    ok: bool,
    files: Vec<FileReport>,
    /// What the user should know about the rendered files (MinIO's frozen
    /// images). Part of the report, on stdout: stderr stays for errors.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
}

pub fn run(ctx: &Context, args: &RenderArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    if let Some(env) = &ctx.env {
        spec.environment(env)?;
    }
    let renderer = Renderer::new(args.templates.as_deref())?;
    let artifacts = renderer.render_spec(&spec, ctx.env.as_deref(), &crate::stores::files)?;
    let reports = if args.check {
        files::check_all(&args.out, &artifacts)?
    } else {
        files::write_all(&args.out, &artifacts, args.force)?
    };
    let drifted = reports
        .iter()
        .any(|r| matches!(r.status, FileStatus::Drifted | FileStatus::Missing));
    let report = RenderReport {
        out: args.out.display().to_string(),
        check: args.check,
        ok: !drifted,
        files: reports,
        notes: if uses_minio(&spec, ctx.env.as_deref())? {
            vec![format!("{MINIO_FROZEN}; {MINIO_ALTERNATIVES}")]
        } else {
            Vec::new()
        },
    };
    output::emit(ctx.output, &ctx.stamp, &report, |out: &mut dyn Write| {
        for file in &report.files {
            let status = serde_json::to_value(file.status)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default();
            let mode = if file.sensitive { " (0600)" } else { "" };
            writeln!(out, "{status:>9}  {}{mode}", file.path.display())?;
        }
        for note in &report.notes {
            writeln!(out, "note: {note}")?;
        }
        if report.check && drifted {
            writeln!(
                out,
                "files in {} differ from a fresh render: run `chronotrace-ops render --out {}`",
                report.out, report.out
            )?;
        }
        Ok(())
    })?;
    Ok(if drifted {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    })
}

/// True when the files rendered deploy or target MinIO: a `minio:` section,
/// or an environment (of those rendered) whose store lives on MinIO.
fn uses_minio(spec: &Spec, only_env: Option<&str>) -> Result<bool> {
    if spec.minio.is_some() {
        return Ok(true);
    }
    for env in spec.environments.values() {
        if only_env.is_none_or(|name| env.name == name) {
            let server = crate::stores::files(env)?.server;
            if server.is_some_and(|s| s.provider == Provider::Minio) {
                return Ok(true);
            }
        }
    }
    Ok(false)
}
