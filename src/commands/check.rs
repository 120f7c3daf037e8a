//! `check`: runs every check of one environment, or of every environment at
//! once (`--env all`), with `ops::check`, and prints the result: a table,
//! JSON (an array for several environments), or JUnit XML (`--format
//! junit`, a test suite per environment), to stdout or `--out FILE`. Exit 0
//! when nothing failed, 1 when a check failed, 2 when the checks cannot run
//! at all (bad spec, bad flags, unreadable CA bundle) — with several
//! environments, the worst of them.

use chrono::SecondsFormat;

use super::{Context, findings_unless, for_each_env, settle};
use crate::check::{Report, junit, table};
use crate::cli::{CheckArgs, CheckFormat};
use crate::error::{Error, ExitStatus, Result};
use crate::output::OutputFormat;
use crate::{ops, output};

/// Runs `check` for the selected environments.
pub async fn run(ctx: &Context, args: &CheckArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec_to_change("check writes a probe object to it")?;
    let envs = ctx.environments(&spec)?;
    let format = args.format.unwrap_or(match ctx.output {
        OutputFormat::Json => CheckFormat::Json,
        OutputFormat::Text => CheckFormat::Text,
    });
    let results = for_each_env(&envs, |env| ops::check::evaluate(&ctx.session, env)).await;
    let (reports, status) = settle(&envs, results, |report| findings_unless(report.ok))?;
    let color = ctx.color && args.out.is_none();
    let text = match format {
        CheckFormat::Junit => {
            let now = crate::clock::now().to_rfc3339_opts(SecondsFormat::Secs, true);
            junit::render(&reports, &now)
        }
        CheckFormat::Json => ctx.stamp.document(&reports)?,
        CheckFormat::Text => tables(&reports, color)?,
    };
    match &args.out {
        Some(path) => crate::render::files::write_atomically(path, &text, false)?,
        None => output::emit(OutputFormat::Text, &ctx.stamp, &(), |stdout| {
            stdout.write_all(text.as_bytes())
        })?,
    }
    Ok(status)
}

/// The table of each report, a blank line between environments.
fn tables(reports: &[Report], color: bool) -> Result<String> {
    let mut text = Vec::new();
    for (i, report) in reports.iter().enumerate() {
        if i > 0 {
            text.push(b'\n');
        }
        table::write(&mut text, report, color).map_err(|e| Error::io("<check table>", e))?;
    }
    Ok(String::from_utf8_lossy(&text).into_owned())
}
