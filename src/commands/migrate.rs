//! `migrate --from ENV --to ENV`: copy (or `--move`) traces between two
//! environments' stores. Wiring only: the work is `ops::migrate`.

use std::io::Write;

use super::{Context, embedded_refusal};
use crate::cli::MigrateArgs;
use crate::error::{Error, ExitStatus, Result};
use crate::ops::migrate::{self, MigrateReport, MigrateSettings};
use crate::output;
use crate::report::fmt::{bytes, count};
use crate::spec::SpecSource;

/// Runs `migrate`.
pub async fn run(ctx: &Context, args: &MigrateArgs) -> Result<ExitStatus> {
    if args.concurrency == 0 {
        return Err(Error::usage(
            "--concurrency 0: copy at least one trace at a time",
        ));
    }
    let spec = ctx.load_spec()?;
    let from = spec.environment(&args.from)?;
    let to = spec.environment(&args.to)?;
    // The embedded starter spec's stores other than the local disk are
    // examples: nothing is written to them (nor removed from them).
    if args.yes && ctx.spec_source == SpecSource::Embedded {
        if !to.storage.is_local_disk() {
            return Err(embedded_refusal(
                &to.name,
                "migrate --yes would write to it",
            ));
        }
        if args.move_traces && !from.storage.is_local_disk() {
            return Err(embedded_refusal(
                &from.name,
                "migrate --move --yes would remove from it",
            ));
        }
    }
    let settings = MigrateSettings {
        older_than: args.older_than,
        move_traces: args.move_traces,
        apply: args.yes,
        concurrency: args.concurrency,
        progress: ctx.output == output::OutputFormat::Text,
    };
    let outcome = migrate::migrate(&ctx.session, from, to, settings).await?;
    let report = outcome.value();
    output::emit(ctx.output, &ctx.stamp, report, |out| print(out, report))?;
    let failed = report.counts.failed;
    // Stopped: Ctrl-C exits 130, a server's error 2 (its line on stderr).
    outcome.into_result()?;
    Ok(if failed > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    })
}

fn print(out: &mut dyn Write, r: &MigrateReport) -> std::io::Result<()> {
    let what = match r.before.as_deref() {
        Some(before) => format!("traces stored before {before}"),
        None => "every trace".to_string(),
    };
    writeln!(
        out,
        "{} → {}: {what} ({} → {})",
        r.from, r.to, r.from_location, r.to_location
    )?;
    writeln!(
        out,
        "  listed {} traces ({})",
        count(r.counts.listed),
        bytes(r.counts.listed_bytes)
    )?;
    if r.dry_run {
        for (day, volume) in &r.counts.days {
            writeln!(
                out,
                "    {day}  {} traces  {}",
                count(volume.objects),
                bytes(volume.bytes)
            )?;
        }
        if !r.interrupted && r.stopped_by_error.is_none() {
            let verb = if r.move_traces { "move" } else { "copy" };
            writeln!(
                out,
                "dry run: nothing was read or written; run again with --yes to {verb} them"
            )?;
        }
        return Ok(());
    }
    writeln!(
        out,
        "  copied {} ({}), already there {}",
        count(r.counts.copied),
        bytes(r.counts.copied_bytes),
        count(r.counts.already_there)
    )?;
    if r.move_traces {
        writeln!(
            out,
            "  removed from the source {} (each after its copy was confirmed)",
            count(r.counts.removed_from_source)
        )?;
    }
    if r.counts.past_destination_retention > 0 {
        writeln!(
            out,
            "  not copied, past the destination's retention: {} (kept in the source)",
            count(r.counts.past_destination_retention)
        )?;
    }
    if r.counts.gone_from_source > 0 {
        writeln!(
            out,
            "  gone from the source before they were read: {}",
            count(r.counts.gone_from_source)
        )?;
    }
    for e in &r.counts.errors {
        writeln!(out, "  error: {}: {}", e.trace, e.message)?;
    }
    if r.counts.failed > r.counts.errors.len() as u64 {
        writeln!(
            out,
            "  … and {} more errors",
            r.counts.failed - r.counts.errors.len() as u64
        )?;
    }
    if r.interrupted || r.stopped_by_error.is_some() {
        writeln!(
            out,
            "the migration did not complete: every trace is in the source, the destination or both; run it again to finish"
        )?;
    } else if r.counts.failed > 0 {
        writeln!(
            out,
            "{} traces were not migrated (each kept in the source)",
            count(r.counts.failed)
        )?;
    }
    Ok(())
}
