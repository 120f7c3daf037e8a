//! One module per subcommand: wiring only (turn flags into settings, load
//! the spec, call `ops`, print the result, choose the exit status). No
//! command imports another; what they share is here and in `ui`.

pub mod apply;
pub mod bootstrap;
pub mod check;
pub mod cleanup;
pub mod completions;
pub mod destroy;
pub mod init;
pub mod man;
pub mod migrate;
pub mod plan;
pub mod render;
pub mod report;
pub mod schema;
mod ui;
mod variables;

use std::path::PathBuf;
use std::sync::Arc;

use crate::cli::{self, GlobalArgs};
use crate::credentials_file::STATE_DIR;
use crate::error::{Error, ExitStatus, Result};
use crate::ops::{Overrides, Session};
use crate::output::{self, OutputFormat};
use crate::report::ReportFormat;
use crate::spec::{ALL_ENVIRONMENTS, DEFAULT_SPEC_FILE, Environment, Spec, SpecSource};
use crate::transport::timeouts::Timeouts;

/// What every command needs from the global flags, already validated.
#[derive(Debug, Clone)]
pub struct Context {
    pub output: OutputFormat,
    pub spec_source: SpecSource,
    /// `--config` / `CHRONOTRACE_OPS_CONFIG`, or the default file name.
    pub spec_path: PathBuf,
    /// What every JSON document carries: the version and the spec.
    pub stamp: output::Stamp,
    pub env: Option<String>,
    /// The run's overrides, runtime and clients (one connection per run).
    pub session: Arc<Session>,
    pub color: bool,
    /// `--app`: the Laravel app's directory (checked to be one).
    pub app: Option<PathBuf>,
}

/// The environment used when neither `--env` nor `CHRONOTRACE_OPS_ENV` names one.
pub const DEFAULT_ENV: &str = "local";

impl Context {
    /// Builds the context from the parsed global flags and the variables
    /// beside them (`variables`); the endpoint, from `--endpoint-url` or
    /// the AWS CLI's variables, obeys the spec's endpoint rules (never
    /// credentials in the URL).
    pub fn from_global(global: &GlobalArgs) -> Result<Context> {
        let lookup = variables::from_process;
        let endpoint_url = variables::endpoint_url(global.endpoint_url.as_deref(), lookup)?;
        let env = variables::ENV.resolve(global.env.clone(), lookup, |v| Ok(v.to_string()))?;
        let timeouts = variables::TIMEOUT.resolve(global.timeout, lookup, Timeouts::parse)?;
        if let Some(app) = global.app.as_deref().filter(|a| !a.is_dir()) {
            return Err(Error::usage_with_hint(
                format!("--app {}: not a directory", app.display()),
                "give the Laravel app's directory (the one holding artisan and composer.lock)",
            ));
        }
        let spec_source = SpecSource::discover(global.config.as_deref());
        let state_dir = state_dir_of(&spec_source);
        let overrides = Overrides {
            endpoint_url,
            region: global.region.clone(),
            profile: global.profile.clone(),
            ca_bundle: global
                .ca_bundle
                .clone()
                .or_else(|| std::env::var_os("AWS_CA_BUNDLE").map(PathBuf::from)),
            timeouts: timeouts.unwrap_or_default(),
        };
        Ok(Context {
            app: global.app.clone(),
            output: global.output.into(),
            stamp: output::Stamp::new(spec_source.label()),
            spec_source,
            spec_path: global
                .config
                .clone()
                .unwrap_or_else(|| PathBuf::from(DEFAULT_SPEC_FILE)),
            env,
            session: Arc::new(Session::new(overrides).with_state_dir(state_dir)),
            color: !global.no_color
                && std::env::var_os("NO_COLOR").is_none()
                && std::io::IsTerminal::is_terminal(&std::io::stdout()),
        })
    }

    /// The name of the environment to work on.
    pub fn env_name(&self) -> &str {
        self.env.as_deref().unwrap_or(DEFAULT_ENV)
    }

    /// The environments to work on: every one of the spec, in its order,
    /// for `--env all`; else the one named.
    pub fn environments<'s>(&self, spec: &'s Spec) -> Result<Vec<&'s Environment>> {
        if self.env_name() == ALL_ENVIRONMENTS {
            Ok(spec.environments.values().collect())
        } else {
            Ok(vec![spec.environment(self.env_name())?])
        }
    }

    /// Loads the spec for a command that writes to the selected
    /// environments' stores (`does` says how, e.g. "apply would change
    /// it"). Without a spec file the embedded starter spec's environments
    /// other than the local disk are examples (a bucket name anyone may
    /// own, an example endpoint): writing to them is refused before any
    /// connection, so a first try in an empty directory creates nothing.
    pub fn load_spec_to_change(&self, does: &str) -> Result<Spec> {
        if self.spec_source == SpecSource::Embedded {
            let spec = self.spec_source.load()?;
            let envs = self.environments(&spec)?;
            if let Some(env) = envs.iter().find(|env| !env.storage.is_local_disk()) {
                return Err(embedded_refusal(&env.name, does));
            }
        }
        self.load_spec()
    }

    /// The tool's own directory beside the spec (see `state_dir_of`).
    pub fn state_dir(&self) -> PathBuf {
        self.session.state_dir()
    }

    /// Loads and validates the spec, printing its warnings on stderr.
    pub fn load_spec(&self) -> Result<Spec> {
        if self.spec_source == SpecSource::Embedded {
            output::note(&format!(
                "no {DEFAULT_SPEC_FILE} here: using the embedded starter spec (write it with `chronotrace-ops init`)"
            ));
        }
        let mut spec = self.spec_source.load()?;
        // The app decides the local disk root the spec leaves open.
        crate::stores::resolve(&mut spec, self.app.as_deref());
        tracing::debug!(
            source = %spec.source,
            environments = spec.environments.len(),
            env = self.env_name(),
            "spec loaded and valid"
        );
        for warning in &spec.warnings {
            output::warn(warning);
        }
        Ok(spec)
    }
}

