//! `migrate`: copy an environment's traces into another environment's
//! store, in that store's layout, keeping each trace's id and date; with
//! `--move`, then remove each source copy. Any two stores: the work is
//! `stores::transfer` over the `stores::items` seam (see there for why
//! nothing is lost); this opens the two stores and says what happened.

use serde::Serialize;

use crate::error::{Error, Result};
use crate::ops::Outcome;
use crate::ops::session::Session;
use crate::scan::{Progress, TransferCounts};
use crate::spec::Environment;
use crate::stores::items::same_place;
use crate::stores::transfer::{Transfer, TransferSettings};

/// What `migrate` was asked.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MigrateSettings {
    /// Only traces stored more than this many days ago.
    pub(crate) older_than: Option<u32>,
    /// Remove each source copy once its copy is confirmed.
    pub(crate) move_traces: bool,
    /// Really copy (otherwise a dry run).
    pub(crate) apply: bool,
    /// Traces copied at once.
    pub(crate) concurrency: usize,
    pub(crate) progress: bool,
}

/// What a migration did (or, dry, would do).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct MigrateReport {
    pub(crate) from: String,
    pub(crate) to: String,
    pub(crate) from_location: String,
    pub(crate) to_location: String,
    pub(crate) dry_run: bool,
    #[serde(rename = "move")]
    pub(crate) move_traces: bool,
    pub(crate) older_than_days: Option<u32>,
    /// Traces stored before this day were selected (`--older-than`).
    pub(crate) before: Option<String>,
    #[serde(flatten)]
    pub(crate) counts: TransferCounts,
    pub(crate) interrupted: bool,
    pub(crate) stopped_by_error: Option<String>,
}

/// Copies (and with `--move`, moves) `from`'s traces into `to`'s store.
pub(crate) async fn migrate(
    session: &Session,
    from: &Environment,
    to: &Environment,
    settings: MigrateSettings,
) -> Result<Outcome<MigrateReport>> {
    if from.name == to.name || same_place(from, to) {
        return Err(Error::usage_with_hint(
            format!(
                "migrate --from {} --to {}: the same store and place; a copy onto itself would lose traces",
                from.name, to.name
            ),
            "name two environments whose stores (or prefixes, tables, key prefixes) differ",
        ));
    }
    let source_store = crate::stores::open(from, &session.connections);
    let destination_store = crate::stores::open(to, &session.connections);
    let source = source_store.items().await?;
    let destination = destination_store.items().await?;
    let before = settings
        .older_than
        .map(|days| crate::clock::now().date_naive() - chrono::Days::new(u64::from(days)));
    let mut report = MigrateReport {
        from: from.name.clone(),
        to: to.name.clone(),
        from_location: source.location(),
        to_location: destination.location(),
        dry_run: !settings.apply,
        move_traces: settings.move_traces,
        older_than_days: settings.older_than,
        before: before.map(|d| d.to_string()),
        counts: TransferCounts::default(),
        interrupted: false,
        stopped_by_error: None,
    };
    let progress = Progress::when(settings.progress);
    let _cooperating = crate::interrupt::cooperate();
    let transfer = Transfer {
        source: &*source,
        destination: &*destination,
        settings: TransferSettings {
            before,
            move_traces: settings.move_traces,
            apply: settings.apply,
            concurrency: settings.concurrency,
        },
        progress: &progress,
    };
    let stopped = transfer.run(&mut report.counts).await;
    progress.finish();
    Ok(match stopped {
        None => Outcome::Done(report),
        Some(by) => {
            report.interrupted = matches!(by, Error::Interrupted);
            if !report.interrupted {
                report.stopped_by_error = Some(by.to_string().replace('\n', " "));
            }
            Outcome::Stopped { so_far: report, by }
        }
    })
}
