//! `cleanup verify` and `cleanup purge`: are traces past retention gone,
//! and delete them. Wiring only: the work is `ops::cleanup`.

use std::io::Write;

use super::{Context, findings_unless, for_each_env, settle};
use crate::cli::{CleanupCommand, PurgeArgs, VerifyArgs};
use crate::error::{ExitStatus, Result};
use crate::ops::cleanup::{self, PurgeReport, PurgeSettings, VerifyReport, VerifySettings};
use crate::output;
use crate::report::DayRow;
use crate::report::fmt::{bytes, count};
use crate::scan::{DeletedCount, StoreFinding, TablePartition, TransferCounts};

/// Runs `cleanup verify` or `cleanup purge`.
pub async fn run(ctx: &Context, command: &CleanupCommand) -> Result<ExitStatus> {
    match command {
        CleanupCommand::Verify(args) => verify(ctx, args).await,
        CleanupCommand::Purge(args) => purge(ctx, args).await,
    }
}

/// `cleanup verify` for one environment, or every one at once (`--env
/// all`: one section each, a JSON array, the worst exit status).
async fn verify(ctx: &Context, args: &VerifyArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let envs = ctx.environments(&spec)?;
    let settings = VerifySettings {
        days: args.days,
        grace: args.grace,
        concurrency: args.concurrency,
        // Progress bars of several environments at once would interleave.
        progress: ctx.output == output::OutputFormat::Text && envs.len() == 1,
        source: args.source.into(),
    };
    let results = for_each_env(&envs, |env| cleanup::verify(&ctx.session, env, settings)).await;
    let (reports, status) = settle(&envs, results, |report| findings_unless(report.ok))?;
    let print = |out: &mut dyn Write| {
        for (i, report) in reports.iter().enumerate() {
            if i > 0 {
                writeln!(out)?;
            }
            print_verify(out, report)?;
        }
        Ok(())
    };
    match reports.as_slice() {
        [one] => output::emit(ctx.output, &ctx.stamp, one, print)?,
        many => output::emit(ctx.output, &ctx.stamp, &many, print)?,
    }
    Ok(status)
}

fn print_verify(out: &mut dyn Write, r: &VerifyReport) -> std::io::Result<()> {
    writeln!(
        out,
        "{}: retention {} days + {} grace, cutoff {}",
        r.env, r.retention_days, r.grace_days, r.cutoff
    )?;
    writeln!(
        out,
        "  listed {} of {} date partitions and everything outside them: {} objects",
        r.partitions_listed,
        r.partitions_found,
        count(r.scanned_objects)
    )?;
    if let Some(source) = &r.source {
        writeln!(out, "  source: {}", source.line())?;
    }
    if let Some(stray) = &r.elsewhere {
        writeln!(out, "  FAIL: {}", stray.message())?;
    }
    print_store_findings(out, &r.store_findings, false)?;
    print_table_partitions(out, &r.table_partitions, Whole::VERIFY)?;
    if r.ok {
        writeln!(out, "  ok: nothing past retention")?;
    } else if r.expired_objects > 0 {
        writeln!(
            out,
            "  FAIL: {} objects ({}) past retention{}",
            count(r.expired_objects),
            bytes(r.expired_bytes),
            r.oldest
                .as_ref()
                .map(|d| format!(", the oldest from {d}"))
                .unwrap_or_default()
        )?;
        print_rows(out, "    ", &r.expired_partitions)?;
    }
    if let Some(l) = &r.lifecycle {
        let state = if l.matching {
            "present and matching".to_string()
        } else {
            l.problems.join("; ")
        };
        writeln!(out, "  lifecycle rule {}: {state}", l.rule_id)?;
        if let Some(applies) = &l.applies {
            writeln!(
                out,
                "  the store applies rule '{applies}' to expired traces"
            )?;
        }
    }
    Ok(())
}