/// The tool's own directory beside the spec (beside `--config FILE`, else
/// here): what must never be committed goes there, the app credentials
/// `apply` generates first of all.
fn state_dir_of(source: &SpecSource) -> PathBuf {
    let beside = match source {
        SpecSource::Explicit(path) | SpecSource::WorkingDir(path) => path.parent(),
        SpecSource::Embedded => None,
    };
    beside
        .filter(|dir| !dir.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from(STATE_DIR), |dir| dir.join(STATE_DIR))
}

/// The refusal of a write to `env` of the embedded starter spec.
fn embedded_refusal(env: &str, does: &str) -> Error {
    Error::usage_with_hint(
        format!(
            "no spec file (no --config, CHRONOTRACE_OPS_CONFIG or ./{DEFAULT_SPEC_FILE}): environment '{env}' of the embedded starter spec is an example, and {does}; nothing was done"
        ),
        format!(
            "run `chronotrace-ops init`, describe your environments in {DEFAULT_SPEC_FILE}, then run this again (the embedded spec serves `-e local` and read-only commands)"
        ),
    )
}

/// Runs `work` for every environment at once (futures on the run's one
/// runtime, sharing the session's clients), and returns the results in the
/// environments' order. One environment's error does not stop the others:
/// it is its entry.
pub async fn for_each_env<'s, T, F>(
    envs: &[&'s Environment],
    work: impl Fn(&'s Environment) -> F,
) -> Vec<Result<T>>
where
    F: std::future::Future<Output = Result<T>>,
{
    futures::future::join_all(envs.iter().map(|env| work(env))).await
}

/// Exit 0 when `ok`, else 1 (findings).
pub fn findings_unless(ok: bool) -> ExitStatus {
    if ok {
        ExitStatus::Ok
    } else {
        ExitStatus::Findings
    }
}

/// The exit status of several environments' runs: the worst of them
/// (an interruption first, then an error, then findings).
pub fn worst(statuses: impl IntoIterator<Item = ExitStatus>) -> ExitStatus {
    statuses
        .into_iter()
        .max_by_key(|s| *s as u8)
        .unwrap_or(ExitStatus::Ok)
}

/// Settles the runs of `envs`: the values of those that ran, and the exit
/// status, the worst of theirs (`status` of each value) and of the failed
/// ones (each printed as one `error: env NAME: ...` line on stderr). With
/// one environment its error is the command's own error, as always; an
/// interruption anywhere is the run's.
pub fn settle<T>(
    envs: &[&Environment],
    results: Vec<Result<T>>,
    status: impl Fn(&T) -> ExitStatus,
) -> Result<(Vec<T>, ExitStatus)> {
    let mut values = Vec::new();
    let mut statuses = Vec::new();
    for (env, result) in envs.iter().zip(results) {
        match result {
            Ok(value) => {
                statuses.push(status(&value));
                values.push(value);
            }
            Err(e) if envs.len() == 1 || matches!(e, Error::Interrupted) => return Err(e),
            Err(e) => {
                let line = e.to_string().replace('\n', " ");
                output::error_line(&format!("env {}: {line}", env.name));
                statuses.push(ExitStatus::Error);
            }
        }
    }
    Ok((values, worst(statuses)))
}

impl From<cli::OutputFormat> for OutputFormat {
    fn from(format: cli::OutputFormat) -> Self {
        match format {
            cli::OutputFormat::Text => OutputFormat::Text,
            cli::OutputFormat::Json => OutputFormat::Json,
        }
    }
}

impl From<cli::ReportFormat> for ReportFormat {
    fn from(format: cli::ReportFormat) -> Self {
        match format {
            cli::ReportFormat::Text => ReportFormat::Text,
            cli::ReportFormat::Json => ReportFormat::Json,
            cli::ReportFormat::Markdown => ReportFormat::Markdown,
            cli::ReportFormat::Html => ReportFormat::Html,
            cli::ReportFormat::OpenMetrics => ReportFormat::OpenMetrics,
        }
    }
}
