//! `cleanup verify` and `cleanup purge`: are traces past retention gone,
//! and delete them. Wiring only: the age rule is `retention`, listing and
//! deleting are `scan`, the lifecycle judgement is `cloud::retention_rule`.

use std::io::Write;

use serde::Serialize;

use super::{Context, block_on};
use crate::cli::{CleanupCommand, PurgeArgs, VerifyArgs};
use crate::cloud::retention_rule::{self, RuleStatus};
use crate::error::{Error, ExitStatus, Result};
use crate::output;
use crate::render::context::lifecycle_rule_id;
use crate::report::DayRow;
use crate::report::fmt::{bytes, count};
use crate::retention::{self, Rule};
use crate::scan::store::Store;
use crate::scan::{Judge, KeyError, Outcome, Progress, Selection, Volume};
use crate::spec::Environment;

/// `cleanup verify` as JSON (product.md contract, plus detail fields).
#[derive(Debug, Serialize)]
pub struct VerifyReport {
    pub env: String,
    pub ok: bool,
    pub retention_days: u32,
    pub grace_days: u32,
    pub cutoff: String,
    pub scanned_objects: u64,
    pub expired_objects: u64,
    pub expired_bytes: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub oldest: Option<String>,
    pub lifecycle: Option<RuleStatus>,
    pub partitions_found: usize,
    pub partitions_listed: usize,
    pub expired_partitions: Vec<DayRow>,
    /// Local traces under the other Laravel root (`storage/app` vs
    /// `storage/app/private`): the verdict above does not cover them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub elsewhere: Option<crate::app::stray::Stray>,
}

/// `cleanup purge` as JSON (product.md contract, plus detail fields).
#[derive(Debug, Serialize)]
struct PurgeReport {
    env: String,
    dry_run: bool,
    deleted_objects: u64,
    deleted_bytes: u64,
    errors: Vec<KeyError>,
    error_count: u64,
    retention_days: u32,
    cutoff: String,
    /// The expired partitions (what goes, or went).
    partitions: Vec<DayRow>,
    /// Expired objects outside partitions (by modification time).
    outside_partitions: Volume,
}

/// Runs `cleanup verify` or `cleanup purge`.
pub fn run(ctx: &Context, command: &CleanupCommand) -> Result<ExitStatus> {
    match command {
        CleanupCommand::Verify(args) => verify(ctx, args),
        CleanupCommand::Purge(args) => purge(ctx, args),
    }
}

/// The retention of this run: `--days`, else the spec's.
pub fn retention_days(days: Option<u32>, env: &Environment) -> Result<u32> {
    match days {
        Some(0) => Err(Error::usage_with_hint(
            "--days 0: retention must be at least 1 day",
            "S3 lifecycle cannot expire objects on the day they are written either",
        )),
        Some(days) => Ok(days),
        None => Ok(env.retention_days),
    }
}

fn verify(ctx: &Context, args: &VerifyArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let report = verify_env(ctx, env, args)?;
    output::emit(ctx.output, &report, |out| print_verify(out, &report))?;
    Ok(if report.ok {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    })
}

/// Lists what is past retention in `env` (only the partitions past the
/// cutoff) and judges the lifecycle rule.
pub fn verify_env(ctx: &Context, env: &Environment, args: &VerifyArgs) -> Result<VerifyReport> {
    let rule = Rule {
        retention_days: retention_days(args.days, env)?,
        grace_days: args.grace,
    };
    let judge = Judge::new(rule, retention::today());
    let (outcome, lifecycle) = block_on(async {
        let store = Store::open(&env.storage, |s| ctx.target(s), args.concurrency).await?;
        let outcome = store
            .scan(&judge, Selection::Expired, false, &Progress::on_terminal())
            .await?;
        let lifecycle = lifecycle_status(&store, env, outcome.sample_expired.as_deref()).await?;
        Ok::<_, Error>((outcome, lifecycle))
    })??;
    let tally = &outcome.tally;
    let elsewhere = match &env.storage {
        crate::spec::Storage::Local(local) => crate::app::stray::find(local),
        crate::spec::Storage::S3(_) => None,
    };
    let report = VerifyReport {
        env: env.name.clone(),
        ok: tally.expired.objects == 0 && elsewhere.is_none(),
        retention_days: rule.retention_days,
        grace_days: rule.grace_days,
        cutoff: judge.cutoff_text(),
        scanned_objects: tally.current.objects + tally.noncurrent.objects + tally.delete_markers,
        expired_objects: tally.expired.objects,
        expired_bytes: tally.expired.bytes,
        oldest: tally.oldest_expired.map(|d| d.to_string()),
        lifecycle,
        partitions_found: outcome.partitions_found,
        partitions_listed: outcome.partitions_listed,
        expired_partitions: expired_rows(&outcome),
        elsewhere,
    };
    Ok(report)
}

