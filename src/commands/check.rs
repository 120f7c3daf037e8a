//! `check`: runs every check of one environment (`ops::check`) and prints
//! the report: a table, JSON, or JUnit XML (`--format junit`), to stdout or
//! `--out FILE`. Exit 0 when nothing failed, 1 when a check failed, 2 when
//! the checks cannot run at all (bad spec, bad flags, unreadable CA bundle).

use chrono::SecondsFormat;

use super::Context;
use crate::check::{junit, table};
use crate::cli::{CheckArgs, CheckFormat};
use crate::error::{Error, ExitStatus, Result};
use crate::output::OutputFormat;
use crate::{ops, output};

/// Runs `check` for the selected environment.
pub fn run(ctx: &Context, args: &CheckArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let format = args.format.unwrap_or(match ctx.output {
        OutputFormat::Json => CheckFormat::Json,
        OutputFormat::Text => CheckFormat::Text,
    });
    let report = ops::check::evaluate(&ctx.session, env)?;
    match (format, &args.out) {
        (CheckFormat::Text, None) => output::emit(OutputFormat::Text, &report, |out| {
            table::write(out, &report, ctx.color)
        })?,
        (CheckFormat::Json, None) => output::emit(OutputFormat::Json, &report, |_| Ok(()))?,
        (format, out) => {
            let text = match format {
                CheckFormat::Junit => {
                    let now = crate::clock::now().to_rfc3339_opts(SecondsFormat::Secs, true);
                    junit::render(&report, &now)
                }
                CheckFormat::Json => {
                    let mut json = serde_json::to_string_pretty(&report)
                        .map_err(|e| Error::usage(format!("check as JSON: {e}")))?;
                    json.push('\n');
                    json
                }
                CheckFormat::Text => {
                    let mut table_text = Vec::new();
                    table::write(&mut table_text, &report, false)
                        .map_err(|e| Error::io("<check table>", e))?;
                    String::from_utf8_lossy(&table_text).into_owned()
                }
            };
            match out {
                Some(path) => crate::render::files::write_atomically(path, &text, false)?,
                None => output::emit(OutputFormat::Text, &(), |stdout| {
                    stdout.write_all(text.as_bytes())
                })?,
            }
        }
    }
    Ok(if report.ok {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    })
}