async fn purge(ctx: &Context, args: &PurgeArgs) -> Result<ExitStatus> {
    let spec = if args.yes {
        ctx.load_spec_to_change("cleanup purge --yes would delete from it")?
    } else {
        ctx.load_spec()?
    };
    let env = spec.environment(ctx.env_name())?;
    let settings = PurgeSettings {
        days: args.days,
        delete: args.yes,
        concurrency: args.concurrency,
        progress: ctx.output == output::OutputFormat::Text,
        detach: args.detach,
    };
    let outcome = cleanup::purge(&ctx.session, env, settings).await?;
    let report = outcome.value();
    output::emit(ctx.output, &ctx.stamp, report, |out| {
        print_purge(out, report)
    })?;
    let errors = report.error_count + report.archive.as_ref().map_or(0, |a| a.failed);
    // Stopped: Ctrl-C exits 130, a server's error 2 (its line on stderr).
    outcome.into_result()?;
    Ok(if errors > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    })
}

/// A hybrid pair's archive: what moved to the cold tier (or would), and
/// what failed and stays in the hot tier.
fn print_archive(out: &mut dyn Write, a: &TransferCounts, dry_run: bool) -> std::io::Result<()> {
    if dry_run {
        return writeln!(
            out,
            "  archive: would move {} traces ({}) from the hot tier to the cold one",
            count(a.listed),
            bytes(a.listed_bytes)
        );
    }
    writeln!(
        out,
        "  archived {} traces to the cold tier ({} copied, {} already there); {} failed and stay in the hot tier",
        count(a.removed_from_source),
        count(a.copied),
        count(a.already_there),
        count(a.failed)
    )?;
    for e in &a.errors {
        writeln!(out, "  archive error: {}: {}", e.trace, e.message)?;
    }
    Ok(())
}

fn print_rows(out: &mut dyn Write, indent: &str, rows: &[DayRow]) -> std::io::Result<()> {
    for row in rows {
        let (objects, size) = (count(row.objects), bytes(row.bytes));
        writeln!(out, "{indent}{}  {objects} objects  {size}", row.date)?;
    }
    Ok(())
}

/// A partitioned table's partitions: each one's rows past the cutoff, and
/// which ones a purge drops whole or detaches (`whole` says so: `dropped
/// whole`, `detached` and the like, for `dry_run` or not); those with none
/// past it counted in one line.
fn print_table_partitions(
    out: &mut dyn Write,
    partitions: &[TablePartition],
    whole: Whole,
) -> std::io::Result<()> {
    // A monthly layout has dozens: those with nothing past the cutoff
    // go in one line (JSON lists every one).
    let (listed, clear): (Vec<_>, Vec<_>) = partitions
        .iter()
        .partition(|p| p.rows > 0 || p.goes_whole());
    for p in listed {
        let dropped = match (&p.detached_as, p.dropped_whole) {
            (Some(kept), _) => format!(", {} {kept}", whole.detached),
            (None, true) => format!(", {}", whole.dropped),
            (None, false) => String::new(),
        };
        writeln!(
            out,
            "  table partition {} {}: {} rows ({}) past retention{dropped}",
            p.name,
            p.bounds,
            count(p.rows),
            bytes(p.bytes)
        )?;
    }
    if !clear.is_empty() {
        writeln!(
            out,
            "  {} other table partition(s) with nothing past retention",
            clear.len()
        )?;
    }
    Ok(())
}

/// How a partition a purge takes out of the table whole is named: in a
/// verify, a dry run or a purge.
#[derive(Debug, Clone, Copy)]
struct Whole {
    dropped: &'static str,
    /// Followed by the name of the table it is kept as.
    detached: &'static str,
}

impl Whole {
    const VERIFY: Whole = Whole {
        dropped: "a purge would drop it whole",
        detached: "a purge --detach would keep it as table",
    };
    const DRY_RUN: Whole = Whole {
        dropped: "would be dropped whole",
        detached: "would be detached (out of the table, not deleted) and kept as table",
    };
    const PURGE: Whole = Whole {
        dropped: "dropped whole",
        detached: "detached (out of the table, not deleted) and kept as table",
    };
}