/// The tool's lifecycle rule on a bucket (`None` on local storage), and
/// which rule the store applies to one expired trace, if it says.
pub async fn lifecycle_status(
    store: &Store,
    env: &Environment,
    sample: Option<&str>,
) -> Result<Option<RuleStatus>> {
    let Store::S3 { source, .. } = store else {
        return Ok(None);
    };
    let mut status = retention_rule::read(
        &source.s3,
        &source.target,
        &source.bucket,
        &lifecycle_rule_id(&env.name),
        env.retention_days,
        &source.prefix.dir(),
    )
    .await?;
    if let Some(key) = sample {
        status.applies = retention_rule::applies_to(&source.s3, &source.bucket, key).await;
    }
    Ok(Some(status))
}

fn expired_rows(outcome: &Outcome) -> Vec<DayRow> {
    outcome
        .tally
        .expired_partitions
        .iter()
        .map(|(d, v)| DayRow::new(*d, *v))
        .collect()
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
    if let Some(stray) = &r.elsewhere {
        writeln!(out, "  FAIL: {}", stray.message())?;
    }
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

fn purge(ctx: &Context, args: &PurgeArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    // Purge deletes everything past retention: no grace.
    let rule = Rule {
        retention_days: retention_days(args.days, env)?,
        grace_days: 0,
    };
    let judge = Judge::new(rule, retention::today());
    let outcome = block_on(async {
        let store = Store::open(&env.storage, |s| ctx.target(s), args.concurrency).await?;
        store
            .scan(
                &judge,
                Selection::Expired,
                args.yes,
                &Progress::on_terminal(),
            )
            .await
    })??;
    let tally = &outcome.tally;
    let done = if args.yes {
        outcome.deleted
    } else {
        tally.expired
    };
    let in_partitions = tally
        .expired_partitions
        .values()
        .fold(Volume::default(), |mut a, v| {
            a.merge(*v);
            a
        });
    let report = PurgeReport {
        env: env.name.clone(),
        dry_run: !args.yes,
        deleted_objects: done.objects,
        deleted_bytes: done.bytes,
        errors: outcome.errors.clone(),
        error_count: outcome.error_count,
        retention_days: rule.retention_days,
        cutoff: judge.cutoff_text(),
        partitions: expired_rows(&outcome),
        outside_partitions: Volume {
            objects: tally.expired.objects.saturating_sub(in_partitions.objects),
            bytes: tally.expired.bytes.saturating_sub(in_partitions.bytes),
        },
    };
    output::emit(ctx.output, &report, |out| print_purge(out, &report))?;
    Ok(if report.error_count > 0 {
        ExitStatus::Findings
    } else {
        ExitStatus::Ok
    })
}

fn print_rows(out: &mut dyn Write, indent: &str, rows: &[DayRow]) -> std::io::Result<()> {
    for row in rows {
        let (objects, size) = (count(row.objects), bytes(row.bytes));
        writeln!(out, "{indent}{}  {objects} objects  {size}", row.date)?;
    }
    Ok(())
}

fn print_purge(out: &mut dyn Write, r: &PurgeReport) -> std::io::Result<()> {
    let verb = if r.dry_run { "would delete" } else { "deleted" };
    writeln!(
        out,
        "{}: {verb} {} objects ({}) past {} days of retention (dated before {})",
        r.env,
        count(r.deleted_objects),
        bytes(r.deleted_bytes),
        r.retention_days,
        r.cutoff
    )?;
    print_rows(out, "  ", &r.partitions)?;
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
    if r.dry_run && r.deleted_objects > 0 {
        writeln!(
            out,
            "dry run: nothing was deleted; run again with --yes to delete"
        )?;
    }
    Ok(())
}
