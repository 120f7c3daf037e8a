//! `report`: scan the whole environment, build the report model and render
//! it as text, JSON, Markdown or HTML, to stdout or `--out FILE`.

use std::io::Write;

use chrono::SecondsFormat;

use super::{Context, block_on};
use crate::cli::{OutputFormat, ReportArgs, ReportFormat};
use crate::error::{Error, ExitStatus, Result};
use crate::report::model::{Inputs, StorageSummary};
use crate::report::{self, Report};
use crate::retention::{self, Rule};
use crate::scan::store::Store;
use crate::scan::{Judge, Progress, Selection};
use crate::spec::{Environment, Storage};

/// Runs `report`.
pub fn run(ctx: &Context, args: &ReportArgs) -> Result<ExitStatus> {
    let spec = ctx.load_spec()?;
    let env = spec.environment(ctx.env_name())?;
    let format = args.format.unwrap_or(match ctx.output {
        OutputFormat::Json => ReportFormat::Json,
        OutputFormat::Text => ReportFormat::Text,
    });
    let mut report = build(ctx, env, args)?;
    if !args.no_checks {
        report = with_checks(ctx, env, report);
    }
    let text = report::render(&report, format)?;
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
    Ok(ExitStatus::Ok)
}

/// Adds the `check` results; when the checks cannot run at all, the
/// report goes out without them and says why on stderr.
pub fn with_checks(ctx: &Context, env: &Environment, report: Report) -> Report {
    match super::check::evaluate(ctx, env) {
        Ok(checks) => report.with_checks(checks.checks),
        Err(e) => {
            crate::output::warn(&format!("report without checks: {e}"));
            report
        }
    }
}

/// Scans the environment and builds its report (checks not included).
pub fn build(ctx: &Context, env: &Environment, args: &ReportArgs) -> Result<Report> {
    let rule = Rule {
        retention_days: env.retention_days,
        grace_days: args.grace,
    };
    let judge = Judge::new(rule, retention::today());
    block_on(async {
        let store = Store::open(&env.storage, |s| ctx.target(s), args.concurrency).await?;
        let outcome = store
            .scan(&judge, Selection::All, false, &Progress::default())
            .await?;
        let lifecycle = super::cleanup::lifecycle_status(&store, env, None).await?;
        let mut report = Report::build(Inputs {
            env: &env.name,
            generated_at: crate::clock::now().to_rfc3339_opts(SecondsFormat::Secs, true),
            storage: summary(env, &store),
            judge: &judge,
            outcome: &outcome,
            lifecycle,
            noncurrent_expiry: matches!(&env.storage, Storage::S3(s) if s.noncurrent_days.is_some()),
        });
        crate::app::amend_report(&mut report, env);
        Ok(report)
    })?
}

/// Where the traces live, without credentials.
fn summary(env: &Environment, store: &Store) -> StorageSummary {
    let mut summary = StorageSummary {
        kind: "local".into(),
        location: store.location(),
        ..StorageSummary::default()
    };
    match (&env.storage, store) {
        (Storage::S3(s3), Store::S3 { source, .. }) => {
            summary.kind = "s3".into();
            summary.provider = Some(s3.provider.name().into());
            summary.endpoint = source.target.endpoint.clone();
            summary.region = Some(source.target.region.clone());
            summary.bucket = Some(s3.bucket.clone());
            summary.prefix = Some(s3.prefix.dir());
            summary.versioned = Some(source.versioned);
        }
        (Storage::Local(local), _) => summary.path = Some(local.path.display().to_string()),
        _ => {}
    }
    summary
}
