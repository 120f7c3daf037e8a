//! `report`: build the report (`ops::report`), add the checks, render it
//! as text, JSON, Markdown, HTML or OpenMetrics, to stdout or `--out FILE`;
//! with `--env all`, every environment at once in one document.

use std::io::Write;

use super::{Context, for_each_env, settle};
use crate::cli::ReportArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::ops::report::{self as build, ReportSettings};
use crate::output::OutputFormat;
use crate::report::{self, ReportFormat};

/// Runs `report`.
pub async fn run(ctx: &Context, args: &ReportArgs) -> Result<ExitStatus> {
    let spec = if args.no_checks {
        ctx.load_spec()?
    } else {
        // Its checks write a probe, as `check` does.
        ctx.load_spec_to_change(
            "report's checks write a probe object to it (`report --no-checks` only reads)",
        )?
    };
    let envs = ctx.environments(&spec)?;
    let format = args.format.map_or(
        match ctx.output {
            OutputFormat::Json => ReportFormat::Json,
            OutputFormat::Text => ReportFormat::Text,
        },
        ReportFormat::from,
    );
    let settings = ReportSettings {
        grace: args.grace,
        concurrency: args.concurrency,
        source: args.source.into(),
    };
    let results = for_each_env(&envs, |env| async move {
        let report = build::build(&ctx.session, env, settings).await?;
        Ok(if args.no_checks {
            report
        } else {
            build::with_checks(&ctx.session, env, report).await
        })
    })
    .await;
    let (reports, status) = settle(&envs, results, |_| ExitStatus::Ok)?;
    let text = report::render_all(&reports, format, &ctx.stamp)?;
    match &args.out {
        Some(path) => crate::render::files::write_atomically(path, &text, false)?,
        None => {
            let mut stdout = std::io::stdout().lock();
            match stdout.write_all(text.as_bytes()) {
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(Error::io("<stdout>", e));
                }
                _ => {}
            }
        }
    }
    Ok(status)
}