/// The store's layout defects (Redis): failing ones as FAIL, the others
/// as notes; after a purge with --yes, what it repaired.
fn print_store_findings(
    out: &mut dyn Write,
    findings: &[StoreFinding],
    repaired: bool,
) -> std::io::Result<()> {
    for f in findings.iter().filter(|f| f.count > 0) {
        let level = if f.failing() { "FAIL" } else { "note" };
        if repaired {
            writeln!(
                out,
                "  {}: {} (repaired {})",
                f.id,
                f.message,
                count(f.repaired)
            )?;
        } else {
            writeln!(out, "  {level}: {}", f.message)?;
        }
    }
    Ok(())
}

fn print_purge(out: &mut dyn Write, r: &PurgeReport) -> std::io::Result<()> {
    let requested = r.deleted_objects_counted == Some(DeletedCount::Requested);
    let stop = match (r.interrupted, &r.stopped_by_error) {
        (true, _) => Some("interrupted"),
        (false, Some(_)) => Some("stopped by an error"),
        (false, None) => None,
    };
    let stopped = stop.is_some();
    let verb = match (r.dry_run, stop, requested) {
        (true, None, _) => "would delete".to_string(),
        (true, Some(stop), _) => format!("{stop} dry run: deleted"),
        (false, None, false) => "deleted".to_string(),
        (false, Some(stop), false) => format!("{stop}: deleted only"),
        (false, None, true) => "requested the deletion of".to_string(),
        (false, Some(stop), true) => format!("{stop}: requested the deletion of only"),
    };
    writeln!(
        out,
        "{}: {verb} {} objects ({}) past {} days of retention (dated before {})",
        r.env,
        count(r.deleted_objects),
        bytes(r.deleted_bytes),
        r.retention_days,
        r.cutoff
    )?;
    if requested {
        writeln!(
            out,
            "  the count is of keys sent: the store answers deleted for a key already gone, so a purge running at the same time may count some of them too"
        )?;
    }
    print_rows(out, "  ", &r.partitions)?;
    let whole = if r.dry_run {
        Whole::DRY_RUN
    } else {
        Whole::PURGE
    };
    print_table_partitions(out, &r.table_partitions, whole)?;
    if let (Some(objects), Some(size)) = (r.detached_objects, r.detached_bytes) {
        let verb = if r.dry_run { "would be" } else { "were" };
        writeln!(
            out,
            "  of these, {} objects ({}) {verb} detached, not deleted: kept in the tables named above, which the tool never touches again (archive them, then drop them)",
            count(objects),
            bytes(size)
        )?;
    }
    if let Some(archive) = &r.archive {
        print_archive(out, archive, r.dry_run)?;
    }
    if r.outside_partitions.objects > 0 {
        writeln!(
            out,
            "  outside partitions: {} objects  {}",
            count(r.outside_partitions.objects),
            bytes(r.outside_partitions.bytes)
        )?;
    }
    for e in &r.errors {
        writeln!(out, "  error: {}: {}: {}", e.key, e.code, e.message)?;
    }
    if r.error_count > r.errors.len() as u64 {
        writeln!(
            out,
            "  … and {} more errors",
            r.error_count - r.errors.len() as u64
        )?;
    }
    print_store_findings(out, &r.store_findings, !r.dry_run)?;
    if let Some(finished) = &r.finished_partitions {
        let finished = if finished.is_empty() {
            "none".to_string()
        } else {
            finished.join(", ")
        };
        writeln!(out, "  partitions finished: {finished}")?;
        writeln!(
            out,
            "the purge did not complete: run it again to delete the rest"
        )?;
    }
    if r.dry_run && !stopped && r.deleted_objects > 0 {
        writeln!(
            out,
            "dry run: nothing was deleted; run again with --yes to delete"
        )?;
    }
    Ok(())
}
