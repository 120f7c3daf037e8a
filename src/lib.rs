//! chronotrace-ops: provision, validate and audit the object storage behind
//! ChronoTrace, from one YAML spec.
//!
//! Layers, each using only those below it (`scripts/layers.py` checks the
//! order and that no two modules of any folder import each other):
//!
//! - `cli` (clap types) → `commands` (one file per subcommand, wiring only:
//!   flags to settings, print, exit status);
//! - `ops` (what the commands do, for any store: the plan executor, the
//!   check evaluation, cleanup, the report builder; the `Session` of one
//!   run: runtime and connections) — it names no store;
//! - `stores` (one folder a store: `s3`, `local`, `redis`, `sql`, each
//!   with its adapter, scan, checks, provisioning and admin planes; the
//!   seam `Store`, `TraceStore`, `Provision`; `stores::open`, the one
//!   match on the storage kind) — the only code that talks to a store;
//! - `transport` (what every store's client shares: time limits, the one
//!   TLS trust, the HTTPS client, the retry policy, DNS/TCP/TLS/HTTP
//!   probes, the command line's overrides) — it imports no store;
//!   `credentials_file` writes an app's generated secrets once, mode 0600;
//! - pure: `spec` (parse and validate), `plan` (desired vs observed),
//!   `render` (Tera), `scan` (judge and tally), `bundle` (a trace's bytes
//!   as a zip bundle or JSON, and the conversion), `report` (model and
//!   renderings), `check` (result model), `retention` (the age rule),
//!   `output` (text and JSON), `error` (failures and exit codes), `clock`
//!   (the one place the time is read);
//! - `app`: the Laravel app's side (its `.env`, `composer.lock` and config,
//!   read as text), used by `check` and to find the local disk root.
//!
//! Visibility: the crate's public surface is `main_entry` (the binary),
//! `error` and, with the `fuzzing` feature, `fuzzing` (the fuzz crate);
//! with the `testing` feature, `testing` (adapters the integration tests
//! drive directly).
//! Every module is `pub(crate)`, so the compiler reports dead code; the
//! modules that carry `#![warn(unreachable_pub)]` write `pub(crate)` too.

pub(crate) mod app;
pub(crate) mod bundle;
pub(crate) mod check;
pub(crate) mod cli;
pub(crate) mod clock;
pub(crate) mod commands;
pub(crate) mod credentials_file;
pub mod error;
#[cfg(feature = "fuzzing")]
#[doc(hidden)]
pub mod fuzzing;
pub(crate) mod interrupt;
pub(crate) mod ops;
pub(crate) mod output;
pub(crate) mod plan;
pub(crate) mod render;
pub(crate) mod report;
pub(crate) mod retention;
pub(crate) mod scan;
pub(crate) mod secret;
pub(crate) mod spec;
pub(crate) mod stores;
#[cfg(feature = "testing")]
#[doc(hidden)]
pub mod testing;
pub(crate) mod transport;

use std::ffi::OsString;
use std::io::Write;

use clap::Parser;

use crate::cli::{Cli, Command};
use crate::error::{Error, ExitStatus};

/// Parses `args`, runs the command and prints any error as one line (plus a
/// hint when the cause is known). Never panics on user or server input.
pub fn main_entry<I: IntoIterator<Item = OsString>>(args: I) -> ExitStatus {
    let cli = match Cli::try_parse_from(args) {
        Ok(cli) => cli,
        Err(err) => {
            // --help and --version are not errors; clap's usage errors exit 2.
            let _ = err.print();
            return if err.use_stderr() {
                ExitStatus::Error
            } else {
                ExitStatus::Ok
            };
        }
    };
    // The run's one runtime: every command is async on it.
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(ops::session::worker_threads())
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(e) => {
            let err = Error::io("<tokio runtime>", e);
            report_error(&err);
            return err.exit_status();
        }
    };
    // The signal watcher keeps a thread of its own, outside this runtime:
    // a second Ctrl-C must end the run even when the runtime is stuck.
    interrupt::install();
    let status = match runtime.block_on(run(cli)) {
        Ok(status) => status,
        Err(err) => {
            report_error(&err);
            err.exit_status()
        }
    };
    // A signal during a section that finished anyway: still an interrupted run.
    if interrupt::requested() && status != ExitStatus::Interrupted {
        interrupt::exit_now();
    }
    status
}

/// Debug logs on stderr: `-v` for the tool's own steps, `-vv` adds the AWS
/// SDK's (which redacts credentials; the tool never logs a secret either).
fn init_logs(verbose: u8) {
    use tracing::Level;
    use tracing_subscriber::filter::Targets;
    use tracing_subscriber::prelude::*;
    let (ours, sdk) = match verbose {
        0 => return,
        1 => (Level::DEBUG, Level::WARN),
        _ => (Level::TRACE, Level::DEBUG),
    };
    let filter = Targets::new()
        .with_target("chronotrace_ops", ours)
        .with_default(sdk);
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .with_target(false);
    let _ = tracing_subscriber::registry()
        .with(layer.with_filter(filter))
        .try_init();
}

/// Runs one parsed command line (on the runtime `main_entry` started).
/// Each command's future is boxed: the SDK's futures are deep, and the
/// largest command would otherwise size the whole match.
pub async fn run(cli: Cli) -> Result<ExitStatus, Error> {
    init_logs(cli.global.verbose);
    let ctx = commands::Context::from_global(&cli.global)?;
    match cli.command {
        Command::Init(args) => commands::init::run(&ctx, &args),
        Command::Render(args) => commands::render::run(&ctx, &args),
        Command::Completions(args) => commands::completions::run(&args),
        Command::Man(args) => commands::man::run(&args),
        Command::Schema => commands::schema::run(),
        Command::Plan(args) => Box::pin(commands::plan::run(&ctx, &args)).await,
        Command::Apply(args) => Box::pin(commands::apply::run(&ctx, &args)).await,
        Command::Destroy(args) => Box::pin(commands::destroy::run(&ctx, &args)).await,
        Command::Check(args) => Box::pin(commands::check::run(&ctx, &args)).await,
        Command::Cleanup(command) => Box::pin(commands::cleanup::run(&ctx, &command)).await,
        Command::Report(args) => Box::pin(commands::report::run(&ctx, &args)).await,
        Command::Migrate(args) => Box::pin(commands::migrate::run(&ctx, &args)).await,
        Command::Bootstrap(args) => Box::pin(commands::bootstrap::run(&ctx, &args)).await,
    }
}

fn report_error(err: &Error) {
    let mut stderr = std::io::stderr().lock();
    for line in err.to_string().lines() {
        let _ = writeln!(stderr, "error: {line}");
    }
    if let Some(hint) = err.hint() {
        let _ = writeln!(stderr, "  hint: {hint}");
    }
}
